// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <linux/bpf.h>

#include "clock.h"
#include "events.h"
#include "ocsf.h"
#include "sink_journal.h"

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
	case AG_EV_LOSS:
		return "loss";
	case AG_EV_LIFECYCLE:
		return "lifecycle";
	case AG_EV_DNS:
		return "dns";
	}
	return NULL;
}

static const char *const builtin_names[AG_BR_ALL_COUNT] = {
	[AG_BR_CAPABILITY] = "capability", [AG_BR_CGROUP] = "cgroup",
	[AG_BR_NAMESPACE] = "namespace", [AG_BR_MOUNT] = "mount",
	[AG_BR_KERNEL] = "kernel", [AG_BR_BPF] = "bpf", [AG_BR_PERF] = "perf",
	[AG_BR_PROCESS] = "process", [AG_BR_PROTECTED] = "protected-files",
	[AG_BR_PSEUDOFS] = "kernel-interfaces", [AG_BR_DEVICE] = "device",
	[AG_BR_SYSCTL] = "sysctl", [AG_BR_UNIX] = "unix-socket", [AG_BR_FD_RECEIVE] = "fd-receive",
	[AG_BR_SOCKET_TYPE] = "socket-type", [AG_BR_INBOUND] = "inbound",
	[AG_BR_SOURCE_ROUTE] = "source-route", [AG_BR_DNS_ELSEWHERE] = "dns-elsewhere",
	[AG_BR_DNS_QTYPE] = "dns-qtype", [AG_BR_DNS_NAME] = "dns-name",
	[AG_BR_PRIV_XATTR] = "privileged-xattr", [AG_BR_DNS_REBIND] = "dns-rebind",
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
	case AG_OP_SOCKET_CREATE: return "socket-create";
	case AG_OP_SETSOCKOPT: return "setsockopt";
	}
	return "unknown";
}

/*
 * The operation of a file or exec record. Exec is one operation whatever the hook; a file
 * record names its hook (docs/events.md#kind-file-and-exec).
 */
