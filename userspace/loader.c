// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "loader.h"
#include "loss.h"
#include "sha256.h"
#include "agentguard.skel.h"
#include "abi_id.h"

/* How deep the agent may nest cgroups below the sandbox (containment.bpf.c relies on it). */
#define AG_MAX_SANDBOX_DEPTH 16
#define AG_MAX_LINKS 96

/*
 * DIR/build: which build pinned the enforcement under a pin directory. A one-entry array map
 * agentguard creates itself, outside the object, so that any build reads any other's. A load
 * that finds another build's there (or none: pinned before builds were recorded) upgrades.
 */
struct ag_build {
	__u8 abi[AG_SHA256_LEN];	/* of agentguard_abi.h: the records' and tables' layout */
	__u8 object[AG_SHA256_LEN];	/* of the BPF object this build embeds */
};

struct ag_loader {
	struct agentguard *skel;
	struct ag_loader_opts opts;
	char root[4096];	/* where this load pins: pin_dir, or pin_dir/next when upgrading */
	struct ag_build build;	/* this build's */
	bool upgrading;		/* another build's enforcement is pinned at pin_dir */
	bool upgrade_committed;	/* root/build is pinned: this build's enforcement is complete */
	bool has_old;		/* old holds a retired (or retiring) build's leftovers */
	struct ag_loader_old old;
	struct bpf_link *links[AG_MAX_LINKS];
	size_t n_links;
	int fs_inner[AG_GENERATIONS];
	int net_inner[AG_GENERATIONS];
	int unix_path_inner[AG_GENERATIONS];
	int unix_name_inner[AG_GENERATIONS];
	struct ag_state state;	/* what ag_state[0] holds */
	struct ag_state *state_map;	/* ag_state[0], mmap'ed; NULL until loaded */
	bool installed;
	bool adopted;		/* the maps and links were pinned by an earlier load */
	ag_loader_pre_flip_fn pre_flip;
	void *pre_flip_ctx;
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int add_drop_catch_alls(struct ag_loader *l)
{
	static const __u8 verdicts[] = { AG_DENY, AG_WOULD_DENY };
	int ncpus = libbpf_num_possible_cpus(), fd = bpf_map__fd(l->skel->maps.ag_drops), err = 0;
	__u64 *zero;
	__u8 reason;
	size_t v;

	if (ncpus <= 0)
		return -EINVAL;
	zero = calloc(ncpus, sizeof(*zero));
	if (!zero)
		return -ENOMEM;
	for (v = 0; v < sizeof(verdicts) && !err; v++)
		for (reason = AG_DROP_RING_FULL; reason <= AG_DROP_RATE_LIMITED && !err; reason++) {
			struct ag_drop_key key = { .verdict = verdicts[v], .reason = reason,
						   .rule = AG_RULE_NONE };

			if (bpf_map_update_elem(fd, &key, zero, BPF_NOEXIST))
				err = -errno;
		}
	free(zero);
	return err;
}

/* DIR/SUB/NAME, or -ENAMETOOLONG. */
static int pin_path(char *buf, size_t len, const char *dir, const char *sub, const char *name)
{
	int n = snprintf(buf, len, "%s/%s%s%s", dir, sub, name ? "/" : "", name ? name : "");

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int ag_loader_map_path(char *buf, size_t len, const char *dir, const char *map)
{
	return pin_path(buf, len, dir, "maps", map);
}

bool ag_loader_pinned(const char *dir)
{
	char path[4096];

	return !pin_path(path, sizeof(path), dir, "maps", "ag_state") && !access(path, F_OK);
}

/* Programs this load attaches: every autoloaded one but the syscall programs (run, not hooked). */
static bool attaches(const struct bpf_program *prog)
{
	return bpf_program__autoload(prog) && bpf_program__type(prog) != BPF_PROG_TYPE_SYSCALL;
}

static int make_pin_dirs(const char *dir)
{
	char path[4096];
	int err;

	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	err = pin_path(path, sizeof(path), dir, "maps", NULL);
	if (!err && mkdir(path, 0700) && errno != EEXIST)
		err = -errno;
	if (!err)
		err = pin_path(path, sizeof(path), dir, "links", NULL);
	if (!err && mkdir(path, 0700) && errno != EEXIST)
		err = -errno;
	return err;
}

/*
 * Before load: every map of the object (but the compiler's .rodata/.bss) is pinned under
 * DIR/maps at load, or, when adopting, reused from there (libbpf checks that type, sizes and
 * flags match this build's).
 */
static int set_pin_paths(struct ag_loader *l, const char *dir)
{
	struct bpf_map *map;
	char path[4096];
	int err;

	bpf_object__for_each_map(map, l->skel->obj) {
		if (bpf_map__is_internal(map))
			continue;
		err = pin_path(path, sizeof(path), dir, "maps", bpf_map__name(map));
		if (!err)
			err = bpf_map__set_pin_path(map, path);
		if (err)
			return err;
	}
	return 0;
}

/*
 * LSM programs written for some kernels only, and what picks them in the kernel's BTF: the
 * hook's argument count (args > 0), or whether a hook exists (0: it must, -1: it must not).
 * inode_setattr gained the mount's idmap; file_truncate, inode_set_acl and inode_remove_acl
 * are 6.2's; kernels without inode_xattr_skipcap (before 6.10) run the capability check for
 * security.* xattrs only when the LSM returns 1 (bpf/file.bpf.c says why). Every other
 * program loads on every kernel.
 */
static const struct {
	const char *prog;
	const char *hook;
	int args;
} lsm_variants[] = {
	{ "ag_setattr", "inode_setattr", 2 },
	{ "ag_setattr_idm", "inode_setattr", 3 },
	{ "ag_setxattr", "inode_xattr_skipcap", 0 },
	{ "ag_rmxattr", "inode_xattr_skipcap", 0 },
	{ "ag_setxattr_cap", "inode_xattr_skipcap", -1 },
	{ "ag_rmxattr_cap", "inode_xattr_skipcap", -1 },
	{ "ag_ftruncate", "file_truncate", 0 },
	{ "ag_set_acl", "inode_set_acl", 0 },
	{ "ag_remove_acl", "inode_remove_acl", 0 },
};

/* The argument count of an LSM hook in the kernel's BTF (of its bpf_lsm_ stub), or -ENOENT. */
static int lsm_hook_args(const struct btf *vmlinux, const char *hook)
{
	const struct btf_type *t;
	char name[128];
	int id;

	snprintf(name, sizeof(name), "bpf_lsm_%s", hook);
	id = btf__find_by_name_kind(vmlinux, name, BTF_KIND_FUNC);
	if (id < 0)
		return -ENOENT;
	t = btf__type_by_id(vmlinux, btf__type_by_id(vmlinux, id)->type);
	return t && btf_is_func_proto(t) ? btf_vlen(t) : -ENOENT;
}

static bool variant_fits(int want, int args)
{
	if (want > 0)
		return args == want;
	return want == 0 ? args >= 0 : args < 0;
}

/*
 * Leave out (autoload off) the LSM programs written for other kernels. -EOPNOTSUPP if a hook
 * this kernel has would be left without a program (its arguments changed again): never load
 * with a hook silently unjudged.
 */
static int pick_lsm_variants(struct ag_loader *l)
{
	struct bpf_program *prog, *other;
	struct btf *vmlinux;
	int err = 0;
	size_t i;

	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux)
		return -errno;
	bpf_object__for_each_program(prog, l->skel->obj)
		for (i = 0; i < sizeof(lsm_variants) / sizeof(lsm_variants[0]); i++)
			if (!strcmp(bpf_program__name(prog), lsm_variants[i].prog) &&
			    !variant_fits(lsm_variants[i].args,
					  lsm_hook_args(vmlinux, lsm_variants[i].hook)))
				bpf_program__set_autoload(prog, false);
	bpf_object__for_each_program(prog, l->skel->obj) {
		const char *sec = bpf_program__section_name(prog);
		bool covered = false;

		if (bpf_program__autoload(prog) || strncmp(sec, "lsm/", 4) ||
		    lsm_hook_args(vmlinux, sec + 4) < 0)
			continue;
		bpf_object__for_each_program(other, l->skel->obj)
			covered |= bpf_program__autoload(other) &&
				   !strcmp(bpf_program__section_name(other), sec);
		if (!covered) {
			err = -EOPNOTSUPP;
			break;
		}
	}
	btf__free(vmlinux);
	return err;
}

/* How many programs of one kind (LSM, or cgroup) have their link pinned under dir, of how many. */
static int pinned_links(struct ag_loader *l, const char *dir, bool lsm, size_t *have,
			size_t *want)
{
	struct bpf_program *prog;
	char path[4096];
	int err;

	*have = *want = 0;
	bpf_object__for_each_program(prog, l->skel->obj) {
		/* Variants pick_lsm_variants left out have no link. */
		if (bpf_program__type(prog) == BPF_PROG_TYPE_SYSCALL || !bpf_program__autoload(prog) ||
		    (bpf_program__type(prog) == BPF_PROG_TYPE_LSM) != lsm)
			continue;
		err = pin_path(path, sizeof(path), dir, "links", bpf_program__name(prog));
		if (err)
			return err;
		(*want)++;
		if (!access(path, F_OK))
			(*have)++;
	}
	return 0;
}

/*
 * Adopting: every program this build would attach has its link pinned, and, for a load
 * without the LSM programs (--fallback landlock), none of them is: the pins are of its kind.
 */
static int links_complete(struct ag_loader *l, const char *dir)
{
	size_t have, want;
	int err;

	err = pinned_links(l, dir, true, &have, &want);
	if (!err && (l->opts.lsm ? have != want : have != 0))
		err = -EUCLEAN;
	if (!err && l->opts.cgroup) {
		err = pinned_links(l, dir, false, &have, &want);
		if (!err && have != want)
			err = -EUCLEAN;
	}
	return err;
}

/* The inner map in slot of outer, opened (for its size, and to hold it until the next swap). */
static int inner_fd(const struct bpf_map *outer, __u32 slot)
{
	__u32 id;
	int fd;

	if (bpf_map_lookup_elem(bpf_map__fd(outer), &slot, &id))
		return -errno;
	fd = bpf_map_get_fd_by_id(id);
	return fd < 0 ? -errno : fd;
}

/*
 * Hold the tables in both slots as the pinned outer maps have them (an empty slot: -1), so
 * the ones a swap replaces stay open until after the flip (see ag_loader_install).
 */
static int open_slots(struct ag_loader *l)
{
	__u32 g;

	for (g = 0; g < AG_GENERATIONS; g++) {
		close_fd(&l->fs_inner[g]);
		close_fd(&l->net_inner[g]);
		close_fd(&l->unix_path_inner[g]);
		close_fd(&l->unix_name_inner[g]);
		l->fs_inner[g] = inner_fd(l->skel->maps.ag_fs_gens, g);
		l->net_inner[g] = inner_fd(l->skel->maps.ag_net_gens, g);
		l->unix_path_inner[g] = inner_fd(l->skel->maps.ag_unix_path_gens, g);
		l->unix_name_inner[g] = inner_fd(l->skel->maps.ag_unix_name_gens, g);
	}
	g = l->state.generation;
	if (l->fs_inner[g] < 0 || l->net_inner[g] < 0 || l->unix_path_inner[g] < 0 ||
	    l->unix_name_inner[g] < 0)
		return -EUCLEAN;
	return 0;
}

/* Take over the pinned state: the active generation's number, seed and tables. */
static int adopt_state(struct ag_loader *l)
{
	memcpy(&l->state, l->state_map, sizeof(l->state));
	l->state.generation = ag_state_slot(&l->state);
	if (!l->state.sandbox_cgid || !l->state.generation_seq)
		return -EUCLEAN;	/* pinned before a policy was in force */
	l->installed = true;
	l->adopted = true;
	return open_slots(l);
}

__u32 ag_loader_active_generation(const struct ag_loader *l)
{
	return __atomic_load_n(&l->state_map->generation_seq, __ATOMIC_ACQUIRE);
}

/* Another process (agentguard reload) may have swapped since we looked: catch up. */
static int refresh_state(struct ag_loader *l)
{
	__u32 seq;

	if (!l->opts.pin_dir || !l->installed)
		return 0;
	seq = ag_loader_active_generation(l);
	if (seq == l->state.generation_seq)
		return 0;
	l->state.generation_seq = seq;
	l->state.generation = ag_state_slot(&l->state);
	return open_slots(l);
}

static size_t linked_prog_ids(const char *dir, __u32 *ids, size_t max);
static int wait_progs_gone(const __u32 *ids, size_t n);
static int unpin_sub(const char *dir, const char *sub);

/*
 * This build's identity. AGENTGUARD_TEST_BUILD_SALT (tests only) gives one binary a second
 * identity, so the upgrade path can be exercised without a second build; "abi:" in front of
 * it changes the ABI identity as well.
 */
static void this_build(struct ag_build *b)
{
	const char *salt = getenv("AGENTGUARD_TEST_BUILD_SALT");
	struct ag_sha256 h;
	const void *elf;
	size_t len;

	ag_sha256(AG_ABI_ID, strlen(AG_ABI_ID), b->abi);
	elf = agentguard__elf_bytes(&len);
	ag_sha256_init(&h);
	ag_sha256_update(&h, elf, len);
	if (salt && *salt) {
		ag_sha256_update(&h, salt, strlen(salt));
		if (!strncmp(salt, "abi:", 4)) {
			ag_sha256_init(&h);
			ag_sha256_update(&h, AG_ABI_ID, strlen(AG_ABI_ID));
			ag_sha256_update(&h, salt, strlen(salt));
			ag_sha256_final(&h, b->abi);
			ag_sha256_init(&h);
			ag_sha256_update(&h, elf, len);
			ag_sha256_update(&h, salt, strlen(salt));
		}
	}
	ag_sha256_final(&h, b->object);
}

/* The build recorded at root/build: 0, -ENOENT if none, or -errno. */
static int read_build(const char *root, struct ag_build *b)
{
	char path[4096];
	__u32 zero = 0;
	int fd, err = pin_path(path, sizeof(path), root, "build", NULL);

	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	err = bpf_map_lookup_elem(fd, &zero, b) ? -errno : 0;
	close(fd);
	return err;
}

static int pin_build(const char *root, const struct ag_build *b)
{
	char path[4096];
	__u32 zero = 0;
	int fd, err = pin_path(path, sizeof(path), root, "build", NULL);

	if (err)
		return err;
	/* One a load left behind without its maps (ag_loader_pinned was false) is stale. */
	if (unlink(path) && errno != ENOENT)
		return -errno;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "ag_build", sizeof(zero), sizeof(*b), 1, NULL);
	if (fd < 0)
		return -errno;
	if (bpf_map_update_elem(fd, &zero, b, 0) || bpf_obj_pin(fd, path))
		err = -errno;
	close(fd);
	return err;
}

