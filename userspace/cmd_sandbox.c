// SPDX-License-Identifier: GPL-2.0
/*
 * agentguard sandbox run --policy FILE [--policy FILE]... [--workspace DIR] [--name NAME]
 *                        [--events FILE|-] [--format json] [--journal] [--kernel 6.12|6.1|DIR]
 *                        [--runas USER] [--network none|filtered] [--timeout SECONDS] [-v]
 *                        -- CMD [ARG]...
 * agentguard sandbox ls [--json]
 * agentguard sandbox stop NAME
 *
 * The microVM outer boundary (issue #11, docs/sandbox.md). run compiles the policies on the
 * host, boots a QEMU microvm with the test bed's guest image (vm/mkimage, vm/guest-init in
 * sandbox mode) and counts the run as started only when the guest says "enforcing" on ag.ctl.
 * QEMU runs unprivileged from its first instruction: the runner's child joins the sandbox's
 * cgroup, drops to the sandbox user and execs QEMU with -sandbox on (QEMU 7.2's own -runas
 * cannot be combined with elevateprivileges=deny: its setgid is then killed by its own
 * seccomp filter, measured). The workspace is the only host directory shared (9p,
 * security_model=mapped-xattr, readonly=on unless the policy grants a write under
 * /workspace). The guest's ports (ag.ctl, ag.stdout, ag.stderr, ag.events) are socketpairs
 * QEMU inherits (-chardev socket,fd=N): no path another process could write. Events are
 * checked as untrusted input
 * (guest_rx.c) and written to the host's sinks with origin guest and the sandbox's name.
 * What the guest can make QEMU write to the host's disk (the serial console, QEMU's own
 * messages) passes through the runner and is bounded (struct sbx_log).
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "cli.h"
#include "clock.h"
#include "compile.h"
#include "dns.h"
#include "events.h"
#include "guest_rx.h"
#include "json.h"
#include "log.h"
#include "sandbox_net.h"
#include "sandbox_state.h"
#include "sink_journal.h"

#define SBX_MAX_POLICIES	32
/* Boot to "enforcing": loading BPF under TCG is slow. */
#define SBX_BOOT_TIMEOUT_S	180
#define SBX_STOP_GRACE_MS	5000	/* QEMU's SIGTERM to cgroup.kill */
/*
 * Socketpairs from QEMU to the runner. ag.ctl, ag.stdout, ag.stderr, ag.events and the serial
 * console are QEMU's fds 3-7 (-chardev socket,fd=N); the tap is fd 8, the guard's socket 9.
 * CH_QLOG is QEMU's stdout and stderr.
 */
enum { CH_CTL, CH_OUT, CH_ERR, CH_EV, CH_CON, CH_QLOG, SBX_CHANNELS };
#define SBX_CHARDEVS		(CH_CON + 1)
#define SBX_FIRST_FD		3
#define SBX_QEMU_FDS		(SBX_CHARDEVS + 2)	/* the chardevs, the tap, the guard */
/* Each of console.log and qemu.log, before it becomes NAME.1: docs/sandbox.md. */
#define SBX_LOG_MAX		(256 << 10)

/* The runner's own exit statuses (besides CMD's 0-255); docs/sandbox.md#exit-status. */
#define SBX_EXIT_UNENFORCED	AG_EXIT_UNAVAILABLE	/* 69: enforcement never confirmed */
#define SBX_EXIT_TIMEOUT	124
#define SBX_EXIT_GUEST		125	/* no status after the start */

/* The test-only flag's gate: the product refuses --test-unenforced-guest without it. */
#define SBX_TEST_GATE		"AGENTGUARD_TEST_UNENFORCED_GUEST"

struct sbx_opts {
	char *policies[SBX_MAX_POLICIES];
	int n_pol;
	const char *workspace, *name, *events, *format, *kernel, *runas, *network;
	bool journal, test_unenforced;
	unsigned int timeout_s;
	char **cmd;
};

struct sbx_user {
	uid_t uid;
	gid_t gid;
};

static void sandbox_usage(FILE *f)
{
	fputs("usage: agentguard sandbox run --policy FILE [--policy FILE]... [--workspace DIR]\n"
	      "           [--name NAME] [--events FILE|-] [--format json] [--journal]\n"
	      "           [--kernel 6.12|6.1|DIR] [--runas USER] [--network none|filtered]\n"
	      "           [--timeout SECONDS] [-v] -- CMD [ARG]...\n"
	      "       agentguard sandbox ls [--json]\n"
	      "       agentguard sandbox stop NAME\n",
	      f);
}

/* The build tree this binary was built in: <top>/build/agentguard. */
static int tree_top(char *buf, size_t len)
{
	char exe[PATH_MAX], *s;
	ssize_t n;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return -errno;
	exe[n] = '\0';
	for (int i = 0; i < 2; i++) {
		s = strrchr(exe, '/');
		if (!s)
			return -ENOENT;
		*s = '\0';
	}
	if ((size_t)snprintf(buf, len, "%s", exe[0] ? exe : "/") >= len)
		return -ENAMETOOLONG;
	return 0;
}

/*
 * An id as a whole decimal string: no sign, no junk, not 0 (root) and not (id_t)-1, which
 * setresuid/setresgid read as "leave unchanged". 0 or -EINVAL.
 */
static int parse_id(const char *s, size_t len, unsigned int *id)
{
	unsigned long long v = 0;
	size_t i;

	if (!len || len > 10)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	if (v == 0 || v >= 0xffffffffULL)
		return -EINVAL;
	*id = v;
	return 0;
}

/*
 * --runas (a name, or uid[:gid]), else SUDO_UID/SUDO_GID, else nobody. Never uid or gid 0,
 * never (id_t)-1. 0, -EINVAL (a malformed or privileged id) or -ENOENT (no such user).
 */
static int pick_user(const char *runas, struct sbx_user *u)
{
	const char *su = getenv("SUDO_UID"), *sg = getenv("SUDO_GID"), *colon;
	struct passwd *pw;
	unsigned int uid, gid;

	if (runas) {
		colon = strchr(runas, ':');
		if (runas[0] >= '0' && runas[0] <= '9') {
			if (parse_id(runas, colon ? (size_t)(colon - runas) : strlen(runas), &uid) ||
			    parse_id(colon ? colon + 1 : runas, strlen(colon ? colon + 1 : runas),
				     &gid))
				return -EINVAL;
			u->uid = uid;
			u->gid = gid;
			return 0;
		}
		pw = getpwnam(runas);
		if (!pw)
			return -ENOENT;
		u->uid = pw->pw_uid;
		u->gid = pw->pw_gid;
	} else if (su && *su) {
		if (parse_id(su, strlen(su), &uid) ||
		    parse_id(sg && *sg ? sg : su, strlen(sg && *sg ? sg : su), &gid))
			return -EINVAL;
		u->uid = uid;
		u->gid = gid;
	} else {
		pw = getpwnam("nobody");
		u->uid = pw ? pw->pw_uid : 65534;
		u->gid = pw ? pw->pw_gid : 65534;
	}
	if (u->uid == 0 || u->gid == 0 || u->uid == (uid_t)-1 || u->gid == (gid_t)-1)
		return -EINVAL;
	return 0;
}

/* Drop to the sandbox user, and check that it took: every id is the one asked for. */
static int drop_to(const struct sbx_user *u)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;

	if (setgroups(0, NULL) || setresgid(u->gid, u->gid, u->gid) ||
	    setresuid(u->uid, u->uid, u->uid))
		return -errno;
	if (getresuid(&r, &e, &s) || getresgid(&rg, &eg, &sg))
		return -errno;
	if (r != u->uid || e != u->uid || s != u->uid || rg != u->gid || eg != u->gid ||
	    sg != u->gid || r == 0)
		return -EPERM;
	return 0;
}

/*
 * May the sandbox user access path with mode (access(2))? Asked as that user, in a child:
 * root's view of permissions says nothing about it.
 */
static int user_can_use(const struct sbx_user *u, const char *path, int mode)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -errno;
	if (!pid) {
		if (drop_to(u))
			_exit(2);
		_exit(access(path, mode) ? 1 : 0);
	}
	if (waitpid(pid, &st, 0) < 0)
		return -errno;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EACCES;
}

