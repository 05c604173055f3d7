// SPDX-License-Identifier: GPL-2.0
/*
 * Helper of tests/host/test_journal.sh: sends events through the real sink
 * (ag_event_sink_handle with the journal on) and prints the same events as JSON lines on
 * stdout, so the test can compare what journald stored with what the JSON sink wrote.
 *
 *   journal_emit synthetic   records built here: hostile paths, names and comm, every kind
 *   journal_emit connect     real kernel records: a denied connect() from a throwaway cgroup,
 *                            by the cgroup/connect4 program, in a private network namespace
 *                            (root; the task's comm is hostile too)
 *
 * Exits 0 if every event was sent, 1 otherwise (the reason on stderr).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "cgroup.h"
#include "compile.h"
#include "events.h"
#include "loader.h"
#include "policy.h"
#include "sink_journal.h"

/* Mirrored in test_journal.sh. */
static const char forge_path[] =
	"/work/x\nAGENTGUARD_DECISION=allow\nMESSAGE_ID=00000000000000000000000000000000\n"
	"PRIORITY=0\n\nMESSAGE=forged";
static const char nasty_path[] = "/work/q\"uo\\te\x01\x1b[31m\x7f\t\r\xff\xfe\xc3(end";
static const char hostile_comm[] = "ev\nil\"\\\x1b";

static const char policy_yaml[] =
	"apiVersion: agentguard/v1\n"
	"kind: Policy\n"
	"metadata:\n"
	"  name: journal-test\n"
	"spec:\n"
	"  filesystem:\n"
	"    default: allow\n"
	"    rules:\n"
	"      - path: /work\n"
	"        access: ro\n"
	"        id: work-ro\n"
	"  network:\n"
	"    default: deny\n";

static struct ag_event_sink sink;

static void hdr(struct ag_event_hdr *h, __u32 kind, __u32 op, __u8 verdict, __u32 rule)
{
	static __u64 kseq;
	struct timespec bt;

	clock_gettime(CLOCK_BOOTTIME, &bt);
	memset(h, 0, sizeof(*h));
	h->kseq = ++kseq;
	h->boot_ns = (__u64)bt.tv_sec * 1000000000ULL + bt.tv_nsec;
	h->cgroup_id = 4242;
	h->kind = kind;
	h->op = op;
	h->rule = rule;
	h->generation_seq = sink.generation;
	h->pid = getpid();
	h->tid = getpid();
	h->ppid = getppid();
	h->uid = 0;
	h->verdict = verdict;
	strcpy(h->comm, "agt");
}

static void file_event(__u32 kind, __u8 verdict, __u32 rule, const char *path, size_t len)
{
	static struct ag_event_file e;

	memset(&e, 0, sizeof(e));
	hdr(&e.hdr, kind, AG_OP_OPEN, verdict, rule);
	e.want = kind == AG_EV_EXEC ? AG_FS_WANT_EXEC : AG_FS_WANT_READ | AG_FS_WANT_WRITE;
	/* The exec hook's capture; a hostile exe (the sandbox names its own files) in journald. */
	e.hdr.proc.flags = AG_PROC_KNOWN;
	e.hdr.proc.depth = 2;
	memcpy(e.hdr.proc.exe, path, len < AG_EXE_MAX ? len : AG_EXE_MAX - 1);
	e.hdr.proc.exe_len = len + 1;
	strcpy(e.hdr.proc.ancestry[0], "/usr/bin/make");
	strcpy(e.hdr.proc.ancestry[1], "/bin/bash");
	memcpy(e.path, path, len);
	e.path_len = len + 1;
	ag_event_sink_handle(&sink, &e, sizeof(e));
}

