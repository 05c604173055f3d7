/* SPDX-License-Identifier: GPL-2.0 */
/*
 * agentguard_abi.h: the only things that cross between the BPF programs and userspace.
 * Event records, map keys and values, access bits, limits. Included by the bpf/NAME.bpf.c programs (after
 * vmlinux.h) and by userspace (after <linux/types.h>). Fixed-width types, largest fields first,
 * explicit padding, sizes asserted at the bottom so a change on one side cannot go unnoticed.
 *
 * Policy tables are per generation: each surface has an ARRAY_OF_MAPS "outer" map with
 * AG_GENERATIONS slots whose inner maps are built and sized by userspace from the compiled
 * policy. A hook reads the active slot once (ag_state_slot of ag_state[0]) and uses it
 * for the whole decision, so a reload is: fill the idle slot, then flip one word.
 */
#ifndef AGENTGUARD_ABI_H
#define AGENTGUARD_ABI_H

#define AG_ABI_VERSION		1
#define AG_EVENT_SCHEMA_VERSION	1

#define AG_GENERATIONS		2	/* active + the one being prepared */
#define AG_PATH_MAX		4096	/* bytes incl. NUL, as PATH_MAX */
#define AG_COMM_LEN		16
#define AG_NET_MAX_SEGS		16	/* port/protocol segments per LPM entry, see ag_net_val */
#define AG_RULE_NONE		0xffffffffu
#define AG_RINGBUF_BYTES	(4u << 20)	/* the ring of everything but denials */
/*
 * The deny ring: at 10^6 denials a second of about 700 bytes (file records carry only their
 * path), 16 MiB lasts 24 ms of a stalled consumer (bench/audit_bench.c).
 */
#define AG_DENY_RINGBUF_BYTES	(16u << 20)
#define AG_DROP_KEYS		4096	/* distinct (kind, rule) pairs counted when a ring is full */

/* The decision for one access. Ordered: a larger value is a stronger verdict. */
enum ag_verdict {
	AG_ALLOW = 0,
	AG_WOULD_DENY = 1,	/* an audit-mode rule or default denies: allow, report */
	AG_DENY = 2,		/* an enforce-mode rule or default denies: -EPERM, report */
};

/*
 * Filesystem access classes, one verdict each. open(O_RDONLY) asks READ, O_WRONLY or O_RDWR
 * add WRITE, execve()'s open of the binary asks EXEC. A rule "path: /usr, access: ro,
 * exec: true" allows READ and EXEC and denies WRITE.
 */
enum ag_fs_class {
	AG_FS_READ = 0,
	AG_FS_WRITE = 1,
	AG_FS_EXEC = 2,
	AG_FS_NCLASSES = 3,
};

#define AG_FS_WANT_READ		(1u << AG_FS_READ)
#define AG_FS_WANT_WRITE	(1u << AG_FS_WRITE)
#define AG_FS_WANT_EXEC		(1u << AG_FS_EXEC)

/*
 * Filesystem table key: a keyed 64-bit hash of a normalised path prefix and its length.
 * The kernel walks the resolved path once, and at the end of every component ("/home",
 * "/home/u", "/home/u/x") looks the prefix up; the last hit is the longest matching rule path.
 * The root "/" is always present and carries the folded defaults, so every path has a match.
 * Example: rules /workspace (rw) and /workspace/.git (ro); opening /workspace/.git/config for
 * write hits "/workspace" then "/workspace/.git" and the latter denies WRITE.
 * The hash is seeded per load (ag_state.hash_seed) so a sandboxed process cannot precompute a
 * path whose hash collides with an allowing rule's.
 */
struct ag_fs_key {
	__u64 hash;
};

/*
 * One effective entry: every layer's deciding rule for this prefix, folded per class, and the
 * guard of exactly this path (threat model R11).
 *
 * The guard: this path is an ancestor of a rule path whose rule is stricter for read or write
 * than what applies here. Renaming it (as either end of a rename), removing it, or creating a
 * symlink in its place would carry that rule's files out from under it, or redirect writes
 * meant for them, so those operations get the stronger of the path's own write verdict and
 * the guard (ag_fs_val_guarded), and the guard names the stricter rule. The compiler adds an
 * entry for each such ancestor that has no rule of its own, with the verdicts that already
 * apply there, so no other lookup decides differently.
 * Example: rules /home rw, /home/u/.ssh none. The entry for /home/u has /home's verdicts and
 * guard DENY with guard_rule the .ssh rule, and so has /home's own entry: "mv /home/u /home/v"
 * and "mv /home /x" are denied naming the .ssh rule, "mv /home/w /home/x" is allowed.
 * No stricter rule below: guard AG_ALLOW, guard_rule AG_RULE_NONE.
 */
struct ag_fs_val {
	__u32 rule[AG_FS_NCLASSES];	/* deciding rule per class (index into the rule table) */
	__u32 guard_rule;		/* the stricter descendant's rule, or AG_RULE_NONE */
	__u8 verdict[AG_FS_NCLASSES];	/* enum ag_verdict per class */
	__u8 guard;			/* enum ag_verdict: renaming or removing this very path */
};

/*
 * Network table: one LPM trie over IPv6-sized keys. IPv4 addresses (and IPv6 forms that carry
 * one: ::ffff:a.b.c.d, NAT64 64:ff9b::/96, 64:ff9b:1::/48, 6to4 2002::/16) are looked up as
 * ::ffff:a.b.c.d, so one table judges both families and a v4 rule cannot be dodged through v6.
 * Each entry holds the folded verdict of every rule whose CIDR contains it, as disjoint
 * (protocol, port range) segments; a port not in any segment takes the entry's fallback.
 * Example: allow 10.0.0.0/8 ports [443], deny 10.1.0.0/16: the entry for 10.1.0.0/16 has
 * fallback DENY; the entry for 10.0.0.0/8 has a segment tcp+udp 443-443 ALLOW, fallback = the
 * policy default.
 */
