# SPDX-License-Identifier: GPL-2.0
# exec: rules on every way code runs from a file: execve (lsm/bprm_check_security, after
# file_open's exec open), the dynamic loader and PROT_EXEC maps (lsm/mmap_file), mprotect
# (lsm/file_mprotect), scripts and their interpreters, memfd exec. Each denial with its exact
# errno, its allowed control in an exec dir, the same action outside the sandbox, and its event.
. /tests/guest/lib.sh

mkdir -p /tmp/noexec /tmp/xok /tmp/auditx "$AG_CG"
for d in /tmp/noexec /tmp/xok /tmp/auditx; do
	cp /usr/local/bin/agt "$d/agt"
	cp /usr/bin/agentguard "$d/agentguard"
	printf '#!/bin/sh\necho ok\n' >"$d/script.sh"
	chmod 755 "$d/agt" "$d/agentguard" "$d/script.sh"
done
# A script an exec dir allows, whose #! interpreter is in the non-exec dir.
printf '#!/tmp/noexec/agt read\n' >/tmp/xok/bad-interp.sh
chmod 755 /tmp/xok/bad-interp.sh

# /lib and /lib64 hold the guest's shared libraries and loader (real directories here): a
# dynamically linked program needs exec on them, since they are mapped PROT_EXEC.
cat >/tmp/exec-test.yaml <<'POLICY'
apiVersion: agentguard/v1
kind: Policy
metadata:
  name: exec-test
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
        exec: true
      - path: /lib64
        access: ro
        exec: true
      - path: /dev
        access: rw
      - path: /proc
        access: ro
      - path: /tmp/noexec
        access: ro
      - path: /tmp/xok
        access: ro
        exec: true
      - path: /tmp/auditx
        access: ro
        mode: audit
  network:
    default: allow
POLICY
start_agentguard /tmp/exec-test.yaml

# ld.so as the program: it exits 127 saying it could not map the binary, without the errno
# (mmap_exec_denied below asserts EPERM from the same hook). A script in the exec dir, so the
# sandbox may read it.
cat >/tmp/xok/ldso.sh <<'EOF2'
out=$(/lib64/ld-linux-x86-64.so.2 "$1" --version 2>&1)
st=$?
case "$st:$out" in
0:agentguard*) echo ok ;;
127:*"failed to map segment from shared object"*) echo map-failed ;;
*) echo "status $st: $out" ;;
esac
EOF2

# execve of a binary copied into a ro (no exec) dir; the copy in an exec dir runs.
expect exec_denied EPERM inside agt exec /tmp/noexec/agt read /tmp/xok/agt
expect_event exec_event '"kind":"exec","operation":"exec"' '"path":"/tmp/noexec/agt"' \
	'"decision":"deny"' '"id":"exec-test:filesystem[6]"'
expect exec_allowed ok inside agt exec /tmp/xok/agt read /tmp/xok/agt
expect exec_outside_ok ok agt exec /tmp/noexec/agt read /tmp/xok/agt
# execveat(2) of an O_PATH fd (an O_PATH open is not judged): the exec is.
expect opath_exec_denied EPERM inside agt opath-exec /tmp/noexec/agt agt read /tmp/xok/agt
expect opath_exec_allowed ok inside agt opath-exec /tmp/xok/agt agt read /tmp/xok/agt

# bprm_check_security and the kernel's own PROT_EXEC map of the binary, seen through an audit
# rule: file_open, bprm_check and mmap_file each report the would-deny, and the exec runs.
expect exec_audit_runs ok inside agt exec /tmp/auditx/agt read /tmp/xok/agt
expect_event execve_hook_event '"kind":"exec","operation":"execve"' '"path":"/tmp/auditx/agt"' \
	'"access":["exec"]' '"decision":"would-deny"'
expect_event execve_hook_mmap_event '"kind":"exec","operation":"mmap"' \
	'"path":"/tmp/auditx/agt"' '"decision":"would-deny"'

