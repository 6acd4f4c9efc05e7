#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Background transfers yield: two network namespaces of our own joined by a
# veth whose server side is limited with tc (tbf, RATE_MBIT, default 50);
# nginx in one, curl and the kbits engine (build/tests/netns/kbits_fetch)
# in the other. Checks (TAP):
#   - a LOW job alone fills at least 80% of the link;
#   - a foreground curl keeps at least 70% of its solo throughput while a
#     LOW job runs.
# Needs root (namespaces, tc); meant for the VM, where tcp_lp can be loaded:
#   tools/vm-run -- tests/netns/lp_test.sh
set -u
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fetch=$top/build/tests/netns/kbits_fetch
rate_mbit=${RATE_MBIT:-50}
secs=${SECS:-10}
n=0 failed=0
tap() {	# tap OK DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi
}
echo "TAP version 13"
if [ "$(id -u)" -ne 0 ] || [ ! -x "$fetch" ]; then
	tap 1 "needs root and $fetch (make tests)"
	echo "1..$n"
	exit 1
fi

srv=kbsrv$$ cli=kbcli$$ v0=kbl0$$ v1=kbl1$$
tmp=$(mktemp -d /tmp/kbits-lp.XXXXXX)
ngx=
cleanup() {
	[ -n "$ngx" ] && kill "$ngx" 2>/dev/null && wait "$ngx" 2>/dev/null
	ip netns del "$srv" 2>/dev/null
	ip netns del "$cli" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

for m in veth sch_tbf tcp_lp; do modprobe "$m" 2>/dev/null; done
echo "# congestion controls: $(cat /proc/sys/net/ipv4/tcp_available_congestion_control)"
ip netns add "$srv" && ip netns add "$cli" &&
	ip link add "$v0" type veth peer name "$v1" &&
	ip link set "$v0" netns "$srv" && ip link set "$v1" netns "$cli" &&
	ip -n "$srv" addr add 10.231.0.1/24 dev "$v0" && ip -n "$cli" addr add 10.231.0.2/24 dev "$v1" &&
	ip -n "$srv" link set lo up && ip -n "$cli" link set lo up &&
	ip -n "$srv" link set "$v0" up && ip -n "$cli" link set "$v1" up &&
	ip -n "$srv" link set "$v0" gso_max_size 65536 2>/dev/null
# The bottleneck: the server's egress (the download direction), 100 ms of queue.
tc -n "$srv" qdisc add dev "$v0" root tbf rate "${rate_mbit}mbit" burst 32kb latency 100ms
rc=$?
tap $rc "namespaces $srv and $cli joined by a veth limited to ${rate_mbit} Mbit/s (tbf)"
[ $rc -eq 0 ] || { echo "1..$n"; exit 1; }

mkdir -p "$tmp/www" "$tmp/dl" "$tmp/ngx"
truncate -s 4G "$tmp/www/big"
cat >"$tmp/nginx.conf" <<CONF
daemon off; master_process off; worker_processes 1; user root;
error_log $tmp/nginx.err; pid $tmp/nginx.pid;
events { worker_connections 64; }
http { access_log off; sendfile on;
  client_body_temp_path $tmp/ngx; proxy_temp_path $tmp/ngx; fastcgi_temp_path $tmp/ngx;
  uwsgi_temp_path $tmp/ngx; scgi_temp_path $tmp/ngx;
  server { listen 10.231.0.1:8080; root $tmp/www; location / { } } }
CONF
ip netns exec "$srv" /usr/sbin/nginx -p "$tmp/" -c "$tmp/nginx.conf" -e stderr &
ngx=$!
for _ in $(seq 100); do
	ip netns exec "$cli" curl -s -o /dev/null --max-time 1 -r 0-0 http://10.231.0.1:8080/big && break
	sleep 0.1
done
ip netns exec "$cli" curl -s -o /dev/null --max-time 2 -r 0-0 http://10.231.0.1:8080/big
rc=$?
tap $rc "nginx answers in $srv"
[ $rc -eq 0 ] || { echo "1..$n"; exit 1; }

url=http://10.231.0.1:8080/big
link=$((rate_mbit * 1000000 / 8))	# bytes/s
fg_rate() {	# bytes/s of a foreground curl for $1 seconds
	ip netns exec "$cli" curl -s -o /dev/null --max-time "$1" -w '%{size_download} %{time_total}\n' "$url" |
		awk '{ if ($2 > 0) printf "%d\n", $1 / $2; else print 0 }'
}
low() {	# kbits_fetch output of a LOW job for $1 seconds (more options after)
	local s=$1
	shift
	ip netns exec "$cli" "$fetch" --priority 3 --seconds "$s" "$@" "$url" "$tmp/dl/low"
}
field() { sed -n "s/.*\\b$1=\\([0-9.]*\\).*/\\1/p"; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%d", 100 * a / b; else print 0 }'; }
mbit() { awk -v a="$1" 'BEGIN { printf "%.1f", a * 8 / 1e6 }'; }

# 1. foreground alone
solo=$(fg_rate "$secs")
echo "# foreground curl alone: $(mbit "$solo") Mbit/s ($(pct "$solo" "$link")% of the link)"

# 2. LOW alone
out=$(low "$secs")
echo "# LOW alone: $out"
lrate=$(field rate <<<"$out")
lrate=${lrate%.*}
[ "$(pct "${lrate:-0}" "$link")" -ge 80 ]
tap $? "a LOW job alone fills the link: $(mbit "${lrate:-0}") Mbit/s = $(pct "${lrate:-0}" "$link")% of ${rate_mbit} Mbit/s (>= 80%)"
if grep -qw lp /proc/sys/net/ipv4/tcp_available_congestion_control; then
	grep -q "lp_available=1" <<<"$out" && ! grep -q "lp_sockets=0 " <<<"$out"
	tap $? "the LOW job's socket uses TCP-LP ($(grep -o 'lp_available=[0-9] lp_sockets=[0-9]*' <<<"$out"))"
else
	# This kernel has no tcp_lp: the job falls back silently (and ran above).
	grep -q "lp_available=0 lp_sockets=0 " <<<"$out"
	tap $? "no tcp_lp in this kernel: the LOW job falls back silently ($(grep -o 'lp_available=[0-9] lp_sockets=[0-9]*' <<<"$out"))"
fi

# 3. foreground while LOW runs (LOW starts 3 s before and ends after)
mixed_run() {	# prints "fg_rate|low output"
	local f
	low $((secs + 5)) "$@" >"$tmp/low.out" &
	local lpid=$!
	sleep 3
	f=$(fg_rate "$secs")
	wait $lpid
	echo "$f|$(cat "$tmp/low.out")"
}
r=$(mixed_run)
mixed=${r%%|*}
echo "# foreground with LOW running: $(mbit "$mixed") Mbit/s; LOW: ${r#*|}"
[ "$(pct "$mixed" "$solo")" -ge 70 ]
tap $? "foreground keeps $(pct "$mixed" "$solo")% of its solo throughput while a LOW job runs (>= 70%)"

# 4. for comparison (no check): LOW with TCP-LP only, no receive-side yielding
r=$(mixed_run --no-rlp)
echo "# for comparison, LOW with lp on its own socket only (--no-rlp): foreground $(mbit "${r%%|*}") Mbit/s = $(pct "${r%%|*}" "$solo")% of solo; LOW: ${r#*|}"

echo "1..$n"
exit $failed