struct ag_net_key {
	__u32 prefixlen;	/* LPM: bits of addr that count, 0..128 */
	__u8 addr[16];		/* network byte order */
};

struct ag_net_seg {
	__u32 rule;
	__u16 port_lo;		/* host byte order, inclusive */
	__u16 port_hi;
	__u8 proto;		/* AG_NET_TCP | AG_NET_UDP bit mask */
	__u8 verdict;		/* enum ag_verdict; AG_DNS_PASS in learned values only */
	__u8 flags;		/* AG_NET_F_* */
	__u8 pad;
};

/*
 * Some layer denies this by an explicit deny rule (not its default): an address learned through
 * an allowed domain cannot lift it. Example: deny 10.9.0.0/16 and allow domain x.test: x.test
 * resolving to 10.9.0.1 stays denied; with only "default: deny" it is allowed.
 */
#define AG_NET_F_RULE_DENY	1

struct ag_net_val {
	__u32 fallback_rule;
	__u8 fallback_verdict;
	__u8 fallback_flags;	/* AG_NET_F_* */
	__u8 pad[2];
	__u32 n_segs;		/* segments in use, <= AG_NET_MAX_SEGS */
	__u32 pad2;
	struct ag_net_seg seg[AG_NET_MAX_SEGS];
};

#define AG_NET_TCP	1
#define AG_NET_UDP	2

/*
 * ag_state[0]: set by userspace, read once per decision. A zero sandbox_cgid means no sandbox
 * is configured and the LSM hooks judge nothing (the cgroup programs are only attached to
 * sandboxes anyway).
 */
/*
 * spec.unix tables (per generation): ag_unix_path_gens holds struct ag_inode_key -> rule of the
 * pathname sockets every layer allows, ag_unix_name_gens struct ag_unix_name_key -> rule of the
 * abstract ones. Consulted only when a unix peer is outside the sandbox.
 */
struct ag_state {
	/* sandbox_cgid and generation_seq keep their offsets in every build: an upgrade reads them */
	__u64 sandbox_cgid;	/* cgroup id (inode number) of the sandbox root */
	__u64 hash_seed;	/* seeds ag_path_hash_*; fixed for the programs' life */
	__u32 sandbox_level;	/* its level: / is 0, /a is 1 */
	__u32 generation;	/* userspace's copy of ag_state_slot(); programs never read it */
	/*
	 * Counts swaps; copied into events. The one word a swap changes while programs run: the
	 * loader stores it with one aligned 32-bit store (the map is mmap'ed), and programs derive
	 * the active slot from it, so no program can pair one generation's tables with another's
	 * number (the verdict caches are keyed by it).
	 */
	__u32 generation_seq;
	/*
	 * Counts learned-address changes that can take back an allow (a domain deny learned):
	 * the IPv4 allow cache is keyed by generation_seq + learn_seq, so such a change empties it.
	 * Shares the aligned 8-byte word with generation_seq; the resolver adds to it atomically.
	 */
	__u32 learn_seq;
};

/* The active slot in the *_gens maps. */
static __always_inline __u32 ag_state_slot(const struct ag_state *st)
{
	return st->generation_seq % AG_GENERATIONS;
}

/*
 * The process behind an event, captured in the kernel when it exec'd (lsm/bprm_committed_creds,
 * into task storage) and never read from /proc: the executable and the exec ancestry, the
 * images this process lineage ran before it, most recent first. A process that has not exec'd
 * since it forked has its parent's. Paths are bpf_d_path's; longer ones are cut (flags).
 */
#define AG_EXE_MAX		256
#define AG_ANCESTRY_MAX		4
#define AG_ANCESTOR_MAX		64

enum ag_proc_flags {
	AG_PROC_KNOWN = 1,		/* captured at an exec: otherwise nothing below is valid */
	AG_PROC_EXE_UNRESOLVED = 4,	/* bpf_d_path failed: exe is empty */
	AG_PROC_ANCESTRY_MORE = 8,	/* the lineage is longer than AG_ANCESTRY_MAX */
	/* AG_PROC_ANCESTOR_CUT << i: ancestry[i] was cut to AG_ANCESTOR_MAX - 1 bytes */
	AG_PROC_ANCESTOR_CUT = 16,
};

struct ag_proc {
	__u32 flags;		/* enum ag_proc_flags */
	__u16 exe_len;		/* bytes incl. NUL as bpf_d_path gave them; > AG_EXE_MAX: cut */
	__u16 depth;		/* valid entries in ancestry, 0..AG_ANCESTRY_MAX */
	char exe[AG_EXE_MAX];	/* NUL-terminated */
	char ancestry[AG_ANCESTRY_MAX][AG_ANCESTOR_MAX];	/* each NUL-terminated */
};

/* Events. Every record starts with this header; kind says which body follows. */
enum ag_event_kind {
	AG_EV_FILE = 1,
	AG_EV_EXEC = 2,
	AG_EV_NETWORK = 3,
	AG_EV_CONTAINMENT = 4,
	AG_EV_LOSS = 5,		/* made by the consumer from ag_drops, never by the kernel */
	AG_EV_LIFECYCLE = 6,	/* made by the consumer: enforcement started or stopped */
	AG_EV_FOLD = 7,		/* repeats of a reported denial (struct ag_event_fold) */
	AG_EV_DNS = 8,		/* made by the consumer: a query to agentguard's resolver */
};

