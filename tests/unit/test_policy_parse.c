// SPDX-License-Identifier: GPL-2.0
/*
 * Policy parser unit tests: every rule of schema v1, each error with its exact LINE:COL and a
 * piece of its message. No kernel, no privileges. Fixtures are in tests/unit/policies/; the test
 * runs from the repository root (or set AG_TEST_POLICIES to the fixture directory).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "policy.h"
#include "sha256.h"

/* Five lines: whatever follows HDR starts on line 6. */
#define HDR "apiVersion: agentguard/v1\nkind: Policy\nmetadata:\n  name: t\nspec:\n"
/* The rule's first key is at 8:9; put further keys on "\n        key: value" lines. */
#define FS1(rule) HDR "  filesystem:\n    rules:\n      - " rule "\n"
#define NET1(rule) HDR "  network:\n    rules:\n      - " rule "\n"
/* The same for unix rules: a path's value is at 8:15, an abstract name's at 8:19. */
#define UNIX1(rule) HDR "  unix:\n    rules:\n      - " rule "\n"
/* One resources line, line 7: memory_max's value is at col 17, pids_max's 15, cpu_max's 14. */
#define RES1(line) HDR "  resources:\n    " line "\n"

/*
 * Allocation failure injection: with fail_countdown at n, the n-th allocation from then on
 * fails. glibc lets a program replace malloc, and calls the replacement from strdup, asprintf,
 * realpath and libyaml alike. Sanitizers bring their own allocator, so not there.
 */
#if defined(__SANITIZE_ADDRESS__)
#define NO_ALLOC_INJECTION
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define NO_ALLOC_INJECTION
#endif
#endif

static long fail_countdown;
/* Allocations not yet freed: a leak check where valgrind cannot look. */
static long live_allocs;

#ifndef NO_ALLOC_INJECTION
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);

static bool alloc_fails(void)
{
	if (fail_countdown > 0 && --fail_countdown == 0) {
		errno = ENOMEM;
		return true;
	}
	return false;
}

void *malloc(size_t size)
{
	void *p = alloc_fails() ? NULL : __libc_malloc(size);

	live_allocs += p != NULL;
	return p;
}

void *calloc(size_t n, size_t size)
{
	void *p = alloc_fails() ? NULL : __libc_calloc(n, size);

	live_allocs += p != NULL;
	return p;
}

void *realloc(void *p, size_t size)
{
	void *q = alloc_fails() ? NULL : __libc_realloc(p, size);

	live_allocs += !p && q;
	return q;
}

void free(void *p)
{
	live_allocs -= p != NULL;
	__libc_free(p);
}
#endif

static const char *fixture(const char *name)
{
	static char buf[4096];
	const char *dir = getenv("AG_TEST_POLICIES");

	snprintf(buf, sizeof(buf), "%s/%s", dir ? dir : "tests/unit/policies", name);
	return buf;
}

static void dump(const struct ag_diags *d)
{
	ag_diags_print(d, stderr);
}

/* Parse, expect -EINVAL with exactly n_errors errors, one at line:col whose message has sub. */
static void expect_errors_len(const char *yaml, size_t len, size_t n_errors, unsigned int line,
			      unsigned int col, const char *sub)
{
	struct ag_diags d = { 0 };
	struct ag_policy *p = (struct ag_policy *)1;
	bool found = false;
	size_t i;
	int ret;

	ret = ag_policy_parse_buf("t.yaml", yaml, len, &p, &d);
	for (i = 0; i < d.n; i++) {
		const struct ag_diag *g = &d.v[i];

		if (g->level == AG_DIAG_ERROR && g->pos.line == line && g->pos.col == col &&
		    strstr(g->msg, sub))
			found = true;
	}
	if (ret != -EINVAL || !found || d.n_errors != n_errors) {
		fprintf(stderr, "want %zu error(s), one at %u:%u with \"%s\"; got ret %d and:\n",
			n_errors, line, col, sub, ret);
		dump(&d);
	}
	assert_int_equal(ret, -EINVAL);
	assert_null(p);
	assert_true(found);
	assert_int_equal(d.n_errors, n_errors);
	ag_diags_free(&d);
}

#define expect_error(yaml, line, col, sub) expect_errors_len(yaml, strlen(yaml), 1, line, col, sub)
#define expect_errors(yaml, n, line, col, sub) \
	expect_errors_len(yaml, strlen(yaml), n, line, col, sub)

static struct ag_policy *parse_ok(const char *yaml, struct ag_diags *d)
{
	struct ag_policy *p = NULL;
	int ret;

	ret = ag_policy_parse_buf("t.yaml", yaml, strlen(yaml), &p, d);
	if (ret)
		dump(d);
	assert_int_equal(ret, 0);
	assert_non_null(p);
	assert_int_equal(d->n_errors, 0);
	return p;
}

/* The one diagnostic of a parse that must succeed is a warning containing sub. */
static void expect_ok(const char *yaml)
{
	struct ag_diags d = { 0 };

	ag_policy_free(parse_ok(yaml, &d));
	ag_diags_free(&d);
}

static void hex_of(const void *data, size_t len, char *hex)
{
	uint8_t md[AG_SHA256_LEN];

	ag_sha256(data, len, md);
	ag_sha256_hex(md, hex);
}

/* SHA-256 */

