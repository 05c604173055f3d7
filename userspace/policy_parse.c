// SPDX-License-Identifier: GPL-2.0
/*
 * Policy language v1: YAML text → struct ag_policy, with every problem reported as a diagnostic
 * at its FILE:LINE:COL. Two passes: libyaml events are first loaded into a small tree that keeps
 * each node's position (libyaml's document API would drop duplicate keys silently and expand
 * aliases, losing the positions we need), then the tree is checked against schema v1.
 *
 * Everything is checked even after the first error so one `agentguard check` run shows them all;
 * only a YAML syntax error stops early, because after it the tree is incomplete and every
 * "missing field" we could report would be noise.
 *
 * This file never prints: diagnostics go to struct ag_diags, errors are returned as -errno.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "policy.h"
#include "sha256.h"

#define API_VERSION "agentguard/v1"
#define KIND "Policy"
#define ID_MAX 128
/* A v1 policy nests six levels deep; the bound keeps the tree's recursive walks shallow. */
#define DEPTH_MAX 32
/* 100k rules take about 10 MiB; anything far bigger is not a policy. */
#define FILE_SIZE_MAX (256u << 20)
/* Room for a user string quoted and escaped in a message, truncated to QUOTE_CHARS bytes. */
#define QUOTE_CHARS 80
#define QUOTE_BUF (QUOTE_CHARS * 6 + 8)
/* sun_path is 108 bytes; an abstract name takes all but the leading NUL. */
#define ABSTRACT_MAX 107
/* A cgroup smaller than this cannot start much; the loader writes memory.max in bytes. */
#define MEMORY_MIN (1ull << 20)
/* The kernel clamps larger memory.max values to "max" (PAGE_COUNTER_MAX pages). */
#define MEMORY_LIMIT ((uint64_t)INT64_MAX)
/* PID_MAX_LIMIT on 64-bit: no cgroup can hold more tasks. */
#define PIDS_LIMIT 4194304
/* Percent of one CPU: 1000 CPUs. */
#define CPU_PERCENT_LIMIT 100000

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

enum node_kind {
	N_SCALAR,
	N_MAP,
	N_SEQ,
};

/* 32 bytes: a 100k-rule policy is a million nodes, and memory touched is most of the time. */
struct node {
	struct ag_pos pos;
	uint8_t kind;		/* enum node_kind */
	bool bad;		/* already reported (alias, tag, bad key): checks skip it */
	bool quoted;		/* scalar in quotes or a block scalar: always a string */
	uint32_t cap;		/* collections: room in kids */
	union {
		struct {
			char *val;	/* NUL-terminated, but "\0" can put NULs inside: use len */
			size_t len;
		};
		struct {
			/* Maps: key, value, key, value...; sequences: items. */
			struct node **kids;
			size_t n;
		};
	};
};

/*
 * The tree lives in an arena freed at once: a 100k-rule policy is a million nodes, and one
 * malloc each was most of the parse time. Under ASan every allocation gets its own chunk so
 * overflows are still caught.
 */
#if defined(__SANITIZE_ADDRESS__)
#define ARENA_CHUNK 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_CHUNK 0
#endif
#endif
#ifndef ARENA_CHUNK
#define ARENA_CHUNK (1u << 20)
#endif

struct arena_chunk {
	struct arena_chunk *next;
	size_t used;
	size_t size;
	_Alignas(max_align_t) unsigned char data[];
};

struct ctx {
	struct arena_chunk *arena;
	const char *file;
	const char *buf;
	size_t len;
	struct ag_diags *diags;
	struct ag_policy *p;
	int err;		/* -ENOMEM once an allocation failed; the parse then returns it */
	/*
	 * What warn_symlink learnt from the rule before: a directory with no symlink on its way,
	 * and a path that does not exist. Rules tend to share prefixes, and a 100k-rule policy
	 * spent a third of its time in lstat.
	 */
	char dir[PATH_MAX];
	size_t dir_len;
	char missing[PATH_MAX];
	size_t missing_len;
};

/*
 * A field a mapping may hold, and what check_map found for it. An unlisted field is one that
 * people write by analogy but the mapping refuses: check_map finds it without offering it in
 * its list of expected fields, and the caller says why it is refused.
 */
struct field {
	const char *name;
	bool unlisted;
	const struct node *key;
	const struct node *val;
};

static const char *const layer_names[] = { "org", "team", "local" };
static const char *const mode_names[] = { "enforce", "audit" };
static const char *const default_names[] = { "deny", "allow" };
static const char *const access_names[] = { "none", "ro", "rw" };
static const char *const action_names[] = { "allow", "deny" };
static const char *const proto_names[] = { "tcp", "udp", "any" };
static const enum ag_net_proto proto_values[] = { AG_PROTO_TCP, AG_PROTO_UDP, AG_PROTO_ANY };

const char *ag_layer_name(enum ag_layer layer)
{
	if ((unsigned int)layer < ARRAY_SIZE(layer_names))
		return layer_names[layer];
	return "unknown";
}

const char *ag_mode_name(enum ag_mode mode)
{
	if (mode == AG_MODE_INHERIT)
		return "inherit";
	if ((unsigned int)mode < ARRAY_SIZE(mode_names))
		return mode_names[mode];
	return "unknown";
}

/* Diagnostics */

static void __attribute__((format(printf, 4, 5)))
report(struct ctx *c, enum ag_diag_level level, struct ag_pos pos, const char *fmt, ...)
{
	size_t before = c->diags->n;
	char *msg = NULL;
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (ret < 0) {
		c->err = -ENOMEM;
		return;
	}
	ag_diags_add(c->diags, level, c->file, pos, "%s", msg);
	free(msg);
	/* ag_diags_add drops the diagnostic when it cannot allocate: a lost error must not pass. */
	if (c->diags->n == before)
		c->err = -ENOMEM;
}

#define err_at(c, pos, ...) report(c, AG_DIAG_ERROR, pos, __VA_ARGS__)
#define warn_at(c, pos, ...) report(c, AG_DIAG_WARNING, pos, __VA_ARGS__)

/*
 * Quote a user string for a message: escape what a terminal would interpret, truncate what
 * would drown the message. Bytes >= 0x80 pass (libyaml only hands out valid UTF-8) except the
 * C1 controls U+0080..U+009F.
 */
static const char *quote(char *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	out[o++] = '"';
	for (i = 0; i < len && i < QUOTE_CHARS; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\') {
			out[o++] = '\\';
			out[o++] = (char)ch;
		} else if (ch < 0x20 || ch == 0x7f) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 0xf];
		} else if (ch == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 &&
			   (unsigned char)s[i + 1] <= 0x9f) {
			ch = (unsigned char)s[++i];
			memcpy(out + o, "\\u00", 4);
			o += 4;
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 0xf];
		} else {
			out[o++] = (char)ch;
		}
	}
	out[o++] = '"';
	if (i < len) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

/* The tree */

/* Pointer-aligned: nothing in the tree needs more. */
static void *arena_alloc(struct ctx *c, size_t len)
{
	struct arena_chunk *ch = c->arena;
	size_t size;
	void *p;

	if (len > SIZE_MAX - sizeof(void *))
		return NULL;
	len = (len + sizeof(void *) - 1) & ~(sizeof(void *) - 1);
	if (!ch || ch->size - ch->used < len) {
		size = len > ARENA_CHUNK ? len : ARENA_CHUNK;
		ch = malloc(sizeof(*ch) + size);
		if (!ch)
			return NULL;
		ch->next = c->arena;
		ch->used = 0;
		ch->size = size;
		c->arena = ch;
	}
	p = ch->data + ch->used;
	ch->used += len;
	return p;
}

static void arena_free(struct ctx *c)
{
	struct arena_chunk *ch, *next;

	for (ch = c->arena; ch; ch = next) {
		next = ch->next;
		free(ch);
	}
	c->arena = NULL;
}

static int node_add(struct ctx *c, struct node *parent, struct node *kid)
{
	if (parent->n == parent->cap) {
		/* Mappings in a policy have up to 8 keys: one allocation for most. */
		size_t cap = parent->cap ? (size_t)parent->cap * 2 : 8;
		struct node **kids;

		if (cap > UINT32_MAX)
			return -ENOMEM;
		kids = arena_alloc(c, cap * sizeof(*kids));
		if (!kids)
			return -ENOMEM;
		if (parent->n)
			memcpy(kids, parent->kids, parent->n * sizeof(*kids));
		parent->kids = kids;
		parent->cap = (uint32_t)cap;
	}
	parent->kids[parent->n++] = kid;
	return 0;
}

static bool same_str(const struct node *a, const struct node *b)
{
	return a->len == b->len && memcmp(a->val, b->val, a->len) == 0;
}

static bool is(const struct node *n, const char *s)
{
	size_t len = strlen(s);

	return n->kind == N_SCALAR && n->val && n->len == len && memcmp(n->val, s, len) == 0;
}

struct key_ref {
	const struct node *key;
	size_t i;		/* index of the key in the mapping's kids */
};

