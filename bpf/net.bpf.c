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

/* The ag_proc of the socket's creator (proc.bpf.c), or NULL. */
static __always_inline const struct ag_proc *ag_sock_proc(struct bpf_sock_addr *ctx)
{
	struct bpf_sock *sk = ctx->sk;

	if (!sk)
		return NULL;
	return bpf_sk_storage_get(&ag_sk_procs, sk, 0, 0);
}

/*
 * A per-CPU cache of recent decisions, so a process connecting to the same place again skips
 * the LPM walk (make bench: connect_vs_empty_prog_10). Keyed by everything the decision
 * depends on, generation included, so a new policy never meets an old verdict. Entries are
 * written without locks; a program preempted half-way through writing one could leave it torn,
 * so each carries a checksum of its contents and a mismatch is a miss (fail: recompute).
 */
#define AG_NET_CACHE_SLOTS 256

struct ag_net_cache_ent {
	__u64 check;		/* ag_net_cache_sum of the rest; 0: empty */
	__u64 a0, a1;		/* the judged address */
	__u32 port_proto;	/* port << 8 | proto */
	__u32 generation_seq;
	__u32 rule;
	__u32 verdict;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AG_NET_CACHE_SLOTS);
	__type(key, __u32);
	__type(value, struct ag_net_cache_ent);
} ag_net_cache SEC(".maps");

/* One multiply: enough to catch a torn entry, which is all it is for (not a secret). */
static __always_inline __u64 ag_net_cache_sum(__u64 a0, __u64 a1, __u32 port_proto, __u32 gen,
					      __u32 rule, __u32 verdict)
{
	__u64 h = a0 ^ (a1 << 1) ^ ((__u64)port_proto << 32 | gen) ^ ((__u64)rule << 8 | verdict);

	h *= 0x9e3779b97f4a7c15ull;
	return (h ^ (h >> 29)) | 1;
}

/* The uncached decision: the active generation's LPM table. *flags: AG_NET_F_* of it. */
static __always_inline __u8 ag_net_decide_lpm(const struct ag_state *st,
					      const struct ag_net_key *key, __u8 proto,
					      __u16 port, __u32 *rule, __u8 *flags)
{
	__u32 gen = ag_state_slot(st);
	struct ag_net_val *v;
	void *table;

	*rule = AG_RULE_NONE;
	/* The fail-closed denials below carry RULE_DENY: no learned address can lift them. */
	*flags = AG_NET_F_RULE_DENY;
	table = bpf_map_lookup_elem(&ag_net_gens, &gen);
	/* No table in the active slot: the loader has not finished. Fail closed. */
	if (!table)
		return AG_DENY;
	v = bpf_map_lookup_elem(table, key);
	/* ::/0 is in every compiled table; no hit means a broken table. Fail closed. */
	if (!v)
		return AG_DENY;
	return ag_net_val_verdict_f(v, proto, port, rule, flags);
}

static __always_inline __u8 ag_net_decide(const struct ag_state *st, const struct ag_net_key *key,
					  __u8 proto, __u16 port, __u32 *rule, __u8 *flags)
{
	__u32 port_proto = (__u32)port << 8 | proto, slot;
	struct ag_net_cache_ent *c;
	__u64 a0, a1;
	__u8 verdict;

	*rule = AG_RULE_NONE;
	*flags = AG_NET_F_RULE_DENY;
	/* Raw-ish protocols on inet sockets (ICMP ping, UDP-Lite, SCTP...): fail closed. */
	if (!proto)
		return AG_DENY;
	__builtin_memcpy(&a0, &key->addr[0], 8);
	__builtin_memcpy(&a1, &key->addr[8], 8);
	slot = ((__u32)(a1 ^ (a1 >> 32) ^ (a0 >> 7)) ^ port_proto) * 0x9e3779b1u >> 24;
	c = bpf_map_lookup_elem(&ag_net_cache, &slot);
	if (c && c->a0 == a0 && c->a1 == a1 && c->port_proto == port_proto &&
	    c->generation_seq == st->generation_seq &&
	    c->check == ag_net_cache_sum(a0, a1, port_proto, st->generation_seq, c->rule,
					 c->verdict)) {
		*rule = c->rule;
		*flags = c->verdict >> 8;
		return c->verdict & 0xff;
	}
	verdict = ag_net_decide_lpm(st, key, proto, port, rule, flags);
	if (c) {
		/* Same-CPU preemption is the only other writer: order the stores, not atomics. */
		c->check = 0;
		asm volatile("" ::: "memory");
		c->a0 = a0;
		c->a1 = a1;
		c->port_proto = port_proto;
		c->generation_seq = st->generation_seq;
		c->rule = *rule;
		c->verdict = verdict | (__u32)*flags << 8;
		asm volatile("" ::: "memory");
		c->check = ag_net_cache_sum(a0, a1, port_proto, st->generation_seq, *rule,
					    c->verdict);
	}
	return verdict;
}

