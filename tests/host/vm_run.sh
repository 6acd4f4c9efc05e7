#!/bin/bash
# tools/vm-run itself: exit statuses pass through, a kernel warning fails
# the run, and the guest sees the project writable and the host read-only.
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
vm=$top/tools/vm-run
n=0 failed=0
tap() {	# tap OK DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi
}
echo "TAP version 13"
export KBITS_VM_QUIET=1

"$vm" --timeout 120 -- true >/dev/null 2>&1; tap $? "vm-run -- true passes"

"$vm" --timeout 120 -- false >/dev/null 2>&1; rc=$?
[ $rc -eq 1 ]; tap $? "vm-run -- false fails with the command's status (got $rc)"

"$vm" --timeout 120 -- sh -c 'exit 7' >/dev/null 2>&1; rc=$?
[ $rc -eq 7 ]; tap $? "vm-run passes exit status 7 through (got $rc)"

out=$("$vm" --timeout 120 -- sh -c 'echo "WARNING: CPU: 0 PID: 1 at kbits-test" >/dev/kmsg; echo still-ran' 2>&1); rc=$?
[ $rc -ne 0 ]; tap $? "a WARNING in the guest kernel log fails the run (got $rc)"
grep -q still-ran <<<"$out"; tap $? "the command's output is streamed"

# --debug: the allocator checks are on, and what SLUB and KFENCE print fails the run.
out=$("$vm" --debug --timeout 300 -- cat /proc/cmdline 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q 'slub_debug=FZPU kfence.sample_interval=1 page_poison=1 init_on_free=1' <<<"$out"
tap $? "--debug boots with slub_debug, kfence, page_poison and init_on_free (status $rc)"
for msg in 'BUG kmalloc-64 (Not tainted): Redzone overwritten' 'BUG: KFENCE: out-of-bounds read in kbits_test+0x0/0x10'; do
	"$vm" --debug --timeout 300 -- sh -c "echo '$msg' >/dev/kmsg" >/dev/null 2>&1; rc=$?
	[ $rc -ne 0 ]; tap $? "'${msg%%:*}' in the guest kernel log fails the run (got $rc)"
done

mark=build/vm-run-test.$$
out=$("$vm" --timeout 120 -- sh -c "touch $mark && ! touch /usr/kbits-should-not-exist 2>/dev/null && id -u" 2>&1); rc=$?
[ $rc -eq 0 ] && [ -f "$top/$mark" ] && [ ! -e /usr/kbits-should-not-exist ]
tap $? "project writable, host root read-only in the guest (status $rc)"
rm -f "$top/$mark"

"$vm" --timeout 20 -- sleep 300 >/dev/null 2>&1; rc=$?
[ $rc -ne 0 ]; tap $? "the timeout fails a hung command (got $rc)"

# The series names are exact: "6.1" is never the PREEMPT_RT build of 6.1.
for s in 6.1 6.1-rt 6.12; do
	out=$("$vm" --kernel "$s" --timeout 120 -- sh -c 'uname -r; uname -v' 2>/dev/null | tr -d '\r')
	rel=$(sed -n 1p <<<"$out") ver=$(sed -n 2p <<<"$out")
	case "$s:$rel:$ver" in
	6.1-rt:6.1.*-rt-amd64:*PREEMPT_RT*) r=0 ;;
	6.1-rt:*) r=1 ;;
	*:*-rt-amd64:*|*:*:*PREEMPT_RT*) r=1 ;;
	"$s":"$s".*-amd64:*) r=0 ;;
	*) r=1 ;;
	esac
	tap $r "--kernel $s boots $rel ($ver)"
done
# kernels.sh on a made-up /lib/modules and /boot: the newest release of
# each series by version, never the rt flavour for a plain series.
. "$top/tools/kernels.sh"
fake=$(mktemp -d)
for r in 6.1.0-9-amd64 6.1.0-57-amd64 6.1.0-57-rt-amd64 6.1.0-9-rt-amd64 6.12.9+deb12-amd64 \
	 6.12.117+deb12-amd64 6.12.200+deb12-amd64 6.1.0-60-amd64; do
	mkdir -p "$fake/lib/modules/$r/build" "$fake/boot"
	touch "$fake/lib/modules/$r/build/Makefile" "$fake/boot/vmlinuz-$r"
done
rm "$fake/boot/vmlinuz-6.12.200+deb12-amd64"		# headers without an image
rm "$fake/lib/modules/6.1.0-60-amd64/build/Makefile"	# an image without headers
got=
for s in 6.1 6.1-rt 6.12 6 6.1.0 6.12-rt debug ''; do
	got+="$s=$(KBITS_SYSROOT=$fake kbits_kernel_release "$s" 2>/dev/null) "
done
rm -rf "$fake"
[ "$got" = "6.1=6.1.0-57-amd64 6.1-rt=6.1.0-57-rt-amd64 6.12=6.12.117+deb12-amd64 6= 6.1.0= 6.12-rt= debug= = " ]
tap $? "kernels.sh: exact series names, newest release with headers and image ($got)"
echo "1..$n"
exit $failed
