# SPDX-License-Identifier: GPL-2.0
# The event sinks of `agentguard load` (issue #6) with real kernel events: --events FILE
# reopened on SIGHUP (logrotate's "create" mode) with seq continuing and the new file
# protected from the sandbox, --format ocsf, and --journal refused where no journald runs
# (the guest has none; tests/host/test_journal.sh covers journald). Hostile names through the
# file hook end up escaped in the JSON line. Each daemon after the first adopts the pinned
# enforcement (the sinks are the daemon's; a fresh load and an unload cost seconds under TCG).
. /tests/guest/lib.sh

mkdir -p "$AG_CG"
cat >/tmp/sinks.yaml <<'POLICY'
apiVersion: agentguard/v1
kind: Policy
metadata:
  name: sinks
spec:
  filesystem:
    default: allow
    rules:
      - path: /tmp/secret
        access: none
  network:
    default: deny
POLICY

# start ARGS...: agentguard load with the events options given, ready or fail.
start() {
	rm -f "$AG_READY"
	agentguard load --cgroup "$AG_CG" --ready-file "$AG_READY" --session sinks "$@" \
		/tmp/sinks.yaml >/tmp/sinks.stdout 2>/tmp/agtest-daemon.log &
	AG_PID=$!
	i=0
	while [ ! -f "$AG_READY" ]; do
		if ! kill -0 "$AG_PID" 2>/dev/null || [ $i -ge 300 ]; then
			fail start "daemon not ready ($*): $(cat /tmp/agtest-daemon.log)"
			exit 1
		fi
		i=$((i + 1))
		usleep 100000
	done
}

# wait_for FILE STRING: the file has a line with STRING within 5 s.
wait_for() {
	_i=0
	while [ $_i -lt 50 ]; do
		grep -qF -e "$2" "$1" 2>/dev/null && return 0
		_i=$((_i + 1))
		usleep 100000
	done
	return 1
}

# SIGHUP reopen.
rm -f "$AG_EVENTS" "$AG_EVENTS.1"
start --events "$AG_EVENTS"
expect before_rotate_denied EPERM inside agt connect 127.0.0.1 7101
if wait_for "$AG_EVENTS" '"port":7101'; then pass before_rotate_event; else
	fail before_rotate_event "no event in $AG_EVENTS: $(tail -n 2 "$AG_EVENTS")"; fi
mv "$AG_EVENTS" "$AG_EVENTS.1"
kill -HUP "$AG_PID"
usleep 500000
if kill -0 "$AG_PID" 2>/dev/null && [ -f "$AG_EVENTS" ]; then pass sighup_reopens; else
	fail sighup_reopens "daemon alive: $(kill -0 "$AG_PID" 2>&1 && echo yes); file: $(ls -l "$AG_EVENTS" 2>&1)"; fi
expect after_rotate_denied EPERM inside agt connect 127.0.0.1 7102
if wait_for "$AG_EVENTS" '"port":7102'; then pass after_rotate_event_in_new_file; else
	fail after_rotate_event_in_new_file "$(tail -n 2 "$AG_EVENTS")"; fi
if ! grep -qF '"port":7102' "$AG_EVENTS.1" && grep -qF '"port":7101' "$AG_EVENTS.1"; then
	pass rotated_file_keeps_old_events
else
	fail rotated_file_keeps_old_events "$(cat "$AG_EVENTS.1")"
fi
old=$(grep -F '"port":7101' "$AG_EVENTS.1" | sed 's/.*"seq":\([0-9]*\),.*/\1/' | tail -n 1)
new=$(grep -F '"port":7102' "$AG_EVENTS" | sed 's/.*"seq":\([0-9]*\),.*/\1/' | head -n 1)
if [ -n "$old" ] && [ -n "$new" ] && [ "$new" -gt "$old" ]; then pass seq_continues; else
	fail seq_continues "seq $old before, $new after the rotation"; fi
expect reopened_file_protected EPERM inside agt open "$AG_EVENTS" w
# A file that cannot be opened: keep writing to the old one, say so.
mv "$AG_EVENTS" "$AG_EVENTS.2"
mkdir "$AG_EVENTS"
kill -HUP "$AG_PID"
usleep 300000
expect failed_reopen_denied EPERM inside agt connect 127.0.0.1 7103
if wait_for "$AG_EVENTS.2" '"port":7103' && grep -q 'cannot reopen' /tmp/agtest-daemon.log; then
	pass failed_reopen_keeps_old_file
else
	fail failed_reopen_keeps_old_file "$(tail -n 2 /tmp/agtest-daemon.log)"
