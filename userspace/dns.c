// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dns.h"

#define QR 0x8000
#define OPCODE(f) (((f) >> 11) & 0xf)
#define TC 0x0200
#define RD 0x0100
#define RA 0x0080

static __u16 rd16(const __u8 *p)
{
	return (__u16)(p[0] << 8 | p[1]);
}

static __u32 rd32(const __u8 *p)
{
	return (__u32)p[0] << 24 | (__u32)p[1] << 16 | (__u32)p[2] << 8 | p[3];
}

static void wr16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void wr32(__u8 *p, __u32 v)
{
	wr16(p, v >> 16);
	wr16(p + 2, v & 0xffff);
}

/*
 * The name at *off into wire (uncompressed). Pointers (allowed only with ptr) must point
 * before the label that holds them, so they cannot loop; at most 64 are followed anyway.
 * *off moves past the name where it is stored (a pointer ends it).
 */
static int read_name(const __u8 *m, size_t len, size_t *off, bool ptr, __u8 *wire,
		     size_t *wire_len)
{
	size_t p = *off, out = 0, end = 0;
	bool jumped = false;
	int hops = 0;

	for (;;) {
		__u8 l;

		if (p >= len)
			return -EINVAL;
		l = m[p];
		if ((l & 0xc0) == 0xc0) {
			size_t t;

			if (!ptr || p + 1 >= len || ++hops > 64)
				return -EINVAL;
			t = (size_t)(l & 0x3f) << 8 | m[p + 1];
			if (t >= p)
				return -EINVAL;
			if (!jumped)
				end = p + 2;
			jumped = true;
			p = t;
			continue;
		}
		if (l & 0xc0)
			return -EINVAL;	/* extended label types */
		if (out + 1 + l > AG_DNS_WIRE_MAX)
			return -EINVAL;
		if (!l) {
			wire[out++] = 0;
			if (!jumped)
				end = p + 1;
			break;
		}
		if (p + 1 + l > len)
			return -EINVAL;
		memcpy(wire + out, m + p, 1 + l);
		out += 1 + l;
		p += 1 + l;
	}
	*off = end;
	*wire_len = out;
	return 0;
}

