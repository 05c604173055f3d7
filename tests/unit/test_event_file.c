// SPDX-License-Identifier: GPL-2.0
/*
 * The event file's stream (userspace/event_file.c), against a non-blocking pipe whose reader
 * stops reading: its writes then fail (EAGAIN) as a full file system's do (ENOSPC). What the
 * stream could not write is written, whole and in order, once the reader reads again; past
 * the backlog, lines are dropped whole and counted exactly; a line whose start was written is
 * finished, never torn. No kernel, no privileges.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "event_file.h"

struct pipe_file {
	int rd;
	FILE *f;
	struct ag_event_file *ef;
	char *got;	/* what the reader has read */
	size_t got_len;
};

/* A stream on a pipe of 64 KiB that nobody reads yet: writes past that fail. */
static void open_pipe(struct pipe_file *p, size_t backlog)
{
	static char buf[4096];
	int fds[2];

	memset(p, 0, sizeof(*p));
	assert_int_equal(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
	assert_int_equal(fcntl(fds[1], F_SETPIPE_SZ, 65536), 65536);
	p->rd = fds[0];
	p->f = ag_event_file_open(fds[1], backlog, &p->ef);
	assert_non_null(p->f);
	/* Small stdio buffer: many write calls, lines split across them. */
	assert_int_equal(setvbuf(p->f, buf, _IOFBF, sizeof(buf)), 0);
}

/* Read everything the pipe has now. */
static void drain(struct pipe_file *p)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(p->rd, buf, sizeof(buf))) > 0) {
		p->got = realloc(p->got, p->got_len + n);
		assert_non_null(p->got);
		memcpy(p->got + p->got_len, buf, n);
		p->got_len += n;
	}
}

/* Line i: "{"n":I,"pad":"xxx..."}\n", 100 to 400 bytes. */
static void put_line(FILE *f, int i)
{
	fprintf(f, "{\"n\":%d,\"pad\":\"%0*d\"}\n", i, 80 + (i * 37) % 300, 0);
}

/*
 * The lines read, checked: each whole, numbers increasing; their count, and in *missing the
 * numbers below n that never came.
 */
static int check_lines(const struct pipe_file *p, int n, int *missing)
{
	const char *s = p->got, *end = p->got + p->got_len, *nl;
	int lines = 0, last = -1, v;
	char pad[512];

	while (s < end) {
		nl = memchr(s, '\n', end - s);
		assert_non_null(nl);
		assert_int_equal(sscanf(s, "{\"n\":%d,\"pad\":\"%511[0]\"}", &v, pad), 2);
		assert_int_equal(strlen(pad), 80 + (v * 37) % 300);
		assert_int_equal(nl - s, (long)strlen(pad) + (long)snprintf(NULL, 0, "%d", v) + 15);
		assert_true(v > last);
		last = v;
		lines++;
		s = nl + 1;
	}
	*missing = n - lines;
	return lines;
}

/* The reader stops, 2,000 lines come, the reader reads again: all of them, in order. */
static void test_held_then_written(void **unused)
{
	struct pipe_file p;
	int i, missing;

	open_pipe(&p, 1 << 20);
	for (i = 0; i < 2000; i++)
		put_line(p.f, i);
	assert_int_equal(fflush(p.f), 0);	/* stdio never sees the failure */
	assert_false(ferror(p.f));
	assert_true(ag_event_file_held(p.ef) > 0);
	assert_int_equal(ag_event_file_retry(p.ef), -EAGAIN);
	while (ag_event_file_held(p.ef)) {
		drain(&p);
		ag_event_file_retry(p.ef);
	}
	drain(&p);
	assert_int_equal(check_lines(&p, 2000, &missing), 2000);
	assert_int_equal(ag_event_file_take_dropped(p.ef), 0);
	fclose(p.f);
	close(p.rd);
	free(p.got);
}

/*
 * Past a backlog of 32 KiB, lines are dropped whole: what arrives is whole lines in order,
 * and with the dropped count they are all 2,000. New lines after recovery are written.
 */
