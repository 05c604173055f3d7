# SPDX-License-Identifier: GPL-2.0
# No silent loss (issue #6): with the consumer stopped, a flood of would-deny events overflows
# their ring. Enforcement is unaffected, a denial made during the flood still arrives (denials
# have their own ring), and once the consumer runs again a "loss" event accounts for every
# record that did not fit: delivered + lost = attempted.
. /tests/guest/lib.sh

mkdir -p "$AG_CG" /tmp/audited /tmp/denied
# A long path (about 3.5 KB): file records carry only their path, and a short one would need
# more records to fill the ring than the event budget lets one CPU write.
c=$(printf '%0250d' 0)
long=/tmp/audited
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14; do long="$long/$c"; done
mkdir -p "$long"
long="$long/f"
echo a >"$long"
echo d >/tmp/denied/f
cat >/tmp/loss.yaml <<'Y'
apiVersion: agentguard/v1
kind: Policy
metadata:
  name: loss
spec:
  filesystem:
    default: allow
    rules:
      - path: /tmp/audited
        access: none
        mode: audit
      - path: /tmp/denied
        access: none
  network:
    default: allow
Y
start_agentguard /tmp/loss.yaml
N=3000
kill -STOP "$AG_PID"
# N opens, each from a subshell of its own (a new pid: identical denials of one process fold),
# each a would-deny event (about 4 KiB in a 4 MiB ring).
expect flood_not_blocked ok inside sh -c "i=0; while [ \$i -lt $N ]; do (: <$long) || exit 1; i=\$((i + 1)); done; echo ok"
expect deny_during_flood EPERM inside agt read /tmp/denied/f
kill -CONT "$AG_PID"
expect_event deny_event_kept '"decision":"deny"' '"path":"/tmp/denied/f"'
expect_event loss_event '"kind":"loss","operation":"ring-full","target":{"lost_kind":"file","count":' '"decision":"would-deny","mode":"audit","rule":{"id":"loss:filesystem[0]","layer":"local"}'
usleep 500000
# Each event stands for 1 + repeats denials (folding, docs/events.md).
delivered=$(grep -F "\"path\":\"$long\"}" "$AG_EVENTS" | grep -F '"decision":"would-deny"' |
	grep -o '"repeats":[0-9]*' | cut -d: -f2 | awk '{s += 1 + $1} END {print s + 0}')
lost=$(grep '"kind":"loss"' "$AG_EVENTS" | grep -o '"count":[0-9]*' | cut -d: -f2 | awk '{s += $1} END {print s + 0}')
if [ "$lost" -gt 0 ] && [ $((delivered + lost)) -eq "$N" ]; then
	pass delivered_plus_lost_is_attempted
else
	fail delivered_plus_lost_is_attempted "delivered $delivered + lost $lost != $N"
fi
end_suite
