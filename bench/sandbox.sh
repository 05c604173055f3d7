#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The microVM sandbox's part of make bench (issue #11): start-to-command latency of
# `agentguard sandbox run`, one JSON line per round on stdout:
#   start_ms   runner start to the guest's "enforcing" (from the start event's text): CMD
#              starts right after it; accel is the one the runner chose (the same probe
#              chooses the test bed's)
#   total_ms   the whole `sandbox run -- true`, boot to exit
#   boot_ms    the test bed booting the same kernel with no policy (`vm/agentguard-vm -- true`),
#              alternated with the sandbox rounds: the part of start_ms that is only the boot
# The network is off (--network none): the host filter's setup is not in these figures.
# Needs root and the 6.12 guest kernel.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
rounds=${SANDBOX_ROUNDS:-3}
tmp=$(mktemp -d "$top/build/tmp-sbxbench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/p.yaml" <<'Y'
apiVersion: agentguard/v1
kind: Policy
metadata:
  name: bench-sandbox
spec:
  filesystem:
    default: allow
  network:
    default: deny
Y
vm/fetch-kernel 6.12 >/dev/null
ms() { date +%s%3N; }
vm/agentguard-vm --kernel 6.12 --timeout 300 -- true	# warm the image cache
for i in $(seq "$rounds"); do
	t0=$(ms)
	vm/agentguard-vm --kernel 6.12 --timeout 300 -- true
	boot=$(($(ms) - t0))
	t0=$(ms)
	build/agentguard sandbox run --policy "$tmp/p.yaml" --network none --name "bench-sbx-$i" \
		--events "$tmp/ev.jsonl" -- true
	total=$(($(ms) - t0))
	# The start event says "... enforcing in the guest after N ms (ACCEL, kernel ...)".
	start=$(sed -n 's/.*enforcing in the guest after \([0-9]*\) ms (\([a-z]*\),.*/\1 \2/p' "$tmp/ev.jsonl" | tail -n 1)
	[ -n "$start" ] || { echo "sandbox bench: no start event in round $i" >&2; exit 1; }
	echo "{\"round\":$i,\"start_ms\":${start% *},\"accel\":\"${start#* }\",\"total_ms\":$total,\"boot_ms\":$boot}"
done
