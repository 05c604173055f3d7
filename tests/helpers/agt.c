// SPDX-License-Identifier: GPL-2.0
/*
 * agt: one operation, one line of result, for tests that assert exact kernel verdicts.
 * Prints "ok" or the errno name (e.g. "EPERM") and exits 0 on success, 1 on failure, 2 on bad
 * usage. Built static so it runs in the guest initramfs.
 *
 *   agt open PATH [r|w|rw|x|rt]  open(2) with O_RDONLY / O_WRONLY / O_RDWR / O_RDONLY|O_EXEC-ish /
 *                                O_RDONLY|O_TRUNC (reads nothing, empties the file)
 *   agt read PATH                open + read the first byte
 *   agt write PATH TEXT          open(O_WRONLY|O_CREAT|O_TRUNC) + write
 *   agt exec PATH [ARG...]       execv(2) (prints nothing on success: the program runs)
 *   agt connect ADDR PORT [tcp|udp]  connect(2); ADDR may be IPv4 or IPv6
 *   agt sendto ADDR PORT TEXT    unconnected UDP sendto(2)
 *   agt serve ADDR PORT N        TCP listener: accept N connections, write "hi" to each
 *   agt udp-serve ADDR PORT N    UDP listener: receive N datagrams, print each
 *   agt dns-serve ADDR PORT NAME=IPV4...  a tiny DNS server (UDP): A and TXT for the names
 *                                given (TTL 1), NXDOMAIN for others; runs until killed
 *   agt dns-query SERVER NAME a|txt|any [tcp]  one query: "NOERROR 1.2.3.4" (the first A),
 *                                the rcode's name, or the errno name of a failed send
 *   agt clone-into-cgroup DIR    clone3(CLONE_INTO_CGROUP) into the cgroup directory DIR
 *   agt unshare user|mount|net   unshare(2) one namespace
 *   agt mount-tmpfs DIR          mount(2) a tmpfs
 *   agt chroot DIR               chroot(2)
 *   agt ptrace PID               PTRACE_SEIZE then detach
 *   agt kill PID SIG             kill(2)
 *   agt unix-serve PATH N        unix stream listener: accept N connections, write "hi"
 *   agt unix-connect PATH        connect(2) to a unix stream socket, read the greeting
 *   agt socket FAMILY TYPE [PROTO]  socket(2) with numeric arguments
 *   agt bpf                      bpf(BPF_MAP_CREATE) of a small array
 *   agt bpf-obj-get PATH         bpf(BPF_OBJ_GET) of a pinned object: with a link's fd a
 *                                process can detach it (BPF_LINK_DETACH); this only opens it
 *   agt bpf-hold-prog LINK       hold an fd of the program a pinned link attaches (by id,
 *                                not the link): print "held", then wait to be killed
 *   agt perf                     perf_event_open(2) of a software clock on itself
 *   agt recvfd PATH              listen on unix PATH, receive one fd by SCM_RIGHTS: "ok" or
 *                                "EPERM" when the kernel dropped it (MSG_CTRUNC)
 *   agt sendfd PATH [FILE]       send a new TCP socket (or FILE opened read-only) over unix PATH
 *   agt mknod PATH b|c MAJ MIN   mknod(2)
 *   agt unlink PATH              unlink(2)
 *   agt prlimit PID              prlimit(2): lower PID's RLIMIT_CPU soft limit to 1000 s
 *   agt setnice PID N            setpriority(2)
 *   agt affinity PID             sched_setaffinity(2) to CPU 0
 *   agt setsched PID POLICY      sched_setscheduler(2): fifo or rr (priority 1), other, batch
 *                                or idle
 *   agt deadline PID             sched_setattr(2) to SCHED_DEADLINE (10 ms every 100 ms)
 *   agt ioprio PID CLASS         ioprio_set(2): rt, be or idle (level 4 where it has one)
 *   agt spin SECONDS             burn CPU for SECONDS, then print ok
 *   agt fill PATH                write zeros to a new file PATH until a write fails: its errno
 *   agt ioctl-setown PID         ioctl(FIOSETOWN) on a new socket, owner PID
 *   agt ioctl32-setown PID       the same through the 32-bit entry (int $0x80: compat_ioctl)
 *   agt async                    fcntl(F_SETFL, O_ASYNC) on a new socket
 *   agt tiocsti                  ioctl(TIOCSTI) on a new pty master
 *   agt listen-any               listen() on a TCP socket never bound (the kernel binds 0.0.0.0)
 *   agt srcroute v4|v6           setsockopt IP_OPTIONS (LSRR) / IPV6_RTHDR (segment routing)
 *   agt uring-connect ADDR PORT  TCP connect through io_uring (IORING_OP_CONNECT)
 *   agt rename OLD NEW           rename(2)
 *   agt link OLD NEW             link(2)
 *   agt truncate PATH LEN        truncate(2)
 *   agt chmod PATH MODE          chmod(2), MODE in octal
 *   agt chown PATH UID GID       chown(2)
 *   agt mkdir PATH               mkdir(2), mode 0755
 *   agt rmdir PATH               rmdir(2)
 *   agt mkfifo PATH              mknod(2) of a FIFO
 *   agt symlink TARGET PATH      symlink(2): a new link PATH pointing at TARGET
 *   agt rename-exchange A B      renameat2(2) with RENAME_EXCHANGE
 *   agt ftruncate PATH LEN       open(O_WRONLY) + ftruncate(2)
 *   agt tmpfile-link DIR PATH    open(DIR, O_TMPFILE), then linkat(2) of /proc/self/fd/N to PATH
 *                                (AT_SYMLINK_FOLLOW: the way that needs no CAP_DAC_READ_SEARCH)
 *   agt memfd                    memfd_create + ftruncate + fchmod + fchown: a file with no path
 *   agt memfd-exec ARG...        copy agt into a memfd, then execveat(2) it (AT_EMPTY_PATH) as
 *                                "agt ARG..." (prints nothing itself on success)
 *   agt opath-exec PATH ARG...   open(PATH, O_PATH), then execveat(2) the fd (AT_EMPTY_PATH) with
 *                                argv ARG... (prints nothing itself on success)
 *   agt memfd-mmap-exec          mmap(PROT_READ|PROT_EXEC) of a memfd holding a page
 *   agt mmap-exec PATH           open(O_RDONLY) + mmap(PROT_READ|PROT_EXEC, MAP_PRIVATE)
 *   agt mprotect-exec PATH       open(O_RDONLY) + mmap(PROT_READ), then mprotect(PROT_EXEC)
 *   agt anon-exec                anonymous mmap(PROT_READ|PROT_WRITE|PROT_EXEC), then a private
 *                                and a shared anonymous PROT_READ mapping mprotect'ed to
 *                                PROT_EXEC (a JIT; the shared one is backed by a shmem file)
 *   agt deep DIR N PROG [ARG...] chdir(2) below DIR through N nested directories of 200-byte
 *                                names (made where missing), then execv(2) PROG there: relative
 *                                paths that are longer than PATH_MAX in full, which no syscall
 *                                is handed whole
 *   agt fchmod FD MODE           fchmod(2) of an inherited fd, MODE in octal
 *   agt read-each PATH...        open each PATH once in one process: "EPERM" if all denied
 *   agt read-then-exec PATH      open PATH, then exec agt read PATH (same pid, new image)
 *   agt child-after-exec PATH    fork; the parent execs busybox sleep 1, the child then reads
 *                                PATH (prints the child's result)
 *   agt read-n PATH N            open PATH for reading N times: "EPERM" if every open got it
 *   agt socket-flood N           N packet sockets, protocols 1..N (distinct denials): "EPERM"
 *                                if every one got it
 *   agt cgns CMD...              new cgroup + mount namespace, cgroup2 remounted on
 *                                /sys/fs/cgroup (a container's view), then exec CMD
 *   agt utimes PATH              utimensat(2) with explicit times (2001-02-03), as touch -d
 *   agt futimens FD              futimens(2) of an inherited fd, explicit times
 *   agt ftruncate-fd FD LEN      ftruncate(2) of an inherited fd
 *   agt setxattr PATH NAME VALUE setxattr(2)
 *   agt fsetxattr FD NAME VALUE  fsetxattr(2) of an inherited fd
 *   agt removexattr PATH NAME    removexattr(2)
 *   agt getxattr PATH NAME       getxattr(2): the value if it is printable, else "N bytes"
 *   agt setcap PATH              setxattr(2) of security.capability: a valid v2 set giving
 *                                CAP_NET_BIND_SERVICE, as setcap would write it
 *   agt setacl PATH              setxattr(2) of system.posix_acl_access: user::rw-,
 *                                user:1000:r--, group::r--, mask::r--, other::r--, as
 *                                setfacl would write it
 *   agt removeacl PATH           removexattr(2) of system.posix_acl_access
 *   agt memfd-times              memfd_create + futimens: a file with no path
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/perf_event.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

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
	case ENOSPC: return "ENOSPC";
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
	case ESRCH: return "ESRCH";
	case ETXTBSY: return "ETXTBSY";
	case ENOSYS: return "ENOSYS";
	case ENXIO: return "ENXIO";
	case ENODEV: return "ENODEV";
	case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ENODATA: return "ENODATA";
	case EMLINK: return "EMLINK";
	case ESOCKTNOSUPPORT: return "ESOCKTNOSUPPORT";
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
	else if (!strcmp(mode, "rt"))
		flags = O_RDONLY | O_TRUNC;	/* reads nothing, empties the file */
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

