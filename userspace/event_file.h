/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The event file's stream (threat model A6). stdio throws away the lines in its buffer when a
 * write(2) fails, so a sandbox that fills the file system holding the event file would make
 * denials vanish without a trace. This stream's writes never fail: what write(2) refuses is
 * held in memory, in order, and written first once there is room. Past the backlog, lines are
 * dropped whole (never a part of one) and counted, for a "write-failed" loss event.
 */
#ifndef AG_EVENT_FILE_H
#define AG_EVENT_FILE_H

#include <stddef.h>
#include <stdio.h>

/*
 * The default backlog (--events-backlog): about 250,000 events of 256 bytes. The least: more
 * than the longest line (static asserts in events.c and guest_rx.c), so a line refused while
 * nothing is held is always held, never dropped.
 */
#define AG_EVENT_BACKLOG_DEFAULT (64u << 20)
#define AG_EVENT_BACKLOG_MIN (64u << 10)

struct ag_event_file;

/*
 * A stdio stream writing to fd, which it takes over (fclose closes it; on failure it is
 * closed too). At most backlog bytes are held (a line partly written already is completed even
 * past it). *ef: the stream's state, valid until fclose. NULL with errno on failure.
 */
FILE *ag_event_file_open(int fd, size_t backlog, struct ag_event_file **ef);
/*
 * Write what is held (call after fflush, and periodically while anything is held: nothing else
 * retries when no new line comes). 0 once nothing is held, else the -errno of the write that
 * failed.
 */
int ag_event_file_retry(struct ag_event_file *ef);
/* The file descriptor it writes to (to fstat or protect it; never to write to). */
int ag_event_file_fd(const struct ag_event_file *ef);
/* Bytes held now. */
size_t ag_event_file_held(const struct ag_event_file *ef);
/* Lines dropped since the last call. */
unsigned long long ag_event_file_take_dropped(struct ag_event_file *ef);
/* The lines held now (an unfinished one counts). */
unsigned long long ag_event_file_held_lines(const struct ag_event_file *ef);
/*
 * The file is being replaced (rotation): write the whole lines it holds to f, the new file's
 * stream, in order. The rest of a line whose start reached this file stays torn there: that
 * line is counted as dropped, and so is an unfinished one.
 */
void ag_event_file_move_held(struct ag_event_file *ef, FILE *f);

#endif /* AG_EVENT_FILE_H */
