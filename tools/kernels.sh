# shellcheck shell=bash
# Which Debian kernels kbits supports, and where they are installed.

KBITS_KERNEL_SERIES="6.1 6.12"

# kbits_kernel_release SERIES: print the newest installed Debian kernel
# release of that series (6.1 -> 6.1.0-56-amd64) that has headers and an image.
kbits_kernel_release() {
	local series=$1 rel best=
	for d in /lib/modules/"$series".*-amd64 /lib/modules/"$series".*+deb*-amd64; do
		[ -d "$d" ] || continue
		rel=${d#/lib/modules/}
		[ -e "/boot/vmlinuz-$rel" ] || continue
		[ -e "$d/build/Makefile" ] || continue
		best=$rel
	done
	[ -n "$best" ] || return 1
	printf '%s\n' "$best"
}
