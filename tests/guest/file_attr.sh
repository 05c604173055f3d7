# SPDX-License-Identifier: GPL-2.0
# Attributes, xattrs, ACLs and ancestors of rule paths (file.bpf.c; threat model R9, R11, R23,
# R24). On an ext4 file system (a loop image: it has user.* xattrs and ACLs on 6.1 and 6.12
# alike) mounted below a tmpfs:
#   - utimes, touch -d, futimens and ftruncate of an inherited fd on "ro" and "none" paths;
#   - setxattr, removexattr, setfacl (the ACL xattr: inode_set_acl on 6.12, inode_setxattr on
#     6.1) on "ro" paths, and security.* and trusted.* refused even on "rw" paths;
#   - the 6.1 exception: a non-root user outside the sandbox still meets the kernel's
#     capability check for security.* xattrs (the hooks return 1 to allow there), and a
#     non-root user in the sandbox cannot give its own file capabilities;
#   - R11: an ancestor of a stricter rule's path cannot be renamed (either end), removed or
#     replaced by a symlink, while its siblings can;
#   - the inode hooks get no mount: a file reachable through two mounts (a bind mount) is
#     judged by the stricter of its two paths;
#   - agentguard's own files keep their times and ACLs (builtin:protected-files).
# Each with its exact errno, the object left as it was, the allowed control, and the event
# (operation, resolved path, rule). Outside the sandbox nothing is judged.
. /tests/guest/lib.sh

P=file-attr
F=/tmp/fa
mkdir -p $F
dd if=/dev/zero of=/tmp/fa.img bs=1024 count=8192 2>/dev/null
mke2fs -F -I 256 /tmp/fa.img >/dev/null 2>&1 || { fail setup "mke2fs failed"; exit 1; }
mount -t ext4 -o loop /tmp/fa.img $F || { fail setup "cannot mount the ext4 image"; exit 1; }
mkdir -p $F/rw/home/.ssh $F/rw/home/other $F/rw/sibling $F/rw/empty $F/rw/logs/keep \
	$F/rw/sub2 $F/rw/sub3 $F/rw/alias $F/rw/alias2 $F/ro/sub $F/ro/alias3 $F/none $F/audit
echo key >$F/rw/home/.ssh/id
for f in file file2 file3 file4 acl2 sub/x; do echo data >$F/ro/$f; done
for f in f f2 f3 cap acl x own own-caps plainfile; do echo data >$F/rw/$f; done
echo y >$F/rw/sub2/y
echo z >$F/rw/sub3/z
echo key >$F/none/key
echo data >$F/audit/f
ln -s $F/rw/sibling $F/rw/link1
chown 1000:1000 $F/rw/own $F/rw/own-caps
# Set up outside the sandbox, where nothing is judged.
agt setxattr $F/ro/file2 user.y 1 >/dev/null
agt setxattr $F/rw/f2 user.y 1 >/dev/null
agt setacl $F/ro/acl2 >/dev/null
agt setacl $F/rw/acl >/dev/null
agt setcap $F/rw/own-caps >/dev/null
# Aliases made before the load: ro/sub seen again below rw, rw/sub2 below rw, rw/sub3 below ro.
mount -o bind $F/ro/sub $F/rw/alias
mount -o bind $F/rw/sub2 $F/rw/alias2
mount -o bind $F/rw/sub3 $F/ro/alias3
mkdir -p "$AG_CG"

cat >$F/rw/file-attr.yaml <<'POLICY'
apiVersion: agentguard/v1
kind: Policy
metadata:
  name: file-attr
spec:
  filesystem:
    default: deny
    rules:
      - path: /bin
        access: ro
        exec: true
      - path: /usr
        access: ro
        exec: true
      - path: /lib
        access: ro
      - path: /lib64
        access: ro
      - path: /dev
        access: rw
      - path: /proc
        access: ro
      - path: /tmp/fa/rw
        access: rw
      - path: /tmp/fa/ro
        access: ro
      - path: /tmp/fa/none
        access: none
      - path: /tmp/fa/audit
        access: ro
        mode: audit
      - path: /tmp/fa/rw/home/.ssh
        access: none
      - path: /tmp/fa/rw/empty/.ssh
        access: none
      - path: /tmp/fa/rw/nohome/.aws
        access: none
      - path: /tmp/fa/rw/plainfile/x
        access: none
      - path: /tmp/fa/rw/logs/keep
        access: ro
        mode: audit
  network:
    default: allow
