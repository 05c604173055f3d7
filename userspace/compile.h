/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Policies (layers) → one effective table per surface, in the kernel's key/value formats.
 * The kernel decides with one lookup walk per access whatever the number of rules or layers;
 * everything layer-related is folded here. Needs no privileges and no kernel.
 */
#ifndef AG_COMPILE_H
#define AG_COMPILE_H

#include <linux/types.h>
#include "agentguard_abi.h"
#include "policy.h"

enum ag_rule_kind {
	AG_RK_FS_RULE,
	AG_RK_FS_DEFAULT,
	AG_RK_NET_RULE,
	AG_RK_NET_DEFAULT,
	AG_RK_UNIX_RULE,
	AG_RK_INBOUND_RULE,
};

/*
 * Built-in rules userspace alone applies (the resolver, issue #9), numbered after the kernel's
 * (enum ag_builtin_rule in agentguard_abi.h), which no kernel record goes beyond; events name
 * them like the others, as builtin:NAME.
 */
enum {
	AG_BR_DNS_REBIND = AG_BR_COUNT,	/* internal addresses in answers (DNS rebinding) */
	AG_BR_ALL_COUNT,
};

/* What a rule index in the kernel tables and events refers to. */
struct ag_rule_ref {
	char *id;			/* "ci-agent:filesystem[2]", an explicit id, or "...default" */
	const struct ag_policy *policy;
	enum ag_rule_kind kind;
	enum ag_layer layer;
	enum ag_mode mode;		/* effective: the rule's own or its policy's */
	struct ag_pos pos;
};

/* A unix socket outside the sandbox that every layer allows (spec.unix). */
struct ag_unix_entry {
	const char *path;	/* borrowed from the policy: a pathname socket, or NULL */
	const char *abstract;	/* borrowed: an abstract name, or NULL */
	size_t abstract_len;
	__u32 rule;		/* the lowest layer's rule that lists it */
};

struct ag_fs_entry {
	char *path;			/* the rule path this entry is keyed by */
	struct ag_fs_val val;
	/*
	 * No rule has this path: the entry is there for its guard only (an ancestor of a
	 * stricter rule's path, threat model R11) or for the table's prefix closure (an
	 * ancestor of any entry, no guard), with the verdicts of its longest prefix.
	 * Inode-based enforcement (the Landlock fallback) has no use for it.
	 */
	bool guard_only;
};

/* A domain rule (spec.network.rules[].domain): never in the LPM table (issue #9). */
struct ag_domain_rule {
	const char *pattern;		/* borrowed: "api.example.com" or "*.example.com" */
	__u32 rule;			/* rule index */
	size_t policy;			/* layer position */
	const struct ag_net_rule *r;	/* borrowed: action, ports, protocol */
};

struct ag_net_entry {
	struct ag_net_key key;
	struct ag_net_val val;
};

/*
 * The sandbox cgroup's limits: the smallest value any layer sets, else the default
 * (docs/containment.md): pids.max 4096, memory.max 75% of RAM, cpu.max unlimited, and always
 * cpu.weight 50 so the daemon wins under contention.
 */
struct ag_limits {
	bool memory_set, pids_set, cpu_set;	/* set by a policy; else the default applies */
	uint64_t memory_max;	/* bytes */
	uint64_t pids_max;
	uint32_t cpu_max_percent;	/* of one CPU */
};

/*
 * spec.process, merged: io_uring only if every layer allows it (a layer that says nothing
 * keeps the default, false, so no lower layer can widen a higher one).
 */
struct ag_process_rules {
	bool io_uring;
};

