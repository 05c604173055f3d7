// SPDX-License-Identifier: GPL-2.0
/*
 * Audit throughput benchmark (make bench, issue #6): events per second through the whole
 * pipeline (BPF ring → ring_buffer__poll → ag_event_sink_handle → JSON lines in a file, or
 * journald) at a fixed offered rate, with the loss counted, not assumed.
 *
 * A producer thread on one CPU runs bench/bpf/event_gen.bpf.c with BPF_PROG_TEST_RUN: real
 * file-deny records as file.bpf.c writes them (struct ag_event_file: the header with an
 * executable and a two-step ancestry, and a 167-byte path: 816 bytes in the ring, a JSON line
 * of about 940), copied with their path only into the product's deny ring
 * (AG_DENY_RINGBUF_BYTES), paced to --rate records per second in batches of BATCH, sleeping in
 * between. The main thread, on the other CPU, is the daemon's consumer loop (as in cmd_load.c):
 * poll; loss events from ag_drops and the flush when the ring runs dry or FLUSH_MS after the
 * last; seq from blocks reserved in a seq store. No BPF-LSM, no cgroup attachment.
 *
 * Counts: produced and dropped (ring reserve failures) by the generator; written by the sink;
 * lines and bytes of the file read back. produced must equal written + dropped, and the loss
 * events must account for every drop, or the run fails.
 *
 *   audit_bench [--rate N] [--seconds S] [--out FILE | --journal] [--state-dir DIR]
 *               [--no-seqstore] [--keep]
 *
 * --rate 0 offers as fast as the producer can (overload). Prints one JSON line. Needs root.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "compile.h"
#include "events.h"
#include "loss.h"
#include "policy.h"
#include "seqstore.h"
/* After the ABI header (through events.h): the skeleton names its structs. */
#include "bench/event_gen.skel.h"

#define BATCH 64		/* records per BPF_PROG_TEST_RUN */
#define PRODUCER_CPU 0
#define CONSUMER_CPU 1
#define FLUSH_MS 10		/* as cmd_load.c */

/* 167 bytes and the NUL: a deep path, as agents' workspaces have. */
static const char bench_path[] =
	"/home/agent/workspace/monorepo/services/payments/internal/credentials/"
	"production/us-east-1/gcloud/legacy_credentials/agent@example-prj.iam.gserv"
	"iceaccount.com/adc.json";

static const char policy_yaml[] =
	"apiVersion: agentguard/v1\n"
	"kind: Policy\n"
	"metadata:\n"
	"  name: bench\n"
	"spec:\n"
	"  filesystem:\n"
	"    default: allow\n"
	"    rules:\n"
	"      - path: /home/agent/workspace/monorepo/services/payments/internal/credentials\n"
	"        access: none\n"
	"        id: no-credentials\n";

/* What proc.bpf.c would have captured for an agent's python started from its shell. */
static void fill_proc(struct ag_proc *p)
{
	static const char *const ancestry[] = { "/usr/bin/bash", "/usr/local/bin/agent-runner" };
	static const char exe[] = "/usr/bin/python3.11";
	unsigned int i;

	memset(p, 0, sizeof(*p));
	p->flags = AG_PROC_KNOWN;
	p->exe_len = sizeof(exe);
	memcpy(p->exe, exe, sizeof(exe));
	p->depth = sizeof(ancestry) / sizeof(ancestry[0]);
	for (i = 0; i < p->depth; i++)
		snprintf(p->ancestry[i], sizeof(p->ancestry[i]), "%s", ancestry[i]);
}

struct producer {
	int prog_fd;
	double rate;			/* records per second; 0: as fast as possible */
	long long duration_ns;
	long long start_ns, end_ns;
	atomic_int done;
	int err;
};

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ns this thread spent runnable but waiting for a CPU: what competing tasks took from it. */
static long long thread_wait_ns(void)
{
	unsigned long long run, wait = 0;
	FILE *f = fopen("/proc/thread-self/schedstat", "re");

	if (!f)
		return -1;
	if (fscanf(f, "%llu %llu", &run, &wait) != 2)
		wait = 0;
	fclose(f);
	return wait;
}

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return -pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/*
 * Offer BATCH records at a time, each batch no earlier than its due time at the rate. The
 * producer sleeps until then (an absolute timer with no slack) rather than spinning on its
 * CPU. A late wake-up is caught up by the batches after it, and at a rate every record the
 * rate asks for is offered, however long a producer short of CPU takes.
 */