POLICY
RW=6 RO=7 NONE=8 AUDIT=9 SSH=10 EMPTY=11 NOHOME=12 PLAIN=13 KEEP=14
start_agentguard $F/rw/file-attr.yaml

# ---- times: inode_setattr (and ftruncate of an fd) --------------------------------------
MT=981158400
expect utimes_ro_denied EPERM inside agt utimes $F/ro/file
still utimes_ro_kept test "$(stat -c %Y $F/ro/file)" != $MT
file_event utimes_ro_event setattr $F/ro/file $RO
expect utimes_rw_allowed ok inside agt utimes $F/rw/f
still utimes_rw_made test "$(stat -c %Y $F/rw/f)" = $MT
expect_no_event utimes_rw_no_event "\"path\":\"$F/rw/f\""
expect touch_d_none_denied "touch: $F/none/key: Operation not permitted" \
	inside touch -d "2001-02-03 00:00:00" $F/none/key
file_event touch_d_none_event setattr $F/none/key $NONE
expect touch_d_rw_allowed ok inside sh -c "touch -d '2001-02-03 00:00:00' $F/rw/f3 && echo ok"
# An fd opened before entering the sandbox: futimens, and ftruncate (path_truncate on 6.1,
# file_truncate from 6.2).
expect futimens_fd_ro_denied EPERM sh -c "exec 3<$F/ro/file3; echo \$\$ >$AG_CG/cgroup.procs; exec agt futimens 3"
file_event futimens_fd_ro_event setattr $F/ro/file3 $RO
expect ftruncate_fd_ro_denied EPERM sh -c "exec 3<>$F/ro/file4; echo \$\$ >$AG_CG/cgroup.procs; exec agt ftruncate-fd 3 0"
still ftruncate_fd_ro_kept test "$(cat $F/ro/file4)" = data
file_event ftruncate_fd_ro_event truncate $F/ro/file4 $RO
expect ftruncate_fd_rw_allowed ok sh -c "exec 3<>$F/rw/x; echo \$\$ >$AG_CG/cgroup.procs; exec agt ftruncate-fd 3 1"
# A file with no path at all (memfd): not judged by path rules.
expect pathless_times_allowed ok inside agt memfd-times
# Audit: the change goes ahead and is reported.
expect utimes_audit_allowed ok inside agt utimes $F/audit/f
file_event utimes_audit_event setattr $F/audit/f $AUDIT would-deny

