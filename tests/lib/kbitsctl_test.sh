#!/bin/bash
# kbitsctl without the module: usage errors (exit 2), --help from the verb
# table, the clear error when /dev/kbits is missing, and the man pages
# agreeing with the code. Installed as build/tests/host/kbitsctl_test.
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
ctl=$top/build/bin/kbitsctl
man8=$top/Documentation/man/kbitsctl.8
man3=$top/Documentation/man/libkbits.3
n=0 failed=0
tap() {	# tap OK DESCRIPTION [DETAIL]
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else
		echo "not ok $n - $2"; [ -n "${3-}" ] && echo "#   $3"; failed=1; fi
}
expect() {	# expect STATUS DESCRIPTION CMD...: exit status STATUS
	local want=$1 what=$2 rc
	shift 2
	"$@" >/dev/null 2>&1; rc=$?
	[ "$rc" -eq "$want" ]; tap $? "$what" "expected exit $want, got $rc"
}
echo "TAP version 13"

verbs="create addfile addfileset resume suspend cancel complete info list files get set
takeownership accounts monitor transfer version"

help=$("$ctl" --help); rc=$?
tap $rc "kbitsctl --help exits 0" "got $rc"
listed=$(sed -n '/^Verbs:/,/^$/p' <<<"$help" | awk 'NF && !/^Verbs:/ {print $1}')
missing=
for v in $verbs; do grep -qx "$v" <<<"$listed" || missing+=" $v"; done
[ -z "$missing" ]; tap $? "--help lists every verb" "missing:$missing"

expect 2 "no verb is a usage error (2)" "$ctl"
expect 2 "an unknown verb is a usage error" "$ctl" frobnicate
expect 2 "an unknown global option is a usage error" "$ctl" --frob list
expect 2 "create without NAME is a usage error" "$ctl" create
expect 2 "create with two types is a usage error" "$ctl" create --download --upload x
expect 2 "create with an unknown option is a usage error" "$ctl" create --bogus x
expect 2 "addfile with two arguments is a usage error" "$ctl" addfile job http://h/x
expect 2 "resume without JOB is a usage error" "$ctl" resume
expect 2 "list with an argument is a usage error" "$ctl" list extra
expect 2 "get of an unknown property is a usage error" "$ctl" get job colour
expect 2 "get of write-only credentials is a usage error" "$ctl" get job credentials
expect 2 "set of read-only state is a usage error" "$ctl" set job state queued
expect 2 "transfer with an odd argument count is a usage error" "$ctl" transfer http://h/x
expect 2 "transfer --upload takes one file" "$ctl" transfer --upload http://h/a a http://h/b b
expect 2 "transfer with a bad priority is a usage error" "$ctl" transfer --priority urgent http://h/a a
for t in x -1 86401 5s ""; do
	out=$("$ctl" create --durable-timeout "$t" job 2>&1); rc=$?
	[ $rc -eq 2 ] && grep -q -- "--durable-timeout takes seconds" <<<"$out"
	tap $? "--durable-timeout '$t' is a usage error that says why" "exit $rc, said: $out"
done
expect 2 "--no-wait-durable on a verb that does not wait is a usage error" "$ctl" resume --no-wait-durable j
out=$(KBITS_DEVICE=/nonexistent/kbits "$ctl" create --no-wait-durable --durable-timeout 5 j 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q "not loaded" <<<"$out"
tap $? "create takes --no-wait-durable and --durable-timeout" "exit $rc, said: $out"
for v in create addfile addfileset set; do
	"$ctl" "$v" --help | grep -q -- "--no-wait-durable"
	tap $? "$v --help names --no-wait-durable"
done
sed -n '/^\.SH EXIT STATUS/,/^\.SH DIAGNOSTICS/p' "$man8" | grep -qx '\.B 5'
tap $? "kbitsctl.8 documents exit status 5 (not durable)"

bad=
for v in $verbs; do
	out=$("$ctl" "$v" --help 2>&1) && grep -q "^usage: kbitsctl $v" <<<"$out" || bad+=" $v"
done
[ -z "$bad" ]; tap $? "every verb's --help prints its usage and exits 0" "failed:$bad"

out=$(KBITS_DEVICE=/nonexistent/kbits "$ctl" list 2>&1); rc=$?
[ $rc -eq 1 ] && grep -qx "kbitsctl: kbits.ko is not loaded (no /nonexistent/kbits)" <<<"$out"
tap $? "list without the device says kbits.ko is not loaded, exit 1" "exit $rc, said: $out"

if [ ! -e /dev/kbits ]; then
	out=$("$ctl" list 2>&1); rc=$?
	[ $rc -eq 1 ] && grep -qx "kbitsctl: kbits.ko is not loaded (no /dev/kbits)" <<<"$out"
	tap $? "list without /dev/kbits names /dev/kbits" "exit $rc, said: $out"
fi

out=$(KBITS_DEVICE=/nonexistent/kbits "$ctl" --json version 2>/dev/null)
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["module"] is None and d["client_abi_version"] == 1' "$out" 2>/dev/null
tap $? "version --json is JSON with module null without the device" "got: $out"

missing=
for v in $verbs; do grep -qE "^\.B $v( |$)" "$man8" || missing+=" $v"; done
[ -z "$missing" ]; tap $? "every verb of --help is documented in kbitsctl.8" "missing:$missing"

extra=
# A verb is the .B word right after a .TP in the VERBS section.
for v in $(awk '/^\.SH/ {sec = $2} sec == "VERBS" && tp && /^\.B / {print $2} {tp = ($0 == ".TP")}' "$man8"); do
	grep -qx "$v" <<<"$listed" || extra+=" $v"
done
[ -z "$extra" ]; tap $? "kbitsctl.8 documents no verb kbitsctl lacks" "unknown:$extra"

for page in "$man8" "$man3"; do
	warn=$(groff -man -ww -z "$page" 2>&1)
	[ -f "$page" ] && [ -z "$warn" ]; tap $? "$(basename "$page") renders without groff warnings" "$warn"
done

# Every exported symbol of the library is documented in its header.
undoc=
for s in $(nm -D --defined-only "$top/build/lib/libkbits.so.1" | awk '$2 == "T" {print $3}'); do
	grep -qw "$s" "$top/userspace/include/kbits.h" || undoc+=" $s"
done
[ -z "$undoc" ]; tap $? "libkbits exports only functions of its header" "undeclared:$undoc"

undoc=
for s in $(nm -D --defined-only "$top/build/lib/libkbits.so.1" | awk '$2 == "T" {print $3}'); do
	grep -qw "$s" "$man3" || undoc+=" $s"
done
[ -z "$undoc" ]; tap $? "libkbits.3 mentions every exported function" "missing:$undoc"

echo "1..$n"
exit $failed
