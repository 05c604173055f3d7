// SPDX-License-Identifier: GPL-2.0
/*
 * STUB of sandbox_net.h, so the VM half of issue #11 links before the network half is merged.
 * It is replaced by the real sandbox_net.c (tap, libnftnl table, host resolver): delete this
 * file in that merge. Nothing here filters anything: ag_sbx_net_up refuses, so a sandbox run
 * with networking asked for fails closed, and `--network none` is the only way to run.
 */
#include <errno.h>
#include <stddef.h>

#include "sandbox_net.h"

int ag_sbx_net_up(const struct ag_sbx_net_opts *o, const struct ag_compiled *c,
		  struct ag_sbx_net **out, struct ag_sbx_net_plan *plan, int *tap_fd)
{
	*out = NULL;
	*tap_fd = -1;
	return -EOPNOTSUPP;
}

int ag_sbx_net_stats(struct ag_sbx_net *n, struct ag_sbx_net_stats *s)
{
	return -EOPNOTSUPP;
}

void ag_sbx_net_down(struct ag_sbx_net *n)
{
}

/* Nothing can have been made by this build's ag_sbx_net_up. */
int ag_sbx_net_cleanup_stale(const char *name)
{
	return 0;
}