# ---- xattrs: inode_setxattr, inode_removexattr -------------------------------------------
expect setxattr_ro_denied EPERM inside agt setxattr $F/ro/file user.x 1
still setxattr_ro_not_set test "$(agt getxattr $F/ro/file user.x)" = ENODATA
file_event setxattr_ro_event setxattr $F/ro/file $RO
expect setxattr_none_denied EPERM inside agt setxattr $F/none/key user.x 1
file_event setxattr_none_event setxattr $F/none/key $NONE
expect setxattr_rw_allowed ok inside agt setxattr $F/rw/f user.x 1
still setxattr_rw_set test "$(agt getxattr $F/rw/f user.x)" = 1
expect removexattr_ro_denied EPERM inside agt removexattr $F/ro/file2 user.y
still removexattr_ro_kept test "$(agt getxattr $F/ro/file2 user.y)" = 1
file_event removexattr_ro_event removexattr $F/ro/file2 $RO
expect removexattr_rw_allowed ok inside agt removexattr $F/rw/f2 user.y
# security.* and trusted.* (R23), even where the path is rw. security.capability passes the
# kernel's own check for root (CAP_SETFCAP) and meets builtin:privileged-xattr on both
# kernels. Other security.* names: 6.12 asks for CAP_SYS_ADMIN first (withheld:
# builtin:capability), 6.1 runs the hook first. trusted.* needs CAP_SYS_ADMIN before any hook.
expect security_cap_rw_denied EPERM inside agt setcap $F/rw/cap
still security_cap_rw_not_set test "$(agt getxattr $F/rw/cap security.capability)" = ENODATA
file_event security_cap_rw_event setxattr $F/rw/cap builtin:privileged-xattr
mark_events
expect security_other_rw_denied EPERM inside agt setxattr $F/rw/f security.agt 1
expect_event_any security_other_rw_event '"rule":{"id":"builtin:privileged-xattr"' '"capability":"CAP_SYS_ADMIN"'
mark_events
expect trusted_rw_denied EPERM inside agt setxattr $F/rw/f trusted.agt 1
expect_event_any trusted_rw_event '"rule":{"id":"builtin:privileged-xattr"' '"capability":"CAP_SYS_ADMIN"'
agt setxattr $F/rw/f2 security.agt 1 >/dev/null
mark_events
expect security_remove_rw_denied EPERM inside agt removexattr $F/rw/f2 security.agt
still security_remove_rw_kept test "$(agt getxattr $F/rw/f2 security.agt)" = 1
expect_event_any security_remove_rw_event '"rule":{"id":"builtin:privileged-xattr"' '"capability":"CAP_SYS_ADMIN"'
# Root outside the sandbox: nothing is judged, and the kernel's checks pass for root.
expect outside_root_security_ok ok agt setxattr $F/rw/f3 security.agt 1
expect outside_root_user_ro_ok ok agt setxattr $F/ro/file3 user.o 1
# The 6.1 exception: with 0 from the hook, 6.1 would skip cap_inode_setxattr and let any user
# set security.* on its own files; the hook returns 1 outside the sandbox, so it still runs.
expect nonroot_outside_security_denied EPERM /usr/libexec/ag-spawn --uid 1000 -- \
	agt setxattr $F/rw/own security.agt 1
expect nonroot_outside_remove_caps_denied EPERM /usr/libexec/ag-spawn --uid 1000 -- \
	agt removexattr $F/rw/own-caps security.capability
still nonroot_outside_caps_kept test "$(agt getxattr $F/rw/own-caps security.capability)" = "20 bytes"
expect nonroot_outside_user_ok ok /usr/libexec/ag-spawn --uid 1000 -- agt setxattr $F/rw/own user.n 1
# In the sandbox a non-root user cannot give its own file capabilities: the kernel's CAP_SETFCAP
# check refuses before any hook runs, so there is no event.
expect nonroot_inside_setcap_denied EPERM /usr/libexec/ag-spawn --cgroup "$AG_CG" --uid 1000 -- \
	agt setcap $F/rw/own
still nonroot_inside_setcap_not_set test "$(agt getxattr $F/rw/own security.capability)" = ENODATA
expect_no_event nonroot_inside_setcap_no_event "\"path\":\"$F/rw/own\""

# ---- ACLs: inode_set_acl, inode_remove_acl (6.12); inode_setxattr, _removexattr (6.1) -----
expect setacl_ro_denied EPERM inside agt setacl $F/ro/file
still setacl_ro_not_set test "$(agt getxattr $F/ro/file system.posix_acl_access)" = ENODATA
file_event setacl_ro_event setacl $F/ro/file $RO
expect setacl_rw_allowed ok inside agt setacl $F/rw/f
still setacl_rw_set test "$(agt getxattr $F/rw/f system.posix_acl_access)" = "44 bytes"
expect removeacl_ro_denied EPERM inside agt removeacl $F/ro/acl2
still removeacl_ro_kept test "$(agt getxattr $F/ro/acl2 system.posix_acl_access)" = "44 bytes"
file_event removeacl_ro_event removeacl $F/ro/acl2 $RO
expect removeacl_rw_allowed ok inside agt removeacl $F/rw/acl

