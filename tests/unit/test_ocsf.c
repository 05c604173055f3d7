// SPDX-License-Identifier: GPL-2.0
/*
 * OCSF 1.1.0 output (userspace/ocsf.c): for a synthetic record of each kind, the class,
 * category, activity and type_uid = class_uid * 100 + activity_id, the mandatory attributes
 * docs/ocsf.md lists, the security_control outcome, and hostile strings that must neither
 * break the line nor forge an attribute. Each line is parsed with cJSON. No kernel.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

#include "events.h"
#include "ocsf.h"

static struct ag_event_sink sink;
static struct ag_event_file file_rec;	/* 4 KiB: not on the stack */

static void hdr(struct ag_event_hdr *h, __u32 kind, __u32 op, __u8 verdict, __u32 rule)
{
	struct timespec bt;

	clock_gettime(CLOCK_BOOTTIME, &bt);
	memset(h, 0, sizeof(*h));
	h->kseq = 7;
	h->boot_ns = (__u64)bt.tv_sec * 1000000000ULL + bt.tv_nsec;
	h->kind = kind;
	h->op = op;
	h->rule = rule;
	h->pid = 812;
	h->tid = 813;
	h->ppid = 640;
	h->uid = 1000;
	h->verdict = verdict;
	strcpy(h->comm, "agt");
}

/* Formats rec as OCSF, checks it is one line of valid JSON, returns the parsed object. */
static cJSON *ocsf(const void *rec, size_t size)
{
	struct ag_event ev;
	cJSON *j;
	size_t i;

	assert_int_equal(ag_event_decode(&sink, rec, size, &ev), 0);
	ag_buf_reset(&sink.buf);
	ag_ocsf_format(&sink.buf, &sink, &ev);
	assert_false(sink.buf.oom);
	assert_true(sink.buf.len > 2);
	assert_int_equal(sink.buf.p[sink.buf.len - 1], '\n');
	for (i = 0; i + 1 < sink.buf.len; i++)
		if ((unsigned char)sink.buf.p[i] < 0x20)
			fail_msg("raw control byte 0x%02x at %zu", sink.buf.p[i], i);
	j = cJSON_ParseWithLength(sink.buf.p, sink.buf.len);
	if (!j)
		fail_msg("not JSON: %s", sink.buf.p);
	return j;
}

static const cJSON *get(const cJSON *j, const char *path)
{
	char buf[128], *save = NULL, *k;

	snprintf(buf, sizeof(buf), "%s", path);
	for (k = strtok_r(buf, ".", &save); k && j; k = strtok_r(NULL, ".", &save))
		j = cJSON_GetObjectItemCaseSensitive(j, k);
	if (!j)
		fail_msg("no %s", path);
	return j;
}

static long num(const cJSON *j, const char *path)
{
	const cJSON *v = get(j, path);

	assert_true(cJSON_IsNumber(v));
	return (long)v->valuedouble;
}

static const char *str(const cJSON *j, const char *path)
{
	const cJSON *v = get(j, path);

	if (!cJSON_IsString(v))
		fail_msg("%s is not a string", path);
	return v->valuestring;
}

/* The attributes every class must have, and the class ids. */
static void assert_class(const cJSON *j, long class_uid, long category_uid, long activity_id,
			 const char *class_name)
{
	assert_int_equal(num(j, "class_uid"), class_uid);
	assert_int_equal(num(j, "category_uid"), category_uid);
	assert_int_equal(num(j, "activity_id"), activity_id);
	assert_int_equal(num(j, "type_uid"), class_uid * 100 + activity_id);
	assert_string_equal(str(j, "class_name"), class_name);
	assert_string_equal(str(j, "metadata.version"), "1.1.0");
	assert_string_equal(str(j, "metadata.product.name"), "agentguard");
	assert_string_equal(str(j, "metadata.product.vendor_name"), "agentguard");
	assert_true(num(j, "time") > 1600000000000L);	/* ms since the epoch, not s or ns */
	assert_true(num(j, "severity_id") >= 1 && num(j, "severity_id") <= 4);
	assert_int_equal(num(j, "actor.process.pid"), 812);
	assert_string_equal(str(j, "actor.user.uid"), "1000");
	assert_string_equal(str(j, "device.hostname"), "h");
	assert_string_equal(str(j, "device.os.name"), "Linux");
	assert_int_equal(num(j, "unmapped.seq"), (long)sink.seq);
}

static void assert_blocked(const cJSON *j, bool blocked)
{
	assert_int_equal(num(j, "disposition_id"), blocked ? 2 : 1);
	assert_string_equal(str(j, "disposition"), blocked ? "Blocked" : "Allowed");
	assert_int_equal(num(j, "action_id"), blocked ? 2 : 1);
	assert_int_equal(num(j, "status_id"), blocked ? 2 : 1);
}

