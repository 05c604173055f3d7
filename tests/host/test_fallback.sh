#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The Landlock fallback (issue #10), natively on this host, whose kernel refuses BPF-LSM
# programs: agentguard run and load refuse without --fallback landlock (exit 69, a message
# naming it); with it, run enforces the filesystem section with Landlock (exact errno EACCES,
# EXDEV for a link that would gain access, with allowed controls), the network section with the
# cgroup programs (EPERM, an event with "backend":"landlock", an allowed control), and runs the
# command with no capabilities, no_new_privs, unable to reach agentguard's links or signal
# outside; a policy with a carve-out under an allowed parent is refused with the rule named by
# FILE:LINE:COL, and with --allow-unenforced the carve-out is readable, as the report says;
# load --fallback landlock enforces the network on a cgroup and survives reload and status.
# Nothing is left behind: no cgroup, no pin, no state directory.
#
# Runs in network and mount namespaces of its own (loopback only; a bpffs of its own) and
# attaches programs only to cgroups it creates. Needs root, build/agentguard and the static helpers in build/guest-bin (make).
# Prints one "PASS name" or "FAIL name: why" line per check; exits 1 if any check failed.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd -P)
ag=${AGENTGUARD:-$top/build/agentguard}
bin=$top/build/guest-bin
agt=$bin/agt
sysprobe=$bin/sysprobe

if [ "${AG_FB_INNER:-}" != 1 ]; then
	for need in "$ag" "$agt" "$sysprobe" "$(command -v unshare)" "$(command -v ip)"; do
		if [ ! -x "$need" ]; then
			echo "FAIL setup: ${need:-unshare/ip} not found or not executable (make)"
			exit 1
		fi
	done
	if [ "$(id -u)" -ne 0 ]; then
		echo "FAIL setup: needs root (cgroups, BPF, Landlock)"
		exit 1
	fi
	AG_FB_INNER=1 exec unshare -n -m --propagation private bash "$top/tests/host/$(basename "$0")"
fi

# Inside private network and mount namespaces from here on: pins go to a bpffs of our own
# (this host mounts none), and vanish with it.
failed=0
pass() { echo "PASS fallback/$1"; }
fail() { echo "FAIL fallback/$1: $2"; failed=1; }
# expect NAME WANT GOT
expect() {
	if [ "$3" = "$2" ]; then pass "$1"; else fail "$1" "want '$2', got '$3'"; fi
}
# expect_grep NAME FIXED-STRING FILE
expect_grep() {
	if grep -qF -e "$2" "$3"; then pass "$1"; else fail "$1" "no '$2' in $3: $(tail -n 3 "$3" | tr '\n' ' ')"; fi
}

ip link set lo up
if ! grep -q ' /sys/fs/bpf .* - bpf ' /proc/self/mountinfo && ! mount -t bpf bpf /sys/fs/bpf; then
	echo "FAIL setup: cannot mount bpffs on /sys/fs/bpf in a private mount namespace"
	exit 1
fi
probe=$("$ag" probe --json 2>/dev/null)
if printf '%s' "$probe" | grep -q '"can_enforce":true'; then
	echo "FAIL setup: this kernel has BPF-LSM, so the fallback is never chosen here"
	exit 1
