// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <pwd.h>
#include <string.h>
#include <time.h>

#include "events.h"

static const char *kind_name(__u32 kind)
{
	switch (kind) {
	case AG_EV_FILE:
		return "file";
	case AG_EV_EXEC:
		return "exec";
	case AG_EV_NETWORK:
		return "network";
	case AG_EV_CONTAINMENT:
		return "containment";
	}
	return NULL;
}

static const char *const builtin_names[AG_BR_COUNT] = {
	[AG_BR_CAPABILITY] = "capability", [AG_BR_CGROUP] = "cgroup",
	[AG_BR_NAMESPACE] = "namespace", [AG_BR_MOUNT] = "mount",
	[AG_BR_KERNEL] = "kernel", [AG_BR_BPF] = "bpf", [AG_BR_PERF] = "perf",
	[AG_BR_PROCESS] = "process", [AG_BR_PROTECTED] = "protected-files",
	[AG_BR_PSEUDOFS] = "kernel-interfaces", [AG_BR_DEVICE] = "device",
	[AG_BR_SYSCTL] = "sysctl", [AG_BR_UNIX] = "unix-socket", [AG_BR_FD_RECEIVE] = "fd-receive",
};

static const char *contain_op_name(__u32 op)
{
	switch (op) {
	case AG_OP_CAPABLE: return "capable";
	case AG_OP_CGROUP_WRITE: return "cgroup-write";
	case AG_OP_CLONE_INTO_CGROUP: return "clone-into-cgroup";
	case AG_OP_USERNS: return "userns-create";
	case AG_OP_MOUNT: return "mount";
	case AG_OP_MOVE_MOUNT: return "move-mount";
	case AG_OP_PIVOT_ROOT: return "pivot-root";
	case AG_OP_CHROOT: return "chroot";
	case AG_OP_UMOUNT: return "umount";
	case AG_OP_MODULE_REQUEST: return "module-request";
	case AG_OP_KERNEL_READ_FILE: return "kernel-read-file";
	case AG_OP_KERNEL_LOAD_DATA: return "kernel-load-data";
	case AG_OP_BPF: return "bpf";
	case AG_OP_PERF_EVENT: return "perf-event-open";
	case AG_OP_PTRACE: return "ptrace";
	case AG_OP_SIGNAL: return "signal";
	case AG_OP_SIGIO: return "sigio";
	case AG_OP_SETOWN: return "fcntl-setown";
	case AG_OP_PROTECTED_WRITE: return "protected-write";
	case AG_OP_PROTECTED_UNLINK: return "protected-unlink";
	case AG_OP_PSEUDOFS_WRITE: return "kernel-interface-access";
	case AG_OP_UNIX_CONNECT: return "unix-connect";
	case AG_OP_UNIX_SEND: return "unix-send";
	case AG_OP_FD_RECEIVE: return "fd-receive";
	case AG_OP_SYSCTL_WRITE: return "sysctl-write";
	case AG_OP_DEVICE: return "device";
	case AG_OP_TASK_CHANGE: return "task-change";
	}
	return "unknown";
}

/* Capability names for events, by uapi number. */
static const char *cap_name(long cap)
{
	static const char *const names[] = {
		"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID",
		"SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST",
		"NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO",
		"SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
		"SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE",
		"AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM",
		"BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
	};

	return cap >= 0 && cap < (long)(sizeof(names) / sizeof(names[0])) ? names[cap] : NULL;
}

