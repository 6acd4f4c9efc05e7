#!/bin/bash
# kbitsd's host tests once more, built without sanitizers and run under
# valgrind (memcheck): no invalid access, no uninitialised use, no definite
# leak. One TAP line per test program; its output is shown when it fails.
# sched's checks are timings: under valgrind only its memory is judged.
#
# notify_test is not run here: Debian 12's valgrind (3.19) does not know the
# pidfd_open system call that kbitsd's notify command runner is built on, so
# the program would fail for valgrind's sake. It runs under ASan/UBSan in
# this suite (agent_notify_test) like every other agent test.
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
n=0 failed=0
tests="engine store sched upload proxy index intake wbuf job tls mirror"
timed="sched"	# whose checks are timings (see below)

tap() {	# tap STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi
}

echo "TAP version 13"
command -v valgrind >/dev/null; tap $? "valgrind is installed (tools/install-deps)"
log=$(mktemp /tmp/kbits-valgrind.XXXXXX)
for t in $tests; do
	bin=$top/build/tests/agent/$t-valgrind
	if [ ! -x "$bin" ]; then
		tap 1 "$t: $bin was built (make tests)"
		continue
	fi
	start=$SECONDS
	valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
		--trace-children=no "$bin" >"$log" 2>&1
	rc=$?
	bad=$(grep -c '^not ok' "$log")
	case " $timed " in
	*" $t "*)
		# Its checks are timings (turns of 300 ms, rates, a 1 s limit): under
		# valgrind on a loaded host the CPU, not kbitsd, decides them, so
		# here only memory counts: no valgrind report (its "==PID==" lines,
		# from the parent or a case's child), no case that died or exited
		# with valgrind's status 99, and the program ran to its end (0 or 1).
		# The ASan run checks the timings.
		{ [ $rc -eq 0 ] || [ $rc -eq 1 ]; } && grep -q '^ok' "$log" &&
			! grep -qE '^==[0-9]+==|the case died of signal|the case exited with status' "$log"
		ok=$?
		tap $ok "$t under valgrind: no memory error, no definite leak ($((SECONDS - start)) s, status $rc; $bad timing checks missed, not counted here)"
		;;
	*)
		[ $rc -eq 0 ] && [ "$bad" -eq 0 ] && grep -q '^ok' "$log"
		ok=$?
		tap $ok "$t under valgrind: no memory error, no definite leak, every test passed ($((SECONDS - start)) s, status $rc)"
		;;
	esac
	[ $ok -eq 0 ] || sed 's/^/#   /' "$log" | tail -60
done
rm -f "$log"
echo "1..$n"
exit $failed