/* A pinned map of the old build, by name: an fd, or -1 (absent, or unreadable). */
static int old_map(const char *dir, const char *name)
{
	char path[4096];
	int fd;

	if (pin_path(path, sizeof(path), dir, "maps", name))
		return -1;
	fd = bpf_obj_get(path);
	return fd < 0 ? -1 : fd;
}

/*
 * What the upgrade takes over from the old build. Every build's ag_state begins with the
 * sandbox's cgroup id and keeps generation_seq at the same offset (agentguard_abi.h), so any
 * build's state can be read that far. The rings, to drain; with the same ABI, the drop
 * counters and folds, to report what the old build never did.
 */
static int open_old(struct ag_loader *l)
{
	struct ag_loader_old *o = &l->old;
	struct ag_build old_build;
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), zero = 0;
	__u8 *val = NULL;
	int fd, err;

	o->same_abi = !read_build(l->opts.pin_dir, &old_build) &&
		      !memcmp(old_build.abi, l->build.abi, sizeof(old_build.abi));
	fd = old_map(l->opts.pin_dir, "ag_state");
	if (fd < 0)
		return -EUCLEAN;
	err = bpf_obj_get_info_by_fd(fd, &info, &len) ? -errno : 0;
	if (!err && info.value_size < offsetof(struct ag_state, generation_seq) + sizeof(__u32))
		err = -EUCLEAN;
	if (!err && !(val = calloc(1, info.value_size)))
		err = -ENOMEM;
	if (!err && bpf_map_lookup_elem(fd, &zero, val))
		err = -errno;
	if (!err) {
		memcpy(&o->sandbox_cgid, val + offsetof(struct ag_state, sandbox_cgid),
		       sizeof(o->sandbox_cgid));
		memcpy(&o->generation_seq, val + offsetof(struct ag_state, generation_seq),
		       sizeof(o->generation_seq));
	}
	free(val);
	close(fd);
	if (err)
		return err;
	l->has_old = true;
	o->rings[0] = old_map(l->opts.pin_dir, "ag_deny_events");
	o->rings[1] = old_map(l->opts.pin_dir, "ag_events");
	if (o->same_abi) {
		o->drops_fd = old_map(l->opts.pin_dir, "ag_drops");
		o->reported_fd = old_map(l->opts.pin_dir, "ag_drops_reported");
		o->fold_fd = old_map(l->opts.pin_dir, "ag_fold");
	}
	return 0;
}

