#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# agentguard sandbox run/ls/stop (issue #11, the VM), with real guests under TCG: CMD's exit
# status comes back; a file the policy denies in the workspace gets EPERM inside and its event
# reaches the host with origin guest and the sandbox's name, an allowed one is read; the
# workspace is read-write (the file lands on the host owned by the uid QEMU runs as) or
# read-only (EROFS) as the policy says; a guest-made symlink is not a symlink on the host; ls
# shows a running sandbox, stop ends it (143), --timeout ends it (124); nothing is left after a
# normal exit, after stop and after kill -9 of the runner followed by ls (no QEMU, cgroup or
# state directory; ls kills what is left in a stale cgroup); a bad policy is refused before
# anything starts (65, FILE:LINE:COL); the test-only
# --test-unenforced-guest is refused without its gate; a compromised guest's malformed,
# forged and oversized records are counted and reported, never forwarded, and a valid one is;
# a flooded serial console fills at most two 256 KiB files on the host, the newest kept;
# CMD cannot open the control or events port to forge a status or records; a guest that says
# "unenforced" to a runner without the test-only flag is not started (69, CMD's output dropped).
# A "nothing left" check fails when its sandbox never started (there was nothing to clean).
#
# Runs in network and mount namespaces of its own (the sandbox runs with --network none; the
# network is tested by test_sandbox_vmnet.sh), with a tmpfs on /run: the sandboxes' state
# and a journald of the test's own live there (one boot writes to it with --journal). Needs
# root, build/agentguard, the 6.12 kernel (vm/fetch-kernel), qemu-system-x86, nft,
# systemd-journald and journalctl (tests/sandbox/lib.sh). One guest at a time.
# Prints one "PASS name" or "FAIL name: why" line per check; exits 1 if any check failed.
set -uo pipefail

SUITE=sandbox
# shellcheck source=tests/sandbox/lib.sh
. "$(dirname "$0")/lib.sh"
sbx_enter agsbx-run

journald=${JOURNALD:-/lib/systemd/systemd-journald}
jdir=$(mktemp -d /tmp/agsbx-journal.XXXXXX)
mkdir -p /run/systemd/journal /run/systemd/journald.conf.d /run/log/journal
mount --bind "$jdir" /run/log/journal
printf '[Journal]\nStorage=volatile\nRateLimitIntervalSec=0\nRateLimitBurst=0\nReadKMsg=no\nForwardToSyslog=no\nForwardToKMsg=no\nForwardToConsole=no\nForwardToWall=no\n' \
	>/run/systemd/journald.conf.d/zz-agentguard-test.conf
jpid=
if [ -x "$journald" ]; then
	SYSTEMD_LOG_TARGET=console "$journald" >"$jdir.log" 2>&1 &
	jpid=$!
	for _ in $(seq 100); do
		[ -S /run/systemd/journal/socket ] && break
		sleep 0.05
	done
fi

T=$(mktemp -d /tmp/agsbx.XXXXXX)
chmod 755 "$T"
names=()
cleanup() {
	local n
	for n in ${names[@]+"${names[@]}"}; do
		"$ag" sandbox stop "$n" >/dev/null 2>&1
	done
	"$ag" sandbox ls >/dev/null 2>&1
	[ -n "$jpid" ] && kill "$jpid" 2>/dev/null && wait "$jpid" 2>/dev/null
	umount /run/log/journal 2>/dev/null
	rm -rf "$T" "$jdir" "$jdir.log"
}
trap cleanup EXIT

cat >"$T/rw.yaml" <<'EOF'
apiVersion: agentguard/v1
kind: Policy
metadata:
  name: sbx-rw
  layer: local
spec:
  mode: enforce
  filesystem:
    default: allow
    rules:
      - path: /workspace
        access: rw
      - path: /workspace/secret
        access: none
        id: ws-secret
EOF
cat >"$T/ro.yaml" <<'EOF'
apiVersion: agentguard/v1
kind: Policy
metadata:
  name: sbx-ro
  layer: local
