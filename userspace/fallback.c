// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>

#include "fallback.h"

#define P "agentguard: fallback: "

static const char *const class_names[AG_FS_NCLASSES] = {
	[AG_FS_READ] = "read", [AG_FS_WRITE] = "write", [AG_FS_EXEC] = "exec",
};

static void put_classes(FILE *f, __u32 classes)
{
	const char *sep = "";
	__u32 cls;

	for (cls = 0; cls < AG_FS_NCLASSES; cls++)
		if (classes & (1u << cls)) {
			fprintf(f, "%s%s", sep, class_names[cls]);
			sep = ", ";
		}
}

/*
 * The position of rule i within its policy's section: rules are added policy by policy, each
 * section's rules in order (compile.c), so it is the count of same-kind rules just before it.
 */
static size_t section_index(const struct ag_compiled *c, __u32 i)
{
	__u32 d = i;

	while (d > 0 && c->rules[d - 1].kind == c->rules[i].kind &&
	       c->rules[d - 1].policy == c->rules[i].policy)
		d--;
	return i - d;
}

/* The line's subject: "FILE:LINE:COL: rule "ID"" (a default has no position: "FILE: ..."). */
static void put_rule(FILE *f, const struct ag_compiled *c, __u32 i)
{
	const struct ag_rule_ref *r = &c->rules[i];

	if (r->pos.line)
		fprintf(f, P "%s:%u:%u: rule \"%s\"", r->policy->file, r->pos.line, r->pos.col,
			r->id);
	else
		fprintf(f, P "%s: rule \"%s\"", r->policy->file, r->id);
}

/* Another rule named within a line: rule "ID" (FILE:LINE:COL). */
static void put_rule_ref(FILE *f, const struct ag_compiled *c, __u32 i)
{
	const struct ag_rule_ref *r;

	if (i >= c->n_rules) {
		fputs("an unknown rule", f);
		return;
	}
	r = &c->rules[i];
	if (r->pos.line)
		fprintf(f, "rule \"%s\" (%s:%u:%u)", r->id, r->policy->file, r->pos.line,
			r->pos.col);
	else
		fprintf(f, "rule \"%s\" (%s)", r->id, r->policy->file);
}

/* What a filesystem rule or default says: " (/root/.ssh, none)", " (default deny)". */
static void put_fs_what(FILE *f, const struct ag_compiled *c, __u32 i)
{
	static const char *const access[] = { [AG_FS_NONE] = "none", [AG_FS_RO] = "ro",
					      [AG_FS_RW] = "rw" };
	const struct ag_rule_ref *r = &c->rules[i];
	const struct ag_fs_rule *fr;

	if (r->kind == AG_RK_FS_DEFAULT) {
		fprintf(f, " (default %s)", r->policy->fs_default_allow ? "allow" : "deny");
		return;
	}
	fr = &r->policy->fs_rules[section_index(c, i)];
	fprintf(f, " (%s, %s%s)", fr->path, access[fr->access], fr->exec ? ", exec" : "");
}

static bool is_fs(const struct ag_rule_ref *r)
{
	return r->kind == AG_RK_FS_RULE || r->kind == AG_RK_FS_DEFAULT;
}

/* The lowest class in classes (a grant has at least one). */
static __u32 first_class(__u32 classes)
{
	return classes ? (__u32)__builtin_ctz(classes) : AG_FS_READ;
}

/*
 * "read, write at /home/u/.ssh allowed by rule "p:filesystem[0]" (t.yaml:11:9) on /home, exec
 * ...": the classes lost, grouped by where and to which grant they were first lost.
 */
static void put_losses(FILE *f, const struct ag_compiled *c, const struct ag_ll_rule *r)
{
	const struct ag_ll_loss *l;
	__u32 cls, other, group, done = 0;

	for (cls = 0; cls < AG_FS_NCLASSES; cls++) {
		l = &r->loss[cls];
		if (!l->path || (done & (1u << cls)))
			continue;
		group = 0;
		for (other = cls; other < AG_FS_NCLASSES; other++)
			if (r->loss[other].path == l->path && r->loss[other].by == l->by &&
			    r->loss[other].by_rule == l->by_rule)
				group |= 1u << other;
		fputs(done ? ", " : "", f);
		done |= group;
		put_classes(f, group);
		fprintf(f, " at %s allowed by ", l->path);
		put_rule_ref(f, c, l->by_rule);
		fprintf(f, " on %s", l->by->path);
	}
}

