/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The path resolver for hooks that may not call bpf_d_path (the path_* hooks on 6.1, the
 * inode_* hooks): a bounded walk over dentries and mounts that writes the string d_path()
 * would, into the task's scratch buffer, so one decision (file.bpf.c: ag_fs_decide) judges it
 * exactly as it judges file_open's bpf_d_path result. Hooks that get a dentry without its
 * mount find the mounts first (ag_dentry_mounts, at the end of this file).
 *
 * The walk is fs/d_path.c's prepend_path(): from the dentry up its d_parent chain, across each
 * mount root to the mountpoint in the parent mount (real_mount()->mnt_parent, mnt_mountpoint),
 * until the current task's fs->root. Names are prepended from the end of the buffer, like
 * d_path, so the string ends at s->path[AG_PATH_MAX - 1] (its NUL) and starts at the returned
 * offset. A positive dentry that is unhashed gets d_path's " (deleted)" suffix; a path that is
 * only the root is "/".
 *
 * Byte-identical to bpf_d_path wherever d_path succeeds with a reachable path. Where the two
 * differ, the resolver fails instead of guessing (fail closed):
 *   -ENAMETOOLONG  the path needs more than AG_PATH_MAX bytes, or a name more than NAME_MAX
 *                  (d_path: -ENAMETOOLONG as well);
 *   -ELOOP         more than AG_RESOLVE_STEPS dentries and mounts to climb (d_path has no bound);
 *   -ENOENT        the dentry is disconnected (its own parent but not a mount root; d_path
 *                  says "/"), or the walk ends at the root of a detached or internal mount
 *                  (d_path gives the path below that mount); no fs->root;
 *   -EXDEV         the dentry is not below the root of the mount it was given with: it
 *                  was renamed out of a bind mount's subtree (d_path calls that "escaped"),
 *                  or, for the inode_* hooks (ag_dentry_mounts), a mount that does not
 *                  hold it;
 *   -EFAULT        a kernel read failed;
 *   -EOPNOTSUPP    a pseudo file with no path at all (pipe, socket, memfd, anon inode: its
 *                  dentry has d_op->d_dname; d_path says "pipe:[123]", "/memfd:x (deleted)").
 *
 * No lock is taken (d_path takes rename_lock and mount_lock): a rename racing the walk can make
 * it read a mix of the old and new names of the dentries it climbs. The adversary gains nothing
 * from that race it could not get by renaming first and then acting (threat model R11, R24).
 *
 * Every pointer the walk follows is a plain value read with bpf_probe_read_kernel (CO-RE), never
 * a BTF pointer: 6.1 cannot turn a vfsmount into its struct mount otherwise.
 */
#ifndef AG_PATH_BPF_H
#define AG_PATH_BPF_H

#include "common.bpf.h"
#include <asm-generic/errno.h>
#include <bpf/bpf_core_read.h>

/*
 * Dentries and mount crossings climbed at most. A name takes at least two bytes ("/a"), so any
 * path that fits in AG_PATH_MAX runs out of room before this bound unless it crosses more than
 * 2,000 mounts.
 */
#define AG_RESOLVE_STEPS	AG_PATH_MAX
#define AG_DELETED		" (deleted)"
#define AG_DELETED_LEN		10

struct ag_resolve {
	struct ag_scratch *s;
	__u64 dentry;		/* struct dentry *: the next one to climb */
	__u64 mnt;		/* struct mount * it is in */
	__u64 start_mnt;	/* struct mount * the walk started in */
	__u64 root_dentry;	/* the task's fs->root */
	__u64 root_mnt;		/* struct mount * of fs->root */
	__s32 pos;		/* the string so far is s->path[pos .. AG_PATH_MAX - 1) */
	__s32 err;		/* 0 while walking, 1 reached a root, or -errno */
};

/* struct mount * of a struct vfsmount * (fs/mount.h: real_mount). */
static __always_inline __u64 ag_real_mount(__u64 vfsmnt)
{
	return vfsmnt ? vfsmnt - bpf_core_field_offset(struct mount, mnt) : 0;
}

