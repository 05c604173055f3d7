// SPDX-License-Identifier: GPL-2.0
/*
 * Network enforcement: cgroup/connect4|6 and cgroup/sendmsg4|6 (unconnected UDP and TCP Fast
 * Open's connect), attached to the sandbox cgroup (so they run for sockets created in it and
 * below it).
 *
 * These programs read only the context and maps (no BPF_CORE_READ): they must also load on
 * hosts in lockdown=confidentiality, where bpf_probe_read_kernel is unavailable.
 * Fail mode: no table for the active generation, or a protocol other than TCP/UDP, denies.
 * Return 1 lets connect() proceed, 0 makes it fail with EPERM.
 */
#include "common.bpf.h"

#define AG_SOCK_STREAM	1
#define AG_SOCK_DGRAM	2
#define AG_IPPROTO_TCP	6
#define AG_IPPROTO_UDP	17
#define AG_AF_INET	2
#define AG_AF_INET6	10

char LICENSE[] SEC("license") = "GPL";

/* Per-generation policy tables: the loader creates the inner maps, sized from the policy. */
struct ag_net_inner {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	/* Sizes, not BTF types: libbpf 1.1's linker loses inner-map key types. */
	__uint(key_size, sizeof(struct ag_net_key));
	__uint(value_size, sizeof(struct ag_net_val));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, AG_GENERATIONS);
	__type(key, __u32);
	__array(values, struct ag_net_inner);
} ag_net_gens SEC(".maps");

static __always_inline __u8 ag_sock_proto(const struct bpf_sock_addr *ctx)
{
	if (ctx->protocol == AG_IPPROTO_TCP)
		return AG_NET_TCP;
	if (ctx->protocol == AG_IPPROTO_UDP)
		return AG_NET_UDP;
	return 0;
}

static __always_inline __u8 ag_net_decide(const struct ag_state *st, const struct ag_net_key *key,
					  __u8 proto, __u16 port, __u32 *rule)
{
	__u32 gen = st->generation;
	struct ag_net_val *v;
	void *table;

	*rule = AG_RULE_NONE;
	/* Raw-ish protocols on inet sockets (ICMP ping, UDP-Lite, SCTP...): fail closed. */
	if (!proto)
		return AG_DENY;
	table = bpf_map_lookup_elem(&ag_net_gens, &gen);
	/* No table in the active slot: the loader has not finished. Fail closed. */
	if (!table)
		return AG_DENY;
	v = bpf_map_lookup_elem(table, key);
	/* ::/0 is in every compiled table; no hit means a broken table. Fail closed. */
	if (!v)
		return AG_DENY;
	return ag_net_val_verdict(v, proto, port, rule);
}

static __always_inline void ag_net_event(const struct ag_state *st, const struct ag_net_key *key,
					 const __u8 *orig, __u8 family, __u8 proto, __u16 port,
					 __u32 op, __u8 verdict, __u32 rule)
{
	struct ag_event_net *e;
	__u64 kseq = ag_next_kseq();
	int i;

	/* Ring full: the denial still happens; the drop is counted for a loss event. */
	e = ag_event_reserve(sizeof(*e), verdict, AG_EV_NETWORK, rule);
	if (!e)
		return;
	ag_fill_hdr(&e->hdr, kseq, AG_EV_NETWORK, op, verdict, rule, st);
	for (i = 0; i < 16; i++) {
		e->addr[i] = key->addr[i];
		e->orig_addr[i] = orig[i];
	}
	e->port = port;
	e->family = family;
	e->proto = proto;
	e->pad[0] = e->pad[1] = e->pad[2] = e->pad[3] = 0;
	bpf_ringbuf_submit(e, 0);
}

/*
 * orig: the destination as 16 bytes; for AF_INET as ::ffff:a.b.c.d. family is the address's,
 * never ctx->family: in sendmsg4 that is the socket's (AF_INET6 for a v6 socket sending to a
 * v4-mapped address).
 */
static __always_inline int ag_judge(struct bpf_sock_addr *ctx, const __u8 *orig, __u8 family,
				    __u32 op)
{
	struct ag_net_key key = { .prefixlen = 128 };
	struct ag_state st;
	__u16 port = bpf_ntohs((__u16)ctx->user_port);
	__u8 proto = ag_sock_proto(ctx);
	__u8 verdict;
	__u32 rule;

	/* An ARRAY lookup of index 0 cannot fail; if it did, fail closed. */
	if (ag_read_state(&st))
		return 0;
	ag_net_judged_addr(orig, key.addr);
	verdict = ag_net_decide(&st, &key, proto, port, &rule);
	ag_count_decision(AG_EV_NETWORK, verdict);
	if (verdict == AG_ALLOW)
		return 1;
	ag_net_event(&st, &key, orig, family, proto, port, op, verdict, rule);
	return verdict == AG_DENY ? 0 : 1;
}

static __always_inline int ag_judge4(struct bpf_sock_addr *ctx, __u32 op)
{
	__u8 orig[16] = {};
	__u32 ip4 = ctx->user_ip4;

	__builtin_memcpy(&orig[12], &ip4, 4);
	orig[10] = orig[11] = 0xff;
	return ag_judge(ctx, orig, AG_AF_INET, op);
}

