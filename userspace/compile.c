// SPDX-License-Identifier: GPL-2.0
/*
 * The policy compiler: layers folded into one effective table per surface.
 *
 * Filesystem: the effective table holds every rule path of every layer plus "/". For an entry E
 * each layer's deciding rule is its longest rule path that is a prefix of E (or its default);
 * any longer rule of any layer below E would itself be an entry, so the kernel's longest-prefix
 * hit on the effective table gives every layer's own longest-prefix decision at once.
 *
 * Network: the effective LPM holds every rule CIDR plus ::/0. For an entry E the rules that
 * apply are those whose CIDR contains E, in every layer; within a layer a matching deny rule
 * wins over a matching allow rule, then the default. The result over (protocol, port) is
 * stored as disjoint segments plus a fallback.
 *
 * Across layers: DENY if any enforce-mode decision denies, else WOULD_DENY if any audit-mode
 * decision denies, else ALLOW. Attribution: the highest layer that denies; on allow, the
 * deciding rule of the lowest layer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "sha256.h"
#include "strmap.h"

struct layer_decision {
	enum ag_verdict verdict;	/* this layer's own verdict, mode applied */
	__u32 rule;
	enum ag_layer layer;
};

/* Fold the per-layer decisions of one access into the effective verdict and rule. */
static enum ag_verdict fold_layers(const struct layer_decision *d, size_t n, __u32 *rule)
{
	enum ag_verdict best = AG_ALLOW;
	size_t i, pick = 0;

	for (i = 0; i < n; i++) {
		if (d[i].verdict > best ||
		    (d[i].verdict == best && best != AG_ALLOW && d[i].layer < d[pick].layer)) {
			best = d[i].verdict;
			pick = i;
		}
	}
	if (best == AG_ALLOW) {
		/* The deciding rule of the lowest layer (the first such policy on a tie). */
		for (i = 0; i < n; i++)
			if (d[i].layer > d[pick].layer)
				pick = i;
	}
	*rule = n ? d[pick].rule : AG_RULE_NONE;
	return best;
}

static enum ag_verdict deny_verdict(enum ag_mode mode)
{
	return mode == AG_MODE_AUDIT ? AG_WOULD_DENY : AG_DENY;
}

static int add_rule(struct ag_compiled *c, const struct ag_policy *p, enum ag_rule_kind kind,
		    const char *explicit_id, const char *section, long index, enum ag_mode mode,
		    struct ag_pos pos, __u32 *idx)
{
	struct ag_rule_ref *r;
	int n;

	if (c->n_rules >= AG_RULE_NONE - 1)
		return -E2BIG;
	if ((c->n_rules & (c->n_rules - 1)) == 0) {
		size_t cap = c->n_rules ? c->n_rules * 2 : 16;
		void *v = realloc(c->rules, cap * sizeof(*c->rules));

		if (!v)
			return -ENOMEM;
		c->rules = v;
	}
	r = &c->rules[c->n_rules];
	memset(r, 0, sizeof(*r));
	if (explicit_id)
		n = asprintf(&r->id, "%s", explicit_id);
	else if (index < 0)
		n = asprintf(&r->id, "%s:%s.default", p->name, section);
	else
		n = asprintf(&r->id, "%s:%s[%ld]", p->name, section, index);
	if (n < 0)
		return -ENOMEM;
	r->policy = p;
	r->kind = kind;
	r->layer = p->layer;
	r->mode = mode == AG_MODE_INHERIT ? p->mode : mode;
	r->pos = pos;
	*idx = c->n_rules++;
	return 0;
}

/* ---- filesystem ---------------------------------------------------------------------- */

struct fs_layer {
	struct ag_strmap paths;		/* rule path -> rule index */
	__u32 default_rule;
};

/* The deciding rule of one layer for path: its longest rule path that is a prefix, or its default. */
static __u32 fs_layer_rule(const struct fs_layer *l, const char *path)
{
	size_t len = strlen(path);
	size_t v;

	for (;;) {
		if (ag_strmap_get(&l->paths, path, len, &v))
			return (__u32)v;
		if (len <= 1)
			break;
		while (len > 1 && path[len - 1] != '/')
			len--;
		/* "/a" -> "/" keeps the slash; "/a/b" -> "/a" drops it. */
		if (len > 1)
			len--;
	}
	return l->default_rule;
}

/* Does a guard from the entry at index cand (verdict v) name a better rule than cur's? */
static bool guard_better(const struct ag_compiled *c, __u8 v, size_t cand, __u8 cur_v,
			 size_t cur)
{
	size_t lc, lr;

	if (v != cur_v || cur == SIZE_MAX)
		return v > cur_v;
	lc = strlen(c->fs[cand].path);
	lr = strlen(c->fs[cur].path);
	return lc < lr || (lc == lr && strcmp(c->fs[cand].path, c->fs[cur].path) < 0);
}

/* The value of the longest entry that is a prefix of path[0..len), at a component boundary. */
static const struct ag_fs_val *fs_prefix_val(const struct ag_compiled *c,
					     const struct ag_strmap *idx, const char *path,
					     size_t len)
{
	size_t i;

	for (; len >= 1; len--) {
		if (len > 1 && path[len] != '/')
			continue;
		if (ag_strmap_get(idx, path, len, &i))
			return &c->fs[i].val;
	}
	return NULL;	/* unreachable: "/" is always an entry */
}

/*
 * Guards (threat model R11; struct ag_fs_val in the ABI header). For every rule entry P and
 * every proper ancestor A of P but "/" (which cannot be renamed or removed): if P's verdict is
 * stricter than A's for read or write, A is guarded by P's verdict and rule for that class
 * (write first). An ancestor with no entry gets one, holding the value of its longest entry
 * prefix, which is what applies there already, so only renames and removals of A itself see a
 * difference. Among several stricter descendants A's guard names the strongest verdict, then
 * the nearest (shortest) path, then the first in byte order: the same table whatever order the
 * rules were written in. Cost: one pass over the ancestors of each rule path.
 */
static int compile_fs_guards(struct ag_compiled *c)
{
	size_t n_rule_entries = c->n_fs, cap = c->n_fs, i, len, ai;
	struct ag_strmap idx = {};
	size_t *from = NULL;	/* per entry: the entry its guard comes from, or SIZE_MAX */
	int err = 0;

	from = malloc((cap ? cap : 1) * sizeof(*from));
	if (!from)
		return -ENOMEM;
	for (i = 0; i < c->n_fs && !err; i++) {
		c->fs[i].val.guard = AG_ALLOW;
		c->fs[i].val.guard_rule = AG_RULE_NONE;
		from[i] = SIZE_MAX;
		err = ag_strmap_put(&idx, c->fs[i].path, strlen(c->fs[i].path), i, NULL);
	}
	for (i = 0; i < n_rule_entries && !err; i++) {
		const char *p = c->fs[i].path;

		for (len = strlen(p) - 1; len > 1 && !err; len--) {
			struct ag_fs_val pv = c->fs[i].val, av;
			__u8 v = AG_ALLOW;
			__u32 rule = AG_RULE_NONE;

			if (p[len] != '/')
				continue;
			if (ag_strmap_get(&idx, p, len, &ai))
				av = c->fs[ai].val;
			else
				av = *fs_prefix_val(c, &idx, p, len);
			if (pv.verdict[AG_FS_WRITE] > av.verdict[AG_FS_WRITE]) {
				v = pv.verdict[AG_FS_WRITE];
				rule = pv.rule[AG_FS_WRITE];
			}
			if (pv.verdict[AG_FS_READ] > av.verdict[AG_FS_READ] &&
			    pv.verdict[AG_FS_READ] > v) {
				v = pv.verdict[AG_FS_READ];
				rule = pv.rule[AG_FS_READ];
			}
			if (v == AG_ALLOW)
				continue;
			if (!ag_strmap_get(&idx, p, len, &ai)) {
				if (c->n_fs == cap) {
					struct ag_fs_entry *fs;
					size_t *fr;

					cap *= 2;
					fs = realloc(c->fs, cap * sizeof(*c->fs));
					if (fs)
						c->fs = fs;
					fr = realloc(from, cap * sizeof(*from));
					if (fr)
						from = fr;
					if (!fs || !fr) {
						err = -ENOMEM;
						break;
					}
				}
				ai = c->n_fs;
				c->fs[ai].path = strndup(p, len);
				if (!c->fs[ai].path) {
					err = -ENOMEM;
					break;
				}
				c->fs[ai].val = av;
				c->fs[ai].guard_only = true;
				c->fs[ai].val.guard = AG_ALLOW;
				c->fs[ai].val.guard_rule = AG_RULE_NONE;
				from[ai] = SIZE_MAX;
				c->n_fs++;
				err = ag_strmap_put(&idx, c->fs[ai].path, len, ai, NULL);
			}
			if (!err && guard_better(c, v, i, c->fs[ai].val.guard, from[ai])) {
				c->fs[ai].val.guard = v;
				c->fs[ai].val.guard_rule = rule;
				from[ai] = i;
			}
		}
	}
	ag_strmap_free(&idx);
	free(from);
	return err;
}