/* ---- domain rules: the resolver path and learned addresses (agentguard_abi.h) ---------- */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ag_dns_cfg);
} ag_dns_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, AG_DNS_LEARNED_MAX);
	__type(key, struct ag_dns_key);
	__type(value, struct ag_dns_learned);
} ag_dns_learned SEC(".maps");

/*
 * Userspace's only (struct ag_dns_name_rec): declared here so that it is pinned, adopted and
 * unpinned with the table whose name ids it explains. Allocated per name, not up front.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, AG_DNS_NAME_SLOTS);
	__type(key, __u32);
	__type(value, struct ag_dns_name_rec);
} ag_dns_names SEC(".maps");

static __always_inline bool ag_addr_eq(const __u8 *a, const __u8 *b)
{
	__u64 a0, a1, b0, b1;

	__builtin_memcpy(&a0, a, 8);
	__builtin_memcpy(&a1, a + 8, 8);
	__builtin_memcpy(&b0, b, 8);
	__builtin_memcpy(&b1, b + 8, 8);
	return a0 == b0 && a1 == b1;
}

/*
 * The resolver path's configuration, or NULL when no resolver runs (no domain rules): then
 * nothing below is consulted, and a connect pays one ARRAY lookup for it. Fail mode: no
 * config (impossible: ARRAY index 0) is no resolver; the config is written before attach.
 */
static __always_inline const struct ag_dns_cfg *ag_dns_cfg_get(void)
{
	const struct ag_dns_cfg *cfg;
	__u32 zero = 0;

	cfg = bpf_map_lookup_elem(&ag_dns_cfg, &zero);
	return cfg && cfg->enabled ? cfg : NULL;
}

/*
 * The resolver path for a judged destination: 1 it is agentguard's resolver (allowed), 0 it
 * is DNS (53, 853, either protocol) anywhere else (denied), -1 no say.
 */
static __always_inline int ag_dns_path(const struct ag_dns_cfg *cfg, const __u8 *judged,
				       __u16 port)
{
	if (!cfg)
		return -1;
	if (port == cfg->port && ag_addr_eq(judged, cfg->addr))
		return 1;
	return ag_dns_port_locked(port) ? 0 : -1;
}

/*
 * Apply a live learned binding of the judged address to an LPM decision. An expired binding,
 * or one not written for this generation, has no say. *name_id: the name the address is known
 * by while a binding is live, whether or not it decided (an event then says which domain the
 * address belongs to, e.g. a port the domain's rule does not allow).
 */
static __always_inline __u8 ag_dns_overlay(const struct ag_state *st, const __u8 *judged,
					   __u8 proto, __u16 port, __u8 verdict, __u8 flags,
					   __u32 *rule, __u32 *name_id)
{
	struct ag_dns_key k;
	struct ag_dns_learned *d;
	__u32 slot = ag_state_slot(st) & (AG_GENERATIONS - 1), dr;
	__u8 dv, df;
	int used;

	__builtin_memcpy(k.addr, judged, 16);
	d = bpf_map_lookup_elem(&ag_dns_learned, &k);
	if (!d || bpf_ktime_get_boot_ns() >= d->expiry_ns ||
	    d->gen[slot].generation_seq != st->generation_seq)
		return verdict;
	dv = ag_net_val_verdict_f(&d->gen[slot].val, proto, port, &dr, &df);
	*name_id = d->name_id;
	return ag_dns_apply(verdict, flags, dv, dr, rule, &used);
}

