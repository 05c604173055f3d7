// SPDX-License-Identifier: GPL-2.0
/*
 * The host side of a microVM sandbox's network: see sandbox_net.h and docs/sandbox.md.
 *
 *   tap (not persistent, owned by QEMU's uid)  --  netdev table: anti-spoofing at ingress
 *   inet table: input (DNS to host_addr only), forward (the policy as sets), output and
 *   forward towards the guest (its own flows only), masquerade out of the uplink
 *   resolver on host_addr:53 (resolver.c) whose answers for allowed names fill dns_allow
 *
 * Both tables are created with NFT_TABLE_F_OWNER through one netlink socket: they vanish
 * when it closes, however this process ends, and nobody else can change them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "cgroup.h"
#include "hash.h"
#include "log.h"
#include "sandbox_net.h"
#include "sandbox_nft.h"
#include "sandbox_state.h"

#define SBX_RANGE	0x0ad50000u	/* 10.213.0.0/16 */
#define SBX_SLOTS	16384u		/* its /30s */
/* Set by the filter's netdev table on what it lets in, checked and cleared by the guard. */
#define GUARD_MARK	0x20000000u

#ifndef IFALIASZ
#define IFALIASZ	256	/* linux/if.h's; net/if.h does not have it */
#endif

/* The tap's alias: its owner's full name (tap names are shortened and may collide). */
#define ALIAS_PREFIX	"agentguard:"

/* Set names; the key of each is ipv4_addr . inet_proto . inet_service (sandbox_nft.h). */
#define SET_POLICY_ALLOW	"policy_allow"
#define SET_POLICY_DENY		"policy_rule_deny"
#define SET_DNS_ALLOW		"dns_allow"
#define SET_DNS_DENY		"dns_deny"
#define SET_DNS_PORTS		"dns_ports"

static const char *const set_names[AG_SBX_SET_N] = {
	[AG_SBX_POLICY_ALLOW] = SET_POLICY_ALLOW,
	[AG_SBX_POLICY_DENY] = SET_POLICY_DENY,
	[AG_SBX_DNS_ALLOW] = SET_DNS_ALLOW,
	[AG_SBX_DNS_DENY] = SET_DNS_DENY,
};

/*
 * The forward chain's judgement of a new flow from the guest, after DNS elsewhere and
 * link-local: the first set holding the flow decides; in none, dropped. ag_dns_apply's order:
 * a binding that denies wins; the policy's allow; the policy's explicit deny, which no binding
 * lifts; a binding that allows. inet_chains emits its rules from this table, and
 * ag_sbx_elems_pass (the tests' model of the chain) walks it.
 */
static const struct {
	enum ag_sbx_set set;
	bool accept;
} forward_order[] = {
	{ AG_SBX_DNS_DENY, false },
	{ AG_SBX_POLICY_ALLOW, true },
	{ AG_SBX_POLICY_DENY, false },
	{ AG_SBX_DNS_ALLOW, true },
};

enum ctr {
	CTR_SPOOFED,
	CTR_NOT_IPV4,
	CTR_IP_OPTIONS,
	CTR_INPUT,
	CTR_DNS_FOREIGN,
	CTR_DNS_ELSEWHERE,
	CTR_FORWARD,
	CTR_CONN_LIMIT,
	CTR_TO_GUEST,
	CTR_N,
};

static const struct {
	const char *name;
	int family;
} ctrs[CTR_N] = {
	[CTR_SPOOFED] = { "spoofed", NFPROTO_NETDEV },
	[CTR_NOT_IPV4] = { "not_ipv4", NFPROTO_NETDEV },
	[CTR_IP_OPTIONS] = { "ip_options", NFPROTO_NETDEV },
	[CTR_INPUT] = { "input_denied", NFPROTO_INET },
	[CTR_DNS_FOREIGN] = { "dns_not_guest", NFPROTO_INET },
	[CTR_DNS_ELSEWHERE] = { "dns_elsewhere", NFPROTO_INET },
	[CTR_FORWARD] = { "forward_denied", NFPROTO_INET },
	[CTR_CONN_LIMIT] = { "conn_limit", NFPROTO_INET },
	[CTR_TO_GUEST] = { "to_guest_denied", NFPROTO_INET },
};

/* An address the resolver learned, and what of it is in dns_allow / dns_deny now. */
struct learned {
	__u32 addr;			/* host byte order */
	size_t n_names;
	struct {
		char *name;
		__u64 expiry_ms;	/* CLOCK_BOOTTIME */
	} names[AG_DNS_NAMES];
	struct ag_nft_elem *allow, *deny;
	size_t n_allow, n_deny;
};

struct ag_sbx_net {
	struct ag_sbx_net_plan plan;
	int ifindex;
	int tap_fd;
	bool nft_open, guard_open;
	struct ag_nft nft;
	struct ag_nft guard;		/* owns guard_table; QEMU may hold it too */
	char guard_table[80];
	char alias[64];
	struct ag_resolver *res;
	const struct ag_compiled *c;
	unsigned int conn_max;
	/* The resolver's thread alone, under its lock (learn). */
	struct learned **learned;
	size_t n_learned;
	unsigned long long dns_refused;
	ag_resolver_report_fn report;
	void *report_ctx;
};

static __u64 boot_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (__u64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * "agt-" + the name when it fits in 11 characters, else its first 6, "-", 4 hex of a hash:
 * two names can share a tap name, told apart by the tap's alias, "agentguard:" + the name.
 * The guard table's name has a "." no sandbox name has, so it is no other sandbox's table.
 */
static void names_for(const char *name, char tap[IFNAMSIZ], char table[64], char guard[80],
		      char alias[64])
{
	if (strlen(name) <= 11)
		snprintf(tap, IFNAMSIZ, "agt-%s", name);
	else
		snprintf(tap, IFNAMSIZ, "agt-%.6s-%04x", name, ag_fnv1a32(name) & 0xffff);
	snprintf(table, 64, "agentguard-%s", name);
	snprintf(guard, 80, "agentguard-%s.guard", name);
	snprintf(alias, 64, ALIAS_PREFIX "%s", name);
}

/* ---- rtnetlink --------------------------------------------------------------------------- */

typedef int (*rt_cb)(const struct nlmsghdr *nlh, void *data);

/* One request on a socket of its own (NETLINK_ROUTE or NETLINK_NETFILTER), to its end. */
static int nl_talk(int bus, struct nlmsghdr *nlh, rt_cb cb, void *data)
{
	struct mnl_socket *nl = mnl_socket_open2(bus, SOCK_CLOEXEC);
	int err;

	if (!nl)
		return -errno;
	nlh->nlmsg_seq = 1;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		err = -errno;
	else
		err = ag_nl_request(nl, nlh, cb, data);
	mnl_socket_close(nl);
	return err;
}

static int rt_talk(struct nlmsghdr *nlh, rt_cb cb, void *data)
{
	return nl_talk(NETLINK_ROUTE, nlh, cb, data);
}

struct link_info {
	int ifindex;
	char kind[16];
	char alias[IFALIASZ];	/* IFLA_IFALIAS, "" if none */
};

static int link_attr_cb(const struct nlattr *a, void *data)
{
	struct link_info *li = data;

	if (mnl_attr_get_type(a) == IFLA_INFO_KIND && !mnl_attr_validate(a, MNL_TYPE_STRING))
		snprintf(li->kind, sizeof(li->kind), "%s", mnl_attr_get_str(a));
	return MNL_CB_OK;
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_info *li = data;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;

	li->ifindex = ifi->ifi_index;
	mnl_attr_for_each(a, nlh, sizeof(*ifi)) {
		if (mnl_attr_get_type(a) == IFLA_LINKINFO)
			mnl_attr_parse_nested(a, link_attr_cb, li);
		if (mnl_attr_get_type(a) == IFLA_IFALIAS && !mnl_attr_validate(a, MNL_TYPE_STRING))
			snprintf(li->alias, sizeof(li->alias), "%s", mnl_attr_get_str(a));
	}
	return MNL_CB_OK;
}

/* The interface called name, or (name NULL) of that ifindex: 0, or -ENODEV. */
static int rt_get_link_by(const char *name, int ifindex, struct link_info *li)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	memset(li, 0, sizeof(*li));
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	if (name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return rt_talk(nlh, link_cb, li);
}

static int rt_get_link(const char *name, struct link_info *li)
{
	return rt_get_link_by(name, 0, li);
}

static int rt_link_set(int ifindex, int type, unsigned int flags)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_change = flags;
	ifi->ifi_flags = flags;
	return rt_talk(nlh, NULL, NULL);
}

static int rt_set_alias(int ifindex, const char *alias)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	mnl_attr_put_strz(nlh, IFLA_IFALIAS, alias);
	return rt_talk(nlh, NULL, NULL);
}

static int rt_addr(int type, int ifindex, __u32 local, __u32 bcast, unsigned int plen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	__u32 l = htonl(local), b = htonl(bcast);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK |
			   (type == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_EXCL : 0);
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = plen;
	ifa->ifa_index = ifindex;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	mnl_attr_put_u32(nlh, IFA_LOCAL, l);
	mnl_attr_put_u32(nlh, IFA_ADDRESS, l);
	if (type == RTM_NEWADDR)
		mnl_attr_put_u32(nlh, IFA_BROADCAST, b);
	return rt_talk(nlh, NULL, NULL);
}

