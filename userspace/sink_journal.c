// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include "events.h"
#include "sink_journal.h"

/* Header, identity, process, decision, rule and policy fields, plus the target's. */
#define MAX_FIELDS (40 + AG_EVENT_MAX_FIELDS)

struct fields {
	struct ag_buf *b;
	size_t off[MAX_FIELDS];
	size_t len[MAX_FIELDS];
	unsigned int n;
};

/*
 * One "NAME=value" per iovec, as sd_journal_sendv() wants them. The buffer may move while it
 * grows, so remember offsets and make the iovecs at the end.
 */
static void add_bytes(struct fields *f, const char *name, const char *v, size_t n)
{
	size_t start = f->b->len;

	if (f->n >= MAX_FIELDS) {
		f->b->oom = true;	/* a bug: dropped, and counted by the caller */
		return;
	}
	ag_buf_puts(f->b, "AGENTGUARD_");
	ag_buf_puts(f->b, name);
	ag_buf_put(f->b, "=", 1);
	ag_buf_put(f->b, v, n);
	f->off[f->n] = start;
	f->len[f->n++] = f->b->len - start;
}

static void add_str(struct fields *f, const char *name, const char *v)
{
	if (v)
		add_bytes(f, name, v, strlen(v));
}

static void add_num(struct fields *f, const char *name, unsigned long long v)
{
	char s[24];

	add_bytes(f, name, s, snprintf(s, sizeof(s), "%llu", v));
}

static void add_int(struct fields *f, const char *name, long long v)
{
	char s[24];

	add_bytes(f, name, s, snprintf(s, sizeof(s), "%lld", v));
}

/* A field without the AGENTGUARD_ prefix (journald's own: MESSAGE, PRIORITY, ...). */
static void add_raw(struct fields *f, const char *line)
{
	if (f->n >= MAX_FIELDS) {
		f->b->oom = true;
		return;
	}
	f->off[f->n] = f->b->len;
	ag_buf_puts(f->b, line);
	f->len[f->n] = f->b->len - f->off[f->n];
	f->n++;
}

const char *ag_journal_message_id(const char *kind)
{
	static const struct {
		const char *kind, *id;
	} ids[] = {
		{ "file", AG_MSGID_FILE },	   { "exec", AG_MSGID_EXEC },
		{ "network", AG_MSGID_NETWORK },   { "loss", AG_MSGID_LOSS },
		{ "lifecycle", AG_MSGID_LIFECYCLE }, { "dns", AG_MSGID_DNS },
	};

	for (size_t i = 0; kind && i < sizeof(ids) / sizeof(ids[0]); i++)
		if (!strcmp(kind, ids[i].kind))
			return ids[i].id;
	return AG_MSGID_CONTAINMENT;
}

int ag_journal_priority(const char *decision)
{
	/* deny: warning; would-deny: notice (an audit-mode finding, nothing was stopped). */
	if (decision && !strcmp(decision, "deny"))
		return 4;
	if (decision && !strcmp(decision, "would-deny"))
		return 5;
	return 6;
}

/* The exec ancestry as one field, one exe per line, most recent first; none when unknown. */
static void add_ancestry(struct fields *f, const struct ag_event_proc *p)
{
	char v[AG_ANCESTRY_MAX * AG_ANCESTOR_MAX];
	size_t n = 0;
	unsigned int i;

	if (!p->ancestry_known)
		return;
	for (i = 0; i < p->depth; i++) {
		if (i)
			v[n++] = '\n';
		memcpy(v + n, p->ancestor[i], p->ancestor_len[i]);
		n += p->ancestor_len[i];
	}
	add_bytes(f, "ANCESTRY", v, n);
}

static void add_target(struct fields *f, const struct ag_event *ev)
{
	static const char *const access[] = { "", "read", "write", "read,write", "exec",
					      "read,exec", "write,exec", "read,write,exec" };
	unsigned int i;

	for (i = 0; i < ev->n_target; i++) {
		const struct ag_event_field *t = &ev->target[i];

		switch (t->type) {
		case AG_FIELD_STR:
			/* The exact bytes: journald stores a value that is not UTF-8 as binary. */
			add_bytes(f, t->journal, t->str, t->len);
			break;
		case AG_FIELD_INT:
			add_int(f, t->journal, t->i);
			break;
		case AG_FIELD_UINT:
			add_num(f, t->journal, t->i);
			break;
		case AG_FIELD_NULL:
			break;
		case AG_FIELD_ACCESS:
			add_str(f, t->journal, access[t->i & 7]);
			break;
		}
	}
}

