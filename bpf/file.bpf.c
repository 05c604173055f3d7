// SPDX-License-Identifier: GPL-2.0
/*
 * File access enforcement: lsm/file_open for tasks in the sandbox cgroup subtree.
 *
 * The decision is made on the path the kernel resolved (bpf_d_path of the opened file), so
 * symlinks, "..", dirfds, /proc/self/fd reopens and io_uring opens are all judged by the object
 * they reach. Fail mode: anything that prevents a decision (no table for the active generation,
 * no scratch memory, a path that cannot be resolved) denies with EPERM.
 */
#include "common.bpf.h"

/* From include/linux/fs.h and fcntl.h (kernel-internal, not uapi); unchanged since 2.6. */
#define FMODE_READ	0x1
#define FMODE_WRITE	0x2
#define FMODE_EXEC	0x20
#define __FMODE_EXEC	0x20	/* the open flag execve() passes; Landlock tests f_flags too */
#define AG_O_TRUNC	01000	/* uapi asm-generic/fcntl.h; still in f_flags at file_open */

char LICENSE[] SEC("license") = "GPL";

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
	const char *path;
	__u64 hash;
	__u32 len;		/* strlen of path */
	__u32 found;
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
	}
}

/*
 * One byte of the path per call. At the end of each component the prefix so far is looked up;
 * a later hit is a longer prefix, so the last hit is the longest matching rule path.
 */
static long ag_walk_step(__u32 i, void *ctx)
{
	struct ag_walk *w = ctx;
	char c;

	if (i >= w->len) {
		if (w->len > 1)
			ag_walk_lookup(w, w->hash, w->len);
		return 1;
	}
	c = w->path[i & (AG_PATH_MAX - 1)];
	if (c == '/' && i > 0)
		ag_walk_lookup(w, w->hash, i);
	w->hash = ag_path_hash_step(w->hash, c);
	if (i == 0)
		ag_walk_lookup(w, w->hash, 1);	/* "/": always present, holds the defaults */
	return 0;
}

static __always_inline __u32 ag_file_want(const struct file *file)
{
	__u32 mode = file->f_mode;
	__u32 flags = file->f_flags;
	__u32 want = 0;

	if (mode & FMODE_READ)
		want |= AG_FS_WANT_READ;
	if (mode & FMODE_WRITE)
		want |= AG_FS_WANT_WRITE;
	if ((mode & FMODE_EXEC) || (flags & __FMODE_EXEC))
		want |= AG_FS_WANT_EXEC;
	/*
	 * open(O_RDONLY | O_TRUNC) empties a file it only reads: the kernel truncates after this
	 * hook (do_open: vfs_open, then handle_truncate), so it is judged as the write it is.
	 */
	if (flags & AG_O_TRUNC)
		want |= AG_FS_WANT_WRITE;
	/* open(O_ACCMODE) (ioctl-only) reads neither way: judge it as a read. */
	if (!want)
		want = AG_FS_WANT_READ;
	return want;
}

