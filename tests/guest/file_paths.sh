# SPDX-License-Identifier: GPL-2.0
# The path_* hooks (file.bpf.c): file operations without an open are judged as a write of the
# path they create, remove or change (threat model R8, R9, R10, R12, R20). For a "ro", a "none"
# and a "rw" directory: mkdir, rmdir, unlink, mknod (FIFO and a unix socket's bind), symlink,
# link (both ends), rename (into, out of, a directory, RENAME_EXCHANGE), truncate(2), chmod,
# chown, each with its exact errno, the object left as it was, the same operation allowed in
# the rw directory, and its event exactly once (operation, resolved path, rule). Paths reached
# through a symlinked directory, "..", or a mount are judged by where they really are; /tmp/fp/work
# does not cover /tmp/fp/workspace; a path too long to resolve is denied and reported; a
# process outside the sandbox is not judged at all.
. /tests/guest/lib.sh

P=file-paths
mkdir -p /tmp/fp/rw/dir1 /tmp/fp/rw/deep /tmp/fp/ro/sub /tmp/fp/ro/sub2 /tmp/fp/ro/m \
	/tmp/fp/rw/m /tmp/fp/none /tmp/fp/work /tmp/fp/workspace /tmp/fp/audit
for f in file file2 file3 file4; do echo data >/tmp/fp/ro/$f; done
chmod 644 /tmp/fp/ro/file
echo key >/tmp/fp/none/key
for f in f f2 mv1 trunc ftrunc ex; do echo data >/tmp/fp/rw/$f; done
for f in f g; do echo data >/tmp/fp/audit/$f; done
ln -s /tmp/fp/ro /tmp/fp/rw/rolink
ln -s /tmp/fp/rw /tmp/fp/ro/rwlink
# Mounts made before the load: the resolver must climb from each mount's root to its mountpoint.
mount -t tmpfs fp-ro /tmp/fp/ro/m
mount -t tmpfs fp-rw /tmp/fp/rw/m
# A tree deeper than PATH_MAX, made outside.
agt deep /tmp/fp/rw/deep 21 /usr/local/bin/agt mkdir made >/dev/null
# Files whose paths are 4095 bytes (the longest d_path resolves) and 4096 (one too long).
A200=$(head -c 200 /dev/zero | tr '\0' a)
N59=$(head -c 59 /dev/zero | tr '\0' b)
N60=$(head -c 60 /dev/zero | tr '\0' b)
LONG=/tmp/fp/ro/long
i=0
while [ $i -lt 20 ]; do LONG=$LONG/$A200; i=$((i + 1)); done
mkdir -p /tmp/fp/ro/long
agt deep /tmp/fp/ro/long 20 /usr/local/bin/agt write "$N59" data >/dev/null
agt deep /tmp/fp/ro/long 20 /usr/local/bin/agt write "$N60" data >/dev/null
echo data >/tmp/fp/ro/gone
echo data >/tmp/fp/ro/gone2
mkdir -p "$AG_CG" "$AG_CG/sub"

cat >/tmp/file-paths.yaml <<'POLICY'
apiVersion: agentguard/v1
kind: Policy
metadata:
  name: file-paths
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
      - path: /tmp/fp/rw
        access: rw
      - path: /tmp/fp/ro
        access: ro
      - path: /tmp/fp/none
        access: none
      - path: /tmp/fp/work
        access: rw
      - path: /tmp/fp/rw/locked
        access: ro
      - path: /tmp/fp/audit
        access: ro
        mode: audit
  network:
    default: allow
POLICY
RW=6 RO=7 NONE=8
start_agentguard /tmp/file-paths.yaml

# mkdir
expect mkdir_ro_denied EPERM inside agt mkdir /tmp/fp/ro/newdir
still mkdir_ro_not_made test ! -e /tmp/fp/ro/newdir
file_event mkdir_ro_event mkdir /tmp/fp/ro/newdir $RO
expect mkdir_none_denied EPERM inside agt mkdir /tmp/fp/none/newdir
file_event mkdir_none_event mkdir /tmp/fp/none/newdir $NONE
expect mkdir_rw_allowed ok inside agt mkdir /tmp/fp/rw/newdir
expect_no_event mkdir_rw_no_event '"path":"/tmp/fp/rw/newdir"'
# The rule's own path, not there yet: creating it is a write of a ro path.
expect mkdir_rule_path_denied EPERM inside agt mkdir /tmp/fp/rw/locked
file_event mkdir_rule_path_event mkdir /tmp/fp/rw/locked 10

