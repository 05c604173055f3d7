// SPDX-License-Identifier: GPL-2.0
/*
 * agentguard load: compile the policies, load the programs, install the tables, attach to the
 * sandbox cgroup, then stay in the foreground writing one JSON line per denial until
 * SIGTERM/SIGINT. The ready file is written only once enforcement is active.
 *
 * Maps and links are pinned under --pin-dir, so enforcement outlives the daemon however it
 * ends (SIGTERM, kill -9, a crash): only "agentguard unload" ends it. A load that finds pinned
 * state adopts it: it installs its policies as the next generation and resumes the audit
 * stream, reporting what was dropped meanwhile. --detach stops after enforcement is on.
 *
 * Without BPF-LSM it refuses unless --fallback landlock: then only the cgroup programs load
 * (the network section), and since nothing restricts the filesystem, it refuses a policy whose
 * filesystem section denies anything unless --allow-unenforced (agentguard run
 * --fallback landlock, which enforces that section itself, passes --filesystem-by-run).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <systemd/sd-daemon.h>

#include "backend.h"
#include "cgroup.h"
#include "cli.h"
#include "clock.h"
#include "compile.h"
#include "events.h"
#include "fallback.h"
#include "fdio.h"
#include "loader.h"
#include "loss.h"
#include "seqstore.h"
#include "metrics.h"
#include "log.h"
#include "policy.h"
#include "policy_store.h"
#include "dns.h"
#include "resolver.h"
#include "sink_journal.h"

static volatile sig_atomic_t stop_requested, reopen_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/*
 * SIGHUP reopens --events FILE, for logrotate's "create" mode (issue #6), and re-reads the
 * policy files this daemon was started with (#10).
 */
static void on_hup(int sig)
{
	(void)sig;
	reopen_requested = 1;
}

/*
 * Keys of protected files a daemon leaves behind, recorded in the state directory (which the
 * sandbox cannot write) so that the next daemon releases them in time: restarts leak no entry
 * of the protected-inode table. At most KEYS_RECORDED per file.
 */
#define KEYS_RECORDED 8

/*
 * Record keys in the state directory's file name, one "DEV INO" line each. Not fsync'ed: the
 * page cache outlives a daemon that dies, and a machine that crashes loses the pinned table
 * with it.
 */
static int record_keys(int state_dirfd, const char *name, const struct ag_inode_key *keys,
		       unsigned int n)
{
	struct ag_buf b = {};
	unsigned int i;
	int err;

	for (i = 0; i < n; i++)
		ag_buf_printf(&b, "%llu %llu\n", (unsigned long long)keys[i].dev,
			      (unsigned long long)keys[i].ino);
	err = ag_metrics_write_file(state_dirfd, name, &b);
	ag_buf_free(&b);
	return err;
}

/*
 * The keys a previous daemon recorded in the state directory's file name, into keys (room for
 * KEYS_RECORDED) and *n: read from the state directory only, since a key from anywhere the
 * sandbox can write would let it release any protected file. No file: none. -EINVAL for
 * anything but at most KEYS_RECORDED lines of two numbers.
 */
static int read_keys(int state_dirfd, const char *name, struct ag_inode_key *keys,
		     unsigned int *n)
{
	struct ag_inode_key k[KEYS_RECORDED];
	unsigned long long v[2];
	char buf[KEYS_RECORDED * 42 + 1], *p, *end;
	unsigned int i = 0;
	ssize_t len;
	int fd, j;

	*n = 0;
	fd = openat(state_dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len < 0)
		return -errno;
	buf[len] = '\0';
	for (p = buf; *p; i++) {
		for (j = 0; j < 2; j++) {
			if (i == KEYS_RECORDED || *p < '0' || *p > '9')
				return -EINVAL;
			errno = 0;
			v[j] = strtoull(p, &end, 10);
			if (errno || *end != (j ? '\n' : ' '))
				return -EINVAL;
			p = end + 1;
		}
		k[i].dev = v[0];
		k[i].ino = v[1];
	}
	memcpy(keys, k, i * sizeof(k[0]));
	*n = i;
	return 0;
}

/*
 * The event files protected from the sandbox: the current one and the last few rotated ones
 * (logrotate's to compress or delete after that). Bounded, so rotations never use up the
 * protected-inode table. The keys are recorded in the state directory: the next daemon adopts
 * the files, and releases them as its own.
 */
#define AG_PROTECTED_EVENT_FILES KEYS_RECORDED
#define EVENTS_KEYS_FILE "events-inodes"

struct event_files {
	struct ag_inode_key key[AG_PROTECTED_EVENT_FILES];
	unsigned int n;		/* keys in use; the oldest first */
	int state_dirfd;	/* where they are recorded, once adopt_events() ran; else -1 */
	/*
	 * The event file's directory, opened at start: a reopen names the file relative to it,
	 * so a sandbox that may rename the directory's parent cannot aim a reopen elsewhere.
	 */
	int dirfd;
	const char *base;	/* the file's name in it */
	size_t backlog;		/* what a new file's stream may hold (--events-backlog) */
	bool warned;		/* about a file system without O_TMPFILE */
};

/*
 * Remember a protected event file's key as the newest (a key already held moves there, and is
 * never held twice: releasing one copy would release the file); forget (unprotect) the oldest
 * beyond 8. The keys are recorded if adopt_events() ran: a failure is warned, and leaves the
 * files that the record misses protected after this daemon.
 */
static void remember_events(struct ag_loader *l, struct event_files *ef,
			    const struct ag_inode_key *key)
{
	unsigned int i;
	int err;

	for (i = 0; i < ef->n && memcmp(&ef->key[i], key, sizeof(*key)); i++)
		;
	if (i < ef->n) {
		memmove(&ef->key[i], &ef->key[i + 1], sizeof(ef->key[0]) * (ef->n - i - 1));
		ef->n--;
	} else if (ef->n == AG_PROTECTED_EVENT_FILES) {
		ag_loader_unprotect(l, &ef->key[0], AG_PROTECT_EVENTS);
		memmove(&ef->key[0], &ef->key[1], sizeof(ef->key[0]) * (ef->n - 1));
		ef->n--;
	}
	ef->key[ef->n++] = *key;
	if (ef->state_dirfd >= 0 &&
	    (err = record_keys(ef->state_dirfd, EVENTS_KEYS_FILE, ef->key, ef->n)))
		ag_log_warn("events: cannot record the event files' keys in \"%s\": %s; the "
			    "next daemon will not release them", EVENTS_KEYS_FILE, strerror(-err));
}

/*
 * Take over the event files the previous daemon left protected (the keys it recorded in
 * state_dirfd) as older than ours, and record every change from now on. If the record cannot
 * be read: -errno, and those files stay protected for good.
 */
static int adopt_events(struct ag_loader *l, struct event_files *ef, int state_dirfd)
{
	struct ag_inode_key prev[KEYS_RECORDED], ours[AG_PROTECTED_EVENT_FILES];
	unsigned int n_prev, n_ours = ef->n, i;
	int err;

	err = read_keys(state_dirfd, EVENTS_KEYS_FILE, prev, &n_prev);
	memcpy(ours, ef->key, sizeof(ours));
	ef->n = 0;
	for (i = 0; i < n_prev; i++)
		remember_events(l, ef, &prev[i]);
	for (i = 0; i < n_ours; i++)
		remember_events(l, ef, &ours[i]);
	ef->state_dirfd = state_dirfd;
	err = err ?: record_keys(state_dirfd, EVENTS_KEYS_FILE, ef->key, ef->n);
	return err;
}

