/* SPDX-License-Identifier: GPL-2.0 */
/*
 * agentguard run with domain rules (issue #9, docs/host-mode.md): each run's resolver gets a
 * loopback address of its own, so runs side by side never share or fight over one, and the
 * command sees a /etc/resolv.conf that names it, in a mount namespace of its own; the host's
 * file is never written.
 *
 * The addresses are 127.53.1.1 to 127.53.254.254 (no octet 0 or 255), port 53: the first one,
 * from run's pid on, that nothing holds yet (a UDP and a TCP bind succeed).
 */
#ifndef AG_RUN_DNS_H
#define AG_RUN_DNS_H

#include <stdbool.h>
#include <sys/types.h>
#include <netinet/in.h>
#include "compile.h"

#define AG_RESOLV_CONF		"/etc/resolv.conf"
#define AG_RUN_DNS_PORT		53

struct ag_run_dns {
	char listen[INET_ADDRSTRLEN + 8];	/* "127.53.X.Y:53" for load's --dns-listen; "": none */
	char resolv_conf[4200];			/* the file CMD sees as /etc/resolv.conf */
};

/*
 * Before load, when c has domain rules: pick the address for pid and write
 * STATE_DIR/resolv.conf naming it. Without domain rules d->listen stays empty and nothing
 * happens. 0 or -errno, and *failed says which step.
 */
int ag_run_dns_prepare(const struct ag_compiled *c, const char *state_dir, pid_t pid,
		       struct ag_run_dns *d, const char **failed);
/*
 * In CMD's process, before it enters the sandbox (containment and the seccomp filter refuse
 * mounts there): a mount namespace whose mounts never reach the host, where the file
 * /etc/resolv.conf resolves to (through a symlink if it is one) is d->resolv_conf, read-only.
 * It ends with the last process in it. 0 or -errno; nothing to do without domain rules.
 */
int ag_run_dns_enter(const struct ag_run_dns *d);

/* The steps, for tests: the first free address from pid on; the file naming nameserver. */
int ag_run_dns_pick(pid_t pid, struct in_addr *out);
int ag_run_dns_write_conf(const char *host_conf, const char *nameserver, const char *path);

#endif /* AG_RUN_DNS_H */
