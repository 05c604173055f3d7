#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# agentguard explain --remove (threat model R11): renaming, removing or replacing a path is a
# write of it, and refused on an ancestor of a stricter rule's path, naming that rule. No
# kernel, no privileges. Prints "PASS name" or "FAIL name: why" per check.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
ag=${AGENTGUARD:-$top/build/agentguard}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ ! -x "$ag" ]; then
	echo "FAIL setup: $ag not built"
	exit 1
fi
cat >"$tmp/r.yaml" <<'POLICY'
apiVersion: agentguard/v1
kind: Policy
metadata:
  name: r
spec:
  filesystem:
    default: deny
    rules:
      - path: /agt-home
        access: rw
      - id: keys
        path: /agt-home/u/.ssh
        access: none
      - id: notes
        path: /agt-home/v/notes
        access: ro
        mode: audit
POLICY
rc=0
check() { # name want-exit want-output-prefix args...
	local name=$1 want_rc=$2 want=$3 out got
	shift 3
	out=$("$ag" explain "$tmp/r.yaml" "$@" 2>&1)
	got=$?
	if [ "$got" -eq "$want_rc" ] && [[ "$out" == "$want"* ]]; then
		echo "PASS $name"
	else
		echo "FAIL $name: exit $got, got: $out"
		rc=1
	fi
}
check ancestor-denied 0 "deny  rule keys " --remove /agt-home/u
check rule-path-ancestor-denied 0 "deny  rule keys " --remove /agt-home
check sibling-allowed 0 "allow  rule r:filesystem[0] " --remove /agt-home/w
check beside-rule-allowed 0 "allow  rule r:filesystem[0] " --remove /agt-home/u/src
check rule-path-itself-denied 0 "deny  rule keys " --remove /agt-home/u/.ssh
check audit-ancestor 0 "would-deny  rule notes " --remove /agt-home/v
check default-denied 0 "deny  rule r:filesystem.default " --remove /srv
# The same paths opened for writing: no guard applies to an open.
check open-ancestor-allowed 0 "allow  rule r:filesystem[0] " --open /agt-home/u --write
check relative-refused 64 "agentguard: error: explain: \"agt-home\"" --remove agt-home
exit $rc