static void test_sha256_vectors(void **state)
{
	char hex[65], *million;
	struct ag_sha256 s;
	uint8_t md[32];
	size_t i;

	hex_of("", 0, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	hex_of("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	hex_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
	assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

	million = malloc(1000000);
	assert_non_null(million);
	memset(million, 'a', 1000000);
	hex_of(million, 1000000, hex);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");

	/* The same, fed in odd-sized pieces across block boundaries. */
	ag_sha256_init(&s);
	for (i = 0; i < 1000000; i += 777)
		ag_sha256_update(&s, million + i, 1000000 - i < 777 ? 1000000 - i : 777);
	ag_sha256_final(&s, md);
	ag_sha256_hex(md, hex);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(million);
}

/* Valid policies */

static void test_full_policy_file(void **state)
{
	struct ag_diags d = { 0 };
	struct ag_policy *p = NULL;
	const struct ag_unix_rule *u;
	const struct ag_net_rule *r;
	const struct ag_fs_rule *f;
	uint8_t md[32];
	char *bytes;
	size_t len;
	FILE *fp;
	int ret;

	ret = ag_policy_parse_file(fixture("full.yaml"), &p, &d);
	if (ret)
		dump(&d);
	assert_int_equal(ret, 0);
	assert_int_equal(d.n_errors, 0);

	assert_string_equal(p->file, fixture("full.yaml"));
	assert_string_equal(p->name, "ci-agent");
	assert_int_equal(p->layer, AG_LAYER_TEAM);
	assert_int_equal(p->mode, AG_MODE_AUDIT);
	assert_true(p->fs_default_allow);
	assert_true(p->net_default_allow);

	assert_int_equal(p->n_fs_rules, 4);
	f = &p->fs_rules[0];
	assert_string_equal(f->path, "/workspace");
	assert_string_equal(f->id, "workspace");
	assert_int_equal(f->access, AG_FS_RW);
	assert_true(f->exec);
	assert_int_equal(f->mode, AG_MODE_ENFORCE);
	assert_int_equal(f->pos.line, 12);
	assert_int_equal(f->pos.col, 9);
	assert_int_equal(f->path_pos.line, 12);
	assert_int_equal(f->path_pos.col, 15);
	f = &p->fs_rules[1];
	assert_string_equal(f->path, "/usr");
	assert_null(f->id);
	assert_int_equal(f->access, AG_FS_RO);
	assert_true(f->exec);
	assert_int_equal(f->mode, AG_MODE_INHERIT);
	f = &p->fs_rules[2];
	assert_string_equal(f->path, "/root/.ssh");
	assert_int_equal(f->access, AG_FS_NONE);
	assert_false(f->exec);
	f = &p->fs_rules[3];
	assert_string_equal(f->path, "/");
	assert_false(f->exec);

	assert_int_equal(p->n_net_rules, 6);
	r = &p->net_rules[0];
	assert_int_equal(r->action, AG_NET_ALLOW);
	assert_int_equal(r->target, AG_TARGET_CIDR);
	assert_true(r->is_v4);
	assert_memory_equal(r->addr,
			    ((uint8_t[16]){ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 0,
					    0 }),
			    16);
	assert_int_equal(r->prefixlen, 112);
	assert_int_equal(r->n_ports, 3);
	assert_int_equal(r->ports[0].lo, 443);
	assert_int_equal(r->ports[0].hi, 443);
	assert_int_equal(r->ports[0].pos.line, 30);
	assert_int_equal(r->ports[0].pos.col, 17);
	assert_int_equal(r->ports[1].lo, 8000);
	assert_int_equal(r->ports[1].hi, 8100);
	assert_int_equal(r->ports[1].pos.col, 22);
	assert_int_equal(r->ports[2].lo, 22);
	assert_int_equal(r->ports[2].hi, 22);
	assert_int_equal(r->protocol, AG_PROTO_TCP);
	assert_string_equal(r->id, "internal");
	assert_int_equal(r->mode, AG_MODE_AUDIT);
	assert_int_equal(r->pos.line, 28);
	assert_int_equal(r->pos.col, 9);
	assert_int_equal(r->target_pos.line, 29);
	assert_int_equal(r->target_pos.col, 15);

	r = &p->net_rules[1];
	assert_int_equal(r->target, AG_TARGET_DOMAIN);
	assert_string_equal(r->domain, "api.example.com");
	assert_int_equal(r->protocol, AG_PROTO_UDP);
	assert_int_equal(r->n_ports, 1);
	assert_null(r->id);
	assert_int_equal(r->mode, AG_MODE_INHERIT);

	r = &p->net_rules[2];
	assert_int_equal(r->action, AG_NET_DENY);
	assert_int_equal(r->target, AG_TARGET_IP);
	assert_true(r->is_v4);
	assert_memory_equal(r->addr,
			    ((uint8_t[16]){ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 169, 254, 169,
					    254 }),
			    16);
	assert_int_equal(r->prefixlen, 128);
	assert_null(r->ports);
	assert_int_equal(r->n_ports, 0);
	assert_int_equal(r->protocol, AG_PROTO_ANY);

	r = &p->net_rules[3];
	assert_int_equal(r->target, AG_TARGET_CIDR);
	assert_false(r->is_v4);
	assert_memory_equal(r->addr,
			    ((uint8_t[16]){ 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					    0, 0 }),
			    16);
	assert_int_equal(r->prefixlen, 32);
	assert_int_equal(r->protocol, AG_PROTO_ANY);

	r = &p->net_rules[4];
	assert_int_equal(r->target, AG_TARGET_IP);
	assert_false(r->is_v4);
	assert_int_equal(r->prefixlen, 128);
	assert_int_equal(r->addr[0], 0xfd);
	assert_int_equal(r->addr[15], 0x54);

	r = &p->net_rules[5];
	assert_string_equal(r->domain, "*.xn--bcher-kva.example");

	assert_int_equal(p->n_unix_rules, 3);
	u = &p->unix_rules[0];
	assert_string_equal(u->path, "/run/user/1000/bus");
	assert_null(u->abstract);
	assert_int_equal(u->abstract_len, 0);
	assert_string_equal(u->id, "session-bus");
	assert_int_equal(u->pos.line, 49);
	assert_int_equal(u->pos.col, 9);
	assert_int_equal(u->target_pos.line, 49);
	assert_int_equal(u->target_pos.col, 15);
	u = &p->unix_rules[1];
	assert_null(u->path);
	assert_null(u->id);
	assert_int_equal(u->abstract_len, 10);
	assert_memory_equal(u->abstract, "my-service", 11);
	assert_int_equal(u->target_pos.line, 51);
	assert_int_equal(u->target_pos.col, 19);
	/* Any byte but NUL; "\u00e9" is two bytes of UTF-8. */
	u = &p->unix_rules[2];
	assert_int_equal(u->abstract_len, 11);
	assert_memory_equal(u->abstract, "\x01odd name\xc3\xa9", 12);

	assert_true(p->resources.has_memory_max);
	assert_int_equal(p->resources.memory_max, 2ull << 30);
	assert_int_equal(p->resources.memory_pos.line, 54);
	assert_int_equal(p->resources.memory_pos.col, 17);
	assert_true(p->resources.has_pids_max);
	assert_int_equal(p->resources.pids_max, 4096);
	assert_int_equal(p->resources.pids_pos.line, 55);
	assert_int_equal(p->resources.pids_pos.col, 15);
	assert_true(p->resources.has_cpu_max);
	assert_int_equal(p->resources.cpu_max_percent, 150);
	assert_int_equal(p->resources.cpu_pos.line, 56);
	assert_int_equal(p->resources.cpu_pos.col, 14);

	/* The hash is of the file's bytes, exactly. */
	fp = fopen(fixture("full.yaml"), "rb");
	assert_non_null(fp);
	bytes = malloc(1 << 16);
	assert_non_null(bytes);
	len = fread(bytes, 1, 1 << 16, fp);
	fclose(fp);
	ag_sha256(bytes, len, md);
	assert_memory_equal(p->sha256, md, 32);
	free(bytes);

	ag_policy_free(p);
	ag_diags_free(&d);
}

static void test_defaults(void **state)
{
	struct ag_diags d = { 0 };
	struct ag_policy *p;

	p = parse_ok(HDR "  filesystem:\n    rules:\n      - path: /tmp\n        access: rw\n"
		     "  network:\n    rules:\n      - action: allow\n        ip: \"::1\"\n", &d);
	assert_int_equal(p->layer, AG_LAYER_LOCAL);
	assert_int_equal(p->mode, AG_MODE_ENFORCE);
	assert_false(p->fs_default_allow);
	assert_false(p->net_default_allow);
	assert_false(p->fs_rules[0].exec);
	assert_int_equal(p->fs_rules[0].mode, AG_MODE_INHERIT);
	assert_null(p->fs_rules[0].id);
	assert_int_equal(p->net_rules[0].protocol, AG_PROTO_ANY);
	assert_int_equal(p->net_rules[0].n_ports, 0);
	assert_null(p->net_rules[0].ports);
	assert_int_equal(p->net_rules[0].mode, AG_MODE_INHERIT);
	assert_false(p->net_rules[0].is_v4);
	assert_int_equal(p->net_rules[0].addr[15], 1);
	ag_policy_free(p);
	ag_diags_free(&d);

	/* An empty spec: everything denied, no rules. */
	p = parse_ok(HDR "  {}\n", &d);
	assert_int_equal(p->n_fs_rules, 0);
	assert_int_equal(p->n_net_rules, 0);
	assert_null(p->fs_rules);
	assert_null(p->net_rules);
	assert_int_equal(p->n_unix_rules, 0);
	assert_null(p->unix_rules);
	assert_false(p->resources.has_memory_max);
	assert_false(p->resources.has_pids_max);
	assert_false(p->resources.has_cpu_max);
	ag_policy_free(p);
	ag_diags_free(&d);

	/* Flow style, quoted keys and empty rule lists are all the same YAML. */
	expect_ok("{apiVersion: agentguard/v1, \"kind\": 'Policy', metadata: {name: a-0},"
		  " spec: {filesystem: {rules: []}, network: {default: allow, rules: []},"
		  " unix: {rules: []}, resources: {}}}");
	expect_ok(HDR "  unix: {}\n");
}

static void test_all_errors_reported(void **state)
{
	static const struct {
		unsigned int line, col;
		const char *sub;
	} want[] = {
		{ 2, 13, "unsupported version \"agentguard/v2\"" },
		{ 5, 9, "invalid name \"Bad_Name\"" },
		{ 9, 15, "is not absolute" },
		{ 11, 9, "unknown field \"colour\"" },
		{ 15, 15, "host bits are set: the network is 10.1.0.0/16" },
		{ 16, 17, "port 0 is out of range 1..65535" },
		{ 19, 19, "spec.unix.rules[0].abstract: empty abstract name" },
		{ 20, 9, "\"mode\" is not allowed: unix rules are allow-only" },
		{ 22, 14, "spec.resources.cpu_max: \"0%\" is out of range 1%..100000%" },
	};
	struct ag_diags d = { 0 };
	struct ag_policy *p = NULL;
	size_t i;
	int ret;

	ret = ag_policy_parse_file(fixture("bad.yaml"), &p, &d);
	assert_int_equal(ret, -EINVAL);
	assert_null(p);
	if (d.n != sizeof(want) / sizeof(want[0]))
		dump(&d);
	assert_int_equal(d.n, sizeof(want) / sizeof(want[0]));
	assert_int_equal(d.n_errors, d.n);
	for (i = 0; i < d.n; i++) {
		assert_string_equal(d.v[i].file, fixture("bad.yaml"));
		assert_int_equal(d.v[i].pos.line, want[i].line);
		assert_int_equal(d.v[i].pos.col, want[i].col);
		assert_non_null(strstr(d.v[i].msg, want[i].sub));
	}
	ag_diags_free(&d);
}

static void test_file_errors(void **state)
{
	struct ag_diags d = { 0 };
	struct ag_policy *p = NULL;

	assert_int_equal(ag_policy_parse_file(fixture("no-such-file.yaml"), &p, &d), -ENOENT);
	assert_null(p);
	assert_int_equal(ag_policy_parse_file(fixture(""), &p, &d), -EISDIR);
	assert_int_equal(d.n, 0);
}

/* Document structure */

static void test_empty_file(void **state)
{
	expect_error("", 1, 1, "empty policy file");
	expect_error("# only a comment\n\n", 1, 1, "empty policy file");
	expect_error("---\n", 1, 1, "empty policy file");
	expect_error("--- # nothing\n...\n", 1, 1, "empty policy file");
	expect_error("\"\"\n", 1, 1, "policy: expected a mapping, got a string");
}

static void test_multi_document(void **state)
{
	expect_error(HDR "  {}\n---\n" HDR "  {}\n", 7, 1, "a second YAML document");
	expect_error("---\n" HDR "  {}\n...\n--- {}\n", 9, 1, "a second YAML document");
}

static void test_alias_rejected(void **state)
{
	expect_error(HDR "  filesystem:\n    rules:\n      - &r {path: /a, access: ro}\n      - *r\n",
		     9, 9, "aliases are not supported (*r)");
	/* An alias used as a key: one error, not a cascade. */
	expect_error(HDR "  mode: &m enforce\n  *m : x\n", 7, 3, "aliases are not supported");
}

static void test_tag_rejected(void **state)
{
	expect_error(HDR "  mode: !!str enforce\n", 6, 9, "YAML tags are not supported");
}

static void test_syntax_error(void **state)
{
	expect_error(HDR "  mode: enforce\n bad: x\n", 7, 2,
		     "YAML syntax error: did not find expected key (while parsing a block mapping at 1:1)");
	expect_error(HDR "  mode: \"unterminated\n", 7, 1, "YAML syntax error");
	/* Raw NUL and invalid UTF-8 are caught by libyaml's reader, with a position. */
	expect_errors_len(HDR "  mode: a\0b\n", sizeof(HDR "  mode: a\0b\n") - 1, 1, 6, 10,
			  "invalid YAML input");
	expect_error(HDR "  mode: \xff\n", 6, 9, "invalid YAML input");
}

static void test_too_deep(void **state)
{
	char buf[256];

	memset(buf, '[', 100);
	buf[100] = '\0';
	expect_error(buf, 1, 33, "nested deeper than 32 levels");
}

static void test_duplicate_keys(void **state)
{
	expect_error(HDR "  mode: audit\n  mode: enforce\n", 7, 3,
		     "duplicate key \"mode\" (first at 6:3)");
	expect_error("apiVersion: agentguard/v1\nkind: Policy\nkind: Policy\nmetadata: {name: t}\n"
		     "spec: {}\n", 3, 1, "duplicate key \"kind\" (first at 2:1)");
	expect_error(FS1("path: /a\n        access: ro\n        \"path\": /b"), 10, 9,
		     "duplicate key \"path\" (first at 8:9)");
	/* Every repeat is reported, each pointing at the first. */
	expect_errors(HDR "  mode: audit\n  mode: audit\n  mode: audit\n", 2, 8, 3,
		      "duplicate key \"mode\" (first at 6:3)");
	/* The first occurrence is kept: the second's bad value is not checked. */
	expect_error(HDR "  mode: audit\n  mode: bogus\n", 7, 3, "duplicate key");
}

static void test_unknown_fields(void **state)
{
	expect_error(HDR "  {}\nextra: 1\n", 7, 1,
		     "unknown field \"extra\" at the top level (expected one of: apiVersion, kind, "
		     "metadata, spec)");
	expect_error("apiVersion: agentguard/v1\nkind: Policy\nmetadata:\n  name: t\n  labels: {}\n"
		     "spec: {}\n", 5, 3, "unknown field \"labels\" in metadata");
	expect_error(HDR "  proces: {}\n", 6, 3, "unknown field \"proces\" in spec (expected one of: "
		     "mode, filesystem, network, unix, resources, process)");
	expect_error(HDR "  process:\n    io_uring: yes\n", 7, 15,
		     "spec.process.io_uring: expected true or false, got \"yes\"");
	expect_error(HDR "  process:\n    uring: true\n", 7, 5,
		     "unknown field \"uring\" in spec.process");
	expect_error(HDR "  filesystem:\n    rule: []\n", 7, 5,
		     "unknown field \"rule\" in spec.filesystem");
	expect_error(FS1("path: /a\n        access: ro\n        exe: true"), 10, 9,
		     "unknown field \"exe\" in spec.filesystem.rules[0]");
	expect_error(NET1("action: allow\n        ip: 10.0.0.1\n        port: [1]"), 10, 9,
		     "unknown field \"port\" in spec.network.rules[0]");
	/* Keys are shown escaped. */
	expect_error(HDR "  \"a\\x1bb\": 1\n", 6, 3, "unknown field \"a\\x1bb\"");
	expect_error(HDR "  [a]: 1\n", 6, 3, "mapping keys must be plain strings");
}

static void test_header_fields(void **state)
{
	expect_error("apiVersion: agentguard/v2\nkind: Policy\nmetadata: {name: t}\nspec: {}\n", 1, 13,
		     "apiVersion: unsupported version \"agentguard/v2\": expected \"agentguard/v1\"");
	expect_error("apiVersion: agentguard/v1\nkind: Polcy\nmetadata: {name: t}\nspec: {}\n", 2, 7,
		     "kind: invalid value \"Polcy\"");
	expect_error("kind: Policy\nmetadata: {name: t}\nspec: {}\n", 1, 1,
		     "missing required field \"apiVersion\" at the top level");
	expect_error("apiVersion: agentguard/v1\nkind: Policy\nmetadata: {name: t}\n", 1, 1,
		     "missing required field \"spec\"");
	expect_error("apiVersion: agentguard/v1\nkind: Policy\nmetadata:\n  layer: org\nspec: {}\n",
		     4, 3, "missing required field \"name\" in metadata");
	expect_error("apiVersion: 1\nkind: Policy\nmetadata: {name: t}\nspec: {}\n", 1, 13,
		     "apiVersion: expected a string, got an integer");
	expect_error("- a\n- b\n", 1, 1, "policy: expected a mapping, got a sequence");
}

static void test_metadata(void **state)
{
	char yaml[512];
	struct ag_diags d = { 0 };
	struct ag_policy *p;

	expect_error("apiVersion: agentguard/v1\nkind: Policy\nmetadata:\n  name: Ci\nspec: {}\n", 4,
		     9, "metadata.name: invalid name \"Ci\"");
	expect_error("apiVersion: agentguard/v1\nkind: Policy\nmetadata:\n  name: \"\"\nspec: {}\n",
		     4, 9, "invalid name");
	expect_error("apiVersion: agentguard/v1\nkind: Policy\nmetadata:\n  name: 123\nspec: {}\n",
		     4, 9, "metadata.name: expected a string, got an integer");
	expect_error("apiVersion: agentguard/v1\nkind: Policy\nmetadata: x\nspec: {}\n", 3, 11,
		     "metadata: expected a mapping, got a string");
	expect_error("apiVersion: agentguard/v1\nkind: Policy\nmetadata: {name: t, layer: global}\n"
		     "spec: {}\n", 3, 28, "metadata.layer: invalid value \"global\": expected org, "
		     "team or local");

	/* 63 characters is the limit. */
	snprintf(yaml, sizeof(yaml), "apiVersion: agentguard/v1\nkind: Policy\nmetadata:\n"
		 "  name: %.63s\n  layer: org\nspec: {}\n",
		 "a23456789-123456789-123456789-123456789-123456789-123456789-1234");
	p = parse_ok(yaml, &d);
	assert_int_equal(strlen(p->name), 63);
	assert_int_equal(p->layer, AG_LAYER_ORG);
	ag_policy_free(p);
	ag_diags_free(&d);
	snprintf(yaml, sizeof(yaml), "apiVersion: agentguard/v1\nkind: Policy\nmetadata:\n"
		 "  name: %.64s\nspec: {}\n",
		 "a23456789-123456789-123456789-123456789-123456789-123456789-1234");
	expect_error(yaml, 4, 9, "invalid name");
}

static void test_spec_fields(void **state)
{
	expect_error(HDR "  mode: permissive\n", 6, 9,
		     "spec.mode: invalid value \"permissive\": expected enforce or audit");
	expect_error(HDR "  filesystem:\n    default: open\n", 7, 14,
		     "spec.filesystem.default: invalid value \"open\": expected deny or allow");
	expect_error(HDR "  network: {default: true}\n", 6, 22,
		     "spec.network.default: expected a string, got a boolean");
	expect_error(HDR "  filesystem: []\n", 6, 15, "spec.filesystem: expected a mapping, got a "
		     "sequence");
	expect_error(HDR "  network:\n    rules: {}\n", 7, 12,
		     "spec.network.rules: expected a sequence, got a mapping");
	expect_error(HDR "  network:\n    rules:\n", 7, 11,
		     "spec.network.rules: expected a sequence, got null");
	expect_error(HDR "  filesystem:\n    rules:\n      - /usr\n", 8, 9,
		     "spec.filesystem.rules[0]: expected a mapping, got a string");
}

/* Filesystem rules */

static void test_fs_required(void **state)
{
	expect_error(FS1("access: ro"), 8, 9,
		     "missing required field \"path\" in spec.filesystem.rules[0]");
	expect_error(FS1("path: /a"), 8, 9,
		     "missing required field \"access\" in spec.filesystem.rules[0]");
	expect_error(FS1("path: /a\n        access: write"), 9, 17,
		     "spec.filesystem.rules[0].access: invalid value \"write\": expected none, ro "
		     "or rw");
	expect_error(FS1("path: {a: b}\n        access: ro"), 8, 15,
		     "spec.filesystem.rules[0].path: expected a string, got a mapping");
}

static void test_fs_path_relative(void **state)
{
	expect_error(FS1("path: usr/lib\n        access: ro"), 8, 15,
		     "path \"usr/lib\" is not absolute");
	expect_error(FS1("path: \"\"\n        access: ro"), 8, 15, "empty path");
}

static void test_fs_path_dots(void **state)
{
	expect_error(FS1("path: /usr/../etc\n        access: ro"), 8, 15,
		     "path \"/usr/../etc\" is not normalised: it contains a \"..\" component");
	expect_error(FS1("path: /..\n        access: ro"), 8, 15, "contains a \"..\" component");
	expect_error(FS1("path: /usr/./lib\n        access: ro"), 8, 15,
		     "contains a \".\" component");
	expect_error(FS1("path: /.\n        access: ro"), 8, 15, "contains a \".\" component");
	/* Dots inside names are fine. */
	expect_ok(FS1("path: /a/.b/..c/...\n        access: ro"));
}

static void test_fs_path_slashes(void **state)
{
	expect_error(FS1("path: /usr//lib\n        access: ro"), 8, 15, "it contains \"//\"");
	expect_error(FS1("path: //usr\n        access: ro"), 8, 15, "it contains \"//\"");
	expect_error(FS1("path: /usr/\n        access: ro"), 8, 15,
		     "path \"/usr/\" is not normalised: remove the trailing \"/\"");
	expect_error(FS1("path: //\n        access: ro"), 8, 15, "not normalised");
	expect_ok(FS1("path: /\n        access: ro"));
}

static void test_fs_path_length(void **state)
{
	size_t n = 4096, hl = strlen(FS1("path: "));
	char *yaml = malloc(hl + n + 64);
	struct ag_diags d = { 0 };
	struct ag_policy *p;

	assert_non_null(yaml);
	/* "/aaaa...": 4096 bytes is one too many. */
	memcpy(yaml, FS1("path: "), hl);
	yaml[hl - 1] = ' ';	/* FS1 ends with "\n": the path goes where it was */
	hl--;
	yaml[hl] = '/';
	memset(yaml + hl + 1, 'a', n - 1);
	strcpy(yaml + hl + n, "\n        access: ro\n");
	expect_error(yaml, 8, 15, "path is 4096 bytes, longer than the limit of 4095");

	/* 4095 bytes is allowed. */
	yaml[hl + n - 1] = '\0';
	strcat(yaml, "\n        access: ro\n");
	p = parse_ok(yaml, &d);
	assert_int_equal(strlen(p->fs_rules[0].path), 4095);
	ag_policy_free(p);
	ag_diags_free(&d);
	free(yaml);
}

static void test_fs_path_control_chars(void **state)
{
	expect_error(FS1("path: \"/tmp/a\\x01b\"\n        access: ro"), 8, 15,
		     "path \"/tmp/a\\x01b\" contains a control character (at offset 6)");
	expect_error(FS1("path: \"/tmp/a\\0b\"\n        access: ro"), 8, 15,
		     "path contains a NUL byte (at offset 6)");
	expect_error(FS1("path: \"/tmp/\\x7f\"\n        access: ro"), 8, 15, "control character");
	/* C1 controls: U+0085 (NEL) is a line break to some terminals. */
	expect_error(FS1("path: \"/tmp/\\x85\"\n        access: ro"), 8, 15, "control character");
	expect_error(FS1("path: \"/tmp/\\t\"\n        access: ro"), 8, 15, "control character");
	/* Other non-ASCII is a valid file name. */
	expect_ok(FS1("path: /tmp/b\xc3\xbc" "cher\n        access: ro"));
}

static void test_fs_exec(void **state)
{
	expect_error(FS1("path: /a\n        access: none\n        exec: true"), 10, 15,
		     "exec: true with access: none");
	expect_ok(FS1("path: /a\n        access: none\n        exec: false"));
	expect_error(FS1("path: /a\n        access: ro\n        exec: yes"), 10, 15,
		     "spec.filesystem.rules[0].exec: expected true or false, got \"yes\"");
	expect_error(FS1("path: /a\n        access: ro\n        exec: on"), 10, 15,
		     "expected true or false, got \"on\"");
	expect_error(FS1("path: /a\n        access: ro\n        exec: True"), 10, 15,
		     "expected true or false, got \"True\"");
	expect_error(FS1("path: /a\n        access: ro\n        exec: \"true\""), 10, 15,
		     "expected true or false, got a string");
	expect_error(FS1("path: /a\n        access: ro\n        exec: 1"), 10, 15,
		     "expected true or false, got \"1\"");
	expect_error(FS1("path: /a\n        access: ro\n        exec:"), 10, 14,
		     "expected true or false, got null");
}

static void test_fs_mode(void **state)
{
	struct ag_diags d = { 0 };
	struct ag_policy *p;

	p = parse_ok(FS1("path: /a\n        access: ro\n        mode: audit"), &d);
	assert_int_equal(p->fs_rules[0].mode, AG_MODE_AUDIT);
	ag_policy_free(p);
	ag_diags_free(&d);
	expect_error(FS1("path: /a\n        access: ro\n        mode: inherit"), 10, 15,
		     "spec.filesystem.rules[0].mode: invalid value \"inherit\"");
}

static void test_ids(void **state)
{
	char yaml[1024], id[160];

	expect_error(HDR "  filesystem:\n    rules:\n      - {path: /a, access: ro, id: x}\n"
		     "  network:\n    rules:\n      - {action: deny, ip: 1.2.3.4, id: x}\n",
		     11, 9, "duplicate id \"x\" (first at 8:9)");
	expect_error(FS1("path: /a\n        access: ro\n        id: \"\""), 10, 13, "empty id");
	expect_error(FS1("path: /a\n        access: ro\n        id: \"a\\tb\""), 10, 13,
		     "id may only hold printable ASCII (byte 0x09 at offset 1)");
	memset(id, 'i', 129);
	id[129] = '\0';
	snprintf(yaml, sizeof(yaml), FS1("path: /a\n        access: ro\n        id: %s"), id);
	expect_error(yaml, 10, 13, "id is 129 bytes, longer than the limit of 128");
	id[128] = '\0';
	snprintf(yaml, sizeof(yaml), FS1("path: /a\n        access: ro\n        id: %s"), id);
	expect_ok(yaml);
	/* An explicit id must not take another rule's automatic id. */
	expect_error(HDR "  filesystem:\n    rules:\n      - {path: /a, access: ro, id: \"t:filesystem[1]\"}\n"
		     "      - {path: /b, access: ro}\n", 8, 9,
		     "id \"t:filesystem[1]\" is the automatic id of spec.filesystem.rules[1]");
	expect_error(NET1("{action: deny, ip: 1.2.3.4, id: \"t:network.default\"}"), 8, 9,
		     "is the automatic id of spec.network.default");
	/* Its own automatic id is harmless. */
	expect_ok(NET1("{action: deny, ip: 1.2.3.4, id: \"t:network[0]\"}"));
}

/* Network rules */

static void test_net_action(void **state)
{
	expect_error(NET1("ip: 10.0.0.1"), 8, 9,
		     "missing required field \"action\" in spec.network.rules[0]");
	expect_error(NET1("action: block\n        ip: 10.0.0.1"), 8, 17,
		     "spec.network.rules[0].action: invalid value \"block\": expected allow or deny");
	expect_error(NET1("action: allow\n        ip: 10.0.0.1\n        protocol: icmp"), 10, 19,
		     "spec.network.rules[0].protocol: invalid value \"icmp\": expected tcp, udp or any");
}

static void test_net_targets(void **state)
{
	expect_error(NET1("action: allow\n        cidr: 10.0.0.0/8\n        domain: a.com"), 10, 9,
		     "spec.network.rules[0]: both \"cidr\" and \"domain\": a rule takes exactly one");
	/* Reported at the second, whichever key it is. */
	expect_error(NET1("action: allow\n        domain: a.com\n        ip: 10.0.0.1"), 10, 9,
		     "both \"domain\" and \"ip\"");
	expect_errors(NET1("action: allow\n        ip: 10.0.0.1\n        cidr: 10.0.0.0/8\n"
			   "        domain: a.com"), 2, 11, 9, "both \"ip\" and \"domain\"");
	expect_error(NET1("action: allow\n        ports: [443]"), 8, 9,
		     "spec.network.rules[0]: no target: a rule needs exactly one of cidr, ip or "
		     "domain");
}

static void test_net_cidr(void **state)
{
	struct ag_diags d = { 0 };
	struct ag_policy *p;

	expect_error(NET1("action: allow\n        cidr: 10.1.2.3/16"), 9, 15,
		     "spec.network.rules[0].cidr: \"10.1.2.3/16\": host bits are set: the network "
		     "is 10.1.0.0/16");
	expect_error(NET1("action: allow\n        cidr: 10.256.0.0/16"), 9, 15,
		     "IPv4 octet \"256\" is greater than 255");
	expect_error(NET1("action: allow\n        cidr: 10.010.0.0/16"), 9, 15,
		     "IPv4 octet \"010\" has a leading zero");
	expect_error(NET1("action: allow\n        cidr: 10.0.0/16"), 9, 15,
		     "not a dotted-quad IPv4 address");
	expect_error(NET1("action: allow\n        cidr: 10.0.0.0/33"), 9, 15,
		     "prefix length 33 is out of range 0..32");
	expect_error(NET1("action: allow\n        cidr: 10.0.0.0/08"), 9, 15,
		     "the prefix length is not a decimal number 0..32");
	expect_error(NET1("action: allow\n        cidr: 10.0.0.0"), 9, 15, "no prefix length");
	expect_error(NET1("action: allow\n        cidr: \"2001:db8::1/32\""), 9, 15,
		     "host bits are set: the network is 2001:db8::/32");
	expect_error(NET1("action: allow\n        cidr: \"2001:db8::/129\""), 9, 15,
		     "prefix length 129 is out of range 0..128");
	expect_error(NET1("action: allow\n        cidr: \"2001:db8:::/64\""), 9, 15,
		     "not an IPv6 address");
	expect_error(NET1("action: allow\n        cidr: 10.0.0.0/8/8"), 9, 15, "not a decimal");

	p = parse_ok(NET1("action: deny\n        cidr: 0.0.0.0/0"), &d);
	assert_int_equal(p->net_rules[0].prefixlen, 96);
	assert_true(p->net_rules[0].is_v4);
	assert_int_equal(p->net_rules[0].addr[10], 0xff);
	ag_policy_free(p);
	ag_diags_free(&d);

	p = parse_ok(NET1("action: deny\n        cidr: \"::/0\""), &d);
	assert_int_equal(p->net_rules[0].prefixlen, 0);
	assert_false(p->net_rules[0].is_v4);
	ag_policy_free(p);
	ag_diags_free(&d);

	p = parse_ok(NET1("action: deny\n        cidr: 10.1.2.3/32"), &d);
	assert_int_equal(p->net_rules[0].prefixlen, 128);
	ag_policy_free(p);
	ag_diags_free(&d);
}

static void test_net_ip(void **state)
{
	expect_error(NET1("action: deny\n        ip: 10.0.0.0/8"), 9, 13,
		     "spec.network.rules[0].ip: \"10.0.0.0/8\": an ip is a single address: use cidr");
	expect_error(NET1("action: deny\n        ip: 1.2.3.256"), 9, 13, "is greater than 255");
	expect_error(NET1("action: deny\n        ip: \"fe80::1%eth0\""), 9, 13, "not an IPv6 address");
	expect_error(NET1("action: deny\n        ip: example.com"), 9, 13, "not a dotted-quad");
	expect_error(NET1("action: deny\n        ip: 1"), 9, 13, "expected a string, got an integer");
	expect_ok(NET1("action: deny\n        ip: \"::ffff:10.0.0.1\""));
}

static void test_net_ports(void **state)
{
	struct ag_diags d = { 0 };
	struct ag_policy *p;

	expect_error(NET1("action: allow\n        ip: 1.2.3.4\n        ports: [0]"), 10, 17,
		     "spec.network.rules[0].ports[0]: port 0 is out of range 1..65535");
	expect_error(NET1("action: allow\n        ip: 1.2.3.4\n        ports: [443, 65536]"), 10, 22,
		     "spec.network.rules[0].ports[1]: port 65536 is out of range 1..65535");
	expect_error(NET1("action: allow\n        ip: 1.2.3.4\n        ports: [99999999999999999999]"),
		     10, 17, "is out of range 1..65535");
	expect_error(NET1("action: allow\n        ip: 1.2.3.4\n        ports: [\"9000-8000\"]"), 10,
		     17, "range \"9000-8000\" is reversed: write 8000-9000");
	expect_error(NET1("action: allow\n        ip: 1.2.3.4\n        ports: [\"1-65536\"]"), 10, 17,
		     "range \"1-65536\": port 65536 is out of range");
	expect_error(NET1("action: allow\n        ip: 1.2.3.4\n        ports: [\"0-10\"]"), 10, 17,
		     "port 0 is out of range");
	expect_error(NET1("action: allow\n        ip: 1.2.3.4\n        ports: [0x1bb]"), 10, 17,
		     "port \"0x1bb\" is not a decimal number");
	expect_error(NET1("action: allow\n        ip: 1.2.3.4\n        ports: [0443]"), 10, 17,
		     "port 0443 has a leading zero");
	expect_error(NET1("action: allow\n        ip: 1.2.3.4\n        ports: [-1]"), 10, 17,
		     "is not a decimal number");
	expect_error(NET1("action: allow\n        ip: 1.2.3.4\n        ports: [https]"), 10, 17,
		     "port \"https\" is not a decimal number");
	expect_error(NET1("action: allow\n        ip: 1.2.3.4\n        ports: [4.5]"), 10, 17,
		     "expected a port number or a \"lo-hi\" range, got a number");
	expect_error(NET1("action: allow\n        ip: 1.2.3.4\n        ports: []"), 10, 16,
		     "empty list: leave ports out to mean all ports");
	expect_error(NET1("action: allow\n        ip: 1.2.3.4\n        ports: 443"), 10, 16,
		     "spec.network.rules[0].ports: expected a sequence, got an integer");
	expect_errors(NET1("action: allow\n        ip: 1.2.3.4\n        ports: [0, 1, 0]"), 2, 10,
		      23, "ports[2]: port 0");

	p = parse_ok(NET1("action: allow\n        ip: 1.2.3.4\n        ports: [1, \"65535\", 8000-8100,"
			  " \"1-65535\"]"), &d);
	assert_int_equal(p->net_rules[0].n_ports, 4);
	assert_int_equal(p->net_rules[0].ports[0].lo, 1);
	assert_int_equal(p->net_rules[0].ports[1].lo, 65535);
	assert_int_equal(p->net_rules[0].ports[1].hi, 65535);
	assert_int_equal(p->net_rules[0].ports[2].lo, 8000);
	assert_int_equal(p->net_rules[0].ports[2].hi, 8100);
	assert_int_equal(p->net_rules[0].ports[3].lo, 1);
	assert_int_equal(p->net_rules[0].ports[3].hi, 65535);
	ag_policy_free(p);
	ag_diags_free(&d);
}

static void test_net_domains(void **state)
{
	static const struct {
		const char *domain;
		const char *sub;
	} bad[] = {
		{ "Example.com", "must be lower case" },
		{ "example.com.", "remove the trailing \".\"" },
		{ "a..b", "empty label" },
		{ ".a.com", "empty label" },
		{ "-a.com", "label \"-a\" starts or ends with \"-\"" },
		{ "a-.com", "starts or ends with \"-\"" },
		{ "\"*.\"", "no name after \"*.\"" },
		{ "\"*\"", "\"*\" is only allowed as a leading \"*.\"" },
		{ "\"a.*.com\"", "only allowed as a leading" },
		{ "\"*.*.com\"", "only allowed as a leading" },
		{ "\"*a.com\"", "only allowed as a leading" },
		{ "b\xc3\xbc" "cher.de", "write an IDN as punycode" },
		{ "a_b.com", "invalid character '_'" },
		{ "\"a b.com\"", "invalid character ' '" },
		{ "\"a\\x01.com\"", "control character" },
		{ "1.2.3.4", "an IP address: use ip" },
		{ "\"\"", "empty domain" },
	};
	char yaml[1024], label[80], longname[300];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(yaml, sizeof(yaml), NET1("action: allow\n        domain: %s"), bad[i].domain);
		expect_error(yaml, 9, 17, bad[i].sub);
	}

	/* Labels: 63 characters allowed, 64 not. */
	memset(label, 'l', 64);
	label[64] = '\0';
	snprintf(yaml, sizeof(yaml), NET1("action: allow\n        domain: %s.com"), label);
	expect_error(yaml, 9, 17, "is 64 characters, longer than 63");
	label[63] = '\0';
	snprintf(yaml, sizeof(yaml), NET1("action: allow\n        domain: %s.com"), label);
	expect_ok(yaml);

	/* The name: 253 characters allowed, 254 not (not counting a leading "*."). */
	for (i = 0; i < 4; i++)
		memcpy(longname + i * 64, label, 63), longname[i * 64 + 63] = '.';
	longname[253] = '\0';	/* 4 * 63 + 3 dots = 255: cut to 253, ending in a letter */
	longname[252] = 'z';
	snprintf(yaml, sizeof(yaml), NET1("action: allow\n        domain: \"*.%s\""), longname);
	expect_ok(yaml);
	longname[253] = 'z';
	longname[254] = '\0';
	snprintf(yaml, sizeof(yaml), NET1("action: allow\n        domain: %s"), longname);
	expect_error(yaml, 9, 17, "254 characters, longer than the limit of 253");

	expect_ok(NET1("action: allow\n        domain: \"*.example.com\""));
	expect_ok(NET1("action: allow\n        domain: xn--bcher-kva.de"));
	expect_ok(NET1("action: allow\n        domain: localhost"));
	expect_ok(NET1("action: allow\n        domain: 1.2.3.com"));
}

/* Unix rules */

static void test_unix_rules(void **state)
{
	struct ag_diags d = { 0 };
	struct ag_policy *p;

	p = parse_ok(HDR "  unix:\n    rules:\n      - path: /run/dbus/system_bus_socket\n"
		     "      - {abstract: \"a b\\x7f\", id: my-socket}\n", &d);
	assert_int_equal(p->n_unix_rules, 2);
	assert_string_equal(p->unix_rules[0].path, "/run/dbus/system_bus_socket");
	assert_null(p->unix_rules[0].abstract);
	assert_null(p->unix_rules[0].id);
	assert_int_equal(p->unix_rules[0].pos.line, 8);
	assert_int_equal(p->unix_rules[0].pos.col, 9);
	assert_int_equal(p->unix_rules[0].target_pos.col, 15);
	assert_null(p->unix_rules[1].path);
	assert_int_equal(p->unix_rules[1].abstract_len, 4);
	assert_memory_equal(p->unix_rules[1].abstract, "a b\x7f", 5);
	assert_string_equal(p->unix_rules[1].id, "my-socket");
	assert_int_equal(p->unix_rules[1].pos.line, 9);
	assert_int_equal(p->unix_rules[1].pos.col, 9);
	assert_int_equal(p->unix_rules[1].target_pos.line, 9);
	assert_int_equal(p->unix_rules[1].target_pos.col, 20);
	ag_policy_free(p);
	ag_diags_free(&d);

	expect_error(HDR "  unix: []\n", 6, 9, "spec.unix: expected a mapping, got a sequence");
	expect_error(HDR "  unix:\n    rules:\n", 7, 11,
		     "spec.unix.rules: expected a sequence, got null");
	expect_error(UNIX1("/run/x.sock"), 8, 9,
		     "spec.unix.rules[0]: expected a mapping, got a string");
	/* What no rule lists is denied by the built-in rule: there is no default to set. */
	expect_error(HDR "  unix:\n    default: allow\n", 7, 5,
		     "spec.unix: \"default\" is not allowed: unix rules are allow-only");
	/* Refused fields are not offered as expected ones. */
	expect_error(UNIX1("path: /run/x\n        access: rw"), 9, 9,
		     "unknown field \"access\" in spec.unix.rules[0] (expected one of: path, "
		     "abstract, id)");
	expect_error(HDR "  unix:\n    rule: []\n", 7, 5,
		     "unknown field \"rule\" in spec.unix (expected one of: rules)");
}

static void test_unix_targets(void **state)
{
	expect_error(UNIX1("id: x"), 8, 9,
		     "spec.unix.rules[0]: no target: a rule needs exactly one of path or abstract");
	expect_error(UNIX1("{}"), 8, 9, "no target");
	/* Reported at the second, whichever key it is. */
	expect_error(UNIX1("path: /run/x\n        abstract: x"), 9, 9,
		     "spec.unix.rules[0]: both \"path\" and \"abstract\": a rule takes exactly one "
		     "of path or abstract");
	expect_error(UNIX1("abstract: x\n        path: /run/x"), 9, 9,
		     "both \"abstract\" and \"path\"");
	/* The first target is still checked. */
	expect_errors(UNIX1("path: run/x\n        abstract: x"), 2, 8, 15,
		      "spec.unix.rules[0].path: path \"run/x\" is not absolute");
}

static void test_unix_allow_only(void **state)
{
	expect_error(UNIX1("path: /run/x\n        mode: audit"), 9, 9,
		     "spec.unix.rules[0]: \"mode\" is not allowed: unix rules are allow-only");
	/* Whatever the value: the field itself is the mistake. */
	expect_error(UNIX1("path: /run/x\n        mode: bogus"), 9, 9, "allow-only");
	expect_error(UNIX1("abstract: x\n        action: deny"), 9, 9,
		     "\"action\" is not allowed: unix rules are allow-only");
	expect_errors(UNIX1("{abstract: x, mode: enforce, action: allow}"), 2, 8, 38, "\"action\"");
}

static void test_unix_paths(void **state)
{
	char *yaml;
	size_t hl = strlen(UNIX1("path: "));

	expect_error(UNIX1("path: run/x"), 8, 15, "spec.unix.rules[0].path: path \"run/x\" is not "
		     "absolute");
	expect_error(UNIX1("path: /run//x"), 8, 15, "it contains \"//\"");
	expect_error(UNIX1("path: /run/x/"), 8, 15, "remove the trailing \"/\"");
	expect_error(UNIX1("path: /run/../x"), 8, 15, "contains a \"..\" component");
	expect_error(UNIX1("path: \"\""), 8, 15, "empty path");
	expect_error(UNIX1("path: \"/run/\\0x\""), 8, 15, "path contains a NUL byte (at offset 5)");
	expect_error(UNIX1("path: \"/run/\\tx\""), 8, 15, "control character");
	expect_error(UNIX1("path: 1"), 8, 15, "expected a string, got an integer");
	expect_error(UNIX1("path: /"), 8, 15,
		     "spec.unix.rules[0].path: \"/\" is a directory, not a socket");

	/* 4095 bytes like any rule path, not sun_path's 107: the loader opens it, not connect(). */
	yaml = malloc(hl + 4096 + 8);
	assert_non_null(yaml);
	memcpy(yaml, UNIX1("path: "), hl);
	hl--;			/* UNIX1 ends with "\n": the path goes there */
	yaml[hl] = '/';
	memset(yaml + hl + 1, 's', 4095);
	strcpy(yaml + hl + 4096, "\n");
	expect_error(yaml, 8, 15, "path is 4096 bytes, longer than the limit of 4095");
	strcpy(yaml + hl + 4095, "\n");
	expect_ok(yaml);
	free(yaml);
}

static void test_unix_abstract(void **state)
{
	char yaml[1024], name[256];
	struct ag_diags d = { 0 };
	struct ag_policy *p;
	size_t i;

	expect_error(UNIX1("abstract: \"\""), 8, 19, "spec.unix.rules[0].abstract: empty abstract name");
	expect_error(UNIX1("abstract: \"\\0x\""), 8, 19,
		     "abstract name contains a NUL byte (at offset 0): write the name without the "
		     "leading NUL");
	expect_error(UNIX1("abstract: \"ab\\0\""), 8, 19,
		     "abstract name contains a NUL byte (at offset 2)");
	expect_error(UNIX1("abstract: 123"), 8, 19,
		     "spec.unix.rules[0].abstract: expected a string, got an integer");
	expect_error(UNIX1("abstract: true"), 8, 19, "expected a string, got a boolean");
	expect_error(UNIX1("abstract:"), 8, 18, "expected a string, got null");
	expect_error(UNIX1("abstract: [a]"), 8, 19, "expected a string, got a sequence");

	/* 107 bytes fit after the NUL in sun_path; 108 do not. */
	memset(name, 'n', 108);
	name[108] = '\0';
	snprintf(yaml, sizeof(yaml), UNIX1("abstract: %s"), name);
	expect_error(yaml, 8, 19, "abstract name is 108 bytes, longer than the limit of 107");
	name[107] = '\0';
	snprintf(yaml, sizeof(yaml), UNIX1("abstract: %s"), name);
	p = parse_ok(yaml, &d);
	assert_int_equal(p->unix_rules[0].abstract_len, 107);
	ag_policy_free(p);
	ag_diags_free(&d);

	/* Bytes, not characters: 54 two-byte characters are 108 bytes. */
	for (i = 0; i < 54; i++)
		memcpy(name + 2 * i, "\xc3\xa9", 2);
	name[108] = '\0';
	snprintf(yaml, sizeof(yaml), UNIX1("abstract: %s"), name);
	expect_error(yaml, 8, 19, "abstract name is 108 bytes");
	name[106] = '\0';
	snprintf(yaml, sizeof(yaml), UNIX1("abstract: %s"), name);
	expect_ok(yaml);

	/* Any other byte: controls, spaces, slashes, a leading "/" or "@" as written. */
	p = parse_ok(UNIX1("abstract: \"\\x01\\t /tmp/.X11-unix/X0\\x7f\""), &d);
	assert_int_equal(d.n, 0);
	assert_int_equal(p->unix_rules[0].abstract_len, 21);
	assert_memory_equal(p->unix_rules[0].abstract, "\x01\t /tmp/.X11-unix/X0\x7f", 22);
	ag_policy_free(p);
	ag_diags_free(&d);

	/* "@name" is how ss shows an abstract socket: a warning, since "@" is a valid byte. */
	p = parse_ok(UNIX1("abstract: \"@/tmp/dbus-1a2b\""), &d);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].level, AG_DIAG_WARNING);
	assert_int_equal(d.v[0].pos.line, 8);
	assert_int_equal(d.v[0].pos.col, 19);
	assert_non_null(strstr(d.v[0].msg, "spec.unix.rules[0].abstract: \"@/tmp/dbus-1a2b\" starts "
			       "with \"@\""));
	assert_non_null(strstr(d.v[0].msg, "write \"/tmp/dbus-1a2b\""));
	assert_memory_equal(p->unix_rules[0].abstract, "@/tmp/dbus-1a2b", 16);
	ag_policy_free(p);
	ag_diags_free(&d);
	p = parse_ok(UNIX1("abstract: \"@\""), &d);
	assert_int_equal(d.n, 0);
	ag_policy_free(p);
	ag_diags_free(&d);
}