/*
 * Prepend "/" and the len bytes at name before s->path[*pos]. The offsets are masked so the
 * verifier can bound them; the check before makes the masks no-ops.
 */
static __always_inline int ag_prepend_name(struct ag_scratch *s, __s32 *pos, const void *name,
					   __u32 len)
{
	__u32 at;

	if (!len || len > NAME_MAX)
		return -ENAMETOOLONG;
	/* d_path: the name and its slash must fit in what is left, or -ENAMETOOLONG. */
	if ((__s32)len + 1 > *pos)
		return -ENAMETOOLONG;
	at = (*pos - len) & (AG_PATH_MAX - 1);
	if (bpf_probe_read_kernel(&s->path[at], len & NAME_MAX, name))
		return -EFAULT;
	at = (at - 1) & (AG_PATH_MAX - 1);
	s->path[at] = '/';
	*pos = at;
	return 0;
}

/* One dentry or one mount crossing per call (fs/d_path.c: __prepend_path). */
static long ag_resolve_step(__u32 i, void *ctx)
{
	struct ag_resolve *r = ctx;
	struct dentry *d = (struct dentry *)r->dentry;
	struct mount *m = (struct mount *)r->mnt, *parent_mnt;
	struct mnt_namespace *ns;
	__u64 parent;
	int err;

	if (r->dentry == r->root_dentry && r->mnt == r->root_mnt) {
		r->err = 1;
		return 1;
	}
	if (r->dentry == (__u64)BPF_CORE_READ(m, mnt.mnt_root)) {
		parent_mnt = BPF_CORE_READ(m, mnt_parent);
		if (parent_mnt && (__u64)parent_mnt != r->mnt) {
			r->dentry = (__u64)BPF_CORE_READ(m, mnt_mountpoint);
			r->mnt = (__u64)parent_mnt;
			return 0;
		}
		/*
		 * The top of a mount tree without meeting fs->root. In a mount namespace (d_path's
		 * "absolute root", a task whose root is below the object): resolved, as d_path.
		 * Detached (umount -l, open_tree) or internal: no path anyone can name. Fail closed.
		 */
		ns = BPF_CORE_READ(m, mnt_ns);
		if (ns && (__u64)ns < (__u64)-4095 && BPF_CORE_READ(ns, seq))
			r->err = 1;
		else
			r->err = -ENOENT;
		return 1;
	}
	parent = (__u64)BPF_CORE_READ(d, d_parent);
	/*
	 * Its own parent but not a mount's root. The file system's root, still in the first
	 * mount: the dentry is outside that mount's subtree. Anything else: disconnected
	 * (open_by_handle_at). Either way no path: fail closed.
	 */
	if (!parent || parent == r->dentry) {
		if (parent && r->mnt == r->start_mnt &&
		    r->dentry == (__u64)BPF_CORE_READ(d, d_sb, s_root))
			r->err = -EXDEV;
		else
			r->err = -ENOENT;
		return 1;
	}
	err = ag_prepend_name(r->s, &r->pos, BPF_CORE_READ(d, d_name.name),
			      BPF_CORE_READ(d, d_name.len));
	if (err) {
		r->err = err;
		return 1;
	}
	r->dentry = parent;
	return 0;
}

/*
 * d_path's test for a pseudo file, one with no path at all (memfd, pipe, socket, shared
 * anonymous memory, SysV shm, anon inode): its dentry has d_op->d_dname, unless it is the root
 * of its mount. dentry and vfsmnt are values, as everywhere in this file.
 */
static __always_inline bool ag_dentry_pseudo(__u64 dentry, __u64 vfsmnt)
{
	struct dentry *d = (struct dentry *)dentry;
	struct mount *m = (struct mount *)ag_real_mount(vfsmnt);
	const struct dentry_operations *ops = BPF_CORE_READ(d, d_op);

	return ops && BPF_CORE_READ(ops, d_dname) &&
	       ((__u64)BPF_CORE_READ(d, d_parent) != dentry ||
		dentry != (__u64)BPF_CORE_READ(m, mnt.mnt_root));
}

