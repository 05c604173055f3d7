// SPDX-License-Identifier: GPL-2.0
/*
 * A read-only view of a running sandbox's pinned maps: see pinned.h. The maps are the ones
 * bpf/net.bpf.c consults (ag_state, ag_dns_cfg, ag_dns_learned) plus the resolver's names
 * (ag_dns_names); their layout is this build's (agentguard_abi.h), checked by value size.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "loader.h"
#include "pinned.h"

/* The pinned map name under dir, checked to hold values of value_size bytes. */
static int open_map(const char *dir, const char *name, __u32 value_size)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[4096];
	int fd, err;

	err = ag_loader_map_path(path, sizeof(path), dir, name);
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		err = -errno;
		close(fd);
		return err;
	}
	if (info.value_size != value_size) {
		close(fd);
		return -EINVAL;	/* another build's maps */
	}
	return fd;
}

static int lookup(void *ctx, const __u8 judged[16], struct ag_dns_learned *e)
{
	const struct ag_pinned *p = ctx;
	struct ag_dns_key key;

	memcpy(key.addr, judged, 16);
	return bpf_map_lookup_elem(p->learned_fd, &key, e) ? -errno : 0;
}

int ag_pinned_open(const char *pin_dir, struct ag_pinned *p)
{
	struct timespec ts;
	__u32 zero = 0;
	int err = 0;

	memset(p, 0, sizeof(*p));
	p->state_fd = p->cfg_fd = p->learned_fd = p->names_fd = -1;
	if (!ag_loader_pinned(pin_dir))
		return -ENOENT;
	p->state_fd = open_map(pin_dir, "ag_state", sizeof(struct ag_state));
	p->cfg_fd = open_map(pin_dir, "ag_dns_cfg", sizeof(struct ag_dns_cfg));
	p->learned_fd = open_map(pin_dir, "ag_dns_learned", sizeof(struct ag_dns_learned));
	p->names_fd = open_map(pin_dir, "ag_dns_names", sizeof(struct ag_dns_name_rec));
	if (p->state_fd < 0)
		err = p->state_fd;
	else if (p->cfg_fd < 0)
		err = p->cfg_fd;
	else if (p->learned_fd < 0)
		err = p->learned_fd;
	/* Pins of a build before ag_dns_names: the bindings still count, unnamed. */
	else if (p->names_fd < 0 && p->names_fd != -ENOENT)
		err = p->names_fd;
	if (!err && (bpf_map_lookup_elem(p->state_fd, &zero, &p->live.state) ||
		     bpf_map_lookup_elem(p->cfg_fd, &zero, &p->live.cfg)))
		err = -errno;
	if (!err && !p->live.state.generation_seq)
		err = -ENOENT;	/* pinned before a policy was in force */
	if (err)
		return err;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	p->live.now_ns = (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
	p->live.lookup = lookup;
	p->live.ctx = p;
	return 0;
}

void ag_pinned_close(struct ag_pinned *p)
{
	int *fds[] = { &p->state_fd, &p->cfg_fd, &p->learned_fd, &p->names_fd };
	size_t i;

	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

const char *ag_pinned_name(const struct ag_pinned *p, __u32 id, char *buf, size_t len)
{
	struct ag_dns_name_rec rec;
	__u32 slot = id & (AG_DNS_NAME_SLOTS - 1);

	if (!id || p->names_fd < 0 || bpf_map_lookup_elem(p->names_fd, &slot, &rec) ||
	    rec.name_id != id)
		return NULL;
	rec.name[sizeof(rec.name) - 1] = '\0';
	snprintf(buf, len, "%s", rec.name);
	return buf;
}

int ag_pinned_each_learned(const struct ag_pinned *p, ag_pinned_learned_fn fn, void *ctx)
{
	struct ag_dns_key *keys;
	struct ag_dns_learned e;
	size_t n, i;
	int ret;

	/* Keys first: the resolver may learn (and the LRU evict) meanwhile. */
	ret = ag_loader_dns_learned_keys(p->learned_fd, &keys, &n);
	if (ret)
		return ret;
	for (i = 0; i < n && !ret; i++)
		if (!bpf_map_lookup_elem(p->learned_fd, &keys[i], &e))
			ret = fn(ctx, &keys[i], &e);
	free(keys);
	return ret;
}
