/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon's counters, written atomically (tmp + rename): a Prometheus textfile for node
 * exporters (--metrics FILE) and STATE_DIR/status.json, which `agentguard status` reads.
 */
#ifndef AG_METRICS_H
#define AG_METRICS_H

#include "loader.h"

struct ag_status {
	int pid;
	const char *cgroup;
	const char *policy_sha256;
	unsigned long long written;	/* events written */
	unsigned long long lost;	/* records reported as loss */
	unsigned long long dns_withheld; /* internal addresses the resolver withheld */
	long long started_ns;		/* wall clock */
	struct ag_metrics m;
};

int ag_metrics_write_prometheus(const char *path, const struct ag_status *s);
int ag_metrics_write_status(int dirfd, const struct ag_status *s);

#endif /* AG_METRICS_H */
