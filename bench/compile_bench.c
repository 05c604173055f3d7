// SPDX-License-Identifier: GPL-2.0
/*
 * compile_load_ms_100k (make bench, issue #12): the time from a 100,000-rule policy's text to
 * its tables in the kernel, as agentguard load and reload spend it: parse and check the YAML,
 * compile the layers, then build the next generation's maps (ag_loader_install). Host-native:
 * no program is attached, so the BPF-LSM the host refuses is not needed (only the object's
 * maps and its syscall programs are loaded, untimed).
 *
 * The policy: 50,000 filesystem rules (/data/dN/fN, ro and none in turn) and 50,000 network
 * rules (10.x.y.z/32 on port 443). ROUNDS rounds; prints one JSON line per round with the
 * parse+check+compile and the install time in ms, and the kernel memory of the tables
 * (fdinfo memlock of the filesystem and network tables). --policy-only prints the policy.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compile.h"
#include "loader.h"
#include "policy.h"

#define RULES 100000
#define ROUNDS 5

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static char *policy_text(size_t *len_out)
{
	size_t cap = 512 + (size_t)RULES * 96, len;
	char *y = malloc(cap);
	int i;

	if (!y)
		return NULL;
	len = snprintf(y, cap, "apiVersion: agentguard/v1\nkind: Policy\nmetadata:\n"
			       "  name: bench100k\nspec:\n  filesystem:\n    default: allow\n"
			       "    rules:\n");
	for (i = 0; i < RULES / 2; i++)
		len += snprintf(y + len, cap - len, "      - path: /data/d%d/f%d\n        access: %s\n",
				i / 100, i, i % 2 ? "none" : "ro");
	len += snprintf(y + len, cap - len, "  network:\n    default: deny\n    rules:\n");
	for (i = 0; i < RULES / 2; i++)
		len += snprintf(y + len, cap - len,
				"      - action: allow\n        cidr: 10.%d.%d.%d/32\n        ports: [443]\n",
				(i >> 16) & 255, (i >> 8) & 255, i & 255);
	*len_out = len;
	return y;
}

int main(int argc, char **argv)
{
	struct ag_loader_opts o = {};
	struct ag_loader *l = NULL;
	size_t len;
	char *y = policy_text(&len);
	int r, err = 0;

	if (!y)
		return 1;
	/* The same policy as a file, for the guest's kernel_map_bytes_100k and reload. */
	if (argc == 2 && !strcmp(argv[1], "--policy-only")) {
		fwrite(y, 1, len, stdout);
		free(y);
		return 0;
	}
	/* Only maps and syscall programs: ag_loader_install needs the maps, not an attach. */
	err = ag_loader_open(&o, &l);
	if (err) {
		fprintf(stderr, "compile_bench: loading the object: %s\n", strerror(-err));
		return 1;
	}
	for (r = 0; r < ROUNDS && !err; r++) {
		struct ag_compiled *c = NULL;
		struct ag_policy *p = NULL;
		struct ag_diags d = {};
		unsigned long long bytes = 0;
		double t0, t1, t2;

		t0 = now_ms();
		err = ag_policy_parse_buf("bench100k.yaml", y, len, &p, &d);
		if (!err)
			err = ag_compile(&p, 1, &c, &d);
		t1 = now_ms();
		if (!err)
			err = ag_loader_install(l, c);
		t2 = now_ms();
		if (!err)
			err = ag_loader_table_bytes(l, &bytes);
		if (!err)
			printf("{\"round\":%d,\"rules\":%d,\"compile_ms\":%.1f,\"install_ms\":%.1f,"
			       "\"compile_load_ms\":%.1f,\"table_bytes\":%llu,\"fs_entries\":%zu,"
			       "\"net_entries\":%zu}\n", r + 1, RULES, t1 - t0, t2 - t1, t2 - t0, bytes,
			       c->n_fs, c->n_net);
		else
			fprintf(stderr, "compile_bench: round %d: %s\n", r + 1, strerror(-err));
		ag_compiled_free(c);
		ag_policy_free(p);
		ag_diags_free(&d);
	}
	ag_loader_close(l);
	free(y);
	return err ? 1 : 0;
}
