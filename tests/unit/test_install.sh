#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make install and the systemd unit (issue #10): everything lands under PREFIX/DESTDIR, the
# unit passes systemd-analyze verify without a single warning, carries the settings the design
# depends on (Type=notify, synchronous ExecReload, Delegate=yes, OOMScoreAdjust=-1000, the four
# capabilities, bpffs and cgroupfs writable under the hardening), the man page renders, the
# installed default policy compiles, and an existing policy is never overwritten. Prints the
# systemd-analyze security exposure. One "PASS name" / "FAIL name: why" line per check.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; failed=1; }
check() { # NAME CMD...
	local n=$1
	shift
	if out=$("$@" 2>&1); then pass "$n"; else fail "$n" "$out"; fi
}

p=$tmp/usr
inst() { make -s --no-print-directory install PREFIX="$p" SYSTEMDUNITDIR="$tmp/units" \
	SYSCONFDIR="$tmp/etc" "$@"; }
check install_runs inst
unit=$tmp/units/agentguard.service
for f in "$p/bin/agentguard" "$p/bin/agentguard-load" "$unit" "$p/lib/systemd/catalog/agentguard.catalog" \
	"$p/share/man/man8/agentguard.8" "$tmp/etc/agentguard/policy.yaml" \
	"$tmp/etc/agentguard/examples/ci-agent.yaml" "$tmp/etc/default/agentguard" \
	"$p/share/doc/agentguard/threat-model.md"; do
	check "installed_${f#"$tmp"/}" test -e "$f"
done
check binary_runs "$p/bin/agentguard" version
check load_alias_is_load sh -c "'$p/bin/agentguard-load' >/dev/null 2>&1; [ \$? -eq 64 ]"
out=$(MANPATH="$p/share/man:" systemd-analyze verify "$unit" 2>&1)
[ -z "$out" ] && pass unit_verify_clean || fail unit_verify_clean "$out"
for want in "Type=notify" "ExecStart=$p/bin/agentguard load" "ExecReload=$p/bin/agentguard reload" \
	"Delegate=yes" "OOMScoreAdjust=-1000" "KillMode=process" \
	"CapabilityBoundingSet=CAP_BPF CAP_PERFMON CAP_NET_ADMIN CAP_SYS_ADMIN" \
	"ProtectKernelTunables=yes" "ProtectControlGroups=yes" \
	"ReadWritePaths=/sys/fs/bpf /sys/fs/cgroup" "NoNewPrivileges=yes"; do
	grep -qxF -e "$want" "$unit" || grep -q "^${want}" "$unit" && pass "unit_has_${want%%=*}" ||
		fail "unit_has_${want%%=*}" "no line '$want'"
done
# systemd-analyze verify only warns: it must reject a broken copy, or the check has no teeth.
sed 's/^ProtectHome=.*/ProtectHome=sometimes/' "$unit" >"$tmp/units/broken.service"
out=$(MANPATH="$p/share/man:" systemd-analyze verify "$tmp/units/broken.service" 2>&1)
[ -n "$out" ] && pass unit_verify_has_teeth || fail unit_verify_has_teeth "no warning for a bad value"
check man_renders sh -c "MANWIDTH=80 man -l '$p/share/man/man8/agentguard.8' | grep -q 'agentguard reload'"
check default_policy_compiles "$p/bin/agentguard" check "$tmp/etc/agentguard/policy.yaml"
echo "# operator policy" >>"$tmp/etc/agentguard/policy.yaml"
inst >/dev/null 2>&1
check policy_not_overwritten grep -q "operator policy" "$tmp/etc/agentguard/policy.yaml"
sec=$(systemd-analyze --offline=true security "$unit" 2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: //p')
echo "# systemd-analyze security: ${sec:-unknown}"
[ -n "$sec" ] && pass security_reported || fail security_reported "no exposure level"
exit $failed