static int key_ref_cmp(const void *a, const void *b)
{
	const struct key_ref *x = a, *y = b;
	size_t len = x->key->len < y->key->len ? x->key->len : y->key->len;
	int r = memcmp(x->key->val, y->key->val, len);

	if (r)
		return r;
	if (x->key->len != y->key->len)
		return x->key->len < y->key->len ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/*
 * libyaml hands out duplicate keys as they come (its loader keeps the last). Report each repeat
 * at its own position and drop it, keeping the first. Sorting keeps a hostile mapping with
 * many keys from going quadratic.
 */
static int map_drop_duplicates(struct ctx *c, struct node *map)
{
	struct key_ref *refs;
	size_t i, j, n = 0;
	char qb[QUOTE_BUF];

	if (map->n < 4)
		return 0;
	refs = calloc(map->n / 2, sizeof(*refs));
	if (!refs)
		return -ENOMEM;
	for (i = 0; i + 1 < map->n; i += 2)
		if (!map->kids[i]->bad)
			refs[n++] = (struct key_ref){ .key = map->kids[i], .i = i };
	qsort(refs, n, sizeof(*refs), key_ref_cmp);
	for (i = 1; i < n; i++) {
		const struct node *first = refs[i - 1].key;

		if (!same_str(refs[i].key, first))
			continue;
		/* The run's first entry keeps its place in refs[i - 1] for the next repeat. */
		refs[i].key = first;
		err_at(c, map->kids[refs[i].i]->pos, "duplicate key %s (first at %u:%u)",
		       quote(qb, first->val, first->len), first->pos.line, first->pos.col);
		map->kids[refs[i].i] = NULL;
		map->kids[refs[i].i + 1] = NULL;
	}
	free(refs);

	for (i = 0, j = 0; i < map->n; i++)
		if (map->kids[i])
			map->kids[j++] = map->kids[i];
	map->n = j;
	return 0;
}

static struct ag_pos mark_pos(yaml_mark_t m)
{
	/* libyaml counts lines and columns (in characters) from 0, editors from 1. */
	return (struct ag_pos){
		.line = (unsigned int)m.line + 1,
		.col = (unsigned int)m.column + 1,
	};
}

/* Reader errors (bad UTF-8, raw control characters) carry only a byte offset. */
static struct ag_pos offset_pos(const struct ctx *c, size_t off)
{
	struct ag_pos pos = { 1, 1 };
	size_t i;

	for (i = 0; i < off && i < c->len; i++) {
		if (c->buf[i] == '\n') {
			pos.line++;
			pos.col = 1;
		} else if (((unsigned char)c->buf[i] & 0xc0) != 0x80) {
			pos.col++;
		}
	}
	return pos;
}

static void syntax_error(struct ctx *c, const yaml_parser_t *parser)
{
	const char *problem = parser->problem ? parser->problem : "unknown error";

	if (parser->error == YAML_MEMORY_ERROR) {
		c->err = -ENOMEM;
		return;
	}
	if (parser->error == YAML_READER_ERROR) {
		err_at(c, offset_pos(c, parser->problem_offset), "invalid YAML input: %s", problem);
		return;
	}
	if (parser->context)
		err_at(c, mark_pos(parser->problem_mark), "YAML syntax error: %s (%s at %zu:%zu)",
		       problem, parser->context, parser->context_mark.line + 1,
		       parser->context_mark.column + 1);
	else
		err_at(c, mark_pos(parser->problem_mark), "YAML syntax error: %s", problem);
}

/* Hang a new node under the innermost open collection, or make it the root. */
static int attach(struct ctx *c, struct node **stack, size_t depth, struct node **root,
		  struct node *n)
{
	struct node *parent;

	if (!depth) {
		*root = n;
		return 0;
	}
	parent = stack[depth - 1];
	if (parent->kind == N_MAP && parent->n % 2 == 0 && n->kind != N_SCALAR && !n->bad) {
		err_at(c, n->pos, "mapping keys must be plain strings, not a %s",
		       n->kind == N_MAP ? "mapping" : "sequence");
		n->bad = true;
	}
	return node_add(c, parent, n);
}

/*
 * Load the first document into a tree. Returns 0 with *root set (diagnostics may have been
 * added for aliases, tags, duplicate keys or further documents: the tree is still worth
 * checking), -EINVAL when there is nothing worth checking, or -ENOMEM.
 */
static int load(struct ctx *c, struct node **root)
{
	struct node *stack[DEPTH_MAX];
	yaml_parser_t parser;
	yaml_event_t ev;
	struct ag_pos doc_pos = { 1, 1 };
	size_t depth = 0;
	int docs = 0, err = 0;
	bool done = false;
	char qb[QUOTE_BUF];

	*root = NULL;
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)c->buf, c->len);

	while (!done) {
		struct node *n = NULL;
		const char *tag = NULL;

		if (!yaml_parser_parse(&parser, &ev)) {
			syntax_error(c, &parser);
			err = c->err ? c->err : -EINVAL;
			goto cleanup;
		}

		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs == 1)
				doc_pos = mark_pos(ev.start_mark);
			if (docs > 1) {
				/* Check the first one anyway; the rest is not read. */
				err_at(c, mark_pos(ev.start_mark),
				       "a second YAML document: a policy file holds exactly one");
				done = true;
			}
			break;
		case YAML_ALIAS_EVENT:
		case YAML_SCALAR_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			n = arena_alloc(c, sizeof(*n));
			if (!n) {
				err = -ENOMEM;
				break;
			}
			memset(n, 0, sizeof(*n));
			n->pos = mark_pos(ev.start_mark);
			if (ev.type == YAML_ALIAS_EVENT) {
				/* Aliases would make one node appear at many places. */
				n->kind = N_SCALAR;
				n->bad = true;
				err_at(c, n->pos, "YAML aliases are not supported (*%s): write the value out",
				       (const char *)ev.data.alias.anchor);
			} else if (ev.type == YAML_SCALAR_EVENT) {
				n->kind = N_SCALAR;
				n->quoted = ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
				n->len = ev.data.scalar.length;
				n->val = n->len < SIZE_MAX ? arena_alloc(c, n->len + 1) : NULL;
				if (!n->val) {
					err = -ENOMEM;
					break;
				}
				memcpy(n->val, ev.data.scalar.value, n->len + 1);
				tag = (const char *)ev.data.scalar.tag;
			} else if (ev.type == YAML_SEQUENCE_START_EVENT) {
				n->kind = N_SEQ;
				tag = (const char *)ev.data.sequence_start.tag;
			} else {
				n->kind = N_MAP;
				tag = (const char *)ev.data.mapping_start.tag;
			}
			if (tag) {
				/* A tag would change what a scalar means: the schema fixes types. */
				n->bad = true;
				err_at(c, n->pos, "YAML tags are not supported (%s)",
				       quote(qb, tag, strlen(tag)));
			}
			err = attach(c, stack, depth, root, n);
			if (err)
				break;
			if (n->kind == N_SCALAR)
				break;
			if (depth == DEPTH_MAX) {
				err_at(c, n->pos, "nested deeper than %d levels", DEPTH_MAX);
				err = -EINVAL;
				break;
			}
			stack[depth++] = n;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			n = stack[--depth];
			if (n->kind == N_MAP)
				err = map_drop_duplicates(c, n);
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
		if (err)
			goto cleanup;
		if (c->err) {
			err = c->err;
			goto cleanup;
		}
	}

	/* No document, or one with nothing in it ("---" alone parses as a null scalar). */
	if (!docs || (!*root || ((*root)->kind == N_SCALAR && !(*root)->quoted &&
				 !(*root)->bad && !(*root)->len))) {
		err_at(c, doc_pos, "empty policy file");
		err = c->err ? c->err : -EINVAL;
	}

cleanup:
	yaml_parser_delete(&parser);
	if (err)
		*root = NULL;
	return err;
}

/* Typed access to nodes */

enum scalar_type {
	T_NULL,
	T_BOOL,
	T_INT,
	T_FLOAT,
	T_STR,
};

static bool all_of(const char *s, size_t len, const char *set)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!s[i] || !strchr(set, s[i]))
			return false;
	return len > 0;
}

/* What a plain scalar is under the YAML 1.2 core schema, so `name: 123` is not a string. */
static enum scalar_type scalar_type(const struct node *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
	static const char *const bools[] = { "true", "True", "TRUE", "false", "False", "FALSE" };
	static const char *const specials[] = { ".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN" };
	const char *s = n->val;
	size_t len = n->len, i, digits;

	if (n->quoted)
		return T_STR;
	for (i = 0; i < ARRAY_SIZE(nulls); i++)
		if (is(n, nulls[i]))
			return T_NULL;
	for (i = 0; i < ARRAY_SIZE(bools); i++)
		if (is(n, bools[i]))
			return T_BOOL;
	if (len > 2 && s[0] == '0' && s[1] == 'o' && all_of(s + 2, len - 2, "01234567"))
		return T_INT;
	if (len > 2 && s[0] == '0' && s[1] == 'x' &&
	    all_of(s + 2, len - 2, "0123456789abcdefABCDEF"))
		return T_INT;
	if (len && (s[0] == '-' || s[0] == '+')) {
		s++;
		len--;
	}
	for (i = 0; i < ARRAY_SIZE(specials); i++)
		if (len == 4 && memcmp(s, specials[i], 4) == 0 && (s == n->val || s[1] == 'i'))
			return T_FLOAT;
	if (all_of(s, len, "0123456789"))
		return T_INT;
	/* [0-9]+(\.[0-9]*)? | \.[0-9]+, then ([eE][-+]?[0-9]+)? */
	for (i = 0, digits = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		digits++;
	if (i < len && s[i] == '.')
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
	if (!digits)
		return T_STR;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '-' || s[i] == '+'))
			i++;
		if (i == len || !all_of(s + i, len - i, "0123456789"))
			return T_STR;
		i = len;
	}
	return i == len ? T_FLOAT : T_STR;
}

