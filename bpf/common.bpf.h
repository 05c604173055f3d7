/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Maps and helpers shared by every agentguard program. Every bpf/NAME.bpf.c includes this header;
 * the map definitions are __weak so the per-concern objects link into one (bpftool gen object)
 * with a single instance of each map.
 */
#ifndef AG_COMMON_BPF_H
#define AG_COMMON_BPF_H

#include "vmlinux.h"
#include <asm-generic/errno-base.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "agentguard_abi.h"

/* mmap'able: the loader changes generation_seq with one store (agentguard_abi.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct ag_state);
} ag_state SEC(".maps") __weak;

/* kseq: one per-boot counter for all events, incremented before each ring reserve. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} ag_kseq SEC(".maps") __weak;

/* Denials have a ring of their own, so other events can never crowd them out. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, AG_DENY_RINGBUF_BYTES);
} ag_deny_events SEC(".maps") __weak;

/* Everything that is not a denial: would-deny (audit mode) today. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, AG_RINGBUF_BYTES);
} ag_events SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, AG_DROP_KEYS);
	__type(key, struct ag_drop_key);
	__type(value, __u64);
} ag_drops SEC(".maps") __weak;

/*
 * Userspace's only: the drop counts already reported in loss events, by ag_drops key. Pinned
 * with the rest, so a daemon that adopts pinned enforcement reports exactly the drops its
 * predecessor did not (userspace/loss.c). No program reads or writes it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AG_DROP_KEYS);
	__type(key, struct ag_drop_key);
	__type(value, __u64);
} ag_drops_reported SEC(".maps") __weak;

/* One load the compiler may neither repeat nor split (the field changes under us). */
#define READ_ONCE(x)	(*(const volatile typeof(x) *)&(x))

/*
 * The state of this decision: a copy of ag_state taken once, so the generation cannot change
 * half-way through a decision (generation_seq is one 8-byte-aligned load of the copy).
 */
static __always_inline int ag_read_state(struct ag_state *out)
{
	__u32 zero = 0;
	struct ag_state *st;

	st = bpf_map_lookup_elem(&ag_state, &zero);
	/* An ARRAY lookup of index 0 cannot fail; if it did, no sandbox is known. */
	if (!st)
		return -ENOENT;
	__builtin_memcpy(out, st, sizeof(*out));
	return 0;
}

/*
 * Is the current task in the sandbox cgroup or below it? Compares the task's ancestor at the
 * sandbox's level, so a child cgroup the agent creates stays governed.
 */
static __always_inline bool ag_in_sandbox(const struct ag_state *st)
{
	if (!st->sandbox_cgid)
		return false;
	return bpf_get_current_ancestor_cgroup_id(st->sandbox_level) == st->sandbox_cgid;
}

static __always_inline __u64 ag_next_kseq(void)
{
	__u32 zero = 0;
	__u64 *seq;

	seq = bpf_map_lookup_elem(&ag_kseq, &zero);
	if (!seq)
		return 0;
	return __sync_fetch_and_add(seq, 1) + 1;
}

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AG_DECISION_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} ag_decisions SEC(".maps") __weak;

/* Count one decision for the metrics (per-CPU: no atomic needed). */
static __always_inline void ag_count_decision(__u32 kind, __u32 verdict)
{
	__u32 slot = kind * AG_VERDICTS + verdict;
	__u64 *n;

	if (slot >= AG_DECISION_SLOTS)
		return;
	n = bpf_map_lookup_elem(&ag_decisions, &slot);
	if (n)
		*n += 1;
}

/*
 * A record did not fit: count it by (kind, rule). If even the counter table is full the count
 * is lost, but the kseq gap still shows the consumer that something was.
 */
