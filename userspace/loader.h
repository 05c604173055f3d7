/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel side of a sandbox: the BPF programs, their maps and links, and the policy
 * generations. Order (no hook is live before its policy is in place):
 *   ag_loader_open     open the skeleton, load the programs (nothing attached)
 *   ag_loader_install  build the idle generation's tables from a compiled policy, flip to it
 *   ag_loader_attach   scope to the sandbox cgroup and attach
 */
#ifndef AG_LOADER_H
#define AG_LOADER_H

#include <stdbool.h>
#include "backend.h"
#include "compile.h"
#include "cgroup.h"

struct ag_loader;

struct ag_loader_opts {
	bool lsm;		/* load and attach the BPF-LSM programs (files, containment); false
				 * under --fallback landlock */
	bool cgroup;		/* load and attach the cgroup programs (sockets, devices, sysctl) */
	/*
	 * Pin maps (DIR/maps/NAME) and links (DIR/links/PROGRAM) on bpffs, so enforcement
	 * outlives this process; NULL: nothing pinned, everything ends with ag_loader_close.
	 */
	const char *pin_dir;
	/*
	 * Another build's enforcement pinned at pin_dir: upgrade it (this build's is made under
	 * pin_dir/next, attached beside the old, then takes its place: ag_loader_retire_old)
	 * instead of failing with -ESTALE. Only for the holder of ag_loader_lock_pin_dir.
	 */
	bool upgrade;
};

/* What an upgrade takes over from the build it replaces (ag_loader_old). */
struct ag_loader_old {
	int rings[2];		/* its denial ring and other ring, to drain; -1: absent */
	int drops_fd;		/* with the same ABI only (else -1): its drop counters, */
	int reported_fd;	/* what it reported of them, */
	int fold_fd;		/* and its folds */
	bool same_abi;		/* its records are this build's layout */
	__u64 sandbox_cgid;	/* the cgroup it governs */
	__u32 generation_seq;	/* its generation in force */
};

/*
 * With opts->pin_dir holding complete pinned state, adopts it instead: the pinned maps, the
 * active generation and its tables; the pinned links stay as they are (ag_loader_adopted).
 * -EUCLEAN: maps are pinned there without every link (a load that died half-way): nothing is
 * adopted; ag_loader_unpin_dir clears it. A map that differs from this build's: -EINVAL.
 */
int ag_loader_open(const struct ag_loader_opts *opts, struct ag_loader **out);
/* Did ag_loader_open adopt pinned state? Then ag_loader_attach only checks the cgroup. */
bool ag_loader_adopted(const struct ag_loader *l);
/*
 * Did it find another build's enforcement pinned (opts->upgrade)? Then ag_loader_attach
 * attaches this build's programs beside the old ones, and ag_loader_retire_old, called next,
 * detaches the old and moves this build's pins into place. Until attach completes, closing the
 * loader undoes the upgrade and the old build's enforcement stays as it was.
 */
bool ag_loader_upgrading(const struct ag_loader *l);
/*
 * The build being replaced, when upgrading or finishing an upgrade a load died in (whose old
 * build is already detached): its rings to drain and its leftovers (ag_loader_old_leftovers).
 * NULL when there is none.
 */
const struct ag_loader_old *ag_loader_old(const struct ag_loader *l);
/*
 * After ag_loader_attach: unpin the old build's links, wait until its programs are gone, unpin
 * its maps, and move this build's pins into place. On error the upgrade is finished by the
 * next load with opts->upgrade (enforcement is this build's either way).
 */
int ag_loader_retire_old(struct ag_loader *l);
struct ag_loss_count;
/*
 * After ag_loader_retire_old, with the same ABI: what the old build counted and never reported
 * (drops, and folded repeats as AG_DROP_UPGRADE), as loss counts; returns how many, or -errno.
 */
int ag_loader_old_leftovers(const struct ag_loader *l, struct ag_loss_count *out, size_t max);
/* Where map is pinned under dir (DIR/maps/MAP): 0 or -ENAMETOOLONG. */
int ag_loader_map_path(char *buf, size_t len, const char *dir, const char *map);
/* Is there pinned state (any map) under dir? */
bool ag_loader_pinned(const char *dir);
/*
 * Is enforcement pinned under dir: the state map and every program's link of this build, or
 * (--fallback landlock) every cgroup program's link and no LSM program's?
 */
bool ag_loader_pinned_complete(const char *dir);
/* Which of the two: AG_BACKEND_BPF_LSM or AG_BACKEND_LANDLOCK; -ENOENT if neither. */
int ag_loader_pinned_backend(const char *dir);
/*
 * Remove every pin under dir, links first (their programs detach once no fd holds them) and
 * then maps, and the directories. Enforcement pinned there ends. 0 if there was none.
 * wait: return only once every program is detached (the kernel does it from a work queue, one
 * LSM hook at a time: seconds under TCG); -EBUSY if none has gone for 30 s (an fd holds one).
 */
int ag_loader_unpin_dir(const char *dir, bool wait);
/*
 * Create dir (a directory on bpffs) if needed and lock it against other agentguard processes
 * for as long as *fd stays open: -EWOULDBLOCK if one holds it.
 */
int ag_loader_lock_pin_dir(const char *dir, int *fd);

/*
 * Serialise swaps between processes sharing dir (a daemon, agentguard reload): a blocking
 * lock, held until the returned fd is closed; or -errno.
 */
int ag_loader_lock_swaps(const char *dir);
/* The generation in force now, as the programs see it (another process may have swapped). */
__u32 ag_loader_active_generation(const struct ag_loader *l);

