# SPDX-License-Identifier: GPL-2.0
# Guest-side test library (busybox sh). Sourced by tests/guest/*.sh, which vm/agentguard-vm
# runs as root outside any sandbox. Each check prints one line, "PASS <name>" or
# "FAIL <name>: <why>"; tests/run counts them. Names are prefixed with the guest kernel series.

AG_CG=/sys/fs/cgroup/agtest
AG_EVENTS=/tmp/agtest-events.jsonl
AG_READY=/run/agtest-ready
SERIES=$(uname -r | cut -d. -f1,2)
SUITE=${SUITE:-$(basename "$0" .sh)}

_name() { echo "guest-$SERIES/$SUITE/$1"; }
pass() { echo "PASS $(_name "$1")"; }
fail() { echo "FAIL $(_name "$1"): $2"; }

# start_agentguard POLICY...: load the policies for $AG_CG and wait until enforcement is on.
start_agentguard() {
	rm -f "$AG_READY" "$AG_EVENTS"
	: >"$AG_EVENTS"
	agentguard load --cgroup "$AG_CG" --events "$AG_EVENTS" --ready-file "$AG_READY" \
		--session test "$@" 2>/tmp/agtest-daemon.log &
	AG_PID=$!
	i=0
	while [ ! -f "$AG_READY" ]; do
		if ! kill -0 "$AG_PID" 2>/dev/null || [ $i -ge 900 ]; then
			fail start_agentguard "daemon not ready: $(cat /tmp/agtest-daemon.log)"
			exit 1
		fi
		i=$((i + 1))
		usleep 100000
	done
}

# stop_daemon: stop the daemon; its enforcement stays pinned (issue #10).
stop_daemon() {
	kill -TERM "$AG_PID" 2>/dev/null
	wait "$AG_PID" 2>/dev/null
}

# stop_agentguard: stop the daemon and end its enforcement.
stop_agentguard() {
	stop_daemon
	agentguard unload 2>>/tmp/agtest-daemon.log
}

# end_suite: the last step of a suite that needs nothing unloaded: stop the daemon and leave
# enforcement pinned, since the guest powers off next. Unloading detaches the LSM programs one
# hook at a time (about 8 s under TCG); lifecycle.sh, reload.sh and others test it.
end_suite() {
	stop_daemon
}

# inside CMD...: run CMD in the sandbox cgroup (or in $INSIDE_CG when set).
inside() {
	sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' inside "${INSIDE_CG:-$AG_CG}" "$@"
}

# expect NAME WANT CMD...: the last line CMD prints must be WANT ("ok", "EPERM", ...).
expect() {
	_n=$1 _want=$2
	shift 2
	_got=$("$@" 2>&1 | tail -n 1)
	if [ "$_got" = "$_want" ]; then
		pass "$_n"
	else
		fail "$_n" "want '$_want', got '$_got' from: $*"
	fi
}

# expect_event NAME FIXED-STRING...: an event line containing every string arrives within 5 s.
expect_event() {
	_n=$1
	shift
	_i=0
	while [ $_i -lt 50 ]; do
		_lines=$(cat "$AG_EVENTS")
		for _s in "$@"; do
			_lines=$(printf '%s\n' "$_lines" | grep -F -e "$_s")
		done
		if [ -n "$_lines" ]; then
			pass "$_n"
			return 0
		fi
		_i=$((_i + 1))
		usleep 100000
	done
	fail "$_n" "no event with: $* (events: $(tail -n 3 "$AG_EVENTS"))"
}

# expect_no_event NAME FIXED-STRING: after a short settle, no event contains the string.
expect_no_event() {
	usleep 500000
	if grep -qF -e "$2" "$AG_EVENTS"; then
		fail "$1" "unexpected event: $(grep -F -e "$2" "$AG_EVENTS" | head -n 1)"
	else
		pass "$1"
	fi
}

# mark_events: later expect_event_any calls look only at events written after this point.
mark_events() {
	AG_MARK=$(wc -l <"$AG_EVENTS")
}

# expect_event_any NAME FIXED-STRING...: an event line containing at least one of the strings
# arrives within 5 s (for actions that different kernels stop at different, documented gates).
# After mark_events, only events newer than the mark count.
expect_event_any() {
	_n=$1
	shift
	_i=0
	while [ $_i -lt 50 ]; do
		for _s in "$@"; do
			if tail -n +$((${AG_MARK:-0} + 1)) "$AG_EVENTS" | grep -qF -e "$_s"; then
				pass "$_n"
				return 0
			fi
		done
		_i=$((_i + 1))
		usleep 100000
	done
	fail "$_n" "no event with any of: $*"
}

# still NAME TEST...: the object was left as it was (TEST is test(1) or any command).
still() {
	_n=$1
	shift
	if "$@"; then pass "$_n"; else fail "$_n" "not as it was: $*"; fi
}

# file_event NAME OP PATH RULE [DECISION]: the event of a write of PATH by OP under RULE of
# policy $P (an index, "default" or "builtin:NAME"), decided DECISION ("deny", the default, or
# "would-deny"), arrives, exactly once.
file_event() {
	case $4 in
	builtin:*) _r="\"id\":\"$4\",\"layer\":\"builtin\"" ;;
	default) _r="\"id\":\"$P:filesystem.default\",\"layer\":\"local\"" ;;
	*) _r="\"id\":\"$P:filesystem[$4]\",\"layer\":\"local\"" ;;
	esac
	case ${5:-deny} in
	deny) _d='"decision":"deny","mode":"enforce"' ;;
	*) _d='"decision":"would-deny","mode":"audit"' ;;
	esac
	_s="\"kind\":\"file\",\"operation\":\"$2\",\"target\":{\"access\":[\"write\"],\"path\":\"$3\"},$_d,\"rule\":{$_r}"
	expect_event "$1" "$_s"
	_c=$(grep -cF -e "$_s" "$AG_EVENTS")
	if [ "$_c" = 1 ]; then pass "$1_once"; else fail "$1_once" "$_c events with: $_s"; fi
}