static __always_inline void ag_count_drop_why(__u32 kind, __u8 verdict, __u32 rule, __u8 reason)
{
	struct ag_drop_key key = { .kind = kind, .verdict = verdict, .reason = reason,
				   .rule = rule };
	__u64 one = 1, *n;

	n = bpf_map_lookup_elem(&ag_drops, &key);
	if (n) {
		*n += 1;	/* per-CPU value: no other CPU writes it */
		return;
	}
	if (!bpf_map_update_elem(&ag_drops, &key, &one, BPF_NOEXIST))
		return;
	/*
	 * The table is full (or another CPU just added the key): count it in the catch-all of
	 * its decision and reason, which the loader put in before attaching, so no drop goes
	 * uncounted. Its loss event names neither kind nor rule.
	 */
	n = bpf_map_lookup_elem(&ag_drops, &key);
	if (!n) {
		struct ag_drop_key all = { .verdict = verdict, .reason = reason,
					   .rule = AG_RULE_NONE };

		n = bpf_map_lookup_elem(&ag_drops, &all);
	}
	if (n)
		*n += 1;
}

static __always_inline void ag_count_drop(__u32 kind, __u8 verdict, __u32 rule)
{
	ag_count_drop_why(kind, verdict, rule, AG_DROP_RING_FULL);
}

/* ---- folding and rate limiting (see AG_FOLD_WINDOW_NS in the ABI) ------------------------ */

/*
 * A plain hash with room for every signature the event budget lets in between two flushes
 * (AG_EVENT_BURST + 2 * AG_EVENT_RATE: 8,000 of 65,536); the flush deletes entries with
 * nothing left to report. When it is full anyway, a denial is reported unfolded: nothing is
 * evicted, so no count is lost.
 */
_Static_assert(AG_EVENT_BURST + 2 * AG_EVENT_RATE <= AG_FOLD_ENTRIES, "ag_fold too small");
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AG_FOLD_ENTRIES);
	__type(key, __u64);
	__type(value, struct ag_fold);
} ag_fold SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ag_bucket);
} ag_buckets SEC(".maps") __weak;

static __always_inline __u64 ag_mix(__u64 h, __u64 v)
{
	h ^= v;
	h *= 0xff51afd7ed558ccdull;
	return h ^ (h >> 33);
}

/*
 * What makes two denials identical: kind, operation, rule, generation, process (pid and its
 * image: exec_id), and the target as two words a, b chosen per kind.
 */
struct ag_fold_id {
	__u64 a, b, exec_id;
	__u32 kind, op, rule, pid;
};

/* Keyed by the per-load secret seed, so the sandbox cannot aim two denials at one entry. */
static __always_inline __u64 ag_sig(const struct ag_state *st, const struct ag_fold_id *id)
{
	__u64 h = ag_mix(ag_mix(st->hash_seed ^ 0x9e3779b97f4a7c15ull,
				(__u64)id->kind << 32 | id->op),
			 (__u64)id->rule << 32 | id->pid);

	h = ag_mix(ag_mix(ag_mix(h, id->a), id->b), id->exec_id ^ st->generation_seq);
	return h ? h : 1;
}

static __always_inline bool ag_fold_same(const struct ag_fold *f, const struct ag_fold_id *id,
					 const struct ag_state *st)
{
	return f->a == id->a && f->b == id->b && f->exec_id == id->exec_id &&
	       f->kind == id->kind && f->op == id->op && f->rule == id->rule &&
	       f->pid == id->pid && f->generation_seq == st->generation_seq;
}

/*
 * One event of the sandbox's budget (struct ag_bucket): AG_EVENT_RATE a second, bursts of
 * AG_EVENT_BURST, whichever CPUs the denials come from. A bucket per CPU gave an agent that
 * spread its flood over N CPUs N budgets (tests/host/test_net_connect.c). Fail mode: no bucket
 * (impossible: array index 0) admits; a compare-and-swap lost AG_BUCKET_TRIES times in a row
 * (CPUs admitting at once) refuses, and the denial is counted as rate-limited.
 */
#define AG_BUCKET_TRIES 4

static __always_inline bool ag_take_token(__u64 now)
{
	const __u64 t = AG_FOLD_WINDOW_NS / AG_EVENT_RATE, tolerance = (AG_EVENT_BURST - 1) * t;
	__u32 zero = 0, i;
	struct ag_bucket *b = bpf_map_lookup_elem(&ag_buckets, &zero);
	__u64 tat, from;

	if (!b)
		return true;
	for (i = 0; i < AG_BUCKET_TRIES; i++) {
		tat = READ_ONCE(b->tat);
		from = tat > now ? tat : now;
		if (from - now > tolerance)
			return false;
		if (__sync_val_compare_and_swap(&b->tat, tat, from + t) == tat)
			return true;
	}
	return false;
}