spec:
  mode: enforce
  filesystem:
    default: allow
    rules:
      - path: /workspace
        access: ro
EOF
printf 'apiVersion: agentguard/v1\nkind: Policy\nmetadata:\n  name: bad\nspec:\n  filesystem:\n    default: maybe\n' >"$T/bad.yaml"
nobody=$(id -u nobody)

# --- Refusals: nothing may start. ---
out=$("$ag" sandbox run --policy "$T/bad.yaml" --network none --name sbx-bad -- true 2>&1)
rc=$?
expect bad_policy_exit 65 "$rc"
if printf '%s' "$out" | grep -q "bad.yaml:[0-9]*:[0-9]*"; then pass bad_policy_position; else fail bad_policy_position "no FILE:LINE:COL in: $out"; fi
expect bad_policy_nothing_started "" "$(left_behind sbx-bad)"

out=$(env -u AGENTGUARD_TEST_UNENFORCED_GUEST "$ag" sandbox run --test-unenforced-guest --policy "$T/rw.yaml" --network none --name sbx-gate -- true 2>&1)
rc=$?
expect test_flag_refused_exit 64 "$rc"
if printf '%s' "$out" | grep -q "AGENTGUARD_TEST_UNENFORCED_GUEST"; then pass test_flag_refusal_names_gate; else fail test_flag_refusal_names_gate "$out"; fi
expect test_flag_refused_nothing_started "" "$(left_behind sbx-gate)"

mkdir "$T/rootonly" && chmod 755 "$T/rootonly"
out=$("$ag" sandbox run --policy "$T/rw.yaml" --workspace "$T/rootonly" --network none --name sbx-perm -- true 2>&1)
expect rw_workspace_not_writable_refused 78 "$?"
expect rw_workspace_not_writable_nothing_started "" "$(left_behind sbx-perm)"

# QEMU's user is never root: -1 would be "unchanged" to setresuid, 0 is root.
for bad in -1 4294967295 0 1000:0 12x; do
	out=$("$ag" sandbox run --runas "$bad" --policy "$T/ro.yaml" --network none --name sbx-uid -- true 2>&1)
	expect "runas_${bad//[:]/_}_refused" 78 "$?"
done
out=$(SUDO_UID=4294967295 "$ag" sandbox run --policy "$T/ro.yaml" --network none --name sbx-uid -- true 2>&1)
expect sudo_uid_minus_one_refused 78 "$?"
expect bad_runas_nothing_left "" "$(left_behind sbx-uid)"

# The default network (filtered) in a namespace with no default route: the tap, the tables and
# the resolver are made (the guest reaches nothing beyond them) and gone afterwards (the
# network itself: test_sandbox_vmnet.sh).
out=$("$ag" sandbox run --policy "$T/ro.yaml" --name sbx-net -- true 2>&1)
rc=$?
expect network_filtered_without_uplink_runs 0 "$rc"
expect_nothing_left network_filtered_nothing_left sbx-net "$([ $rc -eq 0 ] && echo 1)"

# --- Boot 1: status, EPERM and its event, allowed read, rw workspace, symlink. ---
ws=$T/ws-rw
mkdir "$ws"
echo hidden >"$ws/secret"
echo hello >"$ws/ok"
chown -R nobody "$ws"
names+=(sbx-one)
"$ag" sandbox run --policy "$T/rw.yaml" --workspace "$ws" --network none --name sbx-one \
	--events "$T/one.jsonl" -- /bin/sh -c '
	echo "CWD [$(pwd)]"
	cat /workspace/ok
	cat /workspace/secret 2>&1 && echo SECRET-READ
	echo made >/workspace/new && echo WROTE
	ln -s /etc/passwd /workspace/link && echo LINKED
	cat /workspace/link | head -n 1
	cp /bin/busybox /workspace/suid && chmod 4755 /workspace/suid && ls -l /workspace/suid
	sed -n "s|^[^ ]* /workspace 9p \([^ ]*\).*|MOUNTOPTS \1|p" /proc/mounts
	exit 7' >"$T/one.out" 2>"$T/one.err"