fi
abi=$(printf '%s' "$probe" | sed -n 's/.*"landlock_abi":\([0-9]*\).*/\1/p')
cgmnt=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
T=$(mktemp -d /tmp/agfb.XXXXXX)
T=$(cd "$T" && pwd -P)
lpid=
cleanup() {
	[ -n "$lpid" ] && kill "$lpid" 2>/dev/null && wait "$lpid" 2>/dev/null
	"$ag" unload --pin-dir "/sys/fs/bpf/agfb-$$" >/dev/null 2>&1
	rmdir "$cgmnt/agfb-load-$$" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

mkdir -p "$T/ro" "$T/rw/keys" "$T/ev" "$T/state"
echo ro-content >"$T/ro/file"
echo secret >"$T/secret"
echo key >"$T/rw/keys/k"
p1=18081
p2=18082

policy() { # NAME EXTRA-FS-RULES NETWORK-PORTS
	cat <<EOF
apiVersion: agentguard/v1
kind: Policy
metadata:
  name: $1
spec:
  filesystem:
    default: deny
    rules:
      - path: $bin
        access: ro
        exec: true
      - path: /usr
        access: ro
        exec: true
      - path: /etc
        access: ro
      - path: /proc
        access: ro
      - path: $T/ro
        access: ro
      - path: $T/rw
        access: rw
$2
  network:
    default: deny
    rules:
      - action: allow
        ip: 127.0.0.1
        ports: [$3]
EOF
}
policy fb "" "$p1" >"$T/p.yaml"
policy fb "" "$p1, $p2" >"$T/p2.yaml"
policy carve "      - path: $T/rw/keys
        access: none" "$p1" >"$T/carve.yaml"

# --- refusal without --fallback -------------------------------------------------------------
out=$("$ag" run --policy "$T/p.yaml" -- "$agt" read "$T/ro/file" 2>"$T/refuse.log")
expect run_refused_exit 69 "$?"
expect run_refused_nothing_ran "" "$out"
expect_grep run_refused_says_why "run: BPF-LSM is not available (" "$T/refuse.log"
expect_grep run_refused_names_fallback "\"agentguard run --fallback landlock\" enforces" "$T/refuse.log"
expect_grep run_refused_names_doc "see docs/host-mode.md" "$T/refuse.log"
"$ag" load --cgroup "$cgmnt/agfb-load-$$" "$T/p.yaml" >/dev/null 2>"$T/refuse-load.log"
expect load_refused_exit 69 "$?"
expect_grep load_refused_names_fallback "\"--fallback landlock\" enforces the network section" "$T/refuse-load.log"
expect load_refused_no_cgroup absent "$([ -e "$cgmnt/agfb-load-$$" ] && echo present || echo absent)"

# --- one fallback run answers the probes below ----------------------------------------------
"$agt" serve 127.0.0.1 "$p1" 1 >"$T/serve.out" 2>&1 &
spid=$!
sleep 0.2
probes="$agt read $T/secret; $agt write $T/new x; $agt read $T/ro/file; $agt write $T/ro/file y;
$agt write $T/rw/new z; $agt link $T/ro/file $T/rw/lnk; $agt connect 127.0.0.1 $p2;
$agt connect 127.0.0.1 $p1; grep -E '^(CapEff|CapPrm|CapInh|CapBnd|CapAmb):' /proc/self/status | tr -d '\t' | tr '\n' ' '; echo;
$sysprobe nnp; $agt bpf; $agt bpf-obj-get /sys/fs/bpf/agentguard-run-\$PPID/links/ag_connect4;
$agt kill \$PPID 0; $agt connect 127.0.0.1 $p2; $agt chmod $T/ro/file 600"
"$ag" run --policy "$T/p.yaml" --fallback landlock --events "$T/ev/events.jsonl" \
	-- /bin/sh -c "$probes" >"$T/probes.out" 2>"$T/run.log" &
rpid=$!
wait "$rpid"
rc=$?
kill "$spid" 2>/dev/null	# its one connection never came if the run failed
wait "$spid" 2>/dev/null
line() { sed -n "${1}p" "$T/probes.out"; }
expect run_exit_status 0 "$rc"
expect fs_denied_read EACCES "$(line 1)"
expect fs_denied_create EACCES "$(line 2)"
expect fs_ro_read_allowed ok "$(line 3)"
expect fs_ro_write_denied EACCES "$(line 4)"
expect fs_ro_file_unchanged ro-content "$(cat "$T/ro/file")"
expect fs_rw_write_allowed ok "$(line 5)"
expect fs_link_gaining_access_exdev EXDEV "$(line 6)"
expect net_denied EPERM "$(line 7)"
expect net_allowed "ok hi" "$(line 8)"
expect no_capabilities "CapInh:0000000000000000 CapPrm:0000000000000000 CapEff:0000000000000000 CapBnd:0000000000000000 CapAmb:0000000000000000 " "$(line 9)"
expect no_new_privs 1 "$(line 10)"
expect bpf_refused EPERM "$(line 11)"
expect link_pin_unreachable EPERM "$(line 12)"
if [ "${abi:-0}" -ge 6 ]; then
	expect signal_outside_refused EPERM "$(line 13)"
else
	echo "SKIP fallback/signal_outside_refused: Landlock ABI $abi < 6 has no signal scope"
fi
expect net_still_denied_after_attempts EPERM "$(line 14)"
# Not judged by this backend (docs/host-mode.md): the owner may chmod a file it may only read.
expect gap_chmod_not_judged ok "$(line 15)"
chmod 644 "$T/ro/file"
expect_grep report_backend_line "Landlock ABI $abi restricts the filesystem" "$T/run.log"
expect_grep report_rule_enforced "$T/p.yaml: rule \"fb:filesystem.default\" (default deny): enforced" "$T/run.log"
expect_grep report_errno_line "Landlock denies with EACCES" "$T/run.log"
# Controls outside the sandbox, in the same namespace.
expect outside_read_control ok "$("$agt" read "$T/secret")"
expect outside_caps_control nonzero "$(grep -q '^CapEff:.*[1-9a-f]' /proc/self/status && echo nonzero)"

# Events: the network denial with the backend; every event says which backend.
ev=$T/ev/events.jsonl
expect event_net_deny_landlock yes "$(grep -F '"kind":"network"' "$ev" | grep -F "\"port\":$p2" |
	grep -F '"decision":"deny"' | grep -qF '"backend":"landlock"' && echo yes)"
