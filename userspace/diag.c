// SPDX-License-Identifier: GPL-2.0
/*
 * Diagnostics collected while checking policies and printed by the caller as
 * "FILE:LINE:COL: error: message". Adding never fails loudly: on allocation failure the
 * diagnostic is dropped and d->n does not grow, which callers that care (the parser) check.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

void ag_diags_add(struct ag_diags *d, enum ag_diag_level level, const char *file,
		  struct ag_pos pos, const char *fmt, ...)
{
	struct ag_diag *v;
	char *msg = NULL, *f = NULL;
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (ret < 0) {
		msg = NULL;
		goto cleanup;
	}
	f = strdup(file ? file : "<input>");
	if (!f)
		goto cleanup;

	/*
	 * The capacity is implied by n (8, then powers of two), so growth is by doubling: a policy
	 * with 100k bad rules must not go quadratic.
	 */
	if (d->n == 0 || (d->n >= 8 && (d->n & (d->n - 1)) == 0)) {
		v = reallocarray(d->v, d->n ? d->n * 2 : 8, sizeof(*v));
		if (!v)
			goto cleanup;
		d->v = v;
	}
	d->v[d->n++] = (struct ag_diag){ .level = level, .file = f, .pos = pos, .msg = msg };
	if (level == AG_DIAG_ERROR)
		d->n_errors++;
	return;

cleanup:
	free(msg);
	free(f);
}

void ag_diags_print(const struct ag_diags *d, FILE *f)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		const struct ag_diag *g = &d->v[i];
		const char *lvl = g->level == AG_DIAG_ERROR ? "error" : "warning";

		/* Line 0 means the diagnostic has no position (about the whole file). */
		if (g->pos.line)
			fprintf(f, "%s:%u:%u: %s: %s\n", g->file, g->pos.line, g->pos.col, lvl,
				g->msg);
		else
			fprintf(f, "%s: %s: %s\n", g->file, lvl, g->msg);
	}
}

void ag_diags_free(struct ag_diags *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}
