/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Ring-buffer records → events (schema v1, docs/events.md). The consumer assigns seq,
 * converts kernel boot time to wall time and names the rule, layer and policy from the
 * compiled policy of the event's generation.
 *
 * Each record is decoded once into a struct ag_event, which every sink formats: JSON lines
 * (here), OCSF (ocsf.c) and journald (sink_journal.c). Names and target attributes are decided
 * only in ag_event_decode, so the sinks cannot disagree about what an event says.
 */
#ifndef AG_EVENTS_H
#define AG_EVENTS_H

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include "backend.h"
#include "compile.h"
#include "event_file.h"
#include "json.h"

enum ag_event_format {
	AG_EVENTS_JSON = 0,	/* schema v1, one object per line (the default) */
	AG_EVENTS_OCSF = 1,	/* OCSF 1.1.0, one object per line (docs/ocsf.md) */
};

/* A uid's passwd name as last looked up: getpwuid_r reads the whole database each time. */
struct ag_user_cache {
	long long at_ns;		/* CLOCK_MONOTONIC_COARSE of the lookup; 0: empty */
	__u32 uid;
	bool known;			/* false: the uid has no passwd entry */
	char name[64];
};

#define AG_USER_CACHE 8			/* entries, by uid modulo */
#define AG_USER_CACHE_NS 1000000000LL	/* a name is looked up again after a second */

struct ag_event_sink {
	FILE *out;				/* the line stream, or NULL (journald only) */
	/*
	 * out's state when it is an event file (ag_event_stream_open), else NULL; lines it
	 * dropped past its backlog and not yet reported, for a "write-failed" loss event
	 * (ag_event_sink_sync); and when it last had taken every line (wall clock: set it with
	 * file, since such a loss event says "since" then).
	 */
	struct ag_event_file *file;
	unsigned long long file_lost;
	unsigned long long file_unwritten;	/* every line any event file dropped */
	long long file_ok_ns;
	enum ag_event_format format;		/* of the line stream */
	bool journal;				/* also send every event to journald */
	const struct ag_compiled *policy;	/* the active policy */
	__u32 generation;			/* its generation_seq */
	/*
	 * The policy of another generation (a record written before or after a swap), or NULL
	 * if unknown: its events then name no rule and no sha256. NULL callback: unknown.
	 */
	const struct ag_compiled *(*policy_for)(void *ctx, __u32 generation);
	void *policy_ctx;
	char host[256];
	char session[64];
	char sandbox[4096];			/* cgroup path below the cgroup2 mount */
	const char *sandbox_name;		/* a microVM sandbox's name (sandbox run), or NULL */
	enum ag_backend backend;		/* what enforces: every event names it */
	const char *operator_identity;		/* --identity, or NULL */
	unsigned long long seq;			/* the last seq assigned */
	/*
	 * Optional: called before seq would pass seq_limit, to reserve more numbers durably;
	 * returns the new limit, or 0 when it could not (counted in seq_failed; numbering goes on).
	 */
	unsigned long long seq_limit;
	unsigned long long (*seq_reserve)(void *ctx, unsigned long long need);
	void *seq_ctx;
	unsigned long long seq_failed;
	unsigned long long written;
	unsigned long long malformed;		/* records too short or of unknown kind */
	unsigned long long journal_failed;	/* events journald did not take */
	int journal_err;			/* the last such failure, -errno */
	struct ag_fold_cache *fold_cache;	/* the last record of each signature (folds) */
	unsigned long long folds_unmatched;	/* fold records whose first report was not seen */
	struct ag_buf buf;			/* the line being written */
	struct ag_buf jbuf;			/* journald fields being assembled */
	/*
	 * The JSON line's host, session, sandbox and backend, as rendered last (head), and what
	 * it was rendered from (head_key: the backend's byte, then the three strings with their
	 * NULs): rendered again only when one of them changed.
	 */
	struct ag_buf head;
	struct ag_buf head_key;
	/*
	 * The same for the "identity" and "process" objects of the last event (proc_json) and
	 * what they were made from (proc_key, see events.c): a flood of denials comes from one
	 * process, whose objects are then copied, not rendered again.
	 */
	struct ag_buf proc_json;
	struct ag_buf proc_key;
	/*
	 * Hot-path caches (events.c): wall minus boot time as read at clock_ns (a
	 * CLOCK_MONOTONIC_COARSE reading, 0: never), the date of the last second formatted, and
	 * user names.
	 */
	long long clock_ns;
	long long wall_minus_boot_ns;
	long long date_sec;
	char date[32];				/* "YYYY-MM-DDTHH:MM:SS" of date_sec; "": none */
	struct ag_user_cache users[AG_USER_CACHE];
	char *stream_buf[2];			/* stdio buffers of out, ag_event_sink_setbuf */
	/*
	 * Records ag_event_sink_handle may still take before it ends the ring walk
	 * (AG_EVENT_WALK_STOP); 0: no bound. libbpf's walk goes on for as long as producers keep
	 * adding, so a daemon's loop sets this before each poll (AG_EVENT_WALK_RECORDS) to get
	 * back to its flush, loss events and signals under a flood; what is left stays in the ring.
	 */
	unsigned int walk_left;
	unsigned int stream_buf_next;
	/*
	 * Optional: the domain name behind a network record's name_id (the resolver's names,
	 * ag_resolver_name), into buf; NULL when unknown. Network events then carry "domain".
	 */
	const char *(*domain_name)(void *ctx, __u32 id, char *buf, size_t len);
	void *domain_ctx;
};

