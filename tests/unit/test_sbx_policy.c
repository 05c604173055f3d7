// SPDX-License-Identifier: GPL-2.0
/*
 * The sandbox's host filter decides as the kernel does (userspace/sandbox_net.c, issue #11).
 * Random policies (one or two layers; nested CIDRs, allow and deny, ports and ranges, tcp,
 * udp or both, audit-mode rules, defaults of either kind, domain rules), and for each many
 * random flows (address, protocol, port) with 0 to 2 names bound to the address: the
 * verdict of the nft sets (ag_sbx_policy_elems, ag_sbx_learned_elems, combined by
 * ag_sbx_elems_pass in the forward chain's own order) must equal ag_net_decide_learned's,
 * where an audit-mode would-deny passes (audit denies nothing). Ports 53 and 853 are left
 * out: the host drops DNS elsewhere before the policy (dns_ports), as the kernel does once a
 * resolver is configured.
 * No kernel, no privileges: the elements are computed, not installed.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "built.h"
#include "sandbox_net.h"
#include "sandbox_state.h"
#include "hash.h"

#define POLICIES	300
#define FLOWS		400

static unsigned int seed = 12345;

static unsigned int rnd(unsigned int n)
{
	seed = seed * 1103515245u + 12345u;
	return (seed >> 8) % n;
}

static const char *const names_all[] = { "a.test", "b.test", "c.x.test" };
static const unsigned int ports_sample[] = { 1, 80, 443, 444, 999, 1000, 1500, 2000, 2001,
					     8080, 65535 };

static size_t gen_rules(char *y, size_t cap)
{
	static const char *const ports[] = { "", "[443]", "[80, 443]", "[\"1000-2000\"]",
					     "[8080, \"1-100\"]" };
	static const char *const protos[] = { "", "tcp", "udp" };
	static const int lens[] = { 8, 12, 16, 20, 24, 28, 32 };
	size_t l = 0;
	unsigned int i, n = 1 + rnd(7);

	l += snprintf(y + l, cap - l, "  network:\n    default: %s\n    rules:\n",
		      rnd(3) ? "deny" : "allow");
	for (i = 0; i < n; i++) {
		const char *p = ports[rnd(5)], *pr = protos[rnd(3)];

		l += snprintf(y + l, cap - l, "      - action: %s\n", rnd(3) ? "allow" : "deny");
		if (rnd(4) == 0)
			l += snprintf(y + l, cap - l, "        domain: \"%s\"\n",
				      rnd(3) == 0 ? "*.x.test" : names_all[rnd(2)]);
		else {
			int len = lens[rnd(7)];
			__u32 a = 0x0a000000u | rnd(4) << 16 | rnd(4) << 14 | rnd(8) << 5;

			a &= 0xffffffffu << (32 - len);	/* no host bits */
			l += snprintf(y + l, cap - l, "        cidr: %u.%u.%u.%u/%d\n", a >> 24,
				      (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff, len);
		}
		if (*p)
			l += snprintf(y + l, cap - l, "        ports: %s\n", p);
		if (*pr)
			l += snprintf(y + l, cap - l, "        protocol: %s\n", pr);
		if (rnd(6) == 0)
			l += snprintf(y + l, cap - l, "        mode: audit\n");
	}
	return l;
}

static bool in(const struct ag_sbx_elems *l, __u32 addr, __u8 proto, __u16 port)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (addr >= l->e[i].addr_lo && addr <= l->e[i].addr_hi && proto == l->e[i].proto &&
		    port >= l->e[i].port_lo && port <= l->e[i].port_hi)
			return true;
	return false;
}