# rmdir
expect rmdir_ro_denied EPERM inside agt rmdir /tmp/fp/ro/sub
still rmdir_ro_kept test -d /tmp/fp/ro/sub
file_event rmdir_ro_event rmdir /tmp/fp/ro/sub $RO
expect rmdir_rw_allowed ok inside agt rmdir /tmp/fp/rw/newdir

# unlink
expect unlink_ro_denied EPERM inside agt unlink /tmp/fp/ro/file2
still unlink_ro_kept test -f /tmp/fp/ro/file2
file_event unlink_ro_event unlink /tmp/fp/ro/file2 $RO
expect unlink_none_denied EPERM inside agt unlink /tmp/fp/none/key
file_event unlink_none_event unlink /tmp/fp/none/key $NONE
expect unlink_rw_allowed ok inside agt unlink /tmp/fp/rw/f

# mknod: a FIFO, and the socket file a unix bind(2) makes.
expect mkfifo_ro_denied EPERM inside agt mkfifo /tmp/fp/ro/fifo
still mkfifo_ro_not_made test ! -e /tmp/fp/ro/fifo
file_event mkfifo_ro_event mknod /tmp/fp/ro/fifo $RO
expect mkfifo_rw_allowed ok inside agt mkfifo /tmp/fp/rw/fifo
expect unix_bind_ro_denied EPERM inside agt unix-serve /tmp/fp/ro/s.sock 0
file_event unix_bind_ro_event mknod /tmp/fp/ro/s.sock $RO
expect unix_bind_rw_allowed listening inside agt unix-serve /tmp/fp/rw/s.sock 0

# symlink: the new link's path is what is written; its target does not matter.
expect symlink_ro_denied EPERM inside agt symlink /tmp/fp/rw/f2 /tmp/fp/ro/ln
still symlink_ro_not_made test ! -L /tmp/fp/ro/ln
file_event symlink_ro_event symlink /tmp/fp/ro/ln $RO
expect symlink_rw_allowed ok inside agt symlink /tmp/fp/none/key /tmp/fp/rw/ln

# link (R10): the source must be writable, then the new name is a create.
expect link_from_ro_denied EPERM inside agt link /tmp/fp/ro/file /tmp/fp/rw/hl-ro
still link_from_ro_not_made test ! -e /tmp/fp/rw/hl-ro
file_event link_from_ro_event link /tmp/fp/ro/file $RO
expect link_from_none_denied EPERM inside agt link /tmp/fp/none/key /tmp/fp/rw/hl-none
file_event link_from_none_event link /tmp/fp/none/key $NONE
expect link_into_ro_denied EPERM inside agt link /tmp/fp/rw/f2 /tmp/fp/ro/hl
file_event link_into_ro_event link /tmp/fp/ro/hl $RO
expect link_rw_allowed ok inside agt link /tmp/fp/rw/f2 /tmp/fp/rw/hl
expect rename_exchange_rw_allowed ok inside agt rename-exchange /tmp/fp/rw/ex /tmp/fp/rw/hl
# O_TMPFILE + linkat (R12): the unnamed file may become a name only where it may be written.
expect tmpfile_link_into_ro_denied EPERM inside agt tmpfile-link /tmp/fp/rw /tmp/fp/ro/tmp
file_event tmpfile_link_into_ro_event link /tmp/fp/ro/tmp $RO
expect tmpfile_link_rw_allowed ok inside agt tmpfile-link /tmp/fp/rw /tmp/fp/rw/tmp

# rename: both paths are written.
expect rename_into_ro_denied EPERM inside agt rename /tmp/fp/rw/mv1 /tmp/fp/ro/mv1
still rename_into_ro_kept test -f /tmp/fp/rw/mv1 -a ! -e /tmp/fp/ro/mv1
file_event rename_into_ro_event rename /tmp/fp/ro/mv1 $RO
expect rename_out_of_ro_denied EPERM inside agt rename /tmp/fp/ro/file3 /tmp/fp/rw/stolen
still rename_out_of_ro_kept test -f /tmp/fp/ro/file3 -a ! -e /tmp/fp/rw/stolen
file_event rename_out_of_ro_event rename /tmp/fp/ro/file3 $RO
expect rename_out_of_none_denied EPERM inside agt rename /tmp/fp/none/key /tmp/fp/rw/key
file_event rename_out_of_none_event rename /tmp/fp/none/key $NONE
expect rename_dir_out_of_ro_denied EPERM inside agt rename /tmp/fp/ro/sub2 /tmp/fp/rw/sub2
still rename_dir_out_of_ro_kept test -d /tmp/fp/ro/sub2
file_event rename_dir_out_of_ro_event rename /tmp/fp/ro/sub2 $RO
expect rename_dir_into_ro_denied EPERM inside agt rename /tmp/fp/rw/dir1 /tmp/fp/ro/dir1
file_event rename_dir_into_ro_event rename /tmp/fp/ro/dir1 $RO
expect rename_exchange_denied EPERM inside agt rename-exchange /tmp/fp/rw/ex /tmp/fp/ro/file4
file_event rename_exchange_event rename /tmp/fp/ro/file4 $RO
expect rename_rw_allowed ok inside agt rename /tmp/fp/rw/mv1 /tmp/fp/rw/mv2
expect rename_dir_rw_allowed ok inside agt rename /tmp/fp/rw/dir1 /tmp/fp/rw/dir2

