// SPDX-License-Identifier: GPL-2.0
/*
 * agentguard explain: what would the kernel decide? Compiles the policies exactly as load does
 * and judges one access with the same tables and the same value helpers the BPF programs use.
 * Paths are judged as the kernel sees them: symlinks in the existing part resolved, "." and
 * ".." folded. Prints "allow", "deny" or "would-deny" first, then the rule and its layer.
 *
 * Connections and names also depend on what a running sandbox's resolver has learned. When
 * the policies given are the ones in force under --pin-dir (checked against the copies in
 * --state-dir), --connect and --resolve read the pinned resolver path and learned bindings
 * (pinned.h) and decide as that kernel would; otherwise they say that the answer is the
 * policy's alone, and why.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "compile.h"
#include "json.h"
#include "loader.h"
#include "log.h"
#include "pinned.h"
#include "policy.h"
#include "policy_store.h"

/* Fold "//", "." and ".." lexically; in must be absolute. */
static int normalise(const char *in, char *out, size_t len)
{
	size_t o = 0;
	const char *p = in;

	if (*p != '/')
		return -EINVAL;
	while (*p) {
		const char *seg;
		size_t n;

		while (*p == '/')
			p++;
		seg = p;
		while (*p && *p != '/')
			p++;
		n = p - seg;
		if (n == 0 || (n == 1 && seg[0] == '.'))
			continue;
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			continue;
		}
		if (o + 1 + n + 1 > len)
			return -ENAMETOOLONG;
		out[o++] = '/';
		memcpy(out + o, seg, n);
		o += n;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return 0;
}

/*
 * The path the kernel would see: resolve the longest existing prefix with realpath(3) (so
 * symlinks count as the kernel counts them), then append the rest.
 */
static int kernel_path(const char *in, char *out, size_t len)
{
	char norm[PATH_MAX], head[PATH_MAX], real[PATH_MAX];
	size_t cut;
	int err;

	err = normalise(in, norm, sizeof(norm));
	if (err)
		return err;
	snprintf(head, sizeof(head), "%s", norm);
	cut = strlen(head);
	for (;;) {
		if (realpath(head, real)) {
			if (snprintf(out, len, "%s/%s", real, norm + cut) >= (int)len)
				return -ENAMETOOLONG;
			return normalise(out, out, len);
		}
		while (cut > 1 && head[cut - 1] != '/')
			cut--;
		if (cut <= 1)
			break;
		head[--cut] = '\0';
	}
	return normalise(norm, out, len);
}

/*
 * The path a rename, rmdir, unlink or symlink of in names: its directory resolved as the
 * kernel would, its last component kept (a symlink there is itself the object).
 */
static int kernel_name_path(const char *in, char *out, size_t len)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(in, '/'), *last = slash ? slash + 1 : in;
	size_t n;
	int err;

	if (!slash || !*last || !strcmp(last, ".") || !strcmp(last, ".."))
		return kernel_path(in, out, len);
	if (snprintf(dir, sizeof(dir), "%.*s", (int)(slash - in), in) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	err = kernel_path(slash == in ? "/" : dir, out, len);
	if (err)
		return err;
	n = strlen(out);
	if (snprintf(out + n, len - n, "%s%s", strcmp(out, "/") ? "/" : "", last) >= (int)(len - n))
		return -ENAMETOOLONG;
	return 0;
}

/* "1.2.3.4:443/tcp", "[2001:db8::1]:443/udp"; the protocol defaults to tcp. */
static int parse_connect(const char *s, __u8 addr[16], __u16 *port, __u8 *proto)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *slash;
	unsigned long p;
	char *end;

	slash = strchr(s, '/');
	*proto = AG_NET_TCP;
	if (slash && !strcmp(slash + 1, "udp"))
		*proto = AG_NET_UDP;
	else if (slash && strcmp(slash + 1, "tcp"))
		return -EINVAL;
	if (s[0] == '[') {
		colon = strstr(s, "]:");
		if (!colon || (size_t)(colon - s - 1) >= sizeof(host))
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - s - 1), s + 1);
		colon++;
	} else {
		colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= sizeof(host))
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
	}
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (errno || end == colon + 1 || (*end && *end != '/') || p > 65535)
		return -EINVAL;
	*port = p;
	memset(addr, 0, 16);
	if (s[0] != '[' && inet_pton(AF_INET, host, addr + 12) == 1) {
		addr[10] = addr[11] = 0xff;
		return 0;
	}
	if (s[0] == '[' && inet_pton(AF_INET6, host, addr) == 1)
		return 0;
	return -EINVAL;
}

