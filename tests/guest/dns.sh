# SPDX-License-Identifier: GPL-2.0
# Domain rules through `agentguard load` on the guest kernels (issue #9): the daemon's resolver
# on 127.0.0.53, a tiny upstream (agt dns-serve) on 127.0.0.2, the BPF-LSM programs attached
# too. Each case: the exact rcode or errno, the allowed control, the event. The host-native
# suite (tests/host/test_dns.c, dnsmasq) covers more: expiry, CNAMEs, shared IPs, bursts.
. /tests/guest/lib.sh

mkdir -p "$AG_CG"
cat >/tmp/dns-test.yaml <<'POLICY'
apiVersion: agentguard/v1
kind: Policy
metadata:
  name: dns-test
spec:
  filesystem:
    default: allow
  network:
    default: deny
    rules:
      - id: allowed
        action: allow
        domain: allowed.test
        ports: [7001]
        protocol: tcp
      - id: evil
        action: deny
        domain: "*.evil.test"
      - id: dns-anywhere
        action: allow
        cidr: 0.0.0.0/0
        ports: [53, 853]
POLICY
agt dns-serve 127.0.0.2 53 allowed.test=127.77.0.1 denied.test=127.77.0.3 >/tmp/dns-up 2>&1 &
agt serve 127.77.0.1 7001 3 >/tmp/l1 2>&1 &
agt serve 127.77.0.2 7001 1 >/tmp/l2 2>&1 &
usleep 300000
expect upstream_answers_outside "NOERROR 127.77.0.1" agt dns-query 127.0.0.2 allowed.test a
start_agentguard --dns-listen 127.0.0.53:53 --dns-upstream 127.0.0.2:53 --dns-ttl-floor 60 \
	/tmp/dns-test.yaml

expect unlearned_ip_denied EPERM inside agt connect 127.77.0.1 7001
expect allowed_name_answered "NOERROR 127.77.0.1" inside agt dns-query 127.0.0.53 allowed.test a
expect learned_ip_allowed "ok hi" inside agt connect 127.77.0.1 7001
expect other_ip_denied EPERM inside agt connect 127.77.0.2 7001
expect other_ip_outside_ok "ok hi" agt connect 127.77.0.2 7001
expect learned_ip_other_port_denied EPERM inside agt connect 127.77.0.1 7002
expect_event learned_ip_event_names_domain '"address":"127.77.0.1","port":7002' \
	'"domain":"allowed.test"'
expect denied_name_refused REFUSED inside agt dns-query 127.0.0.53 denied.test a
expect_event denied_name_event '"kind":"dns","operation":"query"' '"name":"denied.test"' \
	'"rcode":"REFUSED"' '"decision":"deny"' '"rule":{"id":"dns-test:network.default"'
expect txt_refused REFUSED inside agt dns-query 127.0.0.53 allowed.test txt
expect any_refused REFUSED inside agt dns-query 127.0.0.53 allowed.test any
expect_event txt_event '"name":"allowed.test","qtype":"TXT"' '"builtin:dns-qtype"'
expect txt_outside_answered NOERROR agt dns-query 127.0.0.2 allowed.test txt
expect tcp_through_resolver "NOERROR 127.77.0.1" inside agt dns-query 127.0.0.53 allowed.test a tcp
expect other_server_udp_denied EPERM inside agt dns-query 127.0.0.2 allowed.test a
expect other_server_tcp_denied EPERM inside agt connect 127.0.0.2 53 tcp
expect dot_denied EPERM inside agt connect 127.0.0.2 853 tcp
expect_event dns_elsewhere_event '"address":"127.0.0.2","port":53' '"builtin:dns-elsewhere"'
expect sendto_other_server_denied EPERM inside agt sendto 127.0.0.9 53 x

# agentguard reload by another process: the daemon gives every binding its verdicts for the
# new generation (its resolver follows), so a learned address stays allowed.
expect reload_by_cli 0 sh -c 'agentguard reload /tmp/dns-test.yaml 2>/dev/null; echo $?'
usleep 700000
expect learned_ip_allowed_after_reload "ok hi" inside agt connect 127.77.0.1 7001
stop_agentguard
kill %1 %2 %3 2>/dev/null
