# SPDX-License-Identifier: GPL-2.0
# Running as a systemd service (issue #10), without systemd in the guest: the sd_notify
# protocol seen from a NOTIFY_SOCKET listener (READY=1 once enforcing, RELOADING=1 then READY=1
# on SIGHUP, STATUS=, STOPPING=1), and Delegate=yes: a daemon whose sandbox is a child of its
# own cgroup moves itself to a sibling leaf so the sandbox gets its controllers and limits.
. /tests/guest/lib.sh

svc=/sys/fs/cgroup/svc
mkdir -p "$svc" /tmp/sv
# What systemd does for the slices above a service: the controllers reach its cgroup.
echo "+memory +pids +cpu" >/sys/fs/cgroup/cgroup.subtree_control
echo x >/tmp/sv/denied
cat >/tmp/sv.yaml <<'Y'
apiVersion: agentguard/v1
kind: Policy
metadata:
  name: sv
spec:
  filesystem:
    default: allow
    rules:
      - path: /tmp/sv/denied
        access: none
  network:
    default: allow
Y
notify-recv /run/sv-notify 5 90 >/tmp/sv-notify.out &
recv=$!
usleep 200000
# Started from inside the service's cgroup, as systemd would, with the sandbox below it.
sh -c 'echo $$ >/sys/fs/cgroup/svc/cgroup.procs; NOTIFY_SOCKET=/run/sv-notify exec agentguard load --cgroup /sys/fs/cgroup/svc/sandbox --events /tmp/sv-events.jsonl /tmp/sv.yaml' 2>/tmp/sv-daemon.log &
pid=$!
# Loading every program takes seconds under TCG, more on a busy host: as start_agentguard.
i=0; while ! grep -q READY=1 /tmp/sv-notify.out 2>/dev/null && [ $i -lt 600 ]; do usleep 100000; i=$((i + 1)); done
expect ready_notified 1 sh -c 'grep -c "^READY=1;STATUS=enforcing 1 policy on /sys/fs/cgroup/svc/sandbox (generation 1)$" /tmp/sv-notify.out'
expect daemon_in_leaf 0::/svc/agentguard-daemon cat /proc/$pid/cgroup
expect sandbox_got_controllers ok sh -c 'grep -q memory /sys/fs/cgroup/svc/cgroup.subtree_control && grep -q pids /sys/fs/cgroup/svc/cgroup.subtree_control && echo ok'
expect sandbox_memory_limited ok sh -c 'case "$(cat /sys/fs/cgroup/svc/sandbox/memory.max 2>/dev/null)" in [0-9]*) echo ok;; *) echo "no limit";; esac'
INSIDE_CG=$svc/sandbox
expect sandbox_enforced EPERM inside agt read /tmp/sv/denied
unset INSIDE_CG
kill -HUP $pid
i=0; while [ "$(grep -c 'READY=1' /tmp/sv-notify.out)" -lt 2 ] && [ $i -lt 300 ]; do usleep 100000; i=$((i + 1)); done
expect reloading_notified 1 sh -c 'grep -c "^RELOADING=1;MONOTONIC_USEC=[0-9]*$" /tmp/sv-notify.out'
expect reloaded_ready 1 sh -c 'grep -c "^READY=1;STATUS=enforcing generation 2$" /tmp/sv-notify.out'
kill -TERM $pid
wait $pid
wait $recv
expect stopping_notified 1 sh -c 'grep -c "^STOPPING=1;STATUS=stopping; enforcement stays pinned until unload$" /tmp/sv-notify.out'
agentguard unload 2>/dev/null