static void test_unix_ids(void **state)
{
	struct ag_diags d = { 0 };
	struct ag_policy *p;

	expect_error(UNIX1("path: /run/x\n        id: \"\""), 9, 13,
		     "spec.unix.rules[0].id: empty id");
	expect_error(UNIX1("path: /run/x\n        id: 7"), 9, 13,
		     "spec.unix.rules[0].id: expected a string, got an integer");
	/* Ids are unique across sections, and automatic ids count "<name>:unix[<i>]". */
	expect_error(HDR "  filesystem:\n    rules:\n      - {path: /a, access: ro, id: x}\n"
		     "  unix:\n    rules:\n      - {path: /run/x, id: x}\n", 11, 9,
		     "duplicate id \"x\" (first at 8:9)");
	expect_error(HDR "  unix:\n    rules:\n      - {path: /run/x, id: \"t:unix[1]\"}\n"
		     "      - {abstract: y}\n", 8, 9,
		     "id \"t:unix[1]\" is the automatic id of spec.unix.rules[1]");
	expect_error(HDR "  filesystem:\n    rules:\n      - {path: /a, access: ro, id: \"t:unix[0]\"}\n"
		     "  unix:\n    rules:\n      - {abstract: y}\n", 8, 9,
		     "is the automatic id of spec.unix.rules[0]");
	expect_error(HDR "  unix:\n    rules:\n      - {abstract: y, id: \"t:network[0]\"}\n"
		     "  network:\n    rules:\n      - {action: deny, ip: 1.2.3.4}\n", 8, 9,
		     "is the automatic id of spec.network.rules[0]");
	expect_error(UNIX1("{abstract: y, id: \"t:filesystem.default\"}"), 8, 9,
		     "is the automatic id of spec.filesystem.default");
	p = parse_ok(UNIX1("{abstract: y, id: \"t:unix[0]\"}"), &d);
	assert_string_equal(p->unix_rules[0].id, "t:unix[0]");
	ag_policy_free(p);
	ag_diags_free(&d);
}

