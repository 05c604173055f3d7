// SPDX-License-Identifier: GPL-2.0
/*
 * Containment: what root inside the sandbox may never do, whatever the policy says (issue #5,
 * docs/containment.md). Leave the cgroup, make namespaces or mounts, change the kernel, call
 * bpf(), trace, signal or reprogram anything outside the sandbox, write agentguard's own files
 * or kernel interfaces, reach daemons outside over unix sockets, or receive fds it could not
 * have opened.
 *
 * Every hook first honours an earlier denial, then returns 0 at once for tasks outside the
 * sandbox. Fail mode: where the target's cgroup cannot be established (too deep, no cgroup),
 * the target counts as outside the sandbox, so the action is denied.
 */
#include "common.bpf.h"
#include <bpf/bpf_core_read.h>
#include <linux/magic.h>

char LICENSE[] SEC("license") = "GPL";

/* Kernel-internal constants (include/linux headers, not uapi), stable for many releases. */
#define CAP_OPT_NOAUDIT		0x2		/* security.h: a probe, not an attempt */
#define MAY_EXEC		0x1		/* fs.h */
#define MAY_WRITE		0x2
#define MAY_READ		0x4
#define MAY_APPEND		0x8
#define KERNFS_TYPE_MASK	0x000f		/* kernfs.h */
#define S_IFMT			00170000	/* uapi stat.h */
#define S_IFSOCK		0140000
#define CLONE_INTO_CGROUP	0x200000000ULL	/* uapi sched.h */
#define F_SETOWN		8		/* uapi asm-generic/fcntl.h */
#define F_SETOWN_EX		15
#define FIOSETOWN		0x8901		/* uapi asm-generic/sockios.h */
#define SIOCSPGRP		0x8902
#define FIOASYNC		0x5452		/* uapi asm-generic/ioctls.h */
#define TIOCSTI			0x5412
#define TIOCSPGRP		0x5410
#define TIOCLINUX		0x541C
#define F_SETFL			4
#define AG_O_ASYNC		020000		/* uapi asm-generic/fcntl.h FASYNC */
#define PTRACE_MODE_NOAUDIT	0x04		/* ptrace.h: a probe (ps, /proc), not an attempt */
#define BINFMTFS_MAGIC		0x42494e4d	/* uapi magic.h */
#define CGROUP_SUPER_MAGIC_V1	0x27e0eb	/* uapi magic.h: CGROUP_SUPER_MAGIC */
#define AG_DEVCG_DEV_BLOCK	1		/* uapi bpf.h BPF_DEVCG_DEV_*, absent from BTF */
#define AG_DEVCG_DEV_CHAR	2

/* Deepest cgroup below the sandbox root we can place; the loader sets cgroup.max.depth. */
#define AG_MAX_SANDBOX_DEPTH	16

/*
 * Capabilities withheld from sandbox tasks (docs/containment.md says why for each).
 * The numbers are the uapi CAP_* values.
 */
#define AG_CAP(n) (1ULL << (n))
#define AG_CAPS_DENIED                                                                         \
	(AG_CAP(2) /* DAC_READ_SEARCH */ | AG_CAP(9) /* LINUX_IMMUTABLE */ |                  \
	 AG_CAP(12) /* NET_ADMIN */ | AG_CAP(13) /* NET_RAW */ | AG_CAP(14) /* IPC_LOCK */ |  \
	 AG_CAP(15) /* IPC_OWNER */ | AG_CAP(16) /* SYS_MODULE */ | AG_CAP(17) /* SYS_RAWIO */ | \
	 AG_CAP(18) /* SYS_CHROOT */ | AG_CAP(19) /* SYS_PTRACE */ | AG_CAP(20) /* SYS_PACCT */ | \
	 AG_CAP(21) /* SYS_ADMIN */ | AG_CAP(22) /* SYS_BOOT */ | AG_CAP(23) /* SYS_NICE */ |    \
	 AG_CAP(24) /* SYS_RESOURCE */ | AG_CAP(25) /* SYS_TIME */ |                           \
	 AG_CAP(26) /* SYS_TTY_CONFIG */ | AG_CAP(27) /* MKNOD */ |                           \
	 AG_CAP(29) /* AUDIT_WRITE */ | AG_CAP(30) /* AUDIT_CONTROL */ |                        \
	 AG_CAP(32) /* MAC_OVERRIDE */ | AG_CAP(33) /* MAC_ADMIN */ | AG_CAP(34) /* SYSLOG */ |  \
	 AG_CAP(35) /* WAKE_ALARM */ | AG_CAP(36) /* BLOCK_SUSPEND */ |                        \
	 AG_CAP(37) /* AUDIT_READ */ | AG_CAP(38) /* PERFMON */ | AG_CAP(39) /* BPF */ |       \
	 AG_CAP(40) /* CHECKPOINT_RESTORE */)


/* spec.unix allow tables, per generation (see the ABI header). */
struct ag_unix_path_inner {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(struct ag_inode_key));
	__uint(value_size, sizeof(__u32));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, AG_GENERATIONS);
	__type(key, __u32);
	__array(values, struct ag_unix_path_inner);
} ag_unix_path_gens SEC(".maps");

