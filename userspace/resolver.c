// SPDX-License-Identifier: GPL-2.0
/*
 * agentguard's resolver: see resolver.h. The path of one query:
 *   parse (dns.c) -> refuse malformed names and types other than A/AAAA/CNAME (builtin rules)
 *   -> the policy's gate (ag_dns_query_decide) -> forward upstream over a fresh connected
 *   socket -> check the answer is ours -> follow the CNAME chain -> learn every A/AAAA
 *   through the backend (the kernel's: ag_dns_learned_val into ag_dns_learned; the sandbox's:
 *   nft sets, sandbox_net.c) -> relay a reply rebuilt from the kept records.
 * Nothing the sandbox sends is ever forwarded unless the gate allows its name, and nothing but
 * an answer from the upstream socket of that very query is ever learned.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "dns.h"
#include "fdio.h"
#include "hash.h"
#include "resolver.h"

/*
 * Names the bindings refer to, direct-mapped by hash; an id says slot and stamp. Each slot is
 * mirrored into the pinned ag_dns_names (agentguard_abi.h), for explain and for a daemon that
 * adopts the pins.
 */
#define AG_NAME_SLOTS_BITS	AG_DNS_NAME_SLOT_BITS
#define AG_NAME_SLOTS		AG_DNS_NAME_SLOTS
#define AG_CHAIN_MAX		16	/* CNAMEs followed in one answer */
#define AG_TCP_IDLE_MS		2000	/* a client's TCP connection, between queries */

struct name_slot {
	__u32 id;		/* 0: empty */
	char *name;
};

struct ag_resolver {
	struct ag_resolver_opts o;
	struct ag_loader *l;		/* NULL: another backend learns (ag_resolver_open_backend) */
	struct ag_resolver_backend be;
	int udp_fd, tcp_fd, learned_fd, names_fd, stop_pipe[2];
	pthread_t thread;
	bool running;
	pthread_mutex_t lock;	/* c, generation, names, the learned map */
	const struct ag_compiled *c;
	__u32 generation;
	struct name_slot names[AG_NAME_SLOTS];
	__u32 stamp;
	ag_resolver_report_fn report;
	void *report_ctx;
	unsigned long long withheld;	/* atomic: addresses withheld from answers */
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static __u64 boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int ag_resolver_parse_addr(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = NULL, *end;
	unsigned long port = 53;
	char *e;
	size_t n;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		end = strchr(s, ']');
		if (!end)
			return -EINVAL;
		n = end - s - 1;
		if (end[1] == ':')
			colon = end + 1;
		else if (end[1])
			return -EINVAL;
		s++;
	} else {
		colon = strrchr(s, ':');
		/* More than one colon without brackets: an IPv6 address without a port. */
		if (colon && strchr(s, ':') != colon)
			colon = NULL;
		n = colon ? (size_t)(colon - s) : strlen(s);
	}
	if (n >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';
	if (colon) {
		errno = 0;
		port = strtoul(colon + 1, &e, 10);
		if (errno || *e || !colon[1] || !port || port > 65535)
			return -EINVAL;
	}
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		return 0;
	}
	return -EINVAL;
}

int ag_resolver_upstreams_from(const char *resolv_conf, struct ag_resolver_opts *o)
{
	char line[512], addr[256];
	int added = 0;
	FILE *f = fopen(resolv_conf, "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f) && o->n_upstream < AG_RESOLVER_MAX_UPSTREAMS)
		if (sscanf(line, " nameserver %255s", addr) == 1 &&
		    !ag_resolver_parse_addr(addr, &o->upstream[o->n_upstream])) {
			o->n_upstream++;
			added++;
		}
	fclose(f);
	return added;
}

static socklen_t ss_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

void ag_resolver_drop_upstream(struct ag_resolver_opts *o, const struct sockaddr_storage *addr)
{
	size_t i, k = 0;

	for (i = 0; i < o->n_upstream; i++)
		if (o->upstream[i].ss_family != addr->ss_family ||
		    memcmp(&o->upstream[i], addr, ss_len(addr)))
			o->upstream[k++] = o->upstream[i];
	o->n_upstream = k;
}

/* The 16-byte judged form of a socket address, and its port. */
static void ss_judged(const struct sockaddr_storage *ss, __u8 judged[16], __u16 *port)
{
	__u8 a[16] = {};

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		a[10] = a[11] = 0xff;
		memcpy(a + 12, &s4->sin_addr, 4);
		*port = ntohs(s4->sin_port);
	} else {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		memcpy(a, &s6->sin6_addr, 16);
		*port = ntohs(s6->sin6_port);
	}
	ag_net_judged_addr(a, judged);
}

static void ss_text(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(s4->sin_port));
	} else {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(s6->sin6_port));
	}
}