static int ok_or_fail(int r)
{
	if (r < 0)
		return fail();
	printf("ok\n");
	return 0;
}

static int do_clone_into_cgroup(const char *dir)
{
	struct clone_args args = { .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD };
	int cfd = open(dir, O_RDONLY | O_DIRECTORY), status;
	long pid;

	if (cfd < 0)
		return fail();
	args.cgroup = cfd;
	pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid < 0)
		return fail();
	if (pid == 0)
		_exit(0);
	waitpid(pid, &status, 0);
	printf("ok\n");
	return 0;
}

/* A pathname socket, or an abstract one when path starts with '@'. Returns the address length. */
static int unix_addr(const char *path, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (path[0] == '@') {
		size_t n = strnlen(path + 1, sizeof(a->sun_path) - 1);

		memcpy(a->sun_path + 1, path + 1, n);
		return offsetof(struct sockaddr_un, sun_path) + 1 + n;
	}
	snprintf(a->sun_path, sizeof(a->sun_path), "%s", path);
	return sizeof(*a);
}

static int do_unix_serve(const char *path, int n)
{
	struct sockaddr_un a;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), i;

	if (path[0] != '@')
		unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, unix_addr(path, &a)) < 0 || listen(fd, 8) < 0)
		return fail();
	printf("listening\n");
	fflush(stdout);
	for (i = 0; i < n; i++) {
		int c = accept(fd, NULL, NULL);

		if (c < 0)
			return fail();
		if (write(c, "hi", 2) < 0)
			return fail();
		close(c);
	}
	return 0;
}

