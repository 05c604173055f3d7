// SPDX-License-Identifier: GPL-2.0
/*
 * The compiler's folding, without a kernel: longest prefix, layers (org > team > local),
 * enforce vs audit, deny-wins networks, port segments, and IPv6 forms that carry IPv4.
 * Decisions go through ag_*_decide_user, which uses the same value helpers as the kernel.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "built.h"
#include "compile.h"
#include "policy.h"

static const char *fs_rule(const struct built_layers *b, const char *path, __u32 want, int *verdict)
{
	__u32 rule;

	*verdict = ag_fs_decide_user(b->c, path, want, &rule);
	return rule < b->c->n_rules ? b->c->rules[rule].id : "none";
}

/* Renaming, removing or replacing path itself: want, by the rule with id rule. */
static void guarded_is(const struct built_layers *b, const char *path, int want, const char *rule)
{
	__u32 r;
	int v = ag_fs_guarded_user(b->c, path, &r);

	assert_string_equal(r < b->c->n_rules ? b->c->rules[r].id : "none", rule);
	assert_int_equal(v, want);
}

/* Opening path for access: want, by the rule with id rule. */
static void open_is(const struct built_layers *b, const char *path, __u32 access, int want,
		    const char *rule)
{
	int v;

	assert_string_equal(fs_rule(b, path, access, &v), rule);
	assert_int_equal(v, want);
}

static const char *net_rule(const struct built_layers *b, const char *addr, __u8 proto, __u16 port,
			    int *verdict)
{
	__u8 a[16] = {};
	__u32 rule;

	if (inet_pton(AF_INET, addr, a + 12) == 1)
		a[10] = a[11] = 0xff;
	else
		assert_int_equal(inet_pton(AF_INET6, addr, a), 1);
	*verdict = ag_net_decide_user(b->c, a, proto, port, &rule);
	return rule < b->c->n_rules ? b->c->rules[rule].id : "none";
}

#define HDR(name, layer, mode) \
	"apiVersion: agentguard/v1\nkind: Policy\nmetadata:\n  name: " name "\n  layer: " layer \
	"\nspec:\n  mode: " mode "\n"

static void test_longest_prefix_component_wise(void **state)
{
	static const char *const y[] = { HDR("p", "local", "enforce")
		"  filesystem:\n    default: deny\n    rules:\n"
		"      - path: /workspace\n        access: rw\n"
		"      - path: /workspace/.git\n        access: ro\n"
		"      - path: /work\n        access: rw\n" };
	struct built_layers b;
	int v;

	build_layers(&b, y, 1);
	assert_int_equal(b.err, 0);
	assert_string_equal(fs_rule(&b, "/workspace/.git/config", AG_FS_WANT_WRITE, &v),
			    "p:filesystem[1]");
	assert_int_equal(v, AG_DENY);
	assert_string_equal(fs_rule(&b, "/workspace/.git/config", AG_FS_WANT_READ, &v),
			    "p:filesystem[1]");
	assert_int_equal(v, AG_ALLOW);
	assert_string_equal(fs_rule(&b, "/workspace/src/a.c", AG_FS_WANT_WRITE, &v),
			    "p:filesystem[0]");
	assert_int_equal(v, AG_ALLOW);
	/* /work does not cover /workspacefoo or /worker. */
	assert_string_equal(fs_rule(&b, "/workspacefoo", AG_FS_WANT_READ, &v),
			    "p:filesystem.default");
	assert_int_equal(v, AG_DENY);
	assert_string_equal(fs_rule(&b, "/worker/x", AG_FS_WANT_READ, &v), "p:filesystem.default");
	assert_string_equal(fs_rule(&b, "/work", AG_FS_WANT_WRITE, &v), "p:filesystem[2]");
	assert_int_equal(v, AG_ALLOW);
	/* exec needs exec: true. */
	fs_rule(&b, "/workspace/run.sh", AG_FS_WANT_READ | AG_FS_WANT_EXEC, &v);
	assert_int_equal(v, AG_DENY);
	unbuild_layers(&b);
}

static void test_lower_layer_cannot_widen(void **state)
{
	static const char *const y[] = {
		HDR("org", "org", "enforce")
		"  filesystem:\n    default: allow\n    rules:\n"
		"      - path: /root/.ssh\n        access: none\n",
		HDR("dev", "local", "enforce")
		"  filesystem:\n    default: deny\n    rules:\n"
		"      - path: /root\n        access: rw\n",
	};
	struct built_layers b;
	int v;

	build_layers(&b, y, 2);
	assert_int_equal(b.err, 0);
	/* local allows /root rw, org denies /root/.ssh: org wins and is named. */
	assert_string_equal(fs_rule(&b, "/root/.ssh/id_ed25519", AG_FS_WANT_READ, &v),
			    "org:filesystem[0]");
	assert_int_equal(v, AG_DENY);
	/* Both allow /root/x: attribution is the lowest layer's deciding rule. */
	assert_string_equal(fs_rule(&b, "/root/x", AG_FS_WANT_WRITE, &v), "dev:filesystem[0]");
	assert_int_equal(v, AG_ALLOW);
	/* org allows /etc by default, local's default denies it. */
	assert_string_equal(fs_rule(&b, "/etc/passwd", AG_FS_WANT_READ, &v),
			    "dev:filesystem.default");
	assert_int_equal(v, AG_DENY);
	assert_int_equal(b.c->rules[1].layer, AG_LAYER_ORG);
	/* R11: the org rule guards the ancestor the local layer makes writable. */
	guarded_is(&b, "/root", AG_DENY, "org:filesystem[0]");
	guarded_is(&b, "/root/x", AG_ALLOW, "dev:filesystem[0]");
	unbuild_layers(&b);
}

