// SPDX-License-Identifier: GPL-2.0
/* agentguard check: parse, validate and compile; touches no kernel state. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "compile.h"
#include "log.h"
#include "policy.h"

int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = { { "verbose", no_argument, NULL, 'v' }, {} };
	struct ag_compiled *c = NULL;
	struct ag_policy **pols = NULL;
	int opt, status;

	while ((opt = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		if (opt == 'v')
			ag_verbose = true;
		else
			return AG_EXIT_USAGE;
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: agentguard check POLICY...\n");
		return AG_EXIT_USAGE;
	}
	status = ag_cli_compile(argv + optind, argc - optind, &pols, &c);
	if (status == AG_EXIT_OK) {
		printf("policy OK: %d file(s), %zu rules, %zu filesystem entries, %zu network "
		       "entries, sha256 %s\n",
		       argc - optind, c->n_rules, c->n_fs, c->n_net, c->sha256_hex);
	}
	ag_compiled_free(c);
	ag_cli_free_policies(pols, argc - optind);
	return status;
}