/* Resources */

static void test_resources_ok(void **state)
{
	static const struct {
		const char *line;
		uint64_t memory, pids;
		uint32_t cpu;
	} ok[] = {
		{ "memory_max: 1048576", 1048576, 0, 0 },
		{ "memory_max: 1M", 1048576, 0, 0 },
		{ "memory_max: 1024K", 1048576, 0, 0 },
		{ "memory_max: \"512M\"", 512ull << 20, 0, 0 },
		{ "memory_max: 3G", 3ull << 30, 0, 0 },
		{ "memory_max: 2T", 2ull << 40, 0, 0 },
		{ "memory_max: 8388607T", 8388607ull << 40, 0, 0 },
		{ "memory_max: 9223372036854775807", 9223372036854775807ull, 0, 0 },
		{ "pids_max: 1", 0, 1, 0 },
		{ "pids_max: 4194304", 0, 4194304, 0 },
		{ "cpu_max: 1%", 0, 0, 1 },
		{ "cpu_max: \"100%\"", 0, 0, 100 },
		{ "cpu_max: '100000%'", 0, 0, 100000 },
	};
	struct ag_diags d = { 0 };
	struct ag_policy *p;
	char yaml[512];
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(yaml, sizeof(yaml), RES1("%s"), ok[i].line);
		p = parse_ok(yaml, &d);
		assert_int_equal(p->resources.has_memory_max, ok[i].memory != 0);
		assert_int_equal(p->resources.memory_max, ok[i].memory);
		assert_int_equal(p->resources.has_pids_max, ok[i].pids != 0);
		assert_int_equal(p->resources.pids_max, ok[i].pids);
		assert_int_equal(p->resources.has_cpu_max, ok[i].cpu != 0);
		assert_int_equal(p->resources.cpu_max_percent, ok[i].cpu);
		ag_policy_free(p);
		ag_diags_free(&d);
	}

	p = parse_ok(HDR "  resources: {cpu_max: 50%, pids_max: 64, memory_max: 256M}\n", &d);
	assert_int_equal(p->resources.cpu_pos.line, 6);
	assert_int_equal(p->resources.cpu_pos.col, 24);
	assert_int_equal(p->resources.pids_pos.col, 39);
	assert_int_equal(p->resources.memory_pos.col, 55);
	ag_policy_free(p);
	ag_diags_free(&d);
	expect_ok(HDR "  resources: {}\n");
}