/*
 * Bytes of stdio buffer for the line stream: large enough that write() is rare, small enough
 * that one write (the page cache allocating as it goes) does not hold the consumer for longer
 * than the deny ring lasts at 10^6 events/s; 1 MiB lost more denials (bench/audit_bench.c).
 */
#define AG_EVENTS_STREAM_BUF (1u << 18)

/* How one target attribute is written: JSON value, journald field, OCSF unmapped value. */
enum ag_field_type {
	AG_FIELD_STR,		/* str, len; untrusted: escaped in JSON, raw in journald */
	AG_FIELD_INT,		/* i */
	AG_FIELD_UINT,		/* (unsigned long long)i */
	AG_FIELD_NULL,		/* JSON null; no journald field */
	AG_FIELD_ACCESS,	/* i holds AG_FS_WANT_* bits: ["read","write"], "read,write" */
};

struct ag_event_field {
	const char *key;	/* the JSON key in "target" */
	const char *journal;	/* journald field: AGENTGUARD_<journal> */
	enum ag_field_type type;
	bool b64;		/* STR not valid UTF-8: also "<key>_b64", the exact bytes */
	const char *str;	/* STR: not NUL-terminated */
	size_t len;
	long long i;
};

#define AG_EVENT_MAX_FIELDS 6

/*
 * The process's executable and exec ancestry (struct ag_proc), decoded: NULL/empty when the
 * kernel did not know them. Strings point into the record's proc, read in place like a file
 * record's path (ag_event_decode does not copy it into hdr).
 */
struct ag_event_proc {
	const char *exe;		/* NULL: unknown */
	size_t exe_len;
	bool exe_cut;			/* longer than the record holds */
	unsigned int depth;		/* ancestry entries */
	bool ancestry_known;		/* false: no exec seen, ancestry is null */
	bool ancestry_complete;		/* false: the lineage goes back further */
	const char *ancestor[AG_ANCESTRY_MAX];
	size_t ancestor_len[AG_ANCESTRY_MAX];
	bool ancestor_cut[AG_ANCESTRY_MAX];
};

/* One decoded record. Valid while the record is (a file record's path is read in place). */
struct ag_event {
	struct ag_event_hdr hdr;	/* but hdr.proc: zero counts, no strings (see proc) */
	unsigned long long seq;
	long long time_ns;		/* wall clock, ns since the epoch */
	char time[48];			/* the same, RFC 3339 with ns, UTC */
	const char *kind;		/* "file", "exec", "network", "containment" */
	const char *operation;
	const char *decision;		/* "deny", "would-deny" */
	const char *mode;		/* "enforce", "audit" */
	const char *rule_id;		/* NULL: unknown */
	const char *rule_layer;		/* org, team, local, builtin; NULL: unknown */
	const char *policy_name;	/* NULL: unknown, or a built-in rule */
	const char *policy_sha256;	/* "" when no policy is loaded */
	const char *user;		/* NULL: the uid has no passwd entry */
	bool ppid_known;		/* false in cgroup programs, which cannot see the task */
	bool synthetic;			/* made by the consumer (loss): no process, no kseq */
	struct ag_event_proc proc;
	const char *path;		/* file/exec: the path bytes, or NULL if unresolved */
	size_t path_len;
	struct ag_event_field target[AG_EVENT_MAX_FIELDS];
	unsigned int n_target;
	/* Storage the pointers above may point into. */
	struct ag_event_contain contain;
	char addr[2][INET6_ADDRSTRLEN];
	char text[128];
	char domain[1024];
	char rule_buf[48];
	char pwbuf[1024];
};

/*
 * Decodes one record and assigns it the next seq. 0, or -EINVAL for a record that is too short
 * or of an unknown kind (seq is not consumed).
 */
int ag_event_decode(struct ag_event_sink *s, const void *data, size_t size, struct ag_event *ev);
/* Appends the schema v1 JSON line (with its newline) to b. */
void ag_event_json(struct ag_buf *b, struct ag_event_sink *s, const struct ag_event *ev);
/* Appends the target attributes as a JSON object, as in the JSON line. */
void ag_event_target_json(struct ag_buf *b, const struct ag_event *ev);
/*
 * Appends a one-line human summary: "deny open /etc/shadow (read) by cat[812]: rule ssh-keys
 * (layer local)". Untrusted bytes are escaped (ag_text_str), so it holds no control character.
 */