/* ---- names ----------------------------------------------------------------------------- */

/*
 * Mirror a slot into ag_dns_names. That map is only a view for others (explain, an adopting
 * daemon): a failure costs them a name, never a decision, so it is not an error here.
 */
static void name_publish(const struct ag_resolver *r, __u32 slot)
{
	const struct name_slot *s = &r->names[slot];
	struct ag_dns_name_rec rec = { .name_id = s->id };

	if (r->names_fd < 0)
		return;
	if (strlen(s->name) >= sizeof(rec.name)) {
		bpf_map_delete_elem(r->names_fd, &slot);
		return;
	}
	strcpy(rec.name, s->name);
	bpf_map_update_elem(r->names_fd, &slot, &rec, BPF_ANY);
}

/*
 * The names a previous daemon left in ag_dns_names (adopted pins): its bindings keep their
 * names for events and reloads, and new ids continue after its stamps, so no id of an old
 * binding comes to mean another name. How many; or -ENOMEM. Before the thread starts.
 */
static int names_restore(struct ag_resolver *r)
{
	struct ag_dns_name_rec rec;
	__u32 key, next, stamp;
	bool first = true;
	int n = 0;
	char *copy;

	while (!bpf_map_get_next_key(r->names_fd, first ? NULL : &key, &next)) {
		first = false;
		key = next;
		if (key >= AG_NAME_SLOTS || bpf_map_lookup_elem(r->names_fd, &key, &rec) ||
		    !rec.name_id || (rec.name_id & (AG_NAME_SLOTS - 1)) != key)
			continue;
		rec.name[sizeof(rec.name) - 1] = '\0';
		copy = strdup(rec.name);
		if (!copy)
			return -ENOMEM;
		free(r->names[key].name);
		r->names[key].name = copy;
		r->names[key].id = rec.name_id;
		stamp = rec.name_id >> AG_NAME_SLOTS_BITS;
		if (stamp > r->stamp)
			r->stamp = stamp;
		n++;
	}
	return n;
}

/* The id of name, interning it (evicting whatever held its slot). 0: out of memory. Locked. */
static __u32 name_intern(struct ag_resolver *r, const char *name)
{
	__u32 slot = ag_fnv1a32(name) & (AG_NAME_SLOTS - 1);
	struct name_slot *s = &r->names[slot];
	char *copy;

	if (s->id && !strcmp(s->name, name))
		return s->id;
	copy = strdup(name);
	if (!copy)
		return 0;
	free(s->name);
	s->name = copy;
	if (!++r->stamp || r->stamp >= (1u << (32 - AG_NAME_SLOTS_BITS)))
		r->stamp = 1;
	s->id = r->stamp << AG_NAME_SLOTS_BITS | slot;
	name_publish(r, slot);
	return s->id;
}

/* Locked. */
static const char *name_of(const struct ag_resolver *r, __u32 id)
{
	const struct name_slot *s = &r->names[id & (AG_NAME_SLOTS - 1)];

	return id && s->id == id ? s->name : NULL;
}

unsigned long long ag_resolver_withheld(struct ag_resolver *r)
{
	return __atomic_load_n(&r->withheld, __ATOMIC_RELAXED);
}

const char *ag_resolver_name(void *p, __u32 id, char *buf, size_t len)
{
	struct ag_resolver *r = p;
	const char *n;

	pthread_mutex_lock(&r->lock);
	n = name_of(r, id);
	if (n)
		snprintf(buf, len, "%s", n);
	pthread_mutex_unlock(&r->lock);
	return n ? buf : NULL;
}

/* ---- bindings -------------------------------------------------------------------------- */

static bool val_denies(const struct ag_net_val *v)
{
	__u32 i;

	if (v->fallback_verdict == AG_DENY || v->fallback_verdict == AG_WOULD_DENY)
		return true;
	for (i = 0; i < v->n_segs && i < AG_NET_MAX_SEGS; i++)
		if (v->seg[i].verdict == AG_DENY || v->seg[i].verdict == AG_WOULD_DENY)
			return true;
	return false;
}

/*
 * The verdicts of e's live names under c, for generation seq, into e's slot for it; addr is
 * e's key (judged form). Drops names that expired or are no longer known. Returns whether the
 * value denies anything. Locked.
 */
