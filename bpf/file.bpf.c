// SPDX-License-Identifier: GPL-2.0
/*
 * File access enforcement for tasks in the sandbox cgroup subtree: lsm/file_open and
 * lsm/file_receive judge opens, the path_* hooks (and file_truncate) judge the operations that
 * change the file system without an open (mknod, mkdir, rmdir, unlink, symlink, link, rename,
 * truncate, chmod, chown) as writes of the path they create, remove or change, the inode_*
 * hooks judge changes of times, xattrs and ACLs the same way, and lsm/bprm_check_security,
 * lsm/mmap_file and lsm/file_mprotect judge code about to run from a file as its exec.
 *
 * The decision is made on the path the kernel resolved, so symlinks, "..", dirfds,
 * /proc/self/fd reopens and io_uring operations are all judged by the object they reach:
 * bpf_d_path of the opened file on file_open, and on the other hooks (where bpf_d_path is not
 * allowed on 6.1) the resolver in path.bpf.h, which writes the same string. All go through one
 * decision, ag_fs_decide. Fail mode: anything that prevents a decision (no table for the active
 * generation, no scratch memory, a path that cannot be resolved) denies with EPERM.
 *
 * An allowed open is remembered on its inode, keyed by everything its path string depends on,
 * so the next open of the same file by the same path skips bpf_d_path and the walk (the allow
 * cache, below; docs/policy.md).
 *
 * Some hooks come in per-kernel variants (inode_setattr gained an idmap argument; the xattr
 * hooks allow with 1 before 6.10) or exist only from 6.2 (file_truncate, inode_set_acl,
 * inode_remove_acl): the loader picks by the kernel's BTF (loader.c: lsm_variants).
 */
#include "common.bpf.h"
#include "path.bpf.h"
#include "fs_decide.bpf.h"

/* From include/linux/fs.h and fcntl.h (kernel-internal, not uapi); unchanged since 2.6. */
#define FMODE_READ	0x1
#define FMODE_WRITE	0x2
#define FMODE_EXEC	0x20
#define __FMODE_EXEC	0x20	/* the open flag execve() passes; Landlock tests f_flags too */
#define AG_O_TRUNC	01000	/* uapi asm-generic/fcntl.h; still in f_flags at file_open */

char LICENSE[] SEC("license") = "GPL";

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

/*
 * Fold identity of a file event's object (ag_fold_id.a and .b, with the access asked for in the
 * low bits of a): an existing object is its inode, dev << 32 and the inode number, so a denial
 * through any of its names folds with the others, as file_open always did. A name being
 * created (mkdir, mknod, symlink, the new name of link and rename) has no inode yet: it is
 * its directory's inode with AG_FOLD_BY_NAME, and b mixes the directory's inode number with
 * the keyed hash of the whole resolved path (ag_fs_decide), so two names in one directory
 * never fold together and the sandbox cannot choose names that collide.
 */
#define AG_FOLD_BY_NAME (1ull << 31)

/* ag_file_report's arguments: what ag_file_event was given. */
struct ag_file_rep {
	__u64 path;		/* the decided path's address (the scratch buffer), or 0 */
	__u64 obj_a, obj_b;
	__s32 path_len;
	__u32 op, want, rule;
	__u32 verdict;
	__u32 pad;		/* written: 6.1 refuses uninitialized stack passed to a function */
};

/*
 * A global function, so the verifier checks it once per program, not once for every state
 * that reaches a report (which made each file hook tens of thousands of instructions to
 * verify). Fail mode: NULL arguments (impossible: the caller's stack) report nothing.
 */
__noinline int ag_file_report(const struct ag_state *st, const struct ag_file_rep *r)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct ag_fold_id id = {};
	struct ag_event_file *e;
	struct ag_fold *f;
	__u64 kseq, sig, size;
	long repeats, err;
	__u32 kind, rule;
	__s32 path_len;
	__u8 verdict;

	if (!st || !r)
		return 0;
	kind = (r->want & AG_FS_WANT_EXEC) ? AG_EV_EXEC : AG_EV_FILE;
	rule = r->rule;
	verdict = r->verdict;
	/* Identical: the same object, asked for the same access by the same process and image. */
	id.a = r->obj_a | r->want;
	id.b = r->obj_b;
	id.exec_id = task->self_exec_id;
	id.kind = kind;
	id.op = r->op;
	id.rule = rule;
	id.pid = bpf_get_current_pid_tgid() >> 32;
	repeats = ag_admit(st, &id, verdict, &f, &sig);
	if (repeats < 0)
		return 0;
	kseq = ag_next_kseq();
	e = bpf_task_storage_get(&ag_file_recs, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!e) {
		/* No memory for the record: counted like a full ring. */
		ag_count_drop(kind, verdict, rule);
		ag_unadmit(f, repeats);
		return 0;
	}
	ag_fill_hdr(&e->hdr, kseq, kind, r->op, verdict, rule, st);
	ag_admitted(&e->hdr, sig, repeats);
	e->hdr.ppid = task->real_parent->tgid;
	ag_fill_proc(&e->hdr);
	e->want = r->want;
	/* The path that was decided on, copied from the scratch buffer: never resolved again. */
	path_len = r->path_len;
	e->path_len = path_len;
	size = offsetof(struct ag_event_file, path);
	if (path_len > 0 && path_len <= AG_PATH_MAX) {
		/* The string, then its NUL; the mask is a no-op that bounds n for the verifier. */
		__u32 n = (__u32)(path_len - 1) & (AG_PATH_MAX - 1);

		if (bpf_probe_read_kernel(e->path, n, (const void *)r->path)) {
			e->path_len = -EFAULT;
		} else {
			e->path[n] = '\0';
			size += n + 1;
		}
	}
	if (size > sizeof(*e))
		size = sizeof(*e);
	/* Ring full: the denial still happens; the drop is counted for a loss event. */
	err = verdict == AG_DENY ? bpf_ringbuf_output(&ag_deny_events, e, size, 0) :
				   bpf_ringbuf_output(&ag_events, e, size, 0);
	if (err) {
		ag_count_drop(kind, verdict, rule);
		ag_unadmit(f, repeats);
	}
	return 0;
}

static __always_inline void ag_file_event(const struct ag_state *st, const char *path,
					  __s32 path_len, __u64 obj_a, __u64 obj_b, __u32 op,
					  __u32 want, __u8 verdict, __u32 rule)
{
	struct ag_file_rep r = { .path = (__u64)path, .obj_a = obj_a, .obj_b = obj_b,
				 .path_len = path_len, .op = op, .want = want, .rule = rule,
				 .verdict = verdict };

	ag_file_report(st, &r);
}