static void test_audit_vs_enforce(void **state)
{
	static const char *const y[] = {
		HDR("org", "org", "audit")
		"  filesystem:\n    default: allow\n    rules:\n"
		"      - path: /data\n        access: none\n"
		"      - path: /logs\n        access: ro\n        mode: enforce\n",
		HDR("team", "team", "enforce")
		"  filesystem:\n    default: allow\n    rules:\n"
		"      - path: /data/private\n        access: none\n",
	};
	struct built_layers b;
	int v;

	build_layers(&b, y, 2);
	assert_int_equal(b.err, 0);
	/* Only an audit-mode rule denies: would-deny, named. */
	assert_string_equal(fs_rule(&b, "/data/x", AG_FS_WANT_READ, &v), "org:filesystem[0]");
	assert_int_equal(v, AG_WOULD_DENY);
	/* An enforce-mode denial in a lower layer beats an audit one in a higher layer. */
	assert_string_equal(fs_rule(&b, "/data/private/x", AG_FS_WANT_READ, &v),
			    "team:filesystem[0]");
	assert_int_equal(v, AG_DENY);
	/* A rule's own mode overrides its policy's. */
	assert_string_equal(fs_rule(&b, "/logs/a", AG_FS_WANT_WRITE, &v), "org:filesystem[1]");
	assert_int_equal(v, AG_DENY);
	unbuild_layers(&b);
}

/*
 * R11: renaming or removing an ancestor of a stricter rule's path is judged by that rule (the
 * guard), and the entries added for ancestors change no other decision.
 */
static void test_fs_ancestor_guards(void **state)
{
	static const char *const y[] = { HDR("p", "local", "enforce")
		"  filesystem:\n    default: deny\n    rules:\n"
		"      - path: /home\n        access: rw\n"
		"      - path: /home/u/.ssh\n        access: none\n"
		"      - path: /home/u/src\n        access: rw\n"
		"      - path: /home/u/a/b/ro\n        access: ro\n        mode: audit\n"
		"      - path: /opt\n        access: ro\n"
		"      - path: /opt/x\n        access: rw\n" };
	struct built_layers b;

	build_layers(&b, y, 1);
	assert_int_equal(b.err, 0);
	/* Every ancestor between the writable rule and the stricter one, the rule's own too. */
	guarded_is(&b, "/home/u", AG_DENY, "p:filesystem[1]");
	guarded_is(&b, "/home", AG_DENY, "p:filesystem[1]");
	/* An audit rule's ancestors: would-deny, unless an enforce rule is stricter there too. */
	guarded_is(&b, "/home/u/a", AG_WOULD_DENY, "p:filesystem[3]");
	guarded_is(&b, "/home/u/a/b", AG_WOULD_DENY, "p:filesystem[3]");
	/* Siblings, descendants and looser rules are not guarded. */
	guarded_is(&b, "/home/w", AG_ALLOW, "p:filesystem[0]");
	guarded_is(&b, "/home/u/src", AG_ALLOW, "p:filesystem[2]");
	guarded_is(&b, "/home/u/.ssh/x", AG_DENY, "p:filesystem[1]");
	guarded_is(&b, "/opt", AG_DENY, "p:filesystem[4]");
	guarded_is(&b, "/opt/x", AG_ALLOW, "p:filesystem[5]");
	/* What the default denies needs no guard: the write is denied anyway. */
	guarded_is(&b, "/srv", AG_DENY, "p:filesystem.default");
	/* The added entries decide every other access as before. */
	open_is(&b, "/home/u", AG_FS_WANT_WRITE, AG_ALLOW, "p:filesystem[0]");
	open_is(&b, "/home/u/a/b/c", AG_FS_WANT_WRITE, AG_ALLOW, "p:filesystem[0]");
	open_is(&b, "/home/u/.ssh", AG_FS_WANT_READ, AG_DENY, "p:filesystem[1]");
	unbuild_layers(&b);
}

/* Is path[0..len) an entry of the table? */
static bool fs_has(const struct ag_compiled *c, const char *path, size_t len)
{
	size_t i;

	for (i = 0; i < c->n_fs; i++)
		if (strlen(c->fs[i].path) == len && !memcmp(c->fs[i].path, path, len))
			return true;
	return false;
}

/*
 * The kernel's walk (fs_decide.bpf.h): a lookup at the end of each component, none after the
 * first miss, the last hit decides.
 */
static int fs_walk_like_kernel(const struct ag_compiled *c, const char *path, __u32 want,
			       __u32 *rule)
{
	size_t len = strlen(path), i, j, best = SIZE_MAX;

	for (i = 1; i <= len; i++) {
		if (i != 1 && i != len && path[i] != '/')
			continue;
		for (j = 0; j < c->n_fs; j++)
			if (strlen(c->fs[j].path) == i && !memcmp(c->fs[j].path, path, i))
				break;
		if (j == c->n_fs)
			break;
		best = j;
	}
	if (best == SIZE_MAX) {
		*rule = AG_RULE_NONE;
		return AG_DENY;
	}
	return ag_fs_val_verdict(&c->fs[best].val, want, rule);
}

/*
 * The table is prefix-closed, so the kernel's walk may stop at the first miss: every ancestor
 * of every entry is an entry, the added ones decide as their longest prefix did and carry no
 * guard, and the early-stopping walk decides every path as the full one does.
 */
static void test_fs_prefix_closed(void **state)
{
	static const char *const y[] = { HDR("p", "local", "enforce")
		"  filesystem:\n    default: deny\n    rules:\n"
		"      - path: /workspace\n        access: rw\n"
		"      - path: /data/d1/f1\n        access: ro\n"
		"      - path: /data/d1/f2\n        access: rw\n"
		"      - path: /opt/a/b/c/d\n        access: ro\n        exec: true\n"
		"      - path: /home/u/.ssh\n        access: none\n" };
	static const char *const paths[] = {
		"/", "/data", "/data/d1", "/data/d1/f1", "/data/d1/f1/x", "/data/d1/f2",
		"/data/d1/f3", "/data/d2/f1", "/opt/a", "/opt/a/b/c", "/opt/a/b/c/d",
		"/opt/a/b/c/d/bin", "/opt/a/b/c/e", "/workspace/src/pkg/file.c", "/home/u/.ssh/id",
		"/home/u", "/home/w", "/etc/passwd",
	};
	static const __u32 wants[] = { AG_FS_WANT_READ, AG_FS_WANT_WRITE, AG_FS_WANT_EXEC };
	struct built_layers b;
	__u32 r1, r2;
	size_t i, j, len;

	build_layers(&b, y, 1);
	assert_int_equal(b.err, 0);
	for (i = 0; i < b.c->n_fs; i++) {
		const char *p = b.c->fs[i].path;

		for (len = strlen(p) - 1; len > 1; len--)
			if (p[len] == '/' && !fs_has(b.c, p, len))
				fail_msg("entry \"%s\" has no entry for its ancestor \"%.*s\"", p,
					 (int)len, p);
	}
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		for (j = 0; j < sizeof(wants) / sizeof(wants[0]); j++) {
			int full = ag_fs_decide_user(b.c, paths[i], wants[j], &r1);
			int walk = fs_walk_like_kernel(b.c, paths[i], wants[j], &r2);

			if (full != walk || r1 != r2)
				fail_msg("%s want %u: full walk %d rule %u, stopping walk %d rule %u",
					 paths[i], wants[j], full, r1, walk, r2);
		}
	}
	/* Added ancestors decide as their prefix and guard nothing the guards did not. */
	open_is(&b, "/data", AG_FS_WANT_READ, AG_DENY, "p:filesystem.default");
	open_is(&b, "/opt/a/b", AG_FS_WANT_READ, AG_DENY, "p:filesystem.default");
	guarded_is(&b, "/data/d1", AG_DENY, "p:filesystem.default");
	guarded_is(&b, "/home/u", AG_DENY, "p:filesystem.default");
	unbuild_layers(&b);
}

