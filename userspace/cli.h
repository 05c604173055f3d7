/* SPDX-License-Identifier: GPL-2.0 */
/* Subcommands. Each returns a process exit status (see docs/cli.md). */
#ifndef AG_CLI_H
#define AG_CLI_H

#include <stdbool.h>

/* sysexits(3) values used as documented exit statuses. */
#define AG_EXIT_OK		0
#define AG_EXIT_USAGE		64	/* bad command line */
#define AG_EXIT_BADPOLICY	65	/* a policy is invalid: FILE:LINE:COL errors printed */
#define AG_EXIT_NOINPUT		66	/* a policy file cannot be read */
#define AG_EXIT_UNAVAILABLE	69	/* this kernel cannot enforce (see agentguard probe) */
#define AG_EXIT_SOFTWARE	70	/* internal error */
#define AG_EXIT_IOERR		74	/* events output failed */
#define AG_EXIT_CONFIG		78	/* bad environment: cgroup path, permissions */

int cmd_load(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_schema(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_unload(int argc, char **argv);
int cmd_reload(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_reset(int argc, char **argv);
int cmd_sandbox(int argc, char **argv);

/* Shared by load, check and reload (cli_compile.c): parse and compile files; prints
 * diagnostics. */
struct ag_compiled;
struct ag_policy;
int ag_cli_compile(char **files, int n, struct ag_policy ***pols, struct ag_compiled **out);
void ag_cli_free_policies(struct ag_policy **pols, int n);
/*
 * The end of an event sink, shared by load and sandbox run: flushes the line stream and
 * reports what was lost (a failed stream as an error; malformed records, seq past the
 * reservation, entries journald refused as warnings). AG_EXIT_OK, or AG_EXIT_IOERR if the
 * line stream failed at any point. The stream stays open (its owner closes it).
 */
struct ag_event_sink;
int ag_cli_events_finish(struct ag_event_sink *s);
/*
 * ag_event_sink_sync, and say when the line stream starts failing and when it takes lines
 * again (*failing: whether it was failing; updated). Its -errno.
 */
int ag_cli_events_sync(struct ag_event_sink *s, bool *failing);
/*
 * A whole decimal number of at most max: digits only (no sign, space or suffix, which strtoul
 * would take or wrap). 0, -EINVAL (not a number) or -ERANGE (above max).
 */
int ag_cli_parse_uint(const char *s, unsigned long long max, unsigned long long *out);

#endif /* AG_CLI_H */
