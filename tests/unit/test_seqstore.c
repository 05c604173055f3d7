// SPDX-License-Identifier: GPL-2.0
/*
 * The seq store (userspace/seqstore.c) with its reserve-ahead worker: every number a grant
 * hands out is already on disk (a restart starts above it, also after a stop in the middle of
 * a write), the worker keeps a block ahead so grants do not wait for the disk, a failing disk
 * is reported at once, tried again a second later (not at every event) and never turns into a
 * number that is not reserved, and a seq file that is not a plain number is refused. Files in
 * a temporary directory; no kernel.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <pthread.h>

#include "clock.h"
#include "seqstore.h"

static char tmpdir[64];
static char state[128];

static int setup(void **st)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ag-seqstore.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(state, sizeof(state), "%s/state", tmpdir);
	return 0;
}

static int teardown(void **st)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) ? -1 : 0;
}

/* The number the file holds: the first one not reserved. */
static unsigned long long on_disk(const char *dir)
{
	char path[160], buf[32] = {};
	int fd;

	snprintf(path, sizeof(path), "%s/seq", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (read(fd, buf, sizeof(buf) - 1) <= 0)
		buf[0] = '\0';
	close(fd);
	return strtoull(buf, NULL, 10);
}

/* Wait (at most 10 s) until the worker has recorded every number below want as reserved. */
static void wait_reserved(struct ag_seqstore *st, unsigned long long want)
{
	struct timespec ts = { 0, 1000000 };
	unsigned long long reserved = 0;
	int i;

	for (i = 0; i < 10000; i++) {
		pthread_mutex_lock(&st->lock);
		reserved = st->reserved;
		pthread_mutex_unlock(&st->lock);
		if (reserved >= want)
			break;
		nanosleep(&ts, NULL);
	}
	assert_true(reserved >= want);
}

static void open_ahead(struct ag_seqstore *st, unsigned long long *next)
{
	assert_int_equal(ag_seqstore_open(state, st, next), 0);
	assert_int_equal(ag_seqstore_reserve(st, *next), 0);
	assert_int_equal(ag_seqstore_start_ahead(st), 0);
}

/*
 * Used as the sink uses it, through three blocks: each grant covers the number asked for, no
 * more than AG_SEQ_GRANT of them, all already on disk; with the worker given time to keep
 * ahead, no grant waits.
 */
static void test_grants_are_reserved_and_do_not_wait(void **unused)
{
	struct ag_seqstore st = { .dirfd = -1 };
	unsigned long long next, need, limit = 0;

	open_ahead(&st, &next);
	assert_int_equal(next, 1);
	for (need = next; need < 3ull * AG_SEQ_BLOCK; need = limit) {
		assert_int_equal(ag_seqstore_grant(&st, need, &limit), 0);
		assert_true(limit > need);
		assert_true(limit - need <= AG_SEQ_GRANT);
		assert_true(on_disk(state) >= limit);
		/* The sink takes a quarter of a block between grants: time enough here. */
		wait_reserved(&st, need + AG_SEQ_BLOCK);
	}
	assert_int_equal(st.waited, 0);
	ag_seqstore_close(&st);

	/* A restart starts above every number granted. */
	assert_int_equal(ag_seqstore_open(state, &st, &next), 0);
	assert_true(next >= limit);
	ag_seqstore_close(&st);
}

/* Control: a grant past what is on disk, asked before the worker could act, waits for it. */
static void test_grant_past_reserved_waits(void **unused)
{
	struct ag_seqstore st = { .dirfd = -1 };
	unsigned long long next, limit = 0;

	open_ahead(&st, &next);
	assert_int_equal(ag_seqstore_grant(&st, next + 5 * AG_SEQ_BLOCK, &limit), 0);
	assert_true(limit > next + 5 * AG_SEQ_BLOCK);
	assert_true(on_disk(state) >= limit);
	assert_int_equal(st.waited, 1);
	ag_seqstore_close(&st);
}

/*
 * The directory goes away under the store: numbers already reserved are still granted; one
 * past them is refused with the error (not a hang, not a number that is not on disk), at once
 * and without a new attempt at every event; the disk is tried again a second later, and the
 * numbers are granted once it works again.
 */
static void test_failure_is_reported_and_retried(void **unused)
{
	struct ag_seqstore st = { .dirfd = -1 };
	unsigned long long next, limit = 0, reserved, attempts;
	char path[160], other[128];
	long long t;
	int fd, i, err;

	open_ahead(&st, &next);
	assert_int_equal(ag_seqstore_grant(&st, next, &limit), 0);
	wait_reserved(&st, next + AG_SEQ_BLOCK);
	reserved = on_disk(state);

	snprintf(path, sizeof(path), "%s/seq", state);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(state), 0);
	assert_int_equal(ag_seqstore_grant(&st, reserved - 1, &limit), 0);
	assert_int_equal(limit, reserved);
	assert_int_equal(ag_seqstore_grant(&st, reserved, &limit), -ENOENT);
	/* An event a microsecond: they get the error at once, and the disk is not tried again. */
	pthread_mutex_lock(&st.lock);
	attempts = st.attempts;
	pthread_mutex_unlock(&st.lock);
	t = ag_mono_ms();
	for (i = 0; i < 10000; i++)
		assert_int_equal(ag_seqstore_grant(&st, reserved + i, &limit), -ENOENT);
	assert_true(ag_mono_ms() - t < AG_SEQ_RETRY_NS / 2000000);
	pthread_mutex_lock(&st.lock);
	assert_int_equal(st.attempts, attempts);
	pthread_mutex_unlock(&st.lock);

	/* The disk is back (another directory, as a remount would give): tried within a second. */
	snprintf(other, sizeof(other), "%s/other", tmpdir);
	assert_int_equal(mkdir(other, 0700), 0);
	fd = open(other, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(dup2(fd, st.dirfd), st.dirfd);
	close(fd);
	t = ag_mono_ms();
	while ((err = ag_seqstore_grant(&st, reserved, &limit)) && ag_mono_ms() - t < 3000)
		usleep(10000);
	assert_int_equal(err, 0);
	assert_true(ag_mono_ms() - t <= AG_SEQ_RETRY_NS / 1000000 + 500);
	assert_true(limit > reserved);
	assert_true(on_disk(other) >= limit);
	ag_seqstore_close(&st);
}

/* A file someone edited: never a mark that wraps and restarts the numbers. */
static void test_bad_file_refused(void **unused)
{
	static const char *const bad[] = { "-1\n", "18446744073709551615\n", "0\n", "12x\n",
					   "\n", " 5\n", "99999999999999999999999\n" };
	struct ag_seqstore st = { .dirfd = -1 };
	unsigned long long next;
	char path[160];
	size_t i;
	FILE *f;

	assert_int_equal(mkdir(state, 0700), 0);
	snprintf(path, sizeof(path), "%s/seq", state);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f = fopen(path, "w");
		assert_non_null(f);
		fputs(bad[i], f);
		fclose(f);
		assert_int_equal(ag_seqstore_open(state, &st, &next), -EINVAL);
		ag_seqstore_close(&st);
	}
	/* Control: a mark as the store writes it. */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("3145728\n", f);
	fclose(f);
	assert_int_equal(ag_seqstore_open(state, &st, &next), 0);
	assert_int_equal(next, 3145728);
	ag_seqstore_close(&st);
}

