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
# DNS rebinding: an internal address the policy does not open is withheld from the name's
# answers, never learned; explain says so. One the CIDR rules open keeps its record.
check withheld-internal 0 "deny  rule d:network.default  layer local  policy d ($tmp/d.yaml, default)  192.168.1.5 port 443/tcp (as if api.github.com had resolved to it; the resolver withholds this address from the answer: internal, and the policy opens no connection to it)" \
	--resolve api.github.com --connect 192.168.1.5:443
check withheld-internal-v6 0 "deny  rule d:network.default  layer local  policy d ($tmp/d.yaml, default)  127.0.0.1 port 443/tcp (as if api.github.com had resolved to it; the resolver withholds" \
	--resolve api.github.com --connect '[::ffff:127.0.0.1]:443'
check internal-opened-kept 0 "allow  rule tens  layer local  policy d ($tmp/d.yaml:16)  10.1.1.1 port 443/tcp (as if api.github.com had resolved to it)" \
	--resolve api.github.com --connect 10.1.1.1:443
check resolve-says-withheld 0 "allow  rule gh  layer local  policy d ($tmp/d.yaml:9)  resolve api.github.com: forwarded; its A/AAAA answers are learned, but not internal addresses the policy opens no connection to: they are withheld (policy only" \
	--resolve api.github.com
check json 0 '{"decision":"allow","target":"resolve api.github.com: forwarded' --json \
	--resolve api.github.com
exit $rc
