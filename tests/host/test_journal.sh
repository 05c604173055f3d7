#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The journald sink against a real systemd-journald. The test starts its own journald in a
# private mount namespace (a tmpfs over /run, so its sockets are /run/systemd/journal/* there
# and nowhere else; volatile storage bind-mounted from a temporary directory), sends events
# through the real sink with build/tests/host/journal_emit (synthetic records with hostile
# paths, names and comm; and real kernel records of a denied connect()), and reads them back
# with `journalctl --directory DIR -o json`. Checks: one entry per event and no other, every
# AGENTGUARD_* field equal to the JSON sink's value for the same seq (paths byte for byte),
# no field or entry forged by a newline in a path, MESSAGE one escaped line, MESSAGE_ID and
# PRIORITY per kind and decision, and the catalog (docs/agentguard.catalog) in journalctl -x.
#
# Needs root (mount namespace, BPF), systemd-journald and journalctl (Debian's systemd), and
# /usr/bin/python3. Prints one "PASS name" or "FAIL name: why" line per check; exits 1 if any
# check failed.
#   JOURNAL_EMIT=path JOURNALD=path tests/host/test_journal.sh
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
emit=${JOURNAL_EMIT:-$top/build/tests/host/journal_emit}
journald=${JOURNALD:-/lib/systemd/systemd-journald}
py=${PYTHON:-/usr/bin/python3}
[ -x "$py" ] || py=python3

if [ "${AG_JOURNAL_INNER:-}" != 1 ]; then
	for need in "$emit" "$journald" "$(command -v journalctl)" "$(command -v unshare)"; do
		if [ ! -x "$need" ]; then
			echo "FAIL setup: ${need:-journalctl/unshare} not found or not executable (make; apt-get install systemd)"
			exit 1
		fi
	done
	if [ "$(id -u)" -ne 0 ]; then
		echo "FAIL setup: needs root (a mount namespace, BPF programs)"
		exit 1
	fi
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	AG_JOURNAL_INNER=1 AG_JOURNAL_TMP="$tmp" unshare -m --propagation private \
		bash "$top/tests/host/$(basename "$0")"
	exit $?
fi

# Inside the private mount namespace from here on.
tmp=$AG_JOURNAL_TMP
failed=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; failed=1; }

mkdir -p "$tmp/journal" "$tmp/catalog/usr/lib/systemd/catalog"
if ! mount -t tmpfs -o mode=0755 agtest-run /run; then
	echo "FAIL setup: cannot mount a tmpfs on /run in a private mount namespace"
	exit 1
fi
mkdir -p /run/systemd/journal /run/systemd/journald.conf.d /run/log/journal
mount --bind "$tmp/journal" /run/log/journal
# Last in sort order, so it wins over the host's drop-ins. No kmsg, no forwarding, no limit.
cat >/run/systemd/journald.conf.d/zz-agentguard-test.conf <<'EOF'
[Journal]
Storage=volatile
RateLimitIntervalSec=0
RateLimitBurst=0
ReadKMsg=no
ForwardToSyslog=no
ForwardToKMsg=no
ForwardToConsole=no
ForwardToWall=no
EOF

SYSTEMD_LOG_TARGET=console SYSTEMD_LOG_LEVEL=info "$journald" >"$tmp/journald.log" 2>&1 &
jpid=$!
for _ in $(seq 100); do
	[ -S /run/systemd/journal/socket ] && break
	kill -0 "$jpid" 2>/dev/null || break
	sleep 0.05
done
if [ ! -S /run/systemd/journal/socket ]; then
	echo "FAIL setup: $journald did not create /run/systemd/journal/socket: $(tail -n 3 "$tmp/journald.log" | tr '\n' ' ')"
	kill "$jpid" 2>/dev/null
	exit 1
fi
pass journald-started

if "$emit" synthetic >"$tmp/synthetic.jsonl" 2>"$tmp/synthetic.err"; then
	pass emit-synthetic
else
	fail emit-synthetic "$(head -c 300 "$tmp/synthetic.err")"
fi
if "$emit" connect >"$tmp/connect.jsonl" 2>"$tmp/connect.err"; then
	pass emit-real-connect
else
	fail emit-real-connect "$(head -c 300 "$tmp/connect.err")"
fi

# Everything sent is stored before we read: journald answers Synchronize only then.
journalctl --sync 2>"$tmp/sync.err" || fail journal-sync "$(head -c 200 "$tmp/sync.err")"
kill "$jpid" 2>/dev/null
wait "$jpid" 2>/dev/null
dir=$(find "$tmp/journal" -mindepth 1 -maxdepth 1 -type d | head -n 1)
if [ -z "$dir" ] || ! journalctl --directory "$dir" -o json --all >"$tmp/journal.json" 2>"$tmp/jctl.err"; then
	fail journal-read "journalctl --directory ${dir:-?}: $(head -c 200 "$tmp/jctl.err")"
	exit 1
fi

