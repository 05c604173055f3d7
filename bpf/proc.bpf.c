// SPDX-License-Identifier: GPL-2.0
/*
 * Process attribution for events: what each sandbox process exec'd, and the images its lineage
 * ran before (struct ag_proc), captured in the kernel at exec into task storage and copied into
 * every event the process causes (common.bpf.h: ag_fill_proc). A forked child gets a copy of
 * its parent's record at fork (containment.bpf.c: lsm/task_alloc), never a look at the parent
 * later, when it may have exec'd something else. Nothing is read from /proc at event time, so
 * a process cannot rename itself out of its record: comm can be set with prctl(PR_SET_NAME),
 * exe only by exec'ing another file.
 *
 * These hooks decide nothing. Fail mode: without memory for the storage the process's events
 * say "unknown" (flags 0); enforcement is unaffected.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* dst = src cut to n - 1 bytes and NUL-terminated; n is a constant at each call site. */
#define ag_copy_cut(dst, src, n)                                                      \
	do {                                                                          \
		__builtin_memcpy((dst), (src), (n) - 1);                              \
		(dst)[(n) - 1] = '\0';                                                \
	} while (0)

/*
 * The new image's ancestry: the previous image (prev's exe) first, then prev's ancestry. dst
 * and prev may be the same storage (a task that exec'd before execs again): shift first.
 */
static __always_inline void ag_push_ancestry(struct ag_proc *dst, const struct ag_proc *prev)
{
	const __u32 cut_mask = AG_PROC_ANCESTOR_CUT * 15;	/* one bit per entry */
	/* Everything from prev is read before dst (perhaps the same storage) is written. */
	__u32 flags = ((prev->flags & cut_mask) << 1) & cut_mask;
	__u16 depth = prev->depth < AG_ANCESTRY_MAX ? prev->depth + 1 : AG_ANCESTRY_MAX;

	if (prev->exe_len > AG_ANCESTOR_MAX)
		flags |= AG_PROC_ANCESTOR_CUT;
	if (prev->depth >= AG_ANCESTRY_MAX || (prev->flags & AG_PROC_ANCESTRY_MORE))
		flags |= AG_PROC_ANCESTRY_MORE;
	/* Oldest first, so an entry is read before it is overwritten when dst == prev. */
	__builtin_memcpy(dst->ancestry[3], prev->ancestry[2], AG_ANCESTOR_MAX);
	__builtin_memcpy(dst->ancestry[2], prev->ancestry[1], AG_ANCESTOR_MAX);
	__builtin_memcpy(dst->ancestry[1], prev->ancestry[0], AG_ANCESTOR_MAX);
	ag_copy_cut(dst->ancestry[0], prev->exe, AG_ANCESTOR_MAX);
	dst->depth = depth;
	dst->flags = flags;
}

SEC("lsm/bprm_committed_creds")
int BPF_PROG(ag_exec_capture, struct linux_binprm *bprm)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct ag_proc *cur, *prev;
	struct ag_scratch *s;
	struct ag_state st;
	long n;

	if (ag_read_state(&st) || !ag_in_sandbox(&st))
		return 0;
	cur = bpf_task_storage_get(&ag_procs, task, 0, 0);
	/* A thread older than the load execs: its leader's record is the previous image. */
	prev = cur ? cur : ag_task_proc(task);
	if (!cur)
		cur = bpf_task_storage_get(&ag_procs, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	s = bpf_task_storage_get(&ag_scratch, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!cur || !s)
		return 0;
	if (prev) {
		ag_push_ancestry(cur, prev);
	} else {
		/* The lineage ran images before agentguard loaded: unknown, not none. */
		cur->depth = 0;
		cur->flags = AG_PROC_ANCESTRY_MORE;
	}
	n = bpf_d_path(&bprm->file->f_path, s->path, sizeof(s->path));
	if (n > 0 && n <= AG_PATH_MAX) {
		ag_copy_cut(cur->exe, s->path, AG_EXE_MAX);
		cur->exe_len = n;
	} else {
		cur->exe[0] = '\0';
		cur->exe_len = 0;
		cur->flags |= AG_PROC_EXE_UNRESOLVED;
	}
	cur->flags |= AG_PROC_KNOWN;
	return 0;
}

/*
 * A socket made in the sandbox carries its creator's ag_proc, for the cgroup programs that
 * judge it (they cannot reach the task). Sockets the kernel makes for itself are skipped.
 */
SEC("lsm/socket_post_create")
int BPF_PROG(ag_socket_proc, struct socket *sock, int family, int type, int protocol, int kern)
{
	struct sock *sk = sock->sk;
	struct ag_proc *src, *dst;
	struct ag_state st;

	if (kern || !sk || ag_read_state(&st) || !ag_in_sandbox(&st))
		return 0;
	src = ag_task_proc(bpf_get_current_task_btf());
	if (!src)
		return 0;
	dst = bpf_sk_storage_get(&ag_sk_procs, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (dst)
		__builtin_memcpy(dst, src, sizeof(*dst));
	return 0;
}
