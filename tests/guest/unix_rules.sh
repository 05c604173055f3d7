# SPDX-License-Identifier: GPL-2.0
# spec.unix and spec.resources across two layers: a unix socket whose listener is outside the
# sandbox is reachable only if every layer lists it (by inode for paths, by name for abstract
# sockets); limits are the smallest any layer sets and they bite.
. /tests/guest/lib.sh

mkdir -p "$AG_CG"
for s in /tmp/allowed.sock /tmp/other.sock /tmp/extra.sock @ag-allowed @ag-other; do
	agt unix-serve "$s" 2 >/dev/null 2>&1 &
done
usleep 400000
cat >/tmp/org.yaml <<'Y'
apiVersion: agentguard/v1
kind: Policy
metadata:
  name: org
  layer: org
spec:
  filesystem:
    default: allow
  network:
    default: allow
  unix:
    rules:
      - path: /tmp/allowed.sock
      - abstract: ag-allowed
  resources:
    pids_max: 64
Y
cat >/tmp/local.yaml <<'Y'
apiVersion: agentguard/v1
kind: Policy
metadata:
  name: local
spec:
  filesystem:
    default: allow
  network:
    default: allow
  unix:
    rules:
      - path: /tmp/allowed.sock
        id: api-socket
      - abstract: ag-allowed
      - path: /tmp/extra.sock
  resources:
    pids_max: 40
    memory_max: 256M
    cpu_max: "150%"
Y
start_agentguard /tmp/org.yaml /tmp/local.yaml

expect path_allowed "ok hi" inside agt unix-connect /tmp/allowed.sock
expect path_not_listed EPERM inside agt unix-connect /tmp/other.sock
expect_event path_not_listed_event '"operation":"unix-connect"' '"id":"builtin:unix-socket"'
expect abstract_allowed "ok hi" inside agt unix-connect @ag-allowed
expect abstract_not_listed EPERM inside agt unix-connect @ag-other
# Only the local layer lists extra.sock: no lower layer widens a higher one.
expect one_layer_is_not_enough EPERM inside agt unix-connect /tmp/extra.sock
expect outside_unaffected "ok hi" agt unix-connect /tmp/extra.sock
expect explain_agrees_allowed allow sh -c 'agentguard explain /tmp/org.yaml /tmp/local.yaml --unix /tmp/allowed.sock 2>/dev/null | cut -d" " -f1'
expect explain_agrees_denied deny sh -c 'agentguard explain /tmp/org.yaml /tmp/local.yaml --unix /tmp/extra.sock 2>/dev/null | cut -d" " -f1'

# Limits: the smallest across layers, applied to the sandbox cgroup, and enforced.
expect pids_max_smallest 40 cat "$AG_CG/pids.max"
expect memory_max_set 268435456 cat "$AG_CG/memory.max"
expect cpu_max_set "150000 100000" cat "$AG_CG/cpu.max"
forks=$(inside sh -c 'i=0; while [ $i -lt 60 ]; do sleep 3 & i=$((i + 1)); done; wait' 2>&1 | grep -c fork)
if [ "$forks" -gt 0 ]; then pass pids_max_enforced; else fail pids_max_enforced "60 forks under pids.max 40 all succeeded"; fi

end_suite
