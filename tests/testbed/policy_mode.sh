#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The test bed's --policy mode (vm/agentguard-vm), from the host: CMD runs inside the sandbox
# cgroup only once enforcement is active, its denial reaches the host's --events file, and an
# invalid policy means CMD never starts and the runner exits with the guest-failure status.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
k=${AG_KERNEL:-6.12}
tmp=$(mktemp -d "$top/build/tmp-testbed.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
pass() { echo "PASS testbed-$k/policy_mode/$1"; }
fail() { echo "FAIL testbed-$k/policy_mode/$1: $2"; }

cat >"$tmp/p.yaml" <<'Y'
apiVersion: agentguard/v1
kind: Policy
metadata:
  name: testbed
spec:
  filesystem:
    default: allow
    rules:
      - path: /etc/secret
        access: none
Y
out=$("$top/vm/agentguard-vm" --kernel "$k" --policy "$tmp/p.yaml" --events "$tmp/ev.jsonl" \
	-- /bin/sh -c 'cat /proc/self/cgroup; agt read /etc/passwd; exit 7' 2>"$tmp/err")
rc=$?
[ "$rc" -eq 7 ] && pass exit_status || fail exit_status "want 7, got $rc ($(tail -n 3 "$tmp/err"))"
case "$out" in
*"0::/agentguard-sandbox"*) pass cmd_in_sandbox ;;
*) fail cmd_in_sandbox "cgroup: $out" ;;
esac
if printf '%s\n' "$out" | grep -qx ok; then pass allowed_control; else fail allowed_control "$out"; fi

cat >"$tmp/q.yaml" <<'Y'
apiVersion: agentguard/v1
kind: Policy
metadata:
  name: testbed
spec:
  filesystem:
    default: allow
    rules:
      - path: /etc/passwd
        access: none
Y
out=$("$top/vm/agentguard-vm" --kernel "$k" --policy "$tmp/q.yaml" --events "$tmp/ev2.jsonl" \
	-- agt read /etc/passwd 2>"$tmp/err")
rc=$?
[ "$rc" -eq 1 ] && [ "$out" = EPERM ] && pass denied_in_sandbox ||
	fail denied_in_sandbox "rc $rc, out '$out'"
if grep -q '"path":"/etc/passwd"' "$tmp/ev2.jsonl" 2>/dev/null &&
	grep -q '"rule":{"id":"testbed:filesystem\[0\]","layer":"local"}' "$tmp/ev2.jsonl"; then
	pass event_reaches_host
else
	fail event_reaches_host "events: $(cat "$tmp/ev2.jsonl" 2>/dev/null)"
fi

printf 'apiVersion: agentguard/v1\nkind: Policy\nmetadata:\n  name: BAD\n' >"$tmp/bad.yaml"
out=$("$top/vm/agentguard-vm" --kernel "$k" --policy "$tmp/bad.yaml" -- echo CMD-RAN 2>"$tmp/err")
rc=$?
[ "$rc" -eq 125 ] && pass invalid_policy_status || fail invalid_policy_status "want 125, got $rc"
case "$out" in
*CMD-RAN*) fail invalid_policy_cmd_not_run "CMD ran unconfined" ;;
*) pass invalid_policy_cmd_not_run ;;
esac