/* The sandbox runner shares /workspace rw exactly when the kernel could let a write through. */
static bool ws_writable(const char *const *y, size_t n)
{
	struct built_layers b;
	bool w;

	build_layers(&b, y, n);
	assert_int_equal(b.err, 0);
	w = ag_fs_write_possible_under(b.c, "/workspace");
	unbuild_layers(&b);
	return w;
}

static void test_workspace_write_possible(void **state)
{
	static const char *const ro_out_rw[] = { HDR("p", "local", "enforce")
		"  filesystem:\n    default: deny\n    rules:\n"
		"      - path: /workspace\n        access: ro\n"
		"      - path: /workspace/out\n        access: rw\n" };
	static const char *const all_ro[] = { HDR("p", "local", "enforce")
		"  filesystem:\n    default: deny\n    rules:\n"
		"      - path: /workspace\n        access: ro\n"
		"      - path: /workspace/src\n        access: ro\n"
		"      - path: /tmp\n        access: rw\n"
		"      - path: /workspacefoo\n        access: rw\n" };
	/* A write an audit-mode rule would deny is one the kernel allows: the share is rw, also
	 * when the audit rule is below /workspace. */
	static const char *const audit_ro[] = { HDR("p", "local", "enforce")
		"  filesystem:\n    default: deny\n    rules:\n"
		"      - path: /workspace\n        access: ro\n        mode: audit\n" };
	static const char *const audit_below[] = { HDR("p", "local", "enforce")
		"  filesystem:\n    default: deny\n    rules:\n"
		"      - path: /workspace\n        access: ro\n"
		"      - path: /workspace/log\n        access: none\n        mode: audit\n" };
	/* A lower layer that tries to widen below the org's read-only /workspace does not. */
	static const char *const layered[] = {
		HDR("org", "org", "enforce")
		"  filesystem:\n    default: allow\n    rules:\n"
		"      - path: /workspace\n        access: ro\n",
		HDR("dev", "local", "enforce")
		"  filesystem:\n    default: deny\n    rules:\n"
		"      - path: /workspace\n        access: rw\n"
		"      - path: /workspace/out\n        access: rw\n",
	};
	/* Control: both layers let /workspace/out be written. */
	static const char *const layered_both[] = {
		HDR("org", "org", "enforce")
		"  filesystem:\n    default: allow\n    rules:\n"
		"      - path: /workspace\n        access: ro\n"
		"      - path: /workspace/out\n        access: rw\n",
		HDR("dev", "local", "enforce")
		"  filesystem:\n    default: deny\n    rules:\n"
		"      - path: /workspace\n        access: rw\n",
	};
	/*
	 * Closure and guard entries: /workspace/a and /workspace/a/b exist only because of the
	 * stricter rule below them, with /workspace's verdicts; the writable /outside rule's
	 * closure stays outside. None of them makes /workspace writable.
	 */
	static const char *const closure[] = { HDR("p", "local", "enforce")
		"  filesystem:\n    default: deny\n    rules:\n"
		"      - path: /\n        access: rw\n"
		"      - path: /workspace\n        access: ro\n"
		"      - path: /workspace/a/b/c\n        access: none\n" };
	struct built_layers b;
	size_t i, guards = 0;

	assert_true(ws_writable(ro_out_rw, 1));
	assert_false(ws_writable(all_ro, 1));
	assert_true(ws_writable(audit_ro, 1));
	/* /workspace/log's own (audit) rule replaces /workspace's there: writes go through. */
	assert_true(ws_writable(audit_below, 1));
	assert_false(ws_writable(layered, 2));
	assert_true(ws_writable(layered_both, 2));
	assert_false(ws_writable(closure, 1));
	build_layers(&b, closure, 1);
	assert_int_equal(b.err, 0);
	for (i = 0; i < b.c->n_fs; i++)
		if (b.c->fs[i].guard_only && !strncmp(b.c->fs[i].path, "/workspace/", 11))
			guards++;
	assert_int_equal(guards, 2);
	unbuild_layers(&b);
}

static void test_duplicate_path_rejected(void **state)
{
	static const char *const y[] = { HDR("p", "local", "enforce")
		"  filesystem:\n    rules:\n"
		"      - path: /a\n        access: rw\n"
		"      - path: /a\n        access: ro\n" };
	struct built_layers b;

	build_layers(&b, y, 1);
	assert_int_equal(b.err, -EINVAL);
	assert_int_equal(b.d.n_errors, 1);
	assert_int_equal(b.d.v[b.d.n - 1].pos.line, 12);
	unbuild_layers(&b);
}

