# SPDX-License-Identifier: GPL-2.0
# Ways to make an allow stale (issue #7, #12: the allow-only verdict cache for file_open).
# Each case: the sandbox opens a file on an allowed path first (the allowed control, and what
# would fill a cache keyed by the inode), then a process outside the sandbox, or a reload,
# changes how that same inode is reached so that the policy denies it; the sandbox's next open
# through the denied path must fail with the exact errno and report the denied path. A cache
# that is not invalidated by the change answers "ok" and fails the case. Written before any
# cache existed, so the cache has to pass them as the decision without one does; the ro write,
# unlinked reopen and chroot cases came with the cache's design (docs/policy.md, "The file_open
# allow cache"): each is a change of the path that no rename or mount marks.
. /tests/guest/lib.sh

F=/tmp/fc
rm -rf "$F"
mkdir -p "$F/pub/d" "$F/pub/b" "$F/pub/m" "$F/secret" "$F/u" "$AG_CG"
for f in hard ren d/f b/f n fd mns; do echo "$f" >"$F/pub/$f"; done
echo u >"$F/u/f"

policy() { # PUB-ACCESS
	cat <<Y
apiVersion: agentguard/v1
kind: Policy
metadata:
  name: fc
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
      - path: $F
        access: rw
      - path: $F/secret
        access: none
      - path: $F/pub
        access: $1
      - path: $F/u
        access: none
      - path: $F/u/f
        access: ro
  network:
    default: allow
Y
}
policy rw >/tmp/fc.yaml
policy none >/tmp/fc-narrow.yaml
P=fc
start_agentguard /tmp/fc.yaml

# open_event NAME PATH RULE: the sandbox's read of PATH was denied by rule RULE (an index).
open_event() {
	expect_event "$1" '"kind":"file","operation":"open"' "\"access\":[\"read\"],\"path\":\"$2\"" \
		"\"decision\":\"deny\",\"mode\":\"enforce\",\"rule\":{\"id\":\"$P:filesystem[$3]\""
}

# A hard link made after the allow: the same inode under the denied directory.
expect hardlink_first_open_ok ok inside agt read "$F/pub/hard"
ln "$F/pub/hard" "$F/secret/hard"
expect hardlink_denied EPERM inside agt read "$F/secret/hard"
open_event hardlink_event "$F/secret/hard" 7
expect hardlink_old_name_ok ok inside agt read "$F/pub/hard"

# The file itself renamed into the denied directory by a process outside.
expect rename_first_open_ok ok inside agt read "$F/pub/ren"
mv "$F/pub/ren" "$F/secret/ren"
expect rename_denied EPERM inside agt read "$F/secret/ren"
open_event rename_event "$F/secret/ren" 7

# An ancestor directory renamed: the file's own dentry is untouched, its path is not.
expect ancestor_first_open_ok ok inside agt read "$F/pub/d/f"
mv "$F/pub/d" "$F/secret/d"
expect ancestor_rename_denied EPERM inside agt read "$F/secret/d/f"
open_event ancestor_rename_event "$F/secret/d/f" 7

# A bind mount: the same dentry reached through another vfsmount.
expect bind_first_open_ok ok inside agt read "$F/pub/b/f"
mkdir -p "$F/secret/m"
mount -o bind "$F/pub/b" "$F/secret/m"
expect bind_mount_denied EPERM inside agt read "$F/secret/m/f"
open_event bind_mount_event "$F/secret/m/f" 7
expect bind_source_still_ok ok inside agt read "$F/pub/b/f"
umount "$F/secret/m"

# Another mount namespace, made outside and then moved into the sandbox: there the allowed
# directory is also mounted under the denied one.
expect mntns_first_open_ok ok inside agt read "$F/pub/mns"
mkdir -p "$F/secret/ns"
expect mntns_bind_denied EPERM unshare -m sh -c "mount -o bind $F/pub $F/secret/ns &&
	echo \$\$ >$AG_CG/cgroup.procs && exec agt read $F/secret/ns/mns"
expect mntns_source_ok ok unshare -m sh -c "mount -o bind $F/pub $F/secret/ns &&
	echo \$\$ >$AG_CG/cgroup.procs && exec agt read $F/pub/mns"

