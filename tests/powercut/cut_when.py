#!/usr/bin/env python3
"""Cut the power at a chosen moment (in the guest, tools/vm-run --power-cut).

usage: cut_when.py KBITSCTL SECS COND SNAPSHOT WHAT [NOTE]

Polls `kbitsctl --json list --all-users` (one call: one consistent view of
every job) until COND, a Python expression over j (the jobs by display
name) and os, holds; then writes that view to SNAPSHOT (what the jobs had
just before the cut), creates $KBITS_VM_POWERCUT and waits for the end.
One process, so that the cut follows the moment by one poll, not by the
start-up of a checker. NOTE, a Python expression like COND, is evaluated
once COND holds, printed, and written to SNAPSHOT.note: what else was true
at the cut (how far a Complete had come). With $PC_READY set, creates that
file once the first poll is done: under TCG the start-up of this process
takes seconds, and an action started before the polling (a Complete) could
be over before the first look. Exit 1 (a TAP "not ok" line) when SECS pass
first.
"""
import json
import os
import subprocess
import sys
import time


def main():
    ctl, secs, cond, snap, what = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
    note = sys.argv[6] if len(sys.argv) > 6 else None
    deadline = time.monotonic() + secs
    ready = os.environ.get("PC_READY")
    last = ""
    while time.monotonic() < deadline:
        out = "[]"
        if "j[" in cond:        # a condition on files alone polls faster
            out = subprocess.run([ctl, "--json", "list", "--all-users"], capture_output=True,
                                 text=True).stdout
        try:
            j = {x["display_name"]: x for x in json.loads(out)}
        except ValueError:
            j = {}
        last = out
        try:
            hit = eval(cond, {"j": j, "os": os})
        except (KeyError, TypeError):
            hit = False
        if hit:
            if note:
                # evaluated before the cut: what is true at the cut is at least this.
                # No fsync: the 9p tree writes through to the host, which outlives QEMU.
                val = str(eval(note, {"j": j, "os": os}))
                with open(snap + ".note", "w") as f:
                    f.write(val + "\n")
                print("# at the cut: " + val, flush=True)
            with open(snap, "w") as f:
                f.write(out)
                f.flush()
                os.fsync(f.fileno())
            with open("/proc/uptime") as f:
                up = f.read().split()[0]
            print("# cutting the power (guest up " + up + "s): " + what + ": " +
                  ", ".join("%s %s %s/%s bytes %s/%s files" % (n, x["state"], x["bytes_transferred"],
                                                                x["bytes_total"], x["files_transferred"],
                                                                x["files_total"])
                            for n, x in sorted(j.items())), flush=True)
            cut = os.environ["KBITS_VM_POWERCUT"]
            with open(cut + ".tmp", "w") as f:
                f.write(what + "\n")
            os.rename(cut + ".tmp", cut)
            time.sleep(600)
            return 1
        if ready:
            open(ready, "w").close()
            ready = None
        # a condition on files alone costs nothing to poll: poll it often
        time.sleep(0.1 if "j[" in cond else 0.01)
    print("not ok - the moment of the cut (%s) did not come within %ds" % (what, secs))
    print("#   " + last.replace("\n", "\n#   "))
    return 1


sys.exit(main())