/*
 * Prefix closure: every proper ancestor of an entry's path is an entry too, so the kernel's
 * walk (fs_decide.bpf.h) stops looking up at the first prefix that misses: no longer prefix
 * can be in the table. Without it, every component of every path is a lookup, and at 100,000
 * rules the ones that miss land on cold buckets. An added ancestor holds the value of its
 * longest entry prefix (what applies there already) with no guard: the guards were placed
 * first, and an ancestor that needs one has its entry by now. So no decision changes. Cost:
 * one entry per distinct directory above the rule paths (1,000 for 100,000 rules in 1,000
 * directories), at most the rule paths' depth times their number.
 */
static int compile_fs_closure(struct ag_compiled *c)
{
	size_t cap = c->n_fs, i, len, ai;
	struct ag_strmap idx = {};
	int err = 0;

	for (i = 0; i < c->n_fs && !err; i++)
		err = ag_strmap_put(&idx, c->fs[i].path, strlen(c->fs[i].path), i, NULL);
	/* Added entries are ancestors of earlier ones: their own ancestors are visited there. */
	for (i = 0; i < c->n_fs && !err; i++) {
		for (len = strlen(c->fs[i].path) - 1; len > 1 && !err; len--) {
			const char *p = c->fs[i].path;
			struct ag_fs_entry *e;

			if (p[len] != '/' || ag_strmap_get(&idx, p, len, &ai))
				continue;
			if (c->n_fs == cap) {
				struct ag_fs_entry *fs;

				cap = cap ? cap * 2 : 8;
				fs = realloc(c->fs, cap * sizeof(*c->fs));
				if (!fs) {
					err = -ENOMEM;
					break;
				}
				c->fs = fs;
				p = c->fs[i].path;
			}
			e = &c->fs[c->n_fs];
			e->path = strndup(p, len);
			if (!e->path) {
				err = -ENOMEM;
				break;
			}
			e->val = *fs_prefix_val(c, &idx, p, len);
			e->val.guard = AG_ALLOW;
			e->val.guard_rule = AG_RULE_NONE;
			e->guard_only = true;
			err = ag_strmap_put(&idx, e->path, len, c->n_fs, NULL);
			c->n_fs++;
		}
	}
	ag_strmap_free(&idx);
	return err;
}

static int compile_fs(struct ag_compiled *c, struct ag_diags *diags, __u32 *fs_access)
{
	struct fs_layer *layers = NULL;
	struct layer_decision *dec = NULL;
	struct ag_strmap effective = {};
	bool invalid = false;
	size_t i, j, k, v;
	int err = 0;

	layers = calloc(c->n_policies ? c->n_policies : 1, sizeof(*layers));
	dec = calloc(c->n_policies ? c->n_policies : 1, sizeof(*dec));
	if (!layers || !dec) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = ag_strmap_put(&effective, "/", 1, 0, NULL);
	if (err)
		goto cleanup;

	/* Rules were added policy by policy: default first, then the rules in order. */
	for (i = 0, k = 0; i < c->n_policies; i++) {
		const struct ag_policy *p = c->policies[i];

		while (c->rules[k].kind != AG_RK_FS_DEFAULT || c->rules[k].policy != p)
			k++;
		layers[i].default_rule = k++;
		for (j = 0; j < p->n_fs_rules; j++, k++) {
			const struct ag_fs_rule *r = &p->fs_rules[j];
			size_t first;

			if (ag_strmap_get(&layers[i].paths, r->path, strlen(r->path), &first)) {
				ag_diags_add(diags, AG_DIAG_ERROR, p->file, r->path_pos,
					     "path \"%s\" already has a rule at line %u",
					     r->path, c->rules[first].pos.line);
				invalid = true;
				continue;
			}
			err = ag_strmap_put(&layers[i].paths, r->path, strlen(r->path), k, NULL);
			if (!err)
				err = ag_strmap_put(&effective, r->path, strlen(r->path), 0, NULL);
			if (err == -EEXIST)	/* another layer has a rule for the same path */
				err = 0;
			if (err)
				goto cleanup;
		}
	}
	if (invalid) {
		err = -EINVAL;
		goto cleanup;
	}

	c->fs = calloc(effective.n, sizeof(*c->fs));
	if (!c->fs) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (v = 0; v < effective.cap; v++) {
		const char *path = effective.slots[v].key;
		struct ag_fs_entry *e;
		__u32 cls;

		if (!path)
			continue;
		e = &c->fs[c->n_fs++];
		e->path = strdup(path);
		if (!e->path) {
			err = -ENOMEM;
			goto cleanup;
		}
		for (cls = 0; cls < AG_FS_NCLASSES; cls++) {
			for (i = 0; i < c->n_policies; i++) {
				__u32 rule = fs_layer_rule(&layers[i], path);
				const struct ag_rule_ref *r = &c->rules[rule];

				dec[i].rule = rule;
				dec[i].layer = r->layer;
				dec[i].verdict = (fs_access[rule] & (1u << cls)) ? AG_ALLOW :
										   deny_verdict(r->mode);
			}
			e->val.verdict[cls] = fold_layers(dec, c->n_policies, &e->val.rule[cls]);
		}
	}
	err = compile_fs_guards(c);
	if (!err)
		err = compile_fs_closure(c);

cleanup:
	if (layers)
		for (i = 0; i < c->n_policies; i++)
			ag_strmap_free(&layers[i].paths);
	ag_strmap_free(&effective);
	free(layers);
	free(dec);
	return err;
}

/* ---- network ------------------------------------------------------------------------- */

struct net_rule_at {
	__u32 rule;		/* rule index */
	size_t policy;		/* layer position */
	const struct ag_net_rule *r;
};

static bool prefix_contains(const __u8 *net, unsigned int plen, const __u8 *addr)
{
	unsigned int full = plen / 8, rem = plen % 8;

	if (memcmp(net, addr, full))
		return false;
	if (!rem)
		return true;
	return ((net[full] ^ addr[full]) & (0xff << (8 - rem))) == 0;
}

static bool rule_covers(const struct ag_net_rule *r, __u8 proto, unsigned int port)
{
	size_t i;

	if (!(r->protocol & proto))
		return false;
	if (!r->n_ports)
		return true;
	for (i = 0; i < r->n_ports; i++)
		if (port >= r->ports[i].lo && port <= r->ports[i].hi)
			return true;
	return false;
}

/* One layer's decision for (proto, port) from the rules that contain the entry. */
static void net_layer_decide(const struct ag_compiled *c, const struct net_rule_at *m, size_t nm,
			     size_t policy, __u32 default_rule, __u8 proto, unsigned int port,
			     struct layer_decision *d)
{
	const struct ag_policy *p = c->policies[policy];
	__u32 allow = AG_RULE_NONE;
	size_t i;

	d->layer = p->layer;
	for (i = 0; i < nm; i++) {
		if (m[i].policy != policy || !rule_covers(m[i].r, proto, port))
			continue;
		if (m[i].r->action == AG_NET_DENY) {
			d->rule = m[i].rule;
			d->verdict = deny_verdict(c->rules[m[i].rule].mode);
			return;
		}
		if (allow == AG_RULE_NONE)
			allow = m[i].rule;
	}
	if (allow != AG_RULE_NONE) {
		d->rule = allow;
		d->verdict = AG_ALLOW;
		return;
	}
	d->rule = default_rule;
	d->verdict = p->net_default_allow ? AG_ALLOW : deny_verdict(c->rules[default_rule].mode);
}

