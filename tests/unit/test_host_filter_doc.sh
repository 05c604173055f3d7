#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# docs/host-mode.md's table of the seccomp filter and userspace/sandbox_filter.c name the same
# system calls: a call added to the filter without its reason, or documented but not filtered,
# fails here. One "PASS name" / "FAIL name: why" line per check.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
python3 - <<'PY'
import re, sys
src = open("userspace/sandbox_filter.c").read()
arr = re.search(r"refused\[\] = \{(.*?)\};", src, re.S).group(1)
code = set(re.findall(r'"([a-z0-9_]+)"', arr))
code |= set(re.findall(r'seccomp_syscall_resolve_name\("([a-z0-9_]+)"\)', src))
doc = set()
in_table = False
for line in open("docs/host-mode.md"):
    if line.startswith("| Call |"):
        in_table = True
        continue
    if in_table and not line.startswith("|"):
        break
    if in_table and not line.startswith("|---"):
        doc |= set(re.findall(r"`([a-z0-9_]+)`", line.split("|")[1]))
ok = True
for name, got in (("filter_calls_documented", code - doc), ("documented_calls_filtered", doc - code)):
    if got:
        print("FAIL %s: %s" % (name, ", ".join(sorted(got)))); ok = False
    else:
        print("PASS %s" % name)
print("PASS table_not_empty" if len(doc) >= 30 else "FAIL table_not_empty: %d calls" % len(doc))
sys.exit(0 if ok and len(doc) >= 30 else 1)
PY
