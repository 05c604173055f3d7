// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
	char buf[32] = {};
	ssize_t n;
	int fd, err;

	st->dirfd = -1;
	st->reserved = 0;
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
	*next = strtoull(buf, NULL, 10);
	if (!*next)
		return -EINVAL;
	st->reserved = *next;
	return 0;
}

int ag_seqstore_reserve(struct ag_seqstore *st, unsigned long long upto)
{
	unsigned long long mark;
	char buf[32];
	int fd, n, err = 0;

	if (upto < st->reserved)
		return 0;
	mark = (upto / AG_SEQ_BLOCK + 1) * AG_SEQ_BLOCK;
	n = snprintf(buf, sizeof(buf), "%llu\n", mark);
	fd = openat(st->dirfd, "seq.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, n) != n || fsync(fd))
		err = -errno;
	close(fd);
	if (!err && renameat(st->dirfd, "seq.tmp", st->dirfd, "seq"))
		err = -errno;
	if (!err && fsync(st->dirfd))
		err = -errno;
	if (!err)
		st->reserved = mark;
	return err;
}

void ag_seqstore_close(struct ag_seqstore *st)
{
	if (st->dirfd >= 0)
		close(st->dirfd);
	st->dirfd = -1;
}
