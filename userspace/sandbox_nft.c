// SPDX-License-Identifier: GPL-2.0
/*
 * nftables batches through libnftnl and libmnl: see sandbox_nft.h. No shelling out to nft:
 * the table must be owned by a socket this process holds, and nothing here parses text.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/object.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "sandbox_nft.h"

#define MSG_ROOM	(64 * 1024)
#define ELEMS_PER_MSG	256

static int sock_open(struct mnl_socket **out, uint32_t *portid)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	int big = 16 << 20, err;

	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		mnl_socket_close(nl);
		return err;
	}
	/* Batches of policy elements and their acknowledgements can be large. */
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)))
		setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)))
		setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	*out = nl;
	*portid = mnl_socket_get_portid(nl);
	return 0;
}

int ag_nl_request(struct mnl_socket *nl, const struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t portid = mnl_socket_get_portid(nl);
	int ret;

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ret = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (ret < 0)
			return -errno;
		ret = mnl_cb_run(buf, ret, nlh->nlmsg_seq, portid, cb, data);
		if (ret < 0)
			return -errno;
		if (ret == MNL_CB_STOP)
			return 0;
	}
}

int ag_nft_open(struct ag_nft *n)
{
	int err;

	memset(n, 0, sizeof(*n));
	err = sock_open(&n->nl, &n->portid);
	if (err)
		return err;
	n->seq = 1;
	pthread_mutex_init(&n->lock, NULL);
	return 0;
}

void ag_nft_close(struct ag_nft *n)
{
	if (!n->nl)
		return;
	mnl_socket_close(n->nl);
	n->nl = NULL;
	pthread_mutex_destroy(&n->lock);
}

int ag_nft_batch_begin(struct ag_nft *n, struct ag_nft_batch *b)
{
	memset(b, 0, sizeof(*b));
	b->cap = 2 * MSG_ROOM;
	b->buf = malloc(b->cap);
	if (!b->buf)
		return -ENOMEM;
	nftnl_batch_begin(b->buf, 0);
	b->len = NLMSG_ALIGN(((struct nlmsghdr *)b->buf)->nlmsg_len);
	return 0;
}

char *ag_nft_batch_room(struct ag_nft_batch *b)
{
	char *p;

	if (b->err)
		return NULL;
	if (b->cap - b->len < MSG_ROOM + 64) {
		p = realloc(b->buf, b->cap * 2);
		if (!p) {
			b->err = -ENOMEM;
			return NULL;
		}
		b->buf = p;
		b->cap *= 2;
	}
	return b->buf + b->len;
}

void ag_nft_batch_done(struct ag_nft_batch *b)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)(b->buf + b->len);

	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
	b->n_msgs++;
}

void ag_nft_batch_free(struct ag_nft_batch *b)
{
	free(b->buf);
	b->buf = NULL;
}

/*
 * The kernel runs a batch inside sendmsg, so every acknowledgement is queued by the time it
 * returns: read them without waiting. The first error, or -EIO if some are missing.
 */
static int drain_acks(struct mnl_socket *nl, unsigned int want)
{
	char buf[MNL_SOCKET_BUFFER_SIZE * 4];
	unsigned int got = 0;
	int first = 0, len;
	struct nlmsghdr *h;
	ssize_t k;

	for (;;) {
		k = recv(mnl_socket_get_fd(nl), buf, sizeof(buf), MSG_DONTWAIT);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return first ? first : -errno;
		}
		len = k;
		h = (struct nlmsghdr *)buf;
		for (; mnl_nlmsg_ok(h, len); h = mnl_nlmsg_next(h, &len)) {
			got++;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);

				if (e->error && !first)
					first = e->error;
			}
		}
	}
	if (!first && got < want)
		first = -EIO;
	return first;
}

int ag_nft_batch_commit(struct ag_nft *n, struct ag_nft_batch *b)
{
	int err = b->err;

	if (err)
		goto cleanup;
	if (!ag_nft_batch_room(b)) {
		err = b->err;
		goto cleanup;
	}
	nftnl_batch_end(b->buf + b->len, 0);
	b->len += NLMSG_ALIGN(((struct nlmsghdr *)(b->buf + b->len))->nlmsg_len);
	pthread_mutex_lock(&n->lock);
	if (mnl_socket_sendto(n->nl, b->buf, b->len) < 0)
		err = -errno;
	else
		err = drain_acks(n->nl, b->n_msgs);
	pthread_mutex_unlock(&n->lock);
cleanup:
	ag_nft_batch_free(b);
	return err;
}

/* [addr .] proto . port, each field in 4 bytes (nft pads every field of a concatenation). */
static void elem_key(__u8 k[AG_NFT_KEY_LEN], size_t key_len, __u32 addr, __u8 proto,
		     __u16 port)
{
	__u32 a = htonl(addr);
	__u16 p = htons(port);
	size_t at = key_len - AG_NFT_PORT_KEY_LEN;

	memset(k, 0, AG_NFT_KEY_LEN);
	if (at)
		memcpy(k, &a, 4);
	k[at] = proto;
	memcpy(k + at + 4, &p, 2);
}

