// SPDX-License-Identifier: GPL-2.0
/*
 * Prints one event per line for synthetic ring records of every kind and operation, through
 * the real formatters: tests/unit/test_event_schema.sh validates the JSON lines against
 * docs/event.schema.json, and the OCSF lines (--ocsf) are checked for their class ids. No
 * kernel and no privileges: the records are built here exactly as the BPF programs fill them.
 *
 *   build/tests/unit/event_samples [--ocsf]
 *
 * The hostile strings below are mirrored in test_event_schema.sh, which checks what became
 * of them byte for byte.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compile.h"
#include "events.h"
#include "ocsf.h"
#include "policy.h"

/* A path with every character a JSON line must escape, and one that is not UTF-8. */
static const char hostile_path[] = "/work/a\nb\"c\\d\x01\x1f\x7f\te\r";
static const char invalid_path[] = "/work/bad\xff\xfe-\xc3(\xed\xa0\x80.txt";
static const char hostile_comm[] = "ev\"il\n\\c\x1b";

static const char policy_yaml[] =
	"apiVersion: agentguard/v1\n"
	"kind: Policy\n"
	"metadata:\n"
	"  name: samples\n"
	"  layer: team\n"
	"spec:\n"
	"  filesystem:\n"
	"    default: deny\n"
	"    rules:\n"
	"      - path: /work\n"
	"        access: ro\n"
	"        id: work-ro\n"
	"  network:\n"
	"    default: deny\n";

static struct ag_event_sink sink;
static bool ocsf;

/* The resolver's name for a network record's name_id, as ag_resolver_name answers it. */
static const char *sample_domain(void *ctx, __u32 id, char *buf, size_t len)
{
	(void)ctx;
	if (id != 7)
		return NULL;
	snprintf(buf, len, "api.example.com");
	return buf;
}

static void emit(const void *rec, size_t size)
{
	struct ag_event ev;

	if (!ocsf) {
		if (ag_event_format(&sink, rec, size)) {
			fprintf(stderr, "event_samples: record rejected\n");
			exit(1);
		}
		fputs(sink.buf.p, stdout);
		return;
	}
	if (ag_event_decode(&sink, rec, size, &ev)) {
		fprintf(stderr, "event_samples: record rejected\n");
		exit(1);
	}
	ag_buf_reset(&sink.buf);
	ag_ocsf_format(&sink.buf, &sink, &ev);
	fputs(sink.buf.p, stdout);
}

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
	h->generation_seq = 1;
	h->pid = 812;
	h->tid = 813;
	h->ppid = 640;
	h->uid = 0;
	h->gid = 0;
	h->verdict = verdict;
	strcpy(h->comm, "agt");
	/* What the exec hook captured: /usr/bin/agt, run from make, run from bash. */
	h->proc.flags = AG_PROC_KNOWN;
	strcpy(h->proc.exe, "/usr/bin/agt");
	h->proc.exe_len = sizeof("/usr/bin/agt");
	h->proc.depth = 2;
	strcpy(h->proc.ancestry[0], "/usr/bin/make");
	strcpy(h->proc.ancestry[1], "/bin/bash");
}

static void file_event(__u32 kind, __u32 op, __u32 want, __u8 verdict, __u32 rule,
		       const char *path, size_t len, __s32 path_len)
{
	static struct ag_event_file e;	/* 4 KiB: not on the stack */

	memset(&e, 0, sizeof(e));
	hdr(&e.hdr, kind, op, verdict, rule);
	e.want = want;
	memcpy(e.path, path, len);
	e.path_len = path_len ? path_len : (__s32)len + 1;
	emit(&e, sizeof(e));
}

