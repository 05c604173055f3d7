# SPDX-License-Identifier: GPL-2.0
# agentguard run with domain rules (issue #9, docs/host-mode.md): each run's resolver listens on
# a loopback address of its own in 127.53.0.0/16, and the command sees a /etc/resolv.conf naming
# it, in a mount namespace of its own; the host's file (here the guest's) is never written.
# Upstream: agt dns-serve on 127.0.0.2, named by the guest's /etc/resolv.conf as run's load
# reads it. Each case: the exact rcode or errno, the allowed control, the event.
. /tests/guest/lib.sh

AG_EVENTS=/tmp/rd-events.jsonl
cat >/tmp/rd.yaml <<'Y'
apiVersion: agentguard/v1
kind: Policy
metadata:
  name: rd
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
Y
sed 's/name: rd$/name: rd-plain/; s/default: deny/default: allow/' /tmp/rd.yaml |
	sed '/rules:/,$d' >/tmp/rd-plain.yaml
printf 'nameserver 127.0.0.2\nsearch corp.test\noptions ndots:1\n' >/etc/resolv.conf
cp /etc/resolv.conf /tmp/rd-host-resolv.conf
# Records in 198.18.0.0/15, addresses of lo: not internal, so the resolver relays them.
for a in 1 3; do ip addr add 198.18.0.$a/32 dev lo; done
agt dns-serve 127.0.0.2 53 allowed.test=198.18.0.1 denied.test=198.18.0.3 >/tmp/rd-up 2>&1 &
agt serve 198.18.0.1 7001 20 >/tmp/rd-l1 2>&1 &
usleep 300000

# rd_run POLICY CMD...: agentguard run with events to $AG_EVENTS.
rd_run() {
	_p=$1
	shift
	agentguard run --policy "$_p" --events "$AG_EVENTS" -- "$@" 2>>/tmp/rd.log
}

# The command reports, one line each, what it sees and gets.
cat >/tmp/rd-cmd.sh <<'S'
ns=$(sed -n 's/^nameserver //p' /etc/resolv.conf | head -n 1)
echo "ns $ns"
echo "nameservers $(grep -c '^nameserver' /etc/resolv.conf)"
echo "search $(grep -c '^search corp.test$' /etc/resolv.conf)"
echo "before $(agt connect 198.18.0.1 7001 | tail -n 1)"
echo "allowed $(agt dns-query "$ns" allowed.test a | tail -n 1)"
echo "connect $(agt connect 198.18.0.1 7001 | tail -n 1)"
echo "denied $(agt dns-query "$ns" denied.test a | tail -n 1)"
echo "elsewhere $(agt dns-query 127.0.0.2 allowed.test a | tail -n 1)"
echo "rewrite $(agt write /etc/resolv.conf 'nameserver 127.0.0.2' | tail -n 1)"
echo "unlink $(agt unlink /etc/resolv.conf | tail -n 1)"
S
: >"$AG_EVENTS"
rd_run /tmp/rd.yaml sh /tmp/rd-cmd.sh >/tmp/rd-out
echo "exit $?" >>/tmp/rd-out
field() { sed -n "s/^$1 //p" /tmp/rd-out; }
ns=$(field ns)

expect run_exit 0 field exit
expect resolv_names_own_address ok sh -c "echo '$ns' | grep -qE '^127\.53\.[0-9]+\.[0-9]+$' && echo ok"
expect resolv_only_nameserver 1 field nameservers
expect resolv_keeps_search 1 field search
expect unlearned_denied EPERM field before
expect allowed_name_resolves "NOERROR 198.18.0.1" field allowed
expect learned_connect_allowed "ok hi" field connect
expect denied_name_refused REFUSED field denied
expect_event denied_name_event '"kind":"dns","operation":"query"' '"name":"denied.test"' \
	'"rcode":"REFUSED"' '"decision":"deny"' '"rule":{"id":"rd:network.default"'
expect other_server_denied EPERM field elsewhere
expect_event other_server_event '"address":"127.0.0.2","port":53' '"builtin:dns-elsewhere"' \
	'"decision":"deny"'
expect resolv_read_only EROFS field rewrite
expect resolv_not_removable EBUSY field unlink