static void *produce(void *arg)
{
	struct producer *p = arg;
	struct { __u32 n; } args = { .n = BATCH };
	LIBBPF_OPTS(bpf_test_run_opts, topts, .ctx_in = &args, .ctx_size_in = sizeof(args));
	unsigned long long offered = 0, total = p->rate * p->duration_ns / 1e9;
	long long now;

	/* Records carry the producer's comm, as the hooks carry the agent's. */
	pthread_setname_np(pthread_self(), "agent");
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	p->err = pin(PRODUCER_CPU);
	p->start_ns = now = now_ns();
	/* At a rate, all the records the rate asks for, however late a wake-up left them. */
	while (!p->err && (p->rate > 0 ? offered < total : now - p->start_ns < p->duration_ns)) {
		if (p->rate > 0) {
			long long due = p->start_ns + (long long)(offered * 1e9 / p->rate);
			struct timespec ts = { .tv_sec = due / 1000000000LL,
					       .tv_nsec = due % 1000000000LL };

			if (due > now)
				while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
				       EINTR)
					;
		}
		if (bpf_prog_test_run_opts(p->prog_fd, &topts))
			p->err = -errno;
		offered += BATCH;
		now = now_ns();
	}
	p->end_ns = now;
	atomic_store(&p->done, 1);
	return NULL;
}

/* As cmd_load.c's reserve_seq: a failure still numbers the event (counted in seq_failed). */
static long long reserve_max_ns;	/* the longest reservation: the consumer stalls for it */

static unsigned long long reserve_seq(void *ctx, unsigned long long need)
{
	unsigned long long limit;
	long long t = now_ns();
	int err = ag_seqstore_grant(ctx, need, &limit);

	t = now_ns() - t;
	if (t > reserve_max_ns)
		reserve_max_ns = t;
	return err ? 0 : limit;
}

/* As cmd_load.c's report_loss; returns the records the loss events stand for. */
static unsigned long long report_loss(struct ag_event_sink *sink, struct ag_loss *loss,
				      long long *since_ns, unsigned long long *loss_events)
{
	struct ag_loss_count counts[64];
	struct timespec rt;
	unsigned long long lost = 0;
	int n, i;

	clock_gettime(CLOCK_REALTIME, &rt);
	n = ag_loss_poll(loss, counts, sizeof(counts) / sizeof(counts[0]));
	for (i = 0; i < n; i++) {
		ag_event_sink_loss(sink, counts[i].key.kind, counts[i].key.verdict,
				   counts[i].key.rule, counts[i].key.reason, counts[i].count,
				   *since_ns);
		lost += counts[i].count;
	}
	if (n > 0) {
		*since_ns = rt.tv_sec * 1000000000LL + rt.tv_nsec;
		*loss_events += n;
	}
	return lost;
}

/* Lines and bytes of the file, read back: what a reader of the file would get. */
static int count_lines(const char *path, unsigned long long *lines, unsigned long long *bytes)
{
	static char buf[1 << 20];
	ssize_t n, i;
	int fd, err = 0;

	*lines = *bytes = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		*bytes += n;
		for (i = 0; i < n; i++)
			*lines += buf[i] == '\n';
	}
	if (n < 0)
		err = -errno;
	close(fd);
	return err;
}

