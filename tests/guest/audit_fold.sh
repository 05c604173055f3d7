# SPDX-License-Identifier: GPL-2.0
# Process attribution, folding and the event budget (issue #6). Events name the executable and
# exec ancestry the kernel captured at exec; a loop of identical denials becomes a few events
# whose repeats account for every one; a flood of distinct denials is cut to the budget and the
# rest is counted in "rate-limited" loss events: reported + repeats + lost = attempted.
. /tests/guest/lib.sh

mkdir -p "$AG_CG" /tmp/denied
echo d >/tmp/denied/f
echo d >/tmp/denied/loop
echo d >/tmp/denied/a
echo d >/tmp/denied/b
echo d >/tmp/denied/img
cat >/tmp/fold.yaml <<'Y'
apiVersion: agentguard/v1
kind: Policy
metadata:
  name: fold
spec:
  filesystem:
    default: allow
    rules:
      - path: /tmp/denied
        access: none
  network:
    default: allow
Y
start_agentguard /tmp/fold.yaml

# The shell (busybox) exec'd in the sandbox runs agt: agt is the exe, the shell its ancestry.
# The lineage began outside, before the sandbox: the ancestry is marked incomplete.
expect exe_denied EPERM inside sh -c 'agt read /tmp/denied/f'
expect_event exe_and_ancestry '"path":"/tmp/denied/f"' \
	'"exe":"/usr/local/bin/agt","exe_cut":false,"ancestry":[{"cut":false,"exe":"/bin/busybox"}],"ancestry_complete":false'

# A child forked before its parent exec'd still runs the parent's old image: its events name
# that image, not the one the parent runs now (the record is copied at fork).
expect child_after_exec_denied EPERM inside agt child-after-exec /tmp/denied/f
expect_event child_after_exec_exe '"comm":"agt"' '"path":"/tmp/denied/f"' '"exe":"/usr/local/bin/agt"'
expect_no_event child_after_exec_not_busybox '"comm":"agt","exe":"/bin/busybox"'

# Only identical denials fold: two files denied to one process in the same second are two
# events, and so is one file denied again after the process exec'd another image.
expect distinct_targets_denied EPERM inside agt read-each /tmp/denied/a /tmp/denied/b
expect_event distinct_target_a '"path":"/tmp/denied/a"'
expect_event distinct_target_b '"path":"/tmp/denied/b"'
expect image_change_denied EPERM inside agt read-then-exec /tmp/denied/img
usleep 300000
n=$(grep -cF '"path":"/tmp/denied/img"' "$AG_EVENTS")
if [ "$n" -eq 2 ]; then pass image_change_not_folded; else
	fail image_change_not_folded "$n events for /tmp/denied/img, want 2 (one per image)"; fi

# A loop of identical denials: a handful of events, and their repeats make up the rest.
N=5000
expect fold_loop EPERM inside agt read-n /tmp/denied/loop $N
stop_agentguard
reported=$(grep -F '"path":"/tmp/denied/loop"' "$AG_EVENTS" | grep -c .)
total=$(grep -F '"path":"/tmp/denied/loop"' "$AG_EVENTS" |
	grep -o '"repeats":[0-9]*' | cut -d: -f2 | awk '{s += 1 + $1} END {print s + 0}')
if [ "$total" -eq "$N" ] && [ "$reported" -ge 1 ] && [ "$reported" -le 20 ]; then
	pass fold_accounts_for_every_denial
else
	fail fold_accounts_for_every_denial "$reported events standing for $total denials, want $N in at most 20"
fi

# A flood of distinct denials: the sandbox's budget (4000 burst, 2000/s) cuts it; the rest is
# counted as rate-limited loss. Nothing is lost silently.
start_agentguard /tmp/fold.yaml
M=20000
expect flood_denied EPERM inside agt socket-flood $M
stop_agentguard
reported=$(grep -F '"operation":"socket-create"' "$AG_EVENTS" | grep -c .)
limited=$(grep -F '"kind":"loss","operation":"rate-limited"' "$AG_EVENTS" |
	grep -F '"lost_kind":"containment"' | grep -o '"count":[0-9]*' | cut -d: -f2 |
	awk '{s += $1} END {print s + 0}')
if [ "$limited" -gt 0 ] && [ $((reported + limited)) -eq "$M" ]; then
	pass rate_limit_accounts_for_every_denial
else
	fail rate_limit_accounts_for_every_denial "reported $reported + rate-limited $limited != $M"
fi