static __always_inline int ag_judge6(struct bpf_sock_addr *ctx, __u32 op)
{
	__u32 a[4];

	a[0] = ctx->user_ip6[0];
	a[1] = ctx->user_ip6[1];
	a[2] = ctx->user_ip6[2];
	a[3] = ctx->user_ip6[3];
	return ag_judge(ctx, (const __u8 *)a, AG_AF_INET6, op);
}

SEC("cgroup/connect4")
int ag_connect4(struct bpf_sock_addr *ctx)
{
	return ag_judge4(ctx, AG_OP_CONNECT);
}

SEC("cgroup/connect6")
int ag_connect6(struct bpf_sock_addr *ctx)
{
	return ag_judge6(ctx, AG_OP_CONNECT);
}

/* Unconnected UDP: every datagram with an address is judged like a connect to it. */
SEC("cgroup/sendmsg4")
int ag_sendmsg4(struct bpf_sock_addr *ctx)
{
	return ag_judge4(ctx, AG_OP_SENDMSG);
}

SEC("cgroup/sendmsg6")
int ag_sendmsg6(struct bpf_sock_addr *ctx)
{
	return ag_judge6(ctx, AG_OP_SENDMSG);
}

/*
 * Inbound: the sandbox may bind (and so listen or receive) on loopback only: 127.0.0.0/8, ::1
 * and ::ffff:127.0.0.0/104. The wildcard and every other local address are refused, so nothing
 * outside the machine can reach a server the agent starts. v1 policy cannot widen this.
 */
static __always_inline int ag_bind(struct bpf_sock_addr *ctx, const __u8 *orig, __u8 family)
{
	struct ag_net_key key = { .prefixlen = 128 };
	struct ag_state st;
	__u16 port = bpf_ntohs((__u16)ctx->user_port);
	int i;

	if (ag_addr_is_loopback(orig))
		return 1;
	/* An ARRAY lookup of index 0 cannot fail; if it did, deny without an event. */
	if (ag_read_state(&st))
		return 0;
	for (i = 0; i < 16; i++)
		key.addr[i] = orig[i];
	ag_net_event(&st, &key, orig, family, ag_sock_proto(ctx), port, AG_OP_BIND, AG_DENY,
		     AG_RULE_BUILTIN | AG_BR_INBOUND);
	return 0;
}

SEC("cgroup/bind4")
int ag_bind4(struct bpf_sock_addr *ctx)
{
	__u8 orig[16] = {};
	__u32 ip4 = ctx->user_ip4;

	__builtin_memcpy(&orig[12], &ip4, 4);
	orig[10] = orig[11] = 0xff;
	return ag_bind(ctx, orig, AG_AF_INET);
}

SEC("cgroup/bind6")
int ag_bind6(struct bpf_sock_addr *ctx)
{
	__u32 a[4];

	a[0] = ctx->user_ip6[0];
	a[1] = ctx->user_ip6[1];
	a[2] = ctx->user_ip6[2];
	a[3] = ctx->user_ip6[3];
	return ag_bind(ctx, (const __u8 *)a, AG_AF_INET6);
}

/*
 * Ring usage for the metrics: userspace runs this with BPF_PROG_TEST_RUN (libbpf 1.1 has no
 * ring-usage API). Never attached.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} ag_ring_usage SEC(".maps");

SEC("syscall")
int ag_ring_query(void *ctx)
{
	__u32 deny = 0, other = 1;
	__u64 v;

	v = bpf_ringbuf_query(&ag_deny_events, BPF_RB_AVAIL_DATA);
	bpf_map_update_elem(&ag_ring_usage, &deny, &v, 0);
	v = bpf_ringbuf_query(&ag_events, BPF_RB_AVAIL_DATA);
	bpf_map_update_elem(&ag_ring_usage, &other, &v, 0);
	return 0;
}

/*
 * listen() binds an unbound socket to the wildcard itself, without running the bind hooks: so
 * listening is judged too. Loopback only, as for bind. An LSM program (guest kernels).
 */
SEC("lsm/socket_listen")
int BPF_PROG(ag_socket_listen, struct socket *sock, int backlog, int ret)
{
	struct ag_net_key key = { .prefixlen = 128 };
	struct sock *sk = sock->sk;
	struct ag_state st;
	__u8 a[16] = {};
	__u16 family;
	__u32 v4;
	int i;

	if (ret)
		return ret;
	/* No state is impossible (ARRAY index 0) and means no sandbox: nothing to judge. */
	if (!sk || ag_read_state(&st) || !ag_in_sandbox(&st))
		return 0;
	family = sk->__sk_common.skc_family;
	if (family == AG_AF_INET) {
		v4 = sk->__sk_common.skc_rcv_saddr;
		__builtin_memcpy(&a[12], &v4, 4);
		a[10] = a[11] = 0xff;
	} else if (family == AG_AF_INET6) {
		for (i = 0; i < 16; i++)
			a[i] = sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8[i];
	} else {
		return 0;	/* unix and the rest: not inbound network */
	}
	if (ag_addr_is_loopback(a))
		return 0;
	for (i = 0; i < 16; i++)
		key.addr[i] = a[i];
	ag_net_event(&st, &key, a, family, AG_NET_TCP, sk->__sk_common.skc_num,
		     AG_OP_LISTEN, AG_DENY, AG_RULE_BUILTIN | AG_BR_INBOUND);
	return -EPERM;
}
