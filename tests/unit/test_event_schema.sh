#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Event schema v1 against the formatter: docs/event.schema.json is a valid draft 2020-12 schema,
# every sample event that build/tests/unit/event_samples makes from synthetic ring records (every
# kind and operation, through userspace/events.c) is valid, the schema rejects what the formatter
# must never write (so it has teeth), the hostile strings come out escaped and exact, every
# containment operation events.c can name is in the schema, and every field is in docs/events.md.
# The host's reader of a sandbox guest's records (userspace/guest_rx.c) is held to the same
# schema: every sample and fuzz seed goes through ag_guest_rx_parse and ag_guest_rx_format
# (build/tests/unit/test_guest_rx --filter) and must come out schema-valid, and every record the
# schema rejects below must be refused, but for the checks guest_rx leaves out (docs/sandbox.md).
#
# Needs Debian's python3-jsonschema (scripts/deps.sh). Prints one "PASS name" or
# "FAIL name: why" line per check; exits 1 if any check failed.
#   EVENT_SAMPLES=path GUEST_RX=path PYTHON=path/to/python3 tests/unit/test_event_schema.sh
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
samples=${EVENT_SAMPLES:-build/tests/unit/event_samples}
guest_rx=${GUEST_RX:-build/tests/unit/test_guest_rx}
py=${PYTHON:-/usr/bin/python3}
[ -x "$py" ] || py=python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ ! -x "$samples" ]; then
	echo "FAIL setup: $samples not built (make; the rule is in tests/unit/events.mk)"
	exit 1
fi
if [ ! -x "$guest_rx" ]; then
	echo "FAIL setup: $guest_rx not built (make $guest_rx)"
	exit 1
fi
if ! "$py" -c 'import jsonschema; jsonschema.Draft202012Validator' 2>"$tmp/py.err"; then
	echo "FAIL setup: $py cannot import jsonschema (scripts/deps.sh installs python3-jsonschema): $(tail -n 1 "$tmp/py.err")"
	exit 1
fi
if ! "$samples" >"$tmp/events.jsonl" 2>"$tmp/samples.err"; then
	echo "FAIL samples: $samples exited non-zero: $(head -c 300 "$tmp/samples.err")"
	exit 1
fi

"$py" - docs/event.schema.json "$tmp/events.jsonl" userspace/events.c docs/events.md "$guest_rx" \
	tests/fuzz/seeds-fuzz_guest_rx <<'EOF'
import base64, copy, glob, json, re, subprocess, sys
import jsonschema

schema_path, events_path, events_c, events_md, guest_rx, seeds_dir = sys.argv[1:7]
failed = False

def check(name, ok, why=""):
    global failed
    if ok:
        print("PASS %s" % name)
    else:
        print("FAIL %s: %s" % (name, why))
        failed = True

schema = json.load(open(schema_path))
try:
    jsonschema.Draft202012Validator.check_schema(schema)
    check("schema-is-draft-2020-12", True)
except jsonschema.SchemaError as e:
    check("schema-is-draft-2020-12", False, e.message[:200])
    sys.exit(1)
fc = getattr(jsonschema.Draft202012Validator, "FORMAT_CHECKER", jsonschema.FormatChecker())
v = jsonschema.Draft202012Validator(schema, format_checker=fc)

