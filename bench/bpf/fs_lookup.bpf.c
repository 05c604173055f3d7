// SPDX-License-Identifier: GPL-2.0
/*
 * The path decision for bench/lookup_bench.c: the product's ag_fs_decide (bpf/fs_decide.bpf.h,
 * the code every file hook uses) on the path userspace put in this CPU's buffer, as a
 * tc program, the kind BPF_PROG_TEST_RUN repeats and times in the kernel. Reads the state and
 * the active generation's table exactly as the hooks do; no BPF-LSM, no attachment. Never
 * linked into the product's skeleton.
 */
#include "common.bpf.h"
#include "fs_decide.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * The hooks keep their scratch buffer in task storage, which a tc program cannot use: the same
 * struct, per CPU. Only where the path comes from differs; the decision is the hooks' own.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ag_scratch);
} bench_scratch SEC(".maps");

/*
 * The spread runs: SPREAD_PATHS paths (/workspace/src/pN/file.c), one per run in turn, so the
 * lookups land all over a large table as a real workload's do, not in a few hot buckets.
 */
#define SPREAD_PATHS 8192
#define SPREAD_LEN 64
struct spread_path {
	__u32 len;
	char path[SPREAD_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SPREAD_PATHS);
	__type(key, __u32);
	__type(value, struct spread_path);
} bench_paths SEC(".maps");

__u32 spread;		/* 0: the one path in bench_scratch; 1: bench_paths in turn */
__u32 next_path;

/* Set by userspace before the runs; the last decision, read back to check it. */
__u32 path_len;
__u32 rule_count;
__u32 verdict;
__u32 rule;
__u32 want_verdict;	/* the compiler's decision (ag_fs_decide_user), to compare */
__u32 want_rule;

SEC("tc")
int ag_fs_lookup(struct __sk_buff *skb)
{
	struct ag_scratch *s;
	struct ag_state st;
	__u32 zero = 0, r;
	__u64 hash;

	__u32 len = path_len, i;
	struct spread_path *p;

	s = bpf_map_lookup_elem(&bench_scratch, &zero);
	if (!s || ag_read_state(&st))
		return 0;
	if (spread) {
		i = next_path++ % SPREAD_PATHS;
		p = bpf_map_lookup_elem(&bench_paths, &i);
		if (!p || p->len >= SPREAD_LEN)
			return 0;
		__builtin_memcpy(s->path, p->path, SPREAD_LEN);
		len = p->len;
	}
	verdict = ag_fs_decide(&st, s, 0, len, AG_FS_WANT_READ, &r, &hash, false);
	rule = r;
	return 0;
}
