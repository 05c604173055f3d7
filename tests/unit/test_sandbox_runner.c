// SPDX-License-Identifier: GPL-2.0
/*
 * The microVM sandbox runner's host-side pieces that need no VM and no privileges
 * (userspace/sandbox_state.c, cgroup.c, events.c, cli_compile.c): a cgroup that cannot be
 * killed is an error, never "done"; an event stream that failed is reported, never dropped.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cgroup.h"
#include "cli.h"
#include "events.h"
#include "sandbox_state.h"
#include "seqstore.h"
#include "sink_journal.h"

static char tmpdir[64];

static int setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ag-sbx-unit-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd);
}

/* A directory without cgroup.kill (an old kernel, or not a cgroup) is not a destroyed cgroup. */
static void test_destroy_dir_without_kill_fails(void **state)
{
	char p[128];
	FILE *f;

	snprintf(p, sizeof(p), "%s/cg", tmpdir);
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(ag_cgroup_destroy(p), -EOPNOTSUPP);
	assert_int_equal(ag_cgroup_kill_wait(p), -EOPNOTSUPP);
	assert_int_equal(access(p, F_OK), 0);
	/* Nor is one whose cgroup.procs lists a process. */
	snprintf(p, sizeof(p), "%s/cg/cgroup.procs", tmpdir);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs("4242\n", f);
	assert_int_equal(fclose(f), 0);
	snprintf(p, sizeof(p), "%s/cg", tmpdir);
	assert_int_equal(ag_cgroup_kill_wait(p), -EOPNOTSUPP);
	assert_int_equal(ag_cgroup_destroy(p), -EOPNOTSUPP);
	assert_int_equal(access(p, F_OK), 0);
}

/* Without cgroup.kill, a cgroup known to be empty is done (control). */
static void test_kill_wait_empty_without_kill(void **state)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/cg", tmpdir);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/cg/cgroup.procs", tmpdir);
	assert_int_equal(close(open(p, O_WRONLY | O_CREAT, 0600)), 0);
	snprintf(p, sizeof(p), "%s/cg", tmpdir);
	assert_int_equal(ag_cgroup_kill_wait(p), 0);
}

/* Control: a cgroup that is already gone is nothing to do. */
static void test_destroy_absent_ok(void **state)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/absent", tmpdir);
	assert_int_equal(ag_cgroup_destroy(p), 0);
	assert_int_equal(ag_cgroup_kill_wait(p), -ENOENT);
}

static void make_file(const char *dir, const char *name)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs("x\n", f);
	assert_int_equal(fclose(f), 0);
}

/*
 * One removal for run's and sandbox run's state: the tree goes, a link in it goes as a link,
 * and what it points to (outside) stays.
 */
static void test_state_dir_remove_tree_not_links(void **state)
{
	char st[128], p[256], outside[128];

	snprintf(outside, sizeof(outside), "%s/outside", tmpdir);
	assert_int_equal(mkdir(outside, 0700), 0);
	make_file(outside, "keep");
	snprintf(st, sizeof(st), "%s/state", tmpdir);
	assert_int_equal(mkdir(st, 0700), 0);
	make_file(st, "seq");
	snprintf(p, sizeof(p), "%s/spec", st);
	assert_int_equal(mkdir(p, 0700), 0);
	make_file(p, "argv");
	snprintf(p, sizeof(p), "%s/spec/policy", st);
	assert_int_equal(mkdir(p, 0700), 0);
	make_file(p, "p.yaml");
	snprintf(p, sizeof(p), "%s/spec/dirlink", st);
	assert_int_equal(symlink(outside, p), 0);
	snprintf(p, sizeof(p), "%s/filelink", st);
	snprintf(outside + strlen(outside), sizeof(outside) - strlen(outside), "/keep");
	assert_int_equal(symlink(outside, p), 0);

	assert_int_equal(ag_state_dir_remove(st), 0);
	assert_int_equal(access(st, F_OK), -1);
	assert_int_equal(access(outside, F_OK), 0);
	/* Gone is done. */
	assert_int_equal(ag_state_dir_remove(st), 0);
	/* The directory itself through a link: refused, the target untouched. */
	outside[strlen(outside) - 5] = '\0';
	assert_int_equal(symlink(outside, st), 0);
	assert_int_equal(ag_state_dir_remove(st), -ENOTDIR);
	snprintf(p, sizeof(p), "%s/keep", outside);
	assert_int_equal(access(p, F_OK), 0);
}