static const char *type_name(const struct node *n)
{
	static const char *const names[] = {
		[T_NULL] = "null (no value)", [T_BOOL] = "a boolean", [T_INT] = "an integer",
		[T_FLOAT] = "a number", [T_STR] = "a string",
	};

	if (n->kind == N_MAP)
		return "a mapping";
	if (n->kind == N_SEQ)
		return "a sequence";
	return names[scalar_type(n)];
}

static bool want_kind(struct ctx *c, const struct node *n, enum node_kind kind, const char *what)
{
	if (n->bad)
		return false;
	if (n->kind == kind && (kind != N_SCALAR || scalar_type(n) == T_STR))
		return true;
	err_at(c, n->pos, "%s: expected %s, got %s", what,
	       kind == N_MAP ? "a mapping" : kind == N_SEQ ? "a sequence" : "a string",
	       type_name(n));
	return false;
}

static bool want_str(struct ctx *c, const struct node *n, const char *what)
{
	return want_kind(c, n, N_SCALAR, what);
}

/* Returns the index of the value in names, or -1 (reported). */
static int want_enum(struct ctx *c, const struct node *n, const char *what,
		     const char *const *names, size_t count)
{
	char qb[QUOTE_BUF], list[64] = "";
	size_t i;

	if (!want_str(c, n, what))
		return -1;
	for (i = 0; i < count; i++)
		if (is(n, names[i]))
			return (int)i;
	for (i = 0; i < count; i++) {
		strcat(list, names[i]);
		strcat(list, i + 2 < count ? ", " : i + 1 < count ? " or " : "");
	}
	err_at(c, n->pos, "%s: invalid value %s: expected %s", what, quote(qb, n->val, n->len),
	       list);
	return -1;
}

/* YAML 1.2 booleans only: yes/no/on/off are YAML 1.1 and surprise people. */
static int want_bool(struct ctx *c, const struct node *n, const char *what)
{
	char qb[QUOTE_BUF];

	if (n->bad)
		return -1;
	if (n->kind == N_SCALAR && !n->quoted && is(n, "true"))
		return 1;
	if (n->kind == N_SCALAR && !n->quoted && is(n, "false"))
		return 0;
	if (n->kind == N_SCALAR && !n->quoted && scalar_type(n) != T_NULL)
		err_at(c, n->pos, "%s: expected true or false, got %s", what,
		       quote(qb, n->val, n->len));
	else
		err_at(c, n->pos, "%s: expected true or false, got %s", what, type_name(n));
	return -1;
}

/*
 * Match a mapping's keys against the fields it may hold; report the others. where names the
 * mapping in messages ("spec.filesystem"), NULL for the top level.
 */
static void check_map(struct ctx *c, const struct node *map, struct field *f, size_t nf,
		      const char *where)
{
	char qb[QUOTE_BUF], list[96] = "";
	size_t i, j;

	for (j = 0; j < nf; j++) {
		if (f[j].unlisted)
			continue;
		strcat(list, *list ? ", " : "");
		strcat(list, f[j].name);
	}
	for (i = 0; i + 1 < map->n; i += 2) {
		const struct node *key = map->kids[i];

		if (key->bad)
			continue;
		for (j = 0; j < nf; j++)
			if (is(key, f[j].name))
				break;
		if (j < nf) {
			f[j].key = key;
			f[j].val = map->kids[i + 1];
			continue;
		}
		err_at(c, key->pos, "unknown field %s %s%s (expected one of: %s)",
		       quote(qb, key->val, key->len), where ? "in " : "at the top level",
		       where ? where : "", list);
	}
}

static void missing(struct ctx *c, const struct node *map, const char *name, const char *where)
{
	err_at(c, map->pos, "missing required field \"%s\" %s%s", name,
	       where ? "in " : "at the top level", where ? where : "");
}

static char *memdup_str(struct ctx *c, const struct node *n)
{
	char *s = malloc(n->len + 1);

	if (!s) {
		c->err = -ENOMEM;
		return NULL;
	}
	memcpy(s, n->val, n->len + 1);
	return s;
}

/* Values */

static bool check_name(struct ctx *c, const struct node *n)
{
	char qb[QUOTE_BUF];

	if (!want_str(c, n, "metadata.name"))
		return false;
	if (n->len >= 1 && n->len <= AG_NAME_MAX &&
	    all_of(n->val, n->len, "abcdefghijklmnopqrstuvwxyz0123456789-"))
		return true;
	err_at(c, n->pos, "metadata.name: invalid name %s: use 1 to %d characters of a-z, 0-9 and \"-\"",
	       quote(qb, n->val, n->len), AG_NAME_MAX);
	return false;
}

static bool check_id(struct ctx *c, const struct node *n, const char *what)
{
	size_t i;

	if (!want_str(c, n, what))
		return false;
	if (!n->len) {
		err_at(c, n->pos, "%s: empty id", what);
		return false;
	}
	if (n->len > ID_MAX) {
		err_at(c, n->pos, "%s: id is %zu bytes, longer than the limit of %d", what, n->len,
		       ID_MAX);
		return false;
	}
	for (i = 0; i < n->len; i++) {
		unsigned char ch = (unsigned char)n->val[i];

		if (ch < 0x20 || ch > 0x7e) {
			err_at(c, n->pos, "%s: id may only hold printable ASCII (byte 0x%02x at offset %zu)",
			       what, ch, i);
			return false;
		}
	}
	return true;
}

static bool check_path(struct ctx *c, const struct node *n, const char *what)
{
	const char *s = n->val, *comp;
	size_t len = n->len, i;
	char qb[QUOTE_BUF];

	if (!want_str(c, n, what))
		return false;
	if (!len) {
		err_at(c, n->pos, "%s: empty path", what);
		return false;
	}
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		bool c1 = ch == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 &&
			  (unsigned char)s[i + 1] <= 0x9f;

		if (!ch) {
			err_at(c, n->pos, "%s: path contains a NUL byte (at offset %zu)", what, i);
			return false;
		}
		if (ch < 0x20 || ch == 0x7f || c1) {
			err_at(c, n->pos, "%s: path %s contains a control character (at offset %zu)",
			       what, quote(qb, s, len), i);
			return false;
		}
	}
	if (len > AG_PATH_LEN_MAX) {
		err_at(c, n->pos, "%s: path is %zu bytes, longer than the limit of %d", what, len,
		       AG_PATH_LEN_MAX);
		return false;
	}
	if (s[0] != '/') {
		err_at(c, n->pos, "%s: path %s is not absolute", what, quote(qb, s, len));
		return false;
	}
	if (len == 1)
		return true;
	if (s[len - 1] == '/') {
		err_at(c, n->pos, "%s: path %s is not normalised: remove the trailing \"/\"", what,
		       quote(qb, s, len));
		return false;
	}
	/* Every component now sits between one '/' and the next '/' or the end. */
	for (comp = s + 1; comp <= s + len; comp++) {
		const char *end = memchr(comp, '/', (size_t)(s + len - comp));
		size_t clen = (end ? (size_t)(end - comp) : (size_t)(s + len - comp));

		if (!clen) {
			err_at(c, n->pos, "%s: path %s is not normalised: it contains \"//\"", what,
			       quote(qb, s, len));
			return false;
		}
		if (comp[0] == '.' && (clen == 1 || (clen == 2 && comp[1] == '.'))) {
			err_at(c, n->pos, "%s: path %s is not normalised: it contains a \"%.*s\" component",
			       what, quote(qb, s, len), (int)clen, comp);
			return false;
		}
		if (!end)
			break;
		comp = end;
	}
	return true;
}

/*
 * The kernel matches the path it resolved, so a rule written through a symlink (/var/run on
 * Debian is /run) would silently never match. Warn, naming the path the kernel will see.
 */