static void test_net_deny_wins_regardless_of_specificity(void **state)
{
	static const char *const y[] = { HDR("n", "local", "enforce")
		"  network:\n    default: deny\n    rules:\n"
		"      - action: allow\n        cidr: 10.1.2.0/24\n"
		"      - action: deny\n        cidr: 10.0.0.0/8\n"
		"      - action: allow\n        cidr: 192.168.0.0/16\n" };
	struct built_layers b;
	int v;

	build_layers(&b, y, 1);
	assert_int_equal(b.err, 0);
	assert_string_equal(net_rule(&b, "10.1.2.3", AG_NET_TCP, 443, &v), "n:network[1]");
	assert_int_equal(v, AG_DENY);
	assert_string_equal(net_rule(&b, "192.168.1.1", AG_NET_UDP, 53, &v), "n:network[2]");
	assert_int_equal(v, AG_ALLOW);
	assert_string_equal(net_rule(&b, "8.8.8.8", AG_NET_TCP, 443, &v), "n:network.default");
	assert_int_equal(v, AG_DENY);
	unbuild_layers(&b);
}

static void test_net_ports_and_protocols(void **state)
{
	static const char *const y[] = { HDR("n", "local", "enforce")
		"  network:\n    default: deny\n    rules:\n"
		"      - action: allow\n        cidr: 10.0.0.0/8\n        ports: [443, \"8000-8100\"]\n"
		"        protocol: tcp\n"
		"      - action: allow\n        ip: 10.9.9.9\n        ports: [53]\n        protocol: udp\n"
		"      - action: deny\n        cidr: 10.0.0.0/8\n        ports: [8080]\n" };
	struct built_layers b;
	int v;

	build_layers(&b, y, 1);
	assert_int_equal(b.err, 0);
	net_rule(&b, "10.1.1.1", AG_NET_TCP, 443, &v);
	assert_int_equal(v, AG_ALLOW);
	net_rule(&b, "10.1.1.1", AG_NET_UDP, 443, &v);
	assert_int_equal(v, AG_DENY);
	net_rule(&b, "10.1.1.1", AG_NET_TCP, 8000, &v);
	assert_int_equal(v, AG_ALLOW);
	net_rule(&b, "10.1.1.1", AG_NET_TCP, 8100, &v);
	assert_int_equal(v, AG_ALLOW);
	net_rule(&b, "10.1.1.1", AG_NET_TCP, 8101, &v);
	assert_int_equal(v, AG_DENY);
	assert_string_equal(net_rule(&b, "10.1.1.1", AG_NET_TCP, 8080, &v), "n:network[2]");
	assert_int_equal(v, AG_DENY);
	/* The /32 entry carries the /8 rules too. */
	net_rule(&b, "10.9.9.9", AG_NET_TCP, 443, &v);
	assert_int_equal(v, AG_ALLOW);
	assert_string_equal(net_rule(&b, "10.9.9.9", AG_NET_UDP, 53, &v), "n:network[1]");
	assert_int_equal(v, AG_ALLOW);
	net_rule(&b, "10.9.9.9", AG_NET_TCP, 53, &v);
	assert_int_equal(v, AG_DENY);
	unbuild_layers(&b);
}

static void test_ipv6_forms_carrying_ipv4(void **state)
{
	static const char *const y[] = { HDR("n", "local", "enforce")
		"  network:\n    default: allow\n    rules:\n"
		"      - action: deny\n        ip: 169.254.169.254\n" };
	/*
	 * Local-use NAT64 in each layout a network may carve from 64:ff9b:1::/48: /48, /56, /64
	 * and /96 (the last decoded as 0.0.0.0 by the /48 layout: the review's N16).
	 */
	static const char *const forms[] = {
		"169.254.169.254", "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe",
		"2002:a9fe:a9fe::1", "64:ff9b:1:a9fe:a9:fe00::", "64:ff9b:1:a9:fe:a9fe::",
		"64:ff9b:1::a9:fea9:fe00:0", "64:ff9b:1::a9fe:a9fe",
	};
	struct built_layers b;
	size_t i;
	int v;

	build_layers(&b, y, 1);
	assert_int_equal(b.err, 0);
	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		assert_string_equal(net_rule(&b, forms[i], AG_NET_TCP, 80, &v), "n:network[0]");
		if (v != AG_DENY)
			fail_msg("%s was not judged as 169.254.169.254", forms[i]);
	}
	net_rule(&b, "2001:db8::1", AG_NET_TCP, 80, &v);
	assert_int_equal(v, AG_ALLOW);
	/* A local-use NAT64 address none of whose layouts carries the address: allowed. */
	net_rule(&b, "64:ff9b:1::808:808", AG_NET_TCP, 80, &v);
	assert_int_equal(v, AG_ALLOW);
	unbuild_layers(&b);
}

static void test_unspecified_is_loopback(void **state)
{
	static const char *const y[] = { HDR("n", "local", "enforce")
		"  network:\n    default: allow\n    rules:\n"
		"      - action: deny\n        ip: 127.0.0.1\n"
		"      - action: deny\n        ip: \"::1\"\n" };
	struct built_layers b;
	int v;

	build_layers(&b, y, 1);
	assert_int_equal(b.err, 0);
	/* 0.0.0.0 and :: reach the local host, so they are judged as loopback. */
	assert_string_equal(net_rule(&b, "0.0.0.0", AG_NET_TCP, 80, &v), "n:network[0]");
	assert_int_equal(v, AG_DENY);
	assert_string_equal(net_rule(&b, "::ffff:0.0.0.0", AG_NET_UDP, 53, &v), "n:network[0]");
	assert_string_equal(net_rule(&b, "::", AG_NET_TCP, 80, &v), "n:network[1]");
	assert_int_equal(v, AG_DENY);
	net_rule(&b, "0.0.0.1", AG_NET_TCP, 80, &v);
	assert_int_equal(v, AG_ALLOW);
	unbuild_layers(&b);
}

static void test_net_layers(void **state)
{
	static const char *const y[] = {
		HDR("org", "org", "enforce")
		"  network:\n    default: allow\n    rules:\n"
		"      - action: deny\n        ip: 169.254.169.254\n",
		HDR("dev", "local", "enforce")
		"  network:\n    default: deny\n    rules:\n"
		"      - action: allow\n        cidr: 0.0.0.0/0\n",
	};
	struct built_layers b;
	int v;

	build_layers(&b, y, 2);
	assert_int_equal(b.err, 0);
	assert_string_equal(net_rule(&b, "169.254.169.254", AG_NET_TCP, 80, &v), "org:network[0]");
	assert_int_equal(v, AG_DENY);
	assert_string_equal(net_rule(&b, "1.1.1.1", AG_NET_TCP, 80, &v), "dev:network[0]");
	assert_int_equal(v, AG_ALLOW);
	/* IPv6 is outside dev's 0.0.0.0/0 (= ::ffff:0:0/96): dev's default denies. */
	assert_string_equal(net_rule(&b, "2001:db8::1", AG_NET_TCP, 80, &v), "dev:network.default");
	assert_int_equal(v, AG_DENY);
	unbuild_layers(&b);
}