/* Does any interface but skip_ifindex have an IPv4 address inside net/30? */
struct addr_scan {
	__u32 net;
	int skip_ifindex;
	bool taken;
};

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	struct addr_scan *x = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	__u32 v;

	if (ifa->ifa_family != AF_INET || (int)ifa->ifa_index == x->skip_ifindex)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(*ifa)) {
		if ((mnl_attr_get_type(a) != IFA_LOCAL && mnl_attr_get_type(a) != IFA_ADDRESS) ||
		    mnl_attr_get_payload_len(a) != 4)
			continue;
		v = ntohl(mnl_attr_get_u32(a));
		if ((v & ~3u) == x->net)
			x->taken = true;
	}
	return MNL_CB_OK;
}

static int rt_addr_taken(__u32 net, int skip_ifindex, bool *taken)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct addr_scan x = { .net = net, .skip_ifindex = skip_ifindex };
	struct rtgenmsg *g;
	int err;

	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->rtgen_family = AF_INET;
	err = rt_talk(nlh, addr_cb, &x);
	*taken = x.taken;
	return err;
}

/* ---- conntrack --------------------------------------------------------------------------- */

/*
 * The conntrack entries of a /30: any with an address of it in either tuple. A run's /30 (and
 * MAC) come from the sandbox's name, so without this a later run of the same name would find
 * the earlier run's flows established (TCP for days) and forward them past its own policy.
 */
struct ct_scan {
	__u32 net;		/* host order */
	bool hit;		/* of the entry being parsed */
	struct {
		void *attrs;	/* CTA_TUPLE_ORIG, CTA_ZONE, CTA_ID as received: the delete's */
		size_t len;
	} *del;
	size_t n;
	int err;
};

static int ct_ip_cb(const struct nlattr *a, void *data)
{
	struct ct_scan *x = data;
	int t = mnl_attr_get_type(a);

	if ((t == CTA_IP_V4_SRC || t == CTA_IP_V4_DST) && mnl_attr_get_payload_len(a) == 4 &&
	    (ntohl(mnl_attr_get_u32(a)) & ~3u) == x->net)
		x->hit = true;
	return MNL_CB_OK;
}

static int ct_tuple_cb(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == CTA_TUPLE_IP)
		mnl_attr_parse_nested(a, ct_ip_cb, data);
	return MNL_CB_OK;
}

static int ct_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ct_scan *x = data;
	const struct nlattr *a, *keep[3] = {};
	size_t i, len = 0;
	void *p;
	char *q;

	x->hit = false;
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		switch (mnl_attr_get_type(a)) {
		case CTA_TUPLE_ORIG:
			keep[0] = a;
			mnl_attr_parse_nested(a, ct_tuple_cb, x);
			break;
		case CTA_TUPLE_REPLY:
			mnl_attr_parse_nested(a, ct_tuple_cb, x);
			break;
		case CTA_ZONE:
			keep[1] = a;
			break;
		case CTA_ID:
			keep[2] = a;
			break;
		}
	}
	if (!x->hit || !keep[0] || x->err)
		return MNL_CB_OK;
	for (i = 0; i < 3; i++)
		len += keep[i] ? MNL_ALIGN(keep[i]->nla_len) : 0;
	q = malloc(len);
	p = realloc(x->del, (x->n + 1) * sizeof(*x->del));
	if (!q || !p) {
		free(q);
		if (p)
			x->del = p;
		x->err = -ENOMEM;	/* the dump is read to its end all the same */
		return MNL_CB_OK;
	}
	x->del = p;
	x->del[x->n].attrs = q;
	x->del[x->n++].len = len;
	for (i = 0; i < 3; i++)
		if (keep[i]) {
			memcpy(q, keep[i], keep[i]->nla_len);
			q += MNL_ALIGN(keep[i]->nla_len);
		}
	return MNL_CB_OK;
}

static struct nlmsghdr *ct_msg(char *buf, int type, __u16 flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_INET;
	nfg->version = NFNETLINK_V0;
	return nlh;
}

/*
 * Delete every conntrack entry with an address in net/30 (host order), of this thread's
 * namespace; no other. A dump, then a delete of each by its original tuple, zone and id (an
 * entry that went meanwhile is not an error). 0 or -errno.
 */
static int ct_flush(__u32 net)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ct_scan x = { .net = net };
	struct nlmsghdr *nlh;
	size_t i;
	int err;

	err = nl_talk(NETLINK_NETFILTER, ct_msg(buf, IPCTNL_MSG_CT_GET, NLM_F_DUMP), ct_cb, &x);
	if (!err)
		err = x.err;
	for (i = 0; !err && i < x.n; i++) {
		nlh = ct_msg(buf, IPCTNL_MSG_CT_DELETE, NLM_F_ACK);
		if (nlh->nlmsg_len + x.del[i].len > sizeof(buf)) {
			err = -EMSGSIZE;
			break;
		}
		memcpy(mnl_nlmsg_get_payload_tail(nlh), x.del[i].attrs, x.del[i].len);
		nlh->nlmsg_len += x.del[i].len;
		err = nl_talk(NETLINK_NETFILTER, nlh, NULL, NULL);
		if (err == -ENOENT)
			err = 0;
	}
	for (i = 0; i < x.n; i++)
		free(x.del[i].attrs);
	free(x.del);
	return err;
}

/* ---- sysctls ----------------------------------------------------------------------------- */

/* /proc/sys/net of the calling thread's network namespace: fmt has one %s, the device. */
static int sysctl_write(const char *fmt, const char *dev, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), fmt, dev);
	return ag_write_at(AT_FDCWD, path, val);
}

static int sysctl_read_int(const char *fmt, const char *dev, int *v)
{
	char path[128], buf[32];
	ssize_t k;
	int fd;

	snprintf(path, sizeof(path), fmt, dev);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	k = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (k <= 0)
		return -EIO;
	buf[k] = '\0';
	*v = atoi(buf);
	return 0;
}

/*
 * Return traffic comes in on the uplink and is forwarded to the tap, so the uplink needs
 * forwarding on. The interfaces of the IPv4 default routes (of this thread's namespace: not
 * /proc/self, which is the main thread's): the first without forwarding into uplink, and
 * -EHOSTUNREACH; we never turn it on ourselves (it would forward for the whole host).
 */
static int uplink_check(char uplink[IFNAMSIZ])
{
	char line[256], dev[IFNAMSIZ + 1];
	unsigned int dst, mask;
	int fwd, err = 0;
	FILE *f = fopen("/proc/thread-self/net/route", "re");

	uplink[0] = '\0';
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%16s %x %*x %*x %*d %*d %*d %x", dev, &dst, &mask) != 3 ||
		    dst || mask || strlen(dev) >= IFNAMSIZ)
			continue;
		snprintf(uplink, IFNAMSIZ, "%s", dev);
		err = sysctl_read_int("/proc/sys/net/ipv4/conf/%s/forwarding", dev, &fwd);
		if (!err && !fwd)
			err = -EHOSTUNREACH;
		if (err)
			break;
	}
	fclose(f);
	return err;
}

/* ---- the tap ----------------------------------------------------------------------------- */

/*
 * No TUNSETOWNER: QEMU gets the attached descriptor (-netdev tap,fd=) and never attaches
 * itself, so its uid needs no claim on the tap that would let it attach to it again.
 */
static int tap_open(const char *name, int *out)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr)) {
		err = -errno;
		close(fd);
		return err;
	}
	*out = fd;
	return 0;
}

/*
 * A free /30 of 10.213.0.0/16, starting at one picked by the name: one with no address of any
 * interface in it. Two runners may pick the same one at once: after adding ours, a look again
 * for another interface's, and if there is one ours goes and the next /30 is tried.
 */
static int pick_and_add(struct ag_sbx_net *n, const char *name)
{
	__u32 start = ag_fnv1a32(name) % SBX_SLOTS, i, net;
	bool taken;
	int err, del;

	for (i = 0; i < SBX_SLOTS; i++) {
		net = SBX_RANGE + ((start + i) % SBX_SLOTS) * 4;
		err = rt_addr_taken(net, -1, &taken);
		if (err)
			return err;
		if (taken)
			continue;
		err = rt_addr(RTM_NEWADDR, n->ifindex, net + 1, net + 3, 30);
		if (err)
			return err;
		err = rt_addr_taken(net, n->ifindex, &taken);
		if (!err && !taken) {
			n->plan.host_addr.s_addr = htonl(net + 1);
			n->plan.guest_addr.s_addr = htonl(net + 2);
			n->plan.prefix_len = 30;
			return 0;
		}
		/*
		 * Ours goes (another interface took the /30 meanwhile, or the look failed): a
		 * failed delete stops here, or the tap would move on with two addresses.
		 */
		del = rt_addr(RTM_DELADDR, n->ifindex, net + 1, net + 3, 30);
		if (err)
			return err;
		if (del)
			return del;
	}
	return -EADDRNOTAVAIL;
}

/* ---- building the tables ----------------------------------------------------------------- */

/* A rule under construction; the first allocation failure sticks in err. */
struct rb {
	struct nftnl_rule *r;
	int err;
};

static struct nftnl_expr *x_new(struct rb *b, const char *name)
{
	struct nftnl_expr *e = b->r ? nftnl_expr_alloc(name) : NULL;

	if (!e) {
		b->err = -ENOMEM;
		return NULL;
	}
	nftnl_rule_add_expr(b->r, e);
	return e;
}

static void x_meta(struct rb *b, __u32 key, __u32 dreg)
{
	struct nftnl_expr *e = x_new(b, "meta");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
}

static void x_cmp(struct rb *b, __u32 sreg, __u32 op, const void *data, __u32 len)
{
	struct nftnl_expr *e = x_new(b, "cmp");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, sreg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
}

static void x_payload(struct rb *b, __u32 base, __u32 off, __u32 len, __u32 dreg)
{
	struct nftnl_expr *e = x_new(b, "payload");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
}

