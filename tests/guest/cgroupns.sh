# SPDX-License-Identifier: GPL-2.0
# agentguard loaded inside a cgroup namespace (a container's view of the hierarchy): the sandbox's
# level below the namespace root is not its absolute level, which the LSM programs compare. The
# loader verifies after attaching and finds the level that works; a sandbox task is governed.
. /tests/guest/lib.sh

mkdir -p /sys/fs/cgroup/ns
# A container gets controllers delegated to its cgroup, as here.
echo "+memory +pids +cpu" >/sys/fs/cgroup/cgroup.subtree_control
cat >/tmp/ns.yaml <<'Y'
apiVersion: agentguard/v1
kind: Policy
metadata:
  name: ns
spec:
  filesystem:
    default: allow
  network:
    default: allow
Y
rm -f /run/ns-ready
sh -c 'echo $$ >/sys/fs/cgroup/ns/cgroup.procs; exec agt cgns sh -c "mkdir -p /sys/fs/cgroup/ld /sys/fs/cgroup/sb; echo \$\$ >/sys/fs/cgroup/ld/cgroup.procs; exec agentguard load --cgroup /sys/fs/cgroup/sb --events /tmp/ns-events --ready-file /run/ns-ready /tmp/ns.yaml"' 2>/tmp/ns.log &
NSPID=$!
i=0
while [ ! -s /run/ns-ready ] && [ $i -lt 900 ]; do usleep 100000; i=$((i + 1)); done
[ -s /run/ns-ready ] && pass loaded_in_cgroupns || fail loaded_in_cgroupns "$(cat /tmp/ns.log)"
# Seen from outside the namespace, the sandbox is /ns/sb.
expect governed_bpf_denied EPERM sh -c 'echo $$ >/sys/fs/cgroup/ns/sb/cgroup.procs; exec agt bpf'
expect governed_userns_denied EPERM sh -c 'echo $$ >/sys/fs/cgroup/ns/sb/cgroup.procs; exec agt unshare user'
expect outside_unaffected ok agt bpf
kill -TERM "$NSPID" 2>/dev/null
wait "$NSPID" 2>/dev/null
