// SPDX-License-Identifier: GPL-2.0
/*
 * sysprobe NAME: make one system call with arguments that succeed or fail harmlessly without
 * a seccomp filter, and print "ok" or the errno's name: what host mode's filter refuses is then
 * told apart from what the kernel would have said anyway. Also:
 *   sysprobe nnp     print the NoNewPrivs value of this process
 *   sysprobe fd N    "open" if fd N is open, else "closed"
 * Names: userfaultfd, io_uring_setup, clone3, perf_event_open, open_by_handle_at, bpf, fsopen,
 * unshare-uts, keyctl.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *errname(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case ENOSYS: return "ENOSYS";
	case EINVAL: return "EINVAL";
	case EFAULT: return "EFAULT";
	case EBADF: return "EBADF";
	case EACCES: return "EACCES";
	case ENOENT: return "ENOENT";
	case E2BIG: return "E2BIG";
	default: return "other";
	}
}

static int report(long r)
{
	if (r < 0)
		printf("%s\n", errname(errno));
	else
		printf("ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	unsigned char params[120] = {};	/* struct io_uring_params */
	char line[256];
	FILE *f;

	if (argc == 2 && !strcmp(argv[1], "nnp")) {
		f = fopen("/proc/self/status", "r");
		while (f && fgets(line, sizeof(line), f))
			if (!strncmp(line, "NoNewPrivs:", 11))
				printf("%d\n", atoi(line + 11));
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "fd")) {
		printf("%s\n", fcntl(atoi(argv[2]), F_GETFD) < 0 ? "closed" : "open");
		return 0;
	}
	if (argc != 2)
		return 2;
	if (!strcmp(argv[1], "userfaultfd"))
		return report(syscall(SYS_userfaultfd, O_CLOEXEC));
	if (!strcmp(argv[1], "io_uring_setup"))
		return report(syscall(SYS_io_uring_setup, 1, params));
	if (!strcmp(argv[1], "clone3"))	/* size 0: EINVAL from the kernel */
		return report(syscall(SYS_clone3, NULL, 0));
	if (!strcmp(argv[1], "perf_event_open"))	/* NULL attr: EFAULT from the kernel */
		return report(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
	if (!strcmp(argv[1], "open_by_handle_at"))	/* bad fd: EBADF, or EPERM without the cap */
		return report(syscall(SYS_open_by_handle_at, -1, NULL, 0));
	if (!strcmp(argv[1], "fsopen"))		/* bad fs name: ENODEV or EPERM */
		return report(syscall(SYS_fsopen, "agentguard-none", 0));
	if (!strcmp(argv[1], "keyctl"))		/* KEYCTL_GET_KEYRING_ID of the session keyring */
		return report(syscall(SYS_keyctl, 0, -3, 1));
	return 2;
}