static void test_resources_errors(void **state)
{
	expect_error(HDR "  resources: []\n", 6, 14,
		     "spec.resources: expected a mapping, got a sequence");
	expect_error(HDR "  resources:\n", 6, 13, "spec.resources: expected a mapping, got null");
	expect_error(RES1("memory: 1G"), 7, 5, "unknown field \"memory\" in spec.resources "
		     "(expected one of: memory_max, pids_max, cpu_max)");
	expect_error(RES1("pids_max: 5\n    pids_max: 6"), 8, 5,
		     "duplicate key \"pids_max\" (first at 7:5)");
	/* Every bad value is reported, not just the first. */
	expect_errors(RES1("memory_max: 1K\n    pids_max: 0\n    cpu_max: 0%"), 3, 9, 14,
		      "cpu_max");
}

static void test_resources_memory(void **state)
{
	static const struct {
		const char *value;
		const char *sub;
	} bad[] = {
		{ "1048575", "1048575 is less than the minimum of 1M (1048576 bytes)" },
		{ "1023K", "\"1023K\" is less than the minimum of 1M" },
		{ "0", "0 is less than the minimum" },
		{ "0M", "\"0M\" is less than the minimum" },
		{ "2g", "\"2g\": unknown unit \"g\": use K, M, G or T (powers of 1024)" },
		{ "2GiB", "unknown unit \"GiB\"" },
		{ "2 G", "unknown unit \" G\"" },
		{ "1.5G", "\"1.5G\" is not a whole number: use a smaller unit (1536M, not 1.5G)" },
		{ "\"1048576\"", "\"1048576\" is a string without a unit: write bytes as an integer" },
		{ "max", "\"max\" is not a size" },
		{ "G", "\"G\" is not a size" },
		{ "\"\"", "\"\" is not a size" },
		{ "0x100000", "0x100000 is not a decimal number" },
		{ "0o4000000", "is not a decimal number" },
		{ "01048576", "01048576 has a leading zero" },
		{ "\"01G\"", "\"01G\" has a leading zero" },
		{ "-1", "-1 is negative" },
		{ "+1048576", "is not a decimal number" },
		{ "8388608T", "\"8388608T\" is too large: the kernel's limit is 2^63-1 bytes" },
		{ "9223372036854775808", "is too large" },
		{ "99999999999999999999999999", "is too large" },
		{ "99999999999999999999999999T", "is too large" },
		{ "1e9", "expected a number of bytes or a size such as \"2G\", got a number" },
		{ "true", "got a boolean" },
		{ "{a: 1}", "got a mapping" },
	};
	char yaml[512];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(yaml, sizeof(yaml), RES1("memory_max: %s"), bad[i].value);
		expect_error(yaml, 7, 17, bad[i].sub);
	}
	expect_error(RES1("memory_max:"), 7, 16, "spec.resources.memory_max: expected a number of "
		     "bytes or a size such as \"2G\", got null");
}

