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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_destroy_dir_without_kill_fails, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_destroy_absent_ok, setup, teardown),
	};

	return cmocka_run_group_tests_name("sandbox_runner", tests, NULL, NULL);
}