struct ag_compiled {
	struct ag_policy **policies;	/* borrowed, in layer order as given */
	size_t n_policies;
	struct ag_rule_ref *rules;
	size_t n_rules;
	struct ag_fs_entry *fs;
	size_t n_fs;
	struct ag_net_entry *net;
	size_t n_net;
	struct ag_limits limits;
	struct ag_process_rules process;
	struct ag_unix_entry *unx;
	size_t n_unix;
	struct ag_domain_rule *dom;	/* every layer's domain rules, in policy and rule order */
	size_t n_dom;
	struct ag_inbound inbound[AG_INBOUND_MAX];	/* spec.network.inbound in effect */
	size_t n_inbound;
	uint8_t sha256[32];		/* of the policies' sha256 values, in order */
	char sha256_hex[65];
};

/*
 * Fold policies into tables. Returns 0, -EINVAL with diagnostics (e.g. a port segment bound
 * exceeded, a duplicate rule path, a rule kind this build cannot enforce), or -ENOMEM.
 */
int ag_compile(struct ag_policy **policies, size_t n, struct ag_compiled **out,
	       struct ag_diags *diags);
void ag_compiled_free(struct ag_compiled *c);

/* The kernel's hash of a rule path under seed, as bpf/file.bpf.c computes it. */
__u64 ag_fs_path_key(const char *path, size_t len, __u64 seed);

/*
 * The same decisions as the kernel, for explain and for tests that check the two agree.
 * path must be normalised and absolute; addr as in ag_net_key (IPv4 as ::ffff:a.b.c.d).
 */
enum ag_verdict ag_fs_decide_user(const struct ag_compiled *c, const char *path, __u32 want,
				  __u32 *rule);
enum ag_verdict ag_net_decide_user(const struct ag_compiled *c, const __u8 addr[16], __u8 proto,
				   __u16 port, __u32 *rule);
/*
 * Could the kernel let anything write at dir or anywhere below it (a normalised absolute path
 * without a trailing slash)? Allowed or would-deny (audit mode writes) at dir itself, or at a
 * rule's path below it, in the verdicts ag_fs_decide_user gives. Decides whether the sandbox
 * runner shares the workspace read-write (cmd_sandbox.c).
 */
bool ag_fs_write_possible_under(const struct ag_compiled *c, const char *dir);
/*
 * As the kernel judges renaming, removing or replacing path itself (rename, rmdir, unlink,
 * symlink): its write verdict, then the guard of its own entry (threat model R11).
 */
enum ag_verdict ag_fs_guarded_user(const struct ag_compiled *c, const char *path, __u32 *rule);

/*
 * A running sandbox's side of a connect decision, read from its pinned maps (explain): the
 * resolver path and the learned bindings, with the generation in force and the time.
 */
struct ag_net_live {
	struct ag_state state;		/* ag_state[0]: generation_seq in force */
	struct ag_dns_cfg cfg;		/* ag_dns_cfg[0]; enabled 0: no resolver */
	__u64 now_ns;			/* CLOCK_BOOTTIME, as the programs read it */
	/* The learned entry of a judged address into *e: 0, or -ENOENT. */
	int (*lookup)(void *ctx, const __u8 judged[16], struct ag_dns_learned *e);
	void *ctx;
};

enum ag_learned_state {
	AG_LEARNED_NONE,		/* no entry for the address */
	AG_LEARNED_EXPIRED,		/* an entry whose expiry has passed: no say */
	AG_LEARNED_OTHER_GEN,		/* not yet written for the generation in force: no say */
	AG_LEARNED_LIVE,		/* consulted */
};

/* Why the deciding candidate got its verdict. */
struct ag_net_why {
	__u8 judged[16];		/* the candidate address that decided */
	bool resolver;			/* it is the resolver's address and port */
	bool dns_elsewhere;		/* DNS to anything else (builtin:dns-elsewhere) */
	enum ag_learned_state learned;
	bool used;			/* a live binding decided (the rule is its domain rule) */
	struct ag_dns_learned binding;	/* the entry, from AG_LEARNED_EXPIRED on */
};