/* Run argv with stdout into out (at most len - 1 bytes) and stderr to log_fd. Its status. */
static int run_capture(char *const argv[], char *out, size_t len, int log_fd)
{
	int p[2], st;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (!pid) {
		dup2(p[1], STDOUT_FILENO);
		dup2(log_fd, STDERR_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	while (got < len - 1 && (n = read(p[0], out + got, len - 1 - got)) > 0)
		got += n;
	out[got] = '\0';
	close(p[0]);
	if (waitpid(pid, &st, 0) < 0)
		return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/*
 * The test bed's choice (vm/agentguard-vm --probe-accel: TCG unless AGENTGUARD_ACCEL forces
 * one, or /dev/kvm exists and a probe boot under KVM worked, cached per host boot; on some of
 * our machines /dev/kvm exists and hangs), made in that one place. QEMU runs as the sandbox
 * user, so KVM also needs that user to be able to open /dev/kvm, unless it was forced. Any
 * failure of the probe means TCG: slower, never less enforced.
 */
static const char *choose_accel(const char *top, const char *kdir, int log_fd,
				const struct sbx_user *u)
{
	const char *forced = getenv("AGENTGUARD_ACCEL");
	char vm[PATH_MAX + 32], out[16];
	char *argv[] = { vm, "--kernel", (char *)kdir, "--probe-accel", NULL };

	snprintf(vm, sizeof(vm), "%s/vm/agentguard-vm", top);
	if (run_capture(argv, out, sizeof(out), log_fd) || strcmp(out, "kvm\n"))
		return "tcg";
	if (forced && !strcmp(forced, "kvm"))
		return "kvm";
	return user_can_use(u, "/dev/kvm", R_OK | W_OK) ? "tcg" : "kvm";
}

/* Copy src into dir_fd/name (0644) and return 0 or -errno. */
static int copy_file(const char *src, int dir_fd, const char *name)
{
	char buf[65536];
	int in, out, err = 0;
	ssize_t n;

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (out < 0) {
		err = -errno;
		close(in);
		return err;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (write(out, buf, n) != n) {
			err = -EIO;
			break;
		}
	}
	if (n < 0)
		err = -errno;
	close(in);
	close(out);
	return err;
}

/*
 * The guest's spec share: argv, the policies (one directory each, basenames kept), the
 * workspace share, the sandbox marker, and (test-only) the unenforced marker. The copies are
 * what the guest loads; run compiles them again and checks they are what it compiled first.
 */
static int write_spec(int state_fd, const struct sbx_opts *o, const char *ws_mode,
		      char copies[][PATH_MAX], const char *state_path)
{
	char sub[64], line[128];
	int spec = -1, pol = -1, d = -1, fd = -1, i, err = 0;
	FILE *f = NULL;

	if (mkdirat(state_fd, "spec", 0755))
		return -errno;
	spec = openat(state_fd, "spec", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (spec < 0)
		return -errno;
	fchmod(spec, 0755);
	fd = openat(spec, "argv", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		err = -errno;
		goto cleanup;
	}
	fd = -1;
	for (i = 0; o->cmd[i]; i++)
		fwrite(o->cmd[i], 1, strlen(o->cmd[i]) + 1, f);
	if (fclose(f)) {
		f = NULL;
		err = -EIO;
		goto cleanup;
	}
	f = NULL;
	if (mkdirat(spec, "policy", 0755) ||
	    (pol = openat(spec, "policy", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		err = -errno;
		goto cleanup;
	}
	fd = openat(spec, "policies", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		err = -errno;
		goto cleanup;
	}
	fd = -1;
	for (i = 0; i < o->n_pol; i++) {
		const char *base = strrchr(o->policies[i], '/');

		base = base ? base + 1 : o->policies[i];
		if (!*base || strchr(base, '\n') || strlen(base) > NAME_MAX) {
			err = -EINVAL;
			goto cleanup;
		}
		snprintf(sub, sizeof(sub), "%d", i);
		if (mkdirat(pol, sub, 0755) ||
		    (d = openat(pol, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
			err = -errno;
			goto cleanup;
		}
		err = copy_file(o->policies[i], d, base);
		close(d);
		d = -1;
		if (err)
			goto cleanup;
		fprintf(f, "policy/%d/%s\n", i, base);
		if (snprintf(copies[i], PATH_MAX, "%s/spec/policy/%d/%s", state_path, i, base) >=
		    PATH_MAX) {
			err = -ENAMETOOLONG;
			goto cleanup;
		}
	}
	if (fclose(f)) {
		f = NULL;
		err = -EIO;
		goto cleanup;
	}
	f = NULL;
	snprintf(line, sizeof(line), ws_mode ? "t0\t%s\t/workspace" : "%s", ws_mode ? ws_mode : "");
	err = ag_sbx_state_put(spec, "shares", line);
	/* CMD starts in the workspace when there is one, else in /. */
	if (!err && ws_mode)
		err = ag_sbx_state_put(spec, "cwd", "/workspace");
	if (!err)
		err = ag_sbx_state_put(spec, "sandbox", o->name);
	if (!err && o->test_unenforced)
		err = ag_sbx_state_put(spec, "unenforced", "test only");

cleanup:
	if (f)
		fclose(f);
	if (fd >= 0)
		close(fd);
	if (d >= 0)
		close(d);
	if (pol >= 0)
		close(pol);
	close(spec);
	return err;
}

/*
 * spec/net (vm/guest-init's configure_net and start_sandbox):
 *   ADDR/PREFIX GATEWAY MAC
 *   resolver NAMESERVER
 * The nameserver is the guest daemon's resolver (127.0.0.53) when the policy has domain rules
 * (it then starts one, with the gateway as its upstream), else the host's on the gateway: the
 * host knows that from the compiled policy, so the guest need not guess. 0 or -errno.
 */
static int write_net_spec(int state_fd, const struct ag_sbx_net_plan *plan,
			  const struct ag_compiled *c)
{
	char addr[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN], line[160];
	int spec, err;

	if (!inet_ntop(AF_INET, &plan->guest_addr, addr, sizeof(addr)) ||
	    !inet_ntop(AF_INET, &plan->host_addr, gw, sizeof(gw)))
		return -EINVAL;
	snprintf(line, sizeof(line), "%s/%u %s %02x:%02x:%02x:%02x:%02x:%02x\nresolver %s", addr,
		 plan->prefix_len, gw, plan->guest_mac[0], plan->guest_mac[1], plan->guest_mac[2],
		 plan->guest_mac[3], plan->guest_mac[4], plan->guest_mac[5],
		 c->n_dom ? "127.0.0.53" : gw);
	spec = openat(state_fd, "spec", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (spec < 0)
		return -errno;
	err = ag_sbx_state_put(spec, "net", line);
	close(spec);
	return err;
}

/*
 * A guest-to-host channel: a socketpair, QEMU's end a `-chardev socket,fd=N`. No path exists,
 * so nothing else on the host can write into it (a FIFO QEMU's user could open would let any
 * process of that user forge "enforcing" or a status). The runner's end is non-blocking; QEMU's
 * end is in *qemu_end. 0 or -errno.
 */
static int make_channel(int *runner_end, int *qemu_end)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK)) {
		int err = -errno;

		close(sv[0]);
		close(sv[1]);
		return err;
	}
	*runner_end = sv[0];
	*qemu_end = sv[1];
	return 0;
}

/* QEMU splits option values at commas; a literal comma is written twice. */
static void qemu_escape(struct ag_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == ',')
			ag_buf_lit(b, ",");
		ag_buf_put(b, s, 1);
	}
}

struct qemu_argv {
	char *v[96];
	int n;
	struct ag_buf arena[16];
	int na;
};

static void qa_add(struct qemu_argv *q, const char *s)
{
	if (q->n < 95)
		q->v[q->n++] = (char *)s;
	q->v[q->n] = NULL;
}

/* Builds one argument in an arena buffer of its own: prefix, escaped path, suffix. */
static void qa_path(struct qemu_argv *q, const char *pre, const char *path, const char *post)
{
	struct ag_buf *b;

	if (q->na == 16)
		return;
	b = &q->arena[q->na++];
	ag_buf_puts(b, pre);
	qemu_escape(b, path);
	ag_buf_puts(b, post);
	qa_add(q, b->oom ? "" : b->p);
}

static void qa_free(struct qemu_argv *q)
{
	for (int i = 0; i < q->na; i++)
		ag_buf_free(&q->arena[i]);
}

/*
 * The guest kernel's command line, shared with the test bed: the first line of
 * <top>/vm/guest/cmdline that is neither empty nor a comment. 0, -ENOENT (no such line),
 * -E2BIG or -errno.
 */
static int read_cmdline(const char *top, char *buf, size_t len)
{
	char path[PATH_MAX + 32], *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int err = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "%s/vm/guest/cmdline", top);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while ((n = getline(&line, &cap, f)) > 0) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || !line[strspn(line, " \t")])
			continue;
		err = (size_t)snprintf(buf, len, "%s", line) < len ? 0 : -E2BIG;
		break;
	}
	free(line);
	fclose(f);
	return err;
}

/* QEMU's command line (docs/sandbox.md#what-happens-in-order). 0 or -ENOMEM. */
static int build_qemu_args(struct qemu_argv *q, const char *state_path, const char *boot_kernel,
			   const char *initrd, const char *accel, const char *cmdline,
			   const char *ws, const char *ws_mode, const struct ag_sbx_net_plan *plan)
{
	char mac[24];
	int i;

	qa_add(q, "qemu-system-x86_64");
	qa_add(q, "-M");
	qa_add(q, "microvm");
	qa_add(q, "-nodefaults");
	qa_add(q, "-no-user-config");
	qa_add(q, "-no-reboot");
	qa_add(q, "-display");
	qa_add(q, "none");
	qa_add(q, "-monitor");
	qa_add(q, "none");
	qa_add(q, "-m");
	qa_add(q, "512");
	qa_add(q, "-accel");
	qa_add(q, accel);
	qa_add(q, "-cpu");
	qa_add(q, strcmp(accel, "kvm") ? "max" : "host");
	qa_add(q, "-sandbox");
	qa_add(q, "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
	qa_add(q, "-kernel");
	qa_add(q, boot_kernel);
	qa_add(q, "-initrd");
	qa_add(q, initrd);
	qa_add(q, "-append");
	qa_add(q, cmdline);
	qa_add(q, "-chardev");
	qa_add(q, "socket,id=con,fd=7");
	qa_add(q, "-serial");
	qa_add(q, "chardev:con");
	qa_add(q, "-device");
	qa_add(q, "virtio-serial-device");
	qa_add(q, "-chardev");
	qa_add(q, "socket,id=agctl,fd=3");
	qa_add(q, "-device");
	qa_add(q, "virtserialport,chardev=agctl,name=ag.ctl");
	qa_add(q, "-chardev");
	qa_add(q, "socket,id=agout,fd=4");
	qa_add(q, "-device");
	qa_add(q, "virtserialport,chardev=agout,name=ag.stdout");
	qa_add(q, "-chardev");
	qa_add(q, "socket,id=agerr,fd=5");
	qa_add(q, "-device");
	qa_add(q, "virtserialport,chardev=agerr,name=ag.stderr");
	qa_add(q, "-chardev");
	qa_add(q, "socket,id=agev,fd=6");
	qa_add(q, "-device");
	qa_add(q, "virtserialport,chardev=agev,name=ag.events");
	qa_add(q, "-fsdev");
	qa_path(q, "local,id=fsspec,security_model=mapped-xattr,readonly=on,path=", state_path,
		"/spec");
	qa_add(q, "-device");
	qa_add(q, "virtio-9p-device,fsdev=fsspec,mount_tag=agspec");
	if (ws_mode) {
		/* mapped-xattr, never none: guest root's modes and owners stay in xattrs, so
		 * it cannot make a setuid file on the host. */
		qa_add(q, "-fsdev");
		qa_path(q, "local,id=fsws,security_model=mapped-xattr,multidevs=remap,path=", ws,
			ws_mode[1] == 'o' ? ",readonly=on" : "");
		qa_add(q, "-device");
		qa_add(q, "virtio-9p-device,fsdev=fsws,mount_tag=t0");
	}
	if (plan) {
		/*
		 * The tap (sandbox_net.h) as fd 8 of QEMU; fd 9 holds the guard table, which QEMU
		 * never uses: while QEMU lives, a tap the runner no longer filters is cut off.
		 */
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", plan->guest_mac[0],
			 plan->guest_mac[1], plan->guest_mac[2], plan->guest_mac[3],
			 plan->guest_mac[4], plan->guest_mac[5]);
		qa_add(q, "-netdev");
		qa_add(q, "tap,id=n0,fd=8,vhost=off");
		qa_add(q, "-device");
		qa_path(q, "virtio-net-device,netdev=n0,mac=", mac, "");
	}
	for (i = 0; i < q->na; i++)
		if (q->arena[i].oom)
			return -ENOMEM;
	return q->n < 95 && q->na < 16 ? 0 : -E2BIG;
}

/*
 * A log the guest can fill: the serial console (console.log) and QEMU's own messages, which a
 * guest can provoke (qemu.log). The runner writes it in the state directory: at most
 * SBX_LOG_MAX bytes, then NAME becomes NAME.1 (the one before is dropped) and NAME starts
 * again. The newest output is kept and at most twice SBX_LOG_MAX is on disk per log, whatever
 * the guest writes; a compromised guest cannot fill the host's /run.
 */
struct sbx_log {
	const char *name;
	int fd;			/* -1: not open (a failed rotation drops the rest) */
	size_t len;
};

struct sbx_run {
	struct sbx_opts *o;
	const char *state_path;
	int state_fd;
	struct sbx_log console, qemu_log;
	struct ag_event_sink sink;
	struct ag_guest_rx rx;
	struct ag_guest_rx_stats reported;
	struct ag_sbx_net *net;		/* the host filter, NULL with --network none */
	long long reported_ms;		/* when counts were last looked at (monotonic) */
	long long loss_since_ns;	/* the last loss report's wall time, at first the start's */
	FILE *events;
	bool events_failing;	/* the event stream's last sync failed (ag_cli_events_sync) */
	int ch[SBX_CHANNELS];		/* the runner's ends, by CH_*; -1 once closed */
	char ctl[512];
	size_t ctl_len;
	bool started, unenforced_seen, have_status, out_closed, err_closed;
	int status;
	char fail[256];
};

/*
 * The host sinks are written by the runner's loop (guest records, loss, lifecycle) and by the
 * host resolver's thread (dns events): one lock around every write.
 */
static pthread_mutex_t sink_lock = PTHREAD_MUTEX_INITIALIZER;

/* A query the host resolver refused: a dns event with origin host. */
static void host_dns_report(void *ctx, const struct ag_dns_report *rep)
{
	struct ag_event_sink *sink = ctx;
	char qt[16];

	pthread_mutex_lock(&sink_lock);
	ag_event_sink_dns(sink, rep->name, rep->address,
			  ag_dns_type_name(rep->qtype, qt, sizeof(qt)),
			  ag_dns_rcode_name(rep->rcode), rep->client, rep->transport, rep->verdict,
			  rep->rule, rep->generation);
	if (sink->out)
		fflush(sink->out);
	pthread_mutex_unlock(&sink_lock);
}

static void guest_event(void *ctx, const char *line, size_t len, const cJSON *ev)
{
	struct sbx_run *r = ctx;
	struct ag_buf msg = {};
	const char *kind = cJSON_GetObjectItemCaseSensitive(ev, "kind")->valuestring;
	const char *op = cJSON_GetObjectItemCaseSensitive(ev, "operation")->valuestring;
	const char *dec = cJSON_GetObjectItemCaseSensitive(ev, "decision")->valuestring;
	int err;

	/* The event file holds what it cannot write yet (event_file.h); stderr sets ferror. */
	if (r->events)
		fwrite(line, 1, len, r->events);
	if (!r->o->journal)
		return;
	/* MESSAGE is for people: escaped. The checked record itself goes in AGENTGUARD_JSON. */
	ag_buf_printf(&msg, "sandbox %s (guest): %s %s ", r->o->name, dec, kind);
	ag_text_str(&msg, op, strlen(op));
	err = msg.oom ? -ENOMEM :
	      sd_journal_send("MESSAGE=%s", msg.p, "MESSAGE_ID=%s", ag_journal_message_id(kind),
			      "PRIORITY=%d", ag_journal_priority(dec),
			      "SYSLOG_IDENTIFIER=agentguard", "AGENTGUARD_ORIGIN=guest",
			      "AGENTGUARD_SANDBOX_NAME=%s", r->o->name, "AGENTGUARD_KIND=%s", kind,
			      "AGENTGUARD_DECISION=%s", dec,
			      "AGENTGUARD_JSON=%.*s", (int)(len - 1), line, NULL);
	if (err < 0) {
		r->sink.journal_failed++;
		r->sink.journal_err = err;
	}
	ag_buf_free(&msg);
}

/* Every count that grew since the last report becomes one host loss event. */
static void report_guest_drops(struct sbx_run *r)
{
	long long now = ag_wall_ns();
	bool any = false;
	struct {
		unsigned long long *now, *then;
		__u8 reason;
	} c[] = {
		{ &r->rx.st.malformed, &r->reported.malformed, AG_DROP_GUEST_MALFORMED },
		{ &r->rx.st.oversized, &r->reported.oversized, AG_DROP_GUEST_OVERSIZED },
		{ &r->rx.st.rate_limited, &r->reported.rate_limited, AG_DROP_GUEST_RATE },
	};

	pthread_mutex_lock(&sink_lock);
	/* since: the previous report's time, or the run's start (docs/event.schema.json). */
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		if (*c[i].now == *c[i].then)
			continue;
		ag_event_sink_loss(&r->sink, ~0u, AG_DENY, AG_RULE_NONE, c[i].reason,
				   *c[i].now - *c[i].then, r->loss_since_ns);
		*c[i].then = *c[i].now;
		any = true;
	}
	if (any)
		r->loss_since_ns = now;
	/* Every second: also what the event file held while it could not write. */
	ag_cli_events_sync(&r->sink, &r->events_failing);
	pthread_mutex_unlock(&sink_lock);
}