# truncate(2) (R8's other half), chmod, chown.
expect truncate_ro_denied EPERM inside agt truncate /tmp/fp/ro/file 0
still truncate_ro_kept test "$(cat /tmp/fp/ro/file)" = data
file_event truncate_ro_event truncate /tmp/fp/ro/file $RO
expect truncate_rw_allowed ok inside agt truncate /tmp/fp/rw/trunc 1
# ftruncate(2) of a file opened for writing: 6.1 asks path_truncate too, and must allow it.
expect ftruncate_rw_allowed ok inside agt ftruncate /tmp/fp/rw/ftrunc 1
expect chmod_ro_denied EPERM inside agt chmod /tmp/fp/ro/file 777
still chmod_ro_kept test "$(stat -c %a /tmp/fp/ro/file)" = 644
file_event chmod_ro_event chmod /tmp/fp/ro/file $RO
expect chmod_none_denied EPERM inside agt chmod /tmp/fp/none 777
file_event chmod_none_event chmod /tmp/fp/none $NONE
expect chmod_rw_allowed ok inside agt chmod /tmp/fp/rw/f2 600
expect chown_ro_denied EPERM inside agt chown /tmp/fp/ro/file 1000 1000
still chown_ro_kept test "$(stat -c %u /tmp/fp/ro/file)" = 0
file_event chown_ro_event chown /tmp/fp/ro/file $RO
expect chown_rw_allowed ok inside agt chown /tmp/fp/rw/f2 1000 1000
# A file with no path at all (memfd: ftruncate, fchmod, fchown) is not judged by path rules.
expect memfd_attrs_allowed ok inside agt memfd

# Aliases: judged by the real location. A symlinked directory, "..", and back.
expect symlinked_dir_denied EPERM inside agt mkdir /tmp/fp/rw/rolink/x
file_event symlinked_dir_event mkdir /tmp/fp/ro/x $RO
expect symlinked_dir_unlink_denied EPERM inside agt unlink /tmp/fp/rw/rolink/file
file_event symlinked_dir_unlink_event unlink /tmp/fp/ro/file $RO
expect symlinked_dir_to_rw_allowed ok inside agt mkdir /tmp/fp/ro/rwlink/y
expect dotdot_denied EPERM inside agt mkdir /tmp/fp/rw/../ro/z
file_event dotdot_event mkdir /tmp/fp/ro/z $RO
expect dotdot_to_rw_allowed ok inside agt mkdir /tmp/fp/ro/../rw/z

# Mounts: the path continues above each mount's root.
expect mount_in_ro_denied EPERM inside agt mkdir /tmp/fp/ro/m/x
file_event mount_in_ro_event mkdir /tmp/fp/ro/m/x $RO
expect mount_in_rw_allowed ok inside agt mkdir /tmp/fp/rw/m/x

# Component-wise prefixes: /tmp/fp/work does not cover /tmp/fp/workspace.
expect prefix_boundary_denied EPERM inside agt mkdir /tmp/fp/workspace/d
file_event prefix_boundary_event mkdir /tmp/fp/workspace/d default
expect prefix_boundary_allowed ok inside agt mkdir /tmp/fp/work/d

# R20: a path longer than PATH_MAX cannot be resolved: denied, reported with the errno
# (ENAMETOOLONG, 36), although its directory is rw. Shallower in the same tree: allowed.
expect too_long_denied EPERM inside agt deep /tmp/fp/rw/deep 21 /usr/local/bin/agt mkdir y
expect_event too_long_event '"kind":"file","operation":"mkdir","target":{"access":["write"],"path":null,"path_error":36},"decision":"deny","mode":"enforce","rule":{"id":null,"layer":null}'
expect too_long_shallower_allowed ok inside agt deep /tmp/fp/rw/deep 19 /usr/local/bin/agt mkdir y
expect too_long_outside_ok ok agt deep /tmp/fp/rw/deep 21 /usr/local/bin/agt mkdir outside