enum ag_event_op {
	AG_OP_OPEN = 1,		/* file: open; body.want says read/write/exec */
	AG_OP_CONNECT = 2,	/* network: connect() */
	AG_OP_RECEIVE = 3,	/* file: an fd received by SCM_RIGHTS or pidfd_getfd */
	AG_OP_SENDMSG = 4,	/* network: sendto/sendmsg with an address (unconnected UDP) */
	AG_OP_BIND = 5,		/* network: bind() to a non-loopback address */
	AG_OP_LISTEN = 6,	/* network: listen() on a socket not bound to loopback */
	AG_OP_EGRESS_DROP = 7,	/* network: a packet dropped on egress (source routing) */
	/* Containment (struct ag_event_contain); arg0/arg1/name as noted. */
	AG_OP_CAPABLE = 10,	/* arg0: capability number */
	AG_OP_CGROUP_WRITE = 11,	/* name: cgroup file; target_cgid: its cgroup */
	AG_OP_CLONE_INTO_CGROUP = 12,	/* arg0: clone flags */
	AG_OP_USERNS = 13,
	AG_OP_MOUNT = 14,	/* name: fs type */
	AG_OP_MOVE_MOUNT = 15,
	AG_OP_PIVOT_ROOT = 16,
	AG_OP_CHROOT = 17,
	AG_OP_UMOUNT = 18,
	AG_OP_MODULE_REQUEST = 19,	/* name: module */
	AG_OP_KERNEL_READ_FILE = 20,	/* arg0: enum kernel_read_file_id */
	AG_OP_KERNEL_LOAD_DATA = 21,	/* arg0: enum kernel_load_data_id */
	AG_OP_BPF = 22,		/* arg0: bpf command */
	AG_OP_PERF_EVENT = 23,	/* arg0: perf type */
	AG_OP_PTRACE = 24,	/* arg0: mode; arg1: target pid */
	AG_OP_SIGNAL = 25,	/* arg0: signal; arg1: target pid */
	AG_OP_SIGIO = 26,	/* arg0: signal; arg1: target pid */
	AG_OP_SETOWN = 27,	/* arg0: fcntl command; arg1: owner argument */
	AG_OP_PROTECTED_WRITE = 28,	/* arg0: dev; arg1: inode */
	AG_OP_PSEUDOFS_WRITE = 29,	/* arg0: superblock magic; name: file name */
	AG_OP_UNIX_CONNECT = 30,	/* target_cgid: the listener's cgroup */
	AG_OP_UNIX_SEND = 31,
	AG_OP_FD_RECEIVE = 32,	/* arg0: 1 socket, 0 file */
	AG_OP_SYSCTL_WRITE = 33,	/* name: sysctl path below /proc/sys */
	AG_OP_DEVICE = 34,	/* arg0: major; arg1: minor; name: "c"/"b" + access */
	AG_OP_PROTECTED_UNLINK = 35,	/* arg0: dev; arg1: inode */
	AG_OP_TASK_CHANGE = 36,	/* arg0: what (AG_TASK_*); arg1: target pid */
	AG_OP_SOCKET_CREATE = 37,	/* arg0: family; arg1: type << 16 | protocol */
	AG_OP_SETSOCKOPT = 38,	/* arg0: level; arg1: option name */
	/*
	 * File operations without an open (struct ag_event_file, want = AG_FS_WANT_WRITE): the
	 * path is the one the rule denied. A create names the new path; link and rename judge
	 * the source (old) path first, then the new one. Example: rules /work rw, /work/ro ro;
	 * mkdir("/work/ro/d") reports op AG_OP_MKDIR, path "/work/ro/d", the /work/ro rule.
	 */
	AG_OP_MKNOD = 39,	/* mknod(2), also a unix socket's bind(2) */
	AG_OP_MKDIR = 40,
	AG_OP_RMDIR = 41,
	AG_OP_UNLINK = 42,
	AG_OP_SYMLINK = 43,	/* the new symlink's path */
	AG_OP_LINK = 44,	/* the source (written to) or the new name */
	AG_OP_RENAME = 45,	/* the old or the new path */
	AG_OP_TRUNCATE = 46,	/* truncate(2); ftruncate(2) and open(O_TRUNC) on 6.1 */
	AG_OP_CHMOD = 47,
	AG_OP_CHOWN = 48,
	AG_OP_DNS_QUERY = 49,	/* dns: a query to agentguard's resolver (userspace only) */
	/*
	 * Code about to run from a file (struct ag_event_file, kind AG_EV_EXEC, want =
	 * AG_FS_WANT_EXEC), judged by the file's exec permission. Example: rule /tmp/noexec ro
	 * (no exec); "ld.so /tmp/noexec/bin" opens the binary for reading (allowed) and maps it
	 * PROT_EXEC: op AG_OP_MMAP_EXEC, path "/tmp/noexec/bin", the /tmp/noexec rule.
	 */
	AG_OP_EXEC = 50,	/* bprm_check_security: a binary, script or #! interpreter exec'd */
	AG_OP_MMAP_EXEC = 51,	/* mmap_file with PROT_EXEC (the loader, shared libraries) */
	AG_OP_MPROTECT_EXEC = 52,	/* file_mprotect adding PROT_EXEC to a file mapping */
	/*
	 * Attribute changes of an existing file (struct ag_event_file, want = AG_FS_WANT_WRITE),
	 * judged as writes of its path like AG_OP_CHMOD. Example: rule /work/ro ro;
	 * "touch /work/ro/f" reports op AG_OP_SETATTR, path "/work/ro/f", the /work/ro rule.
	 */
	AG_OP_SETATTR = 53,	/* inode_setattr: times (utimes, utimensat, futimens), and
				 * what no path hook judged; mode, owner and size changes are
				 * CHMOD, CHOWN, TRUNCATE */
	AG_OP_SETXATTR = 54,	/* setxattr(2) and its l, f variants */
	AG_OP_REMOVEXATTR = 55,	/* removexattr(2) and its l, f variants */
	AG_OP_SETACL = 56,	/* a POSIX ACL set: inode_set_acl, or on 6.1 the setxattr of
				 * system.posix_acl_access or _default */
	AG_OP_REMOVEACL = 57,	/* a POSIX ACL removed, as AG_OP_SETACL */
};