static void x_lookup(struct rb *b, __u32 sreg, const char *set)
{
	struct nftnl_expr *e = x_new(b, "lookup");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, sreg);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
}

/* reg 1 = (reg 1 & mask) ^ xor, over len bytes. */
static void x_bitwise(struct rb *b, const void *mask, const void *xor, __u32 len)
{
	struct nftnl_expr *e = x_new(b, "bitwise");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, xor, len);
}

/* ct state & mask != 0 */
static void x_ct_state(struct rb *b, __u32 mask)
{
	struct nftnl_expr *e = x_new(b, "ct");
	__u32 zero = 0;

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	x_bitwise(b, &mask, &zero, 4);
	x_cmp(b, NFT_REG_1, NFT_CMP_NEQ, &zero, 4);
}

static void x_counter(struct rb *b, const char *name)
{
	struct nftnl_expr *e = x_new(b, "objref");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE, NFT_OBJECT_COUNTER);
	nftnl_expr_set_str(e, NFTNL_EXPR_OBJREF_IMM_NAME, name);
}

static void x_verdict(struct rb *b, int verdict, const char *chain)
{
	struct nftnl_expr *e = x_new(b, "immediate");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, verdict);
	if (chain)
		nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
}

/* meta mark set (meta mark & ~bit) ^ (set ? bit : 0) */
static void x_mark_bit(struct rb *b, __u32 bit, bool set)
{
	struct nftnl_expr *e;
	__u32 mask = ~bit, xor = set ? bit : 0;

	x_meta(b, NFT_META_MARK, NFT_REG_1);
	x_bitwise(b, &mask, &xor, 4);
	e = x_new(b, "meta");
	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_MARK);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, NFT_REG_1);
}

/* meta protocol == type (the frame's EtherType, host order) */
static void x_ethertype(struct rb *b, __u16 type)
{
	__u16 be = htons(type);

	x_meta(b, NFT_META_PROTOCOL, NFT_REG_1);
	x_cmp(b, NFT_REG_1, NFT_CMP_EQ, &be, 2);
}

static void x_u8(struct rb *b, __u32 meta_key, __u8 v)
{
	x_meta(b, meta_key, NFT_REG_1);
	x_cmp(b, NFT_REG_1, NFT_CMP_EQ, &v, 1);
}

static void x_ifindex(struct rb *b, __u32 meta_key, __u32 op, __u32 ifindex)
{
	x_meta(b, meta_key, NFT_REG_1);
	x_cmp(b, NFT_REG_1, op, &ifindex, 4);
}

static struct rb rule_new(int family, const char *table, const char *chain)
{
	struct rb b = { .r = nftnl_rule_alloc() };

	if (!b.r) {
		b.err = -ENOMEM;
		return b;
	}
	nftnl_rule_set_u32(b.r, NFTNL_RULE_FAMILY, family);
	nftnl_rule_set_str(b.r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(b.r, NFTNL_RULE_CHAIN, chain);
	return b;
}

static void rule_put(struct ag_nft_batch *bt, struct rb *b)
{
	struct nlmsghdr *nlh;
	char *room = ag_nft_batch_room(bt);

	if (!b->err && room) {
		nlh = nftnl_nlmsg_build_hdr(room, NFT_MSG_NEWRULE,
					    nftnl_rule_get_u32(b->r, NFTNL_RULE_FAMILY),
					    NLM_F_APPEND | NLM_F_CREATE | NLM_F_ACK, bt->seq++);
		nftnl_rule_nlmsg_build_payload(nlh, b->r);
		ag_nft_batch_done(bt);
	} else if (b->err) {
		bt->err = b->err;
	}
	if (b->r)
		nftnl_rule_free(b->r);
	b->r = NULL;
}

/* hook < 0: a regular chain. */
static void chain_put(struct ag_nft_batch *bt, int family, const char *table, const char *name,
		      int hook, int prio, const char *type, const char *dev)
{
	struct nftnl_chain *ch = nftnl_chain_alloc();
	struct nlmsghdr *nlh;
	char *room = ag_nft_batch_room(bt);

	if (!ch || !room) {
		bt->err = -ENOMEM;
		goto cleanup;
	}
	nftnl_chain_set_u32(ch, NFTNL_CHAIN_FAMILY, family);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, name);
	if (hook >= 0) {
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_HOOKNUM, hook);
		nftnl_chain_set_s32(ch, NFTNL_CHAIN_PRIO, prio);
		nftnl_chain_set_str(ch, NFTNL_CHAIN_TYPE, type);
		/* Policy accept: these chains see the whole host; they judge only the tap. */
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_POLICY, NF_ACCEPT);
		if (dev)
			nftnl_chain_set_str(ch, NFTNL_CHAIN_DEV, dev);
	}
	nlh = nftnl_nlmsg_build_hdr(room, NFT_MSG_NEWCHAIN, family,
				    NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, bt->seq++);
	nftnl_chain_nlmsg_build_payload(nlh, ch);
	ag_nft_batch_done(bt);
cleanup:
	if (ch)
		nftnl_chain_free(ch);
}

static void table_put(struct ag_nft_batch *bt, int family, const char *table)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;
	char *room = ag_nft_batch_room(bt);

	if (!t || !room) {
		bt->err = -ENOMEM;
		goto cleanup;
	}
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, family);
	/* Owned by this socket: deleted by the kernel when it closes, changed only through it. */
	nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, NFT_TABLE_F_OWNER);
	nlh = nftnl_nlmsg_build_hdr(room, NFT_MSG_NEWTABLE, family,
				    NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, bt->seq++);
	nftnl_table_nlmsg_build_payload(nlh, t);
	ag_nft_batch_done(bt);
cleanup:
	if (t)
		nftnl_table_free(t);
}

static void counter_put(struct ag_nft_batch *bt, int family, const char *table, const char *name)
{
	struct nftnl_obj *o = nftnl_obj_alloc();
	struct nlmsghdr *nlh;
	char *room = ag_nft_batch_room(bt);

	if (!o || !room) {
		bt->err = -ENOMEM;
		goto cleanup;
	}
	nftnl_obj_set_u32(o, NFTNL_OBJ_FAMILY, family);
	nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, table);
	nftnl_obj_set_str(o, NFTNL_OBJ_NAME, name);
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
	nlh = nftnl_nlmsg_build_hdr(room, NFT_MSG_NEWOBJ, family,
				    NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, bt->seq++);
	nftnl_obj_nlmsg_build_payload(nlh, o);
	ag_nft_batch_done(bt);
cleanup:
	if (o)
		nftnl_obj_free(o);
}

/* Datatype ids of nft's concatenations, for `nft list` only (the kernel ignores them). */
#define NFT_TYPE_IPV4	7
#define NFT_TYPE_PROTO	12
#define NFT_TYPE_SERVICE 13

/* A concatenated interval set: ipv4_addr . inet_proto . inet_service, or without the address. */
static void set_put(struct ag_nft_batch *bt, const char *table, const char *name, __u32 id,
		    bool with_addr, bool timeout)
{
	struct nftnl_set *s = nftnl_set_alloc();
	static const __u8 f3[] = { 4, 1, 2 }, f2[] = { 1, 2 };
	struct nlmsghdr *nlh;
	char *room = ag_nft_batch_room(bt);

	if (!s || !room) {
		bt->err = -ENOMEM;
		goto cleanup;
	}
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nftnl_set_set_u32(s, NFTNL_SET_ID, id);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS,
			  NFT_SET_INTERVAL | NFT_SET_CONCAT | (timeout ? NFT_SET_TIMEOUT : 0));
	if (with_addr) {
		nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE,
				  (NFT_TYPE_IPV4 << 12) | (NFT_TYPE_PROTO << 6) | NFT_TYPE_SERVICE);
		nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, AG_NFT_KEY_LEN);
		nftnl_set_set_data(s, NFTNL_SET_DESC_CONCAT, f3, sizeof(f3));
	} else {
		nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, (NFT_TYPE_PROTO << 6) | NFT_TYPE_SERVICE);
		nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, AG_NFT_PORT_KEY_LEN);
		nftnl_set_set_data(s, NFTNL_SET_DESC_CONCAT, f2, sizeof(f2));
	}
	nlh = nftnl_nlmsg_build_hdr(room, NFT_MSG_NEWSET, NFPROTO_INET,
				    NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, bt->seq++);
	nftnl_set_nlmsg_build_payload(nlh, s);
	ag_nft_batch_done(bt);
cleanup:
	if (s)
		nftnl_set_free(s);
}

/*
 * The two-field elements of dns_ports (key proto . port): TCP and UDP to every port
 * ag_dns_port_locked names, the kernel's own list (agentguard_abi.h), as runs of ports.
 */
static void dns_ports_put(struct ag_nft_batch *bt, const char *table)
{
	static const __u8 protos[] = { IPPROTO_TCP, IPPROTO_UDP };
	struct ag_nft_elem e[16];
	size_t i, n = 0;
	__u32 port, lo;

	for (i = 0; i < sizeof(protos); i++)
		for (port = 1; port <= 65535; port++) {
			if (!ag_dns_port_locked(port))
				continue;
			for (lo = port; port < 65535 && ag_dns_port_locked(port + 1); port++)
				;
			if (n == sizeof(e) / sizeof(e[0])) {
				bt->err = -E2BIG;	/* the ABI's list is two ports */
				return;
			}
			e[n++] = (struct ag_nft_elem){ .port_lo = lo, .port_hi = port,
						       .proto = protos[i] };
		}
	ag_nft_batch_elems(bt, NFPROTO_INET, table, SET_DNS_PORTS, AG_NFT_PORT_KEY_LEN, e, n,
			   AG_NFT_ELEM_ADD);
}

