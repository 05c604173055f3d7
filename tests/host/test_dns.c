// SPDX-License-Identifier: GPL-2.0
/*
 * Host-native test of domain rules (issue #9): agentguard's resolver in front of a real DNS
 * server (dnsmasq, started here), the learned bindings, and the cgroup connect/sendmsg hooks
 * that consult them and keep DNS on the resolver. A private network namespace (loopback only)
 * and a throwaway cgroup; the programs are attached to that cgroup only. Each case: the
 * refused or denied action with its exact rcode or errno, the allowed control, and the event.
 *
 * Addresses: the resolver listens on 127.0.0.53:53; dnsmasq on 127.0.0.2:53 (its upstream);
 * 127.0.0.3 is "another DNS server". Test records point into 198.18.0.0/16 and 198.19.0.0/16
 * (a local route on lo: the benchmarking range, not internal, so the resolver relays them) and
 * 2001:db8:77::/48. dnsmasq serves every record with TTL 1 and the resolver's floor is
 * TTL_FLOOR seconds, so a binding lasts exactly the floor. DNS rebinding cases answer
 * 10.66.0.0/16 (a local route on lo too), loopback, link-local and IPv6 forms of them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <net/if.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cgroup.h"
#include "compile.h"
#include "dns.h"
#include "events.h"
#include "loader.h"
#include "policy.h"
#include "resolver.h"

#define PORT_OK 18080
#define PORT_OTHER 18081
#define TTL_FLOOR 3
#define BURST 1000
#define DNSMASQ "/usr/sbin/dnsmasq"

static const char policy_yaml[] =
	"apiVersion: agentguard/v1\n"
	"kind: Policy\n"
	"metadata:\n"
	"  name: dns-test\n"
	"spec:\n"
	"  filesystem:\n"
	"    default: allow\n"
	"  network:\n"
	"    default: deny\n"
	"    rules:\n"
	"      - id: allowed\n        action: allow\n        domain: allowed.test\n"
	"        ports: [18080]\n"
	"      - id: share-a\n        action: allow\n        domain: a.share.test\n"
	"        ports: [18001]\n"
	"      - id: share-b\n        action: allow\n        domain: b.share.test\n"
	"        ports: [18002]\n"
	"      - id: short\n        action: allow\n        domain: short.test\n"
	"        ports: [18080]\n"
	"      - id: alias\n        action: allow\n        domain: alias.test\n"
	"        ports: [18080]\n"
	"      - id: sneaky\n        action: allow\n        domain: sneaky.test\n"
	"      - id: evil\n        action: deny\n        domain: \"*.evil.test\"\n"
	"      - id: evil-ip-allowed\n        action: allow\n        ip: 198.18.0.8\n"
	"        ports: [18080]\n"
	"      - id: sneaky2\n        action: allow\n        domain: sneaky2.test\n"
	"      - id: evil-mid-ip-allowed\n        action: allow\n        ip: 198.18.0.9\n"
	"        ports: [18080]\n"
	"      - id: forged\n        action: allow\n        domain: forged.test\n"
	"      - id: six\n        action: allow\n        domain: six.test\n        ports: [18080]\n"
	"      - id: burst\n        action: allow\n        domain: \"*.burst.test\"\n"
	"        ports: [18080]\n"
	"      - id: everything-else\n        action: allow\n        cidr: 0.0.0.0/0\n"
	"        ports: [53, 853]\n"
	"      - id: rebind\n        action: allow\n        domain: \"*.rebind.test\"\n"
	"        ports: [18080, 18081]\n"
	"      - id: nexus-ip\n        action: allow\n        ip: 10.66.0.7\n"
	"        ports: [18080]\n";

struct env {
	struct ag_policy *pol;
	struct ag_compiled *c;
	struct ag_loader *l;
	struct ag_resolver *res;
	struct ag_cgroup cg;
	struct ring_buffer *rb;
	struct ag_event_sink sink;
	pthread_mutex_t lock;	/* the sink: the resolver thread writes dns events */
	char *events;
	size_t events_len;
	pid_t dnsmasq;
	char dir[64];
};

static struct env *g_env;

static int locked_handle(void *ctx, void *data, size_t size)
{
	struct env *e = ctx;

	pthread_mutex_lock(&e->lock);
	ag_event_sink_handle(&e->sink, data, size);
	pthread_mutex_unlock(&e->lock);
	return 0;
}

static void dns_report(void *ctx, const struct ag_dns_report *r)
{
	struct env *e = ctx;
	char qt[16];

	pthread_mutex_lock(&e->lock);
	ag_event_sink_dns(&e->sink, r->name, r->address,
			  ag_dns_type_name(r->qtype, qt, sizeof(qt)),
			  ag_dns_rcode_name(r->rcode), r->client, r->transport, r->verdict,
			  r->rule, r->generation);
	pthread_mutex_unlock(&e->lock);
}

static int run(const char *cmd)
{
	int rc = system(cmd);

	return rc == 0 ? 0 : -1;
}

/* ---- DNS from the test's side ---------------------------------------------------------- */

static int make_query(const char *name, __u16 qtype, __u16 id, __u8 *out, size_t cap)
{
	struct ag_dns_question q = { .id = id, .qtype = qtype, .qclass = AG_DNS_CLASS_IN };
	const char *p = name, *dot;

	while (*p) {
		size_t l;

		dot = strchr(p, '.');
		l = dot ? (size_t)(dot - p) : strlen(p);
		q.wire[q.wire_len++] = l;
		memcpy(q.wire + q.wire_len, p, l);
		q.wire_len += l;
		p += l + (dot ? 1 : 0);
	}
	q.wire[q.wire_len++] = 0;
	return ag_dns_build_query(out, cap, &q, id);
}

/*
 * Results of a lookup as an exit status: the rcode (0..15); 100 + errno class of a failure
 * to send (EPERM 101, other 102); 103 no answer in time; 104 the wrong address; 105 garbled.
 */
#define R_EPERM 101
#define R_SENDFAIL 102
#define R_TIMEOUT 103
#define R_WRONG 104
#define R_GARBLED 105
#define R_PRESENT 106	/* an address that must not be in the answer is */
#define R_COUNT 107	/* not as many addresses as expected */

/* The 16 bytes of an A or AAAA record's address in text, as the record carries it. */
static bool rr_is(const struct ag_dns_rr *rr, const char *text)
{
	__u8 a[16];

	if (rr->type == AG_DNS_T_A)
		return inet_pton(AF_INET, text, a) == 1 && !memcmp(rr->rdata, a, 4);
	if (rr->type == AG_DNS_T_AAAA)
		return inet_pton(AF_INET6, text, a) == 1 && !memcmp(rr->rdata, a, 16);
	return false;
}

/*
 * A lookup, and what its answer must hold: want (an A or AAAA address) in it, absent not, and
 * n_addr A/AAAA records in all (-1: any number).
 */