/* Stopped while the worker writes, again and again: a restart starts above every grant. */
static void test_close_during_write(void **unused)
{
	unsigned long long next, limit = 0;
	int i;

	for (i = 0; i < 100; i++) {
		struct ag_seqstore st = { .dirfd = -1 };

		open_ahead(&st, &next);
		assert_true(next >= limit);
		assert_int_equal(ag_seqstore_grant(&st, next, &limit), 0);
		ag_seqstore_close(&st);
	}
	{
		struct ag_seqstore st = { .dirfd = -1 };

		assert_int_equal(ag_seqstore_open(state, &st, &next), 0);
		assert_true(next >= limit);
		assert_int_equal(ag_seqstore_reserve(&st, next), 0);
		assert_int_equal(ag_seqstore_start_ahead(&st), 0);
		/* The worker owns the mark now. */
		assert_int_equal(ag_seqstore_reserve(&st, next + 3 * AG_SEQ_BLOCK), -EBUSY);
		ag_seqstore_close(&st);
	}
}

/* Without the worker, a grant is the synchronous reservation it always was. */
static void test_grant_without_worker(void **unused)
{
	struct ag_seqstore st = { .dirfd = -1 };
	unsigned long long next, limit = 0;

	assert_int_equal(ag_seqstore_open(state, &st, &next), 0);
	assert_int_equal(ag_seqstore_grant(&st, next + AG_SEQ_BLOCK, &limit), 0);
	assert_true(limit > next + AG_SEQ_BLOCK);
	assert_true(on_disk(state) >= limit);
	ag_seqstore_close(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_grants_are_reserved_and_do_not_wait, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_grant_past_reserved_waits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_is_reported_and_retried, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_grant_without_worker, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_file_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_during_write, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
