/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The filesystem decision: a keyed prefix-hash walk over the active generation's path table.
 * One copy for every hook that judges a path (file.bpf.c) and for the benchmark that times it
 * at 10 to 100,000 rules with BPF_PROG_TEST_RUN (bench/bpf/fs_lookup.bpf.c), so what is
 * measured is what enforces. Needs common.bpf.h first.
 */
#ifndef AG_FS_DECIDE_BPF_H
#define AG_FS_DECIDE_BPF_H

/* Per-generation policy tables: the loader creates the inner maps, sized from the policy. */
struct ag_fs_inner {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	/* Sizes, not BTF types: libbpf 1.1's linker loses inner-map key types. */
	__uint(key_size, sizeof(struct ag_fs_key));
	__uint(value_size, sizeof(struct ag_fs_val));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, AG_GENERATIONS);
	__type(key, __u32);
	__array(values, struct ag_fs_inner);
} ag_fs_gens SEC(".maps");

struct ag_walk {
	void *table;
	const char *path;	/* the scratch buffer; the path starts at path[off] */
	__u64 hash;
	__u32 off;
	__u32 len;		/* strlen of the path */
	__u32 found;
	__u32 exact;		/* best is the entry of the whole path: its guard applies */
	__u32 missed;		/* a prefix missed: no longer one is in the table (closure) */
	struct ag_fs_val best;
};

static __always_inline void ag_walk_lookup(struct ag_walk *w, __u64 hash, __u32 len)
{
	struct ag_fs_key key = { .hash = ag_path_hash_final(hash, len) };
	struct ag_fs_val *v;

	v = bpf_map_lookup_elem(w->table, &key);
	if (v) {
		w->best = *v;
		w->found = 1;
		w->exact = len == w->len;
	} else {
		w->missed = 1;
	}
}

/*
 * One byte of the path per call. At the end of each component the prefix so far is looked up;
 * a later hit is a longer prefix, so the last hit is the longest matching rule path. The table
 * is prefix-closed (the compiler adds every ancestor of an entry: compile_fs_closure), so after
 * the first miss no longer prefix can hit: the walk only finishes the hash (events key on it).
 * Most components of most paths start no rule: one miss, not one per component, and at 100,000
 * rules not one cold bucket per component.
 */
static long ag_walk_step(__u32 i, void *ctx)
{
	struct ag_walk *w = ctx;
	char c;

	if (i >= w->len) {
		if (w->len > 1 && !w->missed)
			ag_walk_lookup(w, w->hash, w->len);
		return 1;
	}
	c = w->path[(w->off + i) & (AG_PATH_MAX - 1)];
	if (c == '/' && i > 0 && !w->missed)
		ag_walk_lookup(w, w->hash, i);
	w->hash = ag_path_hash_step(w->hash, c);
	if (i == 0)
		ag_walk_lookup(w, w->hash, 1);	/* "/": always present, holds the defaults */
	return 0;
}


/*
 * The verdict for the access want to the resolved path s->path[off .. off + len), NUL at
 * off + len: the path as bpf_d_path or the resolver wrote it. *hash gets the path's keyed hash
 * (ag_path_hash_*, seeded per load) when the walk completes, else 0. guarded: the access
 * renames, removes or replaces the path itself, so the guard of its own entry applies too
 * (ag_fs_val_guarded; threat model R11): one more field of the entry the walk ends on, no
 * lookup more.
 */
static __always_inline __u8 ag_fs_decide(const struct ag_state *st, struct ag_scratch *s,
					 __u32 off, __u32 len, __u32 want, __u32 *rule, __u64 *hash,
					 bool guarded)
{
	__u8 verdict;
	struct ag_walk w = {};
	__u32 gen = ag_state_slot(st);

	*rule = AG_RULE_NONE;
	*hash = 0;
	w.table = bpf_map_lookup_elem(&ag_fs_gens, &gen);
	/* No table in the active slot: the loader has not finished. Fail closed. */
	if (!w.table)
		return AG_DENY;
	/* An empty path, or one that is not a string in the buffer: fail closed. */
	if (!len || off >= AG_PATH_MAX || len > AG_PATH_MAX - 1 - off)
		return AG_DENY;
	w.path = s->path;
	w.off = off;
	w.len = len;
	w.hash = st->hash_seed;
	bpf_loop(AG_PATH_MAX, ag_walk_step, &w, 0);
	/* "/" is in every compiled table; no hit means a broken table. Fail closed. */
	if (!w.found)
		return AG_DENY;
	*hash = ag_path_hash_final(w.hash, len);
	verdict = ag_fs_val_verdict(&w.best, want, rule);
	if (guarded && w.exact)
		verdict = ag_fs_val_guarded(&w.best, verdict, rule);
	return verdict;
}

#endif /* AG_FS_DECIDE_BPF_H */