rc=$?
expect exit_status_passes_through 7 "$rc"
expect_grep allowed_file_read hello "$T/one.out"
expect_grep cmd_starts_in_workspace "CWD [/workspace]" "$T/one.out"
expect_grep denied_file_eperm "/workspace/secret': Operation not permitted" "$T/one.out"
if [ $rc -ne 7 ]; then fail denied_file_not_read "sbx-one never ran CMD (exit $rc)"
elif grep -q SECRET-READ "$T/one.out"; then fail denied_file_not_read "the guest read it"; else pass denied_file_not_read; fi
deny=$(grep '"kind":"file"' "$T/one.jsonl" | grep '"path":"/workspace/secret"' | head -n 1)
if printf '%s' "$deny" | grep -q '"decision":"deny"'; then pass deny_event_on_host; else fail deny_event_on_host "none in $T/one.jsonl: $(head -c 600 "$T/one.jsonl")"; fi
if printf '%s' "$deny" | grep -q '"rule":{"id":"ws-secret"'; then pass deny_event_names_rule; else fail deny_event_names_rule "$deny"; fi
if printf '%s' "$deny" | grep -q '"origin":"guest","sandbox_name":"sbx-one"}$'; then pass deny_event_origin_guest_and_name; else fail deny_event_origin_guest_and_name "$deny"; fi
host_start=$(grep '"origin":"host"' "$T/one.jsonl" | grep '"operation":"start"' | head -n 1)
if printf '%s' "$host_start" | grep -q '"sandbox_name":"sbx-one"'; then pass host_start_event; else fail host_start_event "no host lifecycle start in $T/one.jsonl"; fi
latency=$(printf '%s' "$host_start" | sed -n 's/.*after \([0-9]*\) ms.*/\1/p')
echo "# start to enforcing (TCG, 6.12; includes a guest image rebuild if the binary changed): ${latency:-?} ms"
expect_grep rw_write_works WROTE "$T/one.out"
expect rw_file_on_host made "$(cat "$ws/new" 2>/dev/null)"
expect rw_file_owner_is_runas_uid "$nobody" "$(stat -c %u "$ws/new" 2>/dev/null)"
# mapped-xattr keeps a guest's symlink as a plain file on the host: nothing there follows it.
expect_grep guest_symlink_works_inside "root:" "$T/one.out"
if [ -f "$ws/link" ] && [ ! -L "$ws/link" ] && [ "$(cat "$ws/link")" = /etc/passwd ]; then
	pass guest_symlink_not_a_host_symlink
else
	fail guest_symlink_not_a_host_symlink "$(ls -la "$ws/link" 2>&1)"
fi
# A setuid file made by guest root: setuid inside (mapped-xattr keeps the guest's mode), not
# on the host; and the guest mounts its shares nosuid,nodev, so a later run cannot use it.
expect_grep guest_setuid_mode_inside "-rwsr-xr-x" "$T/one.out"
mode=$(stat -c %a "$ws/suid" 2>/dev/null)
if [ -n "$mode" ] && [ $((0$mode & 07000)) -eq 0 ]; then pass guest_setuid_not_setuid_on_host; else fail guest_setuid_not_setuid_on_host "host mode '$mode'"; fi
opts=$(sed -n 's/^MOUNTOPTS //p' "$T/one.out")
case ",$opts," in
*,nosuid,*nodev,* | *,nodev,*nosuid,*) pass workspace_mounted_nosuid_nodev ;;
*) fail workspace_mounted_nosuid_nodev "options '$opts'" ;;
esac
expect_nothing_left normal_exit_nothing_left sbx-one "$([ $rc -eq 7 ] && echo 1)"

# --- Boot 2: read-only workspace. ---
ws=$T/ws-ro
mkdir "$ws"
echo keep >"$ws/file"
chown -R nobody "$ws"
"$ag" sandbox run --policy "$T/ro.yaml" --workspace "$ws" --network none --name sbx-ro \
	--events "$T/ro.jsonl" --journal -- /bin/sh -c '
	cat /workspace/file
	echo x >/workspace/new 2>&1 || echo WRITE-FAILED
	echo y >>/workspace/file 2>&1 || echo APPEND-FAILED
	exit 0' >"$T/ro.out" 2>&1
