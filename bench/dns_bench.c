// SPDX-License-Identifier: GPL-2.0
/*
 * make bench: agentguard's resolver (issue #9) against the DNS server behind it. In a private
 * network namespace, dnsmasq answers on 127.0.0.2 and the resolver on 127.0.0.53, forwarding
 * to it and learning every answer into the kernel table. Per round, alternately:
 *   direct     sequential A queries straight to dnsmasq
 *   resolver   the same names through the resolver (each answer learned, an existing binding
 *              refreshed)
 *   burst      fresh names, all sent at once through the resolver, until every answer is
 *              back: new bindings per second
 * One JSON line per round; bench/run reports the ratio resolver/direct, the added time per
 * query and bindings/s. No goal is set (issue #9 names none).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "compile.h"
#include "dns.h"
#include "loader.h"
#include "policy.h"
#include "resolver.h"

#define ROUNDS 5
#define QUERIES 2000	/* per round and path */
#define BURST 2000	/* fresh names per round */
#define DNSMASQ "/usr/sbin/dnsmasq"

static const char policy_yaml[] =
	"apiVersion: agentguard/v1\nkind: Policy\nmetadata:\n  name: dns-bench\nspec:\n"
	"  network:\n    default: deny\n    rules:\n"
	"      - action: allow\n        domain: \"*.bench.test\"\n        ports: [443]\n";

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int query(__u8 *out, size_t cap, const char *name, __u16 id)
{
	struct ag_dns_question q = { .id = id, .qtype = AG_DNS_T_A, .qclass = AG_DNS_CLASS_IN };
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

static int udp_to(const char *addr)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), big = 8 << 20;

	inet_pton(AF_INET, addr, &sa.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return -1;
	return fd;
}

/* n sequential queries for b<first..first+n>.bench.test to server: µs per query, or < 0. */
static double sequential(const char *server, int first, int n)
{
	__u8 msg[512], in[512];
	char name[64];
	int fd = udp_to(server), i, len;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	double t0;

	if (fd < 0)
		return -1;
	t0 = now_us();
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "b%d.bench.test", first + i);
		len = query(msg, sizeof(msg), name, i);
		if (send(fd, msg, len, 0) != len || poll(&p, 1, 2000) != 1 ||
		    recv(fd, in, sizeof(in), 0) < 12 || (in[3] & 0xf) || !in[7]) {
			close(fd);
			return -1;
		}
	}
	t0 = (now_us() - t0) / n;
	close(fd);
	return t0;
}

/* n fresh names at once through the resolver: answers (bindings) per second, or < 0. */
static double burst(int first, int n)
{
	__u8 msg[512], in[512];
	char name[64];
	int fd = udp_to("127.0.0.53"), i, len, got = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	double t0;

	if (fd < 0)
		return -1;
	t0 = now_us();
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "b%d.bench.test", first + i);
		len = query(msg, sizeof(msg), name, i);
		if (send(fd, msg, len, 0) != len)
			return -1;
	}
	while (got < n && poll(&p, 1, 5000) == 1)
		if (recv(fd, in, sizeof(in), 0) >= 12 && !(in[3] & 0xf) && in[7])
			got++;
	t0 = now_us() - t0;
	close(fd);
	return got == n ? n / (t0 / 1e6) : -1;
}

int main(void)
{
	struct ag_loader_opts o = { .cgroup = true };
	struct ag_resolver_opts ro = { .n_upstream = 1 };
	struct ag_policy *pol = NULL;
	struct ag_compiled *c = NULL;
	struct ag_loader *l = NULL;
	struct ag_resolver *res = NULL;
	struct ag_diags d = {};
	char hosts[] = "/tmp/agentguard-dnsbench-XXXXXX", file[96], arg[128];
	int total = QUERIES + ROUNDS * BURST, i, r, rc = 1;
	pid_t dm = -1;
	FILE *f;

	if (geteuid() || unshare(CLONE_NEWNET) ||
	    system("ip link set lo up && ip addr add 127.0.0.2/32 dev lo") || !mkdtemp(hosts)) {
		fprintf(stderr, "dns_bench: needs root, a netns and iproute2\n");
		return 1;
	}
	snprintf(file, sizeof(file), "%s/hosts", hosts);
	f = fopen(file, "w");
	for (i = 0; f && i < total; i++)
		/* 198.18.0.0/15 (benchmarking), not internal: the resolver withholds those. */
		fprintf(f, "198.18.%d.%d b%d.bench.test\n", i / 250, i % 250 + 1, i);
	if (!f || fclose(f))
		return 1;
	snprintf(arg, sizeof(arg), "--addn-hosts=%s", file);
	dm = fork();
	if (dm == 0) {
		execl(DNSMASQ, DNSMASQ, "-k", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
		      "--listen-address=127.0.0.2", "--bind-interfaces", "--port=53", "--user=root",
		      "--group=root", "--pid-file", "--log-facility=/dev/null", "--local=/test/",
		      "--dns-forward-max=5000", arg, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 100 && sequential("127.0.0.2", 0, 1) < 0; i++)
		usleep(50000);
	if (ag_policy_parse_buf("dns-bench.yaml", policy_yaml, strlen(policy_yaml), &pol, &d) ||
	    ag_compile(&pol, 1, &c, &d)) {
		ag_diags_print(&d, stderr);
		goto out;
	}
	ag_resolver_parse_addr("127.0.0.53:53", &ro.listen);
	ag_resolver_parse_addr("127.0.0.2:53", &ro.upstream[0]);
	if (ag_loader_open(&o, &l) || ag_loader_install(l, c) ||
	    ag_resolver_open(&ro, l, c, &res) || ag_resolver_start(res, NULL, NULL)) {
		fprintf(stderr, "dns_bench: cannot start the resolver\n");
		goto out;
	}
	/* Warm both paths (and dnsmasq's cache) once. */
	if (sequential("127.0.0.2", 0, QUERIES) < 0 || sequential("127.0.0.53", 0, QUERIES) < 0) {
		fprintf(stderr, "dns_bench: the warm-up queries failed\n");
		goto out;
	}
	for (r = 0; r < ROUNDS; r++) {
		double direct, via, bps;

		/* A/B alternated: which path goes first flips each round. */
		if (r % 2) {
			via = sequential("127.0.0.53", 0, QUERIES);
			direct = sequential("127.0.0.2", 0, QUERIES);
		} else {
			direct = sequential("127.0.0.2", 0, QUERIES);
			via = sequential("127.0.0.53", 0, QUERIES);
		}
		bps = burst(QUERIES + r * BURST, BURST);
		if (direct < 0 || via < 0 || bps < 0) {
			fprintf(stderr, "dns_bench: round %d failed\n", r);
			goto out;
		}
		printf("{\"round\":%d,\"direct_us\":%.2f,\"resolver_us\":%.2f,"
		       "\"bindings_per_sec\":%.0f}\n", r, direct, via, bps);
		fflush(stdout);
	}
	rc = 0;
out:
	ag_resolver_close(res);
	ag_loader_close(l);
	ag_compiled_free(c);
	ag_policy_free(pol);
	if (dm > 0) {
		kill(dm, SIGTERM);
		waitpid(dm, NULL, 0);
	}
	unlink(file);
	rmdir(hosts);
	return rc;
}
