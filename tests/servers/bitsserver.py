#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The server side of Microsoft's BITS Upload Protocol [MC-BUP] for kbits's
tests (python3 standard library only, 127.0.0.1 only).

Requests
  BITS_POST <url>  with BITS-Packet-Type:
    Ping            -> 200 Ack
    Create-Session  -> 200 Ack, BITS-Protocol {7df0354d-...}, BITS-Session-Id
                       (400 + BITS-Error-Code when the client does not offer
                       the protocol in BITS-Supported-Protocols)
    Fragment        BITS-Session-Id, Content-Range: bytes S-E/T (an empty
                    file: "bytes */0"), Content-Name on the first one.
                    Bytes before the server's received count are ignored
                    (overlap), a start beyond it is a gap: 416 with
                    BITS-Received-Content-Range. The Ack carries
                    BITS-Received-Content-Range: <bytes received>; the last
                    one of a reply=1 upload also BITS-Reply-URL.
    Close-Session   -> Ack; the upload is final: logged with its sha256
    Cancel-Session  -> Ack; the bytes are dropped
  PUT <url>         plain upload (KBITS_JOB_F_HTTP_PUT); 201/204; the
                    response body is "sha256=<hex> size=<n>\\n"
  GET /reply/<sid>  the reply of an upload-reply session:
                    "sha256=<hex> size=<n>\\n" + reply_pad bytes of 'r'

Fault injection by the upload URL's query string (one upload = one name):
  drop=N[,M...]     close the connection without an answer once the server
                    holds N (then M ...) bytes of the upload (the bytes stay)
  rewind=N          once the server holds more than N bytes, forget all but
                    N/2 of them (the next fragment is a gap: 416 + resync)
  status=S          answer S to packets of type on= (default Fragment) ...
  times=K           ... the first K of them (default 1)
  code=0x..., context=0x...   BITS-Error-Code / BITS-Error-Context with status
  dropclose=1       close the session, then drop the connection without the
                    answer (once): the client must cope with a lost Ack
  slow=SECONDS      wait this long before every Ack
  hostid=H, hostid_timeout=T  BITS-Host-Id / BITS-Host-Id-Fallback-Timeout
                    in the Create-Session Ack
  reply=1           an upload-reply: BITS-Reply-URL after the last fragment
  reply_pad=N       N more bytes in the reply
  noproto=1         answer Create-Session without BITS-Protocol
  nolength=1        the injected status= answers carry no Content-Length and
                    the connection stays open (as http.server-based BITS
                    servers answer errors): the client must not wait for a body
  auth=1            every request needs Basic credentials alice:s3cret (401
                    with WWW-Authenticate otherwise, after reading the body)
  proxy407=1        a request that came through a proxy (absolute URL in the
                    request line: this server is its own proxy) without
                    Proxy-Authorization gets 407
  dropclose=partial close the session, send the Ack's headers and 3 of the 10
                    bytes it announces, then drop the connection (once): an
                    answer lost mid-way
  killclose=1       on Close-Session: reset the connection and exit without
                    handling it (a server killed before it handled the Close);
                    once per name and --root

Modes (command line):
  --single          one connection at a time (no threads) and sessions kept
                    per connection, as SimpleBITSServer does

Log (--log): one line per event, name first:
  <name> <packet|PUT|GET> <status> [range=...] [recv=N] via=<direct|proxy>
  <name> DONE size=<n> sha256=<hex>       every byte arrived
  <name> CLOSE size=<n> sha256=<hex>      Close-Session: final
  <name> CANCEL via=<direct|proxy>        Cancel-Session
  <name> PUTDONE size=<n> sha256=<hex>