static void close_old(struct ag_loader_old *o)
{
	close_fd(&o->rings[0]);
	close_fd(&o->rings[1]);
	close_fd(&o->drops_fd);
	close_fd(&o->reported_fd);
	close_fd(&o->fold_fd);
}

/*
 * dir/next/build is pinned: the new build's enforcement is complete there. Retire the old:
 * unpin its links and wait for its programs to go, unpin its maps and build, and move the new
 * build's pins into place. Every step may be repeated: a load that died half-way through is
 * finished by the next (recover_upgrade).
 */
static int promote_next(const char *dir)
{
	static const char *const subs[] = { "maps", "links", "build" };
	char next[4096], from[4096], to[4096];
	__u32 ids[AG_MAX_LINKS];
	size_t n, i;
	int err;

	err = pin_path(next, sizeof(next), dir, "next", NULL);
	if (err)
		return err;
	n = linked_prog_ids(dir, ids, AG_MAX_LINKS);
	err = unpin_sub(dir, "links");
	if (!err)
		err = wait_progs_gone(ids, n);
	if (!err)
		err = unpin_sub(dir, "maps");
	if (!err && !pin_path(to, sizeof(to), dir, "build", NULL) && unlink(to) && errno != ENOENT)
		err = -errno;
	for (i = 0; !err && i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (pin_path(from, sizeof(from), next, subs[i], NULL) ||
		    pin_path(to, sizeof(to), dir, subs[i], NULL))
			return -ENAMETOOLONG;
		if (rename(from, to) && errno != ENOENT)
			err = -errno;
	}
	if (!err && rmdir(next) && errno != ENOENT)
		err = -errno;
	return err;
}

/*
 * An upgrade that stopped half-way: finished if the new build's enforcement was complete
 * (next/build pinned), undone otherwise, so the old build's stays in force. Finishing it, the
 * old build's rings and counters are kept in l->old, to be reported.
 */
