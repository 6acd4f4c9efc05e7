#!/bin/bash
# apt itself through kbits, run inside the VM (one kernel per run):
#   tools/vm-run --kernel 6.1 --timeout 1200 -- tests/apt/vm-apt.sh
# A flat repository made here (three .debs built with dpkg-deb, one of
# 50 MiB; Packages from dpkg-scanpackages; an unsigned Release, so the
# source is [trusted=yes]) served by nginx on 127.0.0.1; apt-get with its
# state, cache and sources in scratch directories and Dir::Bin::Methods
# holding the build's kbits+http. Checks: update and install
# --download-only through kbits with apt's own hash checks; the jobs are
# _apt's and root's monitor sees them; kbitsd killed in the middle of the
# 50 MiB package, apt interrupted, then run again: the download resumes
# (a Range request in nginx's log) instead of starting over; a second
# update fetches no index again (304 to the If-Modified-Since); a
# corrupted package is apt's "Hash Sum mismatch"; between the interrupted
# run and the next the module is reloaded, as a reboot would leave kbits
# (the job comes back from kbitsd's store); a LOW-priority apt run
# yields to root's FOREGROUND job and finishes after it; a redirect is
# followed, or refused with Acquire::http::AllowRedirect "false". TAP; every
# wait bounded.
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$top" || exit 1
# shellcheck source=tests/e2e/lib.sh
. "$top/tests/e2e/lib.sh"
n=0 failed=0
tap() {	# tap STATUS DESCRIPTION [DETAIL]
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else
		echo "not ok $n - $2"; [ -n "${3-}" ] && printf '%s\n' "$3" | tail -n 15 | sed 's/^/#   /'
		failed=1; fi
}
start=$(date +%s)
echo "TAP version 13"
echo "# kernel $(uname -r)"
apt_uid=$(id -u _apt) || { echo "Bail out! no _apt user"; exit 1; }

T=$(mktemp -d /tmp/kbits-apt.XXXXXX)
e2e_setup "$T"
www=$E2E_DIR/www A=$T/apt
cleanup() {
	[ -n "${mon_pid-}" ] && kill "$mon_pid" 2>/dev/null
	[ -n "${apt_pid-}" ] && kill -KILL -- "-$apt_pid" 2>/dev/null
	e2e_kbitsd_stop KILL
	[ -n "${nginx_pid-}" ] && kill "$nginx_pid" 2>/dev/null
	lsmod | grep -q '^kbits ' && rmmod kbits 2>/dev/null
}
trap cleanup EXIT
lsmod | grep -q '^kbits ' && rmmod kbits
insmod "$ko"; tap $? "insmod $(basename "$ko") for $(uname -r)"

# ---- the repository ----------------------------------------------------------
mkdeb() {	# mkdeb NAME SIZE
	local d=$T/build/$1
	mkdir -p "$d/DEBIAN" "$d/usr/share/$1"
	e2e_make_file "$d/usr/share/$1/data" "$2"
	printf 'Package: %s\nVersion: 1.0\nArchitecture: all\nMaintainer: kbits tests <root@localhost>\nDescription: kbits apt test package of %s bytes\n' \
		"$1" "$2" >"$d/DEBIAN/control"
	# -Znone: the data is random, compressing it would only cost TCG time
	dpkg-deb --root-owner-group -Znone --build "$d" "$www/repo/${1}_1.0_all.deb" >/dev/null
}
mkdir -p "$www/repo"
t0=$(date +%s)
mkdeb kbits-small 4096 && mkdeb kbits-mid $((1 << 20)) && mkdeb kbits-big $((50 << 20))
tap $? "three .debs built with dpkg-deb (4 KiB, 1 MiB, 50 MiB) in $(( $(date +%s) - t0 )) s"
big_size=$(stat -c %s "$www/repo/kbits-big_1.0_all.deb")
(cd "$www/repo" && dpkg-scanpackages -m . /dev/null >Packages 2>/dev/null)
grep -c '^Package: ' "$www/repo/Packages" | grep -qx 3; tap $? "dpkg-scanpackages indexed the three"
{
	printf 'Origin: kbits-test\nLabel: kbits-test\nSuite: test\nCodename: test\nDate: %s\nArchitectures: all amd64\nSHA256:\n' \
		"$(date -u -R | sed 's/+0000/UTC/')"
	printf ' %s %s Packages\n' "$(sha256sum <"$www/repo/Packages" | cut -d' ' -f1)" "$(stat -c %s "$www/repo/Packages")"
} >"$www/repo/Release"
chmod -R a+rX "$www"

