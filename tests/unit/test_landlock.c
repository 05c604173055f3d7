// SPDX-License-Identifier: GPL-2.0
/*
 * The Landlock fallback's mapping, without a kernel: which accesses each Landlock ABI handles
 * and grants per class, the plan made from the compiled table, and the assessment of which
 * rules it enforces (Landlock only grants, so a denial below a grant is lost), including the
 * report's lines that name them (FILE:LINE:COL).
 */
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
#include "fallback.h"
#include "landlock.h"
#include "policy.h"

struct built {
	struct built_layers l;
	struct ag_compiled *c;	/* l.c */
	struct ag_ll_plan plan;
	struct ag_ll_assessment a;
};

static void build(struct built *b, const char *const *yaml, size_t n, int abi)
{
	memset(b, 0, sizeof(*b));
	build_layers(&b->l, yaml, n);
	assert_int_equal(b->l.err, 0);
	b->c = b->l.c;
	assert_int_equal(ag_ll_plan(b->c, abi, &b->plan), 0);
	assert_int_equal(ag_ll_assess(b->c, &b->plan, &b->a), 0);
}

static void unbuild(struct built *b)
{
	ag_ll_assessment_free(&b->a);
	ag_ll_plan_free(&b->plan);
	unbuild_layers(&b->l);
}

/* The assessment of the rule with this id. */
static const struct ag_ll_rule *rule(const struct built *b, const char *id)
{
	size_t i;

	for (i = 0; i < b->c->n_rules; i++)
		if (!strcmp(b->c->rules[i].id, id))
			return &b->a.rule[i];
	fail_msg("no rule %s", id);
	return NULL;
}

static const char *rule_id(const struct built *b, __u32 i)
{
	return i < b->c->n_rules ? b->c->rules[i].id : "none";
}

static const struct ag_ll_grant *grant(const struct built *b, const char *path)
{
	size_t i;

	for (i = 0; i < b->plan.n_grant; i++)
		if (!strcmp(b->plan.grant[i].path, path))
			return &b->plan.grant[i];
	return NULL;
}

#define HDR(name, layer, mode) \
	"apiVersion: agentguard/v1\nkind: Policy\nmetadata:\n  name: " name "\n  layer: " layer \
	"\nspec:\n  mode: " mode "\n"

#define ABI1_FS ((LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1)

static void test_handled_per_abi(void **state)
{
	assert_int_equal(ag_ll_handled_fs(0), 0);
	assert_int_equal(ag_ll_handled_fs(1), ABI1_FS);
	assert_int_equal(ag_ll_handled_fs(2), ABI1_FS | LANDLOCK_ACCESS_FS_REFER);
	assert_int_equal(ag_ll_handled_fs(3), ABI1_FS | LANDLOCK_ACCESS_FS_REFER |
						      LANDLOCK_ACCESS_FS_TRUNCATE);
	/* ABI 4 adds only network rights, which the cgroup programs keep. */
	assert_int_equal(ag_ll_handled_fs(4), ag_ll_handled_fs(3));
	assert_int_equal(ag_ll_handled_fs(5), ag_ll_handled_fs(3) | LANDLOCK_ACCESS_FS_IOCTL_DEV);
	assert_int_equal(ag_ll_handled_fs(6), ag_ll_handled_fs(5));
	assert_int_equal(ag_ll_handled_fs(AG_LL_ABI_KNOWN + 3), ag_ll_handled_fs(5));
}