static void put_contain_target(struct ag_buf *b, const struct ag_event_contain *e)
{
	const char *cap;

	ag_buf_printf(b, ",\"operation\":\"%s\",\"target\":{", contain_op_name(e->hdr.op));
	switch (e->hdr.op) {
	case AG_OP_CAPABLE:
		cap = cap_name(e->arg0);
		if (cap)
			ag_buf_printf(b, "\"capability\":\"CAP_%s\"", cap);
		else
			ag_buf_printf(b, "\"capability\":%lld", (long long)e->arg0);
		break;
	case AG_OP_PTRACE:
	case AG_OP_SIGNAL:
	case AG_OP_SIGIO:
		ag_buf_printf(b, "\"pid\":%lld,\"%s\":%lld,\"cgroup_id\":%llu",
			      (long long)e->arg1, e->hdr.op == AG_OP_PTRACE ? "mode" : "signal",
			      (long long)e->arg0, (unsigned long long)e->target_cgid);
		break;
	case AG_OP_TASK_CHANGE: {
		static const char *const what[] = { "?", "rlimit", "nice", "ioprio", "scheduler",
						     "move-memory", "pgid" };

		ag_buf_printf(b, "\"pid\":%lld,\"change\":\"%s\",\"cgroup_id\":%llu",
			      (long long)e->arg1,
			      e->arg0 > 0 && e->arg0 <= AG_TASK_PGID ? what[e->arg0] : "?",
			      (unsigned long long)e->target_cgid);
		break;
	}
	case AG_OP_SETOWN:
		ag_buf_printf(b, "\"command\":\"0x%llx\",\"owner\":%lld",
			      (unsigned long long)e->arg0, (long long)e->arg1);
		break;
	case AG_OP_DEVICE:
		ag_buf_printf(b, "\"device\":\"%s %lld:%lld\"", e->name, (long long)e->arg0,
			      (long long)e->arg1);
		break;
	case AG_OP_PROTECTED_WRITE:
	case AG_OP_PROTECTED_UNLINK:
		ag_buf_printf(b, "\"dev\":%lld,\"inode\":%lld", (long long)e->arg0,
			      (long long)e->arg1);
		break;
	case AG_OP_PSEUDOFS_WRITE:
		ag_buf_printf(b, "\"fs_magic\":\"0x%llx\",\"mask\":%lld",
			      (unsigned long long)e->arg0, (long long)e->arg1);
		break;
	default:
		ag_buf_printf(b, "\"arg\":%lld,\"cgroup_id\":%llu", (long long)e->arg0,
			      (unsigned long long)e->target_cgid);
		break;
	}
	if (e->name[0] && e->hdr.op != AG_OP_DEVICE) {
		ag_buf_puts(b, ",\"name\":");
		ag_json_str(b, e->name, strnlen(e->name, sizeof(e->name)));
	}
	ag_buf_puts(b, "}");
}

