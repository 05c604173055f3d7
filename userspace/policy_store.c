// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "compile.h"
#include "loader.h"
#include "policy.h"
#include "policy_store.h"
#include "sha256.h"

#define AG_POLICY_STORE_MAX 64	/* files in one generation */

static int copy_file(int dirfd, const char *from, const char *to)
{
	char tmp[96], buf[65536];
	int in, out, err = 0;
	ssize_t n;

	snprintf(tmp, sizeof(tmp), "%s.tmp", to);
	in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (out < 0) {
		err = -errno;
		close(in);
		return err;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n) {
			err = -EIO;
			break;
		}
	if (n < 0)
		err = -errno;
	if (!err && fsync(out))
		err = -errno;
	close(in);
	if (close(out) && !err)
		err = -errno;
	if (!err && renameat(dirfd, tmp, dirfd, to))
		err = -errno;
	if (err)
		unlinkat(dirfd, tmp, 0);
	return err;
}

/* Remove the copies of every generation but keep and keep - 1. */
static void prune(int dirfd, __u32 keep)
{
	struct dirent *de;
	unsigned int seq, i;
	int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	char end;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)))
		if (sscanf(de->d_name, "policy-%u.%u.yam%c", &seq, &i, &end) == 3 && end == 'l' &&
		    seq != keep && seq + 1 != keep)
			unlinkat(dirfd, de->d_name, 0);
	closedir(d);
}

int ag_policy_store_save(int dirfd, __u32 seq, char **files, int n)
{
	char name[64];
	int i, err = 0;

	if (n > AG_POLICY_STORE_MAX)
		return -E2BIG;
	for (i = 0; i < n && !err; i++) {
		snprintf(name, sizeof(name), "policy-%u.%d.yaml", seq, i);
		err = copy_file(dirfd, files[i], name);
	}
	/* A generation whose copies are incomplete is never named: remove its files. */
	prune(dirfd, err ? seq - 1 : seq);
	return err;
}

int ag_policy_store_compile(int dirfd, __u32 seq, struct ag_active_policy *out)
{
	char path[AG_POLICY_STORE_MAX][64], *files[AG_POLICY_STORE_MAX];
	int n, status;

	memset(out, 0, sizeof(*out));
	for (n = 0; n < AG_POLICY_STORE_MAX; n++) {
		snprintf(path[n], sizeof(path[n]), "/proc/self/fd/%d/policy-%u.%d.yaml", dirfd,
			 seq, n);
		if (access(path[n], R_OK))
			break;
		files[n] = path[n];
	}
	if (!n)
		return AG_EXIT_NOINPUT;
	status = ag_cli_compile(files, n, &out->pols, &out->c);
	if (status == AG_EXIT_OK)
		out->n = n;
	return status;
}

/* The sha256 of the file name in dirfd: 0, -ENOENT, or another -errno. */
static int file_sha256(int dirfd, const char *name, __u8 out[AG_SHA256_LEN])
{
	struct ag_sha256 h;
	char buf[65536];
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return -errno;
	ag_sha256_init(&h);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		ag_sha256_update(&h, buf, n);
	close(fd);
	if (n < 0)
		return -EIO;
	ag_sha256_final(&h, out);
	return 0;
}

int ag_policy_store_same(int dirfd, __u32 seq, struct ag_policy *const *pols, int n)
{
	__u8 sum[AG_SHA256_LEN];
	char name[64];
	int i, err;

	for (i = 0; i <= n && i < AG_POLICY_STORE_MAX; i++) {
		snprintf(name, sizeof(name), "policy-%u.%d.yaml", seq, i);
		err = file_sha256(dirfd, name, sum);
		if (i == n)
			return err == -ENOENT;	/* no copy beyond the files given */
		if (err == -ENOENT)
			return i ? 0 : -ENOENT;
		if (err)
			return err;
		if (memcmp(sum, pols[i]->sha256, AG_SHA256_LEN))
			return 0;
	}
	return 0;
}

void ag_active_policy_free(struct ag_active_policy *p)
{
	ag_compiled_free(p->c);
	ag_cli_free_policies(p->pols, p->n);
	memset(p, 0, sizeof(*p));
}

int ag_install_generation(struct ag_loader *l, const char *pin_dir, int dirfd, char **files,
			  int n, const struct ag_compiled *c)
{
	int lock = ag_loader_lock_swaps(pin_dir), err;

	if (lock < 0)
		return lock;
	/* Under the lock, the next generation is the one in force plus one. */
	err = ag_policy_store_save(dirfd, ag_loader_active_generation(l) + 1, files, n);
	if (!err)
		err = ag_loader_install(l, c);
	close(lock);
	return err;
}

/* Replace name in dirfd with text, whole or not at all (a crash leaves the old file). */
static int replace_file(int dirfd, const char *name, const char *text, size_t len)
{
	char tmp[96];
	int fd, err = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len)
		err = errno ? -errno : -EIO;
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && renameat(dirfd, tmp, dirfd, name))
		err = -errno;
	if (err)
		unlinkat(dirfd, tmp, 0);
	return err;
}

int ag_started_with_write(int dirfd, char **files, int n)
{
	char path[PATH_MAX], *text;
	size_t len = 0;
	int i, err = 0;

	if (n > AG_STARTED_WITH_MAX)
		return -E2BIG;
	text = malloc((size_t)n * (PATH_MAX + 1) + 1);
	if (!text)
		return -ENOMEM;
	for (i = 0; i < n && !err; i++) {
		if (!realpath(files[i], path) || strchr(path, '\n'))
			err = errno ? -errno : -EINVAL;
		else
			len += sprintf(text + len, "%s\n", path);
	}
	if (!err)
		err = replace_file(dirfd, "started-with", text, len);
	free(text);
	return err;
}

int ag_sandbox_path_write(int dirfd, const char *path)
{
	char text[PATH_MAX + 1];
	int len = snprintf(text, sizeof(text), "%s\n", path);

	if (len < 0 || (size_t)len >= sizeof(text) || strchr(path, '\n'))
		return -EINVAL;
	return replace_file(dirfd, "sandbox-cgroup", text, len);
}

int ag_sandbox_path_read(const char *state_dir, char *buf, size_t len)
{
	char path[PATH_MAX + 32];
	FILE *f;
	int err = 0;

	snprintf(path, sizeof(path), "%s/sandbox-cgroup", state_dir);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(buf, len, f))
		err = -ENODATA;
	else
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
	return err;
}

int ag_started_with_read(const char *state_dir, char **files, int max)
{
	char path[PATH_MAX + 32], line[PATH_MAX + 2];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/started-with", state_dir);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (n < max && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] && !(files[n++] = strdup(line)))
			break;
	}
	fclose(f);
	return n;
}
