// SPDX-License-Identifier: GPL-2.0
/*
 * The host's reader of a sandbox guest's events (userspace/guest_rx.c), case by case: a valid
 * record goes out re-written with origin guest and the sandbox's name; duplicate keys, unknown
 * keys, a claimed origin, a NUL, invalid UTF-8, inexact integers, a wrong type or a missing
 * property are malformed; an oversized line is counted once and reading resumes at its newline;
 * the token bucket admits its burst and counts the rest. No kernel.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

#include "guest_rx.h"

#define SHA "ded9d6be325cdfefe3bd724c17bfebc99760175e79e07ce1ca9641d7bce7cbc0"
#define VALID "{\"schema_version\":1,\"seq\":3,\"kseq\":2,\"time\":\"2026-11-24T17:25:18.739558213Z\"," \
	"\"host\":\"agentguard-vm\",\"session\":\"s\",\"sandbox\":\"/agentguard-sandbox\"," \
	"\"backend\":\"bpf-lsm\",\"identity\":{\"uid\":0,\"gid\":0,\"user\":\"root\",\"operator\":null}," \
	"\"process\":{\"pid\":680,\"tid\":680,\"ppid\":678,\"cgroup_id\":28,\"comm\":\"cat\"," \
	"\"exe\":\"/bin/busybox\",\"exe_cut\":false,\"ancestry\":[{\"cut\":false,\"exe\":\"/bin/sh\"}]," \
	"\"ancestry_complete\":false},\"kind\":\"file\",\"operation\":\"open\"," \
	"\"target\":{\"access\":[\"read\"],\"path\":\"/workspace/secret\"},\"decision\":\"deny\"," \
	"\"mode\":\"enforce\",\"rule\":{\"id\":\"ws-secret\",\"layer\":\"local\"}," \
	"\"policy\":{\"name\":\"p\",\"sha256\":\"" SHA "\",\"generation\":1},\"repeats\":0"

struct out {
	int n;
	char last[AG_GUEST_LINE_MAX * 2];
};

static void emit(void *ctx, const char *line, size_t len, const struct cJSON *ev)
{
	struct out *o = ctx;

	o->n++;
	snprintf(o->last, sizeof(o->last), "%.*s", (int)len, line);
}

static struct ag_guest_rx rx;
static struct out o;

static void feed(const char *s)
{
	ag_guest_rx_feed(&rx, s, strlen(s), 1000000000LL);
}

static int setup(void **state)
{
	memset(&o, 0, sizeof(o));
	ag_guest_rx_init(&rx, "box-1", 1000.0, 2000.0, emit, &o);
	return 0;
}

static int teardown(void **state)
{
	ag_guest_rx_free(&rx);
	return 0;
}

static void test_valid_rewritten(void **state)
{
	feed(VALID ",\"origin\":\"host\"}\n");
	assert_int_equal(o.n, 1);
	assert_int_equal(rx.st.accepted, 1);
	/* The guest's own "host" origin is replaced, the name added last. */
	assert_string_equal(o.last, VALID ",\"origin\":\"guest\",\"sandbox_name\":\"box-1\"}\n");
}

static void test_whitespace_normalised(void **state)
{
	feed("  " VALID " }  \n");
	assert_int_equal(o.n, 1);
	assert_string_equal(o.last, VALID ",\"origin\":\"guest\",\"sandbox_name\":\"box-1\"}\n");
}

static void expect_malformed(const char *line)
{
	unsigned long long before = rx.st.malformed;

	ag_guest_rx_feed(&rx, line, strlen(line), 1000000000LL);
	ag_guest_rx_feed(&rx, "\n", 1, 1000000000LL);
	assert_int_equal(rx.st.malformed, before + 1);
	assert_int_equal(o.n, 0);
}

static void test_rejects(void **state)
{
	expect_malformed("not json");
	expect_malformed("{}");
	expect_malformed(VALID);			/* cut short */
	expect_malformed(VALID "}{}");			/* trailing bytes */
	expect_malformed(VALID ",\"decision\":\"allow\"}");	/* duplicate key */
	expect_malformed(VALID ",\"evil\":1}");		/* unknown key */
	expect_malformed(VALID ",\"origin\":\"guest\"}");	/* claims to be relabelled */
	expect_malformed(VALID ",\"sandbox_name\":\"other\"}");
	expect_malformed("[" VALID "}]");
}