static void test_class_access_per_abi(void **state)
{
	__u64 w1 = ag_ll_class_access(AG_FS_WANT_WRITE, 1);
	int abi;

	assert_int_equal(ag_ll_class_access(AG_FS_WANT_READ, 1),
			 LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR);
	assert_int_equal(ag_ll_class_access(AG_FS_WANT_EXEC, 1), LANDLOCK_ACCESS_FS_EXECUTE);
	/* Write: every change to a file or a directory's entries, no read, no exec. */
	assert_true(w1 & LANDLOCK_ACCESS_FS_WRITE_FILE);
	assert_true(w1 & LANDLOCK_ACCESS_FS_REMOVE_FILE);
	assert_true(w1 & LANDLOCK_ACCESS_FS_MAKE_REG);
	assert_true(w1 & LANDLOCK_ACCESS_FS_MAKE_SYM);
	assert_false(w1 & (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_EXECUTE));
	/* Rights an ABI does not handle are never asked for (EINVAL). */
	assert_false(w1 & (LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE));
	assert_true(ag_ll_class_access(AG_FS_WANT_WRITE, 2) & LANDLOCK_ACCESS_FS_REFER);
	assert_true(ag_ll_class_access(AG_FS_WANT_WRITE, 3) & LANDLOCK_ACCESS_FS_TRUNCATE);
	assert_false(ag_ll_class_access(AG_FS_WANT_READ, 4) & LANDLOCK_ACCESS_FS_IOCTL_DEV);
	/* A device's ioctls go with opening it, for read or write, as BPF-LSM judges them. */
	assert_true(ag_ll_class_access(AG_FS_WANT_READ, 5) & LANDLOCK_ACCESS_FS_IOCTL_DEV);
	assert_true(ag_ll_class_access(AG_FS_WANT_WRITE, 5) & LANDLOCK_ACCESS_FS_IOCTL_DEV);
	assert_false(ag_ll_class_access(AG_FS_WANT_EXEC, 5) & LANDLOCK_ACCESS_FS_IOCTL_DEV);
	for (abi = 1; abi <= AG_LL_ABI_KNOWN; abi++)
		assert_int_equal(ag_ll_class_access(AG_FS_WANT_READ | AG_FS_WANT_WRITE |
						    AG_FS_WANT_EXEC, abi),
				 ag_ll_handled_fs(abi));
}

static void test_plan_default_deny(void **state)
{
	static const char *const y[] = { HDR("p", "local", "enforce")
		"  filesystem:\n    default: deny\n    rules:\n"
		"      - path: /work\n        access: rw\n"
		"      - path: /usr\n        access: ro\n        exec: true\n"
		"      - path: /root/.ssh\n        access: none\n" };
	const struct ag_ll_grant *g;
	struct built b;

	build(&b, y, 1, 6);
	/* Only what is allowed is granted: nothing on "/" nor on /root/.ssh; sorted by path. */
	assert_int_equal(b.plan.n_grant, 2);
	assert_string_equal(b.plan.grant[0].path, "/usr");
	assert_string_equal(b.plan.grant[1].path, "/work");
	g = grant(&b, "/usr");
	assert_int_equal(g->classes, AG_FS_WANT_READ | AG_FS_WANT_EXEC);
	assert_int_equal(g->access, ag_ll_class_access(AG_FS_WANT_READ | AG_FS_WANT_EXEC, 6));
	assert_int_equal(grant(&b, "/work")->classes, AG_FS_WANT_READ | AG_FS_WANT_WRITE);
	assert_int_equal(b.plan.scoped,
			 LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL);
	/* Every rule keeps its denials. */
	assert_int_equal(b.a.n_lost, 0);
	assert_int_equal(rule(&b, "p:filesystem.default")->status, AG_LL_ENFORCED);
	assert_int_equal(rule(&b, "p:filesystem[2]")->status, AG_LL_ENFORCED);
	assert_int_equal(rule(&b, "p:filesystem[2]")->denials, 3);
	unbuild(&b);

	/* Scopes came with ABI 6. */
	build(&b, y, 1, 5);
	assert_int_equal(b.plan.scoped, 0);
	unbuild(&b);
}