static __always_inline __u8 ag_fs_decide(const struct ag_state *st, struct file *file,
					 __u32 want, __u32 *rule)
{
	struct ag_walk w = {};
	struct ag_scratch *s;
	__u32 gen = ag_state_slot(st);
	long n;

	*rule = AG_RULE_NONE;
	w.table = bpf_map_lookup_elem(&ag_fs_gens, &gen);
	/* No table in the active slot: the loader has not finished. Fail closed. */
	if (!w.table)
		return AG_DENY;
	s = bpf_task_storage_get(&ag_scratch, bpf_get_current_task_btf(), 0,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	/* No memory for the scratch buffer: fail closed. */
	if (!s)
		return AG_DENY;
	n = bpf_d_path(&file->f_path, s->path, sizeof(s->path));
	/* Too long or unresolvable: fail closed (the event says why). */
	if (n <= 1 || n > AG_PATH_MAX)
		return AG_DENY;
	w.path = s->path;
	w.len = n - 1;
	w.hash = st->hash_seed;
	bpf_loop(AG_PATH_MAX, ag_walk_step, &w, 0);
	/* "/" is in every compiled table; no hit means a broken table. Fail closed. */
	if (!w.found)
		return AG_DENY;
	return ag_fs_val_verdict(&w.best, want, rule);
}

/*
 * The record is built in task storage and copied to the ring with only as much of the path as
 * it has (bpf_ringbuf_reserve needs a constant size): a typical file event takes under 1 KiB
 * of the ring instead of 4.7 KiB, so the deny ring holds five times as many.
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct ag_event_file);
} ag_file_recs SEC(".maps");

static __always_inline void ag_file_event(const struct ag_state *st, struct file *file, __u32 op,
					  __u32 want, __u8 verdict, __u32 rule)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct inode *inode = file->f_inode;
	__u32 kind = (want & AG_FS_WANT_EXEC) ? AG_EV_EXEC : AG_EV_FILE;
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	/* Identical: the same inode, asked for the same access by the same process and image. */
	struct ag_fold_id id = { .a = (__u64)inode->i_sb->s_dev << 32 | want, .b = inode->i_ino,
				 .exec_id = task->self_exec_id, .kind = kind, .op = op,
				 .rule = rule, .pid = pid };
	struct ag_event_file *e;
	struct ag_fold *f;
	__u64 kseq, sig, size;
	long repeats, err;

	repeats = ag_admit(st, &id, verdict, &f, &sig);
	if (repeats < 0)
		return;
	kseq = ag_next_kseq();
	e = bpf_task_storage_get(&ag_file_recs, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!e) {
		/* No memory for the record: counted like a full ring. */
		ag_count_drop(kind, verdict, rule);
		ag_unadmit(f, repeats);
		return;
	}
	ag_fill_hdr(&e->hdr, kseq, kind, op, verdict, rule, st);
	ag_admitted(&e->hdr, sig, repeats);
	e->hdr.ppid = task->real_parent->tgid;
	ag_fill_proc(&e->hdr);
	e->want = want;
	e->path_len = bpf_d_path(&file->f_path, e->path, sizeof(e->path));
	size = offsetof(struct ag_event_file, path);
	if (e->path_len > 0 && e->path_len <= AG_PATH_MAX)
		size += e->path_len;
	if (size > sizeof(*e))
		size = sizeof(*e);
	/* Ring full: the denial still happens; the drop is counted for a loss event. */
	err = verdict == AG_DENY ? bpf_ringbuf_output(&ag_deny_events, e, size, 0) :
				   bpf_ringbuf_output(&ag_events, e, size, 0);
	if (err) {
		ag_count_drop(kind, verdict, rule);
		ag_unadmit(f, repeats);
	}
}

/* Is the file in a directory agentguard protects (its state directory)? */
static __always_inline bool ag_in_protected_dir(struct file *file)
{
	struct dentry *parent = file->f_path.dentry->d_parent;
	struct ag_inode_key key = {};
	struct inode *dir;

	/* Every dentry has a parent (the root is its own) with an inode: not a real branch. */
	if (!parent || !(dir = parent->d_inode))
		return false;
	key.dev = dir->i_sb->s_dev;
	key.ino = dir->i_ino;
	return bpf_map_lookup_elem(&ag_protected, &key) != NULL;
}

/* Judge a file the sandbox is about to hold (opened or received): 0 or -EPERM. */
static __always_inline int ag_file_judge(struct file *file, __u32 op)
{
	struct ag_state st;
	__u32 want, rule;
	__u8 verdict;

	/* No state is impossible (ARRAY index 0) and means no sandbox: nothing to judge. */
	if (ag_read_state(&st) || !ag_in_sandbox(&st))
		return 0;
	want = ag_file_want(file);
	if ((want & AG_FS_WANT_WRITE) && ag_in_protected_dir(file)) {
		/* The state directory's files are replaced by rename: keyed by their directory. */
		verdict = AG_DENY;
		rule = AG_RULE_BUILTIN | AG_BR_PROTECTED;
	} else {
		verdict = ag_fs_decide(&st, file, want, &rule);
	}
	ag_count_decision(want & AG_FS_WANT_EXEC ? AG_EV_EXEC : AG_EV_FILE, verdict);
	if (verdict == AG_ALLOW)
		return 0;
	ag_file_event(&st, file, op, want, verdict, rule);
	return verdict == AG_DENY ? -EPERM : 0;
}

SEC("lsm/file_open")
int BPF_PROG(ag_file_open, struct file *file, int ret)
{
	if (ret)
		return ret;
	return ag_file_judge(file, AG_OP_OPEN);
}

/* S_IFMT / S_IFSOCK from uapi stat.h. */
#define AG_S_IFMT	00170000
#define AG_S_IFSOCK	0140000

/*
 * An fd arriving by SCM_RIGHTS or pidfd_getfd is judged as if the sandbox had opened it, with
 * the access the file was opened for: a file opened outside cannot carry a denied object in.
 * Sockets are judged in containment.bpf.c.
 */
SEC("lsm/file_receive")
int BPF_PROG(ag_file_receive, struct file *file, int ret)
{
	if (ret)
		return ret;
	if ((file->f_inode->i_mode & AG_S_IFMT) == AG_S_IFSOCK)
		return 0;
	return ag_file_judge(file, AG_OP_RECEIVE);
}
