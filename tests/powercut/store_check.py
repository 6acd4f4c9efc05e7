#!/usr/bin/env python3
"""What kbitsd's store promises, checked against the disk before kbitsd runs.

usage: store_check.py DB WWW URLBASE OUT.json

Opened before kbitsd starts after a power cut: what the store says is what
a restart trusts. For every download file: a COMPLETED file's temporary
file holds every byte of the source; a partial one holds at least its synced
count, and those bytes are the source's. Prints TAP lines without numbers
("ok - ..."); writes {job GUID: {state, files: [[path, synced, completed]]}}.
"""
import json
import os
import sqlite3
import sys

FILE_COMPLETED = 0x1
STATES = ["queued", "connecting", "transferring", "suspended", "error",
          "transient_error", "transferred", "acknowledged", "cancelled"]


def guid(b):
    h = b.hex()
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


def same_prefix(a, b, n):
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while n > 0:
            k = min(n, 1 << 20)
            x, y = fa.read(k), fb.read(k)
            if x != y or len(x) != k:
                return False
            n -= k
    return True


def main():
    db, www, base, out = sys.argv[1:5]
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    res, bad = {}, []
    njobs = nfiles = 0
    for jid, jtype, state in con.execute("SELECT id, type, state FROM jobs"):
        g = guid(jid)
        njobs += 1
        files = []
        for url, path, temp, total, synced, flags in con.execute(
                "SELECT url, path, temp_name, bytes_total, bytes_transferred, flags "
                "FROM files WHERE job_id = ? ORDER BY idx", (jid,)):
            files.append([path, synced, bool(flags & FILE_COMPLETED)])
            if jtype != 0 or not url.startswith(base):
                continue        # an upload: its source is local, the server checks it
            nfiles += 1
            src = os.path.join(www, url[len(base):].lstrip("/"))
            tmp = os.path.join(os.path.dirname(path), temp) if temp else None
            dst_whole = os.path.isfile(path) and os.path.getsize(path) == os.path.getsize(src) \
                and same_prefix(path, src, os.path.getsize(src))
            if flags & FILE_COMPLETED:
                n = os.path.getsize(src)
                ok = (tmp and os.path.isfile(tmp) and os.path.getsize(tmp) == n
                      and same_prefix(tmp, src, n)) or dst_whole
                if not ok:
                    bad.append("%s: completed in the store, but %s does not hold the source's %d bytes"
                               % (path, tmp, n))
            elif synced:
                ok = tmp and os.path.isfile(tmp) and os.path.getsize(tmp) >= synced \
                    and same_prefix(tmp, src, synced)
                if not ok:
                    bad.append("%s: %d bytes synced in the store, but %s does not hold them (size %s)"
                               % (path, synced, tmp, os.path.getsize(tmp) if tmp and os.path.exists(tmp) else "none"))
        res[g] = {"state": STATES[state] if state < len(STATES) else state, "files": files}
    json.dump(res, open(out, "w"))
    print("%s - the store (%d jobs) opens; its synced counts and completed files are on disk "
          "(%d download files checked)" % ("not ok" if bad else "ok", njobs, nfiles))
    for b in bad[:10]:
        print("#   " + b)
    return 0


sys.exit(main())
