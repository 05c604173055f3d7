# SPDX-License-Identifier: GPL-2.0
# Runs in the bench guest (vm/agentguard-vm --icount --smp 1), outside any sandbox; bench/run
# shares /bench and /benchdata (the 100k-rule policy, the macro tarball). Prints:
#   round R BASE OUT IN DENIED OUT_NOIP IN_NOIP
#                                open+close of a depth-4 path (guest instructions): no program
#                                attached, programs attached but the process outside the
#                                sandbox, inside on an allowed path, inside on a denied path
#                                (EPERM; the kernel folds the repeated denial's events); then
#                                outside and inside again with every program but
#                                lsm/inode_permission (containment's hook, which runs for each
#                                path component: docs/containment.md says why it stays)
#   macro R OUT IN               unpack the macro tarball on tmpfs, checksum every file, delete
#                                the tree: outside and inside the sandbox
#   tables_100k BYTES            kernel memory of a 100,000-rule policy's tables (load's figure)
#   reload_100k_ms MS            agentguard reload to the 100,000-rule policy (icount ms)
#   old_gen_free_ms MS           the 100,000-rule generation's memory back in MemFree, from the
#                                end of the reload that displaced it (icount ms)
# Variants alternate within each round, so drift hits all of them alike.
# With the argument "wall" (bench/run's cross-check, booted without -icount): only the rounds,
# three of them; their figures are then wall-clock nanoseconds under TCG.
N=${N:-40000}
WARM=${WARM:-100000}
ROUNDS=${ROUNDS:-5}
[ "${1:-}" = wall ] && ROUNDS=3
MACRO_ROUNDS=${MACRO_ROUNDS:-5}
CG=/sys/fs/cgroup/agbench
P=/workspace/src/pkg/file.c
D=/workspace/secret/pkg/file.c
mkdir -p /workspace/src/pkg /workspace/secret/pkg "$CG"
echo x >"$P"
echo x >"$D"
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
      - path: /workspace/secret
        access: none
  network:
    default: allow
Y
inside() { sh -c 'echo $$ > '"$CG"'/cgroup.procs && exec "$@"' inside "$@"; }
start() { # POLICY
	rm -f /run/agbench-ready
	agentguard load --cgroup "$CG" --events /tmp/bench-events --ready-file /run/agbench-ready \
		"$1" 2>/tmp/bench-daemon.log &
	DPID=$!
	while [ ! -f /run/agbench-ready ]; do
		kill -0 $DPID 2>/dev/null || { echo "daemon failed: $(cat /tmp/bench-daemon.log)"; exit 1; }
		usleep 50000
	done
}
stop() { kill -TERM $DPID; wait $DPID; agentguard unload 2>/dev/null; }

echo "kernel $(uname -r)"
agbench open "$P" "$WARM" >/dev/null
r=1
while [ $r -le "$ROUNDS" ]; do
	base=$(agbench open "$P" "$N")
	start /tmp/bench.yaml
	agbench open "$P" "$WARM" >/dev/null
	inside agbench open "$P" "$WARM" >/dev/null
	inside agbench open-denied "$D" "$WARM" >/dev/null
	out=$(agbench open "$P" "$N")
	in=$(inside agbench open "$P" "$N")
	denied=$(inside agbench open-denied "$D" "$N")
	# Without inode_permission: the daemon stops (its fds held the links), the link's pin
	# goes, and the kernel detaches that one program; the others stay pinned.
	kill -TERM $DPID
	wait $DPID
	rm /sys/fs/bpf/agentguard/links/ag_inode_permission
	sleep 2
	out_noip=$(agbench open "$P" "$N")
	in_noip=$(inside agbench open "$P" "$N")
	agentguard unload 2>/dev/null
	echo "round $r $base $out $in $denied $out_noip $in_noip"
	r=$((r + 1))
done

[ "${1:-}" = wall ] && exit 0

# The macro workload: its own tmpfs, the tarball copied in first (untimed).
if [ -f /benchdata/macro.tar ]; then
	cp /benchdata/macro.tar /tmp/macro.tar
	mkdir -p /tmp/macro
	mount -t tmpfs macro /tmp/macro
	work='cd /tmp/macro && tar xf /tmp/macro.tar && find . -type f -exec sha256sum {} + >/dev/null && rm -rf ./*'
	agbench time sh -c "$work" >/dev/null
	start /tmp/bench.yaml
	inside agbench time sh -c "$work" >/dev/null
	r=1
	while [ $r -le "$MACRO_ROUNDS" ]; do
		out=$(agbench time sh -c "$work")
		in=$(inside agbench time sh -c "$work")
		echo "macro $r $out $in"
		r=$((r + 1))
	done
	stop
fi

# 100,000 rules: the tables' kernel memory as load reports it, and reload times.
if [ -f /benchdata/p100k.yaml ]; then
	start /benchdata/p100k.yaml
	bytes=$(sed -n 's/.* \([0-9]*\) bytes of kernel tables.*/\1/p' /tmp/bench-daemon.log)
	echo "tables_100k $bytes"
	r=1
	while [ $r -le 3 ]; do
		agentguard reload /tmp/bench.yaml 2>/dev/null
		ns=$(agbench time agentguard reload /benchdata/p100k.yaml 2>/dev/null)
		echo "reload_100k_ms $((ns / 1000000))"
		r=$((r + 1))
	done
	# Two slots: a generation stays in its slot until the next swap into that slot (before
	# 6.8 an inner map could be freed while a program still used it), so the 100k tables in
	# force now go at the second reload from here. The daemon keeps the generation it
	# loaded itself, and this one was installed by a reload that has exited: nothing else
	# holds it. Half the tables' bytes back in MemFree counts as freed.
	agentguard reload /tmp/bench.yaml 2>/dev/null
	ns=$(agbench freed $((${bytes:-0} / 2048)) sh -c 'agentguard reload /tmp/bench.yaml 2>/dev/null')
	[ -n "$ns" ] && echo "old_gen_free_ms $((ns / 1000000))"
	stop
fi