static int recover_upgrade(struct ag_loader *l)
{
	const char *dir = l->opts.pin_dir;
	char next[4096];
	struct ag_build b;
	int err = pin_path(next, sizeof(next), dir, "next", NULL);

	if (err)
		return err;
	if (access(next, F_OK))
		return errno == ENOENT ? 0 : -errno;
	if (read_build(next, &b))
		return ag_loader_unpin_dir(next, false);
	if (ag_loader_pinned(dir) && open_old(l))
		close_old(&l->old);	/* nothing readable: nothing to report */
	return promote_next(dir);
}

int ag_loader_open(const struct ag_loader_opts *opts, struct ag_loader **out)
{
	struct bpf_program *prog;
	struct ag_loader *l;
	bool adopt;
	void *map;
	int err, i;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->opts = *opts;
	for (i = 0; i < AG_GENERATIONS; i++)
		l->fs_inner[i] = l->net_inner[i] = l->unix_path_inner[i] = l->unix_name_inner[i] = -1;

	l->old.rings[0] = l->old.rings[1] = -1;
	l->old.drops_fd = l->old.reported_fd = l->old.fold_fd = -1;

	l->skel = agentguard__open();
	if (!l->skel) {
		err = -errno;
		goto cleanup;
	}
	this_build(&l->build);
	adopt = false;
	if (opts->pin_dir) {
		struct ag_build pinned;
		char next[4096];

		/* Only the upgrader (it holds the pin directory's lock) may finish or undo one. */
		err = pin_path(next, sizeof(next), opts->pin_dir, "next", NULL);
		if (!err)
			err = opts->upgrade ? recover_upgrade(l) :
			      !access(next, F_OK) ? -EAGAIN : 0;
		if (err)
			goto cleanup;
		if (ag_loader_pinned(opts->pin_dir)) {
			adopt = !read_build(opts->pin_dir, &pinned) &&
				!memcmp(&pinned, &l->build, sizeof(pinned));
			if (!adopt && !opts->upgrade) {
				err = -ESTALE;
				goto cleanup;
			}
			l->upgrading = !adopt;
		}
		snprintf(l->root, sizeof(l->root), "%s", l->upgrading ? next : opts->pin_dir);
	}
	if (opts->lsm) {
		err = pick_lsm_variants(l);
		if (err)
			goto cleanup;
	}
	if (adopt) {
		err = links_complete(l, opts->pin_dir);
		if (err)
			goto cleanup;
	}
	if (l->upgrading) {
		err = open_old(l);
		if (err)
			goto cleanup;
		/* Generations go on from the old build's, so events keep naming the right one. */
		l->state.generation_seq = l->old.generation_seq;
		l->state.generation = ag_state_slot(&l->state);
	}
	bpf_object__for_each_program(prog, l->skel->obj) {
		bool lsm = bpf_program__type(prog) == BPF_PROG_TYPE_LSM;

		/* Adopting: the pinned links hold the programs that are attached. */
		bpf_program__set_autoload(prog, bpf_program__autoload(prog) && !adopt &&
						(lsm ? opts->lsm : opts->cgroup));
		/* The ring query runs by BPF_PROG_TEST_RUN only (see ag_loader_metrics). */
		if (bpf_program__type(prog) == BPF_PROG_TYPE_SYSCALL)
			bpf_program__set_autoload(prog, true);
	}
	if (opts->pin_dir) {
		err = make_pin_dirs(l->root);
		if (!err)
			err = set_pin_paths(l, l->root);
		if (err)
			goto cleanup;
	}
	err = agentguard__load(l->skel);
	if (err)
		goto cleanup;

	/* The drop counters' catch-alls (common.bpf.h: ag_count_drop_why), one per decision and
	 * reason, so a full table still counts. Adopted maps have them. */
	err = adopt ? 0 : add_drop_catch_alls(l);
	if (err)
		goto cleanup;

	map = mmap(NULL, sysconf(_SC_PAGESIZE), PROT_READ | PROT_WRITE, MAP_SHARED,
		   bpf_map__fd(l->skel->maps.ag_state), 0);
	if (map == MAP_FAILED) {
		err = -errno;
		goto cleanup;
	}
	l->state_map = map;
	/* Nothing attached yet: the next generation is numbered from the old build's. */
	if (l->upgrading)
		__atomic_store_n(&l->state_map->generation_seq, l->state.generation_seq,
				 __ATOMIC_RELEASE);
	if (adopt) {
		err = adopt_state(l);
		if (err)
			goto cleanup;
		*out = l;
		return 0;
	}

	/* The path-hash seed is fixed for the programs' life: tables are built with it. */
	if (getrandom(&l->state.hash_seed, sizeof(l->state.hash_seed), 0) !=
	    sizeof(l->state.hash_seed)) {
		err = -EIO;
		goto cleanup;
	}
	*out = l;
	return 0;

cleanup:
	ag_loader_close(l);
	return err;
}

/*
 * Publish l->state. Only generation_seq changes while programs run (a swap): it goes last,
 * in one aligned store, so a program sees either generation whole (agentguard_abi.h).
 */
static void write_state(struct ag_loader *l)
{
	struct ag_state *m = l->state_map;

	m->sandbox_cgid = l->state.sandbox_cgid;
	m->hash_seed = l->state.hash_seed;
	m->sandbox_level = l->state.sandbox_level;
	m->generation = l->state.generation;
	__atomic_store_n(&m->generation_seq, l->state.generation_seq, __ATOMIC_RELEASE);
}

static int cmp_fs_key(const void *a, const void *b)
{
	__u64 x = ((const struct ag_fs_key *)a)->hash, y = ((const struct ag_fs_key *)b)->hash;

	return x < y ? -1 : x > y;
}

/* -EADDRINUSE if two keys are equal (the batch update would keep only one). */
static int fs_keys_unique(const struct ag_fs_key *keys, size_t n)
{
	struct ag_fs_key *sorted;
	size_t i;
	int err = 0;

	if (n < 2)
		return 0;
	sorted = malloc(n * sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	memcpy(sorted, keys, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_fs_key);
	for (i = 1; i < n && !err; i++)
		if (sorted[i].hash == sorted[i - 1].hash)
			err = -EADDRINUSE;
	free(sorted);
	return err;
}

static int build_fs_table(const struct ag_loader *l, const struct ag_compiled *c, int *out)
{
	LIBBPF_OPTS(bpf_map_create_opts, mopts);

	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	struct ag_fs_key *keys = NULL;
	struct ag_fs_val *vals = NULL;
	__u32 count;
	size_t i;
	int fd, err = 0;

	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "ag_fs_tab", sizeof(struct ag_fs_key),
			    sizeof(struct ag_fs_val), c->n_fs ? c->n_fs : 1, &mopts);
	if (fd < 0)
		return -errno;
	keys = calloc(c->n_fs ? c->n_fs : 1, sizeof(*keys));
	vals = calloc(c->n_fs ? c->n_fs : 1, sizeof(*vals));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < c->n_fs; i++) {
		keys[i].hash = ag_fs_path_key(c->fs[i].path, strlen(c->fs[i].path),
					      l->state.hash_seed);
		vals[i] = c->fs[i].val;
	}
	/* Two rule paths with one 64-bit hash must not shadow each other. */
	err = fs_keys_unique(keys, c->n_fs);
	if (err)
		goto cleanup;
	/* One system call for the whole (new, empty) table. */
	count = c->n_fs;
	if (count && bpf_map_update_batch(fd, keys, vals, &count, &bopts))
		err = -errno;
	else if (count != c->n_fs)
		err = -EIO;
