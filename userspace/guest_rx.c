// SPDX-License-Identifier: GPL-2.0
/* A sandbox guest's event stream on the host: framing, strict parsing, rate limit (guest_rx.h). */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "event_file.h"
#include "guest_rx.h"

#define MAX_DEPTH	4		/* event > process > ancestry > entry */
#define MAX_TARGET_KEYS	16
#define MAX_ARRAY	16
#define INT_LIMIT	9007199254740992.0	/* 2^53: beyond it a double is not exact */

void ag_guest_rx_init(struct ag_guest_rx *rx, const char *sandbox_name, double rate, double burst,
		      ag_guest_rx_emit_fn emit, void *ctx)
{
	memset(rx, 0, sizeof(*rx));
	rx->sandbox_name = sandbox_name;
	rx->rate = rate;
	rx->burst = burst;
	rx->tokens = burst;
	rx->emit = emit;
	rx->ctx = ctx;
}

void ag_guest_rx_free(struct ag_guest_rx *rx)
{
	ag_buf_free(&rx->out);
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
static bool utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0, k, need;
	unsigned int cp, min;

	while (i < n) {
		unsigned char c = s[i];

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			need = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			need = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			need = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (n - i - 1 < need)
			return false;
		for (k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += need + 1;
	}
	return true;
}

static bool is_str(const cJSON *j)
{
	return cJSON_IsString(j) && j->valuestring &&
	       utf8_valid((const unsigned char *)j->valuestring, strlen(j->valuestring));
}

/* A string of at most max characters (code points, as JSON Schema counts maxLength). */
static bool is_str_max(const cJSON *j, size_t max)
{
	const unsigned char *s;
	size_t n = 0;

	if (!is_str(j))
		return false;
	for (s = (const unsigned char *)j->valuestring; *s; s++)
		n += (*s & 0xc0) != 0x80;
	return n <= max;
}

static bool is_int(const cJSON *j, double min)
{
	double v;

	if (!cJSON_IsNumber(j))
		return false;
	v = j->valuedouble;
	/* NaN fails every comparison; in range, the cast is exact only for an integer. */
	return v > -INT_LIMIT && v < INT_LIMIT && v >= min && v == (double)(long long)v;
}

static bool is_str_or_null(const cJSON *j)
{
	return cJSON_IsNull(j) || is_str(j);
}

static bool in_set(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (!strcmp(s, *set))
			return true;
	return false;
}

static bool is_enum(const cJSON *j, const char *const *set)
{
	return is_str(j) && in_set(j->valuestring, set);
}

/* Every key of an object appears once, and is one of known (NULL: any key). */
static bool keys_ok(const cJSON *o, const char *const *known, size_t max)
{
	const cJSON *a, *b;
	size_t n = 0;

	cJSON_ArrayForEach(a, o) {
		if (!a->string || !utf8_valid((const unsigned char *)a->string, strlen(a->string)))
			return false;
		if (known && !in_set(a->string, known))
			return false;
		for (b = a->next; b; b = b->next)
			if (b->string && !strcmp(a->string, b->string))
				return false;
		if (++n > max)
			return false;
	}
	return true;
}

/* The object's properties, each present or not as required. */
static bool has_all(const cJSON *o, const char *const *required)
{
	for (; *required; required++)
		if (!cJSON_GetObjectItemCaseSensitive(o, *required))
			return false;
	return true;
}

#define GET(o, k) cJSON_GetObjectItemCaseSensitive((o), (k))

/* "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" */
static bool is_time(const cJSON *j)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddddddddZ";
	const char *s;
	size_t i;

	if (!is_str(j))
		return false;
	s = j->valuestring;
	if (strlen(s) != sizeof(shape) - 1)
		return false;
	for (i = 0; shape[i]; i++) {
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return false;
	}
	return true;
}

static bool identity_ok(const cJSON *j)
{
	static const char *const keys[] = { "uid", "gid", "user", "operator", NULL };

	if (cJSON_IsNull(j))
		return true;
	return cJSON_IsObject(j) && keys_ok(j, keys, 4) && has_all(j, keys) &&
	       is_int(GET(j, "uid"), 0) && is_int(GET(j, "gid"), 0) &&
	       is_str_or_null(GET(j, "user")) && is_str_or_null(GET(j, "operator"));
}

