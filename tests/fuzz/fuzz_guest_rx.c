// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the host's reader of a sandbox guest's event stream
 * (userspace/guest_rx.c): the bytes are whatever a compromised guest writes to ag.events.
 * Whatever they are, framing stays in bounds, every line is counted exactly once (accepted,
 * oversized, malformed or rate-limited), and every line that goes out is one line that parses
 * back as a valid event carrying origin guest, and is its own fixed point: checking and
 * re-writing what the host wrote gives the same bytes.
 */
#include <assert.h>
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "guest_rx.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static unsigned long long emitted;

static void check_line(void *ctx, const char *line, size_t len, const cJSON *ev)
{
	static struct ag_buf again;
	const cJSON *origin;
	cJSON *back = NULL, *copy;
	char *dup;
	size_t body;

	(void)ev;
	emitted++;
	assert(len >= 2 && line[len - 1] == '\n' && !memchr(line, '\n', len - 1));
	assert(strlen(line) == len);
	/* Without the host's two keys it is a valid guest record again. */
	dup = strndup(line, len - 1);
	assert(dup);
	copy = cJSON_Parse(dup);
	assert(copy);
	origin = cJSON_GetObjectItemCaseSensitive(copy, "origin");
	assert(cJSON_IsString(origin) && !strcmp(origin->valuestring, "guest"));
	cJSON_DeleteItemFromObjectCaseSensitive(copy, "origin");
	cJSON_DeleteItemFromObjectCaseSensitive(copy, "sandbox_name");
	free(dup);
	dup = cJSON_PrintUnformatted(copy);
	assert(dup);
	body = strlen(dup);
	assert(ag_guest_rx_parse(dup, body, &back) == 0);
	ag_buf_reset(&again);
	ag_guest_rx_format(&again, back, "fuzz");
	assert(!again.oom && again.len == len && !memcmp(again.p, line, len));
	cJSON_Delete(back);
	cJSON_Delete(copy);
	free(dup);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static struct ag_guest_rx rx;
	struct ag_guest_rx_stats *st = &rx.st;
	unsigned long long lines = 0, before;
	size_t i, chunk, off = 0;
	bool skipping;

	emitted = 0;
	ag_guest_rx_init(&rx, "fuzz", 5.0, 10.0, check_line, NULL);
	for (i = 0; i < size; i++)
		lines += data[i] == '\n';
	/* Chunk sizes from the data itself, so lines cross feed boundaries in every way. */
	while (off < size) {
		chunk = 1 + (data[off] % 97);
		if (chunk > size - off)
			chunk = size - off;
		ag_guest_rx_feed(&rx, (const char *)data + off, chunk, 1000000000LL + off);
		off += chunk;
	}
	before = st->accepted + st->oversized + st->malformed + st->rate_limited;
	skipping = rx.skipping;
	ag_guest_rx_finish(&rx);
	assert(st->accepted == emitted);
	/*
	 * Each newline ends at most one record; a last line without one adds at most one. Before
	 * the end, that last line is counted already only if it is oversized: it is counted as soon
	 * as it passes the limit, and the reader is still skipping it.
	 */
	assert(before <= lines + (skipping ? 1 : 0));
	assert(st->accepted + st->oversized + st->malformed + st->rate_limited <= lines + 1);
	ag_guest_rx_free(&rx);
	return 0;
}
