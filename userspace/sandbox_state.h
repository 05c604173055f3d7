/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where a microVM sandbox's runner keeps its state, and how what a dead runner left is found
 * and removed (issue #11, docs/sandbox.md).
 *
 *   /run/agentguard/sandboxes/.lock          held while a sandbox is created, listed or cleaned
 *   /run/agentguard/sandboxes/NAME/lock      flock(LOCK_EX) held by the live runner for its life
 *   /run/agentguard/sandboxes/NAME/{runner.pid,qemu.pid,cgroup,tap,workspace}
 *   /run/agentguard/sandboxes/NAME/{console.log,qemu.log}  the guest's console, QEMU's messages
 *   /run/agentguard/sandboxes/NAME/spec/     the guest's read-only spec share
 *   <cgroup2>/agentguard-sandboxes/NAME      QEMU's cgroup (cgroup.kill ends it)
 *
 * A sandbox whose lock nobody holds is stale: its runner died (kill -9). Cleaning it kills what
 * is left in its cgroup and removes the cgroup (cgroup.c's ag_cgroup_destroy), the network
 * half's tap and table (ag_sbx_net_cleanup_stale) and the state directory (seqstore.c's
 * ag_state_dir_remove). Only root writes under these paths, and nothing here follows a
 * symlink. Library code: returns -errno, never logs.
 */
#ifndef AG_SANDBOX_STATE_H
#define AG_SANDBOX_STATE_H

#include <stdbool.h>
#include <sys/types.h>

#define AG_SBX_STATE_ROOT	"/run/agentguard/sandboxes"
#define AG_SBX_CGROUP_DIR	"agentguard-sandboxes"
#define AG_SBX_NAME_MAX		31

/* [a-z0-9][a-z0-9-]{0,30}: also a cgroup, file and (shortened) interface name. NULL: false. */
bool ag_sbx_name_valid(const char *name);

/* The global lock: an fd to close to release it, or -errno. */
int ag_sbx_global_lock(void);

/* <cgroup2 mount>/agentguard-sandboxes/NAME (made with its parent when create). 0 or -errno. */
int ag_sbx_cgroup_path(const char *name, char *buf, size_t len);

/*
 * Under the global lock: make NAME's state directory and take its lock (*lock_fd, *dir_fd).
 * -EEXIST if a live runner has the name (a stale one is cleaned first). 0 or -errno.
 */
int ag_sbx_state_create(const char *name, int *dir_fd, int *lock_fd);
/* Write a small file of the state directory (mode 0644). 0 or -errno. */
int ag_sbx_state_put(int dir_fd, const char *file, const char *value);
/* Read one (first line, at most len - 1 bytes, no newline). 0 or -errno. */
int ag_sbx_state_get(int dir_fd, const char *file, char *buf, size_t len);

/* Remove NAME's state directory, whatever it holds, never following a link. 0 or -errno. */
int ag_sbx_state_remove(const char *name);

struct ag_sbx_info {
	char name[AG_SBX_NAME_MAX + 1];
	pid_t runner_pid, qemu_pid;
	char cgroup[4096];
	char tap[32];
	char workspace[4096];
	char workspace_mode[4];		/* "rw", "ro", "" */
	char network[16];
};

/*
 * Every sandbox: calls live() for each one whose runner holds its lock, cleans each stale one
 * (counted in *cleaned; the first cleaning error is returned after the walk), and calls
 * unreadable() for each whose state cannot be opened or whose lock cannot be tested (it is
 * neither listed nor cleaned). Takes the global lock. 0 or -errno.
 */
int ag_sbx_list(void (*live)(void *ctx, const struct ag_sbx_info *i),
		void (*unreadable)(void *ctx, const char *name, int err), void *ctx,
		unsigned int *cleaned);
/* Clean NAME if it is stale: 0 if cleaned or absent, -EBUSY if live. Global lock held. */
int ag_sbx_clean_if_stale(const char *name);
/* NAME's info if its runner is live: 0, -ENOENT (absent or stale) or -errno. */
int ag_sbx_lookup(const char *name, struct ag_sbx_info *info);

#endif /* AG_SANDBOX_STATE_H */