static const char *file_op_name(__u32 kind, __u32 op)
{
	switch (op) {
	case AG_OP_RECEIVE: return "receive";
	case AG_OP_MKNOD: return "mknod";
	case AG_OP_MKDIR: return "mkdir";
	case AG_OP_RMDIR: return "rmdir";
	case AG_OP_UNLINK: return "unlink";
	case AG_OP_SYMLINK: return "symlink";
	case AG_OP_LINK: return "link";
	case AG_OP_RENAME: return "rename";
	case AG_OP_TRUNCATE: return "truncate";
	case AG_OP_CHMOD: return "chmod";
	case AG_OP_CHOWN: return "chown";
	case AG_OP_SETATTR: return "setattr";
	case AG_OP_SETXATTR: return "setxattr";
	case AG_OP_REMOVEXATTR: return "removexattr";
	case AG_OP_SETACL: return "setacl";
	case AG_OP_REMOVEACL: return "removeacl";
	case AG_OP_EXEC: return "execve";
	case AG_OP_MMAP_EXEC: return "mmap";
	case AG_OP_MPROTECT_EXEC: return "mprotect";
	case AG_OP_OPEN: return kind == AG_EV_EXEC ? "exec" : "open";
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

/* AG_EVENT_MAX_FIELDS bounds every case below; a case that needs more must raise it. */
static void field_str(struct ag_event *ev, const char *key, const char *journal, const char *s,
		      size_t len)
{
	struct ag_event_field *f;

	if (ev->n_target >= AG_EVENT_MAX_FIELDS)
		return;
	f = &ev->target[ev->n_target++];

	*f = (struct ag_event_field){ .key = key, .journal = journal, .type = AG_FIELD_STR,
				      .str = s, .len = len };
}

static void field_num(struct ag_event *ev, const char *key, const char *journal,
		      enum ag_field_type type, long long v)
{
	struct ag_event_field *f;

	if (ev->n_target >= AG_EVENT_MAX_FIELDS)
		return;
	f = &ev->target[ev->n_target++];

	*f = (struct ag_event_field){ .key = key, .journal = journal, .type = type, .i = v };
}

/* ev->text holds at most one formatted value per event. */
static void field_text(struct ag_event *ev, const char *key, const char *journal,
		       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void field_text(struct ag_event *ev, const char *key, const char *journal,
		       const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(ev->text, sizeof(ev->text), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	field_str(ev, key, journal, ev->text, (size_t)n < sizeof(ev->text) ? (size_t)n :
					      sizeof(ev->text) - 1);
}

/*
 * The target of a containment event, per operation (docs/containment.md#events). A new
 * operation needs a case here and nothing else: every sink writes these fields.
 */
static void decode_contain_target(struct ag_event *ev)
{
	const struct ag_event_contain *e = &ev->contain;
	const char *cap;

	switch (e->hdr.op) {
	case AG_OP_CAPABLE:
		cap = cap_name(e->arg0);
		if (cap)
			field_text(ev, "capability", "CAPABILITY", "CAP_%s", cap);
		else
			field_num(ev, "capability", "CAPABILITY", AG_FIELD_INT, e->arg0);
		break;
	case AG_OP_PTRACE:
	case AG_OP_SIGNAL:
	case AG_OP_SIGIO:
		field_num(ev, "pid", "TARGET_PID", AG_FIELD_INT, e->arg1);
		if (e->hdr.op == AG_OP_PTRACE)
			field_num(ev, "mode", "PTRACE_MODE", AG_FIELD_INT, e->arg0);
		else
			field_num(ev, "signal", "SIGNAL", AG_FIELD_INT, e->arg0);
		field_num(ev, "cgroup_id", "TARGET_CGROUP_ID", AG_FIELD_UINT, e->target_cgid);
		break;
	case AG_OP_TASK_CHANGE: {
		static const char *const what[] = { "?", "rlimit", "nice", "ioprio", "scheduler",
						     "move-memory", "pgid" };
		const char *w = e->arg0 > 0 && e->arg0 <= AG_TASK_PGID ? what[e->arg0] : "?";

		field_num(ev, "pid", "TARGET_PID", AG_FIELD_INT, e->arg1);
		field_str(ev, "change", "CHANGE", w, strlen(w));
		field_num(ev, "cgroup_id", "TARGET_CGROUP_ID", AG_FIELD_UINT, e->target_cgid);
		break;
	}
	case AG_OP_SETOWN:
		field_text(ev, "command", "COMMAND", "0x%llx", (unsigned long long)e->arg0);
		field_num(ev, "owner", "OWNER", AG_FIELD_INT, e->arg1);
		break;
	case AG_OP_DEVICE:
		field_text(ev, "device", "DEVICE", "%s %lld:%lld", e->name, (long long)e->arg0,
			   (long long)e->arg1);
		break;
	case AG_OP_PROTECTED_WRITE:
	case AG_OP_PROTECTED_UNLINK:
		field_num(ev, "dev", "DEV", AG_FIELD_INT, e->arg0);
		field_num(ev, "inode", "INODE", AG_FIELD_INT, e->arg1);
		break;
	case AG_OP_PSEUDOFS_WRITE:
		field_text(ev, "fs_magic", "FS_MAGIC", "0x%llx", (unsigned long long)e->arg0);
		field_num(ev, "mask", "MASK", AG_FIELD_INT, e->arg1);
		break;
	case AG_OP_SETSOCKOPT:
		field_num(ev, "level", "SOCKOPT_LEVEL", AG_FIELD_INT, e->arg0);
		field_num(ev, "option", "SOCKOPT_NAME", AG_FIELD_INT, e->arg1);
		break;
	default:
		field_num(ev, "arg", "ARG", AG_FIELD_INT, e->arg0);
		field_num(ev, "cgroup_id", "TARGET_CGROUP_ID", AG_FIELD_UINT, e->target_cgid);
		break;
	}
	if (e->name[0] && e->hdr.op != AG_OP_DEVICE)
		field_str(ev, "name", "NAME", e->name, strnlen(e->name, sizeof(e->name)));
}

/*
 * Wall time of the event = boot time then + (wall now - boot now). The difference of the two
 * clocks moves only when the wall clock is set or slewed, so it is read again once per tick of
 * CLOCK_MONOTONIC_COARSE (a few ms; a step shows within one), not per event: on kvm-clock
 * each precise read costs 30-45 ns, and the two per event took 15-20 % of the consumer
 * (perf, bench/audit_bench.c). The date part is formatted once per second (s->date): gmtime_r
 * and strftime for every event cost more than the rest of it.
 */
static void decode_time(struct ag_event_sink *s, struct ag_event *ev)
{
	struct timespec now, rt, bt;
	time_t sec;
	struct tm tm;
	long long ns, coarse;
	size_t len;
	int i;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	coarse = (long long)now.tv_sec * 1000000000LL + now.tv_nsec + 1;	/* never 0 */
	if (coarse != s->clock_ns) {
		clock_gettime(CLOCK_REALTIME, &rt);
		clock_gettime(CLOCK_BOOTTIME, &bt);
		s->wall_minus_boot_ns = (long long)rt.tv_sec * 1000000000LL + rt.tv_nsec -
					((long long)bt.tv_sec * 1000000000LL + bt.tv_nsec);
		s->clock_ns = coarse;
	}
	ev->time_ns = (long long)ev->hdr.boot_ns + s->wall_minus_boot_ns;
	sec = ev->time_ns / 1000000000LL;
	ns = ev->time_ns % 1000000000LL;
	if (!s->date[0] || sec != s->date_sec) {
		gmtime_r(&sec, &tm);
		if (!strftime(s->date, sizeof(s->date), "%Y-%m-%dT%H:%M:%S", &tm))
			s->date[0] = '\0';
		s->date_sec = sec;
	}
	len = strlen(s->date);
	/* Before 1970 the remainder is negative: printf's form, not the fast one. */
	if (ns < 0 || len + 12 > sizeof(ev->time)) {
		snprintf(ev->time, sizeof(ev->time), "%s.%09lldZ", s->date, ns);
		return;
	}
	memcpy(ev->time, s->date, len);
	ev->time[len] = '.';
	for (i = 9; i >= 1; i--, ns /= 10)
		ev->time[len + i] = '0' + ns % 10;
	ev->time[len + 10] = 'Z';
	ev->time[len + 11] = '\0';
}

/*
 * The uid's passwd name, or NULL, copied into ev->pwbuf. Looked up at most once a second per
 * uid: getpwuid_r opens and parses the passwd database on every call, which cost more than
 * decoding and formatting the event together. A rename shows within a second. After
 * decode_time, whose clock reading it uses.
 */
static const char *lookup_user(struct ag_event_sink *s, struct ag_event *ev, __u32 uid)
{
	struct ag_user_cache *c = &s->users[uid % AG_USER_CACHE];
	struct passwd pw, *pwp = NULL;
	long long now_ns = s->clock_ns;	/* decode_time's reading, never 0 */
	if (c->at_ns && c->uid == uid && now_ns - c->at_ns < AG_USER_CACHE_NS) {
		if (!c->known)
			return NULL;
		strcpy(ev->pwbuf, c->name);
		return ev->pwbuf;
	}
	getpwuid_r(uid, &pw, ev->pwbuf, sizeof(ev->pwbuf), &pwp);
	/* A name too long for the cache is looked up every time. */
	if (pwp && strlen(pwp->pw_name) >= sizeof(c->name)) {
		c->at_ns = 0;
		return pwp->pw_name;
	}
	c->at_ns = now_ns;
	c->uid = uid;
	c->known = pwp;
	if (pwp)
		strcpy(c->name, pwp->pw_name);
	return pwp ? pwp->pw_name : NULL;
}

/*
 * The next seq, reserving more on disk first when a store backs it. If the store fails the
 * event still gets its number (losing an event would be worse than a number a crash might
 * reuse); seq_failed counts such events for the daemon to report.
 */
static unsigned long long next_seq(struct ag_event_sink *s)
{
	if (s->seq_reserve && s->seq + 1 >= s->seq_limit) {
		unsigned long long limit = s->seq_reserve(s->seq_ctx, s->seq + 1);

		if (limit)
			s->seq_limit = limit;
		else
			s->seq_failed++;
	}
	return ++s->seq;
}

/* Keys hold IPv4 addresses as ::ffff:a.b.c.d. */
static bool is_v4_key(const __u8 *a)
{
	static const __u8 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return !memcmp(a, mapped, 12);
}

/* as_v6: print exactly as an IPv6 caller wrote it, even ::ffff:a.b.c.d. */
static const char *addr_str(char *s, const __u8 *a, bool as_v6)
{
	if (!as_v6 && is_v4_key(a))
		inet_ntop(AF_INET, a + 12, s, INET6_ADDRSTRLEN);
	else
		inet_ntop(AF_INET6, a, s, INET6_ADDRSTRLEN);
	return s;
}

static void decode_net_target(const struct ag_event_sink *s, struct ag_event *ev,
			      const struct ag_event_net *e)
{
	const char *a = addr_str(ev->addr[0], e->orig_addr, e->family == AF_INET6);

	field_str(ev, "address", "ADDRESS", a, strlen(a));
	/* An IPv6 destination judged by the IPv4 address it carries: say which. */
	if (e->family == AF_INET6 && is_v4_key(e->addr)) {
		a = addr_str(ev->addr[1], e->addr, false);
		field_str(ev, "judged_as", "JUDGED_AS", a, strlen(a));
	}
	field_num(ev, "port", "PORT", AG_FIELD_UINT, e->port);
	a = e->proto == AG_NET_TCP ? "tcp" : e->proto == AG_NET_UDP ? "udp" : "other";
	field_str(ev, "protocol", "PROTOCOL", a, strlen(a));
	a = e->family == AF_INET ? "ipv4" : "ipv6";
	field_str(ev, "family", "FAMILY", a, strlen(a));
	/* The domain whose learned binding decided (issue #9), when the resolver still knows it. */
	if (e->name_id && s->domain_name &&
	    (a = s->domain_name(s->domain_ctx, e->name_id, ev->domain, sizeof(ev->domain))))
		field_str(ev, "domain", "DOMAIN", a, strlen(a));
}

static void decode_file_target(struct ag_event *ev, const struct ag_event_file *e)
{
	field_num(ev, "access", "ACCESS", AG_FIELD_ACCESS, e->want);
	if (e->path_len <= 0 || e->path_len > AG_PATH_MAX) {
		/* The kernel could not resolve the path: say so, and why. */
		field_num(ev, "path", "PATH", AG_FIELD_NULL, 0);
		field_num(ev, "path_error", "PATH_ERROR", AG_FIELD_INT,
			  e->path_len <= 0 ? -(long long)e->path_len : 0);
		return;
	}
	ev->path = e->path;
	ev->path_len = strnlen(e->path, e->path_len);
	field_str(ev, "path", "PATH", ev->path, ev->path_len);
	ev->target[ev->n_target - 1].b64 = true;
}

/* What the kernel captured at the process's exec (struct ag_proc, read in the record). */
static void decode_proc(struct ag_event *ev, const struct ag_proc *p)
{
	struct ag_event_proc *o = &ev->proc;
	unsigned int i;

	memset(o, 0, sizeof(*o));
	if (!(p->flags & AG_PROC_KNOWN))
		return;
	if (!(p->flags & AG_PROC_EXE_UNRESOLVED)) {
		o->exe = p->exe;
		o->exe_len = strnlen(p->exe, sizeof(p->exe));
		o->exe_cut = p->exe_len > AG_EXE_MAX;
	}
	o->ancestry_known = true;
	o->ancestry_complete = !(p->flags & AG_PROC_ANCESTRY_MORE);
	o->depth = p->depth < AG_ANCESTRY_MAX ? p->depth : AG_ANCESTRY_MAX;
	for (i = 0; i < o->depth; i++) {
		o->ancestor[i] = p->ancestry[i];
		o->ancestor_len[i] = strnlen(p->ancestry[i], sizeof(p->ancestry[i]));
		o->ancestor_cut[i] = p->flags & (AG_PROC_ANCESTOR_CUT << i);
	}
}

/* Rule indexes are per generation: name them only from the matching policy. */
static void decode_rule(const struct ag_event_sink *s, struct ag_event *ev)
{
	const struct ag_compiled *c = s->policy;
	const struct ag_event_hdr *h = &ev->hdr;
	const struct ag_rule_ref *r = NULL;

	if (h->generation_seq != s->generation)
		c = s->policy_for ? s->policy_for(s->policy_ctx, h->generation_seq) : NULL;
	ev->policy_sha256 = c ? c->sha256_hex : "";
	if (h->rule != AG_RULE_NONE && (h->rule & AG_RULE_BUILTIN)) {
		__u32 n = h->rule & ~AG_RULE_BUILTIN;

		snprintf(ev->rule_buf, sizeof(ev->rule_buf), "builtin:%s",
			 n < AG_BR_ALL_COUNT && builtin_names[n] ? builtin_names[n] : "unknown");
		ev->rule_id = ev->rule_buf;
		ev->rule_layer = "builtin";
		return;
	}
	if (c && h->rule < c->n_rules)
		r = &c->rules[h->rule];
	if (r) {
		ev->rule_id = r->id;
		ev->rule_layer = ag_layer_name(r->layer);
		ev->policy_name = r->policy->name;
	}
}

int ag_event_decode(struct ag_event_sink *s, const void *data, size_t size, struct ag_event *ev)
{
	struct ag_event_hdr *h = &ev->hdr;

	/*
	 * Not all of it: hdr is copied below but for hdr.proc, of which only the counts are
	 * cleared, and a target slot is written whole when it is taken (n_target of them are
	 * read). Clearing the 520 bytes of hdr.proc and the six slots was the larger part of a
	 * memset that cost more than the rest of decoding (perf, bench/audit_bench.c).
	 */
	memset(&ev->seq, 0, offsetof(struct ag_event, target) - offsetof(struct ag_event, seq));
	ev->n_target = 0;
	ev->addr[0][0] = ev->addr[1][0] = '\0';
	memset(&h->proc, 0, offsetof(struct ag_proc, exe));
	if (size < sizeof(*h))
		return -EINVAL;
	/*
	 * Not proc: most of its 520 bytes are padding, and copying them cost more than decoding
	 * the rest (decode_proc reads the strings in place, like a file record's path).
	 */
	memcpy(h, data, offsetof(struct ag_event_hdr, proc));
	ev->kind = kind_name(h->kind);
	/* The kernel never writes loss or lifecycle records: one claiming to be is malformed. */
	if (!ev->kind || h->kind == AG_EV_LOSS || h->kind == AG_EV_LIFECYCLE ||
	    h->kind == AG_EV_DNS)
		return -EINVAL;
	if (h->kind == AG_EV_CONTAINMENT) {
		if (size < sizeof(ev->contain))
			return -EINVAL;
		memcpy(&ev->contain, data, sizeof(ev->contain));
		ev->contain.name[sizeof(ev->contain.name) - 1] = '\0';
		ev->operation = contain_op_name(h->op);
		decode_contain_target(ev);
	} else if (h->kind == AG_EV_NETWORK) {
		struct ag_event_net e;

		if (size < sizeof(e))
			return -EINVAL;
		memcpy(&e, data, sizeof(e));
		ev->operation = h->op == AG_OP_SENDMSG ? "sendmsg" :
				h->op == AG_OP_BIND    ? "bind" :
				h->op == AG_OP_LISTEN  ? "listen" :
				h->op == AG_OP_EGRESS_DROP ? "egress-drop" :
							 "connect";
		decode_net_target(s, ev, &e);
	} else {
		/*
		 * Read in place (fields are naturally aligned in the ring). The record ends
		 * with the path: it holds path_len bytes of it, not AG_PATH_MAX.
		 */
		const struct ag_event_file *e = data;
		size_t need = offsetof(struct ag_event_file, path);

		if (size < need)
			return -EINVAL;
		if (e->path_len > 0 && e->path_len <= AG_PATH_MAX)
			need += e->path_len;
		if (size < need)
			return -EINVAL;
		ev->operation = file_op_name(h->kind, h->op);
		decode_file_target(ev, e);
	}
	decode_proc(ev, &((const struct ag_event_hdr *)data)->proc);
	ev->seq = next_seq(s);
	decode_time(s, ev);
	ev->decision = ag_verdict_name(h->verdict);
	ev->mode = h->verdict == AG_WOULD_DENY ? "audit" : "enforce";
	decode_rule(s, ev);
	/* cgroup programs cannot read the task: the parent is unknown there, not 0. */
	ev->ppid_known = !(h->kind == AG_EV_NETWORK || h->op == AG_OP_DEVICE ||
			   h->op == AG_OP_SYSCTL_WRITE);
	ev->user = lookup_user(s, ev, h->uid);
	return 0;
}

static void put_str_or_null(struct ag_buf *b, const char *s)
{
	if (s)
		ag_json_str(b, s, strlen(s));
	else
		ag_buf_puts(b, "null");
}

static void put_access(struct ag_buf *b, __u32 want, const char *sep, bool json)
{
	static const char *const names[AG_FS_NCLASSES] = { "read", "write", "exec" };
	const char *s = "";
	__u32 i;

	for (i = 0; i < AG_FS_NCLASSES; i++) {
		if (want & (1u << i)) {
			ag_buf_puts(b, s);
			if (json)
				ag_buf_lit(b, "\"");
			ag_buf_puts(b, names[i]);
			if (json)
				ag_buf_lit(b, "\"");
			s = sep;
		}
	}
}

/* The target fields as a JSON object: {"key":value,...}. Also used by ocsf.c. */
void ag_event_target_json(struct ag_buf *b, const struct ag_event *ev)
{
	unsigned int i;

	ag_buf_puts(b, "{");
	for (i = 0; i < ev->n_target; i++) {
		const struct ag_event_field *f = &ev->target[i];

		ag_buf_puts(b, i ? ",\"" : "\"");
		ag_buf_puts(b, f->key);
		ag_buf_lit(b, "\":");
		switch (f->type) {
		case AG_FIELD_STR:
			if (!ag_json_str(b, f->str, f->len) && f->b64) {
				ag_buf_lit(b, ",\"");
				ag_buf_puts(b, f->key);
				ag_buf_lit(b, "_b64\":");
				ag_json_base64(b, (const unsigned char *)f->str, f->len);
			}
			break;
		case AG_FIELD_INT:
			ag_buf_i64(b, f->i);
			break;
		case AG_FIELD_UINT:
			ag_buf_u64(b, (unsigned long long)f->i);
			break;
		case AG_FIELD_NULL:
			ag_buf_puts(b, "null");
			break;
		case AG_FIELD_ACCESS:
			ag_buf_puts(b, "[");
			put_access(b, f->i, ",", true);
			ag_buf_puts(b, "]");
			break;
		}
	}
	ag_buf_puts(b, "}");
}

/* The hot path: fixed text is appended as is and numbers converted without printf. */
/* An untrusted string from the kernel: "key":"…", and "key_b64" when it is not UTF-8. */
static void put_untrusted(struct ag_buf *b, const char *key, const char *str, size_t len)
{
	ag_buf_puts(b, ",\"");
	ag_buf_puts(b, key);
	ag_buf_lit(b, "\":");
	if (ag_json_str(b, str, len))
		return;
	ag_buf_puts(b, ",\"");
	ag_buf_puts(b, key);
	ag_buf_lit(b, "_b64\":");
	ag_json_base64(b, (const unsigned char *)str, len);
}

/* ,"exe":…,"exe_cut":…,"ancestry":[{"exe":…,"cut":…}…]|null,"ancestry_complete":… */
static void put_proc_json(struct ag_buf *b, const struct ag_event_proc *p)
{
	unsigned int i;

	if (p->exe)
		put_untrusted(b, "exe", p->exe, p->exe_len);
	else
		ag_buf_lit(b, ",\"exe\":null");
	ag_buf_lit(b, ",\"exe_cut\":");
	ag_buf_puts(b, p->exe_cut ? "true" : "false");
	if (!p->ancestry_known) {
		ag_buf_lit(b, ",\"ancestry\":null,\"ancestry_complete\":false");
		return;
	}
	ag_buf_lit(b, ",\"ancestry\":[");
	for (i = 0; i < p->depth; i++) {
		ag_buf_puts(b, i ? ",{" : "{");
		/* put_untrusted writes a leading comma: start with the flag. */
		ag_buf_lit(b, "\"cut\":");
		ag_buf_puts(b, p->ancestor_cut[i] ? "true" : "false");
		put_untrusted(b, "exe", p->ancestor[i], p->ancestor_len[i]);
		ag_buf_lit(b, "}");
	}
	ag_buf_lit(b, "],\"ancestry_complete\":");
	ag_buf_puts(b, p->ancestry_complete ? "true" : "false");
}

/* ,"host":…,"session":…,"sandbox":…,"backend":"…" */
static void render_head(struct ag_buf *b, const struct ag_event_sink *s)
{
	ag_buf_lit(b, ",\"host\":");
	ag_json_str(b, s->host, strlen(s->host));
	ag_buf_lit(b, ",\"session\":");
	ag_json_str(b, s->session, strlen(s->session));
	ag_buf_lit(b, ",\"sandbox\":");
	ag_json_str(b, s->sandbox, strlen(s->sandbox));
	ag_buf_lit(b, ",\"backend\":\"");
	ag_buf_puts(b, ag_backend_name(s->backend));
	ag_buf_lit(b, "\"");
}

/*
 * The same for every event of a sink, so rendered once and copied: checking the copy against
 * the sink's fields costs far less than escaping them again (about 400 instructions less per
 * bench record, callgrind).
 */
static void put_head(struct ag_buf *b, struct ag_event_sink *s)
{
	size_t h = strlen(s->host), n = strlen(s->session), c = strlen(s->sandbox);
	struct ag_buf *k = &s->head_key;
	char backend = (char)s->backend;

	if (s->head.len && k->len == 1 + h + 1 + n + 1 + c + 1 && k->p[0] == backend &&
	    !memcmp(k->p + 1, s->host, h + 1) && !memcmp(k->p + 2 + h, s->session, n + 1) &&
	    !memcmp(k->p + 3 + h + n, s->sandbox, c + 1)) {
		ag_buf_put(b, s->head.p, s->head.len);
		return;
	}
	ag_buf_reset(&s->head);
	ag_buf_reset(k);
	render_head(&s->head, s);
	ag_buf_put(k, &backend, 1);
	ag_buf_put(k, s->host, h + 1);
	ag_buf_put(k, s->session, n + 1);
	ag_buf_put(k, s->sandbox, c + 1);
	if (s->head.oom || k->oom) {
		/* No copy to keep: this event's rendered in place, the next one tries again. */
		ag_buf_reset(&s->head);
		render_head(b, s);
		return;
	}
	ag_buf_put(b, s->head.p, s->head.len);
}

/* ,"identity":{…},"process":{…} of a kernel record. */
static void render_identity_process(struct ag_buf *b, const struct ag_event_sink *s,
				    const struct ag_event *ev)
{
	const struct ag_event_hdr *h = &ev->hdr;

	ag_buf_lit(b, ",\"identity\":{\"uid\":");
	ag_buf_u64(b, h->uid);
	ag_buf_lit(b, ",\"gid\":");
	ag_buf_u64(b, h->gid);
	ag_buf_lit(b, ",\"user\":");
	put_str_or_null(b, ev->user);
	ag_buf_lit(b, ",\"operator\":");
	put_str_or_null(b, s->operator_identity);
	ag_buf_lit(b, "},\"process\":{\"pid\":");
	ag_buf_u64(b, h->pid);
	ag_buf_lit(b, ",\"tid\":");
	ag_buf_u64(b, h->tid);
	ag_buf_lit(b, ",\"ppid\":");
	if (ev->ppid_known)
		ag_buf_u64(b, h->ppid);
	else
		ag_buf_lit(b, "null");
	ag_buf_lit(b, ",\"cgroup_id\":");
	ag_buf_u64(b, h->cgroup_id);
	ag_buf_lit(b, ",\"comm\":");
	ag_json_str(b, h->comm, strnlen(h->comm, sizeof(h->comm)));
	put_proc_json(b, &ev->proc);
	ag_buf_lit(b, "}");
}

/* Appends n bytes of p to the key at k (room: end), after their length; NULL if no room. */
static char *key_put(char *k, const char *end, const void *p, size_t n)
{
	if (!k || (size_t)(end - k) < sizeof(n) + n)
		return NULL;
	memcpy(k, &n, sizeof(n));
	memcpy(k + sizeof(n), p, n);
	return k + sizeof(n) + n;
}

/* A string that may be NULL: a length no string has stands for NULL. */
static char *key_str(char *k, const char *end, const char *str)
{
	size_t none = (size_t)-1;

	if (str)
		return key_put(k, end, str, strlen(str));
	if (!k || (size_t)(end - k) < sizeof(none))
		return NULL;
	memcpy(k, &none, sizeof(none));
	return k + sizeof(none);
}

/*
 * Everything render_identity_process reads, as bytes into key (len bytes); returns the
 * key's length, 0 if it does not fit. The header from cgroup_id to comm (uid, gid, pid, tid,
 * ppid, and kind and op, which decide ppid_known), the decoded process's flags, then each
 * string with its length before it (so two different events never make the same key): the
 * user and operator names, the executable and the ancestry entries.
 */
static size_t proc_key(char *key, size_t len, const struct ag_event_sink *s,
		       const struct ag_event *ev)
{
	const size_t from = offsetof(struct ag_event_hdr, cgroup_id);
	const size_t to = offsetof(struct ag_event_hdr, comm) + sizeof(ev->hdr.comm);
	const struct ag_event_proc *p = &ev->proc;
	const char *end = key + len;
	char flags[5 + AG_ANCESTRY_MAX] = { ev->ppid_known, p->exe != NULL, p->exe_cut,
					    p->ancestry_known, p->ancestry_complete };
	char *k = key;
	unsigned int i;

	for (i = 0; i < p->depth; i++)
		flags[5 + i] = p->ancestor_cut[i];
	k = key_put(k, end, (const char *)&ev->hdr + from, to - from);
	k = key_put(k, end, flags, sizeof(flags));
	k = key_put(k, end, (const char *)&p->depth, sizeof(p->depth));
	k = key_str(k, end, ev->user);
	k = key_str(k, end, s->operator_identity);
	if (p->exe)
		k = key_put(k, end, p->exe, p->exe_len);
	for (i = 0; i < p->depth; i++)
		k = key_put(k, end, p->ancestor[i], p->ancestor_len[i]);
	return k ? (size_t)(k - key) : 0;
}

/*
 * The identity and process objects as put_head does the head: rendered again only when what
 * they are made of changed. A flood of denials comes from one process (or a few threads):
 * rendering them took about a third of the line's time (six numbers, five strings to escape),
 * comparing a key of about 150 bytes a fraction of it. An event whose key does not fit (a user
 * or operator name of hundreds of bytes) is rendered in place.
 */
static void put_identity_process(struct ag_buf *b, struct ag_event_sink *s,
				 const struct ag_event *ev)
{
	char key[1024];
	size_t n = proc_key(key, sizeof(key), s, ev);

	if (n && s->proc_json.len && s->proc_key.len == n && !memcmp(s->proc_key.p, key, n)) {
		ag_buf_put(b, s->proc_json.p, s->proc_json.len);
		return;
	}
	ag_buf_reset(&s->proc_json);
	ag_buf_reset(&s->proc_key);
	if (!n) {
		render_identity_process(b, s, ev);
		return;
	}
	render_identity_process(&s->proc_json, s, ev);
	ag_buf_put(&s->proc_key, key, n);
	if (s->proc_json.oom || s->proc_key.oom) {
		/* No copy to keep: this event's rendered in place, the next one tries again. */
		ag_buf_reset(&s->proc_json);
		ag_buf_reset(&s->proc_key);
		render_identity_process(b, s, ev);
		return;
	}
	ag_buf_put(b, s->proc_json.p, s->proc_json.len);
}

void ag_event_json(struct ag_buf *b, struct ag_event_sink *s, const struct ag_event *ev)
{
	const struct ag_event_hdr *h = &ev->hdr;

	ag_buf_lit(b, "{\"schema_version\":");
	ag_buf_u64(b, AG_EVENT_SCHEMA_VERSION);
	ag_buf_lit(b, ",\"seq\":");
	ag_buf_u64(b, ev->seq);
	ag_buf_lit(b, ",\"kseq\":");
	if (ev->synthetic)
		ag_buf_lit(b, "null");
	else
		ag_buf_u64(b, h->kseq);
	ag_buf_lit(b, ",\"time\":\"");
	ag_buf_puts(b, ev->time);
	ag_buf_lit(b, "\"");
	put_head(b, s);
	if (ev->synthetic) {
		/* A loss event stands for many processes' records: none is named. */
		ag_buf_lit(b, ",\"identity\":null,\"process\":null");
		goto kind;
	}
	put_identity_process(b, s, ev);
kind:
	/* kind, operation, decision, mode and sha256 are our own names: nothing to escape. */
	ag_buf_lit(b, ",\"kind\":\"");
	ag_buf_puts(b, ev->kind);
	ag_buf_lit(b, "\",\"operation\":\"");
	ag_buf_puts(b, ev->operation);
	ag_buf_lit(b, "\",\"target\":");
	ag_event_target_json(b, ev);
	ag_buf_lit(b, ",\"decision\":\"");
	ag_buf_puts(b, ev->decision);
	ag_buf_lit(b, "\",\"mode\":\"");
	ag_buf_puts(b, ev->mode);
	ag_buf_lit(b, "\",\"rule\":{\"id\":");
	put_str_or_null(b, ev->rule_id);
	ag_buf_lit(b, ",\"layer\":");
	put_str_or_null(b, ev->rule_layer);
	ag_buf_lit(b, "},\"policy\":{\"name\":");
	put_str_or_null(b, ev->policy_name);
	ag_buf_lit(b, ",\"sha256\":\"");
	ag_buf_puts(b, ev->policy_sha256);
	ag_buf_lit(b, "\",\"generation\":");
	ag_buf_u64(b, h->generation_seq);
	ag_buf_lit(b, "},\"repeats\":");
	ag_buf_u64(b, h->repeats);
	/* What this process saw itself; a sandbox runner writes its guest's records as "guest". */
	ag_buf_lit(b, ",\"origin\":\"host\"");
	if (s->sandbox_name) {
		ag_buf_lit(b, ",\"sandbox_name\":");
		ag_json_str(b, s->sandbox_name, strlen(s->sandbox_name));
	}
	ag_buf_lit(b, "}\n");
}

void ag_event_summary(struct ag_buf *b, const struct ag_event *ev)
{
	const struct ag_event_hdr *h = &ev->hdr;
	unsigned int i;

	ag_buf_printf(b, "%s %s ", ev->decision, ev->operation);
	if (ev->hdr.kind == AG_EV_FILE || ev->hdr.kind == AG_EV_EXEC) {
		if (ev->path)
			ag_text_str(b, ev->path, ev->path_len);
		else
			ag_buf_printf(b, "(unresolved path, error %lld)", ev->target[2].i);
		if (ev->hdr.kind == AG_EV_FILE) {
			ag_buf_puts(b, " (");
			put_access(b, ev->target[0].i, ",", false);
			ag_buf_puts(b, ")");
		}
	} else if (ev->hdr.kind == AG_EV_NETWORK) {
		/* address, [judged_as], port, protocol */
		const struct ag_event_field *port = &ev->target[ev->n_target - 3];

		ag_buf_printf(b, strchr(ev->addr[0], ':') ? "[%s]:%llu/%.*s" : "%s:%llu/%.*s",
			      ev->addr[0], (unsigned long long)port->i, (int)port[1].len,
			      port[1].str);
		if (ev->addr[1][0])
			ag_buf_printf(b, " (judged as %s)", ev->addr[1]);
	} else {
		for (i = 0; i < ev->n_target; i++) {
			const struct ag_event_field *f = &ev->target[i];

			ag_buf_printf(b, "%s%s=", i ? " " : "", f->key);
			if (f->type == AG_FIELD_STR)
				ag_text_str(b, f->str, f->len);
			else if (f->type == AG_FIELD_UINT)
				ag_buf_printf(b, "%llu", (unsigned long long)f->i);
			else
				ag_buf_printf(b, "%lld", f->i);
		}
	}
	ag_buf_puts(b, " by ");
	ag_text_str(b, h->comm, strnlen(h->comm, sizeof(h->comm)));
	ag_buf_printf(b, "[%u]: rule ", h->pid);
	if (ev->rule_id) {
		ag_text_str(b, ev->rule_id, strlen(ev->rule_id));
		ag_buf_printf(b, " (layer %s)", ev->rule_layer);
	} else {
		ag_buf_puts(b, "unknown");
	}
}

int ag_event_format(struct ag_event_sink *s, const void *data, size_t size)
{
	struct ag_event ev;
	int err;

	ag_buf_reset(&s->buf);
	err = ag_event_decode(s, data, size, &ev);
	if (err)
		return err;
	ag_event_json(&s->buf, s, &ev);
	return s->buf.oom ? -ENOMEM : 0;
}

/* Hand one decoded event to every selected sink. */
static void dispatch(struct ag_event_sink *s, const struct ag_event *ev)
{
	int err;

	if (s->out) {
		ag_buf_reset(&s->buf);
		if (s->format == AG_EVENTS_OCSF)
			ag_ocsf_format(&s->buf, s, ev);
		else
			ag_event_json(&s->buf, s, ev);
		if (s->buf.oom)
			s->malformed++;
		else
			fwrite(s->buf.p, 1, s->buf.len, s->out);
	}
	if (s->journal) {
		err = ag_journal_send(s, ev);
		if (err) {
			s->journal_failed++;
			s->journal_err = err;
		}
	}
	s->written++;
}

/*
 * Folds (bpf/audit.bpf.c): the kernel reports repeats of a denial as an AG_EV_FOLD record that
 * names the first report's signature. The consumer keeps the last record of each signature
 * (direct-mapped by signature) and writes the repeats as a copy of it with their count, kseq and
 * time. A record no longer here (a restart, or a colliding signature since) becomes a loss
 * event "folded": the count, without the detail.
 */
#define AG_FOLD_CACHE_SLOTS 1024

struct ag_fold_slot {
	__u64 sig;
	size_t size;		/* of the record as it came */
	size_t stored;		/* bytes kept: a file record's path stops at its NUL */
	size_t cap;
	unsigned char *rec;
};

struct ag_fold_cache {
	struct ag_fold_slot slot[AG_FOLD_CACHE_SLOTS];
};

static void fold_remember(struct ag_event_sink *s, const void *data, size_t size)
{
	const struct ag_event_hdr *h = data;
	struct ag_fold_slot *slot;
	size_t keep = size;
	unsigned char *p;

	if (!h->sig)
		return;
	if (!s->fold_cache)
		s->fold_cache = calloc(1, sizeof(*s->fold_cache));
	if (!s->fold_cache)
		return;		/* a later fold of it is then reported as "folded" loss */
	if ((h->kind == AG_EV_FILE || h->kind == AG_EV_EXEC) &&
	    size >= sizeof(struct ag_event_file)) {
		const struct ag_event_file *e = data;

		keep = offsetof(struct ag_event_file, path);
		if (e->path_len > 0 && e->path_len <= AG_PATH_MAX)
			keep += e->path_len;
	}
	slot = &s->fold_cache->slot[h->sig % AG_FOLD_CACHE_SLOTS];
	if (slot->cap < keep) {
		p = realloc(slot->rec, keep);
		if (!p) {
			slot->sig = 0;
			return;
		}
		slot->rec = p;
		slot->cap = keep;
	}
	memcpy(slot->rec, data, keep);
	slot->sig = h->sig;
	slot->size = size;
	slot->stored = keep;
}

static void handle_record(struct ag_event_sink *s, const void *data, size_t size)
{
	struct ag_event ev;

	if (ag_event_decode(s, data, size, &ev)) {
		s->malformed++;
		return;
	}
	dispatch(s, &ev);
}

static void fold_replay(struct ag_event_sink *s, const struct ag_event_fold *f)
{
	const struct ag_fold_slot *slot = NULL;
	struct ag_event_hdr *h;
	struct timespec rt;
	unsigned char *rec;

	if (s->fold_cache)
		slot = &s->fold_cache->slot[f->hdr.sig % AG_FOLD_CACHE_SLOTS];
	if (!slot || slot->sig != f->hdr.sig || !(rec = calloc(1, slot->size))) {
		s->folds_unmatched++;
		clock_gettime(CLOCK_REALTIME, &rt);
		ag_event_sink_loss(s, f->folded_kind, f->hdr.verdict, f->hdr.rule,
				   AG_DROP_FOLDED_UNMATCHED, (unsigned long long)f->hdr.repeats + 1,
				   (long long)rt.tv_sec * 1000000000LL + rt.tv_nsec -
					   (long long)AG_FOLD_WINDOW_NS);
		return;
	}
	memcpy(rec, slot->rec, slot->stored);
	h = (struct ag_event_hdr *)rec;
	h->kseq = f->hdr.kseq;
	h->boot_ns = f->hdr.boot_ns;
	h->repeats = f->hdr.repeats;
	handle_record(s, rec, slot->size);
	free(rec);
}

/*
 * The kernel writes records back to back, each after an 8-byte ring header, and they arrive
 * from the cache of the CPU that denied: start fetching the next record's header, process and
 * the start of its path while this one is formatted (about an eighth of the consumer's time,
 * bench/audit_bench.c). A prefetch never faults; if nothing is there yet it only costs itself.
 */
static void prefetch_next(const void *data, size_t size)
{
	const char *next = (const char *)data + ((size + 7) & ~(size_t)7);
	size_t off;

	for (off = 0; off < BPF_RINGBUF_HDR_SZ + offsetof(struct ag_event_file, path) + 192;
	     off += 64)
		__builtin_prefetch(next + off);
}

int ag_event_sink_handle(void *ctx, void *data, size_t size)
{
	struct ag_event_sink *s = ctx;
	const struct ag_event_hdr *h = data;

	prefetch_next(data, size);
	if (size >= sizeof(struct ag_event_fold) && h->kind == AG_EV_FOLD) {
		fold_replay(s, data);
	} else {
		if (size >= sizeof(*h))
			fold_remember(s, data, size);
		handle_record(s, data, size);
	}
	return s->walk_left && !--s->walk_left ? AG_EVENT_WALK_STOP : 0;
}

void ag_event_sink_loss(struct ag_event_sink *s, __u32 kind, __u8 verdict, __u32 rule,
			__u8 reason, unsigned long long count, long long since_ns)
{
	struct timespec bt;
	struct ag_event ev;
	struct tm tm;
	time_t sec = since_ns / 1000000000LL;
	char date[32];

	memset(&ev, 0, offsetof(struct ag_event, contain));
	clock_gettime(CLOCK_BOOTTIME, &bt);
	ev.hdr.kind = AG_EV_LOSS;
	ev.hdr.verdict = verdict;
	ev.hdr.rule = rule;
	ev.hdr.generation_seq = s->generation;
	ev.hdr.boot_ns = (__u64)bt.tv_sec * 1000000000ULL + bt.tv_nsec;
	ev.synthetic = true;
	ev.kind = "loss";
	ev.operation = reason == AG_DROP_RATE_LIMITED ? "rate-limited" :
		       reason == AG_DROP_FOLDED_UNMATCHED ? "folded" :
		       reason == AG_DROP_UPGRADE ? "upgrade" :
		       reason == AG_DROP_GUEST_MALFORMED ? "guest-malformed" :
		       reason == AG_DROP_GUEST_OVERSIZED ? "guest-oversized" :
		       reason == AG_DROP_GUEST_RATE ? "guest-rate-limited" :
		       reason == AG_DROP_WRITE_FAILED ? "write-failed" : "ring-full";
	ev.seq = next_seq(s);
	decode_time(s, &ev);
	ev.decision = ag_verdict_name(verdict);
	ev.mode = verdict == AG_WOULD_DENY ? "audit" : "enforce";
	decode_rule(s, &ev);
	field_str(&ev, "lost_kind", "LOST_KIND", kind_name(kind) ? kind_name(kind) : "unknown",
		  strlen(kind_name(kind) ? kind_name(kind) : "unknown"));
	field_num(&ev, "count", "COUNT", AG_FIELD_UINT, (long long)count);
	gmtime_r(&sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	field_text(&ev, "since", "SINCE", "%s.%09lldZ", date, since_ns % 1000000000LL);
	dispatch(s, &ev);
}

/*
 * glibc sizes a stream's buffer by st_blksize, 4 KiB for a file: one write() every five or six
 * events, and at a million events a second those system calls cost more than decoding and
 * formatting the events (bench/audit_bench.c). Lines still leave at every fflush, which the
 * daemon does after each poll, so none waits longer than before.
 */
int ag_event_sink_setbuf(struct ag_event_sink *s, FILE *f)
{
	char **b = &s->stream_buf[s->stream_buf_next];

	if (!*b)
		*b = malloc(AG_EVENTS_STREAM_BUF);
	if (!*b)
		return -ENOMEM;
	if (setvbuf(f, *b, _IOFBF, AG_EVENTS_STREAM_BUF))
		return -EINVAL;
	s->stream_buf_next ^= 1;
	return 0;
}

FILE *ag_event_stream_open(const char *path, size_t backlog, struct ag_event_file **ef)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	struct stat st;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || (S_ISREG(st.st_mode) && st.st_nlink != 1)) {
		int err = S_ISREG(st.st_mode) && st.st_nlink != 1 ? EMLINK : errno;

		close(fd);
		errno = err;
		return NULL;
	}
	return ag_event_file_open(fd, backlog, ef);	/* closes fd if it fails */
}

/*
 * The event file's least backlog holds any line this sink writes (event_file.h): at most the
 * path escaped (6 bytes a byte) and in base64, the same for exe and ancestry, and 4 KiB for
 * every other field.
 */
_Static_assert(AG_EVENT_BACKLOG_MIN >
		       (6 + 2) * (AG_PATH_MAX + AG_EXE_MAX + AG_ANCESTRY_MAX * AG_ANCESTOR_MAX) +
			       4096,
	       "--events-backlog's least must hold the longest event line");

int ag_event_sink_sync(struct ag_event_sink *s)
{
	unsigned long long dropped;
	int err;

	if (!s->out)
		return 0;
	/* ferror: a write that failed earlier (unchecked fwrite or fflush) is sticky. */
	if (fflush(s->out) || ferror(s->out))
		return -EIO;
	if (!s->file)
		return 0;
	err = ag_event_file_retry(s->file);
	dropped = ag_event_file_take_dropped(s->file);
	s->file_lost += dropped;
	s->file_unwritten += dropped;
	if (err)
		return err;
	if (s->file_lost) {
		/* It writes again: the loss event follows the lines it kept, in order. */
		ag_event_sink_loss(s, ~0u, AG_DENY, AG_RULE_NONE, AG_DROP_WRITE_FAILED,
				   s->file_lost, s->file_ok_ns);
		s->file_lost = 0;
		if (fflush(s->out) || ferror(s->out))
			return -EIO;
		err = ag_event_file_retry(s->file);
	}
	if (!err)
		s->file_ok_ns = ag_wall_ns();
	return err;
}

int ag_event_sink_flush(struct ag_event_sink *s)
{
	int err = ag_event_sink_sync(s);

	return err ? -EIO : 0;
}

void ag_event_sink_free(struct ag_event_sink *s)
{
	if (s->fold_cache)
		for (size_t i = 0; i < AG_FOLD_CACHE_SLOTS; i++)
			free(s->fold_cache->slot[i].rec);
	free(s->fold_cache);
	s->fold_cache = NULL;
	ag_buf_free(&s->buf);
	ag_buf_free(&s->jbuf);
	ag_buf_free(&s->head);
	ag_buf_free(&s->head_key);
	ag_buf_free(&s->proc_json);
	ag_buf_free(&s->proc_key);
	free(s->stream_buf[0]);
	free(s->stream_buf[1]);
	s->stream_buf[0] = s->stream_buf[1] = NULL;
}

void ag_event_sink_lifecycle(struct ag_event_sink *s, const char *operation, const char *detail)
{
	struct timespec bt;
	struct ag_event ev;

	memset(&ev, 0, offsetof(struct ag_event, contain));
	clock_gettime(CLOCK_BOOTTIME, &bt);
	ev.hdr.kind = AG_EV_LIFECYCLE;
	ev.hdr.rule = AG_RULE_NONE;
	ev.hdr.generation_seq = s->generation;
	ev.hdr.boot_ns = (__u64)bt.tv_sec * 1000000000ULL + bt.tv_nsec;
	ev.synthetic = true;
	ev.kind = "lifecycle";
	ev.operation = operation;
	ev.seq = next_seq(s);
	decode_time(s, &ev);
	ev.decision = "allow";
	ev.mode = "enforce";
	ev.policy_sha256 = s->policy ? s->policy->sha256_hex : "";
	field_str(&ev, "detail", "DETAIL", detail, strlen(detail));
	dispatch(s, &ev);
}

void ag_event_sink_dns(struct ag_event_sink *s, const char *name, const char *address,
		       const char *qtype,
		       const char *rcode, const char *client, const char *transport, __u8 verdict,
		       __u32 rule, __u32 generation)
{
	struct timespec bt;
	struct ag_event ev;

	memset(&ev, 0, offsetof(struct ag_event, contain));
	clock_gettime(CLOCK_BOOTTIME, &bt);
	ev.hdr.kind = AG_EV_DNS;
	ev.hdr.op = AG_OP_DNS_QUERY;
	ev.hdr.verdict = verdict;
	ev.hdr.rule = rule;
	ev.hdr.generation_seq = generation;
	ev.hdr.boot_ns = (__u64)bt.tv_sec * 1000000000ULL + bt.tv_nsec;
	ev.synthetic = true;
	ev.kind = "dns";
	ev.operation = address ? "answer" : "query";
	ev.seq = next_seq(s);
	decode_time(s, &ev);
	ev.decision = ag_verdict_name(verdict);
	ev.mode = verdict == AG_WOULD_DENY ? "audit" : "enforce";
	decode_rule(s, &ev);
	field_str(&ev, "name", "NAME", name, strlen(name));
	if (address)
		field_str(&ev, "address", "ADDRESS", address, strlen(address));
	field_str(&ev, "qtype", "QTYPE", qtype, strlen(qtype));
	field_str(&ev, "rcode", "RCODE", rcode, strlen(rcode));
	field_str(&ev, "client", "CLIENT", client, strlen(client));
	field_str(&ev, "transport", "TRANSPORT", transport, strlen(transport));
	dispatch(s, &ev);
}