static void report_fs_run(FILE *f, const struct ag_compiled *c, const struct ag_ll_assessment *a)
{
	const struct ag_ll_rule *r;
	__u32 i;

	for (i = 0; i < c->n_rules; i++) {
		if (!is_fs(&c->rules[i]))
			continue;
		r = &a->rule[i];
		put_rule(f, c, i);
		put_fs_what(f, c, i);
		switch (r->status) {
		case AG_LL_NO_EFFECT:
			fputs(": no effect (another layer decides every path it names)", f);
			break;
		case AG_LL_ENFORCED:
			fputs(": enforced", f);
			break;
		case AG_LL_PARTIAL:
		case AG_LL_UNENFORCED:
			fprintf(f, ": %s: ", r->status == AG_LL_PARTIAL ? "PARTLY ENFORCED" :
									  "NOT ENFORCED");
			put_losses(f, c, r);
			fputs("; Landlock cannot deny below a path it allows", f);
			break;
		}
		if (r->audit)
			fputs("; audit mode: allowed, but no would-deny event is written", f);
		fputc('\n', f);
	}
}

/* Grants that could not be placed as the policy says: stricter, but the operator should know. */
static void report_grant_notes(FILE *f, const struct ag_compiled *c,
			       const struct ag_ll_plan *plan)
{
	const struct ag_ll_grant *g;
	size_t i;

	for (i = 0; i < plan->n_grant; i++) {
		g = &plan->grant[i];
		if (!g->err && !(g->file && (g->classes & AG_FS_WANT_WRITE)))
			continue;
		put_rule(f, c, c->fs[g->entry].val.rule[first_class(g->classes)]);
		if (g->err == -ENOENT)
			fprintf(f, ": note: %s does not exist now: nothing is granted there for this "
				   "run (stricter than the policy)\n", g->path);
		else if (g->err == -ELOOP)
			fprintf(f, ": note: %s goes through a symlink: nothing is granted there (the "
				   "kernel never judges that path, as with BPF-LSM)\n", g->path);
		else if (g->err)
			fprintf(f, ": note: %s cannot be opened (%s): nothing is granted there "
				   "(stricter than the policy)\n", g->path, strerror(-g->err));
		else
			fprintf(f, ": note: %s is a file: it may be written and truncated, not "
				   "removed, renamed or replaced (Landlock grants those on its "
				   "directory; stricter than the policy)\n", g->path);
	}
}

/* Network, unix and inbound rules: the cgroup programs are the same as in BPF-LSM mode. */
static void report_other(FILE *f, const struct ag_compiled *c, int abi)
{
	__u32 i;

	for (i = 0; i < c->n_rules; i++) {
		const struct ag_rule_ref *r = &c->rules[i];

		switch (r->kind) {
		case AG_RK_NET_RULE:
		case AG_RK_NET_DEFAULT:
			put_rule(f, c, i);
			fputs(": enforced (cgroup programs)\n", f);
			break;
		case AG_RK_INBOUND_RULE:
			put_rule(f, c, i);
			fputs(": enforced for bind() (cgroup programs); listen() on a socket never "
			      "bound is not judged\n", f);
			break;
		case AG_RK_UNIX_RULE:
			put_rule(f, c, i);
			if (abi >= 6 && r->policy->unix_rules[section_index(c, i)].abstract)
				fputs(": not honoured: Landlock keeps every abstract socket outside "
				      "the sandbox out of reach (stricter than the policy)\n", f);
			else
				fputs(": no effect: pathname unix sockets are not judged in the "
				      "fallback, so nothing needs allowing\n", f);
			break;
		default:
			break;
		}
	}
}

/*
 * The sandbox's limits need the memory, pids and cpu controllers in the cgroup2 hierarchy; a
 * hybrid host keeps them on cgroup v1. Only a policy's own spec.resources is counted.
 */
static size_t report_limits(FILE *f, const struct ag_compiled *c, const char *missing)
{
	const struct ag_resources *r;
	const struct ag_pos *pos;
	size_t i, n = 0;

	if (!missing[0]) {
		fputs(P "built-in: resource limits (memory.max, pids.max, cpu.max): enforced\n", f);
		return 0;
	}
	fprintf(f, P "built-in: resource limits (memory.max, pids.max, cpu.max): NOT ENFORCED: no "
		   "%s controller in the cgroup2 hierarchy here (the machine's layout decides this, "
		   "not the policy: reported, not refused)\n", missing);
	for (i = 0; i < c->n_policies; i++) {
		r = &c->policies[i]->resources;
		pos = r->has_memory_max ? &r->memory_pos : r->has_pids_max ? &r->pids_pos :
			      r->has_cpu_max ? &r->cpu_pos : NULL;
		if (!pos)
			continue;
		n++;
		fprintf(f, P "%s:%u:%u: spec.resources: NOT ENFORCED: no %s controller in the "
			   "cgroup2 hierarchy here\n", c->policies[i]->file, pos->line, pos->col,
			missing);
	}
	return n;
}

