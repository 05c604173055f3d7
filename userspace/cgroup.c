// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "clock.h"
#include "compile.h"

int ag_cgroup2_mount(char *buf, size_t len)
{
	char *line = NULL;
	size_t cap = 0;
	int err = -ENOENT;
	FILE *f;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		char mnt[4096], *sep;

		/* "36 25 0:31 / /sys/fs/cgroup rw,... - cgroup2 cgroup2 rw" */
		sep = strstr(line, " - cgroup2 ");
		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		if (strlen(mnt) >= len) {
			err = -ENAMETOOLONG;
			break;
		}
		strcpy(buf, mnt);
		err = 0;
		break;
	}
	free(line);
	fclose(f);
	return err;
}

static int cgroup_id(int fd, __u64 *id)
{
	struct {
		struct file_handle fh;
		__u64 id;
	} h = { .fh.handle_bytes = sizeof(__u64) };
	int mount_id;

	if (name_to_handle_at(fd, "", &h.fh, &mount_id, AT_EMPTY_PATH) < 0)
		return -errno;
	if (h.fh.handle_bytes != sizeof(__u64))
		return -EPROTO;
	*id = h.id;
	return 0;
}

int ag_cgroup_open(const char *path, int create, struct ag_cgroup *cg)
{
	char root[4096], real[PATH_MAX];
	size_t rl;
	const char *p;
	int err;

	memset(cg, 0, sizeof(*cg));
	cg->fd = -1;
	err = ag_cgroup2_mount(root, sizeof(root));
	if (err)
		return err;
	if (create && mkdir(path, 0755) == 0)
		cg->created = 1;
	else if (create && errno != EEXIST)
		return -errno;
	if (!realpath(path, real))
		return -errno;
	rl = strlen(root);
	if (strncmp(real, root, rl) || (real[rl] != '/' && real[rl] != '\0'))
		return -EXDEV;	/* not on the cgroup2 mount */
	snprintf(cg->path, sizeof(cg->path), "%s", real);
	snprintf(cg->rel, sizeof(cg->rel), "%s", real[rl] ? real + rl : "/");
	for (p = cg->rel; *p; p++)
		if (*p == '/' && p[1])
			cg->level++;
	cg->fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg->fd < 0)
		return -errno;
	err = cgroup_id(cg->fd, &cg->id);
	if (err) {
		close(cg->fd);
		cg->fd = -1;
	}
	return err;
}

void ag_cgroup_close(struct ag_cgroup *cg)
{
	if (cg->fd >= 0)
		close(cg->fd);
	cg->fd = -1;
}

int ag_cgroup_enter(const struct ag_cgroup *cg, int pid)
{
	char buf[32];
	int fd, n, err = 0;

	fd = openat(cg->fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%d\n", pid);
	if (write(fd, buf, n) != n)
		err = -errno;
	close(fd);
	return err;
}

int ag_cgroup_kill_wait(const char *path)
{
	char file[4200], buf[64];
	struct stat st;
	ssize_t n;
	int i, fd;

	snprintf(file, sizeof(file), "%s/cgroup.kill", path);
	fd = open(file, O_WRONLY | O_CLOEXEC);
	if (fd < 0 && errno != ENOENT)
		return -errno;
	if (fd < 0) {
		/*
		 * Gone only if the directory itself is. Without cgroup.kill, only a cgroup known
		 * to be empty is done: anything else (processes, or not a cgroup) fails closed.
		 */
		if (lstat(path, &st))
			return -errno;
		snprintf(file, sizeof(file), "%s/cgroup.procs", path);
		fd = open(file, O_RDONLY | O_CLOEXEC);
		n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
		if (fd >= 0)
			close(fd);
		return n == 0 ? 0 : -EOPNOTSUPP;
	}
	if (write(fd, "1", 1) != 1) {
		int err = -errno;

		close(fd);
		return err;
	}
	close(fd);
	/*
	 * cgroup.events, not cgroup.procs: the sandbox may have made child cgroups, whose
	 * processes cgroup.procs does not list. "populated 0" covers the whole subtree.
	 */
	snprintf(file, sizeof(file), "%s/cgroup.events", path);
	for (i = 0; i < 1000; i++) {
		char ev[256];

		fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		n = read(fd, ev, sizeof(ev) - 1);
		close(fd);
		if (n < 0)
			return -errno;
		ev[n] = '\0';
		if (!strncmp(ev, "populated 0\n", 12) || strstr(ev, "\npopulated 0\n"))
			return 0;
		ag_sleep_ms(10);
	}
	return -EBUSY;
}

/*
 * How deep ag_cgroup_destroy goes below a cgroup: above the sandbox's cgroup.max.depth (16,
 * loader.c), with room for a cgroup made before that was set.
 */
#define AG_CGROUP_RMDIR_DEPTH 64

/* Remove the cgroups below dirfd's, deepest first (depth bounds the recursion). */
static int rmdir_children(int dirfd, int depth)
{
	struct dirent *de;
	int err = 0, fd;
	DIR *d;

	if (depth <= 0)
		return -ELOOP;
	fd = dup(dirfd);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		err = -errno;
		close(fd);
		return err;
	}
	while (!err && (de = readdir(d))) {
		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		fd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			err = errno == ENOENT ? 0 : -errno;
			continue;
		}
		err = rmdir_children(fd, depth - 1);
		close(fd);
		if (!err && unlinkat(dirfd, de->d_name, AT_REMOVEDIR) && errno != ENOENT)
			err = -errno;
	}
	closedir(d);
	return err;
}