static void file_record(__u32 kind, __u32 op, __u8 verdict, const char *path, size_t len)
{
	memset(&file_rec, 0, sizeof(file_rec));
	hdr(&file_rec.hdr, kind, op, verdict, AG_RULE_NONE);
	file_rec.want = kind == AG_EV_EXEC ? AG_FS_WANT_EXEC : AG_FS_WANT_READ;
	memcpy(file_rec.path, path, len);
	file_rec.path_len = len + 1;
}

static void test_file_open(void **state)
{
	cJSON *j;

	file_record(AG_EV_FILE, AG_OP_OPEN, AG_DENY, "/etc/shadow", 11);
	j = ocsf(&file_rec, sizeof(file_rec));
	assert_class(j, 1001, 1, 14, "File System Activity");
	assert_blocked(j, true);
	assert_string_equal(str(j, "file.path"), "/etc/shadow");
	assert_string_equal(str(j, "file.name"), "shadow");
	assert_string_equal(str(j, "unmapped.kind"), "file");
	assert_true(cJSON_IsNull(get(j, "unmapped.rule.id")));
	assert_int_equal(num(j, "severity_id"), 3);
	cJSON_Delete(j);
}

static void test_file_receive_would_deny(void **state)
{
	cJSON *j;

	file_record(AG_EV_FILE, AG_OP_RECEIVE, AG_WOULD_DENY, "/secret", 7);
	j = ocsf(&file_rec, sizeof(file_rec));
	assert_class(j, 1001, 1, 14, "File System Activity");
	assert_blocked(j, false);
	assert_string_equal(str(j, "unmapped.operation"), "receive");
	assert_string_equal(str(j, "unmapped.mode"), "audit");
	assert_int_equal(num(j, "severity_id"), 2);
	cJSON_Delete(j);
}

/* Operations without an open: File System Activity with the activity of what they do. */
static void test_file_path_ops(void **state)
{
	static const struct {
		__u32 op;
		int act;
		const char *name, *operation;
	} want[] = {
		{ AG_OP_MKNOD, 1, "Create", "mknod" },	    { AG_OP_MKDIR, 1, "Create", "mkdir" },
		{ AG_OP_SYMLINK, 1, "Create", "symlink" },  { AG_OP_LINK, 1, "Create", "link" },
		{ AG_OP_TRUNCATE, 3, "Update", "truncate" }, { AG_OP_RMDIR, 4, "Delete", "rmdir" },
		{ AG_OP_UNLINK, 4, "Delete", "unlink" },    { AG_OP_RENAME, 5, "Rename", "rename" },
		{ AG_OP_CHMOD, 7, "Set Security", "chmod" }, { AG_OP_CHOWN, 7, "Set Security", "chown" },
		{ AG_OP_SETACL, 7, "Set Security", "setacl" },
		{ AG_OP_REMOVEACL, 7, "Set Security", "removeacl" },
		{ AG_OP_SETATTR, 6, "Set Attributes", "setattr" },
		{ AG_OP_SETXATTR, 6, "Set Attributes", "setxattr" },
		{ AG_OP_REMOVEXATTR, 6, "Set Attributes", "removexattr" },
	};
	size_t i;
	cJSON *j;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		file_record(AG_EV_FILE, want[i].op, AG_DENY, "/work/ro/d", 10);
		file_rec.want = AG_FS_WANT_WRITE;
		j = ocsf(&file_rec, sizeof(file_rec));
		assert_class(j, 1001, 1, want[i].act, "File System Activity");
		assert_string_equal(str(j, "activity_name"), want[i].name);
		assert_blocked(j, true);
		assert_string_equal(str(j, "file.path"), "/work/ro/d");
		assert_string_equal(str(j, "file.name"), "d");
		assert_string_equal(str(j, "unmapped.operation"), want[i].operation);
		cJSON_Delete(j);
	}
}

static void test_exec_launch(void **state)
{
	cJSON *j;

	file_record(AG_EV_EXEC, AG_OP_OPEN, AG_DENY, "/usr/bin/curl", 13);
	j = ocsf(&file_rec, sizeof(file_rec));
	assert_class(j, 1007, 1, 1, "Process Activity");
	assert_blocked(j, true);
	assert_string_equal(str(j, "process.file.path"), "/usr/bin/curl");
	assert_string_equal(str(j, "process.file.name"), "curl");
	assert_int_equal(num(j, "actor.process.parent_process.pid"), 640);
	cJSON_Delete(j);
}

