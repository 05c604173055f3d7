// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"

static size_t hash_bytes(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	return (size_t)(h ^ (h >> 32));
}

static struct ag_strmap_slot *find(const struct ag_strmap *m, const char *key, size_t len)
{
	size_t i = hash_bytes(key, len) & (m->cap - 1);

	for (;;) {
		struct ag_strmap_slot *s = &m->slots[i];

		if (!s->key || (s->len == len && !memcmp(s->key, key, len)))
			return s;
		i = (i + 1) & (m->cap - 1);
	}
}

static int grow(struct ag_strmap *m)
{
	struct ag_strmap old = *m;
	size_t i;

	m->cap = old.cap ? old.cap * 2 : 64;
	m->slots = calloc(m->cap, sizeof(*m->slots));
	if (!m->slots) {
		*m = old;
		return -ENOMEM;
	}
	for (i = 0; i < old.cap; i++)
		if (old.slots[i].key)
			*find(m, old.slots[i].key, old.slots[i].len) = old.slots[i];
	free(old.slots);
	return 0;
}

int ag_strmap_put(struct ag_strmap *m, const char *key, size_t len, size_t value, size_t *old)
{
	struct ag_strmap_slot *s;
	int err;

	if ((m->n + 1) * 2 > m->cap) {
		err = grow(m);
		if (err)
			return err;
	}
	s = find(m, key, len);
	if (s->key) {
		if (old)
			*old = s->value;
		return -EEXIST;
	}
	s->key = malloc(len + 1);
	if (!s->key)
		return -ENOMEM;
	memcpy(s->key, key, len);
	s->key[len] = '\0';
	s->len = len;
	s->value = value;
	m->n++;
	return 0;
}

bool ag_strmap_get(const struct ag_strmap *m, const char *key, size_t len, size_t *value)
{
	const struct ag_strmap_slot *s;

	if (!m->cap)
		return false;
	s = find(m, key, len);
	if (!s->key)
		return false;
	if (value)
		*value = s->value;
	return true;
}

void ag_strmap_free(struct ag_strmap *m)
{
	size_t i;

	for (i = 0; i < m->cap; i++)
		free(m->slots[i].key);
	free(m->slots);
	m->slots = NULL;
	m->cap = m->n = 0;
}