/*
 * The end of a decision about an existing file (dev and ino of its inode): count it, report it
 * unless it allows, and return what the hook returns: -EPERM for a denial, else 0 (a
 * would-deny is allowed).
 */
static __always_inline int ag_file_decided(const struct ag_state *st, const char *path,
					   __s32 path_len, struct inode *inode, __u32 op,
					   __u32 want, __u8 verdict, __u32 rule)
{
	ag_count_decision(want & AG_FS_WANT_EXEC ? AG_EV_EXEC : AG_EV_FILE, verdict);
	if (verdict == AG_ALLOW)
		return 0;
	ag_file_event(st, path, path_len, (__u64)BPF_CORE_READ(inode, i_sb, s_dev) << 32,
		      BPF_CORE_READ(inode, i_ino), op, want, verdict, rule);
	return verdict == AG_DENY ? -EPERM : 0;
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

/* ---- the allow cache of file_open and file_receive ---------------------------------------- */

/*
 * An open that was allowed is remembered on its inode, so the next open of the same file by the
 * same path skips bpf_d_path and the prefix walk (issue #7; docs/policy.md, "The file_open
 * allow cache"; threat model R22). Only allows are cached: a miss, or anything this cannot
 * vouch for, takes the full decision, so the cache can only ever answer what the full decision
 * answered for the same path.
 *
 * The verdict depends on the path string bpf_d_path writes, which is a function of:
 *   - the dentry and the vfsmount of file->f_path (a hardlink is another dentry, a bind mount
 *     or another mount namespace another vfsmount, overlayfs's file another dentry);
 *   - the names and parents of the dentry's ancestors: changed only by d_move and d_exchange,
 *     under the kernel's rename_lock seqlock;
 *   - the mount tree: changed (mounts attached, moved, detached, freed, propagated, expired)
 *     only under the kernel's mount_lock seqlock;
 *   - the opener's root (fs->root): chroot, pivot_root, setns;
 *   - whether the dentry is still hashed (an unlinked file's path ends in " (deleted)").
 * Both sequences are 32 bits: 2^31 renames by the sandbox in its own directories would bring
 * a stale entry's rename_lock sequence back. So the key also holds ag_fs_changes, a 64-bit
 * count of the renames and mount changes the LSM hooks saw (common.bpf.h).
 * The policy depends on generation_seq. The entry is one 64-bit word, a keyed hash of all of
 * these (the per-load hash_seed, which the sandbox cannot read) with the allowed access bits in
 * its low bits: one store, one load, so two racing opens can never leave a torn entry. A hit
 * needs the hash of the values read now to match. rename_lock and mount_lock are read before
 * bpf_d_path and again after it (as d_path itself does), and nothing is stored unless both
 * were even and unchanged: a rename or mount racing the resolution stores nothing.
 *
 * Pointer reuse: a freed vfsmount passes through mount_lock first, so its address coming back
 * bumps mount_lock. A freed dentry's address can come back as another name of the same inode;
 * every dentry attached to an inode passes security_d_instantiate, whose program below drops
 * the inode's entry. The ancestors of a live dentry are pinned by it.
 *
 * Fail mode: if rename_lock or mount_lock cannot be read (their kallsyms addresses missing),
 * ag_seq_read returns an odd value and nothing is cached: every open takes the full decision.
 */
struct {
	__uint(type, BPF_MAP_TYPE_INODE_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} ag_fcache SEC(".maps");

/* Data symbols without BTF (6.1 and 6.12 describe only per-CPU variables): read by address. */
extern const void rename_lock __ksym __weak;
extern const void mount_lock __ksym __weak;

/* The access bits an entry carries (AG_FS_WANT_*) in its low bits; the rest is the hash. */
#define AG_FCACHE_BITS	(AG_FS_WANT_READ | AG_FS_WANT_WRITE | AG_FS_WANT_EXEC)

/*
 * The sequence count of a kernel seqlock_t (its first word, seqcount.sequence, without lockdep
 * as Debian builds). Odd while written; 1 (odd) if it cannot be read, which caches nothing.
 */
static __always_inline __u32 ag_seq_read(const void *lock)
{
	__u32 seq = 1;

	if (lock)
		bpf_probe_read_kernel(&seq, sizeof(seq), lock);
	return seq;
}

/*
 * A kernel pointer as a number to hash. The verifier allows no arithmetic on a pointer but the
 * difference of two (for programs loaded with CAP_PERFMON, as ours are): the distance from the
 * map, fixed for the programs' life, is a one-to-one stand-in for the address.
 */
#define AG_PTR_VAL(p) ((__u64)(p) - (__u64)(void *)&ag_fcache)

/*
 * The entry's hash of what the verdict for file depends on, as read now; 0 if it cannot be
 * cached now (a seqlock being written, no root, an unhashed dentry).
 */
static __always_inline __u64 ag_fcache_key(const struct ag_state *st, struct file *file)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct dentry *d = file->f_path.dentry;
	__u32 rseq = ag_seq_read(&rename_lock), mseq = ag_seq_read(&mount_lock), zero = 0;
	__u64 rd = AG_PTR_VAL(task->fs->root.dentry), rm = AG_PTR_VAL(task->fs->root.mnt), h;
	__u64 *changes = bpf_map_lookup_elem(&ag_fs_changes, &zero);

	/* Being written, unreadable, no root (a kernel thread), or unlinked: never cached. */
	if ((rseq | mseq) & 1 || !task->fs->root.dentry || !task->fs->root.mnt || !d->d_hash.pprev)
		return 0;
	/* An ARRAY lookup of index 0 cannot fail; if it did, nothing is cached. */
	if (!changes)
		return 0;
	h = ag_mix(st->hash_seed ^ 0x6a09e667f3bcc908ull, AG_PTR_VAL(d));
	h = ag_mix(h, AG_PTR_VAL(file->f_path.mnt));
	h = ag_mix(h, rd);
	h = ag_mix(h, rm);
	h = ag_mix(h, (__u64)st->generation_seq << 32 | rseq);
	h = ag_mix(h, mseq);
	h = ag_mix(h, READ_ONCE(*changes));
	h &= ~(__u64)AG_FCACHE_BITS;
	return h ? h : 1ull << 32;
}

/* Was the access want to file allowed by the full decision under the same key? */
static __always_inline bool ag_fcache_hit(__u64 key, struct file *file, __u32 want)
{
	__u64 *c, v;

	if (!key)
		return false;
	c = bpf_inode_storage_get(&ag_fcache, file->f_inode, 0, 0);
	if (!c)
		return false;
	/* One load: the key and the bits of one store, whatever another open stores meanwhile. */
	v = READ_ONCE(*c);
	return (v & ~(__u64)AG_FCACHE_BITS) == key && (want & ~v & AG_FCACHE_BITS) == 0;
}

/*
 * Remember an allow of want decided under key (read before bpf_d_path), if nothing that
 * changes paths happened since: key is taken again and must be the same.
 */
static __always_inline void ag_fcache_store(const struct ag_state *st, __u64 key,
					    struct file *file, __u32 want)
{
	__u64 *c, v;

	if (!key || ag_fcache_key(st, file) != key)
		return;
	c = bpf_inode_storage_get(&ag_fcache, file->f_inode, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	/* No memory for the entry: nothing cached, the next open decides in full. */
	if (!c)
		return;
	v = READ_ONCE(*c);
	/* The same key: add the bits (another access of the same path was allowed too). */
	if ((v & ~(__u64)AG_FCACHE_BITS) == key)
		want |= v & AG_FCACHE_BITS;
	*c = key | (want & AG_FCACHE_BITS);
}

/*
 * A dentry is being attached to inode: drop the inode's entry, so a new dentry at a freed
 * one's address (another name of the same file) can never match it. Runs for every process:
 * the entry belongs to the inode, not to the sandbox.
 */
SEC("lsm/d_instantiate")
int BPF_PROG(ag_d_instantiate, struct dentry *dentry, struct inode *inode)
{
	if (inode)
		bpf_inode_storage_delete(&ag_fcache, inode);
	return 0;
}

/* Judge a file the sandbox is about to hold (opened or received): 0 or -EPERM. */
static __always_inline int ag_file_judge(struct file *file, __u32 op)
{
	struct inode *inode = file->f_inode;
	struct ag_scratch *s;
	struct ag_state st;
	__u32 want, rule = AG_RULE_NONE;
	__u64 hash, key;
	__u8 verdict = AG_DENY;
	bool protected;
	long n;

	/* No state is impossible (ARRAY index 0) and means no sandbox: nothing to judge. */
	if (ag_read_state(&st) || !ag_in_sandbox(&st))
		return 0;
	want = ag_file_want(file);
	protected = (want & AG_FS_WANT_WRITE) && ag_in_protected_dir(file);
	/* Read before bpf_d_path: what the store checks again after it. */
	key = protected ? 0 : ag_fcache_key(&st, file);
	if (ag_fcache_hit(key, file, want)) {
		ag_count_decision(want & AG_FS_WANT_EXEC ? AG_EV_EXEC : AG_EV_FILE, AG_ALLOW);
		return 0;
	}
	s = bpf_task_storage_get(&ag_scratch, bpf_get_current_task_btf(), 0,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	/* No memory for the scratch buffer: fail closed (verdict stays AG_DENY). */
	n = s ? bpf_d_path(&file->f_path, s->path, sizeof(s->path)) : -ENOMEM;
	if (protected) {
		/* The state directory's files are replaced by rename: keyed by their directory. */
		rule = AG_RULE_BUILTIN | AG_BR_PROTECTED;
	} else if (s && n > 1 && n <= AG_PATH_MAX) {
		/* bpf_d_path leaves the string at the start of the buffer, its NUL counted in n. */
		verdict = ag_fs_decide(&st, s, 0, n - 1, want, &rule, &hash, false);
	}
	/* Otherwise too long or unresolvable: fail closed, the event says why. */
	ag_count_decision(want & AG_FS_WANT_EXEC ? AG_EV_EXEC : AG_EV_FILE, verdict);
	if (verdict == AG_ALLOW) {
		ag_fcache_store(&st, key, file, want);
		return 0;
	}
	ag_file_event(&st, s ? s->path : NULL, n, (__u64)inode->i_sb->s_dev << 32, inode->i_ino,
		      op, want, verdict, rule);
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

/* ---- operations without an open: the path_* hooks ---------------------------------------- */

/*
 * Policy semantics: an operation that creates, removes or changes a name or a file's contents
 * or attributes needs write access to every path it creates, removes or changes. So each hook
 * below judges those paths as a WRITE, through the same decision as file_open, and denies with
 * EPERM if any is denied. agentguard's own files are kept by containment.bpf.c's hooks of the
 * same names (both programs run; whichever denies first is the one reported).
 *
 * Renaming or removing a name, or making a symlink, also answers to the guard of that exact
 * path (ag_fs_val_guarded, threat model R11): an ancestor of a stricter rule's path cannot be
 * renamed (either end of a rename), removed, or replaced by a symlink, even where it is
 * writable. A rename would carry the stricter rule's files to a path it does not cover; a
 * symlink in the place of an ancestor (after an rmdir, or where none exists yet) would send
 * writes meant for the rule's path, by processes outside the sandbox, to a place the sandbox
 * can read. Creating a directory or a file there is allowed: the rule still covers what is
 * made below it.
 *
 * The hooks get a directory and a name (or a dentry whose parent is known) and never a struct
 * file, and 6.1 forbids bpf_d_path on them: the path comes from ag_resolve_path (path.bpf.h).
 *
 * Fail mode, every hook: no scratch memory, a path the resolver cannot complete (longer than
 * AG_PATH_MAX, deeper than its bound, disconnected, on a detached mount) or no table for the
 * active generation: EPERM, reported with the errno as path_error and no rule. The one
 * exception is below (ag_fs_attr_judge): a pseudo file that has no path at all.
 */

/* Values of struct pointers to hand to the resolver (it reads them with BPF_CORE_READ). */
#define AG_PTR(p) ((__u64)(p))

/* How ag_path_judge judges a path. */
#define AG_JUDGE_PATHLESS_OK	1	/* a file with no path at all is allowed */
#define AG_JUDGE_GUARDED	2	/* the path itself is renamed, removed or replaced */

/*
 * Judge a WRITE of one path, resolved from (from, vfsmnt) and leaf as ag_resolve_path takes
 * them. obj is the object's inode, NULL for a name being created; dir the inode of the
 * directory it is (to be) in, for the fold identity of a create. Both are values read with
 * BPF_CORE_READ, never BTF pointers: on 6.12 a direct load through the NULL d_inode of a
 * create's negative dentry was JITed without a fault handler and oopsed (seen in testing: the
 * verifier takes dentry->d_inode as a trusted pointer). how: AG_JUDGE_* bits. Returns 0 or
 * -EPERM.
 */
static __always_inline int ag_path_judge(const struct ag_state *st, __u32 op, __u64 from,
					 __u64 vfsmnt, struct dentry *leaf, struct inode *obj,
					 struct inode *dir, __u32 how)
{
	__u32 rule = AG_RULE_NONE, len = 0;
	__u8 verdict = AG_DENY;
	struct ag_scratch *s;
	const char *path = NULL;
	__u64 hash = 0, a, b;
	__s32 path_len;
	long off;

	s = bpf_task_storage_get(&ag_scratch, bpf_get_current_task_btf(), 0,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	/* No memory for the scratch buffer: fail closed. */
	off = s ? ag_resolve_path(s, from, vfsmnt, leaf) : -ENOMEM;
	if (off == -EOPNOTSUPP && (how & AG_JUDGE_PATHLESS_OK))
		return 0;
	if (s && off >= 0 && off < AG_PATH_MAX) {
		off &= AG_PATH_MAX - 1;
		len = AG_PATH_MAX - 1 - off;
		path = &s->path[off];
		path_len = len + 1;
		verdict = ag_fs_decide(st, s, off, len, AG_FS_WANT_WRITE, &rule, &hash,
				       how & AG_JUDGE_GUARDED);
	} else {
		/* Unresolvable: fail closed; the event carries the errno. */
		path_len = off < 0 ? off : -EINVAL;
	}
	ag_count_decision(AG_EV_FILE, verdict);
	if (verdict == AG_ALLOW)
		return 0;
	if (obj) {
		a = (__u64)BPF_CORE_READ(obj, i_sb, s_dev) << 32;
		b = BPF_CORE_READ(obj, i_ino);
	} else if (dir) {
		a = (__u64)BPF_CORE_READ(dir, i_sb, s_dev) << 32 | AG_FOLD_BY_NAME;
		/* Unresolved (no hash): the kernel's hash and length of the name stand in. */
		if (!hash && leaf)
			hash = (__u64)leaf->d_name.len << 32 | leaf->d_name.hash;
		b = ag_mix(BPF_CORE_READ(dir, i_ino), hash);
	} else {
		a = AG_FOLD_BY_NAME;
		b = hash;
	}
	ag_file_event(st, path, path_len, a, b, op, AG_FS_WANT_WRITE, verdict, rule);
	return verdict == AG_DENY ? -EPERM : 0;
}

/* A name in directory dir (the dentry of a create, or of what is removed or renamed). */
static __always_inline int ag_name_judge(const struct ag_state *st, __u32 op,
					 const struct path *dir, struct dentry *dentry, __u32 how)
{
	return ag_path_judge(st, op, AG_PTR(BPF_CORE_READ(dir, dentry)),
			     AG_PTR(BPF_CORE_READ(dir, mnt)), dentry, BPF_CORE_READ(dentry, d_inode),
			     BPF_CORE_READ(dir, dentry, d_inode), how);
}

/*
 * truncate, chmod, chown: the object itself. Fail mode beyond the common one: a pseudo file
 * with no path (memfd, pipe, socket, anon inode; the resolver's -EOPNOTSUPP) is allowed. On
 * 6.1 ftruncate(2) and fchmod/fchown(2) of any fd come here, and memfd_create + ftruncate is
 * how programs size shared memory. Such a file has no name in the file system that a rule
 * could cover or that another process could open by path (its /proc/self/fd link is judged by
 * file_open and denied), and changing it changes nothing a rule protects.
 */
static __always_inline int ag_fs_attr_judge(const struct path *path, __u32 op)
{
	struct ag_state st;

	if (!ag_read_state(&st) && ag_in_sandbox(&st))
		return ag_path_judge(&st, op, AG_PTR(BPF_CORE_READ(path, dentry)),
				     AG_PTR(BPF_CORE_READ(path, mnt)), NULL,
				     BPF_CORE_READ(path, dentry, d_inode), NULL,
				     AG_JUDGE_PATHLESS_OK);
	return 0;
}

/* Gate of the name hooks: the sandbox only, after an earlier denial. */
#define AG_NAME_HOOK(op, dir, dentry, how)                              \
	do {                                                            \
		struct ag_state st;                                     \
		if (ret)                                                \
			return ret;                                     \
		if (ag_read_state(&st) || !ag_in_sandbox(&st))          \
			return 0;                                       \
		return ag_name_judge(&st, op, dir, dentry, how);        \
	} while (0)

/* mknod(2) (FIFOs, sockets, devices; containment decides which devices) and unix bind(2). */
SEC("lsm/path_mknod")
int BPF_PROG(ag_fs_mknod, const struct path *dir, struct dentry *dentry, umode_t mode,
	     unsigned int dev, int ret)
{
	AG_NAME_HOOK(AG_OP_MKNOD, dir, dentry, 0);
}

SEC("lsm/path_mkdir")
int BPF_PROG(ag_fs_mkdir, const struct path *dir, struct dentry *dentry, umode_t mode, int ret)
{
	AG_NAME_HOOK(AG_OP_MKDIR, dir, dentry, 0);
}

/* The directory is empty, but an ancestor's name must stay: a symlink could take its place. */
SEC("lsm/path_rmdir")
int BPF_PROG(ag_fs_rmdir, const struct path *dir, struct dentry *dentry, int ret)
{
	AG_NAME_HOOK(AG_OP_RMDIR, dir, dentry, AG_JUDGE_GUARDED);
}

SEC("lsm/path_unlink")
int BPF_PROG(ag_fs_unlink, const struct path *dir, struct dentry *dentry, int ret)
{
	AG_NAME_HOOK(AG_OP_UNLINK, dir, dentry, AG_JUDGE_GUARDED);
}

/*
 * The new link's own path; its target is a string, judged when something follows it. A
 * symlink where an ancestor of a stricter rule's path belongs is denied (the guard).
 */
SEC("lsm/path_symlink")
int BPF_PROG(ag_fs_symlink, const struct path *dir, struct dentry *dentry, const char *old_name,
	     int ret)
{
	AG_NAME_HOOK(AG_OP_SYMLINK, dir, dentry, AG_JUDGE_GUARDED);
}

/*
 * A hard link is a second name for the source: the process must be allowed to write the
 * source, or a link would give a readable or writable name to something a rule denies (a
 * "none" file linked into a "rw" directory, or a "ro" one). Then the new name needs write like
 * any create. The source is in new_dir's mount (do_linkat refuses EXDEV before this hook), and
 * an O_TMPFILE source resolves to its directory with " (deleted)", as file_open saw it.
 * Event: the path that was denied (the source is judged first).
 */
SEC("lsm/path_link")
int BPF_PROG(ag_fs_link, struct dentry *old_dentry, const struct path *new_dir,
	     struct dentry *new_dentry, int ret)
{
	struct ag_state st;

	if (ret)
		return ret;
	if (ag_read_state(&st) || !ag_in_sandbox(&st))
		return 0;
	ret = ag_path_judge(&st, AG_OP_LINK, AG_PTR(BPF_CORE_READ(old_dentry, d_parent)),
			    AG_PTR(BPF_CORE_READ(new_dir, mnt)), old_dentry,
			    BPF_CORE_READ(old_dentry, d_inode),
			    BPF_CORE_READ(old_dentry, d_parent, d_inode), 0);
	if (ret)
		return ret;
	return ag_name_judge(&st, AG_OP_LINK, new_dir, new_dentry, 0);
}

/*
 * rename(2), renameat2(2) with any flags: the old name is removed and the new one created (or
 * replaced, or with RENAME_EXCHANGE both swapped), so both paths need write, for files and
 * directories alike. Moving into or out of a "ro" or "none" directory is denied either way.
 * Both ends answer to their guards (R11): the old path, because its subtree moves; the new
 * one, because RENAME_EXCHANGE moves its subtree too, and a plain rename can put a symlink
 * there. Event: the path that was denied (the old one is judged first).
 */
SEC("lsm/path_rename")
int BPF_PROG(ag_fs_rename, const struct path *old_dir, struct dentry *old_dentry,
	     const struct path *new_dir, struct dentry *new_dentry, unsigned int flags, int ret)
{
	struct ag_state st;

	if (ret)
		return ret;
	if (ag_read_state(&st) || !ag_in_sandbox(&st))
		return 0;
	ret = ag_name_judge(&st, AG_OP_RENAME, old_dir, old_dentry, AG_JUDGE_GUARDED);
	if (ret)
		return ret;
	return ag_name_judge(&st, AG_OP_RENAME, new_dir, new_dentry, AG_JUDGE_GUARDED);
}

/* truncate(2); on 6.1 also ftruncate(2) and open(O_TRUNC) (6.2+: file_truncate, below). */
SEC("lsm/path_truncate")
int BPF_PROG(ag_fs_truncate, const struct path *path, int ret)
{
	if (ret)
		return ret;
	return ag_fs_attr_judge(path, AG_OP_TRUNCATE);
}

/*
 * ftruncate(2) and open(O_TRUNC) from 6.2, which call this instead of path_truncate. The fd was
 * opened for writing, so file_open judged its path a write then; this judges it again now,
 * which matters for an fd opened before the sandbox was entered or a policy swapped. Absent
 * from 6.1's BTF: the loader leaves it out there (loader.c: lsm_variants).
 */
SEC("lsm/file_truncate")
int BPF_PROG(ag_ftruncate, struct file *file, int ret)
{
	if (ret)
		return ret;
	return ag_fs_attr_judge(&file->f_path, AG_OP_TRUNCATE);
}

/* chmod(2), fchmod(2), fchmodat(2). */
SEC("lsm/path_chmod")
int BPF_PROG(ag_fs_chmod, const struct path *path, umode_t mode, int ret)
{
	if (ret)
		return ret;
	return ag_fs_attr_judge(path, AG_OP_CHMOD);
}

/* chown(2) and its variants, also a chown to the owner it already has. */
SEC("lsm/path_chown")
int BPF_PROG(ag_fs_chown, const struct path *path, __u64 uid, __u64 gid, int ret)
{
	if (ret)
		return ret;
	return ag_fs_attr_judge(path, AG_OP_CHOWN);
}

/* ---- attributes and xattrs: the inode_* hooks ------------------------------------------- */

/*
 * Policy semantics: changing a file's times, its extended attributes or its ACL is a write of
 * its path, like chmod. The hooks get a dentry without its mount, so the path comes from
 * ag_dentry_mounts (path.bpf.h): the dentry is resolved through every mount of its file system
 * in the caller's mount namespace, and the strictest verdict over those paths decides.
 *
 * Before the path, two built-in rules that no policy lifts (docs/containment.md):
 *   builtin:privileged-xattr  writing or removing security.* and trusted.* xattrs (R23):
 *                             file capabilities, LSM labels, IMA/EVM, overlayfs metadata;
 *   builtin:protected-files   any of these changes to agentguard's own files and to the
 *                             files of its protected directories.
 *
 * Fail mode, every hook: no scratch memory, a dentry no mount in the caller's namespace
 * reaches, too many mounts (AG_ALIAS_MOUNTS, AG_SB_MOUNTS), a path the resolver cannot
 * complete, or no table: EPERM, reported with the errno as path_error. A file with no path
 * at all (memfd, socket, pipe) is allowed, as for chmod, unless a built-in rule denies.
 */

/* From include/linux/fs.h (kernel-internal), unchanged since 2.6. */
#define AG_ATTR_MODE	(1u << 0)
#define AG_ATTR_UID	(1u << 1)
#define AG_ATTR_GID	(1u << 2)
#define AG_ATTR_SIZE	(1u << 3)

/* Is inode one of agentguard's files (ag_protected)? inode is a value, possibly NULL. */
static __always_inline bool ag_inode_protected(struct inode *inode)
{
	struct ag_inode_key key = {};

	if (!inode)
		return false;
	key.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	key.ino = BPF_CORE_READ(inode, i_ino);
	return bpf_map_lookup_elem(&ag_protected, &key) != NULL;
}

/* agentguard's own file, or a file of a protected directory (the state directory). */
static __always_inline bool ag_dentry_protected(__u64 dentry)
{
	struct dentry *d = (struct dentry *)dentry;

	return ag_inode_protected(BPF_CORE_READ(d, d_inode)) ||
	       ag_inode_protected(BPF_CORE_READ(d, d_parent, d_inode));
}

/* ag_mount_judge's arguments and results. */
struct ag_mount_judged {
	__u64 dentry;		/* in: struct dentry * */
	__u64 vfsmnt;		/* in: struct vfsmount * */
	__u64 seed;		/* in: the generation's hash_seed */
	__u32 gseq;		/* in: its generation_seq */
	__s32 off;		/* out: the path is the scratch buffer's path[off ..], or -errno */
	__u32 rule;		/* out */
	__u32 verdict;		/* out: enum ag_verdict, when off >= 0 */
};

/*
 * Resolve m->dentry in the mount m->vfsmnt into the task's scratch buffer and judge the path
 * as a write, under the tables of the generation m->seed and m->gseq name. m->off: -EXDEV when
 * the mount does not hold the dentry, another -errno when the path cannot be resolved.
 * A global function, so the verifier checks it once per program: inlined into the loop over
 * mounts, its two bounded walks made each inode_* program five times dearer to verify on 6.12
 * (100,000 instructions, seconds of load time under TCG). The pointers come in memory, as
 * plain values: a global function takes no BTF pointer as an argument.
 */
__noinline int ag_mount_judge(struct ag_mount_judged *m)
{
	struct ag_state st = {};
	struct ag_scratch *s;
	__u64 hash;
	__u32 rule;
	long off;

	if (!m)
		return -EINVAL;
	st.hash_seed = m->seed;
	st.generation_seq = m->gseq;
	s = bpf_task_storage_get(&ag_scratch, bpf_get_current_task_btf(), 0,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	/* No memory for the scratch buffer: fail closed. */
	off = s ? ag_resolve_path(s, m->dentry, m->vfsmnt, NULL) : -ENOMEM;
	if (!s || off < 0 || off >= AG_PATH_MAX) {
		m->off = off < 0 ? off : -EINVAL;
		return 0;
	}
	off &= AG_PATH_MAX - 1;
	m->off = off;
	m->verdict = ag_fs_decide(&st, s, off, AG_PATH_MAX - 1 - off, AG_FS_WANT_WRITE, &rule,
				  &hash, false);
	m->rule = rule;
	return 0;
}

/*
 * Judge a WRITE of the object of dentry (a value), which came without its mount: through each
 * mount that holds it (ag_dentry_mounts), the strongest verdict. builtin: a built-in rule
 * (enum ag_builtin_rule) that denies whatever the path, or 0. Returns 0 or -EPERM. The event
 * names the path whose verdict decided, and its rule.
 */
static __always_inline int ag_dentry_judge(const struct ag_state *st, __u32 op, __u64 dentry,
					   __u32 builtin)
{
	struct inode *inode = BPF_CORE_READ((struct dentry *)dentry, d_inode);
	__u64 best_mnt = 0, last_mnt = 0, vfsmnt;
	struct ag_mount_judged m = { .dentry = dentry, .seed = st->hash_seed,
				     .gseq = st->generation_seq };
	__u32 rule = AG_RULE_NONE, i;
	struct ag_sb_scan scan = {};
	__u8 verdict = AG_DENY, v;
	struct ag_scratch *s;
	const char *path = NULL;
	bool reached = false;
	__s32 path_len, off = -ENOENT;
	long err;

	if (!builtin && ag_dentry_protected(dentry))
		builtin = AG_BR_PROTECTED;
	if (!builtin && ag_dentry_pathless(dentry))
		return 0;
	s = bpf_task_storage_get(&ag_scratch, bpf_get_current_task_btf(), 0,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	/* No memory for the scratch buffer: fail closed. */
	err = s ? ag_dentry_mounts(dentry, s, &scan) : -ENOMEM;
	for (i = 0; err >= 0 && s && i < AG_ALIAS_MOUNTS && i < scan.n; i++) {
		vfsmnt = s->mounts[i];
		m.vfsmnt = vfsmnt;
		ag_mount_judge(&m);
		last_mnt = vfsmnt;
		/* Not below this mount's root: the object cannot be reached through it. */
		if (m.off == -EXDEV)
			continue;
		/* A path that cannot be resolved: fail closed, whatever the other mounts give. */
		if (m.off < 0) {
			err = m.off;
			break;
		}
		v = m.verdict;
		if (!reached || v > verdict) {
			verdict = v;
			rule = m.rule;
			best_mnt = vfsmnt;
		}
		reached = true;
		off = m.off;
		/* Nothing is stronger than a denial: stop, with its path in the buffer. */
		if (v == AG_DENY)
			break;
	}
	/* No mount of the caller's reaches it (detached, internal): fail closed. */
	if (err >= 0 && !reached)
		err = -ENOENT;
	/* The strongest verdict came from an earlier mount: its path again, for the event. */
	if (err >= 0 && verdict != AG_ALLOW && best_mnt != last_mnt) {
		m.vfsmnt = best_mnt;
		ag_mount_judge(&m);
		off = m.off;
		err = off < 0 ? off : 0;
	}
	if (err >= 0 && s && off >= 0 && off < AG_PATH_MAX) {
		/* Keep the mask: 6.1's verifier loses the range checked above. */
		barrier_var(off);
		off &= AG_PATH_MAX - 1;
		path = &s->path[off];
		path_len = AG_PATH_MAX - off;
	} else {
		/* Unresolvable: fail closed; the event carries the errno. */
		verdict = AG_DENY;
		rule = AG_RULE_NONE;
		path_len = err < 0 ? err : -EINVAL;
	}
	if (builtin) {
		verdict = AG_DENY;
		rule = AG_RULE_BUILTIN | builtin;
	}
	return ag_file_decided(st, path, path_len, inode, op, AG_FS_WANT_WRITE, verdict, rule);
}

/* Gate of the inode_* hooks: the sandbox only, then ag_dentry_judge. */
static __always_inline int ag_attr_change_judge(struct dentry *dentry, __u32 op, __u32 builtin)
{
	struct ag_state st;

	if (ag_read_state(&st) || !ag_in_sandbox(&st))
		return 0;
	return ag_dentry_judge(&st, op, AG_PTR(dentry), builtin);
}

/*
 * notify_change() of dentry with attr. Mode, owner and size changes were judged, with their
 * mount, by path_chmod, path_chown, path_truncate or file_truncate before notify_change ran
 * (fchmod and fchown too: they go through chmod_common and chown_common), and are not judged
 * twice; a write clearing a file's setuid bit comes here as a mode change of a file opened
 * for writing, judged at its open. What is left: times (utimes, utimensat, futimens: touch),
 * and a write dropping a file's capabilities (ATTR_KILL_PRIV), which needs the path to be
 * writable like the write itself.
 */
static __always_inline int ag_setattr_judge(struct dentry *dentry, struct iattr *attr)
{
	if (BPF_CORE_READ(attr, ia_valid) & (AG_ATTR_MODE | AG_ATTR_UID | AG_ATTR_GID | AG_ATTR_SIZE))
		return 0;
	return ag_attr_change_judge(dentry, AG_OP_SETATTR, 0);
}

/* The hook as 6.1 has it. 6.12's has the mount's idmap first (ag_setattr_idm). */
SEC("lsm/inode_setattr")
int BPF_PROG(ag_setattr, struct dentry *dentry, struct iattr *attr, int ret)
{
	if (ret)
		return ret;
	return ag_setattr_judge(dentry, attr);
}

struct mnt_idmap;	/* 6.3+; not in the 6.1 vmlinux.h, and only passed through */

SEC("lsm/inode_setattr")
int BPF_PROG(ag_setattr_idm, struct mnt_idmap *idmap, struct dentry *dentry, struct iattr *attr,
	     int ret)
{
	if (ret)
		return ret;
	return ag_setattr_judge(dentry, attr);
}

/* Does s start with the n bytes of prefix? (No memcmp in BPF; n is a constant.) */
static __always_inline bool ag_has_prefix(const char *s, const char *prefix, __u32 n)
{
	__u32 i;

	for (i = 0; i < n; i++)
		if (s[i] != prefix[i])
			return false;
	return true;
}

/* The xattr namespaces only privileged code may write: "security." and "trusted.". */
static __always_inline bool ag_xattr_privileged(const char *name)
{
	return ag_has_prefix(name, "security.", 9) || ag_has_prefix(name, "trusted.", 8);
}

/* A POSIX ACL by its xattr name, "system.posix_acl_access" or "system.posix_acl_default". */
static __always_inline bool ag_xattr_posix_acl(const char *name)
{
	return ag_has_prefix(name, "system.posix_acl_", 17);
}

/*
 * Setting (or removing: op) the xattr name of dentry. A privileged name is refused to the
 * sandbox whatever the path; an ACL, set through setxattr on 6.1, is reported as the ACL
 * change it is. Returns 0 or -EPERM.
 */
static __always_inline int ag_xattr_judge(struct dentry *dentry, const char *name, __u32 op)
{
	char buf[32] = {};
	__u32 builtin = 0;

	/* A name that cannot be read is judged as privileged: fail closed. */
	if (bpf_probe_read_kernel_str(buf, sizeof(buf), name) < 0 || ag_xattr_privileged(buf))
		builtin = AG_BR_PRIV_XATTR;
	else if (ag_xattr_posix_acl(buf))
		op = op == AG_OP_SETXATTR ? AG_OP_SETACL : AG_OP_REMOVEACL;
	return ag_attr_change_judge(dentry, op, builtin);
}

/*
 * setxattr and removexattr, in two forms each (the loader picks by kernel, loader.c):
 *
 * Kernels that run the capability check for security.* xattrs themselves (6.10+, which have
 * the inode_xattr_skipcap hook) take 0 or -EPERM: ag_setxattr, ag_rmxattr. 6.12's verifier
 * also refuses any other return value.
 *
 * Before that (6.1), security_inode_setxattr and _removexattr call cap_inode_setxattr or
 * cap_inode_removexattr only when the LSM hooks return 1 ("SELinux and Smack integrate the
 * cap call"), and bpf is the only LSM there with these hooks. So 0 would let anyone, not only
 * the sandbox, write security.* xattrs without CAP_SYS_ADMIN (and remove security.capability
 * without CAP_SETFCAP). ag_setxattr_cap and ag_rmxattr_cap therefore allow with 1: the one
 * exception to "0 or -EPERM" in agentguard (ag_xattr_judge_allow_1). An earlier program's 1
 * is such an allow too, so they judge on after it; a negative value is a denial and is kept.
 */
static __always_inline int ag_xattr_judge_allow_1(int ret, struct dentry *dentry,
						  const char *name, __u32 op)
{
	if (ret && ret != 1)
		return ret;
	ret = ag_xattr_judge(dentry, name, op);
	return ret ? ret : 1;
}

SEC("lsm/inode_setxattr")
int BPF_PROG(ag_setxattr, struct mnt_idmap *idmap, struct dentry *dentry, const char *name,
	     const void *value, size_t size, int flags, int ret)
{
	if (ret)
		return ret;
	return ag_xattr_judge(dentry, name, AG_OP_SETXATTR);
}

SEC("lsm/inode_setxattr")
int BPF_PROG(ag_setxattr_cap, struct user_namespace *mnt_userns, struct dentry *dentry,
	     const char *name, const void *value, size_t size, int flags, int ret)
{
	return ag_xattr_judge_allow_1(ret, dentry, name, AG_OP_SETXATTR);
}

SEC("lsm/inode_removexattr")
int BPF_PROG(ag_rmxattr, struct mnt_idmap *idmap, struct dentry *dentry, const char *name,
	     int ret)
{
	if (ret)
		return ret;
	return ag_xattr_judge(dentry, name, AG_OP_REMOVEXATTR);
}

SEC("lsm/inode_removexattr")
int BPF_PROG(ag_rmxattr_cap, struct user_namespace *mnt_userns, struct dentry *dentry,
	     const char *name, int ret)
{
	return ag_xattr_judge_allow_1(ret, dentry, name, AG_OP_REMOVEXATTR);
}

/*
 * POSIX ACLs from 6.2: setfacl's setxattr of system.posix_acl_* goes to vfs_set_acl and
 * vfs_remove_acl, which call these instead of inode_setxattr. Absent from 6.1's BTF: the
 * loader leaves them out there, where ag_setxattr_cap judges ACLs.
 */
SEC("lsm/inode_set_acl")
int BPF_PROG(ag_set_acl, struct mnt_idmap *idmap, struct dentry *dentry, const char *acl_name,
	     struct posix_acl *kacl, int ret)
{
	if (ret)
		return ret;
	return ag_attr_change_judge(dentry, AG_OP_SETACL, 0);
}

SEC("lsm/inode_remove_acl")
int BPF_PROG(ag_remove_acl, struct mnt_idmap *idmap, struct dentry *dentry, const char *acl_name,
	     int ret)
{
	if (ret)
		return ret;
	return ag_attr_change_judge(dentry, AG_OP_REMOVEACL, 0);
}

/* ---- code from files: bprm_check_security, mmap_file, file_mprotect --------------------- */

/*
 * Policy semantics: code from a file needs the file's exec permission ("exec: true"), however
 * it gets to run. file_open already judges execve()'s own opens of the binary, its ELF
 * interpreter and a script's #! interpreter (they carry __FMODE_EXEC). The hooks below judge
 * the file once more where the code is about to run, as AG_FS_WANT_EXEC only (read was judged
 * when the file was opened):
 *   bprm_check_security  every file exec'd: the binary, then a script's #! interpreter or a
 *                        binfmt_misc interpreter (each is bprm->file once), also through
 *                        execveat() of an fd (O_PATH, memfd);
 *   mmap_file            a PROT_EXEC mapping: the dynamic loader run as a program
 *                        ("ld.so ./bin" maps ./bin and never execs it), shared libraries,
 *                        dlopen, and the kernel's own maps of an ELF binary and its loader;
 *   file_mprotect        PROT_EXEC added later to a mapping of a file.
 *
 * Files with no path (memfd, shared anonymous memory, SysV shm: ag_dentry_pseudo) are in no
 * rule's namespace. Exec'ing one is judged by the policy's "/" entry (the default, or a rule
 * for "/"), so "default: deny" denies a memfd exec. Mapping one executable is allowed like
 * anonymous memory: the process wrote its contents itself, and JITs map such memory PROT_EXEC
 * (.NET's double mapping, older libffi closures). Fail mode, every hook: no scratch memory,
 * a path that cannot be resolved, or no table: EPERM with an event, as for file_open.
 */
#define AG_PROT_EXEC	0x4	/* uapi asm-generic/mman-common.h */
#define AG_VM_EXEC	0x4	/* include/linux/mm.h, unchanged since 2.6 */

/* The verdict of the "/" entry: what applies to a file no rule's path can name. */
static __always_inline __u8 ag_fs_decide_root(const struct ag_state *st, __u32 want, __u32 *rule)
{
	struct ag_fs_key key = {
		.hash = ag_path_hash_final(ag_path_hash_step(st->hash_seed, '/'), 1),
	};
	__u32 gen = ag_state_slot(st);
	struct ag_fs_val *v;
	void *table;

	*rule = AG_RULE_NONE;
	table = bpf_map_lookup_elem(&ag_fs_gens, &gen);
	/* No table (the loader has not finished), or no "/" in it (a broken table): fail closed. */
	if (!table)
		return AG_DENY;
	v = bpf_map_lookup_elem(table, &key);
	if (!v)
		return AG_DENY;
	return ag_fs_val_verdict(v, want, rule);
}

/*
 * The verdict for running code from file, whose path is in s->path[off .. off + len) (err
 * < 0 when it could not be resolved). Reports a denial as op. Returns 0 or -EPERM.
 */
static __always_inline int ag_exec_verdict(const struct ag_state *st, struct ag_scratch *s,
					   struct file *file, bool pseudo, long off, long len,
					   long err, __u32 op)
{
	/* A value, not a BTF pointer: file_mprotect gets file from BPF_CORE_READ. */
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	__u32 rule = AG_RULE_NONE;
	__u8 verdict = AG_DENY;
	const char *path = NULL;
	__s32 path_len = err;
	__u64 hash;

	if (s && !err && off >= 0 && off < AG_PATH_MAX && len > 0 && len < AG_PATH_MAX - off) {
		off &= AG_PATH_MAX - 1;
		path = &s->path[off];
		path_len = len + 1;
		if (pseudo)
			verdict = ag_fs_decide_root(st, AG_FS_WANT_EXEC, &rule);
		else
			verdict = ag_fs_decide(st, s, off, len, AG_FS_WANT_EXEC, &rule, &hash,
					       false);
	} else if (!err) {
		/* A length the buffer cannot hold: fail closed, reported as too long. */
		path_len = -ENAMETOOLONG;
	}
	return ag_file_decided(st, path, path_len, inode, op, AG_FS_WANT_EXEC, verdict, rule);
}

/*
 * A file about to run or be mapped executable, on a hook that may call bpf_d_path. Fail mode:
 * no scratch memory, or bpf_d_path fails or fills the buffer: EPERM.
 */
static __always_inline int ag_exec_judge_dpath(const struct ag_state *st, struct file *file,
					       __u32 op, bool pseudo_ok)
{
	bool pseudo = ag_dentry_pseudo(AG_PTR(file->f_path.dentry), AG_PTR(file->f_path.mnt));
	struct ag_scratch *s;
	long n;

	if (pseudo && pseudo_ok)
		return 0;
	s = bpf_task_storage_get(&ag_scratch, bpf_get_current_task_btf(), 0,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	n = s ? bpf_d_path(&file->f_path, s->path, sizeof(s->path)) : -ENOMEM;
	/* bpf_d_path counts the NUL in n; the string starts at s->path[0]. */
	return ag_exec_verdict(st, s, file, pseudo, 0, n - 1, n < 0 ? n : (n < 2 ? -EINVAL : 0),
			       op);
}

/*
 * execve() and execveat() judge each file the kernel is about to run: the binary, then (as
 * bprm->file again) a script's interpreter or binfmt_misc's. A memfd or other pathless file
 * is judged by the "/" entry. file_open judged the same opens first, so this program decides
 * differently only when the policy changed in between; it is here so that no open path the
 * kernel may take to an exec escapes the exec rule.
 */
SEC("lsm/bprm_check_security")
int BPF_PROG(ag_bprm_check, struct linux_binprm *bprm, int ret)
{
	struct ag_state st;

	if (ret)
		return ret;
	if (ag_read_state(&st) || !ag_in_sandbox(&st))
		return 0;
	return ag_exec_judge_dpath(&st, bprm->file, AG_OP_EXEC, false);
}

/*
 * Runs on every mmap(2) in the system: the cheap tests (PROT_EXEC, a file) come before the
 * state lookup. prot is what will be mapped (with READ_IMPLIES_EXEC applied), not reqprot.
 * Anonymous mappings (file NULL) are allowed: JITs need them, and exec: is about files.
 */
SEC("lsm/mmap_file")
int BPF_PROG(ag_mmap_file, struct file *file, unsigned long reqprot, unsigned long prot,
	     unsigned long flags, int ret)
{
	struct ag_state st;

	if (ret)
		return ret;
	if (!(prot & AG_PROT_EXEC) || !file)
		return 0;
	if (ag_read_state(&st) || !ag_in_sandbox(&st))
		return 0;
	return ag_exec_judge_dpath(&st, file, AG_OP_MMAP_EXEC, true);
}

/*
 * mprotect(PROT_EXEC) of a mapping of a file that is not executable yet (mapped PROT_READ,
 * then made executable). Called once per VMA in the range. Anonymous VMAs are allowed (JITs
 * mprotect their code buffers), and so are VMAs already executable: mmap_file judged them, or
 * they were mapped before the task entered the sandbox. 6.1 forbids bpf_d_path here: the path
 * comes from the resolver (path.bpf.h), in the same form.
 */
SEC("lsm/file_mprotect")
int BPF_PROG(ag_mprotect, struct vm_area_struct *vma, unsigned long reqprot, unsigned long prot,
	     int ret)
{
	struct file *file;
	struct ag_scratch *s;
	struct ag_state st;
	long off;

	if (ret)
		return ret;
	if (!(prot & AG_PROT_EXEC))
		return 0;
	file = BPF_CORE_READ(vma, vm_file);
	if (!file || (BPF_CORE_READ(vma, vm_flags) & AG_VM_EXEC))
		return 0;
	if (ag_read_state(&st) || !ag_in_sandbox(&st))
		return 0;
	s = bpf_task_storage_get(&ag_scratch, bpf_get_current_task_btf(), 0,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	/* No memory for the scratch buffer: fail closed (ag_exec_verdict reports it). */
	off = s ? ag_resolve_path(s, AG_PTR(BPF_CORE_READ(file, f_path.dentry)),
				  AG_PTR(BPF_CORE_READ(file, f_path.mnt)), NULL) :
		  -ENOMEM;
	/* A pathless file (memfd, shared anonymous memory): allowed like anonymous memory. */
	if (off == -EOPNOTSUPP)
		return 0;
	return ag_exec_verdict(&st, s, file, false, off, AG_PATH_MAX - 1 - off,
			       off < 0 ? off : 0, AG_OP_MPROTECT_EXEC);
}