/* Code about to run from a file, whichever hook saw it: still a Launch of that file. */
static void test_exec_code_ops(void **state)
{
	static const struct {
		__u32 op;
		const char *operation;
	} want[] = {
		{ AG_OP_EXEC, "execve" }, { AG_OP_MMAP_EXEC, "mmap" },
		{ AG_OP_MPROTECT_EXEC, "mprotect" },
	};
	size_t i;
	cJSON *j;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		file_record(AG_EV_EXEC, want[i].op, AG_DENY, "/tmp/noexec/bin", 16);
		j = ocsf(&file_rec, sizeof(file_rec));
		assert_class(j, 1007, 1, 1, "Process Activity");
		assert_blocked(j, true);
		assert_string_equal(str(j, "process.file.path"), "/tmp/noexec/bin");
		assert_string_equal(str(j, "unmapped.operation"), want[i].operation);
		cJSON_Delete(j);
	}
}

static void test_network_open(void **state)
{
	struct ag_event_net e;
	cJSON *j;

	memset(&e, 0, sizeof(e));
	hdr(&e.hdr, AG_EV_NETWORK, AG_OP_CONNECT, AG_DENY, AG_RULE_NONE);
	e.family = AF_INET6;
	e.proto = AG_NET_UDP;
	e.port = 53;
	inet_pton(AF_INET6, "64:ff9b::a9fe:a9fe", e.orig_addr);
	e.addr[10] = e.addr[11] = 0xff;
	inet_pton(AF_INET, "169.254.169.254", e.addr + 12);
	j = ocsf(&e, sizeof(e));
	assert_class(j, 4001, 4, 1, "Network Activity");
	assert_blocked(j, true);
	assert_string_equal(str(j, "dst_endpoint.ip"), "64:ff9b::a9fe:a9fe");
	assert_int_equal(num(j, "dst_endpoint.port"), 53);
	assert_string_equal(str(j, "connection_info.protocol_name"), "udp");
	assert_int_equal(num(j, "connection_info.protocol_num"), 17);
	assert_int_equal(num(j, "connection_info.protocol_ver_id"), 6);
	assert_int_equal(num(j, "connection_info.direction_id"), 2);
	assert_string_equal(str(j, "unmapped.target.judged_as"), "169.254.169.254");
	/* cgroup programs cannot see the parent: no parent_process rather than pid 0. */
	assert_null(cJSON_GetObjectItemCaseSensitive(get(j, "actor.process"), "parent_process"));
	cJSON_Delete(j);

	/* An unconnected UDP send is traffic, not a connection. */
	e.hdr.op = AG_OP_SENDMSG;
	j = ocsf(&e, sizeof(e));
	assert_class(j, 4001, 4, 6, "Network Activity");
	assert_string_equal(str(j, "unmapped.operation"), "sendmsg");
	assert_string_equal(str(j, "unmapped.backend"), "bpf-lsm");
	cJSON_Delete(j);

	/* The Landlock fallback's cgroup programs: the same event, its backend named. */
	sink.backend = AG_BACKEND_LANDLOCK;
	j = ocsf(&e, sizeof(e));
	sink.backend = AG_BACKEND_BPF_LSM;
	assert_string_equal(str(j, "unmapped.backend"), "landlock");
	cJSON_Delete(j);
}

static void test_containment_invoke(void **state)
{
	struct ag_event_contain e;
	cJSON *j;

	memset(&e, 0, sizeof(e));
	hdr(&e.hdr, AG_EV_CONTAINMENT, AG_OP_BPF, AG_DENY, AG_RULE_BUILTIN | AG_BR_BPF);
	e.arg0 = 5;
	j = ocsf(&e, sizeof(e));
	assert_class(j, 1003, 1, 4, "Kernel Activity");
	assert_blocked(j, true);
	assert_int_equal(num(j, "severity_id"), 4);
	assert_string_equal(str(j, "kernel.name"), "bpf");
	assert_int_equal(num(j, "kernel.type_id"), 2);
	assert_string_equal(str(j, "kernel.system_call"), "bpf");
	assert_string_equal(str(j, "unmapped.rule.id"), "builtin:bpf");
	assert_string_equal(str(j, "unmapped.rule.layer"), "builtin");
	assert_int_equal(num(j, "unmapped.target.arg"), 5);
	cJSON_Delete(j);

	hdr(&e.hdr, AG_EV_CONTAINMENT, AG_OP_CAPABLE, AG_DENY, AG_RULE_BUILTIN | AG_BR_CAPABILITY);
	e.arg0 = 21;
	j = ocsf(&e, sizeof(e));
	assert_class(j, 1003, 1, 4, "Kernel Activity");
	assert_int_equal(num(j, "kernel.type_id"), 99);
	assert_string_equal(str(j, "unmapped.target.capability"), "CAP_SYS_ADMIN");
	cJSON_Delete(j);
}