static void warn_symlink(struct ctx *c, const char *path, struct ag_pos pos, const char *what)
{
	char prefix[PATH_MAX], qb[QUOTE_BUF], qb2[QUOTE_BUF], qb3[QUOTE_BUF];
	char *target = NULL, *resolved = NULL;
	size_t i, len = strlen(path), cut;
	struct stat st;
	ssize_t r;

	if (c->missing_len && c->missing_len <= len && !memcmp(path, c->missing, c->missing_len) &&
	    (path[c->missing_len] == '/' || !path[c->missing_len]))
		return;
	i = 1;
	if (c->dir_len && c->dir_len < len && !memcmp(path, c->dir, c->dir_len) &&
	    path[c->dir_len] == '/')
		i = c->dir_len + 1;
	for (;; i++) {
		if (path[i] != '/' && path[i])
			continue;
		memcpy(prefix, path, i);
		prefix[i] = '\0';
		if (lstat(prefix, &st)) {
			/* Nothing beneath a missing component is a symlink. */
			memcpy(c->missing, prefix, i + 1);
			c->missing_len = i;
			return;
		}
		if (S_ISLNK(st.st_mode))
			break;
		if (S_ISDIR(st.st_mode)) {
			memcpy(c->dir, prefix, i + 1);
			c->dir_len = i;
		}
		if (!path[i])
			return;
	}

	target = realpath(prefix, NULL);
	if (!target) {
		if (errno == ENOMEM)
			goto nomem;
		r = readlink(prefix, qb3, sizeof(qb3) - 1);
		qb3[r < 0 ? 0 : r] = '\0';
		warn_at(c, pos, "%s: %s is a symlink to %s, which does not resolve: the rule will not match it",
			what, quote(qb, prefix, i), quote(qb2, qb3, strlen(qb3)));
		return;
	}

	/* The resolved path: realpath of the longest existing prefix, then the rest as written. */
	memcpy(prefix, path, len + 1);
	for (cut = len;;) {
		char *real = realpath(prefix, NULL);

		if (real) {
			/* A symlink to "/" resolves to "/", and "/" plus "/x" to "/x". */
			if (asprintf(&resolved, "%s%s", strcmp(real, "/") || !path[cut] ? real : "",
				     path + cut) < 0)
				resolved = NULL;
			free(real);
			if (!resolved)
				goto nomem;
			break;
		}
		if (errno == ENOMEM)
			goto nomem;
		while (cut > 0 && path[cut - 1] != '/')
			cut--;
		if (cut <= 1)
			break;
		prefix[--cut] = '\0';
	}
	warn_at(c, pos, "%s: %s is a symlink to %s: the kernel sees the resolved path %s",
		what, quote(qb, path, i), quote(qb2, target, strlen(target)),
		resolved ? quote(qb3, resolved, strlen(resolved)) : "(unresolvable)");
	free(target);
	free(resolved);
	return;

nomem:
	free(target);
	c->err = -ENOMEM;
}

/* Strict dotted quad: four decimal octets 0..255 without leading zeros. */
static bool check_v4(const char *s, char *why, size_t whylen)
{
	const char *p = s;
	int parts;

	for (parts = 0; parts < 4; parts++) {
		size_t n = strspn(p, "0123456789");
		unsigned long v;

		if (!n || n > 3) {
			snprintf(why, whylen, "not a dotted-quad IPv4 address");
			return false;
		}
		if (n > 1 && p[0] == '0') {
			snprintf(why, whylen, "IPv4 octet \"%.*s\" has a leading zero", (int)n, p);
			return false;
		}
		v = strtoul(p, NULL, 10);
		if (v > 255) {
			snprintf(why, whylen, "IPv4 octet \"%.*s\" is greater than 255", (int)n, p);
			return false;
		}
		p += n;
		if (parts < 3 && *p++ != '.') {
			snprintf(why, whylen, "not a dotted-quad IPv4 address");
			return false;
		}
	}
	if (*p) {
		snprintf(why, whylen, "not a dotted-quad IPv4 address");
		return false;
	}
	return true;
}

/*
 * Parse "addr" (prefix == false) or "addr/len" into the rule's 16-byte form. On failure
 * returns false with the reason in why.
 */
static bool parse_addr(const struct node *n, bool prefix, struct ag_net_rule *r, char *why,
		       size_t whylen)
{
	char buf[INET6_ADDRSTRLEN + 8], net[INET6_ADDRSTRLEN];
	const char *slash, *plen_s = NULL;
	unsigned long plen;
	size_t i, max;
	uint8_t a[16] = { 0 };

	if (memchr(n->val, '\0', n->len) || n->len >= sizeof(buf)) {
		snprintf(why, whylen, "not an IP address");
		return false;
	}
	memcpy(buf, n->val, n->len + 1);
	slash = strchr(buf, '/');
	if (slash && !prefix) {
		snprintf(why, whylen, "an ip is a single address: use cidr for a prefix");
		return false;
	}
	if (!slash && prefix) {
		snprintf(why, whylen, "no prefix length (\"/n\"): use ip for a single address");
		return false;
	}
	if (slash) {
		buf[slash - buf] = '\0';
		plen_s = slash + 1;
	}

	r->is_v4 = !strchr(buf, ':');
	if (r->is_v4) {
		if (!check_v4(buf, why, whylen))
			return false;
		a[10] = a[11] = 0xff;
		if (inet_pton(AF_INET, buf, a + 12) != 1) {
			snprintf(why, whylen, "not an IPv4 address");
			return false;
		}
	} else if (inet_pton(AF_INET6, buf, a) != 1) {
		snprintf(why, whylen, "not an IPv6 address");
		return false;
	}

	max = r->is_v4 ? 32 : 128;
	plen = max;
	if (plen_s) {
		size_t digits = strspn(plen_s, "0123456789");

		if (!digits || plen_s[digits] || digits > 3 || (digits > 1 && plen_s[0] == '0')) {
			/* The value is quoted in the message; plen_s may hold control characters. */
			snprintf(why, whylen, "the prefix length is not a decimal number 0..%zu",
				 max);
			return false;
		}
		plen = strtoul(plen_s, NULL, 10);
		if (plen > max) {
			snprintf(why, whylen, "prefix length %lu is out of range 0..%zu", plen, max);
			return false;
		}
	}
	if (r->is_v4)
		plen += 96;

	/* Host bits: everything past the prefix must be zero, or the rule means something else. */
	memcpy(r->addr, a, sizeof(a));
	for (i = 0; i < 16; i++) {
		unsigned long keep = plen > i * 8 ? plen - i * 8 : 0;

		if (keep > 8)
			keep = 8;

		a[i] &= (uint8_t)(0xff00 >> keep);
	}
	if (memcmp(a, r->addr, sizeof(a))) {
		if (r->is_v4)
			inet_ntop(AF_INET, a + 12, net, sizeof(net));
		else
			inet_ntop(AF_INET6, a, net, sizeof(net));
		snprintf(why, whylen, "host bits are set: the network is %s/%lu", net,
			 r->is_v4 ? plen - 96 : plen);
		return false;
	}
	r->prefixlen = (unsigned int)plen;
	return true;
}

/* Lower-case LDH A-labels, optionally "*." first; IDNs must be punycode already. */
static bool check_domain(const struct node *n, char *why, size_t whylen)
{
	const char *s = n->val, *label;
	size_t len = n->len, i, llen;
	uint8_t v4[4];

	if (len >= 2 && s[0] == '*' && s[1] == '.') {
		s += 2;
		len -= 2;
		if (!len) {
			snprintf(why, whylen, "no name after \"*.\"");
			return false;
		}
	}
	if (!len) {
		snprintf(why, whylen, "empty domain");
		return false;
	}
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.')
			continue;
		if (ch >= 'A' && ch <= 'Z')
			snprintf(why, whylen, "must be lower case");
		else if (ch == '*')
			snprintf(why, whylen, "\"*\" is only allowed as a leading \"*.\"");
		else if (ch >= 0x80)
			snprintf(why, whylen, "not ASCII: write an IDN as punycode (xn--...)");
		else if (ch < 0x20 || ch == 0x7f)
			snprintf(why, whylen, "control character at offset %zu", i);
		else
			snprintf(why, whylen, "invalid character '%c': use a-z, 0-9, \"-\" and \".\"",
				 ch);
		return false;
	}
	if (s[len - 1] == '.') {
		snprintf(why, whylen, "remove the trailing \".\"");
		return false;
	}
	if (len > AG_DOMAIN_MAX) {
		snprintf(why, whylen, "%zu characters, longer than the limit of %d", len,
			 AG_DOMAIN_MAX);
		return false;
	}
	for (label = s; label < s + len; label += llen + 1) {
		const char *dot = memchr(label, '.', (size_t)(s + len - label));

		llen = dot ? (size_t)(dot - label) : (size_t)(s + len - label);
		if (!llen) {
			snprintf(why, whylen, "empty label");
			return false;
		}
		if (llen > 63) {
			snprintf(why, whylen, "label \"%.20s...\" is %zu characters, longer than 63",
				 label, llen);
			return false;
		}
		if (label[0] == '-' || label[llen - 1] == '-') {
			snprintf(why, whylen, "label \"%.*s\" starts or ends with \"-\"", (int)llen,
				 label);
			return false;
		}
	}
	if (s == n->val && inet_pton(AF_INET, n->val, v4) == 1) {
		snprintf(why, whylen, "an IP address: use ip");
		return false;
	}
	return true;
}

/* A port as written: decimal, no sign, no leading zero, 1..65535. 0 with *why when not. */
static unsigned int port_num(const char *s, size_t len, const char **why)
{
	unsigned int v = 0;
	size_t i;

	if (!all_of(s, len, "0123456789")) {
		*why = "is not a decimal number";
		return 0;
	}
	if (len > 1 && s[0] == '0') {
		*why = "has a leading zero";
		return 0;
	}
	for (i = 0; i < len && v <= 65535; i++)
		v = v * 10 + (unsigned int)(s[i] - '0');
	if (v < 1 || v > 65535) {
		*why = "is out of range 1..65535";
		return 0;
	}
	return v;
}

static bool check_port(struct ctx *c, const struct node *n, const char *what,
		       struct ag_port_range *out)
{
	const char *dash = NULL, *why = NULL, *s = n->val;
	unsigned int lo, hi;
	char qb[QUOTE_BUF];
	enum scalar_type t;
	size_t lo_len;

