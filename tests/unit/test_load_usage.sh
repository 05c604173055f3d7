#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# agentguard load's --events-backlog (docs/events.md, "A full file system"): refused below
# 64 KiB, above 2^40, with a suffix, and without --events FILE, each with exit 64 before
# anything is read or loaded; a valid one parses (the missing policy file then gives 66).
# No kernel, no privileges. Prints "PASS name" or "FAIL name: why" per check.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
ag=${AGENTGUARD:-$top/build/agentguard}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ ! -x "$ag" ]; then
	echo "FAIL setup: $ag not built"
	exit 1
fi
rc=0
check() { # name want-exit want-stderr-substring args...
	local name=$1 want_rc=$2 want=$3 err got
	shift 3
	err=$("$ag" load "$@" 2>&1 >/dev/null)
	got=$?
	if [ "$got" -eq "$want_rc" ] && [[ "$err" == *"$want"* ]]; then
		echo "PASS $name"
	else
		echo "FAIL $name: exit $got, stderr: $err"
		rc=1
	fi
}
ev=$tmp/events.jsonl
check backlog-below-least 64 "65536 to 2^40" --events-backlog 65535 --events "$ev" "$tmp/p.yaml"
check backlog-above-most 64 "65536 to 2^40" --events-backlog 1099511627777 --events "$ev" \
	"$tmp/p.yaml"
check backlog-suffix 64 "65536 to 2^40" --events-backlog 64k --events "$ev" "$tmp/p.yaml"
check backlog-without-events 64 "is for --events FILE" --events-backlog 65536 "$tmp/p.yaml"
check backlog-with-stdout 64 "is for --events FILE" --events-backlog 65536 --events - \
	"$tmp/p.yaml"
# Controls: the least and the most parse; the policy file is what is missing.
check backlog-least-ok 66 "cannot read" --events-backlog 65536 --events "$ev" "$tmp/p.yaml"
check backlog-most-ok 66 "cannot read" --events-backlog 1099511627776 --events "$ev" \
	"$tmp/p.yaml"
[ ! -e "$ev" ] && echo "PASS nothing-opened" || { echo "FAIL nothing-opened: $ev made"; rc=1; }
exit $rc