# ---- R11: ancestors of stricter rule paths ------------------------------------------------
# rw/home holds rw/home/.ssh (none): renaming it would carry the keys out from under the rule.
expect mv_ancestor_denied EPERM inside agt rename $F/rw/home $F/rw/home2
still mv_ancestor_kept test -f $F/rw/home/.ssh/id -a ! -e $F/rw/home2
file_event mv_ancestor_event rename $F/rw/home $SSH
# The rw rule's own path is an ancestor too.
expect mv_rule_path_ancestor_denied EPERM inside agt rename $F/rw $F/rw-moved
file_event mv_rule_path_ancestor_event rename $F/rw $SSH
# Siblings, and what sits next to the stricter path, move freely.
expect mv_sibling_allowed ok inside agt rename $F/rw/sibling $F/rw/sibling2
expect mv_next_to_rule_allowed ok inside agt rename $F/rw/home/other $F/rw/home/other2
# RENAME_EXCHANGE moves the new path's subtree too.
expect exchange_ancestor_denied EPERM inside agt rename-exchange $F/rw/sibling2 $F/rw/empty
file_event exchange_ancestor_event rename $F/rw/empty $EMPTY
# An empty ancestor: removing it would make room for a symlink (rw/empty/.ssh is a rule).
expect rmdir_ancestor_denied EPERM inside agt rmdir $F/rw/empty
still rmdir_ancestor_kept test -d $F/rw/empty
file_event rmdir_ancestor_event rmdir $F/rw/empty $EMPTY
expect rmdir_sibling_allowed ok inside agt rmdir $F/rw/sibling2
# Where no ancestor exists yet (rw/nohome/.aws is a rule): no symlink, and no rename to its
# name, would redirect later writes there; a real directory is fine.
expect symlink_ancestor_denied EPERM inside agt symlink $F/rw/audit-dir $F/rw/nohome
still symlink_ancestor_not_made test ! -e $F/rw/nohome -a ! -L $F/rw/nohome
file_event symlink_ancestor_event symlink $F/rw/nohome $NOHOME
expect rename_to_ancestor_denied EPERM inside agt rename $F/rw/link1 $F/rw/nohome
file_event rename_to_ancestor_event rename $F/rw/nohome $NOHOME
expect symlink_sibling_allowed ok inside agt symlink $F/rw/f $F/rw/link2
expect mkdir_ancestor_allowed ok inside agt mkdir $F/rw/nohome
# A file where an ancestor's name is (rw/plainfile/x is a rule): unlinking it is refused too.
expect unlink_ancestor_denied EPERM inside agt unlink $F/rw/plainfile
file_event unlink_ancestor_event unlink $F/rw/plainfile $PLAIN
expect unlink_sibling_allowed ok inside agt unlink $F/rw/x
# An audit rule's ancestor: the rename goes ahead and is reported.
expect mv_audit_ancestor_allowed ok inside agt rename $F/rw/logs $F/rw/logs2
file_event mv_audit_ancestor_event rename $F/rw/logs $KEEP would-deny

# ---- a dentry without its mount: every mount that reaches it -----------------------------
# ro/sub is bound at rw/alias: through the rw name, the ro path still decides.
expect alias_into_rw_denied EPERM inside agt setxattr $F/rw/alias/x user.a 1
file_event alias_into_rw_event setxattr $F/ro/sub/x $RO
# rw/sub3 is bound at ro/alias3: the stricter of the two paths decides through either name.
expect alias_into_ro_denied EPERM inside agt setxattr $F/rw/sub3/z user.a 1
file_event alias_into_ro_event setxattr $F/ro/alias3/z $RO
expect alias_rw_allowed ok inside agt setxattr $F/rw/alias2/y user.a 1

# ---- agentguard's own files (builtin:protected-files), in a rw directory -----------------
expect protected_utimes_denied EPERM inside agt utimes $F/rw/file-attr.yaml
file_event protected_utimes_event setattr $F/rw/file-attr.yaml builtin:protected-files
expect protected_setacl_denied EPERM inside agt setacl $F/rw/file-attr.yaml
file_event protected_setacl_event setacl $F/rw/file-attr.yaml builtin:protected-files

# ---- outside the sandbox nothing is judged -----------------------------------------------
expect outside_utimes_ok ok agt utimes $F/ro/file
expect outside_setacl_ok ok agt setacl $F/ro/file
expect outside_rename_ok ok agt rename $F/rw/home $F/rw/home-out
expect outside_rename_back_ok ok agt rename $F/rw/home-out $F/rw/home
expect_no_event outside_no_event '/tmp/fa/rw/home-out'

end_suite
umount $F/rw/alias $F/rw/alias2 $F/ro/alias3 $F
