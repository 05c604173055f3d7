# SPDX-License-Identifier: GPL-2.0
# Domain rules through `agentguard load` on the guest kernels (issue #9): the daemon's resolver
# on 127.0.0.53, a tiny upstream (agt dns-serve) on 127.0.0.2, the BPF-LSM programs attached
# too. Each case: the exact rcode or errno, the allowed control, the event. The host-native
# suite (tests/host/test_dns.c, dnsmasq) covers more: expiry, CNAMEs, shared IPs, bursts.
# Then agentguard explain against the running instance: it reads the pinned learned bindings
# and must give the kernel's verdict for a learned address, allowed and denied.
# The records point into 198.18.0.0/15 (addresses of lo here): the benchmarking range is not
# internal, so the resolver relays them; an internal one (127.0.0.1) is withheld (rebinding).
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
      - id: cdn-allow
        action: allow
        domain: cdn.test
        ports: [7001]
        protocol: tcp
      - id: cdn-deny
        action: deny
        domain: cdn.test
        ports: [7003]
        protocol: tcp
      - id: rebind
        action: allow
        domain: rebind.test
        ports: [7001]
        protocol: tcp
      - id: lan-7003
        action: allow
        cidr: 198.18.0.0/24
        ports: [7003]
        protocol: tcp
POLICY
for a in 1 2 3 5; do ip addr add 198.18.0.$a/32 dev lo; done
agt dns-serve 127.0.0.2 53 rebind.test=127.0.0.1 allowed.test=198.18.0.1 denied.test=198.18.0.3 cdn.test=198.18.0.5 \
	>/tmp/dns-up 2>&1 &
agt serve 198.18.0.1 7001 20 >/tmp/l1 2>&1 &
agt serve 198.18.0.2 7001 20 >/tmp/l2 2>&1 &
agt serve 198.18.0.5 7001 20 >/tmp/l5a 2>&1 &
agt serve 198.18.0.5 7003 20 >/tmp/l5b 2>&1 &
agt serve 127.0.0.1 7001 20 >/tmp/l127 2>&1 &
usleep 300000
expect upstream_answers_outside "NOERROR 198.18.0.1" agt dns-query 127.0.0.2 allowed.test a
start_agentguard --dns-listen 127.0.0.53:53 --dns-upstream 127.0.0.2:53 --dns-ttl-floor 60 \
	--metrics /tmp/dns.prom /tmp/dns-test.yaml

expect unlearned_ip_denied EPERM inside agt connect 198.18.0.1 7001
expect allowed_name_answered "NOERROR 198.18.0.1" inside agt dns-query 127.0.0.53 allowed.test a
expect learned_ip_allowed "ok hi" inside agt connect 198.18.0.1 7001
expect other_ip_denied EPERM inside agt connect 198.18.0.2 7001
expect other_ip_outside_ok "ok hi" agt connect 198.18.0.2 7001
expect learned_ip_other_port_denied EPERM inside agt connect 198.18.0.1 7002
expect_event learned_ip_event_names_domain '"address":"198.18.0.1","port":7002' \
	'"domain":"allowed.test"'
expect denied_name_refused REFUSED inside agt dns-query 127.0.0.53 denied.test a
expect_event denied_name_event '"kind":"dns","operation":"query"' '"name":"denied.test"' \
	'"rcode":"REFUSED"' '"decision":"deny"' '"rule":{"id":"dns-test:network.default"'
expect txt_refused REFUSED inside agt dns-query 127.0.0.53 allowed.test txt
expect any_refused REFUSED inside agt dns-query 127.0.0.53 allowed.test any
expect_event txt_event '"name":"allowed.test","qtype":"TXT"' '"builtin:dns-qtype"'
expect txt_outside_answered NOERROR agt dns-query 127.0.0.2 allowed.test txt
expect tcp_through_resolver "NOERROR 198.18.0.1" inside agt dns-query 127.0.0.53 allowed.test a tcp
expect other_server_udp_denied EPERM inside agt dns-query 127.0.0.2 allowed.test a
expect other_server_tcp_denied EPERM inside agt connect 127.0.0.2 53 tcp
expect dot_denied EPERM inside agt connect 127.0.0.2 853 tcp
expect_event dns_elsewhere_event '"address":"127.0.0.2","port":53' '"builtin:dns-elsewhere"'
expect sendto_other_server_denied EPERM inside agt sendto 127.0.0.9 53 x