/* ip daddr == addr (network order), meta l4proto == l4proto, th dport == 53: DNS to addr. */
static void x_dns_to(struct rb *b, __u32 addr, __u8 l4proto)
{
	__u16 dns = htons(53);

	x_u8(b, NFT_META_NFPROTO, NFPROTO_IPV4);
	x_u8(b, NFT_META_L4PROTO, l4proto);
	x_payload(b, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG_1);
	x_cmp(b, NFT_REG_1, NFT_CMP_EQ, &addr, 4);
	x_payload(b, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	x_cmp(b, NFT_REG_1, NFT_CMP_EQ, &dns, 2);
}

/* ip daddr . meta l4proto . th dport into the concatenation registers. */
static void x_flow_key(struct rb *b)
{
	x_payload(b, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG32_00);
	x_meta(b, NFT_META_L4PROTO, NFT_REG32_01);
	x_payload(b, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_02);
}

/*
 * The netdev table: what may come out of the tap at all. Only the guest's MAC; IPv4 only from
 * the guest's address; ARP only as Ethernet/IPv4 from the guest's MAC and address; nothing
 * else (IPv6 included: the guest is IPv4 only). Everything dropped here is counted.
 */
static void netdev_table(struct ag_nft_batch *bt, const struct ag_sbx_net *n)
{
	static const __u8 arp_eth_ip4[6] = { 0, 1, 8, 0, 6, 4 };
	const char *t = n->plan.table;
	const int f = NFPROTO_NETDEV;
	__u32 guest = n->plan.guest_addr.s_addr;
	__u8 ihl_mask = 0x0f, ihl5 = 5, zero = 0;
	struct rb b;

	table_put(bt, f, t);
	counter_put(bt, f, t, ctrs[CTR_SPOOFED].name);
	counter_put(bt, f, t, ctrs[CTR_NOT_IPV4].name);
	counter_put(bt, f, t, ctrs[CTR_IP_OPTIONS].name);
	chain_put(bt, f, t, "ingress", NF_NETDEV_INGRESS, -500, "filter", n->plan.tap);

	b = rule_new(f, t, "ingress");	/* ether saddr != guest_mac */
	x_payload(&b, NFT_PAYLOAD_LL_HEADER, 6, 6, NFT_REG_1);
	x_cmp(&b, NFT_REG_1, NFT_CMP_NEQ, n->plan.guest_mac, 6);
	x_counter(&b, ctrs[CTR_SPOOFED].name);
	x_verdict(&b, NF_DROP, NULL);
	rule_put(bt, &b);

	b = rule_new(f, t, "ingress");	/* ip saddr != guest */
	x_ethertype(&b, ETH_P_IP);
	x_payload(&b, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_1);
	x_cmp(&b, NFT_REG_1, NFT_CMP_NEQ, &guest, 4);
	x_counter(&b, ctrs[CTR_SPOOFED].name);
	x_verdict(&b, NF_DROP, NULL);
	rule_put(bt, &b);

	/* IPv4 with options (ip hdrlength != 5): source routing, record route, ... none needed. */
	b = rule_new(f, t, "ingress");
	x_ethertype(&b, ETH_P_IP);
	x_payload(&b, NFT_PAYLOAD_NETWORK_HEADER, 0, 1, NFT_REG_1);
	x_bitwise(&b, &ihl_mask, &zero, 1);
	x_cmp(&b, NFT_REG_1, NFT_CMP_NEQ, &ihl5, 1);
	x_counter(&b, ctrs[CTR_IP_OPTIONS].name);
	x_verdict(&b, NF_DROP, NULL);
	rule_put(bt, &b);

	b = rule_new(f, t, "ingress");
	x_ethertype(&b, ETH_P_IP);
	x_mark_bit(&b, GUARD_MARK, true);
	x_verdict(&b, NF_ACCEPT, NULL);
	rule_put(bt, &b);

	/* ARP: htype 1, ptype IPv4, hlen 6, plen 4; sender MAC and address the guest's. */
	b = rule_new(f, t, "ingress");
	x_ethertype(&b, ETH_P_ARP);
	x_payload(&b, NFT_PAYLOAD_NETWORK_HEADER, 0, 6, NFT_REG_1);
	x_cmp(&b, NFT_REG_1, NFT_CMP_NEQ, arp_eth_ip4, 6);
	x_counter(&b, ctrs[CTR_SPOOFED].name);
	x_verdict(&b, NF_DROP, NULL);
	rule_put(bt, &b);

	b = rule_new(f, t, "ingress");
	x_ethertype(&b, ETH_P_ARP);
	x_payload(&b, NFT_PAYLOAD_NETWORK_HEADER, 8, 6, NFT_REG_1);
	x_cmp(&b, NFT_REG_1, NFT_CMP_NEQ, n->plan.guest_mac, 6);
	x_counter(&b, ctrs[CTR_SPOOFED].name);
	x_verdict(&b, NF_DROP, NULL);
	rule_put(bt, &b);

	b = rule_new(f, t, "ingress");
	x_ethertype(&b, ETH_P_ARP);
	x_payload(&b, NFT_PAYLOAD_NETWORK_HEADER, 14, 4, NFT_REG_1);
	x_cmp(&b, NFT_REG_1, NFT_CMP_NEQ, &guest, 4);
	x_counter(&b, ctrs[CTR_SPOOFED].name);
	x_verdict(&b, NF_DROP, NULL);
	rule_put(bt, &b);

	b = rule_new(f, t, "ingress");
	x_ethertype(&b, ETH_P_ARP);
	x_mark_bit(&b, GUARD_MARK, true);
	x_verdict(&b, NF_ACCEPT, NULL);
	rule_put(bt, &b);

	b = rule_new(f, t, "ingress");
	x_counter(&b, ctrs[CTR_NOT_IPV4].name);
	x_verdict(&b, NF_DROP, NULL);
	rule_put(bt, &b);
}

/*
 * The guard: a netdev table of its own, owned by a second socket that QEMU also holds
 * (plan.guard_fd), after the filter at ingress. It lets through only what the filter's
 * netdev table marked, and clears the mark (nothing else on the host ever sees the bit).
 * While the runner lives both tables are there and the guard changes nothing; if the runner
 * dies and QEMU does not, the filter is gone but the guard is not: everything from the tap
 * is dropped (counted in "unfiltered"), where the tap would otherwise forward unfiltered.
 */
static void guard_table(struct ag_nft_batch *bt, const struct ag_sbx_net *n)
{
	const char *t = n->guard_table;
	const int f = NFPROTO_NETDEV;
	__u32 zero = 0, bit = GUARD_MARK;
	struct rb b;

	table_put(bt, f, t);
	counter_put(bt, f, t, "unfiltered");
	chain_put(bt, f, t, "ingress", NF_NETDEV_INGRESS, -400, "filter", n->plan.tap);
	b = rule_new(f, t, "ingress");
	x_meta(&b, NFT_META_MARK, NFT_REG_1);
	x_bitwise(&b, &bit, &zero, 4);
	x_cmp(&b, NFT_REG_1, NFT_CMP_EQ, &zero, 4);
	x_counter(&b, "unfiltered");
	x_verdict(&b, NF_DROP, NULL);
	rule_put(bt, &b);
	b = rule_new(f, t, "ingress");
	x_mark_bit(&b, GUARD_MARK, false);
	rule_put(bt, &b);
}

/*
 * ct state established accept; ct state related meta l4proto icmp accept. Related is ICMP
 * errors of a flow only: an expectation of a conntrack helper (FTP, SIP, ... which another
 * ruleset of the host may assign) would otherwise open a new flow past the policy.
 */
static void rule_established(struct ag_nft_batch *bt, const char *t, const char *chain)
{
	struct rb b = rule_new(NFPROTO_INET, t, chain);

	x_ct_state(&b, NF_CT_STATE_BIT(IP_CT_ESTABLISHED));
	x_verdict(&b, NF_ACCEPT, NULL);
	rule_put(bt, &b);
	b = rule_new(NFPROTO_INET, t, chain);
	x_ct_state(&b, NF_CT_STATE_BIT(IP_CT_RELATED));
	x_u8(&b, NFT_META_L4PROTO, IPPROTO_ICMP);
	x_verdict(&b, NF_ACCEPT, NULL);
	rule_put(bt, &b);
}

static void rule_count_drop(struct ag_nft_batch *bt, const char *t, const char *chain,
			    enum ctr c)
{
	struct rb b = rule_new(NFPROTO_INET, t, chain);

	x_counter(&b, ctrs[c].name);
	x_verdict(&b, NF_DROP, NULL);
	rule_put(bt, &b);
}

/* The inet table's objects and sets: a batch before its chains (which name them). */
static void inet_sets(struct ag_nft_batch *bt, const struct ag_sbx_net *n)
{
	const char *t = n->plan.table;
	int i;

	table_put(bt, NFPROTO_INET, t);
	for (i = 0; i < CTR_N; i++)
		if (ctrs[i].family == NFPROTO_INET)
			counter_put(bt, NFPROTO_INET, t, ctrs[i].name);
	set_put(bt, t, SET_POLICY_ALLOW, 1, true, false);
	set_put(bt, t, SET_POLICY_DENY, 2, true, false);
	set_put(bt, t, SET_DNS_ALLOW, 3, true, true);
	set_put(bt, t, SET_DNS_DENY, 4, true, true);
	set_put(bt, t, SET_DNS_PORTS, 5, false, false);
	dns_ports_put(bt, t);
}

/*
 * The inet table's chains. A connection the guest opens is judged once, at its first packet
 * (then it is established), as the kernel judges connect(): DNS elsewhere dropped; link-local
 * dropped; then the sets in forward_order; else dropped. See docs/sandbox.md.
 */
static void inet_chains(struct ag_nft_batch *bt, const struct ag_sbx_net *n)
{
	const char *t = n->plan.table;
	const int f = NFPROTO_INET;
	__u32 host = n->plan.host_addr.s_addr, guest = n->plan.guest_addr.s_addr;
	static const __u8 link_local[2] = { 169, 254 };
	__u8 ip4 = NFPROTO_IPV4;
	struct nftnl_expr *e;
	struct rb b;
	int i;

	chain_put(bt, f, t, "guest_in", -1, 0, NULL, NULL);
	chain_put(bt, f, t, "guest_out", -1, 0, NULL, NULL);
	chain_put(bt, f, t, "to_guest", -1, 0, NULL, NULL);
	chain_put(bt, f, t, "input", NF_INET_LOCAL_IN, 0, "filter", NULL);
	chain_put(bt, f, t, "forward", NF_INET_FORWARD, 0, "filter", NULL);
	chain_put(bt, f, t, "output", NF_INET_LOCAL_OUT, 0, "filter", NULL);
	chain_put(bt, f, t, "postrouting", NF_INET_POST_ROUTING, 100, "nat", NULL);

	b = rule_new(f, t, "input");
	x_ifindex(&b, NFT_META_IIF, NFT_CMP_EQ, n->ifindex);
	x_verdict(&b, NFT_JUMP, "guest_in");
	rule_put(bt, &b);
	/*
	 * The resolver is the guest's alone: its answers fill dns_allow, so a query from anyone
	 * else (a local user of the host, over lo; another interface) is dropped.
	 */
	for (i = 0; i < 2; i++) {
		b = rule_new(f, t, "input");
		x_dns_to(&b, host, i ? IPPROTO_TCP : IPPROTO_UDP);
		x_counter(&b, ctrs[CTR_DNS_FOREIGN].name);
		x_verdict(&b, NF_DROP, NULL);
		rule_put(bt, &b);
	}
	b = rule_new(f, t, "forward");
	x_ifindex(&b, NFT_META_IIF, NFT_CMP_EQ, n->ifindex);
	x_verdict(&b, NFT_JUMP, "guest_out");
	rule_put(bt, &b);
	b = rule_new(f, t, "forward");
	x_ifindex(&b, NFT_META_OIF, NFT_CMP_EQ, n->ifindex);
	x_verdict(&b, NFT_JUMP, "to_guest");
	rule_put(bt, &b);
	b = rule_new(f, t, "output");
	x_ifindex(&b, NFT_META_OIF, NFT_CMP_EQ, n->ifindex);
	x_verdict(&b, NFT_JUMP, "to_guest");
	rule_put(bt, &b);

	/* The guest's connections leave with the uplink's address. */
	b = rule_new(f, t, "postrouting");
	x_u8(&b, NFT_META_NFPROTO, ip4);
	x_payload(&b, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_1);
	x_cmp(&b, NFT_REG_1, NFT_CMP_EQ, &guest, 4);
	x_ifindex(&b, NFT_META_OIF, NFT_CMP_NEQ, n->ifindex);
	x_new(&b, "masq");
	rule_put(bt, &b);

	/* To the host: replies, and DNS to host_addr over UDP and TCP. Nothing else. */
	rule_established(bt, t, "guest_in");
	for (i = 0; i < 2; i++) {
		b = rule_new(f, t, "guest_in");
		x_dns_to(&b, host, i ? IPPROTO_TCP : IPPROTO_UDP);
		x_verdict(&b, NF_ACCEPT, NULL);
		rule_put(bt, &b);
	}
	rule_count_drop(bt, t, "guest_in", CTR_INPUT);

	/* Through the host. */
	rule_established(bt, t, "guest_out");
	/* New flows only from here: ct count over conn_max (this rule's own count) → drop. */
	b = rule_new(f, t, "guest_out");
	e = x_new(&b, "connlimit");
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CONNLIMIT_COUNT, n->conn_max);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CONNLIMIT_FLAGS, NFT_CONNLIMIT_F_INV);
	}
	x_counter(&b, ctrs[CTR_CONN_LIMIT].name);
	x_verdict(&b, NF_DROP, NULL);
	rule_put(bt, &b);
	b = rule_new(f, t, "guest_out");	/* the netdev table let IPv4 alone through */
	x_meta(&b, NFT_META_NFPROTO, NFT_REG_1);
	x_cmp(&b, NFT_REG_1, NFT_CMP_NEQ, &ip4, 1);
	x_counter(&b, ctrs[CTR_FORWARD].name);
	x_verdict(&b, NF_DROP, NULL);
	rule_put(bt, &b);
	/* DNS (ag_dns_port_locked: 53, 853) to anything but the resolver */
	b = rule_new(f, t, "guest_out");
	x_meta(&b, NFT_META_L4PROTO, NFT_REG32_00);
	x_payload(&b, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_01);
	x_lookup(&b, NFT_REG32_00, SET_DNS_PORTS);
	x_counter(&b, ctrs[CTR_DNS_ELSEWHERE].name);
	x_verdict(&b, NF_DROP, NULL);
	rule_put(bt, &b);
	/*
	 * Link-local (169.254.0.0/16: cloud metadata, threat model N22) is never forwarded,
	 * whatever the policy allows: stricter than the guest's own hooks, on purpose.
	 */
	b = rule_new(f, t, "guest_out");
	x_payload(&b, NFT_PAYLOAD_NETWORK_HEADER, 16, 2, NFT_REG_1);
	x_cmp(&b, NFT_REG_1, NFT_CMP_EQ, link_local, 2);
	x_counter(&b, ctrs[CTR_FORWARD].name);
	x_verdict(&b, NF_DROP, NULL);
	rule_put(bt, &b);
	for (i = 0; i < (int)(sizeof(forward_order) / sizeof(forward_order[0])); i++) {
		b = rule_new(f, t, "guest_out");
		x_flow_key(&b);
		x_lookup(&b, NFT_REG32_00, set_names[forward_order[i].set]);
		if (!forward_order[i].accept)
			x_counter(&b, ctrs[CTR_FORWARD].name);
		x_verdict(&b, forward_order[i].accept ? NF_ACCEPT : NF_DROP, NULL);
		rule_put(bt, &b);
	}
	rule_count_drop(bt, t, "guest_out", CTR_FORWARD);

	/* Towards the guest: its own flows only. */
	rule_established(bt, t, "to_guest");
	rule_count_drop(bt, t, "to_guest", CTR_TO_GUEST);
}