static int do_unix_connect(const char *path)
{
	struct sockaddr_un a;
	char buf[16] = {};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&a, unix_addr(path, &a)) < 0)
		return fail();
	if (read(fd, buf, sizeof(buf) - 1) < 0)
		return fail();
	printf("ok %s\n", buf);
	return 0;
}

static int do_recvfd(const char *path)
{
	char cbuf[CMSG_SPACE(sizeof(int))], b;
	struct iovec iov = { .iov_base = &b, .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	struct sockaddr_un a;
	struct cmsghdr *c;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), conn;

	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, unix_addr(path, &a)) < 0 || listen(fd, 1) < 0)
		return fail();
	conn = accept(fd, NULL, NULL);
	if (conn < 0 || recvmsg(conn, &m, 0) < 0)
		return fail();
	c = CMSG_FIRSTHDR(&m);
	if ((m.msg_flags & MSG_CTRUNC) || !c || c->cmsg_type != SCM_RIGHTS) {
		/* The kernel refused to install the fd (security_file_receive). */
		printf("EPERM\n");
		return 1;
	}
	printf("ok\n");
	return 0;
}

static int do_sendfd(const char *path, const char *file)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = {}, b = 'x';
	struct iovec iov = { .iov_base = &b, .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	struct sockaddr_un a;
	struct cmsghdr *c;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), i;
	int s = file ? open(file, O_RDONLY) : socket(AF_INET, SOCK_STREAM, 0);

	for (i = 0; i < 50; i++) {
		if (connect(fd, (struct sockaddr *)&a, unix_addr(path, &a)) == 0)
			break;
		usleep(100000);
	}
	if (i == 50 || s < 0)
		return fail();
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &s, sizeof(int));
	return ok_or_fail(sendmsg(fd, &m, 0));
}

static int do_bpf(void)
{
	union bpf_attr attr = { .map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4,
				.max_entries = 1 };

	return ok_or_fail(syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr)));
}

static int do_bpf_obj_get(const char *path)
{
	union bpf_attr attr = { .pathname = (__u64)(unsigned long)path };

	return ok_or_fail(syscall(SYS_bpf, BPF_OBJ_GET, &attr, sizeof(attr)));
}

static int do_bpf_hold_prog(const char *link)
{
	union bpf_attr attr = { .pathname = (__u64)(unsigned long)link };
	struct bpf_link_info info;
	int lfd, pfd;

	lfd = syscall(SYS_bpf, BPF_OBJ_GET, &attr, sizeof(attr));
	if (lfd < 0)
		return ok_or_fail(lfd);
	memset(&info, 0, sizeof(info));
	memset(&attr, 0, sizeof(attr));
	attr.info.bpf_fd = lfd;
	attr.info.info_len = sizeof(info);
	attr.info.info = (__u64)(unsigned long)&info;
	if (syscall(SYS_bpf, BPF_OBJ_GET_INFO_BY_FD, &attr, sizeof(attr)))
		return ok_or_fail(-1);
	memset(&attr, 0, sizeof(attr));
	attr.prog_id = info.prog_id;
	pfd = syscall(SYS_bpf, BPF_PROG_GET_FD_BY_ID, &attr, sizeof(attr));
	if (pfd < 0)
		return ok_or_fail(pfd);
	close(lfd);
	printf("held\n");
	fflush(stdout);
	for (;;)
		pause();
}

static int do_perf(void)
{
	struct perf_event_attr attr = { .type = PERF_TYPE_SOFTWARE, .size = sizeof(attr),
					.config = PERF_COUNT_SW_CPU_CLOCK, .exclude_kernel = 1 };

	return ok_or_fail(syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0));
}

static int do_ptrace(int pid)
{
	if (ptrace(PTRACE_SEIZE, pid, 0, 0) < 0)
		return fail();
	ptrace(PTRACE_DETACH, pid, 0, 0);
	printf("ok\n");
	return 0;
}

static int do_unshare(const char *what)
{
	int flag = !strcmp(what, "user") ? CLONE_NEWUSER : !strcmp(what, "mount") ? CLONE_NEWNS :
		   CLONE_NEWNET;

	return ok_or_fail(unshare(flag));
}

/*
 * connect() through io_uring (IORING_OP_CONNECT, threat model N4): raw syscalls, one SQE.
 * Prints "ok hi"-less "ok" or the errno name, like connect.
 */
static int do_uring_connect(const char *addr, const char *port)
{
	struct io_uring_params p = {};
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqe;
	unsigned int *sq_tail, *sq_array, *cq_head;
	void *sq, *cq;
	int ring, fd, res;

	sin.sin_port = htons(atoi(port));
	inet_pton(AF_INET, addr, &sin.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ring = syscall(__NR_io_uring_setup, 1, &p);
	if (fd < 0 || ring < 0)
		return fail();
	sq = mmap(NULL, p.sq_off.array + p.sq_entries * sizeof(unsigned int),
		  PROT_READ | PROT_WRITE, MAP_SHARED, ring, IORING_OFF_SQ_RING);
	cq = mmap(NULL, p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe),
		  PROT_READ | PROT_WRITE, MAP_SHARED, ring, IORING_OFF_CQ_RING);
	sqes = mmap(NULL, p.sq_entries * sizeof(*sqes), PROT_READ | PROT_WRITE, MAP_SHARED, ring,
		    IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED)
		return fail();
	memset(&sqes[0], 0, sizeof(sqes[0]));
	sqes[0].opcode = IORING_OP_CONNECT;
	sqes[0].fd = fd;
	sqes[0].addr = (unsigned long)&sin;
	sqes[0].off = sizeof(sin);
	sq_tail = (unsigned int *)((char *)sq + p.sq_off.tail);
	sq_array = (unsigned int *)((char *)sq + p.sq_off.array);
	sq_array[0] = 0;
	__atomic_store_n(sq_tail, *sq_tail + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, ring, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0)
		return fail();
	cq_head = (unsigned int *)((char *)cq + p.cq_off.head);
	cqe = (struct io_uring_cqe *)((char *)cq + p.cq_off.cqes) +
	      (*cq_head & *(unsigned int *)((char *)cq + p.cq_off.ring_mask));
	res = cqe->res;
	if (res < 0) {
		errno = -res;
		return fail();
	}
	printf("ok\n");
	return 0;
}


