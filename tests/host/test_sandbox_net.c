// SPDX-License-Identifier: GPL-2.0
/*
 * Host-native test of the sandbox's host network (userspace/sandbox_net.c, issue #11): the
 * tap, the nftables tables and the host resolver, from the compiled policy.
 *
 * Three network namespaces of our own, deleted at the end; the host's own interfaces, routes
 * and ruleset are never touched:
 *   host   where ag_sbx_net_up runs (this thread lives there); uplink up0 192.0.2.1/24,
 *          default route via world
 *   world  w0 192.0.2.2; servers on its loopback: 198.51.100.10 (allowed, port 8080; 9090 is
 *          not), 198.51.100.20 (denied address, and to-denied.test's), 198.51.100.54 (allowed
 *          address, DNS ports 53 and 853: "another DNS server"; port-denied.test's, which
 *          denies 7070), 203.0.113.10 (allowed.test), 203.0.113.20 (denied.test);
 *          10.99.0.1 and 10.99.0.3 ("the LAN", ports 8080 and 9090: internal addresses the
 *          *.rebind.test zone answers), 203.0.113.30 (mixed.rebind.test's public address);
 *          dnsmasq on 198.51.100.53 (the upstream) and .54
 *   guest  stands in for the VM. A tap's other end is a file descriptor, which QEMU would
 *          hold; here a thread copies frames between it and a second tap, "gtap", in the guest
 *          namespace, so the guest side is a real Linux stack behind a frame pipe, as a VM's
 *          kernel is behind virtio-net. What a compromised guest kernel would send (spoofed
 *          sources, IPv6) is written to the tap fd directly as raw frames.
 * A refused connection is proven by the nftables counter and by the listener's empty accept
 * queue, never by the connect's result alone; each refusal has its allowed control.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/netfilter.h>
#include <cmocka.h>

#include "compile.h"
#include "dns.h"
#include "frame_pipe.h"
#include "policy.h"
#include "sandbox_net.h"
#include "sandbox_nft.h"

#define DNSMASQ "/usr/sbin/dnsmasq"
#define NAME "t1"
#define WAIT_MS 1200

static const char policy_yaml[] =
	"apiVersion: agentguard/v1\n"
	"kind: Policy\n"
	"metadata:\n"
	"  name: sbx-net-test\n"
	"spec:\n"
	"  filesystem:\n"
	"    default: allow\n"
	"  network:\n"
	"    default: deny\n"
	"    rules:\n"
	"      - id: allowed-ip\n        action: allow\n        cidr: 198.51.100.10/32\n"
	"        ports: [8080]\n"
	"      - id: denied-ip\n        action: deny\n        cidr: 198.51.100.20/32\n"
	"      - id: other-dns\n        action: allow\n        cidr: 198.51.100.54/32\n"
	"      - id: port-denied-name\n        action: deny\n        domain: port-denied.test\n"
	"        ports: [7070]\n"
	"      - id: port-denied-asked\n        action: allow\n        domain: port-denied.test\n"
	"        ports: [8080]\n"
	"      - id: allowed-to-denied\n        action: allow\n        domain: to-denied.test\n"
	"        ports: [8080]\n"
	"      - id: metadata\n        action: allow\n        cidr: 169.254.169.254/32\n"
	"      - id: allowed-name\n        action: allow\n        domain: allowed.test\n"
	"        ports: [8080]\n"
	"      - id: shared-name\n        action: allow\n        domain: shared.test\n"
	"        ports: [9090]\n"
	"      - id: rebind\n        action: allow\n        domain: \"*.rebind.test\"\n"
	"        ports: [8080, 9090]\n"
	"      - id: nexus-ip\n        action: allow\n        ip: 10.99.0.3\n"
	"        ports: [8080]\n";

enum { SRV_ALLOWED, SRV_ALLOWED_PORT, SRV_DENIED, SRV_OTHER_DNS_CTL, SRV_NAME, SRV_DENIED_NAME,
       SRV_METADATA, SRV_NAME_OTHER_PORT, SRV_OTHER_DOT, SRV_OTHER_DENIED_PORT, SRV_LAN,
       SRV_MIXED, SRV_MIXED_OTHER_PORT, SRV_NEXUS, SRV_NEXUS_OTHER_PORT, SRV_N };
static const struct {
	const char *addr;
	int port;
} srv[SRV_N] = {
	[SRV_ALLOWED] = { "198.51.100.10", 8080 },
	[SRV_ALLOWED_PORT] = { "198.51.100.10", 9090 },
	[SRV_DENIED] = { "198.51.100.20", 8080 },
	[SRV_OTHER_DNS_CTL] = { "198.51.100.54", 8080 },
	[SRV_NAME] = { "203.0.113.10", 8080 },
	[SRV_DENIED_NAME] = { "203.0.113.20", 8080 },
	[SRV_METADATA] = { "169.254.169.254", 80 },
	[SRV_NAME_OTHER_PORT] = { "203.0.113.10", 9090 },
	[SRV_OTHER_DOT] = { "198.51.100.54", 853 },	/* "DNS over TLS" elsewhere */
	[SRV_OTHER_DENIED_PORT] = { "198.51.100.54", 7070 },	/* port-denied.test's port */
	[SRV_LAN] = { "10.99.0.1", 8080 },	/* lan.rebind.test, and mixed's internal half */
	[SRV_MIXED] = { "203.0.113.30", 8080 },	/* mixed.rebind.test's public half */
	[SRV_MIXED_OTHER_PORT] = { "203.0.113.30", 9090 },
	[SRV_NEXUS] = { "10.99.0.3", 8080 },	/* nexus.rebind.test: the ip rule's port */
	[SRV_NEXUS_OTHER_PORT] = { "10.99.0.3", 9090 },	/* the domain rule's only */
};

struct env {
	char ns_host[32], ns_world[32], ns_guest[32], dir[64], resolv[96];
	int fd_host, fd_world, fd_guest, fd_orig;
	int listen[SRV_N];
	int udp_allowed;	/* UDP 198.51.100.10:8080 in world */
	int host_listen;	/* TCP host_addr:2222 in host: not DNS */
	pid_t dnsmasq;
	pid_t runner;		/* test_qemu_outlives_runner's, while it lives */
	struct ag_policy *pol;
	struct ag_policy *pols[1];	/* c borrows the array */
	struct ag_policy *pols_b[1];
	struct ag_compiled *c;
	struct ag_policy *pol_b;	/* test_conntrack_cleared_between_runs's policy B */
	struct ag_compiled *c_b;
	struct ag_sbx_net *net;
	struct ag_sbx_net_plan plan;
	int tap_fd, gtap_fd;
	struct frame_pipe pipe;
	unsigned char tap_mac[6];
	pthread_mutex_t rep_lock;	/* the resolver's reports, from its thread */
	unsigned int n_withheld_reports;
	char last_withheld[160];	/* "NAME ADDRESS RCODE RULE" of the last one */
};

static struct env *g;

static int vsh(bool quiet, const char *fmt, va_list ap)
{
	char cmd[1024];
	int rc;

	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	rc = system(cmd);
	if (rc && !quiet)
		fprintf(stderr, "test_sandbox_net: \"%s\" failed (%d)\n", cmd, rc);
	return rc;
}

static int sh(const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vsh(false, fmt, ap);
	va_end(ap);
	return rc;
}

/* A command expected to fail. */
static int sh_quiet(const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vsh(true, fmt, ap);
	va_end(ap);
	return rc;
}

static int ns_fd(const char *name)
{
	char p[96];

	snprintf(p, sizeof(p), "/run/netns/%s", name);
	return open(p, O_RDONLY | O_CLOEXEC);
}

static void enter(int fd)
{
	if (setns(fd, CLONE_NEWNET))
		abort();
}

/* ---- the guest stand-in --------------------------------------------------------------- */

static int guest_up(struct env *e)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	char mac[32], guest[INET_ADDRSTRLEN], host[INET_ADDRSTRLEN];
	const unsigned char *m = e->plan.guest_mac;

	enter(e->fd_guest);
	e->gtap_fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	snprintf(ifr.ifr_name, IFNAMSIZ, "gtap");
	if (e->gtap_fd < 0 || ioctl(e->gtap_fd, TUNSETIFF, &ifr))
		return -1;
	enter(e->fd_host);
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
		 m[5]);
	inet_ntop(AF_INET, &e->plan.guest_addr, guest, sizeof(guest));
	inet_ntop(AF_INET, &e->plan.host_addr, host, sizeof(host));
	if (sh("ip -n %s link set lo up && ip netns exec %s sysctl -qw "
	       "net.ipv6.conf.all.disable_ipv6=1 && ip -n %s link set gtap address %s up && "
	       "ip -n %s addr add %s/30 dev gtap && ip -n %s route add default via %s",
	       e->ns_guest, e->ns_guest, e->ns_guest, mac, e->ns_guest, guest, e->ns_guest, host))
		return -1;
	return frame_pipe_start(&e->pipe, e->tap_fd, e->gtap_fd);
}

static __u16 csum(const void *p, size_t n);

/* ---- sockets in a namespace ------------------------------------------------------------ */

static int sock_in(int ns, int type)
{
	int fd;

	enter(ns);
	fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	enter(g->fd_host);
	return fd;
}

static int listen_in(int ns, const char *addr, int port, int type)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = sock_in(ns, type | (type == SOCK_STREAM ? SOCK_NONBLOCK : 0)), one = 1;

	inet_pton(AF_INET, addr, &sa.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    (type == SOCK_STREAM && listen(fd, 16)))
		return -1;
	return fd;
}

/* A TCP connect from the guest: 0 connected, else -errno (-ETIMEDOUT when dropped). */
static int guest_connect(const char *addr, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct pollfd p = { .events = POLLOUT };
	int fd = sock_in(g->fd_guest, SOCK_STREAM | SOCK_NONBLOCK), so = 0, err;
	socklen_t sl = sizeof(so);

	inet_pton(AF_INET, addr, &sa.sin_addr);
	if (fd < 0)
		return -EIO;
	if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return 0;
	}
	if (errno != EINPROGRESS) {
		err = -errno;
		close(fd);
		return err;
	}
	p.fd = fd;
	if (poll(&p, 1, WAIT_MS) != 1) {
		close(fd);
		return -ETIMEDOUT;
	}
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl);
	close(fd);
	return -so;
}