static bool ancestry_ok(const cJSON *j)
{
	static const char *const keys[] = { "cut", "exe", "exe_b64", NULL };
	static const char *const req[] = { "cut", "exe", NULL };
	const cJSON *e, *b64;
	int n = 0;

	if (cJSON_IsNull(j))
		return true;
	if (!cJSON_IsArray(j))
		return false;
	cJSON_ArrayForEach(e, j) {
		if (++n > 4 || !cJSON_IsObject(e) || !keys_ok(e, keys, 3) || !has_all(e, req) ||
		    !cJSON_IsBool(GET(e, "cut")) || !is_str(GET(e, "exe")))
			return false;
		b64 = GET(e, "exe_b64");
		if (b64 && !is_str(b64))
			return false;
	}
	return true;
}

static bool process_ok(const cJSON *j)
{
	static const char *const keys[] = { "pid", "tid", "ppid", "cgroup_id", "comm", "exe",
					    "exe_b64", "exe_cut", "ancestry", "ancestry_complete",
					    NULL };
	static const char *const req[] = { "pid", "tid", "ppid", "cgroup_id", "comm", "exe",
					   "exe_cut", "ancestry", "ancestry_complete", NULL };
	const cJSON *ppid, *b64;

	if (cJSON_IsNull(j))
		return true;
	if (!cJSON_IsObject(j) || !keys_ok(j, keys, 10) || !has_all(j, req))
		return false;
	ppid = GET(j, "ppid");
	b64 = GET(j, "exe_b64");
	return is_int(GET(j, "pid"), 0) && is_int(GET(j, "tid"), 0) &&
	       (cJSON_IsNull(ppid) || is_int(ppid, 0)) && is_int(GET(j, "cgroup_id"), 0) &&
	       is_str_max(GET(j, "comm"), 16) && is_str_or_null(GET(j, "exe")) &&
	       (!b64 || is_str(b64)) &&
	       cJSON_IsBool(GET(j, "exe_cut")) && ancestry_ok(GET(j, "ancestry")) &&
	       cJSON_IsBool(GET(j, "ancestry_complete"));
}

static bool rule_ok(const cJSON *j)
{
	static const char *const keys[] = { "id", "layer", NULL };
	static const char *const layers[] = { "org", "team", "local", "builtin", NULL };
	const cJSON *layer;

	if (!cJSON_IsObject(j) || !keys_ok(j, keys, 2) || !has_all(j, keys))
		return false;
	layer = GET(j, "layer");
	return is_str_or_null(GET(j, "id")) && (cJSON_IsNull(layer) || is_enum(layer, layers));
}

/* "": the consumer did not know the policy; else 64 lower-case hex digits. */
static bool is_sha256(const cJSON *j)
{
	size_t n, i;

	if (!is_str(j))
		return false;
	n = strlen(j->valuestring);
	if (n != 0 && n != 64)
		return false;
	for (i = 0; i < n; i++)
		if (!strchr("0123456789abcdef", j->valuestring[i]))
			return false;
	return true;
}

static bool policy_ok(const cJSON *j)
{
	static const char *const keys[] = { "name", "sha256", "generation", NULL };

	return cJSON_IsObject(j) && keys_ok(j, keys, 3) && has_all(j, keys) &&
	       is_str_or_null(GET(j, "name")) && is_sha256(GET(j, "sha256")) &&
	       is_int(GET(j, "generation"), 0);
}

/* Every byte of a non-empty string (min 1) or any string (min 0) is in set. */
static bool str_of(const cJSON *j, const char *set, size_t min)
{
	return is_str(j) && strlen(j->valuestring) >= min &&
	       strspn(j->valuestring, set) == strlen(j->valuestring);
}

#define B64_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

/* ^[A-Za-z0-9+/]*={0,2}$ */
static bool is_b64(const cJSON *j)
{
	size_t n;

	if (!is_str(j))
		return false;
	n = strspn(j->valuestring, B64_CHARS);
	return strspn(j->valuestring + n, "=") <= 2 &&
	       n + strspn(j->valuestring + n, "=") == strlen(j->valuestring);
}

