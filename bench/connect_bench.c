// SPDX-License-Identifier: GPL-2.0
/*
 * Host-native connect() benchmark (make bench): the cost of a UDP connect() (which runs the
 * cgroup connect4 hook without a handshake) in four cgroups measured side by side: no program,
 * an empty cgroup/connect4 program, agentguard's programs with 10 CIDR rules, and with 100,000.
 * Variants alternate block by block within each round; prints one JSON line per round with ns
 * per connect.
 * Each round measures twice: connecting to one destination again and again ("same", what the
 * per-CPU verdict cache serves), and cycling through 4096 destinations in 127.0.0.0/8
 * ("spread", more than the cache holds, so mostly LPM walks).
 * Runs in a private network namespace and throwaway cgroups; needs root.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "cgroup.h"
#include "compile.h"
#include "loader.h"
#include "policy.h"

#define BLOCK 1000
#define BLOCKS 100
#define ROUNDS 9

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

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

/* A policy allowing 127.0.0.1:9 plus n-1 other /32 rules (10.x.y.z). */
static char *policy_text(int n)
{
	size_t cap = 256 + (size_t)n * 80, len;
	char *y = malloc(cap);
	int i;

	len = snprintf(y, cap, "apiVersion: agentguard/v1\nkind: Policy\nmetadata:\n  name: bench\n"
			       "spec:\n  filesystem:\n    default: allow\n  network:\n"
			       "    default: deny\n    rules:\n"
			       "      - action: allow\n        cidr: 127.0.0.0/8\n        ports: [9]\n");
	for (i = 1; i < n; i++)
		len += snprintf(y + len, cap - len, "      - action: allow\n        cidr: 10.%d.%d.%d/32\n",
				(i >> 16) & 255, (i >> 8) & 255, i & 255);
	return y;
}

static int load_ours(int n_rules, const struct ag_cgroup *cg, struct ag_loader **l,
		     struct ag_policy **pol, struct ag_compiled **c)
{
	struct ag_loader_opts o = { .cgroup = true };
	struct ag_diags d = {};
	char *y = policy_text(n_rules);
	int err;

	err = ag_policy_parse_buf("bench.yaml", y, strlen(y), pol, &d);
	if (!err)
		err = ag_compile(pol, 1, c, &d);
	free(y);
	ag_diags_free(&d);
	if (!err)
		err = ag_loader_open(&o, l);
	if (!err)
		err = ag_loader_install(*l, *c);
	if (!err)
		err = ag_loader_attach(*l, cg);
	return err;
}

/* return 1: allow every connect. */
static int load_empty(const struct ag_cgroup *cg)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, popts,
		    .expected_attach_type = BPF_CGROUP_INET4_CONNECT);
	int prog;

	prog = bpf_prog_load(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, "ag_bench_empty", "GPL", insns, 2,
			     &popts);
	if (prog < 0)
		return -errno;
	if (bpf_link_create(prog, cg->fd, BPF_CGROUP_INET4_CONNECT, NULL) < 0)
		return -errno;
	return 0;
}

/*
 * Connect n times on fd (created in the variant's cgroup: sock_addr programs run for the
 * socket's cgroup, so the process never moves while measuring). spread: cycle through 4096
 * destinations (127.0.x.y) instead of one; *i carries the position across blocks.
 */
static long long measure_block(int fd, int n, bool spread, unsigned int *i)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(9),
				 .sin_addr.s_addr = htonl(0x7f000001u) };
	long long t0 = now_ns();
	int k;

	for (k = 0; k < n; k++, (*i)++) {
		if (spread)
			a.sin_addr.s_addr = htonl(0x7f000000u | ((*i * 2654435761u) & 0xfff));
		if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
			perror("connect_bench: connect");
			exit(1);
		}
	}
	return now_ns() - t0;
}

/*
 * One round: BLOCKS blocks of BLOCK connects per variant, the variants taking turns block by
 * block (a few milliseconds each) with a different one first each time, so a disturbance of
 * the machine lands on all of them alike instead of on whichever ran during it.
 */
