/* SPDX-License-Identifier: GPL-2.0 */
/*
 * agentguard's resolver (issue #9, docs/policy.md "Domain rules"): the sandbox's only
 * nameserver. It answers on one address (UDP and TCP), refuses what the policy does not allow
 * without asking anyone, forwards the rest upstream over a connected socket per query (random
 * source port and id, the question checked in the answer), learns every A/AAAA of an allowed
 * or denied name (into the kernel's ag_dns_learned map, or another backend: the microVM
 * sandbox's nft sets), and only then relays the answer.
 * The daemon runs outside the sandbox cgroup, so its own upstream sockets are not judged.
 *
 * It runs in a thread of its own. One lock covers its policy, its names and the learned map;
 * it is never held across network I/O or a report, so the event consumer can name domains
 * (ag_resolver_name) without waiting on a slow upstream.
 */
#ifndef AG_RESOLVER_H
#define AG_RESOLVER_H

#include <stdbool.h>
#include <sys/socket.h>
#include "compile.h"
#include "loader.h"

#define AG_RESOLVER_MAX_UPSTREAMS	4

struct ag_resolver_opts {
	struct sockaddr_storage listen;		/* where the sandbox sends its queries */
	struct sockaddr_storage upstream[AG_RESOLVER_MAX_UPSTREAMS];
	size_t n_upstream;
	unsigned int ttl_floor_s;		/* a binding lasts at least this long (30) */
	unsigned int ttl_cap_s;			/* and at most this long (3600) */
	unsigned int timeout_ms;		/* per upstream attempt (2000) */
};

/*
 * One refused (or, in audit mode, would-be refused) query, or one address withheld from an
 * answer (DNS rebinding: ag_dns_answer_withheld), for a dns event.
 */
struct ag_dns_report {
	const char *name;		/* escaped text (dns.h), "" when there was no question */
	const char *address;		/* a withheld address ("10.0.0.5"), else NULL */
	__u16 qtype;
	__u8 rcode;			/* what the client got */
	__u8 verdict;			/* AG_DENY or AG_WOULD_DENY */
	__u32 rule;			/* the deciding rule, or AG_RULE_BUILTIN | AG_BR_DNS_* */
	__u32 generation;		/* generation_seq the rule index belongs to */
	const char *client;		/* "addr:port" of the querying socket */
	const char *transport;		/* "udp" or "tcp" */
};

typedef void (*ag_resolver_report_fn)(void *ctx, const struct ag_dns_report *r);

struct ag_resolver;

/* Parse "ADDR:PORT", "[V6]:PORT" or "ADDR" (port 53) into ss. 0 or -EINVAL. */
int ag_resolver_parse_addr(const char *s, struct sockaddr_storage *ss);
/* The nameservers of a resolv.conf, for a default upstream: how many were added. */
int ag_resolver_upstreams_from(const char *resolv_conf, struct ag_resolver_opts *o);
/* Remove every upstream equal to addr (address and port). */
void ag_resolver_drop_upstream(struct ag_resolver_opts *o, const struct sockaddr_storage *addr);
/*
 * Where the answers of allowed names are learned. learn is called from the resolver's thread
 * with its lock held, for every A and AAAA of an answer (judged form) that is relayed (an
 * internal address the policy does not open is withheld, not learned), before the answer is
 * relayed: the binding's name (the question's, or the first name of its CNAME chain that a
 * deny rule matches), and its lifetime in seconds (the upstream's TTL raised to ttl_floor_s,
 * capped at ttl_cap_s). 0, or -errno: then the client gets SERVFAIL, not the answer.
 * ag_resolver_open uses the kernel's ag_dns_learned map; ag_resolver_open_backend another
 * (the sandbox's nft sets, sandbox_net.c).
 */
struct ag_resolver_backend {
	int (*learn)(void *ctx, const struct ag_compiled *c, const __u8 judged[16],
		     const char *name, __u32 ttl_s);
	void *ctx;
};

/*
 * Bind the listening sockets, point the kernel's resolver path at them (DNS elsewhere denied)
 * and take over rewriting bindings at every install. Before ag_loader_attach, after the first
 * ag_loader_install. Bindings an earlier daemon left (adopted pins) keep their names
 * (ag_dns_names) and get their verdicts for the generation in force. c must stay valid until
 * replaced by ag_resolver_install.
 */
int ag_resolver_open(const struct ag_resolver_opts *o, struct ag_loader *l,
		     const struct ag_compiled *c, struct ag_resolver **out);
/*
 * As ag_resolver_open without a loader: bindings go to be alone, and nothing of the kernel's
 * resolver path is touched. ag_resolver_install then fails with -EOPNOTSUPP: the backend's
 * bindings could not follow a new policy; the generation in reports stays 0.
 */
int ag_resolver_open_backend(const struct ag_resolver_opts *o, const struct ag_resolver_backend *be,
			     const struct ag_compiled *c, struct ag_resolver **out);
/* Serve in a thread; report is called (from that thread) for every refused query. */
int ag_resolver_start(struct ag_resolver *r, ag_resolver_report_fn report, void *ctx);
/*
 * Install c as the active policy, rewriting every binding for it first (no query in between).
 * -EOPNOTSUPP on a resolver opened with ag_resolver_open_backend.
 */
int ag_resolver_install(struct ag_resolver *r, const struct ag_compiled *c);
/*
 * Another installer made generation seq (compiled as c) active: agentguard reload, or this
 * daemon's SIGHUP through ag_install_generation. Every binding gets its verdicts for seq, and
 * new ones are computed from c. c must stay valid until the next follow.
 */
int ag_resolver_follow(struct ag_resolver *r, const struct ag_compiled *c, __u32 seq);
/* Hold off learning while this thread installs a generation (the hook runs in it). */
void ag_resolver_lock(struct ag_resolver *r);
void ag_resolver_unlock(struct ag_resolver *r);
/* Addresses withheld from answers so far (ag_dns_answer_withheld), each also reported. */
unsigned long long ag_resolver_withheld(struct ag_resolver *r);
/* The name behind a name id in a network event, into buf; NULL if no longer known. */
const char *ag_resolver_name(void *r, __u32 id, char *buf, size_t len);
/* Stops the thread, closes the sockets. The bindings stay in the loader's map. NULL-safe. */
void ag_resolver_close(struct ag_resolver *r);

#endif /* AG_RESOLVER_H */
