#!/bin/bash
# The guest side of the power-cut suite (tests/powercut/run boots it once
# per step, on the same disk): tests/powercut/guest.sh STEP WORK
#   WORK  the host directory of this run (9p): www/ (the sources), jobs/
#         (what the clients were told: GUIDs, info at creation, progress
#         at the cut), logs. It survives the cuts, like a remote observer.
# Every step but the first starts with the checks after a cut; every step
# but the last ends by cutting the power (tools/vm-run --power-cut).
# Prints "ok - ..." / "not ok - ..." lines; the host numbers them.
step=$1 W=$2
case "$step" in
start) prev= ;; cut70) prev=start ;; transferred) prev=cut70 ;;
complete) prev=transferred ;; final) prev=complete ;;
*) echo "not ok - unknown step '$step'"; exit 1 ;;
esac
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$top" || exit 1
# shellcheck source=tests/e2e/lib.sh
. "$top/tests/e2e/lib.sh"
BIG=${PC_BIG:?} SMALL=${PC_SMALL:?} UP=${PC_UP:?}
PORT=8480 BPORT=8481	# the guest's own loopback: fixed, the jobs' URLs keep them
URL=http://127.0.0.1:$PORT BURL=http://127.0.0.1:$BPORT
DISK=${KBITS_VM_DISK:-}
# The small files go round-robin into SDIRS directories: Complete syncs a
# directory once per run of files in the same directory, so that here it
# syncs one per file and lasts long enough for the cut to land inside it.
SDIRS=4
DL=$DISK/dl J=$W/jobs
failed=0
tap() {	# tap STATUS DESCRIPTION [DETAIL]
	if [ "$1" -eq 0 ]; then echo "ok - $2"; else
		echo "not ok - $2"; [ -n "${3-}" ] && printf '%s\n' "$3" | head -n 15 | sed 's/^/#   /'
		failed=1; fi
}
as_user() { setpriv --reuid 1000 --regid 1000 --clear-groups "$@"; }
jq_() {	# jq_ EXPR JSON: print EXPR of d (the parsed JSON)
	$PY -c 'import json,sys; d=json.loads(sys.argv[2]); print(eval(sys.argv[1]))' "$1" "$2" 2>/dev/null
}
json() { [ "$(jq_ "bool($1)" "$2")" = True ]; }
info() {	# info NAME: info --json of a ledger job, as its owner
	local id; id=$(cat "$J/$1.id")
	if [ "$1" = big ]; then as_user "$ctl" --json info --verbose "$id"; else "$ctl" --json info --verbose "$id"; fi
}
dest_check() {	# dest_check [all]: destination paths that hold something else than the source
	$PY - "$DL" "$W/www" "$SMALL" "$SDIRS" "${1-}" <<'PY'
import os, sys
dl, www, n, sdirs, every = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "all"
pairs = [(dl + "/u1000/big", www + "/big")]
pairs += [("%s/small/d%d/s%05d" % (dl, k % sdirs, k), "%s/small/s%05d" % (www, k)) for k in range(n)]
for d, s in pairs:
    if not os.path.exists(d):
        if every and not d.endswith("/big"):
            print(d, "missing")
        continue
    if open(d, "rb").read() != open(s, "rb").read():
        print(d, "differs from", s, os.path.getsize(d), os.path.getsize(s))
PY
}
state() { jq_ 'd["state"]' "$(info "$1" 2>/dev/null)"; }
# A Python expression: how many of the small job's files are in place.
in_place='sum(os.path.exists("%s/small/d%d/s%05d" % ("'"$DL"'", k % '"$SDIRS"', k)) for k in range('"$SMALL"'))'
cut_when() {	# cut_when SECS COND WHAT [NOTE]: cut the power once COND (cut_when.py) holds
	sync -f "$W" 2>/dev/null	# the host's view of the ledger, not the guest disk's
	$PY "$top/tests/powercut/cut_when.py" "$ctl" "$1" "$2" "$J/at-$step.json" "$3" ${4+"$4"}
	failed=1
	exit 1
}
deadline_wait() {	# deadline_wait SECS DESCRIPTION CMD...: TAP line
	local s=$1 d=$2; shift 2
	e2e_wait "$s" "$@"; tap $? "$d" "$(for n in big small up; do [ -f "$J/$n.id" ] && info $n 2>&1 | head -c 400; echo; done)"
}