static int lookup_ex(const char *server, int port, const char *name, __u16 qtype, bool tcp,
		     const char *want_a, const char *absent, int n_addr);

static int lookup(const char *server, int port, const char *name, __u16 qtype, bool tcp,
		  const char *want_a)
{
	return lookup_ex(server, port, name, qtype, tcp, want_a, NULL, -1);
}

static int lookup_ex(const char *server, int port, const char *name, __u16 qtype, bool tcp,
		     const char *want_a, const char *absent, int n_addr)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct ag_dns_question q;
	struct ag_dns_response *r = calloc(1, sizeof(*r));
	__u8 msg[512], in[4096];
	int fd, n, i;
	ssize_t k;

	inet_pton(AF_INET, server, &sa.sin_addr);
	n = make_query(name, qtype, 0x4242, msg + 2, sizeof(msg) - 2);
	ag_dns_parse_question(msg + 2, n, false, &q);
	fd = socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return R_SENDFAIL;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return errno == EPERM ? R_EPERM : R_SENDFAIL;
	if (tcp) {
		msg[0] = n >> 8;
		msg[1] = n & 0xff;
		if (write(fd, msg, n + 2) != n + 2)
			return errno == EPERM ? R_EPERM : R_SENDFAIL;
	} else if (send(fd, msg + 2, n, 0) != n) {
		return errno == EPERM ? R_EPERM : R_SENDFAIL;
	}
	{
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 3000) != 1)
			return R_TIMEOUT;
	}
	if (tcp) {
		__u8 len[2];
		size_t got = 0, want;

		if (recv(fd, len, 2, MSG_WAITALL) != 2)
			return R_GARBLED;
		want = (size_t)len[0] << 8 | len[1];
		while (got < want && (k = recv(fd, in + got, want - got, 0)) > 0)
			got += k;
		k = got;
	} else {
		k = recv(fd, in, sizeof(in), 0);
	}
	if (k < 12)
		return R_GARBLED;
	if (ag_dns_parse_response(in, k, &q, r))
		return (in[3] & 0xf) == AG_DNS_FORMERR ? AG_DNS_FORMERR : R_GARBLED;
	if (want_a) {
		for (i = 0; i < (int)r->n_rr; i++)
			if (rr_is(&r->rr[i], want_a))
				break;
		if (i == (int)r->n_rr)
			return R_WRONG;
	}
	for (i = 0, n = 0; i < (int)r->n_rr; i++) {
		if (absent && rr_is(&r->rr[i], absent))
			return R_PRESENT;
		n += r->rr[i].type == AG_DNS_T_A || r->rr[i].type == AG_DNS_T_AAAA;
	}
	if (n_addr >= 0 && n != n_addr)
		return R_COUNT;
	return r->rcode;
}

/* ---- fixture --------------------------------------------------------------------------- */

static int lo_up(void)
{
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM, 0), err = 0;

	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		err = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!err && ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		err = -errno;
	close(fd);
	return err;
}

static int start_dnsmasq(struct env *e)
{
	char hosts[128], arg_hosts[160];
	FILE *f;
	int i;

	snprintf(hosts, sizeof(hosts), "%s/burst.hosts", e->dir);
	f = fopen(hosts, "w");
	if (!f)
		return -1;
	for (i = 0; i < BURST; i++)
		fprintf(f, "198.19.%d.%d b%d.burst.test\n", i / 250, i % 250 + 1, i);
	fclose(f);
	snprintf(arg_hosts, sizeof(arg_hosts), "--addn-hosts=%s", hosts);
	e->dnsmasq = fork();
	if (e->dnsmasq == 0) {
		execl(DNSMASQ, DNSMASQ, "-k", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
		      "--listen-address=127.0.0.2", "--listen-address=127.0.0.3",
		      "--bind-interfaces", "--port=53", "--user=root", "--group=root",
		      "--pid-file", "--log-facility=/dev/null", "--local-ttl=1",
		      "--dns-forward-max=2000", "--local=/test/", arg_hosts,
		      "--host-record=allowed.test,198.18.0.1",
		      "--host-record=denied.test,198.18.0.3",
		      "--host-record=a.share.test,198.18.0.5",
		      "--host-record=b.share.test,198.18.0.5",
		      "--host-record=short.test,198.18.0.6",
		      "--host-record=six.test,2001:db8:77::1",
		      "--cname=alias.test,target.test", "--host-record=target.test,198.18.0.7",
		      "--cname=sneaky.test,x.evil.test", "--host-record=x.evil.test,198.18.0.8",
		      "--cname=sneaky2.test,y.evil.test", "--cname=y.evil.test,plain.test",
		      "--host-record=plain.test,198.18.0.9",
		      "--txt-record=allowed.test,exfiltrated-bytes",
		      /* DNS rebinding: names of an allowed zone that answer internal addresses. */
		      "--host-record=lan.rebind.test,10.66.0.1",
		      "--host-record=lo.rebind.test,127.0.0.1",
		      "--host-record=meta.rebind.test,169.254.169.254",
		      "--host-record=mixed.rebind.test,198.18.1.1",
		      "--host-record=mixed.rebind.test,10.66.0.4",
		      "--host-record=ula.rebind.test,fd66::1",
		      "--host-record=mapped.rebind.test,::ffff:10.66.0.2",
		      "--host-record=nat64.rebind.test,64:ff9b::a42:3",
		      "--host-record=nexus.rebind.test,10.66.0.7",
		      "--cname=cn.rebind.test,inner.test", "--host-record=inner.test,10.66.0.5",
		      (char *)NULL);
		_exit(127);
	}
	if (e->dnsmasq < 0)
		return -1;
	/* Ready when it answers (from outside the sandbox). */
	for (i = 0; i < 100; i++) {
		if (lookup("127.0.0.2", 53, "allowed.test", AG_DNS_T_A, false, "198.18.0.1") == 0)
			return 0;
		usleep(50000);
	}
	fprintf(stderr, "test_dns: dnsmasq did not answer\n");
	return -1;
}