/*
 * May a report of the denial id be written now? Returns the repeats to report with it (>= 0),
 * or -1: folded into the previous report of the same denial (counted in its ag_fold entry), or
 * over the budget (counted as a rate-limited drop). *fp and *sig go to ag_admitted once the
 * record is reserved, or to ag_unadmit if it could not be.
 */
static __always_inline long ag_admit(const struct ag_state *st, const struct ag_fold_id *id,
				     __u8 verdict, struct ag_fold **fp, __u64 *sig)
{
	__u64 now = bpf_ktime_get_boot_ns(), start;
	struct ag_fold *f;

	*fp = NULL;
	*sig = ag_sig(st, id);
	f = bpf_map_lookup_elem(&ag_fold, sig);
	/* A signature that collides with another denial's is reported on its own. */
	if (f && !ag_fold_same(f, id, st))
		f = NULL;
	if (f) {
		start = f->window_start;
		/* Within the window, or another CPU just claimed the new one: fold. */
		if (now - start < AG_FOLD_WINDOW_NS ||
		    __sync_val_compare_and_swap(&f->window_start, start, now) != start) {
			__sync_fetch_and_add(&f->folded, 1);
			return -1;
		}
	}
	if (!ag_take_token(now)) {
		ag_count_drop_why(id->kind, verdict, id->rule, AG_DROP_RATE_LIMITED);
		return -1;
	}
	if (!f) {
		struct ag_fold nf = { .window_start = now, .a = id->a, .b = id->b,
				      .exec_id = id->exec_id, .kind = id->kind, .op = id->op,
				      .rule = id->rule, .pid = id->pid,
				      .generation_seq = st->generation_seq, .verdict = verdict };

		/* Full, or a colliding entry holds the key: report it unfolded. */
		bpf_map_update_elem(&ag_fold, sig, &nf, BPF_NOEXIST);
		return 0;
	}
	*fp = f;
	/* Take what was folded since the last report; it rides on this one. */
	return __sync_lock_test_and_set(&f->folded, 0);
}

/* The report is reserved: it carries the repeats. */
static __always_inline void ag_admitted(struct ag_event_hdr *h, __u64 sig, long repeats)
{
	h->sig = sig;
	h->repeats = repeats;
}

/* The ring was full: give the repeats back to the entry (the drop itself is counted). */
static __always_inline void ag_unadmit(struct ag_fold *f, long repeats)
{
	if (f && repeats > 0)
		__sync_fetch_and_add(&f->folded, repeats);
}

/*
 * Reserve a record of constant size in the ring its verdict belongs to; count it when full.
 * A macro because bpf_ringbuf_reserve needs a constant size at each call site.
 */
#define ag_event_reserve(size, verdict, kind, rule)                                   \
	({                                                                            \
		void *__rec = (verdict) == AG_DENY ?                                  \
				      bpf_ringbuf_reserve(&ag_deny_events, (size), 0) : \
				      bpf_ringbuf_reserve(&ag_events, (size), 0);       \
		if (!__rec)                                                           \
			ag_count_drop((kind), (verdict), (rule));                     \
		__rec;                                                                \
	})

#include <linux/limits.h>	/* NAME_MAX */

/* Mounts of one file system in the caller's namespace the inode_* hooks judge (path.bpf.h). */
#define AG_ALIAS_MOUNTS		8	/* a power of two: indexes are masked with it */

/*
 * Per-task scratch for a resolved path. Task storage rather than a per-CPU array: a
 * preemptible kernel may switch tasks in the middle of a decision, and a per-CPU buffer would
 * then hold another task's path.
 */