/*
 * How many connections reached a listener (each one accepted and closed). The client's
 * connect returns before the server's side lands in the queue: wait a little for the first.
 */
static int accepted(int lfd)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	int n = 0, fd;

	poll(&p, 1, 300);
	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		close(fd);
		n++;
	}
	return n;
}

/* Bytes that reached a connected socket within WAIT_MS. */
static ssize_t recv_wait(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[64];

	if (poll(&p, 1, WAIT_MS) != 1)
		return 0;
	return recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
}

/* A connection to addr:port from the socket fd, and the server's side of it from lfd. */
static int connect_pair(int fd, const char *addr, int port, int lfd)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct pollfd p = { .fd = lfd, .events = POLLIN };

	inet_pton(AF_INET, addr, &sa.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) || poll(&p, 1, WAIT_MS) != 1)
		return -1;
	return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

/* A DNS query from namespace ns over UDP: the rcode, and the reply into buf. -1: no reply. */
static int dns_from(int ns, const char *server, const char *name, unsigned char *buf,
		    size_t cap, ssize_t *len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53) };
	unsigned char q[300] = { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 };
	size_t n = 12;
	const char *p = name, *dot;
	struct pollfd pf = { .events = POLLIN };
	int fd = sock_in(ns, SOCK_DGRAM), rc = -1;

	inet_pton(AF_INET, server, &sa.sin_addr);
	while (*p) {
		dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);

		q[n++] = l;
		memcpy(q + n, p, l);
		n += l;
		p += l + (dot ? 1 : 0);
	}
	q[n++] = 0;
	q[n++] = 0;
	q[n++] = 1;	/* A */
	q[n++] = 0;
	q[n++] = 1;	/* IN */
	pf.fd = fd;
	if (sendto(fd, q, n, 0, (struct sockaddr *)&sa, sizeof(sa)) == (ssize_t)n &&
	    poll(&pf, 1, 2 * WAIT_MS) == 1) {
		*len = recv(fd, buf, cap, 0);
		if (*len >= 12)
			rc = buf[3] & 0xf;
	}
	close(fd);
	return rc;
}

static int guest_dns(const char *server, const char *name, unsigned char *buf, size_t cap,
		     ssize_t *len)
{
	return dns_from(g->fd_guest, server, name, buf, cap, len);
}

static bool has_addr(const unsigned char *buf, ssize_t len, const char *addr)
{
	struct in_addr a;

	inet_pton(AF_INET, addr, &a);
	return len >= 4 && memmem(buf, len, &a, 4) != NULL;
}

static struct ag_sbx_net_stats stats(void)
{
	struct ag_sbx_net_stats s;

	assert_int_equal(ag_sbx_net_stats(g->net, &s), 0);
	return s;
}

/* ---- raw frames from a compromised guest ----------------------------------------------- */