/* ---- the policy as elements --------------------------------------------------------------- */

struct elems {
	struct ag_nft_elem *e;
	size_t n, cap;
};

static int elems_push(struct elems *l, __u32 lo, __u32 hi, __u8 proto, __u16 plo, __u16 phi,
		      __u64 timeout_ms)
{
	struct ag_nft_elem *p;
	size_t i, back = l->n > 2 * AG_NET_MAX_SEGS + 4 ? 2 * AG_NET_MAX_SEGS + 4 : l->n;

	/* The same ports on the address range just before: one element. */
	for (i = l->n; i > l->n - back; i--) {
		p = &l->e[i - 1];
		if (p->proto == proto && p->port_lo == plo && p->port_hi == phi &&
		    p->addr_hi + 1ull == lo && p->timeout_ms == timeout_ms) {
			p->addr_hi = hi;
			return 0;
		}
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;

		p = realloc(l->e, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		l->e = p;
		l->cap = cap;
	}
	l->e[l->n++] = (struct ag_nft_elem){ .addr_lo = lo, .addr_hi = hi, .port_lo = plo,
					     .port_hi = phi, .proto = proto,
					     .timeout_ms = timeout_ms };
	return 0;
}

static int cmp_uint(const void *a, const void *b)
{
	unsigned int x = *(const unsigned int *)a, y = *(const unsigned int *)b;

	return x < y ? -1 : x > y;
}

enum cls { CLS_NONE, CLS_ALLOW, CLS_DENY };

/*
 * The ports of one protocol under v, as runs of one class: classify maps a verdict and its
 * flags to a class. Adjacent runs of a class merge. Pushes each run that is not CLS_NONE into
 * allow or deny for the address range lo..hi.
 */
static int val_push(const struct ag_net_val *v, enum cls (*classify)(__u8 verdict, __u8 flags),
		    __u32 lo, __u32 hi, struct elems *allow, struct elems *deny,
		    __u64 t_allow, __u64 t_deny)
{
	static const __u8 protos[2][2] = { { AG_NET_TCP, IPPROTO_TCP },
					   { AG_NET_UDP, IPPROTO_UDP } };
	unsigned int cuts[2 * AG_NET_MAX_SEGS + 2], nc, i, k, start;
	enum cls run, c;
	__u32 rule, nseg = v->n_segs < AG_NET_MAX_SEGS ? v->n_segs : AG_NET_MAX_SEGS;
	__u8 flags, verdict;
	int err = 0;

	for (k = 0; k < 2 && !err; k++) {
		nc = 0;
		cuts[nc++] = 0;
		for (i = 0; i < nseg; i++)
			if (v->seg[i].proto & protos[k][0]) {
				cuts[nc++] = v->seg[i].port_lo;
				cuts[nc++] = v->seg[i].port_hi + 1u;
			}
		qsort(cuts, nc, sizeof(cuts[0]), cmp_uint);
		run = CLS_NONE;
		start = 0;
		for (i = 0; i <= nc && !err; i++) {
			/* Each run between cuts has one verdict: read it at its first port. */
			if (i < nc && (cuts[i] > 65535 || (i && cuts[i] == cuts[i - 1])))
				continue;
			if (i < nc) {
				verdict = ag_net_val_verdict_f(v, protos[k][0], cuts[i], &rule,
							       &flags);
				c = classify(verdict, flags);
				if (i && c == run)
					continue;
			} else {
				c = CLS_NONE;
			}
			if (i && run != CLS_NONE)
				err = elems_push(run == CLS_ALLOW ? allow : deny, lo, hi,
						 protos[k][1], start,
						 (i < nc ? cuts[i] : 65536) - 1,
						 run == CLS_ALLOW ? t_allow : t_deny);
			if (i < nc) {
				run = c;
				start = cuts[i];
			}
		}
	}
	return err;
}

/* The LPM table at the host: ALLOW and WOULD_DENY pass (audit denies nothing). */
static enum cls classify_lpm(__u8 verdict, __u8 flags)
{
	if (verdict == AG_ALLOW || verdict == AG_WOULD_DENY)
		return CLS_ALLOW;
	return flags & AG_NET_F_RULE_DENY ? CLS_DENY : CLS_NONE;
}

/* A binding, as ag_dns_apply uses it: ALLOW may lift a default deny, DENY always wins. */
static enum cls classify_learned(__u8 verdict, __u8 flags)
{
	if (verdict == AG_ALLOW)
		return CLS_ALLOW;
	return verdict == AG_DENY ? CLS_DENY : CLS_NONE;
}

struct pfx {
	__u32 start;
	__u32 end;
	unsigned int plen;		/* of the 128-bit key: ties of ::/0-like entries */
	const struct ag_net_val *val;
};

static int cmp_pfx(const void *a, const void *b)
{
	const struct pfx *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->end != y->end)
		return x->end > y->end ? -1 : 1;	/* the wider one first: it is outside */
	return x->plen < y->plen ? -1 : x->plen > y->plen;
}

