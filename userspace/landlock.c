// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>

#include "landlock.h"
#include "strmap.h"

/*
 * struct landlock_ruleset_attr as of ABI 6; the kernel takes the prefix its caller's ABI
 * knows (copy_struct_from_user), so the size says which fields are there.
 */
struct ll_ruleset_attr {
	__u64 handled_access_fs;
	__u64 handled_access_net;	/* ABI 4: left to the cgroup programs, never set */
	__u64 scoped;			/* ABI 6 */
};

#define LL_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define LL_WRITE                                                                          \
	(LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |                    \
	 LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR |                    \
	 LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |                        \
	 LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |                      \
	 LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM |                      \
	 LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE)

__u64 ag_ll_handled_fs(int abi)
{
	/* ABI 1: bits 0 (EXECUTE) to 12 (MAKE_SYM). */
	__u64 h = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;

	if (abi >= 2)
		h |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		h |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		h |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return abi >= 1 ? h : 0;
}

__u64 ag_ll_class_access(__u32 classes, int abi)
{
	__u64 a = 0;

	if (classes & AG_FS_WANT_READ)
		a |= LL_READ | LANDLOCK_ACCESS_FS_IOCTL_DEV;
	if (classes & AG_FS_WANT_WRITE)
		a |= LL_WRITE | LANDLOCK_ACCESS_FS_IOCTL_DEV;
	if (classes & AG_FS_WANT_EXEC)
		a |= LANDLOCK_ACCESS_FS_EXECUTE;
	/* A right the ABI does not handle cannot be granted (EINVAL). */
	return a & ag_ll_handled_fs(abi);
}

/* The classes an entry does not deny: allowed, or denied only in audit mode. */
static __u32 granted_classes(const struct ag_fs_val *v)
{
	__u32 cls, classes = 0;

	for (cls = 0; cls < AG_FS_NCLASSES; cls++)
		if (v->verdict[cls] != AG_DENY)
			classes |= 1u << cls;
	return classes;
}

static int cmp_grant(const void *a, const void *b)
{
	return strcmp(((const struct ag_ll_grant *)a)->path, ((const struct ag_ll_grant *)b)->path);
}

int ag_ll_plan(const struct ag_compiled *c, int abi, struct ag_ll_plan *plan)
{
	size_t i, n = 0;
	__u32 classes;

	memset(plan, 0, sizeof(*plan));
	plan->abi = abi;
	plan->handled_fs = ag_ll_handled_fs(abi);
	if (abi >= 6)
		plan->scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL;
	plan->grant = calloc(c->n_fs ? c->n_fs : 1, sizeof(*plan->grant));
	if (!plan->grant)
		return -ENOMEM;
	for (i = 0; i < c->n_fs; i++) {
		/*
		 * Guard-only entries repeat what their prefix grants, for renames of that path;
		 * Landlock's rules stay on their inodes when a directory above them moves.
		 */
		if (c->fs[i].guard_only)
			continue;
		classes = granted_classes(&c->fs[i].val);
		if (!classes)
			continue;
		plan->grant[n++] = (struct ag_ll_grant){
			.path = c->fs[i].path,
			.entry = i,
			.classes = classes,
			.access = ag_ll_class_access(classes, abi),
		};
	}
	plan->n_grant = n;
	qsort(plan->grant, n, sizeof(*plan->grant), cmp_grant);
	return 0;
}

void ag_ll_plan_free(struct ag_ll_plan *plan)
{
	free(plan->grant);
	plan->grant = NULL;
	plan->n_grant = 0;
}

/*
 * The deepest placed grant at or above path (absolute, normalised) that grants cls, or NULL.
 * Walks the path's prefixes component by component, as the kernel's lookups do.
 */
static const struct ag_ll_grant *granting(const struct ag_ll_plan *plan,
					  const struct ag_strmap *placed, const char *path,
					  __u32 cls)
{
	size_t len = strlen(path), v;
	const struct ag_ll_grant *g;

	for (;;) {
		if (ag_strmap_get(placed, path, len, &v)) {
			g = &plan->grant[v];
			if (g->classes & cls)
				return g;
		}
		if (len <= 1)
			return NULL;
		while (len > 1 && path[len - 1] != '/')
			len--;
		/* "/a" -> "/" keeps the slash; "/a/b" -> "/a" drops it. */
		if (len > 1)
			len--;
	}
}

int ag_ll_assess(const struct ag_compiled *c, const struct ag_ll_plan *plan,
		 struct ag_ll_assessment *a)
{
	struct ag_strmap placed = {};
	const struct ag_ll_grant *g;
	struct ag_ll_rule *r;
	size_t i;
	__u32 cls;
	int err = 0;

