#!/bin/bash
# kbitsctl end to end without the agent, in the VM:
#   tools/vm-run -- tests/e2e/cli_test.sh
# Loads build/kernel/$(uname -r)/kbits.ko, exercises the verbs that need no
# kbitsd (create, addfile, info --json, list, set/get, suspend/resume,
# cancel, two users' views), unloads. TAP output. create, addfile and set
# run with --no-wait-durable: without kbitsd they would exit 5 (the job is
# not durable; tests/kernel/run checks that).
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ctl=$top/build/bin/kbitsctl
ko=$top/build/kernel/$(uname -r)/kbits.ko
n=0 failed=0
tap() {	# tap OK DESCRIPTION [DETAIL]
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else
		echo "not ok $n - $2"; [ -n "${3-}" ] && echo "#   $3"; failed=1; fi
}
as_user() {	# as_user CMD...: run as uid/gid 1000, no groups
	setpriv --reuid 1000 --regid 1000 --clear-groups "$@"
}
json() {	# json EXPR JSON: evaluate EXPR on d = the parsed JSON
	python3 -c 'import json,sys; d=json.loads(sys.argv[2]); sys.exit(0 if eval(sys.argv[1]) else 1)' "$1" "$2" 2>/dev/null
}
echo "TAP version 13"

insmod "$ko"; tap $? "insmod $ko" || true
[ -c /dev/kbits ]; tap $? "/dev/kbits exists"
tmp=$(mktemp -d); chmod 777 "$tmp"