struct run {
	unsigned int lo, hi;
	__u8 verdict;
	__u8 flags;		/* AG_NET_F_* */
	__u32 rule;
};

static int cmp_uint(const void *a, const void *b)
{
	unsigned int x = *(const unsigned int *)a, y = *(const unsigned int *)b;

	return x < y ? -1 : x > y;
}

/* The decision at one (protocol, port) for a port-folding pass: an LPM entry or a binding. */
typedef void (*port_decide_fn)(const void *ctx, __u8 proto, unsigned int port, __u8 *verdict,
			       __u32 *rule, __u8 *flags);

/*
 * The decision of decide over every (protocol, port) as segments + fallback. cuts: the sorted
 * starts of the elementary port intervals (0 first). Returns 0 or -E2BIG when more than
 * AG_NET_MAX_SEGS segments would be needed.
 */
static int fold_ports(const unsigned int *cuts, size_t n_cuts, port_decide_fn decide,
		      const void *ctx, struct ag_net_val *val)
{
	static const __u8 protos[2] = { AG_NET_TCP, AG_NET_UDP };
	struct run *runs[2] = {};
	size_t n_runs[2] = {}, i, j, pi;
	unsigned long best_cover = 0;
	int err = 0;

	memset(val, 0, sizeof(*val));
	runs[0] = malloc((n_cuts + 1) * sizeof(struct run));
	runs[1] = malloc((n_cuts + 1) * sizeof(struct run));
	if (!runs[0] || !runs[1]) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (pi = 0; pi < 2; pi++) {
		for (i = 0; i < n_cuts; i++) {
			unsigned int lo = cuts[i], hi;
			struct run *last = n_runs[pi] ? &runs[pi][n_runs[pi] - 1] : NULL;
			__u32 rule;
			__u8 verdict, flags;

			if (i > 0 && cuts[i] == cuts[i - 1])
				continue;
			for (j = i + 1; j < n_cuts && cuts[j] == lo; j++)
				;
			hi = j < n_cuts ? cuts[j] - 1 : 65535;
			decide(ctx, protos[pi], lo, &verdict, &rule, &flags);
			if (last && last->verdict == verdict && last->rule == rule &&
			    last->flags == flags) {
				last->hi = hi;
				continue;
			}
			runs[pi][n_runs[pi]++] = (struct run){ lo, hi, verdict, flags, rule };
		}
	}

	/* The fallback is the (verdict, rule, flags) covering the most (protocol, port) pairs. */
	for (pi = 0; pi < 2; pi++)
		for (i = 0; i < n_runs[pi]; i++) {
			unsigned long cover = 0;
			size_t qi, q;

			for (qi = 0; qi < 2; qi++)
				for (q = 0; q < n_runs[qi]; q++)
					if (runs[qi][q].verdict == runs[pi][i].verdict &&
					    runs[qi][q].rule == runs[pi][i].rule &&
					    runs[qi][q].flags == runs[pi][i].flags)
						cover += runs[qi][q].hi - runs[qi][q].lo + 1;
			if (cover > best_cover) {
				best_cover = cover;
				val->fallback_verdict = runs[pi][i].verdict;
				val->fallback_rule = runs[pi][i].rule;
				val->fallback_flags = runs[pi][i].flags;
			}
		}

	/* Everything else becomes a segment; identical TCP and UDP runs share one. */
	val->n_segs = 0;
	for (pi = 0; pi < 2; pi++)
		for (i = 0; i < n_runs[pi]; i++) {
			struct run *r = &runs[pi][i];
			struct ag_net_seg *s;

			if (r->verdict == val->fallback_verdict && r->rule == val->fallback_rule &&
			    r->flags == val->fallback_flags)
				continue;
			if (pi == 1) {
				for (j = 0; j < val->n_segs; j++) {
					s = &val->seg[j];
					if (s->proto == AG_NET_TCP && s->port_lo == r->lo &&
					    s->port_hi == r->hi && s->verdict == r->verdict &&
					    s->rule == r->rule && s->flags == r->flags)
						break;
				}
				if (j < val->n_segs) {
					val->seg[j].proto |= AG_NET_UDP;
					continue;
				}
			}
			if (val->n_segs >= AG_NET_MAX_SEGS) {
				err = -E2BIG;
				goto cleanup;
			}
			s = &val->seg[val->n_segs++];
			s->rule = r->rule;
			s->port_lo = r->lo;
			s->port_hi = r->hi;
			s->proto = protos[pi];
			s->verdict = r->verdict;
			s->flags = r->flags;
		}

cleanup:
	free(runs[0]);
	free(runs[1]);
	return err;
}

/* Elementary interval starts: 0 and every lo and hi+1 of the rules' ports, sorted. */
static unsigned int *port_cuts(const struct ag_net_rule *const *r, size_t n, size_t *n_cuts)
{
	unsigned int *cuts;
	size_t i, j, k = 0;

	for (i = 0; i < n; i++)
		k += 2 * r[i]->n_ports;
	cuts = malloc((k + 1) * sizeof(*cuts));
	if (!cuts)
		return NULL;
	k = 0;
	cuts[k++] = 0;
	for (i = 0; i < n; i++)
		for (j = 0; j < r[i]->n_ports; j++) {
			cuts[k++] = r[i]->ports[j].lo;
			if (r[i]->ports[j].hi < 65535)
				cuts[k++] = r[i]->ports[j].hi + 1u;
		}
	qsort(cuts, k, sizeof(*cuts), cmp_uint);
	*n_cuts = k;
	return cuts;
}

struct lpm_ctx {
	const struct ag_compiled *c;
	const struct net_rule_at *m;
	size_t nm;
	const __u32 *net_default;
	struct layer_decision *dec;
};

static void lpm_decide(const void *p, __u8 proto, unsigned int port, __u8 *verdict, __u32 *rule,
		       __u8 *flags)
{
	const struct lpm_ctx *x = p;
	size_t j;

	*flags = 0;
	for (j = 0; j < x->c->n_policies; j++) {
		net_layer_decide(x->c, x->m, x->nm, j, x->net_default[j], proto, port, &x->dec[j]);
		/* An explicit deny rule: a learned domain allow cannot lift it. */
		if (x->dec[j].verdict != AG_ALLOW &&
		    x->c->rules[x->dec[j].rule].kind == AG_RK_NET_RULE)
			*flags |= AG_NET_F_RULE_DENY;
	}
	*verdict = fold_layers(x->dec, x->c->n_policies, rule);
}

/*
 * The folded decision over ports for one entry, as segments + fallback. Returns 0 or -E2BIG
 * when more than AG_NET_MAX_SEGS segments would be needed.
 */
static int net_entry_value(const struct ag_compiled *c, const struct net_rule_at *m, size_t nm,
			   const __u32 *net_default, struct layer_decision *dec,
			   struct ag_net_val *val)
{
	struct lpm_ctx x = { c, m, nm, net_default, dec };
	const struct ag_net_rule **r = calloc(nm + 1, sizeof(*r));
	unsigned int *cuts = NULL;
	size_t n_cuts = 0, i;
	int err;

	if (!r)
		return -ENOMEM;
	for (i = 0; i < nm; i++)
		r[i] = m[i].r;
	cuts = port_cuts(r, nm, &n_cuts);
	err = cuts ? fold_ports(cuts, n_cuts, lpm_decide, &x, val) : -ENOMEM;
	free(cuts);
	free(r);
	return err;
}

/*
 * A rule written inside 64:ff9b::/96, 64:ff9b:1::/48 or 2002::/16 can never match: those
 * destinations are judged as the IPv4 address they carry (ag_net_judged_addr).
 */
static bool embeds_ipv4(const struct ag_net_rule *r)
{
	static const struct {
		__u8 addr[16];
		unsigned int plen;
	} embedding[] = {
		{ { 0x00, 0x64, 0xff, 0x9b }, 96 },
		{ { 0x00, 0x64, 0xff, 0x9b, 0x00, 0x01 }, 48 },
		{ { 0x20, 0x02 }, 16 },
	};
	size_t i;

	if (r->is_v4)
		return false;
	for (i = 0; i < sizeof(embedding) / sizeof(embedding[0]); i++)
		if (r->prefixlen >= embedding[i].plen &&
		    prefix_contains(embedding[i].addr, embedding[i].plen, r->addr))
			return true;
	return false;
}