static void write_all(int fd, const char *p, size_t n, bool *closed)
{
	ssize_t w;

	while (n && !*closed) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			*closed = true;
			return;
		}
		p += w;
		n -= w;
	}
}

/* ag.ctl: "enforcing", "unenforced" (test only), then "exit N" or "fail REASON". */
static void ctl_line(struct sbx_run *r, const char *l)
{
	char *end;
	long v;

	if (!strcmp(l, "enforcing") && !r->started) {
		r->started = true;
	} else if (!strcmp(l, "unenforced") && !r->started) {
		r->unenforced_seen = true;
		r->started = r->o->test_unenforced;
	} else if (!strncmp(l, "exit ", 5) && r->started && !r->have_status) {
		v = strtol(l + 5, &end, 10);
		if (*end == '\0' && end != l + 5 && v >= 0 && v <= 255) {
			r->status = v;
			r->have_status = true;
		} else {
			snprintf(r->fail, sizeof(r->fail), "malformed status on ag.ctl");
		}
	} else if (!strncmp(l, "fail ", 5)) {
		/* The guest's words, shown to the operator: escaped (ag_text_str). */
		struct ag_buf e = {};

		ag_text_str(&e, l + 5, strnlen(l + 5, 200));
		snprintf(r->fail, sizeof(r->fail), "%.200s", e.p && !e.oom ? e.p : "");
		ag_buf_free(&e);
	} else {
		snprintf(r->fail, sizeof(r->fail), "unexpected line on ag.ctl");
	}
}

