// SPDX-License-Identifier: GPL-2.0
/* A microVM sandbox's state directory, lock and stale cleanup (sandbox_state.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "sandbox_net.h"
#include "sandbox_state.h"
#include "seqstore.h"

bool ag_sbx_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0, i;

	if (n < 1 || n > AG_SBX_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && i > 0)))
			return false;
	}
	return true;
}

static int mkdir_p2(const char *a, const char *b)
{
	if (mkdir(a, 0755) && errno != EEXIST)
		return -errno;
	if (b && mkdir(b, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

int ag_sbx_global_lock(void)
{
	int fd, err;

	err = mkdir_p2("/run/agentguard", AG_SBX_STATE_ROOT);
	if (err)
		return err;
	fd = open(AG_SBX_STATE_ROOT "/.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int ag_sbx_cgroup_path(const char *name, char *buf, size_t len)
{
	char mnt[4000];
	int err;

	err = ag_cgroup2_mount(mnt, sizeof(mnt));
	if (err)
		return err;
	if ((size_t)snprintf(buf, len, "%s/%s/%s", mnt, AG_SBX_CGROUP_DIR, name) >= len)
		return -ENAMETOOLONG;
	return 0;
}

int ag_sbx_state_put(int dir_fd, const char *file, const char *value)
{
	size_t n = strlen(value);
	int fd, err = 0;

	fd = openat(dir_fd, file, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, value, n) != (ssize_t)n || write(fd, "\n", 1) != 1)
		err = errno ? -errno : -EIO;
	close(fd);
	return err;
}

int ag_sbx_state_get(int dir_fd, const char *file, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = openat(dir_fd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int ag_sbx_state_remove(const char *name)
{
	char path[sizeof(AG_SBX_STATE_ROOT) + AG_SBX_NAME_MAX + 2];

	if (!ag_sbx_name_valid(name))
		return -EINVAL;
	snprintf(path, sizeof(path), AG_SBX_STATE_ROOT "/%s", name);
	return ag_state_dir_remove(path);
}

/* 1 if NAME's lock is held by a live runner, 0 if not (or no lock file), -errno. */
static int held(int dir_fd)
{
	int fd, ret;

	fd = openat(dir_fd, "lock", O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!flock(fd, LOCK_EX | LOCK_NB))
		ret = 0;
	else
		ret = errno == EWOULDBLOCK ? 1 : -errno;
	close(fd);
	return ret;
}

static int clean(const char *name)
{
	char cg[4096];
	int err, e;

	/* The cgroup's path is made from the name, never read from the state directory. */
	err = ag_sbx_cgroup_path(name, cg, sizeof(cg));
	if (!err)
		err = ag_cgroup_destroy(cg);
	e = ag_sbx_net_cleanup_stale(name);
	if (e && !err)
		err = e;
	/* What holds the stale state goes last, so a failed step is retried next time. */
	if (!err)
		err = ag_sbx_state_remove(name);
	return err;
}

int ag_sbx_clean_if_stale(const char *name)
{
	int dir_fd, h;

	dir_fd = open(AG_SBX_STATE_ROOT, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir_fd < 0)
		return errno == ENOENT ? 0 : -errno;
	h = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(dir_fd);
	if (h < 0) {
		/* No state, but a cgroup or tap could still be there from a crash mid-setup. */
		return errno == ENOENT ? clean(name) : -errno;
	}
	dir_fd = h;
	h = held(dir_fd);
	close(dir_fd);
	if (h < 0)
		return h;
	return h ? -EBUSY : clean(name);
}

int ag_sbx_state_create(const char *name, int *dir_fd_out, int *lock_fd_out)
{
	int root = -1, dir_fd = -1, lock_fd = -1, err;

	err = ag_sbx_clean_if_stale(name);
	if (err == -EBUSY)
		return -EEXIST;
	if (err)
		return err;
	root = open(AG_SBX_STATE_ROOT, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (root < 0)
		return -errno;
	/* 0711: QEMU, running as the sandbox user, opens its FIFOs and spec share here. */
	if (mkdirat(root, name, 0711)) {
		err = -errno;
		goto cleanup;
	}
	dir_fd = openat(root, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir_fd < 0) {
		err = -errno;
		goto cleanup;
	}
	fchmod(dir_fd, 0711);
	lock_fd = openat(dir_fd, "lock", O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB)) {
		err = -errno;
		goto cleanup;
	}
	*dir_fd_out = dir_fd;
	*lock_fd_out = lock_fd;
	dir_fd = lock_fd = -1;

cleanup:
	if (lock_fd >= 0)
		close(lock_fd);
	if (dir_fd >= 0)
		close(dir_fd);
	close(root);
	return err;
}