static void test_resources_pids(void **state)
{
	static const struct {
		const char *value;
		const char *sub;
	} bad[] = {
		{ "0", "spec.resources.pids_max: 0 is out of range 1..4194304" },
		{ "4194305", "4194305 is out of range 1..4194304" },
		{ "-1", "-1 is out of range" },
		{ "99999999999999999999999999", "is out of range" },
		{ "010", "010 has a leading zero" },
		{ "0x10", "0x10 is not a decimal number" },
		{ "\"4096\"", "spec.resources.pids_max: expected an integer, got a string" },
		{ "4k", "expected an integer, got a string" },
		{ "1.0", "expected an integer, got a number" },
		{ "max", "expected an integer, got a string" },
	};
	char yaml[512];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(yaml, sizeof(yaml), RES1("pids_max: %s"), bad[i].value);
		expect_error(yaml, 7, 15, bad[i].sub);
	}
}

static void test_resources_cpu(void **state)
{
	static const struct {
		const char *value;
		const char *sub;
	} bad[] = {
		{ "150", "spec.resources.cpu_max: expected a percentage of one CPU such as \"150%\", "
			 "got an integer" },
		{ "1.5", "got a number" },
		{ "\"150\"", "\"150\" is not a percentage: write a whole number of percent of one CPU "
			     "with a \"%\" sign" },
		{ "max", "\"max\" is not a percentage" },
		{ "\"\"", "\"\" is not a percentage" },
		{ "0%", "\"0%\" is out of range 1%..100000% (100% is one CPU)" },
		{ "100001%", "\"100001%\" is out of range" },
		{ "99999999999999999999999%", "is out of range" },
		{ "-5%", "\"-5%\" is out of range" },
		{ "1.5%", "\"1.5%\": the number before \"%\" is not a decimal number" },
		{ "050%", "\"050%\": the number before \"%\" has a leading zero" },
		{ "\"150 %\"", "the number before \"%\" is not a decimal number" },
		{ "\"%\"", "the number before \"%\" is missing" },
		{ "true", "spec.resources.cpu_max: expected a string, got a boolean" },
		{ "[150%]", "expected a string, got a sequence" },
	};
	char yaml[512];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(yaml, sizeof(yaml), RES1("cpu_max: %s"), bad[i].value);
		expect_error(yaml, 7, 14, bad[i].sub);
	}
}