/*
 * Built-in containment rules: no policy can lift them (issue #5, docs/containment.md). Events
 * name them "builtin:<name>" with layer "builtin"; AG_RULE_BUILTIN | n in ag_event_hdr.rule.
 */
#define AG_RULE_BUILTIN 0x80000000u

enum ag_builtin_rule {
	AG_BR_CAPABILITY = 1,	/* capabilities withheld from the sandbox */
	AG_BR_CGROUP = 2,	/* cgroup interface files outside the sandbox subtree */
	AG_BR_NAMESPACE = 3,	/* new user namespaces */
	AG_BR_MOUNT = 4,	/* mount, move_mount, pivot_root, chroot, umount */
	AG_BR_KERNEL = 5,	/* module requests and loads, kernel file reads, kexec */
	AG_BR_BPF = 6,		/* the bpf() syscall */
	AG_BR_PERF = 7,		/* perf_event_open */
	AG_BR_PROCESS = 8,	/* ptrace, signals and SIGIO to processes outside the sandbox */
	AG_BR_PROTECTED = 9,	/* agentguard's own binary, policies, events, pins */
	AG_BR_PSEUDOFS = 10,	/* writes to /proc, /sys and other kernel interfaces */
	AG_BR_DEVICE = 11,	/* devices outside the allow-list */
	AG_BR_SYSCTL = 12,	/* sysctl writes */
	AG_BR_UNIX = 13,	/* unix sockets whose peer is outside the sandbox */
	AG_BR_FD_RECEIVE = 14,	/* fds passed in that the sandbox could not have opened */
	AG_BR_SOCKET_TYPE = 15,	/* socket families, types and protocols outside the allow-list */
	AG_BR_INBOUND = 16,	/* bind (and so listen) anywhere but loopback */
	AG_BR_SOURCE_ROUTE = 17,	/* IPv4 options and IPv6 routing headers on egress */
	AG_BR_DNS_ELSEWHERE = 18,	/* DNS (53, 853) to anything but agentguard's resolver */
	AG_BR_DNS_QTYPE = 19,	/* query types other than A, AAAA, CNAME (tunnelling) */
	AG_BR_DNS_NAME = 20,	/* query names that are not LDH host names, malformed queries */
	AG_BR_PRIV_XATTR = 21,	/* security.* and trusted.* xattr writes (threat model R23) */
	AG_BR_COUNT,
};

/* spec.unix abstract-socket allow table key: the name without its leading NUL, zero-padded. */
#define AG_UNIX_NAME_MAX 107
struct ag_unix_name_key {
	__u32 len;
	__u8 name[AG_UNIX_NAME_MAX + 1];
};

/* AG_OP_TASK_CHANGE: what a sandbox task tried to change about a process outside. */
enum ag_task_change {
	AG_TASK_RLIMIT = 1,
	AG_TASK_NICE = 2,
	AG_TASK_IOPRIO = 3,
	AG_TASK_SCHEDULER = 4,	/* policy, priority or CPU affinity */
	AG_TASK_MOVE_MEMORY = 5,
	AG_TASK_PGID = 6,
};

/*
 * ag_drops: records that did not fit in their ring, per CPU, by (kind, rule). The consumer sums
 * the CPUs and emits a "loss" event with what changed since the last one. Example: a flood of
 * would-deny file events fills the audit ring; {AG_EV_FILE, rule 7} counts up, and the deny
 * ring, separate, keeps every denial.
 */
struct ag_drop_key {
	__u16 kind;		/* enum ag_event_kind */
	__u8 verdict;		/* what was lost: AG_DENY or AG_WOULD_DENY */
	__u8 reason;		/* enum ag_drop_reason */
	__u32 rule;		/* as in ag_event_hdr.rule */
};

enum ag_drop_reason {
	AG_DROP_RING_FULL = 0,		/* the ring had no room */
	AG_DROP_RATE_LIMITED = 1,	/* over the sandbox's event budget (ag_admit) */
	/* consumer only: repeats whose first report it never saw (restarted): count, no detail */
	AG_DROP_FOLDED_UNMATCHED = 2,
	/*
	 * consumer only: what the build an upgrade replaced left unreported (its folded repeats;
	 * with another ABI, its unread records: kind unknown)
	 */
	AG_DROP_UPGRADE = 3,
};

/*
 * Folding and rate limiting (common.bpf.h: ag_admit). A denial identical to one reported less
 * than AG_FOLD_WINDOW_NS ago (same kind, operation, rule, generation, process, image and
 * target, all compared; the signature, keyed by the secret hash seed, only finds the entry) is
 * not reported again: it is counted in the ag_fold entry of its signature. The next report
 * of that signature carries the count in hdr.repeats; if none comes, the consumer's periodic
 * flush (ag_fold_flush) writes an AG_EV_FOLD record with it. Distinct denials draw on the
 * sandbox's token bucket (one for all CPUs) of AG_EVENT_BURST events refilled at AG_EVENT_RATE
 * per second; past it they are counted as AG_DROP_RATE_LIMITED and reported as loss events.
 */
#define AG_FOLD_WINDOW_NS	1000000000ull
#define AG_FOLD_ENTRIES		65536
#define AG_EVENT_RATE		2000	/* per second, the sandbox's */
#define AG_EVENT_BURST		4000

struct ag_fold {
	__u64 window_start;	/* boot ns of the last report of this signature */
	__u64 folded;		/* identical denials since then, not yet reported */
	/* What makes denials identical, compared on every hit: a signature collides, this not. */
	__u64 a, b;		/* the target, per kind */
	__u64 exec_id;		/* the process's image (task self_exec_id; 0 in cgroup programs) */
	__u32 kind;
	__u32 op;
	__u32 rule;
	__u32 pid;
	__u32 generation_seq;
	__u8 verdict;
	__u8 pad[3];
};