static void log_rotate(int dir_fd, struct sbx_log *l)
{
	char old[64];

	close(l->fd);
	snprintf(old, sizeof(old), "%s.1", l->name);
	l->len = 0;
	if (renameat(dir_fd, l->name, dir_fd, old)) {
		l->fd = -1;
		return;
	}
	l->fd = openat(dir_fd, l->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		       0600);
}

static void log_write(int dir_fd, struct sbx_log *l, const char *buf, size_t n)
{
	while (n && l->fd >= 0) {
		size_t k = n < SBX_LOG_MAX - l->len ? n : SBX_LOG_MAX - l->len;
		ssize_t w = k ? write(l->fd, buf, k) : 0;

		if (w < 0) {
			if (errno == EINTR)
				continue;
			/* A full disk: the log stops; the run does not depend on it. */
			close(l->fd);
			l->fd = -1;
			return;
		}
		l->len += w;
		buf += w;
		n -= w;
		if (l->len >= SBX_LOG_MAX)
			log_rotate(dir_fd, l);
	}
}

/* Drain one channel; at its end of file (QEMU closed it), close it and set *fdp to -1. */
static void pump(struct sbx_run *r, int *fdp)
{
	char buf[65536];
	int fd = *fdp;
	ssize_t n;
	bool any = false;

	if (fd < 0)
		return;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		any = true;
		if (fd == r->ch[CH_OUT]) {
			write_all(STDOUT_FILENO, buf, n, &r->out_closed);
		} else if (fd == r->ch[CH_ERR]) {
			write_all(STDERR_FILENO, buf, n, &r->err_closed);
		} else if (fd == r->ch[CH_CON]) {
			log_write(r->state_fd, &r->console, buf, n);
		} else if (fd == r->ch[CH_QLOG]) {
			log_write(r->state_fd, &r->qemu_log, buf, n);
		} else if (fd == r->ch[CH_EV]) {
			pthread_mutex_lock(&sink_lock);
			ag_guest_rx_feed(&r->rx, buf, n, ag_mono_ms() * 1000000LL);
			pthread_mutex_unlock(&sink_lock);
		} else if (fd == r->ch[CH_CTL]) {
			for (ssize_t i = 0; i < n; i++) {
				if (buf[i] == '\n' || r->ctl_len == sizeof(r->ctl) - 1) {
					r->ctl[r->ctl_len] = '\0';
					ctl_line(r, r->ctl);
					r->ctl_len = 0;
				} else {
					r->ctl[r->ctl_len++] = buf[i];
				}
			}
		}
	}
	if (fd == r->ch[CH_EV] && any && r->events)
		fflush(r->events);
	if (n == 0) {
		close(fd);
		*fdp = -1;
	}
}

/* The child that becomes QEMU: cgroup, sandbox user, parent-death signal, exec. */
static void exec_qemu(const struct ag_cgroup *cg, const struct sbx_user *u, pid_t runner,
		      const int *chan, int tap_fd, int guard_fd, char **argv)
{
	int err, null_fd, from[SBX_QEMU_FDS], high[SBX_QEMU_FDS], n = SBX_CHARDEVS, i;

	err = ag_cgroup_enter(cg, getpid());
	if (!err)
		err = drop_to(u);
	/* Set after the drop: a change of credentials clears it. */
	if (!err && prctl(PR_SET_PDEATHSIG, SIGKILL))
		err = -errno;
	if (!err && getppid() != runner)
		err = -ESRCH;
	if (err) {
		dprintf(chan[CH_QLOG], "agentguard: sandbox: starting QEMU: %s\n", strerror(-err));
		_exit(126);
	}
	/*
	 * The chardevs' channels at 3-7, the tap at 8 and the guard's socket at 9, whatever
	 * numbers they had: via fds above 100. Everything else is closed.
	 */
	for (i = 0; i < SBX_CHARDEVS; i++)
		from[i] = chan[i];
	if (tap_fd >= 0) {
		from[n++] = tap_fd;
		from[n++] = guard_fd;
	}
	for (i = 0; i < n; i++) {
		high[i] = fcntl(from[i], F_DUPFD, 100);
		if (high[i] < 0)
			_exit(126);
	}
	null_fd = open("/dev/null", O_RDONLY);
	dup2(null_fd, STDIN_FILENO);
	dup2(chan[CH_QLOG], STDOUT_FILENO);
	dup2(chan[CH_QLOG], STDERR_FILENO);
	for (i = 0; i < n; i++) {
		if (dup2(high[i], SBX_FIRST_FD + i) < 0)
			_exit(126);
	}
	syscall(SYS_close_range, SBX_FIRST_FD + n, ~0U, 0);
	execvp(argv[0], argv);
	dprintf(STDERR_FILENO, "agentguard: sandbox: %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static void print_tail(const char *path, const char *what)
{
	char buf[4096];
	ssize_t n;
	int fd;
	off_t sz;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	sz = lseek(fd, 0, SEEK_END);
	lseek(fd, sz > (off_t)sizeof(buf) - 1 ? sz - (off_t)sizeof(buf) + 1 : 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	fprintf(stderr, "agentguard: sandbox: the end of %s:\n", what);
	/* The guest wrote these bytes: escaped, so no terminal control sequence gets through. */
	for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n")) {
		struct ag_buf e = {};

		l[strcspn(l, "\r")] = '\0';
		ag_text_str(&e, l, strlen(l));
		fprintf(stderr, "  | %s\n", e.p && !e.oom ? e.p : "");
		ag_buf_free(&e);
	}
}

static int parse_run(int argc, char **argv, struct sbx_opts *o)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "workspace", required_argument, NULL, 'w' },
		{ "name", required_argument, NULL, 'n' },
		{ "events", required_argument, NULL, 'e' },
		{ "format", required_argument, NULL, 'f' },
		{ "journal", no_argument, NULL, 'j' },
		{ "kernel", required_argument, NULL, 'k' },
		{ "runas", required_argument, NULL, 'u' },
		{ "network", required_argument, NULL, 'N' },
		{ "timeout", required_argument, NULL, 't' },
		{ "test-unenforced-guest", no_argument, NULL, 'T' },
		{ "verbose", no_argument, NULL, 'v' },
		{},
	};
	unsigned long long v;
	int opt;

	o->kernel = "6.12";
	o->network = "filtered";
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+v", opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			if (o->n_pol == SBX_MAX_POLICIES)
				return -E2BIG;
			o->policies[o->n_pol++] = optarg;
			break;
		case 'w':
			o->workspace = optarg;
			break;
		case 'n':
			o->name = optarg;
			break;
		case 'e':
			o->events = optarg;
			break;
		case 'f':
			o->format = optarg;
			break;
		case 'j':
			o->journal = true;
			break;
		case 'k':
			o->kernel = optarg;
			break;
		case 'u':
			o->runas = optarg;
			break;
		case 'N':
			o->network = optarg;
			break;
		case 't':
			/* Strictly: strtoul would wrap 4294967297 to 1 s once stored. */
			if (ag_cli_parse_uint(optarg, UINT_MAX, &v) || !v)
				return -EINVAL;
			o->timeout_s = v;
			break;
		case 'T':
			o->test_unenforced = true;
			break;
		case 'v':
			ag_verbose = true;
			break;
		default:
			return -EINVAL;
		}
	}
	if (!o->n_pol || optind >= argc)
		return -EINVAL;
	o->cmd = argv + optind;
	return 0;
}