static void read_info(int dir_fd, const char *name, struct ag_sbx_info *i)
{
	char buf[32];

	memset(i, 0, sizeof(*i));
	snprintf(i->name, sizeof(i->name), "%s", name);
	if (!ag_sbx_state_get(dir_fd, "runner.pid", buf, sizeof(buf)))
		i->runner_pid = atoi(buf);
	if (!ag_sbx_state_get(dir_fd, "qemu.pid", buf, sizeof(buf)))
		i->qemu_pid = atoi(buf);
	ag_sbx_state_get(dir_fd, "cgroup", i->cgroup, sizeof(i->cgroup));
	ag_sbx_state_get(dir_fd, "tap", i->tap, sizeof(i->tap));
	ag_sbx_state_get(dir_fd, "workspace", i->workspace, sizeof(i->workspace));
	ag_sbx_state_get(dir_fd, "workspace_mode", i->workspace_mode, sizeof(i->workspace_mode));
	ag_sbx_state_get(dir_fd, "network", i->network, sizeof(i->network));
}

int ag_sbx_lookup(const char *name, struct ag_sbx_info *info)
{
	int root, fd, h;

	if (!ag_sbx_name_valid(name))
		return -EINVAL;
	root = open(AG_SBX_STATE_ROOT, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (root < 0)
		return errno == ENOENT ? -ENOENT : -errno;
	fd = openat(root, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(root);
	if (fd < 0)
		return -errno;
	h = held(fd);
	if (h == 1)
		read_info(fd, name, info);
	close(fd);
	return h < 0 ? h : h ? 0 : -ENOENT;
}

int ag_sbx_list(void (*live)(void *ctx, const struct ag_sbx_info *i),
		void (*unreadable)(void *ctx, const char *name, int err), void *ctx,
		unsigned int *cleaned)
{
	char cgdir[4096], *slash;
	struct ag_sbx_info info;
	struct dirent *d;
	DIR *dir = NULL;
	int lock, fd, h, err = 0, e;

	*cleaned = 0;
	lock = ag_sbx_global_lock();
	if (lock < 0)
		return lock;
	dir = opendir(AG_SBX_STATE_ROOT);
	if (!dir) {
		err = -errno;
		goto cleanup;
	}
	while ((d = readdir(dir))) {
		if (!ag_sbx_name_valid(d->d_name))
			continue;
		fd = openat(dirfd(dir), d->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			/* Removed meanwhile is no sandbox; anything else is one we cannot see. */
			if (errno != ENOENT)
				unreadable(ctx, d->d_name, -errno);
			continue;
		}
		h = held(fd);
		if (h < 0)
			unreadable(ctx, d->d_name, h);
		if (h == 1) {
			read_info(fd, d->d_name, &info);
			live(ctx, &info);
		}
		close(fd);
		if (h == 0) {
			e = clean(d->d_name);
			if (e && !err)
				err = e;
			else if (!e)
				(*cleaned)++;
		}
	}
	closedir(dir);
	dir = NULL;
	/* Cgroups without state: a runner killed between making its cgroup and its state. */
	if (!ag_sbx_cgroup_path("x", cgdir, sizeof(cgdir)) && (slash = strrchr(cgdir, '/'))) {
		*slash = '\0';
		dir = opendir(cgdir);
	}
	while (dir && (d = readdir(dir))) {
		struct stat st;
		char p[4200];

		if (!ag_sbx_name_valid(d->d_name))
			continue;
		snprintf(p, sizeof(p), AG_SBX_STATE_ROOT "/%s", d->d_name);
		if (!lstat(p, &st))
			continue;
		/* Only a state known to be absent makes the cgroup stale: fail closed. */
		if (errno != ENOENT) {
			unreadable(ctx, d->d_name, -errno);
			continue;
		}
		e = clean(d->d_name);
		if (e && !err)
			err = e;
		else if (!e)
			(*cleaned)++;
	}

cleanup:
	if (dir)
		closedir(dir);
	close(lock);
	return err;
}
