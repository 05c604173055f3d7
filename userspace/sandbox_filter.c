// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/securebits.h>

#include "sandbox_filter.h"

/* Refused with EPERM. Reasons: docs/host-mode.md. */
static const char *const refused[] = {
	"bpf", "ptrace", "process_vm_readv", "process_vm_writev",
	"kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
	"open_by_handle_at", "name_to_handle_at", "userfaultfd", "perf_event_open",
	"mount", "umount2", "pivot_root", "fsopen", "fsconfig", "fsmount", "fspick", "move_mount",
	"open_tree", "mount_setattr", "unshare", "setns", "add_key", "request_key", "keyctl",
	"acct", "swapon", "swapoff", "reboot", "syslog", "quotactl", "lookup_dcookie",
};

int ag_sandbox_filter_install(bool io_uring)
{
	scmp_filter_ctx ctx;
	size_t i;
	int nr, err = 0;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	/* Another architecture's system calls (i386 int 0x80, x32) are not filtered: kill. */
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return -ENOMEM;
	err = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	for (i = 0; !err && i < sizeof(refused) / sizeof(refused[0]); i++) {
		nr = seccomp_syscall_resolve_name(refused[i]);
		/* Unknown to this libseccomp: fail closed rather than leave it open. */
		err = nr == __NR_SCMP_ERROR ? -ENOSYS :
					     seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
	}
	/* Its operations bypass seccomp entirely; the LSM hooks judge them when allowed. */
	if (!err && !io_uring)
		err = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
				       seccomp_syscall_resolve_name("io_uring_setup"), 0);
	/* Its arguments live in memory seccomp cannot read: ENOSYS makes libc fall back to clone. */
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
				       seccomp_syscall_resolve_name("clone3"), 0);
	if (!err)
		err = seccomp_load(ctx);
	seccomp_release(ctx);
	return err;
}

int ag_sandbox_drop_caps(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
	int cap;

	/*
	 * Without these, uid 0's next exec refills the permitted set from the bounding set, and a
	 * setuid-root binary does the same; locked, so they cannot be cleared again.
	 */
	if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
				     SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
				     SECBIT_NO_CAP_AMBIENT_RAISE |
				     SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED, 0, 0, 0))
		return -errno;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0))
		return -errno;
	/* PR_CAPBSET_READ fails (EINVAL) past the kernel's last capability. */
	for (cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0))
			return -errno;
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	return 0;
}