"$py" - "$tmp/journal.json" "$tmp/synthetic.jsonl" "$tmp/connect.jsonl" <<'EOF' || failed=1
import base64, json, sys

journal_path, *jsonl = sys.argv[1:]
failed = False

def check(name, ok, why=""):
    global failed
    print(("PASS %s" % name) if ok else ("FAIL %s: %s" % (name, why)))
    failed |= not ok

MSGID = {"file": "209b2284a7df40fba437b5288ef0aed6", "exec": "4649c2c6a01f4b158d69987a66123dc5",
         "network": "1606a12b0eae470b8213b15b1cfaabf3",
         "containment": "7fc972878b1543729f3fdb6308f5a5ce"}
PRIO = {"deny": "4", "would-deny": "5"}
TARGET = {"pid": "TARGET_PID", "mode": "PTRACE_MODE", "cgroup_id": "TARGET_CGROUP_ID"}
FORGE = (b"/work/x\nAGENTGUARD_DECISION=allow\nMESSAGE_ID=00000000000000000000000000000000\n"
         b"PRIORITY=0\n\nMESSAGE=forged")
NASTY = b"/work/q\"uo\\te\x01\x1b[31m\x7f\t\r\xff\xfe\xc3(end"
COMM = b"ev\nil\"\\\x1b"

def raw(v):
    """A journal value as bytes: journalctl -o json shows binary values as arrays of bytes."""
    if isinstance(v, list) and all(isinstance(x, int) for x in v):
        return bytes(v)
    if isinstance(v, str):
        return v.encode("utf-8")
    return None  # several values for one field

all_entries = [json.loads(l) for l in open(journal_path) if l.strip()]
ours = [e for e in all_entries if e.get("SYSLOG_IDENTIFIER") == "agentguard"]
events = []
for p in jsonl:
    src = "real" if p.endswith("connect.jsonl") else "synthetic"
    events += [dict(json.loads(l), _src=src) for l in open(p) if l.strip()]
check("events-written", len(events) >= 8, "only %d JSON events from journal_emit" % len(events))
check("one-entry-per-event", len(ours) == len(events),
      "%d agentguard entries for %d events" % (len(ours), len(events)))
forged = [e for e in all_entries if e.get("MESSAGE") in ("forged", "forged-name")
          or e.get("MESSAGE_ID") == "0" * 32 or e.get("PRIORITY") == "0"]
check("no-forged-entry", not forged, "forged entries: %r" % forged[:2])

by_key = {}
for e in ours:
    by_key[(raw(e.get("AGENTGUARD_SESSION")), raw(e.get("AGENTGUARD_SEQ")))] = e

def expected_fields(ev):
    f = {"SCHEMA_VERSION": "1", "SEQ": ev["seq"], "KSEQ": ev["kseq"], "TIME": ev["time"],
         "HOST": ev["host"], "SESSION": ev["session"], "SANDBOX": ev["sandbox"],
         "BACKEND": ev["backend"],
         "UID": ev["identity"]["uid"], "GID": ev["identity"]["gid"],
         "USER": ev["identity"]["user"], "OPERATOR": ev["identity"]["operator"],
         "PID": ev["process"]["pid"], "TID": ev["process"]["tid"],
         "PPID": ev["process"]["ppid"], "CGROUP_ID": ev["process"]["cgroup_id"],
         "COMM": ev["process"]["comm"], "KIND": ev["kind"], "OPERATION": ev["operation"],
         "DECISION": ev["decision"], "MODE": ev["mode"], "RULE_ID": ev["rule"]["id"],
         "RULE_LAYER": ev["rule"]["layer"], "POLICY_NAME": ev["policy"]["name"],
         "POLICY_SHA256": ev["policy"]["sha256"] or None,
         "POLICY_GENERATION": ev["policy"]["generation"], "REPEATS": ev["repeats"],
         "ORIGIN": ev.get("origin"), "SANDBOX_NAME": ev.get("sandbox_name")}
    p = ev["process"]
    if p.get("exe") is not None:
        f["EXE"] = base64.b64decode(p["exe_b64"]) if "exe_b64" in p else p["exe"]
    if p.get("ancestry") is not None:
        f["ANCESTRY"] = b"\n".join(base64.b64decode(a["exe_b64"]) if "exe_b64" in a
                                   else a["exe"].encode() for a in p["ancestry"])
    t = dict(ev["target"])
    b64 = t.pop("path_b64", None)
    for k, v in t.items():
        if k == "access":
            v = ",".join(v)
        f[TARGET.get(k, k.upper())] = v
    if b64 is not None:
        f["PATH"] = base64.b64decode(b64)
    out = {}
    for k, v in f.items():
        if v is None:
            continue
        out["AGENTGUARD_" + k] = v if isinstance(v, bytes) else str(v).encode("utf-8")
    return out