/*
 * The event budget as a generic cell rate (GCRA): tat is the boot time at which the bucket is
 * full again. An event is admitted if tat is at most the burst's worth of events ahead of now,
 * and moves it one event on; one compare-and-swap, so every CPU draws on the same budget.
 */
struct ag_bucket {
	__u64 tat;
};


/*
 * ag_decisions: every decision the hooks make, allows included, per CPU, at index
 * kind * AG_VERDICTS + verdict. ag_ring_usage[i]: bytes waiting in ring i (0 the denial ring,
 * 1 the other), written by the ag_ring_query program when userspace runs it (libbpf 1.1 has
 * no ring-usage API).
 */
#define AG_VERDICTS		3
#define AG_DECISION_SLOTS	((AG_EV_LOSS + 1) * AG_VERDICTS)

/* An inode agentguard protects from the sandbox (its binary, policies, event file). */
struct ag_inode_key {
	__u64 dev;		/* inode->i_sb->s_dev, as the kernel encodes dev_t */
	__u64 ino;
};

struct ag_event_hdr {
	__u64 kseq;		/* per-boot counter, taken before the ring reserve: gaps = loss */
	__u64 boot_ns;		/* bpf_ktime_get_boot_ns() */
	__u64 cgroup_id;	/* the task's own cgroup */
	__u32 kind;		/* enum ag_event_kind */
	__u32 op;		/* enum ag_event_op */
	__u32 rule;		/* deciding rule, or AG_RULE_NONE */
	__u32 generation_seq;
	__u32 pid;		/* thread group id */
	__u32 tid;
	__u32 ppid;		/* real parent's tgid */
	__u32 uid;
	__u32 gid;
	__u8 verdict;		/* AG_DENY or AG_WOULD_DENY */
	__u8 pad[3];
	char comm[AG_COMM_LEN];
	__u64 sig;		/* signature for folding (ag_admit); 0: never folded */
	__u32 repeats;		/* more identical denials this record stands for (folded) */
	__u32 pad2;
	struct ag_proc proc;	/* flags 0 where the program cannot know (cgroup programs on
				 * sockets without storage, no exec seen since load) */
};

/*
 * kind AG_EV_FILE / AG_EV_EXEC: the resolved path as bpf_d_path() (file_open, file_receive) or
 * the resolver (path.bpf.h, the path_* and inode_* hooks) wrote it, in the same format, and
 * exactly the bytes the decision was made on. Unresolved: path_len is -ENAMETOOLONG (too
 * long), -ELOOP (too deep, or too many mounts of its file system), -ENOENT (disconnected,
 * detached, or no mount of the caller's reaches it), -EXDEV (renamed out of its bind mount),
 * -EMLINK (reachable through more mounts than the resolver judges), -EOPNOTSUPP (a pseudo file
 * where one is not allowed), -EFAULT or -ENOMEM; the access was denied. An inode_* hook's
 * path is the one, among the mounts that reach the file, whose verdict decided.
 */
struct ag_event_file {
	struct ag_event_hdr hdr;
	__u32 want;		/* AG_FS_WANT_* bits asked for */
	__s32 path_len;		/* bytes incl. NUL, or -errno when the path could not be resolved */
	char path[AG_PATH_MAX];
};

/* kind AG_EV_NETWORK. */
struct ag_event_net {
	struct ag_event_hdr hdr;
	__u8 addr[16];		/* as judged: IPv4 forms are ::ffff:a.b.c.d */
	__u16 port;		/* host byte order */
	__u8 family;		/* AF_INET or AF_INET6 as the caller used it */
	__u8 proto;		/* AG_NET_TCP / AG_NET_UDP */
	__u8 orig_addr[16];	/* the address the caller passed, before v4 extraction */
	__u32 name_id;		/* the learned domain name consulted (ag_dns_learned), 0: none */
};

/*
 * kind AG_EV_FOLD (kernel-made, the consumer's flush): 1 + hdr.repeats denials like the last
 * report of hdr.sig, folded since it.
 */
struct ag_event_fold {
	struct ag_event_hdr hdr;	/* kind AG_EV_FOLD; op, rule, verdict, pid as folded */
	__u32 folded_kind;
	__u32 pad;
};

/* kind AG_EV_CONTAINMENT. */
struct ag_event_contain {
	struct ag_event_hdr hdr;
	__s64 arg0;		/* see enum ag_event_op */
	__s64 arg1;
	__u64 target_cgid;	/* the target's cgroup id where there is one, else 0 */
	char name[64];		/* NUL-terminated, may be empty */
};

/*
 * Domain rules (issue #9). agentguard's resolver answers the sandbox's queries; every A/AAAA
 * of a name a domain rule decides is learned, before the answer is relayed, into
 * ag_dns_learned: judged address (16 bytes, IPv4 as ::ffff:a.b.c.d) -> struct ag_dns_learned.
 * connect4/6 and sendmsg4/6 consult it after the LPM table:
 *   - a learned DENY (a deny domain rule) wins over an LPM allow: max of the two verdicts;
 *   - a learned ALLOW lifts an LPM deny unless that deny has AG_NET_F_RULE_DENY (an explicit
 *     deny rule in some layer); a default deny is lifted;
 *   - AG_DNS_PASS: the binding has no say for this port; the LPM decides.
 * Example: default deny, allow domain api.test ports [443]; api.test -> 10.0.0.7 learned:
 * connect 10.0.0.7:443 allowed (rule = the domain rule), 10.0.0.7:80 denied by the default.
 * An entry is live until expiry_ns (CLOCK_BOOTTIME); its verdicts are per generation, written
 * by userspace for the idle generation before a swap, so a reload never pairs an old binding
 * with a new table.
 */
#define AG_DNS_LEARNED_MAX	16384	/* addresses; an LRU: the least recently used go first */
#define AG_DNS_NAMES		4	/* names remembered per address (shared IPs, CDNs) */
#define AG_DNS_PASS		3	/* learned segment verdict: no say, the LPM table decides */

