# SPDX-License-Identifier: GPL-2.0
# Enforcement that outlives the daemon (issue #10): programs, links and maps are pinned under
# /sys/fs/bpf/agentguard. A killed daemon leaves enforcement exactly as it was and status says
# so; a restarted one adopts the pins, installs its policy as the next generation and resumes
# the audit stream with what was written (or lost) meanwhile. Only "agentguard unload" ends it.
. /tests/guest/lib.sh

pins=/sys/fs/bpf/agentguard
mkdir -p "$AG_CG" /tmp/lc
echo s >/tmp/lc/secret
echo o >/tmp/lc/other
echo k >/tmp/lc/ok
policy() { # NAME DENIED-PATH [AUDITED-PATH]
	cat <<Y
apiVersion: agentguard/v1
kind: Policy
metadata:
  name: $1
spec:
  filesystem:
    default: allow
    rules:
      - path: $2
        access: none
      - path: /tmp/lc/audited
        access: none
        mode: audit
  network:
    default: allow
Y
}
policy one /tmp/lc/secret >/tmp/lc1.yaml
policy two /tmp/lc/other >/tmp/lc2.yaml

start_agentguard /tmp/lc1.yaml
expect denied_with_daemon EPERM inside agt read /tmp/lc/secret
expect allowed_with_daemon ok inside agt read /tmp/lc/ok
expect_event denied_event '"path":"/tmp/lc/secret"' '"decision":"deny"'
expect pins_exist ok sh -c "[ -e $pins/maps/ag_state ] && [ -e $pins/links/ag_file_open ] && echo ok"
expect second_daemon_refused 78 sh -c "agentguard load --cgroup $AG_CG --events /tmp/lc2.jsonl /tmp/lc1.yaml 2>/dev/null; echo \$?"
expect unload_refused_while_running 78 sh -c 'agentguard unload 2>/dev/null; echo $?'
# The sandbox can neither remove the pins nor read them (containment's bpffs rule).
expect sandbox_cannot_unpin EPERM inside agt unlink $pins/links/ag_file_open
expect sandbox_cannot_open_pin EPERM inside agt open $pins/maps/ag_state r

kill -9 "$AG_PID"
wait "$AG_PID" 2>/dev/null
expect killed_still_denied EPERM inside agt read /tmp/lc/secret
expect killed_still_allowed ok inside agt read /tmp/lc/ok
expect status_killed_enforcing 0 sh -c 'agentguard status >/dev/null; echo $?'
expect status_killed_json '"enforcing":true,"daemon":false' sh -c 'agentguard status --json | grep -o "\"enforcing\":true,\"daemon\":false"'
# Written while no daemon ran: delivered by the one that adopts the pins.
expect denied_while_down EPERM inside agt read /tmp/lc/secret
# A flood of would-deny records the 4 MiB ring cannot hold while nobody reads it.
c=$(printf '%0250d' 0)
long=/tmp/lc/audited
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14; do long="$long/$c"; done
mkdir -p "$long"
long="$long/f"
echo a >"$long"
N=3000
expect flood_while_down ok inside sh -c "i=0; while [ \$i -lt $N ]; do cat $long >/dev/null || exit 1; i=\$((i + 1)); done; echo ok"

# Another cgroup cannot take over what is pinned for this one.
mkdir -p /sys/fs/cgroup/agtest-other
expect other_cgroup_refused 78 sh -c "agentguard load --cgroup /sys/fs/cgroup/agtest-other --events /tmp/lc2.jsonl /tmp/lc2.yaml 2>/tmp/lc-other.log; echo \$?"
expect other_cgroup_message 1 sh -c "grep -c 'governs another cgroup' /tmp/lc-other.log"
expect other_cgroup_kept EPERM inside agt read /tmp/lc/secret

start_agentguard /tmp/lc2.yaml
expect adopted_logged 1 sh -c "grep -c 'adopting the enforcement pinned' /tmp/agtest-daemon.log"
expect_event backlog_delivered '"path":"/tmp/lc/secret"' '"decision":"deny"'
expect_event backlog_loss '"kind":"loss","operation":"ring-full","target":{"lost_kind":"file","count":'
usleep 500000
delivered=$(grep -F "\"path\":\"$long\"}" "$AG_EVENTS" | grep -F '"decision":"would-deny"' |
	grep -o '"repeats":[0-9]*' | cut -d: -f2 | awk '{s += 1 + $1} END {print s + 0}')
