# SPDX-License-Identifier: GPL-2.0
# The scripted "agent" of make demo. It runs inside the sandbox cgroup of the microVM under
# policy/examples/ci-agent.yaml and does what a coding agent does, plus two things a
# prompt-injected one would try. Each step prints ALLOWED or DENIED with the kernel's answer.
step() {
	what=$1
	shift
	out=$("$@" 2>&1 | tail -n 1)
	case "$out" in
	ok*) printf '  ALLOWED  %-52s %s\n' "$what" "$out" ;;
	*) printf '  DENIED   %-52s %s\n' "$what" "$out" ;;
	esac
}

echo "agent: running in cgroup $(cut -d: -f3 /proc/self/cgroup)"
# Two listeners started by the demo itself, on loopback only: the project's API (allowed) and
# another local service (not in the policy).
agt serve 127.0.0.1 8080 1 >/tmp/api.log 2>&1 &
agt serve 127.0.0.1 9090 1 >/tmp/other.log 2>&1 &
sleep 1

step "read  /workspace/README.md" agt read /workspace/README.md
step "write /workspace/build/output.txt" agt write /workspace/build/output.txt "built by the agent"
step "read  /root/.ssh/id_ed25519 (a credential)" agt read /root/.ssh/id_ed25519
step "read  it again through a symlink in the workspace" agt read /workspace/innocent-link
step "overwrite /usr/local/bin/agbench (a system binary)" agt open /usr/local/bin/agbench w
step "connect 127.0.0.1:8080 (the project's API)" agt connect 127.0.0.1 8080
step "connect 127.0.0.1:9090 (not in the policy)" agt connect 127.0.0.1 9090
step "connect ::ffff:127.0.0.1:9090 (same, via IPv6)" agt connect ::ffff:127.0.0.1 9090
kill %2 2>/dev/null
wait 2>/dev/null
exit 0