/*
 * The run itself: channels, signals, the boot deadline and --timeout, until QEMU exits (or is
 * stopped: SIGTERM, then the cgroup). Returns the runner's exit status
 * (docs/sandbox.md#exit-status) and writes the lifecycle events.
 */
static int supervise(struct sbx_run *r, pid_t qemu, int pidfd, int sfd, const char *cgpath,
		     long long t0, long long t_qemu, const char *accel, const char *ws_mode)
{
	const struct sbx_opts *o = r->o;
	char memo[256], tmp[PATH_MAX + 64];
	long long deadline, t_enforcing;
	bool timed_out = false;
	int got_signal = 0, status, ret, i;

	/* From QEMU's start: waiting for the image (its lock) is not the guest's boot. */
	deadline = t_qemu + SBX_BOOT_TIMEOUT_S * 1000LL;
	for (;;) {
		struct pollfd p[2 + SBX_CHANNELS] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = pidfd, .events = POLLIN },
		};
		long long left = deadline - ag_mono_ms();
		struct signalfd_siginfo si;
		bool was_started = r->started;

		for (i = 0; i < SBX_CHANNELS; i++) {
			p[2 + i].fd = r->ch[i];
			p[2 + i].events = POLLIN;
		}
		if (left <= 0) {
			timed_out = true;
			break;
		}
		if (poll(p, 2 + SBX_CHANNELS, left > 1000 ? 1000 : (int)left) < 0 &&
		    errno != EINTR) {
			ag_log_error("sandbox: poll: %s", strerror(errno));
			break;
		}
		if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
			got_signal = si.ssi_signo;
			break;
		}
		for (i = 0; i < SBX_CHANNELS; i++)
			pump(r, &r->ch[i]);
		/* A flood of bad records makes one loss event a second, not one per read. */
		if (ag_mono_ms() - r->reported_ms >= 1000) {
			report_guest_drops(r);
			r->reported_ms = ag_mono_ms();
		}
		if (r->started && !was_started) {
			t_enforcing = ag_mono_ms();
			deadline = o->timeout_s ? t_enforcing + o->timeout_s * 1000LL : LLONG_MAX;
			snprintf(memo, sizeof(memo),
				 "sandbox %s: %s in the guest after %lld ms (%s, kernel %s, "
				 "network %s, workspace %s)", o->name,
				 r->unenforced_seen ? "TEST ONLY: no enforcement" : "enforcing",
				 t_enforcing - t0, accel, o->kernel, o->network,
				 ws_mode ? ws_mode : "none");
			pthread_mutex_lock(&sink_lock);
			ag_event_sink_lifecycle(&r->sink, "start", memo);
			ag_cli_events_sync(&r->sink, &r->events_failing);
			pthread_mutex_unlock(&sink_lock);
			ag_log_debug("%s", memo);
		}
		/* A guest that ran its command without enforcement is not a started sandbox. */
		if (r->unenforced_seen && !o->test_unenforced)
			break;
		/* Nobody reads CMD's output any more (`... | head -1`): stop, as a pipeline would. */
		if (r->out_closed || r->err_closed)
			break;
		if (p[1].revents & POLLIN)
			break;
	}

	/* Stop QEMU if it still runs: SIGTERM, then the cgroup. */
	if (waitpid(qemu, &status, WNOHANG) == 0) {
		long long until = ag_mono_ms() + SBX_STOP_GRACE_MS;
		struct pollfd pp = { .fd = pidfd, .events = POLLIN };

		kill(qemu, SIGTERM);
		while (ag_mono_ms() < until && poll(&pp, 1, 100) == 0)
			;
		/* A QEMU that ignored SIGTERM in a cgroup that could not be killed: SIGKILL, so
		 * the wait below cannot block for ever. */
		if (!(pp.revents & POLLIN) && ag_cgroup_destroy(cgpath))
			kill(qemu, SIGKILL);
		waitpid(qemu, &status, 0);
	}
	for (i = 0; i < SBX_CHANNELS; i++)
		pump(r, &r->ch[i]);
	pthread_mutex_lock(&sink_lock);
	ag_guest_rx_finish(&r->rx);
	pthread_mutex_unlock(&sink_lock);
	report_guest_drops(r);

	snprintf(tmp, sizeof(tmp), "%s/console.log", r->state_path);
	if (got_signal) {
		ag_log_warn("sandbox: %s: stopped by SIG%s", o->name, sigabbrev_np(got_signal));
		ret = 128 + got_signal;
	} else if ((r->out_closed || r->err_closed) && !r->have_status) {
		ret = 128 + SIGPIPE;	/* quietly, as a shell pipeline's writer */
	} else if (!r->started) {
		ag_log_error("sandbox: %s: the guest never reported enforcement (%s); the command "
			     "was not run", o->name,
			     r->unenforced_seen ? "it ran without enforcement" :
			     r->fail[0] ? r->fail : timed_out ? "boot timeout" : "QEMU exited");
		print_tail(tmp, "the guest's console");
		snprintf(tmp, sizeof(tmp), "%s/qemu.log", r->state_path);
		print_tail(tmp, "QEMU's messages");
		ret = SBX_EXIT_UNENFORCED;
	} else if (timed_out) {
		ag_log_error("sandbox: %s: timeout after %u s; QEMU killed", o->name, o->timeout_s);
		ret = SBX_EXIT_TIMEOUT;
	} else if (r->have_status) {
		ret = r->status;
	} else {
		ag_log_error("sandbox: %s: the guest ended without a status (%s)", o->name,
			     r->fail[0] ? r->fail : "QEMU exited");
		print_tail(tmp, "the guest's console");
		ret = SBX_EXIT_GUEST;
	}
	if (r->started) {
		struct ag_sbx_net_stats ns = {};
		int n;

		n = snprintf(memo, sizeof(memo), "sandbox %s: exit status %d; guest records: %llu "
			     "passed on, %llu malformed, %llu oversized, %llu over the rate",
			     o->name, ret, r->rx.st.accepted, r->rx.st.malformed,
			     r->rx.st.oversized, r->rx.st.rate_limited);
		if (r->net && n > 0 && (size_t)n < sizeof(memo) && !ag_sbx_net_stats(r->net, &ns))
			snprintf(memo + n, sizeof(memo) - n, "; host filter: %llu packets dropped "
				 "(%llu spoofed, %llu not IPv4, %llu IPv4 options, %llu to the host, "
				 "%llu DNS elsewhere, %llu forward, %llu over the flow limit, "
				 "%llu towards the guest), %llu queries refused, "
				 "%llu answer addresses withheld",
				 ns.dropped_packets, ns.dropped_spoofed, ns.dropped_not_ipv4,
				 ns.dropped_ip_options, ns.dropped_input, ns.dropped_dns_elsewhere,
				 ns.dropped_forward, ns.dropped_conn_limit, ns.dropped_to_guest,
				 ns.dns_refused, ns.dns_withheld);
		pthread_mutex_lock(&sink_lock);
		ag_event_sink_lifecycle(&r->sink, "stop", memo);
		pthread_mutex_unlock(&sink_lock);
	}
	return ret;
}

