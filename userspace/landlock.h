/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The filesystem section under Landlock (agentguard run --fallback landlock, for kernels
 * without BPF-LSM). Landlock only grants: a ruleset lists the accesses it handles, and each
 * rule grants some of them on a file or a directory and everything below it. So each entry of
 * the compiled table (compile.h) grants the classes its verdicts do not deny, and that is all
 * that can be said: a class the policy denies below an entry that grants it is not enforced.
 * Example: "/ rw" (or default: allow) with "/root/.ssh none" grants everything on "/", and
 * Landlock cannot take read back on /root/.ssh.
 *
 * ag_ll_plan, ag_ll_assess and ag_ll_writable need no kernel (tests/unit/test_landlock.c);
 * ag_ll_ruleset and ag_ll_restrict make the system calls.
 */
#ifndef AG_LANDLOCK_H
#define AG_LANDLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <linux/landlock.h>
#include "compile.h"

/* Newer than the uapi headers this builds against (Debian 12's are 6.1's). */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE		(1ULL << 14)	/* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV		(1ULL << 15)	/* ABI 5 */
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET	(1ULL << 0)	/* ABI 6 */
#define LANDLOCK_SCOPE_SIGNAL			(1ULL << 1)	/* ABI 6 */
#endif

/* The newest ABI this build knows; a newer kernel gets this one's ruleset. */
#define AG_LL_ABI_KNOWN 7

/* What Landlock allows on a regular file (the rest is about a directory's entries). */
#define AG_LL_FILE_ACCESS                                                                  \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |                       \
	 LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |                       \
	 LANDLOCK_ACCESS_FS_IOCTL_DEV)

/* One rule of the ruleset: what the compiled entry at path grants there and below. */
struct ag_ll_grant {
	const char *path;	/* borrowed from the compiled table */
	size_t entry;		/* its index in c->fs */
	__u32 classes;		/* AG_FS_WANT_* its verdicts do not deny (audit-mode ones too) */
	__u64 access;		/* LANDLOCK_ACCESS_FS_* for those classes at the plan's ABI */
	/* Set by ag_ll_ruleset: */
	int err;		/* 0 placed; -ENOENT, -ELOOP (a symlink on the way), ...: not */
	bool file;		/* not a directory: only AG_LL_FILE_ACCESS was granted */
};

struct ag_ll_plan {
	int abi;		/* the kernel's Landlock ABI */
	__u64 handled_fs;	/* every filesystem access this ABI restricts */
	__u64 scoped;		/* LANDLOCK_SCOPE_* (ABI 6): abstract unix sockets, signals */
	struct ag_ll_grant *grant;	/* sorted by path */
	size_t n_grant;
};

/* The filesystem accesses Landlock ABI abi handles: 13 in ABI 1, REFER from 2, TRUNCATE from
 * 3, IOCTL_DEV from 5. The network accesses of ABI 4 are left to the cgroup programs. */
__u64 ag_ll_handled_fs(int abi);
/*
 * The Landlock accesses that grant classes (AG_FS_WANT_*) at ABI abi. Read: READ_FILE,
 * READ_DIR. Write: WRITE_FILE, the REMOVE_* and MAKE_* rights, REFER, TRUNCATE. Exec: EXECUTE
 * (execve only). IOCTL_DEV goes with read or write: BPF-LSM judges a device's open, not its
 * ioctls.
 */
__u64 ag_ll_class_access(__u32 classes, int abi);
/* The plan for compiled policy c at ABI abi. 0 or -ENOMEM. */
int ag_ll_plan(const struct ag_compiled *c, int abi, struct ag_ll_plan *plan);
void ag_ll_plan_free(struct ag_ll_plan *plan);

/* What becomes of one filesystem rule's (or default's) decisions under the plan. */
enum ag_ll_status {
	AG_LL_NO_EFFECT = 0,	/* decides nothing: another layer decides everywhere */
	AG_LL_ENFORCED,		/* every access it denies stays denied */
	AG_LL_PARTIAL,		/* some of its denials are granted from above */
	AG_LL_UNENFORCED,	/* all of them are */
};

/* Where one class of a rule's denials is first lost, and to what. */
struct ag_ll_loss {
	const char *path;		/* the entry; NULL: this class is not lost */
	const struct ag_ll_grant *by;	/* the deepest grant at or above it that allows it */
	__u32 by_rule;			/* the rule that allows it there */
};

struct ag_ll_rule {
	enum ag_ll_status status;
	unsigned int denials;	/* (entry, class) pairs it denies */
	unsigned int lost;	/* of those, pairs a placed grant at or above allows */
	__u32 lost_classes;	/* AG_FS_WANT_* lost somewhere */
	bool audit;		/* decides in audit mode somewhere: allowed, no would-deny event */
	struct ag_ll_loss loss[AG_FS_NCLASSES];	/* per class, the first loss */
};

struct ag_ll_assessment {
	struct ag_ll_rule *rule;	/* indexed like c->rules; filesystem kinds only are set */
	size_t n_rule;
	size_t n_lost;			/* filesystem rules PARTIAL or UNENFORCED */
};

/* Assess every filesystem rule and default against the plan's placed grants. 0 or -ENOMEM. */
int ag_ll_assess(const struct ag_compiled *c, const struct ag_ll_plan *plan,
		 struct ag_ll_assessment *a);
void ag_ll_assessment_free(struct ag_ll_assessment *a);

/*
 * Does the plan let the sandbox write at, above or below path (absolute, resolved)? The first
 * placed grant that does, or NULL.
 */
const struct ag_ll_grant *ag_ll_writable(const struct ag_ll_plan *plan, const char *path);

/*
 * Create the ruleset: each grant's path is opened O_PATH with no symlink in any component (a
 * rule through a symlink matches nothing under BPF-LSM either), and each grant's err and file
 * are set. A path that does not exist now, or goes through a symlink, is not granted (stricter
 * than the policy, reported). *fd: the ruleset. 0 or -errno.
 */
int ag_ll_ruleset(struct ag_ll_plan *plan, int *fd);
/* Enforce ruleset fd on the calling thread and what it execs (needs no_new_privs). */
int ag_ll_restrict(int fd);

#endif /* AG_LANDLOCK_H */