# The resolver writes what bpf_d_path writes: the same object through file_open (bpf_d_path)
# and through a path hook (the resolver) gives byte-identical paths in the events. At the
# longest path d_path can give (4095 bytes), one byte longer (both fail with ENAMETOOLONG),
# and for an unlinked file (" (deleted)").
if [ ${#LONG} -eq 4035 ]; then pass long_setup; else fail long_setup "dir is ${#LONG} bytes"; fi
expect long_open_denied EPERM inside agt deep /tmp/fp/ro/long 20 /usr/local/bin/agt open "$N59" w
expect_event long_open_event "\"operation\":\"open\",\"target\":{\"access\":[\"write\"],\"path\":\"$LONG/$N59\"}"
expect long_chmod_denied EPERM inside agt deep /tmp/fp/ro/long 20 /usr/local/bin/agt chmod "$N59" 600
file_event long_chmod_event chmod "$LONG/$N59" $RO
expect long_4096_open_denied EPERM inside agt deep /tmp/fp/ro/long 20 /usr/local/bin/agt open "$N60" w
expect_event long_4096_open_event '"operation":"open","target":{"access":["write"],"path":null,"path_error":36}'
expect long_4096_chmod_denied EPERM inside agt deep /tmp/fp/ro/long 20 /usr/local/bin/agt chmod "$N60" 600
expect_event long_4096_chmod_event '"operation":"chmod","target":{"access":["write"],"path":null,"path_error":36}'
expect deleted_reopen_denied EPERM sh -c 'exec 3</tmp/fp/ro/gone2; rm /tmp/fp/ro/gone2; echo $$ >'"$AG_CG"'/cgroup.procs; exec agt open /proc/self/fd/3 w'
expect_event deleted_reopen_event '"operation":"open","target":{"access":["write"],"path":"/tmp/fp/ro/gone2 (deleted)"}'
expect deleted_fchmod_denied EPERM sh -c 'exec 3</tmp/fp/ro/gone; rm /tmp/fp/ro/gone; echo $$ >'"$AG_CG"'/cgroup.procs; exec agt fchmod 3 600'
file_event deleted_fchmod_event chmod "/tmp/fp/ro/gone (deleted)" $RO

# Audit mode: the operation goes ahead and is reported as would-deny. A rename judges both
# paths: from the audit directory into the ro one, the old path would be denied and the new
# one is.
audited() {
	expect_event "$1" "\"kind\":\"file\",\"operation\":\"$2\",\"target\":{\"access\":[\"write\"],\"path\":\"$3\"},\"decision\":\"would-deny\",\"mode\":\"audit\",\"rule\":{\"id\":\"$P:filesystem[11]\",\"layer\":\"local\"}"
}
expect audit_mkdir_allowed ok inside agt mkdir /tmp/fp/audit/d
still audit_mkdir_made test -d /tmp/fp/audit/d
audited audit_mkdir_event mkdir /tmp/fp/audit/d
expect audit_unlink_allowed ok inside agt unlink /tmp/fp/audit/f
audited audit_unlink_event unlink /tmp/fp/audit/f
expect audit_rename_into_ro_denied EPERM inside agt rename /tmp/fp/audit/g /tmp/fp/ro/g
still audit_rename_into_ro_kept test -f /tmp/fp/audit/g
audited audit_rename_old_event rename /tmp/fp/audit/g
file_event audit_rename_new_event rename /tmp/fp/ro/g $RO

# Descendants stay governed: a child cgroup and a grandchild process.
INSIDE_CG="$AG_CG/sub" expect child_cgroup_denied EPERM inside agt mkdir /tmp/fp/ro/c
expect grandchild_denied EPERM inside sh -c 'sh -c "agt unlink /tmp/fp/ro/file4"'

# Outside the sandbox nothing is judged: the same operations succeed and report nothing.
expect outside_mkdir_ok ok agt mkdir /tmp/fp/ro/outside
expect outside_rename_ok ok agt rename /tmp/fp/ro/outside /tmp/fp/ro/outside2
expect outside_chmod_ok ok agt chmod /tmp/fp/ro/file 600
expect outside_unlink_ok ok agt unlink /tmp/fp/none/key
expect_no_event outside_no_event '/tmp/fp/ro/outside'

end_suite