static int setup(void **state)
{
	struct ag_loader_opts o = { .cgroup = true };
	struct ag_resolver_opts ro = { .ttl_floor_s = TTL_FLOOR, .ttl_cap_s = 3600,
				       .n_upstream = 1 };
	struct ag_diags d = {};
	char root[4096], path[4200];
	struct env *e;
	FILE *mem;

	if (geteuid() != 0) {
		fprintf(stderr, "test_dns: needs root\n");
		return -1;
	}
	if (access(DNSMASQ, X_OK)) {
		fprintf(stderr, "test_dns: %s missing: run scripts/deps.sh\n", DNSMASQ);
		return -1;
	}
	e = calloc(1, sizeof(*e));
	e->cg.fd = -1;
	e->dnsmasq = -1;
	pthread_mutex_init(&e->lock, NULL);
	g_env = e;
	snprintf(e->dir, sizeof(e->dir), "/tmp/agentguard-dns-%d", getpid());
	if (mkdir(e->dir, 0700) && errno != EEXIST)
		return -1;
	if (unshare(CLONE_NEWNET) || lo_up() ||
	    run("ip addr add 127.0.0.2/32 dev lo && ip addr add 127.0.0.3/32 dev lo && "
		"ip route add local 198.18.0.0/15 dev lo && "
		"ip route add local 10.66.0.0/16 dev lo && "
		"ip -6 addr add 2001:db8:77::1/128 dev lo nodad && "
		"ip -6 addr add 2001:db8:77::2/128 dev lo nodad"))
		return -1;
	if (start_dnsmasq(e))
		return -1;
	if (ag_policy_parse_buf("dns-test.yaml", policy_yaml, strlen(policy_yaml), &e->pol, &d) ||
	    ag_compile(&e->pol, 1, &e->c, &d)) {
		ag_diags_print(&d, stderr);
		return -1;
	}
	if (ag_cgroup2_mount(root, sizeof(root)))
		return -1;
	snprintf(path, sizeof(path), "%s/agentguard-dnstest-%d", root, getpid());
	if (ag_cgroup_open(path, 1, &e->cg))
		return -1;
	ag_resolver_parse_addr("127.0.0.53:53", &ro.listen);
	ag_resolver_parse_addr("127.0.0.2:53", &ro.upstream[0]);
	if (ag_loader_open(&o, &e->l) || ag_loader_install(e->l, e->c) ||
	    ag_resolver_open(&ro, e->l, e->c, &e->res) || ag_loader_attach(e->l, &e->cg))
		return -1;
	mem = open_memstream(&e->events, &e->events_len);
	e->sink.out = mem;
	e->sink.policy = e->c;
	e->sink.generation = ag_loader_generation(e->l);
	e->sink.domain_name = ag_resolver_name;
	e->sink.domain_ctx = e->res;
	snprintf(e->sink.host, sizeof(e->sink.host), "test");
	snprintf(e->sink.session, sizeof(e->sink.session), "s1");
	snprintf(e->sink.sandbox, sizeof(e->sink.sandbox), "%s", e->cg.rel);
	e->rb = ring_buffer__new(ag_loader_deny_ringbuf_fd(e->l), locked_handle, e, NULL);
	if (!e->rb || ring_buffer__add(e->rb, ag_loader_ringbuf_fd(e->l), locked_handle, e))
		return -1;
	if (ag_resolver_start(e->res, dns_report, e))
		return -1;
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state ? *state : g_env;
	char cmd[128];

	if (!e)
		return 0;
	ag_resolver_close(e->res);
	ring_buffer__free(e->rb);
	if (e->sink.out)
		fclose(e->sink.out);
	ag_event_sink_free(&e->sink);
	ag_loader_close(e->l);
	ag_cgroup_close(&e->cg);
	if (e->cg.created)
		rmdir(e->cg.path);
	ag_compiled_free(e->c);
	ag_policy_free(e->pol);
	if (e->dnsmasq > 0) {
		kill(e->dnsmasq, SIGTERM);
		waitpid(e->dnsmasq, NULL, 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", e->dir);
	run(cmd);
	free(e->events);
	free(e);
	g_env = NULL;
	return 0;
}

/* ---- helpers ----------------------------------------------------------------------------- */

/* fn(arg) in a child: inside the sandbox cgroup or not. Returns its exit status, or -1. */
static int in_child(struct env *e, bool inside, int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		if (inside && ag_cgroup_enter(&e->cg, getpid()))
			_exit(255);
		_exit(fn(arg));
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

struct lookup_arg {
	const char *server;
	int port;
	const char *name;
	__u16 qtype;
	bool tcp;
	const char *want_a;
};

static int do_lookup(void *p)
{
	const struct lookup_arg *a = p;

	return lookup(a->server, a->port, a->name, a->qtype, a->tcp, a->want_a);
}

struct answer_arg {
	const char *name;
	__u16 qtype;
	const char *want;	/* in the answer */
	const char *absent;	/* not in the answer */
	int n_addr;		/* A/AAAA records in all */
};

static int do_answer(void *p)
{
	const struct answer_arg *a = p;

	return lookup_ex("127.0.0.53", 53, a->name, a->qtype, false, a->want, a->absent,
			 a->n_addr);
}

/* A lookup through agentguard's resolver from inside the sandbox. */
static int resolve_in(struct env *e, const char *name, __u16 qtype, bool tcp, const char *want)
{
	struct lookup_arg a = { "127.0.0.53", 53, name, qtype, tcp, want };

	return in_child(e, true, do_lookup, &a);
}

struct conn_arg {
	const char *addr;
	int port;
	int type;
};

static int do_connect(void *p)
{
	const struct conn_arg *a = p;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(a->port) };
	int fd = socket(AF_INET, a->type, 0);

	inet_pton(AF_INET, a->addr, &sa.sin_addr);
	if (fd < 0)
		return 254;
	return connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ? errno : 0;
}

/* connect() (UDP unless type says otherwise) from inside or outside: 0 or the errno. */
static int try_connect(struct env *e, bool inside, const char *addr, int port, int type)
{
	struct conn_arg a = { addr, port, type ? type : SOCK_DGRAM };

	return in_child(e, inside, do_connect, &a);
}

static int do_connect6(void *p)
{
	const struct conn_arg *a = p;
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons(a->port) };
	int fd = socket(AF_INET6, a->type, 0);

	inet_pton(AF_INET6, a->addr, &sa.sin6_addr);
	if (fd < 0)
		return 254;
	return connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ? errno : 0;
}

static const char *drain_events(struct env *e)
{
	static char buf[1 << 20];

	ring_buffer__consume(e->rb);
	pthread_mutex_lock(&e->lock);
	fflush(e->sink.out);
	snprintf(buf, sizeof(buf), "%.*s", (int)e->events_len, e->events ? e->events : "");
	fseek(e->sink.out, 0, SEEK_SET);
	e->events_len = 0;
	if (e->events)
		e->events[0] = '\0';
	pthread_mutex_unlock(&e->lock);
	return buf;
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle)) {
		fprintf(stderr, "expected %s\n  in: %.4000s\n", needle, hay);
		fail();
	}
}

static void assert_lacks(const char *hay, const char *needle)
{
	if (strstr(hay, needle)) {
		fprintf(stderr, "did not expect %s\n  in: %.4000s\n", needle, hay);
		fail();
	}
}

/* ---- cases ------------------------------------------------------------------------------- */