rc=$?
expect ro_exit 0 "$rc"
latency=$(grep '"origin":"host"' "$T/ro.jsonl" | sed -n 's/.*after \([0-9]*\) ms.*/\1/p' | head -n 1)
echo "# start to enforcing (TCG, 6.12, cached image): ${latency:-?} ms"
expect_grep ro_read_works keep "$T/ro.out"
expect_grep ro_write_erofs "Read-only file system" "$T/ro.out"
expect_grep ro_write_fails WRITE-FAILED "$T/ro.out"
if [ $rc -ne 0 ]; then fail ro_host_unchanged "sbx-ro never ran CMD (exit $rc)"
elif [ -e "$ws/new" ] || [ "$(cat "$ws/file")" != keep ]; then fail ro_host_unchanged "$(ls -la "$ws")"; else pass ro_host_unchanged; fi
# --journal: the guest's records and the runner's own, each labelled.
if [ -S /run/systemd/journal/socket ]; then
	journalctl --sync 2>/dev/null
	jsub=$(find "$jdir" -mindepth 1 -maxdepth 1 -type d | head -n 1)
	journalctl --directory "${jsub:-$jdir}" --all -o export >"$T/journal.export" 2>&1
	if awk '/^AGENTGUARD_ORIGIN=guest$/ { g = 1 } /^AGENTGUARD_SANDBOX_NAME=sbx-ro$/ { n = 1 }
		/^AGENTGUARD_JSON=.*"origin":"guest","sandbox_name":"sbx-ro"}$/ { j = 1 }
		/^$/ { if (g && n && j) found = 1; g = n = j = 0 } END { exit !(found || (g && n && j)) }' "$T/journal.export"; then
		pass journal_guest_record
	else
		fail journal_guest_record "no entry with AGENTGUARD_ORIGIN=guest, the name and the JSON in $(grep -c . "$T/journal.export") lines"
	fi
	if awk '/^AGENTGUARD_ORIGIN=host$/ { h = 1 } /^AGENTGUARD_SANDBOX_NAME=sbx-ro$/ { n = 1 }
		/^$/ { if (h && n) found = 1; h = n = 0 } END { exit !(found || (h && n)) }' "$T/journal.export"; then
		pass journal_host_record
	else
		fail journal_host_record "no entry with AGENTGUARD_ORIGIN=host and the name"
	fi
else
	fail journal_guest_record "no journald of our own: $(tail -n 3 "$jdir.log" 2>/dev/null | tr '\n' ' ')"
fi

# --- Boot 3: ls while running, then stop. ---
names+=(sbx-stop)
"$ag" sandbox run --policy "$T/ro.yaml" --network none --name sbx-stop --events "$T/stop.jsonl" \
	-- /bin/sh -c 'echo "UP in [$(pwd)]"; sleep 600' >"$T/stop.out" 2>"$T/stop.err" &
runner=$!
up=
if wait_for 120 grep -q UP "$T/stop.out"; then up=1; pass stop_guest_running; else fail stop_guest_running "$(tail -n 5 "$T/stop.err")"; fi
expect_grep cmd_without_workspace_starts_in_root "UP in [/]" "$T/stop.out"
"$ag" sandbox ls --json >"$T/ls.json" 2>&1
qpid=$(sed -n 's/.*"name":"sbx-stop","runner_pid":[0-9]*,"qemu_pid":\([0-9]*\).*/\1/p' "$T/ls.json")
if grep -q "\"name\":\"sbx-stop\",\"runner_pid\":$runner," "$T/ls.json"; then pass ls_shows_running; else fail ls_shows_running "$(cat "$T/ls.json")"; fi
if [ -n "$qpid" ] && [ "$(stat -c %u "/proc/$qpid" 2>/dev/null)" = "$nobody" ]; then pass qemu_runs_as_runas_uid; else fail qemu_runs_as_runas_uid "qemu pid '$qpid' uid $(stat -c %u "/proc/$qpid" 2>&1)"; fi
if [ -n "$qpid" ] && grep -q "^Seccomp:[[:space:]]*2" "/proc/$qpid/status"; then pass qemu_seccomp_on; else fail qemu_seccomp_on "$(grep Seccomp "/proc/$qpid/status" 2>&1)"; fi
if [ -n "$qpid" ] && grep -qx "0::/agentguard-sandboxes/sbx-stop" "/proc/$qpid/cgroup"; then pass qemu_in_own_cgroup; else fail qemu_in_own_cgroup "$(cat "/proc/$qpid/cgroup" 2>&1)"; fi
"$ag" sandbox stop sbx-stop 2>"$T/stop-cmd.err"
expect stop_command_ok 0 "$?"
wait "$runner"
expect stop_runner_exit_143 143 "$?"
expect_nothing_left stop_nothing_left sbx-stop "$up" "$qpid"