struct ag_unix_name_inner {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(struct ag_unix_name_key));
	__uint(value_size, sizeof(__u32));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, AG_GENERATIONS);
	__type(key, __u32);
	__array(values, struct ag_unix_name_inner);
} ag_unix_name_gens SEC(".maps");

/* ---- scope ----------------------------------------------------------------------------- */

/* The current task is in the sandbox subtree: copy the state for the decision. */
static __always_inline bool ag_current_governed(struct ag_state *st)
{
	return !ag_read_state(st) && ag_in_sandbox(st);
}

/*
 * Is cgroup cg the sandbox root or below it? Climbs from cg to the sandbox's level through the
 * kernfs parents and compares that ancestor's id. Reads with BPF_CORE_READ: cg may come from a
 * void * (kernfs priv), which 6.1's verifier cannot type.
 */
static __always_inline bool ag_cgroup_governed(const struct cgroup *cg, const struct ag_state *st)
{
	struct kernfs_node *kn;
	int level, steps, i;

	if (!cg)
		return false;
	level = BPF_CORE_READ(cg, level);
	steps = level - (int)st->sandbox_level;
	if (steps < 0 || steps > AG_MAX_SANDBOX_DEPTH)
		return false;
	kn = BPF_CORE_READ(cg, kn);
	for (i = 0; i < AG_MAX_SANDBOX_DEPTH; i++) {
		if (i >= steps || !kn)
			break;
		kn = BPF_CORE_READ(kn, parent);
	}
	return kn && BPF_CORE_READ(kn, id) == st->sandbox_cgid;
}

static __always_inline bool ag_task_governed(struct task_struct *t, const struct ag_state *st)
{
	return t && ag_cgroup_governed(t->cgroups->dfl_cgrp, st);
}

static __always_inline __u64 ag_task_cgid(struct task_struct *t)
{
	return t ? t->cgroups->dfl_cgrp->kn->id : 0;
}

/* ---- events ---------------------------------------------------------------------------- */

/* lsm: called from an LSM program (a constant): only those can read the task's ag_proc. */
static __always_inline void ag_contain_event(const struct ag_state *st, __u32 op, __u32 rule,
					     __s64 arg0, __s64 arg1, __u64 target_cgid,
					     const char *name_kernel, bool lsm)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct ag_event_contain *e;
	struct ag_fold_id id = { .kind = AG_EV_CONTAINMENT, .op = op,
				 .rule = AG_RULE_BUILTIN | rule, .pid = pid };
	__u64 kseq, sig, name[8] = {};
	struct ag_fold *f;
	long repeats;

	ag_count_decision(AG_EV_CONTAINMENT, AG_DENY);
	/* Identical: the same operation on the same target and name by the same process/image. */
	if (name_kernel)
		bpf_probe_read_kernel_str(name, sizeof(name), name_kernel);
	id.a = ag_mix(ag_mix(arg0, arg1), target_cgid);
	id.b = ag_mix(ag_mix(ag_mix(ag_mix(name[0], name[1]), ag_mix(name[2], name[3])),
			     ag_mix(name[4], name[5])), ag_mix(name[6], name[7]));
	id.exec_id = task->self_exec_id;
	repeats = ag_admit(st, &id, AG_DENY, &f, &sig);
	if (repeats < 0)
		return;
	kseq = ag_next_kseq();
	/* Ring full: the denial still happens; the drop is counted for a loss event. */
	e = ag_event_reserve(sizeof(*e), AG_DENY, AG_EV_CONTAINMENT, AG_RULE_BUILTIN | rule);
	if (!e) {
		ag_unadmit(f, repeats);
		return;
	}
	ag_fill_hdr(&e->hdr, kseq, AG_EV_CONTAINMENT, op, AG_DENY, AG_RULE_BUILTIN | rule, st);
	ag_admitted(&e->hdr, sig, repeats);
	e->hdr.ppid = task->real_parent->tgid;
	if (lsm)
		ag_fill_proc(&e->hdr);
	e->arg0 = arg0;
	e->arg1 = arg1;
	e->target_cgid = target_cgid;
	__builtin_memcpy(e->name, name, sizeof(e->name));
	e->name[sizeof(e->name) - 1] = '\0';
	bpf_ringbuf_submit(e, 0);
}

/* Deny, report, return -EPERM: the common tail of every containment hook. */
static __always_inline int ag_contain_deny(const struct ag_state *st, __u32 op, __u32 rule,
					   __s64 arg0, __s64 arg1, __u64 target_cgid,
					   const char *name_kernel)
{
	ag_contain_event(st, op, rule, arg0, arg1, target_cgid, name_kernel, true);
	return -EPERM;
}

/* ---- capabilities ---------------------------------------------------------------------- */

SEC("lsm/capable")
int BPF_PROG(ag_capable, const struct cred *cred, struct user_namespace *ns, int cap,
	     unsigned int opts, int ret)
{
	struct ag_state st;

	if (ret)
		return ret;
	if (cap < 0 || cap > 63 || !(AG_CAPS_DENIED & AG_CAP(cap)))
		return 0;
	if (!ag_current_governed(&st))
		return 0;
	/* Probes (ns_capable_noaudit) are denied without an event: they are not attempts. */
	if (opts & CAP_OPT_NOAUDIT)
		return -EPERM;
	return ag_contain_deny(&st, AG_OP_CAPABLE, AG_BR_CAPABILITY, cap, 0, 0, NULL);
}