/* ---- DNS (issue #9 guest tests): just enough of RFC 1035, for names we choose ---------- */

static int dns_name(unsigned char *out, const char *name)
{
	int n = 0;
	const char *p = name, *dot;

	while (*p) {
		int l;

		dot = strchr(p, '.');
		l = dot ? (int)(dot - p) : (int)strlen(p);
		out[n++] = l;
		memcpy(out + n, p, l);
		n += l;
		p += l + (dot ? 1 : 0);
	}
	out[n++] = 0;
	return n;
}

static int do_dns_serve(const char *addr, const char *port, int n, char **recs)
{
	struct sockaddr_storage ss, from;
	socklen_t len, fl;
	unsigned char q[512], r[600];
	int fam = parse_addr(addr, port, &ss, &len), fd, i;

	if (fam < 0)
		return 2;
	fd = socket(fam, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len))
		return fail();
	printf("ok\n");
	fflush(stdout);
	for (;;) {
		char name[256] = "";
		int k, off = 12, o = 0, found = -1, rl;
		unsigned short qtype;
		struct in_addr a;

		fl = sizeof(from);
		k = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
		if (k < 17 || (q[2] & 0x80))
			continue;
		while (off < k && q[off] && q[off] < 64 && off + q[off] < k) {
			if (o)
				name[o++] = '.';
			memcpy(name + o, q + off + 1, q[off]);
			o += q[off];
			off += q[off] + 1;
		}
		name[o] = '\0';
		if (off + 5 > k)
			continue;
		qtype = q[off + 1] << 8 | q[off + 2];
		off += 5;
		for (i = 0; i < n; i++) {
			const char *eq = strchr(recs[i], '=');

			if (eq && (size_t)(eq - recs[i]) == strlen(name) &&
			    !strncasecmp(recs[i], name, eq - recs[i]) &&
			    inet_pton(AF_INET, eq + 1, &a))
				found = i;
		}
		memcpy(r, q, off);
		r[2] = 0x84 | (q[2] & 1);	/* QR, AA, RD as asked */
		r[3] = found < 0 ? 3 : 0;	/* NXDOMAIN */
		r[6] = r[7] = r[8] = r[9] = r[10] = r[11] = 0;
		rl = off;
		if (found >= 0 && (qtype == 1 || qtype == 16)) {
			static const unsigned char txt[] = { 0, 16, 0, 1, 0, 0,
							     0, 1, 0, 2, 1, 'x' };
			static const unsigned char arr[] = { 0, 1, 0, 1, 0, 0, 0, 1, 0, 4 };

			r[7] = 1;
			r[rl++] = 0xc0;
			r[rl++] = 12;
			if (qtype == 16) {
				memcpy(r + rl, txt, sizeof(txt));
				rl += sizeof(txt);
			} else {
				memcpy(r + rl, arr, sizeof(arr));
				rl += sizeof(arr);
				memcpy(r + rl, &a, 4);
				rl += 4;
			}
		}
		sendto(fd, r, rl, 0, (struct sockaddr *)&from, fl);
	}
}

static int do_dns_query(const char *server, const char *name, const char *type, bool tcp)
{
	static const char *const rcodes[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
					      "NOTIMP", "REFUSED" };
	struct sockaddr_storage ss;
	socklen_t len;
	/* [2-byte length for TCP][header][question] */
	unsigned char out[600] = { 0, 0, 0x12, 0x34, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0 }, r[1024];
	unsigned short t = !strcmp(type, "txt") ? 16 : !strcmp(type, "any") ? 255 : 1;
	int fam = parse_addr(server, "53", &ss, &len), fd, n, k, off, an;
	struct timeval tv = { 3, 0 };

	if (fam < 0)
		return 2;
	n = 14 + dns_name(out + 14, name);
	out[n++] = t >> 8;
	out[n++] = t & 0xff;
	out[n++] = 0;
	out[n++] = 1;
	out[0] = (n - 2) >> 8;
	out[1] = (n - 2) & 0xff;
	fd = socket(fam, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len))
		return fail();
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (tcp ? write(fd, out, n) != n : send(fd, out + 2, n - 2, 0) != n - 2)
		return fail();
	if (tcp) {
		unsigned char l[2];
		int want;

		if (recv(fd, l, 2, MSG_WAITALL) != 2)
			return fail();
		want = l[0] << 8 | l[1];
		k = recv(fd, r, want < (int)sizeof(r) ? want : (int)sizeof(r), MSG_WAITALL);
	} else {
		k = recv(fd, r, sizeof(r), 0);
	}
	if (k < 0)
		return fail();
	if (k < 12) {
		printf("short\n");
		return 1;
	}
	an = r[6] << 8 | r[7];
	if ((r[3] & 0xf) || !an) {
		printf("%s\n", (r[3] & 0xf) < 6 ? rcodes[r[3] & 0xf] : "OTHER");
		return (r[3] & 0xf) ? 1 : 0;
	}
	/* Skip the question, then walk the answers for the first A. */
	for (off = 12; off < k && r[off]; off += r[off] + 1)
		;
	off += 5;
	while (an-- > 0 && off + 12 <= k) {
		unsigned short rt, rdl;

		while (off < k && r[off] && (r[off] & 0xc0) != 0xc0)
			off += r[off] + 1;
		off += off < k && (r[off] & 0xc0) == 0xc0 ? 2 : 1;
		if (off + 10 > k)
			break;
		rt = r[off] << 8 | r[off + 1];
		rdl = r[off + 8] << 8 | r[off + 9];
		off += 10;
		if (rt == 1 && rdl == 4 && off + 4 <= k) {
			char a[INET_ADDRSTRLEN];

			inet_ntop(AF_INET, r + off, a, sizeof(a));
			printf("NOERROR %s\n", a);
			return 0;
		}
		off += rdl;
	}
	printf("NOERROR\n");
	return 0;
}