/* What no rule can change under this backend, for run (landlock true) and for load. */
static void report_backend(FILE *f, int abi, bool landlock)
{
	fputs(P "not judged by this backend: chmod, utimes and user.* extended attributes of "
		"files the agent's uid owns; stat; connect() and sendmsg() to pathname unix "
		"sockets (an agent running as root reaches every daemon whose socket root may "
		"open: docker, the D-Bus system bus); socket families other than IPv4 and IPv6 "
		"(SCTP, vsock, AF_ALG) and the module loads they trigger; clone(CLONE_NEWUSER)\n",
	      f);
	if (!landlock)
		return;
	fputs(P "partly judged: exec rules judge execve(), not mmap() or mprotect() with "
		"PROT_EXEC (a loader can map a file it may only read); files opened before the "
		"command started keep their access (agentguard run closes every fd above 2)\n", f);
	fputs(P "refused for lack of capabilities, not by a rule (EPERM, no event): chown, "
		"security.* and trusted.* extended attributes, mknod of devices, raw and packet "
		"sockets, bpf(), mount, and the rest of what the dropped capabilities allow\n", f);
	if (abi < 2)
		fputs(P "Landlock ABI 1: every rename or link into another directory fails "
			"(EXDEV)\n", f);
	if (abi < 3)
		fputs(P "Landlock ABI < 3: truncate(2) is not judged\n", f);
	if (abi < 6)
		fputs(P "Landlock ABI < 6: signals to processes outside the sandbox (agentguard "
			"included) and abstract unix sockets outside it are not restricted\n", f);
	fputs(P "errors: Landlock denies with EACCES (EXDEV for a rename or link that would give "
		"a file more access), not EPERM; the cgroup programs and the seccomp filter still "
		"give EPERM. Landlock's denials produce no agentguard event\n", f);
}

size_t ag_fallback_report_run(FILE *f, const struct ag_compiled *c, const struct ag_ll_plan *plan,
			      const struct ag_ll_assessment *a,
			      const struct ag_fallback_protected *prot, size_t n_prot,
			      const char *no_limits)
{
	const struct ag_ll_grant *g;
	size_t i, n = a->n_lost;

	fprintf(f, P "Landlock ABI %d restricts the filesystem, cgroup programs the network; "
		   "the command runs without capabilities\n", plan->abi);
	report_fs_run(f, c, a);
	report_grant_notes(f, c, plan);
	report_other(f, c, plan->abi);
	for (i = 0; i < n_prot; i++) {
		g = ag_ll_writable(plan, prot[i].path);
		fprintf(f, P "built-in: %s %s: ", prot[i].what, prot[i].path);
		if (!g) {
			fputs("enforced (no rule grants write there)\n", f);
			continue;
		}
		n++;
		fputs("NOT ENFORCED: writable through ", f);
		put_rule_ref(f, c, c->fs[g->entry].val.rule[AG_FS_WRITE]);
		fprintf(f, " on %s\n", g->path);
	}
	n += report_limits(f, c, no_limits);
	report_backend(f, plan->abi, true);
	return n;
}

long ag_fallback_report_load(FILE *f, const struct ag_compiled *c, const char *no_limits)
{
	struct ag_ll_plan none = {};	/* no grant: every denial counted, none lost */
	struct ag_ll_assessment a;
	long n = 0;
	__u32 i;
	int err;

	err = ag_ll_assess(c, &none, &a);
	if (err)
		return err;
	fputs(P "cgroup programs enforce the network section; nothing restricts the filesystem "
		"(Landlock applies to a process and its children, not to a cgroup)\n", f);
	for (i = 0; i < c->n_rules; i++) {
		if (!is_fs(&c->rules[i]))
			continue;
		put_rule(f, c, i);
		put_fs_what(f, c, i);
		if (!a.rule[i].denials) {
			fputs(": nothing to enforce (it denies nothing)\n", f);
			continue;
		}
		n++;
		fputs(": NOT ENFORCED by agentguard load (agentguard run --fallback landlock "
		      "enforces it)\n", f);
	}
	report_other(f, c, 0);
	n += report_limits(f, c, no_limits);
	fputs(P "built-in containment: NOT ENFORCED: the processes in the cgroup keep the "
		"capabilities they were started with, and with CAP_BPF or CAP_SYS_ADMIN can detach "
		"the cgroup programs; start them without capabilities and with no_new_privs, as "
		"agentguard run --fallback landlock does\n", f);
	report_backend(f, 0, false);
	ag_ll_assessment_free(&a);
	return n;
}
