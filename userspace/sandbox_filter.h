/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the command agentguard run starts may do, beyond the policy. The seccomp filter: system
 * calls the sandboxed command never needs and that widen the kernel surface or reach around
 * agentguard. Each is listed with its reason in docs/host-mode.md. The LSM hooks stay the
 * enforcement; this is a second wall that also stops what happens before any LSM hook runs.
 * Under the Landlock fallback the command also loses every capability (ag_sandbox_drop_caps).
 */
#ifndef AG_SANDBOX_FILTER_H
#define AG_SANDBOX_FILTER_H

#include <stdbool.h>

/*
 * Install the filter in this thread (and what it execs). Sets no_new_privs first, which the
 * filter needs anyway. io_uring: whether io_uring_setup is allowed (spec.process.io_uring).
 * 0 or -errno; on error nothing is installed, and the caller must not exec.
 */
int ag_sandbox_filter_install(bool io_uring);

/*
 * Drop every capability for good: securebits that stop root's exec and setuid from giving any
 * back (locked), then the ambient, bounding, effective, permitted and inheritable sets. Needs
 * CAP_SETPCAP, so before anything else drops it. 0 or -errno; on error the caller must not exec.
 */
int ag_sandbox_drop_caps(void);

#endif /* AG_SANDBOX_FILTER_H */
