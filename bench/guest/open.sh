# SPDX-License-Identifier: GPL-2.0
# Runs in the bench guest (vm/agentguard-vm --icount --smp 1), outside any sandbox. Prints one
# line per round: "round R base OUT IN" with the open+close cost (guest instructions) of a
# depth-4 path with no program attached, with the programs attached but the process outside the
# sandbox, and inside the sandbox on an allowed path (10-rule policy). Variants alternate
# within each round, so drift hits all of them alike.
N=${N:-40000}
WARM=${WARM:-100000}
ROUNDS=${ROUNDS:-5}
CG=/sys/fs/cgroup/agbench
P=/workspace/src/pkg/file.c
mkdir -p /workspace/src/pkg "$CG"
echo x >"$P"
cat >/tmp/bench.yaml <<'Y'
apiVersion: agentguard/v1
kind: Policy
metadata:
  name: bench
spec:
  filesystem:
    default: deny
    rules:
      - path: /workspace
        access: rw
      - path: /usr
        access: ro
        exec: true
      - path: /bin
        access: ro
        exec: true
      - path: /lib
        access: ro
      - path: /etc
        access: ro
      - path: /proc
        access: ro
      - path: /dev
        access: rw
      - path: /tmp
        access: rw
      - path: /root/.ssh
        access: none
      - path: /root/.aws
        access: none
  network:
    default: allow
Y
inside() { sh -c 'echo $$ > '"$CG"'/cgroup.procs && exec "$@"' inside "$@"; }
start() {
	rm -f /run/agbench-ready
	agentguard load --cgroup "$CG" --events /tmp/bench-events --ready-file /run/agbench-ready \
		/tmp/bench.yaml 2>/tmp/bench-daemon.log &
	DPID=$!
	while [ ! -f /run/agbench-ready ]; do
		kill -0 $DPID 2>/dev/null || { echo "daemon failed: $(cat /tmp/bench-daemon.log)"; exit 1; }
		usleep 50000
	done
}
stop() { kill -TERM $DPID; wait $DPID; }

echo "kernel $(uname -r)"
agbench open "$P" "$WARM" >/dev/null
r=1
while [ $r -le "$ROUNDS" ]; do
	base=$(agbench open "$P" "$N")
	start
	agbench open "$P" "$WARM" >/dev/null
	inside agbench open "$P" "$WARM" >/dev/null
	out=$(agbench open "$P" "$N")
	in=$(inside agbench open "$P" "$N")
	stop
	echo "round $r $base $out $in"
	r=$((r + 1))
done
