/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host side of a microVM sandbox's network (issue #11): the tap QEMU gets, the nftables
 * table that filters it (built with libnftnl, on forward and input, from the compiled policy),
 * and the host-side resolver that is the only DNS server the tap may reach and whose answers
 * for allowed names fill the table's sets. The guest never feeds the host an allow-list entry.
 *
 * Lifetime: everything dies with the process that called ag_sbx_net_up (the table is owned by
 * its netlink socket, the tap is not persistent); ag_sbx_net_cleanup_stale removes what a
 * runner killed before that could happen would otherwise leave.
 *
 * Interface agreed between the network and the VM halves of issue #11; either side may extend
 * it, keeping the calls below.
 */
#ifndef AG_SANDBOX_NET_H
#define AG_SANDBOX_NET_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include "compile.h"
#include "resolver.h"
#include "sandbox_nft.h"

/* Addresses of one sandbox: a /30 of its own; host .1, guest .2. */
struct ag_sbx_net_plan {
	char tap[IFNAMSIZ];		/* "agt-" + a short form of the sandbox name */
	struct in_addr host_addr;	/* the tap's address: gateway and resolver */
	struct in_addr guest_addr;
	unsigned int prefix_len;	/* 30 */
	unsigned char guest_mac[6];	/* for QEMU's virtio-net mac=: the only one let in */
	char uplink[IFNAMSIZ];		/* the default route's interface, "" if none */
	char table[64];			/* "agentguard-NAME", families inet and netdev */
	/*
	 * Give QEMU this descriptor too (like the tap fd: FD_CLOEXEC cleared in its child
	 * only; QEMU never uses it). It owns the guard table (netdev "agentguard-NAME.guard"),
	 * which drops everything from the tap that the filter did not let in: should QEMU
	 * outlive the runner, the tap is cut off instead of forwarding unfiltered. Valid until
	 * ag_sbx_net_down. docs/sandbox.md, "Lifetime and leftovers".
	 */
	int guard_fd;
};

struct ag_sbx_net_opts {
	const char *name;		/* sandbox name: [a-z0-9][a-z0-9-]{0,30} */
	uid_t tap_owner;		/* unused: the tap has no owner (QEMU gets its fd) */
	const char *upstream_resolv_conf; /* the host resolver's upstreams (/etc/resolv.conf) */
	/* Optional. A binding lasts at least / at most this long (resolver.h: 30 and 3600). */
	unsigned int ttl_floor_s, ttl_cap_s;
	/*
	 * Optional: every refused query, for a dns event with origin host (called from the
	 * resolver's thread). NULL: only counted in dns_refused.
	 */
	ag_resolver_report_fn dns_report;
	void *dns_report_ctx;
	/* Optional: at most this many flows from the guest tracked at once (AG_SBX_CONN_MAX). */
	unsigned int conn_max;
};

#define AG_SBX_CONN_MAX	4096

struct ag_sbx_net_stats {
	unsigned long long dropped_packets;	/* everything the table dropped, forward + input */
	unsigned long long dropped_spoofed;	/* of those, with a source not the guest's */
	unsigned long long dns_refused;		/* queries the host resolver refused */
	unsigned long long dns_withheld;	/* internal addresses withheld from answers */
	/* The named counters behind dropped_packets (docs/sandbox.md, "What is counted"). */
	unsigned long long dropped_not_ipv4;	/* IPv6, VLAN, anything but IPv4 and ARP */
	unsigned long long dropped_ip_options;	/* IPv4 with options (ip hdrlength != 5) */
	unsigned long long dropped_input;	/* to the host itself, but DNS to host_addr */
	unsigned long long dropped_dns_not_guest; /* to host_addr:53 from anyone but the tap */
	unsigned long long dropped_dns_elsewhere; /* DNS (53, 853) to anything but host_addr */
	unsigned long long dropped_forward;	/* forwarded, not allowed by the policy */
	unsigned long long dropped_conn_limit;	/* new flows over opts.conn_max */
	unsigned long long dropped_to_guest;	/* towards the guest, not part of its flows */
};

struct ag_sbx_net;