static int synthetic(__u32 work)
{
	struct ag_event_contain c;
	struct ag_event_net n;

	file_event(AG_EV_FILE, AG_DENY, work, "/work/plain", 11);
	file_event(AG_EV_FILE, AG_DENY, work, forge_path, sizeof(forge_path) - 1);
	file_event(AG_EV_FILE, AG_WOULD_DENY, work, nasty_path, sizeof(nasty_path) - 1);
	file_event(AG_EV_EXEC, AG_DENY, work, "/work/run.sh", 12);

	memset(&n, 0, sizeof(n));
	hdr(&n.hdr, AG_EV_NETWORK, AG_OP_CONNECT, AG_DENY, AG_RULE_NONE);
	memcpy(n.hdr.comm, hostile_comm, sizeof(hostile_comm) - 1);
	n.family = AF_INET6;
	n.proto = AG_NET_TCP;
	n.port = 443;
	inet_pton(AF_INET6, "::ffff:10.0.0.1", n.orig_addr);
	memcpy(n.addr, n.orig_addr, 16);
	ag_event_sink_handle(&sink, &n, sizeof(n));

	memset(&c, 0, sizeof(c));
	hdr(&c.hdr, AG_EV_CONTAINMENT, AG_OP_SIGNAL, AG_DENY, AG_RULE_BUILTIN | AG_BR_PROCESS);
	c.arg0 = 9;
	c.arg1 = 1;
	c.target_cgid = 1;
	ag_event_sink_handle(&sink, &c, sizeof(c));

	memset(&c, 0, sizeof(c));
	hdr(&c.hdr, AG_EV_CONTAINMENT, AG_OP_SYSCTL_WRITE, AG_DENY,
	    AG_RULE_BUILTIN | AG_BR_SYSCTL);
	snprintf(c.name, sizeof(c.name), "%s", "kernel/x\nMESSAGE=forged-name");
	ag_event_sink_handle(&sink, &c, sizeof(c));
	return 0;
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

/* A denied connect() from a child in the sandbox cgroup, reported by the kernel. */
static int real_connect(const struct ag_compiled *c)
{
	struct ag_loader_opts o = { .cgroup = true };
	struct ag_cgroup cg = { .fd = -1 };
	struct ag_loader *l = NULL;
	struct ring_buffer *rb = NULL;
	char root[4096], path[4200];
	int status, err = -1;
	pid_t pid;

	if (unshare(CLONE_NEWNET) || lo_up()) {
		fprintf(stderr, "journal_emit: private netns: %s\n", strerror(errno));
		return -1;
	}
	if (ag_cgroup2_mount(root, sizeof(root)))
		return -1;
	snprintf(path, sizeof(path), "%s/agentguard-journal-%d", root, getpid());
	if (ag_cgroup_open(path, 1, &cg) || ag_loader_open(&o, &l) || ag_loader_install(l, c) ||
	    ag_loader_attach(l, &cg)) {
		fprintf(stderr, "journal_emit: cannot load the cgroup programs\n");
		goto out;
	}
	sink.generation = ag_loader_generation(l);
	snprintf(sink.sandbox, sizeof(sink.sandbox), "%s", cg.rel);
	rb = ring_buffer__new(ag_loader_deny_ringbuf_fd(l), ag_event_sink_handle, &sink, NULL);
	if (!rb || ring_buffer__add(rb, ag_loader_ringbuf_fd(l), ag_event_sink_handle, &sink))
		goto out;

	pid = fork();
	if (pid == 0) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(9) };
		int fd;

		if (ag_cgroup_enter(&cg, getpid()))
			_exit(255);
		prctl(PR_SET_NAME, hostile_comm);
		inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		_exit(connect(fd, (struct sockaddr *)&a, sizeof(a)) && errno == EPERM ? 0 : 1);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		fprintf(stderr, "journal_emit: the connect was not denied with EPERM\n");
		goto out;
	}
	ring_buffer__consume(rb);
	err = sink.written ? 0 : -1;
	if (err)
		fprintf(stderr, "journal_emit: the kernel reported no event\n");
out:
	ring_buffer__free(rb);
	ag_loader_close(l);
	ag_cgroup_close(&cg);
	if (cg.created)
		rmdir(cg.path);
	return err;
}

int main(int argc, char **argv)
{
	struct ag_policy *pol = NULL;
	struct ag_compiled *c = NULL;
	struct ag_diags d = {};
	__u32 work = AG_RULE_NONE;
	size_t i;
	int err;

	if (argc != 2 || (strcmp(argv[1], "synthetic") && strcmp(argv[1], "connect"))) {
		fprintf(stderr, "usage: journal_emit synthetic|connect\n");
		return 2;
	}
	err = ag_journal_check();
	if (err) {
		fprintf(stderr, "journal_emit: %s: %s\n", AG_JOURNAL_SOCKET, strerror(-err));
		return 1;
	}
	if (ag_policy_parse_buf("journal-test.yaml", policy_yaml, strlen(policy_yaml), &pol, &d) ||
	    ag_compile(&pol, 1, &c, &d)) {
		ag_diags_print(&d, stderr);
		return 1;
	}
	for (i = 0; i < c->n_rules; i++)
		if (!strcmp(c->rules[i].id, "work-ro"))
			work = i;
	sink.out = stdout;
	sink.journal = true;
	sink.policy = c;
	sink.generation = 1;
	snprintf(sink.host, sizeof(sink.host), "journal-test");
	snprintf(sink.session, sizeof(sink.session), "j%d", getpid());
	snprintf(sink.sandbox, sizeof(sink.sandbox), "/agentguard-sandbox");
	sink.operator_identity = "test\nop";

	err = !strcmp(argv[1], "synthetic") ? synthetic(work) : real_connect(c);
	fflush(stdout);
	if (!err && (sink.journal_failed || sink.malformed)) {
		fprintf(stderr, "journal_emit: %llu events not sent (%s), %llu malformed\n",
			sink.journal_failed, strerror(-sink.journal_err), sink.malformed);
		err = -1;
	}
	ag_event_sink_free(&sink);
	ag_compiled_free(c);
	ag_policy_free(pol);
	ag_diags_free(&d);
	return err ? 1 : 0;
}