struct ag_dns_key {
	__u8 addr[16];
};

struct ag_dns_name {
	__u64 expiry_ns;	/* CLOCK_BOOTTIME ns: this name's binding ends */
	__u32 name_id;		/* the resolver's id of the name, for events */
	__u32 pad;
};

struct ag_dns_gen {
	__u32 generation_seq;	/* the generation val was computed for; others ignore it */
	__u32 pad;
	struct ag_net_val val;	/* folded over every live name of the address */
};

struct ag_dns_learned {
	__u64 expiry_ns;	/* the latest of names[].expiry_ns */
	__u32 name_id;		/* the most recently learned name, for events */
	__u32 n_names;
	struct ag_dns_name names[AG_DNS_NAMES];
	struct ag_dns_gen gen[AG_GENERATIONS];	/* at ag_state_slot() of generation_seq */
};

/*
 * ag_dns_names: the names behind name ids, for whoever reads the pinned state without the
 * daemon (agentguard explain) and for a daemon that adopts it. No program reads it. Keyed by
 * the id's slot (its low AG_DNS_NAME_SLOT_BITS bits): the resolver keeps one name per slot, so
 * a record is current for an id only if its name_id is that id. Example: name_id 0x38005 is
 * slot 5; the record {0x38005, "allowed.test"} names it, and a later {0x40005, "other.test"}
 * means the binding's name is no longer known.
 */
#define AG_DNS_NAME_SLOT_BITS	15
#define AG_DNS_NAME_SLOTS	(1u << AG_DNS_NAME_SLOT_BITS)
#define AG_DNS_NAME_LEN		256	/* a host name: 253 characters, NUL, padding */

struct ag_dns_name_rec {
	__u32 name_id;
	char name[AG_DNS_NAME_LEN];	/* lower case, no trailing dot, NUL-terminated */
};

/*
 * ag_dns_cfg[0]: the resolver path. With enabled set, UDP and TCP to port 53 and 853 anywhere
 * but addr:port are denied (builtin:dns-elsewhere), whatever the policy's CIDR rules say, and
 * addr:port itself is always allowed. Example: addr ::ffff:127.0.0.53, port 53: a query to
 * 8.8.8.8:53 gets EPERM even under "allow 0.0.0.0/0".
 */
/*
 * The ports the resolver path locks down (DNS and DNS over TLS), either protocol: one
 * definition for the kernel (net.bpf.c) and explain.
 */
static __always_inline int ag_dns_port_locked(__u16 port)
{
	return port == 53 || port == 853;
}

struct ag_dns_cfg {
	__u8 addr[16];		/* judged form */
	__u16 port;		/* host byte order */
	__u8 enabled;
	__u8 pad[5];
};

/*
 * Decision helpers, compiled into the BPF programs and into userspace (explain, tests), so
 * each decision is written once. Pure functions over the structs above.
 */
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/*
 * The address an IPv6 destination is judged by, as key bytes. Forms that carry an IPv4
 * address are judged as ::ffff:a.b.c.d so an IPv4 rule cannot be dodged through IPv6:
 * v4-mapped ::ffff:a.b.c.d, NAT64 64:ff9b::a.b.c.d (RFC 6052 /96), local-use NAT64
 * 64:ff9b:1::/48 (here in its /48 layout, bytes 6,7,9,10; byte 8 is the reserved "u" octet;
 * ag_net_judged_addrs adds the other layouts) and 6to4 2002:AABB:CCDD::/16. Example: 64:ff9b::a9fe:a9fe is judged as 169.254.169.254.
 * The unspecified addresses reach the local host: 0.0.0.0 is judged as 127.0.0.1, :: as ::1.
 */
/* An IPv4 destination (network byte order) as judged: 0.0.0.0 reaches the local host. */
static __always_inline __u32 ag_net_judged_ip4(__u32 ip4)
{
	static const __u8 lo[4] = { 127, 0, 0, 1 };
	__u32 v;

	if (ip4)
		return ip4;
	__builtin_memcpy(&v, lo, 4);
	return v;
}

static __always_inline void ag_net_judged_addr(const __u8 *a, __u8 *out)
{
	int v4 = -1;	/* offset of an embedded IPv4 address, or -1 */
	int i;

	if (!(a[0] | a[1] | a[2] | a[3] | a[4] | a[5] | a[6] | a[7] | a[8] | a[9] | a[12] | a[13] |
	      a[14] | a[15]) &&
	    ((a[10] == 0xff && a[11] == 0xff) || !(a[10] | a[11]))) {
		for (i = 0; i < 16; i++)
			out[i] = 0;
		if (a[10] == 0xff) {	/* 0.0.0.0 -> 127.0.0.1 */
			__u32 v = ag_net_judged_ip4(0);

			out[10] = out[11] = 0xff;
			__builtin_memcpy(&out[12], &v, 4);
		} else {		/* :: -> ::1 */
			out[15] = 1;
		}
		return;
	}

	if (!(a[0] | a[1] | a[2] | a[3] | a[4] | a[5] | a[6] | a[7] | a[8] | a[9]) &&
	    a[10] == 0xff && a[11] == 0xff)
		v4 = 12;
	else if (a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b &&
		 !(a[4] | a[5] | a[6] | a[7] | a[8] | a[9] | a[10] | a[11]))
		v4 = 12;
	else if (a[0] == 0x20 && a[1] == 0x02)
		v4 = 2;

	if (a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b && a[4] == 0x00 &&
	    a[5] == 0x01) {
		for (i = 0; i < 10; i++)
			out[i] = 0;
		out[10] = out[11] = 0xff;
		out[12] = a[6];
		out[13] = a[7];
		out[14] = a[9];
		out[15] = a[10];
		return;
	}
	if (v4 < 0) {
		for (i = 0; i < 16; i++)
			out[i] = a[i];
		return;
	}
	for (i = 0; i < 10; i++)
		out[i] = 0;
	out[10] = out[11] = 0xff;
	for (i = 0; i < 4; i++)
		out[12 + i] = a[v4 + i];
}