# The dynamic loader run as the program maps the binary, never execs it: mmap_file.
expect ldso_denied map-failed inside sh /tmp/xok/ldso.sh /tmp/noexec/agentguard
expect_event ldso_event '"kind":"exec","operation":"mmap"' '"path":"/tmp/noexec/agentguard"' \
	'"access":["exec"]' '"decision":"deny"' '"id":"exec-test:filesystem[6]"'
expect ldso_allowed ok inside sh /tmp/xok/ldso.sh /tmp/xok/agentguard
expect ldso_outside_ok ok sh /tmp/xok/ldso.sh /tmp/noexec/agentguard

# mmap(PROT_EXEC) of a file: denied in the non-exec dir, allowed in the exec dir.
expect mmap_exec_denied EPERM inside agt mmap-exec /tmp/noexec/agt
expect_event mmap_exec_event '"operation":"mmap"' '"path":"/tmp/noexec/agt"' '"comm":"agt"' \
	'"decision":"deny"'
expect mmap_exec_allowed ok inside agt mmap-exec /tmp/xok/agt
expect mmap_exec_outside_ok ok agt mmap-exec /tmp/noexec/agt

# mmap(PROT_READ), then mprotect(PROT_EXEC): file_mprotect, through the resolver.
expect mprotect_exec_denied EPERM inside agt mprotect-exec /tmp/noexec/agt
expect_event mprotect_exec_event '"kind":"exec","operation":"mprotect"' \
	'"path":"/tmp/noexec/agt"' '"access":["exec"]' '"id":"exec-test:filesystem[6]"'
expect mprotect_exec_allowed ok inside agt mprotect-exec /tmp/xok/agt
expect mprotect_exec_outside_ok ok agt mprotect-exec /tmp/noexec/agt

# Anonymous executable memory (JITs), private or shared (a shmem file with no path): allowed.
expect anon_exec_allowed ok inside agt anon-exec

# Scripts: run directly, the script itself is exec'd and needs exec; "sh script" only reads it.
expect script_direct_denied EPERM inside agt exec /tmp/noexec/script.sh
expect_event script_direct_event '"kind":"exec"' '"path":"/tmp/noexec/script.sh"'
expect script_via_sh_allowed ok inside sh /tmp/noexec/script.sh
expect script_exec_dir_allowed ok inside agt exec /tmp/xok/script.sh
# The #! interpreter is exec'd too: one in the non-exec dir is denied.
expect script_interp_denied EPERM inside agt exec /tmp/xok/bad-interp.sh
expect_event script_interp_event '"kind":"exec"' '"path":"/tmp/noexec/agt"' \
	'"comm":"agt"' '"decision":"deny"'

# memfd: exec'ing it is judged by the policy's "/" entry (here default deny); mapping it
# PROT_EXEC is allowed like anonymous memory.
expect memfd_exec_denied EPERM inside agt memfd-exec read /tmp/xok/agt
expect_event memfd_exec_event '"kind":"exec"' '"path":"/memfd:agt (deleted)"' \
	'"id":"exec-test:filesystem.default"'
expect memfd_exec_outside_ok ok agt memfd-exec read /tmp/xok/agt
expect memfd_mmap_exec_allowed ok inside agt memfd-mmap-exec

stop_agentguard

# A policy whose default allows exec: a memfd may run; the non-exec dir still may not.
cat >/tmp/exec-allow.yaml <<'POLICY'
apiVersion: agentguard/v1
kind: Policy
metadata:
  name: exec-allow
spec:
  filesystem:
    default: allow
    rules:
      - path: /tmp/noexec
        access: ro
  network:
    default: allow
POLICY
start_agentguard /tmp/exec-allow.yaml
expect memfd_exec_default_allow ok inside agt memfd-exec read /tmp/xok/agt
expect default_allow_noexec_denied EPERM inside agt exec /tmp/noexec/agt read /tmp/xok/agt
expect default_allow_mmap_denied EPERM inside agt mmap-exec /tmp/noexec/agt
end_suite
