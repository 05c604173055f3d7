/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What --fallback landlock enforces, told before anything runs (docs/host-mode.md): one line
 * per rule of the policy and per built-in protection that depends on it, then what this backend
 * never judges. The count returned is what agentguard run and load refuse on unless
 * --allow-unenforced: rules and built-in protections whose denials would become allows.
 */
#ifndef AG_FALLBACK_H
#define AG_FALLBACK_H

#include <stddef.h>
#include <stdio.h>
#include "compile.h"
#include "landlock.h"

/*
 * A built-in protection of BPF-LSM mode (docs/containment.md) that, under Landlock, holds only
 * while no rule grants write there: Landlock cannot add a deny to what a policy allows.
 */
struct ag_fallback_protected {
	const char *path;	/* absolute and resolved */
	const char *what;	/* "the cgroup tree (leaving the sandbox cgroup ...)" */
};

/*
 * agentguard run --fallback landlock: every rule (filesystem as assessed, network, unix,
 * inbound), the protected paths, the resource limits (no_limits: the cgroup2 controllers
 * missing here, or ""), the grants that could not be placed, and what the backend never judges
 * at plan->abi. Returns the number of filesystem rules partly or not enforced, protected paths
 * left writable, and policies whose spec.resources cannot be applied. The built-in limits
 * missing are reported, not counted: the machine's cgroup layout decides them, not the policy.
 */
size_t ag_fallback_report_run(FILE *f, const struct ag_compiled *c, const struct ag_ll_plan *plan,
			      const struct ag_ll_assessment *a,
			      const struct ag_fallback_protected *prot, size_t n_prot,
			      const char *no_limits);

/*
 * agentguard load --fallback landlock: nothing restricts the filesystem (Landlock applies to a
 * process and its children, not to a cgroup), nor contains the processes. Returns the number
 * of filesystem rules and defaults that deny something plus policies whose spec.resources
 * cannot be applied (no_limits as above), or -ENOMEM.
 */
long ag_fallback_report_load(FILE *f, const struct ag_compiled *c, const char *no_limits);

#endif /* AG_FALLBACK_H */
