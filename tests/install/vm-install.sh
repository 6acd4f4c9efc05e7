#!/bin/bash
# The Debian packages on a running kernel, in the VM:
#   tools/vm-run --kernel 6.1 -- tests/install/vm-install.sh
# The guest's root is the host's, read-only: an overlay (upper layer on the
# guest's tmpfs /tmp) makes a writable copy to chroot into. There: dpkg -i
# the packages of build/deb/ (`make deb`; kbits-dkms builds kbits.ko for the
# running kernel with DKMS), modprobe kbits, check /dev/kbits and the udev
# rule, start kbitsd the way kbitsd.service does (its ExecStart, its state
# directory, a $NOTIFY_SOCKET that must receive READY=1), transfer files
# from nginx on 127.0.0.1 with the installed kbitsctl as root and as a user
# and compare sha256 sums, stop everything, purge the packages. TAP.
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
n=0 failed=0
tap() {	# tap STATUS DESCRIPTION [DETAIL...]
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else
		echo "not ok $n - $2"; shift 2
		[ $# -gt 0 ] && printf '%s\n' "$@" | tail -n 30 | sed 's/^/#   /'
		failed=1
	fi
}
bail() { echo "Bail out! $*"; echo "1..$n"; exit 1; }
echo "TAP version 13"
rel=$(uname -r)
echo "# kernel $rel"

# ---- a writable root: overlay of the read-only host root --------------------
base=/tmp/kbits-install
root=$base/root
mkdir -p "$base"/{upper,work,root}
modprobe overlay
mount -t overlay overlay -o "lowerdir=/,upperdir=$base/upper,workdir=$base/work" "$root"
tap $? "overlay root over the read-only host root" || bail "no writable root"
mount -t proc proc "$root/proc"
for d in sys dev dev/pts; do mount --bind "/$d" "$root/$d"; done
# The guest's devtmpfs has no /dev/fd (dkms uses <(...)).
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
mount -t tmpfs -o mode=755 tmpfs "$root/run"
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
mkdir -p "$root$top" && mount --bind "$top" "$root$top"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	HOME=/root LANG=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive "$@"; }
# DKMS builds for the running and the newest kernel; under TCG each build
# takes minutes: leave this guest the headers of its own kernel only (the
# host suite builds the DKMS tree for every supported kernel).
for b in "$root"/lib/modules/*/build; do
	[ "$b" = "$root/lib/modules/$rel/build" ] || rm -f "$b"
done
# man-db's trigger would index every man page of the host (minutes under TCG).
rm -f "$root/var/lib/man-db/auto-update"
touch "$root/usr/.kbits-writable" 2>/dev/null && [ ! -e /usr/.kbits-writable ]
tap $? "the overlay is writable, the host root untouched"

# ---- install the packages -------------------------------------------------------
debs=()
for p in kbits-dkms kbitsd kbitsctl libkbits1 libkbits-dev apt-transport-kbits; do
	f=$(ls "$top"/build/deb/"${p}"_*.deb 2>/dev/null | head -n 1)
	[ -n "$f" ] && debs+=("$f")
done
[ ${#debs[@]} -eq 6 ]; tap $? "the six packages are built (make deb)" || bail "run make deb first"
start=$(date +%s)
# Each line of dpkg's output with the seconds since the start: where the time goes.
out=$(in_root dpkg -i "${debs[@]}" 2>&1 | while IFS= read -r l; do
	printf '+%ds %s\n' $(( $(date +%s) - start )) "$l"; done; exit "${PIPESTATUS[0]}"); rc=$?
echo "# dpkg -i took $(( $(date +%s) - start ))s"
grep -E 'Setting up|Building|DKMS|dkms|Signing|depmod|Processing triggers|Done\.|Installing' <<<"$out" | sed 's/^/#   /'
tap $rc "dpkg -i the six packages ($(( $(date +%s) - start ))s, DKMS build included)" "$out"
st=$(in_root dpkg-query -W -f='${db:Status-Abbrev}${Package}\n' kbits-dkms kbitsd kbitsctl libkbits1 libkbits-dev \
	apt-transport-kbits 2>&1)
[ "$(grep -c '^ii ' <<<"$st")" -eq 6 ]; tap $? "all six are installed and configured" "$st"
# apt's methods: both names run and speak the method protocol (100 Capabilities, then exit at EOF).
for m in kbits+http kbits+https; do
	out=$(in_root timeout 20 /usr/lib/apt/methods/$m </dev/null 2>&1); rc=$?
	[ $rc -eq 0 ] && [ "$(head -n 1 <<<"$out")" = "100 Capabilities" ]
	tap $? "/usr/lib/apt/methods/$m runs and announces its capabilities (exit $rc)" "$out"
done
out=$(in_root dkms status kbits 2>&1)
grep -q "kbits/.*, $rel, .*: installed" <<<"$out"; tap $? "dkms status: kbits installed for $rel" "$out"
ko=$(in_root modinfo -n kbits 2>&1)
case "$ko" in /lib/modules/"$rel"/updates/dkms/kbits.ko*) r=0 ;; *) r=1 ;; esac
tap $r "modinfo finds the DKMS-built kbits.ko ($ko)"
out=$(in_root systemctl is-enabled kbitsd.service 2>&1)
[ "$out" = enabled ]; tap $? "kbitsd.service is enabled by the package (got '$out')"
[ -x "$root/usr/sbin/kbitsd" ] && [ -x "$root/usr/bin/kbitsctl" ] && [ -L "$root/usr/lib/x86_64-linux-gnu/libkbits.so.1" ] &&
	[ -f "$root/lib/udev/rules.d/60-kbits.rules" ] && [ -f "$root/lib/modules-load.d/kbits.conf" ] &&
	[ -f "$root/usr/share/bash-completion/completions/kbitsctl" ] && [ -f "$root/usr/share/man/man8/kbitsd.8.gz" ]
tap $? "programs, library, udev rule, modules-load.d entry, completion and man pages are in place"

# ---- the module --------------------------------------------------------------------
out=$(in_root modprobe kbits 2>&1); rc=$?
if [ $rc -ne 0 ]; then
	tap 1 "modprobe kbits (the DKMS module)" "$out"
	insmod "$top/build/kernel/$rel/kbits.ko"   # go on with the tree's module
else
	tap 0 "modprobe kbits loads the DKMS-built module"
fi
[ -c /dev/kbits ] && [ "$(stat -c %a /dev/kbits)" = 666 ]; tap $? "/dev/kbits is a character device of mode 0666"
out=$(in_root udevadm test --action=add /class/misc/kbits 2>&1)
grep -qE "MODE 0666 .*60-kbits.rules|60-kbits.rules.*MODE 0666|MODE.*0666" <<<"$out" && grep -q 60-kbits.rules <<<"$out"
tap $? "udevadm test: 60-kbits.rules gives /dev/kbits mode 0666" "$(grep -iE 'kbits|mode' <<<"$out")"

# ---- kbitsd, started as the unit starts it -------------------------------------------------
unit=$root/lib/systemd/system/kbitsd.service
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
state_dir=$(sed -n 's/^StateDirectory=//p' "$unit")
state_mode=$(sed -n 's/^StateDirectoryMode=//p' "$unit")
[ "$exec_start" = /usr/sbin/kbitsd ] && [ "$state_dir" = kbits ]
tap $? "the installed unit: ExecStart=$exec_start, StateDirectory=$state_dir"
install -d -m "${state_mode:-0755}" "$root/var/lib/$state_dir"
# systemd's side of Type=notify: a datagram socket in $NOTIFY_SOCKET.
notify=$root/run/kbitsd-notify
python3 - "$notify" >"$base/notify.log" 2>&1 <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(300)
while True:
    msg = s.recv(4096).decode()
    print(msg.replace("\n", "|"), flush=True)
    if "READY=1" in msg.split("\n"):
        break
EOF
listener=$!
for _ in $(seq 50); do [ -S "$notify" ] && break; sleep 0.1; done
# The unit's capability bounding set and NoNewPrivileges, with setpriv: the
# transfers below show that these capabilities are enough.
bset=-all
for c in $(sed -n 's/^CapabilityBoundingSet=//p' "$unit" | tr 'A-Z' 'a-z'); do bset+=",+${c#cap_}"; done
grep -qx 'NoNewPrivileges=yes' "$unit" && nnp=--no-new-privs || nnp=
chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
	NOTIFY_SOCKET=/run/kbitsd-notify setpriv --bounding-set "$bset" $nnp \
	sh -c "umask 077; exec $exec_start" >"$base/kbitsd.log" 2>&1 &
agent=$!
ready=1
for _ in $(seq 1200); do
	kill -0 $listener 2>/dev/null || { ready=0; break; }
	kill -0 $agent 2>/dev/null || break
	sleep 0.1
done
wait $listener 2>/dev/null
[ $ready -eq 0 ] && grep -q 'READY=1' "$base/notify.log" && kill -0 $agent 2>/dev/null
tap $? "kbitsd (bounding set $bset) runs and tells \$NOTIFY_SOCKET READY=1 ($(head -n 1 "$base/notify.log"))" "$(cat "$base/kbitsd.log")"
[ "$(stat -c %a "$root/var/lib/kbits/kbits.db" 2>/dev/null)" = 600 ]
tap $? "the store is /var/lib/kbits/kbits.db, mode 0600" "$(ls -la "$root/var/lib/kbits")"

# ---- nginx on 127.0.0.1 ---------------------------------------------------------------------
web=$root/tmp/web
mkdir -p "$web/www" "$web/logs"
head -c $((3 * 1024 * 1024 + 17)) /dev/urandom >"$web/www/a.bin"
head -c $((1024 * 1024)) /dev/urandom >"$web/www/b.bin"
port=$((20000 + RANDOM % 20000))
cat >"$web/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid /tmp/web/nginx.pid;
error_log /tmp/web/logs/error.log;
events { worker_connections 64; }
http {
	access_log /tmp/web/logs/access.log;
	client_body_temp_path /tmp/web/body;
	proxy_temp_path /tmp/web/proxy;
	fastcgi_temp_path /tmp/web/fastcgi;
	uwsgi_temp_path /tmp/web/uwsgi;
	scgi_temp_path /tmp/web/scgi;
	server {
		listen 127.0.0.1:$port;
		root /tmp/web/www;
	}
}
EOF
chroot "$root" /usr/sbin/nginx -p /tmp/web -c /tmp/web/nginx.conf >"$web/logs/stderr" 2>&1 &
nginx=$!
for _ in $(seq 100); do in_root curl -fsS -o /dev/null "http://127.0.0.1:$port/b.bin" 2>/dev/null && break; sleep 0.2; done
in_root curl -fsS -o /dev/null "http://127.0.0.1:$port/b.bin"; tap $? "nginx serves on 127.0.0.1:$port" "$(cat "$web/logs/stderr")"

# ---- transfers with the installed kbitsctl --------------------------------------------------
out=$(in_root kbitsctl version 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q 'kbits.ko' <<<"$out"; tap $? "installed kbitsctl version talks to the module" "$out"
out=$(in_root timeout 300 kbitsctl transfer "http://127.0.0.1:$port/a.bin" /root/a.bin "http://127.0.0.1:$port/b.bin" /root/b.bin 2>&1); rc=$?
tap $rc "kbitsctl transfer of two files as root" "$out" "$(tail -n 20 "$base/kbitsd.log")"
for f in a b; do
	want=$(sha256sum <"$web/www/$f.bin") got=$(sha256sum <"$root/root/$f.bin" 2>/dev/null)
	[ "$want" = "$got" ]; tap $? "$f.bin arrived whole (sha256 ${want:0:16}...)"
done
mkdir -p "$root/tmp/u1000" && chown 1000:1000 "$root/tmp/u1000" && chmod 700 "$root/tmp/u1000"
out=$(in_root timeout 300 setpriv --reuid 1000 --regid 1000 --clear-groups \
	kbitsctl transfer "http://127.0.0.1:$port/b.bin" /tmp/u1000/b.bin 2>&1); rc=$?
tap $rc "kbitsctl transfer as uid 1000 into its own 0700 directory" "$out" "$(tail -n 20 "$base/kbitsd.log")"
[ "$(sha256sum <"$root/tmp/u1000/b.bin" 2>/dev/null)" = "$(sha256sum <"$web/www/b.bin")" ] &&
	[ "$(stat -c %u:%g "$root/tmp/u1000/b.bin")" = 1000:1000 ]
tap $? "uid 1000's file arrived whole and belongs to uid 1000" "$(ls -la "$root/tmp/u1000")"
out=$(in_root kbitsctl --json list --all-users 2>&1)
[ "$out" = "[]" ]; tap $? "no job is left behind" "$out"

# ---- stop, unload, purge ------------------------------------------------------------------------
kill $nginx 2>/dev/null; wait $nginx 2>/dev/null
kill -TERM $agent; wait $agent; rc=$?
tap $rc "kbitsd stops cleanly on SIGTERM (status $rc)" "$(tail -n 10 "$base/kbitsd.log")"
rmmod kbits; tap $? "rmmod kbits"
out=$(in_root dpkg --purge apt-transport-kbits kbitsd kbitsctl libkbits-dev libkbits1 kbits-dkms 2>&1); rc=$?
tap $rc "dpkg --purge the six packages" "$out"
left=$(in_root sh -c 'ls -d /usr/sbin/kbitsd /usr/bin/kbitsctl /usr/lib/apt/methods/kbits* /usr/src/kbits-* /var/lib/kbits /lib/modules/*/updates/dkms/kbits.ko* /var/lib/dkms/kbits /etc/systemd/system/multi-user.target.wants/kbitsd.service 2>/dev/null')
[ -z "$left" ]; tap $? "purge leaves no program, DKMS module, state or enablement link" "$left"

for d in "$top" tmp run dev/pts dev sys proc; do umount "$root/${d#/}" 2>/dev/null; done
umount "$root" 2>/dev/null
echo "1..$n"
exit $failed
