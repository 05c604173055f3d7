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
# The textfile is protected from the sandbox (threat model A6): every write is a new file,
# protected before it has a name and renamed over FILE, and only the file in place stays
# protected. The sandbox can neither change it nor have the daemon write through a link it
# planted, and the daemon's writes still land.
M=/tmp/agentguard.prom
ino() { stat -c %i "$1"; }
# whole FILE: a complete textfile of agentguard's metrics, its first and its last.
whole() {
	grep -q '^# HELP agentguard_decisions_total ' "$1" &&
		grep -q '^agentguard_dns_withheld_total [0-9][0-9]*$' "$1"
}
# replaced FILE INODE: FILE is another file than INODE within 5 s.
replaced() {
	_i=0
	while [ "$(ino "$1" 2>/dev/null)" = "$2" ] || ! whole "$1"; do
		[ $_i -ge 50 ] && return 1
		_i=$((_i + 1))
		usleep 100000
	done
}
# denies: the denials the textfile counts, every kind.
denies() { sed -n 's/^agentguard_decisions_total{kind="[a-z]*",decision="deny"} //p' $M |
	awk '{ n += $1 } END { print n + 0 }'; }
denies0=$(denies)
ino0=$(ino $M)
expect metrics_read_allowed ok inside agt read $M
expect metrics_open_write_denied EPERM inside agt open $M w
expect metrics_write_denied EPERM inside agt write $M forged
expect metrics_truncate_denied EPERM inside agt truncate $M 0
expect metrics_unlink_denied EPERM inside agt unlink $M
expect metrics_forged_made ok inside agt write /tmp/m-forged forged
expect metrics_rename_over_denied EPERM inside agt rename /tmp/m-forged $M
expect metrics_rename_away_denied EPERM inside agt rename $M /tmp/m-moved
expect metrics_link_out_denied EPERM inside agt link $M /tmp/m-linked
# Nothing else in this suite touches a protected file: these events are the textfile's.
expect_event metrics_write_event '"operation":"protected-write"' '"id":"builtin:protected-files"'
expect_event metrics_unlink_event '"operation":"protected-unlink"' '"id":"builtin:protected-files"'
expect metrics_open_write_outside_ok ok agt open $M w
# The daemon's next write lands: a new file, whole, counting the 7 denials above.
i=0
while [ $i -lt 50 ] && ! { [ "$(ino $M)" != "$ino0" ] && whole $M &&
	[ "$(denies)" -ge $((denies0 + 7)) ]; }; do
	i=$((i + 1))
	usleep 100000
done
if [ $i -lt 50 ]; then
	pass metrics_still_written
else
	fail metrics_still_written "inode $ino0 -> $(ino $M), denials $denies0 -> $(denies)"
fi
# A reader sees the old file or the new one, never part of one.
i=0 torn=0
while [ $i -lt 30 ]; do
	cp $M /tmp/m-read && whole /tmp/m-read || torn=$((torn + 1))
	i=$((i + 1))
	usleep 100000
done
[ $torn = 0 ] && pass metrics_reads_whole || fail metrics_reads_whole "$torn of 30 reads not whole"
# A replaced file is released: the table does not grow. A second name (made outside) keeps it.
# The daemon may replace FILE between the link and the check (it then rightly releases the
# held file), so a check counts only if FILE is still the held file after it; else link again.
i=0
while :; do
	rm -f /tmp/m-held
	ln $M /tmp/m-held
	held=$(inside agt open /tmp/m-held w 2>&1 | tail -n 1)
	[ "$(ino $M)" = "$(ino /tmp/m-held)" ] && break
	i=$((i + 1))
	[ $i -lt 10 ] || break
done
expect metrics_held_protected EPERM echo "$held"
replaced $M "$(ino /tmp/m-held)"
usleep 200000
expect metrics_replaced_released ok inside agt open /tmp/m-held w

# Restart: the last file of a daemon that stopped stays protected until the next daemon has
# put its own in place, then that one releases it (its key is in the state directory).
# Meanwhile the host removed FILE, and the sandbox planted a hard link at FILE and a symlink
# at FILE.tmp, both to files outside: replaced or ignored, never written through.
stop_daemon
ln $M /tmp/m-last
expect metrics_kept_while_down EPERM inside agt open /tmp/m-last w
rm -f $M
echo victim >/tmp/m-victim
echo victim >/tmp/m-victim-tmp
expect metrics_planted_link_made ok inside agt link /tmp/m-victim $M
expect metrics_planted_symlink_made ok inside agt symlink /tmp/m-victim-tmp $M.tmp
start_agentguard /tmp/m.yaml --metrics $M
if replaced $M "$(ino /tmp/m-victim)" && [ "$(cat /tmp/m-victim)" = victim ]; then
	pass metrics_planted_link_replaced
else
	fail metrics_planted_link_replaced "$(ls -li $M /tmp/m-victim 2>&1); $(head -c 100 /tmp/m-victim)"
fi
still metrics_planted_symlink_not_followed test "$(cat /tmp/m-victim-tmp)" = victim
usleep 200000
expect metrics_previous_released ok inside agt open /tmp/m-last w
expect metrics_restarted_protected EPERM inside agt open $M w
rm -f /tmp/m-held /tmp/m-last /tmp/m-victim /tmp/m-victim-tmp $M.tmp /tmp/m-forged /tmp/m-read
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
