#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The microVM sandbox's host network holding on its own (issue #11): a real guest under TCG,
# started with its own enforcement OFF (--test-unenforced-guest, behind its gate), behind the
# host's tap, nft filter and resolver (userspace/sandbox_net.c). Inside the guest:
#   - an allowed address and port connects (the control); a denied address, and the allowed
#     address on a port the policy does not list, get no connection;
#   - an allowed name's address is unreachable until the host resolver answered the name, and
#     reachable afterwards; a name the policy does not allow is refused and its address stays
#     unreachable; DNS to another server gets no answer;
# on the host: the refused query is a dns event with origin host and the sandbox's name, the
# stop event counts the drops; then a guest with enforcement ON and a domain rule resolves
# through its own agentguard resolver and the host's (both in the path) and connects, and its
# own kernel denies and reports a denied address. After a
# normal exit (unenforced and enforced), and after kill -9 of the runner followed by `sandbox ls`:
# no tap (by name or alias), no nft table, no state, no cgroup, no QEMU. A "nothing left" check
# fails when its sandbox never started.
#
# Namespaces of its own: the runner's ("host", with the uplink up0 and forwarding on it) and
# "world" (servers on 198.51.100.0/24 and a dnsmasq on 192.0.2.2). Needs root, build/agentguard,
# the 6.12 kernel, qemu-system-x86, dnsmasq, python3, nft (only to look; tests/sandbox/lib.sh).
# One guest at a time.
# Prints one "PASS name" or "FAIL name: why" line per check; exits 1 if any check failed.
set -uo pipefail

SUITE=sandbox_net_vm
# shellcheck source=tests/sandbox/lib.sh
. "$(dirname "$0")/lib.sh"
sbx_enter agsbxnet-run dnsmasq python3

# check NAME WANT-LINE FILE: FILE has the line WANT-LINE exactly.
check() {
	if grep -qxF -e "$2" "$3"; then pass "$1"; else fail "$1" "no line '$2' in: $(tr '\n' '|' <"$3" | cut -c1-600)"; fi
}