static void test_allowed_name_then_its_ip_only(void **state)
{
	struct env *e = *state;
	const char *ev;

	drain_events(e);
	/* Before any lookup the address is unknown: the default denies. */
	assert_int_equal(try_connect(e, true, "198.18.0.1", PORT_OK, 0), EPERM);
	assert_int_equal(resolve_in(e, "allowed.test", AG_DNS_T_A, false, "198.18.0.1"),
			 AG_DNS_NOERROR);
	assert_int_equal(try_connect(e, true, "198.18.0.1", PORT_OK, 0), 0);
	assert_int_equal(try_connect(e, true, "198.18.0.1", PORT_OK, SOCK_STREAM), ECONNREFUSED);
	/* The rule's port only, and no other address. */
	assert_int_equal(try_connect(e, true, "198.18.0.1", PORT_OTHER, 0), EPERM);
	assert_int_equal(try_connect(e, true, "198.18.0.2", PORT_OK, 0), EPERM);
	assert_int_equal(try_connect(e, false, "198.18.0.2", PORT_OK, 0), 0);
	ev = drain_events(e);
	assert_contains(ev, "\"target\":{\"address\":\"198.18.0.2\",\"port\":18080,"
			    "\"protocol\":\"udp\",\"family\":\"ipv4\"}");
	/* The denied port on the learned address names the domain the address is known by. */
	assert_contains(ev, "\"address\":\"198.18.0.1\",\"port\":18081,\"protocol\":\"udp\","
			    "\"family\":\"ipv4\",\"domain\":\"allowed.test\"}");
	assert_contains(ev, "\"rule\":{\"id\":\"dns-test:network.default\"");
}

/* AAAA: learned as the IPv6 address, judged by connect6. */
static void test_aaaa_then_connect6(void **state)
{
	struct env *e = *state;
	struct conn_arg one = { "2001:db8:77::1", PORT_OK, SOCK_DGRAM };
	struct conn_arg two = { "2001:db8:77::2", PORT_OK, SOCK_DGRAM };
	struct conn_arg other_port = { "2001:db8:77::1", PORT_OTHER, SOCK_DGRAM };
	const char *ev;

	drain_events(e);
	assert_int_equal(in_child(e, true, do_connect6, &one), EPERM);
	assert_int_equal(resolve_in(e, "six.test", AG_DNS_T_AAAA, false, NULL), AG_DNS_NOERROR);
	assert_int_equal(in_child(e, true, do_connect6, &one), 0);
	assert_int_equal(in_child(e, true, do_connect6, &two), EPERM);
	assert_int_equal(in_child(e, true, do_connect6, &other_port), EPERM);
	assert_int_equal(in_child(e, false, do_connect6, &two), 0);
	ev = drain_events(e);
	assert_contains(ev, "\"address\":\"2001:db8:77::2\",\"port\":18080,\"protocol\":\"udp\","
			    "\"family\":\"ipv6\"}");
	assert_contains(ev, "\"address\":\"2001:db8:77::1\",\"port\":18081,\"protocol\":\"udp\","
			    "\"family\":\"ipv6\",\"domain\":\"six.test\"}");
}

static void test_denied_name_refused(void **state)
{
	struct env *e = *state;
	const char *ev;

	drain_events(e);
	assert_int_equal(resolve_in(e, "denied.test", AG_DNS_T_A, false, NULL), AG_DNS_REFUSED);
	/* Control: upstream has it; asked from outside the sandbox it answers. */
	{
		struct lookup_arg a = { "127.0.0.2", 53, "denied.test", AG_DNS_T_A, false,
					"198.18.0.3" };

		assert_int_equal(in_child(e, false, do_lookup, &a), AG_DNS_NOERROR);
	}
	/* Not forwarded, so nothing learned. */
	assert_int_equal(try_connect(e, true, "198.18.0.3", PORT_OK, 0), EPERM);
	ev = drain_events(e);
	assert_contains(ev, "\"kind\":\"dns\",\"operation\":\"query\",\"target\":{\"name\":"
			    "\"denied.test\",\"qtype\":\"A\",\"rcode\":\"REFUSED\",\"client\":"
			    "\"127.0.0.1:");
	assert_contains(ev, "\"transport\":\"udp\"},\"decision\":\"deny\",\"mode\":\"enforce\","
			    "\"rule\":{\"id\":\"dns-test:network.default\",\"layer\":\"local\"}");
}

static void test_two_names_share_an_ip(void **state)
{
	struct env *e = *state;
	const char *ev;

	drain_events(e);
	assert_int_equal(resolve_in(e, "a.share.test", AG_DNS_T_A, false, "198.18.0.5"), 0);
	assert_int_equal(try_connect(e, true, "198.18.0.5", 18001, 0), 0);
	assert_int_equal(try_connect(e, true, "198.18.0.5", 18002, 0), EPERM);
	/* b's lookup adds its rule: the address admits both (the CDN caveat, docs/policy.md). */
	assert_int_equal(resolve_in(e, "b.share.test", AG_DNS_T_A, false, "198.18.0.5"), 0);
	assert_int_equal(try_connect(e, true, "198.18.0.5", 18002, 0), 0);
	assert_int_equal(try_connect(e, true, "198.18.0.5", 18001, 0), 0);
	assert_int_equal(try_connect(e, true, "198.18.0.5", 18003, 0), EPERM);
	ev = drain_events(e);
	assert_contains(ev, "\"address\":\"198.18.0.5\",\"port\":18002");
	assert_contains(ev, "\"address\":\"198.18.0.5\",\"port\":18003");
}

static void test_binding_expires(void **state)
{
	struct env *e = *state;
	struct timespec t = { TTL_FLOOR, 600000000 };

	drain_events(e);
	assert_int_equal(resolve_in(e, "short.test", AG_DNS_T_A, false, "198.18.0.6"), 0);
	assert_int_equal(try_connect(e, true, "198.18.0.6", PORT_OK, 0), 0);
	/* TTL 1 from upstream, floor TTL_FLOOR: past it the address is unknown again. */
	nanosleep(&t, NULL);
	assert_int_equal(try_connect(e, true, "198.18.0.6", PORT_OK, 0), EPERM);
	assert_contains(drain_events(e), "\"address\":\"198.18.0.6\",\"port\":18080");
	/* A fresh lookup learns it again. */
	assert_int_equal(resolve_in(e, "short.test", AG_DNS_T_A, false, "198.18.0.6"), 0);
	assert_int_equal(try_connect(e, true, "198.18.0.6", PORT_OK, 0), 0);
}

/*
 * A connection made while the binding lived keeps working after it expires (connected sends
 * pass no hook); a new connect() then needs a new lookup.
 */
static int do_connect_wait_send(void *p)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(PORT_OK) };
	struct timespec t = { TTL_FLOOR, 600000000 };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), fd2 = socket(AF_INET, SOCK_DGRAM, 0);

	(void)p;
	inet_pton(AF_INET, "198.18.0.6", &sa.sin_addr);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return 10;
	nanosleep(&t, NULL);
	if (send(fd, "x", 1, 0) != 1)
		return 11;
	if (!connect(fd2, (struct sockaddr *)&sa, sizeof(sa)))
		return 12;
	return errno == EPERM ? 0 : 13;
}

