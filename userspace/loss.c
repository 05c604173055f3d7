// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "loss.h"

int ag_loss_open(int drops_fd, int reported_fd, struct ag_loss *l)
{
	struct ag_drop_key key, next, *prev = NULL;
	__u64 count;

	memset(l, 0, sizeof(*l));
	l->map_fd = drops_fd;
	l->reported_fd = reported_fd;
	l->ncpus = libbpf_num_possible_cpus();
	if (l->ncpus <= 0)
		return l->ncpus ? l->ncpus : -EINVAL;
	l->values = calloc(l->ncpus, sizeof(*l->values));
	l->last = calloc(AG_DROP_KEYS, sizeof(*l->last));
	if (!l->values || !l->last) {
		ag_loss_close(l);
		return -ENOMEM;
	}
	/* What an earlier daemon of these pinned maps reported already (empty if none). */
	while (reported_fd >= 0 && l->n_last < AG_DROP_KEYS &&
	       !bpf_map_get_next_key(reported_fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(reported_fd, &key, &count))
			continue;
		l->last[l->n_last].key = key;
		l->last[l->n_last++].count = count;
	}
	return 0;
}

static struct ag_loss_count *seen(struct ag_loss *l, const struct ag_drop_key *k)
{
	size_t i;

	for (i = 0; i < l->n_last; i++)
		if (!memcmp(&l->last[i].key, k, sizeof(*k)))
			return &l->last[i];
	if (l->n_last >= AG_DROP_KEYS)
		return NULL;
	l->last[l->n_last].key = *k;
	l->last[l->n_last].count = 0;
	return &l->last[l->n_last++];
}

int ag_loss_poll(struct ag_loss *l, struct ag_loss_count *out, size_t max)
{
	struct ag_drop_key key, next, *prev = NULL;
	size_t n = 0;
	int i;

	while (n < max && !bpf_map_get_next_key(l->map_fd, prev, &next)) {
		struct ag_loss_count *s;
		__u64 sum = 0;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(l->map_fd, &key, l->values))
			continue;	/* removed meanwhile: nothing to report */
		for (i = 0; i < l->ncpus; i++)
			sum += l->values[i];
		s = seen(l, &key);
		if (!s || sum <= s->count)
			continue;
		out[n].key = key;
		out[n].count = sum - s->count;
		l->total += sum - s->count;
		s->count = sum;
		/*
		 * Remembered in the kernel for a successor; if that fails, a daemon adopting these
		 * maps reports these drops again: counted twice rather than not at all.
		 */
		if (l->reported_fd >= 0)
			bpf_map_update_elem(l->reported_fd, &key, &sum, BPF_ANY);
		n++;
	}
	return n;
}

void ag_loss_close(struct ag_loss *l)
{
	free(l->values);
	free(l->last);
	l->values = NULL;
	l->last = NULL;
}