/* ---- the cgroup boundary --------------------------------------------------------------- */

/* Equal NUL-terminated strings within 24 bytes (BPF has no memcmp). */
static __always_inline bool ag_streq24(const char *a, const char *b)
{
	int i;

	for (i = 0; i < 24; i++) {
		if (a[i] != b[i])
			return false;
		if (!a[i])
			return true;
	}
	return false;
}

/* Sandbox-root files the agent may write: moving its own processes, delegating controllers. */
static __always_inline bool ag_root_file_writable(const char *name)
{
	char n[24] = {};

	bpf_probe_read_kernel_str(n, sizeof(n), name);
	return ag_streq24(n, "cgroup.procs") || ag_streq24(n, "cgroup.threads") ||
	       ag_streq24(n, "cgroup.subtree_control");
}

/*
 * A write to a cgroup v2 interface file or directory. Allowed strictly below the sandbox root
 * (the agent's own cgroups), and on the sandbox root only for moving processes and delegating;
 * never on the root's limits and never outside. Migration checks write access to the common
 * ancestor's cgroup.procs through this hook, so pulling an outside process in or clone3 into
 * an outside cgroup is denied here too.
 */
static __always_inline int ag_cgroup_write(const struct ag_state *st, struct inode *inode)
{
	struct kernfs_node *kn = inode->i_private, *dir;
	struct cgroup *cg;
	__u64 dir_id;

	/* No kernfs node: cannot tell which cgroup. Fail closed. */
	if (!kn)
		return ag_contain_deny(st, AG_OP_CGROUP_WRITE, AG_BR_CGROUP, 0, 0, 0, NULL);
	dir = (BPF_CORE_READ(kn, flags) & KERNFS_TYPE_MASK) == KERNFS_DIR ? kn :
										BPF_CORE_READ(kn, parent);
	cg = dir ? BPF_CORE_READ(dir, priv) : NULL;
	dir_id = dir ? BPF_CORE_READ(dir, id) : 0;
	if (ag_cgroup_governed(cg, st)) {
		if (dir_id != st->sandbox_cgid || dir == kn ||
		    ag_root_file_writable(BPF_CORE_READ(kn, name)))
			return 0;
	}
	return ag_contain_deny(st, AG_OP_CGROUP_WRITE, AG_BR_CGROUP, 0, 0, dir_id,
			       BPF_CORE_READ(kn, name));
}

/* Kernel interfaces no sandbox task may write; bpffs it may not even read. */
static __always_inline bool ag_pseudofs_denied(unsigned long magic, int mask)
{
	if (magic == BPF_FS_MAGIC)
		return true;
	if (!(mask & (MAY_WRITE | MAY_APPEND)))
		return false;
	return magic == PROC_SUPER_MAGIC || magic == SYSFS_MAGIC || magic == DEBUGFS_MAGIC ||
	       magic == TRACEFS_MAGIC || magic == SECURITYFS_MAGIC || magic == 0x62656570 /* configfs */ ||
	       magic == EFIVARFS_MAGIC || magic == PSTOREFS_MAGIC || magic == BINFMTFS_MAGIC;
}

SEC("lsm/inode_permission")
int BPF_PROG(ag_inode_permission, struct inode *inode, int mask, int ret)
{
	struct ag_inode_key key;
	unsigned long magic;
	struct ag_state st;

	if (ret)
		return ret;
	/*
	 * Hot path (every open and path walk): reads matter only on bpffs, so they leave after
	 * one field load, before the sandbox check.
	 */
	magic = inode->i_sb->s_magic;
	if (!(mask & (MAY_WRITE | MAY_APPEND)) && magic != BPF_FS_MAGIC)
		return 0;
	if (!ag_current_governed(&st))
		return 0;
	if (magic == CGROUP2_SUPER_MAGIC && (mask & (MAY_WRITE | MAY_APPEND)))
		return ag_cgroup_write(&st, inode);
	if (magic == CGROUP_SUPER_MAGIC_V1 && (mask & (MAY_WRITE | MAY_APPEND)))
		return ag_contain_deny(&st, AG_OP_CGROUP_WRITE, AG_BR_CGROUP, 1, 0, 0, NULL);
	if (ag_pseudofs_denied(magic, mask))
		return ag_contain_deny(&st, AG_OP_PSEUDOFS_WRITE, AG_BR_PSEUDOFS, magic, mask, 0,
				       NULL);
	if (!(mask & (MAY_WRITE | MAY_APPEND)))
		return 0;
	key.dev = inode->i_sb->s_dev;
	key.ino = inode->i_ino;
	if (bpf_map_lookup_elem(&ag_protected, &key))
		return ag_contain_deny(&st, AG_OP_PROTECTED_WRITE, AG_BR_PROTECTED, key.dev,
				       key.ino, 0, NULL);
	return 0;
}

/* Unlinking or renaming agentguard's files needs no write access to them, only to the dir. */
static __always_inline int ag_protected_dentry_op(struct dentry *d, __u32 op)
{
	struct ag_inode_key key;
	struct ag_state st;
	struct inode *inode;

	if (!d || !(inode = d->d_inode))
		return 0;
	key.dev = inode->i_sb->s_dev;
	key.ino = inode->i_ino;
	if (!bpf_map_lookup_elem(&ag_protected, &key))
		return 0;
	if (!ag_current_governed(&st))
		return 0;
	return ag_contain_deny(&st, op, AG_BR_PROTECTED, key.dev, key.ino, 0, NULL);
}