	if (n->bad)
		return false;
	t = n->kind == N_SCALAR ? scalar_type(n) : T_NULL;
	if (n->kind != N_SCALAR || (t != T_INT && t != T_STR)) {
		err_at(c, n->pos, "%s: expected a port number or a \"lo-hi\" range, got %s", what,
		       type_name(n));
		return false;
	}
	/* An integer scalar such as "-1" is a (bad) number, not a range. */
	if (t == T_STR)
		dash = memchr(s, '-', n->len);
	lo_len = dash ? (size_t)(dash - s) : n->len;
	lo = port_num(s, lo_len, &why);
	if (!lo) {
		/* Digits are safe to show bare; anything else is quoted and escaped. */
		if (all_of(s, lo_len, "0123456789"))
			err_at(c, n->pos, "%s: port %.*s %s", what, (int)lo_len, s, why);
		else
			err_at(c, n->pos, "%s: port %s %s", what, quote(qb, s, lo_len), why);
		return false;
	}
	hi = lo;
	if (dash) {
		size_t hi_len = (size_t)(s + n->len - dash - 1);

		hi = port_num(dash + 1, hi_len, &why);
		if (!hi) {
			err_at(c, n->pos, "%s: range %s: port %s %s", what, quote(qb, s, n->len),
			       all_of(dash + 1, hi_len, "0123456789") ? dash + 1 : "after \"-\"",
			       why);
			return false;
		}
		if (lo > hi) {
			err_at(c, n->pos, "%s: range %s is reversed: write %u-%u", what,
			       quote(qb, s, n->len), hi, lo);
			return false;
		}
	}
	*out = (struct ag_port_range){ .lo = (uint16_t)lo, .hi = (uint16_t)hi, .pos = n->pos };
	return true;
}

static void check_ports(struct ctx *c, const struct node *n, const char *what,
			struct ag_net_rule *r)
{
	enum scalar_type t = n->kind == N_SCALAR && !n->bad ? scalar_type(n) : T_NULL;
	char iwhat[128];
	size_t i;

	if (t == T_INT || t == T_STR) {
		err_at(c, n->pos, "%s: expected a sequence, got %s: write a list such as [443]",
		       what, type_name(n));
		return;
	}
	if (!want_kind(c, n, N_SEQ, what))
		return;
	if (!n->n) {
		err_at(c, n->pos, "%s: empty list: leave ports out to mean all ports", what);
		return;
	}
	r->ports = calloc(n->n, sizeof(*r->ports));
	if (!r->ports) {
		c->err = -ENOMEM;
		return;
	}
	for (i = 0; i < n->n; i++) {
		snprintf(iwhat, sizeof(iwhat), "%s[%zu]", what, i);
		if (check_port(c, n->kids[i], iwhat, &r->ports[r->n_ports]))
			r->n_ports++;
	}
}

/* Resources */

/*
 * A count as written: decimal digits without sign or leading zero, saturating at UINT64_MAX so
 * that every range check below also catches overflow. NULL, or why it is not one.
 */
static const char *dec_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len && s[0] == '-')
		return "is negative";
	if (!all_of(s, len, "0123456789"))
		return "is not a decimal number";
	if (len > 1 && s[0] == '0')
		return "has a leading zero";
	for (i = 0; i < len && v != UINT64_MAX; i++) {
		unsigned int d = (unsigned int)(s[i] - '0');

		v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
	}
	*out = v;
	return NULL;
}

/* A scalar for a message: an integer as written (it holds nothing to escape), else quoted. */
static const char *shown(char *out, const struct node *n)
{
	if (scalar_type(n) != T_INT)
		return quote(out, n->val, n->len);
	snprintf(out, QUOTE_BUF, "%.*s%s", (int)(n->len < QUOTE_CHARS ? n->len : QUOTE_CHARS),
		 n->val, n->len > QUOTE_CHARS ? "..." : "");
	return out;
}

/* Bytes as an integer, or a string "<n>K", "M", "G" or "T" in powers of 1024, like cgroups'. */
static void check_memory_max(struct ctx *c, const struct node *n, struct ag_resources *res)
{
	static const char what[] = "spec.resources.memory_max", units[] = "KMGT";
	enum scalar_type t = n->kind == N_SCALAR && !n->bad ? scalar_type(n) : T_NULL;
	char qb[QUOTE_BUF], qb2[QUOTE_BUF];
	const char *unit, *why, *u;
	size_t digits, ulen;
	uint64_t v, mult = 1;

	res->memory_pos = n->pos;
	if (n->bad)
		return;
	if (n->kind != N_SCALAR || (t != T_INT && t != T_STR)) {
		err_at(c, n->pos, "%s: expected a number of bytes or a size such as \"2G\", got %s",
		       what, type_name(n));
		return;
	}
	/* NUL is not a digit: strspn stops at the first one the scalar may hold. */
	digits = strspn(n->val, "0123456789");
	unit = n->val + digits;
	ulen = n->len - digits;
	if (t == T_STR) {
		if (!digits) {
			err_at(c, n->pos, "%s: %s is not a size: write a number of bytes, or a "
			       "number followed by K, M, G or T", what, shown(qb, n));
			return;
		}
		if (unit[0] == '.' || unit[0] == ',') {
			err_at(c, n->pos, "%s: %s is not a whole number: use a smaller unit "
			       "(1536M, not 1.5G)", what, shown(qb, n));
			return;
		}
		if (!ulen) {
			err_at(c, n->pos, "%s: %s is a string without a unit: write bytes as an "
			       "integer, without quotes, or add K, M, G or T", what, shown(qb, n));
			return;
		}
		u = unit[0] ? strchr(units, unit[0]) : NULL;
		if (ulen != 1 || !u) {
			err_at(c, n->pos, "%s: %s: unknown unit %s: use K, M, G or T "
			       "(powers of 1024)", what, shown(qb, n), quote(qb2, unit, ulen));
			return;
		}
		mult = 1ull << (10 * (u - units + 1));
	}
	why = dec_u64(n->val, t == T_STR ? digits : n->len, &v);
	if (why) {
		err_at(c, n->pos, "%s: %s %s", what, shown(qb, n), why);
		return;
	}
	if (v > MEMORY_LIMIT / mult) {
		err_at(c, n->pos, "%s: %s is too large: the kernel's limit is 2^63-1 bytes", what,
		       shown(qb, n));
		return;
	}
	v *= mult;
	if (v < MEMORY_MIN) {
		err_at(c, n->pos, "%s: %s is less than the minimum of 1M (1048576 bytes)", what,
		       shown(qb, n));
		return;
	}
	res->memory_max = v;
	res->has_memory_max = true;
}

static void check_pids_max(struct ctx *c, const struct node *n, struct ag_resources *res)
{
	static const char what[] = "spec.resources.pids_max";
	char qb[QUOTE_BUF];
	const char *why;
	uint64_t v = 0;

	res->pids_pos = n->pos;
	if (n->bad)
		return;
	if (n->kind != N_SCALAR || scalar_type(n) != T_INT) {
		err_at(c, n->pos, "%s: expected an integer, got %s", what, type_name(n));
		return;
	}
	why = dec_u64(n->val, n->len, &v);
	if (why && n->val[0] != '-') {
		err_at(c, n->pos, "%s: %s %s", what, shown(qb, n), why);
		return;
	}
	if (why || v < 1 || v > PIDS_LIMIT) {
		err_at(c, n->pos, "%s: %s is out of range 1..%d", what, shown(qb, n), PIDS_LIMIT);
		return;
	}
	res->pids_max = v;
	res->has_pids_max = true;
}

/* "150%": a whole number of percent of one CPU; the loader writes cpu.max from it. */
static void check_cpu_max(struct ctx *c, const struct node *n, struct ag_resources *res)
{
	static const char what[] = "spec.resources.cpu_max";
	enum scalar_type t = n->kind == N_SCALAR && !n->bad ? scalar_type(n) : T_NULL;
	char qb[QUOTE_BUF];
	const char *why;
	uint64_t v = 0;

	res->cpu_pos = n->pos;
	if (n->bad)
		return;
	if (t == T_INT || t == T_FLOAT) {
		err_at(c, n->pos, "%s: expected a percentage of one CPU such as \"150%%\", got %s",
		       what, type_name(n));
		return;
	}
	if (!want_str(c, n, what))
		return;
	if (!n->len || n->val[n->len - 1] != '%') {
		err_at(c, n->pos, "%s: %s is not a percentage: write a whole number of percent "
		       "of one CPU with a \"%%\" sign, such as \"150%%\"", what,
		       quote(qb, n->val, n->len));
		return;
	}
	why = dec_u64(n->val, n->len - 1, &v);
	if (why && n->val[0] != '-') {
		err_at(c, n->pos, "%s: %s: the number before \"%%\" %s", what,
		       quote(qb, n->val, n->len), n->len == 1 ? "is missing" : why);
		return;
	}
	if (why || v < 1 || v > CPU_PERCENT_LIMIT) {
		err_at(c, n->pos, "%s: %s is out of range 1%%..%d%% (100%% is one CPU)", what,
		       quote(qb, n->val, n->len), CPU_PERCENT_LIMIT);
		return;
	}
	res->cpu_max_percent = (uint32_t)v;
	res->has_cpu_max = true;
}

/* Rules */