static int emit_range(__u32 lo, __u32 hi, const struct ag_net_val *val, struct elems *allow,
		      struct elems *deny)
{
	/* A miss fails closed as the kernel's: denied by rule, so no binding lifts it. */
	static const struct ag_net_val miss = { .fallback_rule = AG_RULE_NONE,
						.fallback_verdict = AG_DENY,
						.fallback_flags = AG_NET_F_RULE_DENY };

	return val_push(val ? val : &miss, classify_lpm, lo, hi, allow, deny, 0, 0);
}

/*
 * The kernel's LPM table over IPv4 (keys ::ffff:a.b.c.d/96+n, and shorter keys that contain
 * ::ffff:0:0/96), flattened into disjoint address ranges, each with the value of its longest
 * prefix: what ag_net_decide_user decides for a plain IPv4 destination.
 */
static int policy_elems(const struct ag_compiled *c, struct elems *allow, struct elems *deny)
{
	static const __u8 v4[16] = { [10] = 0xff, [11] = 0xff };
	struct pfx *p = calloc(c->n_net + 1, sizeof(*p)), *stack[130];
	size_t n = 0, i, sp = 0;
	__u64 cur = 0;
	unsigned int plen, full, rem, p4;
	__u32 a;
	int err = 0;

	if (!p)
		return -ENOMEM;
	for (i = 0; i < c->n_net; i++) {
		const struct ag_net_key *k = &c->net[i].key;

		plen = k->prefixlen > 128 ? 128 : k->prefixlen;
		full = (plen < 96 ? plen : 96) / 8;
		rem = (plen < 96 ? plen : 96) % 8;
		if (memcmp(k->addr, v4, full) ||
		    (rem && ((k->addr[full] ^ v4[full]) & (0xff << (8 - rem)))))
			continue;
		p4 = plen > 96 ? plen - 96 : 0;
		memcpy(&a, k->addr + 12, 4);
		a = p4 ? ntohl(a) & (0xffffffffu << (32 - p4)) : 0;
		p[n++] = (struct pfx){ .start = a,
				       .end = p4 ? a | (p4 == 32 ? 0 : 0xffffffffu >> p4) :
						   0xffffffffu,
				       .plen = plen, .val = &c->net[i].val };
	}
	qsort(p, n, sizeof(*p), cmp_pfx);
	for (i = 0; i <= n && !err; i++) {
		/* Close what ends before the next prefix starts (or everything, at the end). */
		while (sp && !err && (i == n || stack[sp - 1]->end < p[i].start)) {
			if (cur <= stack[sp - 1]->end)
				err = emit_range(cur, stack[sp - 1]->end, stack[sp - 1]->val, allow,
						 deny);
			cur = (__u64)stack[sp - 1]->end + 1;
			sp--;
		}
		if (err || i == n)
			break;
		if (cur < p[i].start)
			err = emit_range(cur, p[i].start - 1, sp ? stack[sp - 1]->val : NULL,
					 allow, deny);
		cur = p[i].start;
		if (sp == sizeof(stack) / sizeof(stack[0])) {
			err = -E2BIG;	/* prefixes nest at most 129 deep: not reached */
			break;
		}
		stack[sp++] = &p[i];
	}
	if (!err && cur <= 0xffffffffu)
		err = emit_range(cur, 0xffffffffu, NULL, allow, deny);
	free(p);
	return err;
}

/* Elements of one of the inet table's address sets (key AG_NFT_KEY_LEN) into bt. */
static void elems_put(struct ag_nft_batch *bt, const struct ag_sbx_net *n, const char *set,
		      const struct ag_nft_elem *e, size_t cnt, enum ag_nft_elem_op op)
{
	ag_nft_batch_elems(bt, NFPROTO_INET, n->plan.table, set, AG_NFT_KEY_LEN, e, cnt, op);
}

static int set_fill(struct ag_sbx_net *n, const char *set, const struct elems *l)
{
	const size_t step = 4096;
	struct ag_nft_batch bt;
	size_t i;
	int err = 0;

	for (i = 0; !err && i < l->n; i += step) {
		err = ag_nft_batch_begin(&n->nft, &bt);
		if (err)
			break;
		elems_put(&bt, n, set, l->e + i, l->n - i < step ? l->n - i : step,
			  AG_NFT_ELEM_ADD);
		err = ag_nft_batch_commit(&n->nft, &bt);
	}
	return err;
}

/* In batches of their own: the chains already drop whatever is not in yet (fails closed). */
static int policy_fill(struct ag_sbx_net *n)
{
	struct elems allow = {}, deny = {};
	int err;

	err = policy_elems(n->c, &allow, &deny);
	if (!err)
		err = set_fill(n, SET_POLICY_ALLOW, &allow);
	if (!err)
		err = set_fill(n, SET_POLICY_DENY, &deny);
	free(allow.e);
	free(deny.e);
	return err;
}

/* ---- the resolver's backend -------------------------------------------------------------- */

static void learned_free(struct learned *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n_names; i++)
		free(l->names[i].name);
	free(l->allow);
	free(l->deny);
	free(l);
}

static bool learned_live(const struct learned *l, __u64 now)
{
	size_t i;

	for (i = 0; i < l->n_names; i++)
		if (l->names[i].expiry_ms > now)
			return true;
	return false;
}

/*
 * The entry of addr, made if new. At most AG_DNS_LEARNED_MAX addresses, as the kernel's learned
 * map holds; full: entries whose names all expired make room.
 */
static int learned_get(struct ag_sbx_net *n, __u32 addr, __u64 now, struct learned **out)
{
	struct learned **p, *l;
	size_t i, k;

	for (i = 0; i < n->n_learned; i++)
		if (n->learned[i]->addr == addr) {
			*out = n->learned[i];
			return 0;
		}
	if (n->n_learned >= AG_DNS_LEARNED_MAX) {
		for (i = 0, k = 0; i < n->n_learned; i++) {
			if (learned_live(n->learned[i], now))
				n->learned[k++] = n->learned[i];
			else
				learned_free(n->learned[i]);
		}
		n->n_learned = k;
		if (k >= AG_DNS_LEARNED_MAX)
			return -ENOSPC;	/* not learned: the answer is not relayed */
	}
	l = calloc(1, sizeof(*l));
	p = realloc(n->learned, (n->n_learned + 1) * sizeof(*p));
	if (!l || !p) {
		free(l);
		if (p)
			n->learned = p;
		return -ENOMEM;
	}
	n->learned = p;
	l->addr = addr;
	n->learned[n->n_learned++] = l;
	*out = l;
	return 0;
}

/* Add or refresh name on l; names whose binding ended go. */
static int learned_name(struct learned *l, const char *name, __u64 now, __u64 expiry)
{
	size_t i, k, oldest = 0;
	char *copy;

	for (i = 0, k = 0; i < l->n_names; i++) {
		if (l->names[i].expiry_ms > now)
			l->names[k++] = l->names[i];
		else
			free(l->names[i].name);
	}
	l->n_names = k;
	for (i = 0; i < l->n_names; i++)
		if (!strcmp(l->names[i].name, name)) {
			if (l->names[i].expiry_ms < expiry)
				l->names[i].expiry_ms = expiry;
			return 0;
		}
	copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	if (l->n_names == AG_DNS_NAMES) {
		for (i = 1; i < AG_DNS_NAMES; i++)
			if (l->names[i].expiry_ms < l->names[oldest].expiry_ms)
				oldest = i;
		free(l->names[oldest].name);
		i = oldest;
	} else {
		i = l->n_names++;
	}
	l->names[i].name = copy;
	l->names[i].expiry_ms = expiry;
	return 0;
}