	memset(a, 0, sizeof(*a));
	a->rule = calloc(c->n_rules ? c->n_rules : 1, sizeof(*a->rule));
	if (!a->rule)
		return -ENOMEM;
	a->n_rule = c->n_rules;
	for (i = 0; i < plan->n_grant && !err; i++)
		if (!plan->grant[i].err)
			err = ag_strmap_put(&placed, plan->grant[i].path,
					    strlen(plan->grant[i].path), i, NULL);
	if (err)
		goto cleanup;

	for (i = 0; i < c->n_fs; i++) {
		const struct ag_fs_entry *e = &c->fs[i];

		if (e->guard_only)
			continue;
		for (cls = 0; cls < AG_FS_NCLASSES; cls++) {
			if (e->val.rule[cls] >= c->n_rules)
				continue;
			r = &a->rule[e->val.rule[cls]];
			if (r->status == AG_LL_NO_EFFECT)
				r->status = AG_LL_ENFORCED;
			if (e->val.verdict[cls] == AG_WOULD_DENY)
				r->audit = true;
			if (e->val.verdict[cls] != AG_DENY)
				continue;
			r->denials++;
			g = granting(plan, &placed, e->path, 1u << cls);
			if (!g)
				continue;
			r->lost++;
			r->lost_classes |= 1u << cls;
			if (!r->loss[cls].path)
				r->loss[cls] = (struct ag_ll_loss){
					.path = e->path,
					.by = g,
					.by_rule = c->fs[g->entry].val.rule[cls],
				};
		}
	}
	for (i = 0; i < c->n_rules; i++) {
		r = &a->rule[i];
		if (!r->lost)
			continue;
		r->status = r->lost == r->denials ? AG_LL_UNENFORCED : AG_LL_PARTIAL;
		a->n_lost++;
	}

cleanup:
	ag_strmap_free(&placed);
	if (err)
		ag_ll_assessment_free(a);
	return err;
}

void ag_ll_assessment_free(struct ag_ll_assessment *a)
{
	free(a->rule);
	a->rule = NULL;
	a->n_rule = 0;
}

/* Is a a prefix of b at a component boundary (a equal to b, "/" of anything)? */
static bool path_within(const char *b, const char *a)
{
	size_t n = strlen(a);

	return !strncmp(a, b, n) && (n == 1 || b[n] == '\0' || b[n] == '/');
}

const struct ag_ll_grant *ag_ll_writable(const struct ag_ll_plan *plan, const char *path)
{
	size_t i;

	for (i = 0; i < plan->n_grant; i++) {
		const struct ag_ll_grant *g = &plan->grant[i];

		if (g->err || !(g->classes & AG_FS_WANT_WRITE))
			continue;
		if (path_within(path, g->path) || path_within(g->path, path))
			return g;
	}
	return NULL;
}

int ag_ll_ruleset(struct ag_ll_plan *plan, int *out)
{
	struct ll_ruleset_attr attr = {
		.handled_access_fs = plan->handled_fs,
		.scoped = plan->scoped,
	};
	/* The attribute's size says which fields this ABI knows. */
	size_t size = plan->abi >= 6 ? sizeof(attr) :
		      plan->abi >= 4 ? offsetof(struct ll_ruleset_attr, scoped) :
				       offsetof(struct ll_ruleset_attr, handled_access_net);
	int fd, pfd = -1, err = 0;
	struct stat st;
	size_t i;

	fd = syscall(__NR_landlock_create_ruleset, &attr, size, 0);
	if (fd < 0)
		return -errno;
	for (i = 0; i < plan->n_grant; i++) {
		struct ag_ll_grant *g = &plan->grant[i];
		struct open_how how = { .flags = O_PATH | O_CLOEXEC,
					.resolve = RESOLVE_NO_SYMLINKS };
		struct landlock_path_beneath_attr pb = {};

		pfd = syscall(SYS_openat2, AT_FDCWD, g->path, &how, sizeof(how));
		if (pfd < 0) {
			g->err = -errno;
			/* Not there, or not reachable without a symlink: nothing granted. */
			if (g->err == -ENOENT || g->err == -ELOOP || g->err == -ENOTDIR ||
			    g->err == -EACCES)
				continue;
			err = g->err;
			goto cleanup;
		}
		if (fstat(pfd, &st)) {
			err = -errno;
			goto cleanup;
		}
		g->file = !S_ISDIR(st.st_mode);
		pb.parent_fd = pfd;
		pb.allowed_access = g->file ? g->access & AG_LL_FILE_ACCESS : g->access;
		if (pb.allowed_access &&
		    syscall(__NR_landlock_add_rule, fd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0)) {
			err = -errno;
			goto cleanup;
		}
		close(pfd);
		pfd = -1;
	}
	*out = fd;
	fd = -1;

cleanup:
	if (pfd >= 0)
		close(pfd);
	if (fd >= 0)
		close(fd);
	return err;
}

int ag_ll_restrict(int fd)
{
	if (syscall(__NR_landlock_restrict_self, fd, 0))
		return -errno;
	return 0;
}