static void addr_mask(const __u8 *in, unsigned int plen, __u8 *out)
{
	unsigned int i;

	for (i = 0; i < 16; i++) {
		if (plen >= 8 * (i + 1))
			out[i] = in[i];
		else if (plen > 8 * i)
			out[i] = in[i] & (0xff << (8 - (plen - 8 * i)));
		else
			out[i] = 0;
	}
}

static int compile_net(struct ag_compiled *c, struct ag_diags *diags, const __u32 *net_default,
		       const __u32 *net_first_rule)
{
	struct ag_strmap by_prefix = {};	/* 17-byte (plen, addr) -> first index in all[] */
	struct net_rule_at *all = NULL, *m = NULL;
	struct layer_decision *dec = NULL;
	size_t n_all = 0, i, j, k;
	bool lens[129] = {};
	size_t *next = NULL;	/* chain of rules with the same prefix */
	unsigned char key[17];
	bool invalid = false;
	int err = 0;

	for (i = 0; i < c->n_policies; i++)
		n_all += c->policies[i]->n_net_rules;
	all = calloc(n_all + 1, sizeof(*all));
	m = calloc(n_all + 1, sizeof(*m));
	next = calloc(n_all + 1, sizeof(*next));
	dec = calloc(c->n_policies + 1, sizeof(*dec));
	c->dom = calloc(n_all + 1, sizeof(*c->dom));
	if (!all || !m || !next || !dec || !c->dom) {
		err = -ENOMEM;
		goto cleanup;
	}

	k = 0;
	for (i = 0; i < c->n_policies; i++) {
		const struct ag_policy *p = c->policies[i];

		for (j = 0; j < p->n_net_rules; j++) {
			const struct ag_net_rule *r = &p->net_rules[j];
			size_t head;

			if (r->target == AG_TARGET_DOMAIN) {
				/* Not in the LPM table: the resolver learns their addresses. */
				c->dom[c->n_dom++] = (struct ag_domain_rule){
					r->domain, net_first_rule[i] + (__u32)j, i, r };
				continue;
			}
			if (embeds_ipv4(r)) {
				ag_diags_add(diags, AG_DIAG_ERROR, p->file, r->target_pos,
					     "this range carries IPv4 addresses (NAT64 or 6to4), "
					     "which are judged as the IPv4 address they contain: write "
					     "the rule for the IPv4 range instead");
				invalid = true;
				continue;
			}
			all[k] = (struct net_rule_at){ net_first_rule[i] + j, i, r };
			key[0] = r->prefixlen;
			memcpy(key + 1, r->addr, 16);
			lens[r->prefixlen] = true;
			next[k] = SIZE_MAX;
			if (ag_strmap_get(&by_prefix, (char *)key, sizeof(key), &head)) {
				/* Append, keeping policy and rule order. */
				while (next[head] != SIZE_MAX)
					head = next[head];
				next[head] = k;
			} else {
				err = ag_strmap_put(&by_prefix, (char *)key, sizeof(key), k, NULL);
				if (err)
					goto cleanup;
			}
			k++;
		}
	}
	if (invalid) {
		err = -EINVAL;
		goto cleanup;
	}
	n_all = k;

	/* Entries: every distinct rule prefix, plus ::/0 for the defaults. */
	c->net = calloc(by_prefix.n + 1, sizeof(*c->net));
	if (!c->net) {
		err = -ENOMEM;
		goto cleanup;
	}
	c->net[c->n_net++].key.prefixlen = 0;
	for (i = 0; i < by_prefix.cap; i++) {
		const unsigned char *kk = (const unsigned char *)by_prefix.slots[i].key;
		struct ag_net_entry *e;

		if (!kk)
			continue;
		if (kk[0] == 0)
			continue;	/* ::/0 itself is entry 0 */
		e = &c->net[c->n_net++];
		e->key.prefixlen = kk[0];
		memcpy(e->key.addr, kk + 1, 16);
	}

	for (i = 0; i < c->n_net; i++) {
		struct ag_net_entry *e = &c->net[i];
		size_t nm = 0;
		unsigned int plen;

		/* The rules whose CIDR contains this entry, in policy and rule order. */
		for (plen = 0; plen <= e->key.prefixlen; plen++) {
			size_t at;

			if (!lens[plen])
				continue;
			key[0] = plen;
			addr_mask(e->key.addr, plen, key + 1);
			if (!ag_strmap_get(&by_prefix, (char *)key, sizeof(key), &at))
				continue;
			for (; at != SIZE_MAX; at = next[at])
				m[nm++] = all[at];
		}
		err = net_entry_value(c, m, nm, net_default, dec, &e->val);
		if (err == -E2BIG) {
			/* Blame the most specific rule covering the entry (the last matched). */
			const struct net_rule_at *blame = &m[nm - 1];

			ag_diags_add(diags, AG_DIAG_ERROR, c->policies[blame->policy]->file,
				     blame->r->pos, "the rules covering this address need more than %d port "
				     "segments; merge port ranges or split the CIDR",
				     AG_NET_MAX_SEGS);
			err = -EINVAL;
			goto cleanup;
		}
		if (err)
			goto cleanup;
	}

cleanup:
	ag_strmap_free(&by_prefix);
	free(all);
	free(m);
	free(next);
	free(dec);
	return err;
}

/* ---- unix sockets ---------------------------------------------------------------------- */

/* "p/run/x.sock" or "a" + abstract bytes: one key space for both kinds. */
static int unix_key(const struct ag_unix_rule *r, char **key, size_t *len)
{
	size_t n = r->path ? strlen(r->path) : r->abstract_len;

	*key = malloc(n + 1);
	if (!*key)
		return -ENOMEM;
	(*key)[0] = r->path ? 'p' : 'a';
	memcpy(*key + 1, r->path ? r->path : r->abstract, n);
	*len = n + 1;
	return 0;
}

/*
 * A socket is reachable only if every layer lists it, so no lower layer widens a higher one.
 * The entry names the lowest layer's rule.
 */
static int compile_unix(struct ag_compiled *c, const __u32 *unix_first, struct ag_diags *diags)
{
	struct ag_strmap *sets;
	size_t i, j, k, v, low = 0;
	int err = 0;

	if (!c->n_policies)
		return 0;
	sets = calloc(c->n_policies, sizeof(*sets));
	if (!sets)
		return -ENOMEM;
	for (i = 0; i < c->n_policies && !err; i++) {
		const struct ag_policy *p = c->policies[i];

		if (p->layer > c->policies[low]->layer)
			low = i;
		for (j = 0; j < p->n_unix_rules && !err; j++) {
			char *key;
			size_t len;

			err = unix_key(&p->unix_rules[j], &key, &len);
			if (err)
				break;
			err = ag_strmap_put(&sets[i], key, len, unix_first[i] + j, NULL);
			if (err == -EEXIST)
				err = 0;
			free(key);
		}
	}
	/* A rule some other layer does not list has no effect: say so rather than stay silent. */
	for (i = 0; i < c->n_policies && !err; i++) {
		const struct ag_policy *p = c->policies[i];

		for (j = 0; j < p->n_unix_rules && !err; j++) {
			char *key;
			size_t len, missing = SIZE_MAX;

			err = unix_key(&p->unix_rules[j], &key, &len);
			if (err)
				break;
			for (k = 0; k < c->n_policies && missing == SIZE_MAX; k++)
				if (!ag_strmap_get(&sets[k], key, len, &v))
					missing = k;
			free(key);
			if (missing != SIZE_MAX)
				ag_diags_add(diags, AG_DIAG_WARNING, p->file, p->unix_rules[j].pos,
					     "this socket is reachable only if every layer lists it, "
					     "and %s does not: the rule has no effect",
					     c->policies[missing]->file);
		}
	}
	if (!err && c->policies[low]->n_unix_rules) {
		c->unx = calloc(c->policies[low]->n_unix_rules, sizeof(*c->unx));
		if (!c->unx)
			err = -ENOMEM;
	}
	for (j = 0; !err && j < c->policies[low]->n_unix_rules; j++) {
		const struct ag_unix_rule *r = &c->policies[low]->unix_rules[j];
		char *key;
		size_t len;
		bool everywhere = true;

		err = unix_key(r, &key, &len);
		if (err)
			break;
		for (k = 0; k < c->n_policies; k++)
			everywhere = everywhere && ag_strmap_get(&sets[k], key, len, &v);
		free(key);
		if (!everywhere)
			continue;
		c->unx[c->n_unix++] = (struct ag_unix_entry){ r->path, r->abstract,
							      r->abstract_len,
							      unix_first[low] + (__u32)j };
	}
	for (i = 0; i < c->n_policies; i++)
		ag_strmap_free(&sets[i]);
	free(sets);
	return err;
}