# nginx: the big package at 1 MiB/s when asked for from its start, so that
# the interruption lands in its middle, and at full speed when resumed; Range and If-Modified-Since logged; a 304 for any If-Modified-Since
# not older than the file ("before": the method stamps files with the time
# its job was created, not with the server's Last-Modified)
port=$(e2e_free_port)
cat >"$T/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
user root;
error_log $T/nginx.err;
pid $T/nginx.pid;
events { worker_connections 64; }
http {
	map \$http_range \$big_rate { "" 1m; default 0; }
	log_format kb '\$status "\$request" range="\$http_range" ims="\$http_if_modified_since" ua="\$http_user_agent" sent=\$body_bytes_sent';
	access_log $T/nginx.access kb;
	default_type application/octet-stream;
	if_modified_since before;
	client_body_temp_path $T/nginx-tmp;
	proxy_temp_path $T/nginx-tmp;
	fastcgi_temp_path $T/nginx-tmp;
	uwsgi_temp_path $T/nginx-tmp;
	scgi_temp_path $T/nginx-tmp;
	server {
		listen 127.0.0.1:$port;
		root $www;
		location / { }
		location ~ kbits-big { limit_rate \$big_rate; }
		location /old/ { rewrite ^/old/(.*)\$ /repo/\$1 permanent; }
	}
}
CONF
/usr/sbin/nginx -p "$T/" -c "$T/nginx.conf" </dev/null >>"$T/nginx.err" 2>&1 &
nginx_pid=$!
e2e_wait 20 e2e_port_open "$port"; tap $? "nginx on 127.0.0.1:$port" "$(cat "$T/nginx.err")"
e2e_kbitsd_start; tap $? "kbitsd attached" "$(tail -n 5 "$E2E_KBITSD_LOG")"