/* Every byte a sandbox can put in a name, and names that try to close the object early. */
static void test_hostile_strings(void **state)
{
	static const char path[] = "/w/x\",\"class_uid\":1,\"a\":\"\n\\\x01\x7f\xff\xc0\xaf";
	static const char comm[] = "\"},\"x\":{\"\n\x1b[2J";
	struct ag_event_contain c;
	cJSON *j;

	file_record(AG_EV_FILE, AG_OP_OPEN, AG_DENY, path, sizeof(path) - 1);
	memcpy(file_rec.hdr.comm, comm, sizeof(comm) - 1);
	j = ocsf(&file_rec, sizeof(file_rec));
	assert_class(j, 1001, 1, 14, "File System Activity");	/* not forged to 1 */
	/* Invalid bytes are U+FFFD in the path; the exact bytes are in path_b64. */
	assert_string_equal(str(j, "file.path"),
			    "/w/x\",\"class_uid\":1,\"a\":\"\n\\\x01\x7f\xef\xbf\xbd\xef\xbf\xbd"
			    "\xef\xbf\xbd");
	assert_string_equal(str(j, "unmapped.target.path_b64"),
			    "L3cveCIsImNsYXNzX3VpZCI6MSwiYSI6IgpcAX//wK8=");
	assert_string_equal(str(j, "actor.process.name"), comm);
	/* The message is one escaped line: no newline, no escape sequence reaches a terminal. */
	assert_null(strchr(str(j, "message"), '\n'));
	assert_null(strchr(str(j, "message"), '\x1b'));
	assert_non_null(strstr(str(j, "message"), "\\x0a\\\\\\x01\\x7f\\xff\\xc0\\xaf"));
	cJSON_Delete(j);

	memset(&c, 0, sizeof(c));
	hdr(&c.hdr, AG_EV_CONTAINMENT, AG_OP_MODULE_REQUEST, AG_DENY,
	    AG_RULE_BUILTIN | AG_BR_KERNEL);
	snprintf(c.name, sizeof(c.name), "%s", "\"}}\n{\"class_uid\":4001");
	j = ocsf(&c, sizeof(c));
	assert_class(j, 1003, 1, 4, "Kernel Activity");
	assert_string_equal(str(j, "unmapped.target.name"), "\"}}\n{\"class_uid\":4001");
	cJSON_Delete(j);
}

/* A dns event made by the consumer: an address withheld from an answer (DNS rebinding). */
static void test_dns_answer_withheld(void **state)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	cJSON *j;

	assert_non_null(f);
	sink.out = f;
	sink.format = AG_EVENTS_OCSF;
	ag_event_sink_dns(&sink, "lan.rebind.test", "10.0.0.5", "A", "REFUSED", "127.0.0.1:40000",
			  "udp", AG_DENY, AG_RULE_BUILTIN | AG_BR_DNS_REBIND, 0);
	ag_event_sink_dns(&sink, "denied.test", NULL, "A", "REFUSED", "127.0.0.1:40001", "udp",
			  AG_DENY, AG_RULE_NONE, 0);
	fclose(f);
	sink.out = NULL;
	sink.format = AG_EVENTS_JSON;
	assert_non_null(strchr(out, '\n'));
	j = cJSON_ParseWithLength(out, strchr(out, '\n') - out);
	assert_non_null(j);
	assert_int_equal(num(j, "class_uid"), 4003);
	assert_int_equal(num(j, "activity_id"), 2);
	assert_int_equal(num(j, "type_uid"), 400302);
	assert_string_equal(str(j, "query.hostname"), "lan.rebind.test");
	assert_string_equal(str(j, "rcode"), "REFUSED");
	assert_string_equal(str(cJSON_GetArrayItem(get(j, "answers"), 0), "rdata"), "10.0.0.5");
	assert_string_equal(str(cJSON_GetArrayItem(get(j, "answers"), 0), "type"), "A");
	assert_string_equal(str(j, "unmapped.operation"), "answer");
	assert_string_equal(str(j, "unmapped.target.address"), "10.0.0.5");
	assert_string_equal(str(j, "unmapped.rule.id"), "builtin:dns-rebind");
	assert_int_equal(num(j, "disposition_id"), 2);
	cJSON_Delete(j);
	/* Control: a refused query is a Query, without answers. */
	j = cJSON_Parse(strchr(out, '\n') + 1);
	assert_non_null(j);
	assert_int_equal(num(j, "activity_id"), 1);
	assert_null(cJSON_GetObjectItemCaseSensitive(j, "answers"));
	cJSON_Delete(j);
	free(out);
}

