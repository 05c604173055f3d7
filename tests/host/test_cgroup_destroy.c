// SPDX-License-Identifier: GPL-2.0
/*
 * Host-native test of ag_cgroup_destroy (userspace/cgroup.c), which agentguard run and
 * sandbox run use to end a sandbox: everything in the cgroup is killed, in child cgroups the
 * sandbox made too, and the cgroups go, deepest first. Real cgroups, made by this test under
 * the cgroup2 mount and removed by it; nothing is attached to any.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "cgroup.h"

static char root[4200];

static void make_dir(const char *fmt, const char *a)
{
	char p[4300];

	snprintf(p, sizeof(p), fmt, root, a);
	assert_int_equal(mkdir(p, 0755), 0);
}

/* A child process that moves itself into the cgroup dir and waits to be killed. */
static pid_t park_in(const char *dir)
{
	char p[4300], buf[32];
	int pipefd[2], fd, n;
	pid_t pid;

	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		snprintf(p, sizeof(p), "%s/cgroup.procs", dir);
		fd = open(p, O_WRONLY | O_CLOEXEC);
		n = snprintf(buf, sizeof(buf), "%d\n", getpid());
		if (fd < 0 || write(fd, buf, n) != n)
			_exit(1);
		close(fd);
		(void)!write(pipefd[1], "y", 1);
		for (;;)
			pause();
	}
	close(pipefd[1]);
	assert_int_equal(read(pipefd[0], buf, 1), 1);
	close(pipefd[0]);
	return pid;
}

static int setup(void **state)
{
	char mnt[4096];

	if (ag_cgroup2_mount(mnt, sizeof(mnt)))
		return -1;
	snprintf(root, sizeof(root), "%s/agtest-destroy-%d", mnt, getpid());
	return mkdir(root, 0755);
}

static int teardown(void **state)
{
	/* A test that failed half-way may leave its cgroups: the same code removes them. */
	return ag_cgroup_destroy(root) ? -1 : 0;
}

/* Processes in child cgroups two levels down are killed, and every cgroup goes. */
static void test_destroy_with_child_cgroups(void **state)
{
	char p[4300];
	pid_t deep, top;
	int status;

	make_dir("%s/%s", "c1");
	make_dir("%s/%s", "c1/c2");
	make_dir("%s/%s", "c3");
	snprintf(p, sizeof(p), "%s/c1/c2", root);
	deep = park_in(p);
	top = park_in(root);
	assert_int_equal(ag_cgroup_destroy(root), 0);
	assert_int_equal(access(root, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(waitpid(deep, &status, 0), deep);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_int_equal(waitpid(top, &status, 0), top);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* teardown: nothing left, which ag_cgroup_destroy answers with 0. */
	assert_int_equal(mkdir(root, 0755), 0);
}

/* Control: an empty cgroup without children goes as before. */
static void test_destroy_empty(void **state)
{
	assert_int_equal(ag_cgroup_destroy(root), 0);
	assert_int_equal(access(root, F_OK), -1);
	assert_int_equal(mkdir(root, 0755), 0);
}

/* kill_wait alone: a process in a child cgroup is killed too. */
static void test_kill_wait_sees_child_cgroups(void **state)
{
	char p[4300];
	pid_t deep;
	int status;

	make_dir("%s/%s", "k1");
	snprintf(p, sizeof(p), "%s/k1", root);
	deep = park_in(p);
	assert_int_equal(ag_cgroup_kill_wait(root), 0);
	assert_int_equal(waitpid(deep, &status, 0), deep);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_destroy_with_child_cgroups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill_wait_sees_child_cgroups, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