enum ag_verdict ag_unix_decide_user(const struct ag_compiled *c, const char *target, __u32 *rule)
{
	bool abstract = target[0] == '@';
	size_t i, len = strlen(target) - abstract;

	for (i = 0; i < c->n_unix; i++) {
		const struct ag_unix_entry *e = &c->unx[i];

		if (abstract ? (e->abstract && e->abstract_len == len &&
				!memcmp(e->abstract, target + 1, len)) :
			       (e->path && !strcmp(e->path, target))) {
			*rule = e->rule;
			return AG_ALLOW;
		}
	}
	*rule = AG_RULE_BUILTIN | AG_BR_UNIX;
	return AG_DENY;
}

/* ---- inbound --------------------------------------------------------------------------- */

/* One rule's entries: one per port range (all ports when it lists none). */
static size_t inbound_entries(const struct ag_net_rule *r, __u32 rule, struct ag_inbound *out,
			      size_t room)
{
	size_t i, n = r->n_ports ? r->n_ports : 1;

	for (i = 0; i < n && i < room; i++) {
		struct ag_inbound *e = &out[i];

		memset(e, 0, sizeof(*e));
		memcpy(e->addr, r->addr, 16);
		e->prefixlen = r->prefixlen;
		e->proto = (__u8)r->protocol;	/* AG_PROTO_* are the AG_NET_* bits */
		e->port_lo = r->n_ports ? r->ports[i].lo : 0;
		e->port_hi = r->n_ports ? r->ports[i].hi : 65535;
		e->rule = rule;
	}
	return n;
}

/* Is every address, protocol and port of a also in b? */
static bool inbound_within(const struct ag_inbound *a, const struct ag_inbound *b)
{
	if (b->prefixlen > a->prefixlen || (a->proto & ~b->proto) || a->port_lo < b->port_lo ||
	    a->port_hi > b->port_hi)
		return false;
	return ag_inbound_match(b, a->addr, a->proto, a->port_lo);
}

static bool inbound_same(const struct ag_inbound *a, const struct ag_inbound *b)
{
	return !memcmp(a->addr, b->addr, 16) && a->prefixlen == b->prefixlen &&
	       a->proto == b->proto && a->port_lo == b->port_lo && a->port_hi == b->port_hi;
}

/*
 * spec.network.inbound across layers: an entry is in effect when some entry of every layer
 * contains it (address, protocol and ports), so no layer can open more than a higher one does.
 * That keeps every contained entry, which is exact when the layers' entries nest, and never
 * more than each layer allows when they do not. A layer without inbound rules keeps it closed.
 * At most AG_INBOUND_MAX entries (each port range of a rule counts).
 */
static int compile_inbound(struct ag_compiled *c, const __u32 *inbound_first,
			   struct ag_diags *diags)
{
	struct ag_inbound **all = calloc(c->n_policies + 1, sizeof(*all));
	size_t *n_all = calloc(c->n_policies + 1, sizeof(*n_all)), i, j, k, m, l;
	int err = 0;

	if (!all || !n_all) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < c->n_policies; i++) {
		const struct ag_policy *p = c->policies[i];
		size_t n = 0;

		for (j = 0; j < p->n_inbound_rules; j++)
			n += p->inbound_rules[j].n_ports ? p->inbound_rules[j].n_ports : 1;
		all[i] = calloc(n + 1, sizeof(*all[i]));
		if (!all[i]) {
			err = -ENOMEM;
			goto cleanup;
		}
		for (j = 0; j < p->n_inbound_rules; j++)
			n_all[i] += inbound_entries(&p->inbound_rules[j], inbound_first[i] + (__u32)j,
						    all[i] + n_all[i], n - n_all[i]);
	}
	/* Lowest layer first, so an entry names the most specific rule that lists it. */
	for (i = c->n_policies; i-- > 0;) {
		for (j = 0; j < n_all[i]; j++) {
			const struct ag_inbound *e = &all[i][j];
			bool keep = true;

			for (l = 0; l < c->n_policies && keep; l++) {
				for (m = 0; m < n_all[l] && !inbound_within(e, &all[l][m]); m++)
					;
				keep = m < n_all[l];
			}
			for (k = 0; k < c->n_inbound && keep; k++)
				keep = !inbound_same(e, &c->inbound[k]);
			if (!keep)
				continue;
			if (c->n_inbound == AG_INBOUND_MAX) {
				const struct ag_rule_ref *r = &c->rules[e->rule];

				ag_diags_add(diags, AG_DIAG_ERROR, r->policy->file, r->pos,
					     "spec.network.inbound: more than %d entries in effect "
					     "(each port range counts); merge ranges or use a wider "
					     "cidr", AG_INBOUND_MAX);
				err = -EINVAL;
				goto cleanup;
			}
			c->inbound[c->n_inbound++] = *e;
		}
	}

cleanup:
	for (i = 0; all && i < c->n_policies; i++)
		free(all[i]);
	free(all);
	free(n_all);
	return err;
}

enum ag_verdict ag_inbound_decide_user(const struct ag_compiled *c, const __u8 addr[16],
				       __u8 proto, __u16 port, __u32 *rule)
{
	size_t i;

	static const __u8 v4any[16] = { [10] = 0xff, [11] = 0xff };
	__u32 found = AG_RULE_NONE;

	*rule = AG_RULE_NONE;
	if (ag_addr_is_loopback(addr))
		return AG_ALLOW;
	for (i = 0; i < c->n_inbound && found == AG_RULE_NONE; i++)
		if (ag_inbound_match(&c->inbound[i], addr, proto, port))
			found = c->inbound[i].rule;
	/* As the kernel: "::" is dual-stack, so the IPv4 wildcard must be allowed too. */
	if (found != AG_RULE_NONE && ag_addr_is_any6(addr)) {
		for (i = 0; i < c->n_inbound; i++)
			if (ag_inbound_match(&c->inbound[i], v4any, proto, port))
				break;
		if (i == c->n_inbound)
			found = AG_RULE_NONE;
	}
	if (found != AG_RULE_NONE) {
		*rule = found;
		return AG_ALLOW;
	}
	*rule = AG_RULE_BUILTIN | AG_BR_INBOUND;
	return AG_DENY;
}

/* ---- driver -------------------------------------------------------------------------- */

int ag_compile(struct ag_policy **policies, size_t n, struct ag_compiled **out,
	       struct ag_diags *diags)
{
	struct ag_compiled *c;
	__u32 *fs_access = NULL, *net_default = NULL, *net_first = NULL, *unix_first = NULL;
	__u32 *inbound_first = NULL;
	unsigned char *cat = NULL;
	size_t i, j;
	int err;

	c = calloc(1, sizeof(*c));
	net_default = calloc(n + 1, sizeof(*net_default));
	net_first = calloc(n + 1, sizeof(*net_first));
	unix_first = calloc(n + 1, sizeof(*unix_first));
	inbound_first = calloc(n + 1, sizeof(*inbound_first));
	cat = malloc(32 * (n + 1));
	if (!c || !net_default || !net_first || !unix_first || !inbound_first || !cat) {
		err = -ENOMEM;
		goto cleanup;
	}
	c->policies = policies;
	c->n_policies = n;

	/* Rule ids start with the policy name: two layers with one name would share ids. */
	for (i = 0; i < n; i++)
		for (j = 0; j < i; j++)
			if (!strcmp(policies[i]->name, policies[j]->name)) {
				ag_diags_add(diags, AG_DIAG_ERROR, policies[i]->file,
					     (struct ag_pos){ 1, 1 },
					     "policy name \"%s\" is already used by %s; names must be "
					     "unique across the files loaded together",
					     policies[i]->name, policies[j]->file);
				err = -EINVAL;
				goto cleanup;
			}

