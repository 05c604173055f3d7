// SPDX-License-Identifier: GPL-2.0
/*
 * notify-recv PATH N SECONDS: the systemd side of sd_notify(3) for guest tests. Binds a unix
 * datagram socket at PATH, prints each message received (its lines joined by ';') until N
 * messages or SECONDS without one, then exits 0 (1 on a setup error).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char buf[4097];
	int fd, n, i, seconds;
	ssize_t len;

	if (argc != 4 || strlen(argv[1]) >= sizeof(a.sun_path)) {
		fprintf(stderr, "usage: notify-recv PATH N SECONDS\n");
		return 1;
	}
	n = atoi(argv[2]);
	seconds = atoi(argv[3]);
	strcpy(a.sun_path, argv[1]);
	unlink(argv[1]);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("notify-recv");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < n; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, seconds * 1000) <= 0)
			break;
		len = recv(fd, buf, sizeof(buf) - 1, 0);
		if (len < 0)
			break;
		buf[len] = '\0';
		while (len > 0 && buf[len - 1] == '\n')
			buf[--len] = '\0';
		for (char *c = buf; *c; c++)
			if (*c == '\n')
				*c = ';';
		printf("%s\n", buf);
	}
	close(fd);
	unlink(argv[1]);
	return 0;
}
