// SPDX-License-Identifier: GPL-2.0
/*
 * The JSON line writer's hot path (userspace/json.c, userspace/events.c), byte for byte:
 * ag_json_str and ag_json_base64 against a plain reference written here from the rules in
 * json.h (a byte at a time: no blocks, no tables), on every length around the 16-byte blocks
 * and on random hostile strings (quotes, backslashes, control characters, DEL, valid and
 * invalid UTF-8); ag_buf_u64 and ag_buf_i64 against printf; and whole lines against lines the
 * writer made before it was reworked for speed (issue #6), the time blanked: the audit
 * benchmark's record, again (its identity and process objects copied), with each thing those
 * objects are made of changed in turn, a hostile record, and their folded repeats. No kernel.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "events.h"

/* Reference: RFC 3629 sequences, as json.c's utf8_seq decides them. */
static size_t ref_utf8(const unsigned char *s, size_t n)
{
	unsigned int cp;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Reference: the quoted JSON string of n bytes, into out; returns whether they were UTF-8. */
static bool ref_json(char *out, const unsigned char *s, size_t n)
{
	bool valid = true;
	size_t i = 0, k;
	char *o = out;

	*o++ = '"';
	while (i < n) {
		if (s[i] == '"' || s[i] == '\\') {
			*o++ = '\\';
			*o++ = s[i++];
		} else if (s[i] < 0x20 || s[i] == 0x7f) {
			o += sprintf(o, "\\u%04x", s[i++]);
		} else if ((k = ref_utf8(s + i, n - i))) {
			memcpy(o, s + i, k);
			o += k;
			i += k;
		} else {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			valid = false;
			i++;
		}
	}
	*o++ = '"';
	*o = '\0';
	return valid;
}

static void ref_base64(char *out, const unsigned char *s, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned int v, i, j;
	char *o = out;

	*o++ = '"';
	for (i = 0; i < n; i += 3) {
		v = s[i] << 16 | (i + 1 < n ? s[i + 1] << 8 : 0) | (i + 2 < n ? s[i + 2] : 0);
		for (j = 0; j < 4; j++)
			*o++ = j <= (n - i) ? tab[v >> (18 - 6 * j) & 63] : '=';
	}
	*o++ = '"';
	*o = '\0';
}

static unsigned long long rng = 0x9e3779b97f4a7c15ULL;

static unsigned int rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned int)rng;
}

/* Writes s into a buffer that already holds a prefix, and compares with the reference. */
static void check_str(const unsigned char *s, size_t n)
{
	static char want[6 * 4096 + 8], b64[4 * 4096 / 3 + 16];
	struct ag_buf b = {};
	bool valid, ref_valid;

	ref_valid = ref_json(want, s, n);
	ag_buf_lit(&b, "x");
	valid = ag_json_str(&b, (const char *)s, n);
	assert_false(b.oom);
	assert_int_equal(valid, ref_valid);
	assert_int_equal(b.len, 1 + strlen(want));
	assert_memory_equal(b.p + 1, want, b.len - 1);
	assert_int_equal(b.p[b.len], '\0');
	ref_base64(b64, s, n);
	ag_buf_reset(&b);
	ag_json_base64(&b, s, n);
	assert_string_equal(b.p, b64);
	ag_buf_free(&b);
}

/* Every length from 0 to 80, each with one special byte at every position, and none. */
static void test_str_every_length(void **state)
{
	static const unsigned char specials[] = { '"', '\\', '\n', 0x01, 0x1f, 0x7f, 0x80, 0xff,
						  0xc3, 0xe2 };
	unsigned char s[96];
	size_t n, at, k;

	(void)state;
	for (n = 0; n <= 80; n++) {
		memset(s, 'a', n);
		check_str(s, n);
		for (at = 0; at < n; at++) {
			for (k = 0; k < sizeof(specials); k++) {
				memset(s, 'a', n);
				s[at] = specials[k];
				check_str(s, n);
			}
		}
	}
}

/* Random strings over an alphabet of the bytes that matter, of lengths up to 300. */
static void test_str_random(void **state)
{
	static const char alpha[] = "ab/._-~ \"\\\n\r\t\x01\x1b\x1f\x7f"
				    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xc2\x85\xed\xa0\x80"
				    "\xc0\xaf\xf4\x90\x80\x80\xfe\xff";
	unsigned char s[300];
	size_t n, i;
	int round;

	(void)state;
	for (round = 0; round < 20000; round++) {
		n = rnd() % (round % 4 ? 40 : sizeof(s));
		for (i = 0; i < n; i++)
			s[i] = rnd() % 4 ? (unsigned char)alpha[rnd() % (sizeof(alpha) - 1)] :
					   (unsigned char)rnd();
		check_str(s, n);
	}
}

/* ag_buf_u64 and ag_buf_i64 as printf's %llu and %lld, after a prefix. */
static void check_num(unsigned long long v)
{
	struct ag_buf b = {};
	char want[48];

	ag_buf_lit(&b, "x");
	ag_buf_u64(&b, v);
	snprintf(want, sizeof(want), "x%llu", v);
	assert_string_equal(b.p, want);
	assert_int_equal(b.len, strlen(want));
	ag_buf_reset(&b);
	ag_buf_i64(&b, (long long)v);
	snprintf(want, sizeof(want), "%lld", (long long)v);
	assert_string_equal(b.p, want);
	assert_int_equal(b.len, strlen(want));
	ag_buf_free(&b);
}

/* 0 to 10^5, every power of ten and its neighbours, the extremes, and random magnitudes. */
static void test_numbers(void **state)
{
	unsigned long long v, p;
	int i;

	(void)state;
	for (v = 0; v <= 100000; v++)
		check_num(v);
	for (p = 1, i = 0; i < 20; i++, p *= 10) {
		check_num(p - 1);
		check_num(p);
		check_num(p + 1);
	}
	for (v = 0; v < 100; v++)
		check_num(~0ULL - v);
	for (i = 0; i < 200000; i++) {
		v = (unsigned long long)rnd() << 32 | rnd();
		check_num(v >> (rnd() % 64));
	}
}