static void print_result(const struct ag_compiled *c, enum ag_verdict v, __u32 rule,
			 const char *what, bool json)
{
	const struct ag_rule_ref *r = rule < c->n_rules ? &c->rules[rule] : NULL;
	struct ag_buf b = {};

	if (!json) {
		printf("%s", ag_verdict_name(v));
		if (r && r->pos.line)
			printf("  rule %s  layer %s  policy %s (%s:%u)", r->id,
			       ag_layer_name(r->layer), r->policy->name, r->policy->file,
			       r->pos.line);
		else if (r)
			printf("  rule %s  layer %s  policy %s (%s, default)", r->id,
			       ag_layer_name(r->layer), r->policy->name, r->policy->file);
		printf("  %s\n", what);
		return;
	}
	ag_buf_printf(&b, "{\"decision\":\"%s\",\"target\":", ag_verdict_name(v));
	ag_json_str(&b, what, strlen(what));
	ag_buf_puts(&b, ",\"rule\":");
	if (r) {
		ag_buf_puts(&b, "{\"id\":");
		ag_json_str(&b, r->id, strlen(r->id));
		ag_buf_printf(&b, ",\"layer\":\"%s\",\"file\":", ag_layer_name(r->layer));
		ag_json_str(&b, r->policy->file, strlen(r->policy->file));
		ag_buf_printf(&b, ",\"line\":%u},\"policy\":{\"name\":", r->pos.line);
		ag_json_str(&b, r->policy->name, strlen(r->policy->name));
		ag_buf_printf(&b, ",\"sha256\":\"%s\"}}\n", c->sha256_hex);
	} else {
		ag_buf_printf(&b, "null,\"policy\":{\"sha256\":\"%s\"}}\n", c->sha256_hex);
	}
	fputs(b.p ? b.p : "", stdout);
	ag_buf_free(&b);
}

/* A decision by a built-in rule (docs/containment.md), which has no file or line. */
static void print_builtin(enum ag_verdict v, const char *id, const char *what, bool json)
{
	struct ag_buf b = {};

	if (!json) {
		printf("%s  rule builtin:%s  layer builtin  %s\n", ag_verdict_name(v), id, what);
		return;
	}
	ag_buf_printf(&b, "{\"decision\":\"%s\",\"target\":", ag_verdict_name(v));
	ag_json_str(&b, what, strlen(what));
	ag_buf_printf(&b, ",\"rule\":{\"id\":\"builtin:%s\",\"layer\":\"builtin\"}}\n", id);
	fputs(b.p ? b.p : "", stdout);
	ag_buf_free(&b);
}

/* A host name as the resolver compares it: lower case, no trailing dot. */
static int normalise_name(const char *in, char *out, size_t len)
{
	size_t n = strlen(in), i;

	if (n && in[n - 1] == '.')
		n--;
	if (!n || n >= len)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		char ch = in[i];

		if (ch >= 'A' && ch <= 'Z')
			ch += 32;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		      ch == '_' || ch == '.') || (ch == '.' && (i == 0 || in[i - 1] == '.')))
			return -EINVAL;
		out[i] = ch;
	}
	out[n] = '\0';
	return 0;
}

/* An address as explain prints it; addr as in ag_net_key (IPv4 as ::ffff:a.b.c.d). */
static void addr_str(char *out, size_t len, const __u8 addr[16])
{
	static const __u8 mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (!memcmp(addr, mapped, sizeof(mapped)))
		inet_ntop(AF_INET, addr + 12, out, len);
	else
		inet_ntop(AF_INET6, addr, out, len);
}