static bool is_addr(const cJSON *j, int family)
{
	unsigned char a[16];

	return is_str(j) && inet_pton(family, j->valuestring, a) == 1;
}

/* $defs/file_target: kinds file and exec. */
static bool file_target_ok(const cJSON *t)
{
	static const char *const keys[] = { "access", "path", "path_b64", "path_error", NULL };
	static const char *const req[] = { "access", "path", NULL };
	static const char *const accesses[] = { "read", "write", "exec", NULL };
	const cJSON *acc = GET(t, "access"), *path = GET(t, "path"), *e, *f;
	const cJSON *b64 = GET(t, "path_b64"), *err = GET(t, "path_error");

	if (!keys_ok(t, keys, 4) || !has_all(t, req) || !cJSON_IsArray(acc) ||
	    cJSON_GetArraySize(acc) < 1)
		return false;
	cJSON_ArrayForEach(e, acc) {
		if (!is_enum(e, accesses))
			return false;
		for (f = e->next; f; f = f->next)	/* uniqueItems */
			if (cJSON_IsString(f) && !strcmp(e->valuestring, f->valuestring))
				return false;
	}
	if ((b64 && !is_b64(b64)) || (err && !is_int(err, 0)))
		return false;
	/* A path, or null with the reason; never both, and no bytes of a path that is not there. */
	if (cJSON_IsNull(path))
		return err && !b64;
	return is_str(path) && !err;
}

/* $defs/network_target. */
static bool network_target_ok(const cJSON *t)
{
	static const char *const keys[] = { "address", "judged_as", "port", "protocol", "family",
					    "domain", NULL };
	static const char *const req[] = { "address", "port", "protocol", "family", NULL };
	static const char *const protos[] = { "tcp", "udp", "other", NULL };
	static const char *const families[] = { "ipv4", "ipv6", NULL };
	const cJSON *addr = GET(t, "address"), *judged = GET(t, "judged_as");
	const cJSON *port = GET(t, "port"), *fam = GET(t, "family"), *dom = GET(t, "domain");

	if (!keys_ok(t, keys, 6) || !has_all(t, req))
		return false;
	if (!(is_addr(addr, AF_INET) || is_addr(addr, AF_INET6)) ||
	    !is_int(port, 0) || port->valuedouble > 65535 ||
	    !is_enum(GET(t, "protocol"), protos) || !is_enum(fam, families))
		return false;
	if (dom && !(is_str(dom) && dom->valuestring[0]))
		return false;
	return !judged || (is_addr(judged, AF_INET) && !strcmp(fam->valuestring, "ipv6"));
}

