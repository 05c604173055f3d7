# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# What tests/sandbox/test_*.sh share (sourced, never run; tests/run skips it): the checks before
# anything starts and the re-exec into network and mount namespaces of the test's own with a
# tmpfs on /run (sbx_enter), PASS/FAIL lines (pass, fail, expect, expect_grep), and one
# left_behind that knows every trace a sandbox leaves on the host.
#
#   SUITE=sandbox; source "$(dirname "$0")/lib.sh"; sbx_enter agsbx-run [TOOL...]

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	echo "tests/sandbox/lib.sh is sourced by the sandbox tests, not run" >&2
	exit 2
fi

# The tests assume QEMU runs as nobody: under sudo the runner would take SUDO_UID.
unset SUDO_UID SUDO_GID

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
ag=${AGENTGUARD:-$top/build/agentguard}
state=/run/agentguard/sandboxes
failed=0

# sbx_enter TMPFS-NAME [TOOL...]: what every test needs (root, the binary, QEMU, unshare, nft,
# the 6.12 guest kernel) and the TOOLs, then the test again in namespaces of its own, with a
# tmpfs on /run. Prints "FAIL setup: ..." and exits 1 when something is missing.
sbx_enter() {
	local run=$1 need tool
	shift
	if [ "${AG_SBX_INNER:-}" != 1 ]; then
		for tool in qemu-system-x86_64 unshare nft "$@"; do
			need=$(command -v "$tool")
			if [ ! -x "$need" ]; then
				echo "FAIL setup: $tool not found (scripts/deps.sh)"
				exit 1
			fi
		done
		if [ ! -x "$ag" ]; then
			echo "FAIL setup: $ag not found (make)"
			exit 1
		fi
		if [ "$(id -u)" -ne 0 ]; then
			echo "FAIL setup: needs root (cgroups, taps, /run/agentguard)"
			exit 1
		fi
		for k in 6.12 6.1; do
			if [ ! -f "$top/build/kernels/$k/vmlinuz" ] &&
				! "$top/vm/fetch-kernel" "$k" >/dev/null 2>&1; then
				echo "FAIL setup: cannot fetch the $k guest kernel (vm/fetch-kernel $k)"
				exit 1
			fi
		done
		AG_SBX_INNER=1 exec unshare -n -m --propagation private bash "$(realpath -- "$0")"
	fi
	if ! mount -t tmpfs -o mode=0755 "$run" /run; then
		echo "FAIL setup: cannot mount a tmpfs on /run in a private mount namespace"
		exit 1
	fi
	cgmnt=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
}

pass() { echo "PASS $SUITE/$1"; }
fail() { echo "FAIL $SUITE/$1: $2"; failed=1; }
expect() { # NAME WANT GOT
	if [ "$3" = "$2" ]; then pass "$1"; else fail "$1" "want '$2', got '$3'"; fi
}
expect_grep() { # NAME FIXED-STRING FILE
	if grep -qF -e "$2" "$3"; then
		pass "$1"
	else
		fail "$1" "no '$2' in $3: $(tail -n 3 "$3" | tr '\n' ' ' | cut -c1-400)"
	fi
}

# wait_for SECONDS CMD...: until CMD succeeds; 1 on timeout.
wait_for() {
	local until=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -lt $until ] || return 1
		sleep 0.2
	done
}

# tap_name NAME: the tap sandbox NAME gets (userspace/sandbox_net.c names_for): "agt-" + the
# name up to 11 characters, else its first 6, "-" and 4 hex digits of its FNV-1a hash.
tap_name() {
	local n=$1 h=2166136261 i c
	if [ ${#n} -le 11 ]; then
		echo "agt-$n"
		return
	fi
	for ((i = 0; i < ${#n}; i++)); do
		printf -v c '%d' "'${n:i:1}"
		h=$(((h ^ c) * 16777619 & 0xffffffff))
	done
	printf 'agt-%s-%04x\n' "${n:0:6}" $((h & 0xffff))
}

# taps_of NAME: the links of sandbox NAME, by the tap's name or by its alias agentguard:NAME
# (two long names can share a tap name; the alias tells them apart).
taps_of() {
	local tap
	tap=$(tap_name "$1")
	ip -o -d link show 2>/dev/null | awk -v tap="$tap" -v alias="agentguard:$1" '
		{ n = $2; sub(/:$/, "", n); sub(/@.*/, "", n) }
		n == tap { print n; next }
		{ for (i = 1; i < NF; i++) if ($i == "alias" && $(i + 1) == alias) { print n; next } }'
}

# tables_of NAME: sandbox NAME's nft tables, agentguard-NAME and agentguard-NAME.guard.
tables_of() {
	nft list tables 2>/dev/null |
		awk -v t="agentguard-$1" '$3 == t || $3 == t ".guard" { print $2 " " $3 }'
}

# left_behind NAME [QEMU_PID]: what of sandbox NAME still exists, "" when nothing: its state,
# its cgroup, its tap, its nft tables, its QEMU and any process of its.
left_behind() {
	local out= q=${2:-}
	[ -e "$state/$1" ] && out="$out state"
	[ -e "$cgmnt/agentguard-sandboxes/$1" ] && out="$out cgroup"
	[ -n "$(taps_of "$1")" ] && out="$out tap($(taps_of "$1" | tr '\n' ' '))"
	[ -n "$(tables_of "$1")" ] && out="$out table($(tables_of "$1" | tr '\n' ','))"
	[ -z "$q" ] && q=$(cat "$state/$1/qemu.pid" 2>/dev/null)
	# A zombie (its runner gone, not yet reaped by init) holds nothing but its pid.
	if [ -n "$q" ] && [ -e "/proc/$q" ] && grep -q qemu "/proc/$q/comm" 2>/dev/null &&
		! awk '{ exit !($3 == "Z" || $3 == "X") }' "/proc/$q/stat" 2>/dev/null; then
		out="$out qemu($q)"
	fi
	pgrep -f "agentguard-sandboxes/$1\b|sandboxes/$1/" >/dev/null && out="$out process"
	echo "${out# }"
}

# expect_nothing_left CHECK NAME STARTED [QEMU_PID]: nothing of sandbox NAME is left, which
# counts only for a sandbox that started (STARTED 1): else there was nothing to clean up.
expect_nothing_left() {
	if [ "$3" != 1 ]; then
		fail "$1" "sandbox $2 never started: nothing to check"
		return
	fi
	# A killed QEMU frees its guest's memory before it is gone: up to 10 s on a loaded host,
	# and more than 10 s once (make test beside a build, on a VM whose memory the host backs
	# lazily), so 30 s: a QEMU that outlives it is still a failure.
	wait_for 30 test -z "$(left_behind "$2" "${4:-}")"
	expect "$1" "" "$(left_behind "$2" "${4:-}")"
}