int ag_journal_send(struct ag_event_sink *s, const struct ag_event *ev)
{
	const struct ag_event_hdr *h = &ev->hdr;
	struct fields f = { .b = &s->jbuf };
	struct iovec iov[MAX_FIELDS];
	unsigned int i;
	char line[64];

	ag_buf_reset(f.b);
	/* MESSAGE first: escaped into one line, since people read it on a terminal. */
	f.off[0] = 0;
	ag_buf_puts(f.b, "MESSAGE=agentguard: ");
	ag_event_summary(f.b, ev);
	f.len[0] = f.b->len;
	f.n = 1;
	snprintf(line, sizeof(line), "MESSAGE_ID=%s", ag_journal_message_id(ev->kind));
	add_raw(&f, line);
	snprintf(line, sizeof(line), "PRIORITY=%d", ag_journal_priority(ev->decision));
	add_raw(&f, line);
	add_raw(&f, "SYSLOG_IDENTIFIER=agentguard");
	/* journald adds OBJECT_COMM, OBJECT_EXE... from /proc when it receives this, if it can. */
	snprintf(line, sizeof(line), "OBJECT_PID=%u", h->pid);
	add_raw(&f, line);

	add_num(&f, "SCHEMA_VERSION", AG_EVENT_SCHEMA_VERSION);
	add_num(&f, "SEQ", ev->seq);
	add_num(&f, "KSEQ", h->kseq);
	add_str(&f, "TIME", ev->time);
	add_str(&f, "HOST", s->host);
	add_str(&f, "SESSION", s->session);
	add_str(&f, "SANDBOX", s->sandbox);
	add_str(&f, "ORIGIN", "host");
	if (s->sandbox_name)
		add_str(&f, "SANDBOX_NAME", s->sandbox_name);
	add_str(&f, "BACKEND", ag_backend_name(s->backend));
	add_num(&f, "UID", h->uid);
	add_num(&f, "GID", h->gid);
	add_str(&f, "USER", ev->user);
	add_str(&f, "OPERATOR", s->operator_identity);
	add_num(&f, "PID", h->pid);
	add_num(&f, "TID", h->tid);
	if (ev->ppid_known)
		add_num(&f, "PPID", h->ppid);
	add_num(&f, "CGROUP_ID", h->cgroup_id);
	add_bytes(&f, "COMM", h->comm, strnlen(h->comm, sizeof(h->comm)));
	if (ev->proc.exe)
		add_bytes(&f, "EXE", ev->proc.exe, ev->proc.exe_len);
	add_ancestry(&f, &ev->proc);
	add_num(&f, "REPEATS", h->repeats);
	add_str(&f, "KIND", ev->kind);
	add_str(&f, "OPERATION", ev->operation);
	add_target(&f, ev);
	add_str(&f, "DECISION", ev->decision);
	add_str(&f, "MODE", ev->mode);
	add_str(&f, "RULE_ID", ev->rule_id);
	add_str(&f, "RULE_LAYER", ev->rule_layer);
	add_str(&f, "POLICY_NAME", ev->policy_name);
	if (ev->policy_sha256[0])
		add_str(&f, "POLICY_SHA256", ev->policy_sha256);
	add_num(&f, "POLICY_GENERATION", h->generation_seq);
	if (f.b->oom)
		return -ENOMEM;

	for (i = 0; i < f.n; i++) {
		iov[i].iov_base = f.b->p + f.off[i];
		iov[i].iov_len = f.len[i];
	}
	return sd_journal_sendv(iov, f.n);
}

int ag_journal_check(void)
{
	struct stat st;

	if (stat(AG_JOURNAL_SOCKET, &st))
		return -errno;
	return S_ISSOCK(st.st_mode) ? 0 : -ENOTSOCK;
}