static int binding_compute(struct ag_resolver *r, struct ag_dns_learned *e, const __u8 addr[16],
			   const struct ag_compiled *c, __u32 seq, __u64 now, bool *denies)
{
	const char *names[AG_DNS_NAMES];
	struct ag_dns_gen *g = &e->gen[seq % AG_GENERATIONS];
	__u32 i, k = 0;
	int err;

	e->expiry_ns = 0;
	for (i = 0; i < e->n_names && i < AG_DNS_NAMES; i++) {
		const char *n = name_of(r, e->names[i].name_id);

		if (!n || e->names[i].expiry_ns <= now)
			continue;
		names[k] = n;
		e->names[k] = e->names[i];
		if (e->names[k].expiry_ns > e->expiry_ns)
			e->expiry_ns = e->names[k].expiry_ns;
		k++;
	}
	e->n_names = k;
	memset(g, 0, sizeof(*g));
	g->generation_seq = seq;
	err = ag_dns_learned_val(c, addr, names, k, &g->val);
	if (err == -E2BIG)
		err = 0;	/* the strictest single verdict was written */
	if (err) {
		/* Cannot compute: no say for an allow, but keep any deny it had (fail closed). */
		g->val.fallback_verdict = AG_DNS_PASS;
		return err;
	}
	*denies = val_denies(&g->val);
	return 0;
}

/*
 * Learn that addr (judged form) is name's for ttl seconds. Locked. Returns 0 or -errno; a
 * failure means the binding is not there, so the answer is not relayed.
 */
static int learn(struct ag_resolver *r, const __u8 addr[16], __u32 name_id, __u32 ttl)
{
	struct ag_dns_key key;
	struct ag_dns_learned e;
	__u64 now = boot_ns(), expiry;
	bool denies = false;
	__u32 i, oldest = 0;
	int err;

	expiry = now + (__u64)ttl * 1000000000ull;
	memcpy(key.addr, addr, 16);
	if (bpf_map_lookup_elem(r->learned_fd, &key, &e) || e.n_names > AG_DNS_NAMES)
		memset(&e, 0, sizeof(e));
	for (i = 0; i < e.n_names; i++)
		if (e.names[i].name_id == name_id)
			break;
	if (i == e.n_names && e.n_names == AG_DNS_NAMES) {
		/* Full: the name whose binding ends first makes room. */
		for (i = 1, oldest = 0; i < AG_DNS_NAMES; i++)
			if (e.names[i].expiry_ns < e.names[oldest].expiry_ns)
				oldest = i;
		i = oldest;
	} else if (i == e.n_names) {
		e.n_names++;
	}
	e.names[i].name_id = name_id;
	if (e.names[i].expiry_ns < expiry)
		e.names[i].expiry_ns = expiry;
	e.name_id = name_id;
	/* Only the active generation's slot: a reload rewrites the next one (pre_flip). */
	memset(&e.gen, 0, sizeof(e.gen));
	err = binding_compute(r, &e, addr, r->c, r->generation, now, &denies);
	if (err)
		return err;
	e.name_id = name_id;
	if (bpf_map_update_elem(r->learned_fd, &key, &e, 0))
		return -errno;
	/* A deny may take back an allow some CPU has cached: empty the caches. */
	if (denies)
		ag_loader_dns_learn_bump(r->l);
	return 0;
}

/* The kernel backend: name interned (and published), then its binding in ag_dns_learned. */
static int bpf_learn(void *ctx, const struct ag_compiled *c, const __u8 judged[16],
		     const char *name, __u32 ttl_s)
{
	struct ag_resolver *r = ctx;
	__u32 name_id = name_intern(r, name);

	if (!name_id)
		return -ENOMEM;
	return learn(r, judged, name_id, ttl_s);
}

/*
 * ag_loader_install's hook, with r->lock held by ag_resolver_install: every binding gets its
 * verdicts for the generation about to be active, computed from its names under the new
 * policy. A binding whose names no rule matches any more has no say from then on.
 */
static int pre_flip(void *ctx, const struct ag_compiled *c, __u32 seq)
{
	struct ag_resolver *r = ctx;
	struct ag_dns_key *keys;
	struct ag_dns_learned e;
	__u64 now = boot_ns();
	size_t n, i;
	bool denies;
	int err;

	/* Keys first, then the updates. */
	err = ag_loader_dns_learned_keys(r->learned_fd, &keys, &n);
	if (err)
		return err;
	for (i = 0; i < n && !err; i++) {
		if (bpf_map_lookup_elem(r->learned_fd, &keys[i], &e))
			continue;	/* evicted meanwhile */
		denies = false;
		err = binding_compute(r, &e, keys[i].addr, c, seq, now, &denies);
		if (!err && bpf_map_update_elem(r->learned_fd, &keys[i], &e, BPF_EXIST) &&
		    errno != ENOENT)
			err = -errno;
	}
	free(keys);
	/* No learn_seq bump needed: the flip itself empties the allow caches. */
	return err;
}

