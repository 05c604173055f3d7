/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nftables through libnftnl for the sandbox's host filter (sandbox_net.c, docs/sandbox.md):
 * one netlink socket, batches built in memory and sent whole, every message acknowledged.
 * Tables made through a socket with NFT_TABLE_F_OWNER die with it, and only it may change
 * them: every change goes through the same socket, under its lock.
 */
#ifndef AG_SANDBOX_NFT_H
#define AG_SANDBOX_NFT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include <libmnl/libmnl.h>

struct nftnl_rule;
struct nftnl_set;

struct ag_nft {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	pthread_mutex_t lock;
};

/* A batch being built: messages after BATCH_BEGIN, each with NLM_F_ACK. */
struct ag_nft_batch {
	char *buf;
	size_t len, cap;
	unsigned int n_msgs;
	uint32_t seq;
	int err;		/* the first error while building: -ENOMEM */
};

/* Key of the policy's and bindings' sets: ipv4_addr . inet_proto . inet_service, 4 bytes each. */
#define AG_NFT_KEY_LEN	12
/* Key of a set of ports alone: inet_proto . inet_service (the address of an element unused). */
#define AG_NFT_PORT_KEY_LEN 8

struct ag_nft_elem {
	__u32 addr_lo, addr_hi;		/* host byte order, inclusive */
	__u16 port_lo, port_hi;		/* inclusive */
	__u8 proto;			/* IPPROTO_TCP or IPPROTO_UDP */
	__u64 timeout_ms;		/* 0: none */
};

/*
 * One request on nl: send nlh (its nlmsg_seq set), run cb (may be NULL) over every answer up
 * to the acknowledgement or the dump's end. 0 or -errno. Any netlink bus.
 */
int ag_nl_request(struct mnl_socket *nl, const struct nlmsghdr *nlh, mnl_cb_t cb, void *data);

int ag_nft_open(struct ag_nft *n);
void ag_nft_close(struct ag_nft *n);

int ag_nft_batch_begin(struct ag_nft *n, struct ag_nft_batch *b);
/* Room for one more message (up to 64 KiB); NULL on -ENOMEM (recorded in b->err). */
char *ag_nft_batch_room(struct ag_nft_batch *b);
/* The message just built at the start of ag_nft_batch_room's buffer. */
void ag_nft_batch_done(struct ag_nft_batch *b);
/* Send, wait for every acknowledgement; the first error as -errno. Frees b. Locked inside. */
int ag_nft_batch_commit(struct ag_nft *n, struct ag_nft_batch *b);
void ag_nft_batch_free(struct ag_nft_batch *b);

enum ag_nft_elem_op {
	AG_NFT_ELEM_ADD,	/* NEWSETELEM: an element already there stays (not an error) */
	AG_NFT_ELEM_CREATE,	/* NEWSETELEM, NLM_F_EXCL: one already there fails the batch */
	AG_NFT_ELEM_DEL,	/* DELSETELEM: one not there fails the batch (-ENOENT) */
};

/*
 * Add or delete elements of a concatenated interval set whose key is key_len bytes
 * (AG_NFT_KEY_LEN or AG_NFT_PORT_KEY_LEN), in messages of at most a few hundred elements
 * each. 0, -ENOMEM or -EINVAL (another key_len).
 */
int ag_nft_batch_elems(struct ag_nft_batch *b, int family, const char *table, const char *set,
		       size_t key_len, const struct ag_nft_elem *e, size_t n,
		       enum ag_nft_elem_op op);

/* Read named counter `name` of table: packets into *pkts. 0 or -errno. Locked inside. */
int ag_nft_counter(struct ag_nft *n, int family, const char *table, const char *name,
		   __u64 *pkts);
/* Delete table (family) through a fresh socket: 0, -ENOENT, -EPERM (owned by a live one). */
int ag_nft_delete_table(int family, const char *table);
/* Whether table exists in family (owned by anyone): 1, 0, or -errno. */
int ag_nft_table_exists(int family, const char *table);

#endif /* AG_SANDBOX_NFT_H */
