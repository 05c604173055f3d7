// SPDX-License-Identifier: GPL-2.0
/*
 * The event file's stream: a fopencookie(3) stream whose write never reports a failure to
 * stdio (which would throw its buffer away). See event_file.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "event_file.h"
#include "fdio.h"

struct ag_event_file {
	int fd;
	size_t backlog;
	char *buf;		/* held bytes: buf[off, len); freed once they are written */
	size_t off, len, cap;
	bool mid_line;		/* the last byte that reached fd was not a newline */
	bool newline_first;	/* the file ends in a torn line: end it before the next one */
	bool dropping;		/* discarding the rest of a dropped line */
	int err;		/* the failed write's -errno, while bytes are held */
	unsigned long long dropped;	/* lines, since ag_event_file_take_dropped */
};

/* Write p[0, n) until it is all written or a write fails: the bytes written. */
static size_t write_some(struct ag_event_file *ef, const char *p, size_t n)
{
	int err;
	size_t done = ag_write_some(ef->fd, p, n, &err);

	if (err)
		ef->err = err;
	if (done)
		ef->mid_line = p[done - 1] != '\n';
	return done;
}

int ag_event_file_retry(struct ag_event_file *ef)
{
	if (ef->off < ef->len)
		ef->off += write_some(ef, ef->buf + ef->off, ef->len - ef->off);
	if (ef->off < ef->len)
		return ef->err;
	free(ef->buf);
	ef->buf = NULL;
	ef->off = ef->len = ef->cap = 0;
	ef->err = 0;
	return 0;
}

int ag_event_file_fd(const struct ag_event_file *ef)
{
	return ef->fd;
}

size_t ag_event_file_held(const struct ag_event_file *ef)
{
	return ef->len - ef->off;
}

unsigned long long ag_event_file_take_dropped(struct ag_event_file *ef)
{
	unsigned long long n = ef->dropped;

	ef->dropped = 0;
	return n;
}

/* The newline that ends the first held line, or NULL. */
static const char *first_held_nl(const struct ag_event_file *ef)
{
	return ef->off < ef->len ? memchr(ef->buf + ef->off, '\n', ef->len - ef->off) : NULL;
}

/* The newline that ends the last whole held line, or NULL. */
static const char *last_held_nl(const struct ag_event_file *ef)
{
	return ef->off < ef->len ? memrchr(ef->buf + ef->off, '\n', ef->len - ef->off) : NULL;
}

unsigned long long ag_event_file_held_lines(const struct ag_event_file *ef)
{
	unsigned long long n = 0;
	const char *p, *end;

	if (ef->off == ef->len)
		return 0;
	p = ef->buf + ef->off;
	end = ef->buf + ef->len;
	while (p < end && (p = memchr(p, '\n', end - p))) {
		n++;
		p++;
	}
	if (ef->len > ef->off && ef->buf[ef->len - 1] != '\n')
		n++;	/* the last line, unfinished */
	return n;
}

void ag_event_file_move_held(struct ag_event_file *ef, FILE *f)
{
	const char *start = ef->buf + ef->off, *end = ef->buf + ef->len, *first = start, *last;

	if (ef->off < ef->len) {
		last = last_held_nl(ef);
		if (ef->mid_line) {
			/* The rest of a line started in this file: it stays torn there. */
			first = first_held_nl(ef);
			first = first ? first + 1 : end;
			ef->dropped++;
		}
		if (last && last + 1 > first)
			fwrite(first, 1, last + 1 - first, f);
		if ((last ? last + 1 : start) < end && (last || !ef->mid_line))
			ef->dropped++;	/* an unfinished last line (it ran out of memory) */
	}
	if (ef->dropping)
		ef->dropped++;	/* a line being dropped: not counted until its newline */
	ef->dropping = false;
	free(ef->buf);
	ef->buf = NULL;
	ef->off = ef->len = ef->cap = 0;
}

