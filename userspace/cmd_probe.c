// SPDX-License-Identifier: GPL-2.0
/*
 * agentguard probe: can this kernel enforce? Reports what it finds and runs a self-test with
 * the real programs: file_open denies one temporary file for one throwaway cgroup; a child
 * in that cgroup must get EPERM and this process, outside it, must open the file.
 * Exit 0 only when full enforcement is possible, 69 otherwise; then it also says whether the
 * Landlock fallback (--fallback landlock: Landlock and the cgroup programs) is possible.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/landlock.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cgroup.h"
#include "cli.h"
#include "compile.h"
#include "loader.h"
#include "log.h"
#include "policy.h"

struct probe {
	char lsm[256];
	char lockdown[128];
	char cgroup2[4096];
	bool bpf_lsm, btf, ringbuf, sock_addr;
	int landlock_abi;	/* 0: unavailable */
	bool fallback;		/* --fallback landlock possible: Landlock and sock_addr */
	const char *self_test;	/* "pass", "fail", "error" */
	char detail[512];
};

static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	int err = 0;

	if (!f)
		return -errno;
	if (!fgets(buf, len, f))
		err = -EIO;
	else
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
	return err;
}

static void probe_lsm(struct probe *p)
{
	char *tok, *save, tmp[256];

	if (access("/sys/kernel/security/lsm", R_OK) && getuid() == 0)
		mount("securityfs", "/sys/kernel/security", "securityfs", 0, NULL);
	if (read_line("/sys/kernel/security/lsm", p->lsm, sizeof(p->lsm)))
		snprintf(p->lsm, sizeof(p->lsm), "unknown");
	snprintf(tmp, sizeof(tmp), "%s", p->lsm);
	for (tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (!strcmp(tok, "bpf"))
			p->bpf_lsm = true;
	if (read_line("/sys/kernel/security/lockdown", p->lockdown, sizeof(p->lockdown)))
		snprintf(p->lockdown, sizeof(p->lockdown), "unknown");
	else {
		/* "none [integrity] confidentiality": report the bracketed one. */
		char *a = strchr(p->lockdown, '['), *b = a ? strchr(a, ']') : NULL;

		if (a && b) {
			*b = '\0';
			memmove(p->lockdown, a + 1, strlen(a + 1) + 1);
		}
	}
}

static void probe_ringbuf(struct probe *p)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "ag_probe_rb", 0, 0, 4096, NULL);

	p->ringbuf = fd >= 0;
	if (fd >= 0)
		close(fd);
}

static int compile_text(const char *yaml, struct ag_policy **pol, struct ag_compiled **c)
{
	struct ag_diags d = {};
	int err;

	err = ag_policy_parse_buf("probe.yaml", yaml, strlen(yaml), pol, &d);
	if (!err)
		err = ag_compile(pol, 1, c, &d);
	ag_diags_free(&d);
	return err;
}

/* A throwaway cgroup next to where sandboxes go. */
static int make_probe_cgroup(const struct probe *p, struct ag_cgroup *cg)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/agentguard-probe-%d", p->cgroup2, getpid());
	return ag_cgroup_open(path, 1, cg);
}

static void drop_probe_cgroup(struct ag_cgroup *cg)
{
	ag_cgroup_close(cg);
	if (cg->created)
		rmdir(cg->path);
}

static void probe_sock_addr(struct probe *p)
{
	static const char yaml[] = "apiVersion: agentguard/v1\nkind: Policy\n"
				   "metadata:\n  name: probe\n"
				   "spec:\n  filesystem:\n    default: allow\n";
	struct ag_loader_opts o = { .cgroup = true };
	struct ag_cgroup cg = { .fd = -1 };
	struct ag_policy *pol = NULL;
	struct ag_compiled *c = NULL;
	struct ag_loader *l = NULL;

	if (compile_text(yaml, &pol, &c) || make_probe_cgroup(p, &cg))
		goto cleanup;
	if (ag_loader_open(&o, &l) || ag_loader_install(l, c) || ag_loader_attach(l, &cg))
		goto cleanup;
	p->sock_addr = true;
cleanup:
	ag_loader_close(l);
	drop_probe_cgroup(&cg);
	ag_compiled_free(c);
	ag_policy_free(pol);
}