/* Protect the event file's fd if it is a regular file (a pipe or a port needs no rule). */
static int protect_events(struct ag_loader *l, struct event_files *ef, int fd)
{
	struct ag_inode_key key;
	struct stat st;
	int err;

	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return 0;
	err = ag_loader_protect_fd(l, fd, &key, AG_PROTECT_EVENTS);
	if (!err)
		remember_events(l, ef, &key);
	return err;
}

/*
 * A new file that nothing but the daemon has ever held (threat model A6, A11): an unnamed
 * O_TMPFILE in dirfd, protected from the sandbox before it has a name. The fd and *key, or
 * -errno; -EOPNOTSUPP where the file system has no O_TMPFILE.
 */
static int protected_tmpfile(struct ag_loader *l, int dirfd, int flags, mode_t mode,
			     struct ag_inode_key *key, __u32 owner)
{
	int fd, err;

	fd = openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC | flags, mode);
	if (fd < 0)
		return errno == EISDIR || errno == EINVAL ? -EOPNOTSUPP : -errno;
	err = ag_loader_protect_fd(l, fd, key, owner);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/*
 * Give protected_tmpfile()'s fd the name base in dirfd: linked under a random temporary name,
 * then renamed over base. Whatever stood there (a file the sandbox made first and still holds
 * open, a symlink or a hard link it planted) is replaced, never opened or followed, and a
 * reader sees the old file or the new one. what names the temporary ".agentguard-WHAT.RND".
 */
static int link_over(int fd, int dirfd, const char *base, const char *what)
{
	char tmp[64];
	unsigned int rnd;
	int err = -EEXIST, i;

	for (i = 0; i < 8 && err == -EEXIST; i++) {
		if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
			rnd = (unsigned int)ag_mono_ns() ^ i;
		snprintf(tmp, sizeof(tmp), ".agentguard-%s.%08x", what, rnd);
		err = linkat(fd, "", dirfd, tmp, AT_EMPTY_PATH) ? -errno : 0;
	}
	if (!err && renameat(dirfd, tmp, dirfd, base)) {
		err = -errno;
		unlinkat(dirfd, tmp, 0);
	}
	return err;
}

/*
 * A new event file, made by protected_tmpfile() and link_over(): logrotate's "create" file
 * or one the sandbox planted at the name is replaced, so a descriptor the sandbox kept writes
 * to a file no one reads. *out, or -errno; -EOPNOTSUPP where the file system has no O_TMPFILE.
 */
static int replace_events(struct ag_loader *l, struct event_files *ef, FILE **out,
			  struct ag_event_file **file)
{
	struct ag_inode_key key;
	int fd, err;

	fd = protected_tmpfile(l, ef->dirfd, O_APPEND, 0640, &key, AG_PROTECT_EVENTS);
	if (fd < 0)
		return fd;
	err = link_over(fd, ef->dirfd, ef->base, "events");
	if (err) {
		close(fd);
	} else {
		*out = ag_event_file_open(fd, ef->backlog, file);	/* closes fd if it fails */
		err = *out ? 0 : -errno;
	}
	if (err) {
		ag_loader_unprotect(l, &key, AG_PROTECT_EVENTS);
		return err;
	}
	remember_events(l, ef, &key);
	return 0;
}

/* *dirfd and *base for path (which must outlive *base): its directory, opened O_PATH. */
static int open_parent_dir(const char *path, int *dirfd, const char **base)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];

	if (!slash) {
		snprintf(dir, sizeof(dir), ".");
	} else if ((size_t)(slash - path) >= sizeof(dir)) {
		return -ENAMETOOLONG;
	} else {
		memcpy(dir, path, slash - path);
		dir[slash - path] = '\0';
		if (!dir[0])
			snprintf(dir, sizeof(dir), "/");
	}
	*base = slash ? slash + 1 : path;
	*dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return *dirfd < 0 ? -errno : 0;
}

/*
 * Switch to a new FILE only once it is open and protected from the sandbox. If that fails,
 * keep writing to the old one (renamed, but still ours): a lost event is worse than a late
 * rotation.
 */
static void reopen_events(struct ag_event_sink *sink, const char *path, struct ag_loader *l,
			  struct event_files *ef)
{
	struct ag_event_file *file = NULL;
	FILE *f = NULL;
	int err;

	ag_event_sink_sync(sink);
	err = ef->dirfd >= 0 ? replace_events(l, ef, &f, &file) : -EOPNOTSUPP;
	if (err == -EOPNOTSUPP) {
		if (!ef->warned)
			ag_log_warn("events: \"%s\": no O_TMPFILE here, so the file is reopened by "
				    "name; a sandbox that may write its directory can create it "
				    "first (docs/events.md)", path);
		ef->warned = true;
		f = ag_event_stream_open(path, ef->backlog, &file);
		err = f ? 0 : -errno;
		if (!err && (err = protect_events(l, ef, ag_event_file_fd(file)))) {
			fclose(f);
			f = NULL;
		}
	}
	if (err) {
		ag_log_warn("events: cannot reopen \"%s\": %s; still writing to the previous file",
			    path, strerror(-err));
		return;
	}
	ag_event_sink_setbuf(sink, f);	/* if it fails: the default buffer, only slower */
	/* What the old file still holds goes to the new one; what cannot is counted. */
	if (sink->file) {
		unsigned long long dropped;

		ag_event_file_move_held(sink->file, f);
		dropped = ag_event_file_take_dropped(sink->file);
		sink->file_lost += dropped;
		sink->file_unwritten += dropped;
	}
	fclose(sink->out);
	sink->out = f;
	sink->file = file;
}

/*
 * Keys recorded at most: a publish records its new file's, the one it replaces and the
 * previous daemon's. Only daemons that each die within their first publish make more; past
 * this many, the oldest is not released.
 */
#define METRICS_KEYS KEYS_RECORDED

/*
 * The --metrics textfile (threat model A6). Every write is a new file from protected_tmpfile()
 * and link_over(), so the sandbox can neither write, truncate, unlink nor replace the file the
 * node exporter reads, nor have the daemon write through a link it planted (FILE.tmp is never
 * used). Only the file in place stays protected. Its key is recorded in the state directory,
 * which the sandbox cannot write: the last file of a daemon that stopped or died stays
 * protected until the next daemon has put its own in place and released it, so restarts leak
 * no entry of the protected-inode table, and no later file that reuses the inode number is
 * protected by mistake.
 */
struct metrics_file {
	const char *path;
	int dirfd;		/* FILE's directory, opened at start, as the event file's */
	const char *base;	/* FILE's name in it */
	struct ag_inode_key key;	/* the file in place, once published */
	bool published;
	struct ag_inode_key prev[METRICS_KEYS];	/* recorded by the previous daemon */
	unsigned int n_prev;
	bool warned;		/* about a file system without O_TMPFILE */
};

#define METRICS_KEYS_FILE "metrics-inodes"

/*
 * Put b in place as the textfile, then release what it replaced and what the previous daemon
 * left. Where the file system has no O_TMPFILE: written by name, unprotected (warned once).
 */