echo "# step $step, kernel $(uname -r), guest up $(cut -d' ' -f1 /proc/uptime)s"
mountpoint -q "$DISK" && mountpoint -q /var/lib/kbits
tap $? "the disk is mounted on $DISK and /var/lib/kbits" "$(mount | grep -E 'vda|kbits')"
[ "$failed" -eq 0 ] || exit 1

E2E_DIR=$(mktemp -d /tmp/pc.XXXXXX)
insmod "$ko"; tap $? "insmod $(basename "$ko")"

E2E_DB=/var/lib/kbits/kbits.db E2E_KBITSD_LOG=$W/kbitsd-$step.log
cleanup() { e2e_kbitsd_stop KILL; e2e_nginx_stop; }
trap cleanup EXIT

# ---- after a cut: the store against the disk, before kbitsd touches anything --------
if [ "$step" != start ]; then
	o=$($PY "$top/tests/powercut/store_check.py" "$E2E_DB" "$W/www" "$URL" "$J/store-$step.json" 2>&1)
	rc=$?
	printf '%s\n' "$o" | grep -v '^#'
	printf '%s\n' "$o" | grep '^#'
	[ $rc -eq 0 ] || tap 1 "store_check.py runs" "$o"
	# no destination path holds a partial file
	bad=$(dest_check)
	[ -z "$bad" ]; tap $? "no destination path holds a partial or wrong file" "$bad"
	if [ "$step" = final ]; then	# for job_check.py: how far small's Complete had come
		PC_IN_PLACE=$($PY -c "import os; print($in_place)")
		export PC_IN_PLACE
	fi
fi

e2e_kbitsd_start; tap $? "kbitsd starts with its store on the disk" "$(tail -5 "$E2E_KBITSD_LOG")"
# the rows of files not started are committed unsynced (store.h): the cut may have lost some
echo "# kbitsd removed $(grep -c 'power cut left not started' "$E2E_KBITSD_LOG") temporary files whose rows the cut lost"

if [ "$step" != start ]; then
	live=0
	for n in big small up; do
		[ -f "$J/$n.id" ] && [ ! -f "$J/$n.done" ] && live=$((live + 1))
	done
	grep -q "restored $live jobs" "$E2E_KBITSD_LOG"
	tap $? "kbitsd restored the jobs the clients were not told were done ($live): $(grep -o 'restored [0-9]* jobs' "$E2E_KBITSD_LOG")" \
		"$(grep -i restor "$E2E_KBITSD_LOG")"
	# every job's checks in one process (job_check.py): one Python start-up
	$PY "$top/tests/powercut/job_check.py" "$step" "$prev" "$J" "$ctl" || failed=1
fi

# ---- the world around kbitsd: nginx and the BITS server on loopback -------------
# Started after the checks of a reboot: until then the restored jobs meet a
# refused connection and wait (min_retry_delay 2 s), so that the checks,
# slow under TCG, do not eat the way to the next moment.
start_servers() {
mkdir -p "$E2E_DIR/nginx-tmp"
cat >"$E2E_DIR/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
user root;
error_log $E2E_DIR/nginx.err;
pid $E2E_DIR/nginx.pid;
events { worker_connections 256; }
http {
	log_format pc '\$request \$status \$bytes_sent range=\$http_range';
	limit_req_zone \$binary_remote_addr zone=small:1m rate=3r/s;
	access_log $W/nginx-$step.access pc;
	sendfile on;
	default_type application/octet-stream;
	client_body_temp_path $E2E_DIR/nginx-tmp;
	proxy_temp_path $E2E_DIR/nginx-tmp;
	fastcgi_temp_path $E2E_DIR/nginx-tmp;
	uwsgi_temp_path $E2E_DIR/nginx-tmp;
	scgi_temp_path $E2E_DIR/nginx-tmp;
	server {
		listen 127.0.0.1:$PORT;
		root $W/www;
		location / { }
		# Rates that make the moments of the cuts reachable at a poll's
		# precision under TCG on a loaded host: 1 MiB/s, 3 small files/s.
		location = /big { limit_rate 1m; }
		location /small/ { limit_req zone=small burst=100000; }
	}
}
CONF
/usr/sbin/nginx -p "$E2E_DIR/" -c "$E2E_DIR/nginx.conf" </dev/null >>"$E2E_DIR/nginx.err" 2>&1 &
E2E_NGINX_PID=$!
mkdir -p "$W/bits-root"
$PY "$top/tests/servers/bitsserver.py" --root "$W/bits-root" --log "$W/bits.log" --port "$BPORT" \
	--port-file "$E2E_DIR/bits.port" >"$W/bits-$step.err" 2>&1 &
# A bound for a hang: under TCG, beside the host suite and the other
# kernel's VM, Python took over 60 s to listen (CI of 2026-11-30).
e2e_wait 240 e2e_port_open $PORT && e2e_wait 240 e2e_port_open $BPORT
tap $? "nginx and the BITS server listen on 127.0.0.1:$PORT and :$BPORT" "$(cat "$E2E_DIR/nginx.err" "$W/bits-$step.err")"
}
# The 70% cut: the poller first, the servers (and so the restored big job's
# transfer) once it polls: under TCG on a loaded host its start-up took
# longer than big's run from 30% to 70% (seen: big finished before the first look).
[ "$step" = cut70 ] || start_servers