static void net_event(int family, const char *addr, const char *judged, __u16 port, __u8 proto,
		      __u8 verdict, __u32 rule)
{
	struct ag_event_net e;

	memset(&e, 0, sizeof(e));
	/* The operation by port, so each sample below reads as one line. */
	hdr(&e.hdr, AG_EV_NETWORK,
	    port == 514	 ? AG_OP_SENDMSG :
	    port == 8443 ? AG_OP_BIND :
	    port == 8444 ? AG_OP_LISTEN :
	    port == 7	 ? AG_OP_EGRESS_DROP :
			   AG_OP_CONNECT,
	    verdict, rule);
	e.family = family;
	e.port = port;
	e.proto = proto;
	if (family == AF_INET) {
		/* The kernel stores IPv4 as ::ffff:a.b.c.d, as caller and as judged. */
		e.orig_addr[10] = e.orig_addr[11] = 0xff;
		inet_pton(AF_INET, addr, e.orig_addr + 12);
		memcpy(e.addr, e.orig_addr, 16);
	} else {
		inet_pton(AF_INET6, addr, e.orig_addr);
		memcpy(e.addr, e.orig_addr, 16);
		if (judged) {
			memset(e.addr, 0, 16);
			e.addr[10] = e.addr[11] = 0xff;
			inet_pton(AF_INET, judged, e.addr + 12);
		}
	}
	emit(&e, sizeof(e));
}

static void contain_event(__u32 op, __u32 builtin, __s64 arg0, __s64 arg1, __u64 cgid,
			  const char *name)
{
	struct ag_event_contain e;

	memset(&e, 0, sizeof(e));
	hdr(&e.hdr, AG_EV_CONTAINMENT, op, AG_DENY, AG_RULE_BUILTIN | builtin);
	e.arg0 = arg0;
	e.arg1 = arg1;
	e.target_cgid = cgid;
	if (name)
		snprintf(e.name, sizeof(e.name), "%s", name);
	emit(&e, sizeof(e));
}

