// SPDX-License-Identifier: GPL-2.0
/*
 * agentguard run [--policy FILE]... [--events FILE|-] [--format json|ocsf] [--journal]
 *                [--cgroup PATH] -- CMD [ARG]...
 *
 * Host mode: a sandbox of its own for one command. Events go to stderr unless --events or
 * --journal says otherwise. Creates the sandbox cgroup, starts
 * "agentguard load" for it (its own pin and state directories) and waits until enforcement is
 * on; then runs CMD in the sandbox with inherited fds closed, no_new_privs and the seccomp
 * filter (sandbox_filter.c), and returns CMD's exit status (128 + signal if killed). When CMD
 * exits, whatever it left running in the sandbox is killed (cgroup.kill) before enforcement is
 * unloaded: nothing of it outlives the policy. If run itself is killed, the pinned enforcement
 * stays and keeps CMD confined ("agentguard unload --pin-dir" ends it).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "cli.h"
#include "compile.h"
#include "loader.h"
#include "log.h"
#include "run_dns.h"
#include "sandbox_filter.h"
#include "seqstore.h"

#define AG_RUN_MAX_ARGS 64

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * Start the daemon and wait for its ready file: its pid, or -errno (it exited or took 60 s).
 * Its stdout (events with "--events -") goes to our stderr: CMD's stdout stays CMD's.
 */
static pid_t start_daemon(char **args, const char *ready)
{
	pid_t pid = fork();
	int status, i;

	if (pid < 0)
		return -errno;
	if (!pid) {
		dup2(STDERR_FILENO, STDOUT_FILENO);
		execv("/proc/self/exe", args);
		_exit(127);
	}
	for (i = 0; i < 6000; i++) {
		if (!access(ready, F_OK))
			return pid;
		if (waitpid(pid, &status, WNOHANG) == pid)
			return -ECHILD;
		sleep_ms(10);
	}
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	return -ETIMEDOUT;
}