/* The elements of old (absolute expiry) that are alive at t, into out (no timeouts). */
static int old_live(const struct ag_nft_elem *old, size_t n, __u64 t, struct elems *out)
{
	size_t i;
	int err = 0;

	out->n = 0;
	for (i = 0; !err && i < n; i++)
		if (old[i].timeout_ms > t)
			err = elems_push(out, old[i].addr_lo, old[i].addr_hi, old[i].proto,
					 old[i].port_lo, old[i].port_hi, 0);
	return err;
}

/* Count the timeouts of l (relative) from `to` instead of `from`: at least 1 ms (0 is none). */
static void timeouts_rebase(struct elems *l, __u64 from, __u64 to)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		l->e[i].timeout_ms = l->e[i].timeout_ms > to - from + 1 ?
				     l->e[i].timeout_ms - (to - from) : 1;
}

#define SWAP_TRIES	5

/*
 * Replace what addr has in dns_allow / dns_deny: old ones out, new ones in, one transaction.
 * allow's and deny's timeouts count from *now, which becomes the time they were installed at.
 *
 * Every old element still alive goes, even one about to expire: re-adding an element that is
 * there keeps its old timeout before Linux 6.10 (4201f3938914, "set element timeout update
 * support"), so a refresh near the end of a binding would be lost. The new ones are added
 * with NLM_F_EXCL, so an old one still there is an error, never a silent keep. Our clock and
 * the kernel's disagree by the latency of the insert that set an expiry (its clock starts when
 * it handles the message): an old element may expire under us (-ENOENT on its delete) or
 * outlive its recorded expiry by a little (-EEXIST on its add). Either is tried again a few
 * ms later, at most SWAP_TRIES times (the resolver's thread waits 200 ms at worst); then the
 * error is returned and the answer is not relayed (fails closed).
 */
static int learned_swap(struct ag_sbx_net *n, const struct learned *l, struct elems *allow,
			struct elems *deny, __u64 *now)
{
	struct ag_nft_batch bt;
	struct elems old_a = {}, old_d = {};
	struct timespec pause = { 0, 0 };
	__u64 t;
	int err = 0, i;

	for (i = 0; i < SWAP_TRIES; i++) {
		if (i) {
			pause.tv_nsec = i * 20 * 1000000L;
			nanosleep(&pause, NULL);
		}
		t = boot_ms();
		timeouts_rebase(allow, *now, t);
		timeouts_rebase(deny, *now, t);
		*now = t;
		err = old_live(l->allow, l->n_allow, t, &old_a);
		if (!err)
			err = old_live(l->deny, l->n_deny, t, &old_d);
		if (!err)
			err = ag_nft_batch_begin(&n->nft, &bt);
		if (err)
			break;
		elems_put(&bt, n, SET_DNS_ALLOW, old_a.e, old_a.n, AG_NFT_ELEM_DEL);
		elems_put(&bt, n, SET_DNS_DENY, old_d.e, old_d.n, AG_NFT_ELEM_DEL);
		elems_put(&bt, n, SET_DNS_ALLOW, allow->e, allow->n, AG_NFT_ELEM_CREATE);
		elems_put(&bt, n, SET_DNS_DENY, deny->e, deny->n, AG_NFT_ELEM_CREATE);
		err = ag_nft_batch_commit(&n->nft, &bt);
		if (err != -ENOENT && err != -EEXIST)
			break;
	}
	free(old_a.e);
	free(old_d.e);
	return err;
}

/*
 * The elements of a binding of addr to names[0..n): the names folded as the kernel folds them
 * (ag_dns_learned_val); allowed (protocol, ports) into allow, denied into deny, with the given
 * timeouts.
 */
static int learned_elems(const struct ag_compiled *c, const char *const *names, size_t n,
			 __u32 addr, __u64 t_allow, __u64 t_deny, struct elems *allow,
			 struct elems *deny)
{
	__u8 a[16] = { [10] = 0xff, [11] = 0xff };
	struct ag_net_val val;
	__u32 be = htonl(addr);
	int err;

	memcpy(a + 12, &be, 4);
	err = ag_dns_learned_val(c, a, names, n, &val);

	if (err == -E2BIG)
		err = 0;	/* the strictest single verdict was written */
	if (err)
		return err;
	return val_push(&val, classify_learned, addr, addr, allow, deny, t_allow, t_deny);
}

/*
 * ag_resolver_backend.learn: the address's live names folded (learned_elems); allowed ports
 * into dns_allow until the first of its names' bindings ends (an address shared by names with
 * different TTLs then needs a new answer sooner: fails closed), denied ones into dns_deny
 * until the last ends. Element timeouts hold the expiry, so nothing here has to run for a
 * binding to end.
 */
static int nft_learn(void *ctx, const struct ag_compiled *c, const __u8 judged[16],
		     const char *name, __u32 ttl_s)
{
	static const __u8 v4[12] = { [10] = 0xff, [11] = 0xff };
	struct ag_sbx_net *n = ctx;
	const char *names[AG_DNS_NAMES];
	struct elems allow = {}, deny = {};
	struct learned *l;
	__u64 now = boot_ms(), first, last;
	__u32 addr;
	size_t i;
	int err;

	/* The guest has no IPv6: an AAAA answer is relayed and opens nothing. */
	if (memcmp(judged, v4, sizeof(v4)))
		return 0;
	memcpy(&addr, judged + 12, 4);
	addr = ntohl(addr);
	err = learned_get(n, addr, now, &l);
	if (!err)
		err = learned_name(l, name, now, now + (__u64)ttl_s * 1000);
	if (err)
		return err;
	first = last = l->names[0].expiry_ms;
	for (i = 0; i < l->n_names; i++) {
		names[i] = l->names[i].name;
		if (l->names[i].expiry_ms < first)
			first = l->names[i].expiry_ms;
		if (l->names[i].expiry_ms > last)
			last = l->names[i].expiry_ms;
	}
	/* Pruned names are past, so first > now: a timeout of 0 would mean "never". */
	if (first <= now)
		first = now + 1;
	if (last < first)
		last = first;
	err = learned_elems(c, names, l->n_names, addr, first - now, last - now, &allow, &deny);
	if (!err)
		err = learned_swap(n, l, &allow, &deny, &now);
	if (err) {
		free(allow.e);
		free(deny.e);
		return err;
	}
	/* Installed: remember them with their absolute expiry. */
	for (i = 0; i < allow.n; i++)
		allow.e[i].timeout_ms += now;
	for (i = 0; i < deny.n; i++)
		deny.e[i].timeout_ms += now;
	free(l->allow);
	free(l->deny);
	l->allow = allow.e;
	l->n_allow = allow.n;
	l->deny = deny.e;
	l->n_deny = deny.n;
	return 0;
}

static void dns_report(void *ctx, const struct ag_dns_report *r)
{
	struct ag_sbx_net *n = ctx;

	/* Withheld addresses (r->address) are counted by the resolver itself. */
	if (r->verdict == AG_DENY && !r->address)
		__atomic_add_fetch(&n->dns_refused, 1, __ATOMIC_RELAXED);
	if (n->report)
		n->report(n->report_ctx, r);
}

static int resolver_up(struct ag_sbx_net *n, const struct ag_sbx_net_opts *o)
{
	struct ag_resolver_opts ro = { .ttl_floor_s = o->ttl_floor_s, .ttl_cap_s = o->ttl_cap_s };
	struct ag_resolver_backend be = { nft_learn, n };
	struct sockaddr_in *l = (struct sockaddr_in *)&ro.listen;
	int err;

	l->sin_family = AF_INET;
	l->sin_port = htons(53);
	l->sin_addr = n->plan.host_addr;
	err = ag_resolver_upstreams_from(o->upstream_resolv_conf ? o->upstream_resolv_conf :
				       "/etc/resolv.conf", &ro);
	if (err < 0)
		return err;
	ag_resolver_drop_upstream(&ro, &ro.listen);
	if (!ro.n_upstream)
		return -ENOENT;
	err = ag_resolver_open_backend(&ro, &be, n->c, &n->res);
	if (err)
		return err;
	return ag_resolver_start(n->res, dns_report, n);
}

/* ---- the interface ----------------------------------------------------------------------- */

static int tables_up(struct ag_sbx_net *n)
{
	struct ag_nft_batch bt;
	int err;

	/* The guard first: from then on nothing unmarked leaves the tap. */
	err = ag_nft_open(&n->guard);
	if (err)
		return err;
	n->guard_open = true;
	n->plan.guard_fd = mnl_socket_get_fd(n->guard.nl);
	err = ag_nft_batch_begin(&n->guard, &bt);
	if (err)
		return err;
	guard_table(&bt, n);
	err = ag_nft_batch_commit(&n->guard, &bt);
	if (err)
		return err;
	err = ag_nft_open(&n->nft);
	if (err)
		return err;
	n->nft_open = true;
	err = ag_nft_batch_begin(&n->nft, &bt);
	if (err)
		return err;
	netdev_table(&bt, n);
	inet_sets(&bt, n);
	err = ag_nft_batch_commit(&n->nft, &bt);
	if (err)
		return err;
	err = ag_nft_batch_begin(&n->nft, &bt);
	if (err)
		return err;
	inet_chains(&bt, n);
	err = ag_nft_batch_commit(&n->nft, &bt);
	if (err)
		return err;
	return policy_fill(n);
}

int ag_sbx_net_up(const struct ag_sbx_net_opts *o, const struct ag_compiled *c,
		  struct ag_sbx_net **out, struct ag_sbx_net_plan *plan, int *tap_fd)
{
	struct ag_sbx_net *n = NULL;
	struct link_info li;
	__u32 h;
	int err;

