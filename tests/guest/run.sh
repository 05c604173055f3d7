# SPDX-License-Identifier: GPL-2.0
# Host mode, agentguard run (issue #10): a sandbox cgroup of its own for one command, with the
# policy enforced, inherited fds closed, no_new_privs, and the seccomp filter (EPERM for the
# listed calls, ENOSYS for clone3, io_uring_setup only when every layer allows it); CMD's exit
# status returned; what CMD leaves running is killed and nothing stays pinned afterwards.
. /tests/guest/lib.sh

mkdir -p /tmp/ru
echo s >/tmp/ru/secret
echo k >/tmp/ru/ok
cat >/tmp/ru.yaml <<'Y'
apiVersion: agentguard/v1
kind: Policy
metadata:
  name: ru
spec:
  filesystem:
    default: allow
    rules:
      - path: /tmp/ru/secret
        access: none
  network:
    default: allow
Y
sed 's/name: ru/name: ru-uring/; s/^  network:/  process:\n    io_uring: true\n  network:/' /tmp/ru.yaml >/tmp/ru-uring.yaml
run() { agentguard run --policy /tmp/ru.yaml --events /tmp/ru-events.jsonl -- "$@" 2>>/tmp/ru.log; }

expect run_denied_allowed "EPERM ok" run sh -c 'echo $(agt read /tmp/ru/secret) $(agt read /tmp/ru/ok)'
expect run_event 1 sh -c 'grep -c "\"path\":\"/tmp/ru/secret\".*\"decision\":\"deny\"" /tmp/ru-events.jsonl'
expect run_exit_status 7 sh -c "agentguard run --policy /tmp/ru.yaml -- sh -c 'exit 7' 2>/dev/null >/dev/null; echo \$?"
expect run_signal_status 137 sh -c "agentguard run --policy /tmp/ru.yaml -- sh -c 'kill -9 \$\$' 2>/dev/null >/dev/null; echo \$?"
# One sandboxed run answers the probes below (each run loads the programs: seconds under TCG).
probes='sysprobe nnp; sysprobe fd 7; for c in userfaultfd perf_event_open clone3 io_uring_setup keyctl; do sysprobe $c; done; sh -c "echo forked"'
sh -c "exec 7</tmp/ru/ok; agentguard run --policy /tmp/ru.yaml --events /tmp/ru-events.jsonl -- sh -c '$probes'" >/tmp/ru-probes.out 2>>/tmp/ru.log
line() { sed -n "${1}p" /tmp/ru-probes.out; }
expect run_no_new_privs 1 line 1
expect run_fds_closed closed line 2
expect outside_fd_open open sh -c 'exec 7</tmp/ru/ok; sysprobe fd 7'
# The filter: the same calls outside give the kernel's own answer.
expect filter_userfaultfd EPERM line 3
expect kernel_userfaultfd ok sysprobe userfaultfd
expect filter_perf_event EPERM line 4
expect kernel_perf_event EFAULT sysprobe perf_event_open
expect filter_clone3 ENOSYS line 5
expect kernel_clone3 EINVAL sysprobe clone3
expect filter_io_uring EPERM line 6
expect kernel_io_uring ok sysprobe io_uring_setup
expect filter_keyctl EPERM line 7
expect kernel_keyctl ok sysprobe keyctl
expect fork_still_works forked line 8
expect policy_allows_io_uring ok sh -c 'agentguard run --policy /tmp/ru-uring.yaml -- sysprobe io_uring_setup 2>/dev/null'
expect layer_cannot_widen_io_uring EPERM sh -c 'agentguard run --policy /tmp/ru.yaml --policy /tmp/ru-uring.yaml -- sysprobe io_uring_setup 2>/dev/null'
# What CMD leaves behind is killed before the policy goes, in child cgroups it made too, and
# those cgroups are removed with the sandbox's.
cat >/tmp/ru-leave.sh <<'S'
sleep 300 &
cg=/sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup)
mkdir -p "$cg/c1/c2" || exit 3
sh -c 'echo $$ >"$1/c1/c2/cgroup.procs" && exec sleep 301' child "$cg" &
i=0
while [ -z "$(cat "$cg/c1/c2/cgroup.procs")" ] && [ $i -lt 50 ]; do usleep 100000; i=$((i + 1)); done
wc -l <"$cg/c1/c2/cgroup.procs"
S
agentguard run --policy /tmp/ru.yaml -- sh /tmp/ru-leave.sh >/tmp/ru-leave.out 2>>/tmp/ru.log
expect leftover_in_child_cgroup 1 cat /tmp/ru-leave.out
expect leftover_killed 0 sh -c "pgrep -f 'sleep 30[01]' | wc -l"
expect nothing_pinned ok sh -c 'ls -d /sys/fs/bpf/agentguard-run-* 2>/dev/null | wc -l | grep -qx 0 && echo ok'
expect no_cgroup_left ok sh -c 'ls -d /sys/fs/cgroup/agentguard-run-* 2>/dev/null | wc -l | grep -qx 0 && echo ok'
expect bad_policy_exit 65 sh -c "printf 'kind: nope\n' >/tmp/ru-bad.yaml; agentguard run --policy /tmp/ru-bad.yaml -- true 2>/dev/null; echo \$?"
# With BPF-LSM present, --fallback landlock only permits a fallback: BPF-LSM enforces (EPERM, not
# Landlock's EACCES) and every event says so.
expect fallback_not_chosen_with_bpf_lsm EPERM sh -c 'agentguard run --policy /tmp/ru.yaml --fallback landlock --events /tmp/ru-fb.jsonl -- agt read /tmp/ru/secret 2>>/tmp/ru.log'
expect fallback_events_say_bpf_lsm ok sh -c 'grep -q "\"backend\":\"bpf-lsm\"" /tmp/ru-fb.jsonl && ! grep -q "\"backend\":\"landlock\"" /tmp/ru-fb.jsonl && echo ok'