static void test_backlog_drops_whole_lines(void **unused)
{
	unsigned long long dropped;
	struct pipe_file p;
	int i, missing, got;

	open_pipe(&p, 32768);
	for (i = 0; i < 2000; i++)
		put_line(p.f, i);
	fflush(p.f);
	assert_true(ag_event_file_held(p.ef) <= 32768 + 512);
	while (ag_event_file_held(p.ef)) {
		drain(&p);
		ag_event_file_retry(p.ef);
	}
	dropped = ag_event_file_take_dropped(p.ef);
	assert_true(dropped > 1000);
	for (i = 2000; i < 2010; i++)
		put_line(p.f, i);
	fflush(p.f);
	drain(&p);
	got = check_lines(&p, 2010, &missing);
	assert_int_equal(missing, (int)dropped);
	assert_int_equal(got + dropped, 2010);
	assert_int_equal(ag_event_file_take_dropped(p.ef), 0);
	fclose(p.f);
	close(p.rd);
	free(p.got);
}

/*
 * A write that stops in the middle of a line: the rest of that line is held even past a
 * backlog of 1 byte, so the file never has a torn line; the next whole line is dropped.
 */
static void test_started_line_is_finished(void **unused)
{
	static char big[70000];
	struct pipe_file p;
	int missing;

	open_pipe(&p, 1);
	/* One line longer than the pipe: its first 64 KiB go through, the rest is held. */
	memset(big, 'x', sizeof(big) - 2);
	big[sizeof(big) - 2] = '\n';
	fputs(big, p.f);
	fflush(p.f);
	assert_int_equal(ag_event_file_held(p.ef), sizeof(big) - 1 - 65536);
	put_line(p.f, 1);
	fflush(p.f);
	assert_int_equal(ag_event_file_take_dropped(p.ef), 1);
	while (ag_event_file_held(p.ef)) {
		drain(&p);
		ag_event_file_retry(p.ef);
	}
	drain(&p);
	assert_int_equal(p.got_len, sizeof(big) - 1);
	assert_memory_equal(p.got, big, sizeof(big) - 1);
	p.got_len = 0;
	put_line(p.f, 2);
	fflush(p.f);
	drain(&p);
	assert_int_equal(check_lines(&p, 1, &missing), 1);
	fclose(p.f);
	close(p.rd);
	free(p.got);
}

/*
 * Rotation while the file cannot write: the whole lines it holds go to the new file's stream,
 * in order; the rest of a line whose start reached the old file is counted as dropped.
 */
static void test_move_held_to_new_file(void **unused)
{
	static char big[70000];
	struct pipe_file old, new;
	int i, missing;

	open_pipe(&old, 1 << 20);
	open_pipe(&new, 1 << 20);
	memset(big, 'x', sizeof(big) - 2);
	big[sizeof(big) - 2] = '\n';
	fputs(big, old.f);	/* its first 64 KiB fill the pipe: the rest is held */
	for (i = 0; i < 100; i++)
		put_line(old.f, i);
	fflush(old.f);
	assert_true(ag_event_file_held(old.ef) > 0);
	assert_int_equal(ag_event_file_held_lines(old.ef), 101);
	ag_event_file_move_held(old.ef, new.f);
	assert_int_equal(ag_event_file_take_dropped(old.ef), 1);	/* big's rest */
	assert_int_equal(ag_event_file_held(old.ef), 0);
	fflush(new.f);
	drain(&new);
	assert_int_equal(check_lines(&new, 100, &missing), 100);
	fclose(old.f);
	fclose(new.f);
	close(old.rd);
	close(new.rd);
	free(old.got);
	free(new.got);
}

/* A file that ends in a torn line (a daemon stopped in one): it is ended first. */
static void test_torn_file_ended(void **unused)
{
	char path[] = "/tmp/ag-event-file.XXXXXX", got[256];
	struct ag_event_file *ef;
	int fd = mkstemp(path), rfd;
	ssize_t n;
	FILE *f;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\"torn", 6), 6);
	close(fd);
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	f = ag_event_file_open(fd, 1 << 20, &ef);
	assert_non_null(f);
	fputs("{\"n\":1}\n", f);
	fclose(f);
	rfd = open(path, O_RDONLY | O_CLOEXEC);
	n = read(rfd, got, sizeof(got) - 1);
	close(rfd);
	unlink(path);
	assert_true(n > 0);
	got[n] = '\0';
	assert_string_equal(got, "{\"torn\n{\"n\":1}\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_held_then_written),
		cmocka_unit_test(test_backlog_drops_whole_lines),
		cmocka_unit_test(test_started_line_is_finished),
		cmocka_unit_test(test_move_held_to_new_file),
		cmocka_unit_test(test_torn_file_ended),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
