// SPDX-License-Identifier: GPL-2.0
/*
 * agentguard run [--policy FILE]... [--events FILE|-] [--format json|ocsf] [--journal]
 *                [--cgroup PATH] [--fallback landlock [--allow-unenforced]] -- CMD [ARG]...
 *
 * Host mode: a sandbox of its own for one command. Events go to stderr unless --events or
 * --journal says otherwise. Creates the sandbox cgroup, starts
 * "agentguard load" for it (its own pin and state directories) and waits until enforcement is
 * on; then runs CMD in the sandbox with inherited fds closed, no_new_privs and the seccomp
 * filter (sandbox_filter.c), and returns CMD's exit status (128 + signal if killed). When CMD
 * exits, whatever it left running in the sandbox is killed (cgroup.kill) before enforcement is
 * unloaded: nothing of it outlives the policy. If run itself is killed, the pinned enforcement
 * stays and keeps CMD confined ("agentguard unload --pin-dir" ends it).
 *
 * Without BPF-LSM, run refuses unless --fallback landlock: then the daemon loads only the
 * cgroup programs (network), and CMD runs under a Landlock ruleset made from the filesystem
 * section, without capabilities. What that cannot enforce is printed first, and run refuses if
 * any rule or built-in protection would be lost, unless --allow-unenforced (fallback.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "cgroup.h"
#include "clock.h"
#include "cli.h"
#include "compile.h"
#include "fallback.h"
#include "landlock.h"
#include "loader.h"
#include "log.h"
#include "run_dns.h"
#include "sandbox_filter.h"
#include "seqstore.h"

#define AG_RUN_MAX_ARGS 64

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
		ag_sleep_ms(10);
	}
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	return -ETIMEDOUT;
}

/*
 * In the child: into the sandbox, the filter, fds closed, then CMD. With a Landlock ruleset
 * (llfd >= 0): first every capability goes, since root with CAP_SYS_ADMIN or CAP_BPF could
 * detach the cgroup programs; then the ruleset, after no_new_privs. Never returns.
 */
