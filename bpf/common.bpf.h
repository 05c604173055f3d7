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

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
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
	__uint(max_entries, AG_RINGBUF_BYTES);
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
 * The state of this decision: a copy of ag_state taken once, so the generation cannot change
 * half-way through a decision.
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
static __always_inline void ag_count_drop(__u32 kind, __u8 verdict, __u32 rule)
{
	struct ag_drop_key key = { .kind = kind, .verdict = verdict, .rule = rule };
	__u64 one = 1, *n;

	n = bpf_map_lookup_elem(&ag_drops, &key);
	if (n) {
		*n += 1;	/* per-CPU value: no other CPU writes it */
		return;
	}
	bpf_map_update_elem(&ag_drops, &key, &one, BPF_NOEXIST);
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
