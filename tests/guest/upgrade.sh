# SPDX-License-Identifier: GPL-2.0
# Upgrading agentguard in place (issue #10): a load that finds another build's enforcement
# pinned attaches its own programs beside it first, then detaches the old ones, so no verdict
# is ever missing; it drains the old build's rings and reports as loss what it cannot decode.
# A load that dies half-way is finished (or undone) by the next. The second build is the same
# binary with another identity (AGENTGUARD_TEST_BUILD_SALT): its programs and maps are its own.
. /tests/guest/lib.sh

pins=/sys/fs/bpf/agentguard
mkdir -p "$AG_CG" /tmp/up
echo s >/tmp/up/secret
echo k >/tmp/up/ok
policy() { # NAME
	cat <<Y
apiVersion: agentguard/v1
kind: Policy
metadata:
  name: $1
spec:
  filesystem:
    default: allow
    rules:
      - path: /tmp/up/secret
        access: none
  network:
    default: allow
Y
}
policy one >/tmp/up1.yaml
policy two >/tmp/up2.yaml
ids() { agt prog-ids ag_file_open; }
load_as() { # SALT POLICY: start_agentguard as build SALT
	AGENTGUARD_TEST_BUILD_SALT=$1 start_agentguard "$2"
}

load_as a /tmp/up1.yaml
old_ids=$(ids)
expect one_program_before ok sh -c "[ \"$old_ids\" != none ] && [ \$(echo $old_ids | wc -w) -eq 1 ] && echo ok || echo '$old_ids'"
expect build_recorded ok sh -c "[ -e $pins/build ] && echo ok"
kill -9 "$AG_PID"
wait "$AG_PID" 2>/dev/null
# Decided by the old build while no daemon ran: delivered by the upgrading one.
expect denied_before_upgrade EPERM inside agt read /tmp/up/secret

# Only a load that stays upgrades: nothing else may touch another build's pins.
expect detach_refused 78 sh -c "AGENTGUARD_TEST_BUILD_SALT=b agentguard load --detach --cgroup $AG_CG /tmp/up2.yaml 2>/tmp/up-detach.log; echo \$?"
expect detach_message 1 sh -c "grep -c 'upgrading needs a load without --detach' /tmp/up-detach.log"
expect reload_refused 78 sh -c "AGENTGUARD_TEST_BUILD_SALT=b agentguard reload /tmp/up2.yaml 2>/tmp/up-reload.log; echo \$?"
expect reload_message 1 sh -c "grep -c \"another agentguard build's\" /tmp/up-reload.log"
# An upgrade may not move enforcement to another cgroup: the old sandbox would lose it.
mkdir -p /sys/fs/cgroup/up-other
expect other_cgroup_refused 78 sh -c "AGENTGUARD_TEST_BUILD_SALT=b agentguard load --cgroup /sys/fs/cgroup/up-other --events /tmp/up-other.jsonl /tmp/up2.yaml 2>/tmp/up-other.log; echo \$?"
expect other_cgroup_message 1 sh -c "grep -c 'governs another cgroup' /tmp/up-other.log"
expect other_cgroup_no_next ok sh -c "[ ! -e $pins/next ] && echo ok"
expect refused_kept_old ok sh -c "[ \"\$(agt prog-ids ag_file_open)\" = \"$old_ids\" ] && echo ok"
expect refused_still_denied EPERM inside agt read /tmp/up/secret

# A sandboxed process probes a denied and an allowed file throughout the upgrade.
rm -f /tmp/up-stop
inside sh -c 'n=0; while [ ! -e /tmp/up-stop ]; do
	[ "$(agt read /tmp/up/secret)" = EPERM ] || echo "WRONG denied-read"
	[ "$(agt read /tmp/up/ok)" = ok ] || echo "WRONG allowed-read"
	n=$((n + 1)); done; echo "probes $n"' >/tmp/up-probe.out 2>&1 &