int main(int argc, char **argv)
{
	struct ag_policy *pol = NULL;
	struct ag_compiled *c = NULL;
	struct ag_diags d = {};
	__u32 work = AG_RULE_NONE, fsdef = AG_RULE_NONE, netdef = AG_RULE_NONE;
	size_t i;

	ocsf = argc > 1 && !strcmp(argv[1], "--ocsf");
	if (ag_policy_parse_buf("samples.yaml", policy_yaml, strlen(policy_yaml), &pol, &d) ||
	    ag_compile(&pol, 1, &c, &d)) {
		ag_diags_print(&d, stderr);
		return 1;
	}
	for (i = 0; i < c->n_rules; i++) {
		if (!strcmp(c->rules[i].id, "work-ro"))
			work = i;
		else if (c->rules[i].kind == AG_RK_FS_DEFAULT)
			fsdef = i;
		else if (c->rules[i].kind == AG_RK_NET_DEFAULT)
			netdef = i;
	}
	if (work == AG_RULE_NONE || fsdef == AG_RULE_NONE || netdef == AG_RULE_NONE) {
		fprintf(stderr, "event_samples: rules not found\n");
		return 1;
	}
	sink.policy = c;
	sink.generation = 1;
	strcpy(sink.host, "samples-host");
	strcpy(sink.session, "s1");
	strcpy(sink.sandbox, "/agentguard-sandbox");
	sink.operator_identity = "ci-job-42";

	/* file: each access set, a rule and the default, enforce and audit. */
	file_event(AG_EV_FILE, AG_OP_OPEN, AG_FS_WANT_WRITE, AG_DENY, work, "/work/x", 7, 0);
	file_event(AG_EV_FILE, AG_OP_OPEN, AG_FS_WANT_READ | AG_FS_WANT_WRITE, AG_WOULD_DENY,
		   fsdef, "/etc/shadow", 11, 0);
	file_event(AG_EV_FILE, AG_OP_OPEN, AG_FS_WANT_READ, AG_DENY, fsdef, "/etc/shadow", 11, 0);
	file_event(AG_EV_FILE, AG_OP_RECEIVE, AG_FS_WANT_READ, AG_DENY, fsdef, "/secret", 7, 0);
	/*
	 * Operations without an open (the path_* and inode_* hooks): each a write of the path it
	 * changes.
	 */
	{
		static const __u32 ops[] = { AG_OP_MKNOD, AG_OP_MKDIR, AG_OP_RMDIR, AG_OP_UNLINK,
					     AG_OP_SYMLINK, AG_OP_LINK, AG_OP_RENAME,
					     AG_OP_TRUNCATE, AG_OP_CHMOD, AG_OP_CHOWN,
					     AG_OP_SETATTR, AG_OP_SETXATTR, AG_OP_REMOVEXATTR,
					     AG_OP_SETACL, AG_OP_REMOVEACL };

		for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
			file_event(AG_EV_FILE, ops[i], AG_FS_WANT_WRITE,
				   i % 2 ? AG_WOULD_DENY : AG_DENY, work, "/work/n", 7, 0);
		/* The resolver's own failure: deeper than its bound. */
		file_event(AG_EV_FILE, AG_OP_MKDIR, AG_FS_WANT_WRITE, AG_DENY, AG_RULE_NONE, "", 0,
			   -ELOOP);
		/* A security.* xattr, refused by a built-in rule whatever the path's rule. */
		file_event(AG_EV_FILE, AG_OP_SETXATTR, AG_FS_WANT_WRITE, AG_DENY,
			   AG_RULE_BUILTIN | AG_BR_PRIV_XATTR, "/work/n", 7, 0);
	}
	/* The untrusted strings: escaped, and the invalid bytes also as path_b64. */
	file_event(AG_EV_FILE, AG_OP_OPEN, AG_FS_WANT_WRITE, AG_DENY, work, hostile_path,
		   sizeof(hostile_path) - 1, 0);
	file_event(AG_EV_FILE, AG_OP_OPEN, AG_FS_WANT_WRITE, AG_DENY, work, invalid_path,
		   sizeof(invalid_path) - 1, 0);
	/* Unresolvable paths: -errno from the kernel, or a length the record cannot hold. */
	file_event(AG_EV_FILE, AG_OP_OPEN, AG_FS_WANT_READ, AG_DENY, fsdef, "", 0, -ENAMETOOLONG);
	file_event(AG_EV_FILE, AG_OP_OPEN, AG_FS_WANT_READ, AG_DENY, fsdef, "", 0,
		   AG_PATH_MAX + 1);
	/* A rule index of another generation, and no rule at all: named null, never guessed. */
	{
		sink.generation = 2;
		file_event(AG_EV_FILE, AG_OP_OPEN, AG_FS_WANT_READ, AG_DENY, work, "/work/y", 7, 0);
		sink.generation = 1;
		file_event(AG_EV_FILE, AG_OP_OPEN, AG_FS_WANT_READ, AG_DENY, AG_RULE_NONE,
			   "/work/z", 7, 0);
	}

	/* Process attribution: a hostile exe, a cut ancestor, a longer lineage; and unknown. */
	{
		struct ag_event_file e;

		memset(&e, 0, sizeof(e));
		hdr(&e.hdr, AG_EV_FILE, AG_OP_OPEN, AG_DENY, work);
		memcpy(e.hdr.proc.exe, invalid_path, sizeof(invalid_path));
		e.hdr.proc.exe_len = AG_EXE_MAX + 40;
		memset(e.hdr.proc.ancestry[1], 'a', AG_ANCESTOR_MAX - 1);
		e.hdr.proc.ancestry[1][AG_ANCESTOR_MAX - 1] = '\0';
		memcpy(e.hdr.proc.ancestry[0], hostile_comm, sizeof(hostile_comm));
		e.hdr.proc.flags |= AG_PROC_ANCESTRY_MORE | (AG_PROC_ANCESTOR_CUT << 1);
		e.want = AG_FS_WANT_READ;
		memcpy(e.path, "/work/q", 8);
		e.path_len = 8;
		emit(&e, sizeof(e));
		hdr(&e.hdr, AG_EV_FILE, AG_OP_OPEN, AG_DENY, work);
		memset(&e.hdr.proc, 0, sizeof(e.hdr.proc));
		emit(&e, sizeof(e));
	}

	/* exec. */
	file_event(AG_EV_EXEC, AG_OP_OPEN, AG_FS_WANT_EXEC, AG_DENY, work, "/work/run.sh", 12, 0);
	file_event(AG_EV_EXEC, AG_OP_OPEN, AG_FS_WANT_EXEC, AG_WOULD_DENY, fsdef,
		   "/usr/bin/curl", 13, 0);
	/* Code about to run from a file: the exec'd file, a PROT_EXEC map, an mprotect. */
	file_event(AG_EV_EXEC, AG_OP_EXEC, AG_FS_WANT_EXEC, AG_DENY, fsdef, "/memfd:x (deleted)",
		   18, 0);
	file_event(AG_EV_EXEC, AG_OP_MMAP_EXEC, AG_FS_WANT_EXEC, AG_DENY, work, "/work/bin", 9, 0);
	file_event(AG_EV_EXEC, AG_OP_MPROTECT_EXEC, AG_FS_WANT_EXEC, AG_WOULD_DENY, work,
		   "/work/lib.so", 12, 0);

	/* network: IPv4, IPv6, the v4 forms carried by IPv6, udp and other protocols. */
	net_event(AF_INET, "10.1.2.3", NULL, 443, AG_NET_TCP, AG_DENY, netdef);
	net_event(AF_INET6, "2001:db8::1", NULL, 53, AG_NET_UDP, AG_WOULD_DENY, netdef);
	net_event(AF_INET6, "::ffff:127.0.0.2", "127.0.0.2", 8080, AG_NET_TCP, AG_DENY, netdef);
	net_event(AF_INET6, "64:ff9b::a9fe:a9fe", "169.254.169.254", 80, AG_NET_TCP, AG_DENY,
		  netdef);
	net_event(AF_INET, "192.0.2.1", NULL, 0, 0, AG_DENY, AG_RULE_NONE);
	/*
	 * Port 514 stands for an unconnected UDP send (sendto with an address), 8443 for bind.
	 * The send as the Landlock fallback's cgroup programs report it: the same, but the backend.
	 */
	sink.backend = AG_BACKEND_LANDLOCK;
	net_event(AF_INET, "192.0.2.9", NULL, 514, AG_NET_UDP, AG_DENY, netdef);
	sink.backend = AG_BACKEND_BPF_LSM;
	net_event(AF_INET6, "::", NULL, 8443, AG_NET_TCP, AG_DENY, AG_RULE_BUILTIN | AG_BR_INBOUND);
	net_event(AF_INET, "0.0.0.0", NULL, 8444, AG_NET_TCP, AG_DENY, AG_RULE_BUILTIN | AG_BR_INBOUND);
	net_event(AF_INET, "192.0.2.7", NULL, 7, AG_NET_UDP, AG_DENY,
		  AG_RULE_BUILTIN | AG_BR_SOURCE_ROUTE);

	/* containment: every operation, with the built-in rule that reports it. */
	contain_event(AG_OP_CAPABLE, AG_BR_CAPABILITY, 21, 0, 0, NULL);
	contain_event(AG_OP_CAPABLE, AG_BR_CAPABILITY, 99, 0, 0, NULL);
	contain_event(AG_OP_CGROUP_WRITE, AG_BR_CGROUP, 0, 0, 1, "cgroup.procs");
	contain_event(AG_OP_CLONE_INTO_CGROUP, AG_BR_CGROUP, 0x200000000LL, 0, 0, NULL);
	contain_event(AG_OP_USERNS, AG_BR_NAMESPACE, 0, 0, 0, NULL);
	contain_event(AG_OP_MOUNT, AG_BR_MOUNT, 0, 0, 0, "tmpfs");
	contain_event(AG_OP_MOVE_MOUNT, AG_BR_MOUNT, 0, 0, 0, NULL);
	contain_event(AG_OP_PIVOT_ROOT, AG_BR_MOUNT, 0, 0, 0, NULL);
	contain_event(AG_OP_CHROOT, AG_BR_MOUNT, 0, 0, 0, NULL);
	contain_event(AG_OP_UMOUNT, AG_BR_MOUNT, 0, 0, 0, NULL);
	contain_event(AG_OP_MODULE_REQUEST, AG_BR_KERNEL, 0, 0, 0, "net-pf-5");
	contain_event(AG_OP_KERNEL_READ_FILE, AG_BR_KERNEL, 2, 0, 0, NULL);
	contain_event(AG_OP_KERNEL_LOAD_DATA, AG_BR_KERNEL, 1, 0, 0, NULL);
	contain_event(AG_OP_BPF, AG_BR_BPF, 5, 0, 0, NULL);
	contain_event(AG_OP_PERF_EVENT, AG_BR_PERF, 1, 0, 0, NULL);
	contain_event(AG_OP_PTRACE, AG_BR_PROCESS, 0x11, 603, 1, NULL);
	contain_event(AG_OP_SIGNAL, AG_BR_PROCESS, 9, 603, 1, NULL);
	contain_event(AG_OP_SIGIO, AG_BR_PROCESS, 29, 603, 1, NULL);
	contain_event(AG_OP_SETOWN, AG_BR_PROCESS, 8, 603, 0, NULL);
	contain_event(AG_OP_TASK_CHANGE, AG_BR_PROCESS, AG_TASK_SCHEDULER, 603, 1, NULL);
	contain_event(AG_OP_PROTECTED_WRITE, AG_BR_PROTECTED, 2049, 131074, 0, NULL);
	contain_event(AG_OP_PROTECTED_UNLINK, AG_BR_PROTECTED, 2049, 131074, 0, NULL);
	contain_event(AG_OP_PSEUDOFS_WRITE, AG_BR_PSEUDOFS, 0x9fa0, 2, 0, "core_pattern");
	contain_event(AG_OP_UNIX_CONNECT, AG_BR_UNIX, 0, 0, 1, NULL);
	contain_event(AG_OP_UNIX_SEND, AG_BR_UNIX, 0, 0, 1, NULL);
	contain_event(AG_OP_FD_RECEIVE, AG_BR_FD_RECEIVE, 1, 0, 1, NULL);
	contain_event(AG_OP_SYSCTL_WRITE, AG_BR_SYSCTL, 0, 0, 0, "kernel/core_pattern");
	contain_event(AG_OP_DEVICE, AG_BR_DEVICE, 7, 0, 0, "block");
	contain_event(AG_OP_DEVICE, AG_BR_DEVICE, 1, 1, 0, "char");
	contain_event(AG_OP_SOCKET_CREATE, AG_BR_SOCKET_TYPE, 17, (3 << 16) | 768, 0, NULL);
	contain_event(AG_OP_SETSOCKOPT, AG_BR_SOURCE_ROUTE, 0, 4, 0, NULL);
	/* A name the kernel copied from the sandbox, and a rule number from a newer kernel. */
	contain_event(AG_OP_MODULE_REQUEST, AG_BR_KERNEL, 0, 0, 0, "x\"\n\\\x01y\xff");
	contain_event(AG_OP_BPF, AG_BR_COUNT + 5, 0, 0, 0, NULL);

	/* A hostile comm (prctl(PR_SET_NAME) takes any bytes). */
	{
		struct ag_event_net e;

		memset(&e, 0, sizeof(e));
		hdr(&e.hdr, AG_EV_NETWORK, AG_OP_CONNECT, AG_DENY, netdef);
		memcpy(e.hdr.comm, hostile_comm, sizeof(hostile_comm) - 1);
		e.family = AF_INET;
		e.orig_addr[10] = e.orig_addr[11] = e.addr[10] = e.addr[11] = 0xff;
		e.port = 1;
		e.proto = AG_NET_TCP;
		emit(&e, sizeof(e));
	}

	/*
	 * Domain rules (issue #9): refused queries (the consumer makes these), and a network
	 * denial on an address the resolver learned, naming its domain.
	 */
	{
		struct ag_event_net e;

		fflush(stdout);
		sink.out = stdout;
		sink.format = ocsf ? AG_EVENTS_OCSF : AG_EVENTS_JSON;
		ag_event_sink_dns(&sink, "tunnel.example.com", NULL, "TXT", "REFUSED",
				  "127.0.0.1:40000", "udp", AG_DENY,
				  AG_RULE_BUILTIN | AG_BR_DNS_QTYPE, 1);
		ag_event_sink_dns(&sink, "a\\092b\\010.example.com", NULL, "A", "REFUSED",
				  "[::1]:5353", "tcp", AG_DENY, netdef, 1);
		ag_event_sink_dns(&sink, "", NULL, "TYPE0", "FORMERR", "127.0.0.1:40001", "udp",
				  AG_DENY, AG_RULE_BUILTIN | AG_BR_DNS_NAME, 1);
		/* DNS rebinding: an internal address withheld from an allowed name's answer. */
		ag_event_sink_dns(&sink, "rebind.example.com", "10.0.0.5", "A", "REFUSED",
				  "127.0.0.1:40002", "udp", AG_DENY,
				  AG_RULE_BUILTIN | AG_BR_DNS_REBIND, 1);
		sink.domain_name = sample_domain;
		memset(&e, 0, sizeof(e));
		hdr(&e.hdr, AG_EV_NETWORK, AG_OP_CONNECT, AG_DENY, netdef);
		e.family = AF_INET;
		e.orig_addr[10] = e.orig_addr[11] = e.addr[10] = e.addr[11] = 0xff;
		inet_pton(AF_INET, "192.0.2.80", e.addr + 12);
		memcpy(e.orig_addr, e.addr, 16);
		e.port = 80;
		e.proto = AG_NET_TCP;
		e.name_id = 7;
		ag_event_sink_handle(&sink, &e, sizeof(e));
		sink.domain_name = NULL;
		fflush(stdout);
		sink.out = NULL;
	}

	/*
	 * Loss events of every reason: as cmd_load writes them (ring full and over budget, per
	 * kind and rule; undecodable after an upgrade) and as the sandbox runner does for a guest's
	 * malformed, oversized and rate-limited records (no kind, no rule: lost_kind unknown).
	 */
	{
		static const struct {
			__u32 kind;
			__u8 verdict, reason;
		} losses[] = {
			{ AG_EV_FILE, AG_DENY, AG_DROP_RING_FULL },
			{ AG_EV_NETWORK, AG_WOULD_DENY, AG_DROP_RATE_LIMITED },
			{ 0, AG_DENY, AG_DROP_UPGRADE },
			{ ~0u, AG_DENY, AG_DROP_GUEST_MALFORMED },
			{ ~0u, AG_DENY, AG_DROP_GUEST_OVERSIZED },
			{ ~0u, AG_DENY, AG_DROP_GUEST_RATE },
			{ ~0u, AG_DENY, AG_DROP_WRITE_FAILED },
		};

		fflush(stdout);
		sink.out = stdout;
		sink.format = ocsf ? AG_EVENTS_OCSF : AG_EVENTS_JSON;
		for (i = 0; i < sizeof(losses) / sizeof(losses[0]); i++)
			ag_event_sink_loss(&sink, losses[i].kind, losses[i].verdict,
					   losses[i].kind == AG_EV_FILE ? work :
					   losses[i].kind == AG_EV_NETWORK ? netdef : AG_RULE_NONE,
					   losses[i].reason, 3 + i, 1764000000123456789LL);
		fflush(stdout);
		sink.out = NULL;
	}

	/*
	 * Folding, through the sink as the daemon runs it: a report with a signature, the
	 * kernel's fold record for it (written as a copy with its repeats), and one for a signature
	 * the consumer never saw (a "folded" loss event with the count).
	 */
	{
		struct ag_event_net e;
		struct ag_event_fold f;

		fflush(stdout);
		sink.out = stdout;
		sink.format = ocsf ? AG_EVENTS_OCSF : AG_EVENTS_JSON;
		memset(&e, 0, sizeof(e));
		hdr(&e.hdr, AG_EV_NETWORK, AG_OP_CONNECT, AG_DENY, netdef);
		e.hdr.sig = 0x77;
		e.family = AF_INET;
		e.orig_addr[10] = e.orig_addr[11] = e.addr[10] = e.addr[11] = 0xff;
		inet_pton(AF_INET, "192.0.2.77", e.addr + 12);
		memcpy(e.orig_addr, e.addr, 16);
		e.port = 443;
		e.proto = AG_NET_TCP;
		ag_event_sink_handle(&sink, &e, sizeof(e));
		memset(&f, 0, sizeof(f));
		hdr(&f.hdr, AG_EV_FOLD, AG_OP_CONNECT, AG_DENY, netdef);
		memset(&f.hdr.proc, 0, sizeof(f.hdr.proc));
		f.hdr.sig = 0x77;
		f.hdr.repeats = 5;
		f.folded_kind = AG_EV_NETWORK;
		ag_event_sink_handle(&sink, &f, sizeof(f));
		f.hdr.sig = 0x99;
		f.hdr.repeats = 3;
		ag_event_sink_handle(&sink, &f, sizeof(f));
		fflush(stdout);
		sink.out = NULL;
	}

	ag_event_sink_free(&sink);
	ag_compiled_free(c);
	ag_policy_free(pol);
	ag_diags_free(&d);
	return 0;
}