cleanup:
	free(keys);
	free(vals);
	if (err) {
		close(fd);
		return err;
	}
	*out = fd;
	return 0;
}

static int build_net_table(const struct ag_compiled *c, int *out)
{
	LIBBPF_OPTS(bpf_map_create_opts, mopts, .map_flags = BPF_F_NO_PREALLOC);
	size_t i;
	int fd, err;

	fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "ag_net_tab", sizeof(struct ag_net_key),
			    sizeof(struct ag_net_val), c->n_net ? c->n_net : 1, &mopts);
	if (fd < 0)
		return -errno;
	for (i = 0; i < c->n_net; i++) {
		if (bpf_map_update_elem(fd, &c->net[i].key, &c->net[i].val, BPF_NOEXIST)) {
			err = -errno;
			close(fd);
			return err;
		}
	}
	*out = fd;
	return 0;
}

static __u64 kernel_dev(dev_t d)
{
	/* The kernel's internal dev_t (MKDEV), as inode->i_sb->s_dev holds it. */
	return ((__u64)major(d) << 20) | minor(d);
}

/*
 * spec.unix: pathname sockets by inode as they exist now (a missing path or a non-socket is
 * skipped: nothing can connect to it, and a socket made later is a new inode), abstract ones
 * by name.
 */
static int build_unix_tables(const struct ag_compiled *c, int *path_fd, int *name_fd)
{
	size_t i, n = c->n_unix ? c->n_unix : 1;
	int pfd, nfd, err = 0;

	pfd = bpf_map_create(BPF_MAP_TYPE_HASH, "ag_unix_path", sizeof(struct ag_inode_key),
			     sizeof(__u32), n, NULL);
	if (pfd < 0)
		return -errno;
	nfd = bpf_map_create(BPF_MAP_TYPE_HASH, "ag_unix_name", sizeof(struct ag_unix_name_key),
			     sizeof(__u32), n, NULL);
	if (nfd < 0) {
		err = -errno;
		close(pfd);
		return err;
	}
	for (i = 0; i < c->n_unix && !err; i++) {
		const struct ag_unix_entry *e = &c->unx[i];

		if (e->path) {
			struct ag_inode_key key = {};
			struct stat st;

			if (stat(e->path, &st) || !S_ISSOCK(st.st_mode))
				continue;
			key.dev = kernel_dev(st.st_dev);
			key.ino = st.st_ino;
			if (bpf_map_update_elem(pfd, &key, &e->rule, 0))
				err = -errno;
		} else {
			struct ag_unix_name_key key = {};

			if (e->abstract_len > AG_UNIX_NAME_MAX)
				continue;
			key.len = e->abstract_len;
			memcpy(key.name, e->abstract, e->abstract_len);
			if (bpf_map_update_elem(nfd, &key, &e->rule, 0))
				err = -errno;
		}
	}
	if (err) {
		close(pfd);
		close(nfd);
		return err;
	}
	*path_fd = pfd;
	*name_fd = nfd;
	return 0;
}

/* spec.network.inbound: the slot's AG_INBOUND_MAX entries, unused ones zeroed. */
static int write_inbound(const struct ag_loader *l, const struct ag_compiled *c, __u32 slot)
{
	int fd = bpf_map__fd(l->skel->maps.ag_inbound);
	__u32 i, key;

	for (i = 0; i < AG_INBOUND_MAX; i++) {
		struct ag_inbound e = {};

		if (i < c->n_inbound)
			e = c->inbound[i];
		key = slot * AG_INBOUND_MAX + i;
		if (bpf_map_update_elem(fd, &key, &e, 0))
			return -errno;
	}
	return 0;
}

int ag_loader_install(struct ag_loader *l, const struct ag_compiled *c)
{
	int fs_fd = -1, net_fd = -1, upath_fd = -1, uname_fd = -1, err = refresh_state(l);
	struct ag_state next = { .generation_seq = l->state.generation_seq + 1 };
	__u32 slot = ag_state_slot(&next);

	if (err)
		return err;
	err = build_fs_table(l, c, &fs_fd);
	if (err)
		goto cleanup;
	err = build_net_table(c, &net_fd);
	if (err)
		goto cleanup;
	err = build_unix_tables(c, &upath_fd, &uname_fd);
	if (err)
		goto cleanup;
	err = write_inbound(l, c, slot);
	if (err)
		goto cleanup;
	if (l->pre_flip) {
		err = l->pre_flip(l->pre_flip_ctx, c, next.generation_seq);
		if (err)
			goto cleanup;
	}
	if (bpf_map_update_elem(bpf_map__fd(l->skel->maps.ag_fs_gens), &slot, &fs_fd, 0) ||
	    bpf_map_update_elem(bpf_map__fd(l->skel->maps.ag_net_gens), &slot, &net_fd, 0) ||
	    bpf_map_update_elem(bpf_map__fd(l->skel->maps.ag_unix_path_gens), &slot, &upath_fd,
				0) ||
	    bpf_map_update_elem(bpf_map__fd(l->skel->maps.ag_unix_name_gens), &slot, &uname_fd,
				0)) {
		err = -errno;
		goto cleanup;
	}

	/* The flip: one word, read once per decision by every hook. */
	l->state.generation = slot;
	l->state.generation_seq = next.generation_seq;
	write_state(l);
	/*
	 * Keep this generation's inner maps open until the next swap: before 6.8 an inner map
	 * could be freed while a program still used it.
	 */
	close_fd(&l->fs_inner[slot]);
	close_fd(&l->net_inner[slot]);
	close_fd(&l->unix_path_inner[slot]);
	close_fd(&l->unix_name_inner[slot]);
	l->fs_inner[slot] = fs_fd;
	l->net_inner[slot] = net_fd;
	l->unix_path_inner[slot] = upath_fd;
	l->unix_name_inner[slot] = uname_fd;
	l->installed = true;
	return 0;

cleanup:
	close_fd(&fs_fd);
	close_fd(&net_fd);
	close_fd(&upath_fd);
	close_fd(&uname_fd);
	return err;
}