int ag_resolver_follow(struct ag_resolver *r, const struct ag_compiled *c, __u32 seq)
{
	int err;

	pthread_mutex_lock(&r->lock);
	err = !r->l || (r->generation == seq && r->c == c) ? 0 : pre_flip(r, c, seq);
	if (!err) {
		r->c = c;
		r->generation = seq;
	}
	pthread_mutex_unlock(&r->lock);
	return err;
}

void ag_resolver_lock(struct ag_resolver *r)
{
	pthread_mutex_lock(&r->lock);
}

void ag_resolver_unlock(struct ag_resolver *r)
{
	pthread_mutex_unlock(&r->lock);
}

int ag_resolver_install(struct ag_resolver *r, const struct ag_compiled *c)
{
	int err;

	/*
	 * Without a loader the bindings live in a backend (the sandbox's nft sets) that holds
	 * what the old policy allowed: swapping r->c alone would judge new answers by the new
	 * policy and leave the old one's elements in force. Nothing reloads a sandbox's policy
	 * today (a run keeps the policy it started with), so refuse rather than half-install.
	 */
	if (!r->l)
		return -EOPNOTSUPP;
	pthread_mutex_lock(&r->lock);
	err = ag_loader_install(r->l, c);
	if (!err) {
		r->c = c;
		r->generation = ag_loader_generation(r->l);
	}
	pthread_mutex_unlock(&r->lock);
	return err;
}

/* ---- upstream -------------------------------------------------------------------------- */

static int wait_fd(int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n = poll(&p, 1, ms);

	if (n < 0)
		return -errno;
	return n ? 0 : -ETIMEDOUT;
}

static int remaining_ms(__u64 deadline)
{
	__u64 now = boot_ns();

	return now >= deadline ? 0 : (int)((deadline - now) / 1000000) + 1;
}

static int read_full(int fd, __u8 *buf, size_t n, __u64 deadline)
{
	size_t got = 0;
	ssize_t k;
	int err;

	while (got < n) {
		err = wait_fd(fd, POLLIN, remaining_ms(deadline));
		if (err)
			return err;
		k = read(fd, buf + got, n - got);
		if (k <= 0)
			return k ? -errno : -ECONNRESET;
		got += k;
	}
	return 0;
}

/*
 * One exchange with upstream u: a fresh socket connected to it (the kernel then drops
 * datagrams from anyone else, and picks a random source port), a random id, and only a
 * response to our question counts; anything else is ignored until the deadline.
 */
static int ask_udp(const struct ag_resolver *r, const struct sockaddr_storage *u,
		   const struct ag_dns_question *q, struct ag_dns_response *resp)
{
	__u8 msg[AG_DNS_UDP_MAX], in[65536];
	struct ag_dns_question sent = *q;
	__u64 deadline = boot_ns() + (__u64)r->o.timeout_ms * 1000000ull;
	int fd, n, err;
	ssize_t k;

	if (getrandom(&sent.id, sizeof(sent.id), 0) != sizeof(sent.id))
		return -EIO;
	n = ag_dns_build_query(msg, sizeof(msg), &sent, sent.id);
	if (n < 0)
		return n;
	fd = socket(u->ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)u, ss_len(u)) || send(fd, msg, n, 0) != n) {
		err = -errno;
		goto out;
	}
	for (;;) {
		err = wait_fd(fd, POLLIN, remaining_ms(deadline));
		if (err)
			goto out;
		k = recv(fd, in, sizeof(in), 0);
		if (k < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			err = -errno;	/* e.g. ECONNREFUSED: nothing listens there */
			goto out;
		}
		if (!ag_dns_parse_response(in, k, &sent, resp)) {
			err = 0;
			goto out;
		}
		/* Not ours (a stale or forged datagram): keep waiting. */
	}
out:
	close(fd);
	return err;
}

static int ask_tcp(const struct ag_resolver *r, const struct sockaddr_storage *u,
		   const struct ag_dns_question *q, struct ag_dns_response *resp)
{
	static __thread __u8 in[65536];
	__u8 msg[2 + AG_DNS_UDP_MAX], len[2];
	struct ag_dns_question sent = *q;
	__u64 deadline = boot_ns() + (__u64)r->o.timeout_ms * 1000000ull;
	int fd, n, err;
	size_t rl;

	if (getrandom(&sent.id, sizeof(sent.id), 0) != sizeof(sent.id))
		return -EIO;
	n = ag_dns_build_query(msg + 2, sizeof(msg) - 2, &sent, sent.id);
	if (n < 0)
		return n;
	msg[0] = n >> 8;
	msg[1] = n & 0xff;
	fd = socket(u->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)u, ss_len(u)) && errno != EINPROGRESS) {
		err = -errno;
		goto out;
	}
	err = wait_fd(fd, POLLOUT, remaining_ms(deadline));
	if (!err) {
		int so = 0;
		socklen_t sl = sizeof(so);

		getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl);
		err = so ? -so : ag_write_all(fd, msg, n + 2);
	}
	if (!err)
		err = read_full(fd, len, 2, deadline);
	if (!err) {
		rl = (size_t)len[0] << 8 | len[1];
		err = read_full(fd, in, rl, deadline);
	}
	if (!err && ag_dns_parse_response(in, rl, &sent, resp))
		err = -EBADMSG;