# ---- the step's own work, then the cut -------------------------------------------
told() {	# told NAME ID: the client was told this GUID; its info as created
	echo "$2" >"$J/$1.id"
	info "$1" >"$J/$1.created.json"
}

case "$step" in
start)
	rm -rf "$J" "$DL"; mkdir -p "$J" "$DL/u1000"
	for ((k = 0; k < SDIRS; k++)); do mkdir -p "$DL/small/d$k"; done
	chown 1000:1000 "$DL/u1000"
	cp "$W/www/up" "$DL/up" && sync "$DL/up"; tap $? "the upload's source is on the disk"
	# Every job is made suspended, then the three are resumed together: on a
	# loaded host a verb takes seconds, and the cut must find each of them
	# in the middle of its transfer.
	id=$("$ctl" create pc-small) && "$ctl" set "$id" description "$SMALL small files" &&
		"$ctl" set "$id" priority low && "$ctl" set "$id" min_retry_delay 2s
	tap $? "small: create, set properties"
	for ((i = 0; i < SMALL; i += 200)); do
		for ((k = i; k < i + 200 && k < SMALL; k++)); do
			printf '%s/small/s%05d %s/small/d%d/s%05d\n' "$URL" $k "$DL" $((k % SDIRS)) $k
		done >"$E2E_DIR/list"
		"$ctl" addfileset "$id" "$E2E_DIR/list" || break
	done
	tap $? "small: addfileset of $SMALL files"
	told small "$id"
	id=$("$ctl" create --upload pc-up) && "$ctl" set "$id" description "a $UP-byte BITS upload" &&
		"$ctl" set "$id" min_retry_delay 2s &&
		"$ctl" addfile "$id" "$BURL/up?slow=3" "$DL/up"
	tap $? "up: an upload job of $UP bytes"
	told up "$id"
	id=$(as_user "$ctl" create pc-big) && as_user "$ctl" set "$id" description "$BIG bytes as user 1000" &&
		as_user "$ctl" set "$id" priority normal && as_user "$ctl" set "$id" min_retry_delay 2s &&
		as_user "$ctl" addfile "$id" "$URL/big" "$DL/u1000/big"
	tap $? "big: user 1000's job of $BIG bytes"
	told big "$id"
	"$ctl" resume "$(cat "$J/small.id")" && "$ctl" resume "$(cat "$J/up.id")" &&
		as_user "$ctl" resume "$(cat "$J/big.id")"
	tap $? "the three jobs are resumed"
	# the small job and the upload in the middle too
	cut_when 300 'j["pc-big"]["bytes_transferred"] >= '$((BIG * 3 / 10))' and j["pc-small"]["state"] == "transferring" and j["pc-up"]["state"] == "transferring"' \
		"30% of big"
	;;
cut70)
	export PC_READY=$E2E_DIR/cut-ready
	cut_when 300 'j["pc-big"]["bytes_transferred"] >= '$((BIG * 7 / 10)) "70% of big" &
	e2e_wait 120 test -e "$PC_READY"; tap $? "cut_when.py polls before the servers start"
	start_servers
	wait	# for the cut; cut_when exits 1 if it did not come
	exit 1
	;;