static void test_established_survives_expiry(void **state)
{
	struct env *e = *state;

	drain_events(e);
	assert_int_equal(resolve_in(e, "short.test", AG_DNS_T_A, false, "198.18.0.6"), 0);
	assert_int_equal(in_child(e, true, do_connect_wait_send, NULL), 0);
	assert_contains(drain_events(e), "\"address\":\"198.18.0.6\",\"port\":18080");
}

static void test_cname_chain(void **state)
{
	struct env *e = *state;

	drain_events(e);
	/* alias.test -> target.test -> 198.18.0.7: learned for alias.test's rule. */
	assert_int_equal(try_connect(e, true, "198.18.0.7", PORT_OK, 0), EPERM);
	assert_int_equal(resolve_in(e, "alias.test", AG_DNS_T_A, false, "198.18.0.7"), 0);
	assert_int_equal(try_connect(e, true, "198.18.0.7", PORT_OK, 0), 0);
	assert_int_equal(try_connect(e, true, "198.18.0.7", PORT_OTHER, 0), EPERM);
	/* Asking for the target itself is still refused: no rule names it. */
	assert_int_equal(resolve_in(e, "target.test", AG_DNS_T_A, false, NULL), AG_DNS_REFUSED);
	drain_events(e);
}

static void test_cname_into_denied_domain(void **state)
{
	struct env *e = *state;
	const char *ev;

	drain_events(e);
	/* 198.18.0.8 is allowed by an ip rule... */
	assert_int_equal(try_connect(e, true, "198.18.0.8", PORT_OK, 0), 0);
	/* ...until it is known as x.evil.test: a deny domain wins over an allow CIDR. */
	assert_int_equal(resolve_in(e, "sneaky.test", AG_DNS_T_A, false, NULL), AG_DNS_REFUSED);
	assert_int_equal(try_connect(e, true, "198.18.0.8", PORT_OK, 0), EPERM);
	ev = drain_events(e);
	assert_contains(ev, "\"name\":\"sneaky.test\",\"qtype\":\"A\",\"rcode\":\"REFUSED\"");
	assert_contains(ev, "\"rule\":{\"id\":\"evil\",\"layer\":\"local\"}");
	assert_contains(ev, "\"address\":\"198.18.0.8\",\"port\":18080,\"protocol\":\"udp\","
			    "\"family\":\"ipv4\",\"domain\":\"x.evil.test\"}");
	/* And the IPv4 allow cache did not keep the earlier allow (every CPU in turn). */
	{
		int ncpu = sysconf(_SC_NPROCESSORS_ONLN), cpu;
		cpu_set_t saved, one;

		sched_getaffinity(0, sizeof(saved), &saved);
		for (cpu = 0; cpu < ncpu; cpu++) {
			CPU_ZERO(&one);
			CPU_SET(cpu, &one);
			if (sched_setaffinity(0, sizeof(one), &one))
				continue;
			assert_int_equal(try_connect(e, true, "198.18.0.8", PORT_OK, 0), EPERM);
		}
		sched_setaffinity(0, sizeof(saved), &saved);
	}
	drain_events(e);
}

/* The denied name in the middle of a chain: its end's addresses are learned as denied too. */
static void test_cname_through_denied_domain(void **state)
{
	struct env *e = *state;
	const char *ev;

	drain_events(e);
	assert_int_equal(try_connect(e, true, "198.18.0.9", PORT_OK, 0), 0);
	/* sneaky2.test -> y.evil.test -> plain.test -> 198.18.0.9 */
	assert_int_equal(resolve_in(e, "sneaky2.test", AG_DNS_T_A, false, NULL), AG_DNS_REFUSED);
	assert_int_equal(try_connect(e, true, "198.18.0.9", PORT_OK, 0), EPERM);
	ev = drain_events(e);
	assert_contains(ev, "\"name\":\"sneaky2.test\",\"qtype\":\"A\",\"rcode\":\"REFUSED\"");
	assert_contains(ev, "\"address\":\"198.18.0.9\",\"port\":18080,\"protocol\":\"udp\","
			    "\"family\":\"ipv4\",\"domain\":\"y.evil.test\"}");
}

static void test_txt_for_allowed_name_refused(void **state)
{
	struct env *e = *state;
	struct lookup_arg direct = { "127.0.0.2", 53, "allowed.test", AG_DNS_T_TXT, false, NULL };
	const char *ev;

	drain_events(e);
	assert_int_equal(resolve_in(e, "allowed.test", AG_DNS_T_TXT, false, NULL),
			 AG_DNS_REFUSED);
	assert_int_equal(resolve_in(e, "allowed.test", AG_DNS_T_ANY, false, NULL),
			 AG_DNS_REFUSED);
	assert_int_equal(resolve_in(e, "allowed.test", AG_DNS_T_NULL, true, NULL),
			 AG_DNS_REFUSED);
	/* Control: upstream does have the TXT record. */
	assert_int_equal(in_child(e, false, do_lookup, &direct), AG_DNS_NOERROR);
	/* And A for the same name through the resolver works. */
	assert_int_equal(resolve_in(e, "allowed.test", AG_DNS_T_A, false, "198.18.0.1"), 0);
	ev = drain_events(e);
	assert_contains(ev, "\"name\":\"allowed.test\",\"qtype\":\"TXT\",\"rcode\":\"REFUSED\"");
	assert_contains(ev, "\"name\":\"allowed.test\",\"qtype\":\"ANY\",\"rcode\":\"REFUSED\"");
	assert_contains(ev, "\"qtype\":\"NULL\",\"rcode\":\"REFUSED\",\"client\":");
	assert_contains(ev, "\"transport\":\"tcp\"},\"decision\":\"deny\"");
	assert_contains(ev, "\"rule\":{\"id\":\"builtin:dns-qtype\",\"layer\":\"builtin\"}");
}

static void test_other_dns_server_denied(void **state)
{
	struct env *e = *state;
	struct lookup_arg up = { "127.0.0.2", 53, "allowed.test", AG_DNS_T_A, false, NULL };
	struct lookup_arg other = { "127.0.0.3", 53, "allowed.test", AG_DNS_T_A, false, NULL };
	const char *ev;

	drain_events(e);
	/* Port 53 is allowed to 0.0.0.0/0 by the policy: still only the resolver. */
	assert_int_equal(in_child(e, true, do_lookup, &up), R_EPERM);
	assert_int_equal(in_child(e, true, do_lookup, &other), R_EPERM);
	/* Control: from outside the sandbox that server answers. */
	assert_int_equal(in_child(e, false, do_lookup, &other), AG_DNS_NOERROR);
	ev = drain_events(e);
	assert_contains(ev, "\"operation\":\"connect\",\"target\":{\"address\":\"127.0.0.3\","
			    "\"port\":53,\"protocol\":\"udp\"");
	assert_contains(ev, "\"rule\":{\"id\":\"builtin:dns-elsewhere\",\"layer\":\"builtin\"}");
}