# --- Boot 4: kill -9 of the runner; QEMU dies with it, ls cleans the rest. ---
names+=(sbx-kill)
"$ag" sandbox run --policy "$T/ro.yaml" --network none --name sbx-kill \
	-- /bin/sh -c 'echo UP; sleep 600' >"$T/kill.out" 2>"$T/kill.err" &
runner=$!
up=
if wait_for 120 grep -q UP "$T/kill.out"; then up=1; else fail kill_guest_running "$(tail -n 5 "$T/kill.err")"; fi
qpid=$(cat "$state/sbx-kill/qemu.pid" 2>/dev/null)
kill -9 "$runner"
wait "$runner" 2>/dev/null
if wait_for 10 test ! -e "/proc/$qpid"; then pass kill9_qemu_gone; else fail kill9_qemu_gone "QEMU $qpid still runs"; fi
if [ -e "$state/sbx-kill" ]; then pass kill9_state_stale_before_ls; else fail kill9_state_stale_before_ls "state vanished without ls: is the check able to see it?"; fi
# As if QEMU had outlived its runner: a process left in the stale cgroup, which ls must kill.
sleep 1000 &
straggler=$!
echo "$straggler" >"$cgmnt/agentguard-sandboxes/sbx-kill/cgroup.procs" 2>/dev/null ||
	fail kill9_straggler_setup "cannot move a process into $cgmnt/agentguard-sandboxes/sbx-kill"
"$ag" sandbox ls >"$T/ls2.out" 2>&1
expect kill9_ls_exit 0 "$?"
{ wait "$straggler"; } 2>/dev/null
expect kill9_ls_kills_cgroup_leftovers 137 "$?"
if [ -z "$up" ]; then fail kill9_not_listed "sbx-kill never started"
elif awk 'NR > 1 && $1 == "sbx-kill"' "$T/ls2.out" | grep -q .; then fail kill9_not_listed "$(cat "$T/ls2.out")"; else pass kill9_not_listed; fi
expect_nothing_left kill9_ls_cleans_everything sbx-kill "$up" "$qpid"

# --- Boot 5: --timeout counts from the start and ends the guest: 124. ---
"$ag" sandbox run --policy "$T/ro.yaml" --network none --name sbx-time --timeout 2 \
	-- /bin/sh -c 'echo UP; sleep 600' >"$T/time.out" 2>"$T/time.err"
expect timeout_exit_124 124 "$?"
expect_grep timeout_after_start UP "$T/time.out"
expect_grep timeout_message "timeout after 2 s" "$T/time.err"
expect_nothing_left timeout_nothing_left sbx-time "$(grep -qx UP "$T/time.out" && echo 1)"

# --- Boot 6: nobody reads CMD's output any more: the guest is stopped, 141. ---
"$ag" sandbox run --policy "$T/ro.yaml" --network none --name sbx-pipe --events /dev/null \
	-- yes 2>"$T/pipe.err" | head -n 2 >"$T/pipe.out"