/* Symlinks: warnings, not errors */

static void test_symlink_warning(void **state)
{
	char tmpl[] = "/tmp/ag-test-XXXXXX", *dir, *real, link[256], target[256], yaml[4096];
	char want[2048];
	struct ag_diags d = { 0 };
	struct ag_policy *p;

	dir = mkdtemp(tmpl);
	assert_non_null(dir);
	real = realpath(dir, NULL);
	assert_non_null(real);
	snprintf(target, sizeof(target), "%s/real", real);
	snprintf(link, sizeof(link), "%s/link", real);
	assert_int_equal(mkdir(target, 0700), 0);
	assert_int_equal(symlink("real", link), 0);

	snprintf(yaml, sizeof(yaml), FS1("path: %s/sub/file\n        access: ro"), link);
	p = parse_ok(yaml, &d);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].level, AG_DIAG_WARNING);
	assert_int_equal(d.v[0].pos.line, 8);
	assert_int_equal(d.v[0].pos.col, 15);
	snprintf(want, sizeof(want), "\"%s\" is a symlink to \"%s\": the kernel sees the resolved "
		 "path \"%s/sub/file\"", link, target, target);
	if (!strstr(d.v[0].msg, want))
		fprintf(stderr, "want \"%s\"\ngot  \"%s\"\n", want, d.v[0].msg);
	assert_non_null(strstr(d.v[0].msg, want));
	ag_policy_free(p);
	ag_diags_free(&d);

	/* The rule path itself being the link. */
	snprintf(yaml, sizeof(yaml), FS1("path: %s\n        access: ro"), link);
	p = parse_ok(yaml, &d);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].level, AG_DIAG_WARNING);
	ag_policy_free(p);
	ag_diags_free(&d);

	/* Rules sharing prefixes (the parser caches what it learnt): only the link warns. */
	snprintf(yaml, sizeof(yaml), HDR "  filesystem:\n    rules:\n"
		 "      - {path: %s/nope/a, access: ro}\n"
		 "      - {path: %s/nope/b, access: ro}\n"
		 "      - {path: %s, access: ro}\n"
		 "      - {path: %s/x, access: ro}\n"
		 "      - {path: %sx/y, access: ro}\n"
		 "      - {path: %s/y, access: ro}\n", real, real, target, link, link, link);
	p = parse_ok(yaml, &d);
	if (d.n != 2)
		dump(&d);
	assert_int_equal(d.n, 2);
	assert_int_equal(d.v[0].pos.line, 11);
	assert_int_equal(d.v[1].pos.line, 13);
	ag_policy_free(p);
	ag_diags_free(&d);

	/* A dangling link. */
	assert_int_equal(unlink(link), 0);
	assert_int_equal(symlink("nowhere", link), 0);
	snprintf(yaml, sizeof(yaml), FS1("path: %s/x\n        access: ro"), link);
	p = parse_ok(yaml, &d);
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.v[0].msg, "is a symlink to \"nowhere\", which does not resolve"));
	ag_policy_free(p);
	ag_diags_free(&d);

	/* A unix socket path through the same link: the same warning, at the path. */
	assert_int_equal(unlink(link), 0);
	assert_int_equal(symlink("real", link), 0);
	snprintf(yaml, sizeof(yaml), UNIX1("path: %s/bus"), link);
	p = parse_ok(yaml, &d);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].level, AG_DIAG_WARNING);
	assert_int_equal(d.v[0].pos.line, 8);
	assert_int_equal(d.v[0].pos.col, 15);
	snprintf(want, sizeof(want), "spec.unix.rules[0].path: \"%s\" is a symlink to \"%s\": the "
		 "kernel sees the resolved path \"%s/bus\"", link, target, target);
	if (!strstr(d.v[0].msg, want))
		fprintf(stderr, "want \"%s\"\ngot  \"%s\"\n", want, d.v[0].msg);
	assert_non_null(strstr(d.v[0].msg, want));
	ag_policy_free(p);
	ag_diags_free(&d);

	/* No symlink, no warning. */
	snprintf(yaml, sizeof(yaml), FS1("path: %s/sub\n        access: ro"), target);
	p = parse_ok(yaml, &d);
	assert_int_equal(d.n, 0);
	ag_policy_free(p);
	ag_diags_free(&d);

	unlink(link);
	rmdir(target);
	rmdir(real);
	free(real);
}