for ev in events:
    name = "%s-%s-%s-seq%d" % (ev.pop("_src"), ev["kind"], ev["operation"], ev["seq"])
    e = by_key.get((ev["session"].encode(), str(ev["seq"]).encode()))
    if e is None:
        check(name + "-stored", False, "no journal entry for this seq")
        continue
    want = expected_fields(ev)
    got = {k: raw(v) for k, v in e.items() if k.startswith("AGENTGUARD_")}
    multi = sorted(k for k, v in got.items() if v is None)
    check(name + "-single-values", not multi, "fields with several values: %s" % multi)
    check(name + "-field-set", set(got) == set(want),
          "extra %s, missing %s" % (sorted(set(got) - set(want)), sorted(set(want) - set(got))))
    diff = sorted(k for k in want if k in got and got[k] != want[k])
    check(name + "-field-values", not diff,
          "; ".join("%s=%r want %r" % (k, got[k], want[k]) for k in diff[:3]))
    msg = e.get("MESSAGE")
    check(name + "-message-one-line",
          isinstance(msg, str) and msg.startswith("agentguard: ") and
          not any(ord(c) < 0x20 or 0x7f <= ord(c) < 0xa0 for c in msg), repr(msg)[:200])
    check(name + "-ids",
          e.get("MESSAGE_ID") == MSGID[ev["kind"]] and e.get("PRIORITY") == PRIO[ev["decision"]]
          and e.get("OBJECT_PID") == str(ev["process"]["pid"]),
          "MESSAGE_ID %s PRIORITY %s OBJECT_PID %s" % (e.get("MESSAGE_ID"), e.get("PRIORITY"),
                                                       e.get("OBJECT_PID")))

paths = {raw(e.get("AGENTGUARD_PATH")): e for e in ours if "AGENTGUARD_PATH" in e}
e = paths.get(FORGE)
check("newline-path-exact", e is not None and raw(e["AGENTGUARD_DECISION"]) == b"deny",
      "no entry with the path's exact bytes and decision deny")
check("newline-path-message-escaped", e is not None and "\\x0aAGENTGUARD_DECISION=allow\\x0a" in e["MESSAGE"],
      repr(e and e["MESSAGE"])[:200])
e = paths.get(NASTY)
check("invalid-utf8-path-exact-bytes", e is not None and isinstance(e["AGENTGUARD_PATH"], list),
      "no entry with the exact bytes stored as binary")
check("invalid-utf8-path-message",
      e is not None and '/work/q"uo\\\\te\\x01\\x1b[31m\\x7f\\x09\\x0d\\xff\\xfe\\xc3(end' in e["MESSAGE"],
      repr(e and e["MESSAGE"])[:200])
names = [raw(e.get("AGENTGUARD_NAME")) for e in ours if "AGENTGUARD_NAME" in e]
check("newline-name-exact", b"kernel/x\nMESSAGE=forged-name" in names, repr(names))
real = [ev for ev in events if ev["kind"] == "network" and ev["target"]["port"] == 9]
check("real-kernel-event", len(real) >= 1 and real[0]["target"]["address"] == "127.0.0.1" and
      real[0]["process"]["ppid"] is None, repr(real)[:200])
comms = [raw(e.get("AGENTGUARD_COMM")) for e in ours if raw(e.get("AGENTGUARD_COMM")) != b"agt"]
check("hostile-comm-exact", comms and all(c == COMM for c in comms), repr(comms))
sys.exit(1 if failed else 0)
EOF

# The catalog: valid for journalctl, and its text attached to our entries by journalctl -x.
cp docs/agentguard.catalog "$tmp/catalog/usr/lib/systemd/catalog/"
if journalctl --root="$tmp/catalog" --update-catalog 2>"$tmp/cat.err"; then
	journalctl --root="$tmp/catalog" --list-catalog >"$tmp/cat.list" 2>>"$tmp/cat.err"
	missing=""
	for id in 209b2284a7df40fba437b5288ef0aed6 4649c2c6a01f4b158d69987a66123dc5 \
		1606a12b0eae470b8213b15b1cfaabf3 7fc972878b1543729f3fdb6308f5a5ce; do
		grep -q "^$id " "$tmp/cat.list" || missing="$missing $id"
	done
	[ -z "$missing" ] && pass catalog-entries || fail catalog-entries "not in the catalog:$missing"
	if [ -d /var/lib/systemd/catalog ] &&
		mount --bind "$tmp/catalog/var/lib/systemd/catalog" /var/lib/systemd/catalog 2>/dev/null &&
		journalctl --directory "$dir" -x -o short MESSAGE_ID=209b2284a7df40fba437b5288ef0aed6 \
			>"$tmp/x.out" 2>&1 &&
		grep -q "Subject: file access deny in sandbox /agentguard-sandbox" "$tmp/x.out"; then
		pass catalog-explains-entries
	else
		fail catalog-explains-entries "journalctl -x: $(head -c 300 "$tmp/x.out" 2>/dev/null)"
	fi
else
	fail catalog-entries "journalctl --update-catalog: $(head -c 300 "$tmp/cat.err")"
fi
exit $failed