	*out = NULL;
	*tap_fd = -1;
	memset(plan, 0, sizeof(*plan));
	if (!ag_sbx_name_valid(o->name))
		return -EINVAL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->tap_fd = -1;
	n->c = c;
	n->conn_max = o->conn_max ? o->conn_max : AG_SBX_CONN_MAX;
	n->report = o->dns_report;
	n->report_ctx = o->dns_report_ctx;
	n->plan.guard_fd = -1;
	names_for(o->name, n->plan.tap, n->plan.table, n->guard_table, n->alias);
	h = ag_fnv1a32(o->name);
	memcpy(n->plan.guest_mac, (const __u8[6]){ 0x02, 0x61, 0x67, h >> 16, h >> 8, h }, 6);

	/* Nothing is changed before we know return traffic can come back. */
	err = uplink_check(n->plan.uplink);
	if (err)
		goto cleanup;
	/*
	 * Never attach to a tap someone left, nor to another sandbox's whose name shortens to
	 * the same tap name (its alias is not ours): -EEXIST either way.
	 */
	err = rt_get_link(n->plan.tap, &li);
	if (err != -ENODEV) {
		err = err ? err : -EEXIST;
		goto cleanup;
	}
	err = tap_open(n->plan.tap, &n->tap_fd);
	if (!err)
		err = rt_get_link(n->plan.tap, &li);
	if (err)
		goto cleanup;
	n->ifindex = li.ifindex;
	/* Made by us just now, so without an alias; else one appeared meanwhile: not ours. */
	err = li.alias[0] ? -EEXIST : rt_set_alias(n->ifindex, n->alias);
	if (err)
		goto cleanup;
	/* No IPv6 on the tap at all (no RA, no SLAAC, no link-local); strict reverse path. */
	err = sysctl_write("/proc/sys/net/ipv6/conf/%s/disable_ipv6", n->plan.tap, "1");
	if (err == -ENOENT)
		err = 0;	/* a kernel without IPv6 */
	if (!err)
		err = sysctl_write("/proc/sys/net/ipv4/conf/%s/rp_filter", n->plan.tap, "1");
	if (!err)
		err = sysctl_write("/proc/sys/net/ipv4/conf/%s/send_redirects", n->plan.tap, "0");
	if (!err)
		err = sysctl_write("/proc/sys/net/ipv4/conf/%s/accept_source_route", n->plan.tap,
				   "0");
	if (!err)
		err = sysctl_write("/proc/sys/net/ipv4/conf/%s/forwarding", n->plan.tap, "1");
	if (err)
		goto cleanup;
	/* The link stays down until the filter is complete: nothing passes unfiltered, ever. */
	err = pick_and_add(n, o->name);
	if (err)
		goto cleanup;
	err = tables_up(n);
	/* No flow of an earlier run of this name (same /30) outlives it into this one. */
	if (!err)
		err = ct_flush(ntohl(n->plan.host_addr.s_addr) & ~3u);
	if (!err)
		err = rt_link_set(n->ifindex, RTM_NEWLINK, IFF_UP);
	if (!err)
		err = resolver_up(n, o);
	if (err)
		goto cleanup;
	*plan = n->plan;
	*tap_fd = n->tap_fd;
	*out = n;
	return 0;
cleanup:
	memcpy(plan->uplink, n->plan.uplink, sizeof(plan->uplink));
	ag_sbx_net_down(n);
	return err;
}

int ag_sbx_net_stats(struct ag_sbx_net *n, struct ag_sbx_net_stats *s)
{
	__u64 v[CTR_N];
	int i, err;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < CTR_N; i++) {
		err = ag_nft_counter(&n->nft, ctrs[i].family, n->plan.table, ctrs[i].name, &v[i]);
		if (err)
			return err;
		s->dropped_packets += v[i];
	}
	s->dropped_spoofed = v[CTR_SPOOFED];
	s->dropped_not_ipv4 = v[CTR_NOT_IPV4];
	s->dropped_ip_options = v[CTR_IP_OPTIONS];
	s->dropped_input = v[CTR_INPUT];
	s->dropped_dns_not_guest = v[CTR_DNS_FOREIGN];
	s->dropped_dns_elsewhere = v[CTR_DNS_ELSEWHERE];
	s->dropped_forward = v[CTR_FORWARD];
	s->dropped_conn_limit = v[CTR_CONN_LIMIT];
	s->dropped_to_guest = v[CTR_TO_GUEST];
	s->dns_refused = __atomic_load_n(&n->dns_refused, __ATOMIC_RELAXED);
	s->dns_withheld = n->res ? ag_resolver_withheld(n->res) : 0;
	return 0;
}

/*
 * The tap normally goes with our descriptor, but whoever holds one (QEMU) can make it
 * persistent (TUNSETPERSIST needs no privilege on an attached descriptor) or keep it: if an
 * interface of our ifindex with our alias is still there, forwarding off, then deleted.
 */
static int tap_delete(struct ag_sbx_net *n)
{
	struct link_info li;
	int err;

	if (!n->ifindex)
		return 0;
	err = rt_get_link_by(NULL, n->ifindex, &li);
	if (err == -ENODEV)
		return 0;
	if (err)
		return err;
	if (strcmp(li.alias, n->alias))
		return 0;	/* the ifindex is someone else's now */
	/*
	 * Forwarding off first, so nothing is forwarded from the tap in the moment before it
	 * goes. Its result is not checked: the deletion that follows is what matters, and if
	 * that fails too its error is returned (and the tap is left in no worse state).
	 */
	sysctl_write("/proc/sys/net/ipv4/conf/%s/forwarding", n->plan.tap, "0");
	err = rt_link_set(n->ifindex, RTM_DELLINK, 0);
	return err == -ENODEV ? 0 : err;
}

void ag_sbx_net_down(struct ag_sbx_net *n)
{
	size_t i;
	int err;

	if (!n)
		return;
	ag_resolver_close(n->res);
	/* Closing the owning socket deletes both tables; then the tap goes with its fd. */
	if (n->nft_open)
		ag_nft_close(&n->nft);
	/* The guard goes when QEMU's copy of its socket closes too (it drops what remains). */
	if (n->guard_open)
		ag_nft_close(&n->guard);
	if (n->tap_fd >= 0)
		close(n->tap_fd);
	err = tap_delete(n);
	if (err)
		ag_log_warn("sandbox: %s: the tap could not be deleted: %s", n->plan.tap,
			    strerror(-err));
	/* The tap is gone: its flows go too (a run of the same name would inherit them). */
	if (n->plan.host_addr.s_addr) {
		err = ct_flush(ntohl(n->plan.host_addr.s_addr) & ~3u);
		if (err)
			ag_log_warn("sandbox: %s: conntrack entries of %s/30 left: %s", n->plan.tap,
				    inet_ntoa(n->plan.host_addr), strerror(-err));
	}
	for (i = 0; i < n->n_learned; i++)
		learned_free(n->learned[i]);
	free(n->learned);
	free(n);
}

int ag_sbx_policy_elems(const struct ag_compiled *c, struct ag_sbx_elems *allow,
			struct ag_sbx_elems *deny)
{
	struct elems a = {}, d = {};
	int err = policy_elems(c, &a, &d);

	if (err) {
		free(a.e);
		free(d.e);
		return err;
	}
	*allow = (struct ag_sbx_elems){ a.e, a.n };
	*deny = (struct ag_sbx_elems){ d.e, d.n };
	return 0;
}

static bool elems_hold(const struct ag_sbx_elems *l, __u32 addr, __u8 proto, __u16 port)
{
	size_t i;

	for (i = 0; l && i < l->n; i++)
		if (addr >= l->e[i].addr_lo && addr <= l->e[i].addr_hi && proto == l->e[i].proto &&
		    port >= l->e[i].port_lo && port <= l->e[i].port_hi)
			return true;
	return false;
}

bool ag_sbx_elems_pass(const struct ag_sbx_elems *const sets[AG_SBX_SET_N], __u32 addr,
		       __u8 proto, __u16 port)
{
	size_t i;

	for (i = 0; i < sizeof(forward_order) / sizeof(forward_order[0]); i++)
		if (elems_hold(sets[forward_order[i].set], addr, proto, port))
			return forward_order[i].accept;
	return false;
}

int ag_sbx_learned_elems(const struct ag_compiled *c, const char *const *names, size_t n,
			 __u32 addr, struct ag_sbx_elems *allow, struct ag_sbx_elems *deny)
{
	struct elems a = {}, d = {};
	int err = learned_elems(c, names, n, addr, 0, 0, &a, &d);

	if (err) {
		free(a.e);
		free(d.e);
		return err;
	}
	*allow = (struct ag_sbx_elems){ a.e, a.n };
	*deny = (struct ag_sbx_elems){ d.e, d.n };
	return 0;
}

int ag_sbx_net_cleanup_stale(const char *name)
{
	char tap[IFNAMSIZ], table[64], guard[80], alias[64];
	struct link_info li;
	int err, f, i;

	if (!ag_sbx_name_valid(name))
		return -EINVAL;
	names_for(name, tap, table, guard, alias);
	/* The guard last: what is left of a sandbox stays dropping until it goes. */
	for (i = 0; i < 3; i++) {
		f = i ? NFPROTO_NETDEV : NFPROTO_INET;
		err = ag_nft_delete_table(f, i == 2 ? guard : table);
		if (err == -EPERM)
			return -EBUSY;	/* its owner is alive: a running sandbox */
		if (err && err != -ENOENT)
			return err;
	}
	err = rt_get_link(tap, &li);
	if (err == -ENODEV)
		return 0;
	if (err)
		return err;
	/* Not a tun device, or another sandbox's tap of the same short name: left alone. */
	if (strcmp(li.kind, "tun") || strcmp(li.alias, alias))
		return -EEXIST;
	return rt_link_set(li.ifindex, RTM_DELLINK, 0);
}