/* proc: the process's ag_proc (the socket creator's for cgroup programs), or NULL. */
static __always_inline void ag_net_event(const struct ag_state *st, const struct ag_net_key *key,
					 const __u8 *orig, __u8 family, __u8 proto, __u16 port,
					 __u32 op, __u8 verdict, __u32 rule,
					 const struct ag_proc *proc, __u32 name_id)
{
	/*
	 * Identical: the same destination, port and protocol from the same process (cgroup
	 * programs read no task fields, so the image is not part of it here).
	 */
	struct ag_fold_id id = { .kind = AG_EV_NETWORK, .op = op, .rule = rule,
				 .pid = bpf_get_current_pid_tgid() >> 32 };
	struct ag_event_net *e;
	struct ag_fold *f;
	__u64 kseq, sig, a1;
	long repeats;
	int i;

	__builtin_memcpy(&id.a, &key->addr[0], 8);
	__builtin_memcpy(&a1, &key->addr[8], 8);
	/* The low 4 address bytes hold IPv4: port and protocol go in the high ones. */
	id.b = a1 ^ ((__u64)port << 8 | proto);
	id.exec_id = (__u64)port << 8 | proto;
	repeats = ag_admit(st, &id, verdict, &f, &sig);
	if (repeats < 0)
		return;
	kseq = ag_next_kseq();
	/* Ring full: the denial still happens; the drop is counted for a loss event. */
	e = ag_event_reserve(sizeof(*e), verdict, AG_EV_NETWORK, rule);
	if (!e) {
		ag_unadmit(f, repeats);
		return;
	}
	ag_fill_hdr(&e->hdr, kseq, AG_EV_NETWORK, op, verdict, rule, st);
	ag_admitted(&e->hdr, sig, repeats);
	if (proc)
		__builtin_memcpy(&e->hdr.proc, proc, sizeof(e->hdr.proc));
	for (i = 0; i < 16; i++) {
		e->addr[i] = key->addr[i];
		e->orig_addr[i] = orig[i];
	}
	e->port = port;
	e->family = family;
	e->proto = proto;
	e->name_id = name_id;
	bpf_ringbuf_submit(e, 0);
}

/* ag_judge_cand's arguments and results: one candidate address of a destination. */
struct ag_net_cand {
	struct ag_net_key key;	/* in: the judged address, prefixlen 128 */
	__u16 port;		/* in: host byte order */
	__u8 proto;		/* in: AG_NET_* (0: neither TCP nor UDP) */
	__u8 verdict;		/* out: enum ag_verdict */
	__u32 rule;		/* out */
	__u32 name_id;		/* out: the domain a live learned binding names, or 0 */
};

/*
 * Judge one candidate address under st (the resolver path, the policy table, a learned
 * binding). A global function, so the verifier checks it once per program: inlined into the
 * loop over a local-use NAT64 destination's four candidates, it made connect6 and sendmsg6
 * 234,000 instructions each to verify (1.7 s each in a TCG guest). Fail mode: NULL arguments
 * (impossible: the caller's stack) deny.
 */
__noinline int ag_judge_cand(const struct ag_state *st, struct ag_net_cand *c)
{
	const struct ag_dns_cfg *cfg = ag_dns_cfg_get();
	struct ag_net_key key = { .prefixlen = 128 };
	struct ag_state s;
	__u32 rule = AG_RULE_NONE, name_id = 0;
	__u8 verdict, flags;
	int dns;

	if (!c)
		return -EINVAL;
	if (!st) {
		c->verdict = AG_DENY;
		c->rule = AG_RULE_NONE;
		c->name_id = 0;
		return -EINVAL;
	}
	__builtin_memcpy(&s, st, sizeof(s));
	__builtin_memcpy(key.addr, c->key.addr, 16);
	dns = c->proto ? ag_dns_path(cfg, key.addr, c->port) : -1;
	if (dns >= 0) {
		verdict = dns ? AG_ALLOW : AG_DENY;
		rule = dns ? AG_RULE_NONE : AG_RULE_BUILTIN | AG_BR_DNS_ELSEWHERE;
	} else {
		verdict = ag_net_decide(&s, &key, c->proto, c->port, &rule, &flags);
		if (c->proto && cfg)
			verdict = ag_dns_overlay(&s, key.addr, c->proto, c->port, verdict, flags,
						 &rule, &name_id);
	}
	c->verdict = verdict;
	c->rule = rule;
	c->name_id = name_id;
	return 0;
}