/*
 * Local-use NAT64 (RFC 8215) 64:ff9b:1::/48 may be carved into a /48, /56, /64 or /96 NAT64
 * prefix, and where the IPv4 address sits differs with each (RFC 6052 layouts: bytes 6,7,9,10;
 * 7,9,10,11; 9,10,11,12; 12..15). Which one a network uses is not known here, so a destination
 * in it is judged as every IPv4 address it could carry, and the strictest verdict wins.
 * Writes the candidate keys to out; returns how many (1, or AG_NAT64_LAYOUTS).
 */
#define AG_NAT64_LAYOUTS 4

static __always_inline int ag_net_judged_addrs(const __u8 *a, __u8 out[AG_NAT64_LAYOUTS][16])
{
	static const __u8 at[AG_NAT64_LAYOUTS][4] = {
		{ 6, 7, 9, 10 }, { 7, 9, 10, 11 }, { 9, 10, 11, 12 }, { 12, 13, 14, 15 },
	};
	int k, i;

	if (!(a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b && a[4] == 0x00 &&
	      a[5] == 0x01)) {
		ag_net_judged_addr(a, out[0]);
		return 1;
	}
	for (k = 0; k < AG_NAT64_LAYOUTS; k++) {
		for (i = 0; i < 10; i++)
			out[k][i] = 0;
		out[k][10] = out[k][11] = 0xff;
		for (i = 0; i < 4; i++)
			out[k][12 + i] = a[at[k][i] & 15];
	}
	return AG_NAT64_LAYOUTS;
}

/*
 * Inbound is allowed on loopback only: 127.0.0.0/8 (as ::ffff:127.x.y.z) and ::1. a is a
 * 16-byte address, IPv4 in its mapped form. The one definition bind and listen both use.
 */
static __always_inline int ag_addr_is_loopback(const __u8 *a)
{
	int i, zero10 = 1;

	for (i = 0; i < 10; i++)
		zero10 = zero10 && !a[i];
	if (!zero10)
		return 0;
	if (a[10] == 0xff && a[11] == 0xff)
		return a[12] == 127;
	return !(a[10] | a[11] | a[12] | a[13] | a[14]) && a[15] == 1;
}

/*
 * spec.network.inbound in effect (every layer allows it): local addresses beyond loopback the
 * sandbox may bind and listen on. AG_INBOUND_MAX slots per generation in the ag_inbound ARRAY,
 * at generation * AG_INBOUND_MAX; unused slots are zero.
 */
#define AG_INBOUND_MAX 16
struct ag_inbound {
	__u8 addr[16];		/* IPv4 as ::ffff:a.b.c.d; host bits zero */
	__u8 prefixlen;		/* on the 128 bits */
	__u8 proto;		/* AG_NET_TCP | AG_NET_UDP bit mask; 0: an unused slot */
	__u16 port_lo;		/* inclusive, host byte order */
	__u16 port_hi;
	__u16 pad;
	__u32 rule;		/* the lowest layer's rule that allows it */
};

/* Is a (16 bytes) the IPv6 wildcard "::"? */
static __always_inline int ag_addr_is_any6(const __u8 *a)
{
	int i, any = 1;

	for (i = 0; i < 16; i++)
		any = any && !a[i];
	return any;
}

/* Does the inbound entry e allow binding (or listening on) address a, port, proto? */
static __always_inline int ag_inbound_match(const struct ag_inbound *e, const __u8 *a, __u8 proto,
					    __u16 port)
{
	__u32 i, bits;

	if (!(e->proto & proto) || port < e->port_lo || port > e->port_hi)
		return 0;
	for (i = 0; i < 16; i++) {
		bits = e->prefixlen > i * 8 ? e->prefixlen - i * 8 : 0;
		if (bits >= 8 && a[i] != e->addr[i])
			return 0;
		if (bits > 0 && bits < 8 && ((a[i] ^ e->addr[i]) & (0xff00 >> bits) & 0xff))
			return 0;
	}
	return 1;
}

/*
 * Segments are disjoint: the first that covers (proto, port) decides, else the fallback.
 * *flags gets its AG_NET_F_* bits.
 */
static __always_inline __u8 ag_net_val_verdict_f(const struct ag_net_val *v, __u8 proto,
						 __u16 port, __u32 *rule, __u8 *flags)
{
	__u32 i;

	for (i = 0; i < AG_NET_MAX_SEGS; i++) {
		const struct ag_net_seg *s = &v->seg[i];

		if (i >= v->n_segs)
			break;
		if ((s->proto & proto) && port >= s->port_lo && port <= s->port_hi) {
			*rule = s->rule;
			*flags = s->flags;
			return s->verdict;
		}
	}
	*rule = v->fallback_rule;
	*flags = v->fallback_flags;
	return v->fallback_verdict;
}

static __always_inline __u8 ag_net_val_verdict(const struct ag_net_val *v, __u8 proto, __u16 port,
					       __u32 *rule)
{
	__u8 flags;

	return ag_net_val_verdict_f(v, proto, port, rule, &flags);
}

/*
 * An LPM decision (verdict, rule, flags) with a learned binding's segment verdict dv and rule
 * dr applied, as documented at struct ag_dns_learned. Returns the verdict; *rule follows it.
 * *used: the binding decided (the event then names its domain).
 */
