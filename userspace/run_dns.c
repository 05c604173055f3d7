// SPDX-License-Identifier: GPL-2.0
/*
 * agentguard run's resolver address and the command's /etc/resolv.conf: see run_dns.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include "run_dns.h"
#include "seqstore.h"

#define AG_RUN_DNS_HOSTS	(254u * 254u)	/* 127.53.1.1 .. 127.53.254.254 */
#define AG_RUN_DNS_TRIES	256

/* Candidate i: 127.53.(1 + i / 254).(1 + i % 254). */
static void candidate(unsigned int i, struct in_addr *a)
{
	i %= AG_RUN_DNS_HOSTS;
	a->s_addr = htonl(0x7f350000u | (1 + i / 254) << 8 | (1 + i % 254));
}

/* Can the resolver bind addr:53 for UDP and for TCP (as it will: TCP with SO_REUSEADDR)? */
static int port_free(const struct in_addr *addr)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(AG_RUN_DNS_PORT),
				  .sin_addr = *addr };
	int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1, err = 0;

	if (udp < 0 || tcp < 0)
		err = -errno;
	if (!err)
		setsockopt(tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (!err && (bind(udp, (struct sockaddr *)&sa, sizeof(sa)) ||
		     bind(tcp, (struct sockaddr *)&sa, sizeof(sa))))
		err = -errno;
	if (udp >= 0)
		close(udp);
	if (tcp >= 0)
		close(tcp);
	return err;
}

int ag_run_dns_pick(pid_t pid, struct in_addr *out)
{
	unsigned int k;
	int err;

	/*
	 * Runs side by side have different pids, so usually different first candidates; the bind
	 * settles the rest. The resolver binds the address moments later: a process that takes
	 * it in between makes that load fail, never share it.
	 */
	for (k = 0; k < AG_RUN_DNS_TRIES; k++) {
		candidate((unsigned int)pid + k, out);
		err = port_free(out);
		if (err != -EADDRINUSE)
			return err;
	}
	return -EADDRNOTAVAIL;
}

/* Is line (leading blanks skipped) the keyword key followed by a blank? */
static bool keyword(const char *line, const char *key)
{
	size_t n = strlen(key);

	line += strspn(line, " \t");
	return !strncmp(line, key, n) && (line[n] == ' ' || line[n] == '\t');
}

int ag_run_dns_write_conf(const char *host_conf, const char *nameserver, const char *path)
{
	FILE *in = fopen(host_conf, "re"), *out = NULL;
	char line[1024];
	int fd, err = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = -errno;
		goto cleanup;
	}
	out = fdopen(fd, "w");
	if (!out) {
		err = -errno;
		close(fd);
		goto cleanup;
	}
	fprintf(out, "# agentguard run: this sandbox's nameserver is its own agentguard resolver.\n"
		     "# The host's %s is unchanged (docs/host-mode.md).\n"
		     "nameserver %s\n", AG_RESOLV_CONF, nameserver);
	/* The host's search list and options, so names resolve as they would outside. */
	while (in && fgets(line, sizeof(line), in))
		if (keyword(line, "search") || keyword(line, "domain") || keyword(line, "options"))
			fprintf(out, "%s%s", line, strchr(line, '\n') ? "" : "\n");
	if (fflush(out) || ferror(out))
		err = -EIO;
cleanup:
	if (out && fclose(out) && !err)
		err = -EIO;
	if (in)
		fclose(in);
	return err;
}

int ag_run_dns_prepare(const struct ag_compiled *c, const char *state_dir, pid_t pid,
		       struct ag_run_dns *d, const char **failed)
{
	char addr[INET_ADDRSTRLEN], target[PATH_MAX];
	struct in_addr a;
	int err;

	memset(d, 0, sizeof(*d));
	if (!c->n_dom)
		return 0;
	/* Fail before anything exists: with no file to bind over, CMD would ask the host's. */
	*failed = "resolving " AG_RESOLV_CONF " (the command must be pointed at its resolver)";
	if (!realpath(AG_RESOLV_CONF, target))
		return -errno;
	*failed = "finding a free address in 127.53.0.0/16 for port 53";
	err = ag_run_dns_pick(pid, &a);
	if (err)
		return err;
	inet_ntop(AF_INET, &a, addr, sizeof(addr));
	snprintf(d->listen, sizeof(d->listen), "%s:%u", addr, AG_RUN_DNS_PORT);
	*failed = "writing the command's resolv.conf in the state directory";
	if (snprintf(d->resolv_conf, sizeof(d->resolv_conf), "%s/resolv.conf", state_dir) >=
	    (int)sizeof(d->resolv_conf))
		return -ENAMETOOLONG;
	err = ag_state_dir_make(state_dir);
	if (err)
		return err;
	return ag_run_dns_write_conf(AG_RESOLV_CONF, addr, d->resolv_conf);
}

int ag_run_dns_enter(const struct ag_run_dns *d)
{
	char target[PATH_MAX];

	if (!d->listen[0])
		return 0;
	if (unshare(CLONE_NEWNS))
		return -errno;
	/* Slave: the host's mounts still reach CMD, CMD's never reach the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL))
		return -errno;
	/*
	 * A symlink (systemd-resolved's stub file, say) is followed: a bind mount cannot cover
	 * the link itself, and what readers open is its target. Only this namespace sees it.
	 */
	if (!realpath(AG_RESOLV_CONF, target))
		return -errno;
	if (mount(d->resolv_conf, target, NULL, MS_BIND, NULL))
		return -errno;
	/* Read-only: CMD cannot rewrite it (nor, being a mount point, remove or replace it). */
	if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV |
						  MS_NOEXEC, NULL))
		return -errno;
	return 0;
}