/*
 * orig: the destination as 16 bytes; for AF_INET as ::ffff:a.b.c.d. family is the address's,
 * never ctx->family: in sendmsg4 that is the socket's (AF_INET6 for a v6 socket sending to a
 * v4-mapped address).
 */
static __always_inline int ag_judge(struct bpf_sock_addr *ctx, const __u8 *orig, __u8 family,
				    __u32 op)
{
	struct ag_net_cand c = { .key.prefixlen = 128 };
	struct ag_net_key key = { .prefixlen = 128 };
	__u8 cand[AG_NAT64_LAYOUTS][16];
	struct ag_state st;
	__u16 port = bpf_ntohs((__u16)ctx->user_port);
	__u8 proto = ag_sock_proto(ctx);
	__u8 verdict = AG_DENY;
	__u32 rule = AG_RULE_NONE, name_id = 0;
	int n = 1, k, best = 0;

	/* An ARRAY lookup of index 0 cannot fail; if it did, fail closed. */
	if (ag_read_state(&st))
		return 0;
	if (family == AG_AF_INET6)
		n = ag_net_judged_addrs(orig, cand);
	else
		ag_net_judged_addr(orig, cand[0]);
	c.port = port;
	c.proto = proto;
	/* Usually one candidate; a local-use NAT64 destination has four: the strictest wins. */
	for (k = 0; k < AG_NAT64_LAYOUTS && k < n; k++) {
		__builtin_memcpy(c.key.addr, cand[k], 16);
		c.verdict = AG_DENY;
		ag_judge_cand(&st, &c);
		if (!k || c.verdict > verdict) {
			verdict = c.verdict;
			rule = c.rule;
			best = k;
			name_id = c.name_id;
		}
	}
	ag_count_decision(AG_EV_NETWORK, verdict);
	if (verdict == AG_ALLOW)
		return 1;
	__builtin_memcpy(key.addr, cand[best & (AG_NAT64_LAYOUTS - 1)], 16);
	ag_net_event(&st, &key, orig, family, proto, port, op, verdict, rule,
		     ag_sock_proc(ctx), name_id);
	return verdict == AG_DENY ? 0 : 1;
}

/*
 * IPv4's verdict cache, for the path every allowed connect() takes (make bench:
 * connect_vs_empty_prog_10). It holds allowed decisions only (a denial is judged afresh, and
 * writes its event anyway), each in one 64-bit word: ip4 << 32 | port << 16 | proto << 14 |
 * generation tag. One word is one store, so an entry cannot be torn by a program preempting
 * another on this CPU. The cache belongs to one policy generation (epoch): the first program
 * to run on a CPU after a swap empties it. A program that read the old generation and stores
 * after the emptying leaves an entry tagged with the old generation's low bits, which no
 * lookup matches before the next swap empties the cache again.
 * The epoch is generation_seq + learn_seq (both only grow, so the sum changes whenever either
 * does): learning a domain deny bumps learn_seq, which takes back every cached allow. Only
 * the LPM table's own allows are cached, never one a learned binding gave (those expire), nor
 * anything to a DNS port (the resolver path).
 */
#define AG_NET_CACHE4_SLOTS	256
#define AG_NET_CACHE4_TAG	0x3fffu

struct ag_net_cache4 {
	__u32 epoch;		/* generation_seq the entries belong to */
	__u32 pad;
	__u64 ent[AG_NET_CACHE4_SLOTS];	/* 0: empty (no entry has ip, port, proto all 0) */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ag_net_cache4);
} ag_net_cache4 SEC(".maps");