/*
 * Resolve a path into s->path. Either (from, vfsmnt) is the object itself (leaf NULL), or leaf
 * is the object and from its parent directory (leaf->d_parent) in vfsmnt: the hooks that get a
 * directory and a name pass them so, which also covers the negative dentry of a create.
 * Returns the offset of the string in s->path (it ends with the NUL at AG_PATH_MAX - 1), or
 * -errno as in the header comment. The caller judges -EOPNOTSUPP; every other error denies.
 */
static __always_inline long ag_resolve_path(struct ag_scratch *s, __u64 from, __u64 vfsmnt,
					    struct dentry *leaf)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct ag_resolve r = { .s = s, .pos = AG_PATH_MAX - 1 };
	struct dentry *obj = leaf ? leaf : (struct dentry *)from;
	struct dentry *obj_parent;
	__s32 start;
	int err;

	r.dentry = from;
	r.mnt = ag_real_mount(vfsmnt);
	r.start_mnt = r.mnt;
	r.root_dentry = (__u64)BPF_CORE_READ(task, fs, root.dentry);
	r.root_mnt = ag_real_mount((__u64)BPF_CORE_READ(task, fs, root.mnt));
	/* No object, no mount, or a task without fs->root (exiting): nothing to climb to. */
	if (!r.dentry || !r.mnt || !r.root_dentry || !r.root_mnt)
		return -ENOENT;
	s->path[AG_PATH_MAX - 1] = '\0';
	if (BPF_CORE_READ(obj, d_inode)) {
		obj_parent = BPF_CORE_READ(obj, d_parent);
		if (ag_dentry_pseudo((__u64)obj, vfsmnt))
			return -EOPNOTSUPP;
		/* d_unlinked(): unhashed and not a root. Negative dentries never get it. */
		if (!BPF_CORE_READ(obj, d_hash.pprev) && obj_parent != obj) {
			__builtin_memcpy(&s->path[AG_PATH_MAX - 1 - AG_DELETED_LEN], AG_DELETED,
					 AG_DELETED_LEN);
			r.pos -= AG_DELETED_LEN;
		}
	}
	start = r.pos;
	if (leaf) {
		err = ag_prepend_name(s, &r.pos, BPF_CORE_READ(leaf, d_name.name),
				      BPF_CORE_READ(leaf, d_name.len));
		if (err)
			return err;
	}
	bpf_loop(AG_RESOLVE_STEPS, ag_resolve_step, &r, 0);
	/* A step could not go on (too long, disconnected, a failed read): fail closed. */
	if (r.err < 0)
		return r.err;
	/* Still climbing after AG_RESOLVE_STEPS (or bpf_loop refused): too deep. Fail closed. */
	if (!r.err)
		return -ELOOP;
	/* Nothing above the root: the path is "/" (d_path's prepend_char). */
	if (r.pos == start) {
		/* No room for it (d_path: -ENAMETOOLONG); cannot happen with one NUL written. */
		if (r.pos < 1)
			return -ENAMETOOLONG;
		r.pos--;
		s->path[r.pos & (AG_PATH_MAX - 1)] = '/';
	}
	return r.pos & (AG_PATH_MAX - 1);
}

/*
 * The same test for a dentry that came without its mount (the inode_* hooks): the mounts of
 * such files are kernel-internal, with the file system's root as their root.
 */
static __always_inline bool ag_dentry_pathless(__u64 dentry)
{
	struct dentry *d = (struct dentry *)dentry;
	const struct dentry_operations *ops = BPF_CORE_READ(d, d_op);

	return ops && BPF_CORE_READ(ops, d_dname) &&
	       dentry != (__u64)BPF_CORE_READ(d, d_sb, s_root);
}