out:
	close(fd);
	return err;
}

static int ask_upstream(const struct ag_resolver *r, const struct ag_dns_question *q,
			struct ag_dns_response *resp)
{
	int err = -ENOENT;
	size_t i;

	for (i = 0; i < r->o.n_upstream; i++) {
		err = ask_udp(r, &r->o.upstream[i], q, resp);
		if (!err && resp->tc)
			err = ask_tcp(r, &r->o.upstream[i], q, resp);
		if (!err)
			return 0;
	}
	return err;
}

/* ---- one query ------------------------------------------------------------------------- */

struct client {
	struct sockaddr_storage addr;
	const char *transport;
};

static void report_addr(struct ag_resolver *r, const struct ag_dns_question *q,
			const char *address, __u8 rcode, __u8 verdict, __u32 rule,
			__u32 generation, const struct client *cl)
{
	struct ag_dns_report rep = { .name = q->name, .address = address, .qtype = q->qtype,
				     .rcode = rcode,
				     .verdict = verdict, .rule = rule, .generation = generation,
				     .transport = cl->transport };
	char client[INET6_ADDRSTRLEN + 16];

	ss_text(&cl->addr, client, sizeof(client));
	rep.client = client;
	if (r->report)
		r->report(r->report_ctx, &rep);
}

static void report(struct ag_resolver *r, const struct ag_dns_question *q, __u8 rcode,
		   __u8 verdict, __u32 rule, __u32 generation, const struct client *cl)
{
	report_addr(r, q, NULL, rcode, verdict, rule, generation, cl);
}

/* The 16-byte form of an A or AAAA record's address (IPv4 as ::ffff:a.b.c.d), and its text. */
static void rr_addr(const struct ag_dns_rr *rr, __u8 a[16], char *text, size_t len)
{
	memset(a, 0, 16);
	if (rr->type == AG_DNS_T_A) {
		a[10] = a[11] = 0xff;
		memcpy(a + 12, rr->rdata, 4);
		inet_ntop(AF_INET, rr->rdata, text, len);
	} else {
		memcpy(a, rr->rdata, 16);
		inet_ntop(AF_INET6, rr->rdata, text, len);
	}
}

static bool is_domain_rule(const struct ag_compiled *c, __u32 rule)
{
	return rule < c->n_rules && c->rules[rule].kind == AG_RK_NET_RULE;
}

/*
 * Answer the query in m (len bytes) into out (cap bytes: 512 for UDP). Returns the reply's
 * length, or 0 for no reply (not even a header to answer).
 */