static __always_inline __u8 ag_dns_apply(__u8 verdict, __u8 flags, __u8 dv, __u32 dr,
					 __u32 *rule, int *used)
{
	*used = 0;
	if (dv == AG_DNS_PASS)
		return verdict;
	if (dv == AG_ALLOW) {
		if (verdict == AG_ALLOW || (flags & AG_NET_F_RULE_DENY))
			return verdict;
		*used = 1;
		*rule = dr;
		return AG_ALLOW;
	}
	if (dv > verdict || (dv == verdict && verdict != AG_ALLOW)) {
		*used = 1;
		*rule = dr;
		return dv;
	}
	return verdict;
}

static __always_inline void ag_fs_consider(const struct ag_fs_val *v, __u32 want, __u32 cls,
					   int *verdict, __u32 *rule)
{
	if (!(want & (1u << cls)))
		return;
	if ((int)v->verdict[cls] > *verdict) {
		*verdict = v->verdict[cls];
		*rule = v->rule[cls];
	}
}

/*
 * The strongest verdict over the classes asked for, and the rule that gave it. Exec and write
 * come first so that, on a tie, the event names the rule for the more specific access.
 */
static __always_inline __u8 ag_fs_val_verdict(const struct ag_fs_val *v, __u32 want, __u32 *rule)
{
	int verdict = -1;

	*rule = AG_RULE_NONE;
	ag_fs_consider(v, want, AG_FS_EXEC, &verdict, rule);
	ag_fs_consider(v, want, AG_FS_WRITE, &verdict, rule);
	ag_fs_consider(v, want, AG_FS_READ, &verdict, rule);
	return verdict < 0 ? AG_DENY : (__u8)verdict;
}

/*
 * Renaming, removing or replacing the path an entry is exactly for (not a longer path it is a
 * prefix of): the stronger of verdict, the path's own write verdict, and the entry's guard.
 * *rule follows the verdict returned; on a tie the path's own rule is kept.
 */
static __always_inline __u8 ag_fs_val_guarded(const struct ag_fs_val *v, __u8 verdict,
					      __u32 *rule)
{
	if (v->guard > verdict) {
		*rule = v->guard_rule;
		return v->guard;
	}
	return verdict;
}

/*
 * The path hash, one definition for both sides. FNV-1a-style per byte from a secret seed,
 * finished with the length and a 64-bit avalanche so prefixes of different length differ.
 */
#define AG_HASH_PRIME 0x100000001b3ULL

static __always_inline __u64 ag_path_hash_step(__u64 h, __u8 c)
{
	return (h ^ c) * AG_HASH_PRIME;
}

static __always_inline __u64 ag_path_hash_final(__u64 h, __u32 len)
{
	h ^= (__u64)len * 0x9e3779b97f4a7c15ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* An upgrade reads another build's ag_state this far (userspace/loader.c: open_old). */
_Static_assert(__builtin_offsetof(struct ag_state, sandbox_cgid) == 0, "ag_state prefix");
_Static_assert(__builtin_offsetof(struct ag_state, generation_seq) == 24, "ag_state prefix");
_Static_assert(sizeof(struct ag_fs_key) == 8, "ag_fs_key ABI");
_Static_assert(sizeof(struct ag_fs_val) == 20, "ag_fs_val ABI");
_Static_assert(sizeof(struct ag_net_key) == 20, "ag_net_key ABI");
_Static_assert(sizeof(struct ag_net_seg) == 12, "ag_net_seg ABI");
_Static_assert(sizeof(struct ag_net_val) == 16 + 12 * AG_NET_MAX_SEGS, "ag_net_val ABI");
_Static_assert(sizeof(struct ag_state) == 32, "ag_state ABI");
_Static_assert(__builtin_offsetof(struct ag_state, generation_seq) % 8 == 0 &&
		       __builtin_offsetof(struct ag_state, learn_seq) ==
			       __builtin_offsetof(struct ag_state, generation_seq) + 4,
	       "generation_seq and learn_seq share one aligned word");
_Static_assert(sizeof(struct ag_dns_key) == 16, "ag_dns_key ABI");
_Static_assert(sizeof(struct ag_dns_gen) == 8 + sizeof(struct ag_net_val), "ag_dns_gen ABI");
_Static_assert(sizeof(struct ag_dns_learned) ==
		       16 + 16 * AG_DNS_NAMES + AG_GENERATIONS * sizeof(struct ag_dns_gen),
	       "ag_dns_learned ABI");
_Static_assert(sizeof(struct ag_dns_cfg) == 24, "ag_dns_cfg ABI");
_Static_assert(sizeof(struct ag_dns_name_rec) == 4 + AG_DNS_NAME_LEN, "ag_dns_name_rec ABI");
_Static_assert(sizeof(struct ag_proc) == 8 + AG_EXE_MAX + AG_ANCESTRY_MAX * AG_ANCESTOR_MAX,
	       "ag_proc ABI");
_Static_assert(sizeof(struct ag_event_hdr) == 96 + sizeof(struct ag_proc), "ag_event_hdr ABI");
_Static_assert(sizeof(struct ag_fold) == 64, "ag_fold ABI");
_Static_assert(sizeof(struct ag_event_fold) == sizeof(struct ag_event_hdr) + 8,
	       "ag_event_fold ABI");
_Static_assert(sizeof(struct ag_event_file) == sizeof(struct ag_event_hdr) + 8 + AG_PATH_MAX,
	       "ag_event_file ABI");
_Static_assert(sizeof(struct ag_event_net) == sizeof(struct ag_event_hdr) + 40,
	       "ag_event_net ABI");
_Static_assert(sizeof(struct ag_event_contain) == sizeof(struct ag_event_hdr) + 24 + 64,
	       "ag_event_contain ABI");
_Static_assert(sizeof(struct ag_inode_key) == 16, "ag_inode_key ABI");
_Static_assert(sizeof(struct ag_drop_key) == 8, "ag_drop_key ABI");
_Static_assert(sizeof(struct ag_unix_name_key) == 112, "ag_unix_name_key ABI");

#endif /* AGENTGUARD_ABI_H */