/* $defs/dns_target; address with operation answer only, and then required. */
static bool dns_target_ok(const cJSON *t, bool answer)
{
	static const char *const keys[] = { "name", "qtype", "rcode", "client", "transport",
					    "address", NULL };
	static const char *const req[] = { "name", "qtype", "rcode", "client", "transport",
					   NULL };
	static const char *const rcodes[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
					      "NOTIMP", "REFUSED", "OTHER", NULL };
	static const char *const transports[] = { "udp", "tcp", NULL };
	const cJSON *name = GET(t, "name"), *qtype = GET(t, "qtype");
	const char *q;
	size_t i;

	const cJSON *addr = GET(t, "address");

	if (answer ? !(is_addr(addr, AF_INET) || is_addr(addr, AF_INET6)) : addr != NULL)
		return false;
	if (!keys_ok(t, keys, 6) || !has_all(t, req) || !is_str(name) || !is_str(qtype) ||
	    !is_enum(GET(t, "rcode"), rcodes) || !is_enum(GET(t, "transport"), transports) ||
	    !(is_str(GET(t, "client")) && GET(t, "client")->valuestring[0]))
		return false;
	for (i = 0; name->valuestring[i]; i++)	/* ^[\x20-\x7e]*$ */
		if (name->valuestring[i] < 0x20 || name->valuestring[i] > 0x7e)
			return false;
	/* ^([A-Z]+|TYPE[0-9]+)$ */
	q = qtype->valuestring;
	if (!strncmp(q, "TYPE", 4) && q[4] && strspn(q + 4, "0123456789") == strlen(q + 4))
		return true;
	return q[0] && strspn(q, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == strlen(q);
}

/* $defs/loss_target. */
static bool loss_target_ok(const cJSON *t)
{
	static const char *const keys[] = { "lost_kind", "count", "since", NULL };
	static const char *const kinds[] = { "file", "exec", "network", "containment", "unknown",
					     NULL };

	return keys_ok(t, keys, 3) && has_all(t, keys) && is_enum(GET(t, "lost_kind"), kinds) &&
	       is_int(GET(t, "count"), 1) && is_str(GET(t, "since"));
}

/* $defs/lifecycle_target. */
static bool lifecycle_target_ok(const cJSON *t)
{
	static const char *const keys[] = { "detail", NULL };

	return keys_ok(t, keys, 1) && has_all(t, keys) && is_str(GET(t, "detail"));
}

/* Key names as the schema's containment targets spell them: [a-z0-9_]{1,32}. */
static bool target_key_ok(const char *k)
{
	size_t n = strlen(k), i;

	if (n < 1 || n > 32)
		return false;
	for (i = 0; i < n; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
			return false;
	return true;
}

/*
 * A containment target's fields depend on its operation ($defs/containment_target, 30
 * operations): that table is not repeated here. What is checked: every value is a string, an
 * exact integer, a boolean, null, or an array of at most 16 strings.
 */
static bool containment_target_ok(const cJSON *j)
{
	const cJSON *v, *e;
	int n;

	if (!keys_ok(j, NULL, MAX_TARGET_KEYS))
		return false;
	cJSON_ArrayForEach(v, j) {
		if (!target_key_ok(v->string))
			return false;
		if (is_str(v) || is_int(v, -INT_LIMIT) || cJSON_IsBool(v) || cJSON_IsNull(v))
			continue;
		if (!cJSON_IsArray(v))
			return false;
		n = 0;
		cJSON_ArrayForEach(e, v)
			if (++n > MAX_ARRAY || !is_str(e))
				return false;
	}
	return true;
}

static const char *const file_ops[] = { "open", "receive", "mknod", "mkdir", "rmdir", "unlink",
					 "symlink", "link", "rename", "truncate", "chmod", "chown",
					 "setattr", "setxattr", "removexattr", "setacl",
					 "removeacl", "unknown", NULL };
/* File operations without an open: judged as a write of the path. */
static const char *const path_ops[] = { "mknod", "mkdir", "rmdir", "unlink", "symlink", "link",
					 "rename", "truncate", "chmod", "chown", "setattr",
					 "setxattr", "removexattr", "setacl", "removeacl", NULL };
static const char *const exec_ops[] = { "exec", "execve", "mmap", "mprotect", NULL };
static const char *const net_ops[] = { "connect", "sendmsg", "bind", "listen", "egress-drop",
					NULL };
static const char *const contain_ops[] = {
	"capable", "cgroup-write", "clone-into-cgroup", "userns-create", "mount", "move-mount",
	"pivot-root", "chroot", "umount", "module-request", "kernel-read-file", "kernel-load-data",
	"bpf", "perf-event-open", "ptrace", "signal", "sigio", "fcntl-setown", "task-change",
	"protected-write", "protected-unlink", "kernel-interface-access", "unix-connect",
	"unix-send", "fd-receive", "sysctl-write", "device", "socket-create", "setsockopt",
	"unknown", NULL };
/* The host's event file must be able to hold any guest line it relays (event_file.h). */
_Static_assert(AG_GUEST_LINE_MAX + 1 < AG_EVENT_BACKLOG_MIN,
	       "--events-backlog's least must hold a guest line");

static const char *const loss_ops[] = { "ring-full", "rate-limited", "folded", "upgrade",
					 "guest-malformed", "guest-oversized",
					 "guest-rate-limited", "write-failed", NULL };
static const char *const life_ops[] = { "start", "reload", "stop", NULL };

static bool str_is(const cJSON *j, const char *s)
{
	return cJSON_IsString(j) && !strcmp(j->valuestring, s);
}

/* Is the only write access of a file target "write" (a path operation's)? */
static bool access_is_write(const cJSON *t)
{
	const cJSON *acc = GET(t, "access");

	return cJSON_GetArraySize(acc) == 1 && str_is(cJSON_GetArrayItem(acc, 0), "write");
}

/*
 * The schema's per-kind branches (its allOf): the operation, the target's fields, and what a
 * kind made by the consumer (dns, loss, lifecycle) has instead of a process.
 */
static bool kind_ok(const cJSON *ev)
{
	const char *kind = GET(ev, "kind")->valuestring, *op = GET(ev, "operation")->valuestring;
	const cJSON *t = GET(ev, "target"), *rule = GET(ev, "rule");
	const char *decision = GET(ev, "decision")->valuestring;
	bool consumer = !strcmp(kind, "dns") || !strcmp(kind, "loss") ||
			!strcmp(kind, "lifecycle");

	if (!cJSON_IsObject(t))
		return false;
	if (consumer) {
		if (!cJSON_IsNull(GET(ev, "kseq")) || !cJSON_IsNull(GET(ev, "process")) ||
		    !cJSON_IsNull(GET(ev, "identity")))
			return false;
	} else if (!cJSON_IsNumber(GET(ev, "kseq")) || !cJSON_IsObject(GET(ev, "process")) ||
		   !cJSON_IsObject(GET(ev, "identity"))) {
		return false;
	}
	if (!strcmp(kind, "file"))
		return in_set(op, file_ops) && file_target_ok(t) &&
		       (!in_set(op, path_ops) || access_is_write(t));
	if (!strcmp(kind, "exec"))
		return in_set(op, exec_ops) && file_target_ok(t);
	if (!strcmp(kind, "network"))
		return in_set(op, net_ops) && network_target_ok(t);
	if (!strcmp(kind, "containment"))
		return in_set(op, contain_ops) && !strcmp(decision, "deny") &&
		       str_is(GET(rule, "layer"), "builtin") && containment_target_ok(t);
	if (!strcmp(kind, "dns"))
		return (!strcmp(op, "query") || !strcmp(op, "answer")) &&
		       strcmp(decision, "allow") && dns_target_ok(t, !strcmp(op, "answer"));
	if (!strcmp(kind, "loss"))
		return in_set(op, loss_ops) && loss_target_ok(t);
	/* lifecycle */
	return in_set(op, life_ops) && !strcmp(decision, "allow") &&
	       cJSON_IsNull(GET(rule, "id")) && lifecycle_target_ok(t);
}

/*
 * The schema's cross-field rules on rule, policy and process (its allOf), after kind_ok.
 */
static bool rule_cross_ok(const cJSON *ev)
{
	static const char *const own_file_ops[] = { "open", "setattr", "setxattr", "removexattr",
						    "setacl", "removeacl", NULL };
	static const char *const xattr_ops[] = { "setxattr", "removexattr", NULL };
	const char *kind = GET(ev, "kind")->valuestring, *op = GET(ev, "operation")->valuestring;
	const cJSON *rule = GET(ev, "rule"), *id = GET(rule, "id"), *proc = GET(ev, "process");
	const cJSON *pname = GET(GET(ev, "policy"), "name");
	bool no_ppid, own, xattr;

	/* would-deny is audit, anything else enforce. */
	if (strcmp(GET(ev, "mode")->valuestring,
		   str_is(GET(ev, "decision"), "would-deny") ? "audit" : "enforce"))
		return false;
	/* No rule: no layer and no policy name. */
	if (cJSON_IsNull(id) && (!cJSON_IsNull(GET(rule, "layer")) || !cJSON_IsNull(pname)))
		return false;
	/* Built-in rules: "builtin:NAME", no policy name, and only where one can decide. */
	if (str_is(GET(rule, "layer"), "builtin")) {
		if (!str_of(id, "abcdefghijklmnopqrstuvwxyz-:", 9) ||
		    strncmp(id->valuestring, "builtin:", 8) || strchr(id->valuestring + 8, ':') ||
		    !cJSON_IsNull(pname))
			return false;
		own = in_set(op, own_file_ops) && str_is(id, "builtin:protected-files");
		xattr = in_set(op, xattr_ops) && str_is(id, "builtin:privileged-xattr");
		if (!strcmp(kind, "file") ? !own && !xattr :
		    strcmp(kind, "containment") && strcmp(kind, "network") && strcmp(kind, "dns"))
			return false;
	}
	/* The kernel cannot see the parent of a network, device or sysctl-write event's task. */
	if (cJSON_IsObject(proc)) {
		no_ppid = !strcmp(kind, "network") || !strcmp(op, "device") ||
			  !strcmp(op, "sysctl-write");
		if (no_ppid != cJSON_IsNull(GET(proc, "ppid")))
			return false;
	}
	return true;
}

static bool event_ok(const cJSON *ev)
{
	static const char *const keys[] = { "schema_version", "seq", "kseq", "time", "host",
					    "session", "sandbox", "backend", "identity", "process",
					    "kind", "operation", "target", "repeats", "decision",
					    "mode", "rule", "policy", NULL };
	/* The guest daemon (this same build) labels its own events "host"; ours say "guest". */
	static const char *const known[] = { "schema_version", "seq", "kseq", "time", "host",
					     "session", "sandbox", "backend", "identity", "process",
					     "kind", "operation", "target", "repeats", "decision",
					     "mode", "rule", "policy", "origin", NULL };
	static const char *const guest_origin[] = { "host", NULL };
	static const char *const backends[] = { "bpf-lsm", "landlock", NULL };
	static const char *const kinds[] = { "file", "exec", "network", "dns", "containment",
					     "loss", "lifecycle", NULL };
	static const char *const decisions[] = { "deny", "would-deny", "allow", NULL };
	static const char *const modes[] = { "enforce", "audit", NULL };
	const cJSON *v, *kseq, *origin;

	if (!cJSON_IsObject(ev) || !keys_ok(ev, known, 19) || !has_all(ev, keys))
		return false;
	origin = GET(ev, "origin");
	if (origin && !is_enum(origin, guest_origin))
		return false;
	v = GET(ev, "schema_version");
	kseq = GET(ev, "kseq");
	return is_int(v, 1) && v->valuedouble == 1 && is_int(GET(ev, "seq"), 1) &&
	       (cJSON_IsNull(kseq) || is_int(kseq, 0)) && is_time(GET(ev, "time")) &&
	       is_str(GET(ev, "host")) && is_str(GET(ev, "session")) &&
	       is_str(GET(ev, "sandbox")) && is_enum(GET(ev, "backend"), backends) &&
	       identity_ok(GET(ev, "identity")) && process_ok(GET(ev, "process")) &&
	       is_enum(GET(ev, "kind"), kinds) && is_str(GET(ev, "operation")) &&
	       is_int(GET(ev, "repeats"), 0) && is_enum(GET(ev, "decision"), decisions) &&
	       is_enum(GET(ev, "mode"), modes) && rule_ok(GET(ev, "rule")) &&
	       policy_ok(GET(ev, "policy")) && kind_ok(ev) && rule_cross_ok(ev);
}

int ag_guest_rx_parse(const char *line, size_t len, cJSON **out)
{
	const char *end = NULL;
	cJSON *ev;

	*out = NULL;
	/*
	 * A NUL would end cJSON's strings early: the record would say less than it carries. That
	 * holds for an escaped one too (cJSON decodes \u0000 to a NUL and the string ends there),
	 * so that spelling is refused as well (also where it is only text after "\\": fail closed).
	 */
	if (memchr(line, '\0', len) || line[len] != '\0' || memmem(line, len, "\\u0000", 6))
		return -EINVAL;
	ev = cJSON_ParseWithOpts(line, &end, 1);
	if (!ev)
		return -EINVAL;
	if (!event_ok(ev)) {
		cJSON_Delete(ev);
		return -EINVAL;
	}
	*out = ev;
	return 0;
}

/* The checked value, written by our own JSON writer: only what was parsed goes out. */
static void put_value(struct ag_buf *b, const cJSON *j, int depth)
{
	const cJSON *e;
	bool first = true;

	if (cJSON_IsString(j)) {
		ag_json_str(b, j->valuestring, strlen(j->valuestring));
	} else if (cJSON_IsNumber(j)) {
		ag_buf_i64(b, (long long)j->valuedouble);
	} else if (cJSON_IsTrue(j)) {
		ag_buf_lit(b, "true");
	} else if (cJSON_IsFalse(j)) {
		ag_buf_lit(b, "false");
	} else if (cJSON_IsArray(j) && depth < MAX_DEPTH) {
		ag_buf_lit(b, "[");
		cJSON_ArrayForEach(e, j) {
			if (!first)
				ag_buf_lit(b, ",");
			first = false;
			put_value(b, e, depth + 1);
		}
		ag_buf_lit(b, "]");
	} else if (cJSON_IsObject(j) && depth < MAX_DEPTH) {
		ag_buf_lit(b, "{");
		cJSON_ArrayForEach(e, j) {
			if (!first)
				ag_buf_lit(b, ",");
			first = false;
			ag_json_str(b, e->string, strlen(e->string));
			ag_buf_lit(b, ":");
			put_value(b, e, depth + 1);
		}
		ag_buf_lit(b, "}");
	} else {
		ag_buf_lit(b, "null");
	}
}

void ag_guest_rx_format(struct ag_buf *b, const cJSON *ev, const char *sandbox_name)
{
	const cJSON *e;

	ag_buf_lit(b, "{");
	cJSON_ArrayForEach(e, ev) {
		if (!strcmp(e->string, "origin"))
			continue;
		ag_json_str(b, e->string, strlen(e->string));
		ag_buf_lit(b, ":");
		put_value(b, e, 1);
		ag_buf_lit(b, ",");
	}
	ag_buf_lit(b, "\"origin\":\"guest\",\"sandbox_name\":");
	ag_json_str(b, sandbox_name, strlen(sandbox_name));
	ag_buf_lit(b, "}\n");
}

/*
 * The token bucket charges a record by its size: one token, and one more per
 * AG_GUEST_TOKEN_BYTES, so lines of the largest size cannot multiply what the host writes.
 */
static bool admit(struct ag_guest_rx *rx, long long now_ns, size_t len)
{
	double cost = 1.0 + (double)(len / AG_GUEST_TOKEN_BYTES);

	if (rx->last_ns && now_ns > rx->last_ns)
		rx->tokens += (double)(now_ns - rx->last_ns) / 1e9 * rx->rate;
	if (now_ns > rx->last_ns)
		rx->last_ns = now_ns;
	if (rx->tokens > rx->burst)
		rx->tokens = rx->burst;
	if (rx->tokens < cost)
		return false;
	rx->tokens -= cost;
	return true;
}

static void handle_line(struct ag_guest_rx *rx, long long now_ns)
{
	cJSON *ev = NULL;

	rx->line[rx->len] = '\0';
	if (ag_guest_rx_parse(rx->line, rx->len, &ev)) {
		rx->st.malformed++;
		return;
	}
	if (!admit(rx, now_ns, rx->len)) {
		rx->st.rate_limited++;
		goto cleanup;
	}
	ag_buf_reset(&rx->out);
	ag_guest_rx_format(&rx->out, ev, rx->sandbox_name);
	if (rx->out.oom) {
		rx->st.malformed++;
		goto cleanup;
	}
	rx->st.accepted++;
	if (rx->emit)
		rx->emit(rx->ctx, rx->out.p, rx->out.len, ev);

cleanup:
	cJSON_Delete(ev);
}

void ag_guest_rx_feed(struct ag_guest_rx *rx, const char *data, size_t n, long long now_ns)
{
	const char *nl;
	size_t take;

	while (n) {
		nl = memchr(data, '\n', n);
		take = nl ? (size_t)(nl - data) : n;
		if (!rx->skipping) {
			if (rx->len + take > AG_GUEST_LINE_MAX) {
				/* Too long: one count for the whole line, whatever its length. */
				rx->st.oversized++;
				rx->skipping = true;
				rx->len = 0;
			} else {
				memcpy(rx->line + rx->len, data, take);
				rx->len += take;
			}
		}
		if (!nl)
			return;
		if (!rx->skipping && rx->len)
			handle_line(rx, now_ns);
		rx->skipping = false;
		rx->len = 0;
		data = nl + 1;
		n -= take + 1;
	}
}

void ag_guest_rx_finish(struct ag_guest_rx *rx)
{
	if (!rx->skipping && rx->len)
		rx->st.malformed++;
	rx->skipping = false;
	rx->len = 0;
}