static int handle_query(struct ag_resolver *r, const __u8 *m, size_t len, __u8 *out, size_t cap,
			const struct client *cl)
{
	const struct ag_dns_rr *keep[AG_DNS_MAX_RRS];
	char withheld[AG_DNS_MAX_RRS][INET6_ADDRSTRLEN];
	struct ag_dns_response *resp;
	struct ag_dns_question q;
	__u8 cur[AG_DNS_WIRE_MAX], rcode = AG_DNS_NOERROR, verdict;
	size_t cur_len, n_keep = 0, n_withheld = 0, n_addrs = 0, i, k, hops;
	__u32 rule, gen, ttl, chain_rule = AG_RULE_NONE;
	char text[AG_DNS_TEXT_MAX], denied[AG_DNS_TEXT_MAX];
	bool host, denied_chain = false, all_withheld;
	int err, n;

	err = ag_dns_parse_question(m, len, false, &q);
	if (err) {
		if (len < 2)
			return 0;
		/* No question to echo: a header only, FORMERR (or NOTIMP for another opcode). */
		q.wire_len = 0;
		q.flags = len >= 4 ? (__u16)(m[2] << 8 | m[3]) : 0;
		rcode = err == -EOPNOTSUPP ? AG_DNS_NOTIMP : AG_DNS_FORMERR;
		pthread_mutex_lock(&r->lock);
		gen = r->generation;
		pthread_mutex_unlock(&r->lock);
		report(r, &q, rcode, AG_DENY, AG_RULE_BUILTIN | AG_BR_DNS_NAME, gen, cl);
		return ag_dns_build_reply(out, cap, &q, rcode, false, NULL, 0);
	}
	if (!q.hostname || q.qclass != AG_DNS_CLASS_IN ||
	    !(q.qtype == AG_DNS_T_A || q.qtype == AG_DNS_T_AAAA || q.qtype == AG_DNS_T_CNAME)) {
		pthread_mutex_lock(&r->lock);
		gen = r->generation;
		pthread_mutex_unlock(&r->lock);
		report(r, &q, AG_DNS_REFUSED, AG_DENY,
		       AG_RULE_BUILTIN | (q.hostname ? AG_BR_DNS_QTYPE : AG_BR_DNS_NAME), gen, cl);
		return ag_dns_build_reply(out, cap, &q, AG_DNS_REFUSED, false, NULL, 0);
	}
	pthread_mutex_lock(&r->lock);
	verdict = ag_dns_query_decide(r->c, q.name, &rule);
	gen = r->generation;
	pthread_mutex_unlock(&r->lock);
	if (verdict == AG_DENY) {
		report(r, &q, AG_DNS_REFUSED, AG_DENY, rule, gen, cl);
		return ag_dns_build_reply(out, cap, &q, AG_DNS_REFUSED, false, NULL, 0);
	}
	if (verdict == AG_WOULD_DENY)
		report(r, &q, AG_DNS_NOERROR, AG_WOULD_DENY, rule, gen, cl);

	resp = malloc(sizeof(*resp));
	if (!resp || ask_upstream(r, &q, resp)) {
		free(resp);
		return ag_dns_build_reply(out, cap, &q, AG_DNS_SERVFAIL, false, NULL, 0);
	}
	/* The chain from the question's name: CNAMEs in order, then its addresses. */
	memcpy(cur, q.wire, q.wire_len);
	cur_len = q.wire_len;
	pthread_mutex_lock(&r->lock);
	for (hops = 0; hops < AG_CHAIN_MAX; hops++) {
		for (i = 0; i < resp->n_rr; i++)
			if (resp->rr[i].type == AG_DNS_T_CNAME &&
			    ag_dns_wire_eq(resp->rr[i].owner, resp->rr[i].owner_len, cur, cur_len))
				break;
		if (i == resp->n_rr || n_keep == AG_DNS_MAX_RRS)
			break;
		keep[n_keep++] = &resp->rr[i];
		memcpy(cur, resp->rr[i].rdata, resp->rr[i].rdlen);
		cur_len = resp->rr[i].rdlen;
		ag_dns_wire_text(cur, cur_len, text, sizeof(text), &host);
		/* A chain into a name a deny rule matches: refused, and its addresses learned
		 * as denied below. */
		if (!denied_chain && host && ag_dns_query_decide(r->c, text, &rule) != AG_ALLOW &&
		    is_domain_rule(r->c, rule)) {
			denied_chain = true;
			chain_rule = rule;
			memcpy(denied, text, sizeof(denied));
		}
	}
	for (i = 0; i < resp->n_rr && q.qtype != AG_DNS_T_CNAME && n_keep < AG_DNS_MAX_RRS; i++)
		if (resp->rr[i].type == q.qtype &&
		    ag_dns_wire_eq(resp->rr[i].owner, resp->rr[i].owner_len, cur, cur_len))
			keep[n_keep++] = &resp->rr[i];
	/*
	 * DNS rebinding: an allowed name must not lead the sandbox to an internal address the
	 * policy does not open (its LAN, the host's loopback, the metadata endpoint), whoever
	 * runs its zone. Such a record is neither learned nor relayed. A refused chain needs no
	 * such care: it is not relayed, and its addresses are learned as denied.
	 */
	for (i = 0, k = 0; i < n_keep && !denied_chain; i++) {
		__u8 a[16];

		if (keep[i]->type == AG_DNS_T_CNAME) {
			keep[k++] = keep[i];
			continue;
		}
		rr_addr(keep[i], a, withheld[n_withheld], sizeof(withheld[0]));
		if (ag_dns_answer_withheld(r->c, a)) {
			n_withheld++;
			continue;
		}
		keep[k++] = keep[i];
		n_addrs++;
	}
	if (!denied_chain)
		n_keep = k;
	/*
	 * Learn before relaying, under the policy of now. The binding is named by the question's
	 * name (what the policy allowed), or by the first denied name in its chain, wherever in
	 * the chain it is.
	 */
	for (i = 0, err = 0; !err && i < n_keep; i++) {
		struct ag_dns_rr *rr = (struct ag_dns_rr *)keep[i];
		__u8 a[16] = {}, judged[16];

		/* The client must not use an answer longer than its binding lives. */
		if (rr->ttl > r->o.ttl_cap_s)
			rr->ttl = r->o.ttl_cap_s;
		if (rr->type == AG_DNS_T_CNAME)
			continue;
		if (rr->type == AG_DNS_T_A) {
			a[10] = a[11] = 0xff;
			memcpy(a + 12, rr->rdata, 4);
		} else {
			memcpy(a, rr->rdata, 16);
		}
		ag_net_judged_addr(a, judged);
		ttl = rr->ttl < r->o.ttl_floor_s ? r->o.ttl_floor_s : rr->ttl;
		err = r->be.learn(r->be.ctx, r->c, judged, denied_chain ? denied : q.name, ttl);
	}
	gen = r->generation;
	pthread_mutex_unlock(&r->lock);
	/*
	 * Every address withheld: REFUSED, as for a refused name (the policy's answer, not the
	 * zone's: NXDOMAIN would be cached as the name's absence, and an empty NOERROR would
	 * look like a name without addresses). Some kept: the answer without the others.
	 */
	all_withheld = n_withheld && !n_addrs;
	rcode = err ? AG_DNS_SERVFAIL : all_withheld ? AG_DNS_REFUSED : resp->rcode;
	if (n_withheld)
		__atomic_add_fetch(&r->withheld, n_withheld, __ATOMIC_RELAXED);
	for (i = 0; i < n_withheld; i++)
		report_addr(r, &q, withheld[i], rcode, AG_DENY,
			    AG_RULE_BUILTIN | AG_BR_DNS_REBIND, gen, cl);
	if (err) {
		/* Not learned: relaying it would only promise a connection that fails. */
		free(resp);
		return ag_dns_build_reply(out, cap, &q, AG_DNS_SERVFAIL, false, NULL, 0);
	}
	if (all_withheld) {
		free(resp);
		return ag_dns_build_reply(out, cap, &q, AG_DNS_REFUSED, false, NULL, 0);
	}
	if (denied_chain) {
		free(resp);
		report(r, &q, AG_DNS_REFUSED, AG_DENY, chain_rule, gen, cl);
		return ag_dns_build_reply(out, cap, &q, AG_DNS_REFUSED, false, NULL, 0);
	}
	n = ag_dns_build_reply(out, cap, &q, resp->rcode, false, keep, n_keep);
	if (n == -E2BIG)	/* too long for UDP: the client asks again over TCP */
		n = ag_dns_build_reply(out, cap, &q, resp->rcode, true, NULL, 0);
	free(resp);
	return n;
}