static int sandbox_run(int argc, char **argv)
{
	struct sbx_opts o = {};
	struct sbx_user u;
	struct sbx_run r = { .ch = { -1, -1, -1, -1, -1, -1 }, .o = &o, .state_fd = -1,
			     .console = { .name = "console.log", .fd = -1 },
			     .qemu_log = { .name = "qemu.log", .fd = -1 } };
	struct ag_cgroup cg = { .fd = -1 };
	struct ag_policy **pols = NULL, **pols2 = NULL;
	struct ag_compiled *c = NULL, *c2 = NULL;
	struct ag_sbx_net *net = NULL;
	struct ag_sbx_net_plan plan = {};
	struct qemu_argv q = {};
	char top[PATH_MAX], kdir[PATH_MAX], ws[PATH_MAX], state_path[PATH_MAX], cgpath[4096];
	char images[2 * PATH_MAX + 8], tmp[PATH_MAX + 64], defname[32], cmdline[1024];
	char (*copies)[PATH_MAX] = NULL, *copy_names[SBX_MAX_POLICIES];
	char *mk_argv[3], *boot_kernel, *initrd;
	const char *ws_mode = NULL, *accel = "tcg";
	int ret = AG_EXIT_SOFTWARE, err, state_fd = -1, lock_fd = -1, glock = -1, log_fd = -1;
	int sfd = -1, pidfd = -1, tap_fd = -1, status, i, cg_err = 0;
	int qemu_ends[SBX_CHANNELS] = { -1, -1, -1, -1, -1, -1 };
	bool state_made = false, net_on, cg_made = false;
	long long t0 = ag_mono_ms(), t_qemu = 0;
	pid_t qemu = -1;
	sigset_t mask;

	if (parse_run(argc, argv, &o)) {
		sandbox_usage(stderr);
		return AG_EXIT_USAGE;
	}
	if (o.format && strcmp(o.format, "json")) {
		/* Guest records are re-written as schema v1 JSON; OCSF needs a mapping of them. */
		ag_log_error("sandbox: --format %s is not supported by sandbox run yet (json only)",
			     o.format);
		return AG_EXIT_USAGE;
	}
	if (o.test_unenforced && strcmp(getenv(SBX_TEST_GATE) ?: "", "1")) {
		ag_log_error("sandbox: --test-unenforced-guest is for agentguard's test suite only "
			     "(it needs %s=1); nothing was started", SBX_TEST_GATE);
		return AG_EXIT_USAGE;
	}
	if (strcmp(o.network, "none") && strcmp(o.network, "filtered")) {
		ag_log_error("sandbox: --network takes none or filtered, not \"%s\"", o.network);
		return AG_EXIT_USAGE;
	}
	net_on = !strcmp(o.network, "filtered");
	if (!o.name) {
		snprintf(defname, sizeof(defname), "sandbox-%d", getpid());
		o.name = defname;
	}
	if (!ag_sbx_name_valid(o.name)) {
		ag_log_error("sandbox: invalid name \"%s\": [a-z0-9][a-z0-9-]{0,30}", o.name);
		return AG_EXIT_USAGE;
	}
	/* Nothing is started for a bad policy. */
	ret = ag_cli_compile(o.policies, o.n_pol, &pols, &c);
	if (ret != AG_EXIT_OK)
		return ret;
	ret = AG_EXIT_CONFIG;
	if (geteuid() != 0) {
		ag_log_error("sandbox: run needs root (cgroups, /run/agentguard, the tap); QEMU "
			     "itself runs as the sandbox user");
		goto cleanup;
	}
	err = pick_user(o.runas, &u);
	if (err == -ENOENT) {
		ag_log_error("sandbox: no user \"%s\"", o.runas);
		goto cleanup;
	}
	if (err) {
		ag_log_error("sandbox: QEMU's user (%s \"%s\"): give a user name or uid[:gid] whose "
			     "ids are neither 0 nor 4294967295", o.runas ? "--runas" : "SUDO_UID",
			     o.runas ? o.runas : getenv("SUDO_UID"));
		goto cleanup;
	}
	if (o.workspace) {
		if (!realpath(o.workspace, ws)) {
			ag_log_error("sandbox: workspace \"%s\": %s", o.workspace, strerror(errno));
			goto cleanup;
		}
		ws_mode = ag_fs_write_possible_under(c, "/workspace") ? "rw" : "ro";
		if (user_can_use(&u, ws, R_OK | X_OK | (ws_mode[1] == 'w' ? W_OK : 0))) {
			ag_log_error("sandbox: the workspace \"%s\" is %s by uid %u, which QEMU "
				     "runs as (the policy makes it %s); nothing was started", ws,
				     ws_mode[1] == 'w' ? "not writable" : "not readable", u.uid,
				     ws_mode);
			goto cleanup;
		}
	}
	err = tree_top(top, sizeof(top));
	if (err) {
		ag_log_error("sandbox: cannot find the build tree: %s", strerror(-err));
		goto cleanup;
	}
	if (!strcmp(o.kernel, "6.12") || !strcmp(o.kernel, "6.1")) {
		if (snprintf(kdir, sizeof(kdir), "%s/build/kernels/%s", top, o.kernel) >=
		    (int)sizeof(kdir))
			kdir[0] = '\0';
	} else if (!realpath(o.kernel, kdir))
		kdir[0] = '\0';
	snprintf(tmp, sizeof(tmp), "%s/vmlinuz", kdir);
	if (!kdir[0] || access(tmp, R_OK)) {
		ag_log_error("sandbox: no guest kernel at \"%s\" (vm/fetch-kernel %s)", o.kernel,
			     o.kernel);
		goto cleanup;
	}

	/* State: the name is taken under the global lock, after stale sandboxes are cleaned. */
	glock = ag_sbx_global_lock();
	if (glock < 0) {
		ag_log_error("sandbox: cannot lock %s: %s", AG_SBX_STATE_ROOT, strerror(-glock));
		goto cleanup;
	}
	err = ag_sbx_state_create(o.name, &state_fd, &lock_fd);
	if (err == -EEXIST) {
		ag_log_error("sandbox: a sandbox named \"%s\" is running", o.name);
		goto cleanup;
	} else if (err) {
		ag_log_error("sandbox: cannot make the state of \"%s\": %s", o.name,
			     strerror(-err));
		goto cleanup;
	}
	state_made = true;
	close(glock);
	glock = -1;
	snprintf(state_path, sizeof(state_path), AG_SBX_STATE_ROOT "/%s", o.name);
	r.state_path = state_path;
	r.state_fd = state_fd;
	snprintf(tmp, sizeof(tmp), "%d", getpid());
	err = ag_sbx_state_put(state_fd, "runner.pid", tmp);
	if (!err)
		err = ag_sbx_state_put(state_fd, "workspace", o.workspace ? ws : "");
	if (!err)
		err = ag_sbx_state_put(state_fd, "workspace_mode", ws_mode ? ws_mode : "");
	if (!err)
		err = ag_sbx_state_put(state_fd, "network", o.network);
	log_fd = openat(state_fd, "qemu.log", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (err || log_fd < 0) {
		ag_log_error("sandbox: writing the state of \"%s\": %s", o.name,
			     strerror(err ? -err : errno));
		goto cleanup;
	}

	/* The guest's spec; its policy copies must compile to what was checked above. */
	copies = calloc(o.n_pol, sizeof(*copies));
	err = copies ? write_spec(state_fd, &o, ws_mode, copies, state_path) : -ENOMEM;
	if (err) {
		ag_log_error("sandbox: writing the guest's spec: %s", strerror(-err));
		goto cleanup;
	}
	for (i = 0; i < o.n_pol; i++)
		copy_names[i] = copies[i];
	if (ag_cli_compile(copy_names, o.n_pol, &pols2, &c2) != AG_EXIT_OK ||
	    strcmp(c->sha256_hex, c2->sha256_hex)) {
		ag_log_error("sandbox: a policy file changed while the sandbox was starting; "
			     "nothing was started");
		ret = AG_EXIT_BADPOLICY;
		goto cleanup;
	}

	/* The guest image: the test bed's, from this build tree (vm/mkimage caches it). */
	snprintf(tmp, sizeof(tmp), "%s/vm/mkimage", top);
	mk_argv[0] = tmp;
	mk_argv[1] = kdir;
	mk_argv[2] = NULL;
	status = run_capture(mk_argv, images, sizeof(images), log_fd);
	boot_kernel = strtok(images, "\n");
	initrd = boot_kernel ? strtok(NULL, "\n") : NULL;
	if (status || !initrd) {
		ag_log_error("sandbox: building the guest image failed (status %d)", status);
		print_tail(strcat(strcpy(tmp, state_path), "/qemu.log"), "the image build's log");
		ret = SBX_EXIT_UNENFORCED;
		goto cleanup;
	}
	accel = choose_accel(top, kdir, log_fd, &u);

	err = 0;
	for (i = 0; i < SBX_CHANNELS && !err; i++)
		err = make_channel(&r.ch[i], &qemu_ends[i]);
	if (!err) {
		r.console.fd = openat(state_fd, "console.log",
				      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		err = r.console.fd < 0 ? -errno : 0;
	}
	if (!err) {
		struct stat st;

		/* From here on qemu.log is QEMU's, through the runner: bounded. */
		err = fstat(log_fd, &st) ? -errno : 0;
		r.qemu_log.fd = log_fd;
		r.qemu_log.len = err ? 0 : st.st_size;
		log_fd = -1;
	}
	if (err) {
		ag_log_error("sandbox: making the guest's channels: %s", strerror(-err));
		goto cleanup;
	}

	/*
	 * Host sinks: the runner's own events (origin host) and the guest's (origin guest). They
	 * are the run's record: no stream, no run.
	 */
	if (o.journal && (err = ag_journal_check())) {
		ag_log_error("journal: \"%s\": %s; is systemd-journald running? Nothing was started",
			     AG_JOURNAL_SOCKET, strerror(-err));
		goto cleanup;
	}
	if (!o.events || !strcmp(o.events, "-")) {
		if (o.events || !o.journal) {
			int efd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);

			r.events = efd >= 0 ? fdopen(efd, "w") : NULL;
			if (!r.events) {
				ag_log_error("sandbox: events to stderr: %s; nothing was started",
					     strerror(errno));
				if (efd >= 0)
					close(efd);
				ret = AG_EXIT_IOERR;
				goto cleanup;
			}
		}
	} else {
		r.events = ag_event_stream_open(o.events, AG_EVENT_BACKLOG_DEFAULT, &r.sink.file);
		r.sink.file_ok_ns = ag_wall_ns();
		if (!r.events) {
			ag_log_error("sandbox: --events \"%s\": %s; nothing was started", o.events,
				     strerror(errno));
			ret = AG_EXIT_IOERR;
			goto cleanup;
		}
	}
	r.sink.out = r.events;
	r.sink.format = AG_EVENTS_JSON;
	r.sink.journal = o.journal;
	r.sink.policy = c;
	r.sink.generation = 1;
	r.sink.backend = AG_BACKEND_BPF_LSM;
	r.sink.sandbox_name = o.name;
	gethostname(r.sink.host, sizeof(r.sink.host) - 1);
	snprintf(r.sink.session, sizeof(r.sink.session), "%s", o.name);
	ag_guest_rx_init(&r.rx, o.name, AG_GUEST_RATE, AG_GUEST_BURST, guest_event, &r);
	r.loss_since_ns = ag_wall_ns();

	/* QEMU's cgroup: stop and stale cleanup end it with cgroup.kill. */
	err = ag_sbx_cgroup_path(o.name, cgpath, sizeof(cgpath));
	if (!err) {
		snprintf(tmp, sizeof(tmp), "%s", cgpath);
		*strrchr(tmp, '/') = '\0';
		if (mkdir(tmp, 0755) && errno != EEXIST)
			err = -errno;
	}
	if (!err)
		err = ag_cgroup_open(cgpath, 1, &cg);
	if (!err && !cg.created)
		err = -EEXIST;
	if (err) {
		ag_log_error("sandbox: cannot create the cgroup \"%s\": %s", cgpath,
			     strerror(-err));
		goto cleanup;
	}
	cg_made = true;
	/* ls, stop and stale cleanup find the sandbox by its state: no state, no run. */
	err = ag_sbx_state_put(state_fd, "cgroup", cg.path);
	if (err) {
		ag_log_error("sandbox: writing the state of \"%s\": %s", o.name, strerror(-err));
		goto cleanup;
	}
	snprintf(r.sink.sandbox, sizeof(r.sink.sandbox), "%s", cg.rel);

	if (net_on) {
		struct ag_sbx_net_opts no = { .name = o.name,
					      .upstream_resolv_conf = "/etc/resolv.conf",
					      .dns_report = host_dns_report,
					      .dns_report_ctx = &r.sink };

		err = ag_sbx_net_up(&no, c, &net, &plan, &tap_fd);
		if (err == -EEXIST) {
			ag_log_error("sandbox: a tap or table of %s's name exists: another sandbox's "
				     "tap name collides with it, or one is left over (`agentguard "
				     "sandbox ls` cleans what is stale); pick another --name", o.name);
			ret = SBX_EXIT_UNENFORCED;
			goto cleanup;
		}
		if (err) {
			ag_log_error("sandbox: the host network filter could not be set up (%s); "
				     "nothing was started (--network none runs without a network)",
				     strerror(-err));
			ret = SBX_EXIT_UNENFORCED;
			goto cleanup;
		}
		r.net = net;
		err = ag_sbx_state_put(state_fd, "tap", plan.tap);
		if (err) {
			ag_log_error("sandbox: writing the state of \"%s\": %s", o.name,
				     strerror(-err));
			goto cleanup;
		}
		/* The guest's address, gateway (and resolver) and MAC, for guest-init. */
		err = write_net_spec(state_fd, &plan, c);
		if (err) {
			ag_log_error("sandbox: writing the guest's network spec: %s",
				     strerror(-err));
			goto cleanup;
		}
	}

	err = read_cmdline(top, cmdline, sizeof(cmdline));
	if (err) {
		ag_log_error("sandbox: the guest kernel's command line (%s/vm/guest/cmdline): %s",
			     top, strerror(-err));
		goto cleanup;
	}
	err = build_qemu_args(&q, state_path, boot_kernel, initrd, accel, cmdline,
			      ws_mode ? ws : NULL, ws_mode, net_on ? &plan : NULL);
	if (err) {
		ag_log_error("sandbox: QEMU's command line: %s", strerror(-err));
		goto cleanup;
	}
	if (ag_verbose) {
		struct ag_buf line = {};

		for (i = 0; i < q.n; i++) {
			ag_buf_puts(&line, q.v[i]);
			ag_buf_lit(&line, " ");
		}
		ag_log_info("sandbox: %s as uid %u gid %u: %s", o.name, u.uid, u.gid,
			    line.p ? line.p : "");
		ag_buf_free(&line);
	}

	/* Signals arrive on a signalfd; the runner only reacts to them in its loop. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		ag_log_error("sandbox: signalfd: %s", strerror(errno));
		goto cleanup;
	}
	{
		pid_t runner = getpid();

		t_qemu = ag_mono_ms();
		qemu = fork();
		if (qemu < 0) {
			ag_log_error("sandbox: fork: %s", strerror(errno));
			goto cleanup;
		}
		if (!qemu) {
			sigprocmask(SIG_UNBLOCK, &mask, NULL);
			signal(SIGPIPE, SIG_DFL);
			exec_qemu(&cg, &u, runner, qemu_ends, tap_fd,
				  net ? plan.guard_fd : -1, q.v);
		}
	}
	for (i = 0; i < SBX_CHANNELS; i++) {
		close(qemu_ends[i]);
		qemu_ends[i] = -1;
	}
	/* Without it the loop never sees QEMU exit (and, with no --timeout, waits for ever). */
	pidfd = syscall(SYS_pidfd_open, qemu, 0);
	if (pidfd < 0) {
		ag_log_error("sandbox: pidfd_open of QEMU (pid %d): %s; QEMU is killed", qemu,
			     strerror(errno));
		ret = AG_EXIT_SOFTWARE;
		goto cleanup;
	}
	snprintf(tmp, sizeof(tmp), "%d", qemu);
	err = ag_sbx_state_put(state_fd, "qemu.pid", tmp);
	if (err) {
		ag_log_error("sandbox: writing the state of \"%s\": %s; QEMU is killed", o.name,
			     strerror(-err));
		ret = AG_EXIT_CONFIG;
		goto cleanup;
	}

	ret = supervise(&r, qemu, pidfd, sfd, cg.path, t0, t_qemu, accel, ws_mode);
	qemu = -1;

cleanup:
	if (qemu > 0) {
		kill(qemu, SIGKILL);
		waitpid(qemu, NULL, 0);
	}
	if (cg_made && (cg_err = ag_cgroup_destroy(cg.path)))
		ag_log_error("sandbox: removing the cgroup \"%s\": %s; `agentguard sandbox ls` "
			     "retries", cg.path, strerror(-cg_err));
	ag_cgroup_close(&cg);
	/* It closes the tap (tap_fd) and the guard's socket. */
	if (net)
		ag_sbx_net_down(net);
	/* After the resolver's thread is gone: nothing writes the sinks any more. */
	if (ag_cli_events_finish(&r.sink) != AG_EXIT_OK && ret == AG_EXIT_OK)
		ret = AG_EXIT_IOERR;
	if (r.events && fclose(r.events) && ret == AG_EXIT_OK) {
		ag_log_error("sandbox: closing the event stream: %s; events may be lost",
			     strerror(errno));
		ret = AG_EXIT_IOERR;
	}
	ag_guest_rx_free(&r.rx);
	ag_event_sink_free(&r.sink);
	for (i = 0; i < SBX_CHANNELS; i++) {
		int fd = r.ch[i];

		if (fd >= 0)
			close(fd);
	}
	for (i = 0; i < SBX_CHANNELS; i++) {
		if (qemu_ends[i] >= 0)
			close(qemu_ends[i]);
	}
	if (sfd >= 0)
		close(sfd);
	if (pidfd >= 0)
		close(pidfd);
	if (log_fd >= 0)
		close(log_fd);
	if (r.console.fd >= 0)
		close(r.console.fd);
	if (r.qemu_log.fd >= 0)
		close(r.qemu_log.fd);
	if (state_fd >= 0)
		close(state_fd);
	/* A cgroup left behind keeps its state, so that ls finds and retries it. */
	if (state_made && !cg_err && (err = ag_sbx_state_remove(o.name)))
		ag_log_error("sandbox: removing the state of \"%s\": %s", o.name, strerror(-err));
	if (lock_fd >= 0)
		close(lock_fd);
	if (glock >= 0)
		close(glock);
	qa_free(&q);
	free(copies);
	ag_compiled_free(c2);
	ag_cli_free_policies(pols2, o.n_pol);
	ag_compiled_free(c);
	ag_cli_free_policies(pols, o.n_pol);
	return ret;
}

struct ls_ctx {
	bool json;
	unsigned int n, unreadable;
	struct ag_buf b;
};

static void ls_unreadable(void *ctx, const char *name, int err)
{
	struct ls_ctx *l = ctx;

	l->unreadable++;
	ag_log_error("sandbox: the state of \"%s\" cannot be read (%s); it is neither listed nor "
		     "cleaned", name, strerror(-err));
}

static void ls_one(void *ctx, const struct ag_sbx_info *i)
{
	struct ls_ctx *l = ctx;

	if (!l->json) {
		printf("%-20s %8d %8d %-8s %-3s %s\n", i->name, i->runner_pid, i->qemu_pid,
		       i->network[0] ? i->network : "-",
		       i->workspace_mode[0] ? i->workspace_mode : "-",
		       i->workspace[0] ? i->workspace : "-");
		l->n++;
		return;
	}
	ag_buf_puts(&l->b, l->n++ ? "," : "");
	ag_buf_lit(&l->b, "{\"name\":");
	ag_json_str(&l->b, i->name, strlen(i->name));
	ag_buf_printf(&l->b, ",\"runner_pid\":%d,\"qemu_pid\":%d,\"cgroup\":", i->runner_pid,
		      i->qemu_pid);
	ag_json_str(&l->b, i->cgroup, strlen(i->cgroup));
	ag_buf_lit(&l->b, ",\"network\":");
	ag_json_str(&l->b, i->network, strlen(i->network));
	ag_buf_lit(&l->b, ",\"tap\":");
	if (i->tap[0])
		ag_json_str(&l->b, i->tap, strlen(i->tap));
	else
		ag_buf_lit(&l->b, "null");
	ag_buf_lit(&l->b, ",\"workspace\":");
	if (i->workspace[0])
		ag_json_str(&l->b, i->workspace, strlen(i->workspace));
	else
		ag_buf_lit(&l->b, "null");
	ag_buf_lit(&l->b, ",\"workspace_mode\":");
	ag_json_str(&l->b, i->workspace_mode, strlen(i->workspace_mode));
	ag_buf_lit(&l->b, "}");
}

static int sandbox_ls(int argc, char **argv)
{
	struct ls_ctx l = {};
	unsigned int cleaned;
	int err;

	if (argc == 2 && !strcmp(argv[1], "--json"))
		l.json = true;
	else if (argc != 1) {
		sandbox_usage(stderr);
		return AG_EXIT_USAGE;
	}
	if (geteuid() != 0) {
		ag_log_error("sandbox: ls needs root (it cleans what dead runners left)");
		return AG_EXIT_CONFIG;
	}
	if (!l.json)
		printf("%-20s %8s %8s %-8s %-3s %s\n", "NAME", "RUNNER", "QEMU", "NETWORK", "WS",
		       "WORKSPACE");
	err = ag_sbx_list(ls_one, ls_unreadable, &l, &cleaned);
	if (l.json)
		printf("[%s]\n", l.b.p ? l.b.p : "");
	ag_buf_free(&l.b);
	if (cleaned)
		ag_log_info("sandbox: cleaned up %u stale sandbox(es)", cleaned);
	if (err && err != -ENOENT) {
		ag_log_error("sandbox: cleaning stale sandboxes: %s", strerror(-err));
		return AG_EXIT_SOFTWARE;
	}
	return l.unreadable ? AG_EXIT_SOFTWARE : AG_EXIT_OK;
}

/* SIGTERM to the runner, which stops QEMU and tears down; after 30 s, the cgroup goes. */
static int sandbox_stop(int argc, char **argv)
{
	struct ag_sbx_info i;
	struct pollfd p;
	int err, pidfd, glock;

	if (argc != 2 || !ag_sbx_name_valid(argv[1])) {
		sandbox_usage(stderr);
		return AG_EXIT_USAGE;
	}
	if (geteuid() != 0) {
		ag_log_error("sandbox: stop needs root");
		return AG_EXIT_CONFIG;
	}
	err = ag_sbx_lookup(argv[1], &i);
	if (err == -ENOENT) {
		ag_log_error("sandbox: no running sandbox \"%s\"", argv[1]);
		return 1;
	}
	if (err || i.runner_pid <= 1) {
		ag_log_error("sandbox: reading \"%s\": %s", argv[1], strerror(err ? -err : ESRCH));
		return AG_EXIT_SOFTWARE;
	}
	/*
	 * The pidfd pins the process; only then is the sandbox looked up again, so the pid cannot
	 * have been reused by another process between the lookup and the signal: if the runner
	 * ended meanwhile, its lock is free and the second lookup fails.
	 */
	pidfd = syscall(SYS_pidfd_open, i.runner_pid, 0);
	if (pidfd >= 0) {
		struct ag_sbx_info again;

		err = ag_sbx_lookup(argv[1], &again);
		if (err || again.runner_pid != i.runner_pid) {
			close(pidfd);
			ag_log_error("sandbox: \"%s\" ended while being stopped", argv[1]);
			return 1;
		}
	}
	if (pidfd < 0 || syscall(SYS_pidfd_send_signal, pidfd, SIGTERM, NULL, 0)) {
		ag_log_error("sandbox: signalling the runner of \"%s\" (pid %d): %s", argv[1],
			     i.runner_pid, strerror(errno));
		if (pidfd >= 0)
			close(pidfd);
		return AG_EXIT_SOFTWARE;
	}
	p.fd = pidfd;
	p.events = POLLIN;
	if (poll(&p, 1, 30000) != 1) {
		ag_log_warn("sandbox: the runner of \"%s\" did not stop in 30 s; killing it",
			    argv[1]);
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		poll(&p, 1, 5000);
	}
	close(pidfd);
	/* A runner that died before it could tear down (still starting up, or killed) left it. */
	glock = ag_sbx_global_lock();
	err = glock < 0 ? glock : ag_sbx_clean_if_stale(argv[1]);
	if (glock >= 0)
		close(glock);
	if (err) {
		ag_log_error("sandbox: cleaning up \"%s\": %s", argv[1], strerror(-err));
		return AG_EXIT_SOFTWARE;
	}
	return AG_EXIT_OK;
}

int cmd_sandbox(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "run"))
		return sandbox_run(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "ls"))
		return sandbox_ls(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "stop"))
		return sandbox_stop(argc - 1, argv + 1);
	sandbox_usage(argc >= 2 && !strcmp(argv[1], "--help") ? stdout : stderr);
	return argc >= 2 && !strcmp(argv[1], "--help") ? AG_EXIT_OK : AG_EXIT_USAGE;
}