expect closed_output_exit_141 141 "${PIPESTATUS[0]}"
expect_nothing_left closed_output_nothing_left sbx-pipe "$(grep -qx y "$T/pipe.out" && echo 1)"

# --- Boot 7: a compromised guest's records (test-only: no daemon holds ag.events). ---
ws=$T/ws-inj
mkdir "$ws"
valid=$(head -n 1 "$top/tests/fuzz/seeds-fuzz_guest_rx/sample-0")
printf '%s\n' "$valid" >"$ws/valid"
printf '%s\n' "${valid%\}},\"evil\":1}" >"$ws/extra"
printf '%s\n' "${valid%\}},\"origin\":\"guest\"}" >"$ws/forged"
n_flood=6000
{ for _ in $(seq $n_flood); do printf '%s\n' "$valid"; done; } >"$ws/flood"
cat >"$ws/inject.sh" <<'EOF'
for f in /sys/class/virtio-ports/*/name; do
	[ "$(cat "$f")" = ag.events ] && { d=${f%/name}; port=/dev/${d##*/}; }
	[ "$(cat "$f")" = ag.ctl ] && { d=${f%/name}; ctl=/dev/${d##*/}; }
done
# No enforcement here: only init's hold on ag.ctl stands between CMD and a forged status.
if err=$( { echo "exit 9" >"$ctl"; } 2>&1); then echo CTL-OPENED; else echo "CTL-REFUSED $err"; fi
exec 5>"$port" || exit 3
cat /workspace/valid >&5
head -c 20000 /dev/zero | tr '\0' a >&5; echo >&5
echo '{"not":"an event","marker":"FORGED-MARKER"}' >&5
cat /workspace/extra /workspace/forged >&5
printf 'no newline at the end FORGED-MARKER' >&5
sleep 1
cat /workspace/flood >&5
# The serial console, as a compromised guest kernel may fill it: 640 KiB, then a last line.
head -c 655360 /dev/zero | tr '\0' x >/dev/ttyS0
echo NEWEST-CONSOLE-LINE >/dev/ttyS0
echo CONSOLE-FLOODED
sleep 5
exit 0
EOF
chown -R nobody "$ws"
AGENTGUARD_TEST_UNENFORCED_GUEST=1 "$ag" sandbox run --test-unenforced-guest --policy "$T/ro.yaml" \
	--workspace "$ws" --network none --name sbx-inj --events "$T/inj.jsonl" \
	-- /bin/sh /workspace/inject.sh >"$T/inj.out" 2>&1 &
runner=$!
# The runner keeps each of console.log and qemu.log to 256 KiB and one older file: 640 KiB
# written makes two rotations; the newest output is in console.log.
if wait_for 200 grep -q CONSOLE-FLOODED "$T/inj.out"; then
	sizes=$(stat -c '%n %s' "$state/sbx-inj"/console.log* 2>&1 | sed "s|$state/sbx-inj/||")
	total=$(cat "$state/sbx-inj"/console.log* | wc -c)
	if [ "$(ls "$state/sbx-inj" | grep -c '^console')" -eq 2 ] && [ "$total" -le 524288 ] &&
		[ "$total" -gt 262144 ]; then
		pass console_flood_bounded
	else
		fail console_flood_bounded "$sizes"
	fi
	if tail -c 200 "$state/sbx-inj/console.log" | grep -q NEWEST-CONSOLE-LINE; then
		pass console_flood_newest_kept
	else
		fail console_flood_newest_kept "$sizes; tail: $(tail -c 100 "$state/sbx-inj/console.log")"
	fi
else
	fail console_flood_bounded "CMD never got past the flood: $(tail -c 300 "$T/inj.out")"
	fail console_flood_newest_kept "CMD never got past the flood"
fi
wait "$runner"
rc=$?
expect inject_exit 0 "$rc"
# A virtio console port admits one opener, and init holds ag.ctl: EBUSY, whatever CMD's uid.
expect_grep ctl_port_held_by_init "CTL-REFUSED" "$T/inj.out"
expect_grep ctl_port_busy "Device or resource busy" "$T/inj.out"
guest_lines=$(grep -c '"origin":"guest"' "$T/inj.jsonl")
loss() { # operation -> count
	grep '"origin":"host"' "$T/inj.jsonl" | grep "\"operation\":\"$1\"" |
		sed -n 's/.*"count":\([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }'
}
if [ "$guest_lines" -eq 0 ]; then fail malformed_not_forwarded "no guest record came through at all"
elif grep -q FORGED-MARKER "$T/inj.jsonl"; then fail malformed_not_forwarded "$(grep FORGED-MARKER "$T/inj.jsonl" | head -c 300)"; else pass malformed_not_forwarded; fi
if [ "$guest_lines" -eq 0 ]; then fail unknown_field_not_forwarded "no guest record came through at all"
elif grep '"evil"' "$T/inj.jsonl" | grep -q .; then fail unknown_field_not_forwarded "found"; else pass unknown_field_not_forwarded; fi
expect malformed_reported 4 "$(loss guest-malformed)"
expect oversized_reported 1 "$(loss guest-oversized)"
limited=$(loss guest-rate-limited)
# The unterminated line runs into the first flood record: both are one malformed line.
expect every_valid_record_accounted "$n_flood" $((guest_lines + limited))
if [ "$limited" -gt 0 ]; then pass flood_rate_limited; else fail flood_rate_limited "none of $n_flood was over the rate"; fi
if grep -m1 '"origin":"guest"' "$T/inj.jsonl" | grep -q '"sandbox_name":"sbx-inj"}$'; then pass valid_record_forwarded; else fail valid_record_forwarded "$(head -c 400 "$T/inj.jsonl")"; fi
if grep -q '"operation":"start".*TEST ONLY' "$T/inj.jsonl"; then pass unenforced_run_labelled; else fail unenforced_run_labelled "no TEST ONLY start event"; fi
expect_nothing_left inject_nothing_left sbx-inj "$([ $rc -eq 0 ] && echo 1)"

# --- Boot 8: CMD in an enforced guest opens the control and events ports to forge a status
# and records. The guest's kernel denies the devices (EPERM, reported as device events); behind
# that, a virtio console port admits one opener: init holds ag.ctl for the whole run (Boot 7
# shows EBUSY without enforcement), the guest daemon (agentguard load --events) holds
# ag.events. Both opens fail, the real status comes back and no forged record reaches the host.
# This boot runs the 6.1 guest kernel (--kernel 6.1); the others run 6.12. ---
ws=$T/ws-forge
mkdir "$ws"
sed 's/"host":"[^"]*"/"host":"FORGED-HOST"/' "$top/tests/fuzz/seeds-fuzz_guest_rx/sample-0" >"$ws/record"
cat >"$ws/forge.sh" <<'EOF'
echo "UNAME [$(uname -r)]"
for f in /sys/class/virtio-ports/*/name; do
	n=$(cat "$f")
	d=${f%/name}
	dev=/dev/${d##*/}
	case $n in
	ag.ctl) what="echo exit 0" ;;
	ag.events) what="cat /workspace/record" ;;
	*) continue ;;
	esac
	echo "DEV $n $(cat "$d/dev")"
	if err=$( { $what >"$dev"; } 2>&1); then echo "OPENED $n"; else echo "REFUSED $n"; echo "# $n: $err"; fi
