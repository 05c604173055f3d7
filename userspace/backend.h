/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which kernel mechanism enforces a sandbox (docs/host-mode.md, "Fallback without BPF-LSM").
 * BPF-LSM is the product; the Landlock fallback is chosen only when BPF-LSM cannot run here
 * and the operator asked for it with --fallback landlock. Every event names the backend.
 */
#ifndef AG_BACKEND_H
#define AG_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

enum ag_backend {
	/* BPF-LSM programs (files, exec, containment) and cgroup programs (network). */
	AG_BACKEND_BPF_LSM = 0,
	/*
	 * --fallback landlock: the cgroup programs judge the network; under agentguard run,
	 * Landlock restricts the filesystem and the command runs without capabilities.
	 */
	AG_BACKEND_LANDLOCK = 1,
};

/* "bpf-lsm" or "landlock": the value of the events' "backend" field. */
const char *ag_backend_name(enum ag_backend b);

/*
 * Can this kernel run BPF-LSM programs? 0, or -errno with why (one clause, no period) filled:
 * "bpf" missing from the kernel's LSM list, or a two-instruction LSM program refused. The
 * program is loaded, never attached.
 */
int ag_bpf_lsm_usable(char *why, size_t len);

/*
 * The Landlock ABI version this kernel offers (1, 2, ...), or -errno: -EOPNOTSUPP when
 * Landlock is built but not enabled at boot, -ENOSYS when it is not built.
 */
int ag_landlock_abi(void);

/*
 * The backend for a load or run: BPF-LSM when usable; otherwise AG_BACKEND_LANDLOCK if
 * fallback is true. -EOPNOTSUPP when BPF-LSM is not usable and no fallback was allowed; why
 * says why BPF-LSM is not usable in both of the latter cases.
 */
int ag_backend_choose(bool fallback, enum ag_backend *out, char *why, size_t len);

/* --fallback's value for cmd: true for "landlock", the only one; else says so on stderr. */
bool ag_backend_fallback_arg(const char *cmd, const char *arg);

/*
 * The refusal when BPF-LSM is unusable and --fallback landlock was not given, logged as one
 * error naming the alternative. cmd is "load" or "run".
 */
void ag_backend_log_refusal(const char *cmd, const char *why);

#endif /* AG_BACKEND_H */