	for (i = 0; i < n; i++) {
		const struct ag_policy *p = policies[i];
		struct ag_pos none = { 0, 0 };
		__u32 idx;

		err = add_rule(c, p, AG_RK_FS_DEFAULT, NULL, "filesystem", -1, AG_MODE_INHERIT, none,
			       &idx);
		for (j = 0; !err && j < p->n_fs_rules; j++)
			err = add_rule(c, p, AG_RK_FS_RULE, p->fs_rules[j].id, "filesystem", j,
				       p->fs_rules[j].mode, p->fs_rules[j].pos, &idx);
		if (!err)
			err = add_rule(c, p, AG_RK_NET_DEFAULT, NULL, "network", -1,
				       AG_MODE_INHERIT, none, &net_default[i]);
		net_first[i] = c->n_rules;
		for (j = 0; !err && j < p->n_net_rules; j++)
			err = add_rule(c, p, AG_RK_NET_RULE, p->net_rules[j].id, "network", j,
				       p->net_rules[j].mode, p->net_rules[j].pos, &idx);
		unix_first[i] = c->n_rules;
		for (j = 0; !err && j < p->n_unix_rules; j++)
			err = add_rule(c, p, AG_RK_UNIX_RULE, p->unix_rules[j].id, "unix", j,
				       AG_MODE_ENFORCE, p->unix_rules[j].pos, &idx);
		inbound_first[i] = c->n_rules;
		for (j = 0; !err && j < p->n_inbound_rules; j++)
			err = add_rule(c, p, AG_RK_INBOUND_RULE, p->inbound_rules[j].id, "inbound", j,
				       AG_MODE_ENFORCE, p->inbound_rules[j].pos, &idx);
		if (err)
			goto cleanup;
		memcpy(cat + 32 * i, p->sha256, 32);
	}

	/* What each rule allows, by class; indexed like c->rules. */
	fs_access = calloc(c->n_rules + 1, sizeof(*fs_access));
	if (!fs_access) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 0, j = 0; i < c->n_rules; i++) {
		const struct ag_rule_ref *r = &c->rules[i];

		if (r->kind == AG_RK_FS_DEFAULT) {
			fs_access[i] = r->policy->fs_default_allow ?
					       AG_FS_WANT_READ | AG_FS_WANT_WRITE | AG_FS_WANT_EXEC :
					       0;
			j = 0;
		} else if (r->kind == AG_RK_FS_RULE) {
			const struct ag_fs_rule *fr = &r->policy->fs_rules[j++];

			if (fr->access == AG_FS_RO)
				fs_access[i] = AG_FS_WANT_READ;
			else if (fr->access == AG_FS_RW)
				fs_access[i] = AG_FS_WANT_READ | AG_FS_WANT_WRITE;
			if (fr->exec && fr->access != AG_FS_NONE)
				fs_access[i] |= AG_FS_WANT_EXEC;
		}
	}

	err = compile_fs(c, diags, fs_access);
	if (!err || err == -EINVAL) {
		int err2 = compile_net(c, diags, net_default, net_first);

		if (!err)
			err = err2;
	}
	if (!err)
		err = compile_unix(c, unix_first, diags);
	if (!err)
		err = compile_inbound(c, inbound_first, diags);
	if (err)
		goto cleanup;

	c->process.io_uring = n > 0;
	for (i = 0; i < n; i++)
		c->process.io_uring &= policies[i]->process.has_io_uring &&
				       policies[i]->process.io_uring;

	/* Limits: the smallest across layers, so no lower layer can loosen a higher one's. */
	for (i = 0; i < n; i++) {
		const struct ag_resources *r = &policies[i]->resources;
		struct ag_limits *lim = &c->limits;

		if (r->has_memory_max && (!lim->memory_set || r->memory_max < lim->memory_max)) {
			lim->memory_set = true;
			lim->memory_max = r->memory_max;
		}
		if (r->has_pids_max && (!lim->pids_set || r->pids_max < lim->pids_max)) {
			lim->pids_set = true;
			lim->pids_max = r->pids_max;
		}
		if (r->has_cpu_max && (!lim->cpu_set || r->cpu_max_percent < lim->cpu_max_percent)) {
			lim->cpu_set = true;
			lim->cpu_max_percent = r->cpu_max_percent;
		}
	}

	ag_sha256(cat, 32 * n, c->sha256);
	for (i = 0; i < 32; i++)
		snprintf(c->sha256_hex + 2 * i, 3, "%02x", c->sha256[i]);
	*out = c;
	c = NULL;

cleanup:
	ag_compiled_free(c);
	free(fs_access);
	free(net_default);
	free(net_first);
	free(unix_first);
	free(inbound_first);
	free(cat);
	return err;
}

void ag_compiled_free(struct ag_compiled *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n_rules; i++)
		free(c->rules[i].id);
	for (i = 0; i < c->n_fs; i++)
		free(c->fs[i].path);
	free(c->rules);
	free(c->fs);
	free(c->net);
	free(c->unx);
	free(c->dom);
	free(c);
}

__u64 ag_fs_path_key(const char *path, size_t len, __u64 seed)
{
	__u64 h = seed;
	size_t i;

	for (i = 0; i < len; i++)
		h = ag_path_hash_step(h, (__u8)path[i]);
	return ag_path_hash_final(h, len);
}

enum ag_verdict ag_fs_decide_user(const struct ag_compiled *c, const char *path, __u32 want,
				  __u32 *rule)
{
	size_t len = strlen(path), i, best = SIZE_MAX;

	/* Entries are few per path: compare each prefix boundary, longest hit wins. */
	for (i = 0; i < c->n_fs; i++) {
		const char *e = c->fs[i].path;
		size_t el = strlen(e);

		if (el > len || memcmp(e, path, el))
			continue;
		if (!(el == 1 || el == len || path[el] == '/'))
			continue;
		if (best == SIZE_MAX || el > strlen(c->fs[best].path))
			best = i;
	}
	if (best == SIZE_MAX) {
		*rule = AG_RULE_NONE;
		return AG_DENY;
	}
	return ag_fs_val_verdict(&c->fs[best].val, want, rule);
}

bool ag_fs_write_possible_under(const struct ag_compiled *c, const char *dir)
{
	size_t dl = strlen(dir), i;
	__u32 rule;

	/* would-deny counts: an audit-mode rule lets the kernel allow the write. */
	if (ag_fs_decide_user(c, dir, AG_FS_WANT_WRITE, &rule) != AG_DENY)
		return true;
	for (i = 0; i < c->n_fs; i++) {
		const struct ag_fs_entry *e = &c->fs[i];

		/* Closure and guard entries decide as their prefix: no write of their own. */
		if (e->guard_only || strncmp(e->path, dir, dl) || e->path[dl] != '/')
			continue;
		if (ag_fs_decide_user(c, e->path, AG_FS_WANT_WRITE, &rule) != AG_DENY)
			return true;
	}
	return false;
}

enum ag_verdict ag_fs_guarded_user(const struct ag_compiled *c, const char *path, __u32 *rule)
{
	enum ag_verdict v = ag_fs_decide_user(c, path, AG_FS_WANT_WRITE, rule);
	size_t i;

	for (i = 0; i < c->n_fs; i++)
		if (!strcmp(c->fs[i].path, path))
			return ag_fs_val_guarded(&c->fs[i].val, v, rule);
	return v;
}

/*
 * The kernel's decision for one judged address (one LPM lookup, ag_net_decide_lpm), with its
 * AG_NET_F_* flags: a miss fails closed with RULE_DENY, as there.
 */
static enum ag_verdict net_decide_one(const struct ag_compiled *c, const __u8 judged[16],
				      __u8 proto, __u16 port, __u32 *rule, __u8 *flags)
{
	size_t i, best = SIZE_MAX;

	for (i = 0; i < c->n_net; i++) {
		const struct ag_net_entry *e = &c->net[i];

		if (!prefix_contains(e->key.addr, e->key.prefixlen, judged))
			continue;
		if (best == SIZE_MAX || e->key.prefixlen > c->net[best].key.prefixlen)
			best = i;
	}
	*rule = AG_RULE_NONE;
	*flags = AG_NET_F_RULE_DENY;
	if (best == SIZE_MAX || !proto)
		return AG_DENY;
	return ag_net_val_verdict_f(&c->net[best].val, proto, port, rule, flags);
}