done
exit 5
EOF
chown -R nobody "$ws"
"$ag" sandbox run --kernel 6.1 --policy "$T/ro.yaml" --workspace "$ws" --network none \
	--name sbx-forge --events "$T/forge.jsonl" \
	-- /bin/sh /workspace/forge.sh >"$T/forge.out" 2>"$T/forge.err"
rc=$?
expect_grep forge_guest_kernel_6_1 "UNAME [6.1." "$T/forge.out"
[ $rc -eq 5 ] || echo "# sbx-forge exit $rc: $(tail -n 15 "$T/forge.err")"
grep '^# ' "$T/forge.out"
expect forge_real_status_returned 5 "$rc"
expect_grep forge_ctl_port_refused "REFUSED ag.ctl" "$T/forge.out"
expect_grep forge_events_port_refused "REFUSED ag.events" "$T/forge.out"
if [ "$(grep -c '^DEV ' "$T/forge.out")" -ne 2 ]; then fail forge_no_port_opened "the two ports were not both tried"
elif grep -q OPENED "$T/forge.out"; then fail forge_no_port_opened "$(grep OPENED "$T/forge.out")"; else pass forge_no_port_opened; fi
if grep -q '"origin":"guest"' "$T/forge.jsonl" && ! grep -q FORGED-HOST "$T/forge.jsonl"; then
	pass forge_no_forged_record
