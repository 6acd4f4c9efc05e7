# shellcheck shell=bash
# Which Debian kernels kbits supports, and where they are installed.

# Every series kbits.ko is built for and its kselftests run on. The names are
# exact: "6.1" is Debian 12's 6.1 (6.1.0-NN-amd64), "6.1-rt" the same kernel
# with PREEMPT_RT (6.1.0-NN-rt-amd64), "6.12" the backported 6.12
# (6.12.NN+deb12-amd64).
KBITS_KERNEL_SERIES="6.1 6.1-rt 6.12"
# The series the end-to-end and install suites run on.
KBITS_E2E_SERIES="6.1 6.12"

# kbits_kernel_release SERIES: print the newest installed Debian kernel
# release of that series (6.1 -> 6.1.0-57-amd64, 6.1-rt -> 6.1.0-57-rt-amd64)
# that has headers and an image. $KBITS_SYSROOT, when set, is prefixed to
# /lib/modules and /boot (for the test in tests/host/vm_run.sh).
kbits_kernel_release() {
	local series=$1 base flavour d rel sysroot=${KBITS_SYSROOT:-}
	case "$series" in
	*-rt) base=${series%-rt} flavour=rt-amd64 ;;
	*) base=$series flavour=amd64 ;;
	esac
	# A series is MAJOR.MINOR, nothing more and nothing less.
	case "$base" in *[!0-9.]*|*.*.*|.*|*.) return 1 ;; *.*) ;; *) return 1 ;; esac
	for d in "$sysroot"/lib/modules/"$base".*; do
		[ -d "$d" ] || continue
		rel=${d#"$sysroot"/lib/modules/}
		# After "<base>." comes the rest of the version, then the flavour:
		# "6.1.0-57-rt-amd64" is not a "6.1" kernel, "6.12.9" is not "6.1".
		case "${rel#"$base".}" in
		[0-9]*) ;;
		*) continue ;;
		esac
		case "$rel" in
		*-rt-amd64) [ "$flavour" = rt-amd64 ] || continue ;;
		*-amd64) [ "$flavour" = amd64 ] || continue ;;
		*) continue ;;
		esac
		[ -e "$sysroot/boot/vmlinuz-$rel" ] || continue
		[ -e "$d/build/Makefile" ] || continue
		printf '%s\n' "$rel"
	done | sort -V | tail -n 1 | grep .
}

# kbits_debug_kernel_dir: print the cache directory of the debug kernel that
# tools/debug-kernel builds: the key hashes the config fragment and the
# version of Debian's linux-source-6.1 it is built from.
kbits_debug_kernel_dir() {
	local tools ver key
	tools=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	ver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null) || {
		echo "kernels.sh: linux-source-6.1 is not installed (run tools/install-deps)" >&2
		return 1
	}
	key=$({ printf 'linux-source-6.1 %s\n' "$ver"; cat "$tools/debug-kernel.config"; } |
		sha256sum | cut -c1-16)
	printf '%s/%s-%s\n' "${KBITS_DEBUG_KERNEL_CACHE:-/var/cache/kbits/debug-kernel}" "$ver" "$key"
}