/* VALID "}" with its first from replaced by to. */
static void swap(char *line, size_t size, const char *from, const char *to)
{
	const char *at = strstr(VALID, from);

	assert_non_null(at);
	snprintf(line, size, "%.*s%s%s}", (int)(at - VALID), VALID, to, at + strlen(from));
}

static void test_rejects_values(void **state)
{
	char line[8192];
	static const struct {
		const char *from, *to;
	} swaps[] = {
		{ "\"schema_version\":1", "\"schema_version\":2" },
		{ "\"seq\":3", "\"seq\":0" },
		{ "\"seq\":3", "\"seq\":3.5" },
		{ "\"seq\":3", "\"seq\":9007199254740993" },
		{ "\"seq\":3", "\"seq\":\"3\"" },
		{ "\"kind\":\"file\"", "\"kind\":\"files\"" },
		{ "\"decision\":\"deny\"", "\"decision\":null" },
		{ "\"time\":\"2026-11-24T17:25:18.739558213Z\"", "\"time\":\"yesterday\"" },
		{ "\"comm\":\"cat\"", "\"comm\":\"c\\u0000t\"" },
		{ "\"comm\":\"cat\"", "\"comm\":\"c\xc0\xaft\"" },	/* overlong '/' */
		{ "\"comm\":\"cat\"", "\"comm\":\"c\xed\xa0\x80t\"" },	/* surrogate */
		{ "\"ppid\":678,", "" },			/* missing */
		{ "\"cut\":false,\"exe\":\"/bin/sh\"", "\"cut\":0,\"exe\":\"/bin/sh\"" },
		{ "\"layer\":\"local\"", "\"layer\":\"root\"" },
		{ "\"access\":[\"read\"]", "\"access\":[{\"x\":1}]" },
		{ "\"path\":\"/workspace/secret\"", "\"PATH\":\"/x\"" },
		/* What the schema refuses besides the structure: its patterns and allOf rules. */
		{ SHA, "00" },
		{ SHA, "DED9D6BE325CDFEFE3BD724C17BFEBC99760175E79E07CE1CA9641D7BCE7CBC0" },
		{ "\"mode\":\"enforce\"", "\"mode\":\"audit\"" },	/* deny + audit */
		{ "\"decision\":\"deny\"", "\"decision\":\"would-deny\"" },	/* + enforce */
		{ "\"path\":\"/workspace/secret\"", "\"inode\":1" },
		{ "\"path\":\"/workspace/secret\"", "\"path\":\"/w\",\"inode\":1" },
		{ "\"path\":\"/workspace/secret\"", "\"path\":null" },	/* no path_error */
		{ "\"path\":\"/workspace/secret\"", "\"path\":\"/w\",\"path_error\":2" },
		{ "\"access\":[\"read\"]", "\"access\":[]" },
		{ "\"access\":[\"read\"]", "\"access\":[\"read\",\"read\"]" },
		{ "\"operation\":\"open\"", "\"operation\":\"connect\"" },
		{ "\"operation\":\"open\"", "\"operation\":\"unlink\"" },	/* not write */
		{ "\"kind\":\"file\"", "\"kind\":\"loss\"" },
		{ "\"kind\":\"file\"", "\"kind\":\"network\"" },
		{ "\"ppid\":678", "\"ppid\":null" },
		{ "\"comm\":\"cat\"", "\"comm\":\"0123456789abcdefg\"" },
		{ "\"id\":\"ws-secret\"", "\"id\":null" },	/* a layer without a rule */
		{ "\"layer\":\"local\"", "\"layer\":\"builtin\"" },
		{ "\"kseq\":2", "\"kseq\":null" },
	};

	for (size_t i = 0; i < sizeof(swaps) / sizeof(swaps[0]); i++) {
		swap(line, sizeof(line), swaps[i].from, swaps[i].to);
		expect_malformed(line);
	}
}

static void test_oversized_resync(void **state)
{
	static char big[AG_GUEST_LINE_MAX + 100];

	memset(big, 'a', sizeof(big) - 1);
	/* In pieces, across feeds: one count, then the next line is read normally. */
	feed(big);
	feed(big);
	feed("\n" VALID "}\n");
	assert_int_equal(rx.st.oversized, 1);
	assert_int_equal(rx.st.malformed, 0);
	assert_int_equal(o.n, 1);
}