/*
 * ---- dentries without a mount ---------------------------------------------------------------
 *
 * The inode_* hooks (setattr, setxattr, removexattr, set_acl, remove_acl) get a dentry and no
 * vfsmount, and a path needs one. The object can only have been reached through a mount of
 * its file system in the caller's mount namespace, and it may be reachable through several
 * (bind mounts), each giving another path. So ag_dentry_mounts lists every such mount, from
 * the super block's own list of its mounts (sb->s_mounts, all namespaces), and the caller
 * resolves the dentry in each (ag_resolve_path; -EXDEV: not below that mount's root, skip it)
 * and judges every path it gets: the strictest verdict wins, so no alias turns a deny into an
 * allow. Example: tmpfs at /tmp, bound again at /srv/t: a file reached as /srv/t/x is judged
 * as /tmp/x and as /srv/t/x. The cost grows with the mounts of that file system (a read for
 * each, a walk for each in the caller's namespace), never with the number of rules.
 *
 * Fail mode: more than AG_SB_MOUNTS mounts of the file system in all namespaces together
 * (-ELOOP), more than AG_ALIAS_MOUNTS of them in the caller's namespace (-EMLINK), a task
 * without a mount namespace (exiting) or a failed read: no list, the caller denies. No lock is
 * taken (mount_lock guards the list): a mount or unmount racing the scan can make it miss or
 * see that one mount, and the sandbox can do neither (builtin:mount).
 */
#define AG_SB_MOUNTS		4096

struct ag_sb_scan {
	struct ag_scratch *s;	/* s->mounts gets the struct vfsmount * of each mount in ns */
	__u64 head;		/* &sb->s_mounts */
	__u64 next;		/* the mnt_instance list_head of the next mount */
	__u64 ns;		/* struct mnt_namespace * of the caller */
	__u32 n;		/* entries of s->mounts in use */
	__s32 err;		/* 0 while scanning, 1 at the end of the list, or -errno */
};

/* One mount of the super block per call. */
static long ag_sb_scan_step(__u32 i, void *ctx)
{
	struct ag_sb_scan *m = ctx;
	struct ag_scratch *s = m->s;
	struct mount *mnt;

	if (!s) {
		m->err = -ENOMEM;
		return 1;
	}
	if (m->next == m->head) {
		m->err = 1;
		return 1;
	}
	/* A list is never cut; a NULL link is a failed read. Fail closed. */
	if (!m->next) {
		m->err = -EFAULT;
		return 1;
	}
	mnt = (struct mount *)(m->next - bpf_core_field_offset(struct mount, mnt_instance));
	if ((__u64)BPF_CORE_READ(mnt, mnt_ns) == m->ns) {
		if (m->n >= AG_ALIAS_MOUNTS) {
			m->err = -EMLINK;
			return 1;
		}
		s->mounts[m->n & (AG_ALIAS_MOUNTS - 1)] =
			(__u64)mnt + bpf_core_field_offset(struct mount, mnt);
		m->n++;
	}
	m->next = (__u64)BPF_CORE_READ(mnt, mnt_instance.next);
	return 0;
}

/*
 * List the mounts of dentry's file system in the caller's mount namespace into s->mounts.
 * Returns how many (0: none there, the object is on a detached or internal mount), or -errno
 * as in the comment above.
 */
static __always_inline int ag_dentry_mounts(__u64 dentry, struct ag_scratch *s,
					    struct ag_sb_scan *m)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct super_block *sb = BPF_CORE_READ((struct dentry *)dentry, d_sb);

	m->s = s;
	m->n = 0;
	m->err = 0;
	m->ns = (__u64)BPF_CORE_READ(task, nsproxy, mnt_ns);
	if (!sb || !m->ns)
		return -ENOENT;
	m->head = (__u64)sb + bpf_core_field_offset(struct super_block, s_mounts);
	m->next = (__u64)BPF_CORE_READ(sb, s_mounts.next);
	bpf_loop(AG_SB_MOUNTS, ag_sb_scan_step, m, 0);
	if (m->err < 0)
		return m->err;
	/* Still scanning after AG_SB_MOUNTS mounts (or bpf_loop refused): fail closed. */
	if (!m->err)
		return -ELOOP;
	return m->n;
}

#endif /* AG_PATH_BPF_H */