static void test_none_under_allowed_parent(void **state)
{
	static const char *const y[] = { HDR("p", "local", "enforce")
		"  filesystem:\n    default: allow\n    rules:\n"
		"      - path: /root/.ssh\n        access: none\n"
		"      - path: /home\n        access: rw\n"
		"      - path: /home/u/.aws\n        access: none\n" };
	const struct ag_ll_rule *r;
	struct built b;

	build(&b, y, 1, 7);
	/* default: allow grants everything on "/": the none rule loses all three classes. */
	r = rule(&b, "p:filesystem[0]");
	assert_int_equal(r->status, AG_LL_UNENFORCED);
	assert_int_equal(r->lost_classes, AG_FS_WANT_READ | AG_FS_WANT_WRITE | AG_FS_WANT_EXEC);
	assert_string_equal(r->loss[AG_FS_READ].path, "/root/.ssh");
	assert_string_equal(r->loss[AG_FS_READ].by->path, "/");
	assert_string_equal(rule_id(&b, r->loss[AG_FS_EXEC].by_rule), "p:filesystem.default");
	/* Under /home (rw, no exec), read and write are lost to /home, exec to "/". */
	r = rule(&b, "p:filesystem[2]");
	assert_int_equal(r->status, AG_LL_UNENFORCED);
	assert_string_equal(r->loss[AG_FS_WRITE].by->path, "/home");
	assert_string_equal(rule_id(&b, r->loss[AG_FS_WRITE].by_rule), "p:filesystem[1]");
	assert_string_equal(r->loss[AG_FS_EXEC].by->path, "/");
	/* /home's own denial of exec is lost to "/". */
	assert_int_equal(rule(&b, "p:filesystem[1]")->status, AG_LL_UNENFORCED);
	assert_int_equal(rule(&b, "p:filesystem[1]")->lost_classes, AG_FS_WANT_EXEC);
	assert_int_equal(rule(&b, "p:filesystem.default")->status, AG_LL_ENFORCED);
	assert_int_equal(b.a.n_lost, 3);
	/* /home/u has an entry for its guard (R11) only: no grant of its own. */
	assert_null(grant(&b, "/home/u"));
	unbuild(&b);
}

static void test_ro_under_rw_partly(void **state)
{
	static const char *const y[] = { HDR("p", "local", "enforce")
		"  filesystem:\n    default: deny\n    rules:\n"
		"      - path: /w\n        access: rw\n"
		"      - path: /w/docs\n        access: ro\n"
		"      - path: /w/keys\n        access: none\n" };
	const struct ag_ll_rule *r;
	struct built b;

	build(&b, y, 1, 3);
	/* ro keeps exec denied (nothing grants it) but loses write. */
	r = rule(&b, "p:filesystem[1]");
	assert_int_equal(r->status, AG_LL_PARTIAL);
	assert_int_equal(r->lost_classes, AG_FS_WANT_WRITE);
	assert_int_equal(r->denials, 2);
	assert_int_equal(r->lost, 1);
	assert_string_equal(r->loss[AG_FS_WRITE].by->path, "/w");
	assert_null(r->loss[AG_FS_EXEC].path);
	/* none under rw: read and write lost, exec kept: partly. */
	r = rule(&b, "p:filesystem[2]");
	assert_int_equal(r->status, AG_LL_PARTIAL);
	assert_int_equal(r->lost_classes, AG_FS_WANT_READ | AG_FS_WANT_WRITE);
	assert_int_equal(rule(&b, "p:filesystem[0]")->status, AG_LL_ENFORCED);
	assert_int_equal(b.a.n_lost, 2);
	unbuild(&b);
}

static void test_unplaced_grant_loses_nothing(void **state)
{
	static const char *const y[] = { HDR("p", "local", "enforce")
		"  filesystem:\n    default: deny\n    rules:\n"
		"      - path: /gone\n        access: rw\n"
		"      - path: /gone/x\n        access: none\n" };
	struct ag_ll_grant *g;
	struct built b;

	build(&b, y, 1, 7);
	assert_int_equal(rule(&b, "p:filesystem[1]")->status, AG_LL_PARTIAL);
	/* ag_ll_ruleset could not open /gone: nothing is granted there, so nothing is lost. */
	g = (struct ag_ll_grant *)grant(&b, "/gone");
	g->err = -ENOENT;
	ag_ll_assessment_free(&b.a);
	assert_int_equal(ag_ll_assess(b.c, &b.plan, &b.a), 0);
	assert_int_equal(rule(&b, "p:filesystem[1]")->status, AG_LL_ENFORCED);
	assert_int_equal(b.a.n_lost, 0);
	unbuild(&b);
}