static __u16 csum(const void *p, size_t n)
{
	const __u8 *b = p;
	__u32 s = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += b[i] << 8 | b[i + 1];
	if (n & 1)
		s += b[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return htons(~s);
}

static void fix_ip_csum(unsigned char *f)
{
	__u16 v;

	f[24] = f[25] = 0;
	v = csum(f + 14, 20);
	memcpy(f + 24, &v, 2);
}

/* An Ethernet frame to the tap's MAC: UDP to dst:port from the given MAC and address. */
static void build_udp(unsigned char f[14 + 20 + 8 + 4], const unsigned char smac[6],
		      struct in_addr src, const char *dst, int port)
{
	struct in_addr d;
	__u16 v;

	memset(f, 0, 14 + 20 + 8 + 4);
	inet_pton(AF_INET, dst, &d);
	memcpy(f, g->tap_mac, 6);
	memcpy(f + 6, smac, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	f[14] = 0x45;
	v = htons(20 + 8 + 4);
	memcpy(f + 16, &v, 2);
	f[22] = 64;
	f[23] = IPPROTO_UDP;
	memcpy(f + 26, &src, 4);
	memcpy(f + 30, &d, 4);
	fix_ip_csum(f);
	v = htons(40000);
	memcpy(f + 34, &v, 2);
	v = htons(port);
	memcpy(f + 36, &v, 2);
	v = htons(8 + 4);
	memcpy(f + 38, &v, 2);
	memcpy(f + 42, "ping", 4);
}

/* The same, written to the tap fd as a compromised guest kernel would. */
static void raw_udp(const unsigned char smac[6], struct in_addr src, const char *dst, int port)
{
	unsigned char f[14 + 20 + 8 + 4];

	build_udp(f, smac, src, dst, port);
	assert_int_equal(write(g->tap_fd, f, sizeof(f)), (ssize_t)sizeof(f));
}

static int udp_received(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[64];
	int n = 0;

	while (poll(&p, 1, n ? 0 : WAIT_MS) == 1 && recv(fd, buf, sizeof(buf), 0) >= 0)
		n++;
	return n;
}

/* ---- setup ----------------------------------------------------------------------------- */

/* pols must outlive *c (it borrows the array). */
static int compile_yaml(const char *yaml, struct ag_policy **pol, struct ag_policy *pols[1],
			struct ag_compiled **c)
{
	struct ag_diags d = {};

	if (ag_policy_parse_buf("sbx.yaml", yaml, strlen(yaml), pol, &d)) {
		ag_diags_print(&d, stderr);
		return -1;
	}
	pols[0] = *pol;
	if (ag_compile(pols, 1, c, &d)) {
		ag_diags_print(&d, stderr);
		return -1;
	}
	ag_diags_free(&d);
	return 0;
}

static int compile(struct env *e)
{
	return compile_yaml(policy_yaml, &e->pol, e->pols, &e->c);
}

static int world_up(struct env *e)
{
	FILE *f;
	int i;

	if (sh("ip netns add %s && ip netns add %s && ip netns add %s", e->ns_host, e->ns_world,
	       e->ns_guest) ||
	    sh("ip -n %s link add up0 type veth peer name w0 netns %s", e->ns_host, e->ns_world) ||
	    sh("ip -n %s link set lo up && ip -n %s link set up0 up && "
	       "ip -n %s addr add 192.0.2.1/24 dev up0 && "
	       "ip -n %s route add default via 192.0.2.2 && "
	       "ip netns exec %s sysctl -qw net.ipv4.conf.up0.forwarding=1",
	       e->ns_host, e->ns_host, e->ns_host, e->ns_host, e->ns_host) ||
	    sh("ip -n %s link set lo up && ip -n %s link set w0 up && "
	       "ip -n %s addr add 192.0.2.2/24 dev w0 && "
	       "for a in 198.51.100.10 198.51.100.20 198.51.100.53 198.51.100.54 203.0.113.10 "
	       "203.0.113.20 203.0.113.30 10.99.0.1 10.99.0.3 169.254.169.254; do "
	       "ip -n %s addr add $a/32 dev lo || exit 1; done",
	       e->ns_world, e->ns_world, e->ns_world, e->ns_world))
		return -1;
	e->fd_host = ns_fd(e->ns_host);
	e->fd_world = ns_fd(e->ns_world);
	e->fd_guest = ns_fd(e->ns_guest);
	if (e->fd_host < 0 || e->fd_world < 0 || e->fd_guest < 0)
		return -1;
	enter(e->fd_host);
	for (i = 0; i < SRV_N; i++) {
		e->listen[i] = listen_in(e->fd_world, srv[i].addr, srv[i].port, SOCK_STREAM);
		if (e->listen[i] < 0)
			return -1;
	}
	e->udp_allowed = listen_in(e->fd_world, "198.51.100.10", 8080, SOCK_DGRAM);
	if (e->udp_allowed < 0)
		return -1;
	snprintf(e->resolv, sizeof(e->resolv), "%s/resolv.conf", e->dir);
	f = fopen(e->resolv, "w");
	if (!f)
		return -1;
	fputs("nameserver 198.51.100.53\n", f);
	fclose(f);
	e->dnsmasq = fork();
	if (e->dnsmasq == 0) {
		enter(e->fd_world);
		execl(DNSMASQ, DNSMASQ, "-k", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
		      "--listen-address=198.51.100.53", "--listen-address=198.51.100.54",
		      "--bind-interfaces", "--port=53", "--user=root", "--group=root",
		      "--pid-file", "--log-facility=/dev/null", "--local-ttl=60", "--local=/test/",
		      "--host-record=allowed.test,203.0.113.10",
		      "--host-record=denied.test,203.0.113.20",
		      "--host-record=shared.test,203.0.113.10",
		      "--host-record=to-denied.test,198.51.100.20",
		      "--host-record=port-denied.test,198.51.100.54",
		      "--host-record=lan.rebind.test,10.99.0.1",
		      "--host-record=lo.rebind.test,127.0.0.1",
		      "--host-record=mixed.rebind.test,203.0.113.30",
		      "--host-record=mixed.rebind.test,10.99.0.1",
		      "--host-record=nexus.rebind.test,10.99.0.3", (char *)NULL);
		_exit(127);
	}
	return e->dnsmasq < 0 ? -1 : 0;
}

/* The host resolver's reports: withheld addresses kept for test_rebind_*. */
static void dns_report(void *ctx, const struct ag_dns_report *r)
{
	struct env *e = ctx;

	if (!r->address)
		return;
	pthread_mutex_lock(&e->rep_lock);
	e->n_withheld_reports++;
	snprintf(e->last_withheld, sizeof(e->last_withheld), "%s %s %s %#x", r->name,
		 r->address, ag_dns_rcode_name(r->rcode), r->rule);
	pthread_mutex_unlock(&e->rep_lock);
}

static int setup(void **state)
{
	struct ag_sbx_net_opts o = { .name = NAME, .tap_owner = 0 };
	struct ifreq ifr = {};
	struct env *e;
	int fd, err, i;

	if (geteuid() != 0) {
		fprintf(stderr, "test_sandbox_net: needs root\n");
		return -1;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return -1;
	g = e;
	e->fd_orig = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	snprintf(e->ns_host, sizeof(e->ns_host), "agt-test-h%d", getpid());
	snprintf(e->ns_world, sizeof(e->ns_world), "agt-test-w%d", getpid());
	snprintf(e->ns_guest, sizeof(e->ns_guest), "agt-test-g%d", getpid());
	snprintf(e->dir, sizeof(e->dir), "/tmp/agt-sbx-net.XXXXXX");
	e->tap_fd = e->gtap_fd = e->host_listen = -1;
	for (i = 0; i < SRV_N; i++)
		e->listen[i] = -1;
	if (!mkdtemp(e->dir) || compile(e) || world_up(e))
		return -1;
	o.upstream_resolv_conf = e->resolv;
	o.ttl_floor_s = 30;
	pthread_mutex_init(&e->rep_lock, NULL);
	o.dns_report = dns_report;
	o.dns_report_ctx = e;
	err = ag_sbx_net_up(&o, e->c, &e->net, &e->plan, &e->tap_fd);
	if (err) {
		fprintf(stderr, "test_sandbox_net: ag_sbx_net_up: %s\n", strerror(-err));
		return -1;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", e->plan.tap);
	if (fd < 0 || ioctl(fd, SIOCGIFHWADDR, &ifr))
		return -1;
	close(fd);
	memcpy(e->tap_mac, ifr.ifr_hwaddr.sa_data, 6);
	e->host_listen = listen_in(e->fd_host, inet_ntoa(e->plan.host_addr), 2222, SOCK_STREAM);
	if (e->host_listen < 0 || guest_up(e))
		return -1;
	/* dnsmasq answers (asked from world). */
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = g;
	int i;

	if (!e)
		return 0;
	if (e->runner > 0) {
		kill(e->runner, SIGKILL);
		waitpid(e->runner, NULL, 0);
	}
	frame_pipe_stop(&e->pipe);
	ag_sbx_net_down(e->net);
	if (e->gtap_fd >= 0)
		close(e->gtap_fd);
	for (i = 0; i < SRV_N; i++)
		if (e->listen[i] >= 0)
			close(e->listen[i]);
	if (e->dnsmasq > 0) {
		kill(e->dnsmasq, SIGTERM);
		waitpid(e->dnsmasq, NULL, 0);
	}
	if (e->fd_orig >= 0)
		enter(e->fd_orig);
	sh("ip netns del %s; ip netns del %s; ip netns del %s; rm -rf %s", e->ns_host,
	   e->ns_world, e->ns_guest, e->dir);
	ag_compiled_free(e->c);
	ag_policy_free(e->pol);
	ag_compiled_free(e->c_b);
	ag_policy_free(e->pol_b);
	free(e);
	g = NULL;
	return 0;
}

/* ---- cases ----------------------------------------------------------------------------- */

static void test_plan(void **state)
{
	__u32 h = ntohl(g->plan.host_addr.s_addr), gu = ntohl(g->plan.guest_addr.s_addr);

	assert_string_equal(g->plan.tap, "agt-" NAME);
	assert_int_equal(h >> 16, 0x0ad5);
	assert_int_equal(h & 3, 1);
	assert_int_equal(gu, h + 1);
	assert_int_equal(g->plan.prefix_len, 30);
	assert_int_equal(g->plan.guest_mac[0] & 3, 2);	/* locally administered, unicast */
	assert_string_equal(g->plan.uplink, "up0");
	assert_int_equal(fcntl(g->tap_fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
}

/* Positive control: an allowed address and port connects. */
static void test_allowed_connects(void **state)
{
	assert_int_equal(guest_connect(srv[SRV_ALLOWED].addr, srv[SRV_ALLOWED].port), 0);
	assert_int_equal(accepted(g->listen[SRV_ALLOWED]), 1);
}

static void test_denied_address_dropped(void **state)
{
	unsigned long long before = stats().dropped_forward;

	assert_int_equal(guest_connect(srv[SRV_DENIED].addr, srv[SRV_DENIED].port), -ETIMEDOUT);
	assert_int_equal(accepted(g->listen[SRV_DENIED]), 0);
	assert_true(stats().dropped_forward > before);
}

static void test_denied_port_dropped(void **state)
{
	unsigned long long before = stats().dropped_forward;

	assert_int_equal(guest_connect(srv[SRV_ALLOWED_PORT].addr, srv[SRV_ALLOWED_PORT].port),
			 -ETIMEDOUT);
	assert_int_equal(accepted(g->listen[SRV_ALLOWED_PORT]), 0);
	assert_true(stats().dropped_forward > before);
}

/* allowed.test: unreachable before the host resolver answered it, reachable after. */
static void test_domain_allowed_after_answer(void **state)
{
	unsigned char buf[512];
	ssize_t len = 0;

	assert_int_equal(guest_connect(srv[SRV_NAME].addr, srv[SRV_NAME].port), -ETIMEDOUT);
	assert_int_equal(accepted(g->listen[SRV_NAME]), 0);
	assert_int_equal(guest_dns(inet_ntoa(g->plan.host_addr), "allowed.test", buf, sizeof(buf),
				   &len), 0);
	assert_true(has_addr(buf, len, srv[SRV_NAME].addr));
	assert_int_equal(guest_connect(srv[SRV_NAME].addr, srv[SRV_NAME].port), 0);
	assert_int_equal(accepted(g->listen[SRV_NAME]), 1);
	/* Only the rule's port. */
	assert_int_equal(guest_connect(srv[SRV_NAME_OTHER_PORT].addr,
				       srv[SRV_NAME_OTHER_PORT].port), -ETIMEDOUT);
	assert_int_equal(accepted(g->listen[SRV_NAME_OTHER_PORT]), 0);
}

/*
 * The same answer again (its elements replaced in one transaction), then a second name on
 * the same address with another port: the address's elements are the fold of both names.
 */
static void test_domain_refresh_and_shared(void **state)
{
	unsigned char buf[512];
	ssize_t len = 0;

	assert_int_equal(guest_dns(inet_ntoa(g->plan.host_addr), "allowed.test", buf, sizeof(buf),
				   &len), 0);
	assert_int_equal(guest_connect(srv[SRV_NAME].addr, srv[SRV_NAME].port), 0);
	assert_int_equal(accepted(g->listen[SRV_NAME]), 1);
	assert_int_equal(guest_dns(inet_ntoa(g->plan.host_addr), "shared.test", buf, sizeof(buf),
				   &len), 0);
	assert_true(has_addr(buf, len, srv[SRV_NAME_OTHER_PORT].addr));
	assert_int_equal(guest_connect(srv[SRV_NAME_OTHER_PORT].addr,
				       srv[SRV_NAME_OTHER_PORT].port), 0);
	assert_int_equal(accepted(g->listen[SRV_NAME_OTHER_PORT]), 1);
	assert_int_equal(guest_connect(srv[SRV_NAME].addr, srv[SRV_NAME].port), 0);
	assert_int_equal(accepted(g->listen[SRV_NAME]), 1);
}

/* denied.test: refused (counted), and its address stays unreachable though the guest knows it. */
static void test_domain_refused(void **state)
{
	unsigned long long before = stats().dns_refused;
	unsigned char buf[512];
	ssize_t len = 0;

	assert_int_equal(guest_dns(inet_ntoa(g->plan.host_addr), "denied.test", buf, sizeof(buf),
				   &len), 5 /* REFUSED */);
	assert_false(has_addr(buf, len, srv[SRV_DENIED_NAME].addr));
	assert_int_equal(stats().dns_refused, before + 1);
	assert_int_equal(guest_connect(srv[SRV_DENIED_NAME].addr, srv[SRV_DENIED_NAME].port),
			 -ETIMEDOUT);
	assert_int_equal(accepted(g->listen[SRV_DENIED_NAME]), 0);
}

/*
 * DNS to another server is dropped even where the policy allows its address (counted): over
 * UDP to 53, and over TCP to 853 (DNS over TLS), the ports ag_dns_port_locked names.
 */
static void test_dns_elsewhere_dropped(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(853) };
	unsigned long long before = stats().dropped_dns_elsewhere;
	unsigned char buf[512];
	ssize_t len = 0;
	int fd;

	/* Control: the address is reachable, and the server answers from the host. */
	assert_int_equal(guest_connect(srv[SRV_OTHER_DNS_CTL].addr, srv[SRV_OTHER_DNS_CTL].port),
			 0);
	assert_int_equal(accepted(g->listen[SRV_OTHER_DNS_CTL]), 1);
	assert_int_equal(dns_from(g->fd_host, "198.51.100.54", "allowed.test", buf, sizeof(buf),
				  &len), 0);
	assert_true(has_addr(buf, len, srv[SRV_NAME].addr));
	len = 0;
	assert_int_equal(guest_dns("198.51.100.54", "allowed.test", buf, sizeof(buf), &len), -1);
	assert_true(stats().dropped_dns_elsewhere > before);

	/* TCP/853: the host connects, the guest's SYN is dropped as DNS elsewhere. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	inet_pton(AF_INET, srv[SRV_OTHER_DOT].addr, &sa.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(accepted(g->listen[SRV_OTHER_DOT]), 1);
	before = stats().dropped_dns_elsewhere;
	assert_int_equal(guest_connect(srv[SRV_OTHER_DOT].addr, srv[SRV_OTHER_DOT].port),
			 -ETIMEDOUT);
	assert_int_equal(accepted(g->listen[SRV_OTHER_DOT]), 0);
	assert_true(stats().dropped_dns_elsewhere > before);
}

/*
 * An allowed name cannot lift a deny rule (policy_rule_deny before dns_allow): to-denied.test
 * is allowed on 8080 and resolves to 198.51.100.20, which a CIDR rule denies. Control: the
 * allowed address 198.51.100.10 connects.
 */
static void test_binding_cannot_lift_rule_deny(void **state)
{
	unsigned long long before;
	unsigned char buf[512];
	ssize_t len = 0;

	assert_int_equal(guest_connect(srv[SRV_ALLOWED].addr, srv[SRV_ALLOWED].port), 0);
	assert_int_equal(accepted(g->listen[SRV_ALLOWED]), 1);
	assert_int_equal(guest_dns(inet_ntoa(g->plan.host_addr), "to-denied.test", buf,
				   sizeof(buf), &len), 0);
	assert_true(has_addr(buf, len, srv[SRV_DENIED].addr));
	before = stats().dropped_forward;
	assert_int_equal(guest_connect(srv[SRV_DENIED].addr, srv[SRV_DENIED].port), -ETIMEDOUT);
	assert_int_equal(accepted(g->listen[SRV_DENIED]), 0);
	assert_true(stats().dropped_forward > before);
}

/*
 * A denying name wins over an allowed address (dns_deny before policy_allow): 198.51.100.54
 * is allowed on every port; port-denied.test denies 7070 and resolves to it (a rule allows it
 * on 8080, so the query is answered). Before the answer 7070 connects; after it 7070 is
 * dropped and 8080 still connects.
 */
static void test_binding_deny_beats_allowed_address(void **state)
{
	unsigned long long before;
	unsigned char buf[512];
	ssize_t len = 0;

	assert_int_equal(guest_connect(srv[SRV_OTHER_DENIED_PORT].addr,
				       srv[SRV_OTHER_DENIED_PORT].port), 0);
	assert_int_equal(accepted(g->listen[SRV_OTHER_DENIED_PORT]), 1);
	assert_int_equal(guest_dns(inet_ntoa(g->plan.host_addr), "port-denied.test", buf,
				   sizeof(buf), &len), 0);
	assert_true(has_addr(buf, len, srv[SRV_OTHER_DENIED_PORT].addr));
	before = stats().dropped_forward;
	assert_int_equal(guest_connect(srv[SRV_OTHER_DENIED_PORT].addr,
				       srv[SRV_OTHER_DENIED_PORT].port), -ETIMEDOUT);
	assert_int_equal(accepted(g->listen[SRV_OTHER_DENIED_PORT]), 0);
	assert_true(stats().dropped_forward > before);
	assert_int_equal(guest_connect(srv[SRV_OTHER_DNS_CTL].addr, srv[SRV_OTHER_DNS_CTL].port),
			 0);
	assert_int_equal(accepted(g->listen[SRV_OTHER_DNS_CTL]), 1);
}

/*
 * Link-local (cloud metadata) is never forwarded, even though the policy allows it; the host
 * itself reaches the server (the route exists).
 */
static void test_link_local_dropped(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(80) };
	unsigned long long before = stats().dropped_forward;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, srv[SRV_METADATA].addr, &sa.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(accepted(g->listen[SRV_METADATA]), 1);
	assert_int_equal(guest_connect(srv[SRV_METADATA].addr, 80), -ETIMEDOUT);
	assert_int_equal(accepted(g->listen[SRV_METADATA]), 0);
	assert_true(stats().dropped_forward > before);
}

/* Spoofed source address or MAC: dropped and counted; the same frame unspoofed arrives. */
static void test_spoofed_dropped(void **state)
{
	static const unsigned char other_mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
	struct in_addr spoof = { htonl(ntohl(g->plan.guest_addr.s_addr) + 1) };
	struct ag_sbx_net_stats s0 = stats(), s1;

	udp_received(g->udp_allowed);
	raw_udp(g->plan.guest_mac, spoof, "198.51.100.10", 8080);
	raw_udp(other_mac, g->plan.guest_addr, "198.51.100.10", 8080);
	assert_int_equal(udp_received(g->udp_allowed), 0);
	s1 = stats();
	assert_int_equal(s1.dropped_spoofed, s0.dropped_spoofed + 2);
	/* Control: guest MAC and address. */
	raw_udp(g->plan.guest_mac, g->plan.guest_addr, "198.51.100.10", 8080);
	assert_int_equal(udp_received(g->udp_allowed), 1);
}

/*
 * IPv4 with options (here 4 bytes: NOP NOP NOP EOL; a source route would be one) from the
 * guest's MAC and address to an allowed destination: dropped at ingress and counted; the
 * same datagram without options arrives. The tap does not accept source routes either.
 */
static void test_ip_options_dropped(void **state)
{
	unsigned char f[14 + 24 + 8 + 4], plain[14 + 20 + 8 + 4];
	unsigned long long before = stats().dropped_ip_options;
	__u16 v;
	build_udp(plain, g->plan.guest_mac, g->plan.guest_addr, "198.51.100.10", 8080);
	memcpy(f, plain, 14 + 20);
	memcpy(f + 14 + 20, "\x01\x01\x01\x00", 4);
	memcpy(f + 14 + 24, plain + 14 + 20, 8 + 4);
	f[14] = 0x46;
	v = htons(24 + 8 + 4);
	memcpy(f + 16, &v, 2);
	f[24] = f[25] = 0;
	v = csum(f + 14, 24);
	memcpy(f + 24, &v, 2);
	udp_received(g->udp_allowed);
	assert_int_equal(write(g->tap_fd, f, sizeof(f)), (ssize_t)sizeof(f));
	assert_int_equal(udp_received(g->udp_allowed), 0);
	assert_int_equal(stats().dropped_ip_options, before + 1);
	assert_int_equal(write(g->tap_fd, plain, sizeof(plain)), (ssize_t)sizeof(plain));
	assert_int_equal(udp_received(g->udp_allowed), 1);
	assert_int_equal(sh("test \"$(ip netns exec %s sysctl -n "
			    "net.ipv4.conf.%s.accept_source_route)\" = 0", g->ns_host,
			    g->plan.tap), 0);
}

/* An ICMP echo from namespace ns to addr: whether a reply came. */
static bool ping_from(int ns, const char *addr)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	unsigned char req[8] = { 8, 0, 0, 0, 0x12, 0x34, 0, 1 }, buf[256];
	struct pollfd p = { .events = POLLIN };
	bool got = false;
	__u16 c;
	int fd;

	enter(ns);
	fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
	enter(g->fd_host);
	assert_true(fd >= 0);
	inet_pton(AF_INET, addr, &sa.sin_addr);
	c = csum(req, sizeof(req));
	memcpy(req + 2, &c, 2);
	assert_int_equal(sendto(fd, req, sizeof(req), 0, (struct sockaddr *)&sa, sizeof(sa)),
			 (ssize_t)sizeof(req));
	p.fd = fd;
	while (!got && poll(&p, 1, WAIT_MS) == 1) {
		ssize_t k = recv(fd, buf, sizeof(buf), 0);

		/* Our raw socket also sees other ICMP: an echo reply (type 0) after the header. */
		got = k >= 28 && buf[20] == 0 && buf[24] == 0x12 && buf[25] == 0x34;
	}
	close(fd);
	return got;
}

/* ICMP is never forwarded (a tunnel's favourite); the host itself reaches the address. */
static void test_icmp_dropped(void **state)
{
	unsigned long long before = stats().dropped_forward;

	assert_true(ping_from(g->fd_host, "198.51.100.10"));
	assert_false(ping_from(g->fd_guest, "198.51.100.10"));
	assert_true(stats().dropped_forward > before);
}

/* An ARP request for the host's address, from the guest's MAC, claiming sender spa. */
static void raw_arp(struct in_addr spa)
{
	unsigned char f[14 + 28] = { [12] = 0x08, [13] = 0x06, [14] = 0, [15] = 1, [16] = 0x08,
				     [17] = 0, [18] = 6, [19] = 4, [20] = 0, [21] = 1 };

	memset(f, 0xff, 6);
	memcpy(f + 6, g->plan.guest_mac, 6);
	memcpy(f + 22, g->plan.guest_mac, 6);
	memcpy(f + 28, &spa, 4);
	memcpy(f + 38, &g->plan.host_addr, 4);
	assert_int_equal(write(g->tap_fd, f, sizeof(f)), (ssize_t)sizeof(f));
}

/* ARP claiming another address: dropped and counted; the guest's own goes through. */
static void test_arp_spoof_dropped(void **state)
{
	struct in_addr other = { htonl(ntohl(g->plan.guest_addr.s_addr) + 1) };
	unsigned long long before = stats().dropped_spoofed;

	raw_arp(g->plan.guest_addr);
	usleep(100000);
	assert_int_equal(stats().dropped_spoofed, before);
	raw_arp(other);
	usleep(100000);
	assert_int_equal(stats().dropped_spoofed, before + 1);
}

/* IPv6 from the tap: dropped and counted. */
static void test_ipv6_dropped(void **state)
{
	unsigned char f[14 + 40] = {};
	unsigned long long before = stats().dropped_not_ipv4;

	memcpy(f, g->tap_mac, 6);
	memcpy(f + 6, g->plan.guest_mac, 6);
	f[12] = 0x86;
	f[13] = 0xdd;
	f[14] = 0x60;
	f[20] = 59;	/* no next header */
	f[21] = 64;
	assert_int_equal(write(g->tap_fd, f, sizeof(f)), (ssize_t)sizeof(f));
	usleep(100000);
	assert_int_equal(stats().dropped_not_ipv4, before + 1);
}

/* The host itself: DNS on host_addr only; another service there is dropped and counted. */
static void test_input_dropped(void **state)
{
	unsigned long long before = stats().dropped_input;

	/* Control: the resolver's TCP port on the same address. */
	assert_int_equal(guest_connect(inet_ntoa(g->plan.host_addr), 53), 0);
	assert_int_equal(guest_connect(inet_ntoa(g->plan.host_addr), 2222), -ETIMEDOUT);
	assert_int_equal(accepted(g->host_listen), 0);
	assert_true(stats().dropped_input > before);
}

/*
 * The resolver answers the guest alone (its answers fill dns_allow): from the host itself
 * (another local user) a query over UDP and a TCP connect to host_addr:53 are dropped and
 * counted; the guest's same query is answered.
 */
static void test_resolver_guest_only(void **state)
{
	unsigned long long before = stats().dropped_dns_not_guest;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53) };
	struct pollfd p = { .events = POLLOUT };
	unsigned char buf[512];
	ssize_t len = 0;
	int fd;

	assert_int_equal(guest_dns(inet_ntoa(g->plan.host_addr), "allowed.test", buf, sizeof(buf),
				   &len), 0);
	assert_int_equal(dns_from(g->fd_host, inet_ntoa(g->plan.host_addr), "allowed.test", buf,
				  sizeof(buf), &len), -1);
	assert_true(stats().dropped_dns_not_guest > before);
	before = stats().dropped_dns_not_guest;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	sa.sin_addr = g->plan.host_addr;
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), -1);
	assert_int_equal(errno, EINPROGRESS);
	p.fd = fd;
	assert_int_equal(poll(&p, 1, WAIT_MS), 0);
	close(fd);
	assert_true(stats().dropped_dns_not_guest > before);
}

