# SPDX-License-Identifier: GPL-2.0
# Atomic policy replacement (issue #10): agentguard reload (daemon running or not), reset (the
# files the daemon was started with) and SIGHUP (the daemon re-reads its own files) install the
# whole policy as the next generation; an
# invalid policy changes nothing; events are named from their own generation's policy; and a
# process probing a path both policies deny and one both allow (and a port each) never sees a
# wrong verdict during 1,000 swaps.
. /tests/guest/lib.sh

mkdir -p "$AG_CG" /tmp/rl
for f in a-only b-only both-denied ok; do echo x >/tmp/rl/$f; done
policy() { # NAME DENIED-PATH
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
      - path: /tmp/rl/both-denied
        access: none
  network:
    default: deny
    rules:
      - action: allow
        ip: 127.0.0.1
        ports: [9]
Y
}
policy a /tmp/rl/a-only >/tmp/rl-a.yaml
policy b /tmp/rl/b-only >/tmp/rl-b.yaml
printf 'apiVersion: agentguard/v1\nkind: Policy\nspec:\n  filesystem:\n    default: maybe\n' >/tmp/rl-bad.yaml
cp /tmp/rl-a.yaml /tmp/rl-own.yaml
reloads() { grep -c 'reload: generation' /tmp/agtest-daemon.log; }

start_agentguard /tmp/rl-own.yaml
expect a_denied EPERM inside agt read /tmp/rl/a-only
expect a_b_allowed ok inside agt read /tmp/rl/b-only

expect cli_reload 0 sh -c 'agentguard reload /tmp/rl-b.yaml 2>/dev/null; echo $?'
expect cli_b_denied EPERM inside agt read /tmp/rl/b-only
expect cli_a_allowed ok inside agt read /tmp/rl/a-only
expect_event cli_reload_event '"kind":"lifecycle","operation":"reload","target":{"detail":"generation 2 in force'
expect_event cli_named_from_new '"path":"/tmp/rl/b-only"' '"rule":{"id":"b:filesystem[0]","layer":"local"}' '"generation":2'

expect cli_invalid_exit 65 sh -c 'agentguard reload /tmp/rl-bad.yaml 2>/dev/null; echo $?'
expect cli_invalid_error 1 sh -c 'agentguard reload /tmp/rl-bad.yaml 2>&1 | grep -c "rl-bad.yaml:5:"'
expect cli_invalid_kept EPERM inside agt read /tmp/rl/b-only
expect cli_invalid_kept_allow ok inside agt read /tmp/rl/a-only

# reset: back to the files the daemon was started with (policy a).
expect reset_exit 0 sh -c 'agentguard reset 2>/dev/null; echo $?'
expect reset_a_denied EPERM inside agt read /tmp/rl/a-only
expect reset_b_allowed ok inside agt read /tmp/rl/b-only
expect_event reset_named '"path":"/tmp/rl/a-only"' '"id":"a:filesystem[0]"' '"generation":3'

# SIGHUP: the daemon's own file again (policy a).
n=$(reloads)
kill -HUP "$AG_PID"
i=0; while [ "$(reloads)" -le "$n" ] && [ $i -lt 100 ]; do usleep 50000; i=$((i + 1)); done
expect hup_a_denied EPERM inside agt read /tmp/rl/a-only
expect hup_b_allowed ok inside agt read /tmp/rl/b-only
expect_event hup_named '"path":"/tmp/rl/a-only"' '"id":"a:filesystem[0]"' '"generation":4'
# An editor replaces the file (a new inode): the new inode is protected once read.
cp /tmp/rl-b.yaml /tmp/rl-own.new && mv /tmp/rl-own.new /tmp/rl-own.yaml
n=$(reloads)
kill -HUP "$AG_PID"
i=0; while [ "$(reloads)" -le "$n" ] && [ $i -lt 100 ]; do usleep 50000; i=$((i + 1)); done
expect hup_new_inode_in_force EPERM inside agt read /tmp/rl/b-only
expect hup_new_inode_protected EPERM inside agt write /tmp/rl-own.yaml x
# SIGHUP with the file broken: the policy in force stays.
cp /tmp/rl-bad.yaml /tmp/rl-own.yaml
kill -HUP "$AG_PID"
usleep 500000
expect hup_invalid_kept EPERM inside agt read /tmp/rl/b-only
expect hup_invalid_logged 1 sh -c "grep -c 'reload: the policy files do not compile' /tmp/agtest-daemon.log"