void ag_event_summary(struct ag_buf *b, const struct ag_event *ev);

/* About 10 ms of records for the consumer (bench/audit_bench.c), its flush interval. */
#define AG_EVENT_WALK_RECORDS 16384u
/* What the callback returns to end a walk, and so ring_buffer__poll and __consume. */
#define AG_EVENT_WALK_STOP (-EAGAIN)

/*
 * libbpf ring_buffer callback: decodes one record and hands it to every sink selected in s.
 * Returns 0, or AG_EVENT_WALK_STOP once s->walk_left records were taken (the record is
 * consumed; the walk stops after it).
 */
int ag_event_sink_handle(void *ctx, void *data, size_t size);
/*
 * Emit a "lifecycle" event (operation "start" or "stop") through every sink: enforcement began
 * or ended, so an operator sees when agentguard was switched off. detail is free text.
 */
void ag_event_sink_lifecycle(struct ag_event_sink *s, const char *operation, const char *detail);
/*
 * Reasons only userspace has, beside enum ag_drop_reason (the ABI's, which the kernel and the
 * consumer share; host-only values stay out of it, since any change there is a new ABI):
 * records a microVM guest sent that the host did not pass on (guest_rx.h): not a schema v1
 * event, longer than a line may be, or over the guest's rate; and lines the event file could
 * not take.
 */
enum ag_host_drop_reason {
	AG_DROP_GUEST_MALFORMED = 16,
	AG_DROP_GUEST_OVERSIZED = 17,
	AG_DROP_GUEST_RATE = 18,
	/* lines the event file could not take, past its backlog (event_file.h) */
	AG_DROP_WRITE_FAILED = 19,
};
_Static_assert((int)AG_DROP_UPGRADE < (int)AG_DROP_GUEST_MALFORMED,
	       "host drop reasons must not overlap enum ag_drop_reason");

/*
 * Emit a "loss" event through every sink: count records of kind and verdict, decided by rule,
 * were not written since since_ns (wall clock), for reason (enum ag_drop_reason: the ring was
 * full, or the sandbox was over its event budget). In order with the other events.
 */
void ag_event_sink_loss(struct ag_event_sink *s, __u32 kind, __u8 verdict, __u32 rule,
			__u8 reason, unsigned long long count, long long since_ns);
/*
 * Emit a "dns" event. Operation "query" (address NULL): agentguard's resolver refused a query
 * (decision deny) or, under an audit-mode rule, answered one it would have refused
 * (would-deny). Operation "answer": it withheld address from the answer to the query (DNS
 * rebinding, builtin:dns-rebind). name is the escaped query name; rule and generation as in a
 * kernel record. Made by the consumer: no kseq, no process (the resolver sees only the
 * client's address).
 */
void ag_event_sink_dns(struct ag_event_sink *s, const char *name, const char *address,
		       const char *qtype,
		       const char *rcode, const char *client, const char *transport, __u8 verdict,
		       __u32 rule, __u32 generation);
/* Decodes one record and formats it as JSON into s->buf; 0, -EINVAL or -ENOMEM. For tests. */
int ag_event_format(struct ag_event_sink *s, const void *data, size_t size);
/*
 * Gives f, a line stream just opened (before any output), a stdio buffer of
 * AG_EVENTS_STREAM_BUF bytes owned by s. The sink keeps two, used in turn, so a new stream can
 * be set up before the old one is closed; close a stream before the sink is freed and before
 * the call after next. 0, or -ENOMEM or -EINVAL: f keeps its default buffer, which works, only
 * slower.
 */
int ag_event_sink_setbuf(struct ag_event_sink *s, FILE *f);
/*
 * Open an event file for appending; never through a symlink, nor a regular file with a second
 * name (a hard link the sandbox made to a file of its choosing): NULL with errno ELOOP, EMLINK
 * or open's. Its stream holds what write(2) refuses, up to backlog bytes (event_file.h);
 * *ef: its state.
 */
FILE *ag_event_stream_open(const char *path, size_t backlog, struct ag_event_file **ef);
/*
 * Flush the line stream and have an event file (s->file) write what it holds. Lines it had to
 * drop become one "write-failed" loss event as soon as it writes again. 0, or the -errno of the
 * write that failed (its lines stay held, and this is to be called again).
 */
int ag_event_sink_sync(struct ag_event_sink *s);
/*
 * Flush the line stream: 0, or -EIO if it failed now or at any earlier write (stdio's error
 * flag is sticky, so a lost line is never forgotten). 0 without a line stream.
 */
int ag_event_sink_flush(struct ag_event_sink *s);
void ag_event_sink_free(struct ag_event_sink *s);

#endif /* AG_EVENTS_H */