/* The ids of the loaded BPF programs named name, in ascending order, or "none". */
static int do_prog_ids(const char *name)
{
	union bpf_attr attr;
	struct bpf_prog_info info;
	__u32 id = 0;
	int fd, n = 0;

	for (;;) {
		memset(&attr, 0, sizeof(attr));
		attr.start_id = id;
		if (syscall(SYS_bpf, BPF_PROG_GET_NEXT_ID, &attr, sizeof(attr)))
			break;
		id = attr.next_id;
		memset(&attr, 0, sizeof(attr));
		attr.prog_id = id;
		fd = syscall(SYS_bpf, BPF_PROG_GET_FD_BY_ID, &attr, sizeof(attr));
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		memset(&attr, 0, sizeof(attr));
		attr.info.bpf_fd = fd;
		attr.info.info_len = sizeof(info);
		attr.info.info = (__u64)(unsigned long)&info;
		if (!syscall(SYS_bpf, BPF_OBJ_GET_INFO_BY_FD, &attr, sizeof(attr)) &&
		    !strncmp(info.name, name, sizeof(info.name) - 1))
			printf("%s%u", n++ ? " " : "", id);
		close(fd);
	}
	printf("%s\n", n ? "" : "none");
	return 0;
}

/* Explicit times, so the kernel asks for ownership (or CAP_FOWNER), not write access. */
static const struct timespec fixed_times[2] = { { 981158400, 0 }, { 981158400, 0 } };

/* security.capability, revision 2 (linux/capability.h): effective, CAP_NET_BIND_SERVICE. */
static int do_setcap(const char *path)
{
	const unsigned int caps[5] = { 0x02000000 | 0x000001, 1u << 10, 0, 0, 0 };

	return ok_or_fail(setxattr(path, "security.capability", caps, sizeof(caps), 0));
}

/* system.posix_acl_access (linux/posix_acl_xattr.h): version 2, entries sorted by tag. */
static int do_setacl(const char *path)
{
	struct {
		unsigned short tag, perm;
		unsigned int id;
	} acl[5] = {
		{ 0x01, 6, ~0u },	/* ACL_USER_OBJ rw- */
		{ 0x02, 4, 1000 },	/* ACL_USER 1000 r-- */
		{ 0x04, 4, ~0u },	/* ACL_GROUP_OBJ r-- */
		{ 0x10, 4, ~0u },	/* ACL_MASK r-- */
		{ 0x20, 4, ~0u },	/* ACL_OTHER r-- */
	};
	unsigned char buf[4 + sizeof(acl)];
	const unsigned int version = 2;

	memcpy(buf, &version, 4);
	memcpy(buf + 4, acl, sizeof(acl));
	return ok_or_fail(setxattr(path, "system.posix_acl_access", buf, sizeof(buf), 0));
}