fi
rmdir "$AG_EVENTS"
# A reopen never opens what stands at the name: it makes a new file (O_TMPFILE, protected
# before it has a name) and renames it over the name (threat model A11).
# A symlink planted where the file was: replaced, never followed (it could aim anywhere).
ln -s /tmp/sinks-target "$AG_EVENTS"
kill -HUP "$AG_PID"
usleep 300000
expect symlink_reopen_denied EPERM inside agt connect 127.0.0.1 7105
if wait_for "$AG_EVENTS" '"port":7105' && [ ! -L "$AG_EVENTS" ] && [ ! -e /tmp/sinks-target ]; then
	pass symlink_not_followed
else
	fail symlink_not_followed "$(ls -l "$AG_EVENTS" /tmp/sinks-target 2>&1)"
fi
rm -f "$AG_EVENTS"
# A hard link planted where the file was, to a file outside: replaced, the file outside
# untouched.
echo victim >/tmp/victim
expect planted_link_made ok inside agt link /tmp/victim "$AG_EVENTS"
kill -HUP "$AG_PID"
usleep 300000
expect planted_link_reopen_denied EPERM inside agt connect 127.0.0.1 7107
if wait_for "$AG_EVENTS" '"port":7107' && [ "$(cat /tmp/victim)" = victim ]; then
	pass hard_link_not_used
else
	fail hard_link_not_used "victim: $(head -c 200 /tmp/victim)"
fi
# The sandbox makes the file first, after logrotate moved it and before the daemon reopens
# it, and keeps a write descriptor (A11): its later line lands in the file it made, which
# the reopen replaced; the daemon's file has the real event and not the forged line.
mv "$AG_EVENTS" "$AG_EVENTS.3"
rm -f /tmp/held /tmp/go
inside sh -c 'exec 7>>"$1" && echo HELD >/tmp/held
	while [ ! -e /tmp/go ]; do usleep 50000; done
	echo "{\"forged\":\"FORGED-LINE\"}" >&7 && echo WROTE >>/tmp/held' precreate "$AG_EVENTS" &
held=$!
i=0
while ! grep -q HELD /tmp/held 2>/dev/null && [ $i -lt 50 ]; do usleep 100000; i=$((i + 1)); done
kill -HUP "$AG_PID"
usleep 300000
touch /tmp/go
wait "$held"
expect precreated_reopen_denied EPERM inside agt connect 127.0.0.1 7108
if ! grep -q WROTE /tmp/held 2>/dev/null; then
	fail precreated_file_replaced "the sandbox's descriptor never wrote: $(cat /tmp/held 2>&1)"
elif wait_for "$AG_EVENTS" '"port":7108' && ! grep -q FORGED-LINE "$AG_EVENTS"; then
	pass precreated_file_replaced
else
	fail precreated_file_replaced "$(grep -c FORGED-LINE "$AG_EVENTS") forged lines; $(tail -n 2 "$AG_EVENTS")"
fi
expect precreated_replacement_protected EPERM inside agt open "$AG_EVENTS" w
rm -f "$AG_EVENTS" "$AG_EVENTS.3"
# Many rotations: the current file and the last 7 rotated ones stay protected, older ones are
# logrotate's again, and the protected-inode table (64 entries) never fills up.
i=0
while [ $i -lt 70 ]; do
	[ -f "$AG_EVENTS" ] && mv "$AG_EVENTS" "$AG_EVENTS.r$i"
	kill -HUP "$AG_PID"
	usleep 250000
	i=$((i + 1))
done
expect many_rotations_denied EPERM inside agt connect 127.0.0.1 7106
if wait_for "$AG_EVENTS" '"port":7106'; then pass many_rotations_keep_working; else
	fail many_rotations_keep_working "$(tail -n 3 /tmp/agtest-daemon.log)"; fi
expect many_rotations_current_protected EPERM inside agt open "$AG_EVENTS" w
expect many_rotations_recent_protected EPERM inside agt open "$AG_EVENTS.r69" w
expect many_rotations_old_released ok inside agt open "$AG_EVENTS.r1" w
stop_daemon
# A restart adopts the previous daemon's files (their keys are in the state directory): its
# rotated files stay protected until 8 newer ones have come, then they are released, so
# restarts leak no entry of the protected-inode table.
start --events "$AG_EVENTS"
expect restart_rotated_still_protected EPERM inside agt open "$AG_EVENTS.r69" w
expect restart_current_protected EPERM inside agt open "$AG_EVENTS" w
i=0
while [ $i -lt 8 ]; do
	mv "$AG_EVENTS" "$AG_EVENTS.s$i"
	kill -HUP "$AG_PID"
	usleep 250000
	i=$((i + 1))
done
expect restart_previous_rotated_released ok inside agt open "$AG_EVENTS.r69" w
expect restart_previous_current_released ok inside agt open "$AG_EVENTS.s0" w
expect restart_recent_protected EPERM inside agt open "$AG_EVENTS.s7" w
expect restart_new_current_protected EPERM inside agt open "$AG_EVENTS" w
stop_daemon