static void test_host_filter_equals_kernel(void **state)
{
	static char yaml[2][8192];
	const char *y[2] = { yaml[0], yaml[1] };
	struct ag_sbx_elems pa, pd, da, dd;
	const struct ag_sbx_elems *const sets[AG_SBX_SET_N] = {
		[AG_SBX_POLICY_ALLOW] = &pa, [AG_SBX_POLICY_DENY] = &pd,
		[AG_SBX_DNS_ALLOW] = &da, [AG_SBX_DNS_DENY] = &dd,
	};
	unsigned int k, f, checked = 0, passed = 0, layers;
	struct built_layers b;

	for (k = 0; k < POLICIES; k++) {
		layers = 1 + rnd(2);
		for (f = 0; f < layers; f++) {
			size_t l = snprintf(yaml[f], sizeof(yaml[f]),
					    "apiVersion: agentguard/v1\nkind: Policy\nmetadata:\n"
					    "  name: p%u\n  layer: %s\nspec:\n  mode: enforce\n",
					    f, layers == 2 && f == 0 ? "org" : "local");

			gen_rules(yaml[f] + l, sizeof(yaml[f]) - l);
		}
		build_layers(&b, y, layers);
		if (b.err)
			ag_diags_print(&b.d, stderr);
		if (b.err) {
			/* A combination the compiler refuses (e.g. too many port segments). */
			unbuild_layers(&b);
			continue;
		}
		assert_int_equal(ag_sbx_policy_elems(b.c, &pa, &pd), 0);
		for (f = 0; f < FLOWS; f++) {
			const char *names[2];
			size_t n = rnd(3), i;
			__u32 addr = 0x0a000000u | rnd(4) << 16 | rnd(256) << 8 | rnd(256);
			__u8 proto = rnd(2) ? AG_NET_TCP : AG_NET_UDP;
			__u8 ipproto = proto == AG_NET_TCP ? IPPROTO_TCP : IPPROTO_UDP;
			__u16 port = ports_sample[rnd(sizeof(ports_sample) /
						      sizeof(ports_sample[0]))];
			__u8 a16[16] = { [10] = 0xff, [11] = 0xff };
			__u32 be = htonl(addr), rule;
			enum ag_verdict v;
			bool host, kernel;

			if (rnd(10) == 0) {
				addr = 0x0b000001u;	/* outside every rule */
				be = htonl(addr);
			}
			for (i = 0; i < n; i++)
				names[i] = names_all[rnd(3)];
			if (n == 2 && !strcmp(names[0], names[1]))
				n = 1;
			memcpy(a16 + 12, &be, 4);
			v = ag_net_decide_learned(b.c, a16, proto, port, names, n, &rule);
			kernel = v != AG_DENY;
			if (n) {
				assert_int_equal(ag_sbx_learned_elems(b.c, names, n, addr, &da,
								      &dd), 0);
			} else {
				da = (struct ag_sbx_elems){ NULL, 0 };
				dd = da;
			}
			host = ag_sbx_elems_pass(sets, addr, ipproto, port);
			if (host != kernel) {
				fprintf(stderr, "policy:\n%s%s\nflow %08x proto %u port %u "
					"names %zu (%s): kernel %s, host %s\n", yaml[0],
					layers == 2 ? yaml[1] : "", addr, proto, port, n,
					n ? names[0] : "", ag_verdict_name(v),
					host ? "pass" : "drop");
			}
			assert_int_equal(host, kernel);
			checked++;
			passed += kernel;
			free(da.e);
			free(dd.e);
		}
		free(pa.e);
		free(pd.e);
		unbuild_layers(&b);
	}
	/* Both outcomes were exercised, plenty of each. */
	assert_true(checked > POLICIES * FLOWS / 2);
	assert_true(passed > checked / 20 && passed < checked - checked / 20);
}