static void exec_sandboxed(const struct ag_cgroup *cg, bool io_uring, int llfd, char **cmd)
{
	char pid[32];
	int err;

	snprintf(pid, sizeof(pid), "%d", getpid());
	err = ag_cgroup_write(cg, "cgroup.procs", pid);
	if (err) {
		fprintf(stderr, "agentguard: run: cannot enter the sandbox: %s\n", strerror(-err));
		_exit(126);
	}
	if (llfd >= 0 && (err = ag_sandbox_drop_caps())) {
		fprintf(stderr, "agentguard: run: dropping capabilities: %s\n", strerror(-err));
		_exit(126);
	}
	err = ag_sandbox_filter_install(io_uring);
	if (err) {
		fprintf(stderr, "agentguard: run: seccomp filter: %s\n", strerror(-err));
		_exit(126);
	}
	if (llfd >= 0 && (err = ag_ll_restrict(llfd))) {
		fprintf(stderr, "agentguard: run: Landlock: %s\n", strerror(-err));
		_exit(126);
	}
	/* Inherited fds (a socket, a file opened outside) would carry in what policy denies. */
	if (syscall(SYS_close_range, 3, ~0U, 0)) {
		fprintf(stderr, "agentguard: run: close_range: %s\n", strerror(errno));
		_exit(126);
	}
	execvp(cmd[0], cmd);
	fprintf(stderr, "agentguard: run: %s: %s\n", cmd[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

/* Built-in protections that hold under Landlock only if no rule grants write there. */
#define AG_RUN_PROTECTED (AG_RUN_MAX_ARGS + 8)

struct protected_set {
	struct ag_fallback_protected p[AG_RUN_PROTECTED];
	char path[AG_RUN_PROTECTED][PATH_MAX];
	size_t n;
};

/* path resolved; for a file not made yet (an event file), its resolved directory and name. */
static int resolve(const char *path, char *out)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	char dir[PATH_MAX];

	if (realpath(path, out))
		return 0;
	if (errno != ENOENT)
		return -errno;
	if ((size_t)(base - path) >= sizeof(dir))
		return -ENAMETOOLONG;
	/* "/x" -> "/", "a/x" -> "a/", "x" -> "." */
	memcpy(dir, path, base - path);
	dir[base - path] = '\0';
	if (!dir[0])
		strcpy(dir, ".");
	if (!realpath(dir, out))
		return -errno;
	if (strlen(out) + 1 + strlen(base) >= PATH_MAX)
		return -ENAMETOOLONG;
	if (strcmp(out, "/"))
		strcat(out, "/");
	strcat(out, base);
	return 0;
}

static int add_protected(struct protected_set *s, const char *path, const char *what)
{
	int err;

	if (s->n == AG_RUN_PROTECTED)
		return -E2BIG;
	err = resolve(path, s->path[s->n]);
	if (err)
		return err;
	s->p[s->n].path = s->path[s->n];
	s->p[s->n].what = what;
	s->n++;
	return 0;
}

/*
 * --fallback landlock: the ruleset from the filesystem section (its fd in *llfd), and the
 * report of what it and the cgroup programs leave unenforced. An exit status: AG_EXIT_OK, or
 * the refusal it logged.
 */
static int prepare_landlock(const struct ag_compiled *c, char **policies, int n_pol,
			    const char *events, const char *cgroup_path, bool allow_unenforced,
			    struct ag_ll_plan *plan, int *llfd)
{
	char mnt[PATH_MAX], parent[PATH_MAX], no_limits[64];
	struct ag_ll_assessment a = {};
	struct protected_set *ps;
	int abi, err, i, status = AG_EXIT_UNAVAILABLE;
	size_t lost;

	ps = calloc(1, sizeof(*ps));
	if (!ps)
		return AG_EXIT_SOFTWARE;
	abi = ag_landlock_abi();
	if (abi < 0) {
		ag_log_error("run: Landlock is not available either (%s), so nothing was run",
			     strerror(-abi));
		goto cleanup;
	}
	err = ag_ll_plan(c, abi, plan);
	if (!err)
		err = ag_ll_ruleset(plan, llfd);
	if (!err)
		err = ag_ll_assess(c, plan, &a);
	if (err) {
		ag_log_error("run: building the Landlock ruleset failed: %s, so nothing was run",
			     strerror(-err));
		goto cleanup;
	}
	err = ag_cgroup2_mount(mnt, sizeof(mnt));
	if (!err)
		err = add_protected(ps, mnt, "the cgroup tree (through cgroup.procs the agent "
					     "could leave the sandbox and its network rules)");
	if (!err)
		err = add_protected(ps, "/sys/fs/bpf", "bpffs (without the pins, the cgroup "
						       "programs go when the daemon does)");
	if (!err)
		err = add_protected(ps, "/proc", "kernel interfaces (/proc/sysrq-trigger, other "
						 "processes' files)");
	if (!err)
		err = add_protected(ps, "/sys", "kernel interfaces");
	if (!err)
		err = add_protected(ps, "/var/lib/agentguard", "agentguard's state");
	if (!err)
		err = add_protected(ps, "/proc/self/exe", "agentguard's binary");
	for (i = 0; !err && i < n_pol; i++)
		err = add_protected(ps, policies[i], "a policy file");
	if (!err && events && strcmp(events, "-"))
		err = add_protected(ps, events, "the event file");
	if (err) {
		ag_log_error("run: cannot resolve the paths agentguard protects: %s, so nothing "
			     "was run", strerror(-err));
		status = AG_EXIT_CONFIG;
		goto cleanup;
	}
	/* Where the sandbox cgroup goes: can its limits be set there? */
	snprintf(parent, sizeof(parent), "%s", cgroup_path ? cgroup_path : mnt);
	if (cgroup_path && strrchr(parent, '/'))
		*strrchr(parent, '/') = '\0';
	err = ag_cgroup_missing_controllers(parent[0] ? parent : "/", no_limits,
					    sizeof(no_limits));
	if (err) {
		ag_log_error("run: cannot read the controllers of \"%s\": %s, so nothing was run",
			     parent, strerror(-err));
		status = AG_EXIT_CONFIG;
		goto cleanup;
	}
	lost = ag_fallback_report_run(stderr, c, plan, &a, ps->p, ps->n, no_limits);
	if (lost && !allow_unenforced) {
		ag_log_error("run: %zu of the rules and built-in protections above would not be "
			     "enforced, so nothing was run; --allow-unenforced runs anyway", lost);
		goto cleanup;
	}
	if (lost)
		ag_log_warn("run: %zu of the rules and built-in protections above are not "
			    "enforced; running anyway (--allow-unenforced)", lost);
	status = AG_EXIT_OK;

cleanup:
	ag_ll_assessment_free(&a);
	free(ps);
	return status;
}

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "events", required_argument, NULL, 'e' },
		{ "format", required_argument, NULL, 'f' },
		{ "journal", no_argument, NULL, 'j' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "fallback", required_argument, NULL, 'F' },
		{ "allow-unenforced", no_argument, NULL, 'A' },
		{},
	};
	char *policies[AG_RUN_MAX_ARGS], *dargs[AG_RUN_MAX_ARGS + 24];
	char cgpath[4096], mnt[4000], pin_dir[128], state_dir[128], ready[160];
	const char *events = NULL, *format = NULL, *cgroup_path = NULL, *failed = NULL;
	struct ag_cgroup cg = { .fd = -1 };
	struct ag_run_dns dns = {};
	struct ag_policy **pols = NULL;
	struct ag_compiled *c = NULL;
	struct ag_ll_plan plan = {};
	enum ag_backend backend = AG_BACKEND_BPF_LSM;
	int opt, n_pol = 0, nd = 0, i, status, err = 0, ret = AG_EXIT_SOFTWARE, llfd = -1;
	bool journal = false, loaded = false, fallback = false, allow_unenforced = false;
	bool state_made = false;
	pid_t daemon = -1, child;
	char why[256];

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
		case 'F':
			if (!ag_backend_fallback_arg("run", optarg))
				return AG_EXIT_USAGE;
			fallback = true;
			break;
		case 'A':
			allow_unenforced = true;
			break;
		default:
			return AG_EXIT_USAGE;
		}
	}
	if (!n_pol || optind >= argc || (allow_unenforced && !fallback)) {
		fprintf(stderr, "usage: agentguard run --policy FILE [--policy FILE]... "
				"[--events FILE|-] [--format json|ocsf] [--journal] [--cgroup PATH] "
				"[--fallback landlock [--allow-unenforced]] -- CMD [ARG]...\n");
		return AG_EXIT_USAGE;
	}
	/* Compile here too: a bad policy is reported before anything exists, and the filter
	 * needs spec.process. */
	status = ag_cli_compile(policies, n_pol, &pols, &c);
	if (status != AG_EXIT_OK)
		return status;
	ag_log_setup_libbpf();
	if (ag_backend_choose(fallback, &backend, why, sizeof(why))) {
		ag_backend_log_refusal("run", why);
		ret = AG_EXIT_UNAVAILABLE;
		goto cleanup;
	}
	if (backend == AG_BACKEND_LANDLOCK) {
		ag_log_warn("run: BPF-LSM is not available (%s): --fallback landlock", why);
		ret = prepare_landlock(c, policies, n_pol, events, cgroup_path, allow_unenforced,
				       &plan, &llfd);
		if (ret != AG_EXIT_OK)
			goto cleanup;
		ret = AG_EXIT_SOFTWARE;
	} else if (fallback) {
		ag_log_info("run: BPF-LSM is available, so --fallback landlock is not used");
	}

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
	if (backend == AG_BACKEND_LANDLOCK) {
		dargs[nd++] = "--fallback";
		dargs[nd++] = "landlock";
		dargs[nd++] = "--under-run";
	}
	if (dns.listen[0]) {
		dargs[nd++] = "--dns-listen";
		dargs[nd++] = dns.listen;
	}
	for (i = 0; i < n_pol; i++)
		dargs[nd++] = policies[i];
	dargs[nd] = NULL;
	err = ag_state_dir_make(state_dir);
	if (!err) {
		state_made = true;
		unlink(ready);
	}
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
		exec_sandboxed(&cg, c->process.io_uring, llfd, argv + optind);
	/* The command's signals are its own: run only waits. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	ret = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

cleanup:
	/* What CMD left in the sandbox is killed before enforcement goes (up to 10 s). */
	if (cg.fd >= 0 && (err = ag_cgroup_kill_wait(cg.path)))
		ag_log_error("run: processes left in \"%s\" could not be stopped: %s; enforcement "
			     "stays pinned at \"%s\"", cg.path, strerror(-err), pin_dir);
	if (daemon > 0) {
		kill(daemon, SIGTERM);
		waitpid(daemon, NULL, 0);
	}
	/*
	 * No wait for the programs to detach (seconds under TCG): they judge the cgroup that goes
	 * next, whose id is never reused, so from here they match nothing.
	 */
	if (loaded && !err && (err = ag_loader_unpin_dir(pin_dir, false)))
		ag_log_error("run: unloading \"%s\": %s", pin_dir, strerror(-err));
	if (cg.fd >= 0) {
		int e;

		ag_cgroup_close(&cg);
		if (cg.created && !err && (e = ag_cgroup_destroy(cg.path)))
			ag_log_warn("run: cannot remove the sandbox cgroup \"%s\": %s", cg.path,
				    strerror(-e));
	}
	/* Its seq and policy copies served this run only; kept while enforcement stays pinned. */
	if (state_made && !err && (err = ag_state_dir_remove(state_dir)))
		ag_log_warn("run: cannot remove \"%s\": %s", state_dir, strerror(-err));
	if (llfd >= 0)
		close(llfd);
	ag_ll_plan_free(&plan);
	ag_compiled_free(c);
	ag_cli_free_policies(pols, n_pol);
	return ret;
}
