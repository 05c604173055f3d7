// SPDX-License-Identifier: GPL-2.0
/*
 * Host-native test of agentguard run's resolver address and resolv.conf (userspace/run_dns.c,
 * issue #9): the address is free (a taken one is skipped), inside 127.53.1.1-127.53.254.254;
 * the file names it alone and keeps the host's search list and options; and the command's view
 * is private: a forked child enters it and sees the file read-only, while this process still
 * sees the host's file, unmounted and unchanged. A private network namespace (loopback only);
 * the mount namespace is the child's and dies with it. The end-to-end run, with the resolver
 * and the BPF-LSM programs, is tests/guest/run_dns.sh.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "compile.h"
#include "run_dns.h"

static char dir[64];

static char *slurp(const char *path)
{
	static char buf[8192];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* The address is in 127.53.1.1 .. 127.53.254.254. */
static void assert_resolver_addr(const struct in_addr *a)
{
	__u32 h = ntohl(a->s_addr);

	assert_int_equal(h >> 16, 0x7f35);
	assert_in_range((h >> 8) & 0xff, 1, 254);
	assert_in_range(h & 0xff, 1, 254);
}

static int bind_udp(const struct in_addr *a)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53), .sin_addr = *a };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static int bind_tcp_listen(const struct in_addr *a)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53), .sin_addr = *a };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	return fd;
}

/* A taken address (UDP, or TCP alone) is skipped for the next; freed, it is picked again. */
static void test_pick_skips_taken(void **state)
{
	struct in_addr a, b, c, again;
	int udp, tcp;

	assert_int_equal(ag_run_dns_pick(4242, &a), 0);
	assert_resolver_addr(&a);
	udp = bind_udp(&a);
	assert_int_equal(ag_run_dns_pick(4242, &b), 0);
	assert_resolver_addr(&b);
	assert_int_not_equal(a.s_addr, b.s_addr);
	tcp = bind_tcp_listen(&b);
	assert_int_equal(ag_run_dns_pick(4242, &c), 0);
	assert_resolver_addr(&c);
	assert_int_not_equal(c.s_addr, a.s_addr);
	assert_int_not_equal(c.s_addr, b.s_addr);
	close(udp);
	close(tcp);
	assert_int_equal(ag_run_dns_pick(4242, &again), 0);
	assert_int_equal(again.s_addr, a.s_addr);
}

/* Different pids, different addresses; the largest pids still land in the range. */
static void test_pick_per_pid(void **state)
{
	struct in_addr a, b, c;

	assert_int_equal(ag_run_dns_pick(100, &a), 0);
	assert_int_equal(ag_run_dns_pick(101, &b), 0);
	assert_int_not_equal(a.s_addr, b.s_addr);
	assert_int_equal(ag_run_dns_pick(4194304, &c), 0);
	assert_resolver_addr(&c);
}

/* The command's file: our nameserver only; the host's search, domain and options kept. */
static void test_conf_names_resolver_only(void **state)
{
	char host[96], out[96], *text;

	snprintf(host, sizeof(host), "%s/host.conf", dir);
	snprintf(out, sizeof(out), "%s/out.conf", dir);
	write_text(host, "# host\nnameserver 10.0.0.1\nnameserver 10.0.0.2\nsearch a.test b.test\n"
			 "  options ndots:2 edns0\ndomain x.test\nsortlist 10.0.0.0\n"
			 "options timeout:3");
	assert_int_equal(ag_run_dns_write_conf(host, "127.53.1.2", out), 0);
	text = slurp(out);
	assert_non_null(text);
	assert_non_null(strstr(text, "\nnameserver 127.53.1.2\n"));
	assert_null(strstr(text, "10.0.0.1"));
	assert_null(strstr(text, "10.0.0.2"));
	assert_null(strstr(text, "sortlist"));
	assert_non_null(strstr(text, "\nsearch a.test b.test\n"));
	assert_non_null(strstr(text, "\n  options ndots:2 edns0\n"));
	assert_non_null(strstr(text, "\ndomain x.test\n"));
	assert_non_null(strstr(text, "\noptions timeout:3\n"));
	/* The nameserver comes first, before anything copied. */
	assert_true(strstr(text, "nameserver") < strstr(text, "search"));
}

/* The file is never written through a symlink planted in its place. */
static void test_conf_no_symlink(void **state)
{
	char host[96], out[96], victim[96];

	snprintf(host, sizeof(host), "%s/host.conf", dir);
	snprintf(out, sizeof(out), "%s/link.conf", dir);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	write_text(victim, "keep\n");
	assert_int_equal(symlink(victim, out), 0);
	assert_int_equal(ag_run_dns_write_conf(host, "127.53.1.2", out), -ELOOP);
	assert_string_equal(slurp(victim), "keep\n");
}

/*
 * The command's view: a child enters it and reads our file, cannot write it (EROFS) nor remove
 * it (EBUSY); here, the host's /etc/resolv.conf reads as before and is no mount point.
 */
static void test_enter_private_view(void **state)
{
	struct ag_compiled c = { .n_dom = 1 };
	struct ag_run_dns d;
	const char *failed = NULL;
	char before[8192], sdir[96];
	char *now;
	int status, fd;
	pid_t pid;

	now = slurp(AG_RESOLV_CONF);
	assert_non_null(now);
	snprintf(before, sizeof(before), "%s", now);
	snprintf(sdir, sizeof(sdir), "%s/state", dir);
	assert_int_equal(ag_run_dns_prepare(&c, sdir, getpid(), &d, &failed), 0);
	assert_non_null(strstr(d.listen, "127.53."));
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		char want[64];

		if (ag_run_dns_enter(&d))
			_exit(10);
		now = slurp(AG_RESOLV_CONF);
		snprintf(want, sizeof(want), "\nnameserver %.*s\n",
			 (int)(strchr(d.listen, ':') - d.listen), d.listen);
		if (!now || !strstr(now, want))
			_exit(11);
		fd = open(AG_RESOLV_CONF, O_WRONLY | O_CLOEXEC);
		if (fd >= 0 || errno != EROFS)
			_exit(12);
		if (!unlink(AG_RESOLV_CONF) || errno != EBUSY)
			_exit(13);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	now = slurp(AG_RESOLV_CONF);
	assert_non_null(now);
	assert_string_equal(now, before);
	now = slurp("/proc/self/mountinfo");
	assert_non_null(now);
	assert_null(strstr(now, " " AG_RESOLV_CONF " "));
}

/* Without domain rules nothing is picked, written or entered. */
static void test_no_domain_rules_nothing(void **state)
{
	struct ag_compiled c = {};
	struct ag_run_dns d;
	const char *failed = NULL;

	assert_int_equal(ag_run_dns_prepare(&c, "/nonexistent/state", getpid(), &d, &failed), 0);
	assert_string_equal(d.listen, "");
	assert_int_equal(ag_run_dns_enter(&d), 0);
}

static int setup(void **state)
{
	if (geteuid() != 0) {
		fprintf(stderr, "test_run_dns: needs root\n");
		return -1;
	}
	snprintf(dir, sizeof(dir), "/tmp/agentguard-run-dns-%d", getpid());
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -1;
	if (unshare(CLONE_NEWNET) || system("ip link set lo up"))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pick_skips_taken),
		cmocka_unit_test(test_pick_per_pid),
		cmocka_unit_test(test_conf_names_resolver_only),
		cmocka_unit_test(test_conf_no_symlink),
		cmocka_unit_test(test_enter_private_view),
		cmocka_unit_test(test_no_domain_rules_nothing),
	};

	return cmocka_run_group_tests_name("host_run_dns", tests, setup, teardown);
}