/* The forward chain's order matters where the sets overlap: a hand-made case of each. */
static void test_binding_cannot_lift_rule_deny(void **state)
{
	static const char *const y[] = {
		"apiVersion: agentguard/v1\nkind: Policy\nmetadata:\n  name: p\nspec:\n"
		"  network:\n    default: deny\n    rules:\n"
		"      - action: deny\n        cidr: 203.0.113.0/24\n"
		"      - action: allow\n        domain: a.test\n        ports: [443]\n"
		"      - action: allow\n        cidr: 198.51.100.0/24\n        ports: [443]\n"
		"      - action: deny\n        domain: b.test\n"
	};
	const char *a[] = { "a.test" }, *bn[] = { "b.test" };
	struct ag_sbx_elems pa, pd, da, dd;
	const struct ag_sbx_elems *const sets[AG_SBX_SET_N] = {
		[AG_SBX_POLICY_ALLOW] = &pa, [AG_SBX_POLICY_DENY] = &pd,
		[AG_SBX_DNS_ALLOW] = &da, [AG_SBX_DNS_DENY] = &dd,
	};
	struct built_layers b;

	build_layers(&b, y, 1);
	assert_int_equal(b.err, 0);
	assert_int_equal(ag_sbx_policy_elems(b.c, &pa, &pd), 0);
	/* 203.0.113.1 named a.test: in dns_allow, but in policy_rule_deny (dropped). */
	assert_int_equal(ag_sbx_learned_elems(b.c, a, 1, 0xcb007101, &da, &dd), 0);
	assert_true(in(&da, 0xcb007101, IPPROTO_TCP, 443));
	assert_true(in(&pd, 0xcb007101, IPPROTO_TCP, 443));
	assert_false(in(&pa, 0xcb007101, IPPROTO_TCP, 443));
	assert_false(ag_sbx_elems_pass(sets, 0xcb007101, IPPROTO_TCP, 443));
	free(da.e);
	free(dd.e);
	/* 198.51.100.1 named b.test: in policy_allow, but in dns_deny (dropped first). */
	assert_int_equal(ag_sbx_learned_elems(b.c, bn, 1, 0xc6336401, &da, &dd), 0);
	assert_true(in(&pa, 0xc6336401, IPPROTO_TCP, 443));
	assert_true(in(&dd, 0xc6336401, IPPROTO_TCP, 443));
	assert_false(ag_sbx_elems_pass(sets, 0xc6336401, IPPROTO_TCP, 443));
	/* Control: 198.51.100.1 with no binding passes (policy_allow). */
	free(da.e);
	free(dd.e);
	da = dd = (struct ag_sbx_elems){ NULL, 0 };
	assert_true(ag_sbx_elems_pass(sets, 0xc6336401, IPPROTO_TCP, 443));
	free(da.e);
	free(dd.e);
	free(pa.e);
	free(pd.e);
	unbuild_layers(&b);
}

/* The one name check ag_sbx_net_up and ag_sbx_net_cleanup_stale use (tap, table, alias). */
static void test_sbx_name_valid(void **state)
{
	assert_false(ag_sbx_name_valid(NULL));
	assert_false(ag_sbx_name_valid(""));
	assert_false(ag_sbx_name_valid("-a"));
	assert_false(ag_sbx_name_valid("A"));
	assert_false(ag_sbx_name_valid("a.b"));
	assert_false(ag_sbx_name_valid("abcdefghijklmnopqrstuvwxyz012345"));	/* 32 */
	assert_true(ag_sbx_name_valid("abcdefghijklmnopqrstuvwxyz01234"));	/* 31 */
	assert_true(ag_sbx_name_valid("a-"));
	assert_true(ag_sbx_name_valid("0"));
}

/* FNV-1a's published values: a sandbox's tap name, MAC and /30 come from it: no drift. */
static void test_fnv1a32(void **state)
{
	assert_int_equal(ag_fnv1a32(""), 0x811c9dc5u);
	assert_int_equal(ag_fnv1a32("a"), 0xe40c292cu);
	assert_int_equal(ag_fnv1a32("foobar"), 0xbf9cf968u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_filter_equals_kernel),
		cmocka_unit_test(test_binding_cannot_lift_rule_deny),
		cmocka_unit_test(test_sbx_name_valid),
		cmocka_unit_test(test_fnv1a32),
	};

	return cmocka_run_group_tests_name("sbx_policy", tests, NULL, NULL);
}