/* Where agentguard load pins unless told otherwise. */
#define AG_PIN_DIR "/sys/fs/bpf/agentguard"
/*
 * Make c the active policy. On error the previously active policy stays active. With pins,
 * call it under ag_loader_lock_swaps: it first catches up with swaps other processes made.
 */
int ag_loader_install(struct ag_loader *l, const struct ag_compiled *c);
/*
 * Who protects an inode: the value of its ag_protected entry is the set of owners, and the
 * inode stays protected until each has released it. So releasing a stale key (its file gone,
 * its inode number reused by a file another owner protects) cannot unprotect that file.
 * Value 1 is an older build's, owner unknown: any release removes it.
 */
enum ag_protect_owner {
	AG_PROTECT_SELF = 1u << 1,	/* agentguard's binary, journald's path, the state dir */
	AG_PROTECT_POLICY = 1u << 2,	/* the policy files */
	AG_PROTECT_EVENTS = 1u << 3,	/* event files */
	AG_PROTECT_METRICS = 1u << 4,	/* the metrics textfile */
};
/* Add owner to key's entry in the ag_protected map map_fd (creating it). 0 or -errno. */
int ag_protected_add(int map_fd, const struct ag_inode_key *key, __u32 owner);
/* Take owner off key's entry; the entry goes with its last owner. 0 (also if none) or -errno. */
int ag_protected_release(int map_fd, const struct ag_inode_key *key, __u32 owner);
/*
 * Protect path's inode from the sandbox, for owner: no write, unlink or rename (agentguard's
 * binary, policies, event file). Before attach.
 */
int ag_loader_protect(struct ag_loader *l, const char *path, __u32 owner);
/* The same for an open file, whatever its path now; *key says which inode, for unprotect. */
int ag_loader_protect_fd(struct ag_loader *l, int fd, struct ag_inode_key *key, __u32 owner);
int ag_loader_unprotect(struct ag_loader *l, const struct ag_inode_key *key, __u32 owner);
/*
 * Scope to the sandbox and attach every loaded program. Also caps the sandbox's nesting
 * (cgroup.max.depth), which the containment programs rely on. With the LSM programs, verifies
 * that a process in the sandbox is governed (finding the absolute cgroup level inside a cgroup
 * namespace); -ENOTRECOVERABLE if it cannot be.
 */
int ag_loader_attach(struct ag_loader *l, const struct ag_cgroup *sandbox);
/* After adopting: the sandbox cgroup the pinned programs govern (its id), or 0. */
__u64 ag_loader_sandbox_id(const struct ag_loader *l);
/* The denial ring (never crowded out by others) and the ring for every other event. */
int ag_loader_deny_ringbuf_fd(const struct ag_loader *l);
int ag_loader_ringbuf_fd(const struct ag_loader *l);
struct ag_metrics {
	__u64 decisions[AG_DECISION_SLOTS];	/* kind * AG_VERDICTS + verdict */
	__u64 ring_used[2];			/* bytes waiting: denial ring, other ring */
	__u64 ring_size;
	__u32 generation;
};

/* Sum the per-CPU decision counters and query ring usage. */
int ag_loader_metrics(const struct ag_loader *l, struct ag_metrics *m);
/* The per-CPU drop counters (struct ag_drop_key -> __u64), for loss events. */
int ag_loader_drops_fd(const struct ag_loader *l);
/* The drop counts already reported (ag_drops_reported), for ag_loss_open. */
int ag_loader_drops_reported_fd(const struct ag_loader *l);
/*
 * Report folded denials whose window has passed, or all with force (bpf/audit.bpf.c):
 * AG_EV_FOLD records into the rings. written/deferred: records written, and left for the next
 * call because a ring was full.
 */
int ag_loader_fold_flush(const struct ag_loader *l, bool force, unsigned int *written,
			 unsigned int *deferred);
/* Kernel memory (fdinfo memlock) of the active generation's tables, in bytes. */
int ag_loader_table_bytes(const struct ag_loader *l, unsigned long long *bytes);
/* The generation counter stamped into events (counts installs). */
__u32 ag_loader_generation(const struct ag_loader *l);
/*
 * Domain rules (issue #9). The resolver path: with addr (16 bytes, judged form) and port set,
 * DNS to anything else is denied (enabled false: no lockdown). Before attach.
 */
int ag_loader_dns_config(struct ag_loader *l, const __u8 addr[16], __u16 port, bool enabled);
/* The learned-address map (struct ag_dns_key -> struct ag_dns_learned). */
int ag_loader_dns_learned_fd(const struct ag_loader *l);
/* The names behind the learned map's name ids (slot -> struct ag_dns_name_rec). */
int ag_loader_dns_names_fd(const struct ag_loader *l);
/*
 * The keys of a learned-address map (ours, or one pinned), all collected before anything is
 * updated: an update moves its element to the head of its hash bucket, and a walk whose
 * current key moves or is evicted can revisit elements forever. *keys: free() it.
 */
int ag_loader_dns_learned_keys(int fd, struct ag_dns_key **keys, size_t *n);
/* A learned binding may have taken back an allow: empty every CPU's IPv4 allow cache. */
void ag_loader_dns_learn_bump(struct ag_loader *l);
/*
 * Called by ag_loader_install after the idle generation's tables are built and before the
 * flip, with the generation about to become active: the resolver rewrites its bindings for it.
 * An error aborts the install (the old policy stays).
 */
typedef int (*ag_loader_pre_flip_fn)(void *ctx, const struct ag_compiled *c, __u32 generation_seq);
void ag_loader_set_pre_flip(struct ag_loader *l, ag_loader_pre_flip_fn fn, void *ctx);
/* Closes everything: what is not pinned detaches, what is pinned stays. NULL-safe. */
void ag_loader_close(struct ag_loader *l);

#endif /* AG_LOADER_H */