/* The audit benchmark's record (bench/audit_bench.c), as bench/bpf/event_gen.bpf.c fills it. */
static void bench_record(struct ag_event_file *e)
{
	static const char path[] =
		"/home/agent/workspace/monorepo/services/payments/internal/credentials/"
		"production/us-east-1/gcloud/legacy_credentials/agent@example-prj.iam.gserv"
		"iceaccount.com/adc.json";

	memset(e, 0, sizeof(*e));
	e->hdr.kseq = 1234567;
	e->hdr.boot_ns = 5000000000ULL;
	e->hdr.cgroup_id = 9876;
	e->hdr.kind = AG_EV_FILE;
	e->hdr.op = AG_OP_OPEN;
	e->hdr.rule = AG_RULE_NONE;
	e->hdr.generation_seq = 1;
	e->hdr.pid = 4242;
	e->hdr.tid = 4243;
	e->hdr.ppid = 4000;
	e->hdr.uid = 0;		/* "root", on every system */
	e->hdr.gid = 4294967295u;
	e->hdr.verdict = AG_DENY;
	strcpy(e->hdr.comm, "agent");
	e->hdr.sig = 77;
	e->hdr.proc.flags = AG_PROC_KNOWN;
	strcpy(e->hdr.proc.exe, "/usr/bin/python3.11");
	e->hdr.proc.exe_len = sizeof("/usr/bin/python3.11");
	e->hdr.proc.depth = 2;
	strcpy(e->hdr.proc.ancestry[0], "/usr/bin/bash");
	strcpy(e->hdr.proc.ancestry[1], "/usr/local/bin/agent-runner");
	e->want = AG_FS_WANT_READ;
	e->path_len = sizeof(path);
	memcpy(e->path, path, sizeof(path));
}

/* Hostile bytes in every string the kernel hands over; the padding of hdr.proc not zero. */
static void hostile_record(struct ag_event_file *e)
{
	static const char path[] = "/work/a\nb\"c\\d\x01\x1f\x7f\te\r/bad\xff\xfe-\xc3(\xed\xa0\x80"
				   ".txt/\xe2\x82\xac/0123456789abcdef\"";

	bench_record(e);
	e->hdr.kind = AG_EV_EXEC;
	e->hdr.uid = 4294967293u;	/* no passwd entry: "user":null */
	e->hdr.sig = 78;
	e->want = AG_FS_WANT_EXEC | AG_FS_WANT_WRITE;
	memcpy(e->hdr.comm, "ev\"il\n\\c\x1b\xff\xc3\xa9xyzw", 16);	/* no NUL */
	memset(e->hdr.proc.exe, 'x', sizeof(e->hdr.proc.exe));	/* no NUL: cut */
	memcpy(e->hdr.proc.exe, "/tmp/\x01\"\\\xc0\xaf", 10);
	e->hdr.proc.exe_len = 300;
	e->hdr.proc.depth = 4;
	e->hdr.proc.flags |= AG_PROC_ANCESTRY_MORE | (AG_PROC_ANCESTOR_CUT << 1);
	strcpy(e->hdr.proc.ancestry[0], "/bin/sh\n");
	memset(e->hdr.proc.ancestry[1], 'y', sizeof(e->hdr.proc.ancestry[1]));
	strcpy(e->hdr.proc.ancestry[2], "\xf0\x9f\x98\x80/\xf4\x90\x80\x80");
	strcpy(e->hdr.proc.ancestry[3], "");
	strcpy(e->hdr.proc.ancestry[3] + 1, "after the NUL");
	e->path_len = sizeof(path);
	memcpy(e->path, path, sizeof(path));
}

/* The line of the record (size bytes of it) with its time and seq blanked. */
static struct ag_event_sink sink;

static const char *line(const void *rec, size_t size)
{
	static char out[8192];
	const char *t;

	/* The line stream is where dispatch writes; the line stays in sink.buf. */
	if (!sink.out)
		sink.out = fopen("/dev/null", "we");
	assert_non_null(sink.out);
	sink.seq = 41;
	strcpy(sink.host, "host\"1");
	strcpy(sink.session, "bench-1");
	strcpy(sink.sandbox, "/agentguard-sandbox");
	ag_event_sink_handle(&sink, (void *)rec, size);
	assert_int_equal(sink.malformed, 0);
	assert_true(sink.buf.len < sizeof(out));
	memcpy(out, sink.buf.p, sink.buf.len + 1);
	t = strstr(out, ",\"time\":\"");
	assert_non_null(t);
	memset((char *)t + 9, 'T', 30);
	return out;
}

/* A fold of the record with signature sig: its repeats, as bpf/audit.bpf.c reports them. */
static const char *fold_line(__u64 sig, __u32 kind)
{
	static struct ag_event_fold f;

	memset(&f, 0, sizeof(f));
	f.hdr.kseq = 1299999;
	f.hdr.boot_ns = 6000000000ULL;
	f.hdr.kind = AG_EV_FOLD;
	f.hdr.op = AG_OP_OPEN;
	f.hdr.rule = AG_RULE_NONE;
	f.hdr.generation_seq = 1;
	f.hdr.verdict = AG_DENY;
	f.hdr.sig = sig;
	f.hdr.repeats = 17;
	f.folded_kind = kind;
	return line(&f, sizeof(f));
}

/*
 * The lines checked, in order: the benchmark's record, again (its identity and process are
 * then copied), then with each thing they are made of changed in turn, a hostile record, and
 * the repeats of each replayed from the fold cache.
 */
static void each_line(void (*check)(const char *))
{
	static struct ag_event_file e;
	size_t size;

	bench_record(&e);
	size = offsetof(struct ag_event_file, path) + e.path_len;
	check(line(&e, size));
	check(line(&e, size));
	e.hdr.tid++;
	check(line(&e, size));
	e.hdr.uid = 4294967293u;	/* no passwd entry */
	check(line(&e, size));
	e.hdr.uid = 0;
	check(line(&e, size));
	sink.operator_identity = "ops\"team";
	check(line(&e, size));
	sink.operator_identity = NULL;
	check(line(&e, size));
	e.hdr.comm[7] = 'X';		/* after comm's NUL: the same line */
	check(line(&e, size));
	e.hdr.comm[1] = 'G';
	check(line(&e, size));
	e.hdr.proc.ancestry[1][3] = 'U';
	check(line(&e, size));
	e.hdr.proc.flags |= AG_PROC_ANCESTOR_CUT << 1;
	check(line(&e, size));
	e.hdr.proc.flags |= AG_PROC_ANCESTRY_MORE;
	check(line(&e, size));
	e.hdr.ppid++;
	check(line(&e, size));
	e.hdr.gid--;
	check(line(&e, size));
	e.hdr.proc.exe[3] = 'B';
	check(line(&e, size));
	e.hdr.proc.depth = 1;
	check(line(&e, size));
	e.hdr.proc.flags |= AG_PROC_EXE_UNRESOLVED;
	check(line(&e, size));
	e.hdr.kind = AG_EV_EXEC;
	e.hdr.cgroup_id++;
	check(line(&e, size));
	hostile_record(&e);
	check(line(&e, offsetof(struct ag_event_file, path) + e.path_len));
	/* Records read whole: the size the ring gives is what a fold replays. */
	check(line(&e, sizeof(e)));
	check(fold_line(77, AG_EV_FILE));
	check(fold_line(78, AG_EV_EXEC));
}

