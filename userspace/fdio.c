// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <unistd.h>

#include "fdio.h"

size_t ag_write_some(int fd, const void *p, size_t n, int *err)
{
	const char *c = p;
	size_t done = 0;
	ssize_t w;

	*err = 0;
	while (done < n) {
		w = write(fd, c + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			*err = w ? -errno : -EIO;
			break;
		}
		done += w;
	}
	return done;
}

int ag_write_all(int fd, const void *p, size_t n)
{
	int err;

	ag_write_some(fd, p, n, &err);
	return err;
}
