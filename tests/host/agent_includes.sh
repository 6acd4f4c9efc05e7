#!/bin/bash
# kbitsd's files import each other one way only: the graph of
# `#include "x.h"` edges between the modules of userspace/agent (a module
# is x.c with x.h) has no circle. Also checks that the check finds one
# where there is one. TAP.
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
n=0 failed=0

tap() {	# tap STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi
}

# cycle DIR: prints "A -> B" edges to stderr-free stdout and a circle, if any,
# as "circle: A B ... A"; exits 1 on a circle, 0 without.
cycle() {
	python3 - "$1" <<'PY'
import os, re, sys
d = sys.argv[1]
mods = {os.path.splitext(f)[0] for f in os.listdir(d) if f.endswith((".c", ".h"))}
edges = {m: set() for m in mods}
for f in os.listdir(d):
    if not f.endswith((".c", ".h")):
        continue
    m = os.path.splitext(f)[0]
    for inc in re.findall(r'^#include "([^"]+)\.h"', open(os.path.join(d, f)).read(), re.M):
        if inc in mods and inc != m:
            edges[m].add(inc)
print("edges: %d between %d modules" % (sum(len(v) for v in edges.values()), len(mods)))
state = {}
def visit(m, path):
    state[m] = 1
    for t in sorted(edges[m]):
        if state.get(t) == 1:
            print("circle: " + " -> ".join(path[path.index(t):] + [t]))
            sys.exit(1)
        if not state.get(t):
            visit(t, path + [t])
    state[m] = 2
for m in sorted(mods):
    if not state.get(m):
        visit(m, [m])
PY
}

echo "TAP version 13"
out=$(cycle "$top/userspace/agent")
rc=$?
echo "# ${out//$'\n'/$'\n'# }"
[ $rc -eq 0 ]; tap $? "userspace/agent: no circle among #include edges"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '#include "b.h"\n' >"$tmp/a.c"; : >"$tmp/a.h"
printf '#include "c.h"\n' >"$tmp/b.c"; : >"$tmp/b.h"
printf '#include "a.h"\n' >"$tmp/c.h"
out=$(cycle "$tmp")
[ $? -ne 0 ] && [[ $out == *"circle: a -> b -> c -> a"* ]]; tap $? "the check finds a circle a -> b -> c -> a ($out)"
echo "1..$n"
exit $failed
