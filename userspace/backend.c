// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/landlock.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "backend.h"
#include "log.h"

const char *ag_backend_name(enum ag_backend b)
{
	return b == AG_BACKEND_LANDLOCK ? "landlock" : "bpf-lsm";
}

/* Is "bpf" in the kernel's LSM list? 1, 0, or -errno when securityfs cannot be read. */
static int bpf_listed(char *list, size_t len)
{
	char *tok, *save, tmp[256];
	int found = 0;
	FILE *f;

	f = fopen("/sys/kernel/security/lsm", "re");
	if (!f)
		return -errno;
	if (!fgets(list, len, f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	list[strcspn(list, "\n")] = '\0';
	snprintf(tmp, sizeof(tmp), "%s", list);
	for (tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (!strcmp(tok, "bpf"))
			found = 1;
	return found;
}

int ag_bpf_lsm_usable(char *why, size_t len)
{
	/* r0 = 0; exit: "allow", and never attached anyway. */
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_LSM_MAC);
	char list[256];
	int listed, id, fd, err;

	/* Without "bpf" in lsm=, LSM programs load and attach but are never called. */
	listed = bpf_listed(list, sizeof(list));
	if (listed == 0) {
		snprintf(why, len, "\"bpf\" is not in the kernel's LSM list \"%s\"", list);
		return -EOPNOTSUPP;
	}
	/* listed < 0: securityfs is not mounted here; the load below still tells. */
	id = libbpf_find_vmlinux_btf_id("file_open", BPF_LSM_MAC);
	if (id < 0) {
		snprintf(why, len, "the kernel has no BTF for its LSM hooks: %s", strerror(-id));
		return id;
	}
	opts.attach_btf_id = id;
	fd = bpf_prog_load(BPF_PROG_TYPE_LSM, "ag_lsm_probe", "GPL", insns,
			   sizeof(insns) / sizeof(insns[0]), &opts);
	if (fd < 0) {
		err = -errno;
		snprintf(why, len, "the kernel refused to load a BPF-LSM program: %s",
			 strerror(-err));
		return err;
	}
	close(fd);
	return 0;
}

int ag_landlock_abi(void)
{
	long abi = syscall(__NR_landlock_create_ruleset, NULL, 0,
			   LANDLOCK_CREATE_RULESET_VERSION);

	return abi < 0 ? -errno : (int)abi;
}

int ag_backend_choose(bool fallback, enum ag_backend *out, char *why, size_t len)
{
	why[0] = '\0';
	if (!ag_bpf_lsm_usable(why, len)) {
		*out = AG_BACKEND_BPF_LSM;
		return 0;
	}
	if (!fallback)
		return -EOPNOTSUPP;
	*out = AG_BACKEND_LANDLOCK;
	return 0;
}

bool ag_backend_fallback_arg(const char *cmd, const char *arg)
{
	if (!strcmp(arg, "landlock"))
		return true;
	fprintf(stderr, "agentguard: %s: --fallback takes \"landlock\", not \"%s\"\n", cmd, arg);
	return false;
}

void ag_backend_log_refusal(const char *cmd, const char *why)
{
	if (!strcmp(cmd, "run"))
		ag_log_error("run: BPF-LSM is not available (%s), so nothing was run. "
			     "\"agentguard run --fallback landlock\" enforces the filesystem section "
			     "with Landlock and the network section with cgroup programs, runs the "
			     "command without capabilities, and names every rule it cannot enforce; "
			     "see docs/host-mode.md", why);
	else
		ag_log_error("%s: BPF-LSM is not available (%s), so nothing was loaded. "
			     "\"--fallback landlock\" enforces the network section with cgroup "
			     "programs (the filesystem section needs \"agentguard run --fallback "
			     "landlock\") and names every rule it cannot enforce; see "
			     "docs/host-mode.md", cmd, why);
}