int ag_nft_batch_elems(struct ag_nft_batch *b, int family, const char *table, const char *set,
		       size_t key_len, const struct ag_nft_elem *e, size_t n,
		       enum ag_nft_elem_op op)
{
	static const __u16 flags[] = { [AG_NFT_ELEM_ADD] = NLM_F_CREATE,
				       [AG_NFT_ELEM_CREATE] = NLM_F_CREATE | NLM_F_EXCL,
				       [AG_NFT_ELEM_DEL] = 0 };
	bool del = op == AG_NFT_ELEM_DEL;
	struct nftnl_set *s = NULL;
	struct nftnl_set_elem *el;
	struct nlmsghdr *nlh;
	__u8 k[AG_NFT_KEY_LEN], ke[AG_NFT_KEY_LEN];
	size_t i, j;
	char *room;
	int err = 0;

	if (key_len != AG_NFT_KEY_LEN && key_len != AG_NFT_PORT_KEY_LEN) {
		err = -EINVAL;
		goto cleanup;
	}
	for (i = 0; i < n; i += ELEMS_PER_MSG) {
		s = nftnl_set_alloc();
		room = ag_nft_batch_room(b);
		if (!s || !room) {
			err = -ENOMEM;
			goto cleanup;
		}
		nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
		nftnl_set_set_str(s, NFTNL_SET_NAME, set);
		for (j = i; j < n && j < i + ELEMS_PER_MSG; j++) {
			el = nftnl_set_elem_alloc();
			if (!el) {
				err = -ENOMEM;
				goto cleanup;
			}
			elem_key(k, key_len, e[j].addr_lo, e[j].proto, e[j].port_lo);
			elem_key(ke, key_len, e[j].addr_hi, e[j].proto, e[j].port_hi);
			nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, k, key_len);
			nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY_END, ke, key_len);
			if (e[j].timeout_ms && !del)
				nftnl_set_elem_set_u64(el, NFTNL_SET_ELEM_TIMEOUT, e[j].timeout_ms);
			nftnl_set_elem_add(s, el);
		}
		nlh = nftnl_nlmsg_build_hdr(room, del ? NFT_MSG_DELSETELEM : NFT_MSG_NEWSETELEM,
					    family, flags[op] | NLM_F_ACK,
					    b->seq++);
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
		ag_nft_batch_done(b);
		nftnl_set_free(s);
		s = NULL;
	}
cleanup:
	if (s)
		nftnl_set_free(s);
	if (err)
		b->err = err;
	return err;
}

struct ctr_ctx {
	const char *name;
	__u64 pkts;
	bool found;
};

static int ctr_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ctr_ctx *x = data;
	struct nftnl_obj *o = nftnl_obj_alloc();
	const char *name;

	if (!o)
		return MNL_CB_ERROR;
	if (nftnl_obj_nlmsg_parse(nlh, o) == 0) {
		name = nftnl_obj_get_str(o, NFTNL_OBJ_NAME);
		if (name && !strcmp(name, x->name)) {
			x->pkts = nftnl_obj_get_u64(o, NFTNL_OBJ_CTR_PKTS);
			x->found = true;
		}
	}
	nftnl_obj_free(o);
	return MNL_CB_OK;
}

int ag_nft_counter(struct ag_nft *n, int family, const char *table, const char *name,
		   __u64 *pkts)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ctr_ctx x = { .name = name };
	struct nftnl_obj *o = nftnl_obj_alloc();
	struct nlmsghdr *nlh;
	int err;

	if (!o)
		return -ENOMEM;
	nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, table);
	nftnl_obj_set_str(o, NFTNL_OBJ_NAME, name);
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
	pthread_mutex_lock(&n->lock);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETOBJ, family, NLM_F_ACK, n->seq++);
	nftnl_obj_nlmsg_build_payload(nlh, o);
	err = ag_nl_request(n->nl, nlh, ctr_cb, &x);
	pthread_mutex_unlock(&n->lock);
	nftnl_obj_free(o);
	if (!err && !x.found)
		err = -ENOENT;
	if (!err)
		*pkts = x.pkts;
	return err;
}

/* Delete a table: a change, so in a batch of its own, on a socket of its own. */
int ag_nft_delete_table(int family, const char *table)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct ag_nft n;
	struct ag_nft_batch b;
	struct nlmsghdr *nlh;
	char *room;
	int err;

	if (!t)
		return -ENOMEM;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
	err = ag_nft_open(&n);
	if (err)
		goto cleanup;
	err = ag_nft_batch_begin(&n, &b);
	if (!err) {
		room = ag_nft_batch_room(&b);
		if (room) {
			nlh = nftnl_nlmsg_build_hdr(room, NFT_MSG_DELTABLE, family, NLM_F_ACK,
						    b.seq++);
			nftnl_table_nlmsg_build_payload(nlh, t);
			ag_nft_batch_done(&b);
		}
		err = ag_nft_batch_commit(&n, &b);
	}
	ag_nft_close(&n);
cleanup:
	nftnl_table_free(t);
	return err;
}

static int table_get(int family, const char *table)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_table *t = nftnl_table_alloc();
	struct mnl_socket *nl = NULL;
	struct nlmsghdr *nlh;
	uint32_t portid;
	int err;

	if (!t)
		return -ENOMEM;
	err = sock_open(&nl, &portid);
	if (err)
		goto cleanup;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, family, NLM_F_ACK, 1);
	nftnl_table_nlmsg_build_payload(nlh, t);
	err = ag_nl_request(nl, nlh, NULL, NULL);
cleanup:
	if (nl)
		mnl_socket_close(nl);
	nftnl_table_free(t);
	return err;
}

int ag_nft_table_exists(int family, const char *table)
{
	int err = table_get(family, table);

	if (err == -ENOENT)
		return 0;
	/* Some kernels answer a look-up of an owned table from another socket with EPERM. */
	return err && err != -EPERM ? err : 1;
}