/* As bpf/net.bpf.c ag_dns_path: 1 the resolver, 0 DNS elsewhere, -1 no say. */
static int dns_path(const struct ag_dns_cfg *cfg, const __u8 judged[16], __u16 port)
{
	if (!cfg || !cfg->enabled)
		return -1;
	if (port == cfg->port && !memcmp(judged, cfg->addr, 16))
		return 1;
	return ag_dns_port_locked(port) ? 0 : -1;
}

/* As bpf/net.bpf.c ag_dns_overlay, on the binding live->lookup finds. */
static enum ag_verdict dns_overlay(const struct ag_net_live *live, const __u8 judged[16],
				   __u8 proto, __u16 port, enum ag_verdict verdict, __u8 flags,
				   __u32 *rule, struct ag_net_why *why)
{
	__u32 slot = ag_state_slot(&live->state) & (AG_GENERATIONS - 1), dr;
	struct ag_dns_learned *d = &why->binding;
	__u8 dv, df;
	int used;

	if (live->lookup(live->ctx, judged, d))
		return verdict;
	why->learned = AG_LEARNED_EXPIRED;
	if (live->now_ns >= d->expiry_ns)
		return verdict;
	why->learned = AG_LEARNED_OTHER_GEN;
	if (d->gen[slot].generation_seq != live->state.generation_seq)
		return verdict;
	why->learned = AG_LEARNED_LIVE;
	dv = ag_net_val_verdict_f(&d->gen[slot].val, proto, port, &dr, &df);
	verdict = ag_dns_apply(verdict, flags, dv, dr, rule, &used);
	why->used = used;
	return verdict;
}

enum ag_verdict ag_net_decide_live(const struct ag_compiled *c, const __u8 addr[16], __u8 proto,
				   __u16 port, const struct ag_net_live *live, __u32 *rule,
				   struct ag_net_why *why)
{
	__u8 cand[AG_NAT64_LAYOUTS][16], fl;
	enum ag_verdict verdict = AG_ALLOW, v;
	int n = ag_net_judged_addrs(addr, cand), k, dns;
	struct ag_net_why w;
	__u32 r;

	*rule = AG_RULE_NONE;
	memset(why, 0, sizeof(*why));
	for (k = 0; k < n; k++) {
		memset(&w, 0, sizeof(w));
		memcpy(w.judged, cand[k], 16);
		dns = live && proto ? dns_path(&live->cfg, cand[k], port) : -1;
		if (dns >= 0) {
			v = dns ? AG_ALLOW : AG_DENY;
			r = dns ? AG_RULE_NONE : AG_RULE_BUILTIN | AG_BR_DNS_ELSEWHERE;
			w.resolver = dns;
			w.dns_elsewhere = !dns;
		} else {
			v = net_decide_one(c, cand[k], proto, port, &r, &fl);
			if (live && proto && live->cfg.enabled)
				v = dns_overlay(live, cand[k], proto, port, v, fl, &r, &w);
		}
		if (!k || v > verdict) {
			verdict = v;
			*rule = r;
			*why = w;
		}
	}
	return verdict;
}

/* As bpf/net.bpf.c ag_judge without a resolver: every candidate IPv4 layout, the strictest. */
enum ag_verdict ag_net_decide_user(const struct ag_compiled *c, const __u8 addr[16], __u8 proto,
				   __u16 port, __u32 *rule)
{
	struct ag_net_why why;

	return ag_net_decide_live(c, addr, proto, port, NULL, rule, &why);
}

const char *ag_verdict_name(enum ag_verdict v)
{
	switch (v) {
	case AG_ALLOW:
		return "allow";
	case AG_WOULD_DENY:
		return "would-deny";
	case AG_DENY:
		return "deny";
	}
	return "deny";
}

/* ---- domain rules (issue #9) ----------------------------------------------------------- */

bool ag_domain_match(const char *pattern, const char *name)
{
	size_t pl, nl = strlen(name);

	if (pattern[0] != '*')
		return !strcmp(pattern, name);
	/* "*.x.test": any name below x.test, at any depth, not x.test itself. */
	pl = strlen(pattern + 1);	/* ".x.test" */
	return nl > pl && !strcmp(name + nl - pl, pattern + 1);
}

/* Is a judged IPv4 address (network byte order, as bytes) internal? */
static bool ip4_internal(const __u8 *a)
{
	return a[0] == 0 ||					/* 0.0.0.0/8: this host */
	       a[0] == 10 ||					/* RFC 1918 */
	       (a[0] == 100 && (a[1] & 0xc0) == 64) ||		/* 100.64.0.0/10: CGNAT */
	       a[0] == 127 ||					/* loopback */
	       (a[0] == 169 && a[1] == 254) ||			/* link-local, metadata */
	       (a[0] == 172 && (a[1] & 0xf0) == 16) ||		/* RFC 1918 */
	       (a[0] == 192 && a[1] == 168) ||			/* RFC 1918 */
	       (a[0] & 0xf0) == 224 ||				/* multicast */
	       (a[0] == 255 && a[1] == 255 && a[2] == 255 && a[3] == 255);
}

static bool judged_internal(const __u8 *j)
{
	static const __u8 v4[12] = { [10] = 0xff, [11] = 0xff };
	static const __u8 zero[15];

	if (!memcmp(j, v4, sizeof(v4)))
		return ip4_internal(j + 12);
	return (!memcmp(j, zero, sizeof(zero)) && j[15] <= 1) ||	/* :: and ::1 */
	       (j[0] & 0xfe) == 0xfc ||				/* fc00::/7: ULA */
	       (j[0] == 0xfe && (j[1] & 0x80) == 0x80) ||	/* fe80::/10, fec0::/10 */
	       j[0] == 0xff;					/* multicast */
}

bool ag_net_addr_internal(const __u8 addr[16])
{
	__u8 cand[AG_NAT64_LAYOUTS][16];
	int n = ag_net_judged_addrs(addr, cand), k;

	/* Each form the kernel judges it as: one internal candidate is enough. */
	for (k = 0; k < n; k++)
		if (judged_internal(cand[k]))
			return true;
	return false;
}

/*
 * Does a segment allow some port that is not DNS's? 53 and 853 reach only the resolver while it
 * runs (builtin:dns-elsewhere), whatever an allow says.
 */
static bool seg_allows_beyond_dns(const struct ag_net_seg *g)
{
	unsigned int locked = (g->port_lo <= 53 && 53 <= g->port_hi) +
			      (g->port_lo <= 853 && 853 <= g->port_hi);

	if (g->verdict != AG_ALLOW)
		return false;
	return (unsigned int)g->port_hi - g->port_lo + 1 > locked;
}

/* Does the LPM value of a judged address allow a connection, on some protocol and port? */
static bool lpm_allows_some(const struct ag_compiled *c, const __u8 judged[16])
{
	const struct ag_net_val *v;
	size_t i, best = SIZE_MAX;

	for (i = 0; i < c->n_net; i++) {
		const struct ag_net_entry *e = &c->net[i];

		if (prefix_contains(e->key.addr, e->key.prefixlen, judged) &&
		    (best == SIZE_MAX || e->key.prefixlen > c->net[best].key.prefixlen))
			best = i;
	}
	if (best == SIZE_MAX)
		return false;	/* a miss denies, as the kernel's */
	v = &c->net[best].val;
	if (v->fallback_verdict == AG_ALLOW)
		return true;
	for (i = 0; i < v->n_segs && i < AG_NET_MAX_SEGS; i++)
		if (seg_allows_beyond_dns(&v->seg[i]))
			return true;
	return false;
}

bool ag_dns_answer_withheld(const struct ag_compiled *c, const __u8 addr[16])
{
	__u8 cand[AG_NAT64_LAYOUTS][16];
	int n, k;

	if (!ag_net_addr_internal(addr))
		return false;
	/*
	 * Kept only where the policy itself opens it: then the record grants nothing a
	 * connect() to the literal address would not get. Audit verdicts (would-deny) do not
	 * count: withholding is a built-in rule, as the resolver's others, not lifted by audit.
	 */
	n = ag_net_judged_addrs(addr, cand);
	for (k = 0; k < n; k++)
		if (!lpm_allows_some(c, cand[k]))
			return true;
	return false;
}

