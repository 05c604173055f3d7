// SPDX-License-Identifier: GPL-2.0
/*
 * The microVM sandbox runner's host-side pieces that need no VM and no privileges
 * (userspace/sandbox_state.c, cgroup.c, events.c): a cgroup that cannot be killed is an
 * error, never "done".
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli.h"
#include "sandbox_state.h"

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

	snprintf(p, sizeof(p), "%s/cg", tmpdir);
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(ag_sbx_cgroup_destroy(p), -EOPNOTSUPP);
	assert_int_equal(access(p, F_OK), 0);
}

/* Control: a cgroup that is already gone is nothing to do. */
static void test_destroy_absent_ok(void **state)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/absent", tmpdir);
	assert_int_equal(ag_sbx_cgroup_destroy(p), 0);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_destroy_dir_without_kill_fails, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_destroy_absent_ok, setup, teardown),
		cmocka_unit_test(test_parse_uint_strict),
	};

	return cmocka_run_group_tests_name("sandbox_runner", tests, NULL, NULL);
}