static const char *bind_rule(const struct built_layers *b, const char *addr, __u8 proto, __u16 port,
			     int *verdict)
{
	__u8 a[16] = {};
	__u32 rule;

	if (inet_pton(AF_INET, addr, a + 12) == 1)
		a[10] = a[11] = 0xff;
	else
		assert_int_equal(inet_pton(AF_INET6, addr, a), 1);
	*verdict = ag_inbound_decide_user(b->c, a, proto, port, &rule);
	if (rule == AG_RULE_NONE)
		return "none";
	return rule < b->c->n_rules ? b->c->rules[rule].id : "builtin";
}

/* spec.network.inbound: in effect what every layer contains; loopback always; else builtin. */
static void test_inbound_layers(void **state)
{
	static const char *const y[] = {
		HDR("org", "org", "enforce")
		"  network:\n    inbound:\n"
		"      - cidr: 0.0.0.0/0\n        ports: [\"8000-8999\"]\n",
		HDR("dev", "local", "enforce")
		"  network:\n    inbound:\n"
		"      - ip: 0.0.0.0\n        ports: [8080, 9090]\n        protocol: tcp\n"
		"      - cidr: 10.0.0.0/8\n",
	};
	static const char *const lone[] = { HDR("dev", "local", "enforce") "  network: {}\n" };
	struct built_layers b;
	int v;

	build_layers(&b, y, 2);
	assert_int_equal(b.err, 0);
	/* dev's 0.0.0.0:8080/tcp lies inside org's rule; 9090 does not, nor does 10/8 (ports). */
	assert_int_equal(b.c->n_inbound, 1);
	assert_string_equal(bind_rule(&b, "0.0.0.0", AG_NET_TCP, 8080, &v), "dev:inbound[0]");
	assert_int_equal(v, AG_ALLOW);
	assert_string_equal(bind_rule(&b, "0.0.0.0", AG_NET_UDP, 8080, &v), "builtin");
	assert_int_equal(v, AG_DENY);
	assert_string_equal(bind_rule(&b, "0.0.0.0", AG_NET_TCP, 9090, &v), "builtin");
	assert_int_equal(v, AG_DENY);
	assert_string_equal(bind_rule(&b, "10.1.2.3", AG_NET_TCP, 8080, &v), "builtin");
	assert_int_equal(v, AG_DENY);
	assert_string_equal(bind_rule(&b, "127.0.0.1", AG_NET_UDP, 1, &v), "none");
	assert_int_equal(v, AG_ALLOW);
	assert_string_equal(bind_rule(&b, "::1", AG_NET_TCP, 1, &v), "none");
	assert_int_equal(v, AG_ALLOW);
	unbuild_layers(&b);

	/* org alone: its whole range, nothing else. */
	build_layers(&b, y, 1);
	assert_string_equal(bind_rule(&b, "192.0.2.7", AG_NET_UDP, 8999, &v), "org:inbound[0]");
	assert_int_equal(v, AG_ALLOW);
	assert_string_equal(bind_rule(&b, "2001:db8::1", AG_NET_TCP, 8080, &v), "builtin");
	assert_int_equal(v, AG_DENY);
	unbuild_layers(&b);

	/* "::" is dual-stack: allowed only with the IPv4 wildcard allowed as well. */
	{
		static const char *const v6only[] = { HDR("d", "local", "enforce")
			"  network:\n    inbound:\n      - ip: \"::\"\n" };
		static const char *const both[] = { HDR("d", "local", "enforce")
			"  network:\n    inbound:\n      - ip: \"::\"\n      - ip: 0.0.0.0\n" };

		build_layers(&b, v6only, 1);
		assert_string_equal(bind_rule(&b, "::", AG_NET_TCP, 8080, &v), "builtin");
		assert_int_equal(v, AG_DENY);
		unbuild_layers(&b);
		build_layers(&b, both, 1);
		assert_string_equal(bind_rule(&b, "::", AG_NET_TCP, 8080, &v), "d:inbound[0]");
		assert_int_equal(v, AG_ALLOW);
		unbuild_layers(&b);
	}

	/* No inbound rules: loopback only. */
	build_layers(&b, lone, 1);
	assert_int_equal(b.c->n_inbound, 0);
	assert_string_equal(bind_rule(&b, "0.0.0.0", AG_NET_TCP, 8080, &v), "builtin");
	assert_int_equal(v, AG_DENY);
	unbuild_layers(&b);
}

static void test_inbound_entry_bound(void **state)
{
	char yaml[8192];
	const char *y[1] = { yaml };
	struct built_layers b;
	int i, n;

	n = snprintf(yaml, sizeof(yaml), HDR("n", "local", "enforce")
		     "  network:\n    inbound:\n      - ip: 0.0.0.0\n        ports: [");
	for (i = 0; i <= AG_INBOUND_MAX; i++)
		n += snprintf(yaml + n, sizeof(yaml) - n, "%s%d", i ? ", " : "", 1000 + 2 * i);
	snprintf(yaml + n, sizeof(yaml) - n, "]\n");
	build_layers(&b, y, 1);
	assert_int_equal(b.err, -EINVAL);
	assert_int_equal(b.d.n_errors, 1);
	assert_non_null(strstr(b.d.v[0].msg, "inbound: more than 16 entries"));
	assert_int_equal(b.d.v[0].pos.line, 10);
	unbuild_layers(&b);
}

static void test_port_segment_bound(void **state)
{
	char yaml[8192];
	const char *y[1] = { yaml };
	struct built_layers b;
	int i, n;

	n = snprintf(yaml, sizeof(yaml), HDR("n", "local", "enforce")
		     "  network:\n    default: deny\n    rules:\n"
		     "      - action: allow\n        cidr: 10.0.0.0/8\n        ports: [");
	for (i = 0; i < 2 * AG_NET_MAX_SEGS; i++)
		n += snprintf(yaml + n, sizeof(yaml) - n, "%s%d", i ? ", " : "", 1000 + 2 * i);
	snprintf(yaml + n, sizeof(yaml) - n, "]\n        protocol: tcp\n");
	build_layers(&b, y, 1);
	assert_int_equal(b.err, -EINVAL);
	assert_int_equal(b.d.n_errors, 1);
	assert_non_null(strstr(b.d.v[0].msg, "port segments"));
	assert_int_equal(b.d.v[0].pos.line, 11);
	unbuild_layers(&b);
}