lost=$(grep '"kind":"loss"' "$AG_EVENTS" | grep -o '"count":[0-9]*' | cut -d: -f2 | awk '{s += $1} END {print s + 0}')
if [ "$lost" -gt 0 ] && [ $((delivered + lost)) -eq "$N" ]; then
	pass backlog_delivered_plus_lost
else
	fail backlog_delivered_plus_lost "delivered $delivered + lost $lost != $N"
fi
# The adopting load's policy is the next generation: its rule now, the old one gone.
expect adopted_policy_denies EPERM inside agt read /tmp/lc/other
expect adopted_policy_lifts ok inside agt read /tmp/lc/secret
expect_event adopted_policy_event '"path":"/tmp/lc/other"' '"id":"two:filesystem[0]"' '"generation":2'

# A stopped daemon leaves enforcement in place: stopping is not unloading.
stop_daemon
expect stopped_still_denied EPERM inside agt read /tmp/lc/other
expect stopped_status 0 sh -c 'agentguard status >/dev/null; echo $?'
expect loss_not_reported_twice 0 sh -c "agentguard load --cgroup $AG_CG --events /tmp/lc3.jsonl --ready-file /tmp/lc3.ready /tmp/lc2.yaml 2>/dev/null & p=\$!; i=0; while [ ! -f /tmp/lc3.ready ] && [ \$i -lt 100 ]; do usleep 100000; i=\$((i+1)); done; sleep 1; kill \$p; wait \$p; grep -c '\"kind\":\"loss\"' /tmp/lc3.jsonl"
expect unload_ok 0 sh -c 'agentguard unload 2>/dev/null; echo $?'
expect unloaded_allowed ok inside agt read /tmp/lc/other
expect unloaded_status 3 sh -c 'agentguard status >/dev/null; echo $?'
expect unloaded_no_pins ok sh -c "[ ! -e $pins ] && echo ok"
expect unload_again_ok 0 sh -c 'agentguard unload 2>/dev/null; echo $?'

# --detach: enforcement on, no daemon.
expect detach_exits 0 sh -c "agentguard load --detach --cgroup $AG_CG --events /tmp/lc4.jsonl /tmp/lc1.yaml 2>/dev/null; echo \$?"
expect detached_denied EPERM inside agt read /tmp/lc/secret
expect detached_status 0 sh -c 'agentguard status >/dev/null; echo $?'
expect detached_unload 0 sh -c 'agentguard unload 2>/dev/null; echo $?'
expect detached_unloaded ok inside agt read /tmp/lc/secret

# Another process holding a program open (by id: the link is ours): unload removes the pins
# but cannot confirm the detach, and says so (after 30 s with no program going).
expect held_load_exits 0 sh -c "agentguard load --detach --cgroup $AG_CG --events /tmp/lc5.jsonl /tmp/lc1.yaml 2>/dev/null; echo \$?"
agt bpf-hold-prog "$pins/links/ag_file_open" >/tmp/lc-hold.out 2>&1 &
hold=$!
i=0
while ! grep -q held /tmp/lc-hold.out && [ $i -lt 50 ]; do usleep 100000; i=$((i + 1)); done
expect held_prog_held held cat /tmp/lc-hold.out
expect held_unload_not_confirmed 70 sh -c 'agentguard unload 2>/tmp/lc-held.err; echo $?'
expect held_unload_says_why 1 sh -c 'grep -c "still loaded after 30 s: another process holds them open" /tmp/lc-held.err'
expect held_pins_removed ok sh -c "[ ! -e $pins ] && echo ok"
kill "$hold"
wait "$hold" 2>/dev/null
expect held_unloaded_allowed ok inside agt read /tmp/lc/secret

# A load that fails half-way (here: an event file it cannot open) leaves nothing pinned.
expect failed_load_exit 74 sh -c "agentguard load --cgroup $AG_CG --events /nonexistent/dir/e.jsonl /tmp/lc1.yaml 2>/dev/null; echo \$?"
expect failed_load_no_pins ok sh -c "[ ! -e $pins/maps ] && echo ok"
expect failed_load_allowed ok inside agt read /tmp/lc/secret