def first_error(doc):
    errs = sorted(v.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if not errs:
        return None
    e = errs[0]
    return "%s: %s" % ("/".join(str(p) for p in e.absolute_path) or "(root)", e.message[:200])

raw = open(events_path, "rb").read()
lines = raw.split(b"\n")
check("one-event-per-line", lines[-1] == b"" and len(lines) - 1 == 92,
      "%d lines, want 92 and a final newline" % (len(lines) - 1))
events = []
for i, l in enumerate(lines[:-1]):
    try:
        events.append(json.loads(l.decode("utf-8")))
    except Exception as e:
        check("line-%02d-parses" % (i + 1), False, str(e))
        events.append(None)

# Folding: the kernel's fold record is written as a copy of the report it folds, with its count;
# one for a report the consumer never saw becomes a "folded" loss event.
if len(events) >= 3 and all(events[-3:]):
    a, b, c = events[-3:]
    same = {k: a[k] for k in ("kind", "operation", "target", "process", "rule")}
    check("fold-copies-its-report", all(b[k] == same[k] for k in same) and a["repeats"] == 0
          and b["repeats"] == 5 and b["seq"] == a["seq"] + 1 and b["kseq"] != a["kseq"],
          "%r / %r" % (a, b))
    check("fold-unmatched-is-counted", c["kind"] == "loss" and c["operation"] == "folded"
          and c["target"]["count"] == 4 and c["target"]["lost_kind"] == "network", repr(c))
# Process attribution: untrusted exe bytes kept exactly in exe_b64; unknown is null.
hostile = [e for e in events if e and e["process"] and e["process"].get("exe_b64")]
check("exe-b64-exact", len(hostile) == 1 and base64.b64decode(hostile[0]["process"]["exe_b64"])
      == b"/work/bad\xff\xfe-\xc3(\xed\xa0\x80.txt" and hostile[0]["process"]["exe_cut"]
      and hostile[0]["process"]["ancestry"][1]["cut"]
      and not hostile[0]["process"]["ancestry_complete"], repr(hostile[:1]))
check("exe-unknown-is-null", any(e and e["process"] and e["process"]["exe"] is None
                                 and e["process"]["ancestry"] is None for e in events), "")

# (a) every sample is valid.
for i, ev in enumerate(events):
    if ev is None:
        continue
    name = "valid-%02d-%s-%s" % (i + 1, ev.get("kind"), ev.get("operation"))
    err = first_error(ev)
    check(name, err is None, err)

good = [e for e in events if e]
seqs = [e["seq"] for e in good]
check("seq-strictly-increasing", seqs == sorted(set(seqs)) and seqs[0] == 1, str(seqs[:5]))

# (b) coverage: every kind, and every containment operation events.c can name.
kinds = {e["kind"] for e in good}
check("covers-every-kind", kinds == {"file", "exec", "network", "dns", "containment", "loss"}, str(kinds))
dns_ops = {e["operation"] for e in good if e["kind"] == "dns"}
check("covers-every-dns-operation", dns_ops == {"query", "answer"}, str(dns_ops))
backends = {e["backend"] for e in good}
check("covers-every-backend", backends == {"bpf-lsm", "landlock"}, str(backends))
src = open(events_c).read()
m = re.search(r"static const char \*contain_op_name\(.*?\n}\n", src, re.S)
c_ops = set(re.findall(r'return "([a-z-]+)";', m.group(0))) if m else set()
schema_ops = set(schema["$defs"]["containment_operation"]["enum"])
check("schema-has-every-containment-op", c_ops and c_ops <= schema_ops,
      "in events.c, not in the schema: %s" % sorted(c_ops - schema_ops))
seen_ops = {e["operation"] for e in good if e["kind"] == "containment"}
check("samples-cover-every-containment-op", c_ops - {"unknown"} <= seen_ops,
      "no sample for: %s" % sorted(c_ops - {"unknown"} - seen_ops))
# The same for file operations; the exec kind's operations are checked below.
m = re.search(r"static const char \*file_op_name\(.*?\n}\n", src, re.S)
f_ops = set(re.findall(r'"([a-z-]+)"', m.group(0))) if m else set()
file_branch = next(c["then"] for c in schema["allOf"]
                   if c.get("if", {}).get("properties", {}).get("kind", {}).get("const") == "file")
schema_fops = set(file_branch["properties"]["operation"]["enum"])
fx = {"exec", "execve", "mmap", "mprotect"}
check("schema-has-every-file-op", f_ops and f_ops - fx <= schema_fops,
      "in events.c, not in the schema: %s" % sorted(f_ops - fx - schema_fops))
seen_fops = {e["operation"] for e in good if e["kind"] == "file"}
check("samples-cover-every-file-op", f_ops - {"unknown"} - fx <= seen_fops,
      "no sample for: %s" % sorted(f_ops - {"unknown"} - fx - seen_fops))
exec_branch = next(c["then"] for c in schema["allOf"]
                   if c.get("if", {}).get("properties", {}).get("kind", {}).get("const") == "exec")
schema_xops = set(exec_branch["properties"]["operation"]["enum"])
x_ops = {"exec", "execve", "mmap", "mprotect"}
check("schema-has-every-exec-op", x_ops <= schema_xops and x_ops <= f_ops,
      "exec operations missing from the schema or events.c: %s" %
      sorted(x_ops - (schema_xops & f_ops)))
seen_xops = {e["operation"] for e in good if e["kind"] == "exec"}
check("samples-cover-every-exec-op", x_ops <= seen_xops,
      "no sample for: %s" % sorted(x_ops - seen_xops))
# Every loss operation ag_event_sink_loss can write (the daemon's and the sandbox runner's
# guest-* ones) is in the schema's loss branch, and has a sample.
m = re.search(r"void ag_event_sink_loss\(.*?\n}\n", src, re.S)
m = re.search(r"ev\.operation = (.*?);", m.group(0), re.S) if m else None
l_ops = set(re.findall(r'"([a-z-]+)"', m.group(1))) if m else set()
loss_branch = next(c["then"] for c in schema["allOf"]
                   if c.get("if", {}).get("properties", {}).get("kind", {}).get("const") == "loss")
schema_lops = set(loss_branch["properties"]["operation"]["enum"])
want_lops = {"ring-full", "rate-limited", "folded", "upgrade", "guest-malformed",
             "guest-oversized", "guest-rate-limited", "write-failed"}
check("schema-has-every-loss-op", want_lops <= l_ops and l_ops <= schema_lops,
      "events.c writes %s; not in the schema: %s" % (sorted(l_ops), sorted(l_ops - schema_lops)))
seen_lops = {e["operation"] for e in good if e["kind"] == "loss"}
check("samples-cover-every-loss-op", l_ops and l_ops <= seen_lops,
      "no sample for: %s" % sorted(l_ops - seen_lops))
check("guest-loss-lost-kind-unknown", all(e["target"]["lost_kind"] == "unknown"
                                          and e["rule"] == {"id": None, "layer": None}
                                          for e in good if e["operation"].startswith("guest-")
                                          or e["operation"] == "write-failed"),
      "")
check("path-ops-are-writes", all(e["target"]["access"] == ["write"] for e in good
                                 if e["kind"] == "file" and e["operation"] not in
                                 ("open", "receive")), "")

# (c) hostile strings: escaped in the line, exact in the value, invalid bytes in path_b64.
hostile = b"/work/a\nb\"c\\d\x01\x1f\x7f\te\r"
invalid = b"/work/bad\xff\xfe-\xc3(\xed\xa0\x80.txt"
by_path = {e["target"].get("path"): e for e in good if e["kind"] in ("file", "exec")}
e = by_path.get(hostile.decode())
check("hostile-path-exact", e is not None and "path_b64" not in e["target"],
      "no event with the exact path, or an unexpected path_b64")
check("hostile-path-escaped-in-line",
      b'"path":"/work/a\\u000ab\\"c\\\\d\\u0001\\u001f\\u007f\\u0009e\\u000d"' in raw,
      "the escaped form is not in the output")
want = "/work/bad\ufffd\ufffd-\ufffd(\ufffd\ufffd\ufffd.txt"
e = by_path.get(want)
check("invalid-utf8-path-fffd", e is not None, "no event with path %r" % want)
check("invalid-utf8-path-b64-exact",
      e is not None and base64.b64decode(e["target"].get("path_b64", "")) == invalid,
      "path_b64 does not decode to the kernel's bytes")
check("valid-paths-have-no-b64",
      all("path_b64" not in x["target"] for x in good
          if x["kind"] in ("file", "exec") and x["target"].get("path") != want), "")
comm = [x for x in good if x["process"] and x["process"]["comm"] != "agt"]
check("hostile-comm-exact", len(comm) == 1 and comm[0]["process"]["comm"] == 'ev"il\n\\c\x1b',
      repr([x["process"]["comm"] for x in comm]))
names = [x["target"].get("name") for x in good if x["kind"] == "containment"]
check("hostile-name-escaped", 'x"\n\\\x01y\ufffd' in names, repr(names[-3:]))
check("builtin-rule-named", any(x["rule"] == {"id": "builtin:unknown", "layer": "builtin"}
                                 for x in good), "")

# (d) the schema rejects what the formatter must never write.
def first(pred):
    return copy.deepcopy(next(x for x in good if pred(x)))

refused = []  # (name, record) the schema rejects: guest_rx must refuse them too

def rejects(name, doc):
    check("rejects-" + name, first_error(doc) is not None, "the schema accepted it")
    refused.append((name, doc))

d = first(lambda x: x["kind"] == "file"); d["extra"] = 1; rejects("unknown-field", d)
d = first(lambda x: x["kind"] == "file"); d["target"]["inode"] = 1; rejects("unknown-target-field", d)
d = first(lambda x: x["kind"] == "file"); d["kind"] = "loss"; rejects("loss-with-process-and-file-target", d)
d = first(lambda x: x["kind"] == "file"); d["kind"] = "dns"; rejects("dns-with-process-and-file-target", d)
d = first(lambda x: x["kind"] == "dns"); d["target"]["qtype"] = "txt"; rejects("dns-qtype-lower-case", d)
d = first(lambda x: x["kind"] == "dns"); d["target"]["name"] = "a\nb"; rejects("dns-name-control-byte", d)
d = first(lambda x: x["kind"] == "dns"); d["decision"] = "allow"; d["mode"] = "enforce"; rejects("dns-allow", d)
d = first(lambda x: x["kind"] == "network" and "domain" in x["target"]); d["target"]["domain"] = ""; rejects("network-empty-domain", d)
d = first(lambda x: x["kind"] == "file"); d["schema_version"] = 2; rejects("schema-version-2", d)
d = first(lambda x: x["kind"] == "file"); d["backend"] = "seccomp"; rejects("unknown-backend", d)
d = first(lambda x: x["kind"] == "file"); del d["backend"]; rejects("missing-backend", d)
d = first(lambda x: x["kind"] == "file"); d["seq"] = 0; rejects("seq-0", d)
d = first(lambda x: x["kind"] == "file"); d["time"] = "2026-01-01T00:00:00Z"; rejects("time-without-ns", d)
d = first(lambda x: x["decision"] == "would-deny"); d["mode"] = "enforce"; rejects("would-deny-enforce", d)
d = first(lambda x: x["decision"] == "deny"); d["mode"] = "audit"; rejects("deny-audit", d)
d = first(lambda x: x["kind"] == "network"); d["process"]["ppid"] = 1; rejects("network-ppid", d)
d = first(lambda x: x["kind"] == "file"); d["process"]["ppid"] = None; rejects("file-ppid-null", d)
d = first(lambda x: x["operation"] == "device"); d["process"]["ppid"] = 1; rejects("device-ppid", d)
d = first(lambda x: x["kind"] == "file" and x["target"]["path"]); d["target"]["path_error"] = 2; rejects("path-and-path-error", d)
d = first(lambda x: x["kind"] == "file" and x["target"]["path"] is None); del d["target"]["path_error"]; rejects("null-path-without-error", d)
d = first(lambda x: x["kind"] == "file"); d["target"]["access"] = []; rejects("empty-access", d)
d = first(lambda x: x["operation"] == "unlink"); d["target"]["access"] = ["read"]; rejects("path-op-not-write", d)
d = first(lambda x: x["kind"] == "containment"); d["policy"]["name"] = "p"; rejects("builtin-with-policy-name", d)
d = first(lambda x: x["kind"] == "containment"); d["rule"]["layer"] = "local"; rejects("containment-not-builtin", d)
d = first(lambda x: x["kind"] == "file"); d["rule"] = {"id": "builtin:mount", "layer": "builtin"}; d["policy"]["name"] = None; rejects("builtin-on-file", d)
d = first(lambda x: x["kind"] == "file"); d["rule"] = {"id": "builtin:privileged-xattr", "layer": "builtin"}; d["policy"]["name"] = None; rejects("privileged-xattr-on-open", d)
d = first(lambda x: x["kind"] == "containment"); d["decision"] = "would-deny"; d["mode"] = "audit"; rejects("containment-would-deny", d)
d = first(lambda x: x["operation"] == "signal"); d["target"]["signal"] = "KILL"; rejects("signal-as-string", d)
d = first(lambda x: x["operation"] == "capable"); d["target"] = {"arg": 1, "cgroup_id": 0}; rejects("capable-wrong-target", d)
d = first(lambda x: x["kind"] == "network"); d["target"]["judged_as"] = "10.0.0.1"; d["target"]["family"] = "ipv4"; rejects("judged-as-on-ipv4", d)
d = first(lambda x: x["kind"] == "file" and x["rule"]["id"]); d["rule"]["id"] = None; rejects("null-id-with-layer", d)

# A loss event exactly as cmd_load emits it (tests/guest/audit_loss.sh makes real ones).
loss = {"schema_version": 1, "seq": 1001, "kseq": None, "time": "2026-11-24T05:27:48.046849618Z",
        "host": "h", "session": "s", "sandbox": "/agtest", "backend": "bpf-lsm",
        "identity": None, "process": None, "kind": "loss", "operation": "ring-full",
        "target": {"lost_kind": "file", "count": 2000, "since": "2026-11-24T05:27:30.100000000Z"},
        "decision": "would-deny", "mode": "audit", "repeats": 0,
        "rule": {"id": "loss:filesystem[0]", "layer": "local"},
        "policy": {"name": "loss", "sha256": "0" * 64, "generation": 1}}
check("accepts-loss-event", first_error(loss) is None, str(first_error(loss)))
d = copy.deepcopy(loss); d["target"]["count"] = 0; rejects("loss-count-zero", d)
life = {"schema_version": 1, "seq": 1, "kseq": None, "time": "2026-11-24T05:27:48.046849618Z",
        "host": "h", "session": "s", "sandbox": "/agtest", "backend": "landlock",
        "identity": None, "process": None, "kind": "lifecycle", "operation": "start",
        "target": {"detail": "enforcing 1 policy on cgroup /sys/fs/cgroup/agtest"},
        "decision": "allow", "mode": "enforce", "repeats": 0, "rule": {"id": None, "layer": None},
        "policy": {"name": None, "sha256": "0" * 64, "generation": 1}}
check("accepts-lifecycle-event", first_error(life) is None, str(first_error(life)))
d = copy.deepcopy(life); d["operation"] = "pause"; rejects("lifecycle-unknown-operation", d)

# (f) guest_rx agrees with the schema. Its output for every sample and seed is schema-valid,
# with origin guest and the sandbox's name; whatever the schema rejects, it refuses.
def through_guest_rx(lines):
    p = subprocess.run([guest_rx, "--filter", "box-1"], input=b"".join(l + b"\n" for l in lines),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = p.stdout.split(b"\n")
    if p.returncode or out[-1] != b"" or len(out) - 1 != len(lines):
        return None
    return out[:-1]

d = copy.deepcopy(good[0]); d["policy"]["sha256"] = "00"; rejects("sha256-not-64-hex", d)
d = copy.deepcopy(good[0]); d["policy"]["sha256"] = "A" * 64; rejects("sha256-upper-case", d)
d = first(lambda x: x["kind"] == "file"); d["target"] = {"inode": 1}; rejects("target-only-inode", d)
d = first(lambda x: x["kind"] == "file"); d["process"]["comm"] = "x" * 17; rejects("comm-17", d)
d = first(lambda x: x["kind"] == "network"); d["target"]["address"] = "192.0.2.300"; rejects("network-bad-address", d)
d = first(lambda x: x["kind"] == "network"); d["target"]["port"] = 65536; rejects("network-port-65536", d)
d = first(lambda x: x["kind"] == "dns"); d["target"]["rcode"] = "NOPE"; rejects("dns-unknown-rcode", d)
d = first(lambda x: x["kind"] == "dns"); d["kseq"] = 7; rejects("dns-with-kseq", d)
d = first(lambda x: x["kind"] == "dns" and x["operation"] == "answer"); d["target"]["address"] = "10.0.0.5 x"; rejects("dns-answer-address-not-an-address", d)
d = first(lambda x: x["kind"] == "dns" and x["operation"] == "answer"); del d["target"]["address"]; rejects("dns-answer-without-address", d)
d = first(lambda x: x["kind"] == "dns" and x["operation"] == "query"); d["target"]["address"] = "10.0.0.5"; rejects("dns-query-with-address", d)
d = first(lambda x: x["kind"] == "dns" and x["operation"] == "answer"); d["operation"] = "rebind"; rejects("dns-unknown-operation", d)
d = copy.deepcopy(loss); d["operation"] = "guest-lost"; rejects("loss-unknown-operation", d)
d = copy.deepcopy(loss); d["target"]["lost_kind"] = "dns"; rejects("loss-lost-kind-dns", d)
d = copy.deepcopy(life); d["decision"] = "deny"; rejects("lifecycle-deny", d)
d = first(lambda x: x["kind"] == "containment"); d["operation"] = "reboot"; rejects("containment-unknown-operation", d)
d = first(lambda x: x["kind"] == "exec"); d["operation"] = "open"; rejects("exec-open", d)

seeds = []
for f in sorted(glob.glob(seeds_dir + "/sample-*")):
    seeds += [l for l in open(f, "rb").read().split(b"\n") if l]
inputs = [json.dumps(e).encode() for e in good] + [json.dumps(loss).encode(),
                                                   json.dumps(life).encode()] + seeds
out = through_guest_rx(inputs)
check("guest-rx-filter-runs", out is not None, "%s --filter failed or lost lines" % guest_rx)
for i, l in enumerate(out or []):
    name = "guest-rx-accepts-%02d" % (i + 1)
    if l == b"REFUSED":
        check(name, False, "refused: %s" % inputs[i][:200].decode("utf-8", "replace"))
        continue
    try:
        ev = json.loads(l)
    except ValueError as e:
        check(name, False, "not JSON: %s" % e)
        continue
    err = first_error(ev)
    check(name, err is None and ev.get("origin") == "guest" and ev.get("sandbox_name") == "box-1"
          and {k: v for k, v in ev.items() if k not in ("origin", "sandbox_name")} ==
          {k: v for k, v in json.loads(inputs[i]).items() if k != "origin"},
          err or "origin, sandbox_name or a value differs: %s" % l[:200])
check("guest-rx-seeds-read", len(seeds) >= 14, "%d seed records" % len(seeds))

# What guest_rx does not check (docs/sandbox.md, "Parsing"): a containment target's fields per
# operation. Every other record the schema rejects must be refused.
not_checked = {"signal-as-string", "capable-wrong-target"}
out = through_guest_rx([json.dumps(doc).encode() for _, doc in refused])
check("guest-rx-filter-runs-refused", out is not None, "%s --filter failed" % guest_rx)
for (name, doc), l in zip(refused, out or []):
    if name in not_checked:
        check("guest-rx-not-checked-" + name, l != b"REFUSED",
              "now refused: take it out of not_checked and docs/sandbox.md")
    else:
        check("guest-rx-refuses-" + name, l == b"REFUSED", "accepted: %s" % l[:200])

# (e) every field the schema names is documented in docs/events.md.
md = open(events_md).read()
keys = set(schema["properties"])
for sub in ("identity", "process", "rule", "policy"):
    node = schema["properties"][sub]
    if "oneOf" in node:  # nullable (loss events): the object alternative
        node = next(o for o in node["oneOf"] if o.get("type") == "object")
    keys |= set(node["properties"])
for t in ("file_target", "network_target", "dns_target", "loss_target", "lifecycle_target"):
    keys |= set(schema["$defs"][t]["properties"])
for c in schema["$defs"]["containment_target"]["allOf"]:
    keys |= set(c["then"]["properties"]["target"]["properties"])
keys |= schema_ops | set(schema["properties"]["kind"]["enum"])
missing = sorted(k for k in keys if "`%s`" % k not in md)
check("every-field-documented", not missing, "not in docs/events.md: %s" % missing)
sys.exit(1 if failed else 0)
EOF