static int do_sendto_dns(void *p)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53) };
	__u8 msg[512];
	int fd = socket(AF_INET, SOCK_DGRAM, 0), n;

	(void)p;
	inet_pton(AF_INET, "127.0.0.3", &sa.sin_addr);
	n = make_query("allowed.test", AG_DNS_T_A, 1, msg, sizeof(msg));
	return sendto(fd, msg, n, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? errno : 0;
}

static void test_unconnected_udp_dns_denied(void **state)
{
	struct env *e = *state;

	drain_events(e);
	assert_int_equal(in_child(e, true, do_sendto_dns, NULL), EPERM);
	assert_int_equal(in_child(e, false, do_sendto_dns, NULL), 0);
	assert_contains(drain_events(e), "\"operation\":\"sendmsg\",\"target\":{\"address\":"
					 "\"127.0.0.3\",\"port\":53");
}

static void test_dns_over_tcp(void **state)
{
	struct env *e = *state;
	struct lookup_arg up = { "127.0.0.2", 53, "allowed.test", AG_DNS_T_A, true, NULL };
	const char *ev;

	drain_events(e);
	assert_int_equal(resolve_in(e, "allowed.test", AG_DNS_T_A, true, "198.18.0.1"), 0);
	assert_int_equal(resolve_in(e, "denied.test", AG_DNS_T_A, true, NULL), AG_DNS_REFUSED);
	assert_int_equal(in_child(e, true, do_lookup, &up), R_EPERM);
	assert_int_equal(in_child(e, false, do_lookup, &up), AG_DNS_NOERROR);
	ev = drain_events(e);
	assert_contains(ev, "\"address\":\"127.0.0.2\",\"port\":53,\"protocol\":\"tcp\"");
	assert_contains(ev, "\"name\":\"denied.test\",\"qtype\":\"A\",\"rcode\":\"REFUSED\"");
}

static void test_dot_elsewhere_denied(void **state)
{
	struct env *e = *state;

	drain_events(e);
	assert_int_equal(try_connect(e, true, "127.0.0.2", 853, SOCK_STREAM), EPERM);
	assert_int_equal(try_connect(e, true, "127.0.0.3", 853, SOCK_DGRAM), EPERM);
	/* Outside: nothing listens there, and the kernel says so. */
	assert_int_equal(try_connect(e, false, "127.0.0.2", 853, SOCK_STREAM), ECONNREFUSED);
	assert_contains(drain_events(e), "\"address\":\"127.0.0.2\",\"port\":853,"
					 "\"protocol\":\"tcp\"");
}

/* A response (QR set) claiming forged.test is 198.18.0.66, sent to the resolver's port. */
static int do_forge(void *p)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53) };
	__u8 msg[512], in[512];
	struct ag_dns_question q;
	struct ag_dns_rr rr = { .type = AG_DNS_T_A, .ttl = 3600, .rdata = { 127, 77, 0, 66 },
				.rdlen = 4 };
	const struct ag_dns_rr *rrs[1] = { &rr };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), n;
	struct pollfd pf = { .fd = fd, .events = POLLIN };

	(void)p;
	n = make_query("forged.test", AG_DNS_T_A, 7, msg, sizeof(msg));
	ag_dns_parse_question(msg, n, false, &q);
	memcpy(rr.owner, q.wire, q.wire_len);
	rr.owner_len = q.wire_len;
	n = ag_dns_build_reply(msg, sizeof(msg), &q, AG_DNS_NOERROR, false, rrs, 1);
	inet_pton(AF_INET, "127.0.0.53", &sa.sin_addr);
	if (sendto(fd, msg, n, 0, (struct sockaddr *)&sa, sizeof(sa)) != n)
		return 250;
	if (poll(&pf, 1, 3000) != 1)
		return R_TIMEOUT;
	n = recv(fd, in, sizeof(in), 0);
	return n >= 4 ? (in[3] & 0xf) : R_GARBLED;
}

static void test_forged_answer_learns_nothing(void **state)
{
	struct env *e = *state;
	const char *ev;

	drain_events(e);
	/* The resolver reads it as a malformed query: FORMERR, nothing learned. */
	assert_int_equal(in_child(e, true, do_forge, NULL), AG_DNS_FORMERR);
	assert_int_equal(try_connect(e, true, "198.18.0.66", PORT_OK, 0), EPERM);
	/* Control: the name is allowed; upstream says it does not exist. */
	assert_int_equal(resolve_in(e, "forged.test", AG_DNS_T_A, false, NULL),
			 AG_DNS_NXDOMAIN);
	assert_int_equal(try_connect(e, true, "198.18.0.66", PORT_OK, 0), EPERM);
	ev = drain_events(e);
	assert_contains(ev, "\"rcode\":\"FORMERR\"");
	assert_contains(ev, "\"rule\":{\"id\":\"builtin:dns-name\",\"layer\":\"builtin\"}");
	assert_contains(ev, "\"address\":\"198.18.0.66\",\"port\":18080");
}

/* BURST queries on one socket back to back, then every answer; then every address. */
/* ---- DNS rebinding ----------------------------------------------------------------------- */

/* Is addr (IPv4 text) in the learned map? */
static bool learned(struct env *e, const char *addr)
{
	struct ag_dns_key k = {};
	struct ag_dns_learned v;

	k.addr[10] = k.addr[11] = 0xff;
	inet_pton(AF_INET, addr, k.addr + 12);
	return !bpf_map_lookup_elem(ag_loader_dns_learned_fd(e->l), &k, &v);
}

/*
 * An allowed name (a wildcard the attacker's zone answers) resolving to the LAN, the host's
 * loopback or the metadata endpoint: REFUSED, nothing learned, the address unreachable from
 * inside, one dns event and one count for each.
 */
static void test_rebind_internal_refused(void **state)
{
	static const struct {
		const char *name, *addr;
	} t[] = {
		{ "lan.rebind.test", "10.66.0.1" },
		{ "lo.rebind.test", "127.0.0.1" },
		{ "meta.rebind.test", "169.254.169.254" },
	};
	struct env *e = *state;
	unsigned long long before = ag_resolver_withheld(e->res);
	char want[256];
	const char *ev;
	size_t i;

	drain_events(e);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct lookup_arg up = { "127.0.0.2", 53, t[i].name, AG_DNS_T_A, false, t[i].addr };

		/* Control: upstream answers it (asked from outside the sandbox). */
		assert_int_equal(in_child(e, false, do_lookup, &up), AG_DNS_NOERROR);
		assert_int_equal(resolve_in(e, t[i].name, AG_DNS_T_A, false, NULL), AG_DNS_REFUSED);
		assert_int_equal(resolve_in(e, t[i].name, AG_DNS_T_A, true, NULL), AG_DNS_REFUSED);
		assert_false(learned(e, t[i].addr));
	}
	assert_int_equal(ag_resolver_withheld(e->res), before + 6);
	assert_int_equal(try_connect(e, true, "10.66.0.1", 18080, 0), EPERM);
	assert_int_equal(try_connect(e, true, "127.0.0.1", 18080, 0), EPERM);
	/* Control: the address is there, reachable from outside the sandbox. */
	assert_int_equal(try_connect(e, false, "10.66.0.1", 18080, 0), 0);
	ev = drain_events(e);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(want, sizeof(want), "\"kind\":\"dns\",\"operation\":\"answer\",\"target\":"
			 "{\"name\":\"%s\",\"address\":\"%s\",\"qtype\":\"A\","
			 "\"rcode\":\"REFUSED\",\"client\":", t[i].name, t[i].addr);
		assert_contains(ev, want);
	}
	assert_contains(ev, "\"transport\":\"tcp\"},\"decision\":\"deny\"");
	assert_contains(ev, "\"rule\":{\"id\":\"builtin:dns-rebind\",\"layer\":\"builtin\"}");
	assert_contains(ev, "\"address\":\"10.66.0.1\",\"port\":18080,\"protocol\":\"udp\"");
}