/* Diagnostics and names */

static void test_diags_print(void **state)
{
	struct ag_diags d = { 0 };
	char *out = NULL;
	size_t len = 0;
	FILE *f;
	int i;

	ag_diags_add(&d, AG_DIAG_ERROR, "a.yaml", (struct ag_pos){ 3, 7 }, "bad %s %d", "thing", 42);
	ag_diags_add(&d, AG_DIAG_WARNING, "b.yaml", (struct ag_pos){ 1, 1 }, "careful");
	ag_diags_add(&d, AG_DIAG_ERROR, "c.yaml", (struct ag_pos){ 0, 0 }, "whole file");
	/* Growth past the first allocation. */
	for (i = 0; i < 40; i++)
		ag_diags_add(&d, AG_DIAG_WARNING, "d.yaml", (struct ag_pos){ (unsigned int)i + 1, 1 },
			     "w%d", i);
	assert_int_equal(d.n, 43);
	assert_int_equal(d.n_errors, 2);
	assert_string_equal(d.v[42].msg, "w39");

	f = open_memstream(&out, &len);
	assert_non_null(f);
	d.n = 3;
	ag_diags_print(&d, f);
	d.n = 43;
	fclose(f);
	assert_string_equal(out, "a.yaml:3:7: error: bad thing 42\n"
			    "b.yaml:1:1: warning: careful\n"
			    "c.yaml: error: whole file\n");
	free(out);
	ag_diags_free(&d);
	assert_int_equal(d.n, 0);
	assert_null(d.v);
	ag_diags_free(&d);
}

static void test_names(void **state)
{
	assert_string_equal(ag_layer_name(AG_LAYER_ORG), "org");
	assert_string_equal(ag_layer_name(AG_LAYER_TEAM), "team");
	assert_string_equal(ag_layer_name(AG_LAYER_LOCAL), "local");
	assert_string_equal(ag_mode_name(AG_MODE_ENFORCE), "enforce");
	assert_string_equal(ag_mode_name(AG_MODE_AUDIT), "audit");
	assert_string_equal(ag_mode_name(AG_MODE_INHERIT), "inherit");
	assert_string_equal(ag_layer_name((enum ag_layer)7), "unknown");
}

static char *slurp(const char *path, size_t *len)
{
	char *buf = malloc(1 << 16);
	FILE *fp = fopen(path, "rb");

	assert_non_null(buf);
	assert_non_null(fp);
	*len = fread(buf, 1, 1 << 16, fp);
	fclose(fp);
	return buf;
}

/*
 * Fail each allocation of a parse in turn, from the first until the parse needs no more: every
 * failure must come back as -ENOMEM (or be survived), never a crash, a leak (run under
 * valgrind) or a bogus -EINVAL without diagnostics.
 */
static void oom_walk(const char *file, int want)
{
	size_t len, n, failed = 0;
	char *buf = slurp(fixture(file), &len);
	/* Through a volatile pointer, or the compiler drops the malloc/free pair. */
	void *(*volatile alloc)(size_t) = malloc;
	void *probe;

	fail_countdown = 1;
	probe = alloc(16);
	fail_countdown = 0;
	if (probe) {
		free(probe);
		free(buf);
		skip();		/* an allocator we cannot replace (sanitizer, valgrind) */
	}

	for (n = 1;; n++) {
		struct ag_diags d = { 0 };
		struct ag_policy *p = NULL;
		long live = live_allocs;
		bool hit;
		int ret;

		fail_countdown = (long)n;
		ret = ag_policy_parse_buf(file, buf, len, &p, &d);
		hit = fail_countdown == 0;
		fail_countdown = 0;
		if (ret == -ENOMEM) {
			assert_true(hit);
			assert_null(p);
			failed++;
		} else {
			assert_int_equal(ret, want);
			assert_true(ret == 0 ? p != NULL : d.n_errors > 0);
		}
		ag_policy_free(p);
		ag_diags_free(&d);
		assert_int_equal(live_allocs, live);
		if (!hit)
			break;
	}
	/* Every allocation but the ones whose failure is harmless reported -ENOMEM. */
	assert_true(failed > n / 2);
	free(buf);
}

static void test_out_of_memory(void **state)
{
	oom_walk("full.yaml", 0);
	oom_walk("bad.yaml", -EINVAL);
}

/* Diagnostics accumulate across files; each parse counts only its own errors. */
static void test_diags_accumulate(void **state)
{
	struct ag_diags d = { 0 };
	struct ag_policy *p = NULL;

	size_t n, n_errors;

	assert_int_equal(ag_policy_parse_buf("one.yaml", "x: 1\n", 5, &p, &d), -EINVAL);
	n = d.n;
	n_errors = d.n_errors;
	assert_true(n_errors > 0);
	assert_int_equal(ag_policy_parse_buf("two.yaml", HDR "  {}\n", strlen(HDR "  {}\n"), &p, &d),
			 0);
	assert_string_equal(p->file, "two.yaml");
	assert_int_equal(d.n, n);
	assert_int_equal(d.n_errors, n_errors);
	assert_string_equal(d.v[0].file, "one.yaml");
	ag_policy_free(p);
	ag_diags_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_vectors),
		cmocka_unit_test(test_full_policy_file),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_errors_reported),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_multi_document),
		cmocka_unit_test(test_alias_rejected),
		cmocka_unit_test(test_tag_rejected),
		cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_too_deep),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_unknown_fields),
		cmocka_unit_test(test_header_fields),
		cmocka_unit_test(test_metadata),
		cmocka_unit_test(test_spec_fields),
		cmocka_unit_test(test_fs_required),
		cmocka_unit_test(test_fs_path_relative),
		cmocka_unit_test(test_fs_path_dots),
		cmocka_unit_test(test_fs_path_slashes),
		cmocka_unit_test(test_fs_path_length),
		cmocka_unit_test(test_fs_path_control_chars),
		cmocka_unit_test(test_fs_exec),
		cmocka_unit_test(test_fs_mode),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_net_action),
		cmocka_unit_test(test_net_targets),
		cmocka_unit_test(test_net_cidr),
		cmocka_unit_test(test_net_ip),
		cmocka_unit_test(test_net_ports),
		cmocka_unit_test(test_net_domains),
		cmocka_unit_test(test_unix_rules),
		cmocka_unit_test(test_unix_targets),
		cmocka_unit_test(test_unix_allow_only),
		cmocka_unit_test(test_unix_paths),
		cmocka_unit_test(test_unix_abstract),
		cmocka_unit_test(test_unix_ids),
		cmocka_unit_test(test_resources_ok),
		cmocka_unit_test(test_resources_errors),
		cmocka_unit_test(test_resources_memory),
		cmocka_unit_test(test_resources_pids),
		cmocka_unit_test(test_resources_cpu),
		cmocka_unit_test(test_symlink_warning),
		cmocka_unit_test(test_diags_print),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_diags_accumulate),
		cmocka_unit_test(test_out_of_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