Finished uploads land in --root/<name>. The port is written to --port-file.
"""
import argparse
import base64
import hashlib
import os
import socket
import struct
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer

PROTOCOL = "{7df0354d-249b-430f-820d-3d2a9bef4931}"
E_INVALIDARG = "0x80070057"
BG_E_SESSION_NOT_FOUND = "0x80200031"

lock = threading.Lock()
sessions = {}          # sid -> dict
faults = {}            # name -> dict of fault state (drops done, counts)
args = None
CREDENTIALS = "Basic " + base64.b64encode(b"alice:s3cret").decode()


def log_line(line):
    with lock:
        with open(args.log, "a") as f:
            f.write(line + "\n")


def sha_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def setup(self):
        super().setup()
        self.conn_sessions = {}

    def sess(self):
        """The sessions this request may see: the server's, or (--single)
        the connection's."""
        return self.conn_sessions if args.single else sessions

    def via(self):
        return "proxy" if self.path.lower().startswith("http") else "direct"

    def reply(self, status, extra=None, body=b"", length=True):
        self.send_response(status)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def drop(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def parse(self):
        url = urllib.parse.urlsplit(self.path)
        name = os.path.basename(urllib.parse.unquote(url.path))
        q = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        return url, name, q

    def read_body(self, length, sink, skip, drop_at, start):
        """Reads length bytes; the first skip are discarded, the rest go to
        sink. Returns (bytes kept, dropped?)."""
        kept = 0
        got = 0
        pos = start
        while got < length:
            want = min(65536, length - got)
            if drop_at is not None and pos < drop_at <= pos + want:
                want = drop_at - pos
            if want == 0:
                return kept, True
            b = self.rfile.read(want)
            if not b:
                return kept, True
            got += len(b)
            s = max(0, min(len(b), skip - (got - len(b))))
            if len(b) > s:
                sink.write(b[s:])
                sink.flush()
                kept += len(b) - s
            pos = start + got
            if drop_at is not None and pos >= drop_at:
                return kept, True
        return kept, False

    def refused(self, q, length):
        """auth=1 / proxy407=1: the 401 or 407 when credentials are missing
        (the body is read first, so the connection stays usable)."""
        if q.get("proxy407") and self.via() == "proxy" and \
                not self.headers.get("Proxy-Authorization"):
            status, h = 407, {"Proxy-Authenticate": 'Basic realm="proxy"'}
        elif q.get("auth") and self.headers.get("Authorization") != CREDENTIALS:
            status, h = 401, {"WWW-Authenticate": 'Basic realm="bits"'}
        else:
            return 0
        if length:
            self.rfile.read(length)
        self.reply(status, h)
        return status

    # ---- BITS ----------------------------------------------------------------
    def do_BITS_POST(self):
        url, name, q = self.parse()
        ptype = self.headers.get("BITS-Packet-Type", "")
        length = int(self.headers.get("Content-Length", "0") or 0)
        status, recv = 0, None
        try:
            status = self.refused(q, length)
            if not status:
                status, recv = self.bits(url, name, q, ptype, length)
        finally:
            log_line("%s %s %d range=%s recv=%s via=%s" % (
                name, ptype or "-", status,
                (self.headers.get("Content-Range") or "-").replace(" ", "_"),
                "-" if recv is None else recv, self.via()))

    def error(self, status, code, context, sid=None, length=True):
        h = {"BITS-Packet-Type": "Ack", "BITS-Error-Code": code,
             "BITS-Error-Context": context}
        if sid:
            h["BITS-Session-Id"] = sid
        self.reply(status, h, length=length)
        return status, None

    def injected(self, name, q, ptype):
        if "status" not in q or ptype.lower() != q.get("on", "Fragment").lower():
            return None
        with lock:
            f = faults.setdefault(name, {})
            n = f.get("status_n", 0)
            f["status_n"] = n + 1
        if n >= int(q.get("times", "1")):
            return None
        return int(q["status"])

    def bits(self, url, name, q, ptype, length):
        st = self.injected(name, q, ptype)
        if st is not None:
            if length:
                self.rfile.read(length)
            return self.error(st, q.get("code", "0x80004005"), q.get("context", "0x7"),
                              length=not q.get("nolength"))
        if q.get("slow"):
            time.sleep(float(q["slow"]))
        p = ptype.lower()
        if p == "ping":
            self.reply(200, {"BITS-Packet-Type": "Ack"})
            return 200, None
        if p == "create-session":
            offered = self.headers.get("BITS-Supported-Protocols", "")
            if PROTOCOL.lower() not in offered.lower():
                return self.error(400, E_INVALIDARG, "0x7")
            sid = "{%s}" % uuid.uuid4()
            data = os.path.join(args.root, ".session-" + sid.strip("{}"))
            open(data, "wb").close()
            with lock:
                self.sess()[sid] = {"name": name, "data": data, "recv": 0, "total": None,
                                 "reply": bool(q.get("reply")), "done": False,
                                 "pad": int(q.get("reply_pad", "0")), "sha": None}
            h = {"BITS-Packet-Type": "Ack", "BITS-Session-Id": sid}
            if not q.get("noproto"):
                h["BITS-Protocol"] = PROTOCOL
            if q.get("hostid"):
                h["BITS-Host-Id"] = q["hostid"]
                if q.get("hostid_timeout"):
                    h["BITS-Host-Id-Fallback-Timeout"] = q["hostid_timeout"]
            self.reply(200, h)
            return 200, None
        sid = self.headers.get("BITS-Session-Id", "")
        with lock:
            s = self.sess().get(sid)
        if p in ("fragment", "close-session", "cancel-session") and not s:
            if length:
                self.rfile.read(length)
            return self.error(400, BG_E_SESSION_NOT_FOUND, "0x7")
        if p == "fragment":
            return self.fragment(name, q, s, sid, length)
        if p == "close-session":
            marker = os.path.join(args.root, ".killed-" + name)
            if q.get("killclose") and not os.path.exists(marker):
                open(marker, "w").close()     # once: the restarted server closes
                log_line("%s KILLED-AT-CLOSE" % name)
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.connection.close()
                os._exit(0)
            if not s["done"]:
                return self.error(400, E_INVALIDARG, "0x7", sid)
            final = os.path.join(args.root, s["name"])
            os.rename(s["data"], final)
            with lock:
                self.sess().pop(sid, None)
            log_line("%s CLOSE size=%d sha256=%s" % (s["name"], s["recv"], s["sha"]))
            if q.get("dropclose"):
                with lock:
                    f = faults.setdefault(name, {})
                    first = not f.get("close_dropped")
                    f["close_dropped"] = True
                if first:
                    if q["dropclose"] == "partial":
                        self.wfile.write(b"HTTP/1.1 200 OK\r\nBITS-Packet-Type: Ack\r\n"
                                         b"Content-Length: 10\r\n\r\nAck")
                        self.wfile.flush()
                    self.drop()
                    return 0, None
            self.reply(200, {"BITS-Packet-Type": "Ack", "BITS-Session-Id": sid})
            return 200, None
        if p == "cancel-session":
            try:
                os.unlink(s["data"])
            except OSError:
                pass
            with lock:
                self.sess().pop(sid, None)
            log_line("%s CANCEL via=%s" % (s["name"], self.via()))
            self.reply(200, {"BITS-Packet-Type": "Ack", "BITS-Session-Id": sid})
            return 200, None
        if length:
            self.rfile.read(length)
        return self.error(400, E_INVALIDARG, "0x7")

    def fragment(self, name, q, s, sid, length):
        cr = self.headers.get("Content-Range", "")
        try:
            if not cr.startswith("bytes "):
                raise ValueError
            rng, total = cr[6:].split("/")
            total = int(total)
            if rng == "*":
                if total != 0 or length != 0:
                    raise ValueError
                start, end = 0, -1
            else:
                a, b = rng.split("-")
                start, end = int(a), int(b)
                if start > end or end >= total or end - start + 1 != length:
                    raise ValueError
        except ValueError:
            if length:
                self.rfile.read(length)
            return self.error(400, E_INVALIDARG, "0x7", sid)
        if s["total"] is not None and s["total"] != total:
            self.rfile.read(length)
            return self.error(400, E_INVALIDARG, "0x7", sid)
        s["total"] = total
        if "rewind" in q:
            with lock:
                f = faults.setdefault(name, {})
                if not f.get("rewound") and s["recv"] > int(q["rewind"]):
                    f["rewound"] = True
                    s["recv"] = int(q["rewind"]) // 2
                    with open(s["data"], "r+b") as fh:
                        fh.truncate(s["recv"])
        if start > s["recv"]:
            self.rfile.read(length)
            h = {"BITS-Packet-Type": "Ack", "BITS-Session-Id": sid,
                 "BITS-Received-Content-Range": str(s["recv"])}
            self.reply(416, h)
            return 416, s["recv"]
        drop_at = None
        if "drop" in q:
            with lock:
                f = faults.setdefault(name, {})
                done = f.setdefault("drops", set())
                for d in (int(x) for x in q["drop"].split(",")):
                    if d not in done and max(s["recv"], start) < d <= end and d < total:
                        drop_at = d
                        done.add(d)
                        break
        skip = s["recv"] - start
        with open(s["data"], "ab") as sink:
            kept, dropped = self.read_body(length, sink, skip, drop_at, start)
        s["recv"] += kept
        if dropped:
            self.drop()
            return 0, s["recv"]
        h = {"BITS-Packet-Type": "Ack", "BITS-Session-Id": sid,
             "BITS-Received-Content-Range": str(s["recv"])}
        if s["recv"] == total and not s["done"]:
            s["done"] = True
            s["sha"] = sha_of(s["data"])
            log_line("%s DONE size=%d sha256=%s" % (s["name"], s["recv"], s["sha"]))
        if s["done"] and s["reply"]:
            h["BITS-Reply-URL"] = "/reply/%s" % sid.strip("{}")
            with lock:
                self.sess()["reply:" + sid.strip("{}")] = s
        self.reply(200, h)
        return 200, s["recv"]

    # ---- plain HTTP -------------------------------------------------------------
    def do_PUT(self):
        url, name, q = self.parse()
        length = int(self.headers.get("Content-Length", "0") or 0)
        if self.refused(q, length):
            return
        data = os.path.join(args.root, ".put-" + name)
        drop_at = int(q["drop"].split(",")[0]) if "drop" in q else None
        with lock:
            f = faults.setdefault(name, {})
            if f.get("put_dropped"):
                drop_at = None
            elif drop_at is not None:
                f["put_dropped"] = True
        with open(data, "wb") as sink:
            kept, dropped = self.read_body(length, sink, 0, drop_at, 0)
        if dropped:
            log_line("%s PUT 0 recv=%d" % (name, kept))
            self.drop()
            return
        os.rename(data, os.path.join(args.root, name))
        sha = sha_of(os.path.join(args.root, name))
        log_line("%s PUTDONE size=%d sha256=%s" % (name, kept, sha))
        self.reply(201, {}, ("sha256=%s size=%d\n" % (sha, kept)).encode())

    def do_GET(self):
        url, name, q = self.parse()
        parts = url.path.strip("/").split("/")
        with lock:
            s = self.sess().get("reply:" + parts[-1]) if len(parts) == 2 and parts[0] == "reply" else None
        if not s:
            self.reply(404, {}, b"not found\n")
            log_line("%s GET 404" % name)
            return
        body = ("sha256=%s size=%d\n" % (s["sha"], s["recv"])).encode() + b"r" * s["pad"]
        self.reply(200, {"Content-Type": "application/octet-stream"}, body)
        log_line("%s GET 200 reply_of=%s size=%d" % (name, s["name"], len(body)))


def main():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("--root", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--single", action="store_true")
    args = p.parse_args()
    if args.single:
        srv = HTTPServer(("127.0.0.1", args.port), Handler)
    else:
        srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
        srv.daemon_threads = True
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
