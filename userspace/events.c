// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <pwd.h>
#include <string.h>
#include <time.h>

#include "events.h"

static const char *kind_name(__u32 kind)
{
	switch (kind) {
	case AG_EV_FILE:
		return "file";
	case AG_EV_EXEC:
		return "exec";
	case AG_EV_NETWORK:
		return "network";
	}
	return NULL;
}

static void put_time(struct ag_buf *b, __u64 boot_ns)
{
	struct timespec rt, bt;
	__s64 ns;
	time_t sec;
	struct tm tm;
	char date[32];

	/* Wall time of the event = now - (boot now - boot then). */
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	ns = (__s64)rt.tv_sec * 1000000000LL + rt.tv_nsec -
	     ((__s64)bt.tv_sec * 1000000000LL + bt.tv_nsec - (__s64)boot_ns);
	sec = ns / 1000000000LL;
	gmtime_r(&sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	ag_buf_printf(b, "\"%s.%09lldZ\"", date, (long long)(ns % 1000000000LL));
}

/* Keys hold IPv4 addresses as ::ffff:a.b.c.d. */
static bool is_v4_key(const __u8 *a)
{
	static const __u8 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return !memcmp(a, mapped, 12);
}

/* as_v6: print exactly as an IPv6 caller wrote it, even ::ffff:a.b.c.d. */
static void put_addr(struct ag_buf *b, const __u8 *a, bool as_v6)
{
	char s[INET6_ADDRSTRLEN];

	if (!as_v6 && is_v4_key(a))
		inet_ntop(AF_INET, a + 12, s, sizeof(s));
	else
		inet_ntop(AF_INET6, a, s, sizeof(s));
	ag_buf_printf(b, "\"%s\"", s);
}

static void put_header(struct ag_event_sink *s, const struct ag_event_hdr *h)
{
	struct ag_buf *b = &s->buf;
	struct passwd pw, *pwp = NULL;
	char pwbuf[1024];

	ag_buf_printf(b, "{\"schema_version\":%d,\"seq\":%llu,\"kseq\":%llu,\"time\":",
		      AG_EVENT_SCHEMA_VERSION, ++s->seq, (unsigned long long)h->kseq);
	put_time(b, h->boot_ns);
	ag_buf_puts(b, ",\"host\":");
	ag_json_str(b, s->host, strlen(s->host));
	ag_buf_puts(b, ",\"session\":");
	ag_json_str(b, s->session, strlen(s->session));
	ag_buf_puts(b, ",\"sandbox\":");
	ag_json_str(b, s->sandbox, strlen(s->sandbox));

	ag_buf_printf(b, ",\"identity\":{\"uid\":%u,\"gid\":%u,\"user\":", h->uid, h->gid);
	getpwuid_r(h->uid, &pw, pwbuf, sizeof(pwbuf), &pwp);
	if (pwp)
		ag_json_str(b, pwp->pw_name, strlen(pwp->pw_name));
	else
		ag_buf_puts(b, "null");
	ag_buf_puts(b, ",\"operator\":");
	if (s->operator_identity)
		ag_json_str(b, s->operator_identity, strlen(s->operator_identity));
	else
		ag_buf_puts(b, "null");

	ag_buf_printf(b, "},\"process\":{\"pid\":%u,\"tid\":%u,\"ppid\":", h->pid, h->tid);
	/* cgroup socket programs cannot read the task: the parent is unknown there, not 0. */
	if (h->kind == AG_EV_NETWORK)
		ag_buf_puts(b, "null");
	else
		ag_buf_printf(b, "%u", h->ppid);
	ag_buf_printf(b, ",\"cgroup_id\":%llu,\"comm\":", (unsigned long long)h->cgroup_id);
	ag_json_str(b, h->comm, strnlen(h->comm, sizeof(h->comm)));
	ag_buf_printf(b, "},\"kind\":\"%s\"", kind_name(h->kind));
}

static void put_decision(struct ag_event_sink *s, const struct ag_event_hdr *h)
{
	struct ag_buf *b = &s->buf;
	const struct ag_compiled *c = s->policy;
	const struct ag_rule_ref *r = NULL;

	ag_buf_printf(b, ",\"decision\":\"%s\",\"mode\":\"%s\",\"rule\":",
		      ag_verdict_name(h->verdict),
		      h->verdict == AG_WOULD_DENY ? "audit" : "enforce");
	/* Rule indexes are per generation: name them only from the matching policy. */
	if (c && h->generation_seq == s->generation && h->rule < c->n_rules)
		r = &c->rules[h->rule];
	if (r) {
		ag_buf_puts(b, "{\"id\":");
		ag_json_str(b, r->id, strlen(r->id));
		ag_buf_printf(b, ",\"layer\":\"%s\"}", ag_layer_name(r->layer));
	} else {
		ag_buf_puts(b, "{\"id\":null,\"layer\":null}");
	}
	ag_buf_puts(b, ",\"policy\":{\"name\":");
	if (r)
		ag_json_str(b, r->policy->name, strlen(r->policy->name));
	else
		ag_buf_puts(b, "null");
	ag_buf_printf(b, ",\"sha256\":\"%s\",\"generation\":%u}}\n", c ? c->sha256_hex : "",
		      h->generation_seq);
}

static void put_file_target(struct ag_buf *b, const struct ag_event_file *e)
{
	static const char *const names[AG_FS_NCLASSES] = { "read", "write", "exec" };
	const char *sep = "";
	__u32 i;

	ag_buf_printf(b, ",\"operation\":\"%s\",\"target\":{\"access\":[",
		      e->hdr.kind == AG_EV_EXEC ? "exec" : "open");
	for (i = 0; i < AG_FS_NCLASSES; i++) {
		if (e->want & (1u << i)) {
			ag_buf_printf(b, "%s\"%s\"", sep, names[i]);
			sep = ",";
		}
	}
	ag_buf_puts(b, "],\"path\":");
	if (e->path_len <= 0 || e->path_len > AG_PATH_MAX) {
		/* The kernel could not resolve the path: say so, and why. */
		ag_buf_printf(b, "null,\"path_error\":%d}", e->path_len <= 0 ? -e->path_len : 0);
		return;
	}
	if (!ag_json_str(b, e->path, strnlen(e->path, e->path_len))) {
		ag_buf_puts(b, ",\"path_b64\":");
		ag_json_base64(b, (const unsigned char *)e->path, strnlen(e->path, e->path_len));
	}
	ag_buf_puts(b, "}");
}

static void put_net_target(struct ag_buf *b, const struct ag_event_net *e)
{
	ag_buf_puts(b, ",\"operation\":\"connect\",\"target\":{\"address\":");
	put_addr(b, e->orig_addr, e->family == AF_INET6);
	/* An IPv6 destination judged by the IPv4 address it carries: say which. */
	if (e->family == AF_INET6 && is_v4_key(e->addr)) {
		ag_buf_puts(b, ",\"judged_as\":");
		put_addr(b, e->addr, false);
	}
	ag_buf_printf(b, ",\"port\":%u,\"protocol\":\"%s\",\"family\":\"%s\"}", e->port,
		      e->proto == AG_NET_TCP ? "tcp" : e->proto == AG_NET_UDP ? "udp" : "other",
		      e->family == AF_INET ? "ipv4" : "ipv6");
}

int ag_event_format(struct ag_event_sink *s, const void *data, size_t size)
{
	struct ag_event_hdr h;

	ag_buf_reset(&s->buf);
	if (size < sizeof(h))
		return -EINVAL;
	memcpy(&h, data, sizeof(h));
	if (!kind_name(h.kind))
		return -EINVAL;
	if (h.kind == AG_EV_NETWORK) {
		struct ag_event_net e;

		if (size < sizeof(e))
			return -EINVAL;
		memcpy(&e, data, sizeof(e));
		put_header(s, &h);
		put_net_target(&s->buf, &e);
	} else {
		/* Large record: read it in place; fields are naturally aligned in the ring. */
		const struct ag_event_file *e = data;

		if (size < sizeof(*e))
			return -EINVAL;
		put_header(s, &h);
		put_file_target(&s->buf, e);
	}
	put_decision(s, &h);
	return s->buf.oom ? -ENOMEM : 0;
}

int ag_event_sink_handle(void *ctx, void *data, size_t size)
{
	struct ag_event_sink *s = ctx;

	if (ag_event_format(s, data, size)) {
		s->malformed++;
		return 0;
	}
	fwrite(s->buf.p, 1, s->buf.len, s->out);
	s->written++;
	return 0;
}

void ag_event_sink_free(struct ag_event_sink *s)
{
	ag_buf_free(&s->buf);
}