/* Is there a conntrack expectation (this thread's namespace) holding the string? */
static bool ct_expect_has(const char *a)
{
	FILE *f = fopen("/proc/thread-self/net/nf_conntrack_expect", "re");
	char line[512];
	bool got = false;

	assert_non_null(f);
	while (!got && fgets(line, sizeof(line), f))
		got = strstr(line, a);
	fclose(f);
	return got;
}

/*
 * Related is ICMP only. Another ruleset of the host assigns the FTP helper to the guest's
 * allowed flow to 198.51.100.10:8080; the server's "227 (... 35,130)" after its banner makes
 * an expectation for the guest to 198.51.100.10:9090, which the policy does not allow. The guest's connect
 * there is a related flow: dropped (counted), not let through as related.
 */
static void test_related_only_icmp(void **state)
{
	static const char pasv[] = "227 Entering Passive Mode (198,51,100,10,35,130).\r\n";
	unsigned long long before = stats().dropped_forward;
	int gc = -1, gs = -1, rc_helper, got, conn, acc;
	bool expected;

	rc_helper = sh("ip netns exec %s nft -f - <<'EOF'\n"
		       "table inet agt-test-helper {\n"
		       "  ct helper ftp8080 { type \"ftp\" protocol tcp; }\n"
		       "  chain pre { type filter hook prerouting priority 0;\n"
		       "    ip daddr 198.51.100.10 tcp dport 8080 ct helper set \"ftp8080\"; }\n"
		       "}\nEOF", g->ns_host);
	if (!rc_helper) {
		gc = sock_in(g->fd_guest, SOCK_STREAM);
		gs = connect_pair(gc, srv[SRV_ALLOWED].addr, srv[SRV_ALLOWED].port,
				  g->listen[SRV_ALLOWED]);
	}
	/* The helper reads a line only after one it saw end: a banner first, as servers do. */
	got = gs >= 0 && send(gs, "220 ready\r\n", 11, 0) == 11 && recv_wait(gc) == 11 &&
	      send(gs, pasv, strlen(pasv), 0) == (ssize_t)strlen(pasv) ? (int)recv_wait(gc) : -1;
	expected = ct_expect_has("dport=9090");
	conn = guest_connect(srv[SRV_ALLOWED_PORT].addr, srv[SRV_ALLOWED_PORT].port);
	acc = accepted(g->listen[SRV_ALLOWED_PORT]);
	if (gc >= 0)
		close(gc);
	if (gs >= 0)
		close(gs);
	sh("ip netns exec %s nft delete table inet agt-test-helper", g->ns_host);
	assert_int_equal(rc_helper, 0);
	assert_true(got > 0);
	assert_true(expected);	/* the premise: the helper made the expectation */
	assert_int_equal(conn, -ETIMEDOUT);
	assert_int_equal(acc, 0);
	assert_true(stats().dropped_forward > before);
}