T=$(mktemp -d /tmp/agsbxnet.XXXXXX)
chmod 755 "$T"
pids=()
cleanup() {
	local p
	"$ag" sandbox stop sbxnet >/dev/null 2>&1
	"$ag" sandbox stop sbxnet-kill >/dev/null 2>&1
	"$ag" sandbox stop sbxnet-on >/dev/null 2>&1
	"$ag" sandbox ls >/dev/null 2>&1
	for p in ${pids[@]+"${pids[@]}"}; do kill "$p" 2>/dev/null; done
	ip netns del agsbx-world 2>/dev/null
	[ -n "${AG_VMNET_KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

# The world: servers that answer "hello ADDR PORT" to each connection, and a nameserver.
ip link set lo up
ip netns add agsbx-world
ip link add up0 type veth peer name w0 netns agsbx-world
ip addr add 192.0.2.1/24 dev up0
ip link set up0 up
ip route add default via 192.0.2.2
sysctl -qw net.ipv4.conf.up0.forwarding=1
W() { ip netns exec agsbx-world "$@"; }
W ip link set lo up
W ip addr add 192.0.2.2/24 dev w0
W ip link set w0 up
for a in 10 20 30 40; do W ip addr add "198.51.100.$a/32" dev lo; done
W python3 -c '
import socket, threading
def serve(addr, port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port)); s.listen(16)
    while True:
        c, _ = s.accept()
        c.sendall(b"hello %s %d\n" % (addr.encode(), port)); c.close()
for a in ("198.51.100.10", "198.51.100.20", "198.51.100.30", "198.51.100.40"):
    for p in (8080, 9090):
        threading.Thread(target=serve, args=(a, p), daemon=True).start()
threading.Event().wait()
' &
pids+=($!)
W dnsmasq --no-daemon --no-resolv --no-hosts --listen-address=192.0.2.2 --bind-interfaces \
	--address=/allowed.test/198.51.100.30 --address=/denied.test/198.51.100.40 \
	>"$T/dnsmasq.log" 2>&1 &
pids+=($!)
# The runner's upstream is the host's resolv.conf: here, the world's nameserver.
echo "nameserver 192.0.2.2" >"$T/resolv.conf"
mount --bind "$T/resolv.conf" /etc/resolv.conf
sleep 1

cat >"$T/net.yaml" <<'EOF'
apiVersion: agentguard/v1
kind: Policy
metadata:
  name: sbx-net
  layer: local
spec:
  mode: enforce
  filesystem:
    default: allow
    rules:
      - path: /workspace
        access: ro
  network:
    default: deny
    rules:
      - id: allowed-ip
        action: allow
        cidr: 198.51.100.10/32
        ports: [8080]
      - id: allowed-name
        action: allow
        domain: allowed.test
        ports: [8080]
EOF

# What the guest runs: busybox nc and nslookup. "ok WHAT" or "no WHAT" per probe.
cat >"$T/probe.sh" <<'EOF'
probe() { # WHAT ADDR PORT
	if echo | timeout 4 nc -w 2 "$2" "$3" 2>/dev/null | grep -q "^hello $2 $3"; then
		echo "ok $1"
	else
		echo "no $1"
	fi
}
probe allowed_ip 198.51.100.10 8080
probe denied_ip 198.51.100.20 8080
probe denied_port 198.51.100.10 9090
probe name_before_answer 198.51.100.30 8080
if timeout 5 nslookup allowed.test 2>/dev/null | grep -q 198.51.100.30; then echo "ok resolve_allowed"; else echo "no resolve_allowed"; fi
probe name_after_answer 198.51.100.30 8080
probe name_other_port 198.51.100.30 9090
if timeout 5 nslookup denied.test 2>/dev/null | grep -q 198.51.100.40; then echo "ok resolve_denied"; else echo "no resolve_denied"; fi
probe denied_name_addr 198.51.100.40 8080
if timeout 5 nslookup allowed.test 192.0.2.2 2>/dev/null | grep -q 198.51.100.30; then echo "ok dns_elsewhere"; else echo "no dns_elsewhere"; fi
EOF

AGENTGUARD_TEST_UNENFORCED_GUEST=1 "$ag" sandbox run --test-unenforced-guest --policy "$T/net.yaml" \
	--workspace "$T" --name sbxnet --events "$T/ev.jsonl" --timeout 300 \
	-- /bin/sh /workspace/probe.sh >"$T/out" 2>"$T/err"
st=$?
if [ $st -eq 0 ]; then pass unenforced_guest_ran; else fail unenforced_guest_ran "exit $st: $(tail -n 5 "$T/err" | tr '\n' ' ')"; fi
check allowed_ip_connects "ok allowed_ip" "$T/out"
check denied_ip_dropped "no denied_ip" "$T/out"
check denied_port_dropped "no denied_port" "$T/out"
check name_unreachable_before_answer "no name_before_answer" "$T/out"
check allowed_name_resolves "ok resolve_allowed" "$T/out"
check name_reachable_after_answer "ok name_after_answer" "$T/out"
check name_other_port_dropped "no name_other_port" "$T/out"
check denied_name_refused "no resolve_denied" "$T/out"
check denied_name_addr_dropped "no denied_name_addr" "$T/out"
check dns_elsewhere_dropped "no dns_elsewhere" "$T/out"
if grep '"kind":"dns"' "$T/ev.jsonl" | grep '"origin":"host"' | grep '"sandbox_name":"sbxnet"' | grep -q 'denied.test'; then
	pass refused_query_event_on_host
else
	fail refused_query_event_on_host "no dns event for denied.test with origin host: $(grep -c . "$T/ev.jsonl") events"
fi
stop=$(grep '"operation":"stop"' "$T/ev.jsonl" | tail -n 1)
fwd=$(printf '%s' "$stop" | sed -n 's/.*host filter: \([0-9]*\) packets dropped.*/\1/p')
if [ -n "$fwd" ] && [ "$fwd" -gt 0 ]; then pass stop_event_counts_drops; else fail stop_event_counts_drops "stop event: ${stop:0:400}"; fi
expect_nothing_left nothing_left_after_exit sbxnet "$([ $st -eq 0 ] && echo 1)"

# Enforcement on in the guest, domain rule: the guest's own resolver, then the host's.
cat >"$T/on.sh" <<'EOF'
# By name through libc (busybox's nslookup binds 0.0.0.0:0, which the guest's policy refuses
# as an inbound bind): the guest's own resolver, then the host's.
if echo | timeout 20 nc -w 5 allowed.test 8080 2>/dev/null | grep -q "^hello 198.51.100.30 8080"; then echo "ok connect"; else echo "no connect"; fi
if echo | timeout 4 nc -w 2 198.51.100.20 8080 2>/dev/null | grep -q "^hello"; then echo "ok denied"; else echo "no denied"; fi
EOF
"$ag" sandbox run --policy "$T/net.yaml" --workspace "$T" --name sbxnet-on --events "$T/on.jsonl" \
	--timeout 300 -- /bin/sh /workspace/on.sh >"$T/on.out" 2>"$T/on.err"
st=$?
if [ $st -eq 0 ]; then pass enforced_guest_ran; else fail enforced_guest_ran "exit $st: $(tail -n 5 "$T/on.err" | tr '\n' ' ')"; fi
check enforced_name_connects "ok connect" "$T/on.out"
check enforced_denied_ip "no denied" "$T/on.out"
if grep '"origin":"guest"' "$T/on.jsonl" | grep '"kind":"network"' | grep -q '198.51.100.20'; then
	pass enforced_guest_denial_event
else
	fail enforced_guest_denial_event "no guest network event for 198.51.100.20"
fi
expect_nothing_left nothing_left_after_enforced sbxnet-on "$([ $st -eq 0 ] && echo 1)"

# kill -9 of the runner: the next `sandbox ls` leaves nothing.
AGENTGUARD_TEST_UNENFORCED_GUEST=1 "$ag" sandbox run --test-unenforced-guest --policy "$T/net.yaml" \
	--workspace "$T" --name sbxnet-kill --timeout 300 -- /bin/sleep 600 >/dev/null 2>&1 &
runner=$!
qpid=
# Its own tap (by name or alias) and its three tables (inet and netdev filter, netdev guard),
# not another sandbox's.
made() {
	[ -n "$(taps_of sbxnet-kill)" ] && [ "$(tables_of sbxnet-kill | wc -l)" -eq 3 ] &&
		[ -s "$state/sbxnet-kill/qemu.pid" ]
}
if wait_for 120 made; then
	pass tap_made
	qpid=$(cat "$state/sbxnet-kill/qemu.pid" 2>/dev/null)
else
	fail tap_made "while running: tap '$(taps_of sbxnet-kill)', tables '$(tables_of sbxnet-kill | tr '\n' ',')'"
fi
kill -9 "$runner"
wait "$runner" 2>/dev/null
"$ag" sandbox ls >/dev/null 2>&1
sleep 1
expect_nothing_left nothing_left_after_kill9 sbxnet-kill "$([ -n "$qpid" ] && echo 1)" "$qpid"

exit $failed
