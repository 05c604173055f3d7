// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fdio.h"
#include "json.h"
#include "metrics.h"

static const char *const kinds[] = { "", "file", "exec", "network", "containment", "loss" };
static const char *const verdicts[] = { "allow", "would-deny", "deny" };

int ag_metrics_write_file(int dirfd, const char *name, const struct ag_buf *b)
{
	char tmp[4200];
	int fd, err = 0;

	if (b->oom)
		return -ENOMEM;
	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	err = ag_write_all(fd, b->p, b->len);
	close(fd);
	if (!err && renameat(dirfd, tmp, dirfd, name))
		err = -errno;
	return err;
}

void ag_metrics_format_prometheus(struct ag_buf *b, const struct ag_status *s)
{
	unsigned int k, v;

	ag_buf_puts(b, "# HELP agentguard_decisions_total Decisions made in the kernel, by kind "
		       "and decision.\n# TYPE agentguard_decisions_total counter\n");
	for (k = 1; k <= 4; k++)
		for (v = 0; v < AG_VERDICTS; v++)
			ag_buf_printf(b, "agentguard_decisions_total{kind=\"%s\",decision=\"%s\"} "
					 "%llu\n",
				      kinds[k], verdicts[v],
				      (unsigned long long)s->m.decisions[k * AG_VERDICTS + v]);
	ag_buf_printf(b, "# HELP agentguard_events_written_total Events written to the sinks.\n"
			 "# TYPE agentguard_events_written_total counter\n"
			 "agentguard_events_written_total %llu\n"
			 "# HELP agentguard_events_lost_total Records that did not fit in their "
			 "ring (reported as loss events).\n"
			 "# TYPE agentguard_events_lost_total counter\n"
			 "agentguard_events_lost_total %llu\n"
			 "# HELP agentguard_events_unwritten_total Event lines the event file could "
			 "not take and dropped past --events-backlog (reported as write-failed loss "
			 "events).\n"
			 "# TYPE agentguard_events_unwritten_total counter\n"
			 "agentguard_events_unwritten_total %llu\n"
			 "# HELP agentguard_events_held_bytes Event bytes held in memory while the "
			 "event file cannot take them.\n"
			 "# TYPE agentguard_events_held_bytes gauge\n"
			 "agentguard_events_held_bytes %llu\n"
			 "# HELP agentguard_ring_used_bytes Bytes waiting in each ring buffer.\n"
			 "# TYPE agentguard_ring_used_bytes gauge\n"
			 "agentguard_ring_used_bytes{ring=\"deny\"} %llu\n"
			 "agentguard_ring_used_bytes{ring=\"other\"} %llu\n"
			 "# HELP agentguard_ring_size_bytes Size of the deny ring buffer (the other is 4 MiB).\n"
			 "# TYPE agentguard_ring_size_bytes gauge\n"
			 "agentguard_ring_size_bytes %llu\n"
			 "# HELP agentguard_policy_generation Policy generations installed.\n"
			 "# TYPE agentguard_policy_generation gauge\n"
			 "agentguard_policy_generation %u\n"
			 "# HELP agentguard_dns_withheld_total Internal addresses agentguard's "
			 "resolver withheld from answers (DNS rebinding).\n"
			 "# TYPE agentguard_dns_withheld_total counter\n"
			 "agentguard_dns_withheld_total %llu\n",
		      s->written, s->lost, s->unwritten, s->held,
		      (unsigned long long)s->m.ring_used[0],
		      (unsigned long long)s->m.ring_used[1], (unsigned long long)s->m.ring_size,
		      s->m.generation, s->dns_withheld);
}

int ag_metrics_write_status(int dirfd, const struct ag_status *s)
{
	struct ag_buf b = {};
	unsigned int k, v;
	const char *sep = "";
	int err;

	ag_buf_printf(&b, "{\"pid\":%d,\"enforcing\":true,\"cgroup\":", s->pid);
	ag_json_str(&b, s->cgroup, strlen(s->cgroup));
	ag_buf_printf(&b, ",\"policy_sha256\":\"%s\",\"generation\":%u,\"started_ns\":%lld,"
			  "\"events_written\":%llu,\"events_lost\":%llu,"
			  "\"events_unwritten\":%llu,\"events_held_bytes\":%llu,\"dns_withheld\":%llu,"
			  "\"ring_used_bytes\":{\"deny\":%llu,\"other\":%llu},"
			  "\"ring_size_bytes\":%llu,\"decisions\":{",
		      s->policy_sha256, s->m.generation, s->started_ns, s->written, s->lost,
		      s->unwritten, s->held, s->dns_withheld,
		      (unsigned long long)s->m.ring_used[0], (unsigned long long)s->m.ring_used[1],
		      (unsigned long long)s->m.ring_size);
	for (k = 1; k <= 4; k++)
		for (v = 0; v < AG_VERDICTS; v++) {
			ag_buf_printf(&b, "%s\"%s/%s\":%llu", sep, kinds[k], verdicts[v],
				      (unsigned long long)s->m.decisions[k * AG_VERDICTS + v]);
			sep = ",";
		}
	ag_buf_puts(&b, "}}\n");
	err = ag_metrics_write_file(dirfd, "status.json", &b);
	ag_buf_free(&b);
	return err;
}
