// SPDX-License-Identifier: GPL-2.0
/* Parse and compile policy files with diagnostics: shared by load, check, reload and the
 * daemon's policy store; and the other helpers the commands share (cli.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "compile.h"
#include "events.h"
#include "log.h"
#include "policy.h"

void ag_cli_free_policies(struct ag_policy **pols, int n)
{
	int i;

	if (!pols)
		return;
	for (i = 0; i < n; i++)
		ag_policy_free(pols[i]);
	free(pols);
}

int ag_cli_events_finish(struct ag_event_sink *s)
{
	int err = ag_event_sink_flush(s);

	if (err && s->file && ag_event_file_held(s->file))
		ag_log_error("events: the event file did not take its last %llu lines (%zu "
			     "bytes); they are lost", ag_event_file_held_lines(s->file),
			     ag_event_file_held(s->file));
	else if (err)
		ag_log_error("events: writing the event stream failed; events were lost");
	if (s->file_unwritten) {
		ag_log_error("events: %llu lines the event file could not take were dropped "
			     "(write-failed loss events say since when)", s->file_unwritten);
		err = -EIO;
	}
	if (s->malformed)
		ag_log_warn("events: %llu malformed records skipped", s->malformed);
	if (s->seq_failed)
		ag_log_warn("events: %llu events were numbered past the reserved seq; a crash "
			    "before the next reservation could repeat their numbers",
			    s->seq_failed);
	if (s->journal_failed)
		ag_log_warn("journal: %llu events not accepted by journald (last: %s)",
			    s->journal_failed, strerror(-s->journal_err));
	return err ? AG_EXIT_IOERR : AG_EXIT_OK;
}

int ag_cli_events_sync(struct ag_event_sink *s, bool *failing)
{
	int err = ag_event_sink_sync(s);

	if (err && !*failing && s->file)
		ag_log_error("events: cannot write the event stream: %s; its lines are held in "
			     "memory (up to --events-backlog, then dropped and counted) and written "
			     "once it takes them again", strerror(-err));
	else if (err && !*failing)
		ag_log_error("events: cannot write the event stream: %s; events are lost",
			     strerror(-err));
	else if (!err && *failing)
		ag_log_info("events: the event stream takes lines again");
	*failing = err != 0;
	return err;
}

int ag_cli_parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	unsigned long long v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (v > (max - (*s - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return 0;
}

static double elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) * 1e3 + (now.tv_nsec - since->tv_nsec) / 1e6;
}

int ag_cli_compile(char **files, int n, struct ag_policy ***pols_out, struct ag_compiled **out)
{
	struct timespec t0;
	struct ag_diags diags = {};
	struct ag_policy **pols;
	int i, err = 0, status = AG_EXIT_OK;

	pols = calloc(n + 1, sizeof(*pols));
	if (!pols)
		return AG_EXIT_SOFTWARE;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		err = ag_policy_parse_file(files[i], &pols[i], &diags);
		if (err == -EINVAL) {
			status = AG_EXIT_BADPOLICY;
		} else if (err) {
			ag_log_error("policy: cannot read \"%s\": %s", files[i], strerror(-err));
			status = status ? status : AG_EXIT_NOINPUT;
		}
	}
	ag_log_debug("policy: parsed %d file(s) in %.1f ms", n, elapsed_ms(&t0));
	if (status == AG_EXIT_OK) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		err = ag_compile(pols, n, out, &diags);
		ag_log_debug("policy: compiled in %.1f ms", elapsed_ms(&t0));
		if (err == -EINVAL)
			status = AG_EXIT_BADPOLICY;
		else if (err) {
			ag_log_error("policy: compiling failed: %s", strerror(-err));
			status = AG_EXIT_SOFTWARE;
		}
	}
	ag_diags_print(&diags, stderr);
	ag_diags_free(&diags);
	if (status != AG_EXIT_OK) {
		ag_cli_free_policies(pols, n);
		pols = NULL;
	}
	*pols_out = pols;
	return status;
}