static const char *rule_name(const struct built_layers *b, __u32 r)
{
	return r < b->c->n_rules ? b->c->rules[r].id : "none";
}

/* Domain rules compile (issue #9): the resolver's gate and the learned bindings' verdicts. */
static void test_domain_rules(void **state)
{
	static const char *const y[] = { HDR("n", "local", "enforce")
		"  network:\n    default: deny\n    rules:\n"
		"      - id: api\n        action: allow\n        domain: api.example.com\n"
		"        ports: [443]\n        protocol: tcp\n"
		"      - id: cdn\n        action: allow\n        domain: \"*.cdn.test\"\n"
		"      - id: evil\n        action: deny\n        domain: \"*.evil.test\"\n"
		"      - id: wide\n        action: allow\n        cidr: 10.0.0.0/8\n"
		"      - id: blocked\n        action: deny\n        cidr: 10.9.0.0/16\n" };
	static const char *const org[] = { HDR("o", "org", "enforce")
		"  network:\n    default: deny\n    rules:\n"
		"      - id: org-cdn\n        action: allow\n        domain: \"*.cdn.test\"\n" };
	const char *api[] = { "api.example.com" }, *evil[] = { "x.evil.test" };
	const char *both[] = { "api.example.com", "a.cdn.test" };
	__u8 a[16] = { [10] = 0xff, [11] = 0xff, 192, 0, 2, 7 };
	__u8 ten[16] = { [10] = 0xff, [11] = 0xff, 10, 1, 2, 3 };
	__u8 blocked[16] = { [10] = 0xff, [11] = 0xff, 10, 9, 0, 1 };
	struct built_layers b;
	__u32 r;

	assert_true(ag_domain_match("api.example.com", "api.example.com"));
	assert_false(ag_domain_match("api.example.com", "x.api.example.com"));
	assert_true(ag_domain_match("*.cdn.test", "a.b.cdn.test"));
	assert_false(ag_domain_match("*.cdn.test", "cdn.test"));
	assert_false(ag_domain_match("*.cdn.test", "xcdn.test"));

	build_layers(&b, y, 1);
	assert_int_equal(b.err, 0);
	assert_int_equal(b.c->n_dom, 3);
	/* The gate: allowed names are forwarded, others refused by the default or a deny. */
	assert_int_equal(ag_dns_query_decide(b.c, "api.example.com", &r), AG_ALLOW);
	assert_string_equal(rule_name(&b, r), "api");
	assert_int_equal(ag_dns_query_decide(b.c, "other.example.com", &r), AG_DENY);
	assert_string_equal(rule_name(&b, r), "n:network.default");
	assert_int_equal(ag_dns_query_decide(b.c, "x.evil.test", &r), AG_DENY);
	assert_string_equal(rule_name(&b, r), "evil");
	/* Learned: the domain's ports only; the default elsewhere. */
	assert_int_equal(ag_net_decide_learned(b.c, a, AG_NET_TCP, 443, api, 1, &r), AG_ALLOW);
	assert_string_equal(rule_name(&b, r), "api");
	assert_int_equal(ag_net_decide_learned(b.c, a, AG_NET_TCP, 80, api, 1, &r), AG_DENY);
	assert_int_equal(ag_net_decide_learned(b.c, a, AG_NET_UDP, 443, api, 1, &r), AG_DENY);
	assert_int_equal(ag_net_decide_learned(b.c, a, AG_NET_TCP, 443, NULL, 0, &r), AG_DENY);
	/* A shared address admits the union of its names' rules. */
	assert_int_equal(ag_net_decide_learned(b.c, a, AG_NET_UDP, 53, both, 2, &r), AG_ALLOW);
	assert_string_equal(rule_name(&b, r), "cdn");
	/* A deny domain wins over an allow CIDR; an explicit deny CIDR over an allow domain. */
	assert_int_equal(ag_net_decide_learned(b.c, ten, AG_NET_TCP, 443, NULL, 0, &r), AG_ALLOW);
	assert_int_equal(ag_net_decide_learned(b.c, ten, AG_NET_TCP, 443, evil, 1, &r), AG_DENY);
	assert_string_equal(rule_name(&b, r), "evil");
	assert_int_equal(ag_net_decide_learned(b.c, blocked, AG_NET_TCP, 443, api, 1, &r),
			 AG_DENY);
	assert_string_equal(rule_name(&b, r), "blocked");
	unbuild_layers(&b);

	/* Layers: an org layer that does not allow the name keeps it refused and unlearned. */
	{
		const char *two[] = { org[0], y[0] };

		build_layers(&b, two, 2);
		assert_int_equal(b.err, 0);
		assert_int_equal(ag_dns_query_decide(b.c, "api.example.com", &r), AG_DENY);
		assert_string_equal(rule_name(&b, r), "o:network.default");
		assert_int_equal(ag_dns_query_decide(b.c, "a.cdn.test", &r), AG_ALLOW);
		assert_int_equal(ag_net_decide_learned(b.c, a, AG_NET_TCP, 443, api, 1, &r),
				 AG_DENY);
		assert_int_equal(ag_net_decide_learned(b.c, a, AG_NET_TCP, 443, both + 1, 1, &r),
				 AG_ALLOW);
		assert_string_equal(rule_name(&b, r), "cdn");
		unbuild_layers(&b);
	}
}

/* An address in text (IPv4 or IPv6) as 16 bytes, IPv4 as ::ffff:a.b.c.d. */
static void addr16(const char *text, __u8 a[16])
{
	memset(a, 0, 16);
	if (inet_pton(AF_INET, text, a + 12) == 1) {
		a[10] = a[11] = 0xff;
		return;
	}
	if (inet_pton(AF_INET6, text, a) != 1)
		fail_msg("bad address %s", text);
}

