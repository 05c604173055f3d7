# SPDX-License-Identifier: GPL-2.0
# cgroup/connect4 and connect6 on the guest kernels (the host-native suite covers more cases on
# the host's kernel): denied connect with EPERM, allowed control, outside control, event.
. /tests/guest/lib.sh

mkdir -p "$AG_CG"
cat >/tmp/net-test.yaml <<'POLICY'
apiVersion: agentguard/v1
kind: Policy
metadata:
  name: net-test
spec:
  filesystem:
    default: allow
  network:
    default: deny
    rules:
      - action: allow
        ip: 127.0.0.1
        ports: [7001]
      - action: allow
        ip: "::1"
        ports: [7001]
POLICY
agt serve 127.0.0.1 7001 4 >/tmp/l1 2>&1 &
agt serve 127.0.0.1 7002 2 >/tmp/l2 2>&1 &
agt serve ::1 7002 1 >/tmp/l3 2>&1 &
usleep 300000
start_agentguard /tmp/net-test.yaml

expect tcp4_allowed "ok hi" inside agt connect 127.0.0.1 7001
expect tcp4_denied EPERM inside agt connect 127.0.0.1 7002
expect tcp4_denied_outside_ok "ok hi" agt connect 127.0.0.1 7002
expect_event tcp4_event '"kind":"network","operation":"connect"' \
	'"target":{"address":"127.0.0.1","port":7002,"protocol":"tcp","family":"ipv4"}' \
	'"rule":{"id":"net-test:network.default","layer":"local"}'
# The cgroup program cannot see the task: the socket carries its creator's exe (sk storage).
expect_event tcp4_event_exe '"port":7002,"protocol":"tcp","family":"ipv4"' \
	'"comm":"agt","exe":"/usr/local/bin/agt"'
# io_uring's IORING_OP_CONNECT reaches the same cgroup hook (threat model N4).
expect uring_connect_denied EPERM inside agt uring-connect 127.0.0.1 7002
expect uring_connect_allowed ok inside agt uring-connect 127.0.0.1 7001
expect tcp6_denied EPERM inside agt connect ::1 7002
expect tcp6_denied_outside_ok "ok hi" agt connect ::1 7002
expect v4mapped_denied EPERM inside agt connect ::ffff:127.0.0.1 7002
expect_event v4mapped_event '"address":"::ffff:127.0.0.1","judged_as":"127.0.0.1","port":7002'
expect v4mapped_allowed "ok hi" inside agt connect ::ffff:127.0.0.1 7001
expect udp_connect_denied EPERM inside agt connect 127.0.0.1 7003 udp
expect udp_connect_allowed ok inside agt connect 127.0.0.1 7001 udp

end_suite
kill %1 %2 %3 2>/dev/null
