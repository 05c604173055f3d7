// SPDX-License-Identifier: GPL-2.0
/*
 * lookup_100k_vs_10 (make bench, issues #7 and #12): does the path decision's cost grow with
 * the number of rules? TCG models no caches, so this runs host-native, on real caches: the
 * decision code file.bpf.c runs (bpf/fs_decide.bpf.h: the keyed prefix-hash walk over one
 * generation's table) compiled into a tc program (bench/bpf/fs_lookup.bpf.c), which
 * BPF_PROG_TEST_RUN repeats and times in the kernel.
 *
 * Three instances, with tables compiled by agentguard's compiler from policies of 10, 1,000
 * and 100,000 rules. All three decide the same depth-4 path, /workspace/src/pkg/file.c, which
 * one rule (/workspace, rw) covers; the other rules are /data/dN/fM paths. Rounds alternate the
 * instances (a different one first each round); each measurement is REPEAT runs. A second
 * measurement ("spread") decides 8,192 paths in turn (/workspace/src/pN/file.c), so the
 * lookups that miss land all over the table, as a real workload's do, rather than in a few
 * buckets that stay in cache. Prints one JSON line per round: ns per decision for each rule
 * count, same path and spread. The spread decisions are not checked one by one (the last is:
 * /workspace's allow too).
 */
#include <errno.h>
#include <stdbool.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "compile.h"
#include "policy.h"
/* After the ABI header (through compile.h): the skeleton names its structs. */
#include "bench/fs_lookup.skel.h"

#define ROUNDS 9
#define REPEAT 200000
#define VARIANTS 3
#define SPREAD_PATHS 8192	/* as fs_lookup.bpf.c */

static const char bench_path[] = "/workspace/src/pkg/file.c";
static const int rule_counts[VARIANTS] = { 10, 1000, 100000 };

static char *policy_text(int n, size_t *len)
{
	size_t cap = 512 + (size_t)n * 64;
	char *y = malloc(cap);
	int i;

	if (!y)
		return NULL;
	*len = snprintf(y, cap, "apiVersion: agentguard/v1\nkind: Policy\nmetadata:\n  name: lookup\n"
				"spec:\n  filesystem:\n    default: deny\n    rules:\n"
				"      - path: /workspace\n        access: rw\n");
	for (i = 1; i < n; i++)
		*len += snprintf(y + *len, cap - *len, "      - path: /data/d%d/f%d\n        access: ro\n",
				 i / 100, i);
	return y;
}

/* One instance: its tables hold the compiled policy of n rules; the path is in its scratch. */
static int setup(struct fs_lookup **out, int n)
{
	struct ag_state st = { .generation_seq = 1 };
	struct ag_compiled *c = NULL;
	struct ag_policy *p = NULL;
	struct ag_diags d = {};
	struct fs_lookup *skel;
	char *scratch = NULL;
	size_t vsz;
	struct ag_fs_key key;
	__u32 zero = 0, slot;
	int ncpus = libbpf_num_possible_cpus(), fd = -1, err, i;
	size_t len = 0;
	char *y = policy_text(n, &len);

	skel = fs_lookup__open_and_load();
	if (!skel || !y || ncpus <= 0) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = ag_policy_parse_buf("lookup.yaml", y, len, &p, &d);
	if (!err)
		err = ag_compile(&p, 1, &c, &d);
	if (err)
		goto cleanup;
	st.hash_seed = 0x9e3779b97f4a7c15ULL * (n + 1);
	slot = ag_state_slot(&st);
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "ag_fs_tab", sizeof(struct ag_fs_key),
			    sizeof(struct ag_fs_val), c->n_fs, NULL);
	if (fd < 0) {
		err = -errno;
		goto cleanup;
	}
	for (i = 0; i < (int)c->n_fs; i++) {
		key.hash = ag_fs_path_key(c->fs[i].path, strlen(c->fs[i].path), st.hash_seed);
		if (bpf_map_update_elem(fd, &key, &c->fs[i].val, BPF_NOEXIST)) {
			err = -errno;
			goto cleanup;
		}
	}
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.ag_fs_gens), &slot, &fd, 0) ||
	    bpf_map_update_elem(bpf_map__fd(skel->maps.ag_state), &zero, &st, 0)) {
		err = -errno;
		goto cleanup;
	}
	/* bench_scratch is per CPU: the path on every CPU, wherever the test run lands. */
	/* Per-CPU values are laid out 8-byte aligned; the path starts each CPU's buffer. */
	vsz = (bpf_map__value_size(skel->maps.bench_scratch) + 7) & ~(size_t)7;
	scratch = calloc(ncpus, vsz);
	if (!scratch) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < ncpus; i++)
		memcpy(scratch + (size_t)i * vsz, bench_path, sizeof(bench_path));
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.bench_scratch), &zero, scratch, 0)) {
		err = -errno;
		goto cleanup;
	}
	skel->bss->want_verdict = ag_fs_decide_user(c, bench_path, AG_FS_WANT_READ,
						    &skel->bss->want_rule);
	if (skel->bss->want_verdict != AG_ALLOW) {
		err = -EBADMSG;
		goto cleanup;
	}
	skel->bss->path_len = sizeof(bench_path) - 1;
	for (i = 0; i < SPREAD_PATHS; i++) {
		struct { __u32 len; char path[64]; } sp = {};
		__u32 k = i;

		sp.len = snprintf(sp.path, sizeof(sp.path), "/workspace/src/p%d/file.c", i);
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.bench_paths), &k, &sp, 0)) {
			err = -errno;
			goto cleanup;
		}
	}
	skel->bss->rule_count = c->n_fs;
	*out = skel;
	skel = NULL;
