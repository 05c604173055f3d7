// SPDX-License-Identifier: GPL-2.0
/*
 * The fold flush: reports the denials ag_admit folded (common.bpf.h) once their window has
 * passed without another report of the same signature to carry them. The consumer runs it
 * with BPF_PROG_TEST_RUN about once a second; never attached.
 *
 * Fail mode: a full ring keeps the count in the entry for the next flush, so no count is lost
 * to a full ring, only delayed.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "GPL";

struct ag_flush_ctx {
	__u64 now;
	__u32 written;
	__u32 deferred;
	__u32 force;		/* in: report every fold, however young (the daemon is stopping) */
	__u32 pad;
};

static long ag_flush_one(struct bpf_map *map, __u64 *sig, struct ag_fold *f,
			 struct ag_flush_ctx *c)
{
	struct ag_event_fold *e;
	__u64 n;

	if (!c->force && c->now - f->window_start < AG_FOLD_WINDOW_NS)
		return 0;
	/* Take the count atomically: ag_admit may be adding to it on another CPU. */
	n = __sync_lock_test_and_set(&f->folded, 0);
	if (!n) {
		/*
		 * Nothing to report and the window is over: the next such denial is reported
		 * anyway, so the entry can go. This keeps the table to what is recent.
		 */
		if (!c->force)
			bpf_map_delete_elem(map, sig);
		return 0;
	}
	e = f->verdict == AG_DENY ? bpf_ringbuf_reserve(&ag_deny_events, sizeof(*e), 0) :
				    bpf_ringbuf_reserve(&ag_events, sizeof(*e), 0);
	if (!e) {
		/* Ring full: give the count back for the next flush. */
		__sync_fetch_and_add(&f->folded, n);
		c->deferred++;
		return 0;
	}
	__builtin_memset(&e->hdr, 0, sizeof(e->hdr));
	e->hdr.kseq = ag_next_kseq();
	e->hdr.boot_ns = c->now;
	e->hdr.kind = AG_EV_FOLD;
	e->hdr.op = f->op;
	e->hdr.rule = f->rule;
	e->hdr.generation_seq = f->generation_seq;
	e->hdr.pid = f->pid;
	e->hdr.verdict = f->verdict;
	e->hdr.sig = *sig;
	/* The copy stands for one of them; repeats for the rest (1 + repeats per event). */
	e->hdr.repeats = n - 1;
	e->folded_kind = f->kind;
	e->pad = 0;
	bpf_ringbuf_submit(e, 0);
	c->written++;
	return 0;
}

/* In: force. Out: how many fold records were written, and deferred for a full ring. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ag_flush_ctx);
} ag_flush_result SEC(".maps");

SEC("syscall")
int ag_fold_flush(void *ctx)
{
	struct ag_flush_ctx c = { .now = bpf_ktime_get_boot_ns() };
	struct ag_flush_ctx *in;
	__u32 zero = 0;

	in = bpf_map_lookup_elem(&ag_flush_result, &zero);
	if (in)
		c.force = in->force;
	bpf_for_each_map_elem(&ag_fold, ag_flush_one, &c, 0);
	bpf_map_update_elem(&ag_flush_result, &zero, &c, 0);
	return 0;
}