struct ag_scratch {
	char path[AG_PATH_MAX];
	/*
	 * Never holds path bytes. The resolver (path.bpf.h) copies a name of up to NAME_MAX bytes
	 * to a masked offset below AG_PATH_MAX; the verifier cannot see that the offset leaves
	 * room, so the value must extend a name's length past the end.
	 */
	char slack[NAME_MAX + 1];
	/*
	 * ag_dentry_mounts' list (path.bpf.h): the struct vfsmount * of each mount it found.
	 * Here and not on the stack: the inode_* hooks' call chain would pass the verifier's
	 * 512-byte stack bound.
	 */
	__u64 mounts[AG_ALIAS_MOUNTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct ag_scratch);
} ag_scratch SEC(".maps") __weak;

/*
 * Inodes the sandbox may not write, unlink or rename: agentguard's own files. A protected
 * directory (the state directory) also keeps the sandbox from opening its files for writing
 * (file.bpf.c) and from linking them elsewhere (containment.bpf.c). The programs look at the
 * key only; the value is the set of owners userspace keeps (loader.h, enum ag_protect_owner).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct ag_inode_key);
	__type(value, __u32);
} ag_protected SEC(".maps") __weak;

/*
 * Renames and mount changes attempted on the machine, by any task: a 64-bit count that never
 * wraps, kept beside the kernel's 32-bit rename_lock and mount_lock sequences in the key of
 * file_open's allow cache (file.bpf.c), which 2^31 changes would bring back round. Counted by
 * containment.bpf.c's inode_rename, sb_mount, move_mount, sb_umount and sb_pivotroot programs
 * (ag_count_fs_change), before they judge anything.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} ag_fs_changes SEC(".maps") __weak;

static __always_inline void ag_count_fs_change(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&ag_fs_changes, &zero);

	/* An ARRAY lookup of index 0 cannot fail. */
	if (n)
		__sync_fetch_and_add(n, 1);
}

/* Per task: what it exec'd (struct ag_proc), captured by proc.bpf.c at each exec. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct ag_proc);
} ag_procs SEC(".maps") __weak;

/*
 * Per socket created in the sandbox: its creator's ag_proc, for the cgroup programs, which
 * cannot reach the task.
 */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct ag_proc);
} ag_sk_procs SEC(".maps") __weak;

/*
 * The ag_proc that describes task t: its own (captured at its exec, or copied from its parent
 * when it was forked: proc.bpf.c), or for a thread made before agentguard loaded, its
 * leader's. NULL if neither: t's lineage has not exec'd since the load. LSM programs only.
 * Never the parent's at event time: the parent may have exec'd since the fork.
 */
static __always_inline struct ag_proc *ag_task_proc(struct task_struct *t)
{
	struct ag_proc *p;

	if (!t)
		return NULL;
	p = bpf_task_storage_get(&ag_procs, t, 0, 0);
	if (p)
		return p;
	return bpf_task_storage_get(&ag_procs, t->group_leader, 0, 0);
}

/* Copy the current task's ag_proc into an event header (left zero: unknown). LSM only. */
static __always_inline void ag_fill_proc(struct ag_event_hdr *h)
{
	struct ag_proc *p = ag_task_proc(bpf_get_current_task_btf());

	if (p)
		__builtin_memcpy(&h->proc, p, sizeof(h->proc));
}

/* Fill what every event has but the process: callers without a process context use this. */
static __always_inline void ag_fill_hdr_noproc(struct ag_event_hdr *h, __u64 kseq, __u32 kind,
					       __u32 op, __u8 verdict, __u32 rule,
					       const struct ag_state *st)
{
	__builtin_memset(h, 0, sizeof(*h));
	h->kseq = kseq;
	h->boot_ns = bpf_ktime_get_boot_ns();
	h->kind = kind;
	h->op = op;
	h->rule = rule;
	h->generation_seq = st->generation_seq;
	h->verdict = verdict;
}

/* Fill what every event has. ppid is filled by callers that can read task_struct. */
static __always_inline void ag_fill_hdr(struct ag_event_hdr *h, __u64 kseq, __u32 kind, __u32 op,
					__u8 verdict, __u32 rule, const struct ag_state *st)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();

	ag_fill_hdr_noproc(h, kseq, kind, op, verdict, rule, st);
	h->cgroup_id = bpf_get_current_cgroup_id();
	h->pid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	h->uid = (__u32)uid_gid;
	h->gid = uid_gid >> 32;
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

#endif /* AG_COMMON_BPF_H */