# Afterwards: the guest's file as it was, no mount of it anywhere, the resolver gone.
expect host_resolv_untouched ok sh -c 'cmp -s /etc/resolv.conf /tmp/rd-host-resolv.conf && echo ok'
expect host_resolv_not_mounted 0 sh -c 'grep -c " /etc/resolv.conf " /proc/self/mountinfo'
expect no_namespace_left 0 sh -c 'cat /proc/[0-9]*/mountinfo 2>/dev/null | grep -c resolv.conf'
expect resolver_gone ECONNREFUSED agt dns-query "$ns" allowed.test a
expect upstream_outside_control "NOERROR 198.18.0.1" agt dns-query 127.0.0.2 allowed.test a
expect nothing_pinned ok sh -c 'ls -d /sys/fs/bpf/agentguard-run-* 2>/dev/null | wc -l | grep -qx 0 && echo ok'
expect no_cgroup_left ok sh -c 'ls -d /sys/fs/cgroup/agentguard-run-* 2>/dev/null | wc -l | grep -qx 0 && echo ok'

# Without domain rules: no resolver, the host's resolv.conf, and DNS anywhere (the control).
rd_run /tmp/rd-plain.yaml sh -c 'sed -n "s/^nameserver //p" /etc/resolv.conf; agt dns-query 127.0.0.2 allowed.test a' >/tmp/rd-plain-out
expect plain_host_resolv 127.0.0.2 sed -n 1p /tmp/rd-plain-out
expect plain_dns_anywhere "NOERROR 198.18.0.1" sed -n 2p /tmp/rd-plain-out

# Two runs side by side: each has its own address, both resolve and connect. Each command
# waits until the other has started, so both resolvers serve at once.
cat >/tmp/rd-pair.sh <<'S'
ns=$(sed -n 's/^nameserver //p' /etc/resolv.conf | head -n 1)
echo "$ns" >"/tmp/rd-pair.$1"
i=0
while [ ! -f "/tmp/rd-pair.$2" ] && [ $i -lt 900 ]; do
	usleep 100000
	i=$((i + 1))
done
echo "$ns $(agt dns-query "$ns" allowed.test a | tail -n 1) $(agt connect 198.18.0.1 7001 | tail -n 1)"
S
rm -f /tmp/rd-pair.a /tmp/rd-pair.b
rd_run /tmp/rd.yaml sh /tmp/rd-pair.sh a b >/tmp/rd-pair-a.out &
pa=$!
rd_run /tmp/rd.yaml sh /tmp/rd-pair.sh b a >/tmp/rd-pair-b.out
wait $pa
na=$(cut -d' ' -f1 /tmp/rd-pair-a.out)
nb=$(cut -d' ' -f1 /tmp/rd-pair-b.out)
expect concurrent_a_works "NOERROR 198.18.0.1 ok hi" sh -c 'cut -d" " -f2- /tmp/rd-pair-a.out'
expect concurrent_b_works "NOERROR 198.18.0.1 ok hi" sh -c 'cut -d" " -f2- /tmp/rd-pair-b.out'
expect concurrent_own_addresses ok sh -c "[ -n '$na' ] && [ -n '$nb' ] && [ '$na' != '$nb' ] && echo ok"

# A symlinked /etc/resolv.conf (systemd-resolved's layout): the command sees its resolver
# through the link; the link and its target are left as they were.
mkdir -p /run/rd-stub
printf 'nameserver 127.0.0.2\n' >/run/rd-stub/stub.conf
mv /etc/resolv.conf /tmp/rd-resolv.saved
ln -s /run/rd-stub/stub.conf /etc/resolv.conf
rd_run /tmp/rd.yaml sh -c 'ns=$(sed -n "s/^nameserver //p" /etc/resolv.conf | head -n 1); echo $ns; agt dns-query "$ns" allowed.test a' >/tmp/rd-link-out
expect symlink_names_own_address ok sh -c 'sed -n 1p /tmp/rd-link-out | grep -qE "^127\.53\." && echo ok'
expect symlink_resolves "NOERROR 198.18.0.1" sed -n 2p /tmp/rd-link-out
expect symlink_kept /run/rd-stub/stub.conf readlink /etc/resolv.conf
expect symlink_target_untouched "nameserver 127.0.0.2" cat /run/rd-stub/stub.conf
rm -f /etc/resolv.conf
mv /tmp/rd-resolv.saved /etc/resolv.conf

expect daemon_errors none sh -c 'l=$(grep error /tmp/rd.log | head -n 1); echo "${l:-none}"'
kill %1 %2 2>/dev/null