# ---- apt in scratch directories -------------------------------------------------
mkdir -p "$A"/{state/lists/partial,cache/archives/partial,sources.d,prefs.d,log,methods}
: >"$A/status"
chmod -R 755 "$A"
for m in /usr/lib/apt/methods/*; do ln -s "$m" "$A/methods/"; done
ln -s "$top/build/apt/methods/kbits+http" "$A/methods/kbits+http"
echo "deb [trusted=yes] kbits+http://127.0.0.1:$port/repo ./" >"$A/sources.list"
aptget() {	# aptget ARGS...: apt-get on the scratch directories
	apt-get -q -o Dir::State="$A/state" -o Dir::State::status="$A/status" \
		-o Dir::Cache="$A/cache" -o Dir::Etc::sourcelist="$A/sources.list" \
		-o Dir::Etc::sourceparts="$A/sources.d" -o Dir::Etc::preferencesparts="$A/prefs.d" \
		-o Dir::Log="$A/log" -o Dir::Bin::Methods="$A/methods" -o Debug::NoLocking=1 \
		-o Acquire::Languages=none -o APT::Get::Assume-Yes=1 "$@"
}
jobs_of_apt() {	# the _apt user's live jobs, as root sees them: "state bytes total" lines
	"$ctl" --json list --all-users 2>/dev/null | $PY -c '
import json, sys
t = sys.stdin.read().strip()
d = json.loads(t) if t else []
d = d if isinstance(d, list) else d.get("jobs", [])
for j in d:
    if j["owner_uid"] == int(sys.argv[1]):
        print(j["state"], j["bytes_transferred"], j["bytes_total"], j["priority"])' "$apt_uid"
}
big_past() {	# big_past N: a job of _apt's has transferred N bytes or more
	jobs_of_apt | awk -v n="$1" '$2 >= n { f = 1 } END { exit !f }'
}

"$ctl" --json monitor --all-users >"$T/monitor.json" 2>"$T/monitor.err" &
mon_pid=$!
sleep 1

# ---- 1. update --------------------------------------------------------------------
o=$(aptget update 2>&1); rc=$?
[ $rc -eq 0 ] && ! grep -q '^[EW]:' <<<"$o"; tap $? "apt-get update through kbits+http: rc 0, no E:/W:" "$o"
# apt keeps the lists recompressed (Packages.lz4 here)
ls "$A"/state/lists/*_repo_._Packages* >/dev/null 2>&1 && ls "$A"/state/lists/*_repo_._Release >/dev/null 2>&1
tap $? "the Release and Packages indexes are in the lists directory" "$(ls -l "$A/state/lists")"
grep -q '^200 "GET /repo/Packages HTTP/1.1".* ua="kbits' "$T/nginx.access"
tap $? "nginx served Packages to kbitsd's client, not to apt's http method" "$(cat "$T/nginx.access")"
[ "$(jobs_of_apt | wc -l)" -eq 0 ]; tap $? "update left no job behind" "$(jobs_of_apt)"

# ---- 2. install --download-only, interrupted in the 50 MiB package -------------
setsid bash -c "$(declare -f aptget); A='$A'; aptget install --download-only kbits-small kbits-mid kbits-big" \
	>"$T/apt2.out" 2>&1 &
apt_pid=$!
e2e_wait 120 big_past $((8 << 20)); tap $? "the 50 MiB package passed 8 MiB through kbits" "$(jobs_of_apt; tail -n 5 "$T/apt2.out")"
e2e_kbitsd_stop KILL
kill -INT -- "-$apt_pid" 2>/dev/null
e2e_wait 30 eval '! kill -0 '"$apt_pid"' 2>/dev/null'; tap $? "apt-get interrupted (SIGINT) after kill -9 of kbitsd" "$(tail -n 5 "$T/apt2.out")"
wait "$apt_pid" 2>/dev/null
apt_pid=
left=$(jobs_of_apt)
grep -q '^suspended ' <<<"$left"; tap $? "the _apt job of the big package stays, suspended" "$left"
grep -q ' low$' <<<"$left"; tap $? "without a terminal the method's default priority is low" "$left"
[ ! -e "$A/cache/archives/kbits-big_1.0_all.deb" ]; tap $? "no kbits-big .deb in the archives yet"
held=$(awk '$1 == "suspended" { print $2 }' <<<"$left" | head -n 1)
# What a reboot leaves of kbits: kbitsd's store, no module state. The
# module is reloaded (root's monitor started again after it), so the job
# the next apt run finds can only come from the store.
kill -INT "$mon_pid"; wait "$mon_pid" 2>/dev/null
rmmod kbits && insmod "$ko"; tap $? "kbits.ko reloaded with kbitsd down, as a reboot would leave it"
[ "$(jobs_of_apt | wc -l)" -eq 0 ]; tap $? "the reloaded module holds no job of _apt" "$(jobs_of_apt)"
"$ctl" --json monitor --all-users >>"$T/monitor.json" 2>>"$T/monitor.err" &
mon_pid=$!

# ---- 3. again: the download resumes ------------------------------------------------
e2e_kbitsd_start; tap $? "kbitsd restarted" "$(tail -n 5 "$E2E_KBITSD_LOG")"
# The method's Suspend came while kbitsd was down, so the store still has
# the job running: restored, it goes on in the background, and the next apt
# run finds it further on (or transferred) and only has to finish it.
e2e_wait 20 eval '[ "$(jobs_of_apt | wc -l)" -eq 1 ]'
back=$(jobs_of_apt)
rb=$(awk '{ print $2 }' <<<"$back" | head -n 1)
[ -n "$rb" ] && [ "$rb" -gt 0 ] && grep -q 'restored 1 jobs' "$E2E_KBITSD_LOG"
tap $? "kbitsd restored the one _apt job from its store, with its bytes (${rb:-?}; $held reported before)" "$back
$(grep -i restor "$E2E_KBITSD_LOG")"
t0=$(date +%s)
o=$(aptget -o Acquire::kbits::Priority=foreground install --download-only kbits-small kbits-mid kbits-big 2>&1); rc=$?
tap $rc "apt-get install --download-only again: rc 0 (apt's hash checks passed) in $(( $(date +%s) - t0 )) s" "$o"
ok=0
for p in kbits-small kbits-mid kbits-big; do
	cmp -s "$www/repo/${p}_1.0_all.deb" "$A/cache/archives/${p}_1.0_all.deb" || ok=1
done
tap $ok "the three .debs in the archives are the server's" "$(ls -l "$A/cache/archives")"
r=$(grep '^206 "GET /repo/kbits-big_1.0_all.deb' "$T/nginx.access" | head -n 1)
from=$(sed -n 's/.*range="bytes=\([0-9]*\)-".*/\1/p' <<<"$r")
[ -n "$from" ] && [ "$from" -gt 0 ]; tap $? "the big package resumed with a Range request (206 from byte ${from:-?}; ${held:-?} held at the interruption)" "$(grep kbits-big "$T/nginx.access")"
sent=$(grep 'kbits-big' "$T/nginx.access" | sed -n 's/.*sent=\([0-9]*\)$/\1/p' | awk '{ s += $1 } END { print s + 0 }')
[ "$sent" -lt $((big_size + (12 << 20))) ]; tap $? "nginx sent $sent bytes of the big package in all, not twice its $big_size" "$(grep kbits-big "$T/nginx.access")"
[ "$(jobs_of_apt | wc -l)" -eq 0 ]; tap $? "no job of _apt left" "$(jobs_of_apt)"