int ag_protected_add(int map_fd, const struct ag_inode_key *key, __u32 owner)
{
	__u32 owners = 0;

	if (bpf_map_lookup_elem(map_fd, key, &owners) && errno != ENOENT)
		return -errno;
	if (owners == 1)
		owners = 0;	/* an older build's: from now on, ours */
	owners |= owner;
	if (bpf_map_update_elem(map_fd, key, &owners, 0))
		return -errno;
	return 0;
}

int ag_protected_release(int map_fd, const struct ag_inode_key *key, __u32 owner)
{
	__u32 owners;

	if (bpf_map_lookup_elem(map_fd, key, &owners))
		return errno == ENOENT ? 0 : -errno;
	owners = owners == 1 ? 0 : owners & ~owner;
	if (owners ? bpf_map_update_elem(map_fd, key, &owners, 0) :
		     bpf_map_delete_elem(map_fd, key) && errno != ENOENT)
		return -errno;
	return 0;
}

int ag_loader_protect_fd(struct ag_loader *l, int fd, struct ag_inode_key *key, __u32 owner)
{
	struct stat st;

	memset(key, 0, sizeof(*key));
	if (fstat(fd, &st))
		return -errno;
	key->dev = kernel_dev(st.st_dev);
	key->ino = st.st_ino;
	if (!l->opts.lsm)
		return 0;	/* only the LSM programs use the map */
	return ag_protected_add(bpf_map__fd(l->skel->maps.ag_protected), key, owner);
}

int ag_loader_unprotect(struct ag_loader *l, const struct ag_inode_key *key, __u32 owner)
{
	if (!l->opts.lsm)
		return 0;
	return ag_protected_release(bpf_map__fd(l->skel->maps.ag_protected), key, owner);
}

int ag_loader_protect(struct ag_loader *l, const char *path, __u32 owner)
{
	struct ag_inode_key key = {};
	struct stat st;

	if (!l->opts.lsm)
		return 0;	/* only the LSM programs use the map */
	if (stat(path, &st))
		return -errno;
	key.dev = kernel_dev(st.st_dev);
	key.ino = st.st_ino;
	return ag_protected_add(bpf_map__fd(l->skel->maps.ag_protected), &key, owner);
}

static int attach_one(struct ag_loader *l, struct bpf_program *prog, int cgroup_fd)
{
	struct bpf_link *link;

	if (l->n_links >= AG_MAX_LINKS)
		return -E2BIG;
	if (bpf_program__type(prog) == BPF_PROG_TYPE_LSM)
		link = bpf_program__attach_lsm(prog);
	else
		link = bpf_program__attach_cgroup(prog, cgroup_fd);
	if (!link)
		return -errno;
	l->links[l->n_links++] = link;
	if (l->opts.pin_dir) {
		char path[4096];
		int err = pin_path(path, sizeof(path), l->root, "links",
				   bpf_program__name(prog));

		if (!err)
			err = bpf_link__pin(link, path);
		if (err)
			return err;
	}
	return 0;
}

/*
 * Is a process in the sandbox governed by the LSM programs? A child enters the sandbox and asks
 * for a BPF map, which containment refuses there (CAP_BPF is withheld) and root gets anywhere
 * else. Its event names the command "ag-selftest".
 */
static int child_is_governed(const struct ag_cgroup *sandbox)
{
	int status, fd;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		prctl(PR_SET_NAME, "ag-selftest");
		if (ag_cgroup_enter(sandbox, getpid()))
			_exit(2);
		fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, 4, 1, NULL);
		_exit(fd < 0 && errno == EPERM ? 0 : 1);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) == 2)
		return -ECHILD;
	return WEXITSTATUS(status) == 0;
}

/*
 * The LSM programs compare the task's ancestor at sandbox_level, an absolute level. The path
 * below the cgroup2 mount gives it, except inside a cgroup namespace (a container), where the
 * mount's root is not the hierarchy's: then every LSM program would govern nothing. So verify,
 * and if needed find the level that works; never report enforcement that is not there.
 */
static int verify_scope(struct ag_loader *l, const struct ag_cgroup *sandbox)
{
	__u32 level, first = l->state.sandbox_level;
	int governed;

	governed = child_is_governed(sandbox);
	if (governed)
		return governed < 0 ? governed : 0;
	for (level = 1; level <= 64; level++) {
		if (level == first)
			continue;
		l->state.sandbox_level = level;
		write_state(l);
		governed = child_is_governed(sandbox);
		if (governed)
			return governed < 0 ? governed : 0;
	}
	return -ENOTRECOVERABLE;
}

int ag_loader_attach(struct ag_loader *l, const struct ag_cgroup *sandbox)
{
	struct bpf_program *prog;
	char depth[16];
	int err;

	if (!l->installed)
		return -EINVAL;	/* never attach without a policy in place */
	/* Adopted: attached already, by the pinned links, to the cgroup they govern. */
	if (l->adopted)
		return l->state.sandbox_cgid == sandbox->id ? 0 : -EBUSY;
	snprintf(depth, sizeof(depth), "%d", AG_MAX_SANDBOX_DEPTH);
	err = ag_cgroup_write(sandbox, "cgroup.max.depth", depth);
	if (err)
		return err;
	l->state.sandbox_cgid = sandbox->id;
	l->state.sandbox_level = sandbox->level;
	write_state(l);

	/* Cgroup programs first: the LSM programs then find them in place. */
	bpf_object__for_each_program(prog, l->skel->obj) {
		if (!attaches(prog) || bpf_program__type(prog) == BPF_PROG_TYPE_LSM)
			continue;
		err = attach_one(l, prog, sandbox->fd);
		if (err)
			return err;
	}
	bpf_object__for_each_program(prog, l->skel->obj) {
		if (!bpf_program__autoload(prog) || bpf_program__type(prog) != BPF_PROG_TYPE_LSM)
			continue;
		err = attach_one(l, prog, sandbox->fd);
		if (err)
			return err;
	}
	err = l->opts.lsm ? verify_scope(l, sandbox) : 0;
	/* Last: the build's record says that its enforcement under root is complete. */
	if (!err && l->opts.pin_dir)
		err = pin_build(l->root, &l->build);
	if (!err)
		l->upgrade_committed = l->upgrading;
	return err;
}

