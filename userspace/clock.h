/* SPDX-License-Identifier: GPL-2.0 */
/* The clocks the commands read, in one place: wall time for events, monotonic for intervals. */
#ifndef AG_CLOCK_H
#define AG_CLOCK_H

/* CLOCK_REALTIME in ns since the epoch: what events and loss "since" carry. */
long long ag_wall_ns(void);
/* CLOCK_MONOTONIC in ns and ms: deadlines and intervals, never shown. */
long long ag_mono_ns(void);
long long ag_mono_ms(void);
/* Sleep ms milliseconds (a short, bounded wait while polling for a state change). */
void ag_sleep_ms(int ms);

#endif /* AG_CLOCK_H */
