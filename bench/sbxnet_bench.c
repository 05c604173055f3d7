// SPDX-License-Identifier: GPL-2.0
/*
 * make bench: what the sandbox's host filter (userspace/sandbox_net.c, issue #11) adds to a
 * guest's connect(). Host-native, in three network namespaces of its own (deleted at the end),
 * laid out as tests/host/test_sandbox_net.c lays them out:
 *   host   the sandbox's tap; uplink up0 192.0.2.1/24, default route via world
 *   world  w0 192.0.2.2; a listener on 198.51.100.10:8080 (on its loopback)
 *   guest  a second tap, "gtap", behind a frame pipe: a thread copies frames between it and
 *          the host tap's descriptor, as QEMU does between the tap and virtio-net
 * Per round, alternately:
 *   filtered  ag_sbx_net_up: the sandbox's own tap, tables (netdev anti-spoofing, inet
 *             forward/input/postrouting, the guard table) and resolver, from a policy of ten
 *             CIDR rules and a domain rule
 *   plain     a tap of the same name and addresses, forwarding on, and one masquerade rule
 *             (`nft`: the bench's baseline only; the product builds its tables with libnftnl):
 *             what any NAT'd VM network does, with no agentguard rule on the path
 * CONNECTS TCP connects each from the guest to the allowed listener, timed from connect() to
 * the connection's completion; each is a new flow, so the filter judges every SYN (the close
 * is a reset: no TIME_WAIT). One JSON line per round with each phase's median; bench/run
 * reports the added microseconds and the ratio. A filtered connect that fails, or a drop
 * counted by the filter, ends the bench with an error: the figure would be a refusal's.
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
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../tests/host/frame_pipe.h"
#include "compile.h"
#include "policy.h"
#include "sandbox_net.h"

#define ROUNDS 7
#define WARMUP 200
#define CONNECTS 1500	/* per round and phase */
#define NAME "bench"
#define SERVER "198.51.100.10"
#define PORT 8080

static const char policy_yaml[] =
	"apiVersion: agentguard/v1\nkind: Policy\nmetadata:\n  name: sbxnet-bench\nspec:\n"
	"  network:\n    default: deny\n    rules:\n"
	"      - action: allow\n        cidr: 198.51.100.10/32\n        ports: [8080]\n"
	"      - action: deny\n        cidr: 198.51.100.16/28\n"
	"      - action: allow\n        cidr: 198.51.100.128/25\n        ports: [443]\n"
	"      - action: allow\n        cidr: 203.0.113.0/24\n        ports: [443, 8443]\n"
	"      - action: allow\n        cidr: 10.20.0.0/16\n        ports: [5432]\n"
	"      - action: deny\n        cidr: 10.20.30.0/24\n"
	"      - action: allow\n        cidr: 172.16.0.0/12\n        ports: [80]\n"
	"      - action: allow\n        cidr: 100.64.0.0/10\n        ports: [22]\n"
	"      - action: deny\n        cidr: 192.0.2.0/24\n"
	"      - action: allow\n        cidr: 198.18.0.0/15\n        ports: [53000]\n"
	"      - action: allow\n        domain: \"*.bench.test\"\n        ports: [443]\n";

struct bench {
	char ns_host[32], ns_world[32], ns_guest[32], dir[64], resolv[96];
	int fd_host, fd_world, fd_guest, fd_orig;
	int listen_fd, tap_fd, gtap_fd;
	struct frame_pipe pipe;
	struct ag_sbx_net_plan plan;
};

static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd) ? -1 : 0;
}

static void enter(int fd)
{
	if (setns(fd, CLONE_NEWNET))
		abort();
}