/*
 * The JSON line (not OCSF): its host, session, sandbox and backend are rendered once per sink
 * and copied (events.c, put_head). A change to any of them shows in the next line, a hostile
 * one escaped.
 */
static void test_json_head_follows_sink(void **state)
{
	static const struct {
		const char *host, *session, *sandbox;
		enum ag_backend backend;
	} steps[] = {
		{ "h", "s", "", AG_BACKEND_BPF_LSM },
		{ "h", "s", "", AG_BACKEND_BPF_LSM },
		{ "h2", "s", "", AG_BACKEND_BPF_LSM },
		{ "h2", "s2", "", AG_BACKEND_BPF_LSM },
		{ "h2", "s2", "/agentguard-sandbox/a", AG_BACKEND_BPF_LSM },
		{ "h2", "s2", "/agentguard-sandbox/a", AG_BACKEND_LANDLOCK },
		{ "h2", "s2x", "/agentguard-sandbox/a", AG_BACKEND_LANDLOCK },
		/* Each string changed in place, its length kept. */
		{ "h3", "s2x", "/agentguard-sandbox/a", AG_BACKEND_LANDLOCK },
		{ "h3", "s3x", "/agentguard-sandbox/a", AG_BACKEND_LANDLOCK },
		{ "h3", "s3x", "/agentguard-sandbox/b", AG_BACKEND_LANDLOCK },
		{ "h\"2\n", "s", "/x\\y", AG_BACKEND_BPF_LSM },
		{ "h", "s", "", AG_BACKEND_BPF_LSM },
	};
	struct ag_event_file *e = &file_rec;
	size_t i;

	memset(e, 0, sizeof(*e));
	hdr(&e->hdr, AG_EV_FILE, AG_OP_OPEN, AG_DENY, AG_RULE_NONE);
	e->want = AG_FS_WANT_READ;
	e->path_len = 5;
	strcpy(e->path, "/etc");
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		cJSON *j;

		strcpy(sink.host, steps[i].host);
		strcpy(sink.session, steps[i].session);
		strcpy(sink.sandbox, steps[i].sandbox);
		sink.backend = steps[i].backend;
		assert_int_equal(ag_event_format(&sink, e, sizeof(*e)), 0);
		j = cJSON_ParseWithLength(sink.buf.p, sink.buf.len);
		assert_non_null(j);
		assert_string_equal(str(j, "host"), steps[i].host);
		assert_string_equal(str(j, "session"), steps[i].session);
		assert_string_equal(str(j, "sandbox"), steps[i].sandbox);
		assert_string_equal(str(j, "backend"), ag_backend_name(steps[i].backend));
		cJSON_Delete(j);
	}
	strcpy(sink.host, "h");
	strcpy(sink.session, "s");
	sink.sandbox[0] = '\0';
	sink.backend = AG_BACKEND_BPF_LSM;
}

static void test_classify_table(void **state)
{
	static const struct { __u32 kind; unsigned int cls, act; } want[] = {
		{ AG_EV_FILE, 1001, 14 },
		{ AG_EV_EXEC, 1007, 1 },
		{ AG_EV_NETWORK, 4001, 1 },
		{ AG_EV_CONTAINMENT, 1003, 4 },
	};
	struct ag_ocsf_class c;
	struct ag_event ev;
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		memset(&ev, 0, sizeof(ev));
		ev.hdr.kind = want[i].kind;
		ag_ocsf_classify(&ev, &c);
		assert_int_equal(c.class_uid, want[i].cls);
		assert_int_equal(c.activity_id, want[i].act);
		assert_int_equal(c.category_uid, want[i].cls / 1000);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_open),
		cmocka_unit_test(test_file_receive_would_deny),
		cmocka_unit_test(test_file_path_ops),
		cmocka_unit_test(test_exec_launch),
		cmocka_unit_test(test_exec_code_ops),
		cmocka_unit_test(test_network_open),
		cmocka_unit_test(test_containment_invoke),
		cmocka_unit_test(test_hostile_strings),
		cmocka_unit_test(test_dns_answer_withheld),
		cmocka_unit_test(test_classify_table),
		cmocka_unit_test(test_json_head_follows_sink),
	};
	int rc;

	strcpy(sink.host, "h");
	strcpy(sink.session, "s");
	rc = cmocka_run_group_tests_name("ocsf", tests, NULL, NULL);
	ag_event_sink_free(&sink);
	return rc;
}
