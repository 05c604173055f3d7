/* SPDX-License-Identifier: GPL-2.0 */
/* cgroup v2 helpers: where it is mounted, and a cgroup's id and level. */
#ifndef AG_CGROUP_H
#define AG_CGROUP_H

#include <stddef.h>
#include <linux/types.h>

struct ag_cgroup {
	int fd;			/* O_DIRECTORY fd of the cgroup, or -1 */
	__u64 id;		/* kernfs id, as bpf_get_current_cgroup_id() returns it */
	__u32 level;		/* the cgroup2 root is 0 */
	char path[4096];	/* absolute path on this host */
	char rel[4096];		/* path below the cgroup2 mount, "/a/b" */
	int created;		/* 1 if ag_cgroup_open made it */
};

/*
 * If this process lives in the sandbox's parent cgroup (a systemd service with Delegate=yes
 * whose sandbox is a child of its own cgroup), move it to a sibling leaf, agentguard-daemon:
 * a cgroup with processes cannot hand controllers to its children ("no internal processes").
 */
int ag_cgroup_leave_parent_of(const struct ag_cgroup *sandbox);

/* The cgroup2 mount point from /proc/self/mountinfo (never assumed). 0 or -ENOENT. */
int ag_cgroup2_mount(char *buf, size_t len);
/* Open (and with create, make) the cgroup at path, which must be on the cgroup2 mount. */
int ag_cgroup_open(const char *path, int create, struct ag_cgroup *cg);
void ag_cgroup_close(struct ag_cgroup *cg);
/* Write value to cg's interface file name (e.g. "cgroup.max.depth"). */
int ag_cgroup_write(const struct ag_cgroup *cg, const char *name, const char *value);
/*
 * Write value to the file name under dirfd (AT_FDCWD: a path) in one write(2), as cgroup and
 * /proc/sys files want it. 0 or -errno (-EIO: written short).
 */
int ag_write_at(int dirfd, const char *name, const char *value);

struct ag_limits;
/*
 * Enable the memory, pids and cpu controllers for cg (in its parent's cgroup.subtree_control)
 * and write its limits; lim's unset fields take the defaults. On error, *failed names the
 * file that could not be written.
 */
int ag_cgroup_apply_limits(const struct ag_cgroup *cg, const struct ag_limits *lim,
			   const char **failed);
/*
 * The controllers ag_cgroup_apply_limits needs (memory, pids, cpu) that the cgroup2 hierarchy
 * does not offer in dir (its cgroup.controllers): "" when all are there, else "memory, pids"
 * and so on (a hybrid layout keeps them on cgroup v1). 0 or -errno.
 */
int ag_cgroup_missing_controllers(const char *dir, char *missing, size_t len);
/*
 * Kill everything in the cgroup at path and below (cgroup.kill) and wait up to 10 s until the
 * subtree is empty (cgroup.events: populated 0).
 * 0, -ENOENT if path does not exist, -EOPNOTSUPP if it exists without cgroup.kill (a kernel
 * before 5.14, or not a cgroup) and is not an empty cgroup, -EBUSY if it did not empty, or
 * -errno.
 */
int ag_cgroup_kill_wait(const char *path);
/*
 * ag_cgroup_kill_wait, then remove the cgroup, its child cgroups first, deepest first
 * (retrying while the kernel still says EBUSY for a process that is leaving). 0, also when path does not exist; else as ag_cgroup_kill_wait,
 * or rmdir's -errno.
 */
int ag_cgroup_destroy(const char *path);
/* Move process pid into cg (writes cgroup.procs). */
int ag_cgroup_enter(const struct ag_cgroup *cg, int pid);

#endif /* AG_CGROUP_H */
