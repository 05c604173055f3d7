// SPDX-License-Identifier: GPL-2.0
/* agentguard check: parse, validate and compile; touches no kernel state. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "compile.h"
#include "log.h"
#include "policy.h"

void ag_cli_free_policies(struct ag_policy **pols, int n)
{
	int i;

	if (!pols)
		return;
	for (i = 0; i < n; i++)
		ag_policy_free(pols[i]);
	free(pols);
}

static double elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) * 1e3 + (now.tv_nsec - since->tv_nsec) / 1e6;
}

int ag_cli_compile(char **files, int n, struct ag_policy ***pols_out, struct ag_compiled **out)
{
	struct timespec t0;
	struct ag_diags diags = {};
	struct ag_policy **pols;
	int i, err = 0, status = AG_EXIT_OK;

	pols = calloc(n + 1, sizeof(*pols));
	if (!pols)
		return AG_EXIT_SOFTWARE;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		err = ag_policy_parse_file(files[i], &pols[i], &diags);
		if (err == -EINVAL) {
			status = AG_EXIT_BADPOLICY;
		} else if (err) {
			ag_log_error("policy: cannot read \"%s\": %s", files[i], strerror(-err));
			status = status ? status : AG_EXIT_NOINPUT;
		}
	}
	ag_log_debug("policy: parsed %d file(s) in %.1f ms", n, elapsed_ms(&t0));
	if (status == AG_EXIT_OK) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		err = ag_compile(pols, n, out, &diags);
		ag_log_debug("policy: compiled in %.1f ms", elapsed_ms(&t0));
		if (err == -EINVAL)
			status = AG_EXIT_BADPOLICY;
		else if (err) {
			ag_log_error("policy: compiling failed: %s", strerror(-err));
			status = AG_EXIT_SOFTWARE;
		}
	}
	ag_diags_print(&diags, stderr);
	ag_diags_free(&diags);
	if (status != AG_EXIT_OK) {
		ag_cli_free_policies(pols, n);
		pols = NULL;
	}
	*pols_out = pols;
	return status;
}

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
