// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include <string.h>

#include "ocsf.h"

/*
 * File System Activity's activity for a file operation (OCSF 1.1.0): what it does to the file,
 * as the caller asked it. Opens (and fds received, judged as opens) give a handle.
 */
static void file_activity(__u32 op, unsigned int *id, const char **name)
{
	switch (op) {
	case AG_OP_MKNOD:
	case AG_OP_MKDIR:
	case AG_OP_SYMLINK:
	case AG_OP_LINK:
		*id = 1;
		*name = "Create";
		return;
	case AG_OP_TRUNCATE:
		*id = 3;
		*name = "Update";
		return;
	case AG_OP_RMDIR:
	case AG_OP_UNLINK:
		*id = 4;
		*name = "Delete";
		return;
	case AG_OP_RENAME:
		*id = 5;
		*name = "Rename";
		return;
	case AG_OP_SETATTR:
	case AG_OP_SETXATTR:
	case AG_OP_REMOVEXATTR:
		*id = 6;
		*name = "Set Attributes";
		return;
	case AG_OP_CHMOD:
	case AG_OP_CHOWN:
	case AG_OP_SETACL:
	case AG_OP_REMOVEACL:
		*id = 7;
		*name = "Set Security";
		return;
	}
	*id = 14;
	*name = "Open";
}

void ag_ocsf_classify(const struct ag_event *ev, struct ag_ocsf_class *cls)
{
	switch (ev->hdr.kind) {
	case AG_EV_FILE:
		*cls = (struct ag_ocsf_class){ 1001, 1, 14, "File System Activity",
					       "System Activity", "Open" };
		file_activity(ev->hdr.op, &cls->activity_id, &cls->activity_name);
		break;
	case AG_EV_EXEC:
		*cls = (struct ag_ocsf_class){ 1007, 1, 1, "Process Activity", "System Activity",
					       "Launch" };
		break;
	case AG_EV_NETWORK:
		/*
		 * connect() opens a connection; an unconnected UDP send is traffic; OCSF 1.1.0
		 * has no activity for bind (1.3 adds Listen), so Other with its own name.
		 */
		if (ev->hdr.op == AG_OP_SENDMSG)
			*cls = (struct ag_ocsf_class){ 4001, 4, 6, "Network Activity",
						       "Network Activity", "Traffic" };
		else if (ev->hdr.op == AG_OP_BIND)
			*cls = (struct ag_ocsf_class){ 4001, 4, 99, "Network Activity",
						       "Network Activity", "Bind" };
		else
			*cls = (struct ag_ocsf_class){ 4001, 4, 1, "Network Activity",
						       "Network Activity", "Open" };
		break;
	case AG_EV_DNS:
		/*
		 * A query to agentguard's resolver: its verdict is the disposition. An address
		 * withheld from an answer (DNS rebinding) is about the response.
		 */
		if (ev->operation && !strcmp(ev->operation, "answer"))
			*cls = (struct ag_ocsf_class){ 4003, 4, 2, "DNS Activity",
						       "Network Activity", "Response" };
		else
			*cls = (struct ag_ocsf_class){ 4003, 4, 1, "DNS Activity",
						       "Network Activity", "Query" };
		break;
	default:
		/*
		 * Containment: the sandbox invoked a kernel facility a built-in rule withholds
		 * (a capability, mount, bpf(), a signal to an outside process, ...). No finer
		 * class fits all of them; the operation is in kernel.name.
		 */
		*cls = (struct ag_ocsf_class){ 1003, 1, 4, "Kernel Activity", "System Activity",
					       "Invoke" };
		break;
	}
}

/* The system call behind a containment operation, where it is exactly one. */
static const char *contain_syscall(__u32 op)
{
	switch (op) {
	case AG_OP_MOUNT: return "mount";
	case AG_OP_MOVE_MOUNT: return "move_mount";
	case AG_OP_PIVOT_ROOT: return "pivot_root";
	case AG_OP_CHROOT: return "chroot";
	case AG_OP_UMOUNT: return "umount2";
	case AG_OP_BPF: return "bpf";
	case AG_OP_PERF_EVENT: return "perf_event_open";
	case AG_OP_PTRACE: return "ptrace";
	case AG_OP_SETOWN: return "fcntl";
	}
	return NULL;
}

