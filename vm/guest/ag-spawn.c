// SPDX-License-Identifier: GPL-2.0
/*
 * ag-spawn: start the test bed's command inside the guest.
 *
 *   ag-spawn [--cgroup DIR] [--uid UID] [--cwd DIR] [--setup-failed-file FILE] --argv-file FILE
 *   ag-spawn [--cgroup DIR] [--uid UID] [--cwd DIR] [--setup-failed-file FILE] -- CMD [ARG...]
 *
 * Forks the command. The child joins DIR (by writing its pid to DIR/cgroup.procs) before anything
 * else, so the command is governed from its first instruction; then drops to UID (gid UID, no
 * supplementary groups), builds a fresh environment (PATH, HOME), resets signal dispositions,
 * changes to --cwd (as UID, so a directory UID may not enter is a setup failure; default /),
 * closes every fd above 2 and execs the command.
 *
 * The command's stdout and stderr are pipes that this process (the parent, which stays in
 * /init's cgroup and keeps root) copies to its own stdout and stderr, the virtio-serial ports.
 * Handing the ports over directly would break `echo x >/dev/stderr`: reopening a virtio console
 * port fails with EBUSY (one opener at a time) and, for a non-root command, EACCES. The copy
 * stops once the command has exited and what it left in the pipes is drained, so a background
 * process that keeps the pipe open cannot hold the run.
 *
 * Exit statuses: the command's own, 128+N if signal N killed it; 127 if the command was not
 * found and 126 if it could not be executed (like a shell); 125 if setting up failed, in which
 * case the reason is also written to --setup-failed-file so /init can tell a setup failure from a
 * command that happens to exit 125.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define GUEST_PATH "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
#define EXIT_SETUP 125
#define EXIT_NOEXEC 126
#define EXIT_NOTFOUND 127
#define MAX_ARGV_BYTES (1 << 20)

static const char *setup_failed_file;

/* Report a setup failure on stderr and in the marker file, then exit 125. */
static void __attribute__((noreturn, format(printf, 1, 2))) setup_fail(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int fd;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "ag-spawn: %s\n", msg);
	if (setup_failed_file) {
		fd = open(setup_failed_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd >= 0) {
			dprintf(fd, "%s\n", msg);
			close(fd);
		}
	}
	exit(EXIT_SETUP);
}

/* Read a NUL-separated argument vector (each argument NUL-terminated) into a NULL-ended array. */
static char **read_argv_file(const char *path)
{
	char *buf = NULL, **argv = NULL;
	size_t len = 0, n = 0, i;
	ssize_t got;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		setup_fail("cannot open argv file '%s': %s", path, strerror(errno));
	buf = malloc(MAX_ARGV_BYTES + 1);
	if (!buf)
		setup_fail("out of memory");
	while ((got = read(fd, buf + len, MAX_ARGV_BYTES - len)) > 0)
		len += got;
	if (got < 0)
		setup_fail("cannot read argv file '%s': %s", path, strerror(errno));
	close(fd);
	if (len == 0)
		setup_fail("argv file '%s' is empty", path);
	/* A missing final NUL would leave the last argument unterminated. */
	if (buf[len - 1] != '\0')
		buf[len++] = '\0';

	for (i = 0; i < len; i++)
		if (buf[i] == '\0')
			n++;
	argv = calloc(n + 1, sizeof(*argv));
	if (!argv)
		setup_fail("out of memory");
	argv[0] = buf;
	for (i = 0, n = 1; i + 1 < len; i++)
		if (buf[i] == '\0')
			argv[n++] = buf + i + 1;
	return argv;
}

/* Move this process into the cgroup DIR; the exec'd command inherits the membership. */
static void join_cgroup(const char *dir)
{
	char path[PATH_MAX], pid[32];
	int fd, len;

	if (snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >= (int)sizeof(path))
		setup_fail("cgroup path '%s' too long", dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		setup_fail("cannot open '%s': %s", path, strerror(errno));
	len = snprintf(pid, sizeof(pid), "%d\n", getpid());
	if (write(fd, pid, len) != len)
		setup_fail("cannot join cgroup '%s': %s", dir, strerror(errno));
	close(fd);
}

static void drop_to_uid(uid_t uid)
{
	/* Order matters: groups and gid can only be changed while still root. */
	if (setgroups(0, NULL) < 0)
		setup_fail("setgroups: %s", strerror(errno));
	if (setresgid(uid, uid, uid) < 0)
		setup_fail("setresgid(%u): %s", (unsigned)uid, strerror(errno));
	if (setresuid(uid, uid, uid) < 0)
		setup_fail("setresuid(%u): %s", (unsigned)uid, strerror(errno));
}

/* The command starts with nothing inherited from /init but stdin and its two pipes. */
static void reset_process_state(uid_t uid, const char *cwd)
{
	sigset_t none;
	int sig;

	for (sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL); /* fails harmlessly for SIGKILL, SIGSTOP, RT internals */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	umask(022);

	if (clearenv() != 0 || setenv("PATH", GUEST_PATH, 1) < 0 ||
	    setenv("HOME", uid == 0 ? "/root" : "/tmp", 1) < 0)
		setup_fail("cannot build the environment");
	if (chdir(cwd) < 0)
		setup_fail("chdir %s: %s", cwd, strerror(errno));

	/* close_range exists since 5.9; both supported guest kernels have it. */
	if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0)
		setup_fail("close_range: %s", strerror(errno));
}