static __always_inline int ag_protected_dentry(struct dentry *d)
{
	return ag_protected_dentry_op(d, AG_OP_PROTECTED_UNLINK);
}

/*
 * truncate(2), chmod and chown change a file without opening it, so neither file_open nor
 * inode_permission on a protected directory sees them: refused for protected files and for
 * the files of a protected directory (the state directory's seq and status.json).
 */
static __always_inline int ag_protected_path_change(const struct path *path)
{
	struct dentry *d = path->dentry;
	int ret;

	ret = ag_protected_dentry_op(d, AG_OP_PROTECTED_WRITE);
	if (ret)
		return ret;
	return ag_protected_dentry_op(d->d_parent, AG_OP_PROTECTED_WRITE);
}

SEC("lsm/path_truncate")
int BPF_PROG(ag_path_truncate, const struct path *path, int ret)
{
	if (ret)
		return ret;
	return ag_protected_path_change(path);
}

SEC("lsm/path_chmod")
int BPF_PROG(ag_path_chmod, const struct path *path, umode_t mode, int ret)
{
	if (ret)
		return ret;
	return ag_protected_path_change(path);
}

/* kuid_t and kgid_t are one-word structs: BPF_PROG takes them as plain words. */
SEC("lsm/path_chown")
int BPF_PROG(ag_path_chown, const struct path *path, __u64 uid, __u64 gid, int ret)
{
	if (ret)
		return ret;
	return ag_protected_path_change(path);
}

SEC("lsm/inode_unlink")
int BPF_PROG(ag_inode_unlink, struct inode *dir, struct dentry *dentry, int ret)
{
	if (ret)
		return ret;
	return ag_protected_dentry(dentry);
}

/*
 * A hard link to a file of a protected directory (the state directory) would be a second path
 * to it, outside that directory: refused, like a link to a protected file itself.
 */
SEC("lsm/inode_link")
int BPF_PROG(ag_inode_link, struct dentry *old_dentry, struct inode *dir, struct dentry *new_dentry,
	     int ret)
{
	if (ret)
		return ret;
	ret = ag_protected_dentry(old_dentry);
	if (ret)
		return ret;
	return ag_protected_dentry(old_dentry->d_parent);
}

/* Also counts every rename attempt, by any task, first (ag_fs_changes in common.bpf.h). */
SEC("lsm/inode_rename")
int BPF_PROG(ag_inode_rename, struct inode *old_dir, struct dentry *old_dentry,
	     struct inode *new_dir, struct dentry *new_dentry, int ret)
{
	ag_count_fs_change();
	if (ret)
		return ret;
	ret = ag_protected_dentry(old_dentry);
	if (ret)
		return ret;
	/* Renaming over a protected file replaces it. */
	return ag_protected_dentry(new_dentry);
}

/*
 * Copy the forking task's ag_proc into the new task's storage (proc.bpf.c explains the
 * record). The new task's storage pointer is cleared before security_task_alloc runs
 * (copy_process), so this creates a fresh one. Without memory the child's events say unknown.
 */