/*
 * Through a CNAME: the allowed name points at a name no rule matches, whose address is
 * internal. The chain's end is judged, whatever name it carries.
 */
static void test_rebind_through_cname(void **state)
{
	struct env *e = *state;
	struct lookup_arg up = { "127.0.0.2", 53, "cn.rebind.test", AG_DNS_T_A, false,
				 "10.66.0.5" };
	unsigned long long before = ag_resolver_withheld(e->res);

	drain_events(e);
	assert_int_equal(in_child(e, false, do_lookup, &up), AG_DNS_NOERROR);
	assert_int_equal(resolve_in(e, "cn.rebind.test", AG_DNS_T_A, false, NULL), AG_DNS_REFUSED);
	assert_int_equal(ag_resolver_withheld(e->res), before + 1);
	assert_false(learned(e, "10.66.0.5"));
	assert_int_equal(try_connect(e, true, "10.66.0.5", 18080, 0), EPERM);
	assert_contains(drain_events(e), "{\"name\":\"cn.rebind.test\",\"address\":\"10.66.0.5\","
					 "\"qtype\":\"A\",\"rcode\":\"REFUSED\"");
}

/* A mixed answer: the public address is relayed and learned, the internal one withheld. */
static void test_rebind_mixed_answer_keeps_public(void **state)
{
	struct env *e = *state;
	struct answer_arg a = { "mixed.rebind.test", AG_DNS_T_A, "198.18.1.1", "10.66.0.4", 1 };
	struct lookup_arg up = { "127.0.0.2", 53, "mixed.rebind.test", AG_DNS_T_A, false,
				 "10.66.0.4" };
	unsigned long long before = ag_resolver_withheld(e->res);
	const char *ev;

	drain_events(e);
	assert_int_equal(in_child(e, false, do_lookup, &up), AG_DNS_NOERROR);
	assert_int_equal(in_child(e, true, do_answer, &a), AG_DNS_NOERROR);
	assert_int_equal(ag_resolver_withheld(e->res), before + 1);
	assert_true(learned(e, "198.18.1.1"));
	assert_false(learned(e, "10.66.0.4"));
	assert_int_equal(try_connect(e, true, "198.18.1.1", 18080, 0), 0);
	assert_int_equal(try_connect(e, true, "198.18.1.1", 18081, 0), 0);
	assert_int_equal(try_connect(e, true, "10.66.0.4", 18080, 0), EPERM);
	assert_int_equal(try_connect(e, false, "10.66.0.4", 18080, 0), 0);
	ev = drain_events(e);
	assert_contains(ev, "{\"name\":\"mixed.rebind.test\",\"address\":\"10.66.0.4\","
			    "\"qtype\":\"A\",\"rcode\":\"NOERROR\"");
	assert_lacks(ev, "\"address\":\"198.18.1.1\"");
}

/* AAAA: a ULA, and internal IPv4 addresses carried in IPv6 (v4-mapped, NAT64). */
static void test_rebind_ipv6_forms(void **state)
{
	static const struct {
		const char *name, *addr;
	} t[] = {
		{ "ula.rebind.test", "fd66::1" },
		{ "mapped.rebind.test", "::ffff:10.66.0.2" },
		{ "nat64.rebind.test", "64:ff9b::a42:3" },
	};
	struct env *e = *state;
	struct conn_arg mapped = { "::ffff:10.66.0.2", 18080, SOCK_DGRAM };
	unsigned long long before = ag_resolver_withheld(e->res);
	char want[256];
	const char *ev;
	size_t i;

	drain_events(e);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct lookup_arg up = { "127.0.0.2", 53, t[i].name, AG_DNS_T_AAAA, false,
					 t[i].addr };

		assert_int_equal(in_child(e, false, do_lookup, &up), AG_DNS_NOERROR);
		assert_int_equal(resolve_in(e, t[i].name, AG_DNS_T_AAAA, false, NULL),
				 AG_DNS_REFUSED);
	}
	assert_int_equal(ag_resolver_withheld(e->res), before + 3);
	assert_false(learned(e, "10.66.0.2"));
	assert_false(learned(e, "10.66.0.3"));
	assert_int_equal(in_child(e, true, do_connect6, &mapped), EPERM);
	/* Control: the public AAAA of an allowed name is relayed. */
	assert_int_equal(resolve_in(e, "six.test", AG_DNS_T_AAAA, false, NULL), AG_DNS_NOERROR);
	ev = drain_events(e);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(want, sizeof(want), "{\"name\":\"%s\",\"address\":\"%s\","
			 "\"qtype\":\"AAAA\",\"rcode\":\"REFUSED\"", t[i].name, t[i].addr);
		assert_contains(ev, want);
	}
}

/*
 * An ip rule that opens the internal address: its record is relayed (no event), and what the
 * sandbox may reach there is the ip rule's alone: the domain rule's other port stays closed.
 */
static void test_rebind_cidr_allowed_kept(void **state)
{
	struct env *e = *state;
	struct answer_arg a = { "nexus.rebind.test", AG_DNS_T_A, "10.66.0.7", NULL, 1 };
	unsigned long long before = ag_resolver_withheld(e->res);
	const char *ev;

	drain_events(e);
	assert_int_equal(in_child(e, true, do_answer, &a), AG_DNS_NOERROR);
	assert_int_equal(ag_resolver_withheld(e->res), before);
	assert_int_equal(try_connect(e, true, "10.66.0.7", 18080, 0), 0);
	assert_int_equal(try_connect(e, true, "10.66.0.7", 18081, 0), EPERM);
	/* Control: 18081 is the domain rule's, open on a public address it answered. */
	assert_int_equal(resolve_in(e, "mixed.rebind.test", AG_DNS_T_A, false, "198.18.1.1"),
			 AG_DNS_NOERROR);
	assert_int_equal(try_connect(e, true, "198.18.1.1", 18081, 0), 0);
	ev = drain_events(e);
	assert_lacks(ev, "\"address\":\"10.66.0.7\",\"qtype\"");
	assert_contains(ev, "\"address\":\"10.66.0.7\",\"port\":18081,\"protocol\":\"udp\"");
	assert_contains(ev, "\"rule\":{\"id\":\"dns-test:network.default\"");
}