static void test_exactly_max_accepted_size(void **state)
{
	static char line[AG_GUEST_LINE_MAX + 8];
	size_t pad = AG_GUEST_LINE_MAX - strlen(VALID "}");

	/* Leading whitespace is JSON: a line of exactly the limit is parsed, one more is not. */
	memset(line, ' ', pad);
	strcpy(line + pad, VALID "}\n");
	feed(line);
	assert_int_equal(o.n, 1);
	memset(line, ' ', pad + 1);
	strcpy(line + pad + 1, VALID "}\n");
	feed(line);
	assert_int_equal(o.n, 1);
	assert_int_equal(rx.st.oversized, 1);
}

static void test_rate_limit(void **state)
{
	int i;

	for (i = 0; i < 2500; i++)
		ag_guest_rx_feed(&rx, VALID "}\n", strlen(VALID "}\n"), 5000000000LL);
	assert_int_equal(rx.st.accepted, 2000);
	assert_int_equal(rx.st.rate_limited, 500);
	/* Half a second later: 500 more tokens. */
	for (i = 0; i < 600; i++)
		ag_guest_rx_feed(&rx, VALID "}\n", strlen(VALID "}\n"), 5500000000LL);
	assert_int_equal(rx.st.accepted, 2500);
	assert_int_equal(rx.st.rate_limited, 600);
}

/* Large records cost more: the bucket bounds bytes, not only records. */
static void test_rate_limit_counts_bytes(void **state)
{
	static char line[AG_GUEST_LINE_MAX + 8];
	size_t pad = AG_GUEST_LINE_MAX - strlen(VALID "}");
	double cost = 1 + (AG_GUEST_LINE_MAX / AG_GUEST_TOKEN_BYTES);
	int i;

	memset(line, ' ', pad);
	strcpy(line + pad, VALID "}\n");
	for (i = 0; i < 300; i++)
		ag_guest_rx_feed(&rx, line, strlen(line), 5000000000LL);
	assert_int_equal(rx.st.accepted, (int)(2000.0 / cost));
	assert_int_equal(rx.st.rate_limited, 300 - (int)(2000.0 / cost));
}

static void test_unterminated_last_line(void **state)
{
	feed(VALID "}");
	assert_int_equal(o.n, 0);
	ag_guest_rx_finish(&rx);
	assert_int_equal(rx.st.malformed, 1);
}

/* Variants the schema allows: an unknown policy's empty sha256, an unresolved path. */
static void test_accepts_variants(void **state)
{
	char line[8192];

	swap(line, sizeof(line), SHA, "");
	feed(line);
	feed("\n");
	swap(line, sizeof(line), "\"path\":\"/workspace/secret\"",
	     "\"path\":null,\"path_error\":36");
	feed(line);
	feed("\n");
	assert_int_equal(rx.st.malformed, 0);
	assert_int_equal(o.n, 2);
}

/*
 * test_guest_rx --filter NAME: each line of stdin through ag_guest_rx_parse and
 * ag_guest_rx_format, as the runner does; out goes the host's line, or "REFUSED". Used by
 * tests/unit/test_event_schema.sh to hold guest_rx and docs/event.schema.json equal.
 */
static int filter(const char *name)
{
	struct ag_buf b = { 0 };
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	cJSON *ev;
	int rc = 0;

	while ((n = getline(&line, &cap, stdin)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (ag_guest_rx_parse(line, (size_t)n, &ev)) {
			puts("REFUSED");
			continue;
		}
		ag_buf_reset(&b);
		ag_guest_rx_format(&b, ev, name);
		cJSON_Delete(ev);
		if (b.oom) {
			rc = 1;
			break;
		}
		fwrite(b.p, 1, b.len, stdout);
	}
	free(line);
	ag_buf_free(&b);
	return rc || fflush(stdout) ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--filter"))
		return filter(argv[2]);

	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_valid_rewritten, setup, teardown),
		cmocka_unit_test_setup_teardown(test_whitespace_normalised, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejects_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized_resync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exactly_max_accepted_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit_counts_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unterminated_last_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accepts_variants, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