static void check_fs_rule(struct ctx *c, const struct node *n, size_t idx, struct ag_fs_rule *r)
{
	struct field f[] = {
		{ .name = "path" }, { .name = "access" }, { .name = "exec" }, { .name = "id" },
		{ .name = "mode" },
	};
	char where[64], what[96];
	int v, exec = 0, access = -1;

	r->mode = AG_MODE_INHERIT;
	r->pos = n->pos;
	snprintf(where, sizeof(where), "spec.filesystem.rules[%zu]", idx);
	if (!want_kind(c, n, N_MAP, where))
		return;
	check_map(c, n, f, ARRAY_SIZE(f), where);

	if (!f[0].val) {
		missing(c, n, "path", where);
	} else {
		snprintf(what, sizeof(what), "%s.path", where);
		r->path_pos = f[0].val->pos;
		if (check_path(c, f[0].val, what)) {
			r->path = memdup_str(c, f[0].val);
			if (r->path)
				warn_symlink(c, r->path, r->path_pos, what);
		}
	}
	if (!f[1].val) {
		missing(c, n, "access", where);
	} else {
		snprintf(what, sizeof(what), "%s.access", where);
		access = want_enum(c, f[1].val, what, access_names, ARRAY_SIZE(access_names));
		if (access >= 0)
			r->access = (enum ag_fs_access)access;
	}
	if (f[2].val) {
		snprintf(what, sizeof(what), "%s.exec", where);
		exec = want_bool(c, f[2].val, what);
		r->exec = exec == 1;
		if (exec == 1 && access == AG_FS_NONE)
			err_at(c, f[2].val->pos,
			       "%s: exec: true with access: none: a path that cannot be read cannot be executed",
			       what);
	}
	if (f[3].val) {
		snprintf(what, sizeof(what), "%s.id", where);
		if (check_id(c, f[3].val, what))
			r->id = memdup_str(c, f[3].val);
	}
	if (f[4].val) {
		snprintf(what, sizeof(what), "%s.mode", where);
		v = want_enum(c, f[4].val, what, mode_names, ARRAY_SIZE(mode_names));
		if (v >= 0)
			r->mode = (enum ag_mode)v;
	}
}

/*
 * spec.network.rules[idx], or with inbound spec.network.inbound[idx]: the same fields, but an
 * inbound rule is allow-only (no action, no mode) and names a local address (no domain).
 */
static void check_net_rule(struct ctx *c, const struct node *n, size_t idx, struct ag_net_rule *r,
			   bool inbound)
{
	struct field f[] = {
		{ .name = "action" }, { .name = "cidr" }, { .name = "ip" }, { .name = "domain" },
		{ .name = "ports" }, { .name = "protocol" }, { .name = "id" }, { .name = "mode" },
	};
	const struct field *target = NULL;
	char where[64], what[96], why[128], qb[QUOTE_BUF];
	size_t t, t_max = inbound ? 2 : 3;	/* targets: cidr, ip (, domain) */
	int v;

	r->mode = AG_MODE_INHERIT;
	r->protocol = AG_PROTO_ANY;
	r->pos = n->pos;
	snprintf(where, sizeof(where), inbound ? "spec.network.inbound[%zu]" :
						  "spec.network.rules[%zu]", idx);
	if (!want_kind(c, n, N_MAP, where))
		return;
	check_map(c, n, f, ARRAY_SIZE(f), where);

	if (inbound) {
		r->action = AG_NET_ALLOW;
		if (f[0].val)
			err_at(c, f[0].key->pos, "%s: \"action\" is not allowed: inbound rules are "
			       "allow-only", where);
		if (f[3].val)
			err_at(c, f[3].key->pos, "%s: \"domain\" is not allowed: an inbound rule "
			       "names a local address (cidr or ip)", where);
		if (f[7].val)
			err_at(c, f[7].key->pos, "%s: \"mode\" is not allowed: inbound rules are "
			       "allow-only", where);
	} else if (!f[0].val) {
		missing(c, n, "action", where);
	} else {
		snprintf(what, sizeof(what), "%s.action", where);
		v = want_enum(c, f[0].val, what, action_names, ARRAY_SIZE(action_names));
		if (v >= 0)
			r->action = (enum ag_net_action)v;
	}

	/* Exactly one target; a second one is reported where it is written. */
	for (t = 1; t <= t_max; t++) {
		const struct field *cand = &f[t];

		if (!cand->val)
			continue;
		if (!target || cand->key->pos.line < target->key->pos.line ||
		    (cand->key->pos.line == target->key->pos.line &&
		     cand->key->pos.col < target->key->pos.col))
			target = cand;
	}
	if (!target)
		err_at(c, n->pos, "%s: no target: a rule needs exactly one of %s", where,
		       inbound ? "cidr or ip" : "cidr, ip or domain");
	for (t = 1; t <= t_max; t++) {
		if (f[t].val && &f[t] != target)
			err_at(c, f[t].key->pos,
			       "%s: both \"%s\" and \"%s\": a rule takes exactly one of %s", where,
			       target->name, f[t].name, inbound ? "cidr or ip" : "cidr, ip or domain");
	}
	if (target) {
		const struct node *tv = target->val;

		snprintf(what, sizeof(what), "%s.%s", where, target->name);
		r->target_pos = tv->pos;
		r->target = target == &f[1] ? AG_TARGET_CIDR :
			    target == &f[2] ? AG_TARGET_IP : AG_TARGET_DOMAIN;
		if (!want_str(c, tv, what)) {
			/* reported */
		} else if (r->target == AG_TARGET_DOMAIN) {
			if (check_domain(tv, why, sizeof(why)))
				r->domain = memdup_str(c, tv);
			else
				err_at(c, tv->pos, "%s: domain %s: %s", what,
				       quote(qb, tv->val, tv->len), why);
		} else if (!parse_addr(tv, r->target == AG_TARGET_CIDR, r, why, sizeof(why))) {
			err_at(c, tv->pos, "%s: %s: %s", what, quote(qb, tv->val, tv->len), why);
		}
	}

	if (f[4].val) {
		snprintf(what, sizeof(what), "%s.ports", where);
		check_ports(c, f[4].val, what, r);
	}
	if (f[5].val) {
		snprintf(what, sizeof(what), "%s.protocol", where);
		v = want_enum(c, f[5].val, what, proto_names, ARRAY_SIZE(proto_names));
		if (v >= 0)
			r->protocol = proto_values[v];
	}
	if (f[6].val) {
		snprintf(what, sizeof(what), "%s.id", where);
		if (check_id(c, f[6].val, what))
			r->id = memdup_str(c, f[6].val);
	}
	if (f[7].val && !inbound) {
		snprintf(what, sizeof(what), "%s.mode", where);
		v = want_enum(c, f[7].val, what, mode_names, ARRAY_SIZE(mode_names));
		if (v >= 0)
			r->mode = (enum ag_mode)v;
	}
}

/* The name after the leading NUL: any bytes but NUL, as many as fit in sun_path. */
static bool check_abstract(struct ctx *c, const struct node *n, const char *what)
{
	const char *nul;
	char qb[QUOTE_BUF], qb2[QUOTE_BUF];

	if (!want_str(c, n, what))
		return false;
	if (!n->len) {
		err_at(c, n->pos, "%s: empty abstract name", what);
		return false;
	}
	nul = memchr(n->val, '\0', n->len);
	if (nul) {
		err_at(c, n->pos, "%s: abstract name contains a NUL byte (at offset %zu)%s", what,
		       (size_t)(nul - n->val),
		       nul == n->val ? ": write the name without the leading NUL" : "");
		return false;
	}
	if (n->len > ABSTRACT_MAX) {
		err_at(c, n->pos, "%s: abstract name is %zu bytes, longer than the limit of %d",
		       what, n->len, ABSTRACT_MAX);
		return false;
	}
	/* ss, lsof and /proc/net/unix show the leading NUL as "@": a copied name never matches. */
	if (n->val[0] == '@' && n->len > 1)
		warn_at(c, n->pos, "%s: %s starts with \"@\", which ss and /proc/net/unix show "
			"in place of the leading NUL: if that is what it is, write %s", what,
			quote(qb, n->val, n->len), quote(qb2, n->val + 1, n->len - 1));
	return true;
}

static void check_unix_rule(struct ctx *c, const struct node *n, size_t idx,
			    struct ag_unix_rule *r)
{
	struct field f[] = {
		{ .name = "path" }, { .name = "abstract" }, { .name = "id" },
		{ .name = "mode", .unlisted = true }, { .name = "action", .unlisted = true },
	};
	const struct field *target;
	char where[64], what[96];

	r->pos = n->pos;
	snprintf(where, sizeof(where), "spec.unix.rules[%zu]", idx);
	if (!want_kind(c, n, N_MAP, where))
		return;
	check_map(c, n, f, ARRAY_SIZE(f), where);