static void put_str(struct ag_buf *b, const char *key, const char *v, size_t n)
{
	ag_buf_printf(b, ",\"%s\":", key);
	ag_json_str(b, v, n);
}

static void put_cstr(struct ag_buf *b, const char *key, const char *v)
{
	ag_buf_printf(b, ",\"%s\":", key);
	if (v)
		ag_json_str(b, v, strlen(v));
	else
		ag_buf_puts(b, "null");
}

/* OCSF file object: name is required, so an unresolved path has name "". */
static void put_file(struct ag_buf *b, const struct ag_event *ev)
{
	const char *slash = ev->path ? memrchr(ev->path, '/', ev->path_len) : NULL;
	const char *name = slash ? slash + 1 : ev->path ? ev->path : "";

	ag_buf_puts(b, "\"file\":{\"type_id\":0,\"type\":\"Unknown\"");
	put_str(b, "name", name, ev->path ? ev->path_len - (name - ev->path) : 0);
	if (ev->path)
		put_str(b, "path", ev->path, ev->path_len);
	ag_buf_puts(b, "}");
}

static void put_user(struct ag_buf *b, const struct ag_event *ev)
{
	ag_buf_printf(b, ",\"user\":{\"uid\":\"%u\"", ev->hdr.uid);
	if (ev->user)
		put_cstr(b, "name", ev->user);
	ag_buf_puts(b, "}");
}

static void put_actor(struct ag_buf *b, const struct ag_event *ev)
{
	const struct ag_event_hdr *h = &ev->hdr;

	ag_buf_printf(b, ",\"actor\":{\"process\":{\"pid\":%u,\"tid\":%u", h->pid, h->tid);
	put_str(b, "name", h->comm, strnlen(h->comm, sizeof(h->comm)));
	/* file.path: the exe captured at exec; lineage: the exec ancestry, most recent first. */
	if (ev->proc.exe) {
		ag_buf_puts(b, ",\"file\":{\"type_id\":1");
		put_str(b, "path", ev->proc.exe, ev->proc.exe_len);
		ag_buf_puts(b, "}");
	}
	if (ev->proc.ancestry_known) {
		ag_buf_puts(b, ",\"lineage\":[");
		for (unsigned int i = 0; i < ev->proc.depth; i++) {
			if (i)
				ag_buf_puts(b, ",");
			ag_json_str(b, ev->proc.ancestor[i], ev->proc.ancestor_len[i]);
		}
		ag_buf_puts(b, "]");
	}
	if (ev->ppid_known)
		ag_buf_printf(b, ",\"parent_process\":{\"pid\":%u}", h->ppid);
	put_user(b, ev);
	ag_buf_puts(b, "}");
	put_user(b, ev);
	ag_buf_puts(b, "}");
}

static const struct ag_event_field *target_field(const struct ag_event *ev, const char *key)
{
	unsigned int i;

	for (i = 0; i < ev->n_target; i++)
		if (!strcmp(ev->target[i].key, key))
			return &ev->target[i];
	return NULL;
}

static void put_network(struct ag_buf *b, const struct ag_event_sink *s,
			const struct ag_event *ev)
{
	const struct ag_event_field *port = target_field(ev, "port");
	const struct ag_event_field *proto = target_field(ev, "protocol");
	const struct ag_event_field *fam = target_field(ev, "family");

	ag_buf_printf(b, ",\"dst_endpoint\":{\"ip\":\"%s\",\"port\":%llu}", ev->addr[0],
		      port ? (unsigned long long)port->i : 0);
	ag_buf_puts(b, ",\"src_endpoint\":{");
	ag_buf_puts(b, "\"hostname\":");
	ag_json_str(b, s->host, strlen(s->host));
	ag_buf_printf(b, "},\"connection_info\":{\"direction_id\":2,\"direction\":\"Outbound\","
			 "\"protocol_ver_id\":%d",
		      fam && fam->str[3] == '4' ? 4 : 6);
	if (proto && !strcmp(proto->str, "tcp"))
		ag_buf_puts(b, ",\"protocol_name\":\"tcp\",\"protocol_num\":6");
	else if (proto && !strcmp(proto->str, "udp"))
		ag_buf_puts(b, ",\"protocol_name\":\"udp\",\"protocol_num\":17");
	ag_buf_puts(b, "}");
}

