#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# agentguard explain --resolve (issue #9): the resolver's verdict on a name, and a connection
# judged as if the name had resolved to its address. No kernel, no privileges.
# Prints "PASS name" or "FAIL name: why" per check.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
ag=${AGENTGUARD:-$top/build/agentguard}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ ! -x "$ag" ]; then
	echo "FAIL setup: $ag not built"
	exit 1
fi
cat >"$tmp/d.yaml" <<'POLICY'
apiVersion: agentguard/v1
kind: Policy
metadata:
  name: d
spec:
  network:
    default: deny
    rules:
      - id: gh
        action: allow
        domain: api.github.com
        ports: [443]
      - id: evil
        action: deny
        domain: "*.evil.test"
      - id: tens
        action: allow
        cidr: 10.0.0.0/8
POLICY
rc=0
check() { # name want-exit want-output-prefix args...
	local name=$1 want_rc=$2 want=$3 out got
	shift 3
	out=$("$ag" explain "$tmp/d.yaml" "$@" 2>&1)
	got=$?
	if [ "$got" -eq "$want_rc" ] && [[ "$out" == "$want"* ]]; then
		echo "PASS $name"
	else
		echo "FAIL $name: exit $got, got: $out"
		rc=1
	fi
}
check resolve-allowed 0 "allow  rule gh " --resolve API.GitHub.com.
check resolve-unlisted-refused 0 "deny  rule d:network.default " --resolve x.example.com
check resolve-deny-rule 0 "deny  rule evil " --resolve a.evil.test
check learned-port-allowed 0 "allow  rule gh " --resolve api.github.com --connect 192.0.2.1:443
check learned-other-port 0 "deny  rule d:network.default " --resolve api.github.com \
	--connect 192.0.2.1:80
check unlearned-address 0 "deny  rule d:network.default " --connect 192.0.2.1:443
check deny-domain-beats-cidr 0 "deny  rule evil " --resolve a.evil.test --connect 10.1.1.1:443
check cidr-without-domain 0 "allow  rule tens " --connect 10.1.1.1:443
check dns-elsewhere 0 "deny  rule builtin:dns-elsewhere " --connect 8.8.8.8:53/udp
check bad-name 64 "agentguard: error: explain: \"bad..name\" is not a host name" \
	--resolve bad..name
check json 0 '{"decision":"allow","target":"resolve api.github.com: forwarded' --json \
	--resolve api.github.com
exit $rc