static void test_layers_folded_first(void **state)
{
	static const char *const y[] = {
		HDR("org", "org", "enforce")
		"  filesystem:\n    default: allow\n    rules:\n"
		"      - path: /root/.ssh\n        access: none\n",
		HDR("dev", "local", "enforce")
		"  filesystem:\n    default: deny\n    rules:\n"
		"      - path: /root\n        access: rw\n",
	};
	struct built b;

	build(&b, y, 2, 7);
	/* The folded table denies "/" (dev) and /root/.ssh (org); /root is granted: lost. */
	assert_null(grant(&b, "/"));
	assert_non_null(grant(&b, "/root"));
	assert_int_equal(rule(&b, "org:filesystem[0]")->status, AG_LL_PARTIAL);
	assert_int_equal(rule(&b, "org:filesystem[0]")->lost_classes,
			 AG_FS_WANT_READ | AG_FS_WANT_WRITE);
	/* org's default allow decides nothing dev's default does not deny. */
	assert_int_equal(rule(&b, "dev:filesystem.default")->status, AG_LL_ENFORCED);
	unbuild(&b);
}

static void test_audit_mode_is_granted(void **state)
{
	static const char *const y[] = { HDR("p", "local", "audit")
		"  filesystem:\n    default: deny\n    rules:\n"
		"      - path: /x\n        access: none\n" };
	struct built b;

	build(&b, y, 1, 7);
	/* would-deny allows: granted, nothing lost, but no event either. */
	assert_int_equal(grant(&b, "/")->classes,
			 AG_FS_WANT_READ | AG_FS_WANT_WRITE | AG_FS_WANT_EXEC);
	assert_true(rule(&b, "p:filesystem[0]")->audit);
	assert_int_equal(rule(&b, "p:filesystem[0]")->status, AG_LL_ENFORCED);
	assert_int_equal(b.a.n_lost, 0);
	unbuild(&b);
}

static void test_writable(void **state)
{
	static const char *const y[] = { HDR("p", "local", "enforce")
		"  filesystem:\n    default: deny\n    rules:\n"
		"      - path: /tmp\n        access: rw\n"
		"      - path: /var\n        access: ro\n"
		"      - path: /sys/fs/cgroup/x\n        access: rw\n" };
	struct built b;

	build(&b, y, 1, 7);
	assert_string_equal(ag_ll_writable(&b.plan, "/tmp/agentguard/events")->path, "/tmp");
	assert_null(ag_ll_writable(&b.plan, "/var/lib/agentguard"));
	assert_null(ag_ll_writable(&b.plan, "/tmpfoo"));
	/* A grant below the protected path counts: part of it is writable. */
	assert_string_equal(ag_ll_writable(&b.plan, "/sys")->path, "/sys/fs/cgroup/x");
	((struct ag_ll_grant *)grant(&b, "/tmp"))->err = -ENOENT;
	assert_null(ag_ll_writable(&b.plan, "/tmp/x"));
	unbuild(&b);
}

