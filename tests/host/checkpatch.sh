#!/bin/bash
# Kernel sources are checkpatch --strict clean (checkpatch from linux-source-6.1).
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cp=$top/build/linux/scripts/checkpatch.pl
echo "TAP version 13"
n=0 failed=0
cd "$top" || exit 1
for f in Kbuild module/*.c module/*.h include/uapi/linux/kbits.h include/kbits_props.h; do
	n=$((n + 1))
	if out=$(perl "$cp" --no-tree --strict --quiet --ignore FILE_PATH_CHANGES -f "$f" 2>&1) && [ -z "$out" ]; then
		echo "ok $n - checkpatch --strict $f"
	else
		echo "not ok $n - checkpatch --strict $f"
		sed 's/^/# /' <<<"$out"
		failed=1
	fi
done
echo "1..$n"
exit $failed