/*
 * Pick a free /30, create the tap (its fd for QEMU's -netdev tap,fd=), install the table and
 * start the resolver on host_addr:53. On error nothing is left behind. 0 or -errno.
 * Everything is made in the calling thread's network namespace. c must outlive n.
 *
 * The tap fd: IFF_TAP | IFF_NO_PI, no IFF_VNET_HDR (QEMU: -netdev tap,id=n0,fd=N,vhost=off),
 * opened O_CLOEXEC: the launcher clears FD_CLOEXEC in QEMU's child only. It stays n's: do not
 * close it, ag_sbx_net_down does. The guest must use plan->guest_mac, plan->guest_addr/30 and
 * plan->host_addr as gateway and nameserver: anything else is dropped as spoofed.
 *
 * Errors of note: -EHOSTUNREACH forwarding is off on plan->uplink (return traffic is forwarded
 * in there; net.ipv4.conf.<uplink>.forwarding=1 is the host's decision, docs/sandbox.md);
 * -EEXIST a tap or table of that name is left (ag_sbx_net_cleanup_stale), or a live sandbox of
 * another name has the same tap name (its alias, "agentguard:NAME", differs); -EADDRNOTAVAIL no
 * free /30 in 10.213.0.0/16; -ENOENT no nameserver in upstream_resolv_conf.
 */
int ag_sbx_net_up(const struct ag_sbx_net_opts *o, const struct ag_compiled *c,
		  struct ag_sbx_net **out, struct ag_sbx_net_plan *plan, int *tap_fd);
int ag_sbx_net_stats(struct ag_sbx_net *n, struct ag_sbx_net_stats *s);
/* Stop the resolver, delete the table, close the tap. */
void ag_sbx_net_down(struct ag_sbx_net *n);
/*
 * Delete the table and tap of sandbox `name` left by a runner that is gone. 0 or -errno;
 * -EBUSY: its table is owned by a live runner (nothing touched); -EEXIST: an interface of the
 * tap's name that is not a tun device, or whose alias is not "agentguard:NAME" (another
 * sandbox's, or not agentguard's: left alone). Nothing there is not an error.
 */
int ag_sbx_net_cleanup_stale(const char *name);

/*
 * What the tables hold, computed without a kernel: for tests that check the host filter
 * decides as the kernel does (tests/unit/test_sbx_policy.c). Whether a new flow passes is
 * ag_sbx_elems_pass, from the same table the forward chain's rules are made from.
 * Elements are address ranges (host order) . protocol . port ranges; free(e) when done.
 */
struct ag_sbx_elems {
	struct ag_nft_elem *e;
	size_t n;
};

/* The forward chain's sets, by what they hold. */
enum ag_sbx_set {
	AG_SBX_POLICY_ALLOW,	/* policy_allow */
	AG_SBX_POLICY_DENY,	/* policy_rule_deny: explicit deny rules */
	AG_SBX_DNS_ALLOW,	/* dns_allow: bindings' allowed ports */
	AG_SBX_DNS_DENY,	/* dns_deny: bindings' denied ports */
	AG_SBX_SET_N,
};

/*
 * Whether a new flow from the guest to (addr host order, proto IPPROTO_*, port) passes the
 * forward chain's set rules, given what each set holds (sets[i] NULL: empty): the first set
 * in the chain's order that holds it decides; in none, dropped. Ports 53 and 853 and
 * link-local are dropped before these rules and are not modelled here.
 */
bool ag_sbx_elems_pass(const struct ag_sbx_elems *const sets[AG_SBX_SET_N], __u32 addr,
		       __u8 proto, __u16 port);

/* policy_allow and policy_rule_deny, from c's IPv4 LPM table. 0 or -ENOMEM. */
int ag_sbx_policy_elems(const struct ag_compiled *c, struct ag_sbx_elems *allow,
			struct ag_sbx_elems *deny);
/* dns_allow and dns_deny for addr (host order) bound to names[0..n). 0 or -errno. */
int ag_sbx_learned_elems(const struct ag_compiled *c, const char *const *names, size_t n,
			 __u32 addr, struct ag_sbx_elems *allow, struct ag_sbx_elems *deny);

#endif /* AG_SANDBOX_NET_H */
