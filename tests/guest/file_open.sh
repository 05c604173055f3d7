# SPDX-License-Identifier: GPL-2.0
# lsm/file_open: denied read, write and exec with exact errno, the allowed control, the same
# action from outside the sandbox, and the audit event. Aliases (symlink, "..", /proc/self/fd
# reopen) must be judged by the object they reach.
. /tests/guest/lib.sh

mkdir -p /tmp/ws /tmp/secret /tmp/ro /tmp/work /tmp/workspace /tmp/noexec /tmp/other
echo key >/tmp/secret/key
echo data >/tmp/ro/file
echo data >/tmp/ws/trunc-me
echo x >/tmp/workspace/x
echo y >/tmp/other/y
cp /usr/local/bin/agt /tmp/noexec/agt
ln -sf /tmp/secret/key /tmp/ws/link
mkdir -p "$AG_CG"

cat >/tmp/file-test.yaml <<'POLICY'
apiVersion: agentguard/v1
kind: Policy
metadata:
  name: file-test
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
      - path: /tmp/ws
        access: rw
      - path: /tmp/secret
        access: none
      - path: /tmp/ro
        access: ro
      - path: /tmp/work
        access: rw
      - path: /tmp/noexec
        access: ro
  network:
    default: allow
POLICY
start_agentguard /tmp/file-test.yaml

# Denied read of a "none" path; outside the sandbox the same read works.
expect denied_read EPERM inside agt read /tmp/secret/key
expect denied_read_outside_ok ok agt read /tmp/secret/key
expect_event denied_read_event '"kind":"file","operation":"open"' '"access":["read"],"path":"/tmp/secret/key"' \
	'"decision":"deny","mode":"enforce","rule":{"id":"file-test:filesystem[7]","layer":"local"}' \
	'"policy":{"name":"file-test"'

# ro path: write denied, read allowed.
expect ro_write_denied EPERM inside agt open /tmp/ro/file w
expect ro_read_allowed ok inside agt read /tmp/ro/file
expect_event ro_write_event '"access":["write"],"path":"/tmp/ro/file"' '"id":"file-test:filesystem[8]"'
expect ro_rw_denied EPERM inside agt open /tmp/ro/file rw
# open(O_RDONLY | O_TRUNC) asks only to read, and empties the file: judged as a write.
expect ro_trunc_denied EPERM inside agt open /tmp/ro/file rt
if [ "$(cat /tmp/ro/file)" = data ]; then pass ro_trunc_kept_content; else
	fail ro_trunc_kept_content "the file now holds '$(cat /tmp/ro/file)'"; fi
expect_event ro_trunc_event '"access":["read","write"],"path":"/tmp/ro/file"'
expect rw_trunc_allowed ok inside agt open /tmp/ws/trunc-me rt

# rw path: write allowed, and no event for allowed access.
expect rw_write_allowed ok inside agt write /tmp/ws/new hello
expect_no_event rw_write_no_event '"path":"/tmp/ws/new"'

# Component-wise prefixes: /tmp/work does not cover /tmp/workspace (default deny decides).
expect prefix_boundary_denied EPERM inside agt read /tmp/workspace/x
expect prefix_boundary_allowed ok inside agt write /tmp/work/y hello
expect_event prefix_boundary_event '"path":"/tmp/workspace/x"' '"id":"file-test:filesystem.default"'

# Default deny for a path no rule covers.
expect default_deny EPERM inside agt read /tmp/other/y
expect default_deny_outside_ok ok agt read /tmp/other/y

# Aliases reach the object: symlink, "..", /proc/self/fd reopen of an fd opened outside.
expect symlink_denied EPERM inside agt read /tmp/ws/link
expect_event symlink_event_names_target '"path":"/tmp/secret/key"' '"comm":"agt"'
expect dotdot_denied EPERM inside agt read /tmp/ws/../secret/key
expect proc_fd_reopen_denied EPERM sh -c 'exec 3</tmp/secret/key; echo $$ > '"$AG_CG"'/cgroup.procs; exec agt read /proc/self/fd/3'

# An fd opened outside and passed in by SCM_RIGHTS is judged like an open in the sandbox.
inside agt recvfd /tmp/ws/fd.sock >/tmp/recv1.out 2>&1 &
R=$!; usleep 300000; agt sendfd /tmp/ws/fd.sock /tmp/secret/key >/dev/null; wait $R
expect received_denied_file EPERM cat /tmp/recv1.out
expect_event received_denied_file_event '"operation":"receive","target":{"access":["read"],"path":"/tmp/secret/key"}'
inside agt recvfd /tmp/ws/fd2.sock >/tmp/recv2.out 2>&1 &
R=$!; usleep 300000; agt sendfd /tmp/ws/fd2.sock /tmp/ro/file >/dev/null; wait $R
expect received_allowed_file ok cat /tmp/recv2.out

# Exec: ro without exec denies running a binary copied there; /usr (exec: true) allows it.
expect exec_denied EPERM inside agt exec /tmp/noexec/agt
expect_event exec_event '"kind":"exec","operation":"exec"' '"path":"/tmp/noexec/agt"' \
	'"access":["read","exec"]'
expect exec_allowed ok inside agt exec /usr/local/bin/agt read /tmp/ro/file
expect exec_outside_ok ok agt exec /tmp/noexec/agt read /tmp/ro/file

# Descendants: a grandchild process and a child cgroup made below the sandbox stay governed.
expect grandchild_denied EPERM inside sh -c 'sh -c "agt read /tmp/secret/key"'
mkdir -p "$AG_CG/sub"
INSIDE_CG="$AG_CG/sub" expect child_cgroup_denied EPERM inside agt read /tmp/secret/key
INSIDE_CG="$AG_CG/sub" expect child_cgroup_allowed ok inside agt read /tmp/ro/file

end_suite