static int publish_metrics(struct ag_loader *l, struct metrics_file *mf, int state_dirfd,
			   const struct ag_buf *b)
{
	struct ag_inode_key keys[METRICS_KEYS];
	unsigned int i, n_keys = 0;
	int fd, err = 0;

	if (b->oom)
		return -ENOMEM;
	fd = protected_tmpfile(l, mf->dirfd, 0, 0644, &keys[0], AG_PROTECT_METRICS);
	if (fd == -EOPNOTSUPP) {
		if (!mf->warned)
			ag_log_warn("metrics: \"%s\": no O_TMPFILE here, so the file is written "
				    "by name and not protected; a sandbox that may write its "
				    "directory can replace it (docs/events.md)", mf->path);
		mf->warned = true;
		err = ag_metrics_write_file(mf->dirfd, mf->base, b);
	} else if (fd >= 0) {
		/* Recorded before it has a name: a daemon killed from here on leaves them all. */
		n_keys = 1;
		if (mf->published)
			keys[n_keys++] = mf->key;
		for (i = 0; i < mf->n_prev && n_keys < METRICS_KEYS; i++)
			keys[n_keys++] = mf->prev[i];
		err = record_keys(state_dirfd, METRICS_KEYS_FILE, keys, n_keys);
		if (!err)
			err = ag_write_all(fd, b->p, b->len);
		if (!err)
			err = link_over(fd, mf->dirfd, mf->base, "metrics");
		close(fd);
		if (err)
			ag_loader_unprotect(l, &keys[0], AG_PROTECT_METRICS);
	} else {
		err = fd;
	}
	if (err)
		return err;
	if (n_keys) {
		if (mf->published)
			ag_loader_unprotect(l, &mf->key, AG_PROTECT_METRICS);
		mf->key = keys[0];
		mf->published = true;
		n_keys = 1;
	}
	/* Ours is in place: the previous daemon's last file goes now. */
	for (i = 0; i < mf->n_prev; i++)
		if (!n_keys || memcmp(&mf->prev[i], &mf->key, sizeof(mf->key)))
			ag_loader_unprotect(l, &mf->prev[i], AG_PROTECT_METRICS);
	mf->n_prev = 0;
	return record_keys(state_dirfd, METRICS_KEYS_FILE, keys, n_keys);
}

static int write_ready_file(const char *path)
{
	char tmp[4096];
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	fprintf(f, "%d\n", getpid());
	if (fclose(f))
		return -errno;
	if (rename(tmp, path))
		return -errno;
	return 0;
}

static void random_session(char *buf, size_t len)
{
	unsigned char r[8] = {};
	size_t i;

	if (getrandom(r, sizeof(r), 0) != sizeof(r))
		memset(r, 0, sizeof(r));
	for (i = 0; i < sizeof(r) && 2 * i + 2 < len; i++)
		snprintf(buf + 2 * i, 3, "%02x", r[i]);
}

/*
 * While records keep coming, loss accounting and the flush of the line stream wait until the
 * ring runs dry or FLUSH_MS have passed: each costs system calls, and after every poll (tens
 * of thousands a second under load) the loss accounting's bpf() calls alone took a tenth of
 * the consumer (bench/audit_bench.c).
 */
#define FLUSH_MS 10

/*
 * While the state directory fails, every event asks again (and gets the error at once): said
 * when it starts failing and when it works again, not per event.
 */
static unsigned long long reserve_seq(void *ctx, unsigned long long need)
{
	static bool failing;
	unsigned long long limit;
	int err = ag_seqstore_grant(ctx, need, &limit);

	if (err) {
		if (!failing)
			ag_log_error("events: cannot reserve event numbers in the state directory: "
				     "%s; events are numbered on, and it is tried again every second",
				     strerror(-err));
		failing = true;
		return 0;
	}
	if (failing)
		ag_log_info("events: event numbers are reserved in the state directory again");
	failing = false;
	return limit;
}

/*
 * With the resolver running, its thread writes dns events: the sink is shared, so every use
 * of it takes this lock (the ring-buffer callback per record, which ring_buffer__consume in
 * flush_folds also calls: never hold it around a consume).
 */
static pthread_mutex_t sink_lock = PTHREAD_MUTEX_INITIALIZER;

/* Counters to the Prometheus textfile and status.json; a failure is logged, not fatal. */
static void write_metrics(struct ag_loader *l, struct ag_status *st, int dirfd,
			  const struct ag_event_sink *sink, const struct ag_loss *loss,
			  struct ag_resolver *res, struct metrics_file *mf)
{
	struct ag_buf b = {};
	int err;

	if (ag_loader_metrics(l, &st->m))
		return;
	st->written = sink->written;
	st->lost = loss->total;
	pthread_mutex_lock(&sink_lock);	/* the resolver's thread writes dns events */
	st->unwritten = sink->file_unwritten;
	st->held = sink->file ? ag_event_file_held(sink->file) : 0;
	pthread_mutex_unlock(&sink_lock);
	if (res)	/* else the count it had when it stopped */
		st->dns_withheld = ag_resolver_withheld(res);
	err = ag_metrics_write_status(dirfd, st);
	if (!err && mf->path) {
		ag_metrics_format_prometheus(&b, st);
		err = publish_metrics(l, mf, dirfd, &b);
		ag_buf_free(&b);
	}
	if (err)
		ag_log_warn("metrics: cannot write the status or metrics file: %s", strerror(-err));
}

/* A record of another ABI (an upgraded build's): counted, reported as loss. */
static int count_record(void *ctx, void *data, size_t size)
{
	++*(unsigned long long *)ctx;
	return 0;
}

/*
 * After an upgrade: what the old build's rings still held (its programs are gone, so nothing
 * more comes), then as loss what it never reported: drops and folded repeats, and the records
 * this build cannot decode. Nothing it decided goes unmentioned.
 */
static void report_upgrade_leftovers(const struct ag_loader *l, struct ring_buffer *rb,
				     struct ag_event_sink *sink,
				     const unsigned long long *undecodable, long long since_ns)
{
	struct ag_loss_count counts[64];
	int n, i;

	ring_buffer__consume(rb);
	n = ag_loader_old_leftovers(l, counts, sizeof(counts) / sizeof(counts[0]));
	if (n < 0)
		ag_log_warn("events: cannot read what the previous build left unreported: %s",
			    strerror(-n));
	for (i = 0; i < n; i++)
		ag_event_sink_loss(sink, counts[i].key.kind, counts[i].key.verdict,
				   counts[i].key.rule, counts[i].key.reason, counts[i].count,
				   since_ns);
	if (*undecodable)
		ag_event_sink_loss(sink, 0, AG_DENY, AG_RULE_NONE, AG_DROP_UPGRADE, *undecodable,
				   since_ns);
}

/* Turn drop counts that grew into loss events, one per (kind, verdict, rule). */
static void report_loss(struct ag_event_sink *sink, struct ag_loss *loss, long long *since_ns)
{
	struct ag_loss_count counts[64];
	long long now = ag_wall_ns();
	int n, i;

	n = ag_loss_poll(loss, counts, sizeof(counts) / sizeof(counts[0]));
	for (i = 0; i < n; i++)
		ag_event_sink_loss(sink, counts[i].key.kind, counts[i].key.verdict,
				   counts[i].key.rule, counts[i].key.reason, counts[i].count,
				   *since_ns);
	if (n > 0)
		*since_ns = now;
}

/*
 * Have the kernel report denials it folded whose window has passed (all of them with force,
 * when stopping), and read those reports now. Folds younger than the window are reported by a
 * later call (at most about two seconds after the denial), or carried by the next report of
 * the same denial.
 */
static void flush_folds(struct ag_loader *l, struct ring_buffer *rb, bool force)
{
	unsigned int written, deferred;
	int err = ag_loader_fold_flush(l, force, &written, &deferred);

	if (err) {
		ag_log_warn("events: flushing folded denials failed: %s", strerror(-err));
		return;
	}
	if (written)
		ring_buffer__consume(rb);
}

/* The policy files' inodes protected from the sandbox; at most AG_POLICY_FILES_PROTECTED. */
#define AG_POLICY_FILES_PROTECTED 16

struct policy_files {
	struct ag_inode_key key[AG_POLICY_FILES_PROTECTED];
	unsigned int n;
};

/*
 * Protect the inodes the policy files have now, and stop protecting those they had before
 * that are no longer among them (replaced by an editor): the table stays bounded.
 */
