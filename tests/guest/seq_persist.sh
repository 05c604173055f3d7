# SPDX-License-Identifier: GPL-2.0
# Event seq is never reset by a restart (issue #6): not after a clean stop, not after kill -9.
. /tests/guest/lib.sh

mkdir -p "$AG_CG" /tmp/sq
echo s >/tmp/sq/f
cat >/tmp/seq.yaml <<'Y'
apiVersion: agentguard/v1
kind: Policy
metadata:
  name: seq
spec:
  filesystem:
    default: allow
    rules:
      - path: /tmp/sq
        access: none
  network:
    default: allow
Y
max_seq() { grep -o '"seq":[0-9]*' "$1" | cut -d: -f2 | sort -n | tail -n 1; }
all=/tmp/all-events.jsonl
: >"$all"
round() { # $1: how many denials
	start_agentguard /tmp/seq.yaml
	i=0
	while [ $i -lt "$1" ]; do inside agt read /tmp/sq/f >/dev/null; i=$((i + 1)); done
	expect_event "round_$2_events" '"path":"/tmp/sq/f"'
}

round 3 1
stop_agentguard
cat "$AG_EVENTS" >>"$all"
first=$(max_seq "$all")

round 1 2
stop_agentguard
second=$(grep -o '"seq":[0-9]*' "$AG_EVENTS" | cut -d: -f2 | head -n 1)
cat "$AG_EVENTS" >>"$all"
[ "$second" -gt "$first" ] && pass after_clean_stop || fail after_clean_stop "seq $second after $first"

round 1 3
usleep 500000
kill -9 "$AG_PID"
wait "$AG_PID" 2>/dev/null
cat "$AG_EVENTS" >>"$all"
before_crash=$(max_seq "$all")
round 1 4
stop_daemon
third=$(grep -o '"seq":[0-9]*' "$AG_EVENTS" | cut -d: -f2 | head -n 1)
[ "$third" -gt "$before_crash" ] && pass after_kill_9 || fail after_kill_9 "seq $third after $before_crash"
dups=$( (cat "$all"; cat "$AG_EVENTS") | grep -o '"seq":[0-9]*' | sort | uniq -d | wc -l)
[ "$dups" -eq 0 ] && pass no_seq_repeated || fail no_seq_repeated "$dups repeated"

# The state directory is the daemon's (threat model A6): the sandbox may read it, but not
# rewrite seq (a reset would repeat numbers), nor replace, remove, create or link out its files.
# The daemon adopts the enforcement round 4 left pinned.
st=/var/lib/agentguard
start_agentguard /tmp/seq.yaml
expect state_read_ok ok inside agt read $st/seq
expect state_seq_write_denied EPERM inside agt write $st/seq 1
expect state_seq_open_write_denied EPERM inside agt open $st/seq w
expect state_seq_unlink_denied EPERM inside agt unlink $st/seq
expect state_status_rename_denied EPERM inside agt rename $st/status.json $st/x
expect state_create_denied EPERM inside agt write $st/planted x
expect state_link_out_denied EPERM inside agt link $st/seq /var/lib/seq-link
# Changed without an open: truncate(2) and chmod reach neither file_open nor the directory.
expect state_seq_truncate_denied EPERM inside agt truncate $st/seq 1
expect state_seq_chmod_denied EPERM inside agt chmod $st/seq 777
expect_event state_protect_event '"path":"/var/lib/agentguard/seq"' '"id":"builtin:protected-files"'
expect state_write_outside_ok ok agt open $st/seq w
end_suite
