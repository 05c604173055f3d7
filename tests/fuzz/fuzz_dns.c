// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the resolver's DNS parser (userspace/dns.c): the bytes are a query from
 * the sandbox and a response from upstream. Whatever they are, parsing stays in bounds, and a
 * reply built from a parsed query and response parses back as a response to that query.
 */
#include <assert.h>
#include <string.h>

#include "dns.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static struct ag_dns_question q, sent;
	static struct ag_dns_response r, back;
	static __u8 out[65536];
	const struct ag_dns_rr *rrs[AG_DNS_MAX_RRS];
	size_t i;
	int n;

	if (ag_dns_parse_question(data, size, false, &q) == 0) {
		n = ag_dns_build_query(out, sizeof(out), &q, 0x1234);
		assert(n > 0);
		assert(ag_dns_parse_question(out, n, false, &sent) == 0);
		assert(ag_dns_wire_eq(q.wire, q.wire_len, sent.wire, sent.wire_len));
	}
	/* As a response: to the question it carries. */
	if (ag_dns_parse_question(data, size, true, &sent) == 0 &&
	    ag_dns_parse_response(data, size, &sent, &r) == 0) {
		for (i = 0; i < r.n_rr; i++)
			rrs[i] = &r.rr[i];
		sent.flags &= ~0x8000;
		n = ag_dns_build_reply(out, sizeof(out), &sent, r.rcode, r.tc, rrs, r.n_rr);
		assert(n > 0);
		assert(ag_dns_parse_response(out, n, &sent, &back) == 0);
		assert(back.n_rr == r.n_rr);
	}
	return 0;
}
