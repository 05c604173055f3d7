// SPDX-License-Identifier: GPL-2.0
/*
 * agt: one operation, one line of result, for tests that assert exact kernel verdicts.
 * Prints "ok" or the errno name (e.g. "EPERM") and exits 0 on success, 1 on failure, 2 on bad
 * usage. Built static so it runs in the guest initramfs.
 *
 *   agt open PATH [r|w|rw|x]     open(2) with O_RDONLY / O_WRONLY / O_RDWR / O_RDONLY|O_EXEC-ish
 *   agt read PATH                open + read the first byte
 *   agt write PATH TEXT          open(O_WRONLY|O_CREAT|O_TRUNC) + write
 *   agt exec PATH [ARG...]       execv(2) (prints nothing on success: the program runs)
 *   agt connect ADDR PORT [tcp|udp]  connect(2); ADDR may be IPv4 or IPv6
 *   agt sendto ADDR PORT TEXT    unconnected UDP sendto(2)
 *   agt serve ADDR PORT N        TCP listener: accept N connections, write "hi" to each
 *   agt udp-serve ADDR PORT N    UDP listener: receive N datagrams, print each
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *errname(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EACCES: return "EACCES";
	case EEXIST: return "EEXIST";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	case EINVAL: return "EINVAL";
	case EROFS: return "EROFS";
	case ELOOP: return "ELOOP";
	case ENAMETOOLONG: return "ENAMETOOLONG";
	case ECONNREFUSED: return "ECONNREFUSED";
	case ENETUNREACH: return "ENETUNREACH";
	case EHOSTUNREACH: return "EHOSTUNREACH";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
	case EAFNOSUPPORT: return "EAFNOSUPPORT";
	case EXDEV: return "EXDEV";
	case ENOEXEC: return "ENOEXEC";
	case EBUSY: return "EBUSY";
	}
	return "E?";
}

static int fail(void)
{
	int e = errno;

	printf("%s\n", errname(e));
	return e == 0 ? 3 : 1;
}

static int parse_addr(const char *s, const char *port, struct sockaddr_storage *ss,
		      socklen_t *len)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(atoi(port));
		*len = sizeof(*a4);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, s, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(atoi(port));
		*len = sizeof(*a6);
		return AF_INET6;
	}
	return -1;
}

static int do_open(const char *path, const char *mode)
{
	int flags = O_RDONLY, fd;

	if (!strcmp(mode, "w"))
		flags = O_WRONLY;
	else if (!strcmp(mode, "rw"))
		flags = O_RDWR;
	fd = open(path, flags);
	if (fd < 0)
		return fail();
	printf("ok\n");
	return 0;
}

static int do_read(const char *path)
{
	char c;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || read(fd, &c, 1) < 0)
		return fail();
	printf("ok\n");
	return 0;
}

static int do_write(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write(fd, text, strlen(text)) < 0)
		return fail();
	printf("ok\n");
	return 0;
}

static int do_connect(const char *addr, const char *port, const char *proto)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fam = parse_addr(addr, port, &ss, &len), fd;

	if (fam < 0)
		return 2;
	fd = socket(fam, !strcmp(proto, "udp") ? SOCK_DGRAM : SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) < 0)
		return fail();
	if (strcmp(proto, "udp")) {
		char buf[16] = {};

		if (read(fd, buf, sizeof(buf) - 1) < 0)
			return fail();
		printf("ok %s\n", buf);
	} else {
		printf("ok\n");
	}
	return 0;
}

static int do_sendto(const char *addr, const char *port, const char *text)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fam = parse_addr(addr, port, &ss, &len), fd;

	if (fam < 0)
		return 2;
	fd = socket(fam, SOCK_DGRAM, 0);
	if (fd < 0 || sendto(fd, text, strlen(text), 0, (struct sockaddr *)&ss, len) < 0)
		return fail();
	printf("ok\n");
	return 0;
}

static int do_serve(const char *addr, const char *port, int n, int udp)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fam = parse_addr(addr, port, &ss, &len), fd, one = 1, i;

	if (fam < 0)
		return 2;
	fd = socket(fam, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) < 0 || (!udp && listen(fd, 16) < 0))
		return fail();
	printf("listening\n");
	fflush(stdout);
	for (i = 0; i < n; i++) {
		char buf[256];
		ssize_t r;

		if (udp) {
			r = recv(fd, buf, sizeof(buf) - 1, 0);
			if (r < 0)
				return fail();
			buf[r] = '\0';
			printf("got %s\n", buf);
		} else {
			int c = accept(fd, NULL, NULL);

			if (c < 0)
				return fail();
			if (write(c, "hi", 2) < 0)
				return fail();
			close(c);
			printf("accepted\n");
		}
		fflush(stdout);
	}
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 3 && !strcmp(argv[1], "open"))
		return do_open(argv[2], argc > 3 ? argv[3] : "r");
	if (argc == 3 && !strcmp(argv[1], "read"))
		return do_read(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "write"))
		return do_write(argv[2], argv[3]);
	if (argc >= 3 && !strcmp(argv[1], "exec")) {
		execv(argv[2], argv + 2);
		return fail();
	}
	if (argc >= 4 && !strcmp(argv[1], "connect"))
		return do_connect(argv[2], argv[3], argc > 4 ? argv[4] : "tcp");
	if (argc == 5 && !strcmp(argv[1], "sendto"))
		return do_sendto(argv[2], argv[3], argv[4]);
	if (argc == 5 && !strcmp(argv[1], "serve"))
		return do_serve(argv[2], argv[3], atoi(argv[4]), 0);
	if (argc == 5 && !strcmp(argv[1], "udp-serve"))
		return do_serve(argv[2], argv[3], atoi(argv[4]), 1);
	fprintf(stderr, "usage: see the comment at the top of tests/helpers/agt.c\n");
	return 2;
}
