/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Event seq that no restart resets, kill -9 included: numbers are handed out from blocks
 * reserved on disk first. The file holds the first number not yet reserved; a restart starts
 * there. So seq is strictly increasing across restarts, and a crash can leave a gap (the rest
 * of its block, and the block reserved ahead of it), never a repeat.
 */
#ifndef AG_SEQSTORE_H
#define AG_SEQSTORE_H

#include <pthread.h>
#include <stdbool.h>

/*
 * A reservation is two fsyncs (about a millisecond here), during which the consumer reads
 * nothing: with blocks of 4096, a million events a second stalled it 250 times a second, each
 * time for about as long as the deny ring lasts at that rate (bench/audit_bench.c). A crash
 * leaves a larger gap instead, which costs nothing.
 */
#define AG_SEQ_BLOCK (1u << 20)

/*
 * A grant hands out at most this many numbers, the one asked for included, so the consumer
 * comes back four times a block and the worker keeps a block ahead of it.
 */
#define AG_SEQ_GRANT (AG_SEQ_BLOCK / 4)

/* While reservations fail, the disk is tried again this often (not at every event). */
#define AG_SEQ_RETRY_NS 1000000000LL

struct ag_seqstore {
	int dirfd;			/* the state directory, or -1 */
	unsigned long long reserved;	/* numbers below this are reserved on disk */
	/*
	 * Reserving ahead (ag_seqstore_start_ahead): a worker thread makes the next block
	 * durable while the current one is used. Its two fsyncs wait behind whatever else the
	 * disk is writing (up to 45 ms measured behind the events file's write-back, longer
	 * than the deny ring lasts at a million denials a second), so the consumer must not.
	 * Under lock once it runs: reserved, want, err, failed, failed_ns, stop, waited,
	 * attempts.
	 */
	bool ahead;
	pthread_t worker;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned long long want;	/* the worker reserves every number below this */
	int err;			/* the worker's last failure, while failed */
	bool failed;
	long long failed_ns;		/* CLOCK_MONOTONIC of that failure */
	bool stop;
	/* For the benchmark and tests: */
	unsigned long long waited;	/* grants that had to wait for the worker */
	unsigned long long attempts;	/* reservations the worker tried */
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
/*
 * Open (creating) dir and read where the last run stopped: *next is the first seq to use.
 * -EINVAL if the file holds anything but a number from 1 to near 2^64, and a newline.
 */
int ag_seqstore_open(const char *dir, struct ag_seqstore *st, unsigned long long *next);
/*
 * Make sure every seq <= upto is reserved on disk (durably: write, fsync, rename). -EBUSY once
 * the worker runs: use ag_seqstore_grant.
 */
int ag_seqstore_reserve(struct ag_seqstore *st, unsigned long long upto);
/* Start the reserve-ahead worker (signals blocked in it). 0 or -errno. */
int ag_seqstore_start_ahead(struct ag_seqstore *st);
/*
 * Numbers from need up to *limit (excluded) are reserved on disk: *limit > need. Waits for
 * the disk only when the worker has not kept ahead (or without a worker: ag_seqstore_reserve).
 * 0, or the worker's -errno: at once while it failed less than AG_SEQ_RETRY_NS ago, after a
 * new attempt otherwise.
 */
int ag_seqstore_grant(struct ag_seqstore *st, unsigned long long need,
		      unsigned long long *limit);
/* Stops the worker, if any, and closes the directory. */
void ag_seqstore_close(struct ag_seqstore *st);

#endif /* AG_SEQSTORE_H */