static void usage(void)
{
	fprintf(stderr, "usage: audit_bench [--rate N] [--seconds S] [--out FILE | --journal] "
			"[--state-dir DIR] [--no-seqstore] [--keep]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rate", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 's' },
		{ "out", required_argument, NULL, 'o' },
		{ "journal", no_argument, NULL, 'j' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "no-seqstore", no_argument, NULL, 'n' },
		{ "keep", no_argument, NULL, 'k' },
		{},
	};
	const char *out_path = NULL, *state_dir = "build/tmp/audit-bench-state";
	struct producer p = { .prog_fd = -1, .rate = 1000000, .duration_ns = 3000000000LL };
	struct ag_seqstore seqs = { .dirfd = -1 };
	struct ag_event_sink sink = {};
	struct ag_loss loss = {};
	struct event_gen *skel = NULL;
	struct ring_buffer *rb = NULL;
	struct ag_policy *pol = NULL;
	struct ag_compiled *c = NULL;
	struct ag_diags d = {};
	unsigned long long first_seq, lost = 0, loss_events = 0, lines = 0, bytes = 0;
	unsigned long long produced, dropped, records, polls = 0;
	long long since_ns, flushed_ns = 0, last_ns = 0, cpu0, cpu_ns, wait0, wait_ns, elapsed;
	bool journal = false, use_seqstore = true, keep = false, pending = false, regular = false;
	struct stat st;
	pthread_t thread;
	struct timespec rt;
	int opt, err = 0, n, ret = 1;
	__u32 rule = AG_RULE_NONE;
	size_t i;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			p.rate = atof(optarg);
			break;
		case 's':
			p.duration_ns = (long long)(atof(optarg) * 1e9);
			break;
		case 'o':
			out_path = optarg;
			break;
		case 'j':
			journal = true;
			break;
		case 'S':
			state_dir = optarg;
			break;
		case 'n':
			use_seqstore = false;
			break;
		case 'k':
			keep = true;
			break;
		default:
			usage();
			return 2;
		}
	}
	if (!out_path == !journal || p.duration_ns <= 0 || p.rate < 0) {
		usage();
		return 2;
	}

	/* The sink as cmd_load.c sets it up: a compiled policy names the rule. */
	if (ag_policy_parse_buf("bench.yaml", policy_yaml, strlen(policy_yaml), &pol, &d) ||
	    ag_compile(&pol, 1, &c, &d)) {
		ag_diags_print(&d, stderr);
		goto cleanup;
	}
	for (i = 0; i < c->n_rules; i++)
		if (!strcmp(c->rules[i].id, "no-credentials"))
			rule = i;
	if (rule == AG_RULE_NONE) {
		fprintf(stderr, "audit_bench: no rule \"no-credentials\" in the policy\n");
		goto cleanup;
	}
	sink.policy = c;
	sink.generation = 1;
	gethostname(sink.host, sizeof(sink.host) - 1);
	snprintf(sink.session, sizeof(sink.session), "bench-%d", getpid());
	snprintf(sink.sandbox, sizeof(sink.sandbox), "/agentguard-sandbox");
	sink.journal = journal;
	if (out_path) {
		if (!stat(out_path, &st) && S_ISREG(st.st_mode))
			unlink(out_path);
		/* The daemon's stream (event_file.c): it holds what a full disk refuses. */
		sink.out = ag_event_stream_open(out_path, AG_EVENT_BACKLOG_DEFAULT, &sink.file);
		if (!sink.out) {
			fprintf(stderr, "audit_bench: cannot open \"%s\": %s\n", out_path,
				strerror(errno));
			goto cleanup;
		}
		ag_event_sink_setbuf(&sink, sink.out);	/* as cmd_load.c does */
		/* /dev/null measures the pipeline without the page cache: nothing to read back. */
		regular = !fstat(ag_event_file_fd(sink.file), &st) && S_ISREG(st.st_mode);
	}
	if (use_seqstore) {
		mkdir(state_dir, 0700);
		err = ag_seqstore_open(state_dir, &seqs, &first_seq);
		if (!err)
			err = ag_seqstore_reserve(&seqs, first_seq);
		/* As cmd_load.c: numbers reserved ahead by the store's worker thread. */
		if (!err)
			err = ag_seqstore_start_ahead(&seqs);
		if (!err)
			err = ag_seqstore_grant(&seqs, first_seq, &sink.seq_limit);
		if (err) {
			fprintf(stderr, "audit_bench: seq store \"%s\": %s\n", state_dir,
				strerror(-err));
			goto cleanup;
		}
		sink.seq = first_seq - 1;
		sink.seq_reserve = reserve_seq;
		sink.seq_ctx = &seqs;
	}

	skel = event_gen__open();
	if (!skel) {
		err = -errno;
		fprintf(stderr, "audit_bench: opening the generator failed: %s\n", strerror(-err));
		goto cleanup;
	}
	memcpy(skel->bss->ag_gen_path, bench_path, sizeof(bench_path));
	fill_proc(&skel->bss->ag_gen_proc);
	skel->rodata->ag_gen_path_len = sizeof(bench_path);
	skel->rodata->ag_gen_rule = rule;
	skel->rodata->ag_gen_generation = 1;
	skel->rodata->ag_gen_ppid = getppid();
	err = event_gen__load(skel);
	if (err) {
		fprintf(stderr, "audit_bench: loading the generator failed: %s\n", strerror(-err));
		goto cleanup;
	}
	p.prog_fd = bpf_program__fd(skel->progs.ag_gen);
	rb = ring_buffer__new(bpf_map__fd(skel->maps.ag_deny_events), ag_event_sink_handle, &sink,
			      NULL);
	if (!rb) {
		err = -errno;
		fprintf(stderr, "audit_bench: ring buffer: %s\n", strerror(-err));
		goto cleanup;
	}
	err = ag_loss_open(bpf_map__fd(skel->maps.ag_drops), -1, &loss);
	if (err) {
		fprintf(stderr, "audit_bench: drop counters: %s\n", strerror(-err));
		goto cleanup;
	}
	err = pin(CONSUMER_CPU);
	if (err) {
		fprintf(stderr, "audit_bench: cannot pin to CPU %d: %s\n", CONSUMER_CPU,
			strerror(-err));
		goto cleanup;
	}
	clock_gettime(CLOCK_REALTIME, &rt);
	since_ns = rt.tv_sec * 1000000000LL + rt.tv_nsec;

	cpu0 = thread_cpu_ns();
	wait0 = thread_wait_ns();
	err = -pthread_create(&thread, NULL, produce, &p);
	if (err) {
		fprintf(stderr, "audit_bench: producer thread: %s\n", strerror(-err));
		goto cleanup;
	}
	/*
	 * The daemon's loop (cmd_load.c): poll, at most AG_EVENT_WALK_RECORDS a walk; loss
	 * events after the records that fit, and the flush, once the poll finds nothing or
	 * FLUSH_MS after the last.
	 */
	for (;;) {
		bool done = atomic_load(&p.done);

		sink.walk_left = AG_EVENT_WALK_RECORDS;
		n = ring_buffer__poll(rb, pending ? FLUSH_MS : 100);
		sink.walk_left = 0;
		if (n == AG_EVENT_WALK_STOP)
			n = AG_EVENT_WALK_RECORDS;
		polls++;
		if (n < 0 && n != -EINTR) {
			err = n;
			fprintf(stderr, "audit_bench: polling: %s\n", strerror(-err));
			break;
		}
		pending |= n > 0;
		if (!pending || now_ns() - flushed_ns >= FLUSH_MS * 1000000LL) {
			lost += report_loss(&sink, &loss, &since_ns, &loss_events);
			ag_event_sink_sync(&sink);	/* as cmd_load.c does */
			flushed_ns = now_ns();
			pending = false;
		}
		if (n > 0)
			last_ns = now_ns();
		/* The producer had finished before this poll, and it found nothing more. */
		if (done && n == 0)
			break;
	}
	/* As the daemon stops: what is left, then the loss accounting after it. */
	if (!err && (n = ring_buffer__consume(rb)) > 0)
		last_ns = now_ns();
	if (!err)
		lost += report_loss(&sink, &loss, &since_ns, &loss_events);
	cpu_ns = thread_cpu_ns() - cpu0;
	wait_ns = thread_wait_ns() - wait0;
	pthread_join(thread, NULL);
	if (err)
		goto cleanup;
	if (p.err) {
		err = p.err;
		fprintf(stderr, "audit_bench: BPF_PROG_TEST_RUN: %s\n", strerror(-err));
		goto cleanup;
	}
	if (sink.out && (err = ag_event_sink_sync(&sink))) {
		fprintf(stderr, "audit_bench: writing \"%s\": %s\n", out_path, strerror(-err));
		goto cleanup;
	}
	produced = skel->bss->ag_gen_produced;
	dropped = skel->bss->ag_gen_dropped;
	records = sink.written - loss_events;
	if (regular && (err = count_lines(out_path, &lines, &bytes))) {
		fprintf(stderr, "audit_bench: reading \"%s\" back: %s\n", out_path, strerror(-err));
		goto cleanup;
	}
	elapsed = (last_ns ? last_ns : p.end_ns) - p.start_ns;
	printf("{\"sink\":\"%s\",\"session\":\"%s\",\"offered_rate\":%.0f,\"seconds\":%.3f,"
	       "\"produced\":%llu,\"written\":%llu,\"deny_dropped\":%llu,\"loss_events\":%llu,"
	       "\"loss_counted\":%llu,\"malformed\":%llu,\"journal_failed\":%llu,"
	       "\"seq_failed\":%llu,\"lines\":%llu,\"bytes\":%llu,\"offered_per_sec\":%.0f,"
	       "\"events_per_sec\":%.0f,\"consumer_cpu_ns_per_event\":%.1f,\"polls\":%llu,"
	       "\"consumer_wait_ms\":%.1f,\"seqstore\":%s,\"seq_reserve_max_ms\":%.3f,"
	       "\"seq_waits\":%llu}\n",
	       journal ? "journal" : "file", sink.session, p.rate, elapsed / 1e9, produced, records,
	       dropped, loss_events, lost, sink.malformed, sink.journal_failed, sink.seq_failed,
	       lines, bytes, produced * 1e9 / (p.end_ns - p.start_ns), records * 1e9 / elapsed,
	       records ? (double)cpu_ns / records : 0.0, polls, wait_ns / 1e6,
	       use_seqstore ? "true" : "false", reserve_max_ns / 1e6, seqs.waited);
	/* Every record is accounted for, or the figures mean nothing. */
	if (produced != records + dropped || lost != dropped || sink.malformed ||
	    (regular && lines != sink.written)) {
		fprintf(stderr, "audit_bench: counts disagree: produced %llu, written %llu, "
				"dropped %llu, loss events count %llu, malformed %llu, %llu lines "
				"for %llu events\n",
			produced, records, dropped, lost, sink.malformed, lines, sink.written);
		goto cleanup;
	}
	ret = 0;

cleanup:
	ring_buffer__free(rb);
	ag_loss_close(&loss);
	event_gen__destroy(skel);
	if (sink.out)
		fclose(sink.out);
	if (regular && !keep)
		unlink(out_path);
	ag_seqstore_close(&seqs);
	ag_event_sink_free(&sink);
	ag_compiled_free(c);
	ag_policy_free(pol);
	ag_diags_free(&d);
	return ret;
}