/* DNS rebinding: the ranges an answer must not name, in every form that carries them. */
static void test_internal_ranges(void **state)
{
	static const struct {
		const char *addr;
		bool internal;
	} t[] = {
		/* Each range with the addresses just outside it. */
		{ "0.0.0.0", true }, { "0.255.255.255", true }, { "1.0.0.0", false },
		{ "9.255.255.255", false }, { "10.0.0.0", true }, { "10.255.255.255", true },
		{ "11.0.0.0", false },
		{ "100.63.255.255", false }, { "100.64.0.0", true }, { "100.100.100.200", true },
		{ "100.127.255.255", true }, { "100.128.0.0", false },
		{ "126.255.255.255", false }, { "127.0.0.1", true }, { "127.255.255.254", true },
		{ "128.0.0.0", false },
		{ "169.253.255.255", false }, { "169.254.169.254", true }, { "169.255.0.0", false },
		{ "172.15.255.255", false }, { "172.16.0.0", true }, { "172.31.255.255", true },
		{ "172.32.0.0", false },
		{ "192.167.255.255", false }, { "192.168.0.1", true }, { "192.169.0.0", false },
		{ "223.255.255.255", false }, { "224.0.0.1", true }, { "239.255.255.255", true },
		{ "240.0.0.1", false }, { "255.255.255.254", false }, { "255.255.255.255", true },
		{ "8.8.8.8", false }, { "203.0.113.10", false }, { "198.18.0.1", false },
		/* IPv6. */
		{ "::", true }, { "::1", true }, { "::2", false },
		{ "fe80::1", true }, { "febf:ffff::1", true }, { "fec0::1", true },
		{ "fbff:ffff::1", false }, { "fc00::1", true }, { "fd00:ec2::254", true },
		{ "fdff:ffff::1", true }, { "ff02::1", true }, { "2001:db8::1", false },
		{ "2606:4700::1111", false },
		/* IPv4 inside IPv6: judged as the IPv4 address. */
		{ "::ffff:10.0.0.1", true }, { "::ffff:127.0.0.1", true },
		{ "::ffff:0.0.0.0", true }, { "::ffff:8.8.8.8", false },
		{ "64:ff9b::a00:1", true }, { "64:ff9b::a9fe:a9fe", true },
		{ "64:ff9b::7f00:1", true }, { "64:ff9b::808:808", false },
		{ "2002:c0a8:101::1", true }, { "2002:808:808::1", false },
		/*
		 * Local-use NAT64: internal in one layout is enough (here only the /56 one reads
		 * 10.1.2.3; the others 8.10.1.2, 1.2.3.8, 8.8.8.8). A zero tail reads 0.0.0.0.
		 */
		{ "64:ff9b:1:80a:1:203:808:808", true }, { "64:ff9b:1:808:8:808:808:808", false },
		{ "64:ff9b:1:808:8:808::", true },
	};
	__u8 a[16];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		addr16(t[i].addr, a);
		if (ag_net_addr_internal(a) != t[i].internal)
			fail_msg("%s: expected %s", t[i].addr,
				 t[i].internal ? "internal" : "public");
	}
}

/*
 * The resolver withholds an internal address unless the policy alone opens it (some port), and
 * a binding never opens an internal address: there only the CIDR rules allow.
 */
static void test_rebinding_withheld(void **state)
{
	static const char *const y[] = { HDR("n", "local", "enforce")
		"  network:\n    default: deny\n    rules:\n"
		"      - id: any\n        action: allow\n        domain: \"*.nip.test\"\n"
		"      - id: nexus\n        action: allow\n        ip: 10.1.2.3\n"
		"        ports: [443]\n        protocol: tcp\n"
		"      - id: audited\n        action: allow\n        cidr: 172.16.0.0/12\n"
		"        mode: audit\n"
		"      - id: no-lan\n        action: deny\n        cidr: 192.168.0.0/16\n"
		"      - id: dns-anywhere\n        action: allow\n        cidr: 0.0.0.0/0\n"
		"        ports: [53, 853]\n" };
	static const char *const audit[] = { HDR("a", "local", "audit")
		"  network:\n    default: deny\n    rules:\n"
		"      - action: allow\n        domain: \"*.nip.test\"\n" };
	static const char *const open[] = { HDR("o", "local", "enforce")
		"  network:\n    default: allow\n    rules:\n"
		"      - action: allow\n        domain: \"*.nip.test\"\n"
		"      - action: deny\n        cidr: 10.0.0.0/8\n" };
	static const struct {
		const char *addr;
		bool withheld;
	} t[] = {
		{ "10.9.9.9", true }, { "::ffff:10.9.9.9", true }, { "64:ff9b::a09:909", true },
		{ "2002:a09:909::", true }, { "127.0.0.1", true }, { "169.254.169.254", true },
		{ "fd00::1", true }, { "::1", true },
		/* The ip rule opens 10.1.2.3 (port 443): kept, in every form. */
		{ "10.1.2.3", false }, { "64:ff9b::a01:203", false }, { "::ffff:10.1.2.3", false },
		/*
		 * An allow in mode audit still allows: kept. A CIDR deny: withheld. The allow of
		 * 53 and 853 everywhere opens nothing (only the resolver answers there).
		 */
		{ "172.16.0.1", false }, { "192.168.1.1", true },
		/* Public addresses are never withheld. */
		{ "8.8.8.8", false }, { "2001:db8::1", false },
	};
	const char *nip[] = { "x.nip.test" };
	__u8 a[16];
	struct built_layers b;
	size_t i;
	__u32 r;

	build_layers(&b, y, 1);
	assert_int_equal(b.err, 0);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		addr16(t[i].addr, a);
		if (ag_dns_answer_withheld(b.c, a) != t[i].withheld)
			fail_msg("%s: expected %s", t[i].addr, t[i].withheld ? "withheld" : "kept");
	}
	/* A kept internal address: the domain rule opens none of its ports, the ip rule its own. */
	addr16("10.1.2.3", a);
	assert_int_equal(ag_net_decide_learned(b.c, a, AG_NET_TCP, 22, nip, 1, &r), AG_DENY);
	assert_string_equal(rule_name(&b, r), "n:network.default");
	assert_int_equal(ag_net_decide_learned(b.c, a, AG_NET_TCP, 443, nip, 1, &r), AG_ALLOW);
	assert_string_equal(rule_name(&b, r), "nexus");
	/* Control: a public address learned for the same name is open on every port. */
	addr16("8.8.8.8", a);
	assert_int_equal(ag_net_decide_learned(b.c, a, AG_NET_TCP, 22, nip, 1, &r), AG_ALLOW);
	assert_string_equal(rule_name(&b, r), "any");
	unbuild_layers(&b);

	/* An audit default does not open anything: withheld there too (a built-in rule). */
	build_layers(&b, audit, 1);
	assert_int_equal(b.err, 0);
	addr16("10.9.9.9", a);
	assert_true(ag_dns_answer_withheld(b.c, a));
	unbuild_layers(&b);

	/* default: allow opens the LAN already, but not what a CIDR denies. */
	build_layers(&b, open, 1);
	assert_int_equal(b.err, 0);
	addr16("192.168.1.1", a);
	assert_false(ag_dns_answer_withheld(b.c, a));
	addr16("10.9.9.9", a);
	assert_true(ag_dns_answer_withheld(b.c, a));
	unbuild_layers(&b);
}