transferred)
	: >"$J/big.transferred"	# a transferred snapshot below, or no cut at all
	cut_when 300 'j["pc-big"]["state"] == "transferred"' "right after big turned TRANSFERRED"
	;;
complete)
	o=$(as_user "$ctl" --json complete "$(cat "$J/big.id")" 2>&1)
	json 'd["result"] == "all"' "$o" && : >"$J/big.done"
	tap $? "big: complete after the cuts" "$o"
	# the sources' sums were taken on the host (run): one hash under TCG, not two
	[ "$(sha256sum <"$DL/u1000/big" | cut -d' ' -f1)" = "$(cat "$W/www/big.sha256")" ]; tap $? "big: sha256 equal"
	[ "$(stat -c %u "$DL/u1000/big")" = 1000 ]; tap $? "big belongs to user 1000"
	# The BITS server runs in the guest: the cut loses its sessions too.
	e2e_wait 300 eval 'case "$(state up)" in transferred|error) true ;; *) false ;; esac'
	if [ "$(state up)" = error ]; then
		tap 1 "up: ERROR after the cut (the server had lost its session)" "$(info up 2>&1 | head -c 600)"
		"$ctl" cancel "$(cat "$J/up.id")" && : >"$J/up.done"
	else
		o=$("$ctl" --json complete "$(cat "$J/up.id")" 2>&1)
		json 'd["result"] == "all"' "$o" && : >"$J/up.done"; tap $? "up: complete" "$o"
		grep -q "^up CLOSE size=$UP sha256=$(cat "$W/www/up.sha256")" "$W/bits.log"
		tap $? "up: the server holds every byte of the upload (sha256)" "$(grep '^up' "$W/bits.log" | tail -5)"
	fi
	deadline_wait 400 "small turns TRANSFERRED" eval '[ "$(state small)" = transferred ]'
	: >"$J/small.transferred"
	# The poller first, Complete once it polls: its start-up under TCG takes
	# seconds, longer than the Complete of 200 files (seen: all 200 in place
	# at its first look when Complete was started first).
	export PC_READY=$E2E_DIR/cut-ready
	cut_when 120 'os.path.exists("'"$DL"'/small/d0/s00000")' "during small's Complete, its first file in place" \
		'"%d of %d small files in place" % ('"$in_place"', '"$SMALL"')' &
	e2e_wait 120 test -e "$PC_READY"; tap $? "cut_when.py polls before small's Complete starts"
	"$ctl" complete "$(cat "$J/small.id")" >"$W/complete-small.out" 2>&1
	wait	# for the cut; cut_when exits 1 if it did not come
	exit 1
	;;
final)
	id=$(cat "$J/small.id")
	if "$ctl" info "$id" >/dev/null 2>&1; then
		o=$("$ctl" --json complete "$id" 2>&1)
		echo "# small: Complete again after the cut: $(jq_ 'd["result"], d["files_done"], d["error"]' "$o")"
		json 'd["result"] == "all"' "$o"; tap $? "small: Complete again after the cut completes every file" "$o"
	else
		echo "# small: not back after the cut (see above)"
	fi
	bad=$(dest_check all)
	[ -z "$bad" ]; tap $? "small: all $SMALL files in place, byte-exact" "$(echo "$bad" | head -5; echo "$bad" | wc -l) differ"
	: >"$J/small.done"
	left=$(find "$DL" -name '.*.kbits-*')
	[ -z "$left" ]; tap $? "no temporary file is left" "$left"
	o=$("$ctl" --json list --all-users 2>&1); json 'd == []' "$o"; tap $? "no job is left" "$o"
	e2e_kbitsd_stop TERM; tap $? "kbitsd exits 0 on SIGTERM"
	rmmod kbits; tap $? "rmmod kbits"
	# A clean unmount: the host's read-only check (xfs_repair -n) cannot
	# replay a dirty log and reports what the log would fix as damage.
	umount /var/lib/kbits && umount "$DISK"; tap $? "the disk unmounts" "$(grep vda /proc/mounts)"
	;;
esac
exit $failed
