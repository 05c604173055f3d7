# SPDX-License-Identifier: GPL-2.0
# agentguard status and the metrics textfile (issue #6): status says enforcing (exit 0) while the
# enforcement is pinned, whether the daemon runs or was killed (#10), and not (exit 3) once it
# is unloaded; the Prometheus textfile counts the kernel's decisions.
. /tests/guest/lib.sh

mkdir -p "$AG_CG" /tmp/m
echo m >/tmp/m/denied
echo m >/tmp/m-allowed
cat >/tmp/m.yaml <<'Y'
apiVersion: agentguard/v1
kind: Policy
metadata:
  name: m
spec:
  filesystem:
    default: allow
    rules:
      - path: /tmp/m
        access: none
  network:
    default: allow
Y
expect status_before_start 3 sh -c 'agentguard status >/dev/null; echo $?'
start_agentguard /tmp/m.yaml --metrics /tmp/agentguard.prom
expect status_enforcing 0 sh -c 'agentguard status >/dev/null; echo $?'
expect status_json_enforcing '"enforcing":true' sh -c 'agentguard status --json | grep -o "\"enforcing\":true"'
inside agt read /tmp/m/denied >/dev/null
inside agt read /tmp/m/denied >/dev/null
inside agt read /tmp/m-allowed >/dev/null
sleep 2
denies=$(sed -n 's/^agentguard_decisions_total{kind="file",decision="deny"} //p' /tmp/agentguard.prom)
allows=$(sed -n 's/^agentguard_decisions_total{kind="file",decision="allow"} //p' /tmp/agentguard.prom)
[ "${denies:-0}" -eq 2 ] && pass metrics_file_denies || fail metrics_file_denies "deny count '$denies'"
[ "${allows:-0}" -ge 1 ] && pass metrics_file_allows || fail metrics_file_allows "allow count '$allows'"
expect metrics_written_counted 1 sh -c "grep -c '^agentguard_events_written_total [1-9]' /tmp/agentguard.prom"
expect metrics_ring_size 1 sh -c "grep -c '^agentguard_ring_size_bytes 16777216' /tmp/agentguard.prom"
expect_event lifecycle_start '"kind":"lifecycle","operation":"start","target":{"detail":"enforcing 1 policy on cgroup /sys/fs/cgroup/agtest (backend bpf-lsm)"}'
stop_agentguard
expect lifecycle_stop 1 sh -c "grep -c '\"kind\":\"lifecycle\",\"operation\":\"stop\"' $AG_EVENTS"
expect status_after_stop 3 sh -c 'agentguard status >/dev/null; echo $?'
start_agentguard /tmp/m.yaml
kill -9 "$AG_PID"
wait "$AG_PID" 2>/dev/null
# Enforcement is pinned: a killed daemon leaves it in force (issue #10), status says so.
expect status_after_kill_9 0 sh -c 'agentguard status >/dev/null; echo $?'
expect status_after_kill_9_no_daemon '"enforcing":true,"daemon":false' sh -c 'agentguard status --json | grep -o "\"enforcing\":true,\"daemon\":false"'
agentguard unload 2>/dev/null
expect status_after_unload 3 sh -c 'agentguard status >/dev/null; echo $?'