else
	fail forge_no_forged_record "$(grep -c '"origin":"guest"' "$T/forge.jsonl") guest records, $(grep -c FORGED-HOST "$T/forge.jsonl") forged"
fi
# The first wall is the guest's own kernel (the built-in device rule), which reports it.
for port in ag.ctl ag.events; do
	dev=$(sed -n "s/^DEV $port //p" "$T/forge.out")
	if [ -n "$dev" ] && grep '"origin":"guest"' "$T/forge.jsonl" | grep '"operation":"device"' |
		grep -q "\"device\":\"char $dev\""; then
		pass "forge_${port#ag.}_denial_reported"
	else
		fail "forge_${port#ag.}_denial_reported" "no guest device event for $port ('$dev')"
	fi
done
expect_nothing_left forge_nothing_left sbx-forge "$([ $rc -eq 5 ] && echo 1)"

# --- Boot 9: a guest that says "unenforced" to a runner without --test-unenforced-guest (its
# gate set, the flag absent) is not a started sandbox: 69, no start event, CMD's output not
# passed on. Provoked from the host: the spec share gets the marker the runner writes only for
# that flag, after the runner wrote the spec and before the guest reads it (it boots for
# seconds first); the guest's init then starts no daemon and says "unenforced", as a guest
# without enforcement would. If the marker came too late, the guest enforces, CMD runs until
# the timeout (124) and its output shows: every check below fails. ---
AGENTGUARD_TEST_UNENFORCED_GUEST=1 "$ag" sandbox run --policy "$T/ro.yaml" --network none \
	--name sbx-unenf --events "$T/unenf.jsonl" --timeout 20 \
	-- /bin/sh -c 'while :; do echo CMD-RAN-MARKER; sleep 0.05; done' >"$T/unenf.out" 2>"$T/unenf.err" &
runner=$!
if wait_for 60 test -s "$state/sbx-unenf/spec/policies"; then
	echo "test only" >"$state/sbx-unenf/spec/unenforced"
else
	fail unenforced_marker_placed "no spec share at $state/sbx-unenf/spec"
fi
wait "$runner"
rc=$?
expect_grep unenforced_claim_reported "it ran without enforcement" "$T/unenf.err"
claimed=$(grep -q 'ran without enforcement' "$T/unenf.err" && echo 1)
# Without the claim (QEMU never booted, say) those below would hold for nothing: they fail.
if [ -z "$claimed" ]; then fail unenforced_claim_exit_69 "the guest never said unenforced (exit $rc)"; else expect unenforced_claim_exit_69 69 "$rc"; fi
if [ -z "$claimed" ]; then
	fail unenforced_claim_output_dropped "the guest never said unenforced"
elif grep -q CMD-RAN-MARKER "$T/unenf.out" "$T/unenf.err"; then
	fail unenforced_claim_output_dropped "$(grep -c CMD-RAN-MARKER "$T/unenf.out") lines of CMD's output passed on"
else
	pass unenforced_claim_output_dropped
fi
if [ -z "$claimed" ]; then
	fail unenforced_claim_no_start_event "the guest never said unenforced"
elif grep -q '"operation":"start"' "$T/unenf.jsonl"; then
	fail unenforced_claim_no_start_event "$(grep '"operation":"start"' "$T/unenf.jsonl" | head -c 300)"
else
	pass unenforced_claim_no_start_event
fi
expect_nothing_left unenforced_claim_nothing_left sbx-unenf "$claimed"

exit $failed