/* Lines made by the writer before its rework (commit 7d356fc), time blanked. */
static const char *const want[] = {
	"{\"schema_version\":1,\"seq\":42,\"kseq\":1234567,\"time\":\"TTTTTTTTTTTTTTTTTTTT"
	"TTTTTTTTTT\",\"host\":\"host\\\"1\",\"session\":\"bench-1\",\"sandbox\":\"/agentg"
	"uard-sandbox\",\"backend\":\"bpf-lsm\",\"identity\":{\"uid\":0,\"gid\":4294967295"
	",\"user\":\"root\",\"operator\":null},\"process\":{\"pid\":4242,\"tid\":4243,\"pp"
	"id\":4000,\"cgroup_id\":9876,\"comm\":\"agent\",\"exe\":\"/usr/bin/python3.11\",\""
	"exe_cut\":false,\"ancestry\":[{\"cut\":false,\"exe\":\"/usr/bin/bash\"},{\"cut\":"
	"false,\"exe\":\"/usr/local/bin/agent-runner\"}],\"ancestry_complete\":true},\"kin"
	"d\":\"file\",\"operation\":\"open\",\"target\":{\"access\":[\"read\"],\"path\":\""
	"/home/agent/workspace/monorepo/services/payments/internal/credentials/production/"
	"us-east-1/gcloud/legacy_credentials/agent@example-prj.iam.gserviceaccount.com/adc"
	".json\"},\"decision\":\"deny\",\"mode\":\"enforce\",\"rule\":{\"id\":null,\"layer"
	"\":null},\"policy\":{\"name\":null,\"sha256\":\"\",\"generation\":1},\"repeats\":"
	"0,\"origin\":\"host\"}\n",
	"{\"schema_version\":1,\"seq\":42,\"kseq\":1234567,\"time\":\"TTTTTTTTTTTTTTTTTTTT"
	"TTTTTTTTTT\",\"host\":\"host\\\"1\",\"session\":\"bench-1\",\"sandbox\":\"/agentg"
	"uard-sandbox\",\"backend\":\"bpf-lsm\",\"identity\":{\"uid\":0,\"gid\":4294967295"
	",\"user\":\"root\",\"operator\":null},\"process\":{\"pid\":4242,\"tid\":4243,\"pp"
	"id\":4000,\"cgroup_id\":9876,\"comm\":\"agent\",\"exe\":\"/usr/bin/python3.11\",\""
	"exe_cut\":false,\"ancestry\":[{\"cut\":false,\"exe\":\"/usr/bin/bash\"},{\"cut\":"
	"false,\"exe\":\"/usr/local/bin/agent-runner\"}],\"ancestry_complete\":true},\"kin"
	"d\":\"file\",\"operation\":\"open\",\"target\":{\"access\":[\"read\"],\"path\":\""
	"/home/agent/workspace/monorepo/services/payments/internal/credentials/production/"
	"us-east-1/gcloud/legacy_credentials/agent@example-prj.iam.gserviceaccount.com/adc"
	".json\"},\"decision\":\"deny\",\"mode\":\"enforce\",\"rule\":{\"id\":null,\"layer"
	"\":null},\"policy\":{\"name\":null,\"sha256\":\"\",\"generation\":1},\"repeats\":"
	"0,\"origin\":\"host\"}\n",
	"{\"schema_version\":1,\"seq\":42,\"kseq\":1234567,\"time\":\"TTTTTTTTTTTTTTTTTTTT"
	"TTTTTTTTTT\",\"host\":\"host\\\"1\",\"session\":\"bench-1\",\"sandbox\":\"/agentg"
	"uard-sandbox\",\"backend\":\"bpf-lsm\",\"identity\":{\"uid\":0,\"gid\":4294967295"
	",\"user\":\"root\",\"operator\":null},\"process\":{\"pid\":4242,\"tid\":4244,\"pp"
	"id\":4000,\"cgroup_id\":9876,\"comm\":\"agent\",\"exe\":\"/usr/bin/python3.11\",\""
	"exe_cut\":false,\"ancestry\":[{\"cut\":false,\"exe\":\"/usr/bin/bash\"},{\"cut\":"
	"false,\"exe\":\"/usr/local/bin/agent-runner\"}],\"ancestry_complete\":true},\"kin"
	"d\":\"file\",\"operation\":\"open\",\"target\":{\"access\":[\"read\"],\"path\":\""
	"/home/agent/workspace/monorepo/services/payments/internal/credentials/production/"
	"us-east-1/gcloud/legacy_credentials/agent@example-prj.iam.gserviceaccount.com/adc"
	".json\"},\"decision\":\"deny\",\"mode\":\"enforce\",\"rule\":{\"id\":null,\"layer"
	"\":null},\"policy\":{\"name\":null,\"sha256\":\"\",\"generation\":1},\"repeats\":"
	"0,\"origin\":\"host\"}\n",
	"{\"schema_version\":1,\"seq\":42,\"kseq\":1234567,\"time\":\"TTTTTTTTTTTTTTTTTTTT"
	"TTTTTTTTTT\",\"host\":\"host\\\"1\",\"session\":\"bench-1\",\"sandbox\":\"/agentg"
	"uard-sandbox\",\"backend\":\"bpf-lsm\",\"identity\":{\"uid\":4294967293,\"gid\":4"
	"294967295,\"user\":null,\"operator\":null},\"process\":{\"pid\":4242,\"tid\":4244"
	",\"ppid\":4000,\"cgroup_id\":9876,\"comm\":\"agent\",\"exe\":\"/usr/bin/python3.1"
	"1\",\"exe_cut\":false,\"ancestry\":[{\"cut\":false,\"exe\":\"/usr/bin/bash\"},{\""
	"cut\":false,\"exe\":\"/usr/local/bin/agent-runner\"}],\"ancestry_complete\":true}"
	",\"kind\":\"file\",\"operation\":\"open\",\"target\":{\"access\":[\"read\"],\"pat"
	"h\":\"/home/agent/workspace/monorepo/services/payments/internal/credentials/produ"
	"ction/us-east-1/gcloud/legacy_credentials/agent@example-prj.iam.gserviceaccount.c"
	"om/adc.json\"},\"decision\":\"deny\",\"mode\":\"enforce\",\"rule\":{\"id\":null,\""
	"layer\":null},\"policy\":{\"name\":null,\"sha256\":\"\",\"generation\":1},\"repea"
	"ts\":0,\"origin\":\"host\"}\n",
	"{\"schema_version\":1,\"seq\":42,\"kseq\":1234567,\"time\":\"TTTTTTTTTTTTTTTTTTTT"
	"TTTTTTTTTT\",\"host\":\"host\\\"1\",\"session\":\"bench-1\",\"sandbox\":\"/agentg"
	"uard-sandbox\",\"backend\":\"bpf-lsm\",\"identity\":{\"uid\":0,\"gid\":4294967295"
	",\"user\":\"root\",\"operator\":null},\"process\":{\"pid\":4242,\"tid\":4244,\"pp"
	"id\":4000,\"cgroup_id\":9876,\"comm\":\"agent\",\"exe\":\"/usr/bin/python3.11\",\""
	"exe_cut\":false,\"ancestry\":[{\"cut\":false,\"exe\":\"/usr/bin/bash\"},{\"cut\":"
	"false,\"exe\":\"/usr/local/bin/agent-runner\"}],\"ancestry_complete\":true},\"kin"
	"d\":\"file\",\"operation\":\"open\",\"target\":{\"access\":[\"read\"],\"path\":\""
	"/home/agent/workspace/monorepo/services/payments/internal/credentials/production/"
	"us-east-1/gcloud/legacy_credentials/agent@example-prj.iam.gserviceaccount.com/adc"
	".json\"},\"decision\":\"deny\",\"mode\":\"enforce\",\"rule\":{\"id\":null,\"layer"
	"\":null},\"policy\":{\"name\":null,\"sha256\":\"\",\"generation\":1},\"repeats\":"
	"0,\"origin\":\"host\"}\n",
	"{\"schema_version\":1,\"seq\":42,\"kseq\":1234567,\"time\":\"TTTTTTTTTTTTTTTTTTTT"
	"TTTTTTTTTT\",\"host\":\"host\\\"1\",\"session\":\"bench-1\",\"sandbox\":\"/agentg"
	"uard-sandbox\",\"backend\":\"bpf-lsm\",\"identity\":{\"uid\":0,\"gid\":4294967295"
	",\"user\":\"root\",\"operator\":\"ops\\\"team\"},\"process\":{\"pid\":4242,\"tid\""
	":4244,\"ppid\":4000,\"cgroup_id\":9876,\"comm\":\"agent\",\"exe\":\"/usr/bin/pyth"
	"on3.11\",\"exe_cut\":false,\"ancestry\":[{\"cut\":false,\"exe\":\"/usr/bin/bash\""
	"},{\"cut\":false,\"exe\":\"/usr/local/bin/agent-runner\"}],\"ancestry_complete\":"
	"true},\"kind\":\"file\",\"operation\":\"open\",\"target\":{\"access\":[\"read\"],"
	"\"path\":\"/home/agent/workspace/monorepo/services/payments/internal/credentials/"
	"production/us-east-1/gcloud/legacy_credentials/agent@example-prj.iam.gserviceacco"
	"unt.com/adc.json\"},\"decision\":\"deny\",\"mode\":\"enforce\",\"rule\":{\"id\":n"
	"ull,\"layer\":null},\"policy\":{\"name\":null,\"sha256\":\"\",\"generation\":1},\""
	"repeats\":0,\"origin\":\"host\"}\n",
	"{\"schema_version\":1,\"seq\":42,\"kseq\":1234567,\"time\":\"TTTTTTTTTTTTTTTTTTTT"
	"TTTTTTTTTT\",\"host\":\"host\\\"1\",\"session\":\"bench-1\",\"sandbox\":\"/agentg"
	"uard-sandbox\",\"backend\":\"bpf-lsm\",\"identity\":{\"uid\":0,\"gid\":4294967295"
	",\"user\":\"root\",\"operator\":null},\"process\":{\"pid\":4242,\"tid\":4244,\"pp"
	"id\":4000,\"cgroup_id\":9876,\"comm\":\"agent\",\"exe\":\"/usr/bin/python3.11\",\""
	"exe_cut\":false,\"ancestry\":[{\"cut\":false,\"exe\":\"/usr/bin/bash\"},{\"cut\":"
	"false,\"exe\":\"/usr/local/bin/agent-runner\"}],\"ancestry_complete\":true},\"kin"
	"d\":\"file\",\"operation\":\"open\",\"target\":{\"access\":[\"read\"],\"path\":\""
	"/home/agent/workspace/monorepo/services/payments/internal/credentials/production/"
	"us-east-1/gcloud/legacy_credentials/agent@example-prj.iam.gserviceaccount.com/adc"
	".json\"},\"decision\":\"deny\",\"mode\":\"enforce\",\"rule\":{\"id\":null,\"layer"
	"\":null},\"policy\":{\"name\":null,\"sha256\":\"\",\"generation\":1},\"repeats\":"
	"0,\"origin\":\"host\"}\n",
	"{\"schema_version\":1,\"seq\":42,\"kseq\":1234567,\"time\":\"TTTTTTTTTTTTTTTTTTTT"
	"TTTTTTTTTT\",\"host\":\"host\\\"1\",\"session\":\"bench-1\",\"sandbox\":\"/agentg"
	"uard-sandbox\",\"backend\":\"bpf-lsm\",\"identity\":{\"uid\":0,\"gid\":4294967295"
	",\"user\":\"root\",\"operator\":null},\"process\":{\"pid\":4242,\"tid\":4244,\"pp"
	"id\":4000,\"cgroup_id\":9876,\"comm\":\"agent\",\"exe\":\"/usr/bin/python3.11\",\""
	"exe_cut\":false,\"ancestry\":[{\"cut\":false,\"exe\":\"/usr/bin/bash\"},{\"cut\":"
	"false,\"exe\":\"/usr/local/bin/agent-runner\"}],\"ancestry_complete\":true},\"kin"
	"d\":\"file\",\"operation\":\"open\",\"target\":{\"access\":[\"read\"],\"path\":\""
	"/home/agent/workspace/monorepo/services/payments/internal/credentials/production/"
	"us-east-1/gcloud/legacy_credentials/agent@example-prj.iam.gserviceaccount.com/adc"
	".json\"},\"decision\":\"deny\",\"mode\":\"enforce\",\"rule\":{\"id\":null,\"layer"
	"\":null},\"policy\":{\"name\":null,\"sha256\":\"\",\"generation\":1},\"repeats\":"
	"0,\"origin\":\"host\"}\n",
	"{\"schema_version\":1,\"seq\":42,\"kseq\":1234567,\"time\":\"TTTTTTTTTTTTTTTTTTTT"
	"TTTTTTTTTT\",\"host\":\"host\\\"1\",\"session\":\"bench-1\",\"sandbox\":\"/agentg"
	"uard-sandbox\",\"backend\":\"bpf-lsm\",\"identity\":{\"uid\":0,\"gid\":4294967295"
	",\"user\":\"root\",\"operator\":null},\"process\":{\"pid\":4242,\"tid\":4244,\"pp"
	"id\":4000,\"cgroup_id\":9876,\"comm\":\"aGent\",\"exe\":\"/usr/bin/python3.11\",\""
	"exe_cut\":false,\"ancestry\":[{\"cut\":false,\"exe\":\"/usr/bin/bash\"},{\"cut\":"
	"false,\"exe\":\"/usr/local/bin/agent-runner\"}],\"ancestry_complete\":true},\"kin"
	"d\":\"file\",\"operation\":\"open\",\"target\":{\"access\":[\"read\"],\"path\":\""
	"/home/agent/workspace/monorepo/services/payments/internal/credentials/production/"
	"us-east-1/gcloud/legacy_credentials/agent@example-prj.iam.gserviceaccount.com/adc"
	".json\"},\"decision\":\"deny\",\"mode\":\"enforce\",\"rule\":{\"id\":null,\"layer"
	"\":null},\"policy\":{\"name\":null,\"sha256\":\"\",\"generation\":1},\"repeats\":"
	"0,\"origin\":\"host\"}\n",
	"{\"schema_version\":1,\"seq\":42,\"kseq\":1234567,\"time\":\"TTTTTTTTTTTTTTTTTTTT"
	"TTTTTTTTTT\",\"host\":\"host\\\"1\",\"session\":\"bench-1\",\"sandbox\":\"/agentg"
	"uard-sandbox\",\"backend\":\"bpf-lsm\",\"identity\":{\"uid\":0,\"gid\":4294967295"
	",\"user\":\"root\",\"operator\":null},\"process\":{\"pid\":4242,\"tid\":4244,\"pp"
	"id\":4000,\"cgroup_id\":9876,\"comm\":\"aGent\",\"exe\":\"/usr/bin/python3.11\",\""
	"exe_cut\":false,\"ancestry\":[{\"cut\":false,\"exe\":\"/usr/bin/bash\"},{\"cut\":"
	"false,\"exe\":\"/usU/local/bin/agent-runner\"}],\"ancestry_complete\":true},\"kin"
	"d\":\"file\",\"operation\":\"open\",\"target\":{\"access\":[\"read\"],\"path\":\""
	"/home/agent/workspace/monorepo/services/payments/internal/credentials/production/"
	"us-east-1/gcloud/legacy_credentials/agent@example-prj.iam.gserviceaccount.com/adc"
	".json\"},\"decision\":\"deny\",\"mode\":\"enforce\",\"rule\":{\"id\":null,\"layer"
	"\":null},\"policy\":{\"name\":null,\"sha256\":\"\",\"generation\":1},\"repeats\":"
	"0,\"origin\":\"host\"}\n",
	"{\"schema_version\":1,\"seq\":42,\"kseq\":1234567,\"time\":\"TTTTTTTTTTTTTTTTTTTT"
	"TTTTTTTTTT\",\"host\":\"host\\\"1\",\"session\":\"bench-1\",\"sandbox\":\"/agentg"
	"uard-sandbox\",\"backend\":\"bpf-lsm\",\"identity\":{\"uid\":0,\"gid\":4294967295"
	",\"user\":\"root\",\"operator\":null},\"process\":{\"pid\":4242,\"tid\":4244,\"pp"
	"id\":4000,\"cgroup_id\":9876,\"comm\":\"aGent\",\"exe\":\"/usr/bin/python3.11\",\""
	"exe_cut\":false,\"ancestry\":[{\"cut\":false,\"exe\":\"/usr/bin/bash\"},{\"cut\":"
	"true,\"exe\":\"/usU/local/bin/agent-runner\"}],\"ancestry_complete\":true},\"kind"
	"\":\"file\",\"operation\":\"open\",\"target\":{\"access\":[\"read\"],\"path\":\"/"
	"home/agent/workspace/monorepo/services/payments/internal/credentials/production/u"
	"s-east-1/gcloud/legacy_credentials/agent@example-prj.iam.gserviceaccount.com/adc."
	"json\"},\"decision\":\"deny\",\"mode\":\"enforce\",\"rule\":{\"id\":null,\"layer\""
	":null},\"policy\":{\"name\":null,\"sha256\":\"\",\"generation\":1},\"repeats\":0,"
	"\"origin\":\"host\"}\n",
	"{\"schema_version\":1,\"seq\":42,\"kseq\":1234567,\"time\":\"TTTTTTTTTTTTTTTTTTTT"
	"TTTTTTTTTT\",\"host\":\"host\\\"1\",\"session\":\"bench-1\",\"sandbox\":\"/agentg"
	"uard-sandbox\",\"backend\":\"bpf-lsm\",\"identity\":{\"uid\":0,\"gid\":4294967295"
	",\"user\":\"root\",\"operator\":null},\"process\":{\"pid\":4242,\"tid\":4244,\"pp"
	"id\":4000,\"cgroup_id\":9876,\"comm\":\"aGent\",\"exe\":\"/usr/bin/python3.11\",\""
	"exe_cut\":false,\"ancestry\":[{\"cut\":false,\"exe\":\"/usr/bin/bash\"},{\"cut\":"
	"true,\"exe\":\"/usU/local/bin/agent-runner\"}],\"ancestry_complete\":false},\"kin"
	"d\":\"file\",\"operation\":\"open\",\"target\":{\"access\":[\"read\"],\"path\":\""
	"/home/agent/workspace/monorepo/services/payments/internal/credentials/production/"
	"us-east-1/gcloud/legacy_credentials/agent@example-prj.iam.gserviceaccount.com/adc"
	".json\"},\"decision\":\"deny\",\"mode\":\"enforce\",\"rule\":{\"id\":null,\"layer"
	"\":null},\"policy\":{\"name\":null,\"sha256\":\"\",\"generation\":1},\"repeats\":"
	"0,\"origin\":\"host\"}\n",
	"{\"schema_version\":1,\"seq\":42,\"kseq\":1234567,\"time\":\"TTTTTTTTTTTTTTTTTTTT"
	"TTTTTTTTTT\",\"host\":\"host\\\"1\",\"session\":\"bench-1\",\"sandbox\":\"/agentg"
	"uard-sandbox\",\"backend\":\"bpf-lsm\",\"identity\":{\"uid\":0,\"gid\":4294967295"
	",\"user\":\"root\",\"operator\":null},\"process\":{\"pid\":4242,\"tid\":4244,\"pp"
	"id\":4001,\"cgroup_id\":9876,\"comm\":\"aGent\",\"exe\":\"/usr/bin/python3.11\",\""
	"exe_cut\":false,\"ancestry\":[{\"cut\":false,\"exe\":\"/usr/bin/bash\"},{\"cut\":"
	"true,\"exe\":\"/usU/local/bin/agent-runner\"}],\"ancestry_complete\":false},\"kin"
	"d\":\"file\",\"operation\":\"open\",\"target\":{\"access\":[\"read\"],\"path\":\""
	"/home/agent/workspace/monorepo/services/payments/internal/credentials/production/"
	"us-east-1/gcloud/legacy_credentials/agent@example-prj.iam.gserviceaccount.com/adc"
	".json\"},\"decision\":\"deny\",\"mode\":\"enforce\",\"rule\":{\"id\":null,\"layer"
	"\":null},\"policy\":{\"name\":null,\"sha256\":\"\",\"generation\":1},\"repeats\":"
	"0,\"origin\":\"host\"}\n",
	"{\"schema_version\":1,\"seq\":42,\"kseq\":1234567,\"time\":\"TTTTTTTTTTTTTTTTTTTT"
	"TTTTTTTTTT\",\"host\":\"host\\\"1\",\"session\":\"bench-1\",\"sandbox\":\"/agentg"
	"uard-sandbox\",\"backend\":\"bpf-lsm\",\"identity\":{\"uid\":0,\"gid\":4294967294"
	",\"user\":\"root\",\"operator\":null},\"process\":{\"pid\":4242,\"tid\":4244,\"pp"
	"id\":4001,\"cgroup_id\":9876,\"comm\":\"aGent\",\"exe\":\"/usr/bin/python3.11\",\""
	"exe_cut\":false,\"ancestry\":[{\"cut\":false,\"exe\":\"/usr/bin/bash\"},{\"cut\":"
	"true,\"exe\":\"/usU/local/bin/agent-runner\"}],\"ancestry_complete\":false},\"kin"
	"d\":\"file\",\"operation\":\"open\",\"target\":{\"access\":[\"read\"],\"path\":\""
	"/home/agent/workspace/monorepo/services/payments/internal/credentials/production/"
	"us-east-1/gcloud/legacy_credentials/agent@example-prj.iam.gserviceaccount.com/adc"
	".json\"},\"decision\":\"deny\",\"mode\":\"enforce\",\"rule\":{\"id\":null,\"layer"
	"\":null},\"policy\":{\"name\":null,\"sha256\":\"\",\"generation\":1},\"repeats\":"
	"0,\"origin\":\"host\"}\n",
	"{\"schema_version\":1,\"seq\":42,\"kseq\":1234567,\"time\":\"TTTTTTTTTTTTTTTTTTTT"
	"TTTTTTTTTT\",\"host\":\"host\\\"1\",\"session\":\"bench-1\",\"sandbox\":\"/agentg"
	"uard-sandbox\",\"backend\":\"bpf-lsm\",\"identity\":{\"uid\":0,\"gid\":4294967294"
	",\"user\":\"root\",\"operator\":null},\"process\":{\"pid\":4242,\"tid\":4244,\"pp"
	"id\":4001,\"cgroup_id\":9876,\"comm\":\"aGent\",\"exe\":\"/usB/bin/python3.11\",\""
	"exe_cut\":false,\"ancestry\":[{\"cut\":false,\"exe\":\"/usr/bin/bash\"},{\"cut\":"
	"true,\"exe\":\"/usU/local/bin/agent-runner\"}],\"ancestry_complete\":false},\"kin"
	"d\":\"file\",\"operation\":\"open\",\"target\":{\"access\":[\"read\"],\"path\":\""
	"/home/agent/workspace/monorepo/services/payments/internal/credentials/production/"
	"us-east-1/gcloud/legacy_credentials/agent@example-prj.iam.gserviceaccount.com/adc"
	".json\"},\"decision\":\"deny\",\"mode\":\"enforce\",\"rule\":{\"id\":null,\"layer"
	"\":null},\"policy\":{\"name\":null,\"sha256\":\"\",\"generation\":1},\"repeats\":"
	"0,\"origin\":\"host\"}\n",
	"{\"schema_version\":1,\"seq\":42,\"kseq\":1234567,\"time\":\"TTTTTTTTTTTTTTTTTTTT"
	"TTTTTTTTTT\",\"host\":\"host\\\"1\",\"session\":\"bench-1\",\"sandbox\":\"/agentg"
	"uard-sandbox\",\"backend\":\"bpf-lsm\",\"identity\":{\"uid\":0,\"gid\":4294967294"
	",\"user\":\"root\",\"operator\":null},\"process\":{\"pid\":4242,\"tid\":4244,\"pp"
	"id\":4001,\"cgroup_id\":9876,\"comm\":\"aGent\",\"exe\":\"/usB/bin/python3.11\",\""
	"exe_cut\":false,\"ancestry\":[{\"cut\":false,\"exe\":\"/usr/bin/bash\"}],\"ancest"
	"ry_complete\":false},\"kind\":\"file\",\"operation\":\"open\",\"target\":{\"acces"
	"s\":[\"read\"],\"path\":\"/home/agent/workspace/monorepo/services/payments/intern"
	"al/credentials/production/us-east-1/gcloud/legacy_credentials/agent@example-prj.i"
	"am.gserviceaccount.com/adc.json\"},\"decision\":\"deny\",\"mode\":\"enforce\",\"r"
	"ule\":{\"id\":null,\"layer\":null},\"policy\":{\"name\":null,\"sha256\":\"\",\"ge"
	"neration\":1},\"repeats\":0,\"origin\":\"host\"}\n",
	"{\"schema_version\":1,\"seq\":42,\"kseq\":1234567,\"time\":\"TTTTTTTTTTTTTTTTTTTT"
	"TTTTTTTTTT\",\"host\":\"host\\\"1\",\"session\":\"bench-1\",\"sandbox\":\"/agentg"
	"uard-sandbox\",\"backend\":\"bpf-lsm\",\"identity\":{\"uid\":0,\"gid\":4294967294"
	",\"user\":\"root\",\"operator\":null},\"process\":{\"pid\":4242,\"tid\":4244,\"pp"
	"id\":4001,\"cgroup_id\":9876,\"comm\":\"aGent\",\"exe\":null,\"exe_cut\":false,\""
	"ancestry\":[{\"cut\":false,\"exe\":\"/usr/bin/bash\"}],\"ancestry_complete\":fals"
	"e},\"kind\":\"file\",\"operation\":\"open\",\"target\":{\"access\":[\"read\"],\"p"
	"ath\":\"/home/agent/workspace/monorepo/services/payments/internal/credentials/pro"
	"duction/us-east-1/gcloud/legacy_credentials/agent@example-prj.iam.gserviceaccount"
	".com/adc.json\"},\"decision\":\"deny\",\"mode\":\"enforce\",\"rule\":{\"id\":null"
	",\"layer\":null},\"policy\":{\"name\":null,\"sha256\":\"\",\"generation\":1},\"re"
	"peats\":0,\"origin\":\"host\"}\n",
	"{\"schema_version\":1,\"seq\":42,\"kseq\":1234567,\"time\":\"TTTTTTTTTTTTTTTTTTTT"
	"TTTTTTTTTT\",\"host\":\"host\\\"1\",\"session\":\"bench-1\",\"sandbox\":\"/agentg"
	"uard-sandbox\",\"backend\":\"bpf-lsm\",\"identity\":{\"uid\":0,\"gid\":4294967294"
	",\"user\":\"root\",\"operator\":null},\"process\":{\"pid\":4242,\"tid\":4244,\"pp"
	"id\":4001,\"cgroup_id\":9877,\"comm\":\"aGent\",\"exe\":null,\"exe_cut\":false,\""
	"ancestry\":[{\"cut\":false,\"exe\":\"/usr/bin/bash\"}],\"ancestry_complete\":fals"
	"e},\"kind\":\"exec\",\"operation\":\"exec\",\"target\":{\"access\":[\"read\"],\"p"
	"ath\":\"/home/agent/workspace/monorepo/services/payments/internal/credentials/pro"
	"duction/us-east-1/gcloud/legacy_credentials/agent@example-prj.iam.gserviceaccount"
	".com/adc.json\"},\"decision\":\"deny\",\"mode\":\"enforce\",\"rule\":{\"id\":null"
	",\"layer\":null},\"policy\":{\"name\":null,\"sha256\":\"\",\"generation\":1},\"re"
	"peats\":0,\"origin\":\"host\"}\n",
	"{\"schema_version\":1,\"seq\":42,\"kseq\":1234567,\"time\":\"TTTTTTTTTTTTTTTTTTTT"
	"TTTTTTTTTT\",\"host\":\"host\\\"1\",\"session\":\"bench-1\",\"sandbox\":\"/agentg"
	"uard-sandbox\",\"backend\":\"bpf-lsm\",\"identity\":{\"uid\":4294967293,\"gid\":4"
	"294967295,\"user\":null,\"operator\":null},\"process\":{\"pid\":4242,\"tid\":4243"
	",\"ppid\":4000,\"cgroup_id\":9876,\"comm\":\"ev\\\"il\\u000a\\\\c\\u001b\xef""\xbf"""
	"\xbd""\xc3""\xa9""xyzw\",\"exe\":\"/tmp/\\u0001\\\"\\\\\xef""\xbf""\xbd""\xef""\xbf"""
	"\xbd""xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	"xxxxxxxxx\",\"exe_b64\":\"L3RtcC8BIlzAr3h4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh"
	"4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4"
	"eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4e"
	"Hh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eH"
	"h4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eA==\",\"exe_cut\":true,\"ancestry\":[{"
	"\"cut\":false,\"exe\":\"/bin/sh\\u000a\"},{\"cut\":true,\"exe\":\"yyyyyyyyyyyyyyy"
	"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\"},{\"cut\":false,\"exe\":\"\xf0"""
	"\x9f""\x98""\x80""/\xef""\xbf""\xbd""\xef""\xbf""\xbd""\xef""\xbf""\xbd""\xef""\xbf"""
	"\xbd""\",\"exe_b64\":\"8J+YgC/0kICA\"},{\"cut\":false,\"exe\":\"\"}],\"ancestry_c"
	"omplete\":false},\"kind\":\"exec\",\"operation\":\"exec\",\"target\":{\"access\":"
	"[\"write\",\"exec\"],\"path\":\"/work/a\\u000ab\\\"c\\\\d\\u0001\\u001f\\u007f\\u"
	"0009e\\u000d/bad\xef""\xbf""\xbd""\xef""\xbf""\xbd""-\xef""\xbf""\xbd""(\xef""\xbf"""
	"\xbd""\xef""\xbf""\xbd""\xef""\xbf""\xbd"".txt/\xe2""\x82""\xac""/0123456789abcde"
	"f\\\"\",\"path_b64\":\"L3dvcmsvYQpiImNcZAEffwllDS9iYWT//i3DKO2ggC50eHQv4oKsLzAxMj"
	"M0NTY3ODlhYmNkZWYi\"},\"decision\":\"deny\",\"mode\":\"enforce\",\"rule\":{\"id\""
	":null,\"layer\":null},\"policy\":{\"name\":null,\"sha256\":\"\",\"generation\":1}"
	",\"repeats\":0,\"origin\":\"host\"}\n",
	"{\"schema_version\":1,\"seq\":42,\"kseq\":1234567,\"time\":\"TTTTTTTTTTTTTTTTTTTT"
	"TTTTTTTTTT\",\"host\":\"host\\\"1\",\"session\":\"bench-1\",\"sandbox\":\"/agentg"
	"uard-sandbox\",\"backend\":\"bpf-lsm\",\"identity\":{\"uid\":4294967293,\"gid\":4"
	"294967295,\"user\":null,\"operator\":null},\"process\":{\"pid\":4242,\"tid\":4243"
	",\"ppid\":4000,\"cgroup_id\":9876,\"comm\":\"ev\\\"il\\u000a\\\\c\\u001b\xef""\xbf"""
	"\xbd""\xc3""\xa9""xyzw\",\"exe\":\"/tmp/\\u0001\\\"\\\\\xef""\xbf""\xbd""\xef""\xbf"""
	"\xbd""xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	"xxxxxxxxx\",\"exe_b64\":\"L3RtcC8BIlzAr3h4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh"
	"4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4"
	"eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4e"
	"Hh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eH"
	"h4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eA==\",\"exe_cut\":true,\"ancestry\":[{"
	"\"cut\":false,\"exe\":\"/bin/sh\\u000a\"},{\"cut\":true,\"exe\":\"yyyyyyyyyyyyyyy"
	"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\"},{\"cut\":false,\"exe\":\"\xf0"""
	"\x9f""\x98""\x80""/\xef""\xbf""\xbd""\xef""\xbf""\xbd""\xef""\xbf""\xbd""\xef""\xbf"""
	"\xbd""\",\"exe_b64\":\"8J+YgC/0kICA\"},{\"cut\":false,\"exe\":\"\"}],\"ancestry_c"
	"omplete\":false},\"kind\":\"exec\",\"operation\":\"exec\",\"target\":{\"access\":"
	"[\"write\",\"exec\"],\"path\":\"/work/a\\u000ab\\\"c\\\\d\\u0001\\u001f\\u007f\\u"
	"0009e\\u000d/bad\xef""\xbf""\xbd""\xef""\xbf""\xbd""-\xef""\xbf""\xbd""(\xef""\xbf"""
	"\xbd""\xef""\xbf""\xbd""\xef""\xbf""\xbd"".txt/\xe2""\x82""\xac""/0123456789abcde"
	"f\\\"\",\"path_b64\":\"L3dvcmsvYQpiImNcZAEffwllDS9iYWT//i3DKO2ggC50eHQv4oKsLzAxMj"
	"M0NTY3ODlhYmNkZWYi\"},\"decision\":\"deny\",\"mode\":\"enforce\",\"rule\":{\"id\""
	":null,\"layer\":null},\"policy\":{\"name\":null,\"sha256\":\"\",\"generation\":1}"
	",\"repeats\":0,\"origin\":\"host\"}\n",
	"{\"schema_version\":1,\"seq\":42,\"kseq\":1299999,\"time\":\"TTTTTTTTTTTTTTTTTTTT"
	"TTTTTTTTTT\",\"host\":\"host\\\"1\",\"session\":\"bench-1\",\"sandbox\":\"/agentg"
	"uard-sandbox\",\"backend\":\"bpf-lsm\",\"identity\":{\"uid\":0,\"gid\":4294967294"
	",\"user\":\"root\",\"operator\":null},\"process\":{\"pid\":4242,\"tid\":4244,\"pp"
	"id\":4001,\"cgroup_id\":9877,\"comm\":\"aGent\",\"exe\":null,\"exe_cut\":false,\""
	"ancestry\":[{\"cut\":false,\"exe\":\"/usr/bin/bash\"}],\"ancestry_complete\":fals"
	"e},\"kind\":\"exec\",\"operation\":\"exec\",\"target\":{\"access\":[\"read\"],\"p"
	"ath\":\"/home/agent/workspace/monorepo/services/payments/internal/credentials/pro"
	"duction/us-east-1/gcloud/legacy_credentials/agent@example-prj.iam.gserviceaccount"
	".com/adc.json\"},\"decision\":\"deny\",\"mode\":\"enforce\",\"rule\":{\"id\":null"
	",\"layer\":null},\"policy\":{\"name\":null,\"sha256\":\"\",\"generation\":1},\"re"
	"peats\":17,\"origin\":\"host\"}\n",
	"{\"schema_version\":1,\"seq\":42,\"kseq\":1299999,\"time\":\"TTTTTTTTTTTTTTTTTTTT"
	"TTTTTTTTTT\",\"host\":\"host\\\"1\",\"session\":\"bench-1\",\"sandbox\":\"/agentg"
	"uard-sandbox\",\"backend\":\"bpf-lsm\",\"identity\":{\"uid\":4294967293,\"gid\":4"
	"294967295,\"user\":null,\"operator\":null},\"process\":{\"pid\":4242,\"tid\":4243"
	",\"ppid\":4000,\"cgroup_id\":9876,\"comm\":\"ev\\\"il\\u000a\\\\c\\u001b\xef""\xbf"""
	"\xbd""\xc3""\xa9""xyzw\",\"exe\":\"/tmp/\\u0001\\\"\\\\\xef""\xbf""\xbd""\xef""\xbf"""
	"\xbd""xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	"xxxxxxxxx\",\"exe_b64\":\"L3RtcC8BIlzAr3h4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh"
	"4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4"
	"eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4e"
	"Hh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eH"
	"h4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eA==\",\"exe_cut\":true,\"ancestry\":[{"
	"\"cut\":false,\"exe\":\"/bin/sh\\u000a\"},{\"cut\":true,\"exe\":\"yyyyyyyyyyyyyyy"
	"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\"},{\"cut\":false,\"exe\":\"\xf0"""
	"\x9f""\x98""\x80""/\xef""\xbf""\xbd""\xef""\xbf""\xbd""\xef""\xbf""\xbd""\xef""\xbf"""
	"\xbd""\",\"exe_b64\":\"8J+YgC/0kICA\"},{\"cut\":false,\"exe\":\"\"}],\"ancestry_c"
	"omplete\":false},\"kind\":\"exec\",\"operation\":\"exec\",\"target\":{\"access\":"
	"[\"write\",\"exec\"],\"path\":\"/work/a\\u000ab\\\"c\\\\d\\u0001\\u001f\\u007f\\u"
	"0009e\\u000d/bad\xef""\xbf""\xbd""\xef""\xbf""\xbd""-\xef""\xbf""\xbd""(\xef""\xbf"""
	"\xbd""\xef""\xbf""\xbd""\xef""\xbf""\xbd"".txt/\xe2""\x82""\xac""/0123456789abcde"
	"f\\\"\",\"path_b64\":\"L3dvcmsvYQpiImNcZAEffwllDS9iYWT//i3DKO2ggC50eHQv4oKsLzAxMj"
	"M0NTY3ODlhYmNkZWYi\"},\"decision\":\"deny\",\"mode\":\"enforce\",\"rule\":{\"id\""
	":null,\"layer\":null},\"policy\":{\"name\":null,\"sha256\":\"\",\"generation\":1}"
	",\"repeats\":17,\"origin\":\"host\"}\n",
};

static const char *const *next_want = want;

static void check_line(const char *got)
{
	assert_true(next_want < want + sizeof(want) / sizeof(want[0]));
	assert_string_equal(got, *next_want);
	next_want++;
}

static void test_lines(void **state)
{
	(void)state;
	each_line(check_line);
	assert_true(next_want == want + sizeof(want) / sizeof(want[0]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_str_every_length),
		cmocka_unit_test(test_str_random),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