static void measure_round(const int *fd, bool spread, double *ns)
{
	long long total[4] = {};
	unsigned int pos[4] = {};
	int b, j, v;

	for (b = 0; b < BLOCKS; b++)
		for (j = 0; j < 4; j++) {
			v = (j + b) % 4;
			total[v] += measure_block(fd[v], BLOCK, spread, &pos[v]);
		}
	for (v = 0; v < 4; v++)
		ns[v] = (double)total[v] / ((double)BLOCKS * BLOCK);
}

/* A UDP socket created in cg (and so judged by cg's programs for its whole life). */
static int socket_in(const struct ag_cgroup *cg, const struct ag_cgroup *home)
{
	int fd;

	if (ag_cgroup_enter(cg, getpid()))
		return -1;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (ag_cgroup_enter(home, getpid())) {
		close(fd);
		return -1;
	}
	return fd;
}

int main(void)
{
	static const char *const names[] = { "none", "empty", "ours_10", "ours_100k" };
	struct ag_cgroup cg[4];
	struct ag_loader *l10 = NULL, *l100k = NULL;
	struct ag_policy *p10 = NULL, *p100k = NULL;
	struct ag_compiled *c10 = NULL, *c100k = NULL;
	char root[4096], path[4200];
	cpu_set_t cpus;
	int fd[4], i, r, err;

	if (unshare(CLONE_NEWNET) || lo_up() || ag_cgroup2_mount(root, sizeof(root))) {
		fprintf(stderr, "connect_bench: needs root, a netns and cgroup v2\n");
		return 1;
	}
	for (i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/agentguard-bench-%s-%d", root, names[i], getpid());
		if (ag_cgroup_open(path, 1, &cg[i])) {
			fprintf(stderr, "connect_bench: cannot create %s\n", path);
			return 1;
		}
	}
	err = load_empty(&cg[1]);
	if (!err)
		err = load_ours(10, &cg[2], &l10, &p10, &c10);
	if (!err)
		err = load_ours(100000, &cg[3], &l100k, &p100k, &c100k);
	if (err) {
		fprintf(stderr, "connect_bench: loading failed: %s\n", strerror(-err));
		return 1;
	}
	/* One CPU: the verdict cache is per CPU, and a migration mid-block is noise. */
	CPU_ZERO(&cpus);
	CPU_SET(sched_getcpu(), &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);
	for (i = 0; i < 4; i++) {
		fd[i] = socket_in(&cg[i], &cg[0]);
		if (fd[i] < 0) {
			fprintf(stderr, "connect_bench: cannot create a socket in %s\n", cg[i].path);
			return 1;
		}
	}
	for (i = 0; i < 4; i++) {	/* warm up every variant */
		unsigned int pos = 0;

		measure_block(fd[i], 20 * BLOCK, false, &pos);
		measure_block(fd[i], 20 * BLOCK, true, &pos);
	}
	for (r = 1; r <= ROUNDS; r++) {
		double ns[4], sp[4];

		measure_round(fd, false, ns);
		measure_round(fd, true, sp);
		printf("{\"round\":%d,\"none\":%.2f,\"empty\":%.2f,\"ours_10\":%.2f,"
		       "\"ours_100k\":%.2f,\"spread_none\":%.2f,\"spread_empty\":%.2f,"
		       "\"spread_ours_10\":%.2f,\"spread_ours_100k\":%.2f}\n",
		       r, ns[0], ns[1], ns[2], ns[3], sp[0], sp[1], sp[2], sp[3]);
		fflush(stdout);
	}
	for (i = 0; i < 4; i++)
		close(fd[i]);
	ag_cgroup_enter(&cg[0], getpid());
	ag_loader_close(l10);
	ag_loader_close(l100k);
	{
		char self[4200];

		snprintf(self, sizeof(self), "%s/cgroup.procs", root);
		FILE *f = fopen(self, "w");

		if (f) {
			fprintf(f, "%d\n", getpid());
			fclose(f);
		}
	}
	for (i = 0; i < 4; i++) {
		ag_cgroup_close(&cg[i]);
		rmdir(cg[i].path);
	}
	ag_compiled_free(c10);
	ag_compiled_free(c100k);
	ag_policy_free(p10);
	ag_policy_free(p100k);
	return 0;
}