cleanup:
	if (fd >= 0)
		close(fd);	/* the outer map holds the table */
	free(scratch);
	free(y);
	ag_compiled_free(c);
	ag_policy_free(p);
	ag_diags_free(&d);
	fs_lookup__destroy(skel);
	return err;
}

/* ns per decision over REPEAT runs, as the kernel times them; checks the verdict. */
static int measure(struct fs_lookup *skel, bool spread, double *ns)
{
	char pkt[64] = {};
	LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = pkt, .data_size_in = sizeof(pkt),
		    .repeat = REPEAT);

	skel->bss->verdict = 0xff;
	skel->bss->spread = spread;
	if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.ag_fs_lookup), &topts))
		return -errno;
	/* The compiler's own decision for the path (ag_fs_decide_user): an allow by /workspace. */
	if (skel->bss->verdict != skel->bss->want_verdict || skel->bss->rule != skel->bss->want_rule)
		return -EBADMSG;
	*ns = topts.duration;
	return 0;
}

int main(void)
{
	struct fs_lookup *skel[VARIANTS] = {};
	double ns[VARIANTS], sp[VARIANTS];
	cpu_set_t set;
	int r, j, v, err = 0;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
	for (v = 0; v < VARIANTS && !err; v++)
		err = setup(&skel[v], rule_counts[v]);
	if (err) {
		fprintf(stderr, "lookup_bench: setting up %d rules: %s\n", rule_counts[v - 1],
			strerror(-err));
		return 1;
	}
	for (v = 0; v < VARIANTS && !err; v++) {
		err = measure(skel[v], false, &ns[v]);	/* warm-up */
		if (!err)
			err = measure(skel[v], true, &sp[v]);
	}
	for (r = 0; r < ROUNDS && !err; r++) {
		for (j = 0; j < VARIANTS && !err; j++) {
			v = (j + r) % VARIANTS;
			err = measure(skel[v], false, &ns[v]);
			if (!err)
				err = measure(skel[v], true, &sp[v]);
		}
		if (!err)
			printf("{\"round\":%d,\"repeat\":%d,\"ns_10\":%.2f,\"ns_1k\":%.2f,"
			       "\"ns_100k\":%.2f,\"spread_ns_10\":%.2f,\"spread_ns_1k\":%.2f,"
			       "\"spread_ns_100k\":%.2f,\"entries_100k\":%u}\n", r + 1, REPEAT,
			       ns[0], ns[1], ns[2], sp[0], sp[1], sp[2], skel[2]->bss->rule_count);
	}
	if (err)
		fprintf(stderr, "lookup_bench: %s\n", err == -EBADMSG ?
			"the kernel's decision differs from the compiler's (an allow by /workspace)" : strerror(-err));
	for (v = 0; v < VARIANTS; v++)
		fs_lookup__destroy(skel[v]);
	return err ? 1 : 0;
}