# DNS rebinding: an allowed name answered with an internal address (the guest's loopback) is
# refused, not learned, and reported; the address stays unreachable from inside.
expect rebind_upstream_outside "NOERROR 127.0.0.1" agt dns-query 127.0.0.2 rebind.test a
expect rebind_refused REFUSED inside agt dns-query 127.0.0.53 rebind.test a
expect_event rebind_event '"kind":"dns","operation":"answer"' '"name":"rebind.test","address":"127.0.0.1"' \
	'"rcode":"REFUSED"' '"decision":"deny"' '"rule":{"id":"builtin:dns-rebind","layer":"builtin"}'
expect rebind_not_learned EPERM inside agt connect 127.0.0.1 7001
expect rebind_outside_ok "ok hi" agt connect 127.0.0.1 7001
usleep 1500000	# the daemon writes its counters once a second
expect rebind_counted_metrics 1 sh -c "grep -c '^agentguard_dns_withheld_total 1\$' /tmp/dns.prom"
expect rebind_counted_status 1 sh -c "grep -c '\"dns_withheld\":1,' /var/lib/agentguard/status.json"
expect rebind_counted_status_text "dns: 1 internal answer address withheld (rebinding)" \
	sh -c 'agentguard status | grep "^dns:"'

# explain against this instance (pins in /sys/fs/bpf/agentguard, policy copies in
# /var/lib/agentguard): cdn.test's deny rule for port 7003 beats the CIDR allow only while its
# address is learned, so the policy alone and the kernel disagree until explain reads the map.
ex() { agentguard explain /tmp/dns-test.yaml "$@" 2>&1; }
first() { agentguard explain /tmp/dns-test.yaml "$@" 2>/dev/null | head -n 1 | cut -d' ' -f1; }
has() { _want=$1; shift; ex "$@" | grep -qF -e "$_want" && echo ok || ex "$@"; }
expect explain_unlearned_allow allow first --connect 198.18.0.5:7003
expect explain_unlearned_says_no_binding ok has "(no learned binding)" --connect 198.18.0.5:7003
expect unlearned_cidr_allowed "ok hi" inside agt connect 198.18.0.5 7003
expect cdn_answered "NOERROR 198.18.0.5" inside agt dns-query 127.0.0.53 cdn.test a
expect explain_learned_deny deny first --connect 198.18.0.5:7003
expect explain_learned_deny_says ok has \
	"rule cdn-deny " --connect 198.18.0.5:7003
expect explain_learned_deny_text ok has \
	": denied: domain deny rule cdn-deny (learned for cdn.test, expires in " \
	--connect 198.18.0.5:7003
expect kernel_learned_deny EPERM inside agt connect 198.18.0.5 7003
expect_event learned_deny_event '"address":"198.18.0.5","port":7003' '"domain":"cdn.test"' \
	'"rule":{"id":"cdn-deny"'
expect learned_deny_outside_ok "ok hi" agt connect 198.18.0.5 7003
expect explain_policy_only_allows allow first --pin-dir /sys/fs/bpf/none --connect 198.18.0.5:7003
expect explain_policy_only_says ok has "(policy only: no enforcement pinned at /sys/fs/bpf/none)" \
	--pin-dir /sys/fs/bpf/none --connect 198.18.0.5:7003
expect explain_learned_allow ok has \
	"allow  rule cdn-allow " --connect 198.18.0.5:7001
expect explain_learned_allow_text ok has \
	": allowed through domain cdn.test (learned, expires in " --connect 198.18.0.5:7001
expect kernel_learned_allow "ok hi" inside agt connect 198.18.0.5 7001
expect explain_resolve_lists ok has \
	"; learned now: 198.18.0.5 (expires in " --resolve cdn.test
