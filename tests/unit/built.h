/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Unit tests' compile step: parse YAML layers (org first) and compile them as agentguard load
 * does, keeping everything for the test to inspect and free. Include after cmocka.h.
 */
#ifndef AG_TESTS_BUILT_H
#define AG_TESTS_BUILT_H

#include <string.h>
#include "compile.h"
#include "policy.h"

struct built_layers {
	struct ag_policy *p[3];
	size_t n;
	struct ag_compiled *c;
	struct ag_diags d;
	int err;		/* ag_compile's */
};

/* Every layer must parse; the compile's result is in b->err. */
static inline void build_layers(struct built_layers *b, const char *const *yaml, size_t n)
{
	size_t i;

	memset(b, 0, sizeof(*b));
	assert_true(n <= sizeof(b->p) / sizeof(b->p[0]));
	b->n = n;
	for (i = 0; i < n; i++)
		assert_int_equal(ag_policy_parse_buf("t.yaml", yaml[i], strlen(yaml[i]), &b->p[i],
						     &b->d), 0);
	b->err = ag_compile(b->p, n, &b->c, &b->d);
}

static inline void unbuild_layers(struct built_layers *b)
{
	size_t i;

	ag_compiled_free(b->c);
	for (i = 0; i < b->n; i++)
		ag_policy_free(b->p[i]);
	ag_diags_free(&b->d);
}

#endif /* AG_TESTS_BUILT_H */
