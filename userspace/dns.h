/* SPDX-License-Identifier: GPL-2.0 */
/*
 * DNS messages for agentguard's resolver (issue #9): the question of a query, the answer
 * section of a response, and a reply built from scratch. Everything here reads untrusted
 * bytes (the sandbox's queries, the upstream's answers): every read is bounds-checked, name
 * compression is followed only backwards and at most 64 times, and a name is at most 255
 * bytes in wire form. No allocation; fuzzed by tests/fuzz/fuzz_dns.c.
 */
#ifndef AG_DNS_H
#define AG_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define AG_DNS_HDR		12
#define AG_DNS_WIRE_MAX		255	/* a name in wire form, final zero included */
#define AG_DNS_TEXT_MAX		(4 * AG_DNS_WIRE_MAX + 1)	/* escaped text, worst case */
#define AG_DNS_UDP_MAX		512	/* replies over UDP: no EDNS is offered */
#define AG_DNS_MAX_RRS		64	/* answer records kept from one response */

enum ag_dns_type {
	AG_DNS_T_A = 1,
	AG_DNS_T_CNAME = 5,
	AG_DNS_T_NULL = 10,
	AG_DNS_T_TXT = 16,
	AG_DNS_T_AAAA = 28,
	AG_DNS_T_SVCB = 64,
	AG_DNS_T_HTTPS = 65,
	AG_DNS_T_ANY = 255,
};

enum ag_dns_rcode {
	AG_DNS_NOERROR = 0,
	AG_DNS_FORMERR = 1,
	AG_DNS_SERVFAIL = 2,
	AG_DNS_NXDOMAIN = 3,
	AG_DNS_NOTIMP = 4,
	AG_DNS_REFUSED = 5,
};

#define AG_DNS_CLASS_IN 1

struct ag_dns_question {
	__u16 id;
	__u16 flags;			/* the header's second word as received */
	__u16 qtype;
	__u16 qclass;
	__u8 wire[AG_DNS_WIRE_MAX];	/* the name as sent (case kept), uncompressed */
	size_t wire_len;
	char name[AG_DNS_TEXT_MAX];	/* lower case, dotted, "\DDD" for other bytes; "." root */
	bool hostname;			/* only letters, digits, '-' and '_': name is exact */
	size_t end;			/* offset just after the question */
};

struct ag_dns_rr {
	__u16 type;			/* A, AAAA or CNAME: nothing else is kept */
	__u32 ttl;			/* seconds; a value with the top bit set reads as 0 */
	__u8 owner[AG_DNS_WIRE_MAX];
	size_t owner_len;
	__u8 rdata[AG_DNS_WIRE_MAX];	/* A: 4 bytes, AAAA: 16, CNAME: the target in wire form */
	size_t rdlen;
};

struct ag_dns_response {
	__u16 flags;
	__u8 rcode;
	bool tc;
	size_t n_rr;
	struct ag_dns_rr rr[AG_DNS_MAX_RRS];
	size_t skipped;			/* answer records of other types or classes */
};

/*
 * The question of a query (is_response false: QR clear, one question, no answers) or of a
 * response. 0; -EINVAL malformed (q->id is valid when len >= 2); -EOPNOTSUPP an opcode other
 * than QUERY.
 */
int ag_dns_parse_question(const __u8 *m, size_t len, bool is_response, struct ag_dns_question *q);
/*
 * A response to sent (same id, QR set, the same question, case aside): its rcode, TC and the
 * A/AAAA/CNAME records of its answer section. 0; -EINVAL malformed or not a response to sent;
 * -E2BIG more than AG_DNS_MAX_RRS records to keep.
 */
int ag_dns_parse_response(const __u8 *m, size_t len, const struct ag_dns_question *sent,
			  struct ag_dns_response *r);
/* Names in wire form, equal but for ASCII case? */
bool ag_dns_wire_eq(const __u8 *a, size_t al, const __u8 *b, size_t bl);
/* A name in wire form as text (see ag_dns_question.name); *hostname as there. */
void ag_dns_wire_text(const __u8 *w, size_t wl, char *text, size_t cap, bool *hostname);
/*
 * A reply to q: its id, opcode and RD, QR and RA set, rcode, TC if tc, q's question as sent,
 * then rrs in full (no compression). Returns the length, or -E2BIG past cap.
 */
int ag_dns_build_reply(__u8 *out, size_t cap, const struct ag_dns_question *q, __u8 rcode,
		       bool tc, const struct ag_dns_rr *const *rrs, size_t n);
/* A query for q's name and type with id (RD set): for the upstream. Length or -E2BIG. */
int ag_dns_build_query(__u8 *out, size_t cap, const struct ag_dns_question *q, __u16 id);
const char *ag_dns_type_name(__u16 type, char *buf, size_t len);
const char *ag_dns_rcode_name(__u8 rcode);

#endif /* AG_DNS_H */
