/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A microVM sandbox's event stream, as the host receives it (issue #11). The guest daemon
 * writes schema v1 JSON lines to the ag.events virtio-serial port; on the host they are
 * untrusted input (threat model B4, A5, A11): a guest whose kernel is compromised writes
 * whatever bytes it likes.
 *
 *   bytes --frame--> lines of at most AG_GUEST_LINE_MAX bytes (a longer one is dropped whole,
 *     counted as oversized; reading resumes after its newline)
 *   --parse--> cJSON, then checked against event schema v1 (docs/event.schema.json): every
 *     property known and of its type, the per-kind targets and the cross-field rules, no
 *     duplicate key, strings valid UTF-8 without NUL, integers exact (|n| < 2^53); not a
 *     containment target's fields per operation (docs/sandbox.md). Anything else is counted as
 *     malformed, never passed on
 *   --admit--> a token bucket (rate per second, burst); the excess is counted as rate-limited
 *   --write--> re-serialised from the parsed values (never the guest's bytes), with
 *     "origin":"guest" and "sandbox_name" added by the host.
 * The counts become host events (`loss`, origin host) in the runner: nothing is dropped
 * silently. Library code: returns, never logs.
 */
#ifndef AG_GUEST_RX_H
#define AG_GUEST_RX_H

#include <stdbool.h>
#include <stddef.h>
#include "json.h"

struct cJSON;

#define AG_GUEST_LINE_MAX	16384	/* bytes of one record, without its newline */
#define AG_GUEST_RATE		1000.0	/* records admitted per second, sustained */
#define AG_GUEST_BURST		2000.0	/* and in one burst */
#define AG_GUEST_TOKEN_BYTES	2048	/* a record costs one token more per this many bytes */

struct ag_guest_rx_stats {
	unsigned long long accepted;	/* written to the sinks */
	unsigned long long oversized;	/* lines longer than AG_GUEST_LINE_MAX */
	unsigned long long malformed;	/* not JSON, or not a schema v1 event */
	unsigned long long rate_limited; /* valid, over the token bucket */
};

/*
 * Called for each admitted record: line is the host's JSON line (NUL-terminated, with its
 * newline), ev the parsed guest record it was made from (read only, freed after the call).
 */
typedef void (*ag_guest_rx_emit_fn)(void *ctx, const char *line, size_t len,
				    const struct cJSON *ev);

struct ag_guest_rx {
	char line[AG_GUEST_LINE_MAX + 1];
	size_t len;
	bool skipping;			/* inside an oversized line: drop up to its newline */
	double tokens, rate, burst;
	long long last_ns;		/* of the last refill; 0: never */
	const char *sandbox_name;	/* borrowed */
	ag_guest_rx_emit_fn emit;
	void *ctx;
	struct ag_buf out;
	struct ag_guest_rx_stats st;
};

void ag_guest_rx_init(struct ag_guest_rx *rx, const char *sandbox_name, double rate, double burst,
		      ag_guest_rx_emit_fn emit, void *ctx);
/* Frame, check and admit n bytes received at now_ns (CLOCK_MONOTONIC). */
void ag_guest_rx_feed(struct ag_guest_rx *rx, const char *data, size_t n, long long now_ns);
/*
 * The end of the stream: a last line without its newline is a record cut short, counted as
 * malformed.
 */
void ag_guest_rx_finish(struct ag_guest_rx *rx);
void ag_guest_rx_free(struct ag_guest_rx *rx);

/*
 * Parse and check one record (len bytes, NUL at line[len]); on success *ev is the parsed
 * object (cJSON_Delete it). 0 or -EINVAL.
 */
int ag_guest_rx_parse(const char *line, size_t len, struct cJSON **ev);
/*
 * Append the host's line for a checked record: its values re-serialised in order, then
 * "origin":"guest","sandbox_name":NAME, and a newline.
 */
void ag_guest_rx_format(struct ag_buf *b, const struct cJSON *ev, const char *sandbox_name);

#endif /* AG_GUEST_RX_H */