/* bpf_loop's context must be on the stack: it holds the map value's address. */
static long ag_net_cache4_clear(__u32 i, void *ctx)
{
	struct ag_net_cache4 *c = *(struct ag_net_cache4 **)ctx;

	c->ent[i & (AG_NET_CACHE4_SLOTS - 1)] = 0;
	return 0;
}

static __always_inline __u32 ag_net_cache4_slot(__u64 word)
{
	return (__u32)((word >> 16) * 0x9e3779b97f4a7c15ull >> 56);
}

/*
 * IPv4: the fast path of ag_judge. The key is ::ffff:a.b.c.d of the judged address
 * (ag_net_judged_ip4, the rule ag_net_judged_addr and explain use too).
 */
static __always_inline int ag_judge4(struct bpf_sock_addr *ctx, __u32 op)
{
	__u32 ip4 = ctx->user_ip4, judged = ag_net_judged_ip4(ip4), rule, zero = 0, epoch;
	__u32 name_id = 0;
	__u16 port = bpf_ntohs((__u16)ctx->user_port);
	__u8 proto = ag_sock_proto(ctx), verdict, lpm, flags;
	struct ag_net_key key = { .prefixlen = 128 };
	struct ag_net_cache4 *c;
	const struct ag_state *sp;
	struct ag_state st;
	const struct ag_dns_cfg *cfg;
	__u8 orig[16] = {};
	__u64 word, both;
	int dns;

	sp = bpf_map_lookup_elem(&ag_state, &zero);
	/* An ARRAY lookup of index 0 cannot fail; if it did, fail closed. */
	if (!sp)
		return 0;
	both = READ_ONCE(*(const __u64 *)&sp->generation_seq);
	epoch = (__u32)both + (__u32)(both >> 32);
	word = (__u64)judged << 32 | (__u32)port << 16 | (__u32)proto << 14 |
	       (epoch & AG_NET_CACHE4_TAG);
	c = bpf_map_lookup_elem(&ag_net_cache4, &zero);
	if (c && c->epoch == epoch && proto &&
	    c->ent[ag_net_cache4_slot(word) & (AG_NET_CACHE4_SLOTS - 1)] == word) {
		ag_count_decision(AG_EV_NETWORK, AG_ALLOW);
		return 1;
	}
	/* The copy may be of a newer generation than seq: the entry is tagged with the copy's. */
	__builtin_memcpy(&st, sp, sizeof(st));
	epoch = st.generation_seq + st.learn_seq;
	word = (word & ~(__u64)AG_NET_CACHE4_TAG) | (epoch & AG_NET_CACHE4_TAG);
	key.addr[10] = key.addr[11] = 0xff;
	__builtin_memcpy(&key.addr[12], &judged, 4);
	/* Raw-ish protocols on inet sockets (ICMP ping, UDP-Lite, SCTP...): fail closed. */
	cfg = ag_dns_cfg_get();
	dns = proto ? ag_dns_path(cfg, key.addr, port) : -1;
	if (!proto) {
		verdict = lpm = AG_DENY;
		rule = AG_RULE_NONE;
	} else if (dns >= 0) {
		verdict = lpm = dns ? AG_ALLOW : AG_DENY;
		rule = dns ? AG_RULE_NONE : AG_RULE_BUILTIN | AG_BR_DNS_ELSEWHERE;
	} else {
		lpm = ag_net_decide_lpm(&st, &key, proto, port, &rule, &flags);
		verdict = cfg ? ag_dns_overlay(&st, key.addr, proto, port, lpm, flags, &rule,
					       &name_id) :
				lpm;
	}
	ag_count_decision(AG_EV_NETWORK, verdict);
	if (verdict == AG_ALLOW) {
		/* Only what the LPM table allows by itself, and never the resolver path. */
		if (lpm != AG_ALLOW || dns >= 0)
			return 1;
		if (c && c->epoch != epoch) {
			/* A new generation: forget the old one's decisions (rare: once a swap). */
			bpf_loop(AG_NET_CACHE4_SLOTS, ag_net_cache4_clear, &c, 0);
			c->epoch = epoch;
		}
		if (c)
			c->ent[ag_net_cache4_slot(word) & (AG_NET_CACHE4_SLOTS - 1)] = word;
		return 1;
	}
	__builtin_memcpy(&orig[12], &ip4, 4);
	orig[10] = orig[11] = 0xff;
	ag_net_event(&st, &key, orig, AG_AF_INET, proto, port, op, verdict, rule,
		     ag_sock_proc(ctx), name_id);
	return verdict == AG_DENY ? 0 : 1;
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

/* spec.network.inbound, per generation: see struct ag_inbound. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AG_GENERATIONS * AG_INBOUND_MAX);
	__type(key, __u32);
	__type(value, struct ag_inbound);
} ag_inbound SEC(".maps") __weak;

/* ag_inbound_find's arguments. */
struct ag_inbound_q {
	__u8 addr[16];		/* IPv4 mapped */
	__u32 slot;		/* the active generation's slot */
	__u16 port;		/* host byte order */
	__u8 proto;		/* AG_NET_* */
	__u8 pad;
};

/*
 * 1 if q's address, port and protocol are allowed inbound by the generation's entries, else 0.
 * A global function, so the verifier checks it once per program: inlined twice (the address,
 * then the IPv4 wildcard) the sixteen entries' unrolled matches made bind4, bind6 and
 * socket_listen 54,000 instructions each to verify. Fail mode: a NULL q allows nothing.
 */
__noinline int ag_inbound_find(const struct ag_inbound_q *q)
{
	const struct ag_inbound *e;
	__u32 i, slot;

	if (!q)
		return 0;
	for (i = 0; i < AG_INBOUND_MAX; i++) {
		slot = (q->slot & (AG_GENERATIONS - 1)) * AG_INBOUND_MAX + i;
		e = bpf_map_lookup_elem(&ag_inbound, &slot);
		if (!e || !e->proto)
			return 0;	/* the used slots come first */
		if (ag_inbound_match(e, q->addr, q->proto, q->port))
			return 1;
	}
	return 0;
}

/*
 * Is a (16 bytes, IPv4 mapped) on port allowed inbound by the active generation's entries?
 * "::" also takes IPv4 from anywhere unless the socket is IPV6_V6ONLY, which the bind hook
 * cannot see: it is allowed only if the IPv4 wildcard (::ffff:0.0.0.0) is allowed as well.
 */
static __always_inline bool ag_inbound_allowed_any(const struct ag_state *st, const __u8 *a,
						   __u8 proto, __u16 port)
{
	struct ag_inbound_q q = { .slot = ag_state_slot(st), .port = port, .proto = proto };
	bool any6 = ag_addr_is_any6(a);

	__builtin_memcpy(q.addr, a, 16);
	if (!ag_inbound_find(&q))
		return false;
	if (!any6)
		return true;
	__builtin_memset(q.addr, 0, 16);
	q.addr[10] = q.addr[11] = 0xff;
	return ag_inbound_find(&q);
}

/*
 * Inbound: the sandbox may bind (and so listen or receive) on loopback: 127.0.0.0/8, ::1 and
 * ::ffff:127.0.0.0/104, and on what spec.network.inbound allows in every layer. The wildcard
 * (0.0.0.0, ::) is an address like any other here: allowed only if an entry covers it.
 * Fail mode: no state denies.
 */
static __always_inline int ag_bind(struct bpf_sock_addr *ctx, const __u8 *orig, __u8 family)
{
	struct ag_net_key key = { .prefixlen = 128 };
	struct ag_state st;
	__u16 port = bpf_ntohs((__u16)ctx->user_port);
	__u8 proto = ag_sock_proto(ctx);
	int i;

	if (ag_addr_is_loopback(orig))
		return 1;
	/* An ARRAY lookup of index 0 cannot fail; if it did, deny without an event. */
	if (ag_read_state(&st))
		return 0;
	if (ag_inbound_allowed_any(&st, orig, proto, port))
		return 1;
	for (i = 0; i < 16; i++)
		key.addr[i] = orig[i];
	ag_net_event(&st, &key, orig, family, proto, port, AG_OP_BIND, AG_DENY,
		     AG_RULE_BUILTIN | AG_BR_INBOUND, ag_sock_proc(ctx), 0);
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
 * Source routing. IPv4 LSRR/SSRR options need no privilege (setsockopt IP_OPTIONS, or per packet
 * as an IP_RETOPTS cmsg) and neither does an IPv6 routing header (IPV6_RTHDR, by setsockopt or
 * cmsg): either steers a packet through an allowed first hop towards a destination the connect
 * and sendmsg hooks never saw. Every packet of a sandbox socket is checked here, whatever set
 * the header; the setsockopts are also refused up front (ag_socket_setsockopt) for a clear errno.
 * Fail mode: a header that cannot be read, or an IPv6 extension chain longer than
 * AG_IPV6_EXT_MAX, drops. Returns 1 to pass, 0 to drop (the sender gets EPERM).
 */
#define AG_ETH_P_IP	0x0800
#define AG_ETH_P_IPV6	0x86DD
#define AG_IPV6_EXT_MAX	8

struct ag_pkt {
	__u8 daddr[16];		/* IPv4 as ::ffff:a.b.c.d */
	__u8 family;
	__u8 l4;		/* IP protocol number of the transport header, if reached */
	__u32 l4_off;		/* its offset, or 0 if not reached */
};

/* 1: IPv4 with options; 0: without; -1: unreadable. */
static __always_inline int ag_pkt_v4(struct __sk_buff *skb, struct ag_pkt *p)
{
	__u8 h[20];

	if (bpf_skb_load_bytes(skb, 0, h, sizeof(h)))
		return -1;
	if ((h[0] & 0x0f) == 5)
		return 0;
	p->family = AG_AF_INET;
	p->daddr[10] = p->daddr[11] = 0xff;
	__builtin_memcpy(&p->daddr[12], &h[16], 4);
	p->l4 = h[9];
	p->l4_off = (h[0] & 0x0f) * 4;
	return 1;
}

/* 1: IPv6 with a routing header; 0: without; -1: unreadable or a chain too long to walk. */
static __always_inline int ag_pkt_v6(struct __sk_buff *skb, struct ag_pkt *p)
{
	__u8 h[40], ext[2];
	__u32 off = sizeof(h);
	__u8 nh;
	int i, rthdr = 0;

	if (bpf_skb_load_bytes(skb, 0, h, sizeof(h)))
		return -1;
	nh = h[6];
	for (i = 0; i < AG_IPV6_EXT_MAX; i++) {
		if (nh != 0 && nh != 43 && nh != 44 && nh != 51 && nh != 60)
			break;	/* not an extension header: transport (or no next header) */
		if (bpf_skb_load_bytes(skb, off, ext, sizeof(ext)))
			return -1;
		if (nh == 43)
			rthdr = 1;
		if (nh == 44)
			off += 8;			/* fragment: fixed size */
		else if (nh == 51)
			off += ((__u32)ext[1] + 2) * 4;	/* AH: 4-byte units */
		else
			off += ((__u32)ext[1] + 1) * 8;	/* hop-by-hop, routing, dst opts */
		nh = ext[0];
	}
	if (i == AG_IPV6_EXT_MAX)
		return -1;
	if (!rthdr)
		return 0;
	p->family = AG_AF_INET6;
	__builtin_memcpy(p->daddr, &h[24], 16);
	p->l4 = nh;
	p->l4_off = off;
	return 1;
}

SEC("cgroup_skb/egress")
int ag_egress(struct __sk_buff *skb)
{
	struct ag_pkt p = {};
	const struct ag_proc *proc;
	struct ag_fold_id id = {};
	struct bpf_sock *sk;
	struct ag_event_net *e;
	struct ag_fold *f;
	__u64 kseq, sig;
	long repeats;
	struct ag_state st;
	__u16 port = 0;
	__u32 rule = AG_RULE_BUILTIN | AG_BR_SOURCE_ROUTE;
	int bad;
	__u8 ports[4];

	if (skb->protocol == bpf_htons(AG_ETH_P_IP))
		bad = ag_pkt_v4(skb, &p);
	else if (skb->protocol == bpf_htons(AG_ETH_P_IPV6))
		bad = ag_pkt_v6(skb, &p);
	else
		return 1;	/* not IP: nothing to route */
	if (!bad)
		return 1;
	ag_count_decision(AG_EV_NETWORK, AG_DENY);
	/* An ARRAY lookup of index 0 cannot fail; if it did, drop without an event. */
	if (bad < 0 || ag_read_state(&st))
		return 0;
	if ((p.l4 == AG_IPPROTO_TCP || p.l4 == AG_IPPROTO_UDP) && p.l4_off &&
	    !bpf_skb_load_bytes(skb, p.l4_off, ports, sizeof(ports)))
		port = (__u16)ports[2] << 8 | ports[3];
	/* Identical: the same socket, destination and port (a packet has no process). */
	id.kind = AG_EV_NETWORK;
	id.op = AG_OP_EGRESS_DROP;
	id.rule = rule;
	__builtin_memcpy(&id.a, &p.daddr[0], 8);
	__builtin_memcpy(&id.b, &p.daddr[8], 8);
	id.exec_id = bpf_get_socket_cookie(skb) ^ ((__u64)port << 48);
	repeats = ag_admit(&st, &id, AG_DENY, &f, &sig);
	if (repeats < 0)
		return 0;
	kseq = ag_next_kseq();
	e = ag_event_reserve(sizeof(*e), AG_DENY, AG_EV_NETWORK, rule);
	if (!e) {
		ag_unadmit(f, repeats);
		return 0;
	}
	/* A packet is no process's: TCP retransmits leave from softirq. Name its socket's owner. */
	ag_fill_hdr_noproc(&e->hdr, kseq, AG_EV_NETWORK, AG_OP_EGRESS_DROP, AG_DENY, rule, &st);
	ag_admitted(&e->hdr, sig, repeats);
	e->hdr.cgroup_id = bpf_skb_cgroup_id(skb);
	e->hdr.uid = bpf_get_socket_uid(skb);
	sk = skb->sk;
	if (sk)
		sk = bpf_sk_fullsock(sk);
	if (sk) {
		proc = bpf_sk_storage_get(&ag_sk_procs, sk, 0, 0);
		if (proc)
			__builtin_memcpy(&e->hdr.proc, proc, sizeof(e->hdr.proc));
	}
	__builtin_memcpy(e->addr, p.daddr, 16);
	__builtin_memcpy(e->orig_addr, p.daddr, 16);
	e->port = port;
	e->family = p.family;
	e->proto = p.l4 == AG_IPPROTO_TCP ? AG_NET_TCP : p.l4 == AG_IPPROTO_UDP ? AG_NET_UDP : 0;
	e->name_id = 0;
	bpf_ringbuf_submit(e, 0);
	return 0;
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
 * listening is judged too, as bind is. An unbound socket has port 0 here (the kernel picks one
 * after this hook): only an entry without ports admits it. An LSM program (guest kernels).
 */
SEC("lsm/socket_listen")
int BPF_PROG(ag_socket_listen, struct socket *sock, int backlog, int ret)
{
	struct ag_net_key key = { .prefixlen = 128 };
	struct sock *sk = sock->sk;
	struct ag_state st;
	__u8 a[16] = {};
	__u16 family, port;
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
	port = sk->__sk_common.skc_num;
	if (ag_addr_is_loopback(a) || ag_inbound_allowed_any(&st, a, AG_NET_TCP, port))
		return 0;
	for (i = 0; i < 16; i++)
		key.addr[i] = a[i];
	ag_net_event(&st, &key, a, family, AG_NET_TCP, port, AG_OP_LISTEN, AG_DENY,
		     AG_RULE_BUILTIN | AG_BR_INBOUND, ag_task_proc(bpf_get_current_task_btf()), 0);
	return -EPERM;
}