static __always_inline void ag_inherit_proc(struct task_struct *child)
{
	struct ag_proc *src = ag_task_proc(bpf_get_current_task_btf()), *dst;

	if (!src)
		return;
	dst = bpf_task_storage_get(&ag_procs, child, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (dst)
		__builtin_memcpy(dst, src, sizeof(*dst));
}

SEC("lsm/task_alloc")
int BPF_PROG(ag_task_alloc, struct task_struct *task, unsigned long clone_flags, int ret)
{
	struct ag_state st;

	if (ret)
		return ret;
	if (!ag_current_governed(&st))
		return 0;
	/* The child runs its parent's image until it execs: it inherits its ag_proc now. */
	ag_inherit_proc(task);
	/* task_alloc cannot see the target cgroup, so the flag is refused outright. */
	if (!(clone_flags & CLONE_INTO_CGROUP))
		return 0;
	return ag_contain_deny(&st, AG_OP_CLONE_INTO_CGROUP, AG_BR_CGROUP, clone_flags, 0, 0,
			       NULL);
}

/* ---- namespaces and mounts ------------------------------------------------------------- */

#define AG_DENY_IN_SANDBOX(op, rule)                                        \
	do {                                                                \
		struct ag_state st;                                         \
		if (ret)                                                    \
			return ret;                                         \
		if (!ag_current_governed(&st))                              \
			return 0;                                           \
		return ag_contain_deny(&st, op, rule, 0, 0, 0, NULL);        \
	} while (0)

SEC("lsm/userns_create")
int BPF_PROG(ag_userns_create, const struct cred *cred, int ret)
{
	AG_DENY_IN_SANDBOX(AG_OP_USERNS, AG_BR_NAMESPACE);
}

/*
 * The mount hooks also count every attempt, by any task, first (ag_fs_changes in
 * common.bpf.h): file_open's allow cache must see a mount change even after 2^31 more.
 */
SEC("lsm/sb_mount")
int BPF_PROG(ag_sb_mount, const char *dev_name, const struct path *path, const char *type,
	     unsigned long flags, void *data, int ret)
{
	struct ag_state st;

	ag_count_fs_change();
	if (ret)
		return ret;
	if (!ag_current_governed(&st))
		return 0;
	return ag_contain_deny(&st, AG_OP_MOUNT, AG_BR_MOUNT, flags, 0, 0, type);
}

SEC("lsm/move_mount")
int BPF_PROG(ag_move_mount, const struct path *from, const struct path *to, int ret)
{
	ag_count_fs_change();
	AG_DENY_IN_SANDBOX(AG_OP_MOVE_MOUNT, AG_BR_MOUNT);
}

SEC("lsm/sb_pivotroot")
int BPF_PROG(ag_sb_pivotroot, const struct path *old, const struct path *new, int ret)
{
	ag_count_fs_change();
	AG_DENY_IN_SANDBOX(AG_OP_PIVOT_ROOT, AG_BR_MOUNT);
}

SEC("lsm/path_chroot")
int BPF_PROG(ag_path_chroot, const struct path *path, int ret)
{
	AG_DENY_IN_SANDBOX(AG_OP_CHROOT, AG_BR_MOUNT);
}

SEC("lsm/sb_umount")
int BPF_PROG(ag_sb_umount, struct vfsmount *mnt, int flags, int ret)
{
	ag_count_fs_change();
	AG_DENY_IN_SANDBOX(AG_OP_UMOUNT, AG_BR_MOUNT);
}

/* ---- the kernel itself ----------------------------------------------------------------- */

SEC("lsm/kernel_module_request")
int BPF_PROG(ag_kmod_request, char *kmod_name, int ret)
{
	struct ag_state st;

	if (ret)
		return ret;
	if (!ag_current_governed(&st))
		return 0;
	return ag_contain_deny(&st, AG_OP_MODULE_REQUEST, AG_BR_KERNEL, 0, 0, 0, kmod_name);
}

SEC("lsm/kernel_read_file")
int BPF_PROG(ag_kernel_read_file, struct file *file, enum kernel_read_file_id id, bool contents,
	     int ret)
{
	struct ag_state st;

	if (ret)
		return ret;
	if (!ag_current_governed(&st))
		return 0;
	return ag_contain_deny(&st, AG_OP_KERNEL_READ_FILE, AG_BR_KERNEL, id, 0, 0, NULL);
}

SEC("lsm/kernel_load_data")
int BPF_PROG(ag_kernel_load_data, enum kernel_load_data_id id, bool contents, int ret)
{
	struct ag_state st;

	if (ret)
		return ret;
	if (!ag_current_governed(&st))
		return 0;
	return ag_contain_deny(&st, AG_OP_KERNEL_LOAD_DATA, AG_BR_KERNEL, id, 0, 0, NULL);
}

SEC("lsm/bpf")
int BPF_PROG(ag_bpf, int cmd, union bpf_attr *attr, unsigned int size, int ret)
{
	struct ag_state st;

	if (ret)
		return ret;
	if (!ag_current_governed(&st))
		return 0;
	return ag_contain_deny(&st, AG_OP_BPF, AG_BR_BPF, cmd, 0, 0, NULL);
}

SEC("lsm/perf_event_open")
int BPF_PROG(ag_perf_event_open, struct perf_event_attr *attr, int type, int ret)
{
	struct ag_state st;

	if (ret)
		return ret;
	if (!ag_current_governed(&st))
		return 0;
	return ag_contain_deny(&st, AG_OP_PERF_EVENT, AG_BR_PERF, type, 0, 0, NULL);
}

/* ---- processes outside the sandbox ------------------------------------------------------ */

SEC("lsm/ptrace_access_check")
int BPF_PROG(ag_ptrace_access_check, struct task_struct *child, unsigned int mode, int ret)
{
	struct ag_state st;

	if (ret)
		return ret;
	if (!ag_current_governed(&st) || ag_task_governed(child, &st))
		return 0;
	/* ps and /proc readers probe every process: deny quietly, they are not attempts. */
	if (mode & PTRACE_MODE_NOAUDIT)
		return -EPERM;
	return ag_contain_deny(&st, AG_OP_PTRACE, AG_BR_PROCESS, mode, child->tgid,
			       ag_task_cgid(child), NULL);
}

SEC("lsm/task_kill")
int BPF_PROG(ag_task_kill, struct task_struct *p, struct kernel_siginfo *info, int sig,
	     const struct cred *cred, int ret)
{
	struct ag_state st;

	if (ret)
		return ret;
	if (!ag_current_governed(&st) || ag_task_governed(p, &st))
		return 0;
	return ag_contain_deny(&st, AG_OP_SIGNAL, AG_BR_PROCESS, sig, p->tgid, ag_task_cgid(p),
			       NULL);
}

SEC("lsm/file_send_sigiotask")
int BPF_PROG(ag_file_send_sigiotask, struct task_struct *tsk, struct fown_struct *fown, int sig,
	     int ret)
{
	struct ag_state st;

	if (ret)
		return ret;
	if (!ag_current_governed(&st) || ag_task_governed(tsk, &st))
		return 0;
	return ag_contain_deny(&st, AG_OP_SIGIO, AG_BR_PROCESS, sig, tsk->tgid, ag_task_cgid(tsk),
			       NULL);
}

/*
 * F_SETOWN directs SIGIO/SIGURG at a process or group. 6.1 cannot look a pid up from BPF, so a
 * sandbox task may name only itself (or nobody); F_SETOWN_EX is refused.
 */
SEC("lsm/file_fcntl")
int BPF_PROG(ag_file_fcntl, struct file *file, unsigned int cmd, unsigned long arg, int ret)
{
	struct ag_state st;
	long owner = (long)(int)arg;

	if (ret)
		return ret;
	/* O_ASYNC makes a tty signal its foreground group, which may be outside: refused. */
	if (cmd != F_SETOWN && cmd != F_SETOWN_EX && !(cmd == F_SETFL && (arg & AG_O_ASYNC)))
		return 0;
	if (!ag_current_governed(&st))
		return 0;
	if (cmd == F_SETOWN && (owner == 0 || owner == (long)(bpf_get_current_pid_tgid() >> 32)))
		return 0;
	return ag_contain_deny(&st, AG_OP_SETOWN, AG_BR_PROCESS, cmd, owner, 0, NULL);
}

/*
 * ioctls that aim signals or input at other processes, refused for sandbox tasks: setting a
 * SIGIO owner (FIOSETOWN, SIOCSPGRP) or turning SIGIO on (FIOASYNC: a tty then signals its
 * foreground group, possibly outside), faking terminal input (TIOCSTI, TIOCLINUX) and moving
 * a terminal's foreground group (TIOCSPGRP). Both entry points: a 32-bit ioctl() from a 64-bit
 * process (int $0x80) runs file_ioctl_compat, not file_ioctl.
 */
static __always_inline int ag_ioctl(unsigned int cmd)
{
	struct ag_state st;

	if (cmd != FIOSETOWN && cmd != SIOCSPGRP && cmd != FIOASYNC && cmd != TIOCSTI &&
	    cmd != TIOCSPGRP && cmd != TIOCLINUX)
		return 0;
	if (!ag_current_governed(&st))
		return 0;
	return ag_contain_deny(&st, AG_OP_SETOWN, AG_BR_PROCESS, cmd, 0, 0, NULL);
}

SEC("lsm/file_ioctl")
int BPF_PROG(ag_file_ioctl, struct file *file, unsigned int cmd, unsigned long arg, int ret)
{
	return ret ? ret : ag_ioctl(cmd);
}

SEC("lsm/file_ioctl_compat")
int BPF_PROG(ag_file_ioctl_compat, struct file *file, unsigned int cmd, unsigned long arg,
	     int ret)
{
	return ret ? ret : ag_ioctl(cmd);
}

/*
 * Changing another process's limits, priority, scheduling, memory placement or group: for
 * processes outside the sandbox (agentguard included) these are denied. Lowering a process's
 * RLIMIT_CPU makes the kernel kill it with a signal task_kill never sees.
 */
static __always_inline int ag_task_change(struct task_struct *p, __u32 what)
{
	struct ag_state st;

	if (!ag_current_governed(&st) || ag_task_governed(p, &st))
		return 0;
	return ag_contain_deny(&st, AG_OP_TASK_CHANGE, AG_BR_PROCESS, what, p ? p->tgid : 0,
			       ag_task_cgid(p), NULL);
}

SEC("lsm/task_setrlimit")
int BPF_PROG(ag_task_setrlimit, struct task_struct *p, unsigned int resource,
	     struct rlimit *new_rlim, int ret)
{
	return ret ? ret : ag_task_change(p, AG_TASK_RLIMIT);
}

SEC("lsm/task_setnice")
int BPF_PROG(ag_task_setnice, struct task_struct *p, int nice, int ret)
{
	return ret ? ret : ag_task_change(p, AG_TASK_NICE);
}

SEC("lsm/task_setioprio")
int BPF_PROG(ag_task_setioprio, struct task_struct *p, int ioprio, int ret)
{
	return ret ? ret : ag_task_change(p, AG_TASK_IOPRIO);
}

SEC("lsm/task_setscheduler")
int BPF_PROG(ag_task_setscheduler, struct task_struct *p, int ret)
{
	return ret ? ret : ag_task_change(p, AG_TASK_SCHEDULER);
}

SEC("lsm/task_movememory")
int BPF_PROG(ag_task_movememory, struct task_struct *p, int ret)
{
	return ret ? ret : ag_task_change(p, AG_TASK_MOVE_MEMORY);
}

SEC("lsm/task_setpgid")
int BPF_PROG(ag_task_setpgid, struct task_struct *p, pid_t pgid, int ret)
{
	return ret ? ret : ag_task_change(p, AG_TASK_PGID);
}

/* ---- unix sockets and passed-in fds ------------------------------------------------------ */

static __always_inline bool ag_sock_governed(struct sock *sk, const struct ag_state *st)
{
	return sk && ag_cgroup_governed(BPF_CORE_READ(sk, sk_cgrp_data.cgroup), st);
}

static __always_inline __u64 ag_sock_cgid(struct sock *sk)
{
	return sk ? BPF_CORE_READ(sk, sk_cgrp_data.cgroup, kn, id) : 0;
}

/*
 * Does the policy let the sandbox reach this unix socket although its owner is outside?
 * Pathname sockets match on the socket file's inode, abstract ones on their exact name.
 * Fail mode: no table or an unreadable address means not allowed.
 */
static __always_inline bool ag_unix_allowed(const struct ag_state *st, struct sock *sk)
{
	struct ag_unix_name_key nk = {};
	struct ag_inode_key ik = {};
	struct unix_address *addr;
	struct unix_sock *u;
	struct dentry *d;
	__u32 gen = ag_state_slot(st);
	void *tab;
	int len;

	/* 6.12 types sk as trusted-or-NULL and wants the check before the helper. */
	if (!sk)
		return false;
	u = bpf_skc_to_unix_sock(sk);
	if (!u)
		return false;
	d = u->path.dentry;
	if (d && d->d_inode) {
		ik.dev = d->d_inode->i_sb->s_dev;
		ik.ino = d->d_inode->i_ino;
		tab = bpf_map_lookup_elem(&ag_unix_path_gens, &gen);
		return tab && bpf_map_lookup_elem(tab, &ik);
	}
	addr = u->addr;
	if (!addr)
		return false;
	/* sockaddr_un: 2 bytes of family, then a NUL and the abstract name. */
	len = addr->len - 3;
	if (len <= 0 || len > AG_UNIX_NAME_MAX)
		return false;
	nk.len = len;
	if (bpf_probe_read_kernel(nk.name, len, (char *)&addr->name[0].sun_path[1]))
		return false;
	tab = bpf_map_lookup_elem(&ag_unix_name_gens, &gen);
	return tab && bpf_map_lookup_elem(tab, &nk);
}

/* The peer (a listener, or a datagram socket) must live in the sandbox or be allowed. */
SEC("lsm/unix_stream_connect")
int BPF_PROG(ag_unix_stream_connect, struct sock *sock, struct sock *other, struct sock *newsk,
	     int ret)
{
	struct ag_state st;

	if (ret)
		return ret;
	if (!ag_current_governed(&st) || ag_sock_governed(other, &st) || ag_unix_allowed(&st, other))
		return 0;
	return ag_contain_deny(&st, AG_OP_UNIX_CONNECT, AG_BR_UNIX, 0, 0, ag_sock_cgid(other),
			       NULL);
}

SEC("lsm/unix_may_send")
int BPF_PROG(ag_unix_may_send, struct socket *sock, struct socket *other, int ret)
{
	struct ag_state st;

	if (ret)
		return ret;
	if (!ag_current_governed(&st) ||
	    (other && (ag_sock_governed(other->sk, &st) || ag_unix_allowed(&st, other->sk))))
		return 0;
	return ag_contain_deny(&st, AG_OP_UNIX_SEND, AG_BR_UNIX, 0, 0,
			       other ? ag_sock_cgid(other->sk) : 0, NULL);
}

/*
 * An fd arriving by SCM_RIGHTS or pidfd_getfd. A socket made outside the sandbox would be
 * judged by the cgroup hooks as the outside cgroup's: refused. Files are judged by file_open's
 * rules in file.bpf.c (ag_file_receive there); this hook only handles sockets.
 */
SEC("lsm/file_receive")
int BPF_PROG(ag_sock_receive, struct file *file, int ret)
{
	struct socket *sock;
	struct sock *sk;
	struct ag_state st;

	if (ret)
		return ret;
	if ((file->f_inode->i_mode & S_IFMT) != S_IFSOCK)
		return 0;
	if (!ag_current_governed(&st))
		return 0;
	/* private_data is a void *: read the socket's fields with BPF_CORE_READ. */
	sock = file->private_data;
	sk = sock ? BPF_CORE_READ(sock, sk) : NULL;
	if (ag_sock_governed(sk, &st))
		return 0;
	return ag_contain_deny(&st, AG_OP_FD_RECEIVE, AG_BR_FD_RECEIVE, 1, 0, ag_sock_cgid(sk),
			       NULL);
}

/* ---- socket types ------------------------------------------------------------------------ */

#define AG_AF_UNIX	1	/* uapi socket.h */
#define AG_AF_INET	2
#define AG_AF_INET6	10
#define AG_AF_NETLINK	16
#define AG_SOCK_STREAM	1
#define AG_SOCK_DGRAM	2
#define AG_IPPROTO_TCP	6
#define AG_IPPROTO_UDP	17
#define AG_NETLINK_ROUTE 0

/*
 * The sockets a sandbox may create: TCP and UDP over IPv4/IPv6 (which the cgroup sock_addr
 * programs judge), unix sockets (judged by the unix hooks), and NETLINK_ROUTE, which libc's
 * getaddrinfo(AI_ADDRCONFIG) and "ip" read (changing routes needs CAP_NET_ADMIN, withheld).
 * Everything else is refused whatever network.default says: SCTP and MPTCP (no sock_addr hooks
 * of ours), UDP-Lite, ICMP ping sockets (a connect hook but no sendmsg hook), raw, packet,
 * vsock, AF_ALG, other netlink families. type arrives without SOCK_NONBLOCK/SOCK_CLOEXEC.
 */
static __always_inline bool ag_socket_allowed(int family, int type, int protocol)
{
	if (family == AG_AF_UNIX)
		return true;
	if (family == AG_AF_INET || family == AG_AF_INET6) {
		if (type == AG_SOCK_STREAM)
			return protocol == 0 || protocol == AG_IPPROTO_TCP;
		if (type == AG_SOCK_DGRAM)
			return protocol == 0 || protocol == AG_IPPROTO_UDP;
		return false;
	}
	return family == AG_AF_NETLINK && protocol == AG_NETLINK_ROUTE;
}

SEC("lsm/socket_create")
int BPF_PROG(ag_socket_create, int family, int type, int protocol, int kern, int ret)
{
	struct ag_state st;

	if (ret)
		return ret;
	/* Sockets the kernel makes for itself are not the sandbox's. */
	if (kern || ag_socket_allowed(family, type, protocol))
		return 0;
	if (!ag_current_governed(&st))
		return 0;
	return ag_contain_deny(&st, AG_OP_SOCKET_CREATE, AG_BR_SOCKET_TYPE, family,
			       ((__s64)type << 16) | (protocol & 0xffff), 0, NULL);
}

/*
 * The source-routing socket options, refused so the caller learns why (net.bpf.c's ag_egress
 * drops such packets anyway, however the header was set): IP_OPTIONS, IPV6_RTHDR, and RFC 2292's
 * IPV6_2292RTHDR and IPV6_2292PKTOPTIONS (which can carry a routing header among its cmsgs).
 */
#define AG_SOL_IP		0
#define AG_SOL_IPV6		41
#define AG_IP_OPTIONS		4
#define AG_IPV6_2292RTHDR	5
#define AG_IPV6_2292PKTOPTIONS	6
#define AG_IPV6_RTHDR		57

SEC("lsm/socket_setsockopt")
int BPF_PROG(ag_socket_setsockopt, struct socket *sock, int level, int optname, int ret)
{
	struct ag_state st;

	if (ret)
		return ret;
	if (!(level == AG_SOL_IP && optname == AG_IP_OPTIONS) &&
	    !(level == AG_SOL_IPV6 && (optname == AG_IPV6_RTHDR || optname == AG_IPV6_2292RTHDR ||
				       optname == AG_IPV6_2292PKTOPTIONS)))
		return 0;
	if (!ag_current_governed(&st))
		return 0;
	return ag_contain_deny(&st, AG_OP_SETSOCKOPT, AG_BR_SOURCE_ROUTE, level, optname, 0, NULL);
}

/* ---- devices and sysctls (cgroup programs on the sandbox cgroup) ------------------------- */

/*
 * Devices the sandbox may open or mknod: null, zero, full, random, urandom (1:3,5,7,8,9),
 * tty and ptmx (5:0, 5:2), pty slaves (136-143:*). No block device at all.
 */
SEC("cgroup/dev")
int ag_device(struct bpf_cgroup_dev_ctx *ctx)
{
	__u32 type = ctx->access_type & 0xffff, major = ctx->major, minor = ctx->minor;
	struct ag_state st;

	if (type == AG_DEVCG_DEV_CHAR) {
		if (major == 1 && (minor == 3 || minor == 5 || minor == 7 || minor == 8 || minor == 9))
			return 1;
		if (major == 5 && (minor == 0 || minor == 2))
			return 1;
		if (major >= 136 && major <= 143)
			return 1;
	}
	if (!ag_read_state(&st))
		ag_contain_event(&st, AG_OP_DEVICE, AG_BR_DEVICE, major, minor, 0,
				 type == AG_DEVCG_DEV_BLOCK ? "block" : "char", false);
	return 0;
}

/* sysctls: read, never write (core_pattern, modprobe, ... run as root outside the sandbox). */
SEC("cgroup/sysctl")
int ag_sysctl(struct bpf_sysctl *ctx)
{
	const __u32 rule = AG_RULE_BUILTIN | AG_BR_SYSCTL;
	struct ag_fold_id id = { .kind = AG_EV_CONTAINMENT, .op = AG_OP_SYSCTL_WRITE,
				 .rule = rule, .pid = bpf_get_current_pid_tgid() >> 32 };
	struct ag_event_contain *e;
	struct ag_state st;
	struct ag_fold *f;
	__u64 kseq, sig, name[8] = {};
	long repeats;

	if (!ctx->write)
		return 1;
	if (ag_read_state(&st))
		return 0;
	/* Identical: the same sysctl (its name, first 64 bytes) by the same process. */
	if (bpf_sysctl_get_name(ctx, (char *)name, sizeof(name), 0) < 0)
		name[0] = 0;
	id.a = ag_mix(ag_mix(ag_mix(name[0], name[1]), name[2]), name[3]);
	id.b = ag_mix(ag_mix(ag_mix(name[4], name[5]), name[6]), name[7]);
	repeats = ag_admit(&st, &id, AG_DENY, &f, &sig);
	if (repeats < 0)
		return 0;
	kseq = ag_next_kseq();
	e = ag_event_reserve(sizeof(*e), AG_DENY, AG_EV_CONTAINMENT, rule);
	if (!e)
		ag_unadmit(f, repeats);
	if (e) {
		ag_fill_hdr(&e->hdr, kseq, AG_EV_CONTAINMENT, AG_OP_SYSCTL_WRITE, AG_DENY, rule, &st);
		ag_admitted(&e->hdr, sig, repeats);
		e->arg0 = e->arg1 = 0;
		e->target_cgid = 0;
		__builtin_memcpy(e->name, name, sizeof(e->name));
		e->name[sizeof(e->name) - 1] = '\0';
		bpf_ringbuf_submit(e, 0);
	}
	return 0;
}