static __u8 lower(__u8 c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

bool ag_dns_wire_eq(const __u8 *a, size_t al, const __u8 *b, size_t bl)
{
	size_t i;

	if (al != bl)
		return false;
	for (i = 0; i < al; i++)
		if (lower(a[i]) != lower(b[i]))
			return false;
	return true;
}

void ag_dns_wire_text(const __u8 *w, size_t wl, char *text, size_t cap, bool *hostname)
{
	size_t p = 0, o = 0;

	*hostname = true;
	if (cap < 5) {
		if (cap)
			text[0] = '\0';
		*hostname = false;
		return;
	}
	while (p < wl && w[p]) {
		__u8 l = w[p++], i;

		if (o && o + 1 < cap)
			text[o++] = '.';
		for (i = 0; i < l && p < wl; i++, p++) {
			__u8 c = lower(w[p]);
			bool plain = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
				     c == '_';

			if (!plain)
				*hostname = false;
			if (o + 5 >= cap) {
				*hostname = false;
				goto done;
			}
			if (plain)
				text[o++] = c;
			else
				o += snprintf(text + o, cap - o, "\\%03u", c);
		}
	}
	if (!o)
		text[o++] = '.';
done:
	text[o] = '\0';
	/* The root, or an empty label: not a host name. */
	if (wl <= 1)
		*hostname = false;
}

int ag_dns_parse_question(const __u8 *m, size_t len, bool is_response, struct ag_dns_question *q)
{
	size_t off = AG_DNS_HDR;
	int err;

	memset(q, 0, offsetof(struct ag_dns_question, wire));
	q->wire_len = 0;
	q->name[0] = '\0';
	q->hostname = false;
	q->end = 0;
	if (len >= 2)
		q->id = rd16(m);
	if (len < AG_DNS_HDR)
		return -EINVAL;
	q->flags = rd16(m + 2);
	if (!!(q->flags & QR) != is_response)
		return -EINVAL;
	if (OPCODE(q->flags) != 0)
		return -EOPNOTSUPP;
	if (rd16(m + 4) != 1)
		return -EINVAL;
	if (!is_response && (rd16(m + 6) || rd16(m + 8)))
		return -EINVAL;
	/* A query's name cannot point anywhere but into the header: no pointers there. */
	err = read_name(m, len, &off, is_response, q->wire, &q->wire_len);
	if (err)
		return err;
	if (off + 4 > len)
		return -EINVAL;
	q->qtype = rd16(m + off);
	q->qclass = rd16(m + off + 2);
	q->end = off + 4;
	ag_dns_wire_text(q->wire, q->wire_len, q->name, sizeof(q->name), &q->hostname);
	return 0;
}

int ag_dns_parse_response(const __u8 *m, size_t len, const struct ag_dns_question *sent,
			  struct ag_dns_response *r)
{
	struct ag_dns_question q;
	size_t off, i, an;
	int err;

	r->n_rr = 0;
	r->skipped = 0;
	err = ag_dns_parse_question(m, len, true, &q);
	if (err)
		return -EINVAL;
	if (q.id != sent->id || q.qtype != sent->qtype || q.qclass != sent->qclass ||
	    !ag_dns_wire_eq(q.wire, q.wire_len, sent->wire, sent->wire_len))
		return -EINVAL;
	r->flags = q.flags;
	r->rcode = q.flags & 0xf;
	r->tc = q.flags & TC;
	an = rd16(m + 6);
	off = q.end;
	for (i = 0; i < an; i++) {
		struct ag_dns_rr *rr = &r->rr[r->n_rr < AG_DNS_MAX_RRS ? r->n_rr : 0];
		__u8 owner[AG_DNS_WIRE_MAX];
		size_t owner_len, rdoff, rdlen;
		__u16 type, klass;

		err = read_name(m, len, &off, true, owner, &owner_len);
		if (err || off + 10 > len)
			return -EINVAL;
		type = rd16(m + off);
		klass = rd16(m + off + 2);
		rdlen = rd16(m + off + 8);
		rdoff = off + 10;
		if (rdoff + rdlen > len)
			return -EINVAL;
		off = rdoff + rdlen;
		if (klass != AG_DNS_CLASS_IN ||
		    !((type == AG_DNS_T_A && rdlen == 4) ||
		      (type == AG_DNS_T_AAAA && rdlen == 16) || type == AG_DNS_T_CNAME)) {
			r->skipped++;
			continue;
		}
		if (r->n_rr == AG_DNS_MAX_RRS)
			return -E2BIG;
		rr->type = type;
		rr->ttl = rd32(m + rdoff - 6);
		if (rr->ttl & 0x80000000u)
			rr->ttl = 0;	/* RFC 2181 8 */
		memcpy(rr->owner, owner, owner_len);
		rr->owner_len = owner_len;
		if (type == AG_DNS_T_CNAME) {
			size_t t = rdoff;

			/* The target may point back into the message, but must end in rdata. */
			err = read_name(m, rdoff + rdlen, &t, true, rr->rdata, &rr->rdlen);
			if (err || t != rdoff + rdlen)
				return -EINVAL;
		} else {
			memcpy(rr->rdata, m + rdoff, rdlen);
			rr->rdlen = rdlen;
		}
		r->n_rr++;
	}
	return 0;
}

static int put(__u8 *out, size_t cap, size_t *o, const void *p, size_t n)
{
	if (*o + n > cap)
		return -E2BIG;
	memcpy(out + *o, p, n);
	*o += n;
	return 0;
}

static int put_question(__u8 *out, size_t cap, size_t *o, const struct ag_dns_question *q)
{
	__u8 tc[4];

	wr16(tc, q->qtype);
	wr16(tc + 2, q->qclass);
	if (put(out, cap, o, q->wire, q->wire_len) || put(out, cap, o, tc, 4))
		return -E2BIG;
	return 0;
}

int ag_dns_build_reply(__u8 *out, size_t cap, const struct ag_dns_question *q, __u8 rcode,
		       bool tc, const struct ag_dns_rr *const *rrs, size_t n)
{
	__u8 h[AG_DNS_HDR] = {}, f[10];
	size_t o = 0, i;
	__u16 flags = QR | (q->flags & (0xf << 11)) | (q->flags & RD) | RA | (rcode & 0xf);

	if (tc)
		flags |= TC;
	wr16(h, q->id);
	wr16(h + 2, flags);
	wr16(h + 4, q->wire_len ? 1 : 0);
	wr16(h + 6, (__u16)n);
	if (put(out, cap, &o, h, sizeof(h)))
		return -E2BIG;
	if (q->wire_len && put_question(out, cap, &o, q))
		return -E2BIG;
	for (i = 0; i < n; i++) {
		const struct ag_dns_rr *rr = rrs[i];

		wr16(f, rr->type);
		wr16(f + 2, AG_DNS_CLASS_IN);
		wr32(f + 4, rr->ttl);
		wr16(f + 8, (__u16)rr->rdlen);
		if (put(out, cap, &o, rr->owner, rr->owner_len) || put(out, cap, &o, f, 10) ||
		    put(out, cap, &o, rr->rdata, rr->rdlen))
			return -E2BIG;
	}
	return (int)o;
}

int ag_dns_build_query(__u8 *out, size_t cap, const struct ag_dns_question *q, __u16 id)
{
	__u8 h[AG_DNS_HDR] = {};
	size_t o = 0;

	wr16(h, id);
	wr16(h + 2, RD);
	wr16(h + 4, 1);
	if (put(out, cap, &o, h, sizeof(h)) || put_question(out, cap, &o, q))
		return -E2BIG;
	return (int)o;
}

const char *ag_dns_type_name(__u16 type, char *buf, size_t len)
{
	switch (type) {
	case AG_DNS_T_A: return "A";
	case AG_DNS_T_CNAME: return "CNAME";
	case AG_DNS_T_NULL: return "NULL";
	case AG_DNS_T_TXT: return "TXT";
	case AG_DNS_T_AAAA: return "AAAA";
	case AG_DNS_T_SVCB: return "SVCB";
	case AG_DNS_T_HTTPS: return "HTTPS";
	case AG_DNS_T_ANY: return "ANY";
	case 2: return "NS";
	case 6: return "SOA";
	case 12: return "PTR";
	case 15: return "MX";
	case 33: return "SRV";
	}
	snprintf(buf, len, "TYPE%u", type);
	return buf;
}

const char *ag_dns_rcode_name(__u8 rcode)
{
	static const char *const n[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",
					 "REFUSED" };

	return rcode < 6 ? n[rcode] : "OTHER";
}
