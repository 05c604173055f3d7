// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the policy parser: any bytes in, diagnostics or a policy out, no crash,
 * no leak, no undefined behaviour. Run: build/fuzz/fuzz_policy -max_total_time=60 CORPUS_DIR
 * -dict=tests/fuzz/fuzz_policy.dict (tests/unit/policies/ makes a good seed corpus).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ag_diags diags = { 0 };
	struct ag_policy *p = NULL;
	int err;

	err = ag_policy_parse_buf("fuzz.yaml", (const char *)data, size, &p, &diags);
	/* The contract: a policy exactly when 0, and -EINVAL always explains itself. */
	if ((err == 0) != (p != NULL))
		__builtin_trap();
	if (err == 0 && diags.n_errors)
		__builtin_trap();
	if (err == -22 && !diags.n_errors)
		__builtin_trap();
	ag_policy_free(p);
	ag_diags_free(&diags);
	return 0;
}
