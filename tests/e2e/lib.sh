# Shared by tests/e2e/run and tools/demo-guest (sourced, bash): nginx on
# loopback with generated files, kbitsd with a store in a temporary
# directory, bounded waits. Needs $top (the project directory).
#
#   e2e_setup DIR            make DIR/{www,state,out}; set the paths below
#   e2e_nginx_start [RATE]   nginx on 127.0.0.1:$E2E_PORT serving DIR/www;
#                            /slow/ is limited to RATE (default 256k) per
#                            connection
#   e2e_kbitsd_start [ARGS]  kbitsd --db DIR/state/kbits.db, log DIR/kbitsd.log
#   e2e_kbitsd_stop [SIG]    SIGTERM (default) and wait, bounded
#   e2e_wait SECS CMD...     run CMD every 0.2 s until it succeeds or SECS pass
#   e2e_make_file PATH SIZE  SIZE bytes of reproducible pseudo-random data

ctl=$top/build/bin/kbitsctl
kbitsd_bin=$top/build/bin/kbitsd
ko=$top/build/kernel/$(uname -r)/kbits.ko
PY=/usr/bin/python3
# The VM's /dev has no /dev/fd: bash's process substitution needs it.
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd 2>/dev/null

e2e_setup() {
	E2E_DIR=$1
	mkdir -p "$E2E_DIR"/{www/slow,state,out,nginx-tmp}
	chmod 755 "$E2E_DIR" "$E2E_DIR/www" "$E2E_DIR/www/slow"
	chmod 1777 "$E2E_DIR/out"
	E2E_DB=$E2E_DIR/state/kbits.db
	E2E_KBITSD_LOG=$E2E_DIR/kbitsd.log
	E2E_KBITSD_PID=
	E2E_NGINX_PID=
}

e2e_make_file() {	# e2e_make_file PATH SIZE
	# Fast and reproducible: openssl's AES-CTR keystream of a fixed key.
	if [ "$2" -eq 0 ]; then : >"$1"; return; fi
	head -c "$2" /dev/zero |
		openssl enc -aes-128-ctr -nosalt -K 000102030405060708090a0b0c0d0e0f \
			-iv "$(printf '%032x' "$2")" 2>/dev/null >"$1"
	chmod 644 "$1"
}

e2e_free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

e2e_port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

e2e_wait() {	# e2e_wait SECS CMD...: 0 once CMD succeeds, 1 after SECS
	local deadline=$(( $(date +%s) + $1 ))
	shift
	while ! "$@"; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

e2e_nginx_start() {	# e2e_nginx_start [RATE]
	local rate=${1:-256k} d=$E2E_DIR
	E2E_PORT=$(e2e_free_port)
	cat >"$d/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
user root;
error_log $d/nginx.err;
pid $d/nginx.pid;
events { worker_connections 256; }
http {
	access_log $d/nginx.access;
	sendfile on;
	default_type application/octet-stream;
	client_body_temp_path $d/nginx-tmp;
	proxy_temp_path $d/nginx-tmp;
	fastcgi_temp_path $d/nginx-tmp;
	uwsgi_temp_path $d/nginx-tmp;
	scgi_temp_path $d/nginx-tmp;
	server {
		listen 127.0.0.1:$E2E_PORT;
		root $d/www;
		location / { }
		location /slow/ { limit_rate $rate; }
	}
}
CONF
	/usr/sbin/nginx -p "$d/" -c "$d/nginx.conf" -e "$d/nginx.err" </dev/null >>"$d/nginx.err" 2>&1 &
	E2E_NGINX_PID=$!
	E2E_URL=http://127.0.0.1:$E2E_PORT
	e2e_wait 20 e2e_port_open "$E2E_PORT"
}

e2e_nginx_stop() {
	[ -n "$E2E_NGINX_PID" ] || return 0
	kill "$E2E_NGINX_PID" 2>/dev/null
	e2e_wait 10 eval '! kill -0 '"$E2E_NGINX_PID"' 2>/dev/null' || kill -9 "$E2E_NGINX_PID" 2>/dev/null
	wait "$E2E_NGINX_PID" 2>/dev/null
	E2E_NGINX_PID=
}

e2e_attached() {	# the agent is attached once the log says so
	grep -q "attached" "$E2E_KBITSD_LOG" 2>/dev/null
}

e2e_kbitsd_start() {	# e2e_kbitsd_start [ARGS]: 0 once attached
	: >"$E2E_KBITSD_LOG"
	"$kbitsd_bin" -v --db "$E2E_DB" "$@" </dev/null >>"$E2E_KBITSD_LOG" 2>&1 &
	E2E_KBITSD_PID=$!
	e2e_wait 20 e2e_attached
}

e2e_kbitsd_stop() {	# e2e_kbitsd_stop [SIGNAL]
	local sig=${1:-TERM}
	[ -n "$E2E_KBITSD_PID" ] || return 0
	kill -s "$sig" "$E2E_KBITSD_PID" 2>/dev/null
	e2e_wait 20 eval '! kill -0 '"$E2E_KBITSD_PID"' 2>/dev/null' || kill -9 "$E2E_KBITSD_PID" 2>/dev/null
	wait "$E2E_KBITSD_PID" 2>/dev/null
	local rc=$?
	E2E_KBITSD_PID=
	return $rc
}
