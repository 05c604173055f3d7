/* SPDX-License-Identifier: GPL-2.0 */
/* Writing a buffer to a descriptor whole: one loop for the event file, metrics and resolver. */
#ifndef AG_FDIO_H
#define AG_FDIO_H

#include <stddef.h>

/*
 * Write p[0, n) to fd, again after a short write or EINTR, until it is all written or a write
 * fails. The bytes written; *err: 0, or the failing write's -errno (-EIO for a write that
 * wrote nothing and reported no error).
 */
size_t ag_write_some(int fd, const void *p, size_t n, int *err);
/* All of p[0, n), or -errno: for writes where a part is as bad as none. */
int ag_write_all(int fd, const void *p, size_t n);

#endif /* AG_FDIO_H */