probe=$!
usleep 300000
load_as b /tmp/up2.yaml
usleep 300000
touch /tmp/up-stop
wait $probe
expect upgrade_logged 1 sh -c "grep -c 'upgrading the enforcement pinned' /tmp/agtest-daemon.log"
expect upgraded_logged 1 sh -c "grep -c 'upgraded: the previous build' /tmp/agtest-daemon.log"
new_ids=$(ids)
expect old_program_gone ok sh -c "[ \$(echo $new_ids | wc -w) -eq 1 ] && [ \"$new_ids\" != \"$old_ids\" ] && [ \"$new_ids\" != none ] && echo ok || echo 'before $old_ids, after $new_ids'"
expect no_next_left ok sh -c "[ ! -e $pins/next ] && [ -e $pins/build ] && [ -e $pins/links/ag_file_open ] && echo ok"
expect probe_no_wrong_verdict 0 sh -c 'grep -c WRONG /tmp/up-probe.out'
expect probe_ran ok sh -c 'n=$(sed -n "s/^probes //p" /tmp/up-probe.out); [ "${n:-0}" -ge 3 ] && echo ok || echo "only ${n:-0} probes"'
expect upgraded_denied EPERM inside agt read /tmp/up/secret
expect upgraded_allowed ok inside agt read /tmp/up/ok
# The old build's record (same ABI) is decoded, named from its own generation's policy.
expect_event old_ring_drained '"path":"/tmp/up/secret"' '"id":"one:filesystem[0]"' '"generation":1'
expect_event upgraded_lifecycle '"kind":"lifecycle","operation":"start"' 'upgraded from another build'
# Generations go on from the old build's: the new policy is generation 2.
expect_event new_generation '"path":"/tmp/up/secret"' '"id":"two:filesystem[0]"' '"generation":2'
expect status_after_upgrade 0 sh -c 'agentguard status >/dev/null; echo $?'
expect reload_same_build 0 sh -c "AGENTGUARD_TEST_BUILD_SALT=b agentguard reload /tmp/up1.yaml 2>/dev/null; echo \$?"
expect reload_in_force EPERM inside agt read /tmp/up/secret

# Another ABI: the old records cannot be decoded; they are counted and reported as loss.
kill -9 "$AG_PID"
wait "$AG_PID" 2>/dev/null
expect denied_before_abi_upgrade EPERM inside agt read /tmp/up/secret
load_as abi:c /tmp/up1.yaml
expect_event abi_loss '"kind":"loss","operation":"upgrade","target":{"lost_kind":"unknown","count":'
expect abi_upgraded_denied EPERM inside agt read /tmp/up/secret
expect abi_one_program ok sh -c "[ \$(agt prog-ids ag_file_open | wc -w) -eq 1 ] && echo ok"

# A load that dies after attaching, before detaching the old build: both enforce, and the
# next load finishes the upgrade.
kill -9 "$AG_PID"
wait "$AG_PID" 2>/dev/null
expect crash_exit 70 sh -c "AGENTGUARD_TEST_FAULT=upgrade-committed AGENTGUARD_TEST_BUILD_SALT=d agentguard load --cgroup $AG_CG --events /tmp/up-crash.jsonl /tmp/up1.yaml 2>/dev/null; echo \$?"
expect crash_both_attached ok sh -c "[ \$(agt prog-ids ag_file_open | wc -w) -eq 2 ] && [ -e $pins/next/build ] && echo ok || agt prog-ids ag_file_open"
expect crash_denied EPERM inside agt read /tmp/up/secret
expect crash_allowed ok inside agt read /tmp/up/ok
load_as d /tmp/up1.yaml
expect crash_finished ok sh -c "[ \$(agt prog-ids ag_file_open | wc -w) -eq 1 ] && [ ! -e $pins/next ] && echo ok || agt prog-ids ag_file_open"
expect crash_adopted 1 sh -c "grep -c 'adopting the enforcement pinned' /tmp/agtest-daemon.log"
expect crash_finished_denied EPERM inside agt read /tmp/up/secret

# A half-made next (no build record): undone, the pinned build adopted as it is.
stop_daemon
mkdir $pins/next
load_as d /tmp/up1.yaml
expect partial_next_undone ok sh -c "[ ! -e $pins/next ] && [ \$(agt prog-ids ag_file_open | wc -w) -eq 1 ] && echo ok"
expect partial_next_adopted 1 sh -c "grep -c 'adopting the enforcement pinned' /tmp/agtest-daemon.log"

stop_agentguard
expect unloaded_no_pins ok sh -c "[ ! -e $pins ] && echo ok"
expect unloaded_no_program none agt prog-ids ag_file_open
expect unloaded_allowed ok inside agt read /tmp/up/secret