/* addr:port/proto as explain prints it. */
static void addr_port_str(char *out, size_t len, const __u8 addr[16], __u16 port, __u8 proto)
{
	char a[INET6_ADDRSTRLEN];

	addr_str(a, sizeof(a), addr);
	snprintf(out, len, "%s port %u/%s", a, port, proto == AG_NET_TCP ? "tcp" : "udp");
}

/* Append printf-style text to the string in buf (len bytes), truncating. */
static void __attribute__((format(printf, 3, 4))) append(char *buf, size_t len, const char *fmt,
							  ...)
{
	size_t n = strlen(buf);
	va_list ap;

	if (n + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
}

/* ---- a running sandbox ------------------------------------------------------------------ */

/* The pins of the sandbox explain judges for, or why the answer is the policy's alone. */
struct live_view {
	struct ag_pinned p;
	bool on;
	char why_not[600];
};

/*
 * Use the pins under pin_dir only if the generation in force there was installed from exactly
 * the files given (their copies in state_dir): the learned values hold rule numbers of that
 * compilation, and the rest of the decision comes from the files given.
 */
static void live_open(struct live_view *lv, const char *pin_dir, const char *state_dir,
		      struct ag_policy *const *pols, int n)
{
	int err = ag_pinned_open(pin_dir, &lv->p), dirfd = -1, same = 0;
	__u32 gen = lv->p.live.state.generation_seq;

	if (err == -ENOENT) {
		snprintf(lv->why_not, sizeof(lv->why_not), "no enforcement pinned at %s", pin_dir);
		return;
	}
	if (err) {
		snprintf(lv->why_not, sizeof(lv->why_not), "cannot read the pins at %s: %s",
			 pin_dir, strerror(-err));
		return;
	}
	dirfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	same = dirfd < 0 ? -errno : ag_policy_store_same(dirfd, gen, pols, n);
	if (dirfd >= 0)
		close(dirfd);
	if (same < 0)
		snprintf(lv->why_not, sizeof(lv->why_not),
			 "cannot read the policy of generation %u in %s: %s", gen, state_dir,
			 strerror(-same));
	else if (!same)
		snprintf(lv->why_not, sizeof(lv->why_not),
			 "the policy in force at %s (generation %u) is not the one given", pin_dir,
			 gen);
	else
		lv->on = true;
}

/* Whole seconds from now until ns (rounded up), 0 if past. */
static unsigned long long secs_until(const struct live_view *lv, __u64 ns)
{
	__u64 now = lv->p.live.now_ns;

	return ns > now ? (ns - now + 999999999ull) / 1000000000ull : 0;
}

/* The binding's names whose own expiry has not passed, ", "-separated, into out. */
static void binding_names(const struct live_view *lv, const struct ag_dns_learned *e, char *out,
			  size_t len)
{
	char name[AG_DNS_NAME_LEN];
	__u32 i;

	out[0] = '\0';
	for (i = 0; i < e->n_names && i < AG_DNS_NAMES; i++) {
		if (e->names[i].expiry_ns <= lv->p.live.now_ns)
			continue;
		append(out, len, "%s%s", out[0] ? ", " : "",
		       ag_pinned_name(&lv->p, e->names[i].name_id, name, sizeof(name)) ?:
			       "a name no longer known");
	}
	if (!out[0])
		snprintf(out, len, "no name still live");
}

/* What the live sandbox's resolver and bindings did to a connect decision, appended to what. */
static void live_connect_text(const struct live_view *lv, const struct ag_compiled *c,
			      enum ag_verdict v, __u32 rule, const struct ag_net_why *w,
			      char *what, size_t len)
{
	const struct ag_dns_learned *e = &w->binding;
	char names[4 * AG_DNS_NAME_LEN + 64], a[INET6_ADDRSTRLEN];
	unsigned long long secs = secs_until(lv, e->expiry_ns);

	if (w->resolver) {
		append(what, len, ": agentguard's resolver");
		return;
	}
	if (w->dns_elsewhere) {
		addr_str(a, sizeof(a), lv->p.live.cfg.addr);
		append(what, len, " (only agentguard's resolver, %s port %u, is reachable there)", a,
		       lv->p.live.cfg.port);
		return;
	}
	if (!lv->p.live.cfg.enabled)
		return;	/* no resolver: nothing is learned */
	if (w->learned == AG_LEARNED_NONE) {
		append(what, len, " (no learned binding)");
		return;
	}
	binding_names(lv, e, names, sizeof(names));
	if (w->learned == AG_LEARNED_EXPIRED)
		append(what, len, " (learned for %s, expired: no say)", names);
	else if (w->learned == AG_LEARNED_OTHER_GEN)
		append(what, len, " (learned for %s, not yet rewritten for generation %u: no say)",
		       names, lv->p.live.state.generation_seq);
	else if (!w->used)
		append(what, len, " (learned for %s, expires in %llu s: the CIDR rules decide)",
		       names, secs);
	else if (v == AG_ALLOW)
		append(what, len, ": allowed through domain %s (learned, expires in %llu s)", names,
		       secs);
	else
		append(what, len, ": %s: domain deny rule %s (learned for %s, expires in %llu s)",
		       v == AG_DENY ? "denied" : "would be denied (audit mode)",
		       rule < c->n_rules ? c->rules[rule].id : "?", names, secs);
}

struct resolve_walk {
	const struct live_view *lv;
	const char *name;
	char *out;
	size_t len;
	unsigned int n;
};

/* One learned entry: its address, if name is one of its live names. */
static int resolve_one(void *ctx, const struct ag_dns_key *key, const struct ag_dns_learned *e)
{
	struct resolve_walk *rw = ctx;
	const struct live_view *lv = rw->lv;
	__u32 slot = ag_state_slot(&lv->p.live.state) & (AG_GENERATIONS - 1), i;
	char name[AG_DNS_NAME_LEN], a[INET6_ADDRSTRLEN];

	if (e->expiry_ns <= lv->p.live.now_ns)
		return 0;
	for (i = 0; i < e->n_names && i < AG_DNS_NAMES; i++) {
		if (e->names[i].expiry_ns <= lv->p.live.now_ns ||
		    !ag_pinned_name(&lv->p, e->names[i].name_id, name, sizeof(name)) ||
		    strcmp(name, rw->name))
			continue;
		addr_str(a, sizeof(a), key->addr);
		append(rw->out, rw->len, "%s%s (expires in %llu s%s)", rw->n++ ? ", " : "", a,
		       secs_until(lv, e->names[i].expiry_ns),
		       e->gen[slot].generation_seq == lv->p.live.state.generation_seq ?
			       "" : "; not yet rewritten for the generation in force: no say");
		break;
	}
	return 0;
}

int cmd_explain(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "open", required_argument, NULL, 'o' },
		{ "write", no_argument, NULL, 'w' },
		{ "exec", no_argument, NULL, 'x' },
		{ "remove", required_argument, NULL, 'm' },
		{ "connect", required_argument, NULL, 'c' },
		{ "resolve", required_argument, NULL, 'r' },
		{ "unix", required_argument, NULL, 'u' },
		{ "bind", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "state-dir", required_argument, NULL, 'S' },
		{},
	};
	const char *open_path = NULL, *connect_to = NULL, *resolve = NULL, *unix_to = NULL;
	char name[AG_DOMAIN_MAX + 2];
	const char *bind_to = NULL, *remove_path = NULL, *pin_dir = AG_PIN_DIR;
	const char *state_dir = AG_STATE_DIR;
	struct live_view live = { .p = { .state_fd = -1, .cfg_fd = -1, .learned_fd = -1,
					 .names_fd = -1 } };
	__u32 want = AG_FS_WANT_READ, rule;
	struct ag_policy **pols = NULL;
	struct ag_compiled *c = NULL;
	bool json = false;
	int opt, status, n;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			open_path = optarg;
			break;
		case 'w':
			want |= AG_FS_WANT_WRITE;
			break;
		case 'x':
			want |= AG_FS_WANT_EXEC;
			break;
		case 'm':
			remove_path = optarg;
			break;
		case 'c':
			connect_to = optarg;
			break;
		case 'r':
			resolve = optarg;
			break;
		case 'u':
			unix_to = optarg;
			break;
		case 'b':
			bind_to = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'P':
			pin_dir = optarg;
			break;
		case 'S':
			state_dir = optarg;
			break;
		default:
			return AG_EXIT_USAGE;
		}
	}
	n = argc - optind;
	/* --resolve NAME alone, or with --connect: as if NAME had resolved to that address. */
	if (n < 1 || (!!open_path + !!connect_to + !!resolve + !!unix_to + !!bind_to +
		      !!remove_path) - (resolve && connect_to) != 1) {
		fprintf(stderr, "usage: agentguard explain POLICY... (--open PATH [--write|--exec] | "
				"--remove PATH | --connect ADDR:PORT[/tcp|udp] | "
				"--bind ADDR:PORT[/tcp|udp] | --unix PATH|@NAME | "
				"--resolve NAME [--connect ADDR:PORT]) [--json] "
				"[--pin-dir DIR] [--state-dir DIR]\n");
		return AG_EXIT_USAGE;
	}
	if (resolve && normalise_name(resolve, name, sizeof(name))) {
		ag_log_error("explain: \"%s\" is not a host name (letters, digits, '-', '_' and "
			     "dots)", resolve);
		return AG_EXIT_USAGE;
	}
	status = ag_cli_compile(argv + optind, n, &pols, &c);
	if (status != AG_EXIT_OK)
		return status;
	/* What a running sandbox has learned: for a connection, or a name's addresses. */
	if (!resolve != !connect_to)
		live_open(&live, pin_dir, state_dir, pols, n);

	if (resolve && !connect_to) {
		char what[4096];
		enum ag_verdict v = ag_dns_query_decide(c, name, &rule);

		snprintf(what, sizeof(what), "resolve %s: %s", name,
			 v == AG_ALLOW	     ? "forwarded; its A/AAAA answers are learned, but not "
					       "internal addresses the policy opens no connection "
					       "to: they are withheld" :
			 v == AG_WOULD_DENY ? "forwarded (audit mode), reported" :
					      "REFUSED, not forwarded");
		if (live.on) {
			struct resolve_walk rw = { .lv = &live, .name = name, .out = what,
						   .len = sizeof(what) };

			int err;

			append(what, sizeof(what), "; learned now: ");
			err = ag_pinned_each_learned(&live.p, resolve_one, &rw);
			if (err)
				append(what, sizeof(what), "%sunknown (reading the table: %s)",
				       rw.n ? ", and more " : "", strerror(-err));
			else if (!rw.n)
				append(what, sizeof(what), "nothing");
		} else {
			append(what, sizeof(what), " (policy only: %s)", live.why_not);
		}
		print_result(c, v, rule, what, json);
	} else if (unix_to) {
		char what[PATH_MAX + 64], target[PATH_MAX];
		enum ag_verdict v;

		/* The kernel matches the socket's inode: compare paths as it resolves them. */
		snprintf(target, sizeof(target), "%s", unix_to);
		if (unix_to[0] == '/' && kernel_path(unix_to, target, sizeof(target)))
			snprintf(target, sizeof(target), "%s", unix_to);
		v = ag_unix_decide_user(c, target, &rule);
		for (size_t i = 0; v != AG_ALLOW && unix_to[0] == '/' && i < c->n_unix; i++) {
			char entry[PATH_MAX];

			if (c->unx[i].path && !kernel_path(c->unx[i].path, entry, sizeof(entry)) &&
			    !strcmp(entry, target)) {
				v = AG_ALLOW;
				rule = c->unx[i].rule;
			}
		}

		/* Only peers outside the sandbox are judged; one inside is always reachable. */
		snprintf(what, sizeof(what), "unix %s (a listener outside the sandbox)", unix_to);
		if (rule & AG_RULE_BUILTIN)
			print_builtin(v, "unix-socket", what, json);
		else
			print_result(c, v, rule, what, json);
	} else if (bind_to) {
		__u8 addr[16], proto;
		__u16 port;
		char what[160];
		enum ag_verdict v;

		if (parse_connect(bind_to, addr, &port, &proto)) {
			ag_log_error("explain: cannot parse \"%s\": use ADDR:PORT[/tcp|udp], IPv6 "
				     "in brackets",
				     bind_to);
			status = AG_EXIT_USAGE;
			goto cleanup;
		}
		v = ag_inbound_decide_user(c, addr, proto, port, &rule);
		memcpy(what, "bind ", 5);
		addr_port_str(what + 5, sizeof(what) - 5, addr, port, proto);
		/* Loopback: allowed by no rule (AG_RULE_NONE). */
		if (rule != AG_RULE_NONE && (rule & AG_RULE_BUILTIN))
			print_builtin(v, "inbound", what, json);
		else
			print_result(c, v, rule, what, json);
	} else if (open_path || remove_path) {
		const char *arg = open_path ? open_path : remove_path;
		char path[PATH_MAX];
		enum ag_verdict v;
		int err = open_path ? kernel_path(arg, path, sizeof(path)) :
				      kernel_name_path(arg, path, sizeof(path));

		if (err) {
			ag_log_error("explain: \"%s\": %s (need an absolute path)", arg,
				     strerror(-err));
			status = AG_EXIT_USAGE;
			goto cleanup;
		}
		/* --remove: renaming, removing or replacing the path itself (R11's guards). */
		v = open_path ? ag_fs_decide_user(c, path, want, &rule) :
				ag_fs_guarded_user(c, path, &rule);
		print_result(c, v, rule, path, json);
	} else {
		__u8 addr[16], proto;
		__u16 port;
		char what[2048];
		enum ag_verdict v;

		if (parse_connect(connect_to, addr, &port, &proto)) {
			ag_log_error("explain: cannot parse \"%s\": use ADDR:PORT[/tcp|udp], IPv6 "
				     "in brackets",
				     connect_to);
			status = AG_EXIT_USAGE;
			goto cleanup;
		}
		addr_port_str(what, sizeof(what), addr, port, proto);
		if (live.on && !resolve) {
			struct ag_net_why w;

			v = ag_net_decide_live(c, addr, proto, port, &live.p.live, &rule, &w);
			live_connect_text(&live, c, v, rule, &w, what, sizeof(what));
			if (w.dns_elsewhere)
				print_builtin(v, "dns-elsewhere", what, json);
			else
				print_result(c, v, rule, what, json);
			goto cleanup;
		}
		if (c->n_dom && ag_dns_port_locked(port)) {
			/* The resolver runs: DNS anywhere but its listen address is denied. */
			strncat(what, " (unless it is agentguard's resolver)",
				sizeof(what) - strlen(what) - 1);
			print_builtin(AG_DENY, "dns-elsewhere", what, json);
			goto cleanup;
		}
		if (resolve) {
			const char *names[1] = { name };
			__u32 name_rule;
			/* DNS rebinding: such an answer is never learned or relayed. */
			bool withheld = ag_dns_query_decide(c, name, &name_rule) != AG_DENY &&
					ag_dns_answer_withheld(c, addr);

			v = ag_net_decide_learned(c, addr, proto, port, names, 1, &rule);
			append(what, sizeof(what), " (as if %s had resolved to it%s)", name,
			       withheld ? "; the resolver withholds this address from the answer: "
					  "internal, and the policy opens no connection to it" :
					  "");
		} else {
			v = ag_net_decide_user(c, addr, proto, port, &rule);
			/* Domain rules: the answer would differ for an address learned for one. */
			if (c->n_dom)
				append(what, sizeof(what), " (policy only: %s)", live.why_not);
		}
		print_result(c, v, rule, what, json);
	}

cleanup:
	ag_pinned_close(&live.p);
	ag_compiled_free(c);
	ag_cli_free_policies(pols, n);
	return status;
}