/* In the child: into the sandbox, fds closed, the filter, then CMD. Never returns. */
static void exec_sandboxed(const struct ag_cgroup *cg, bool io_uring, char **cmd)
{
	char pid[32];
	int err;

	snprintf(pid, sizeof(pid), "%d", getpid());
	err = ag_cgroup_write(cg, "cgroup.procs", pid);
	if (err) {
		fprintf(stderr, "agentguard: run: cannot enter the sandbox: %s\n", strerror(-err));
		_exit(126);
	}
	/* Inherited fds (a socket, a file opened outside) would carry in what policy denies. */
	if (syscall(SYS_close_range, 3, ~0U, 0)) {
		fprintf(stderr, "agentguard: run: close_range: %s\n", strerror(errno));
		_exit(126);
	}
	err = ag_sandbox_filter_install(io_uring);
	if (err) {
		fprintf(stderr, "agentguard: run: seccomp filter: %s\n", strerror(-err));
		_exit(126);
	}
	execvp(cmd[0], cmd);
	fprintf(stderr, "agentguard: run: %s: %s\n", cmd[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

/* Kill what CMD left in the sandbox and wait until it is empty (up to 10 s). */
static int empty_sandbox(const struct ag_cgroup *cg)
{
	char path[4200], buf[64];
	int i, fd;
	ssize_t n;

	ag_cgroup_write(cg, "cgroup.kill", "1");
	snprintf(path, sizeof(path), "%s/cgroup.procs", cg->path);
	for (i = 0; i < 1000; i++) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		n = read(fd, buf, sizeof(buf));
		close(fd);
		if (n == 0)
			return 0;
		sleep_ms(10);
	}
	return -EBUSY;
}

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "events", required_argument, NULL, 'e' },
		{ "format", required_argument, NULL, 'f' },
		{ "journal", no_argument, NULL, 'j' },
		{ "cgroup", required_argument, NULL, 'c' },
		{},
	};
	char *policies[AG_RUN_MAX_ARGS], *dargs[AG_RUN_MAX_ARGS + 24];
	char cgpath[4096], mnt[4000], pin_dir[128], state_dir[128], ready[160];
	const char *events = NULL, *format = NULL, *cgroup_path = NULL, *failed = NULL;
	struct ag_cgroup cg = { .fd = -1 };
	struct ag_run_dns dns = {};
	struct ag_policy **pols = NULL;
	struct ag_compiled *c = NULL;
	int opt, n_pol = 0, nd = 0, i, status, err, ret = AG_EXIT_SOFTWARE;
	bool journal = false, loaded = false;
	pid_t daemon = -1, child;

	while ((opt = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			if (n_pol == AG_RUN_MAX_ARGS)
				return AG_EXIT_USAGE;
			policies[n_pol++] = optarg;
			break;
		case 'e':
			events = optarg;
			break;
		case 'f':
			format = optarg;
			break;
		case 'j':
			journal = true;
			break;
		case 'c':
			cgroup_path = optarg;
			break;
		default:
			return AG_EXIT_USAGE;
		}
	}
	if (!n_pol || optind >= argc) {
		fprintf(stderr, "usage: agentguard run --policy FILE [--policy FILE]... "
				"[--events FILE|-] [--format json|ocsf] [--journal] [--cgroup PATH] "
				"-- CMD [ARG]...\n");
		return AG_EXIT_USAGE;
	}
	/* Compile here too: a bad policy is reported before anything exists, and the filter
	 * needs spec.process. */
	status = ag_cli_compile(policies, n_pol, &pols, &c);
	if (status != AG_EXIT_OK)
		return status;

	snprintf(pin_dir, sizeof(pin_dir), "%s-run-%d", AG_PIN_DIR, getpid());
	snprintf(state_dir, sizeof(state_dir), "/var/lib/agentguard/run-%d", getpid());
	snprintf(ready, sizeof(ready), "%s/ready", state_dir);
	if (!cgroup_path) {
		err = ag_cgroup2_mount(mnt, sizeof(mnt));
		if (err) {
			ag_log_error("run: no cgroup2 mount: %s", strerror(-err));
			ret = AG_EXIT_CONFIG;
			goto cleanup;
		}
		snprintf(cgpath, sizeof(cgpath), "%s/agentguard-run-%d", mnt, getpid());
		cgroup_path = cgpath;
	}
	/* A fresh cgroup: one with processes in it already would put them under the policy. */
	err = ag_cgroup_open(cgroup_path, 1, &cg);
	if (!err && !cg.created)
		err = -EEXIST;
	if (err) {
		ag_log_error("run: cannot create the sandbox cgroup \"%s\": %s", cgroup_path,
			     strerror(-err));
		ret = AG_EXIT_CONFIG;
		goto cleanup;
	}

	/* Domain rules: a resolver address of its own, and the resolv.conf CMD is to see. */
	err = ag_run_dns_prepare(c, state_dir, getpid(), &dns, &failed);
	if (err) {
		ag_log_error("run: %s: %s; the command was not run", failed, strerror(-err));
		ret = AG_EXIT_CONFIG;
		goto cleanup;
	}

	dargs[nd++] = "agentguard";
	dargs[nd++] = "load";
	dargs[nd++] = "--cgroup";
	dargs[nd++] = cg.path;
	dargs[nd++] = "--pin-dir";
	dargs[nd++] = pin_dir;
	dargs[nd++] = "--state-dir";
	dargs[nd++] = state_dir;
	dargs[nd++] = "--ready-file";
	dargs[nd++] = ready;
	dargs[nd++] = "--events";
	dargs[nd++] = (char *)(events ? events : (journal ? NULL : "-"));
	if (!dargs[nd - 1])
		nd -= 2;
	if (format) {
		dargs[nd++] = "--format";
		dargs[nd++] = (char *)format;
	}
	if (journal)
		dargs[nd++] = "--journal";
	if (dns.listen[0]) {
		dargs[nd++] = "--dns-listen";
		dargs[nd++] = dns.listen;
	}
	for (i = 0; i < n_pol; i++)
		dargs[nd++] = policies[i];
	dargs[nd] = NULL;
	err = ag_state_dir_make(state_dir);
	if (!err)
		unlink(ready);
	daemon = err ? err : start_daemon(dargs, ready);
	if (daemon < 0) {
		ag_log_error("run: enforcement did not start (%s); the command was not run",
			     strerror(-daemon));
		ret = AG_EXIT_UNAVAILABLE;
		goto cleanup;
	}
	loaded = true;

	child = fork();
	if (child < 0) {
		ag_log_error("run: fork: %s", strerror(errno));
		goto cleanup;
	}
	/* Before the sandbox: its containment and the filter refuse mounts. */
	if (!child && (err = ag_run_dns_enter(&dns))) {
		fprintf(stderr, "agentguard: run: cannot give the command its resolv.conf: %s\n",
			strerror(-err));
		_exit(126);
	}
	if (!child)
		exec_sandboxed(&cg, c->process.io_uring, argv + optind);
	/* The command's signals are its own: run only waits. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	ret = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

cleanup:
	if (cg.fd >= 0 && (err = empty_sandbox(&cg)))
		ag_log_error("run: processes left in \"%s\" could not be stopped: %s; enforcement "
			     "stays pinned at \"%s\"", cg.path, strerror(-err), pin_dir);
	if (daemon > 0) {
		kill(daemon, SIGTERM);
		waitpid(daemon, NULL, 0);
	}
	if (loaded && !err && (err = ag_loader_unpin_dir(pin_dir)))
		ag_log_error("run: unloading \"%s\": %s", pin_dir, strerror(-err));
	if (cg.fd >= 0) {
		ag_cgroup_close(&cg);
		if (cg.created && !err)
			rmdir(cg.path);
	}
	ag_compiled_free(c);
	ag_cli_free_policies(pols, n_pol);
	return ret;
}
