/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Ring-buffer records → event schema v1, one JSON object per line. The consumer assigns seq,
 * converts kernel boot time to wall time and names the rule, layer and policy from the
 * compiled policy of the event's generation.
 */
#ifndef AG_EVENTS_H
#define AG_EVENTS_H

#include <stdio.h>
#include "compile.h"
#include "json.h"

struct ag_event_sink {
	FILE *out;
	const struct ag_compiled *policy;	/* the active policy */
	__u32 generation;			/* its generation_seq */
	char host[256];
	char session[64];
	char sandbox[4096];			/* cgroup path below the cgroup2 mount */
	const char *operator_identity;		/* --identity, or NULL */
	unsigned long long seq;
	unsigned long long written;
	unsigned long long malformed;		/* records too short or of unknown kind */
	struct ag_buf buf;
};

/* libbpf ring_buffer callback: formats and writes one record. Returns 0 (never stops the poll). */
int ag_event_sink_handle(void *ctx, void *data, size_t size);
/* Formats one record into s->buf; 0, or -EINVAL for a malformed record. Exposed for tests. */
int ag_event_format(struct ag_event_sink *s, const void *data, size_t size);
void ag_event_sink_free(struct ag_event_sink *s);

#endif /* AG_EVENTS_H */
