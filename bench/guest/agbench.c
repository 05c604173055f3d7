// SPDX-License-Identifier: GPL-2.0
/*
 * agbench: guest micro-benchmark. Prints the elapsed CLOCK_MONOTONIC nanoseconds of:
 *   agbench open PATH N          N opens and closes of PATH (each must succeed)
 *   agbench open-denied PATH N   N opens of PATH, each of which must fail with EPERM
 *   agbench time CMD [ARG]...    one run of CMD, which must exit 0
 *   agbench freed KB CMD [ARG]...
 *                                run CMD (must exit 0), then the time from its exit until
 *                                MemFree is KB above what it was before CMD ran (polled each
 *                                millisecond; at most 20 s)
 * Under QEMU -icount shift=0 the guest clock advances one nanosecond per guest instruction, so
 * the figure is an instruction count and ratios between variants measured in one boot are
 * repeatable (see bench/run and docs: issue #12's method).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int opens(const char *path, long long n, int denied)
{
	long long start = now_ns(), i;
	int fd;

	for (i = 0; i < n; i++) {
		fd = open(path, O_RDONLY);
		if (denied ? fd >= 0 || errno != EPERM : fd < 0) {
			fprintf(stderr, "agbench: open %s: %s\n", path,
				fd >= 0 ? "allowed, not denied" : strerror(errno));
			return 1;
		}
		if (fd >= 0)
			close(fd);
	}
	printf("%lld\n", now_ns() - start);
	return 0;
}

static int run(char **cmd)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return 1;
	if (pid == 0) {
		execvp(cmd[0], cmd);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "agbench: %s failed\n", cmd[0]);
		return 1;
	}
	return 0;
}

static int timed(char **cmd)
{
	long long start = now_ns();

	if (run(cmd))
		return 1;
	printf("%lld\n", now_ns() - start);
	return 0;
}

static long long memfree_kb(void)
{
	char line[128];
	long long kb = -1;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemFree: %lld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static int freed(long long kb, char **cmd)
{
	const struct timespec ms = { .tv_nsec = 1000000 };
	long long before = memfree_kb(), end;

	if (before < 0 || run(cmd))
		return 1;
	end = now_ns();
	while (memfree_kb() < before + kb) {
		if (now_ns() - end > 20000000000LL) {
			fprintf(stderr, "agbench: MemFree not %lld kB above %lld kB within 20 s\n",
				kb, before);
			return 1;
		}
		nanosleep(&ms, NULL);
	}
	printf("%lld\n", now_ns() - end);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "open"))
		return opens(argv[2], atoll(argv[3]), 0);
	if (argc == 4 && !strcmp(argv[1], "open-denied"))
		return opens(argv[2], atoll(argv[3]), 1);
	if (argc >= 3 && !strcmp(argv[1], "time"))
		return timed(argv + 2);
	if (argc >= 4 && !strcmp(argv[1], "freed"))
		return freed(atoll(argv[2]), argv + 3);
	fprintf(stderr, "usage: agbench open|open-denied PATH N | agbench time CMD [ARG]... | "
		"agbench freed KB CMD [ARG]...\n");
	return 2;
}