# 1,000 swaps between a and b while a sandboxed process probes what both decide alike.
cp /tmp/rl-a.yaml /tmp/rl-own.yaml
rm -f /tmp/rl-stop
inside sh -c 'n=0; while [ ! -e /tmp/rl-stop ]; do
	[ "$(agt read /tmp/rl/both-denied)" = EPERM ] || echo "WRONG denied-read"
	[ "$(agt read /tmp/rl/ok)" = ok ] || echo "WRONG allowed-read"
	[ "$(agt connect 127.0.0.1 9 udp)" = ok ] || echo "WRONG allowed-connect"
	[ "$(agt connect 127.0.0.1 10 udp)" = EPERM ] || echo "WRONG denied-connect"
	n=$((n + 1)); done; echo "probes $n"' >/tmp/rl-probe.out 2>&1 &
probe=$!
g0=$(agentguard status --json | grep -o '"generation":[0-9]*' | cut -d: -f2)
s=0 stuck=0
while [ $s -lt 1000 ]; do
	if [ $((s % 2)) -eq 0 ]; then cat /tmp/rl-b.yaml >/tmp/rl-own.yaml; else cat /tmp/rl-a.yaml >/tmp/rl-own.yaml; fi
	n=$(reloads)
	kill -HUP "$AG_PID"
	i=0; while [ "$(reloads)" -le "$n" ] && [ $i -lt 200 ]; do usleep 2000; i=$((i + 1)); done
	[ $i -ge 200 ] && stuck=$((stuck + 1))
	s=$((s + 1))
done
touch /tmp/rl-stop
wait $probe
expect swaps_all_done 0 echo $stuck
expect swaps_no_wrong_verdict 0 sh -c 'grep -c WRONG /tmp/rl-probe.out'
expect swaps_probed ok sh -c 'n=$(sed -n "s/^probes //p" /tmp/rl-probe.out); [ "${n:-0}" -ge 20 ] && echo ok || echo "only ${n:-0} probes"'
sleep 1
g1=$(agentguard status --json | grep -o '"generation":[0-9]*' | cut -d: -f2)
expect swaps_generations ok sh -c "[ $((g1 - g0)) -ge 1000 ] && echo ok || echo 'from $g0 to $g1'"

# The CLI reload sets the new policy's limits too, as SIGHUP does.
limits() { # PIDS: policy b with spec.resources.pids_max PIDS
	cat /tmp/rl-b.yaml
	printf '  resources:\n    pids_max: %s\n' "$1"
}
limits 321 >/tmp/rl-lim1.yaml
limits 654 >/tmp/rl-lim2.yaml
expect cli_limits_reload 0 sh -c 'agentguard reload /tmp/rl-lim1.yaml 2>/dev/null; echo $?'
expect cli_limits_set 321 cat "$AG_CG/pids.max"

# With no daemon: reload still replaces the policy, and its limits.
kill -9 "$AG_PID"
wait "$AG_PID" 2>/dev/null
expect nodaemon_limits_reload 0 sh -c 'agentguard reload /tmp/rl-lim2.yaml 2>/dev/null; echo $?'
expect nodaemon_limits_set 654 cat "$AG_CG/pids.max"
expect nodaemon_reload 0 sh -c 'agentguard reload /tmp/rl-b.yaml 2>/dev/null; echo $?'
expect nodaemon_b_denied EPERM inside agt read /tmp/rl/b-only
expect nodaemon_a_allowed ok inside agt read /tmp/rl/a-only
expect nodaemon_default_limits 4096 cat "$AG_CG/pids.max"
agentguard unload 2>/dev/null
expect unloaded_reload_refused 78 sh -c 'agentguard reload /tmp/rl-b.yaml 2>/dev/null; echo $?'