static void test_rules_inside_ipv4_embedding_refused(void **state)
{
	static const char *const y[] = { HDR("n", "local", "enforce")
		"  network:\n    rules:\n"
		"      - action: deny\n        cidr: \"64:ff9b::/96\"\n"
		"      - action: deny\n        cidr: \"2002:a9fe::/32\"\n"
		"      - action: allow\n        cidr: \"2000::/3\"\n" };
	struct built_layers b;

	build_layers(&b, y, 1);
	assert_int_equal(b.err, -EINVAL);
	/* The two rules inside embedding prefixes; 2000::/3 merely contains one and is fine. */
	assert_int_equal(b.d.n_errors, 2);
	assert_non_null(strstr(b.d.v[0].msg, "NAT64 or 6to4"));
	unbuild_layers(&b);
}

static void test_duplicate_policy_names_refused(void **state)
{
	static const char *const y[] = { HDR("same", "org", "enforce"),
					  HDR("same", "local", "enforce") };
	struct built_layers b;

	build_layers(&b, y, 2);
	assert_int_equal(b.err, -EINVAL);
	assert_non_null(strstr(b.d.v[0].msg, "already used"));
	unbuild_layers(&b);
}

static void test_loopback_definition(void **state)
{
	static const char *const yes[] = { "127.0.0.1", "127.255.0.9", "::1", "::ffff:127.0.0.2" };
	static const char *const no[] = { "0.0.0.0", "10.0.0.1", "128.0.0.1", "::", "::2",
					  "::127.0.0.1", "2001:db8::1", "fe80::1" };
	__u8 a[16];
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		memset(a, 0, sizeof(a));
		if (inet_pton(AF_INET, yes[i], a + 12) == 1)
			a[10] = a[11] = 0xff;
		else
			assert_int_equal(inet_pton(AF_INET6, yes[i], a), 1);
		if (!ag_addr_is_loopback(a))
			fail_msg("%s should be loopback", yes[i]);
	}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		memset(a, 0, sizeof(a));
		if (inet_pton(AF_INET, no[i], a + 12) == 1)
			a[10] = a[11] = 0xff;
		else
			assert_int_equal(inet_pton(AF_INET6, no[i], a), 1);
		if (ag_addr_is_loopback(a))
			fail_msg("%s should not be loopback", no[i]);
	}
}

/* spec.process.io_uring: allowed only if every layer says true (silence keeps false). */
static void test_io_uring_every_layer(void **state)
{
	static const char *const both[] = {
		HDR("org", "org", "enforce") "  process:\n    io_uring: true\n",
		HDR("dev", "local", "enforce") "  process:\n    io_uring: true\n",
	};
	static const char *const silent_org[] = {
		HDR("org", "org", "enforce") "  network: {}\n",
		HDR("dev", "local", "enforce") "  process:\n    io_uring: true\n",
	};
	static const char *const refused[] = {
		HDR("org", "org", "enforce") "  process:\n    io_uring: true\n",
		HDR("dev", "local", "enforce") "  process:\n    io_uring: false\n",
	};
	struct built_layers b;

	build_layers(&b, both, 2);
	assert_int_equal(b.err, 0);
	assert_true(b.c->process.io_uring);
	unbuild_layers(&b);
	build_layers(&b, silent_org, 2);
	assert_int_equal(b.err, 0);
	assert_false(b.c->process.io_uring);
	unbuild_layers(&b);
	build_layers(&b, refused, 2);
	assert_int_equal(b.err, 0);
	assert_false(b.c->process.io_uring);
	unbuild_layers(&b);
	build_layers(&b, silent_org, 1);
	assert_int_equal(b.err, 0);
	assert_false(b.c->process.io_uring);
	unbuild_layers(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_longest_prefix_component_wise),
		cmocka_unit_test(test_lower_layer_cannot_widen),
		cmocka_unit_test(test_audit_vs_enforce),
		cmocka_unit_test(test_workspace_write_possible),
		cmocka_unit_test(test_duplicate_path_rejected),
		cmocka_unit_test(test_fs_ancestor_guards),
		cmocka_unit_test(test_fs_prefix_closed),
		cmocka_unit_test(test_net_deny_wins_regardless_of_specificity),
		cmocka_unit_test(test_net_ports_and_protocols),
		cmocka_unit_test(test_ipv6_forms_carrying_ipv4),
		cmocka_unit_test(test_unspecified_is_loopback),
		cmocka_unit_test(test_loopback_definition),
		cmocka_unit_test(test_io_uring_every_layer),
		cmocka_unit_test(test_net_layers),
		cmocka_unit_test(test_inbound_layers),
		cmocka_unit_test(test_inbound_entry_bound),
		cmocka_unit_test(test_port_segment_bound),
		cmocka_unit_test(test_domain_rules),
		cmocka_unit_test(test_internal_ranges),
		cmocka_unit_test(test_rebinding_withheld),
		cmocka_unit_test(test_rules_inside_ipv4_embedding_refused),
		cmocka_unit_test(test_duplicate_policy_names_refused),
	};

	return cmocka_run_group_tests_name("compile", tests, NULL, NULL);
}