int ag_loader_retire_old(struct ag_loader *l)
{
	if (!l->upgrade_committed)
		return -EINVAL;
	return promote_next(l->opts.pin_dir);
}

bool ag_loader_upgrading(const struct ag_loader *l)
{
	return l->upgrading;
}

const struct ag_loader_old *ag_loader_old(const struct ag_loader *l)
{
	return l->has_old ? &l->old : NULL;
}

int ag_loader_old_leftovers(const struct ag_loader *l, struct ag_loss_count *out, size_t max)
{
	const struct ag_loader_old *o = &l->old;
	struct ag_loss_count *c;
	struct ag_loss loss;
	__u64 key, next, *prev = NULL;
	struct ag_fold f;
	size_t n = 0, i;
	int err;

	if (!l->has_old || !o->same_abi)
		return 0;
	if (o->drops_fd >= 0) {
		err = ag_loss_open(o->drops_fd, o->reported_fd, &loss);
		if (err)
			return err;
		err = ag_loss_poll(&loss, out, max);
		ag_loss_close(&loss);
		if (err < 0)
			return err;
		n = err;
	}
	/* Repeats it folded and had not reported: one count per (kind, verdict, rule). */
	while (o->fold_fd >= 0 && !bpf_map_get_next_key(o->fold_fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(o->fold_fd, &key, &f) || !f.folded)
			continue;
		for (i = 0, c = NULL; i < n; i++)
			if (out[i].key.reason == AG_DROP_UPGRADE && out[i].key.kind == f.kind &&
			    out[i].key.verdict == f.verdict && out[i].key.rule == f.rule)
				c = &out[i];
		if (!c && n < max) {
			c = &out[n++];
			memset(c, 0, sizeof(*c));
			c->key.kind = f.kind;
			c->key.verdict = f.verdict;
			c->key.rule = f.rule;
			c->key.reason = AG_DROP_UPGRADE;
		}
		if (c)
			c->count += f.folded;
	}
	return n;
}

static int fd_memlock(int fd, unsigned long long *bytes)
{
	char path[64], line[256];
	int err = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", bytes) == 1) {
			err = 0;
			break;
		}
	fclose(f);
	return err;
}

int ag_loader_table_bytes(const struct ag_loader *l, unsigned long long *bytes)
{
	unsigned long long fs, net;
	__u32 g = l->state.generation;
	int err;

	if (!l->installed)
		return -ENOENT;
	err = fd_memlock(l->fs_inner[g], &fs);
	if (!err)
		err = fd_memlock(l->net_inner[g], &net);
	if (!err)
		*bytes = fs + net;
	return err;
}

int ag_loader_deny_ringbuf_fd(const struct ag_loader *l)
{
	return bpf_map__fd(l->skel->maps.ag_deny_events);
}

int ag_loader_ringbuf_fd(const struct ag_loader *l)
{
	return bpf_map__fd(l->skel->maps.ag_events);
}

int ag_loader_metrics(const struct ag_loader *l, struct ag_metrics *m)
{
	LIBBPF_OPTS(bpf_test_run_opts, topts);
	int ncpus = libbpf_num_possible_cpus(), fd, err;
	__u64 *vals;
	__u32 i, key;

	memset(m, 0, sizeof(*m));
	if (ncpus <= 0)
		return -EINVAL;
	vals = calloc(ncpus, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	fd = bpf_map__fd(l->skel->maps.ag_decisions);
	for (key = 0; key < AG_DECISION_SLOTS; key++) {
		if (bpf_map_lookup_elem(fd, &key, vals))
			continue;
		for (i = 0; i < (__u32)ncpus; i++)
			m->decisions[key] += vals[i];
	}
	free(vals);
	err = bpf_prog_test_run_opts(bpf_program__fd(l->skel->progs.ag_ring_query), &topts);
	if (err)
		return -errno;
	fd = bpf_map__fd(l->skel->maps.ag_ring_usage);
	for (key = 0; key < 2; key++)
		bpf_map_lookup_elem(fd, &key, &m->ring_used[key]);
	m->ring_size = AG_DENY_RINGBUF_BYTES;	/* the deny ring's; the other is AG_RINGBUF_BYTES */
	m->generation = l->state.generation_seq;
	return 0;
}

int ag_loader_fold_flush(const struct ag_loader *l, bool force, unsigned int *written,
			 unsigned int *deferred)
{
	LIBBPF_OPTS(bpf_test_run_opts, topts);
	struct {
		__u64 now;
		__u32 written;
		__u32 deferred;
		__u32 force;
		__u32 pad;
	} r = { .force = force };
	int fd = bpf_map__fd(l->skel->maps.ag_flush_result);
	__u32 zero = 0;

	if (bpf_map_update_elem(fd, &zero, &r, 0) ||
	    bpf_prog_test_run_opts(bpf_program__fd(l->skel->progs.ag_fold_flush), &topts) ||
	    bpf_map_lookup_elem(fd, &zero, &r))
		return -errno;
	*written = r.written;
	*deferred = r.deferred;
	return 0;
}

int ag_loader_drops_fd(const struct ag_loader *l)
{
	return bpf_map__fd(l->skel->maps.ag_drops);
}

int ag_loader_drops_reported_fd(const struct ag_loader *l)
{
	return bpf_map__fd(l->skel->maps.ag_drops_reported);
}

bool ag_loader_adopted(const struct ag_loader *l)
{
	return l->adopted;
}

__u64 ag_loader_sandbox_id(const struct ag_loader *l)
{
	return l->state.sandbox_cgid;
}

/* Unlink every entry of DIR/SUB, then the directory. */
static int unpin_sub(const char *dir, const char *sub)
{
	char path[4096], entry[4096 + 258];
	struct dirent *de;
	int err = 0;
	DIR *d;

	if (pin_path(path, sizeof(path), dir, sub, NULL))
		return -ENAMETOOLONG;
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(entry, sizeof(entry), "%s/%s", path, de->d_name);
		if (unlink(entry) && !err)
			err = -errno;
	}
	closedir(d);
	if (!err && rmdir(path) && errno != ENOENT)
		err = -errno;
	return err;
}

int ag_loader_pinned_backend(const char *dir)
{
	struct ag_loader l = { .opts = { .lsm = true, .cgroup = true } };
	int backend = -ENOENT;

	if (!ag_loader_pinned(dir))
		return -ENOENT;
	l.skel = agentguard__open();	/* for the program names only: nothing is loaded */
	if (!l.skel)
		return -errno;
	/*
	 * The variants of this kernel. Without its BTF none can have loaded, and every LSM
	 * program counts: then no backend is complete.
	 */
	pick_lsm_variants(&l);
	if (!links_complete(&l, dir)) {
		backend = AG_BACKEND_BPF_LSM;
	} else {
		l.opts.lsm = false;
		if (!links_complete(&l, dir))
			backend = AG_BACKEND_LANDLOCK;
	}
	agentguard__destroy(l.skel);
	return backend;
}

