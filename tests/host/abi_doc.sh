#!/bin/bash
# Documentation/kbits-abi.rst names every ioctl, netlink command, attribute
# and event of include/uapi/linux/kbits.h, and builds with docutils without
# a warning. TAP.
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
hdr=$top/include/uapi/linux/kbits.h
doc=$top/Documentation/kbits-abi.rst
n=0 failed=0

tap() {	# tap STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi
}

echo "TAP version 13"
[ -r "$doc" ]; tap $? "Documentation/kbits-abi.rst exists"
names=$(grep -oE '\bKBITS_(IOC|CMD|A|EVENT)_[A-Z0-9_]+' "$hdr" | sort -u)
[ -n "$names" ]; tap $? "the header defines KBITS_IOC_/CMD_/A_/EVENT_ names ($(echo "$names" | wc -l))"
for name in $names; do
	grep -qw -- "$name" "$doc"; tap $? "the doc names $name"
done

out=$(python3 - "$doc" 2>&1 <<'PY'
import io, sys
import docutils.core
src = open(sys.argv[1]).read()
warnings = io.StringIO()
docutils.core.publish_string(src, source_path=sys.argv[1], writer_name="html",
                             settings_overrides={"warning_stream": warnings,
                                                 "report_level": 2, "halt_level": 5})
sys.stdout.write(warnings.getvalue())
sys.exit(1 if warnings.getvalue() else 0)
PY
)
rc=$?
[ -n "$out" ] && echo "$out" | sed 's/^/# /'
tap $rc "the doc builds with docutils without warnings"
echo "1..$n"
exit $failed