expect events_all_landlock "$(wc -l <"$ev")" "$(grep -cF '"backend":"landlock"' "$ev")"
expect events_nonempty yes "$([ -s "$ev" ] && echo yes)"
# Landlock's denials reach no agentguard event (docs/host-mode.md).
expect no_file_events 0 "$(grep -cF '"kind":"file"' "$ev")"
expect no_run_cgroup_left absent "$([ -e "$cgmnt/agentguard-run-$rpid" ] && echo present || echo absent)"
expect no_run_pins_left absent "$([ -e "/sys/fs/bpf/agentguard-run-$rpid" ] && echo present || echo absent)"
expect no_run_state_left absent "$([ -e "/var/lib/agentguard/run-$rpid" ] && echo present || echo absent)"

# --- a carve-out Landlock cannot express: refused, named; with --allow-unenforced, lost ----
kl=$(grep -n "path: $T/rw/keys\$" "$T/carve.yaml" | cut -d: -f1)
"$ag" run --policy "$T/carve.yaml" --fallback landlock -- "$agt" write "$T/rw/ran" x \
	>/dev/null 2>"$T/carve.log" &
rpid=$!
wait "$rpid"
expect carve_refused_exit 69 "$?"
expect carve_refused_nothing_ran absent "$([ -e "$T/rw/ran" ] && echo present || echo absent)"
expect_grep carve_rule_named "$T/carve.yaml:$kl:9: rule \"carve:filesystem[6]\" ($T/rw/keys, none): PARTLY ENFORCED: read, write at $T/rw/keys allowed by rule \"carve:filesystem[5]\"" "$T/carve.log"
expect_grep carve_refusal_says_flag "--allow-unenforced runs anyway" "$T/carve.log"
expect carve_no_cgroup_left absent "$([ -e "$cgmnt/agentguard-run-$rpid" ] && echo present || echo absent)"
out=$("$ag" run --policy "$T/carve.yaml" --fallback landlock --allow-unenforced \
	-- "$agt" read "$T/rw/keys/k" 2>"$T/carve2.log")
expect carve_allowed_as_reported ok "$out"
expect_grep carve_allowed_warns "are not enforced; running anyway" "$T/carve2.log"

# --- load --fallback landlock: the network on a cgroup -------------------------------------
"$ag" load --fallback landlock --cgroup "$cgmnt/agfb-load-$$" "$T/p.yaml" >/dev/null 2>"$T/load1.log"
expect load_fs_refused_exit 69 "$?"
expect_grep load_fs_rule_named "$T/p.yaml:" "$T/load1.log"
expect_grep load_fs_not_enforced "NOT ENFORCED by agentguard load" "$T/load1.log"
"$ag" load --fallback landlock --allow-unenforced --cgroup "$cgmnt/agfb-load-$$" \
	--pin-dir "/sys/fs/bpf/agfb-$$" --state-dir "$T/state" --ready-file "$T/ready" \
	--events "$T/ev/load.jsonl" "$T/p.yaml" 2>"$T/load2.log" &
lpid=$!
for _ in $(seq 100); do
	[ -e "$T/ready" ] && break
	kill -0 "$lpid" 2>/dev/null || break
	sleep 0.1
done
inside() { sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' inside "$cgmnt/agfb-load-$$" "$@"; }
if [ -e "$T/ready" ]; then
	pass load_started
	expect load_net_denied EPERM "$(inside "$agt" connect 127.0.0.1 "$p2")"
	"$agt" serve 127.0.0.1 "$p1" 1 >/dev/null 2>&1 &
	spid=$!
	sleep 0.2
	expect load_net_allowed "ok hi" "$(inside "$agt" connect 127.0.0.1 "$p1")"
	kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	expect load_status_backend yes "$("$ag" status --json --pin-dir "/sys/fs/bpf/agfb-$$" \
		--state-dir "$T/state" | grep -qF '"enforcing":true,"daemon":true,"backend":"landlock"' && echo yes)"
	# Root outside may open the link pin the sandbox could not.
	expect outside_link_pin_control ok "$("$agt" bpf-obj-get "/sys/fs/bpf/agfb-$$/links/ag_connect4")"
	"$ag" reload --pin-dir "/sys/fs/bpf/agfb-$$" --state-dir "$T/state" "$T/p2.yaml" 2>>"$T/load2.log"
	expect load_reload_exit 0 "$?"
	expect load_reload_allows ECONNREFUSED "$(inside "$agt" connect 127.0.0.1 "$p2")"
	kill "$lpid"
	wait "$lpid"
	lpid=
	expect load_events_landlock yes "$(grep -F '"kind":"network"' "$T/ev/load.jsonl" |
		grep -F "\"port\":$p2" | grep -qF '"backend":"landlock"' && echo yes)"
	"$ag" unload --pin-dir "/sys/fs/bpf/agfb-$$" >/dev/null 2>&1
	expect load_unloaded absent "$([ -e "/sys/fs/bpf/agfb-$$" ] && echo present || echo absent)"
	rmdir "$cgmnt/agfb-load-$$"
	expect load_no_cgroup_left absent "$([ -e "$cgmnt/agfb-load-$$" ] && echo present || echo absent)"
else
	fail load_started "$(tail -n 3 "$T/load2.log" | tr '\n' ' ')"
fi
exit "$failed"