static bool rule_all_ports(const struct ag_net_rule *r)
{
	return !r->n_ports && (r->protocol & AG_NET_TCP) && (r->protocol & AG_NET_UDP);
}

enum ag_verdict ag_dns_query_decide(const struct ag_compiled *c, const char *name, __u32 *rule)
{
	struct layer_decision *dec = calloc(c->n_policies + 1, sizeof(*dec));
	enum ag_verdict v;
	size_t i, k;

	*rule = AG_RULE_NONE;
	if (!dec)
		return AG_DENY;	/* fail closed */
	for (i = 0; i < c->n_policies; i++) {
		const struct ag_policy *p = c->policies[i];
		__u32 deny = AG_RULE_NONE, allow = AG_RULE_NONE, def = AG_RULE_NONE;

		for (k = 0; k < c->n_rules; k++)
			if (c->rules[k].policy == p && c->rules[k].kind == AG_RK_NET_DEFAULT)
				def = k;
		for (k = 0; k < c->n_dom; k++) {
			const struct ag_domain_rule *d = &c->dom[k];

			if (d->policy != i || !ag_domain_match(d->pattern, name))
				continue;
			if (d->r->action == AG_NET_DENY && rule_all_ports(d->r) &&
			    deny == AG_RULE_NONE)
				deny = d->rule;
			else if (d->r->action == AG_NET_ALLOW && allow == AG_RULE_NONE)
				allow = d->rule;
		}
		dec[i].layer = p->layer;
		if (deny != AG_RULE_NONE) {
			dec[i].rule = deny;
			dec[i].verdict = deny_verdict(c->rules[deny].mode);
		} else if (allow != AG_RULE_NONE) {
			dec[i].rule = allow;
			dec[i].verdict = AG_ALLOW;
		} else {
			dec[i].rule = def;
			dec[i].verdict = p->net_default_allow || def == AG_RULE_NONE ?
						 AG_ALLOW :
						 deny_verdict(c->rules[def].mode);
		}
	}
	v = fold_layers(dec, c->n_policies, rule);
	free(dec);
	return v;
}

struct learned_ctx {
	const struct ag_compiled *c;
	const struct ag_domain_rule **m;	/* the domain rules matching one of the names */
	size_t nm;
	struct layer_decision *dec;
	bool no_allow;		/* an internal address: a domain rule may deny, never allow */
};

static void learned_decide(const void *p, __u8 proto, unsigned int port, __u8 *verdict,
			   __u32 *rule, __u8 *flags)
{
	const struct learned_ctx *x = p;
	const struct ag_compiled *c = x->c;
	bool any_deny = false, all_allow = true, any_allow = false;
	size_t i, k;

	*flags = 0;
	for (i = 0; i < c->n_policies; i++) {
		const struct ag_policy *pol = c->policies[i];
		__u32 deny = AG_RULE_NONE, allow = AG_RULE_NONE;

		for (k = 0; k < x->nm; k++) {
			const struct ag_domain_rule *d = x->m[k];

			if (d->policy != i || !rule_covers(d->r, proto, port))
				continue;
			if (d->r->action == AG_NET_DENY && deny == AG_RULE_NONE)
				deny = d->rule;
			else if (d->r->action == AG_NET_ALLOW && allow == AG_RULE_NONE)
				allow = d->rule;
		}
		x->dec[i].layer = pol->layer;
		if (deny != AG_RULE_NONE) {
			any_deny = true;
			x->dec[i].rule = deny;
			x->dec[i].verdict = deny_verdict(c->rules[deny].mode);
		} else {
			/* Layers without a say here count as allowing: only denials are folded. */
			x->dec[i].rule = allow;
			x->dec[i].verdict = AG_ALLOW;
			if (allow != AG_RULE_NONE)
				any_allow = true;
			else if (!pol->net_default_allow)
				all_allow = false;	/* this layer's CIDRs decide: no say */
		}
	}
	if (any_deny) {
		*verdict = fold_layers(x->dec, c->n_policies, rule);
		return;
	}
	if (all_allow && any_allow && !x->no_allow) {
		/* The lowest layer's domain rule names the allow. */
		*rule = AG_RULE_NONE;
		for (i = c->n_policies; i-- > 0;)
			if (x->dec[i].rule != AG_RULE_NONE &&
			    (*rule == AG_RULE_NONE || x->dec[i].layer > c->rules[*rule].layer))
				*rule = x->dec[i].rule;
		*verdict = AG_ALLOW;
		return;
	}
	*rule = AG_RULE_NONE;
	*verdict = AG_DNS_PASS;
}

int ag_dns_learned_val(const struct ag_compiled *c, const __u8 addr[16],
		       const char *const *names, size_t n, struct ag_net_val *val)
{
	struct learned_ctx x = { c, NULL, 0, NULL, addr && ag_net_addr_internal(addr) };
	const struct ag_net_rule **r = NULL;
	unsigned int *cuts = NULL;
	size_t i, k, n_cuts = 0;
	int err = -ENOMEM;

	x.m = calloc(c->n_dom + 1, sizeof(*x.m));
	x.dec = calloc(c->n_policies + 1, sizeof(*x.dec));
	r = calloc(c->n_dom + 1, sizeof(*r));
	if (!x.m || !x.dec || !r)
		goto cleanup;
	for (k = 0; k < c->n_dom; k++)
		for (i = 0; i < n; i++)
			if (ag_domain_match(c->dom[k].pattern, names[i])) {
				r[x.nm] = c->dom[k].r;
				x.m[x.nm++] = &c->dom[k];
				break;
			}
	cuts = port_cuts(r, x.nm, &n_cuts);
	if (!cuts)
		goto cleanup;
	err = fold_ports(cuts, n_cuts, learned_decide, &x, val);
	if (err == -E2BIG) {
		/* Too fine to represent: the strictest decision anywhere, for every port. */
		__u8 strict = AG_DNS_PASS, v, f;
		__u32 rule, srule = AG_RULE_NONE;

		for (i = 0; i < n_cuts; i++)
			for (k = 0; k < 2; k++) {
				learned_decide(&x, k ? AG_NET_UDP : AG_NET_TCP, cuts[i], &v, &rule,
					       &f);
				if (v == AG_DENY || (v == AG_WOULD_DENY && strict != AG_DENY) ||
				    (v == AG_ALLOW && strict == AG_DNS_PASS)) {
					/* Never widen: an allow only where nothing stricter is. */
					strict = v == AG_ALLOW ? AG_DNS_PASS : v;
					srule = rule;
				}
			}
		memset(val, 0, sizeof(*val));
		val->fallback_verdict = strict;
		val->fallback_rule = strict == AG_DNS_PASS ? AG_RULE_NONE : srule;
	}

cleanup:
	free(cuts);
	free(r);
	free(x.m);
	free(x.dec);
	return err;
}

enum ag_verdict ag_net_decide_learned(const struct ag_compiled *c, const __u8 addr[16],
				      __u8 proto, __u16 port, const char *const *names, size_t n,
				      __u32 *rule)
{
	__u8 judged[16], flags = AG_NET_F_RULE_DENY, dv, df;
	struct ag_net_val val;
	size_t i, best = SIZE_MAX;
	enum ag_verdict v = AG_DENY;
	__u32 dr;
	int used;

	/* One candidate (local-use NAT64 is judged per layout by ag_net_decide_user). */
	ag_net_judged_addr(addr, judged);
	*rule = AG_RULE_NONE;
	for (i = 0; i < c->n_net; i++) {
		const struct ag_net_entry *e = &c->net[i];

		if (prefix_contains(e->key.addr, e->key.prefixlen, judged) &&
		    (best == SIZE_MAX || e->key.prefixlen > c->net[best].key.prefixlen))
			best = i;
	}
	if (best != SIZE_MAX && proto)
		v = ag_net_val_verdict_f(&c->net[best].val, proto, port, rule, &flags);
	if (!n || !proto)
		return v;
	used = ag_dns_learned_val(c, judged, names, n, &val);
	if (used && used != -E2BIG)
		return v;
	dv = ag_net_val_verdict_f(&val, proto, port, &dr, &df);
	return ag_dns_apply(v, flags, dv, dr, rule, &used);
}
