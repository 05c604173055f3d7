/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loss accounting: the kernel counts every record that did not fit in its ring, per CPU, by
 * (kind, rule) in ag_drops. ag_loss_poll sums the CPUs and returns what changed since the last
 * call, which the consumer turns into an in-order "loss" event. Nothing is lost silently.
 */
#ifndef AG_LOSS_H
#define AG_LOSS_H

#include <linux/types.h>
#include "agentguard_abi.h"

struct ag_loss_count {
	struct ag_drop_key key;
	__u64 count;		/* since the previous poll (ag_loss_poll) or in total (last) */
};

struct ag_loss {
	int map_fd;
	int reported_fd;	/* ag_drops_reported, or -1 */
	int ncpus;
	__u64 *values;		/* one per possible CPU, for a lookup */
	struct ag_loss_count *last;	/* totals seen so far, by key */
	size_t n_last;
	__u64 total;		/* all drops seen so far */
};

/*
 * reported_fd: ag_drops_reported (the counts loss events have covered, kept with the pinned
 * maps), or -1 to start from zero and remember nothing.
 */
int ag_loss_open(int drops_fd, int reported_fd, struct ag_loss *l);
/*
 * Fill out with the keys whose count grew since the previous call and by how much; returns how
 * many (at most max; the rest are reported at the next call), or -errno.
 */
int ag_loss_poll(struct ag_loss *l, struct ag_loss_count *out, size_t max);
void ag_loss_close(struct ag_loss *l);

#endif /* AG_LOSS_H */
