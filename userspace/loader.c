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
#include <bpf/libbpf.h>

#include "loader.h"
#include "agentguard.skel.h"

/* How deep the agent may nest cgroups below the sandbox (containment.bpf.c relies on it). */
#define AG_MAX_SANDBOX_DEPTH 16
#define AG_MAX_LINKS 64

struct ag_loader {
	struct agentguard *skel;
	struct ag_loader_opts opts;
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

static __u32 fold_entries(void)
{
	int ncpus = libbpf_num_possible_cpus();
	unsigned long long n = ncpus > 0 ? ncpus : 1;

	/* Per CPU in two seconds: the burst, and the refill of two seconds. */
	n *= AG_EVENT_BURST + 2 * AG_EVENT_RATE;
	if (n < AG_FOLD_ENTRIES)
		n = AG_FOLD_ENTRIES;
	return n > (1u << 24) ? 1u << 24 : n;
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

/* Adopting: every program this build would attach has its link pinned. */
static int links_complete(struct ag_loader *l, const char *dir)
{
	struct bpf_program *prog;
	char path[4096];
	int err;

	bpf_object__for_each_program(prog, l->skel->obj) {
		if (bpf_program__type(prog) == BPF_PROG_TYPE_SYSCALL ||
		    !(bpf_program__type(prog) == BPF_PROG_TYPE_LSM ? l->opts.lsm : l->opts.cgroup))
			continue;
		err = pin_path(path, sizeof(path), dir, "links", bpf_program__name(prog));
		if (err)
			return err;
		if (access(path, F_OK))
			return -EUCLEAN;
	}
	return 0;
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

	l->skel = agentguard__open();
	if (!l->skel) {
		err = -errno;
		goto cleanup;
	}
	adopt = opts->pin_dir && ag_loader_pinned(opts->pin_dir);
	if (adopt) {
		err = links_complete(l, opts->pin_dir);
		if (err)
			goto cleanup;
	}
	bpf_object__for_each_program(prog, l->skel->obj) {
		bool lsm = bpf_program__type(prog) == BPF_PROG_TYPE_LSM;

		/* Adopting: the pinned links hold the programs that are attached. */
		bpf_program__set_autoload(prog, !adopt && (lsm ? opts->lsm : opts->cgroup));
		/* The ring query runs by BPF_PROG_TEST_RUN only (see ag_loader_metrics). */
		if (bpf_program__type(prog) == BPF_PROG_TYPE_SYSCALL)
			bpf_program__set_autoload(prog, true);
	}
	if (opts->pin_dir) {
		err = make_pin_dirs(opts->pin_dir);
		if (!err)
			err = set_pin_paths(l, opts->pin_dir);
		if (err)
			goto cleanup;
	}
	/*
	 * Room for every signature the event budget lets in over two flush periods on every CPU,
	 * so no fold entry with an unreported count is evicted (docs/events.md).
	 */
	err = bpf_map__set_max_entries(l->skel->maps.ag_fold, fold_entries());
	if (err)
		goto cleanup;

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

static int build_fs_table(const struct ag_loader *l, const struct ag_compiled *c, int *out)
{
	LIBBPF_OPTS(bpf_map_create_opts, mopts);
	struct ag_fs_key key;
	size_t i;
	int fd, err;

	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "ag_fs_tab", sizeof(struct ag_fs_key),
			    sizeof(struct ag_fs_val), c->n_fs ? c->n_fs : 1, &mopts);
	if (fd < 0)
		return -errno;
	for (i = 0; i < c->n_fs; i++) {
		key.hash = ag_fs_path_key(c->fs[i].path, strlen(c->fs[i].path),
					  l->state.hash_seed);
		/* BPF_NOEXIST: two rule paths with one 64-bit hash must not shadow each other. */
		if (bpf_map_update_elem(fd, &key, &c->fs[i].val, BPF_NOEXIST)) {
			err = errno == EEXIST ? -EADDRINUSE : -errno;
			close(fd);
			return err;
		}
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

int ag_loader_protect_fd(struct ag_loader *l, int fd, struct ag_inode_key *key)
{
	__u32 one = 1;
	struct stat st;

	memset(key, 0, sizeof(*key));
	if (fstat(fd, &st))
		return -errno;
	key->dev = kernel_dev(st.st_dev);
	key->ino = st.st_ino;
	if (!l->opts.lsm)
		return 0;	/* only the LSM programs use the map */
	if (bpf_map_update_elem(bpf_map__fd(l->skel->maps.ag_protected), key, &one, 0))
		return -errno;
	return 0;
}

int ag_loader_unprotect(struct ag_loader *l, const struct ag_inode_key *key)
{
	if (!l->opts.lsm)
		return 0;
	if (bpf_map_delete_elem(bpf_map__fd(l->skel->maps.ag_protected), key) && errno != ENOENT)
		return -errno;
	return 0;
}

int ag_loader_protect(struct ag_loader *l, const char *path)
{
	struct ag_inode_key key = {};
	__u32 one = 1;
	struct stat st;

	if (!l->opts.lsm)
		return 0;	/* only the LSM programs use the map */
	if (stat(path, &st))
		return -errno;
	key.dev = kernel_dev(st.st_dev);
	key.ino = st.st_ino;
	if (bpf_map_update_elem(bpf_map__fd(l->skel->maps.ag_protected), &key, &one, 0))
		return -errno;
	return 0;
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
		int err = pin_path(path, sizeof(path), l->opts.pin_dir, "links",
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
	return l->opts.lsm ? verify_scope(l, sandbox) : 0;
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

bool ag_loader_pinned_complete(const char *dir)
{
	struct ag_loader l = { .opts = { .lsm = true, .cgroup = true } };
	bool complete;

	if (!ag_loader_pinned(dir))
		return false;
	l.skel = agentguard__open();	/* for the program names only: nothing is loaded */
	if (!l.skel)
		return false;
	complete = !links_complete(&l, dir);
	agentguard__destroy(l.skel);
	return complete;
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
 * from a work queue: wait until every program is gone, so "unloaded" is true when it is said.
 * A program outlives its detach only by a reference someone else holds (an fd): -EBUSY then.
 */
static int wait_progs_gone(const __u32 *ids, size_t n)
{
	size_t i, left;
	int tries, fd;

	for (tries = 0; tries < 1000; tries++) {
		for (i = 0, left = 0; i < n; i++) {
			fd = bpf_prog_get_fd_by_id(ids[i]);
			if (fd >= 0) {
				close(fd);
				left++;
			}
		}
		if (!left)
			return 0;
		usleep(10000);
	}
	return -EBUSY;
}

int ag_loader_unpin_dir(const char *dir)
{
	__u32 ids[AG_MAX_LINKS];
	size_t n = linked_prog_ids(dir, ids, AG_MAX_LINKS);
	int err = unpin_sub(dir, "links");

	if (!err)
		err = unpin_sub(dir, "maps");
	if (!err && rmdir(dir) && errno != ENOENT)
		err = -errno;
	if (!err)
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