static void __attribute__((noreturn)) usage(void)
{
	fprintf(stderr, "usage: ag-spawn [--cgroup DIR] [--uid UID] [--cwd DIR] "
			"[--setup-failed-file FILE] "
			"{--argv-file FILE | -- CMD [ARG...]}\n");
	exit(EXIT_SETUP);
}

/* Write all of buf to fd; the ports accept everything eventually, so only EINTR is retried. */
static int write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

/* Copy what is readable on *in to out; close *in (and set it to -1) at EOF or on error. */
static void copy_available(int *in, int out)
{
	char buf[65536];
	ssize_t n;

	n = read(*in, buf, sizeof(buf));
	if (n > 0) {
		/* A failing port loses output but must not stop the run: keep draining. */
		write_all(out, buf, n);
		return;
	}
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	close(*in);
	*in = -1;
}

/* Relay the command's pipes to our stdout/stderr until it exits; return its wait status. */
static int relay_until_exit(pid_t child, int out_r, int err_r)
{
	int fds[2] = { out_r, err_r }, status = 0, pidfd, i;
	struct pollfd pfd[3];

	/* pidfd_open exists since 5.3: poll() then wakes on the child's exit as well as on output. */
	pidfd = syscall(SYS_pidfd_open, child, 0);
	if (pidfd < 0)
		setup_fail("pidfd_open: %s", strerror(errno));
	for (;;) {
		for (i = 0; i < 2; i++) {
			pfd[i].fd = fds[i];
			pfd[i].events = POLLIN;
		}
		pfd[2].fd = pidfd;
		pfd[2].events = POLLIN;
		if (poll(pfd, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			setup_fail("poll: %s", strerror(errno));
		}
		for (i = 0; i < 2; i++)
			if (fds[i] >= 0 && pfd[i].revents)
				copy_available(&fds[i], i + 1);
		if (pfd[2].revents)
			break;
	}
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	/* Drain what the command left behind without waiting for descendants that keep the pipes. */
	for (i = 0; i < 2; i++) {
		if (fds[i] < 0)
			continue;
		fcntl(fds[i], F_SETFL, O_NONBLOCK);
		while (fds[i] >= 0) {
			char buf[65536];
			ssize_t n = read(fds[i], buf, sizeof(buf));

			if (n <= 0)
				break;
			write_all(i + 1, buf, n);
		}
	}
	return status;
}

int main(int argc, char **argv)
{
	const char *cgroup = NULL, *argv_file = NULL, *cwd = "/";
	int out_pipe[2], err_pipe[2], status;
	char **cmd = NULL, *end;
	unsigned long uid = 0;
	pid_t child;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			cmd = argv + i + 1;
			break;
		}
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--cgroup") == 0) {
			cgroup = argv[++i];
		} else if (strcmp(argv[i], "--uid") == 0) {
			errno = 0;
			uid = strtoul(argv[++i], &end, 10);
			if (errno || *end || end == argv[i] || uid >= (uid_t)-1)
				usage();
		} else if (strcmp(argv[i], "--cwd") == 0) {
			cwd = argv[++i];
		} else if (strcmp(argv[i], "--setup-failed-file") == 0) {
			setup_failed_file = argv[++i];
		} else if (strcmp(argv[i], "--argv-file") == 0) {
			argv_file = argv[++i];
		} else {
			usage();
		}
	}
	if (argv_file)
		cmd = read_argv_file(argv_file);
	if (!cmd || !cmd[0])
		usage();

	if (pipe2(out_pipe, O_CLOEXEC) < 0 || pipe2(err_pipe, O_CLOEXEC) < 0)
		setup_fail("pipe: %s", strerror(errno));
	/* Pipes are mode 0600: give them to UID so it can reopen /dev/stdout like anywhere else. */
	if (uid != 0 && (fchown(out_pipe[0], uid, uid) < 0 || fchown(err_pipe[0], uid, uid) < 0))
		setup_fail("fchown pipes: %s", strerror(errno));
	/* A port that goes away must not kill the relay before it reports the status. */
	signal(SIGPIPE, SIG_IGN);
	child = fork();
	if (child < 0)
		setup_fail("fork: %s", strerror(errno));
	if (child == 0) {
		if (dup2(out_pipe[1], STDOUT_FILENO) < 0 || dup2(err_pipe[1], STDERR_FILENO) < 0)
			setup_fail("dup2: %s", strerror(errno));
		if (cgroup)
			join_cgroup(cgroup);
		if (uid != 0)
			drop_to_uid(uid);
		reset_process_state(uid, cwd);
		execvp(cmd[0], cmd);
		/* The command itself failed; stderr is already the command's stderr. */
		fprintf(stderr, "ag-spawn: %s: %s\n", cmd[0], strerror(errno));
		_exit(errno == ENOENT || errno == ENOTDIR ? EXIT_NOTFOUND : EXIT_NOEXEC);
	}
	close(out_pipe[1]);
	close(err_pipe[1]);
	status = relay_until_exit(child, out_pipe[0], err_pipe[0]);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
