# SPDX-License-Identifier: GPL-2.0
# agentguard explain must give the kernel's verdict: generated paths and addresses under a
# two-layer policy (org in enforce, local with an audit-mode rule), each judged by explain and
# then tried in the sandbox. allow = the access succeeds; deny = EPERM; would-deny = the access
# succeeds and an event says would-deny.
. /tests/guest/lib.sh

mkdir -p "$AG_CG"
cat >/tmp/org.yaml <<'Y'
apiVersion: agentguard/v1
kind: Policy
metadata:
  name: org
  layer: org
spec:
  filesystem:
    default: allow
    rules:
      - path: /srv/keys
        access: none
      - path: /srv/shared
        access: ro
  network:
    default: allow
    rules:
      - action: deny
        cidr: 127.0.0.64/26
Y
cat >/tmp/local.yaml <<'Y'
apiVersion: agentguard/v1
kind: Policy
metadata:
  name: local
spec:
  filesystem:
    default: deny
    rules:
      - path: /bin
        access: ro
        exec: true
      - path: /usr
        access: ro
        exec: true
      - path: /lib
        access: ro
      - path: /dev
        access: rw
      - path: /proc
        access: ro
      - path: /srv
        access: rw
      - path: /srv/shared/drafts
        access: rw
      - path: /srv/audit
        access: none
        mode: audit
      - path: /srv/a
        access: ro
  network:
    default: deny
    rules:
      - action: allow
        cidr: 127.0.0.0/25
        ports: ["7100-7199"]
Y
# Objects for every case: rule paths, children, siblings, prefix look-alikes.
for d in /srv/keys /srv/keysx /srv/shared /srv/shared/drafts /srv/shared/draftsy /srv/audit \
	/srv/a /srv/ab /srv/a/b /srv/other /opt/x; do
	mkdir -p "$d"
	echo f >"$d/f"
done
ln -sf /srv/keys/f /srv/other/to-keys
ln -sf ../shared/drafts/f /srv/a/to-drafts
start_agentguard /tmp/org.yaml /tmp/local.yaml

n=0
for p in /srv/keys/f /srv/keysx/f /srv/shared/f /srv/shared/drafts/f /srv/shared/draftsy/f \
	/srv/audit/f /srv/a/f /srv/ab/f /srv/a/b/f /srv/other/f /opt/x/f /srv/other/to-keys \
	/srv/a/to-drafts /srv/a/../keys/f; do
	for mode in r w; do
		flag=; [ $mode = w ] && flag=--write
		want=$(agentguard explain /tmp/org.yaml /tmp/local.yaml --open "$p" $flag 2>/dev/null | cut -d' ' -f1)
		got=$(inside agt open "$p" $mode | tail -n 1)
		case "$want:$got" in
		allow:ok | deny:EPERM | would-deny:ok) pass "open_${n}_$mode" ;;
		*) fail "open_${n}_$mode" "$p ($mode): explain says $want, kernel says $got" ;;
		esac
		if [ "$want" = would-deny ]; then
			expect_event "open_${n}_${mode}_would_deny_event" '"decision":"would-deny","mode":"audit"' "\"path\":\"$(readlink -f "$p")\""
		fi
	done
	n=$((n + 1))
done

for port in 7100 7150 7199 7200; do
	agt serve 127.0.0.1 "$port" 1 >/dev/null 2>&1 &
	agt serve 127.0.0.70 "$port" 1 >/dev/null 2>&1 &
	agt serve 127.0.0.200 "$port" 1 >/dev/null 2>&1 &
done
usleep 300000
for addr in 127.0.0.1 127.0.0.70 127.0.0.200; do
	for port in 7100 7150 7199 7200; do
		want=$(agentguard explain /tmp/org.yaml /tmp/local.yaml --connect "$addr:$port" 2>/dev/null | cut -d' ' -f1)
		got=$(inside agt connect "$addr" "$port" | tail -n 1)
		case "$want:$got" in
		allow:ok* | deny:EPERM) pass "connect_${addr}_$port" ;;
		*) fail "connect_${addr}_$port" "explain says $want, kernel says $got" ;;
		esac
	done
done
end_suite
