// SPDX-License-Identifier: GPL-2.0
/*
 * agbench: guest micro-benchmark. "agbench open PATH N" opens and closes PATH N times and
 * prints the elapsed CLOCK_MONOTONIC nanoseconds. Under QEMU -icount shift=0 the guest clock
 * advances one nanosecond per guest instruction, so the figure is an instruction count and
 * ratios between variants measured in one boot are repeatable (see bench/README.md).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long long start, n, i;
	int fd;

	if (argc != 4 || strcmp(argv[1], "open")) {
		fprintf(stderr, "usage: agbench open PATH N\n");
		return 2;
	}
	n = atoll(argv[3]);
	start = now_ns();
	for (i = 0; i < n; i++) {
		fd = open(argv[2], O_RDONLY);
		if (fd < 0) {
			perror("agbench: open");
			return 1;
		}
		close(fd);
	}
	printf("%lld\n", now_ns() - start);
	return 0;
}