/* The self-test: a real denial for one child cgroup only. */
static void probe_self_test(struct probe *p)
{
	struct ag_loader_opts o = { .lsm = true };
	struct ag_cgroup cg = { .fd = -1 };
	struct ag_policy *pol = NULL;
	struct ag_compiled *c = NULL;
	struct ag_loader *l = NULL;
	char file[] = "/tmp/agentguard-probe-XXXXXX", yaml[1024];
	int fd, err, status;
	pid_t pid;

	p->self_test = "error";
	fd = mkstemp(file);
	if (fd < 0) {
		snprintf(p->detail, sizeof(p->detail), "cannot create a temporary file: %s",
			 strerror(errno));
		return;
	}
	close(fd);
	snprintf(yaml, sizeof(yaml),
		 "apiVersion: agentguard/v1\nkind: Policy\nmetadata:\n  name: probe\n"
		 "spec:\n  filesystem:\n    default: allow\n    rules:\n"
		 "      - path: %s\n        access: none\n  network:\n    default: allow\n",
		 file);
	err = compile_text(yaml, &pol, &c);
	if (!err)
		err = make_probe_cgroup(p, &cg);
	if (err) {
		snprintf(p->detail, sizeof(p->detail), "setup failed: %s", strerror(-err));
		goto cleanup;
	}
	err = ag_loader_open(&o, &l);
	if (err) {
		snprintf(p->detail, sizeof(p->detail),
			 "the kernel refused to load the BPF-LSM program: %s", strerror(-err));
		goto cleanup;
	}
	err = ag_loader_install(l, c);
	if (!err)
		err = ag_loader_attach(l, &cg);
	if (err) {
		snprintf(p->detail, sizeof(p->detail),
			 "the kernel refused to attach the BPF-LSM program: %s", strerror(-err));
		goto cleanup;
	}

	pid = fork();
	if (pid == 0) {
		/* Child: inside the throwaway cgroup the file must be denied with EPERM. */
		if (ag_cgroup_enter(&cg, getpid()))
			_exit(3);
		fd = open(file, O_RDONLY);
		if (fd >= 0)
			_exit(1);
		_exit(errno == EPERM ? 0 : 2);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
		snprintf(p->detail, sizeof(p->detail), "the test child did not run");
		goto cleanup;
	}
	fd = open(file, O_RDONLY);
	if (WEXITSTATUS(status) != 0 || fd < 0) {
		p->self_test = "fail";
		snprintf(p->detail, sizeof(p->detail),
			 "inside the cgroup: %s; outside: %s",
			 WEXITSTATUS(status) == 0 ? "EPERM (ok)" :
			 WEXITSTATUS(status) == 1 ? "opened (not enforced)" : "unexpected error",
			 fd >= 0 ? "opened (ok)" : strerror(errno));
	} else {
		p->self_test = "pass";
		snprintf(p->detail, sizeof(p->detail),
			 "EPERM inside a throwaway cgroup, opened outside it");
	}
	if (fd >= 0)
		close(fd);

cleanup:
	ag_loader_close(l);
	drop_probe_cgroup(&cg);
	ag_compiled_free(c);
	ag_policy_free(pol);
	unlink(file);
}

static void print_text(const struct probe *p, bool ok)
{
	printf("bpf in LSM list:    %s (%s)\n", p->bpf_lsm ? "yes" : "NO", p->lsm);
	printf("lockdown:           %s\n", p->lockdown);
	printf("BTF:                %s\n", p->btf ? "yes" : "NO");
	printf("cgroup v2:          %s\n", p->cgroup2[0] ? p->cgroup2 : "NOT MOUNTED");
	printf("cgroup sock_addr:   %s\n", p->sock_addr ? "attach ok" : "FAILED");
	printf("ring buffer:        %s\n", p->ringbuf ? "yes" : "NO");
	if (p->landlock_abi > 0)
		printf("Landlock ABI:       %d\n", p->landlock_abi);
	else
		printf("Landlock ABI:       unavailable\n");
	printf("BPF-LSM self-test:  %s: %s\n", p->self_test, p->detail);
	if (ok)
		printf("result: this kernel can enforce agentguard policies\n");
	else
		printf("result: this kernel CANNOT enforce agentguard policies with BPF-LSM%s\n",
		       p->bpf_lsm ? "" : " (add \"bpf\" to the lsm= kernel parameter)");
	if (!ok)
		printf("fallback:           %s\n", p->fallback ?
		       "--fallback landlock can enforce part of a policy (docs/host-mode.md)" :
		       "none (--fallback landlock needs Landlock and cgroup sock_addr programs)");
}

static void print_json(const struct probe *p, bool ok)
{
	printf("{\"bpf_lsm\":%s,\"lsm\":\"%s\",\"lockdown\":\"%s\",\"btf\":%s,"
	       "\"cgroup2\":%s%s%s,\"cgroup_sock_addr\":%s,\"ringbuf\":%s,\"landlock_abi\":%d,"
	       "\"self_test\":{\"result\":\"%s\",\"detail\":\"%s\"},\"can_enforce\":%s,"
	       "\"fallback_landlock\":%s}\n",
	       p->bpf_lsm ? "true" : "false", p->lsm, p->lockdown, p->btf ? "true" : "false",
	       p->cgroup2[0] ? "\"" : "", p->cgroup2[0] ? p->cgroup2 : "null",
	       p->cgroup2[0] ? "\"" : "", p->sock_addr ? "true" : "false",
	       p->ringbuf ? "true" : "false", p->landlock_abi, p->self_test, p->detail,
	       ok ? "true" : "false", !ok && p->fallback ? "true" : "false");
}

int cmd_probe(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{},
	};
	struct probe p = { .self_test = "error" };
	bool json = false, ok;
	int opt;

	while ((opt = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		if (opt == 'j')
			json = true;
		else if (opt == 'v')
			ag_verbose = true;
		else
			return AG_EXIT_USAGE;
	}
	ag_log_setup_libbpf();
	probe_lsm(&p);
	p.btf = access("/sys/kernel/btf/vmlinux", R_OK) == 0;
	if (ag_cgroup2_mount(p.cgroup2, sizeof(p.cgroup2)))
		p.cgroup2[0] = '\0';
	probe_ringbuf(&p);
	p.landlock_abi = syscall(__NR_landlock_create_ruleset, NULL, 0,
				 LANDLOCK_CREATE_RULESET_VERSION);
	if (p.landlock_abi < 0)
		p.landlock_abi = 0;
	if (p.cgroup2[0]) {
		probe_sock_addr(&p);
		probe_self_test(&p);
	} else {
		snprintf(p.detail, sizeof(p.detail), "no cgroup v2 mount");
	}
	ok = p.bpf_lsm && p.btf && p.cgroup2[0] && p.sock_addr && p.ringbuf &&
	     !strcmp(p.self_test, "pass");
	p.fallback = p.landlock_abi > 0 && p.sock_addr && p.ringbuf;
	if (json)
		print_json(&p, ok);
	else
		print_text(&p, ok);
	return ok ? AG_EXIT_OK : AG_EXIT_UNAVAILABLE;
}
