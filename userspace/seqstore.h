/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Event seq that no restart resets, kill -9 included: numbers are handed out from blocks
 * reserved on disk first. The file holds the first number not yet reserved; a restart starts
 * there. So seq is strictly increasing across restarts, and a crash can leave a gap (the rest
 * of its block), never a repeat.
 */
#ifndef AG_SEQSTORE_H
#define AG_SEQSTORE_H

/*
 * A reservation is two fsyncs (about a millisecond here), during which the consumer reads
 * nothing: with blocks of 4096, a million events a second stalled it 250 times a second, each
 * time for about as long as the deny ring lasts at that rate (bench/audit_bench.c). A crash
 * leaves a larger gap instead, which costs nothing.
 */
#define AG_SEQ_BLOCK (1u << 20)

struct ag_seqstore {
	int dirfd;			/* the state directory, or -1 */
	unsigned long long reserved;	/* numbers below this are reserved on disk */
};

/* Create the state directory and its parents (mode 0700) if missing. */
int ag_state_dir_make(const char *dir);
/* Create (as ag_state_dir_make) and open the state directory: an O_DIRECTORY fd or -errno. */
int ag_state_dir_open(const char *dir);
/*
 * Remove a state directory made for one run (agentguard run, sandbox run): what it holds, at
 * most 8 directories deep, then itself; never following a link (a link is removed, not its
 * target; dir itself must not be one). Only once nothing stays pinned that would need it.
 * 0 (also when dir does not exist) or -errno.
 */
int ag_state_dir_remove(const char *dir);
/* Open (creating) dir and read where the last run stopped: *next is the first seq to use. */
int ag_seqstore_open(const char *dir, struct ag_seqstore *st, unsigned long long *next);
/* Make sure every seq <= upto is reserved on disk (durably: write, fsync, rename). */
int ag_seqstore_reserve(struct ag_seqstore *st, unsigned long long upto);
void ag_seqstore_close(struct ag_seqstore *st);

#endif /* AG_SEQSTORE_H */