expect explain_resolve_none ok has "; learned now: nothing" --resolve other.cdn.test
expect rebind_learned_nothing ok has "; learned now: nothing" --resolve rebind.test
expect explain_resolver_path ok has ": agentguard's resolver" --connect 127.0.0.53:53/udp
expect explain_dns_elsewhere ok has \
	"deny  rule builtin:dns-elsewhere  layer builtin  127.0.0.2 port 53/udp (only agentguard's resolver, 127.0.0.53 port 53, is reachable there)" \
	--connect 127.0.0.2:53/udp
expect explain_json ok sh -c 'agentguard explain --json /tmp/dns-test.yaml --connect 198.18.0.5:7003 | grep -qF "\"decision\":\"deny\",\"target\":\"198.18.0.5 port 7003/tcp: denied: domain deny rule cdn-deny" && echo ok'
sed 's/^kind: Policy$/kind: Policy  # another file/' /tmp/dns-test.yaml >/tmp/dns-other.yaml
expect explain_other_policy ok sh -c 'agentguard explain /tmp/dns-other.yaml --connect 198.18.0.5:7003 | grep -qF "allow  rule lan-7003" && agentguard explain /tmp/dns-other.yaml --connect 198.18.0.5:7003 | grep -qF "(policy only: the policy in force at /sys/fs/bpf/agentguard (generation " && echo ok'
# explain's verdict is the kernel's, for every learned, unlearned and other-port address.
bad=
for t in 198.18.0.5:7003 198.18.0.5:7001 198.18.0.5:7002 198.18.0.1:7001 198.18.0.1:7002 \
	198.18.0.1:7003 198.18.0.2:7001 198.18.0.2:7003 198.18.0.3:7001; do
	v=$(first --connect "$t")
	k=$(inside agt connect "${t%:*}" "${t#*:}" | tail -n 1)
	# Allowed: connected, or refused by no listener there; denied: EPERM before any packet.
	case "$v:$k" in
	"deny:EPERM" | "allow:ok hi" | "allow:ECONNREFUSED") ;;
	*) bad="$bad $t($v/$k)" ;;
	esac
	echo "# explain: $(ex --connect "$t")"
done
expect explain_agrees_with_kernel ok sh -c "[ -z '$bad' ] && echo ok || echo 'disagree:$bad'"

# agentguard reload by another process: the daemon gives every binding its verdicts for the
# new generation (its resolver follows), so a learned address stays allowed.
expect reload_by_cli 0 sh -c 'agentguard reload /tmp/dns-test.yaml 2>/dev/null; echo $?'
usleep 700000
expect learned_ip_allowed_after_reload "ok hi" inside agt connect 198.18.0.1 7001
expect explain_after_reload ok has ": allowed through domain allowed.test (learned, expires in " \
	--connect 198.18.0.1:7001

# A daemon that adopts the pins takes the resolver's names over: a binding learned before it
# keeps its verdict under the generation it installs, and its domain in events and explain.
stop_daemon
start_agentguard --dns-listen 127.0.0.53:53 --dns-upstream 127.0.0.2:53 --dns-ttl-floor 60 \
	/tmp/dns-test.yaml
expect adopted_binding_allowed "ok hi" inside agt connect 198.18.0.1 7001
expect adopted_binding_denied EPERM inside agt connect 198.18.0.5 7003
expect adopted_explain_names ok has ": allowed through domain allowed.test (learned, expires in " \
	--connect 198.18.0.1:7001
expect adopted_other_port_denied EPERM inside agt connect 198.18.0.1 7004
expect_event adopted_event_names_domain '"address":"198.18.0.1","port":7004' \
	'"domain":"allowed.test"'
stop_agentguard
expect explain_unloaded_policy_only ok has \
	"(policy only: no enforcement pinned at /sys/fs/bpf/agentguard)" --connect 198.18.0.5:7003
kill %1 %2 %3 %4 %5 2>/dev/null