# An fd passed in after the allow, opened outside through a denied name of the same inode.
expect fd_first_open_ok ok inside agt read "$F/pub/fd"
ln "$F/pub/fd" "$F/secret/fd"
inside agt recvfd "$F/fd.sock" >/tmp/fc-recv.out 2>&1 &
R=$!
usleep 300000
agt sendfd "$F/fd.sock" "$F/secret/fd" >/dev/null
wait $R
expect fd_passed_denied EPERM cat /tmp/fc-recv.out
expect_event fd_passed_event '"operation":"receive"' "\"path\":\"$F/secret/fd\"" '"decision":"deny"'

# Overlayfs: the lower file reached through an overlay mounted under the denied directory.
if grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null; then
	mkdir -p "$F/ovl-lower" /tmp/fc-ovl/u /tmp/fc-ovl/w "$F/secret/ov"
	echo o >"$F/ovl-lower/o"
	expect overlay_first_open_ok ok inside agt read "$F/ovl-lower/o"
	mount -t overlay overlay -o "lowerdir=$F/ovl-lower,upperdir=/tmp/fc-ovl/u,workdir=/tmp/fc-ovl/w" \
		"$F/secret/ov"
	expect overlay_denied EPERM inside agt read "$F/secret/ov/o"
	open_event overlay_event "$F/secret/ov/o" 7
	umount "$F/secret/ov"
else
	echo "SKIP $(_name overlay_denied): no overlay file system in this guest"
fi

# A read allowed, then a write of the same path, which its rule ("ro") denies: an allow of one
# access answers for no other.
expect ro_first_read_ok ok inside agt read "$F/u/f"
expect ro_write_after_read_denied EPERM inside agt open "$F/u/f" w
expect_event ro_write_event '"operation":"open"' "\"access\":[\"write\"],\"path\":\"$F/u/f\"" \
	'"decision":"deny"' "\"rule\":{\"id\":\"$P:filesystem[10]\""

# The file unlinked by a process outside while the sandbox holds it open: its path is now
# "$F/u/f (deleted)", which no rule but $F/u's ("none") covers. Unlinking takes neither
# rename_lock nor mount_lock; the reopen through /proc/self/fd must still be denied.
inside sh -c "exec 3<$F/u/f && usleep 800000 && agt read /proc/self/fd/3" >/tmp/fc-del.out 2>&1 &
R=$!
usleep 400000
rm "$F/u/f"
wait $R
expect deleted_reopen_denied EPERM tail -n 1 /tmp/fc-del.out
open_event deleted_reopen_event "$F/u/f (deleted)" 9

# Another root: a process outside chroots into an allowed directory, then moves itself into
# the sandbox. There the file's path is "/x", which only the default ("deny") covers.
mkdir -p "$F/pub/cr/bin" "$F/pub/cr/cg"
cp /bin/busybox /usr/local/bin/agt "$F/pub/cr/bin/"
echo x >"$F/pub/cr/x"
mount -o bind /sys/fs/cgroup "$F/pub/cr/cg"
expect chroot_first_open_ok ok inside agt read "$F/pub/cr/x"
expect chroot_denied EPERM chroot "$F/pub/cr" /bin/busybox sh -c \
	"echo \$\$ >/cg/${AG_CG#/sys/fs/cgroup/}/cgroup.procs && exec /bin/agt read /x"
expect_event chroot_event '"operation":"open"' '"path":"/x"' '"decision":"deny"'
expect chroot_source_ok ok inside agt read "$F/pub/cr/x"
umount "$F/pub/cr/cg"

# A reload that narrows the policy: the path that was allowed is now denied.
expect reload_first_open_ok ok inside agt read "$F/pub/n"
if agentguard reload /tmp/fc-narrow.yaml 2>/tmp/fc-reload.log; then
	pass reload_narrow
else
	fail reload_narrow "$(cat /tmp/fc-reload.log)"
fi
expect reload_narrowed_denied EPERM inside agt read "$F/pub/n"
open_event reload_narrowed_event "$F/pub/n" 8
agentguard reload /tmp/fc.yaml 2>/dev/null
expect reload_widened_ok ok inside agt read "$F/pub/n"

end_suite