# ---- 4. root's monitor saw _apt's jobs ---------------------------------------------
kill -INT "$mon_pid"; wait "$mon_pid" 2>/dev/null; mon_pid=
$PY - "$apt_uid" "$T/monitor.json" <<'PY' >"$T/monitor.check" 2>&1
import json, sys
uid = int(sys.argv[1])
ev = [json.loads(l) for l in open(sys.argv[2]) if l.strip().startswith("{")]
mine = [e for e in ev if (e.get("job") or e).get("owner_uid") == uid]
prios = {(e.get("job") or e).get("priority") for e in mine}
print(len(ev), "events,", len(mine), "of _apt's jobs, priorities", sorted(p for p in prios if p))
sys.exit(0 if mine and "low" in prios and "foreground" in prios else 1)
PY
tap $? "root's kbitsctl monitor --all-users showed _apt's jobs, low then foreground: $(cat "$T/monitor.check")" "$(head -n 3 "$T/monitor.json")"

# ---- 5. a second update fetches no index again -----------------------------------
before=$(wc -l <"$T/nginx.access")
o=$(aptget update 2>&1); rc=$?
new=$(tail -n +$((before + 1)) "$T/nginx.access")
[ $rc -eq 0 ]; tap $? "a second apt-get update: rc 0" "$o"
! grep -q 'Packages' <<<"$new" && grep -q '^304 "GET /repo/Release ' <<<"$new"
tap $? "it asked for Release with If-Modified-Since (304) and fetched no Packages" "$new"
grep -q '^Hit:.*kbits+http' <<<"$o"; tap $? "apt reports the source as Hit" "$o"

# ---- 6. a corrupted package --------------------------------------------------------
f=$www/repo/kbits-mid_1.0_all.deb
printf 'XXXXXXXX' | dd of="$f" bs=1 seek=$(( $(stat -c %s "$f") - 4096 )) conv=notrunc status=none
rm -f "$A/cache/archives/kbits-mid_1.0_all.deb"
o=$(aptget install --download-only kbits-mid 2>&1); rc=$?
[ $rc -ne 0 ] && grep -qi 'hash sum mismatch' <<<"$o"; tap $? "a corrupted package on the server: apt fails with Hash Sum mismatch (rc $rc)" "$o"
[ ! -e "$A/cache/archives/kbits-mid_1.0_all.deb" ]; tap $? "and does not keep it"
[ "$(jobs_of_apt | wc -l)" -eq 0 ]; tap $? "no job of _apt left after the failure" "$(jobs_of_apt)"

# ---- 7. a LOW run yields to a FOREGROUND job -------------------------------------
# apt without a terminal asks for LOW; root's FOREGROUND job for the same
# big file (1 MiB/s from its start) comes first. kbitsd grants transfer
# slots in priority order: with its 16 slots both would run (the LOW one
# yielding bandwidth through TCP-LP and its receive window, which
# tests/host/netns_lp.sh measures on a veth), so kbitsd runs here with one
# slot: the LOW job gives it up (QUEUED) until the foreground job is gone,
# then apt finishes. With Acquire::kbits::Timeout 3 the LOW job waits in
# the queue longer than the method's stall limit (Timeout + 10 s): waiting
# for a slot of a running kbitsd is not a stall, apt must not give up
# (Acquire::Retries 0: apt 2.6 would otherwise retry the failed fetch).
e2e_kbitsd_stop
e2e_kbitsd_start --max-transfers 1; tap $? "kbitsd restarted with one transfer slot (--max-transfers 1)" "$(tail -n 5 "$E2E_KBITSD_LOG")"
rm -f "$A/cache/archives/kbits-big_1.0_all.deb"
setsid bash -c "$(declare -f aptget); A='$A'; aptget -o Acquire::kbits::Timeout=3 -o Acquire::Retries=0 install --download-only kbits-big" \
	>"$T/apt7.out" 2>&1 &
