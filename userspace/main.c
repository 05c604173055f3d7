// SPDX-License-Identifier: GPL-2.0
/*
 * agentguard: runtime enforcement for AI-agent sandboxes. One binary, subcommands;
 * invoked as agentguard-load it is "agentguard load".
 */
#include <libgen.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

#ifndef AG_VERSION
#define AG_VERSION "0.1.0"
#endif

static void usage(FILE *f)
{
	fputs("usage: agentguard <command> [options]\n"
	      "\n"
	      "commands:\n"
	      "  load [--cgroup PATH] [--events FILE|-] [--events-backlog BYTES]\n"
	      "       [--format json|ocsf] [--journal]\n"
	      "       [--ready-file PATH] [--session ID] [--identity TEXT] [--state-dir DIR]\n"
	      "       [--metrics FILE] [--pin-dir DIR] [--detach] [--dns-listen ADDR[:PORT]]\n"
	      "       [--dns-upstream ADDR[:PORT]]... [--dns-ttl-floor S] [--dns-ttl-cap S]\n"
	      "       [--fallback landlock [--allow-unenforced]] [-v] POLICY...\n"
	      "                 compile, load and attach the policies for a sandbox cgroup (pinned:\n"
	      "                 enforcement outlives the daemon; a later load adopts it), then\n"
	      "                 stream audit events (JSON lines) until SIGTERM\n"
	      "  check POLICY...  validate and compile; no kernel state (exit 65 if invalid)\n"
	      "  explain POLICY... (--open PATH [--write|--exec] | --remove PATH |\n"
	      "       --connect ADDR:PORT[/tcp|udp] | --bind ADDR:PORT[/tcp|udp] |\n"
	      "       --unix PATH|@NAME | --resolve NAME [--connect ADDR:PORT]) [--json]\n"
	      "       [--pin-dir DIR] [--state-dir DIR]\n"
	      "                 the decision the kernel would make, with rule and layer\n"
	      "  probe [--json]   can this kernel enforce? (exit 0 yes, 69 no)\n"
	      "  schema           print the policy language's JSON Schema (draft 2020-12)\n"
	      "  status [--json] [--state-dir DIR] [--pin-dir DIR]\n"
	      "                 is enforcement active? (exit 0 yes, 3 no)\n"
	      "  reload [--pin-dir DIR] [--state-dir DIR] POLICY...\n"
	      "                 replace the pinned enforcement's policy (exit 65 if invalid)\n"
	      "  reset [--pin-dir DIR] [--state-dir DIR]\n"
	      "                 reload the policy files agentguard load was started with\n"
	      "  unload [--pin-dir DIR]  end the pinned enforcement\n"
	      "  run --policy FILE [--policy FILE]... [--events FILE|-] [--format json|ocsf]\n"
	      "       [--journal] [--cgroup PATH] [--fallback landlock [--allow-unenforced]]\n"
	      "       -- CMD [ARG]...\n"
	      "                 run CMD in a sandbox of its own (seccomp, no_new_privs, closed fds)\n"
	      "                 and return its exit status\n"
	      "  sandbox run --policy FILE [--policy FILE]... [--workspace DIR] [--name NAME]\n"
	      "       [--events FILE|-] [--format json] [--journal] [--kernel 6.12|6.1|DIR]\n"
	      "       [--runas USER] [--network none|filtered] [--timeout SECONDS] -- CMD [ARG]...\n"
	      "                 run CMD in a microVM (QEMU, unprivileged) with the policies enforced\n"
	      "                 in its kernel; only the workspace is shared; the guest's events\n"
	      "                 come to the host's sinks (origin guest); returns CMD's status\n"
	      "  sandbox ls [--json]  running sandboxes (and clean up what dead runners left)\n"
	      "  sandbox stop NAME    stop a running sandbox\n"
	      "  --fallback landlock  without BPF-LSM: Landlock (run) and cgroup programs; prints\n"
	      "                 and, unless --allow-unenforced, refuses rules it cannot enforce\n"
	      "  version\n",
	      f);
}

int main(int argc, char **argv)
{
	const char *self = basename(argv[0]);

	if (!strcmp(self, "agentguard-load"))
		return cmd_load(argc, argv);
	if (argc < 2) {
		usage(stderr);
		return AG_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "load"))
		return cmd_load(argc - 1, argv + 1);
	if (!strcmp(argv[1], "check"))
		return cmd_check(argc - 1, argv + 1);
	if (!strcmp(argv[1], "explain"))
		return cmd_explain(argc - 1, argv + 1);
	if (!strcmp(argv[1], "status"))
		return cmd_status(argc - 1, argv + 1);
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "reset"))
		return cmd_reset(argc - 1, argv + 1);
	if (!strcmp(argv[1], "reload"))
		return cmd_reload(argc - 1, argv + 1);
	if (!strcmp(argv[1], "unload"))
		return cmd_unload(argc - 1, argv + 1);
	if (!strcmp(argv[1], "schema"))
		return cmd_schema(argc - 1, argv + 1);
	if (!strcmp(argv[1], "sandbox"))
		return cmd_sandbox(argc - 1, argv + 1);
	if (!strcmp(argv[1], "probe"))
		return cmd_probe(argc - 1, argv + 1);
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
		printf("agentguard %s (ABI %d, event schema %d)\n", AG_VERSION, 1, 1);
		return AG_EXIT_OK;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return AG_EXIT_OK;
	}
	fprintf(stderr, "agentguard: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return AG_EXIT_USAGE;
}
