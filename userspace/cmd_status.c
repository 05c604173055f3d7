// SPDX-License-Identifier: GPL-2.0
/*
 * agentguard status [--json] [--state-dir DIR] [--pin-dir DIR]: is enforcement active, and the
 * counters. Enforcing means pinned: every program's link is pinned under the pin directory
 * (enforcement outlives the daemon). Reads STATE_DIR/status.json, which the daemon rewrites
 * every second, and checks that its pid is a live agentguard: without one, no events are
 * written. Exit 0 when enforcing, 3 when not (systemd's "inactive").
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "cli.h"
#include "loader.h"
#include "log.h"

#define AG_EXIT_INACTIVE 3

static char *read_file(const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return NULL;
	buf = malloc(65536);
	if (buf) {
		len = fread(buf, 1, 65535, f);
		buf[len] = '\0';
	}
	fclose(f);
	return buf;
}

/* The pid is alive and is agentguard (not a recycled pid). */
static int daemon_alive(int pid)
{
	char path[64], comm[32] = {};
	FILE *f;

	if (pid <= 0 || (kill(pid, 0) && errno != EPERM))
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	return !strncmp(comm, "agentguard", 10);
}

int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "pin-dir", required_argument, NULL, 'P' },
		{},
	};
	const char *state_dir = "/var/lib/agentguard", *pin_dir = AG_PIN_DIR;
	char path[4200], *text;
	cJSON *st, *it;
	int opt, json = 0, alive, pinned, backend;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == 'j')
			json = 1;
		else if (opt == 'S')
			state_dir = optarg;
		else if (opt == 'P')
			pin_dir = optarg;
		else
			return AG_EXIT_USAGE;
	}
	snprintf(path, sizeof(path), "%s/status.json", state_dir);
	text = read_file(path);
	st = text ? cJSON_Parse(text) : NULL;
	free(text);
	it = st ? cJSON_GetObjectItem(st, "pid") : NULL;
	alive = it && cJSON_IsNumber(it) && daemon_alive(it->valueint);
	backend = ag_loader_pinned_backend(pin_dir);
	pinned = backend >= 0;
	if (json) {
		if (!st)
			st = cJSON_CreateObject();
		cJSON_DeleteItemFromObject(st, "enforcing");
		cJSON_DeleteItemFromObject(st, "daemon");
		cJSON_AddBoolToObject(st, "enforcing", pinned);
		cJSON_AddBoolToObject(st, "daemon", alive);
		cJSON_DeleteItemFromObject(st, "backend");
		if (pinned)
			cJSON_AddStringToObject(st, "backend", ag_backend_name(backend));
		else
			cJSON_AddNullToObject(st, "backend");
		text = cJSON_PrintUnformatted(st);
		printf("%s\n", text ? text : "{}");
		free(text);
	} else if (!pinned) {
		printf("enforcing: no (nothing pinned at %s)\n", pin_dir);
	} else if (!alive || !st) {
		printf("enforcing: yes (pinned at %s, backend %s)\n", pin_dir,
		       ag_backend_name(backend));
		printf("daemon: not running: no events are written until a load adopts the pins\n");
	} else {
		cJSON *d = cJSON_GetObjectItem(st, "decisions"), *c, *held;

		printf("enforcing: yes (pinned at %s, backend %s)\n", pin_dir,
		       ag_backend_name(backend));
		printf("daemon: pid %d, cgroup %s\n", it->valueint,
		       cJSON_GetStringValue(cJSON_GetObjectItem(st, "cgroup")));
		printf("policy: sha256 %s, generation %d\n",
		       cJSON_GetStringValue(cJSON_GetObjectItem(st, "policy_sha256")),
		       cJSON_GetObjectItem(st, "generation")->valueint);
		printf("events: %.0f written, %.0f lost\n",
		       cJSON_GetNumberValue(cJSON_GetObjectItem(st, "events_written")),
		       cJSON_GetNumberValue(cJSON_GetObjectItem(st, "events_lost")));
		c = cJSON_GetObjectItem(st, "events_unwritten");
		held = cJSON_GetObjectItem(st, "events_held_bytes");
		if ((cJSON_IsNumber(c) && c->valuedouble > 0) ||
		    (cJSON_IsNumber(held) && held->valuedouble > 0))
			printf("event file: %.0f lines dropped unwritten, %.0f bytes held "
			       "(it could not take them)\n",
			       cJSON_GetNumberValue(c), cJSON_GetNumberValue(held));
		c = cJSON_GetObjectItem(st, "dns_withheld");
		if (cJSON_IsNumber(c) && c->valuedouble > 0)
			printf("dns: %.0f internal answer address%s withheld (rebinding)\n",
			       c->valuedouble, c->valuedouble == 1 ? "" : "es");
		printf("decisions:");
		cJSON_ArrayForEach(c, d)
			if (c->valuedouble > 0)
				printf(" %s=%.0f", c->string, c->valuedouble);
		printf("\n");
	}
	cJSON_Delete(st);
	return pinned ? AG_EXIT_OK : AG_EXIT_INACTIVE;
}