apt_pid=$!
apt_state() { jobs_of_apt | awk '{ print $1 }' | head -n 1; }
apt_bytes() { jobs_of_apt | awk '{ print $2 }' | head -n 1; }
e2e_wait 60 big_past $((1 << 20)); tap $? "a low-priority apt run transfers the big package" "$(jobs_of_apt; tail -n 5 "$T/apt7.out")"
fg=$("$ctl" create --no-wait-durable fg-big 2>&1) &&
	"$ctl" set --no-wait-durable "$fg" priority foreground 2>&1 &&
	"$ctl" addfile --no-wait-durable "$fg" "http://127.0.0.1:$port/repo/kbits-big_1.0_all.deb" "$T/fg-big.deb" 2>&1 &&
	fgout=$("$ctl" resume "$fg" 2>&1)
tap $? "root's FOREGROUND job for the same file resumed" "$fg ${fgout-}"
e2e_wait 20 eval '[ "$(apt_state)" = queued ]'
tap $? "the _apt LOW job yields: QUEUED while the foreground job runs" "$(jobs_of_apt; "$ctl" info "$fg")"
b1=$(apt_bytes); sleep 15; b2=$(apt_bytes)
fgstate=$("$ctl" --json info "$fg" | $PY -c 'import json, sys; print(json.load(sys.stdin)["state"])')
[ "$b1" = "$b2" ] && [ "$(apt_state)" = queued ] && [ "$fgstate" = transferring ]
tap $? "for 15 s (past Timeout 3 + 10) the LOW job stays queued at $b1 bytes ($b2 after) while the foreground job is $fgstate" "$(jobs_of_apt)"
"$ctl" cancel "$fg"; tap $? "the foreground job cancelled"
e2e_wait 120 eval '! kill -0 '"$apt_pid"' 2>/dev/null'
wait "$apt_pid"; rc=$?
apt_pid=
tap $rc "then apt's download finishes: rc $rc" "$(tail -n 5 "$T/apt7.out")"
cmp -s "$www/repo/kbits-big_1.0_all.deb" "$A/cache/archives/kbits-big_1.0_all.deb"
tap $? "the big .deb in the archives is the server's"
[ "$(jobs_of_apt | wc -l)" -eq 0 ]; tap $? "no job of _apt left" "$(jobs_of_apt)"

# ---- 8. redirects, as apt's http method allows them --------------------------------
# The same repository under /old/, which nginx answers with 301 to /repo/:
# followed by default; a failure naming the redirect with apt's
# Acquire::http::AllowRedirect "false".
echo "deb [trusted=yes] kbits+http://127.0.0.1:$port/old ./" >"$A/sources-old.list"
mkdir -p "$A/lists-old/partial" "$A/lists-old2/partial"
chmod -R 755 "$A/lists-old" "$A/lists-old2"
o=$(aptget -o Dir::Etc::sourcelist="$A/sources-old.list" -o Dir::State::lists="$A/lists-old" update 2>&1); rc=$?
[ $rc -eq 0 ] && ! grep -q '^[EW]:' <<<"$o" && ls "$A"/lists-old/*_old_._Packages* >/dev/null 2>&1 &&
	grep -q '^301 "GET /old/Packages' "$T/nginx.access"
tap $? "apt-get update of a source that redirects (301 /old/ to /repo/): rc $rc, its Packages in the lists" "$o
$(grep ' /old/' "$T/nginx.access")"
o=$(aptget -o Dir::Etc::sourcelist="$A/sources-old.list" -o Dir::State::lists="$A/lists-old2" \
	-o Acquire::http::AllowRedirect=false update 2>&1); rc=$?
grep -q 'redirect from http://127.0.0.1:[0-9]*/old/.* is refused' <<<"$o" && ! ls "$A"/lists-old2/*_Packages* >/dev/null 2>&1
tap $? "with Acquire::http::AllowRedirect false the redirect is refused, named in apt's error (rc $rc)" "$o"
[ "$(jobs_of_apt | wc -l)" -eq 0 ]; tap $? "no job of _apt left" "$(jobs_of_apt)"

echo "# $(( $(date +%s) - start )) s"
echo "1..$n"
exit $failed
