/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The policy of each generation, kept in the state directory (issue #10): whoever installs a
 * generation (agentguard load, reload, a daemon's SIGHUP) first copies its policy files there
 * as policy-SEQ.I.yaml, so a daemon that sees another process flip the generation can name
 * that generation's rules in its events. The directory is protected from the sandbox (files in
 * it cannot be written, created, removed or renamed there).
 */
#ifndef AG_POLICY_STORE_H
#define AG_POLICY_STORE_H

#include <linux/types.h>

struct ag_policy;
struct ag_compiled;

/* A compiled policy and the parsed files it came from. */
struct ag_active_policy {
	struct ag_policy **pols;
	int n;
	struct ag_compiled *c;
};

/*
 * Copy files into the directory dirfd as the policy of generation seq (each written to a
 * temporary name, synced and renamed); remove the copies older than seq - 1.
 */
int ag_policy_store_save(int dirfd, __u32 seq, char **files, int n);
/* Parse and compile generation seq's copies into *out: an AG_EXIT_* status. */
int ag_policy_store_compile(int dirfd, __u32 seq, struct ag_active_policy *out);
void ag_active_policy_free(struct ag_active_policy *p);
/*
 * Are pols[0..n) byte for byte, in order, the files stored for generation seq? 1 yes, 0 no,
 * -ENOENT nothing stored for seq, or another -errno.
 */
int ag_policy_store_same(int dirfd, __u32 seq, struct ag_policy *const *pols, int n);

/* The state directory agentguard uses unless told otherwise. */
#define AG_STATE_DIR "/var/lib/agentguard"

/*
 * The policy files "agentguard load" was started with, as absolute paths, kept in the state
 * directory (started-with) for "agentguard reset". At most AG_STARTED_WITH_MAX.
 */
#define AG_STARTED_WITH_MAX 64
int ag_started_with_write(int dirfd, char **files, int n);
/* Fill files (malloc'ed paths): how many, or -errno. */
int ag_started_with_read(const char *state_dir, char **files, int max);
/*
 * The sandbox cgroup's path, kept in the state directory (sandbox-cgroup) so that
 * "agentguard reload" can apply a new policy's limits with no daemon running.
 */
int ag_sandbox_path_write(int dirfd, const char *path);
int ag_sandbox_path_read(const char *state_dir, char *buf, size_t len);

struct ag_loader;
/*
 * Install c, compiled from files, as the next generation: under the swap lock of pin_dir,
 * the copies first, then the flip (ag_loader_install). On error the generation in force
 * stays.
 */
int ag_install_generation(struct ag_loader *l, const char *pin_dir, int dirfd, char **files,
			  int n, const struct ag_compiled *c);

#endif /* AG_POLICY_STORE_H */
