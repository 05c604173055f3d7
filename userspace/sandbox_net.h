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

/* Addresses of one sandbox: a /30 of its own; host .1, guest .2. */
struct ag_sbx_net_plan {
	char tap[IFNAMSIZ];		/* "agt-" + a short form of the sandbox name */
	struct in_addr host_addr;	/* the tap's address: gateway and resolver */
	struct in_addr guest_addr;
	unsigned int prefix_len;	/* 30 */
	unsigned char guest_mac[6];
};

struct ag_sbx_net_opts {
	const char *name;		/* sandbox name: [a-z0-9][a-z0-9-]{0,30} */
	uid_t tap_owner;		/* the uid QEMU runs as */
	const char *upstream_resolv_conf; /* the host resolver's upstreams (/etc/resolv.conf) */
};

struct ag_sbx_net_stats {
	unsigned long long dropped_packets;	/* everything the table dropped, forward + input */
	unsigned long long dropped_spoofed;	/* of those, with a source not the guest's */
	unsigned long long dns_refused;		/* queries the host resolver refused */
};

struct ag_sbx_net;

/*
 * Pick a free /30, create the tap (its fd for QEMU's -netdev tap,fd=), install the table and
 * start the resolver on host_addr:53. On error nothing is left behind. 0 or -errno.
 */
int ag_sbx_net_up(const struct ag_sbx_net_opts *o, const struct ag_compiled *c,
		  struct ag_sbx_net **out, struct ag_sbx_net_plan *plan, int *tap_fd);
int ag_sbx_net_stats(struct ag_sbx_net *n, struct ag_sbx_net_stats *s);
/* Stop the resolver, delete the table, close the tap. */
void ag_sbx_net_down(struct ag_sbx_net *n);
/* Delete the table and tap of sandbox `name` left by a runner that is gone. 0 or -errno. */
int ag_sbx_net_cleanup_stale(const char *name);

#endif /* AG_SANDBOX_NET_H */