static int ns_fd(const char *name)
{
	char p[96];

	snprintf(p, sizeof(p), "/run/netns/%s", name);
	return open(p, O_RDONLY | O_CLOEXEC);
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int world_up(struct bench *b)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int one = 1;
	FILE *f;

	if (sh("ip netns add %s && ip netns add %s && ip netns add %s", b->ns_host, b->ns_world,
	       b->ns_guest) ||
	    sh("ip -n %s link add up0 type veth peer name w0 netns %s", b->ns_host, b->ns_world) ||
	    sh("ip -n %s link set lo up && ip -n %s link set up0 up && "
	       "ip -n %s addr add 192.0.2.1/24 dev up0 && "
	       "ip -n %s route add default via 192.0.2.2 && "
	       "ip netns exec %s sysctl -qw net.ipv4.conf.up0.forwarding=1",
	       b->ns_host, b->ns_host, b->ns_host, b->ns_host, b->ns_host) ||
	    sh("ip -n %s link set lo up && ip -n %s link set w0 up && "
	       "ip -n %s addr add 192.0.2.2/24 dev w0 && ip -n %s addr add %s/32 dev lo",
	       b->ns_world, b->ns_world, b->ns_world, b->ns_world, SERVER) ||
	    sh("ip -n %s link set lo up && ip netns exec %s sysctl -qw "
	       "net.ipv6.conf.all.disable_ipv6=1", b->ns_guest, b->ns_guest))
		return -1;
	b->fd_host = ns_fd(b->ns_host);
	b->fd_world = ns_fd(b->ns_world);
	b->fd_guest = ns_fd(b->ns_guest);
	if (b->fd_host < 0 || b->fd_world < 0 || b->fd_guest < 0)
		return -1;

	enter(b->fd_world);
	b->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	inet_pton(AF_INET, SERVER, &sa.sin_addr);
	setsockopt(b->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (b->listen_fd < 0 || bind(b->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(b->listen_fd, 64))
		return -1;

	enter(b->fd_guest);
	b->gtap_fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	snprintf(ifr.ifr_name, IFNAMSIZ, "gtap");
	if (b->gtap_fd < 0 || ioctl(b->gtap_fd, TUNSETIFF, &ifr))
		return -1;
	enter(b->fd_host);

	/* The resolver needs an upstream to start; nothing asks it anything here. */
	snprintf(b->resolv, sizeof(b->resolv), "%s/resolv.conf", b->dir);
	f = fopen(b->resolv, "w");
	if (!f)
		return -1;
	fputs("nameserver 192.0.2.2\n", f);
	return fclose(f) ? -1 : 0;
}

/* The guest's side of a phase: gtap with the sandbox's MAC and address, the default route. */
static int guest_addr_up(struct bench *b)
{
	const unsigned char *m = b->plan.guest_mac;
	char guest[INET_ADDRSTRLEN], host[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &b->plan.guest_addr, guest, sizeof(guest));
	inet_ntop(AF_INET, &b->plan.host_addr, host, sizeof(host));
	return sh("ip -n %s addr flush dev gtap && "
		  "ip -n %s link set gtap address %02x:%02x:%02x:%02x:%02x:%02x up && "
		  "ip -n %s addr add %s/30 dev gtap && ip -n %s route replace default via %s",
		  b->ns_guest, b->ns_guest, m[0], m[1], m[2], m[3], m[4], m[5], b->ns_guest, guest,
		  b->ns_guest, host);
}

/* The plain phase's network: a tap of the plan's name and address, forwarding, masquerade. */
static int plain_up(struct bench *b)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	char host[INET_ADDRSTRLEN];

	b->tap_fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", b->plan.tap);
	if (b->tap_fd < 0 || ioctl(b->tap_fd, TUNSETIFF, &ifr))
		return -1;
	inet_ntop(AF_INET, &b->plan.host_addr, host, sizeof(host));
	return sh("ip addr add %s/30 dev %s && ip link set %s up && "
		  "sysctl -qw net.ipv4.conf.%s.forwarding=1 && "
		  "printf 'table ip agb-plain {\\n chain post {\\n"
		  "  type nat hook postrouting priority 100;\\n oifname \"up0\" masquerade\\n }\\n}\\n'"
		  " | nft -f -", host, b->plan.tap, b->plan.tap, b->plan.tap);
}

static void plain_down(struct bench *b)
{
	sh("nft delete table ip agb-plain");
	close(b->tap_fd);
	b->tap_fd = -1;
}

/* One connect from the guest: its time in microseconds, or a negative errno. */
static double connect_once(struct bench *b)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	struct linger rst = { .l_onoff = 1, .l_linger = 0 };
	struct pollfd p = { .events = POLLOUT }, l = { .fd = b->listen_fd, .events = POLLIN };
	int fd, so = 0, afd;
	socklen_t sl = sizeof(so);
	double t0, t = 0;

	inet_pton(AF_INET, SERVER, &sa.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	t0 = now_us();
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) && errno != EINPROGRESS) {
		so = errno;
		goto cleanup;
	}
	p.fd = fd;
	if (poll(&p, 1, 2000) != 1) {
		so = ETIMEDOUT;
		goto cleanup;
	}
	t = now_us() - t0;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl);
	if (!so) {
		/* The server's side: accept it so the queue never fills. */
		poll(&l, 1, 2000);
		afd = accept4(b->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (afd >= 0)
			close(afd);
	}
cleanup:
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
	close(fd);
	return so ? -so : t;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* WARMUP untimed connects, then the median of CONNECTS timed ones; negative errno on failure. */
static double phase(struct bench *b)
{
	static double t[CONNECTS];
	double r = 0;
	int i;

	if (guest_addr_up(b) || frame_pipe_start(&b->pipe, b->tap_fd, b->gtap_fd))
		return -EIO;
	enter(b->fd_guest);
	for (i = 0; i < WARMUP + CONNECTS; i++) {
		r = connect_once(b);
		if (r < 0)
			break;
		if (i >= WARMUP)
			t[i - WARMUP] = r;
	}
	enter(b->fd_host);
	frame_pipe_stop(&b->pipe);
	if (r < 0)
		return r;
	qsort(t, CONNECTS, sizeof(t[0]), cmp_double);
	return t[CONNECTS / 2];
}

static int filtered(struct bench *b, const struct ag_compiled *c, double *us)
{
	struct ag_sbx_net_opts o = { .name = NAME, .upstream_resolv_conf = b->resolv };
	struct ag_sbx_net_stats s;
	struct ag_sbx_net *n;
	int err;

	err = ag_sbx_net_up(&o, c, &n, &b->plan, &b->tap_fd);
	if (err) {
		fprintf(stderr, "sbxnet_bench: ag_sbx_net_up: %s\n", strerror(-err));
		return err;
	}
	*us = phase(b);
	err = ag_sbx_net_stats(n, &s);
	ag_sbx_net_down(n);
	b->tap_fd = -1;
	if (*us < 0) {
		fprintf(stderr, "sbxnet_bench: a filtered connect failed: %s\n", strerror(-*us));
		return -EIO;
	}
	if (!err && s.dropped_packets) {
		fprintf(stderr, "sbxnet_bench: the filter dropped %llu packets of allowed flows\n",
			s.dropped_packets);
		return -EIO;
	}
	return err;
}

static int plain(struct bench *b, double *us)
{
	int err = plain_up(b) ? -EIO : 0;

	if (!err)
		*us = phase(b);
	plain_down(b);
	if (!err && *us < 0) {
		fprintf(stderr, "sbxnet_bench: a plain connect failed: %s\n", strerror(-*us));
		err = -EIO;
	}
	return err;
}

static int compile(struct ag_policy **pol, struct ag_policy *pols[1], struct ag_compiled **c)
{
	struct ag_diags d = {};
	int err;

	err = ag_policy_parse_buf("sbxnet-bench.yaml", policy_yaml, strlen(policy_yaml), pol, &d);
	if (!err) {
		pols[0] = *pol;
		err = ag_compile(pols, 1, c, &d);
	}
	if (err)
		ag_diags_print(&d, stderr);
	ag_diags_free(&d);
	return err;
}

int main(void)
{
	struct bench b = { .fd_host = -1, .fd_world = -1, .fd_guest = -1, .listen_fd = -1,
			   .tap_fd = -1, .gtap_fd = -1 };
	struct ag_policy *pol = NULL, *pols[1];
	struct ag_compiled *c = NULL;
	double f_us = 0, p_us = 0;
	int i, err = -EIO;

	if (geteuid()) {
		fprintf(stderr, "sbxnet_bench: needs root\n");
		return 1;
	}
	b.fd_orig = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	snprintf(b.ns_host, sizeof(b.ns_host), "agt-bench-h%d", getpid());
	snprintf(b.ns_world, sizeof(b.ns_world), "agt-bench-w%d", getpid());
	snprintf(b.ns_guest, sizeof(b.ns_guest), "agt-bench-g%d", getpid());
	snprintf(b.dir, sizeof(b.dir), "/tmp/agt-sbxnet-bench.XXXXXX");
	if (!mkdtemp(b.dir) || compile(&pol, pols, &c) || world_up(&b))
		goto cleanup;
	for (i = 1; i <= ROUNDS; i++) {
		/* Alternate which phase goes first, so drift does not favour one. */
		err = i % 2 ? filtered(&b, c, &f_us) : plain(&b, &p_us);
		if (!err)
			err = i % 2 ? plain(&b, &p_us) : filtered(&b, c, &f_us);
		if (err)
			goto cleanup;
		printf("{\"round\":%d,\"filtered_us\":%.2f,\"plain_us\":%.2f,\"connects\":%d}\n", i,
		       f_us, p_us, CONNECTS);
		fflush(stdout);
	}
	err = 0;
cleanup:
	if (err)
		fprintf(stderr, "sbxnet_bench: failed\n");
	frame_pipe_stop(&b.pipe);
	if (b.gtap_fd >= 0)
		close(b.gtap_fd);
	if (b.listen_fd >= 0)
		close(b.listen_fd);
	if (b.fd_orig >= 0)
		enter(b.fd_orig);
	sh("ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null;"
	   " rm -rf %s", b.ns_host, b.ns_world, b.ns_guest, b.dir);
	ag_compiled_free(c);
	ag_policy_free(pol);
	return err ? 1 : 0;
}
