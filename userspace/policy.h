/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The policy language v1 as parsed: one struct ag_policy per YAML file, with the position of
 * every rule so errors and events can name FILE:LINE:COL. Parsing never needs privileges or a
 * kernel. The compiler (policy_compile.c) folds several policies (layers) into kernel tables.
 */
#ifndef AG_POLICY_H
#define AG_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define AG_NAME_MAX 63		/* metadata.name: [a-z0-9-]{1,63} */
#define AG_PATH_LEN_MAX 4095	/* rule paths, bytes, without NUL */
#define AG_DOMAIN_MAX 253

/* Layers in precedence order: a lower value is a higher layer (org wins). */
enum ag_layer {
	AG_LAYER_ORG = 0,
	AG_LAYER_TEAM = 1,
	AG_LAYER_LOCAL = 2,
};

enum ag_mode {
	AG_MODE_INHERIT = -1,	/* rules only: use the policy's mode */
	AG_MODE_ENFORCE = 0,
	AG_MODE_AUDIT = 1,
};

enum ag_fs_access {
	AG_FS_NONE = 0,
	AG_FS_RO = 1,
	AG_FS_RW = 2,
};

enum ag_net_action {
	AG_NET_ALLOW = 0,
	AG_NET_DENY = 1,
};

enum ag_net_target {
	AG_TARGET_CIDR = 0,	/* "cidr:" */
	AG_TARGET_IP = 1,	/* "ip:" (a /32 or /128) */
	AG_TARGET_DOMAIN = 2,	/* "domain:" */
};

/* Bit mask so "any" is both. */
enum ag_net_proto {
	AG_PROTO_TCP = 1,
	AG_PROTO_UDP = 2,
	AG_PROTO_ANY = 3,
};

/* 1-based, as editors show them. */
struct ag_pos {
	unsigned int line;
	unsigned int col;
};

struct ag_port_range {
	uint16_t lo;		/* 1..65535, lo <= hi */
	uint16_t hi;
	struct ag_pos pos;
};

struct ag_fs_rule {
	char *id;		/* explicit "id:", or NULL: "<name>:filesystem[<index>]" */
	char *path;		/* absolute, normalised (no //, no trailing /, no . or ..) */
	enum ag_fs_access access;
	bool exec;
	enum ag_mode mode;	/* AG_MODE_INHERIT unless the rule says "mode:" */
	struct ag_pos pos;	/* of the rule's mapping (the "- " item) */
	struct ag_pos path_pos;	/* of the path value */
};

struct ag_net_rule {
	char *id;
	enum ag_net_action action;
	enum ag_net_target target;
	/*
	 * cidr/ip: the address as IPv6 bytes, IPv4 mapped to ::ffff:a.b.c.d, and the prefix
	 * length counted on those 128 bits (an IPv4 /16 is 112). Host bits are zero.
	 */
	uint8_t addr[16];
	unsigned int prefixlen;
	bool is_v4;		/* written as IPv4 */
	char *domain;		/* target == AG_TARGET_DOMAIN: lower-case A-labels, "*." allowed */
	struct ag_port_range *ports;	/* NULL and n_ports == 0: all ports */
	size_t n_ports;
	enum ag_net_proto protocol;
	enum ag_mode mode;
	struct ag_pos pos;
	struct ag_pos target_pos;	/* of the cidr/ip/domain value */
};

/*
 * spec.unix.rules[]: a unix socket whose peer (listener or datagram receiver) is outside the
 * sandbox, which the built-in rule would otherwise deny. Exactly one of path or abstract.
 * Allow-only: every loaded layer must list a socket for it to be reachable.
 */
struct ag_unix_rule {
	char *id;		/* explicit "id:", or NULL: "<name>:unix[<index>]" */
	char *path;		/* absolute, normalised pathname socket, or NULL */
	char *abstract;		/* abstract name without the leading NUL byte, or NULL */
	size_t abstract_len;	/* bytes of abstract (it may contain any byte but NUL) */
	struct ag_pos pos;
	struct ag_pos target_pos;
};

/* spec.resources: limits on the sandbox cgroup. Across layers the smallest value wins. */
/* spec.process: what host mode (agentguard run) lets the sandboxed command do. */
struct ag_process {
	bool has_io_uring;
	bool io_uring;		/* io_uring_setup allowed by the seccomp filter */
	struct ag_pos io_uring_pos;
};

struct ag_resources {
	bool has_memory_max;
	uint64_t memory_max;	/* bytes; YAML: an integer or "512M", "2G" (powers of 1024) */
	bool has_pids_max;
	uint64_t pids_max;	/* tasks, >= 1 */
	bool has_cpu_max;
	uint32_t cpu_max_percent;	/* of one CPU: "150%" = 1.5 CPUs, 1..100000 */
	struct ag_pos memory_pos, pids_pos, cpu_pos;
};

struct ag_policy {
	char *file;		/* as given on the command line */
	char *name;		/* metadata.name */
	enum ag_layer layer;
	enum ag_mode mode;	/* spec.mode */
	bool fs_default_allow;	/* spec.filesystem.default */
	bool net_default_allow;	/* spec.network.default */
	struct ag_fs_rule *fs_rules;
	size_t n_fs_rules;
	struct ag_net_rule *net_rules;
	size_t n_net_rules;
	struct ag_unix_rule *unix_rules;	/* spec.unix.rules */
	size_t n_unix_rules;
	/*
	 * spec.network.inbound: local addresses the sandbox may bind and listen on beyond
	 * loopback. Allow-only (action AG_NET_ALLOW, target cidr or ip, mode inherit).
	 */
	struct ag_net_rule *inbound_rules;
	size_t n_inbound_rules;
	struct ag_resources resources;		/* spec.resources */
	struct ag_process process;		/* spec.process */
	uint8_t sha256[32];	/* of the file's bytes */
};

/* Diagnostics: "FILE:LINE:COL: error: message" lines, collected, never printed by the parser. */
enum ag_diag_level {
	AG_DIAG_WARNING = 0,
	AG_DIAG_ERROR = 1,
};

struct ag_diag {
	enum ag_diag_level level;
	char *file;
	struct ag_pos pos;
	char *msg;
};

struct ag_diags {
	struct ag_diag *v;
	size_t n;
	size_t n_errors;
};

void ag_diags_add(struct ag_diags *d, enum ag_diag_level level, const char *file,
		  struct ag_pos pos, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Writes every diagnostic as "FILE:LINE:COL: error: msg\n" (or "warning:"). */
void ag_diags_print(const struct ag_diags *d, FILE *f);
void ag_diags_free(struct ag_diags *d);

/*
 * Parse one policy. Returns 0 with *out set, -EINVAL when the text is not a valid v1 policy
 * (every problem found is in diags, each with its position), or another -errno when the file
 * cannot be read (nothing in diags). Never prints.
 */
int ag_policy_parse_file(const char *path, struct ag_policy **out, struct ag_diags *diags);
int ag_policy_parse_buf(const char *name, const char *buf, size_t len, struct ag_policy **out,
			struct ag_diags *diags);
void ag_policy_free(struct ag_policy *p);

const char *ag_layer_name(enum ag_layer layer);
const char *ag_mode_name(enum ag_mode mode);

#endif /* AG_POLICY_H */
