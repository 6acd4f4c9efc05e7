#!/usr/bin/env python3
"""The jobs after a power cut, as their clients see them (kbitsd running).

usage: job_check.py STEP PREV JOBS KBITSCTL

One process for every check of every job that the clients were not told
was done (JOBS/NAME.id without JOBS/NAME.done), so that a boot pays one
Python start-up under TCG, not a handful per job. For each job: `info
--json --verbose` (as its owner: uid 1000 for big) against what it was at
creation (GUID, owner, type, properties, file count); its state is a true
one (TRANSFERRED if it was TRANSFERRED before the cut); where the cut was
meant to find it in the middle of its transfer, the snapshot taken just
before the cut (JOBS/at-PREV.json) shows it was; the bytes to fetch again
(what the job had before the cut less what the store kept, from
JOBS/store-STEP.json of store_check.py). At STEP final, the small job must
be back: the cut was inside its Complete ($PC_IN_PLACE: how many of its
files were in place after the reboot). Prints TAP lines without numbers;
exit 1 if one is "not ok".
"""
import json
import os
import subprocess
import sys

KEYS = ("id", "owner_uid", "type", "display_name", "description", "priority", "files_total")
TRUE_STATES = ("queued", "connecting", "transferring", "transient_error", "transferred")
failed = False


def tap(ok, what, detail=""):
    global failed
    print("%s - %s" % ("ok" if ok else "not ok", what))
    if not ok:
        failed = True
        for line in str(detail).splitlines()[:15]:
            print("#   " + line)


def load(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def info(ctl, name, jid):
    cmd = [ctl, "--json", "info", "--verbose", jid]
    if name == "big":
        cmd = ["setpriv", "--reuid", "1000", "--regid", "1000", "--clear-groups"] + cmd
    r = subprocess.run(cmd, capture_output=True, text=True)
    try:
        return json.loads(r.stdout), r.stdout + r.stderr
    except ValueError:
        return {}, r.stdout + r.stderr


def in_the_middle(snap, name, big):
    for x in snap or []:
        if x.get("display_name") != "pc-" + name:
            continue
        try:
            if big:
                return x["state"] == "transferring" and x["bytes_transferred"] < x["bytes_total"]
            return x["state"] in ("connecting", "transferring") and 0 < x["bytes_transferred"] \
                and x["files_transferred"] < x["files_total"]
        except (KeyError, TypeError):
            return False
    return False


def main():
    step, prev, jobs, ctl = sys.argv[1:5]
    snap = load(os.path.join(jobs, "at-%s.json" % prev)) if prev else None
    store = load(os.path.join(jobs, "store-%s.json" % step), {})
    for name in ("big", "small", "up"):
        p = os.path.join(jobs, name)
        if not os.path.exists(p + ".id") or os.path.exists(p + ".done"):
            continue
        jid = open(p + ".id").read().strip()
        d, raw = info(ctl, name, jid)
        if step == "final" and name == "small":
            # Complete returns only once every rename is durable and the job
            # is gone from the store: a job that is back was cut inside it.
            note = open(os.path.join(jobs, "at-complete.json.note")).read().strip() \
                if os.path.exists(os.path.join(jobs, "at-complete.json.note")) else "?"
            tap(bool(d.get("id")), "the cut landed inside small's Complete: the job is back after the "
                "reboot (%s when the cut was asked, %s after the reboot)"
                % (note, os.environ.get("PC_IN_PLACE", "?")), raw)
            if not d.get("id"):
                continue
        c = load(p + ".created.json", {})
        tap(all(d.get(k) == c.get(k) for k in KEYS),
            "%s: back with its GUID, owner, type, properties and files" % name, raw)
        st = d.get("state")
        if os.path.exists(p + ".transferred"):
            tap(st == "transferred", "%s: TRANSFERRED before the cut, TRANSFERRED after it" % name, raw)
        else:
            tap(st in TRUE_STATES, "%s: its state after the cut is a true one (%s)" % (name, st), raw)
        if step in ("cut70", "transferred") and name == "big":
            tap(in_the_middle(snap, "big", True), "big was in the middle of its transfer at the cut",
                json.dumps(snap))
        if step == "cut70" and name != "big":
            tap(in_the_middle(snap, name, False), "%s was in the middle of its transfer at the cut" % name,
                json.dumps(snap))
        # bytes fetched again: what the job had before the cut, less what the store trusted
        a = [x for x in snap or [] if x.get("id") == jid]
        s = store.get(jid)
        if a and s:
            a = a[0]
            synced = sum(f[1] for f in s["files"])
            print("# %s: %d bytes (%d files) before the cut, %d synced in the store (%d files completed):"
                  " %d bytes to fetch again" % (name, a["bytes_transferred"], a["files_transferred"],
                                                synced, sum(1 for f in s["files"] if f[2]),
                                                max(0, a["bytes_transferred"] - synced)))
    return 1 if failed else 0


sys.exit(main())
