# SPDX-License-Identifier: GPL-2.0
# lsm/socket_create allow-list (issue #8): TCP/UDP over IPv4/IPv6, unix and NETLINK_ROUTE are
# allowed; every other family, type or protocol gets EPERM whatever network.default says, while
# the same socket outside the sandbox works.
. /tests/guest/lib.sh

mkdir -p "$AG_CG"
cat >/tmp/sock.yaml <<'Y'
apiVersion: agentguard/v1
kind: Policy
metadata:
  name: sock
spec:
  filesystem:
    default: allow
  network:
    default: allow
    rules:
      - action: deny
        ip: 169.254.169.254
    inbound:
      - ip: 0.0.0.0
        ports: [7400]
        protocol: tcp
Y
start_agentguard /tmp/sock.yaml

# family type protocol: allowed inside
expect tcp4 ok inside agt socket 2 1 0
expect tcp4_explicit ok inside agt socket 2 1 6
expect udp6 ok inside agt socket 10 2 0
expect udp6_explicit ok inside agt socket 10 2 17
expect unix_stream ok inside agt socket 1 1 0
expect unix_dgram ok inside agt socket 1 2 0
expect netlink_route ok inside agt socket 16 3 0

# denied inside, with the same socket outside as control where it exists in the guest
expect raw_ipv4 EPERM inside agt socket 2 3 1
expect raw_ipv4_outside_ok ok agt socket 2 3 1
expect packet EPERM inside agt socket 17 3 0
expect packet_outside_ok ok agt socket 17 3 0
expect icmp_ping EPERM inside agt socket 2 2 1
expect icmp6_ping EPERM inside agt socket 10 2 58
expect sctp EPERM inside agt socket 2 1 132
expect mptcp EPERM inside agt socket 2 1 262
expect udplite EPERM inside agt socket 2 2 136
expect tcp_as_seqpacket EPERM inside agt socket 2 5 0
expect vsock EPERM inside agt socket 40 1 0
expect alg EPERM inside agt socket 38 5 0
expect netlink_audit EPERM inside agt socket 16 3 9
expect netlink_audit_outside_ok ok agt socket 16 3 9
expect_event socket_event '"operation":"socket-create"' '"id":"builtin:socket-type"'
# listen() without bind() would listen on 0.0.0.0 without running the bind hooks.
expect listen_unbound_denied EPERM inside agt listen-any
expect_event listen_event '"operation":"listen"' '"id":"builtin:inbound"'
expect listen_unbound_outside_ok ok agt listen-any
# spec.network.inbound widens bind and listen to exactly what it names.
expect listen_inbound_rule_ok listening sh -c 'echo $$ > '"$AG_CG"'/cgroup.procs; agt serve 0.0.0.0 7400 0'
expect listen_other_port_denied EPERM inside agt serve 0.0.0.0 7401 0
expect listen_loopback_ok listening sh -c 'echo $$ > '"$AG_CG"'/cgroup.procs; agt serve 127.0.0.1 7300 0'
# Local-use NAT64 (64:ff9b:1::/48) in its /96 layout carries 169.254.169.254 in its last 32
# bits: judged in every layout, denied. A local-use address that carries no denied address in
# any layout passes the hook (and then finds no route: there is no translator here).
expect nat64_local_96_denied EPERM inside agt connect 64:ff9b:1::a9fe:a9fe 80
expect nat64_local_48_denied EPERM inside agt connect 64:ff9b:1:a9fe:a9:fe00:: 80
expect nat64_local_other_passes ENETUNREACH inside agt connect 64:ff9b:1::808:808 80
# explain decides as the kernel did (the same shared layouts, the strictest verdict).
expect nat64_local_explain deny sh -c "agentguard explain /tmp/sock.yaml --connect '[64:ff9b:1::a9fe:a9fe]:80' | cut -d' ' -f1"
expect nat64_local_other_explain allow sh -c "agentguard explain /tmp/sock.yaml --connect '[64:ff9b:1::808:808]:80' | cut -d' ' -f1"
expect inbound_explain_allow allow sh -c "agentguard explain /tmp/sock.yaml --bind 0.0.0.0:7400 | cut -d' ' -f1"
expect inbound_explain_deny deny sh -c "agentguard explain /tmp/sock.yaml --bind 0.0.0.0:7401 | cut -d' ' -f1"
expect_event nat64_local_event '"address":"64:ff9b:1::a9fe:a9fe","judged_as":"169.254.169.254"'

# Source routing (issue #8): the options are refused up front; ag_egress drops such packets
# however the header was set (host suite: tests/host/test_net_connect.c).
expect srcroute_v4 EPERM inside agt srcroute v4
expect srcroute_v6 EPERM inside agt srcroute v6
expect_event srcroute_event '"operation":"setsockopt"' '"id":"builtin:source-route"' '"level":0' '"option":4'
expect srcroute_v4_outside_ok ok agt srcroute v4
expect srcroute_v6_outside_ok ok agt srcroute v6
end_suite