/* Append p[0, n) to what is held; -ENOMEM. */
static int append(struct ag_event_file *ef, const char *p, size_t n)
{
	size_t cap;
	char *buf;

	/* Moving the held bytes down costs at most as much as the bytes written meanwhile. */
	if (ef->len + n > ef->cap && ef->off >= ef->cap / 2) {
		memmove(ef->buf, ef->buf + ef->off, ef->len - ef->off);
		ef->len -= ef->off;
		ef->off = 0;
	}
	if (ef->len + n > ef->cap) {
		cap = ef->cap ? ef->cap : 65536;
		while (cap < ef->len + n)
			cap *= 2;
		buf = realloc(ef->buf, cap);
		if (!buf)
			return -ENOMEM;
		ef->buf = buf;
		ef->cap = cap;
	}
	memcpy(ef->buf + ef->len, p, n);
	ef->len += n;
	return 0;
}

/*
 * Hold p[0, n), which follows what is held (or, if nothing is, what reached the file): whole
 * lines while they fit in the backlog. A line that does not fit is dropped whole, with the part
 * of it already held, and counted when its newline goes; only a line whose start reached the
 * file is finished past the backlog, since dropping its rest would tear it. If even that
 * cannot be held (no memory), the torn line is ended before the next one.
 */
static void hold(struct ag_event_file *ef, const char *p, size_t n)
{
	const char *nl, *held_nl;
	size_t line;
	bool started;

	while (n) {
		nl = memchr(p, '\n', n);
		line = nl ? (size_t)(nl + 1 - p) : n;
		/* The file ends in a torn line: a newline ends it before this line is held. */
		if (ef->newline_first && !ef->dropping && !append(ef, "\n", 1))
			ef->newline_first = false;
		held_nl = last_held_nl(ef);
		started = !held_nl && ef->mid_line;
		if (!ef->dropping && !ef->newline_first &&
		    (ef->len - ef->off + line <= ef->backlog || started) &&
		    !append(ef, p, line)) {
			p += line;
			n -= line;
			continue;
		}
		if (!ef->dropping && started) {
			ef->len = ef->off;	/* no memory for its rest: it stays torn */
			ef->newline_first = true;
		} else if (!ef->dropping) {
			ef->len = held_nl ? (size_t)(held_nl + 1 - ef->buf) : ef->off;
		}
		ef->dropping = !nl;
		if (nl)
			ef->dropped++;
		p += line;
		n -= line;
	}
}

static ssize_t ef_write(void *cookie, const char *p, size_t n)
{
	struct ag_event_file *ef = cookie;
	size_t done = 0;

	if (ef->off < ef->len)
		ag_event_file_retry(ef);	/* held lines go first */
	if (ef->off == ef->len && !ef->dropping && ef->newline_first &&
	    write_some(ef, "\n", 1) == 1)
		ef->newline_first = false;	/* the torn line the file ended in is ended */
	if (ef->off == ef->len && !ef->dropping && !ef->newline_first)
		done = write_some(ef, p, n);
	if (done < n)
		hold(ef, p + done, n - done);
	return n;
}

static int ef_close(void *cookie)
{
	struct ag_event_file *ef = cookie;
	int err;

	ag_event_file_retry(ef);
	err = close(ef->fd);
	free(ef->buf);
	free(ef);
	return err;
}

/*
 * Does the regular file fd end in a torn line (a daemon stopped in the middle of one)? Read
 * through /proc/self/fd, since fd is open for writing only. If it cannot be read: no, and a
 * torn line there would run into the next one; it decides no protection, only that newline.
 */
static bool ends_torn(int fd)
{
	char path[64], c = '\n';
	struct stat st;
	int rfd;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size == 0)
		return false;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	rfd = open(path, O_RDONLY | O_CLOEXEC);
	if (rfd < 0)
		return false;
	if (pread(rfd, &c, 1, st.st_size - 1) != 1)
		c = '\n';
	close(rfd);
	return c != '\n';
}

FILE *ag_event_file_open(int fd, size_t backlog, struct ag_event_file **out)
{
	cookie_io_functions_t io = { .write = ef_write, .close = ef_close };
	struct ag_event_file *ef = calloc(1, sizeof(*ef));
	FILE *f;
	int err;

	if (!ef) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	ef->fd = fd;
	ef->backlog = backlog;
	ef->newline_first = ends_torn(fd);
	f = fopencookie(ef, "w", io);
	if (!f) {
		err = errno;
		close(fd);
		free(ef);
		errno = err;
		return NULL;
	}
	*out = ef;
	return f;
}