out=$("$ctl" version 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q "^kbits.ko ABI 1" <<<"$out"; tap $? "version shows the module's ABI" "$out"

id=$("$ctl" create --no-wait-durable nightly 2>&1); rc=$?
[ $rc -eq 0 ] && [[ $id =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]]
tap $? "create prints a GUID" "exit $rc: $id"

out=$("$ctl" --json info nightly 2>&1)
json 'd["display_name"] == "nightly" and d["state"] == "suspended" and d["type"] == "download" and d["priority"] == "normal"' "$out"
tap $? "info --json: a new job is a suspended download of normal priority" "$out"

"$ctl" addfile --no-wait-durable nightly http://127.0.0.1/a "$tmp/a"; tap $? "addfile by name"
out=$("$ctl" --json files "$id" 2>&1)
json 'len(d["files"]) == 1 and d["files"][0]["url"] == "http://127.0.0.1/a"' "$out"
tap $? "files --json lists the file" "$out"
"$ctl" addfile --no-wait-durable nightly ftp://127.0.0.1/a "$tmp/b" 2>/dev/null; rc=$?
[ $rc -eq 2 ]; tap $? "addfile of an ftp URL is refused as usage (2)" "got $rc"

"$ctl" set --no-wait-durable nightly priority low && [ "$("$ctl" get nightly priority)" = low ]
tap $? "set/get priority"
"$ctl" set --no-wait-durable nightly description "the nightly build" && [ "$("$ctl" get nightly description)" = "the nightly build" ]
tap $? "set/get description"
"$ctl" set --no-wait-durable nightly min_retry_delay 10m && [ "$("$ctl" get nightly min_retry_delay)" = 600 ]
tap $? "set/get min_retry_delay with a suffix"
"$ctl" set --no-wait-durable nightly notify_flags transferred,error && [ "$("$ctl" get nightly notify_flags)" = "transferred,error" ]
tap $? "set/get notify_flags by name"
"$ctl" set --no-wait-durable nightly dynamic_content yes && [ "$("$ctl" get nightly dynamic_content)" = yes ]
tap $? "set/get dynamic_content"
"$ctl" set --no-wait-durable nightly max_download_size 10M && [ "$("$ctl" get nightly max_download_size)" = 10485760 ]
tap $? "set/get max_download_size"
"$ctl" set --no-wait-durable nightly credentials user:secret; tap $? "set credentials"
out=$("$ctl" --json info --verbose nightly 2>&1)
json 'd["credentials_set"] and d["dynamic_content"] and d["description"] == "the nightly build"' "$out"
tap $? "info --verbose --json shows the properties" "$out"

"$ctl" resume nightly; tap $? "resume"
st=$("$ctl" get nightly state); [ "$st" = queued ] || [ "$st" = suspended ] || [ "$st" = connecting ]
tap $? "resumed job is queued (no agent)" "state $st"
"$ctl" suspend nightly && [ "$("$ctl" get nightly state)" = suspended ]; tap $? "suspend"

"$ctl" create --no-wait-durable empty >/dev/null
out=$("$ctl" resume empty 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q "has no files" <<<"$out"; tap $? "resume of a job without files says so" "$out"
"$ctl" create --no-wait-durable empty >/dev/null
out=$("$ctl" info empty 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q "ambiguous" <<<"$out"; tap $? "an ambiguous name is refused" "$out"

# Cancel works at once, with or without the agent (<linux/kbits.h>).
out=$("$ctl" cancel nightly 2>&1); rc=$?
[ $rc -eq 0 ] && ! "$ctl" info "$id" >/dev/null 2>&1; tap $? "cancel without the agent: the job is gone" "exit $rc: $out"

out=$(as_user "$ctl" info nightly 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q "no job 'nightly' (or it belongs to another user)" <<<"$out"
tap $? "another user does not see the job by name" "$out"
out=$(as_user "$ctl" info "$id" 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q "no job '$id'" <<<"$out"; tap $? "another user gets no job for its GUID" "$out"
out=$(as_user "$ctl" --json list 2>&1); json 'd == []' "$out"; tap $? "another user's list is empty" "$out"
as_user "$ctl" create --no-wait-durable mine >/dev/null; tap $? "user 1000 creates a job"
out=$("$ctl" --json list --all-users 2>&1)
json 'sorted({j["owner_uid"] for j in d}) == [0, 1000]' "$out"; tap $? "root lists both users' jobs" "$out"
out=$(as_user "$ctl" list --all-users 2>&1); rc=$?
[ $rc -eq 1 ]; tap $? "list --all-users is refused to a user" "$out"

out=$("$ctl" --json accounts 2>&1); rc=$?
[ $rc -eq 0 ] && json 'any(a["uid"] == 1000 and a["jobs"] == 1 for a in d)' "$out"
tap $? "accounts --json counts user 1000's job" "$out"

# monitor sees a creation (events of the caller's own jobs).
"$ctl" --json monitor >"$tmp/mon" 2>&1 & mon=$!
sleep 1; "$ctl" create --no-wait-durable watched >/dev/null; sleep 1; kill -INT $mon; wait $mon
grep -q '"event":"created"' "$tmp/mon"; tap $? "monitor --json prints the created event" "$(head -c 300 "$tmp/mon")"

# A user's monitor (no administrator) hears the user's own jobs only.
as_user "$ctl" --json monitor >"$tmp/umon" 2>&1 & umon=$!
sleep 1
rid=$("$ctl" create --no-wait-durable roots-job) && uid_job=$(as_user "$ctl" create --no-wait-durable users-job)
sleep 1; kill -INT $umon; wait $umon; rc=$?
[ $rc -eq 0 ] && [ -n "$uid_job" ] && grep -q "\"id\":\"$uid_job\"" "$tmp/umon" &&
	! grep -q "\"owner_uid\":0[,}]" "$tmp/umon" && ! grep -q "$rid" "$tmp/umon"
tap $? "monitor as user 1000 prints its own job's events, none of root's" "$(head -c 300 "$tmp/umon")"

rmmod kbits; tap $? "rmmod kbits"
out=$("$ctl" list 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q "kbits.ko is not loaded" <<<"$out"; tap $? "after rmmod: kbits.ko is not loaded" "$out"
rm -rf "$tmp"
echo "1..$n"
exit $failed