/*
 * As bpf/net.bpf.c ag_judge, for one sandbox: every candidate IPv4 layout, the resolver path,
 * the LPM decision and the live binding of each, the strictest verdict. live NULL: the policy
 * alone (no resolver, nothing learned), which is ag_net_decide_user.
 */
enum ag_verdict ag_net_decide_live(const struct ag_compiled *c, const __u8 addr[16], __u8 proto,
				   __u16 port, const struct ag_net_live *live, __u32 *rule,
				   struct ag_net_why *why);

/*
 * May the sandbox bind (or listen on) addr:port? Loopback always; else what every layer's
 * spec.network.inbound allows. rule: the allowing rule, or AG_RULE_BUILTIN | AG_BR_INBOUND.
 */
enum ag_verdict ag_inbound_decide_user(const struct ag_compiled *c, const __u8 addr[16],
				       __u8 proto, __u16 port, __u32 *rule);

/* Would a sandbox process reach a unix socket whose owner is outside? path or "@name". */
enum ag_verdict ag_unix_decide_user(const struct ag_compiled *c, const char *target, __u32 *rule);

/*
 * Domain rules (docs/policy.md, "Domain rules"). Does pattern ("x.test" exactly, "*.x.test"
 * any name below x.test) match name (lower case, no trailing dot)?
 */
bool ag_domain_match(const char *pattern, const char *name);
/*
 * Does the resolver answer a query for name (ALLOW: forward it upstream), or refuse it? Per
 * layer: a matching deny rule for every port and protocol refuses; else a matching allow
 * rule, or a default of allow, answers; else the layer's default refuses. Folded across layers
 * as everything else. rule: the deciding rule.
 */
enum ag_verdict ag_dns_query_decide(const struct ag_compiled *c, const char *name, __u32 *rule);
/*
 * DNS rebinding (docs/policy.md, "Internal addresses"). Is addr (16 bytes, IPv4 as
 * ::ffff:a.b.c.d; any form, judged here) in a range an answer from the public DNS has no
 * business naming: RFC 1918 10/8, 172.16/12, 192.168/16; loopback 127/8 and ::1; 0.0.0.0/8 and
 * ::; link-local 169.254/16 and fe80::/10; CGNAT 100.64/10; ULA fc00::/7; site-local
 * fec0::/10; multicast 224/4 and ff00::/8; the broadcast 255.255.255.255. An IPv6 form that
 * carries an IPv4 address is judged as it (every layout of local-use NAT64: any internal one).
 */
bool ag_net_addr_internal(const __u8 addr[16]);
/*
 * Does the resolver withhold an answer's address: internal, and the policy alone (its CIDR and
 * ip rules and defaults, folded across layers, with no learned binding) allows no connection
 * to it, on any port or protocol? An address the policy already opens keeps its record.
 */
bool ag_dns_answer_withheld(const struct ag_compiled *c, const __u8 addr[16]);
/*
 * The learned value for addr (any form; NULL: not known) that names[0..n) resolved to
 * (struct ag_dns_learned): per (protocol, port), DENY/WOULD_DENY where a layer denies one of
 * the names by a domain rule, ALLOW where every layer allows (one by a domain rule, the others
 * by one or by their default) and addr is not internal (ag_net_addr_internal: there only the
 * CIDR rules open anything), else AG_DNS_PASS. 0, or -E2BIG (more segments than fit: then a
 * single fallback of the strictest decision is written), -ENOMEM.
 */
int ag_dns_learned_val(const struct ag_compiled *c, const __u8 addr[16],
		       const char *const *names, size_t n, struct ag_net_val *val);
/* As the kernel: an LPM decision with the learned binding of names[] applied. */
enum ag_verdict ag_net_decide_learned(const struct ag_compiled *c, const __u8 addr[16],
				      __u8 proto, __u16 port, const char *const *names, size_t n,
				      __u32 *rule);

const char *ag_verdict_name(enum ag_verdict v);

#endif /* AG_COMPILE_H */