/* The report names the rules by FILE:LINE:COL and says which are not enforced. */
static void test_report_names_rules(void **state)
{
	static const char *const y[] = { HDR("p", "local", "enforce")
		"  filesystem:\n    default: deny\n    rules:\n"
		"      - path: /home\n        access: rw\n"
		"      - path: /home/u/.ssh\n        access: none\n"
		"      - path: /usr\n        access: ro\n        exec: true\n"
		"  network:\n    default: deny\n" };
	const struct ag_fallback_protected prot[] = {
		{ "/var/lib/agentguard", "agentguard's state" },
		{ "/home/u/policy.yaml", "a policy file" },
	};
	struct built b;
	char *out = NULL;
	size_t len = 0, lost;
	FILE *f;

	build(&b, y, 1, 7);
	f = open_memstream(&out, &len);
	assert_non_null(f);
	lost = ag_fallback_report_run(f, b.c, &b.plan, &b.a, prot, 2, "");
	fclose(f);
	/* The .ssh rule (line 13) and the policy file under /home. */
	assert_int_equal(lost, 2);
	assert_non_null(strstr(out, "agentguard: fallback: t.yaml:13:9: rule \"p:filesystem[1]\" "
				    "(/home/u/.ssh, none): PARTLY ENFORCED: read, write at "
				    "/home/u/.ssh allowed by rule \"p:filesystem[0]\" "
				    "(t.yaml:11:9) on /home"));
	assert_non_null(strstr(out, "t.yaml:11:9: rule \"p:filesystem[0]\" (/home, rw): "
				    "enforced\n"));
	assert_non_null(strstr(out, "t.yaml:15:9: rule \"p:filesystem[2]\" (/usr, ro, exec): "
				    "enforced\n"));
	assert_non_null(strstr(out, "t.yaml: rule \"p:filesystem.default\" (default deny): "
				    "enforced\n"));
	assert_non_null(strstr(out, "t.yaml: rule \"p:network.default\": enforced (cgroup "
				    "programs)\n"));
	assert_non_null(strstr(out, "built-in: agentguard's state /var/lib/agentguard: enforced"));
	assert_non_null(strstr(out, "built-in: a policy file /home/u/policy.yaml: NOT ENFORCED: "
				    "writable through rule \"p:filesystem[0]\" (t.yaml:11:9) on "
				    "/home\n"));
	free(out);
	unbuild(&b);
}

/* Classes lost to different grants are named apart; limits without controllers are counted
 * only where a policy sets them. */
static void test_report_groups_and_limits(void **state)
{
	static const char *const y[] = { HDR("p", "local", "enforce")
		"  filesystem:\n    default: allow\n    rules:\n"
		"      - path: /home\n        access: rw\n"
		"      - path: /home/u/.aws\n        access: none\n"
		"  resources:\n    pids_max: 512\n" };
	struct built b;
	char *out = NULL;
	size_t len = 0, lost;
	FILE *f;

	build(&b, y, 1, 7);
	f = open_memstream(&out, &len);
	assert_non_null(f);
	lost = ag_fallback_report_run(f, b.c, &b.plan, &b.a, NULL, 0, "memory, pids");
	fclose(f);
	/* .aws and /home (its exec denial is lost to "/"), and spec.resources. */
	assert_int_equal(lost, 3);
	assert_non_null(strstr(out, "t.yaml:13:9: rule \"p:filesystem[1]\" (/home/u/.aws, none): "
				    "NOT ENFORCED: read, write at /home/u/.aws allowed by rule "
				    "\"p:filesystem[0]\" (t.yaml:11:9) on /home, exec at "
				    "/home/u/.aws allowed by rule \"p:filesystem.default\" (t.yaml) "
				    "on /; Landlock cannot deny below a path it allows\n"));
	assert_non_null(strstr(out, "built-in: resource limits (memory.max, pids.max, cpu.max): "
				    "NOT ENFORCED: no memory, pids controller"));
	assert_non_null(strstr(out, "t.yaml:16:15: spec.resources: NOT ENFORCED"));
	free(out);
	unbuild(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handled_per_abi),
		cmocka_unit_test(test_class_access_per_abi),
		cmocka_unit_test(test_plan_default_deny),
		cmocka_unit_test(test_none_under_allowed_parent),
		cmocka_unit_test(test_ro_under_rw_partly),
		cmocka_unit_test(test_unplaced_grant_loses_nothing),
		cmocka_unit_test(test_layers_folded_first),
		cmocka_unit_test(test_audit_mode_is_granted),
		cmocka_unit_test(test_writable),
		cmocka_unit_test(test_report_names_rules),
		cmocka_unit_test(test_report_groups_and_limits),
	};

	return cmocka_run_group_tests_name("landlock", tests, NULL, NULL);
}