/* Nothing from outside starts a connection to the guest. */
static void test_to_guest_dropped(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(7) };
	unsigned long long before = stats().dropped_to_guest;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	sa.sin_addr = g->plan.guest_addr;
	assert_true(fd >= 0);
	/* The output chain drops it: the host's own sendto sees EPERM. */
	assert_int_equal(sendto(fd, "x", 1, 0, (struct sockaddr *)&sa, sizeof(sa)), -1);
	assert_int_equal(errno, EPERM);
	close(fd);
	usleep(200000);
	assert_true(stats().dropped_to_guest > before);
}

static bool tables_left(const char *table)
{
	int a = ag_nft_table_exists(NFPROTO_INET, table);
	int b = ag_nft_table_exists(NFPROTO_NETDEV, table);

	assert_true(a >= 0 && b >= 0);
	return a || b;
}

static void compile_only(struct ag_sbx_net_opts *o, const char *name)
{
	memset(o, 0, sizeof(*o));
	o->name = name;
	o->upstream_resolv_conf = g->resolv;
}

/* Down: no table, no tap. */
static void test_down_leaves_nothing(void **state)
{
	struct ag_sbx_net_opts o;
	struct ag_sbx_net_plan plan;
	struct ag_sbx_net *n;
	int fd;

	compile_only(&o, "down");
	assert_int_equal(ag_sbx_net_up(&o, g->c, &n, &plan, &fd), 0);
	assert_true(tables_left(plan.table));
	assert_int_not_equal(if_nametoindex(plan.tap), 0);
	ag_sbx_net_down(n);
	assert_false(tables_left(plan.table));
	assert_int_equal(if_nametoindex(plan.tap), 0);
}

/* The tun device's owner uid as the kernel reports it (-1: none), read in the host namespace. */
static long tap_owner(const char *tap)
{
	char cmd[256], line[32] = "";
	FILE *f;

	snprintf(cmd, sizeof(cmd), "ip netns exec %s cat /sys/class/net/%s/owner", g->ns_host, tap);
	f = popen(cmd, "r");
	if (!f)
		return -2;
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	pclose(f);
	return line[0] ? strtol(line, NULL, 10) : -2;
}

/*
 * A holder of the tap's descriptor (a compromised QEMU) made the tap persistent: down deletes
 * it all the same. The tap has no owner uid (no TUNSETOWNER): nobody can attach to it later.
 * Control: a tap made here with TUNSETOWNER shows its uid.
 */
static void test_down_deletes_persistent_tap(void **state)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	struct ag_sbx_net_opts o;
	struct ag_sbx_net_plan plan;
	struct ag_sbx_net *n;
	int fd, ctl;

	ctl = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	assert_true(ctl >= 0);
	snprintf(ifr.ifr_name, IFNAMSIZ, "agt-owned");
	assert_int_equal(ioctl(ctl, TUNSETIFF, &ifr), 0);
	assert_int_equal(ioctl(ctl, TUNSETOWNER, 1000), 0);
	assert_int_equal(tap_owner("agt-owned"), 1000);
	close(ctl);

	compile_only(&o, "persist");
	o.tap_owner = 1000;
	assert_int_equal(ag_sbx_net_up(&o, g->c, &n, &plan, &fd), 0);
	assert_int_equal(sh("ip -n %s -d link show %s | grep -q 'type tap'", g->ns_host, plan.tap),
			 0);
	assert_int_equal(tap_owner(plan.tap), -1);
	assert_int_equal(ioctl(fd, TUNSETPERSIST, 1), 0);
	ag_sbx_net_down(n);
	assert_int_equal(if_nametoindex(plan.tap), 0);
}

static int learn_nothing(void *ctx, const struct ag_compiled *c, const __u8 judged[16],
			 const char *name, __u32 ttl_s)
{
	return 0;
}

/*
 * A resolver with a backend (the sandbox's) refuses a new policy: its backend's bindings
 * could not follow it. The resolver is opened but never started.
 */
/* ---- DNS rebinding (the nft backend) ------------------------------------------------------ */

static unsigned int withheld_reports(char *last, size_t len)
{
	unsigned int n;

	pthread_mutex_lock(&g->rep_lock);
	n = g->n_withheld_reports;
	snprintf(last, len, "%s", g->last_withheld);
	pthread_mutex_unlock(&g->rep_lock);
	return n;
}

/*
 * An allowed wildcard answering the LAN or loopback: REFUSED, counted and reported, and the
 * address stays unreachable (dropped by the forward chain, nothing accepted).
 */
static void test_rebind_internal_refused(void **state)
{
	unsigned long long before = stats().dns_withheld, refused = stats().dns_refused, drops;
	unsigned int reports;
	unsigned char buf[512];
	char last[160], want[160];
	ssize_t len = 0;

	reports = withheld_reports(last, sizeof(last));
	/* Control: upstream answers it, asked from the host. */
	assert_int_equal(dns_from(g->fd_host, "198.51.100.53", "lan.rebind.test", buf,
				  sizeof(buf), &len), 0);
	assert_true(has_addr(buf, len, srv[SRV_LAN].addr));
	len = 0;
	assert_int_equal(guest_dns(inet_ntoa(g->plan.host_addr), "lan.rebind.test", buf,
				   sizeof(buf), &len), 5 /* REFUSED */);
	assert_false(has_addr(buf, len, srv[SRV_LAN].addr));
	assert_int_equal(stats().dns_withheld, before + 1);
	assert_int_equal(withheld_reports(last, sizeof(last)), reports + 1);
	snprintf(want, sizeof(want), "lan.rebind.test 10.99.0.1 REFUSED %#x",
		 AG_RULE_BUILTIN | AG_BR_DNS_REBIND);
	assert_string_equal(last, want);
	drops = stats().dropped_forward;
	assert_int_equal(guest_connect(srv[SRV_LAN].addr, srv[SRV_LAN].port), -ETIMEDOUT);
	assert_int_equal(accepted(g->listen[SRV_LAN]), 0);
	assert_true(stats().dropped_forward > drops);
	/* The host's view of loopback, too; withheld without anything to connect to. */
	len = 0;
	assert_int_equal(guest_dns(inet_ntoa(g->plan.host_addr), "lo.rebind.test", buf,
				   sizeof(buf), &len), 5 /* REFUSED */);
	assert_int_equal(stats().dns_withheld, before + 2);
	/* Refused queries are counted apart: none of these was one. */
	assert_int_equal(stats().dns_refused, refused);
}