# A full file system (threat model A6): the sandbox fills the one that holds the event file.
# Lines a write() refuses are held in memory and written, whole and in order, once there is
# room; the daemon says at once that it cannot write, and again when it can.
mkdir -p /tmp/evfs
mount -t tmpfs -o size=1m evfs /tmp/evfs
EV=/tmp/evfs/events.jsonl
# whole FILE: every line of FILE is an event line.
whole() { [ "$(grep -c '^{"schema_version":1,.*}$' "$1")" -eq "$(wc -l <"$1")" ]; }
# logged STRING: the daemon's stderr says it within 5 s.
logged() { wait_for /tmp/agtest-daemon.log "$1"; }
# count FILE: its socket-create events.
count() { grep -c '"operation":"socket-create"' "$1"; }
start --events "$EV"
expect full_filled ENOSPC inside agt fill /tmp/evfs/fill
# 30 events (about 12 KiB): more than the room left in the file's last page.
expect full_denied EPERM inside agt socket-flood 30
if logged 'cannot write the event stream'; then pass full_write_failure_logged; else
	fail full_write_failure_logged "$(cat /tmp/agtest-daemon.log)"; fi
held=$(count "$EV")
still full_events_not_all_written test "$held" -lt 30
rm /tmp/evfs/fill
i=0
while [ $i -lt 50 ] && [ "$(count "$EV")" -lt 30 ]; do
	i=$((i + 1))
	usleep 100000
done
expect full_held_events_written 30 count "$EV"
if logged 'the event stream takes lines again'; then pass full_recovery_logged; else
	fail full_recovery_logged "$(cat /tmp/agtest-daemon.log)"; fi
still full_lines_whole whole "$EV"
expect full_no_loss_event 0 grep -c '"operation":"write-failed"' "$EV"
# Rotation while the file cannot write: the lines it holds go to the new file, and a line
# whose start reached the old one is counted as dropped. Written + dropped = made.
# dropped FILE: the lines its write-failed loss events count.
dropped() { grep -F '"operation":"write-failed"' "$1" | grep -o '"count":[0-9]*' |
	cut -d: -f2 | awk '{s += $1} END {print s + 0}'; }
# whole_count FILE: its socket-create events, without a torn last line (no newline after it).
whole_count() {
	_n=$(count "$1")
	if [ -n "$(tail -c 1 "$1")" ] && tail -n 1 "$1" | grep -q '"operation":"socket-create"'; then
		_n=$((_n - 1))
	fi
	echo "$_n"
}
c0=$(count "$EV")
expect rotate_full_filled ENOSPC inside agt fill /tmp/evfs/fill
expect rotate_full_denied EPERM inside agt socket-flood 30
usleep 300000
mv "$EV" "$EV.1"
kill -HUP "$AG_PID"
usleep 500000
rm /tmp/evfs/fill
i=0
while [ $i -lt 50 ] &&
	[ $(($(whole_count "$EV.1") - c0 + $(count "$EV") + $(dropped "$EV"))) -lt 30 ]; do
	i=$((i + 1))
	usleep 100000
done
moved=$(count "$EV")
got=$(($(whole_count "$EV.1") - c0 + moved + $(dropped "$EV")))
if [ "$got" -eq 30 ] && [ "$moved" -gt 0 ]; then
	pass rotate_full_accounts_for_every_event
else
	fail rotate_full_accounts_for_every_event "$(($(whole_count "$EV.1") - c0)) in the old file, $moved in the new, $(dropped "$EV") dropped, of 30"
fi
still rotate_full_new_lines_whole whole "$EV"
stop_daemon
rm -f "$EV.1"
# Past --events-backlog, lines are dropped whole and counted: a "write-failed" loss event
# follows once there is room, and the events written plus those it counts are all there were.
rm -f "$EV"
start --events "$EV" --events-backlog 65536
expect backlog_filled ENOSPC inside agt fill /tmp/evfs/fill
N=1000
expect backlog_flood_denied EPERM inside agt socket-flood $N
usleep 500000
rm /tmp/evfs/fill
if wait_for "$EV" '"operation":"write-failed"'; then pass backlog_loss_event; else
	fail backlog_loss_event "$(tail -n 2 "$EV")"; fi
reported=$(grep -c '"operation":"socket-create"' "$EV")
dropped=$(grep -F '"operation":"write-failed"' "$EV" | grep -o '"count":[0-9]*' | cut -d: -f2 |
	awk '{s += $1} END {print s + 0}')
if [ "$dropped" -gt 0 ] && [ "$reported" -gt 0 ] && [ $((reported + dropped)) -eq $N ]; then
	pass backlog_accounts_for_every_event