static int do_getxattr(const char *path, const char *name)
{
	char buf[256];
	ssize_t n = getxattr(path, name, buf, sizeof(buf) - 1), i;

	if (n < 0)
		return fail();
	for (i = 0; i < n; i++)
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			break;
	buf[n] = '\0';
	if (i < n)
		printf("%zd bytes\n", n);
	else
		printf("%s\n", buf);
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
	if (argc >= 5 && !strcmp(argv[1], "dns-serve"))
		return do_dns_serve(argv[2], argv[3], argc - 4, argv + 4);
	if (argc >= 5 && !strcmp(argv[1], "dns-query"))
		return do_dns_query(argv[2], argv[3], argv[4], argc > 5 && !strcmp(argv[5], "tcp"));
	if (argc == 3 && !strcmp(argv[1], "clone-into-cgroup"))
		return do_clone_into_cgroup(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "unshare"))
		return do_unshare(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "mount-tmpfs"))
		return ok_or_fail(mount("none", argv[2], "tmpfs", 0, NULL));
	if (argc == 3 && !strcmp(argv[1], "chroot"))
		return ok_or_fail(chroot(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "ptrace"))
		return do_ptrace(atoi(argv[2]));
	if (argc == 4 && !strcmp(argv[1], "kill"))
		return ok_or_fail(kill(atoi(argv[2]), atoi(argv[3])));
	if (argc == 4 && !strcmp(argv[1], "unix-serve"))
		return do_unix_serve(argv[2], atoi(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "unix-connect"))
		return do_unix_connect(argv[2]);
	if (argc >= 4 && !strcmp(argv[1], "socket"))
		return ok_or_fail(socket(atoi(argv[2]), atoi(argv[3]), argc > 4 ? atoi(argv[4]) : 0));
	if (argc == 2 && !strcmp(argv[1], "bpf"))
		return do_bpf();
	if (argc == 3 && !strcmp(argv[1], "bpf-hold-prog"))
		return do_bpf_hold_prog(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "bpf-obj-get"))
		return do_bpf_obj_get(argv[2]);
	if (argc == 2 && !strcmp(argv[1], "perf"))
		return do_perf();
	if (argc == 3 && !strcmp(argv[1], "recvfd"))
		return do_recvfd(argv[2]);
	if (argc >= 3 && !strcmp(argv[1], "sendfd"))
		return do_sendfd(argv[2], argc > 3 ? argv[3] : NULL);
	if (argc == 6 && !strcmp(argv[1], "mknod"))
		return ok_or_fail(mknod(argv[2], (argv[3][0] == 'b' ? S_IFBLK : S_IFCHR) | 0600,
					makedev(atoi(argv[4]), atoi(argv[5]))));
	if (argc == 3 && !strcmp(argv[1], "unlink"))
		return ok_or_fail(unlink(argv[2]));
	if (argc == 4 && !strcmp(argv[1], "rename"))
		return ok_or_fail(rename(argv[2], argv[3]));
	if (argc == 4 && !strcmp(argv[1], "link"))
		return ok_or_fail(link(argv[2], argv[3]));
	if (argc == 4 && !strcmp(argv[1], "truncate"))
		return ok_or_fail(truncate(argv[2], atol(argv[3])));
	if (argc == 4 && !strcmp(argv[1], "chmod"))
		return ok_or_fail(chmod(argv[2], strtol(argv[3], NULL, 8)));
	if (argc == 5 && !strcmp(argv[1], "chown"))
		return ok_or_fail(chown(argv[2], atoi(argv[3]), atoi(argv[4])));
	if (argc == 3 && !strcmp(argv[1], "mkdir"))
		return ok_or_fail(mkdir(argv[2], 0755));
	if (argc == 3 && !strcmp(argv[1], "rmdir"))
		return ok_or_fail(rmdir(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "mkfifo"))
		return ok_or_fail(mknod(argv[2], S_IFIFO | 0600, 0));
	if (argc == 4 && !strcmp(argv[1], "symlink"))
		return ok_or_fail(symlink(argv[2], argv[3]));
	if (argc == 4 && !strcmp(argv[1], "rename-exchange"))
		return ok_or_fail(syscall(SYS_renameat2, AT_FDCWD, argv[2], AT_FDCWD, argv[3],
					  RENAME_EXCHANGE));
	if (argc == 4 && !strcmp(argv[1], "ftruncate")) {
		int fd = open(argv[2], O_WRONLY);

		if (fd < 0)
			return fail();
		return ok_or_fail(ftruncate(fd, atol(argv[3])));
	}
	if (argc == 4 && !strcmp(argv[1], "tmpfile-link")) {
		char proc[64];
		int fd = open(argv[2], O_TMPFILE | O_WRONLY, 0600);

		if (fd < 0 || write(fd, "tmp", 3) < 0)
			return fail();
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		return ok_or_fail(linkat(AT_FDCWD, proc, AT_FDCWD, argv[3], AT_SYMLINK_FOLLOW));
	}
	if (argc >= 5 && !strcmp(argv[1], "deep")) {
		/* chdir(2), not open(2): no open is judged on the way down. */
		char name[201];
		int n = atoi(argv[3]), i;

		memset(name, 'a', 200);
		name[200] = '\0';
		if (chdir(argv[2]) < 0)
			return fail();
		for (i = 0; i < n; i++) {
			if (chdir(name) < 0 && (errno != ENOENT || mkdir(name, 0755) < 0 ||
						 chdir(name) < 0))
				return fail();
		}
		execv(argv[4], argv + 4);
		return fail();
	}
	if (argc == 4 && !strcmp(argv[1], "fchmod"))
		return ok_or_fail(fchmod(atoi(argv[2]), strtol(argv[3], NULL, 8)));
	if (argc == 2 && !strcmp(argv[1], "memfd")) {
		int fd = memfd_create("agt", 0);

		if (fd < 0 || ftruncate(fd, 4096) < 0 || fchmod(fd, 0600) < 0 ||
		    fchown(fd, 0, 0) < 0)
			return fail();
		printf("ok\n");
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "memfd-exec")) {
		char buf[65536];
		int fd = memfd_create("agt", 0), exe = open("/proc/self/exe", O_RDONLY);
		ssize_t n;

		if (fd < 0 || exe < 0)
			return fail();
		while ((n = read(exe, buf, sizeof(buf))) > 0)
			if (write(fd, buf, n) != n)
				return fail();
		if (n < 0)
			return fail();
		argv[1] = "agt";
		syscall(SYS_execveat, fd, "", argv + 1, environ, AT_EMPTY_PATH);
		return fail();
	}
	if (argc >= 4 && !strcmp(argv[1], "opath-exec")) {
		int fd = open(argv[2], O_PATH);

		if (fd < 0)
			return fail();
		syscall(SYS_execveat, fd, "", argv + 3, environ, AT_EMPTY_PATH);
		return fail();
	}
	if (argc == 2 && !strcmp(argv[1], "memfd-mmap-exec")) {
		int fd = memfd_create("agt", 0);

		if (fd < 0 || ftruncate(fd, 4096) < 0)
			return fail();
		return ok_or_fail(mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0) ==
						  MAP_FAILED ? -1 : 0);
	}
	if (argc == 3 && !strcmp(argv[1], "mmap-exec")) {
		int fd = open(argv[2], O_RDONLY);

		if (fd < 0)
			return fail();
		return ok_or_fail(mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0) ==
						  MAP_FAILED ? -1 : 0);
	}
	if (argc == 3 && !strcmp(argv[1], "mprotect-exec")) {
		int fd = open(argv[2], O_RDONLY);
		void *p;

		if (fd < 0)
			return fail();
		p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED) {
			printf("mmap-failed\n");
			return 1;
		}
		return ok_or_fail(mprotect(p, 4096, PROT_READ | PROT_EXEC));
	}
	if (argc == 2 && !strcmp(argv[1], "anon-exec")) {
		void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		void *q = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		void *r = mmap(NULL, 4096, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED || q == MAP_FAILED || r == MAP_FAILED ||
		    mprotect(q, 4096, PROT_READ | PROT_EXEC) < 0)
			return fail();
		return ok_or_fail(mprotect(r, 4096, PROT_READ | PROT_EXEC));
	}
	if (argc >= 3 && !strcmp(argv[1], "read-each")) {
		/* One process, each PATH once: distinct denials, never folded together. */
		int i, denied = 0;

		for (i = 2; i < argc; i++) {
			int fd = open(argv[i], O_RDONLY);

			if (fd >= 0)
				close(fd);
			else if (errno == EPERM)
				denied++;
		}
		printf("%s\n", denied == argc - 2 ? "EPERM" : "not-all-denied");
		return denied == argc - 2 ? 0 : 1;
	}
	if (argc == 3 && !strcmp(argv[1], "read-then-exec")) {
		/* Denied, then the same pid execs agt to be denied the same file: a new image. */
		int fd = open(argv[2], O_RDONLY);

		if (fd >= 0)
			close(fd);
		execl("/usr/local/bin/agt", "agt", "read", argv[2], (char *)NULL);
		return fail();
	}
	if (argc == 3 && !strcmp(argv[1], "child-after-exec")) {
		/* The child opens PATH after its parent has exec'd busybox: whose exe is it? */
		pid_t pid = fork();

		if (pid == 0) {
			usleep(300000);
			return do_read(argv[2]);
		}
		execl("/bin/busybox", "busybox", "sleep", "1", (char *)NULL);
		return fail();
	}
	if (argc == 3 && !strcmp(argv[1], "prlimit")) {
		struct rlimit old, lim;

		if (prlimit(atoi(argv[2]), RLIMIT_CPU, NULL, &old) < 0)
			return fail();
		lim.rlim_cur = 1000;
		lim.rlim_max = old.rlim_max;
		return ok_or_fail(prlimit(atoi(argv[2]), RLIMIT_CPU, &lim, NULL));
	}
	if (argc == 4 && !strcmp(argv[1], "setnice"))
		return ok_or_fail(setpriority(PRIO_PROCESS, atoi(argv[2]), atoi(argv[3])));
	if (argc == 3 && !strcmp(argv[1], "affinity")) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(0, &set);
		return ok_or_fail(sched_setaffinity(atoi(argv[2]), sizeof(set), &set));
	}
	if (argc == 4 && !strcmp(argv[1], "setsched")) {
		static const struct { const char *name; int policy, prio; } pol[] = {
			{ "fifo", SCHED_FIFO, 1 }, { "rr", SCHED_RR, 1 }, { "other", SCHED_OTHER, 0 },
			{ "batch", SCHED_BATCH, 0 }, { "idle", SCHED_IDLE, 0 },
		};
		struct sched_param param = {};
		size_t i;

		for (i = 0; i < sizeof(pol) / sizeof(pol[0]); i++)
			if (!strcmp(argv[3], pol[i].name))
				break;
		if (i == sizeof(pol) / sizeof(pol[0]))
			goto usage;
		param.sched_priority = pol[i].prio;
		return ok_or_fail(sched_setscheduler(atoi(argv[2]), pol[i].policy, &param));
	}
	if (argc == 3 && !strcmp(argv[1], "deadline")) {
		/* struct sched_attr (SCHED_ATTR_SIZE_VER0): glibc 2.36 has no wrapper. */
		struct {
			__u32 size, sched_policy;
			__u64 sched_flags;
			__s32 sched_nice;
			__u32 sched_priority;
			__u64 sched_runtime, sched_deadline, sched_period;
		} attr = { .size = 48, .sched_policy = 6 /* SCHED_DEADLINE */,
			   .sched_runtime = 10000000, .sched_deadline = 100000000,
			   .sched_period = 100000000 };

		return ok_or_fail(syscall(SYS_sched_setattr, atoi(argv[2]), &attr, 0));
	}
	if (argc == 4 && !strcmp(argv[1], "ioprio")) {
		/* <linux/ioprio.h>: class << 13 | level; who 1 = IOPRIO_WHO_PROCESS. */
		int class = !strcmp(argv[3], "rt") ? 1 : !strcmp(argv[3], "be") ? 2 :
			    !strcmp(argv[3], "idle") ? 3 : 0;

		if (!class)
			goto usage;
		return ok_or_fail(syscall(SYS_ioprio_set, 1, atoi(argv[2]),
					  class << 13 | (class == 3 ? 0 : 4)));
	}
	if (argc == 3 && !strcmp(argv[1], "fill")) {
		static char zeros[65536];
		int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd < 0)
			return fail();
		while (write(fd, zeros, sizeof(zeros)) > 0)
			;
		return fail();
	}
	if (argc == 3 && !strcmp(argv[1], "spin")) {
		struct timespec t0, t;
		double secs = atof(argv[2]);
		volatile unsigned long n = 0;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		do {
			for (int i = 0; i < 100000; i++)
				n++;
			clock_gettime(CLOCK_MONOTONIC, &t);
		} while (t.tv_sec - t0.tv_sec + (t.tv_nsec - t0.tv_nsec) / 1e9 < secs);
		printf("ok\n");
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "ioctl-setown")) {
		int s = socket(AF_INET, SOCK_DGRAM, 0), owner = atoi(argv[2]);

		return ok_or_fail(ioctl(s, FIOSETOWN, &owner));
	}
	if (argc == 3 && !strcmp(argv[1], "ioctl32-setown")) {
		/* 32-bit ioctl(2) is number 54 on the ia32 entry; the arg must fit 32 bits. */
		static int owner;
		int s = socket(AF_INET, SOCK_DGRAM, 0);
		long r;

		owner = atoi(argv[2]);
		asm volatile("int $0x80" : "=a"(r) : "a"(54), "b"(s), "c"(FIOSETOWN), "d"(&owner)
			     : "memory");
		errno = r < 0 ? (int)-r : 0;
		return ok_or_fail(r < 0 ? -1 : 0);
	}
	if (argc == 2 && !strcmp(argv[1], "async")) {
		int s = socket(AF_INET, SOCK_DGRAM, 0);

		return ok_or_fail(fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_ASYNC));
	}
	if (argc == 2 && !strcmp(argv[1], "tiocsti")) {
		int m = open("/dev/ptmx", O_RDWR | O_NOCTTY);
		char c = 'x';

		if (m < 0)
			return fail();
		return ok_or_fail(ioctl(m, TIOCSTI, &c));
	}
	if (argc >= 3 && !strcmp(argv[1], "cgns")) {
		if (unshare(CLONE_NEWCGROUP | CLONE_NEWNS) ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
			return fail();
		mkdir("/tmp/agt-cgmnt", 0755);
		if (mount("none", "/tmp/agt-cgmnt", "cgroup2", 0, NULL) ||
		    umount2("/sys/fs/cgroup", MNT_DETACH) ||
		    mount("/tmp/agt-cgmnt", "/sys/fs/cgroup", NULL, MS_MOVE, NULL))
			return fail();
		execvp(argv[2], argv + 2);
		return fail();
	}
	if (argc == 2 && !strcmp(argv[1], "listen-any")) {
		int s = socket(AF_INET, SOCK_STREAM, 0);

		return ok_or_fail(listen(s, 1));
	}
	if (argc == 4 && !strcmp(argv[1], "uring-connect"))
		return do_uring_connect(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "prog-ids"))
		return do_prog_ids(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "read-n")) {
		long n = atol(argv[3]), i, denied = 0;

		for (i = 0; i < n; i++) {
			int fd = open(argv[2], O_RDONLY);

			if (fd >= 0)
				close(fd);
			else if (errno == EPERM)
				denied++;
		}
		printf("%s\n", denied == n ? "EPERM" : "not-all-denied");
		return denied == n ? 0 : 1;
	}
	if (argc == 3 && !strcmp(argv[1], "socket-flood")) {
		long n = atol(argv[2]), i, denied = 0;

		for (i = 1; i <= n; i++) {
			int fd = socket(AF_PACKET, SOCK_DGRAM, htons((unsigned short)i));

			if (fd >= 0)
				close(fd);
			else if (errno == EPERM)
				denied++;
		}
		printf("%s\n", denied == n ? "EPERM" : "not-all-denied");
		return denied == n ? 0 : 1;
	}
	if (argc == 3 && !strcmp(argv[1], "srcroute")) {
		static const unsigned char lsrr[8] = { 131, 7, 4, 127, 0, 0, 1, 1 };
		static const unsigned char srh[24] = { 0, 2, 4, 0, 0, 0, 0, 0, [23] = 1 };
		bool v4 = !strcmp(argv[2], "v4");
		int s = socket(v4 ? AF_INET : AF_INET6, SOCK_DGRAM, 0);

		if (v4)
			return ok_or_fail(setsockopt(s, IPPROTO_IP, IP_OPTIONS, lsrr, sizeof(lsrr)));
		return ok_or_fail(setsockopt(s, IPPROTO_IPV6, IPV6_RTHDR, srh, sizeof(srh)));
	}
	if (argc == 3 && !strcmp(argv[1], "utimes"))
		return ok_or_fail(utimensat(AT_FDCWD, argv[2], fixed_times, 0));
	if (argc == 3 && !strcmp(argv[1], "futimens"))
		return ok_or_fail(futimens(atoi(argv[2]), fixed_times));
	if (argc == 4 && !strcmp(argv[1], "ftruncate-fd"))
		return ok_or_fail(ftruncate(atoi(argv[2]), atol(argv[3])));
	if (argc == 5 && !strcmp(argv[1], "setxattr"))
		return ok_or_fail(setxattr(argv[2], argv[3], argv[4], strlen(argv[4]), 0));
	if (argc == 5 && !strcmp(argv[1], "fsetxattr"))
		return ok_or_fail(fsetxattr(atoi(argv[2]), argv[3], argv[4], strlen(argv[4]), 0));
	if (argc == 4 && !strcmp(argv[1], "removexattr"))
		return ok_or_fail(removexattr(argv[2], argv[3]));
	if (argc == 3 && !strcmp(argv[1], "setcap"))
		return do_setcap(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "setacl"))
		return do_setacl(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "getxattr"))
		return do_getxattr(argv[2], argv[3]);
	if (argc == 2 && !strcmp(argv[1], "memfd-times")) {
		int fd = memfd_create("agt", 0);

		if (fd < 0)
			return fail();
		return ok_or_fail(futimens(fd, fixed_times));
	}
	if (argc == 3 && !strcmp(argv[1], "removeacl"))
		return ok_or_fail(removexattr(argv[2], "system.posix_acl_access"));
usage:
	fprintf(stderr, "usage: see the comment at the top of tests/helpers/agt.c\n");
	return 2;
}