	/* Exactly one target, as for network rules: a second one is reported where it is. */
	target = f[0].val ? &f[0] : f[1].val ? &f[1] : NULL;
	if (f[0].val && f[1].val &&
	    (f[1].key->pos.line < f[0].key->pos.line ||
	     (f[1].key->pos.line == f[0].key->pos.line && f[1].key->pos.col < f[0].key->pos.col)))
		target = &f[1];
	if (!target)
		err_at(c, n->pos, "%s: no target: a rule needs exactly one of path or abstract",
		       where);
	else if (f[0].val && f[1].val)
		err_at(c, (target == &f[0] ? &f[1] : &f[0])->key->pos,
		       "%s: both \"%s\" and \"%s\": a rule takes exactly one of path or abstract",
		       where, target->name, target == &f[0] ? "abstract" : "path");
	if (target) {
		snprintf(what, sizeof(what), "%s.%s", where, target->name);
		r->target_pos = target->val->pos;
	}
	if (target == &f[0]) {
		if (!check_path(c, f[0].val, what)) {
			/* reported */
		} else if (f[0].val->len == 1) {
			err_at(c, f[0].val->pos, "%s: \"/\" is a directory, not a socket", what);
		} else {
			r->path = memdup_str(c, f[0].val);
			if (r->path)
				warn_symlink(c, r->path, r->target_pos, what);
		}
	} else if (target == &f[1] && check_abstract(c, f[1].val, what)) {
		r->abstract = memdup_str(c, f[1].val);
		r->abstract_len = f[1].val->len;
	}
	if (f[2].val) {
		snprintf(what, sizeof(what), "%s.id", where);
		if (check_id(c, f[2].val, what))
			r->id = memdup_str(c, f[2].val);
	}
	if (f[3].key)
		err_at(c, f[3].key->pos, "%s: \"mode\" is not allowed: unix rules are allow-only "
		       "(a rule lets the sandbox reach a socket; there is no denial to audit)",
		       where);
	if (f[4].key)
		err_at(c, f[4].key->pos, "%s: \"action\" is not allowed: unix rules are allow-only "
		       "(every rule allows its socket)", where);
}

/* spec.unix: rules only; what no rule lists is the built-in containment's to deny. */
static void check_unix(struct ctx *c, const struct node *n)
{
	struct field f[] = { { .name = "rules" }, { .name = "default", .unlisted = true } };
	const struct node *rules;
	size_t i;

	if (!want_kind(c, n, N_MAP, "spec.unix"))
		return;
	check_map(c, n, f, ARRAY_SIZE(f), "spec.unix");
	if (f[1].key)
		err_at(c, f[1].key->pos, "spec.unix: \"default\" is not allowed: unix rules are "
		       "allow-only, and a socket outside the sandbox that no rule lists is denied");
	rules = f[0].val;
	if (!rules || !want_kind(c, rules, N_SEQ, "spec.unix.rules") || !rules->n)
		return;
	c->p->unix_rules = calloc(rules->n, sizeof(*c->p->unix_rules));
	if (!c->p->unix_rules) {
		c->err = -ENOMEM;
		return;
	}
	c->p->n_unix_rules = rules->n;
	for (i = 0; i < rules->n && !c->err; i++)
		check_unix_rule(c, rules->kids[i], i, &c->p->unix_rules[i]);
}

static void check_resources(struct ctx *c, const struct node *n)
{
	struct field f[] = {
		{ .name = "memory_max" }, { .name = "pids_max" }, { .name = "cpu_max" },
	};
	struct ag_resources *res = &c->p->resources;

	if (!want_kind(c, n, N_MAP, "spec.resources"))
		return;
	check_map(c, n, f, ARRAY_SIZE(f), "spec.resources");
	if (f[0].val)
		check_memory_max(c, f[0].val, res);
	if (f[1].val)
		check_pids_max(c, f[1].val, res);
	if (f[2].val)
		check_cpu_max(c, f[2].val, res);
}

static void check_process(struct ctx *c, const struct node *n)
{
	struct field f[] = { { .name = "io_uring" } };
	int v;

	if (!want_kind(c, n, N_MAP, "spec.process"))
		return;
	check_map(c, n, f, ARRAY_SIZE(f), "spec.process");
	if (f[0].val && (v = want_bool(c, f[0].val, "spec.process.io_uring")) >= 0) {
		c->p->process.has_io_uring = true;
		c->p->process.io_uring = v;
		c->p->process.io_uring_pos = f[0].val->pos;
	}
}

/* spec.filesystem and spec.network share their shape: default and rules; network has inbound. */
static void check_section(struct ctx *c, const struct node *n, bool fs)
{
	struct field f[] = { { .name = "default" }, { .name = "rules" }, { .name = "inbound" } };
	const char *where = fs ? "spec.filesystem" : "spec.network";
	const struct node *rules, *inbound;
	char what[64];
	size_t i;
	int v;

	if (!want_kind(c, n, N_MAP, where))
		return;
	check_map(c, n, f, ARRAY_SIZE(f) - fs, where);
	if (f[0].val) {
		snprintf(what, sizeof(what), "%s.default", where);
		v = want_enum(c, f[0].val, what, default_names, ARRAY_SIZE(default_names));
		if (fs)
			c->p->fs_default_allow = v == 1;
		else
			c->p->net_default_allow = v == 1;
	}
	rules = f[1].val;
	snprintf(what, sizeof(what), "%s.rules", where);
	if (!rules || !want_kind(c, rules, N_SEQ, what) || !rules->n)
		goto inbound;

	if (fs) {
		c->p->fs_rules = calloc(rules->n, sizeof(*c->p->fs_rules));
		if (!c->p->fs_rules) {
			c->err = -ENOMEM;
			return;
		}
		c->p->n_fs_rules = rules->n;
		for (i = 0; i < rules->n && !c->err; i++)
			check_fs_rule(c, rules->kids[i], i, &c->p->fs_rules[i]);
	} else {
		c->p->net_rules = calloc(rules->n, sizeof(*c->p->net_rules));
		if (!c->p->net_rules) {
			c->err = -ENOMEM;
			return;
		}
		c->p->n_net_rules = rules->n;
		for (i = 0; i < rules->n && !c->err; i++)
			check_net_rule(c, rules->kids[i], i, &c->p->net_rules[i], false);
	}
inbound:
	inbound = f[2].val;
	if (fs || !inbound || c->err || !want_kind(c, inbound, N_SEQ, "spec.network.inbound") ||
	    !inbound->n)
		return;
	c->p->inbound_rules = calloc(inbound->n, sizeof(*c->p->inbound_rules));
	if (!c->p->inbound_rules) {
		c->err = -ENOMEM;
		return;
	}
	c->p->n_inbound_rules = inbound->n;
	for (i = 0; i < inbound->n && !c->err; i++)
		check_net_rule(c, inbound->kids[i], i, &c->p->inbound_rules[i], true);
}

static void check_spec(struct ctx *c, const struct node *n)
{
	struct field f[] = {
		{ .name = "mode" }, { .name = "filesystem" }, { .name = "network" },
		{ .name = "unix" }, { .name = "resources" }, { .name = "process" },
	};
	int v;

	if (!want_kind(c, n, N_MAP, "spec"))
		return;
	check_map(c, n, f, ARRAY_SIZE(f), "spec");
	if (f[0].val) {
		v = want_enum(c, f[0].val, "spec.mode", mode_names, ARRAY_SIZE(mode_names));
		if (v >= 0)
			c->p->mode = (enum ag_mode)v;
	}
	if (f[1].val)
		check_section(c, f[1].val, true);
	if (f[2].val && !c->err)
		check_section(c, f[2].val, false);
	if (f[3].val && !c->err)
		check_unix(c, f[3].val);
	if (f[4].val && !c->err)
		check_resources(c, f[4].val);
	if (f[5].val && !c->err)
		check_process(c, f[5].val);
}

static void check_metadata(struct ctx *c, const struct node *n)
{
	struct field f[] = { { .name = "name" }, { .name = "layer" } };
	int v;

	if (!want_kind(c, n, N_MAP, "metadata"))
		return;
	check_map(c, n, f, ARRAY_SIZE(f), "metadata");
	if (!f[0].val)
		missing(c, n, "name", "metadata");
	else if (check_name(c, f[0].val))
		c->p->name = memdup_str(c, f[0].val);
	if (f[1].val) {
		v = want_enum(c, f[1].val, "metadata.layer", layer_names, ARRAY_SIZE(layer_names));
		if (v >= 0)
			c->p->layer = (enum ag_layer)v;
	}
}

static void check_root(struct ctx *c, const struct node *root)
{
	struct field f[] = {
		{ .name = "apiVersion" }, { .name = "kind" }, { .name = "metadata" },
		{ .name = "spec" },
	};
	char qb[QUOTE_BUF];

	if (!want_kind(c, root, N_MAP, "policy"))
		return;
	check_map(c, root, f, ARRAY_SIZE(f), NULL);

	if (!f[0].val)
		missing(c, root, "apiVersion", NULL);
	else if (want_str(c, f[0].val, "apiVersion") && !is(f[0].val, API_VERSION))
		err_at(c, f[0].val->pos, "apiVersion: unsupported version %s: expected \"%s\"",
		       quote(qb, f[0].val->val, f[0].val->len), API_VERSION);
	if (!f[1].val)
		missing(c, root, "kind", NULL);
	else if (want_str(c, f[1].val, "kind") && !is(f[1].val, KIND))
		err_at(c, f[1].val->pos, "kind: invalid value %s: expected \"%s\"",
		       quote(qb, f[1].val->val, f[1].val->len), KIND);
	if (!f[2].val)
		missing(c, root, "metadata", NULL);
	else
		check_metadata(c, f[2].val);
	if (!f[3].val)
		missing(c, root, "spec", NULL);
	else if (!c->err)
		check_spec(c, f[3].val);
}

