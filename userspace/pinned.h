/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A read-only view of a running sandbox through its pinned maps (issue #9, #10): the generation
 * in force, the resolver path, the learned bindings and the names behind them. For agentguard
 * explain, which judges a connection as that sandbox's kernel would, learned addresses
 * included. Opening pins needs what bpf(BPF_OBJ_GET) needs (root); nothing here writes.
 */
#ifndef AG_PINNED_H
#define AG_PINNED_H

#include <stddef.h>
#include "compile.h"

struct ag_pinned {
	int state_fd, cfg_fd, learned_fd, names_fd;
	/* The sandbox's side of a connect decision, read at ag_pinned_open. */
	struct ag_net_live live;
};

/*
 * Open the maps pinned under pin_dir and read the generation in force, the resolver path and
 * the time. 0; -ENOENT nothing pinned there; another -errno (-EPERM without privileges).
 * Call ag_pinned_close after any return.
 */
int ag_pinned_open(const char *pin_dir, struct ag_pinned *p);
void ag_pinned_close(struct ag_pinned *p);
/* The name behind a name id into buf, or NULL when ag_dns_names no longer has it. */
const char *ag_pinned_name(const struct ag_pinned *p, __u32 id, char *buf, size_t len);

typedef int (*ag_pinned_learned_fn)(void *ctx, const struct ag_dns_key *key,
				    const struct ag_dns_learned *e);
/* Call fn for every learned entry (expired ones too) until it returns nonzero: 0 or that. */
int ag_pinned_each_learned(const struct ag_pinned *p, ag_pinned_learned_fn fn, void *ctx);

#endif /* AG_PINNED_H */