static int do_burst(void *p)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53) };
	static bool seen[BURST];
	__u8 msg[512], in[1024];
	char name[64], addr[32];
	int fd = socket(AF_INET, SOCK_DGRAM, 0), n, i, got = 0, big = 8 << 20;
	struct pollfd pf = { .fd = fd, .events = POLLIN };

	(void)p;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	inet_pton(AF_INET, "127.0.0.53", &sa.sin_addr);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return 1;
	for (i = 0; i < BURST; i++) {
		snprintf(name, sizeof(name), "b%d.burst.test", i);
		n = make_query(name, AG_DNS_T_A, i, msg, sizeof(msg));
		if (send(fd, msg, n, 0) != n)
			return 2;
	}
	while (got < BURST && poll(&pf, 1, 5000) == 1) {
		n = recv(fd, in, sizeof(in), 0);
		if (n < 12 || (in[3] & 0xf) || !(in[6] | in[7]))
			return 3;	/* an error or no answer */
		i = in[0] << 8 | in[1];
		if (i >= BURST || seen[i])
			return 4;
		seen[i] = true;
		got++;
	}
	if (got != BURST)
		return 5;
	for (i = 0; i < BURST; i++) {
		struct conn_arg a = { addr, PORT_OK, SOCK_DGRAM };

		snprintf(addr, sizeof(addr), "198.19.%d.%d", i / 250, i % 250 + 1);
		if (do_connect(&a))
			return 6;
	}
	return 0;
}

static void test_burst_no_lost_binding(void **state)
{
	struct env *e = *state;
	int fd = ag_loader_dns_learned_fd(e->l), n = 0;
	struct ag_dns_key k, next;
	struct ag_dns_learned v;
	struct timespec ts;
	__u64 now;

	drain_events(e);
	assert_int_equal(in_child(e, true, do_burst, NULL), 0);
	/* Every one of them is in the map, live. */
	clock_gettime(CLOCK_BOOTTIME, &ts);
	now = (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
	if (!bpf_map_get_next_key(fd, NULL, &next)) {
		do {
			k = next;
			if (!bpf_map_lookup_elem(fd, &k, &v) && k.addr[12] == 198 &&
			    k.addr[13] == 19 && v.expiry_ns > now)
				n++;
		} while (!bpf_map_get_next_key(fd, &k, &next));
	}
	assert_int_equal(n, BURST);
	/* Control: an address of the same range that no answer gave. */
	assert_int_equal(try_connect(e, true, "198.19.10.1", PORT_OK, 0), EPERM);
	assert_lacks(drain_events(e), "\"address\":\"198.19.0.");
}

/* A reload keeps bindings whose rule is still there and drops the others. */
static void test_reload_keeps_bindings_of_kept_rules(void **state)
{
	struct env *e = *state;
	static const char from[] = "      - id: share-b\n        action: allow\n"
				   "        domain: b.share.test\n";
	char *y = strdup(policy_yaml), *at = strstr(y, from);
	struct ag_policy *pol = NULL;
	struct ag_compiled *c = NULL;
	struct ag_diags d = {};

	assert_non_null(at);
	/* The new policy renames share-b's domain: its bindings lose their rule. */
	memcpy(at, "      - id: share-b\n        action: allow\n        domain: c.share.test\n",
	       strlen(from));
	assert_int_equal(ag_policy_parse_buf("reload.yaml", y, strlen(y), &pol, &d), 0);
	assert_int_equal(ag_compile(&pol, 1, &c, &d), 0);
	drain_events(e);
	assert_int_equal(resolve_in(e, "allowed.test", AG_DNS_T_A, false, "198.18.0.1"), 0);
	assert_int_equal(resolve_in(e, "a.share.test", AG_DNS_T_A, false, "198.18.0.5"), 0);
	assert_int_equal(resolve_in(e, "b.share.test", AG_DNS_T_A, false, "198.18.0.5"), 0);
	assert_int_equal(try_connect(e, true, "198.18.0.5", 18002, 0), 0);
	pthread_mutex_lock(&e->lock);
	assert_int_equal(ag_resolver_install(e->res, c), 0);
	e->sink.policy = c;
	e->sink.generation = ag_loader_generation(e->l);
	pthread_mutex_unlock(&e->lock);
	assert_int_equal(try_connect(e, true, "198.18.0.1", PORT_OK, 0), 0);
	assert_int_equal(try_connect(e, true, "198.18.0.5", 18001, 0), 0);
	assert_int_equal(try_connect(e, true, "198.18.0.5", 18002, 0), EPERM);
	/* And back. */
	pthread_mutex_lock(&e->lock);
	assert_int_equal(ag_resolver_install(e->res, e->c), 0);
	e->sink.policy = e->c;
	e->sink.generation = ag_loader_generation(e->l);
	pthread_mutex_unlock(&e->lock);
	assert_int_equal(try_connect(e, true, "198.18.0.5", 18002, 0), 0);
	drain_events(e);
	ag_diags_free(&d);
	ag_compiled_free(c);
	ag_policy_free(pol);
	free(y);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed_name_then_its_ip_only),
		cmocka_unit_test(test_aaaa_then_connect6),
		cmocka_unit_test(test_denied_name_refused),
		cmocka_unit_test(test_two_names_share_an_ip),
		cmocka_unit_test(test_binding_expires),
		cmocka_unit_test(test_established_survives_expiry),
		cmocka_unit_test(test_cname_chain),
		cmocka_unit_test(test_cname_into_denied_domain),
		cmocka_unit_test(test_cname_through_denied_domain),
		cmocka_unit_test(test_txt_for_allowed_name_refused),
		cmocka_unit_test(test_other_dns_server_denied),
		cmocka_unit_test(test_unconnected_udp_dns_denied),
		cmocka_unit_test(test_dns_over_tcp),
		cmocka_unit_test(test_dot_elsewhere_denied),
		cmocka_unit_test(test_forged_answer_learns_nothing),
		cmocka_unit_test(test_rebind_internal_refused),
		cmocka_unit_test(test_rebind_through_cname),
		cmocka_unit_test(test_rebind_mixed_answer_keeps_public),
		cmocka_unit_test(test_rebind_ipv6_forms),
		cmocka_unit_test(test_rebind_cidr_allowed_kept),
		cmocka_unit_test(test_burst_no_lost_binding),
		cmocka_unit_test(test_reload_keeps_bindings_of_kept_rules),
	};

	/* AG_TEST_FILTER=test_burst* runs the matching cases only (while debugging). */
	if (getenv("AG_TEST_FILTER"))
		cmocka_set_test_filter(getenv("AG_TEST_FILTER"));
	return cmocka_run_group_tests_name("host_dns", tests, setup, teardown);
}