/* Rule ids */

struct id_ref {
	char *id;
	struct ag_pos pos;
	size_t order;		/* source order */
	bool explicit;
	bool is_default;
	const char *what;	/* for implicit ids: whose id it is */
	size_t idx;
};

static int id_ref_cmp(const void *a, const void *b)
{
	const struct id_ref *x = a, *y = b;
	int r = strcmp(x->id, y->id);

	if (r)
		return r;
	return x->order < y->order ? -1 : x->order > y->order;
}

/*
 * Events and `explain` name rules by id, so an id must mean one rule: explicit ids are unique
 * and do not take the automatic id ("<name>:<section>[<index>]", "<name>:<section>.default")
 * of anything else in the file.
 */
static void check_ids(struct ctx *c)
{
	struct ag_policy *p = c->p;
	size_t n_rules = p->n_fs_rules + p->n_net_rules + p->n_unix_rules + p->n_inbound_rules;
	size_t n_before_inbound = n_rules - p->n_inbound_rules;
	size_t n = n_rules + 2, k = 0, i, j;
	struct id_ref *refs;
	char qb[QUOTE_BUF];

	refs = calloc(n, sizeof(*refs));
	if (!refs) {
		c->err = -ENOMEM;
		return;
	}
	for (i = 0; i < n_rules; i++) {
		struct id_ref *ref = &refs[k];
		const char *section;
		size_t idx;
		char *id;

		if (i < p->n_fs_rules) {
			idx = i;
			section = "filesystem";
			ref->what = "spec.filesystem.rules";
			id = p->fs_rules[idx].id;
			ref->pos = p->fs_rules[idx].pos;
		} else if (i < p->n_fs_rules + p->n_net_rules) {
			idx = i - p->n_fs_rules;
			section = "network";
			ref->what = "spec.network.rules";
			id = p->net_rules[idx].id;
			ref->pos = p->net_rules[idx].pos;
		} else if (i < n_before_inbound) {
			idx = i - p->n_fs_rules - p->n_net_rules;
			section = "unix";
			ref->what = "spec.unix.rules";
			id = p->unix_rules[idx].id;
			ref->pos = p->unix_rules[idx].pos;
		} else {
			idx = i - n_before_inbound;
			section = "inbound";
			ref->what = "spec.network.inbound";
			id = p->inbound_rules[idx].id;
			ref->pos = p->inbound_rules[idx].pos;
		}
		ref->order = i;
		ref->idx = idx;
		if (id) {
			ref->id = strdup(id);
			ref->explicit = true;
		} else if (p->name) {
			if (asprintf(&ref->id, "%s:%s[%zu]", p->name, section, idx) < 0)
				ref->id = NULL;
		} else {
			continue;
		}
		if (!ref->id) {
			c->err = -ENOMEM;
			goto cleanup;
		}
		k++;
	}
	for (i = 0; p->name && i < 2; i++) {
		const char *section = i ? "network" : "filesystem";

		if (asprintf(&refs[k].id, "%s:%s.default", p->name, section) < 0) {
			refs[k].id = NULL;
			c->err = -ENOMEM;
			goto cleanup;
		}
		refs[k].order = n + i;
		refs[k].what = i ? "spec.network.default" : "spec.filesystem.default";
		refs[k].is_default = true;
		k++;
	}

	qsort(refs, k, sizeof(*refs), id_ref_cmp);
	for (i = 0; i < k; i = j) {
		const struct id_ref *implicit = NULL, *first = NULL;

		for (j = i; j < k && !strcmp(refs[j].id, refs[i].id); j++) {
			if (!refs[j].explicit && !implicit)
				implicit = &refs[j];
			if (refs[j].explicit && !first)
				first = &refs[j];
		}
		for (size_t m = i; m < j; m++) {
			const struct id_ref *r = &refs[m];

			if (!r->explicit)
				continue;
			if (implicit && !implicit->is_default)
				err_at(c, r->pos, "id %s is the automatic id of %s[%zu]",
				       quote(qb, r->id, strlen(r->id)), implicit->what,
				       implicit->idx);
			else if (implicit)
				err_at(c, r->pos, "id %s is the automatic id of %s",
				       quote(qb, r->id, strlen(r->id)), implicit->what);
			else if (r != first)
				err_at(c, r->pos, "duplicate id %s (first at %u:%u)",
				       quote(qb, r->id, strlen(r->id)), first->pos.line,
				       first->pos.col);
		}
	}

cleanup:
	for (i = 0; i < n; i++)
		free(refs[i].id);
	free(refs);
}

/* Entry points */

void ag_policy_free(struct ag_policy *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n_fs_rules; i++) {
		free(p->fs_rules[i].id);
		free(p->fs_rules[i].path);
	}
	for (i = 0; i < p->n_net_rules; i++) {
		free(p->net_rules[i].id);
		free(p->net_rules[i].domain);
		free(p->net_rules[i].ports);
	}
	for (i = 0; i < p->n_inbound_rules; i++) {
		free(p->inbound_rules[i].id);
		free(p->inbound_rules[i].domain);
		free(p->inbound_rules[i].ports);
	}
	free(p->inbound_rules);
	for (i = 0; i < p->n_unix_rules; i++) {
		free(p->unix_rules[i].id);
		free(p->unix_rules[i].path);
		free(p->unix_rules[i].abstract);
	}
	free(p->fs_rules);
	free(p->net_rules);
	free(p->unix_rules);
	free(p->file);
	free(p->name);
	free(p);
}

struct diag_ref {
	struct ag_diag d;
	size_t order;
};

static int diag_ref_cmp(const void *a, const void *b)
{
	const struct diag_ref *x = a, *y = b;

	if (x->d.pos.line != y->d.pos.line)
		return x->d.pos.line < y->d.pos.line ? -1 : 1;
	if (x->d.pos.col != y->d.pos.col)
		return x->d.pos.col < y->d.pos.col ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Show this file's diagnostics in source order, whatever order the checks ran in. */
static void sort_diags(struct ag_diags *d, size_t from)
{
	size_t n = d->n - from, i;
	struct diag_ref *refs;

	if (n < 2)
		return;
	refs = calloc(n, sizeof(*refs));
	if (!refs)
		return;		/* unsorted is still correct */
	for (i = 0; i < n; i++)
		refs[i] = (struct diag_ref){ .d = d->v[from + i], .order = i };
	qsort(refs, n, sizeof(*refs), diag_ref_cmp);
	for (i = 0; i < n; i++)
		d->v[from + i] = refs[i].d;
	free(refs);
}

int ag_policy_parse_buf(const char *name, const char *buf, size_t len, struct ag_policy **out,
			struct ag_diags *diags)
{
	struct ctx c = { .file = name ? name : "<input>", .buf = buf, .len = len, .diags = diags };
	size_t first_diag = diags->n, errors = diags->n_errors;
	struct node *root = NULL;
	int err;

	*out = NULL;
	c.p = calloc(1, sizeof(*c.p));
	if (!c.p)
		return -ENOMEM;
	c.p->file = strdup(c.file);
	if (!c.p->file) {
		err = -ENOMEM;
		goto cleanup;
	}
	c.p->layer = AG_LAYER_LOCAL;
	c.p->mode = AG_MODE_ENFORCE;
	ag_sha256(buf, len, c.p->sha256);

	err = load(&c, &root);
	if (err)
		goto cleanup;
	check_root(&c, root);
	if (!c.err)
		check_ids(&c);
	err = c.err;
	if (!err && diags->n_errors > errors)
		err = -EINVAL;

cleanup:
	arena_free(&c);
	sort_diags(diags, first_diag);
	if (err) {
		ag_policy_free(c.p);
		return err;
	}
	*out = c.p;
	return 0;
}

/* Whole file in memory: works for pipes and /dev/stdin too, and the hash needs it anyway. */
static int read_all(const char *path, char **buf, size_t *len)
{
	size_t cap = 0, n = 0;
	char *b = NULL, *nb;
	struct stat st;
	int fd, err = 0;
	ssize_t r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto cleanup;
	}
	if (S_ISDIR(st.st_mode)) {
		err = -EISDIR;
		goto cleanup;
	}
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : (S_ISREG(st.st_mode) && st.st_size > 0 ?
					       (size_t)st.st_size + 1 : 4096);
			if (cap > FILE_SIZE_MAX + 1)
				cap = FILE_SIZE_MAX + 1;
			if (n == cap) {
				err = -EFBIG;
				goto cleanup;
			}
			nb = realloc(b, cap);
			if (!nb) {
				err = -ENOMEM;
				goto cleanup;
			}
			b = nb;
		}
		r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			goto cleanup;
		}
		if (!r)
			break;
		n += (size_t)r;
	}
	*buf = b;
	*len = n;
	b = NULL;

cleanup:
	free(b);
	close(fd);
	return err;
}

int ag_policy_parse_file(const char *path, struct ag_policy **out, struct ag_diags *diags)
{
	char *buf = NULL;
	size_t len = 0;
	int err;

	*out = NULL;
	err = read_all(path, &buf, &len);
	if (err)
		return err;
	err = ag_policy_parse_buf(path, buf ? buf : "", len, out, diags);
	free(buf);
	return err;
}
