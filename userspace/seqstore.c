// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "seqstore.h"

/* mkdir -p: the state directory's parents may not exist on a minimal system. */
int ag_state_dir_make(const char *dir)
{
	char path[4096];
	size_t i, n = strlen(dir);

	if (n >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, dir, n + 1);
	for (i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0700) && errno != EEXIST)
			return -errno;
		path[i] = dir[i];
	}
	return 0;
}

int ag_state_dir_open(const char *dir)
{
	int fd, err = ag_state_dir_make(dir);

	if (err)
		return err;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Remove the entries of dir_fd and below; never follows a link (unlinkat removes the link). */
static int rm_contents(int dir_fd, int depth)
{
	struct dirent *d;
	struct stat st;
	DIR *dir;
	int fd, err = 0, e;

	if (depth > 8)
		return -ELOOP;
	fd = dup(dir_fd);
	if (fd < 0)
		return -errno;
	dir = fdopendir(fd);
	if (!dir) {
		err = -errno;
		close(fd);
		return err;
	}
	while ((d = readdir(dir))) {
		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		if (fstatat(dir_fd, d->d_name, &st, AT_SYMLINK_NOFOLLOW)) {
			if (errno != ENOENT && !err)
				err = -errno;
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			fd = openat(dir_fd, d->d_name,
				    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd >= 0) {
				e = rm_contents(fd, depth + 1);
				close(fd);
				if (e && !err)
					err = e;
			}
			if (unlinkat(dir_fd, d->d_name, AT_REMOVEDIR) && !err)
				err = -errno;
		} else if (unlinkat(dir_fd, d->d_name, 0) && !err) {
			err = -errno;
		}
	}
	closedir(dir);
	return err;
}

int ag_state_dir_remove(const char *dir)
{
	int fd, err;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	err = rm_contents(fd, 0);
	close(fd);
	if (!err && rmdir(dir) && errno != ENOENT)
		err = -errno;
	return err;
}

int ag_seqstore_open(const char *dir, struct ag_seqstore *st, unsigned long long *next)
{
	char buf[32] = {}, *end;
	ssize_t n;
	int fd, err;

	st->dirfd = -1;
	st->reserved = 0;
	st->ahead = false;
	err = ag_state_dir_make(dir);
	if (err)
		return err;
	st->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->dirfd < 0)
		return -errno;
	*next = 1;
	fd = openat(st->dirfd, "seq", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EINVAL;
	/*
	 * Digits and a newline, nothing else, and room for the blocks reserved ahead: a file
	 * someone edited to "-1" would otherwise wrap to a mark of 0 and restart the numbers.
	 */
	errno = 0;
	*next = strtoull(buf, &end, 10);
	if (buf[0] < '0' || buf[0] > '9' || errno || (*end && strcmp(end, "\n")) || !*next ||
	    *next > ULLONG_MAX - 4ull * AG_SEQ_BLOCK)
		return -EINVAL;
	st->reserved = *next;
	return 0;
}

/* Write mark as the first number not reserved: durably, or -errno and the old file stays. */
static int write_mark(int dirfd, unsigned long long mark)
{
	char buf[32];
	int fd, n, err = 0;

	n = snprintf(buf, sizeof(buf), "%llu\n", mark);
	fd = openat(dirfd, "seq.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	errno = EIO;	/* a short write sets none */
	if (write(fd, buf, n) != n || fsync(fd))
		err = -errno;
	close(fd);
	if (!err && renameat(dirfd, "seq.tmp", dirfd, "seq"))
		err = -errno;
	if (!err && fsync(dirfd))
		err = -errno;
	return err;
}

static unsigned long long block_end(unsigned long long upto)
{
	return (upto / AG_SEQ_BLOCK + 1) * AG_SEQ_BLOCK;
}

int ag_seqstore_reserve(struct ag_seqstore *st, unsigned long long upto)
{
	unsigned long long mark;
	int err;

	if (st->ahead)
		return -EBUSY;	/* the worker owns reserved now */
	if (upto < st->reserved)
		return 0;
	mark = block_end(upto);
	err = write_mark(st->dirfd, mark);
	if (!err)
		st->reserved = mark;
	return err;
}

/*
 * The worker: reserve up to want whenever it grows. After a failure it waits for a grant to
 * clear failed, which a grant does once AG_SEQ_RETRY_NS have passed.
 */
static void *reserve_ahead(void *arg)
{
	struct ag_seqstore *st = arg;

	pthread_mutex_lock(&st->lock);
	for (;;) {
		unsigned long long mark;
		int err;

		while (!st->stop && (st->failed || st->reserved >= st->want))
			pthread_cond_wait(&st->cond, &st->lock);
		if (st->stop)
			break;
		mark = block_end(st->want - 1);
		st->attempts++;
		pthread_mutex_unlock(&st->lock);
		err = write_mark(st->dirfd, mark);
		pthread_mutex_lock(&st->lock);
		if (err) {
			st->failed = true;
			st->failed_ns = ag_mono_ns();
			st->err = err;
		} else {
			st->reserved = mark;
		}
		pthread_cond_broadcast(&st->cond);
	}
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

int ag_seqstore_start_ahead(struct ag_seqstore *st)
{
	bool mutex = false, cond = false;
	sigset_t all, old;
	int err;

	if (st->dirfd < 0 || st->ahead)
		return -EINVAL;
	err = -pthread_mutex_init(&st->lock, NULL);
	if (err)
		goto cleanup;
	mutex = true;
	err = -pthread_cond_init(&st->cond, NULL);
	if (err)
		goto cleanup;
	cond = true;
	st->want = st->reserved;
	st->err = 0;
	st->failed = st->stop = false;
	st->failed_ns = 0;
	st->waited = st->attempts = 0;
	/* The daemon's signals stay with its main thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = -pthread_create(&st->worker, NULL, reserve_ahead, st);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!err)
		st->ahead = true;
cleanup:
	if (err && cond)
		pthread_cond_destroy(&st->cond);
	if (err && mutex)
		pthread_mutex_destroy(&st->lock);
	return err;
}

int ag_seqstore_grant(struct ag_seqstore *st, unsigned long long need,
		      unsigned long long *limit)
{
	bool counted = false;
	int err = 0;

	if (!st->ahead) {
		err = ag_seqstore_reserve(st, need);
		if (!err)
			*limit = st->reserved;
		return err;
	}
	pthread_mutex_lock(&st->lock);
	/*
	 * While the disk fails, it is tried again once AG_SEQ_RETRY_NS have passed, not at every
	 * event: until then a grant past what is reserved fails at once.
	 */
	if (st->failed && ag_mono_ns() - st->failed_ns >= AG_SEQ_RETRY_NS) {
		st->failed = false;
		pthread_cond_broadcast(&st->cond);
	}
	/* Keep a block ahead of need. */
	if (st->want < need + AG_SEQ_BLOCK) {
		st->want = need + AG_SEQ_BLOCK;
		pthread_cond_broadcast(&st->cond);
	}
	while (st->reserved <= need && !st->failed) {
		if (!counted)
			st->waited++;
		counted = true;
		pthread_cond_wait(&st->cond, &st->lock);
	}
	if (st->reserved > need)
		*limit = st->reserved - need > AG_SEQ_GRANT ? need + AG_SEQ_GRANT : st->reserved;
	else
		err = st->err;
	pthread_mutex_unlock(&st->lock);
	return err;
}

void ag_seqstore_close(struct ag_seqstore *st)
{
	if (st->ahead) {
		pthread_mutex_lock(&st->lock);
		st->stop = true;
		pthread_cond_broadcast(&st->cond);
		pthread_mutex_unlock(&st->lock);
		pthread_join(st->worker, NULL);
		pthread_cond_destroy(&st->cond);
		pthread_mutex_destroy(&st->lock);
		st->ahead = false;
	}
	if (st->dirfd >= 0)
		close(st->dirfd);
	st->dirfd = -1;
}