/*
 * OCSF 4003: query {hostname, type, class}, rcode, and the client as src_endpoint; a withheld
 * address as the one record of answers.
 */
static void put_dns(struct ag_buf *b, const struct ag_event *ev)
{
	const struct ag_event_field *addr = target_field(ev, "address");
	const struct ag_event_field *name = target_field(ev, "name");
	const struct ag_event_field *qtype = target_field(ev, "qtype");
	const struct ag_event_field *rcode = target_field(ev, "rcode");
	const struct ag_event_field *client = target_field(ev, "client");

	ag_buf_puts(b, ",\"query\":{\"class\":\"IN\"");
	if (name)
		put_str(b, "hostname", name->str, name->len);
	if (qtype)
		put_str(b, "type", qtype->str, qtype->len);
	ag_buf_puts(b, "}");
	if (addr) {
		ag_buf_puts(b, ",\"answers\":[{\"class\":\"IN\"");
		if (qtype)
			put_str(b, "type", qtype->str, qtype->len);
		put_str(b, "rdata", addr->str, addr->len);
		ag_buf_puts(b, "}]");
	}
	if (rcode)
		put_str(b, "rcode", rcode->str, rcode->len);
	if (client) {
		/* "a.b.c.d:port" or "[v6]:port": the querying socket. */
		const char *colon = memrchr(client->str, ':', client->len);
		size_t alen = colon ? (size_t)(colon - client->str) : client->len;
		const char *a = client->str;

		if (alen >= 2 && a[0] == '[' && a[alen - 1] == ']') {
			a++;
			alen -= 2;
		}
		ag_buf_puts(b, ",\"src_endpoint\":{");
		ag_buf_puts(b, "\"ip\":");
		ag_json_str(b, a, alen);
		if (colon)
			ag_buf_printf(b, ",\"port\":%lu", strtoul(colon + 1, NULL, 10));
		ag_buf_puts(b, "}");
	}
}

static void put_unmapped(struct ag_buf *b, const struct ag_event_sink *s,
			 const struct ag_event *ev)
{
	const struct ag_event_hdr *h = &ev->hdr;

	ag_buf_printf(b, ",\"unmapped\":{\"schema_version\":%d,\"seq\":%llu,\"kseq\":%llu",
		      AG_EVENT_SCHEMA_VERSION, ev->seq, (unsigned long long)h->kseq);
	put_cstr(b, "session", s->session);
	put_cstr(b, "sandbox", s->sandbox);
	put_cstr(b, "origin", "host");
	put_cstr(b, "sandbox_name", s->sandbox_name);
	put_cstr(b, "backend", ag_backend_name(s->backend));
	put_cstr(b, "operator", s->operator_identity);
	ag_buf_printf(b, ",\"gid\":%u,\"cgroup_id\":%llu,\"kind\":\"%s\",\"operation\":\"%s\","
			 "\"decision\":\"%s\",\"mode\":\"%s\",\"target\":",
		      h->gid, (unsigned long long)h->cgroup_id, ev->kind, ev->operation,
		      ev->decision, ev->mode);
	ag_event_target_json(b, ev);
	ag_buf_puts(b, ",\"rule\":{\"id\":");
	if (ev->rule_id)
		ag_json_str(b, ev->rule_id, strlen(ev->rule_id));
	else
		ag_buf_puts(b, "null");
	put_cstr(b, "layer", ev->rule_layer);
	ag_buf_puts(b, "},\"policy\":{\"name\":");
	if (ev->policy_name)
		ag_json_str(b, ev->policy_name, strlen(ev->policy_name));
	else
		ag_buf_puts(b, "null");
	ag_buf_printf(b, ",\"sha256\":\"%s\",\"generation\":%u}}", ev->policy_sha256,
		      h->generation_seq);
}