/* --timeout: strictly a number of seconds that fits, never wrapped. */
static void test_parse_uint_strict(void **state)
{
	unsigned long long v = 7;

	assert_int_equal(ag_cli_parse_uint("4294967297", 4294967295ULL, &v), -ERANGE);
	assert_int_equal(ag_cli_parse_uint("4294967296", 4294967295ULL, &v), -ERANGE);
	assert_int_equal(ag_cli_parse_uint("99999999999999999999999", 4294967295ULL, &v), -ERANGE);
	assert_int_equal(ag_cli_parse_uint("-1", 4294967295ULL, &v), -EINVAL);
	assert_int_equal(ag_cli_parse_uint("+5", 4294967295ULL, &v), -EINVAL);
	assert_int_equal(ag_cli_parse_uint(" 5", 4294967295ULL, &v), -EINVAL);
	assert_int_equal(ag_cli_parse_uint("5s", 4294967295ULL, &v), -EINVAL);
	assert_int_equal(ag_cli_parse_uint("", 4294967295ULL, &v), -EINVAL);
	assert_int_equal(v, 7);
	/* Controls: the largest value, and an ordinary one. */
	assert_int_equal(ag_cli_parse_uint("4294967295", 4294967295ULL, &v), 0);
	assert_int_equal(v, 4294967295ULL);
	assert_int_equal(ag_cli_parse_uint("30", 4294967295ULL, &v), 0);
	assert_int_equal(v, 30);
}

static void finish_with(FILE *f, struct ag_event_file *ef, int want)
{
	struct ag_event_sink s = { .out = f, .file = ef, .format = AG_EVENTS_JSON };

	snprintf(s.host, sizeof(s.host), "h");
	ag_event_sink_lifecycle(&s, "stop", "test");
	assert_int_equal(ag_cli_events_finish(&s), want);
	/* The failure stays reported: a second finish does not forget it. */
	assert_int_equal(ag_cli_events_finish(&s), want);
	fclose(f);
	ag_event_sink_free(&s);
}

/* A stream whose writes fail (ENOSPC) ends as 74, for load and sandbox run alike. */
static void test_events_finish_write_error(void **state)
{
	struct ag_event_file *ef;
	FILE *f = fopen("/dev/full", "w");

	assert_non_null(f);
	finish_with(f, NULL, AG_EXIT_IOERR);
	/* The event file's stream holds what the device refuses: lost at the end, so 74. */
	f = ag_event_stream_open("/dev/full", AG_EVENT_BACKLOG_DEFAULT, &ef);
	assert_non_null(f);
	finish_with(f, ef, AG_EXIT_IOERR);
}

/* Control: the same event to a file that takes it. */
static void test_events_finish_ok(void **state)
{
	struct ag_event_file *ef;
	char p[128];
	FILE *f;

	snprintf(p, sizeof(p), "%s/events", tmpdir);
	f = ag_event_stream_open(p, AG_EVENT_BACKLOG_DEFAULT, &ef);
	assert_non_null(f);
	finish_with(f, ef, AG_EXIT_OK);
}

/* The event file is never opened through a symlink or a second hard link. */
static void test_events_open_refuses_links(void **state)
{
	struct ag_event_file *ef;
	char p[128], l[128];

	snprintf(p, sizeof(p), "%s/real", tmpdir);
	snprintf(l, sizeof(l), "%s/link", tmpdir);
	assert_int_equal(symlink(p, l), 0);
	errno = 0;
	assert_null(ag_event_stream_open(l, AG_EVENT_BACKLOG_DEFAULT, &ef));
	assert_int_equal(errno, ELOOP);
	assert_int_equal(unlink(l), 0);
	assert_int_equal(close(open(p, O_WRONLY | O_CREAT, 0600)), 0);
	assert_int_equal(link(p, l), 0);
	errno = 0;
	assert_null(ag_event_stream_open(p, AG_EVENT_BACKLOG_DEFAULT, &ef));
	assert_int_equal(errno, EMLINK);
}

/* A guest record gets the PRIORITY and MESSAGE_ID a host event of its kind gets. */
static void test_journal_ids_by_kind(void **state)
{
	assert_string_equal(ag_journal_message_id("file"), AG_MSGID_FILE);
	assert_string_equal(ag_journal_message_id("exec"), AG_MSGID_EXEC);
	assert_string_equal(ag_journal_message_id("network"), AG_MSGID_NETWORK);
	assert_string_equal(ag_journal_message_id("containment"), AG_MSGID_CONTAINMENT);
	assert_string_equal(ag_journal_message_id("dns"), AG_MSGID_DNS);
	assert_string_equal(ag_journal_message_id("loss"), AG_MSGID_LOSS);
	assert_string_equal(ag_journal_message_id("lifecycle"), AG_MSGID_LIFECYCLE);
	assert_int_equal(ag_journal_priority("deny"), 4);
	assert_int_equal(ag_journal_priority("would-deny"), 5);
	/* Control: what stopped nothing and found nothing is info. */
	assert_int_equal(ag_journal_priority("allow"), 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_destroy_dir_without_kill_fails, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_destroy_absent_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill_wait_empty_without_kill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_dir_remove_tree_not_links, setup,
						teardown),
		cmocka_unit_test(test_parse_uint_strict),
		cmocka_unit_test(test_journal_ids_by_kind),
		cmocka_unit_test_setup_teardown(test_events_finish_write_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_finish_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_open_refuses_links, setup, teardown),
	};

	return cmocka_run_group_tests_name("sandbox_runner", tests, NULL, NULL);
}