else
	fail backlog_accounts_for_every_event "$reported written + $dropped dropped of $N"
fi
still backlog_lines_whole whole "$EV"
# status.json (written every second) counts them too, and nothing is held any more.
sleep 2
expect backlog_status_unwritten "\"events_unwritten\":$dropped" sh -c \
	'agentguard status --json | grep -o "\"events_unwritten\":[0-9]*"'
expect backlog_status_held "\"events_held_bytes\":0" sh -c \
	'agentguard status --json | grep -o "\"events_held_bytes\":[0-9]*"'
stop_daemon
expect backlog_stop_says_dropped 1 grep -c "lines the event file could not take were dropped" \
	/tmp/agtest-daemon.log
umount /tmp/evfs

# Hostile names through the file hook: escaped, one line per event.
rm -f "$AG_EVENTS"
start --events "$AG_EVENTS"
mkdir -p /tmp/secret
name=$(printf '/tmp/secret/a\nb"c\\d\001e\377f')
printf x >"$name"
expect hostile_path_denied EPERM inside agt open "$name" r
# U+FFFD as its UTF-8 bytes, as the writer emits it.
want=$(printf '"path":"/tmp/secret/a\\u000ab\\"c\\\\d\\u0001e\357\277\275f"')
if wait_for "$AG_EVENTS" "$want"; then
	pass hostile_path_escaped
else
	fail hostile_path_escaped "$(grep -F secret "$AG_EVENTS" | head -n 2)"
fi
if grep -F '/tmp/secret/a' "$AG_EVENTS" | grep -qF '"path_b64":"L3RtcC9zZWNyZXQvYQpiImNcZAFl/2Y="'; then
	pass hostile_path_b64_exact
else
	fail hostile_path_b64_exact "$(grep -F secret "$AG_EVENTS" | head -n 1)"
fi
lines=$(wc -l <"$AG_EVENTS")
if [ "$(grep -c '^{"schema_version":1,' "$AG_EVENTS")" -eq "$lines" ]; then
	pass one_line_per_event
else
	fail one_line_per_event "$(cat "$AG_EVENTS")"
fi
stop_daemon

# --format ocsf on stdout.
start --format ocsf
expect ocsf_denied EPERM inside agt connect 127.0.0.1 7104
if wait_for /tmp/sinks.stdout '"port":7104' &&
	grep -F '"port":7104' /tmp/sinks.stdout | grep -qF '"class_uid":4001,' &&
	grep -F '"port":7104' /tmp/sinks.stdout | grep -qF '"type_uid":400101,'; then
	pass ocsf_network_open
else
	fail ocsf_network_open "$(tail -n 1 /tmp/sinks.stdout)"
fi
stop_daemon

# Usage errors and a journal that is not there: refused before anything is loaded.
agentguard load --cgroup "$AG_CG" --format xml /tmp/sinks.yaml >/dev/null 2>/tmp/fmt.err
rc=$?
if [ $rc -eq 64 ] && grep -q 'json or ocsf' /tmp/fmt.err; then pass bad_format_usage; else
	fail bad_format_usage "exit $rc: $(cat /tmp/fmt.err)"; fi
if [ -S /run/systemd/journal/socket ]; then
	fail journal_refused "the guest has a journald socket; this check needs none"
else
	agentguard load --cgroup "$AG_CG" --journal /tmp/sinks.yaml >/dev/null 2>/tmp/j.err
	rc=$?
	if [ $rc -eq 78 ] && grep -q 'systemd-journald' /tmp/j.err; then pass journal_refused; else
		fail journal_refused "exit $rc: $(cat /tmp/j.err)"; fi
fi

# With --journal, journald's socket is found by path at every send: the sandbox may not
# replace it or rename a directory above it to receive the records (threat model A9). A
# stand-in socket will do: what is checked is the path, not journald.
mkdir -p /run/systemd/journal
agt unix-serve /run/systemd/journal/socket 1 >/dev/null 2>&1 &
srv=$!
i=0
while [ ! -S /run/systemd/journal/socket ] && [ $i -lt 50 ]; do usleep 100000; i=$((i + 1)); done
start --journal --events "$AG_EVENTS"
expect journal_socket_unlink_denied EPERM inside agt unlink /run/systemd/journal/socket
expect journal_dir_rename_denied EPERM inside agt rename /run/systemd/journal /run/systemd/j2
expect journal_parent_rename_denied EPERM inside agt rename /run/systemd /run/sd2
expect journal_dir_create_denied EPERM inside agt write /run/systemd/journal/x planted
expect_event journal_protect_event '"operation":"protected-unlink"' '"id":"builtin:protected-files"'
end_suite
expect journal_socket_unlink_outside_ok ok agt unlink /run/systemd/journal/socket
kill "$srv" 2>/dev/null
rm -rf /run/systemd
