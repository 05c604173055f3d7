// SPDX-License-Identifier: GPL-2.0
/*
 * agentguard reload [--pin-dir DIR] [--state-dir DIR] POLICY...: replace the whole policy of
 * the enforcement pinned under DIR, whether or not a daemon runs. The files are compiled
 * first: an invalid policy changes nothing (exit 65). Then, under the swap lock, the next
 * generation's tables are built and the generation flips in one store; a running daemon
 * notices and names later events from the new policy (state directory copies).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "cli.h"
#include "compile.h"
#include "loader.h"
#include "log.h"
#include "policy_store.h"
#include "seqstore.h"

/*
 * The new policy's spec.limits on the sandbox, as a daemon's SIGHUP reload sets them: the
 * cgroup is the one load recorded, if it is still the one enforced. A failure is reported
 * and the old limits stay; the rules are installed either way.
 */
static void apply_limits(const struct ag_loader *l, const char *state_dir,
			 const struct ag_limits *lim)
{
	struct ag_cgroup cg = { .fd = -1 };
	const char *failed = "the cgroup load recorded (sandbox-cgroup in the state directory)";
	char path[4096];
	int err;

	err = ag_sandbox_path_read(state_dir, path, sizeof(path));
	if (!err)
		err = ag_cgroup_open(path, 0, &cg);
	if (!err && cg.id != ag_loader_sandbox_id(l))
		err = -ESTALE;	/* removed and made again: not the cgroup enforced */
	if (!err)
		err = ag_cgroup_apply_limits(&cg, lim, &failed);
	if (err)
		ag_log_warn("reload: cannot set the sandbox's limits (%s): %s; the old limits stay",
			    failed, strerror(-err));
	ag_cgroup_close(&cg);
}

/* Compile files and install them as the next generation of what is pinned at pin_dir. */
static int reload_files(const char *pin_dir, const char *state_dir, char **files, int n)
{
	struct ag_loader_opts lopts = { .cgroup = true, .pin_dir = pin_dir };
	struct ag_active_policy p = {};
	struct ag_loader *l = NULL;
	int err, dirfd = -1, status, backend;

	ag_log_setup_libbpf();
	status = ag_cli_compile(files, n, &p.pols, &p.c);
	if (status != AG_EXIT_OK) {
		ag_log_error("reload: nothing changed");
		return status;
	}
	p.n = n;
	backend = ag_loader_pinned_backend(pin_dir);
	if (backend < 0) {
		ag_log_error("reload: no enforcement is pinned at \"%s\"; agentguard load starts it",
			     pin_dir);
		status = AG_EXIT_CONFIG;
		goto cleanup;
	}
	/* The programs stay as they are: a reload swaps tables, whichever backend loaded them. */
	lopts.lsm = backend == AG_BACKEND_BPF_LSM;
	err = ag_loader_open(&lopts, &l);
	if (err == -ESTALE || err == -EAGAIN) {
		ag_log_error("reload: the enforcement pinned at \"%s\" is %s; nothing changed",
			     pin_dir, err == -ESTALE ?
			     "another agentguard build's: agentguard load (the service's start) "
			     "upgrades it first" : "being upgraded by agentguard load: try again");
		status = AG_EXIT_CONFIG;
		goto cleanup;
	}
	if (err) {
		ag_log_error("reload: cannot open the pinned state at \"%s\": %s", pin_dir,
			     strerror(-err));
		status = err == -EUCLEAN ? AG_EXIT_CONFIG : AG_EXIT_UNAVAILABLE;
		goto cleanup;
	}
	dirfd = ag_state_dir_open(state_dir);
	if (dirfd < 0) {
		ag_log_error("reload: cannot use the state directory \"%s\": %s", state_dir,
			     strerror(-dirfd));
		status = AG_EXIT_CONFIG;
		goto cleanup;
	}
	apply_limits(l, state_dir, &p.c->limits);
	err = ag_install_generation(l, pin_dir, dirfd, files, n, p.c);
	if (err) {
		ag_log_error("reload: installing failed: %s; the policy in force stays",
			     strerror(-err));
		status = AG_EXIT_UNAVAILABLE;
		goto cleanup;
	}
	ag_log_info("reloaded: generation %u in force (sha256 %s)", ag_loader_generation(l),
		    p.c->sha256_hex);
	status = AG_EXIT_OK;

cleanup:
	if (dirfd >= 0)
		close(dirfd);
	ag_loader_close(l);
	ag_active_policy_free(&p);
	return status;
}

/* reload and reset share their options; reset takes no files. */
static int parse(int argc, char **argv, const char **pin_dir, const char **state_dir)
{
	static const struct option opts[] = {
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "state-dir", required_argument, NULL, 'S' },
		{},
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == 'P')
			*pin_dir = optarg;
		else if (opt == 'S')
			*state_dir = optarg;
		else
			return -1;
	}
	return 0;
}

int cmd_reload(int argc, char **argv)
{
	const char *pin_dir = AG_PIN_DIR, *state_dir = AG_STATE_DIR;

	if (parse(argc, argv, &pin_dir, &state_dir) || optind >= argc) {
		fprintf(stderr, "usage: agentguard reload [--pin-dir DIR] [--state-dir DIR] "
				"POLICY...\n");
		return AG_EXIT_USAGE;
	}
	return reload_files(pin_dir, state_dir, argv + optind, argc - optind);
}

/*
 * agentguard reset [--pin-dir DIR] [--state-dir DIR]: reload the policy files the daemon was
 * started with (the list it keeps in the state directory), undoing any agentguard reload.
 */
int cmd_reset(int argc, char **argv)
{
	const char *pin_dir = AG_PIN_DIR, *state_dir = AG_STATE_DIR;
	char *files[AG_STARTED_WITH_MAX];
	int n, status;

	if (parse(argc, argv, &pin_dir, &state_dir) || optind != argc) {
		fprintf(stderr, "usage: agentguard reset [--pin-dir DIR] [--state-dir DIR]\n");
		return AG_EXIT_USAGE;
	}
	n = ag_started_with_read(state_dir, files, AG_STARTED_WITH_MAX);
	if (n <= 0) {
		ag_log_error("reset: no record of the files agentguard load was started with in "
			     "\"%s\": %s", state_dir, n ? strerror(-n) : "empty");
		return AG_EXIT_CONFIG;
	}
	status = reload_files(pin_dir, state_dir, files, n);
	while (n--)
		free(files[n]);
	return status;
}