/* A mixed answer: the public address relayed and reachable, the internal one neither. */
static void test_rebind_mixed_answer_keeps_public(void **state)
{
	unsigned long long before = stats().dns_withheld, refused = stats().dns_refused;
	unsigned char buf[512];
	char last[160];
	ssize_t len = 0;

	assert_int_equal(dns_from(g->fd_host, "198.51.100.53", "mixed.rebind.test", buf,
				  sizeof(buf), &len), 0);
	assert_true(has_addr(buf, len, srv[SRV_MIXED].addr));
	assert_true(has_addr(buf, len, srv[SRV_LAN].addr));
	assert_int_equal(guest_connect(srv[SRV_MIXED].addr, srv[SRV_MIXED].port), -ETIMEDOUT);
	assert_int_equal(accepted(g->listen[SRV_MIXED]), 0);
	len = 0;
	assert_int_equal(guest_dns(inet_ntoa(g->plan.host_addr), "mixed.rebind.test", buf,
				   sizeof(buf), &len), 0);
	assert_true(has_addr(buf, len, srv[SRV_MIXED].addr));
	assert_false(has_addr(buf, len, srv[SRV_LAN].addr));
	assert_int_equal(stats().dns_withheld, before + 1);
	assert_int_equal(stats().dns_refused, refused);
	withheld_reports(last, sizeof(last));
	assert_non_null(strstr(last, "mixed.rebind.test 10.99.0.1 NOERROR "));
	assert_int_equal(guest_connect(srv[SRV_MIXED].addr, srv[SRV_MIXED].port), 0);
	assert_int_equal(accepted(g->listen[SRV_MIXED]), 1);
	assert_int_equal(guest_connect(srv[SRV_LAN].addr, srv[SRV_LAN].port), -ETIMEDOUT);
	assert_int_equal(accepted(g->listen[SRV_LAN]), 0);
}

/*
 * An ip rule opens the internal address (port 8080): the record is relayed, not counted, and
 * the domain rule's other port (9090) stays closed there while it opens on a public address.
 */
static void test_rebind_cidr_allowed_kept(void **state)
{
	unsigned long long before = stats().dns_withheld;
	unsigned char buf[512];
	ssize_t len = 0;

	assert_int_equal(guest_dns(inet_ntoa(g->plan.host_addr), "nexus.rebind.test", buf,
				   sizeof(buf), &len), 0);
	assert_true(has_addr(buf, len, srv[SRV_NEXUS].addr));
	assert_int_equal(stats().dns_withheld, before);
	assert_int_equal(guest_connect(srv[SRV_NEXUS].addr, srv[SRV_NEXUS].port), 0);
	assert_int_equal(accepted(g->listen[SRV_NEXUS]), 1);
	assert_int_equal(guest_connect(srv[SRV_NEXUS_OTHER_PORT].addr,
				       srv[SRV_NEXUS_OTHER_PORT].port), -ETIMEDOUT);
	assert_int_equal(accepted(g->listen[SRV_NEXUS_OTHER_PORT]), 0);
	/* Control: 9090 through the same domain rule on a public address it answered. */
	len = 0;
	assert_int_equal(guest_dns(inet_ntoa(g->plan.host_addr), "mixed.rebind.test", buf,
				   sizeof(buf), &len), 0);
	assert_int_equal(guest_connect(srv[SRV_MIXED_OTHER_PORT].addr,
				       srv[SRV_MIXED_OTHER_PORT].port), 0);
	assert_int_equal(accepted(g->listen[SRV_MIXED_OTHER_PORT]), 1);
}

static void test_backend_resolver_refuses_install(void **state)
{
	struct ag_resolver_opts ro = {};
	struct ag_resolver_backend be = { learn_nothing, NULL };
	struct ag_resolver *r = NULL;

	assert_int_equal(ag_resolver_parse_addr("127.0.0.1:5399", &ro.listen), 0);
	assert_int_equal(ag_resolver_parse_addr("198.51.100.53", &ro.upstream[0]), 0);
	ro.n_upstream = 1;
	assert_int_equal(ag_resolver_open_backend(&ro, &be, g->c, &r), 0);
	assert_int_equal(ag_resolver_install(r, g->c_b ? g->c_b : g->c), -EOPNOTSUPP);
	ag_resolver_close(r);
}