/* ---- serving --------------------------------------------------------------------------- */

static void serve_udp(struct ag_resolver *r)
{
	__u8 in[65536], out[AG_DNS_UDP_MAX];
	struct client cl = { .transport = "udp" };
	socklen_t al = sizeof(cl.addr);
	ssize_t k;
	int n;

	k = recvfrom(r->udp_fd, in, sizeof(in), MSG_DONTWAIT, (struct sockaddr *)&cl.addr, &al);
	if (k <= 0)
		return;
	n = handle_query(r, in, k, out, sizeof(out), &cl);
	if (n > 0)
		sendto(r->udp_fd, out, n, MSG_DONTWAIT, (struct sockaddr *)&cl.addr, al);
}

/* One client connection: queries until it closes or idles AG_TCP_IDLE_MS. */
static void serve_tcp(struct ag_resolver *r)
{
	static __thread __u8 in[65536], out[2 + 65535];
	struct client cl = { .transport = "tcp" };
	socklen_t al = sizeof(cl.addr);
	__u8 len[2];
	size_t ql;
	int fd, n;

	fd = accept4(r->tcp_fd, (struct sockaddr *)&cl.addr, &al, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	for (;;) {
		__u64 deadline = boot_ns() + AG_TCP_IDLE_MS * 1000000ull;

		if (read_full(fd, len, 2, deadline))
			break;
		ql = (size_t)len[0] << 8 | len[1];
		if (read_full(fd, in, ql, deadline))
			break;
		n = handle_query(r, in, ql, out + 2, sizeof(out) - 2, &cl);
		if (n <= 0)
			break;
		out[0] = n >> 8;
		out[1] = n & 0xff;
		if (ag_write_all(fd, out, n + 2))
			break;
	}
	close(fd);
}

static void *serve(void *p)
{
	struct ag_resolver *r = p;
	struct pollfd fds[3] = { { .fd = r->udp_fd, .events = POLLIN },
				 { .fd = r->tcp_fd, .events = POLLIN },
				 { .fd = r->stop_pipe[0], .events = POLLIN } };

	for (;;) {
		if (poll(fds, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[2].revents)
			break;
		if (fds[0].revents & POLLIN)
			serve_udp(r);
		if (fds[1].revents & POLLIN)
			serve_tcp(r);
	}
	return NULL;
}

static int resolver_open(const struct ag_resolver_opts *o, struct ag_loader *l,
			 const struct ag_resolver_backend *be, const struct ag_compiled *c,
			 struct ag_resolver **out)
{
	struct ag_resolver *r = calloc(1, sizeof(*r));
	__u8 judged[16];
	__u16 port;
	int one = 1, big = 8 << 20, err;

	if (!r)
		return -ENOMEM;
	r->be = be ? *be : (struct ag_resolver_backend){ bpf_learn, r };
	r->o = *o;
	if (!r->o.ttl_floor_s)
		r->o.ttl_floor_s = 30;
	if (!r->o.ttl_cap_s)
		r->o.ttl_cap_s = 3600;
	if (r->o.ttl_cap_s < r->o.ttl_floor_s)
		r->o.ttl_cap_s = r->o.ttl_floor_s;
	if (!r->o.timeout_ms)
		r->o.timeout_ms = 2000;
	r->l = l;
	r->c = c;
	r->udp_fd = r->tcp_fd = r->stop_pipe[0] = r->stop_pipe[1] = -1;
	r->learned_fd = r->names_fd = -1;
	pthread_mutex_init(&r->lock, NULL);
	if (l) {
		r->generation = ag_loader_generation(l);
		r->learned_fd = ag_loader_dns_learned_fd(l);
		r->names_fd = ag_loader_dns_names_fd(l);
	}
	err = l ? names_restore(r) : 0;
	if (err < 0)
		goto fail;
	if (err > 0) {
		/*
		 * Adopted bindings were written for the generation before the one just installed
		 * (this hook was not set then): give them their verdicts for it, by name, as a
		 * reload would. A learned deny may take back a cached allow: empty the caches.
		 */
		err = pre_flip(r, c, r->generation);
		if (err)
			goto fail;
		ag_loader_dns_learn_bump(l);
	}
	if (pipe2(r->stop_pipe, O_CLOEXEC)) {
		err = -errno;
		goto fail;
	}
	r->udp_fd = socket(o->listen.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	r->tcp_fd = socket(o->listen.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (r->udp_fd < 0 || r->tcp_fd < 0) {
		err = -errno;
		goto fail;
	}
	setsockopt(r->tcp_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/*
	 * Room for a burst: queries wait here while one is forwarded. Past the limit the kernel
	 * drops them (the client retries); FORCE needs CAP_NET_ADMIN, which the daemon has.
	 */
	if (setsockopt(r->udp_fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)))
		setsockopt(r->udp_fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (bind(r->udp_fd, (const struct sockaddr *)&o->listen, ss_len(&o->listen)) ||
	    bind(r->tcp_fd, (const struct sockaddr *)&o->listen, ss_len(&o->listen)) ||
	    listen(r->tcp_fd, 64)) {
		err = -errno;
		goto fail;
	}
	if (l) {
		ss_judged(&o->listen, judged, &port);
		err = ag_loader_dns_config(l, judged, port, true);
		if (err)
			goto fail;
		ag_loader_set_pre_flip(l, pre_flip, r);
	}
	*out = r;
	return 0;
fail:
	ag_resolver_close(r);
	return err;
}

int ag_resolver_open(const struct ag_resolver_opts *o, struct ag_loader *l,
		     const struct ag_compiled *c, struct ag_resolver **out)
{
	return resolver_open(o, l, NULL, c, out);
}

int ag_resolver_open_backend(const struct ag_resolver_opts *o, const struct ag_resolver_backend *be,
			     const struct ag_compiled *c, struct ag_resolver **out)
{
	return resolver_open(o, NULL, be, c, out);
}

int ag_resolver_start(struct ag_resolver *r, ag_resolver_report_fn fn, void *ctx)
{
	sigset_t all, old;
	int err;

	r->report = fn;
	r->report_ctx = ctx;
	/*
	 * Signals are the main thread's (cmd_load's flags; it stops us through the pipe): the
	 * thread starts with every signal blocked.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(&r->thread, NULL, serve, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		return -err;
	r->running = true;
	return 0;
}

void ag_resolver_close(struct ag_resolver *r)
{
	size_t i;

	if (!r)
		return;
	if (r->running) {
		if (write(r->stop_pipe[1], "x", 1) != 1)
			pthread_cancel(r->thread);
		pthread_join(r->thread, NULL);
	}
	if (r->l)
		ag_loader_set_pre_flip(r->l, NULL, NULL);
	close_fd(&r->udp_fd);
	close_fd(&r->tcp_fd);
	close_fd(&r->stop_pipe[0]);
	close_fd(&r->stop_pipe[1]);
	for (i = 0; i < AG_NAME_SLOTS; i++)
		free(r->names[i].name);
	pthread_mutex_destroy(&r->lock);
	free(r);
}
