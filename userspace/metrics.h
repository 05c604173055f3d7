/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon's counters: a Prometheus textfile for node exporters (--metrics FILE, formatted
 * here and published by cmd_load.c as a file protected from the sandbox) and
 * STATE_DIR/status.json, which `agentguard status` reads.
 */
#ifndef AG_METRICS_H
#define AG_METRICS_H

#include "json.h"
#include "loader.h"

struct ag_status {
	int pid;
	const char *cgroup;
	const char *policy_sha256;
	unsigned long long written;	/* events written */
	unsigned long long lost;	/* records reported as loss */
	unsigned long long unwritten;	/* lines the event file dropped past its backlog */
	unsigned long long held;	/* bytes the event file holds, unwritten yet */
	unsigned long long dns_withheld; /* internal addresses the resolver withheld */
	long long started_ns;		/* wall clock */
	struct ag_metrics m;
};

void ag_metrics_format_prometheus(struct ag_buf *b, const struct ag_status *s);
/*
 * Write b to dirfd/name atomically (name.tmp, then rename): a reader sees the old file or the
 * new one. It opens name.tmp by name, so only for a directory the sandbox cannot write.
 */
int ag_metrics_write_file(int dirfd, const char *name, const struct ag_buf *b);
int ag_metrics_write_status(int dirfd, const struct ag_status *s);

#endif /* AG_METRICS_H */
