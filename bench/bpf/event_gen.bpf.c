// SPDX-License-Identifier: GPL-2.0
/*
 * Event generator for the audit throughput benchmark (bench/audit_bench.c). Writes real
 * file-deny records (struct ag_event_file, as bpf/file.bpf.c fills them) into the product's
 * deny ring definition, through the product's own ag_next_kseq and ag_fill_hdr
 * (common.bpf.h), copied to the ring with only as much of the path as it has, as
 * bpf/file.bpf.c does: same ring type and size, and a full ring is counted in ag_drops exactly
 * as in the hooks. Never linked into the product's skeleton.
 *
 * A syscall program, run with BPF_PROG_TEST_RUN, so it needs no BPF-LSM: one run writes
 * args->n records with bpf_loop (syscall programs cannot use test_run's repeat). It skips
 * ag_admit (folding and the per-CPU event budget): every record is distinct and reaches the
 * ring, so what is measured is the pipeline's capacity, not the budget.
 */
#include "common.bpf.h"

/*
 * Set by userspace before load: the path every record carries (read at run time, so not
 * rodata: the compiler would fold a const array), and what the hooks would set.
 */
char ag_gen_path[192] = {};
struct ag_proc ag_gen_proc = {};
const volatile __s32 ag_gen_path_len = 1;	/* bytes incl. NUL, as bpf_d_path returns */
const volatile __u32 ag_gen_rule = 0;
const volatile __u32 ag_gen_generation = 1;
const volatile __u32 ag_gen_ppid = 0;

/* Totals over all runs; only the producer thread runs the program, so plain adds suffice. */
__u64 ag_gen_produced = 0;
__u64 ag_gen_dropped = 0;

struct ag_gen_args {
	__u32 n;		/* records to write in this run */
};

/* The record is built here and copied with only its path, as bpf/file.bpf.c does. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ag_event_file);
} ag_gen_rec SEC(".maps");

static long ag_gen_one(__u32 i, void *unused)
{
	struct ag_state st = { .generation_seq = ag_gen_generation };
	struct ag_event_file *e;
	__u64 kseq = ag_next_kseq(), size;
	__u32 zero = 0;

	ag_gen_produced++;
	e = bpf_map_lookup_elem(&ag_gen_rec, &zero);
	if (!e)
		return 1;
	ag_fill_hdr(&e->hdr, kseq, AG_EV_FILE, AG_OP_OPEN, AG_DENY, ag_gen_rule, &st);
	/* As file.bpf.c fills it after ag_admit, which the benchmark bypasses: all distinct. */
	e->hdr.sig = kseq;
	e->hdr.repeats = 0;
	e->hdr.ppid = ag_gen_ppid;
	__builtin_memcpy(&e->hdr.proc, &ag_gen_proc, sizeof(e->hdr.proc));
	e->want = AG_FS_WANT_READ;
	e->path_len = ag_gen_path_len;
	__builtin_memcpy(e->path, ag_gen_path, sizeof(ag_gen_path));
	size = offsetof(struct ag_event_file, path) + sizeof(ag_gen_path);
	/* Ring full: counted in ag_drops as the hooks do, and here for the benchmark's totals. */
	if (bpf_ringbuf_output(&ag_deny_events, e, size, 0)) {
		ag_count_drop(AG_EV_FILE, AG_DENY, ag_gen_rule);
		ag_gen_dropped++;
	}
	return 0;
}

SEC("syscall")
int ag_gen(struct ag_gen_args *args)
{
	bpf_loop(args->n, ag_gen_one, NULL, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
