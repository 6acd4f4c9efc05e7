#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A fault-injecting HTTP/1.1 server for kbitsd's tests (standard library only).

Serves the files of --root at /<name>; the query string chooses misbehaviour:

  drop=N          first request of this name: send N body bytes, then close
  norange=1       ignore Range, no Accept-Ranges (whole file every time)
  nolength=1      no Content-Length: the body ends when the connection closes
  noetag=1        no ETag (Last-Modified only)
  change=1        from the second request on serve <name>.v2 (new ETag, new bytes)
  status=S        answer S (for example 503, 404, 500) ...
  times=K         ... to the first K requests of this name only (default: all)
  retry_after=T   with status: a Retry-After: T header
  redirect=URL    answer 302 to URL
  slow=B          send at most B bytes per second
  lie=N           claim Content-Length N (sends the real bytes, then closes)
  stall=N         first request of this name: send N body bytes, then nothing
                  for 60 s (the connection stays open: a stalled server)
  etag=X          announce ETag "X" (and honour If-Range against it) instead
                  of the content's hash: another mirror's validator

Only 127.0.0.1; over TLS with --cert and --key (PEM). Every request is logged to --log as one line:
  name method status range=<Range|-> if_range=<If-Range|-> sent=<bytes>
The chosen port is written to --port-file.
"""
import argparse
import email.utils
import hashlib
import os
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

counts = {}
lock = threading.Lock()
args = None


def log_line(line):
    with lock:
        with open(args.log, "a") as f:
            f.write(line + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def do_HEAD(self):
        self.serve(head=True)

    def do_GET(self):
        self.serve(head=False)

    def serve(self, head):
        url = urllib.parse.urlsplit(self.path)
        name = os.path.basename(urllib.parse.unquote(url.path))
        q = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        with lock:
            n = counts.get(name, 0)
            counts[name] = n + 1
        rng = self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        sent = 0
        status = 200
        try:
            status, sent = self.answer(name, q, n, rng, if_range, head)
        finally:
            log_line("%s %s %d range=%s if_range=%s sent=%d" % (
                name, self.command, status, rng or "-", if_range or "-", sent))

    def plain(self, status, extra=None, body=b""):
        self.send_response(status)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)
        return status, len(body)

    def answer(self, name, q, n, rng, if_range, head):
        if "redirect" in q:
            return self.plain(302, {"Location": q["redirect"]})
        if "status" in q and n < int(q.get("times", "1000000")):
            extra = {}
            if "retry_after" in q:
                extra["Retry-After"] = q["retry_after"]
            return self.plain(int(q["status"]), extra, b"injected error\n")
        fname = name
        if q.get("change") and n > 0:
            fname = name + ".v2"
        path = os.path.join(args.root, fname)
        if not name or not os.path.isfile(path):
            return self.plain(404, {}, b"not found\n")
        with open(path, "rb") as f:
            data = f.read()
        st = os.stat(path)
        etag = '"%s"' % (q.get("etag") or hashlib.sha1(data).hexdigest()[:16])
        lm = email.utils.formatdate(st.st_mtime, usegmt=True)
        norange = bool(q.get("norange"))
        start, code = 0, 200
        if rng and not norange and rng.startswith("bytes=") and rng.endswith("-"):
            valid = if_range is None or if_range == lm or \
                (if_range == etag and not q.get("noetag"))
            if valid:
                start = int(rng[6:-1])
                code = 206
                if start >= len(data):
                    return self.plain(416, {"Content-Range": "bytes */%d" % len(data)})
        body = data[start:]
        self.send_response(code)
        if not q.get("noetag"):
            self.send_header("ETag", etag)
        self.send_header("Last-Modified", lm)
        if not norange:
            self.send_header("Accept-Ranges", "bytes")
        if code == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        close = False
        if q.get("nolength"):
            self.send_header("Connection", "close")
            close = True
        elif "lie" in q:
            self.send_header("Content-Length", q["lie"])
            close = True
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if head:
            return code, 0
        limit = len(body)
        if "drop" in q and n == 0:
            limit = min(limit, int(q["drop"]))
            close = True
        stall = "stall" in q and n == 0
        if stall:
            limit = min(limit, int(q["stall"]))
        slow = int(q.get("slow", "0"))
        sent = 0
        chunk = 65536 if not slow else max(1, slow // 10)
        while sent < limit:
            part = body[sent:min(limit, sent + chunk)]
            try:
                self.wfile.write(part)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(part)
            if slow:
                time.sleep(len(part) / slow)
        if stall:
            time.sleep(60)
            close = True
        if close:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        return code, sent


def main():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("--root", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--cert")
    p.add_argument("--key")
    args = p.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    if args.cert:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        # the handshake runs in the handler's thread, not in accept()
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True,
                                     do_handshake_on_connect=False)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
