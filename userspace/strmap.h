/* SPDX-License-Identifier: GPL-2.0 */
/* A small open-addressing map from byte strings to size_t, for the compiler's folding. */
#ifndef AG_STRMAP_H
#define AG_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

struct ag_strmap_slot {
	char *key;		/* NULL: empty; a NUL-terminated copy of len bytes */
	size_t len;
	size_t value;
};

struct ag_strmap {
	struct ag_strmap_slot *slots;
	size_t cap;		/* a power of two, or 0 */
	size_t n;
};

/* 0, -EEXIST (value left alone; *old set if old), or -ENOMEM. */
int ag_strmap_put(struct ag_strmap *m, const char *key, size_t len, size_t value, size_t *old);
bool ag_strmap_get(const struct ag_strmap *m, const char *key, size_t len, size_t *value);
void ag_strmap_free(struct ag_strmap *m);

#endif /* AG_STRMAP_H */