/* SIGKILL of the owner: the kernel deletes the tables, the tap dies with its fd. */
static void test_sigkill_leaves_nothing(void **state)
{
	struct ag_sbx_net_opts o;
	struct ag_sbx_net_plan plan;
	int p[2], i;
	pid_t pid;
	char ok;

	compile_only(&o, "killed");
	assert_int_equal(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		struct ag_sbx_net *n;
		int fd;

		enter(g->fd_host);
		if (ag_sbx_net_up(&o, g->c, &n, &plan, &fd))
			_exit(1);
		if (write(p[1], "k", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	assert_int_equal(read(p[0], &ok, 1), 1);
	close(p[0]);
	assert_true(tables_left("agentguard-killed"));
	assert_int_not_equal(if_nametoindex("agt-killed"), 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	for (i = 0; i < 20 && (tables_left("agentguard-killed") || if_nametoindex("agt-killed"));
	     i++)
		usleep(100000);
	assert_false(tables_left("agentguard-killed"));
	assert_int_equal(if_nametoindex("agt-killed"), 0);
}

/*
 * Two names whose tap names are the same ("agt-collis-a5b7": the first 6 characters and the
 * 16-bit hash agree): the second's cleanup_stale leaves the first's live tap alone (its alias
 * names the first), and the second's up refuses with EEXIST rather than share or take it.
 */
static void test_tap_name_collision(void **state)
{
	struct ag_sbx_net_opts o;
	struct ag_sbx_net_plan a, b;
	struct ag_sbx_net *na, *nb;
	int fa, fb;

	compile_only(&o, "collision-388");
	assert_int_equal(ag_sbx_net_up(&o, g->c, &na, &a, &fa), 0);
	assert_string_equal(a.tap, "agt-collis-a5b7");
	assert_int_equal(ag_sbx_net_cleanup_stale("collision-2180"), -EEXIST);
	assert_int_not_equal(if_nametoindex(a.tap), 0);
	compile_only(&o, "collision-2180");
	assert_int_equal(ag_sbx_net_up(&o, g->c, &nb, &b, &fb), -EEXIST);
	assert_int_not_equal(if_nametoindex(a.tap), 0);
	assert_true(tables_left(a.table));
	ag_sbx_net_down(na);
}

/* Sandbox "gx-guard"'s tables are not sandbox "gx"'s guard table: both run. */
static void test_guard_table_own_name(void **state)
{
	struct ag_sbx_net_opts o;
	struct ag_sbx_net_plan a, b;
	struct ag_sbx_net *na, *nb;
	int fa, fb;

	compile_only(&o, "gx");
	assert_int_equal(ag_sbx_net_up(&o, g->c, &na, &a, &fa), 0);
	compile_only(&o, "gx-guard");
	assert_int_equal(ag_sbx_net_up(&o, g->c, &nb, &b, &fb), 0);
	assert_int_equal(ag_nft_table_exists(NFPROTO_NETDEV, "agentguard-gx.guard"), 1);
	ag_sbx_net_down(nb);
	ag_sbx_net_down(na);
}

/* Leftovers (a table without owner, a persistent tap) block up, and cleanup_stale removes them. */
static void test_cleanup_stale(void **state)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	struct ag_sbx_net_opts o;
	struct ag_sbx_net_plan plan;
	struct ag_sbx_net *n;
	int fd;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	snprintf(ifr.ifr_name, IFNAMSIZ, "agt-stale");
	assert_true(fd >= 0);
	assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
	assert_int_equal(ioctl(fd, TUNSETPERSIST, 1), 0);
	close(fd);
	assert_int_equal(sh("ip -n %s link set agt-stale alias agentguard:stale", g->ns_host), 0);
	assert_int_equal(sh("ip netns exec %s nft add table inet agentguard-stale", g->ns_host), 0);
	compile_only(&o, "stale");
	assert_int_equal(ag_sbx_net_up(&o, g->c, &n, &plan, &fd), -EEXIST);
	assert_int_equal(ag_sbx_net_cleanup_stale("stale"), 0);
	assert_false(tables_left("agentguard-stale"));
	assert_int_equal(if_nametoindex("agt-stale"), 0);
	/* A tap whose descriptor something still holds (a QEMU that outlived its runner). */
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	snprintf(ifr.ifr_name, IFNAMSIZ, "agt-held");
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	assert_true(fd >= 0);
	assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
	assert_int_equal(sh("ip -n %s link set agt-held alias agentguard:held", g->ns_host), 0);
	assert_int_equal(ag_sbx_net_cleanup_stale("held"), 0);
	assert_int_equal(if_nametoindex("agt-held"), 0);
	close(fd);
	/* A live sandbox is not stale: refused, nothing touched. */
	assert_int_equal(ag_sbx_net_cleanup_stale(NAME), -EBUSY);
	assert_int_not_equal(if_nametoindex(g->plan.tap), 0);
	assert_true(tables_left(g->plan.table));
}

/* Forwarding off on the uplink: refused, named, nothing made. */
static void test_uplink_forwarding_off(void **state)
{
	struct ag_sbx_net_opts o;
	struct ag_sbx_net_plan plan;
	struct ag_sbx_net *n;
	int fd, err;

	compile_only(&o, "nofwd");
	assert_int_equal(sh("ip netns exec %s sysctl -qw net.ipv4.conf.up0.forwarding=0",
			    g->ns_host), 0);
	err = ag_sbx_net_up(&o, g->c, &n, &plan, &fd);
	sh("ip netns exec %s sysctl -qw net.ipv4.conf.up0.forwarding=1", g->ns_host);
	assert_int_equal(err, -EHOSTUNREACH);
	assert_string_equal(plan.uplink, "up0");
	assert_false(tables_left("agentguard-nofwd"));
	assert_int_equal(if_nametoindex("agt-nofwd"), 0);
}

/*
 * 100,000 CIDR rules (one in ten a deny): the table is built in seconds, as sets (one lookup
 * per new flow), and holds what the policy says at spots checked through nft.
 */
static void test_100k_cidrs(void **state)
{
	const int n = 100000;
	size_t cap = (size_t)n * 100 + 512, l = 0;
	char *y = malloc(cap);
	struct ag_diags d = {};
	struct ag_policy *p, *ps[1];
	struct ag_compiled *c;
	struct ag_sbx_net_opts o;
	struct ag_sbx_net_plan plan;
	struct ag_sbx_net *net;
	struct timespec t0, t1;
	int fd, i;

	assert_non_null(y);
	l += snprintf(y + l, cap - l, "apiVersion: agentguard/v1\nkind: Policy\nmetadata:\n"
		      "  name: big\nspec:\n  filesystem:\n    default: allow\n  network:\n"
		      "    default: deny\n    rules:\n");
	for (i = 0; i < n; i++)
		l += snprintf(y + l, cap - l,
			      "      - action: %s\n        cidr: %d.%d.%d.0/24\n"
			      "        ports: [%d]\n",
			      i % 10 ? "allow" : "deny", 11 + i / 65536, (i / 256) % 256, i % 256,
			      443 + i % 3);
	assert_int_equal(ag_policy_parse_buf("big.yaml", y, l, &p, &d), 0);
	ps[0] = p;
	assert_int_equal(ag_compile(ps, 1, &c, &d), 0);
	compile_only(&o, "big");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(ag_sbx_net_up(&o, c, &net, &plan, &fd), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "# 100k CIDRs: up in %.2f s\n",
		t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	assert_true(t1.tv_sec - t0.tv_sec < 30);
	/* Rule 5 (11.0.5.0/24, port 445) allowed; rule 10 (11.0.10.0/24) an explicit deny. */
	assert_int_equal(sh("ip netns exec %s nft get element inet agentguard-big policy_allow "
			    "'{ 11.0.5.7 . tcp . 445 }' >/dev/null", g->ns_host), 0);
	assert_int_not_equal(sh_quiet("ip netns exec %s nft get element inet agentguard-big "
				      "policy_allow '{ 11.0.5.7 . tcp . 443 }' >/dev/null 2>&1",
				      g->ns_host), 0);
	assert_int_equal(sh("ip netns exec %s nft get element inet agentguard-big "
			    "policy_rule_deny '{ 11.0.10.7 . udp . 444 }' >/dev/null",
			    g->ns_host), 0);
	assert_int_not_equal(sh_quiet("ip netns exec %s nft get element inet agentguard-big "
				      "policy_allow '{ 11.0.10.7 . udp . 444 }' >/dev/null 2>&1",
				      g->ns_host), 0);
	ag_sbx_net_down(net);
	ag_compiled_free(c);
	ag_policy_free(p);
	ag_diags_free(&d);
	free(y);
}

/* Policy B of test_conntrack_cleared_between_runs: 198.51.100.10 no longer, .54 allowed. */
static const char policy_b_yaml[] =
	"apiVersion: agentguard/v1\n"
	"kind: Policy\n"
	"metadata:\n"
	"  name: sbx-net-test-b\n"
	"spec:\n"
	"  filesystem:\n"
	"    default: allow\n"
	"  network:\n"
	"    default: deny\n"
	"    rules:\n"
	"      - id: other\n        action: allow\n        cidr: 198.51.100.54/32\n"
	"        ports: [8080]\n";

/* Does a conntrack entry of this thread's namespace hold every one of the strings? */
static bool ct_has(const char *a, const char *b)
{
	FILE *f = fopen("/proc/thread-self/net/nf_conntrack", "re");
	char line[512];
	bool got = false;

	assert_non_null(f);
	while (!got && fgets(line, sizeof(line), f))
		got = strstr(line, a) && (!b || strstr(line, b));
	fclose(f);
	return got;
}

/*
 * A run's flows end with it. Run A (the setup's policy) has a TCP flow to 198.51.100.10:8080
 * whose socket the guest keeps; down, and up again under the same name (same /30, same MAC)
 * with policy B, which denies that destination: data on the old flow does not get through
 * (dropped as a new flow, counted), as a fresh connect does not, while B's own destination
 * connects (the plumbing works). The host's own flow elsewhere keeps its conntrack entry.
 * Last: it replaces the setup's sandbox.
 */
static void test_conntrack_cleared_between_runs(void **state)
{
	struct ag_sbx_net_opts o;
	struct ag_sbx_net_plan plan;
	char guest[INET_ADDRSTRLEN], ct_old[64];
	int gc = sock_in(g->fd_guest, SOCK_STREAM), gs, hc, hs;
	unsigned long long before;

	gs = connect_pair(gc, srv[SRV_ALLOWED].addr, srv[SRV_ALLOWED].port,
			  g->listen[SRV_ALLOWED]);
	assert_true(gs >= 0);
	assert_int_equal(send(gc, "a", 1, 0), 1);
	assert_int_equal(recv_wait(gs), 1);
	hc = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);	/* the host's own */
	hs = connect_pair(hc, srv[SRV_ALLOWED_PORT].addr, srv[SRV_ALLOWED_PORT].port,
			  g->listen[SRV_ALLOWED_PORT]);
	assert_true(hs >= 0);
	inet_ntop(AF_INET, &g->plan.guest_addr, guest, sizeof(guest));
	snprintf(ct_old, sizeof(ct_old), "src=%s dst=198.51.100.10 ", guest);
	assert_true(ct_has(ct_old, "dport=8080 "));
	assert_true(ct_has("src=192.0.2.1 ", "dport=9090"));

	frame_pipe_stop(&g->pipe);
	ag_sbx_net_down(g->net);
	g->net = NULL;
	assert_int_equal(compile_yaml(policy_b_yaml, &g->pol_b, g->pols_b, &g->c_b), 0);
	compile_only(&o, NAME);
	assert_int_equal(ag_sbx_net_up(&o, g->c_b, &g->net, &plan, &g->tap_fd), 0);
	/* The premise: the same addresses and MAC as the first run. */
	assert_int_equal(plan.guest_addr.s_addr, g->plan.guest_addr.s_addr);
	assert_memory_equal(plan.guest_mac, g->plan.guest_mac, 6);
	g->plan = plan;
	assert_int_equal(frame_pipe_start(&g->pipe, g->tap_fd, g->gtap_fd), 0);
	assert_int_equal(sh("ip -n %s neigh flush dev gtap", g->ns_guest), 0);

	/* Control: B's own destination connects. */
	assert_int_equal(guest_connect(srv[SRV_OTHER_DNS_CTL].addr, srv[SRV_OTHER_DNS_CTL].port),
			 0);
	assert_int_equal(accepted(g->listen[SRV_OTHER_DNS_CTL]), 1);
	before = stats().dropped_forward;
	assert_int_equal(send(gc, "b", 1, 0), 1);
	assert_int_equal(recv_wait(gs), 0);
	assert_true(stats().dropped_forward > before);
	assert_int_equal(guest_connect(srv[SRV_ALLOWED].addr, srv[SRV_ALLOWED].port), -ETIMEDOUT);
	assert_int_equal(accepted(g->listen[SRV_ALLOWED]), 0);
	assert_false(ct_has(ct_old, "dport=8080 "));	/* the old entry is gone */
	assert_true(ct_has("src=192.0.2.1 ", "dport=9090"));
	close(gc);
	close(gs);
	close(hc);
	close(hs);
}

/*
 * At most conn_max flows from the guest at once. The sandbox comes up again (same name,
 * policy A) with conn_max 4: four UDP flows to the allowed 198.51.100.10:8080 (four source
 * ports) arrive, a fifth is dropped and counted in conn_limit. Last, after
 * test_conntrack_cleared_between_runs: it replaces the sandbox again.
 */
static void test_conn_limit(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(8080) };
	struct ag_sbx_net_opts o;
	struct ag_sbx_net_plan plan;
	unsigned long long before;
	int fd[5], i;

	frame_pipe_stop(&g->pipe);
	ag_sbx_net_down(g->net);
	g->net = NULL;
	compile_only(&o, NAME);
	o.conn_max = 4;
	assert_int_equal(ag_sbx_net_up(&o, g->c, &g->net, &plan, &g->tap_fd), 0);
	g->plan = plan;
	assert_int_equal(frame_pipe_start(&g->pipe, g->tap_fd, g->gtap_fd), 0);
	assert_int_equal(sh("ip -n %s neigh flush dev gtap", g->ns_guest), 0);
	inet_pton(AF_INET, "198.51.100.10", &sa.sin_addr);
	udp_received(g->udp_allowed);
	before = stats().dropped_conn_limit;
	for (i = 0; i < 5; i++) {
		fd[i] = sock_in(g->fd_guest, SOCK_DGRAM);
		assert_true(fd[i] >= 0);
		assert_int_equal(sendto(fd[i], "x", 1, 0, (struct sockaddr *)&sa, sizeof(sa)), 1);
		assert_int_equal(udp_received(g->udp_allowed), i < 4 ? 1 : 0);
	}
	assert_int_equal(stats().dropped_conn_limit, before + 1);
	for (i = 0; i < 5; i++)
		close(fd[i]);
}

static void sleep_until(const struct timespec *t0, long ms)
{
	struct timespec t = { t0->tv_sec + ms / 1000, t0->tv_nsec + (ms % 1000) * 1000000L };

	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR)
		;
}

/*
 * A binding refreshed near its end lasts for the new answer's TTL: learned_swap replaces the
 * old elements, where re-adding one kept its old timeout before Linux 6.10. A run whose
 * bindings last 2 s (replacing the setup's): allowed.test answered at 0 and again at 1.5 s,
 * within the last half second of the first; at 2.5 s it connects, 2.3 s after the refresh not.
 */
static void test_refresh_near_expiry(void **state)
{
	struct ag_sbx_net_opts o;
	struct ag_sbx_net_plan plan;
	struct timespec t0, tr;
	unsigned char buf[512];
	ssize_t len = 0;
	char host[INET_ADDRSTRLEN];

	frame_pipe_stop(&g->pipe);
	ag_sbx_net_down(g->net);
	g->net = NULL;
	compile_only(&o, NAME);
	o.ttl_floor_s = 1;
	o.ttl_cap_s = 2;
	assert_int_equal(ag_sbx_net_up(&o, g->c, &g->net, &plan, &g->tap_fd), 0);
	g->plan = plan;
	assert_int_equal(frame_pipe_start(&g->pipe, g->tap_fd, g->gtap_fd), 0);
	assert_int_equal(sh("ip -n %s neigh flush dev gtap", g->ns_guest), 0);
	inet_ntop(AF_INET, &plan.host_addr, host, sizeof(host));

	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(guest_dns(host, "allowed.test", buf, sizeof(buf), &len), 0);
	assert_int_equal(guest_connect(srv[SRV_NAME].addr, srv[SRV_NAME].port), 0);
	assert_int_equal(accepted(g->listen[SRV_NAME]), 1);
	sleep_until(&t0, 1500);
	clock_gettime(CLOCK_MONOTONIC, &tr);
	assert_int_equal(guest_dns(host, "allowed.test", buf, sizeof(buf), &len), 0);
	sleep_until(&t0, 2500);
	assert_int_equal(guest_connect(srv[SRV_NAME].addr, srv[SRV_NAME].port), 0);
	assert_int_equal(accepted(g->listen[SRV_NAME]), 1);
	/* Control: the refreshed binding ends too. */
	sleep_until(&tr, 2300);
	assert_int_equal(guest_connect(srv[SRV_NAME].addr, srv[SRV_NAME].port), -ETIMEDOUT);
	assert_int_equal(accepted(g->listen[SRV_NAME]), 0);
}

/*
 * QEMU's stand-in for test_qemu_outlives_runner, run as "--qemu TAP_FD HEX_FRAME" after exec
 * (so it holds what a real QEMU holds: the descriptors the runner cleared FD_CLOEXEC on).
 * For each byte on stdin it writes the frame to the tap and acknowledges on stdout.
 */
static int qemu_stand_in(int tap, const char *hex)
{
	unsigned char f[256], c;
	size_t n = 0;

	while (hex[0] && hex[1] && n < sizeof(f)) {
		sscanf(hex, "%2hhx", &f[n++]);
		hex += 2;
	}
	while (read(0, &c, 1) == 1)
		if (write(tap, f, n) != (ssize_t)n || write(1, "a", 1) != 1)
			return 1;
	return 0;
}

/* The runner of test_qemu_outlives_runner: up, start the stand-in, report, wait to die. */
static void runner(bool give_guard, int cmd, int cmd_w, int ack, int ready)
{
	struct ag_sbx_net_opts o;
	struct ag_sbx_net_plan plan;
	struct ag_sbx_net *n;
	struct ifreq ifr = {};
	unsigned char f[14 + 20 + 8 + 4] = {};
	char hex[2 * sizeof(f) + 1], fdtxt[16];
	int fd, s;
	size_t i;

	close(cmd_w);	/* the stand-in must see EOF once the test closes its end */
	enter(g->fd_host);
	compile_only(&o, "orphan");
	if (ag_sbx_net_up(&o, g->c, &n, &plan, &fd))
		_exit(1);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", plan.tap);
	if (s < 0 || ioctl(s, SIOCGIFHWADDR, &ifr))
		_exit(1);
	memcpy(g->tap_mac, ifr.ifr_hwaddr.sa_data, 6);	/* this child's copy of g */
	build_udp(f, plan.guest_mac, plan.guest_addr, "198.51.100.10", 8080);
	for (i = 0; i < sizeof(f); i++)
		sprintf(hex + 2 * i, "%02x", f[i]);
	/* As the VM half does for QEMU: these two survive exec. */
	fcntl(fd, F_SETFD, 0);
	if (give_guard)
		fcntl(plan.guard_fd, F_SETFD, 0);
	snprintf(fdtxt, sizeof(fdtxt), "%d", fd);
	if (fork() == 0) {
		dup2(cmd, 0);
		dup2(ack, 1);
		execl("/proc/self/exe", "test_sandbox_net", "--qemu", fdtxt, hex, (char *)NULL);
		_exit(127);
	}
	if (write(ready, "r", 1) != 1)
		_exit(1);
	for (;;)
		pause();
}

/*
 * The runner is killed and QEMU is not: with the guard descriptor in QEMU, everything the
 * tap still carries is dropped (counted); without it (the control), the same frame is
 * forwarded unfiltered, which is the hole the guard closes. While the runner lives the frame
 * arrives either way. When QEMU goes too, nothing is left.
 */
static void outlive(bool give_guard)
{
	int cmd[2], ack[2], ready[2], got;
	struct ag_nft nft;
	__u64 pkts = 0;
	pid_t pid;
	char c;

	assert_int_equal(pipe2(cmd, O_CLOEXEC), 0);
	assert_int_equal(pipe2(ack, O_CLOEXEC), 0);
	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	udp_received(g->udp_allowed);
	pid = fork();
	if (pid == 0)
		runner(give_guard, cmd[0], cmd[1], ack[1], ready[1]);
	g->runner = pid;	/* killed by teardown should an assertion end this early */
	close(cmd[0]);
	close(ack[1]);
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	/* Alive: filtered and allowed. */
	assert_int_equal(write(cmd[1], "x", 1), 1);
	assert_int_equal(read(ack[0], &c, 1), 1);
	assert_int_equal(udp_received(g->udp_allowed), 1);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	g->runner = 0;
	for (got = 0; got < 20 && tables_left("agentguard-orphan"); got++)
		usleep(100000);
	assert_false(tables_left("agentguard-orphan"));
	assert_int_not_equal(if_nametoindex("agt-orphan"), 0);	/* the stand-in holds it */
	assert_int_equal(write(cmd[1], "x", 1), 1);
	assert_int_equal(read(ack[0], &c, 1), 1);
	got = udp_received(g->udp_allowed);
	if (give_guard) {
		assert_int_equal(got, 0);
		assert_int_equal(ag_nft_open(&nft), 0);
		assert_int_equal(ag_nft_counter(&nft, NFPROTO_NETDEV, "agentguard-orphan.guard",
					       "unfiltered", &pkts), 0);
		ag_nft_close(&nft);
		assert_true(pkts >= 1);
	} else {
		assert_int_equal(got, 1);	/* the hole, without the guard */
	}
	close(cmd[1]);	/* the stand-in exits: its tap and the guard go */
	assert_int_equal(read(ack[0], &c, 1), 0);
	close(ack[0]);
	close(ready[0]);
	for (got = 0; got < 20 && (if_nametoindex("agt-orphan") ||
				   ag_nft_table_exists(NFPROTO_NETDEV, "agentguard-orphan.guard"));
	     got++)
		usleep(100000);
	assert_int_equal(if_nametoindex("agt-orphan"), 0);
	assert_int_equal(ag_nft_table_exists(NFPROTO_NETDEV, "agentguard-orphan.guard"), 0);
}

static void test_qemu_outlives_runner_unguarded_control(void **state)
{
	outlive(false);
}

static void test_qemu_outlives_runner_guarded(void **state)
{
	outlive(true);
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "--qemu"))
		return qemu_stand_in(atoi(argv[2]), argv[3]);
	{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_allowed_connects),
		cmocka_unit_test(test_denied_address_dropped),
		cmocka_unit_test(test_denied_port_dropped),
		cmocka_unit_test(test_domain_allowed_after_answer),
		cmocka_unit_test(test_domain_refresh_and_shared),
		cmocka_unit_test(test_domain_refused),
		cmocka_unit_test(test_dns_elsewhere_dropped),
		cmocka_unit_test(test_binding_cannot_lift_rule_deny),
		cmocka_unit_test(test_binding_deny_beats_allowed_address),
		cmocka_unit_test(test_rebind_internal_refused),
		cmocka_unit_test(test_rebind_mixed_answer_keeps_public),
		cmocka_unit_test(test_rebind_cidr_allowed_kept),
		cmocka_unit_test(test_link_local_dropped),
		cmocka_unit_test(test_spoofed_dropped),
		cmocka_unit_test(test_ip_options_dropped),
		cmocka_unit_test(test_arp_spoof_dropped),
		cmocka_unit_test(test_ipv6_dropped),
		cmocka_unit_test(test_icmp_dropped),
		cmocka_unit_test(test_input_dropped),
		cmocka_unit_test(test_to_guest_dropped),
		cmocka_unit_test(test_resolver_guest_only),
		cmocka_unit_test(test_related_only_icmp),
		cmocka_unit_test(test_down_leaves_nothing),
		cmocka_unit_test(test_sigkill_leaves_nothing),
		cmocka_unit_test(test_down_deletes_persistent_tap),
		cmocka_unit_test(test_qemu_outlives_runner_unguarded_control),
		cmocka_unit_test(test_qemu_outlives_runner_guarded),
		cmocka_unit_test(test_cleanup_stale),
		cmocka_unit_test(test_tap_name_collision),
		cmocka_unit_test(test_guard_table_own_name),
		cmocka_unit_test(test_uplink_forwarding_off),
		cmocka_unit_test(test_100k_cidrs),
		cmocka_unit_test(test_conntrack_cleared_between_runs),
		cmocka_unit_test(test_conn_limit),
		cmocka_unit_test(test_refresh_near_expiry),
		cmocka_unit_test(test_backend_resolver_refuses_install),
	};

	/* AG_TEST_FILTER=test_dns* runs the matching cases only (while debugging). */
	if (getenv("AG_TEST_FILTER"))
		cmocka_set_test_filter(getenv("AG_TEST_FILTER"));
	return cmocka_run_group_tests_name("sandbox_net", tests, setup, teardown);
	}
}
