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
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "compile.h"
#include "loader.h"
#include "log.h"
#include "policy_store.h"
#include "seqstore.h"

int cmd_reload(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "state-dir", required_argument, NULL, 'S' },
		{},
	};
	const char *pin_dir = AG_PIN_DIR, *state_dir = "/var/lib/agentguard";
	struct ag_loader_opts lopts = { .lsm = true, .cgroup = true };
	struct ag_active_policy p = {};
	struct ag_loader *l = NULL;
	int opt, err, dirfd = -1, status;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == 'P')
			pin_dir = optarg;
		else if (opt == 'S')
			state_dir = optarg;
		else
			return AG_EXIT_USAGE;
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: agentguard reload [--pin-dir DIR] [--state-dir DIR] "
				"POLICY...\n");
		return AG_EXIT_USAGE;
	}
	ag_log_setup_libbpf();
	status = ag_cli_compile(argv + optind, argc - optind, &p.pols, &p.c);
	if (status != AG_EXIT_OK) {
		ag_log_error("reload: nothing changed");
		return status;
	}
	p.n = argc - optind;
	if (!ag_loader_pinned_complete(pin_dir)) {
		ag_log_error("reload: no enforcement is pinned at \"%s\"; agentguard load starts it",
			     pin_dir);
		status = AG_EXIT_CONFIG;
		goto cleanup;
	}
	lopts.pin_dir = pin_dir;
	err = ag_loader_open(&lopts, &l);
	if (err) {
		ag_log_error("reload: cannot open the pinned state at \"%s\": %s", pin_dir,
			     strerror(-err));
		status = err == -EUCLEAN ? AG_EXIT_CONFIG : AG_EXIT_UNAVAILABLE;
		goto cleanup;
	}
	err = ag_state_dir_make(state_dir);
	dirfd = err ? -1 : open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		ag_log_error("reload: cannot use the state directory \"%s\": %s", state_dir,
			     strerror(err ? -err : errno));
		status = AG_EXIT_CONFIG;
		goto cleanup;
	}
	err = ag_install_generation(l, pin_dir, dirfd, argv + optind, p.n, p.c);
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