void ag_ocsf_format(struct ag_buf *b, const struct ag_event_sink *s, const struct ag_event *ev)
{
	static const char *const severity[] = { "Unknown", "Informational", "Low", "Medium",
						"High" };
	const struct ag_event_hdr *h = &ev->hdr;
	bool denied = h->verdict == AG_DENY;
	struct ag_buf msg = {};
	struct ag_ocsf_class c;
	const char *sc;
	int sev;

	ag_ocsf_classify(ev, &c);
	/*
	 * A containment denial is an attempt to leave the sandbox or blind agentguard: High.
	 * Other denials Medium, audit-mode findings (would-deny) Low.
	 */
	sev = !denied ? (h->verdict == AG_WOULD_DENY ? 2 : 1) :
			h->kind == AG_EV_CONTAINMENT ? 4 : 3;
	ag_buf_printf(b,
		      "{\"class_uid\":%u,\"class_name\":\"%s\",\"category_uid\":%u,"
		      "\"category_name\":\"%s\",\"activity_id\":%u,\"activity_name\":\"%s\","
		      "\"type_uid\":%u,\"type_name\":\"%s: %s\",\"severity_id\":%d,"
		      "\"severity\":\"%s\",\"status_id\":%d,\"status\":\"%s\","
		      "\"action_id\":%d,\"action\":\"%s\",\"disposition_id\":%d,"
		      "\"disposition\":\"%s\",\"time\":%lld",
		      c.class_uid, c.class_name, c.category_uid, c.category_name, c.activity_id,
		      c.activity_name, c.class_uid * 100 + c.activity_id, c.class_name,
		      c.activity_name, sev, severity[sev], denied ? 2 : 1,
		      denied ? "Failure" : "Success", denied ? 2 : 1,
		      denied ? "Denied" : "Allowed", denied ? 2 : 1,
		      denied ? "Blocked" : "Allowed", ev->time_ns / 1000000LL);
	/* The summary, as in journald's MESSAGE: one escaped line, then JSON-quoted. */
	ag_event_summary(&msg, ev);
	ag_buf_puts(b, ",\"message\":");
	ag_json_str(b, msg.p ? msg.p : "", msg.len);
	if (msg.oom)
		b->oom = true;
	ag_buf_free(&msg);
	ag_buf_printf(b, ",\"metadata\":{\"version\":\"%s\",\"product\":{\"name\":\"agentguard\","
			 "\"vendor_name\":\"agentguard\"},"
			 "\"profiles\":[\"host\",\"security_control\"],\"original_time\":\"%s\"",
		      AG_OCSF_VERSION, ev->time);
	ag_buf_puts(b, ",\"uid\":");
	{
		char uid[96];
		int n = snprintf(uid, sizeof(uid), "%s:%llu", s->session, ev->seq);

		ag_json_str(b, uid, n < (int)sizeof(uid) ? (size_t)n : sizeof(uid) - 1);
	}
	ag_buf_puts(b, "},\"device\":{\"type_id\":0,\"type\":\"Unknown\"");
	put_cstr(b, "hostname", s->host);
	ag_buf_puts(b, ",\"os\":{\"name\":\"Linux\",\"type_id\":200,\"type\":\"Linux\"}}");
	put_actor(b, ev);

	switch (h->kind) {
	case AG_EV_FILE:
		ag_buf_puts(b, ",");
		put_file(b, ev);
		break;
	case AG_EV_EXEC:
		/* The process that was to be launched: its image is all that is known. */
		ag_buf_puts(b, ",\"process\":{");
		put_file(b, ev);
		ag_buf_puts(b, "}");
		break;
	case AG_EV_NETWORK:
		put_network(b, s, ev);
		break;
	case AG_EV_DNS:
		put_dns(b, ev);
		break;
	default:
		sc = contain_syscall(h->op);
		ag_buf_puts(b, ",\"kernel\":{");
		ag_buf_printf(b, "\"name\":\"%s\"", ev->operation);
		if (sc)
			ag_buf_printf(b, ",\"type_id\":2,\"type\":\"System Call\","
					 "\"system_call\":\"%s\"}", sc);
		else
			ag_buf_puts(b, ",\"type_id\":99,\"type\":\"Other\"}");
		break;
	}
	put_unmapped(b, s, ev);
	ag_buf_puts(b, "}\n");
}