static int protect_policy_files(struct ag_loader *l, char **files, int n, struct policy_files *pf)
{
	struct policy_files now = {};
	unsigned int i, j;
	int fd, err = 0;

	for (i = 0; i < (unsigned int)n && !err; i++) {
		if (now.n == AG_POLICY_FILES_PROTECTED)
			return -E2BIG;
		fd = open(files[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		err = ag_loader_protect_fd(l, fd, &now.key[now.n], AG_PROTECT_POLICY);
		close(fd);
		if (!err)
			now.n++;
	}
	if (err)
		return err;
	for (i = 0; i < pf->n; i++) {
		for (j = 0; j < now.n; j++)
			if (!memcmp(&pf->key[i], &now.key[j], sizeof(now.key[j])))
				break;
		if (j == now.n)
			ag_loader_unprotect(l, &pf->key[i], AG_PROTECT_POLICY);
	}
	*pf = now;
	return 0;
}

/*
 * SIGHUP: compile this daemon's policy files again and install them as the next generation.
 * An invalid policy leaves the one in force and is reported.
 */
static void reload_own(struct ag_loader *l, const char *pin_dir, int dirfd, char **files, int n,
		       const struct ag_cgroup *cg, struct policy_files *pf, struct ag_resolver *res)
{
	struct ag_active_policy p = {};
	const char *failed = NULL;
	int err, status;

	status = ag_cli_compile(files, n, &p.pols, &p.c);
	if (status != AG_EXIT_OK) {
		ag_log_error("reload: the policy files do not compile; the policy in force stays");
		return;
	}
	p.n = n;
	err = ag_cgroup_apply_limits(cg, &p.c->limits, &failed);
	if (err)
		ag_log_warn("reload: cannot set the sandbox's limits (%s): %s; the old limits stay",
			    failed, strerror(-err));
	/* An editor may have replaced a file (a new inode): protect what is read now. */
	err = protect_policy_files(l, files, n, pf);
	if (err)
		ag_log_warn("reload: cannot protect the policy files from the sandbox: %s",
			    strerror(-err));
	/* The resolver's hook rewrites its bindings for the new generation: no learning meanwhile. */
	if (res)
		ag_resolver_lock(res);
	err = ag_install_generation(l, pin_dir, dirfd, files, n, p.c);
	if (res)
		ag_resolver_unlock(res);
	if (err)
		ag_log_error("reload: installing failed: %s; the policy in force stays",
			     strerror(-err));
	else
		ag_log_info("reload: generation %u in force (sha256 %s)",
			    ag_loader_generation(l), p.c->sha256_hex);
	ag_active_policy_free(&p);
}

/*
 * The policies of generations other than the daemon's first, compiled from their copies in
 * the state directory: the one in force and the one before it (records written just before a
 * swap arrive after it). An entry the sink names from is never the one evicted.
 */
struct gen_cache {
	int dirfd;
	const struct ag_event_sink *sink;
	__u32 gen[2];
	struct ag_active_policy p[2];
	__u32 failed;			/* the last generation whose copies did not compile */
};

static const struct ag_compiled *policy_for(void *ctx, __u32 gen)
{
	struct gen_cache *gc = ctx;
	struct ag_active_policy p;
	int i;

	for (i = 0; i < 2; i++)
		if (gc->p[i].c && gc->gen[i] == gen)
			return gc->p[i].c;
	if (!gen || gen == gc->failed || ag_policy_store_compile(gc->dirfd, gen, &p)) {
		gc->failed = gen;
		return NULL;
	}
	i = gc->p[0].c && gc->p[0].c == gc->sink->policy ? 1 : 0;
	ag_active_policy_free(&gc->p[i]);
	gc->p[i] = p;
	gc->gen[i] = gen;
	return p.c;
}

/*
 * Another generation is in force (agentguard reload, SIGHUP): name events from its policy,
 * and say so in the stream. If its copies do not compile, its events carry no rule names
 * rather than wrong ones.
 */
static const struct ag_compiled *follow_generation(struct ag_loader *l, struct gen_cache *gc,
						   struct ag_event_sink *sink, struct ag_status *st)
{
	__u32 gen = ag_loader_active_generation(l);
	const struct ag_compiled *c;
	char detail[128];

	if (gen == sink->generation || gen == gc->failed)
		return NULL;
	c = policy_for(gc, gen);
	if (!c) {
		ag_log_warn("events: generation %u is in force, but its policy copies in the state "
			    "directory do not compile; its events carry no rule names", gen);
		return NULL;
	}
	sink->policy = c;
	sink->generation = gen;
	st->policy_sha256 = c->sha256_hex;
	snprintf(detail, sizeof(detail), "generation %u in force (sha256 %s)", gen,
		 c->sha256_hex);
	ag_event_sink_lifecycle(sink, "reload", detail);
	sd_notifyf(0, "STATUS=enforcing generation %u (sha256 %.12s)", gen, c->sha256_hex);
	return c;
}

static const char *const default_cgroup_name = "agentguard-sandbox";

static int locked_handle(void *ctx, void *data, size_t size)
{
	int ret;

	pthread_mutex_lock(&sink_lock);
	ret = ag_event_sink_handle(ctx, data, size);
	pthread_mutex_unlock(&sink_lock);
	return ret;
}

static void dns_report(void *ctx, const struct ag_dns_report *r)
{
	struct ag_event_sink *sink = ctx;
	char qt[16];

	pthread_mutex_lock(&sink_lock);
	ag_event_sink_dns(sink, r->name, r->address,
			  ag_dns_type_name(r->qtype, qt, sizeof(qt)),
			  ag_dns_rcode_name(r->rcode), r->client, r->transport, r->verdict,
			  r->rule, r->generation);
	pthread_mutex_unlock(&sink_lock);
}

/* Is any rule of c a domain rule? Then the resolver must run. */
static bool has_domain_rules(const struct ag_compiled *c)
{
	return c->n_dom > 0;
}

static int parse_seconds(const char *s, unsigned int *out)
{
	char *e;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &e, 10);
	if (errno || *e || !*s || v == 0 || v > 86400)
		return -EINVAL;
	*out = v;
	return 0;
}

/* With --journal: the socket sd_journal_sendv() sends to, and the directories above it. */
static const char *const journal_path_chain[] = {
	"/run/systemd/journal/socket", "/run/systemd/journal", "/run/systemd",
};

int cmd_load(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cgroup", required_argument, NULL, 'c' },
		{ "events", required_argument, NULL, 'e' },
		{ "format", required_argument, NULL, 'f' },
		{ "journal", no_argument, NULL, 'j' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ "session", required_argument, NULL, 's' },
		{ "identity", required_argument, NULL, 'i' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "metrics", required_argument, NULL, 'M' },
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "detach", no_argument, NULL, 'D' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "dns-listen", required_argument, NULL, 'L' },
		{ "dns-upstream", required_argument, NULL, 'U' },
		{ "dns-ttl-floor", required_argument, NULL, 'F' },
		{ "dns-ttl-cap", required_argument, NULL, 'C' },
		{ "fallback", required_argument, NULL, 'K' },
		{ "allow-unenforced", no_argument, NULL, 'A' },
		{ "under-run", no_argument, NULL, 'R' },
		{ "events-backlog", required_argument, NULL, 'B' },
		{},
	};
	const char *cgroup_path = NULL, *events_path = NULL, *ready_path = NULL;
	const char *state_dir = "/var/lib/agentguard";
	const char *pin_dir = AG_PIN_DIR;
	bool detach = false, pinned_here = false;
	int pin_lock = -1, state_dirfd = -1;
	struct gen_cache gens = { .dirfd = -1 };
	struct policy_files policy_files = {};
	const struct ag_compiled *followed;
	struct ag_status st_info = {};
	long long last_metrics_ns = 0, flushed_ns = 0;
	struct ag_seqstore seqs = { .dirfd = -1 };
	unsigned long long first_seq;
	struct ag_loader_opts lopts = { .lsm = true, .cgroup = true };
	struct ag_event_sink sink = {};
	struct ag_cgroup cg = { .fd = -1 };
	struct ag_policy **pols = NULL;
	struct ag_compiled *c = NULL;
	struct ag_loader *l = NULL;
	struct ag_resolver *res = NULL;
	struct ag_resolver_opts ropts = {};
	const char *dns_listen = NULL;
	struct event_files event_files = { .dirfd = -1, .state_dirfd = -1 };
	struct metrics_file metrics = { .dirfd = -1 };
	struct ag_inode_key state_key;
	struct ring_buffer *rb = NULL;
	struct ag_loss loss = {};
	long long loss_since_ns = 0;
	unsigned long long table_bytes;
	const char *failed = NULL;
	char cgdefault[4096];
	int opt, err, status = AG_EXIT_OK, n_files = 0;
	struct sigaction sa = { .sa_handler = on_stop }, hup = { .sa_handler = on_hup };
	bool events_stdout = false, pending = false, fallback = false, allow_unenforced = false;
	bool under_run = false, events_failing = false, backlog_given = false;
	unsigned long long undecodable = 0;	/* records of an upgraded build's other ABI */
	unsigned long long backlog = AG_EVENT_BACKLOG_DEFAULT;
	char why[256], no_limits[64] = "";

	while ((opt = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			cgroup_path = optarg;
			break;
		case 'e':
			events_path = optarg;
			break;
		case 'r':
			ready_path = optarg;
			break;
		case 's':
			snprintf(sink.session, sizeof(sink.session), "%s", optarg);
			break;
		case 'S':
			state_dir = optarg;
			break;
		case 'M':
			metrics.path = optarg;
			break;
		case 'B':
			if (ag_cli_parse_uint(optarg, 1ULL << 40, &backlog) ||
			    backlog < AG_EVENT_BACKLOG_MIN || backlog > SIZE_MAX / 4) {
				fprintf(stderr, "agentguard: load: --events-backlog takes bytes, "
						"%u to 2^40\n", AG_EVENT_BACKLOG_MIN);
				return AG_EXIT_USAGE;
			}
			backlog_given = true;
			break;
		case 'i':
			sink.operator_identity = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "json") && strcmp(optarg, "ocsf")) {
				fprintf(stderr, "agentguard: load: --format is json or ocsf, not "
						"\"%s\"\n", optarg);
				return AG_EXIT_USAGE;
			}
			sink.format = strcmp(optarg, "ocsf") ? AG_EVENTS_JSON : AG_EVENTS_OCSF;
			break;
		case 'j':
			sink.journal = true;
			break;
		case 'P':
			pin_dir = optarg;
			break;
		case 'D':
			detach = true;
			break;
		case 'v':
			ag_verbose = true;
			break;
		case 'L':
			dns_listen = optarg;
			if (ag_resolver_parse_addr(optarg, &ropts.listen)) {
				fprintf(stderr, "agentguard: load: --dns-listen \"%s\" is not "
						"ADDR[:PORT]\n", optarg);
				return AG_EXIT_USAGE;
			}
			break;
		case 'U':
			if (ropts.n_upstream == AG_RESOLVER_MAX_UPSTREAMS ||
			    ag_resolver_parse_addr(optarg, &ropts.upstream[ropts.n_upstream])) {
				fprintf(stderr, "agentguard: load: --dns-upstream \"%s\": ADDR[:PORT], "
						"at most %d\n", optarg, AG_RESOLVER_MAX_UPSTREAMS);
				return AG_EXIT_USAGE;
			}
			ropts.n_upstream++;
			break;
		case 'F':
		case 'C':
			if (parse_seconds(optarg, opt == 'F' ? &ropts.ttl_floor_s :
							       &ropts.ttl_cap_s)) {
				fprintf(stderr, "agentguard: load: --dns-ttl-%s takes seconds, 1 to "
						"86400\n", opt == 'F' ? "floor" : "cap");
				return AG_EXIT_USAGE;
			}
			break;
		case 'K':
			if (!ag_backend_fallback_arg("load", optarg))
				return AG_EXIT_USAGE;
			fallback = true;
			break;
		case 'A':
			allow_unenforced = true;
			break;
		case 'R':
			under_run = true;
			break;
		default:
			return AG_EXIT_USAGE;
		}
	}
	if (optind >= argc || ((allow_unenforced || under_run) && !fallback)) {
		fprintf(stderr, "usage: agentguard load [--cgroup PATH] [--events FILE|-] "
				"[--format json|ocsf] [--journal] [--ready-file PATH] "
				"[--session ID] [--identity TEXT] [--state-dir DIR] "
				"[--events-backlog BYTES] [--metrics FILE] [--pin-dir DIR] "
				"[--detach] "
				"[--dns-listen ADDR[:PORT]] [--dns-upstream ADDR[:PORT]]... "
				"[--dns-ttl-floor S] [--dns-ttl-cap S] "
				"[--fallback landlock [--allow-unenforced]] [-v] POLICY...\n");
		return AG_EXIT_USAGE;
	}
	/* Sinks: --events FILE or - (stdout), --journal, any combination; none: stdout. */
	if (events_path && !strcmp(events_path, "-")) {
		events_path = NULL;
		events_stdout = true;
	}
	if (backlog_given && !events_path) {
		fprintf(stderr, "agentguard: load: --events-backlog is for --events FILE\n");
		return AG_EXIT_USAGE;
	}
	if (sink.journal && (err = ag_journal_check())) {
		ag_log_error("journal: \"%s\": %s; is systemd-journald running? Nothing is loaded",
			     AG_JOURNAL_SOCKET, strerror(-err));
		return AG_EXIT_CONFIG;
	}
	n_files = argc - optind;
	ag_log_setup_libbpf();

	status = ag_cli_compile(argv + optind, n_files, &pols, &c);
	if (status != AG_EXIT_OK)
		goto cleanup;

	if (!cgroup_path) {
		err = ag_cgroup2_mount(cgdefault, sizeof(cgdefault) - 64);
		if (err) {
			ag_log_error("cgroup: no cgroup2 mount found: %s", strerror(-err));
			status = AG_EXIT_CONFIG;
			goto cleanup;
		}
		strcat(cgdefault, "/");
		strcat(cgdefault, default_cgroup_name);
		cgroup_path = cgdefault;
	}

	if (ag_backend_choose(fallback, &sink.backend, why, sizeof(why))) {
		ag_backend_log_refusal("load", why);
		status = AG_EXIT_UNAVAILABLE;
		goto cleanup;
	}
	if (sink.backend == AG_BACKEND_LANDLOCK) {
		char parent[4096], *slash;
		long lost = 0;

		ag_log_warn("load: BPF-LSM is not available (%s): --fallback landlock", why);
		lopts.lsm = false;
		snprintf(parent, sizeof(parent), "%s", cgroup_path);
		slash = strrchr(parent, '/');
		if (slash)
			*slash = '\0';
		err = ag_cgroup_missing_controllers(parent[0] ? parent : "/", no_limits,
						    sizeof(no_limits));
		if (err) {
			ag_log_error("cgroup: cannot read the controllers of \"%s\": %s", parent,
				     strerror(-err));
			status = AG_EXIT_CONFIG;
			goto cleanup;
		}
		/* Under agentguard run, which has reported and decided, and restricts the files. */
		if (!under_run)
			lost = ag_fallback_report_load(stderr, c, no_limits);
		if (lost < 0) {
			status = AG_EXIT_SOFTWARE;
			goto cleanup;
		}
		if (lost && !allow_unenforced) {
			ag_log_error("load: %ld of the rules above would not be enforced, so nothing "
				     "was loaded; \"agentguard run --fallback landlock\" enforces "
				     "filesystem rules, --allow-unenforced loads anyway", lost);
			status = AG_EXIT_UNAVAILABLE;
			goto cleanup;
		}
		if (lost)
			ag_log_warn("load: %ld of the rules above are not enforced; loading anyway "
				    "(--allow-unenforced)", lost);
	} else if (fallback) {
		ag_log_info("load: BPF-LSM is available, so --fallback landlock is not used");
	}
	err = ag_cgroup_open(cgroup_path, 1, &cg);
	if (err) {
		ag_log_error("cgroup: cannot use \"%s\": %s", cgroup_path, strerror(-err));
		status = AG_EXIT_CONFIG;
		goto cleanup;
	}
	if (cg.level == 0) {
		ag_log_error("cgroup: refusing to govern the root cgroup \"%s\"", cg.path);
		status = AG_EXIT_CONFIG;
		goto cleanup;
	}
	/* Under systemd with Delegate=yes the sandbox may be a child of our own cgroup. */
	err = ag_cgroup_leave_parent_of(&cg);
	if (err)
		failed = "moving agentguard to a leaf cgroup (agentguard-daemon)";
	else if (no_limits[0])	/* the fallback on a hybrid host: reported above */
		ag_log_warn("cgroup: no %s controller in the cgroup2 hierarchy here: the sandbox "
			    "runs without limits", no_limits);
	else
		err = ag_cgroup_apply_limits(&cg, &c->limits, &failed);
	if (err) {
		ag_log_error("cgroup: cannot set the sandbox's limits on \"%s\" (%s): %s; the agent "
			     "could starve or OOM agentguard, so nothing is loaded",
			     cg.path, failed, strerror(-err));
		status = AG_EXIT_CONFIG;
		goto cleanup;
	}

	/* One daemon per pin directory: a second would adopt what the first is changing. */
	err = ag_loader_lock_pin_dir(pin_dir, &pin_lock);
	if (err) {
		if (err == -EWOULDBLOCK)
			ag_log_error("load: another agentguard is running with \"%s\"", pin_dir);
		else
			ag_log_error("load: cannot use the pin directory \"%s\": %s (is bpffs "
				     "mounted?)", pin_dir, strerror(-err));
		status = AG_EXIT_CONFIG;
		goto cleanup;
	}
	lopts.pin_dir = pin_dir;
	/* With --detach nothing would drain the old build's rings: no upgrade then. */
	lopts.upgrade = !detach;
	pinned_here = !ag_loader_pinned(pin_dir);
	err = ag_loader_open(&lopts, &l);
	if (err == -ESTALE || err == -EAGAIN) {
		ag_log_error("load: %s at \"%s\"; upgrading needs a load without --detach, to "
			     "report the events the old build leaves",
			     err == -ESTALE ? "another agentguard build's enforcement is pinned" :
			     "an upgrade is unfinished", pin_dir);
		pinned_here = false;
		status = AG_EXIT_CONFIG;
		goto cleanup;
	}
	if (err == -EUCLEAN) {
		ag_log_error("load: \"%s\" holds incomplete pinned state (a load that died "
			     "half-way?); \"agentguard unload --pin-dir %s\" clears it", pin_dir,
			     pin_dir);
		pinned_here = false;
		status = AG_EXIT_CONFIG;
		goto cleanup;
	}
	if (err) {
		ag_log_error("bpf: loading the programs failed: %s; this kernel cannot enforce "
			     "(run \"agentguard probe\" for details)%s",
			     strerror(-err), pinned_here ? "" :
			     "; or the pinned maps are another build's (agentguard unload, then load)");
		status = AG_EXIT_UNAVAILABLE;
		goto cleanup;
	}
	if (ag_loader_adopted(l)) {
		if (ag_loader_sandbox_id(l) != cg.id) {
			ag_log_error("load: the enforcement pinned at \"%s\" governs another cgroup "
				     "(id %llu, not %s); \"agentguard unload --pin-dir %s\" ends it",
				     pin_dir, (unsigned long long)ag_loader_sandbox_id(l), cg.path,
				     pin_dir);
			status = AG_EXIT_CONFIG;
			goto cleanup;
		}
		ag_log_info("adopting the enforcement pinned at \"%s\" (generation %u)", pin_dir,
			    ag_loader_generation(l));
	}
	if (ag_loader_upgrading(l)) {
		if (ag_loader_old(l)->sandbox_cgid != cg.id) {
			ag_log_error("load: the enforcement pinned at \"%s\" (another build's) governs "
				     "another cgroup (id %llu, not %s); \"agentguard unload --pin-dir "
				     "%s\" ends it", pin_dir,
				     (unsigned long long)ag_loader_old(l)->sandbox_cgid, cg.path,
				     pin_dir);
			status = AG_EXIT_CONFIG;
			goto cleanup;
		}
		ag_log_info("upgrading the enforcement pinned at \"%s\" (another build's, generation "
			    "%u): this build's programs attach beside it, then it is detached",
			    pin_dir, ag_loader_old(l)->generation_seq);
	}
	for (size_t i = 0; i < c->n_unix; i++) {
		struct stat ust;

		if (c->unx[i].path && (stat(c->unx[i].path, &ust) || !S_ISSOCK(ust.st_mode)))
			ag_log_warn("unix: \"%s\" is not a socket now; it stays unreachable until "
				    "a reload after it exists",
				    c->unx[i].path);
	}
	state_dirfd = ag_state_dir_open(state_dir);
	if (state_dirfd < 0) {
		ag_log_error("load: cannot use the state directory \"%s\": %s", state_dir,
			     strerror(-state_dirfd));
		status = AG_EXIT_CONFIG;
		goto cleanup;
	}
	err = ag_install_generation(l, pin_dir, state_dirfd, argv + optind, n_files, c);
	if (err) {
		ag_log_error("bpf: installing the policy tables failed: %s", strerror(-err));
		status = AG_EXIT_UNAVAILABLE;
		goto cleanup;
	}
	/* For agentguard reset: the files this daemon was started with; for reload, the cgroup. */
	err = ag_started_with_write(state_dirfd, argv + optind, n_files);
	if (!err)
		err = ag_sandbox_path_write(state_dirfd, cg.path);
	if (err)
		ag_log_warn("load: cannot record the policy files for agentguard reset: %s",
			    strerror(-err));

	/*
	 * Domain rules: agentguard's resolver becomes the sandbox's only nameserver (issue #9).
	 * Before attach, so DNS elsewhere is denied from the first packet.
	 */
	if (dns_listen || has_domain_rules(c)) {
		if (!dns_listen)
			ag_resolver_parse_addr("127.0.0.53:53", &ropts.listen);
		if (!ropts.n_upstream) {
			/*
			 * The host's resolv.conf, minus our own address: where the sandbox shares
			 * the file (a guest), it names us, and we would ask ourselves.
			 */
			ag_resolver_upstreams_from("/etc/resolv.conf", &ropts);
			ag_resolver_drop_upstream(&ropts, &ropts.listen);
		}
		if (!ropts.n_upstream) {
			ag_log_error("dns: no upstream nameserver: give --dns-upstream ADDR (none in "
				     "/etc/resolv.conf); nothing is loaded");
			status = AG_EXIT_CONFIG;
			goto cleanup;
		}
		err = ag_resolver_open(&ropts, l, c, &res);
		if (err) {
			ag_log_error("dns: cannot start the resolver on \"%s\": %s; nothing is "
				     "loaded", dns_listen ? dns_listen : "127.0.0.53:53",
				     strerror(-err));
			status = AG_EXIT_CONFIG;
			goto cleanup;
		}
	}

	/* agentguard's own files: the sandbox may not write, unlink or rename them. */
	err = ag_loader_protect(l, "/proc/self/exe", AG_PROTECT_SELF);
	if (!err)
		err = protect_policy_files(l, argv + optind, n_files, &policy_files);
	/*
	 * journald's socket is found by path at every send: the sandbox must not replace it, nor
	 * rename a directory on the way, to receive the records itself.
	 */
	for (size_t i = 0; !err && sink.journal &&
		     i < sizeof(journal_path_chain) / sizeof(journal_path_chain[0]); i++)
		err = ag_loader_protect(l, journal_path_chain[i], AG_PROTECT_SELF);
	if (err) {
		ag_log_error("bpf: protecting agentguard's own files failed: %s", strerror(-err));
		status = AG_EXIT_UNAVAILABLE;
		goto cleanup;
	}

	/* Events sink ready before anything can be denied. */
	sink.out = sink.journal && !events_stdout ? NULL : stdout;
	if (events_path) {
		sink.out = ag_event_stream_open(events_path, backlog, &sink.file);
		sink.file_ok_ns = ag_wall_ns();
		event_files.backlog = backlog;
		if (!sink.out) {
			ag_log_error("events: cannot open \"%s\": %s", events_path,
				     strerror(errno));
			status = AG_EXIT_IOERR;
			goto cleanup;
		}
		/* Not stdout's: the sink frees its buffer before exit() flushes stdout. */
		ag_event_sink_setbuf(&sink, sink.out);	/* if it fails: only slower */
	}
	if (events_path) {
		/* A regular event file is evidence: protect it (a pipe or port needs no rule). */
		if ((err = protect_events(l, &event_files, ag_event_file_fd(sink.file)))) {
			ag_log_error("bpf: protecting \"%s\" failed: %s", events_path,
				     strerror(-err));
			status = AG_EXIT_UNAVAILABLE;
			goto cleanup;
		}
		if ((err = open_parent_dir(events_path, &event_files.dirfd, &event_files.base))) {
			ag_log_error("events: cannot open the directory of \"%s\": %s", events_path,
				     strerror(-err));
			status = AG_EXIT_IOERR;
			goto cleanup;
		}
	}
	if (metrics.path &&
	    (err = open_parent_dir(metrics.path, &metrics.dirfd, &metrics.base))) {
		ag_log_error("metrics: cannot open the directory of \"%s\": %s", metrics.path,
			     strerror(-err));
		status = AG_EXIT_IOERR;
		goto cleanup;
	}
	sink.policy = c;
	sink.generation = ag_loader_generation(l);
	gens.dirfd = state_dirfd;
	gens.sink = &sink;
	sink.policy_for = policy_for;
	sink.policy_ctx = &gens;
	gethostname(sink.host, sizeof(sink.host) - 1);
	if (!sink.session[0])
		random_session(sink.session, sizeof(sink.session));
	snprintf(sink.sandbox, sizeof(sink.sandbox), "%s", cg.rel);
	if (res) {
		sink.domain_name = ag_resolver_name;
		sink.domain_ctx = res;
	}
	/* Denials first, in a ring of their own; then every other event. */
	rb = ring_buffer__new(ag_loader_deny_ringbuf_fd(l),
			      res ? locked_handle : ag_event_sink_handle, &sink, NULL);
	if (rb && ring_buffer__add(rb, ag_loader_ringbuf_fd(l),
				   res ? locked_handle : ag_event_sink_handle, &sink)) {
		ring_buffer__free(rb);
		rb = NULL;
	}
	/* Upgrading: the old build's rings too, decoded if its records are laid out as ours. */
	for (int i = 0; rb && ag_loader_old(l) && i < 2; i++) {
		const struct ag_loader_old *old = ag_loader_old(l);

		if (old->rings[i] >= 0 &&
		    ring_buffer__add(rb, old->rings[i],
				     !old->same_abi ? count_record : res ? locked_handle :
				     ag_event_sink_handle, old->same_abi ? (void *)&sink :
				     (void *)&undecodable)) {
			ring_buffer__free(rb);
			rb = NULL;
		}
	}
	if (!rb) {
		ag_log_error("events: cannot open the ring buffer: %s", strerror(errno));
		status = AG_EXIT_SOFTWARE;
		goto cleanup;
	}

	err = ag_loader_attach(l, &cg);
	if (err) {
		ag_log_error("bpf: attaching to \"%s\" failed: %s; this kernel cannot enforce "
			     "(run \"agentguard probe\" for details)",
			     cg.path, strerror(-err));
		status = AG_EXIT_UNAVAILABLE;
		goto cleanup;
	}
	if (ag_loader_upgrading(l)) {
		/* Tests: die where a crash leaves both builds attached (the next load finishes). */
		if (!strcmp(getenv("AGENTGUARD_TEST_FAULT") ?: "", "upgrade-committed"))
			_exit(AG_EXIT_SOFTWARE);
		/* Ours are attached: the old build's programs go now. */
		err = ag_loader_retire_old(l);
		if (err) {
			ag_log_error("bpf: detaching the previous build failed: %s; both enforce "
				     "until the next agentguard load finishes the upgrade",
				     strerror(-err));
			status = AG_EXIT_SOFTWARE;
			goto cleanup;
		}
		ag_log_info("upgraded: the previous build's programs are detached");
	}

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &hup, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (ready_path) {
		err = write_ready_file(ready_path);
		if (err) {
			ag_log_error("load: cannot write ready file \"%s\": %s", ready_path,
				     strerror(-err));
			status = AG_EXIT_CONFIG;
			goto cleanup;
		}
	}
	if (ag_loader_table_bytes(l, &table_bytes))
		table_bytes = 0;
	ag_log_info("enforcing %d polic%s (sha256 %s) on cgroup \"%s\" with %s: %zu rules, "
		    "%zu filesystem and %zu network entries, %llu bytes of kernel tables",
		    n_files, n_files == 1 ? "y" : "ies", c->sha256_hex, cg.path,
		    ag_backend_name(sink.backend), c->n_rules, c->n_fs, c->n_net, table_bytes);
	/* systemd (Type=notify): enforcement is on; a later failure is the unit's to see. */
	sd_notifyf(0, "READY=1\nSTATUS=enforcing %d polic%s on %s (generation %u)", n_files,
		   n_files == 1 ? "y" : "ies", cg.path, ag_loader_generation(l));
	if (detach) {
		ag_log_info("detached: enforcement stays pinned at \"%s\"; no events are written "
			    "until a load adopts it, \"agentguard unload\" ends it", pin_dir);
		pinned_here = false;	/* it stays */
		goto cleanup;
	}

	/* seq continues where the last run stopped, whatever way it stopped. */
	err = ag_seqstore_open(state_dir, &seqs, &first_seq);
	/*
	 * Its files (seq, status.json) are replaced by rename, so the directory is what is
	 * protected: nothing created, removed, renamed or linked in it, no file opened for writing.
	 */
	if (!err)
		err = ag_loader_protect_fd(l, seqs.dirfd, &state_key, AG_PROTECT_SELF);
	if (!err)
		err = ag_seqstore_reserve(&seqs, first_seq);
	if (err) {
		ag_log_error("events: cannot use the state directory \"%s\": %s", state_dir,
			     strerror(-err));
		status = AG_EXIT_CONFIG;
		goto cleanup;
	}
	/* Without the worker, each block's fsyncs stall the consumer: slower, still correct. */
	err = ag_seqstore_start_ahead(&seqs);
	if (err)
		ag_log_warn("events: cannot start reserving event numbers ahead: %s",
			    strerror(-err));
	/* The first grant sets the worker to the next block. */
	err = ag_seqstore_grant(&seqs, first_seq, &sink.seq_limit);
	if (err) {
		ag_log_error("events: cannot use the state directory \"%s\": %s", state_dir,
			     strerror(-err));
		status = AG_EXIT_CONFIG;
		goto cleanup;
	}
	sink.seq = first_seq - 1;
	sink.seq_reserve = reserve_seq;
	sink.seq_ctx = &seqs;

	err = ag_loss_open(ag_loader_drops_fd(l), ag_loader_drops_reported_fd(l), &loss);
	if (err) {
		ag_log_error("events: cannot read the drop counters: %s", strerror(-err));
		status = AG_EXIT_SOFTWARE;
		goto cleanup;
	}
	loss_since_ns = ag_wall_ns();
	{
		char detail[4400];

		snprintf(detail, sizeof(detail), "enforcing %d polic%s on cgroup %s (backend %s)%s",
			 n_files, n_files == 1 ? "y" : "ies", cg.path,
			 ag_backend_name(sink.backend),
			 ag_loader_upgrading(l) ? " (upgraded from another build)" : "");
		ag_event_sink_lifecycle(&sink, "start", detail);
	}
	if (ag_loader_old(l))
		report_upgrade_leftovers(l, rb, &sink, &undecodable, loss_since_ns);
	if (res) {
		err = ag_resolver_start(res, dns_report, &sink);
		if (err) {
			ag_log_error("dns: cannot start the resolver thread: %s", strerror(-err));
			status = AG_EXIT_SOFTWARE;
			goto cleanup;
		}
	}
	/* The previous daemon's event files: released as ours, once 8 newer ones came. */
	if (events_path && (err = adopt_events(l, &event_files, seqs.dirfd)))
		ag_log_warn("events: cannot read or write \"%s/%s\": %s; the previous daemon's "
			    "event files stay protected", state_dir, EVENTS_KEYS_FILE,
			    strerror(-err));
	/* The previous daemon's last textfile: released once ours is in place. */
	if (metrics.path &&
	    (err = read_keys(seqs.dirfd, METRICS_KEYS_FILE, metrics.prev, &metrics.n_prev)))
		ag_log_warn("metrics: cannot read \"%s/%s\": %s; the previous daemon's last "
			    "textfile stays protected", state_dir, METRICS_KEYS_FILE,
			    strerror(-err));
	st_info.pid = getpid();
	st_info.cgroup = cg.path;
	st_info.policy_sha256 = c->sha256_hex;
	st_info.started_ns = loss_since_ns;
	write_metrics(l, &st_info, seqs.dirfd, &sink, &loss, res, &metrics);

	while (!stop_requested) {
		/*
		 * Lines not flushed yet: come back for them within FLUSH_MS. A walk ends after
		 * AG_EVENT_WALK_RECORDS, so a flood cannot hold off the flush, the loss events
		 * and signals; the records left make the next poll return at once.
		 */
		sink.walk_left = AG_EVENT_WALK_RECORDS;
		err = ring_buffer__poll(rb, pending ? FLUSH_MS : 200);
		sink.walk_left = 0;
		if (err == AG_EVENT_WALK_STOP)
			err = AG_EVENT_WALK_RECORDS;
		if (err < 0 && err != -EINTR) {
			ag_log_error("events: polling the ring buffer failed: %s", strerror(-err));
			status = AG_EXIT_SOFTWARE;
			break;
		}
		pending |= err > 0;
		if (ag_wall_ns() - last_metrics_ns >= 1000000000LL) {
			flush_folds(l, rb, false);
			write_metrics(l, &st_info, seqs.dirfd, &sink, &loss, res, &metrics);
			last_metrics_ns = ag_wall_ns();
		}
		if (reopen_requested) {
			reopen_requested = 0;
			pthread_mutex_lock(&sink_lock);
			if (events_path)
				reopen_events(&sink, events_path, l, &event_files);
			pthread_mutex_unlock(&sink_lock);
			sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
				   (unsigned long long)ag_mono_ns() / 1000);
			reload_own(l, pin_dir, state_dirfd, argv + optind, n_files, &cg,
				   &policy_files, res);
			sd_notifyf(0, "READY=1\nSTATUS=enforcing generation %u",
				   ag_loader_active_generation(l));
		}
		/* A generation installed since (by reload, or by the SIGHUP above): its names. */
		pthread_mutex_lock(&sink_lock);
		followed = follow_generation(l, &gens, &sink, &st_info);
		pthread_mutex_unlock(&sink_lock);
		/* Domain bindings get their verdicts for it, and new ones come from its policy. */
		if (followed && res && (err = ag_resolver_follow(res, followed, sink.generation)))
			ag_log_warn("dns: rewriting the bindings for generation %u failed: %s; "
				    "names resolved before it have no say until resolved again",
				    sink.generation, strerror(-err));
		if (!pending || ag_mono_ns() - flushed_ns >= FLUSH_MS * 1000000LL) {
			/* After the records that did fit: the loss event follows them in order. */
			pthread_mutex_lock(&sink_lock);
			report_loss(&sink, &loss, &loss_since_ns);
			ag_cli_events_sync(&sink, &events_failing);
			pthread_mutex_unlock(&sink_lock);
			flushed_ns = ag_mono_ns();
			pending = false;
		}
	}
	/* No more dns events: the resolver stops first (its bindings stay until unload). */
	if (res)
		st_info.dns_withheld = ag_resolver_withheld(res);
	ag_resolver_close(res);
	res = NULL;
	sink.domain_name = NULL;
	/* Drain what the kernel wrote before we were asked to stop, and account for the rest. */
	ring_buffer__consume(rb);
	flush_folds(l, rb, true);
	report_loss(&sink, &loss, &loss_since_ns);
	sd_notify(0, "STOPPING=1\nSTATUS=stopping; enforcement stays pinned until unload");
	ag_event_sink_lifecycle(&sink, "stop",
				status == AG_EXIT_OK ?
				"stopped on request; enforcement stays pinned until agentguard unload" :
				"stopped on an error; enforcement stays pinned until agentguard unload");
	pinned_here = false;	/* in force: it stays */
	if (ag_cli_events_finish(&sink) != AG_EXIT_OK && status == AG_EXIT_OK)
		status = AG_EXIT_IOERR;
	write_metrics(l, &st_info, seqs.dirfd, &sink, &loss, res, &metrics);

cleanup:
	ag_resolver_close(res);
	ag_active_policy_free(&gens.p[0]);
	ag_active_policy_free(&gens.p[1]);
	if (state_dirfd >= 0)
		close(state_dirfd);
	/* Pins this run made for enforcement that never came into force: nothing half applied. */
	if (pinned_here && status != AG_EXIT_OK)
		ag_loader_unpin_dir(pin_dir, false);
	if (pin_lock >= 0)
		close(pin_lock);
	ag_seqstore_close(&seqs);
	ag_loss_close(&loss);
	if (event_files.dirfd >= 0)
		close(event_files.dirfd);
	if (metrics.dirfd >= 0)
		close(metrics.dirfd);
	ring_buffer__free(rb);
	if (sink.out && sink.out != stdout)
		fclose(sink.out);
	ag_event_sink_free(&sink);
	ag_loader_close(l);
	ag_cgroup_close(&cg);
	ag_compiled_free(c);
	ag_cli_free_policies(pols, n_files);
	return status;
}