bool ag_loader_pinned_complete(const char *dir)
{
	return ag_loader_pinned_backend(dir) >= 0;
}

int ag_loader_lock_swaps(const char *dir)
{
	char path[4096];
	int fd, err = pin_path(path, sizeof(path), dir, "maps", NULL);

	if (err)
		return err;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int ag_loader_lock_pin_dir(const char *dir, int *fd)
{
	int lock;

	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	lock = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lock < 0)
		return -errno;
	if (flock(lock, LOCK_EX | LOCK_NB)) {
		int err = -errno;

		close(lock);
		return err;
	}
	*fd = lock;
	return 0;
}

/* The ids of the programs the links pinned under DIR/links hold (at most max). */
static size_t linked_prog_ids(const char *dir, __u32 *ids, size_t max)
{
	char path[4096], entry[4096 + 258];
	struct bpf_link_info info;
	__u32 len = sizeof(info);
	struct dirent *de;
	size_t n = 0;
	DIR *d;
	int fd;

	if (pin_path(path, sizeof(path), dir, "links", NULL) || !(d = opendir(path)))
		return 0;
	while (n < max && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(entry, sizeof(entry), "%s/%s", path, de->d_name);
		fd = bpf_obj_get(entry);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.prog_id)
			ids[n++] = info.prog_id;
		close(fd);
	}
	closedir(d);
	return n;
}

/*
 * The kernel frees an unpinned link (and detaches its program) after an RCU grace period and
 * from a work queue, one trampoline at a time: each LSM hook's last program waits for an
 * RCU-tasks grace period (measured: 8.3 s for 71 programs in an idle TCG guest, longer under
 * load). Wait until every program is gone, so "unloaded" is true when it is said, for as long
 * as programs keep going. A program outlives its detach only by a reference someone else holds
 * (an fd): none going for AG_UNLOAD_STALL_MS means that, -EBUSY.
 */
#define AG_UNLOAD_STALL_MS	30000

static int wait_progs_gone(const __u32 *ids, size_t n)
{
	size_t i, left, last = n + 1;
	int idle_ms = 0, fd;

	for (;;) {
		for (i = 0, left = 0; i < n; i++) {
			fd = bpf_prog_get_fd_by_id(ids[i]);
			/* Gone only when the kernel says so: any other error counts as still there. */
			if (fd >= 0)
				close(fd);
			if (fd >= 0 || errno != ENOENT)
				left++;
		}
		if (!left)
			return 0;
		if (left < last)
			idle_ms = 0;
		else if (idle_ms >= AG_UNLOAD_STALL_MS)
			return -EBUSY;
		last = left;
		usleep(10000);
		idle_ms += 10;
	}
}

int ag_loader_unpin_dir(const char *dir, bool wait)
{
	__u32 ids[AG_MAX_LINKS];
	size_t n = linked_prog_ids(dir, ids, AG_MAX_LINKS);
	char path[4096];
	int err = 0;

	/* An upgrade's half-made enforcement (DIR/next) goes too. */
	if (!pin_path(path, sizeof(path), dir, "next", NULL) && !access(path, F_OK))
		err = ag_loader_unpin_dir(path, wait);
	if (!err)
		err = unpin_sub(dir, "links");
	if (!err)
		err = unpin_sub(dir, "maps");
	if (!err && !pin_path(path, sizeof(path), dir, "build", NULL) && unlink(path) &&
	    errno != ENOENT)
		err = -errno;
	if (!err && rmdir(dir) && errno != ENOENT)
		err = -errno;
	if (!err && wait)
		err = wait_progs_gone(ids, n);
	return err;
}

__u32 ag_loader_generation(const struct ag_loader *l)
{
	return l->state.generation_seq;
}

int ag_loader_dns_config(struct ag_loader *l, const __u8 addr[16], __u16 port, bool enabled)
{
	struct ag_dns_cfg cfg = { .port = port, .enabled = enabled };
	__u32 zero = 0;

	memcpy(cfg.addr, addr, 16);
	if (bpf_map_update_elem(bpf_map__fd(l->skel->maps.ag_dns_cfg), &zero, &cfg, 0))
		return -errno;
	return 0;
}

int ag_loader_dns_learned_fd(const struct ag_loader *l)
{
	return bpf_map__fd(l->skel->maps.ag_dns_learned);
}

int ag_loader_dns_names_fd(const struct ag_loader *l)
{
	return bpf_map__fd(l->skel->maps.ag_dns_names);
}

int ag_loader_dns_learned_keys(int fd, struct ag_dns_key **out, size_t *n)
{
	struct ag_dns_key *keys, next;

	*n = 0;
	keys = calloc(AG_DNS_LEARNED_MAX, sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	if (!bpf_map_get_next_key(fd, NULL, &next)) {
		do
			keys[(*n)++] = next;
		while (*n < AG_DNS_LEARNED_MAX && !bpf_map_get_next_key(fd, &keys[*n - 1], &next));
	}
	*out = keys;
	return 0;
}

void ag_loader_dns_learn_bump(struct ag_loader *l)
{
	/* One atomic add on the mmap'ed word half: the programs read both halves at once. */
	if (l->state_map)
		__atomic_add_fetch(&l->state_map->learn_seq, 1, __ATOMIC_RELEASE);
}

void ag_loader_set_pre_flip(struct ag_loader *l, ag_loader_pre_flip_fn fn, void *ctx)
{
	l->pre_flip = fn;
	l->pre_flip_ctx = ctx;
}

void ag_loader_close(struct ag_loader *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n_links; i++)
		bpf_link__destroy(l->links[i]);
	/* An upgrade that did not complete is undone: the old build's enforcement stays. */
	if (l->upgrading && !l->upgrade_committed)
		ag_loader_unpin_dir(l->root, false);
	close_old(&l->old);
	for (i = 0; i < AG_GENERATIONS; i++) {
		close_fd(&l->fs_inner[i]);
		close_fd(&l->net_inner[i]);
		close_fd(&l->unix_path_inner[i]);
		close_fd(&l->unix_name_inner[i]);
	}
	if (l->state_map)
		munmap(l->state_map, sysconf(_SC_PAGESIZE));
	agentguard__destroy(l->skel);
	free(l);
}