int ag_cgroup_destroy(const char *path)
{
	int err = ag_cgroup_kill_wait(path), i, fd;

	if (err == -ENOENT)
		return 0;
	if (err)
		return err;
	/* The sandbox's own child cgroups go first: rmdir refuses a cgroup that has any. */
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	err = rmdir_children(fd, AG_CGROUP_RMDIR_DEPTH);
	close(fd);
	if (err)
		return err;
	/* A process that just died may still be leaving: rmdir says EBUSY for a moment. */
	for (i = 0; i < 100; i++) {
		if (!rmdir(path) || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -errno;
		ag_sleep_ms(10);
	}
	return -EBUSY;
}

#define AG_DEFAULT_PIDS_MAX 4096
#define AG_DEFAULT_MEMORY_PERCENT 75
#define AG_CPU_WEIGHT "50"
#define AG_CPU_PERIOD 100000

int ag_write_at(int dirfd, const char *name, const char *value)
{
	ssize_t n = strlen(value), k;
	int fd, err = 0;

	fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	k = write(fd, value, n);
	if (k != n)
		err = k < 0 ? -errno : -EIO;
	close(fd);
	return err;
}

static int mem_total(unsigned long long *bytes)
{
	char line[256];
	int err = -ENOENT;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %llu kB", bytes) == 1) {
			*bytes *= 1024;
			err = 0;
			break;
		}
	fclose(f);
	return err;
}

int ag_cgroup_write(const struct ag_cgroup *cg, const char *name, const char *value)
{
	return ag_write_at(cg->fd, name, value);
}

int ag_cgroup_apply_limits(const struct ag_cgroup *cg, const struct ag_limits *lim,
			   const char **failed)
{
	static const char *const controllers[] = { "+memory", "+pids", "+cpu" };
	unsigned long long mem, pids;
	char parent[4096], buf[64];
	int pfd, err = 0;
	size_t i;

	snprintf(parent, sizeof(parent), "%s", cg->path);
	*strrchr(parent, '/') = '\0';
	pfd = open(parent[0] ? parent : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0) {
		*failed = "the parent cgroup";
		return -errno;
	}
	for (i = 0; i < sizeof(controllers) / sizeof(controllers[0]) && !err; i++)
		err = ag_write_at(pfd, "cgroup.subtree_control", controllers[i]);
	close(pfd);
	if (err) {
		*failed = "cgroup.subtree_control of the parent";
		return err;
	}

	if (lim->memory_set) {
		mem = lim->memory_max;
	} else {
		err = mem_total(&mem);
		if (err) {
			*failed = "/proc/meminfo";
			return err;
		}
		mem = mem / 100 * AG_DEFAULT_MEMORY_PERCENT;
	}
	snprintf(buf, sizeof(buf), "%llu", mem);
	*failed = "memory.max";
	err = ag_write_at(cg->fd, "memory.max", buf);
	if (err)
		return err;

	pids = lim->pids_set ? lim->pids_max : AG_DEFAULT_PIDS_MAX;
	snprintf(buf, sizeof(buf), "%llu", pids);
	*failed = "pids.max";
	err = ag_write_at(cg->fd, "pids.max", buf);
	if (err)
		return err;

	if (lim->cpu_set)
		snprintf(buf, sizeof(buf), "%llu %d",
			 (unsigned long long)lim->cpu_max_percent * AG_CPU_PERIOD / 100, AG_CPU_PERIOD);
	else
		snprintf(buf, sizeof(buf), "max %d", AG_CPU_PERIOD);
	*failed = "cpu.max";
	err = ag_write_at(cg->fd, "cpu.max", buf);
	if (err)
		return err;
	*failed = "cpu.weight";
	return ag_write_at(cg->fd, "cpu.weight", AG_CPU_WEIGHT);
}

int ag_cgroup_missing_controllers(const char *dir, char *missing, size_t len)
{
	static const char *const need[] = { "memory", "pids", "cpu" };
	char path[4200], line[1024], *tok, *save;
	bool have[3] = {};
	size_t i, n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.controllers", dir);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	for (tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
		for (i = 0; i < 3; i++)
			if (!strcmp(tok, need[i]))
				have[i] = true;
	missing[0] = '\0';
	for (i = 0; i < 3; i++)
		if (!have[i])
			n += snprintf(missing + n, n < len ? len - n : 0, "%s%s", n ? ", " : "",
				      need[i]);
	return n < len ? 0 : -ENAMETOOLONG;
}

int ag_cgroup_leave_parent_of(const struct ag_cgroup *sandbox)
{
	char mnt[4096], own[8400], line[4200], parent[4096], leaf[4200];
	struct ag_cgroup cg = { .fd = -1 };
	FILE *f;
	int err;

	err = ag_cgroup2_mount(mnt, sizeof(mnt));
	if (err)
		return err;
	f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return -errno;
	own[0] = '\0';
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(own, sizeof(own), "%s%s", mnt, strcmp(line + 3, "/") ? line + 3 : "");
		}
	fclose(f);
	snprintf(parent, sizeof(parent), "%s", sandbox->path);
	*strrchr(parent, '/') = '\0';
	/* The root cgroup is exempt from "no internal processes": nothing to leave there. */
	if (strcmp(own, parent) || !strcmp(parent, mnt))
		return 0;
	snprintf(leaf, sizeof(leaf), "%s/agentguard-daemon", parent);
	err = ag_cgroup_open(leaf, 1, &cg);
	if (!err)
		err = ag_cgroup_enter(&cg, getpid());
	ag_cgroup_close(&cg);
	return err;
}