static void put_time(struct ag_buf *b, __u64 boot_ns)
{
	struct timespec rt, bt;
	__s64 ns;
	time_t sec;
	struct tm tm;
	char date[32];

	/* Wall time of the event = now - (boot now - boot then). */
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	ns = (__s64)rt.tv_sec * 1000000000LL + rt.tv_nsec -
	     ((__s64)bt.tv_sec * 1000000000LL + bt.tv_nsec - (__s64)boot_ns);
	sec = ns / 1000000000LL;
	gmtime_r(&sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	ag_buf_printf(b, "\"%s.%09lldZ\"", date, (long long)(ns % 1000000000LL));
}

/* Keys hold IPv4 addresses as ::ffff:a.b.c.d. */
static bool is_v4_key(const __u8 *a)
{
	static const __u8 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return !memcmp(a, mapped, 12);
}

/* as_v6: print exactly as an IPv6 caller wrote it, even ::ffff:a.b.c.d. */
static void put_addr(struct ag_buf *b, const __u8 *a, bool as_v6)
{
	char s[INET6_ADDRSTRLEN];

	if (!as_v6 && is_v4_key(a))
		inet_ntop(AF_INET, a + 12, s, sizeof(s));
	else
		inet_ntop(AF_INET6, a, s, sizeof(s));
	ag_buf_printf(b, "\"%s\"", s);
}

static void put_header(struct ag_event_sink *s, const struct ag_event_hdr *h)
{
	struct ag_buf *b = &s->buf;
	struct passwd pw, *pwp = NULL;
	char pwbuf[1024];

	ag_buf_printf(b, "{\"schema_version\":%d,\"seq\":%llu,\"kseq\":%llu,\"time\":",
		      AG_EVENT_SCHEMA_VERSION, ++s->seq, (unsigned long long)h->kseq);
	put_time(b, h->boot_ns);
	ag_buf_puts(b, ",\"host\":");
	ag_json_str(b, s->host, strlen(s->host));
	ag_buf_puts(b, ",\"session\":");
	ag_json_str(b, s->session, strlen(s->session));
	ag_buf_puts(b, ",\"sandbox\":");
	ag_json_str(b, s->sandbox, strlen(s->sandbox));

	ag_buf_printf(b, ",\"identity\":{\"uid\":%u,\"gid\":%u,\"user\":", h->uid, h->gid);
	getpwuid_r(h->uid, &pw, pwbuf, sizeof(pwbuf), &pwp);
	if (pwp)
		ag_json_str(b, pwp->pw_name, strlen(pwp->pw_name));
	else
		ag_buf_puts(b, "null");
	ag_buf_puts(b, ",\"operator\":");
	if (s->operator_identity)
		ag_json_str(b, s->operator_identity, strlen(s->operator_identity));
	else
		ag_buf_puts(b, "null");

	ag_buf_printf(b, "},\"process\":{\"pid\":%u,\"tid\":%u,\"ppid\":", h->pid, h->tid);
	/* cgroup programs cannot read the task: the parent is unknown there, not 0. */
	if (h->kind == AG_EV_NETWORK || h->op == AG_OP_DEVICE || h->op == AG_OP_SYSCTL_WRITE)
		ag_buf_puts(b, "null");
	else
		ag_buf_printf(b, "%u", h->ppid);
	ag_buf_printf(b, ",\"cgroup_id\":%llu,\"comm\":", (unsigned long long)h->cgroup_id);
	ag_json_str(b, h->comm, strnlen(h->comm, sizeof(h->comm)));
	ag_buf_printf(b, "},\"kind\":\"%s\"", kind_name(h->kind));
}

static void put_decision(struct ag_event_sink *s, const struct ag_event_hdr *h)
{
	struct ag_buf *b = &s->buf;
	const struct ag_compiled *c = s->policy;
	const struct ag_rule_ref *r = NULL;

	ag_buf_printf(b, ",\"decision\":\"%s\",\"mode\":\"%s\",\"rule\":",
		      ag_verdict_name(h->verdict),
		      h->verdict == AG_WOULD_DENY ? "audit" : "enforce");
	/* Rule indexes are per generation: name them only from the matching policy. */
	if (h->rule != AG_RULE_NONE && (h->rule & AG_RULE_BUILTIN)) {
		__u32 n = h->rule & ~AG_RULE_BUILTIN;

		ag_buf_printf(b, "{\"id\":\"builtin:%s\",\"layer\":\"builtin\"}",
			      n < AG_BR_COUNT && builtin_names[n] ? builtin_names[n] : "unknown");
		ag_buf_printf(b, ",\"policy\":{\"name\":null,\"sha256\":\"%s\",\"generation\":%u}}\n",
			      c ? c->sha256_hex : "", h->generation_seq);
		return;
	}
	if (c && h->generation_seq == s->generation && h->rule < c->n_rules)
		r = &c->rules[h->rule];
	if (r) {
		ag_buf_puts(b, "{\"id\":");
		ag_json_str(b, r->id, strlen(r->id));
		ag_buf_printf(b, ",\"layer\":\"%s\"}", ag_layer_name(r->layer));
	} else {
		ag_buf_puts(b, "{\"id\":null,\"layer\":null}");
	}
	ag_buf_puts(b, ",\"policy\":{\"name\":");
	if (r)
		ag_json_str(b, r->policy->name, strlen(r->policy->name));
	else
		ag_buf_puts(b, "null");
	ag_buf_printf(b, ",\"sha256\":\"%s\",\"generation\":%u}}\n", c ? c->sha256_hex : "",
		      h->generation_seq);
}

static void put_file_target(struct ag_buf *b, const struct ag_event_file *e)
{
	static const char *const names[AG_FS_NCLASSES] = { "read", "write", "exec" };
	const char *sep = "";
	__u32 i;

	ag_buf_printf(b, ",\"operation\":\"%s\",\"target\":{\"access\":[",
		      e->hdr.op == AG_OP_RECEIVE ? "receive" :
		      e->hdr.kind == AG_EV_EXEC	 ? "exec" : "open");
	for (i = 0; i < AG_FS_NCLASSES; i++) {
		if (e->want & (1u << i)) {
			ag_buf_printf(b, "%s\"%s\"", sep, names[i]);
			sep = ",";
		}
	}
	ag_buf_puts(b, "],\"path\":");
	if (e->path_len <= 0 || e->path_len > AG_PATH_MAX) {
		/* The kernel could not resolve the path: say so, and why. */
		ag_buf_printf(b, "null,\"path_error\":%d}", e->path_len <= 0 ? -e->path_len : 0);
		return;
	}
	if (!ag_json_str(b, e->path, strnlen(e->path, e->path_len))) {
		ag_buf_puts(b, ",\"path_b64\":");
		ag_json_base64(b, (const unsigned char *)e->path, strnlen(e->path, e->path_len));
	}
	ag_buf_puts(b, "}");
}

static void put_net_target(struct ag_buf *b, const struct ag_event_net *e)
{
	ag_buf_puts(b, ",\"operation\":\"connect\",\"target\":{\"address\":");
	put_addr(b, e->orig_addr, e->family == AF_INET6);
	/* An IPv6 destination judged by the IPv4 address it carries: say which. */
	if (e->family == AF_INET6 && is_v4_key(e->addr)) {
		ag_buf_puts(b, ",\"judged_as\":");
		put_addr(b, e->addr, false);
	}
	ag_buf_printf(b, ",\"port\":%u,\"protocol\":\"%s\",\"family\":\"%s\"}", e->port,
		      e->proto == AG_NET_TCP ? "tcp" : e->proto == AG_NET_UDP ? "udp" : "other",
		      e->family == AF_INET ? "ipv4" : "ipv6");
}

int ag_event_format(struct ag_event_sink *s, const void *data, size_t size)
{
	struct ag_event_hdr h;

	ag_buf_reset(&s->buf);
	if (size < sizeof(h))
		return -EINVAL;
	memcpy(&h, data, sizeof(h));
	if (!kind_name(h.kind))
		return -EINVAL;
	if (h.kind == AG_EV_CONTAINMENT) {
		struct ag_event_contain e;

		if (size < sizeof(e))
			return -EINVAL;
		memcpy(&e, data, sizeof(e));
		e.name[sizeof(e.name) - 1] = '\0';
		put_header(s, &h);
		put_contain_target(&s->buf, &e);
	} else if (h.kind == AG_EV_NETWORK) {
		struct ag_event_net e;

		if (size < sizeof(e))
			return -EINVAL;
		memcpy(&e, data, sizeof(e));
		put_header(s, &h);
		put_net_target(&s->buf, &e);
	} else {
		/* Large record: read it in place; fields are naturally aligned in the ring. */
		const struct ag_event_file *e = data;

		if (size < sizeof(*e))
			return -EINVAL;
		put_header(s, &h);
		put_file_target(&s->buf, e);
	}
	put_decision(s, &h);
	return s->buf.oom ? -ENOMEM : 0;
}

int ag_event_sink_handle(void *ctx, void *data, size_t size)
{
	struct ag_event_sink *s = ctx;

	if (ag_event_format(s, data, size)) {
		s->malformed++;
		return 0;
	}
	fwrite(s->buf.p, 1, s->buf.len, s->out);
	s->written++;
	return 0;
}

void ag_event_sink_free(struct ag_event_sink *s)
{
	ag_buf_free(&s->buf);
}
