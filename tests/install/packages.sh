#!/bin/bash
# make install / make uninstall / make deb, on the host (no kbits.ko needed):
# install into a DESTDIR and check every file, the soname links, pkg-config
# and a program built against the installed tree, the man pages, the
# systemd unit (systemd-analyze verify), the bash completion, the DKMS
# tree (a real `dkms build` for the 6.1 and 6.12 kernels), a PREFIX=/usr
# install, uninstall leaving nothing, and `make deb` with lintian. TAP.
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$top" || exit 1
# shellcheck source=tools/kernels.sh
. tools/kernels.sh
n=0 failed=0
tap() {	# tap STATUS DESCRIPTION [DETAIL...]
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else
		echo "not ok $n - $2"; shift 2
		[ $# -gt 0 ] && printf '%s\n' "$@" | head -n 30 | sed 's/^/#   /'
		failed=1
	fi
}
echo "TAP version 13"
tmp=$(mktemp -d /tmp/kbits-install-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/root
mk() { make --no-print-directory -s "$@"; }
version=$(mk install-list | sed -n 's|^/usr/src/kbits-\([^/]*\)/dkms.conf$|\1|p')
[ -n "$version" ] || version=unknown

# ---- make install into a DESTDIR -------------------------------------------
out=$(mk install DESTDIR="$dest" 2>&1); rc=$?
tap $rc "make install DESTDIR=... (PREFIX=/usr/local)" "$out"
mapfile -t want < <(mk install-list DESTDIR="$dest" | sort)
missing=()
for f in "${want[@]}"; do [ -e "$dest$f" ] || [ -L "$dest$f" ] || missing+=("$f"); done
[ ${#want[@]} -gt 25 ] && [ ${#missing[@]} -eq 0 ]
tap $? "all ${#want[@]} listed files are installed" "${missing[@]}"
extra=$(comm -13 <(printf '%s\n' "${want[@]}") <(cd "$dest" && find . -not -type d | sed 's|^\.||' | sort))
[ -z "$extra" ]; tap $? "nothing is installed that is not listed" "$extra"

p=/usr/local
bad=()
for f in $p/sbin/kbitsd $p/bin/kbitsctl; do
	[ "$(stat -c %a "$dest$f")" = 755 ] || bad+=("$f $(stat -c %a "$dest$f")")
done
while read -r f; do
	case "$f" in */sbin/kbitsd|*/bin/kbitsctl|*/apt/methods/kbits+http) continue ;; esac
	[ -L "$dest$f" ] && continue
	[ "$(stat -c %a "$dest$f")" = 644 ] || bad+=("$f $(stat -c %a "$dest$f")")
done < <(printf '%s\n' "${want[@]}")
[ ${#bad[@]} -eq 0 ]; tap $? "programs are 0755, every other file 0644" "${bad[@]}"

cmp -s build/bin/kbitsd "$dest$p/sbin/kbitsd" && cmp -s build/bin/kbitsctl "$dest$p/bin/kbitsctl" &&
	cmp -s build/lib/libkbits.so.1 "$dest$p/lib/libkbits.so.1.0.0" &&
	cmp -s build/lib/libkbits.a "$dest$p/lib/libkbits.a" &&
	cmp -s userspace/include/kbits.h "$dest$p/include/kbits.h" &&
	cmp -s include/uapi/linux/kbits.h "$dest$p/include/linux/kbits.h"
tap $? "programs, libraries and headers are the built ones"

lib=$dest$p/lib
[ "$(readlink "$lib/libkbits.so.1")" = libkbits.so.1.0.0 ] && [ "$(readlink "$lib/libkbits.so")" = libkbits.so.1 ] &&
	[ -f "$lib/libkbits.so.1.0.0" ] && [ ! -L "$lib/libkbits.so.1.0.0" ]
tap $? "libkbits.so -> libkbits.so.1 -> libkbits.so.1.0.0 (relative links)" "$(ls -l "$lib")"
soname=$(readelf -d "$lib/libkbits.so.1.0.0" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libkbits.so.1 ]; tap $? "the library's SONAME is libkbits.so.1 (got '$soname')"
# debian/libkbits1.symbols names exactly what the library exports: a new
# call missing there (or a stray line) is an ABI change nobody declared.
exported=$(nm -D --defined-only "$lib/libkbits.so.1.0.0" 2>/dev/null | awk '$2 == "T" { print $3 }' | sort)
declared=$(sed -n 's/^ \([a-z_0-9]*\)@Base .*/\1/p' debian/libkbits1.symbols | sort)
diff=$(diff <(echo "$exported") <(echo "$declared"))
[ -n "$exported" ] && [ -z "$diff" ] && [ "$(grep -vc '^ [a-z_0-9]*@Base [0-9.]*$' debian/libkbits1.symbols)" -eq 1 ]
tap $? "debian/libkbits1.symbols lists exactly the $(wc -l <<<"$exported") exported functions" "$diff"

# pkg-config reads the DESTDIR .pc; the paths in it are the real ones.
pc() { PKG_CONFIG_PATH=$lib/pkgconfig PKG_CONFIG_LIBDIR=$lib/pkgconfig:/usr/lib/x86_64-linux-gnu/pkgconfig:/usr/share/pkgconfig pkg-config "$@"; }
got="$(pc --modversion libkbits 2>&1)|$(pc --variable=prefix libkbits 2>&1)|$(pc --cflags libkbits 2>&1)|$(pc --libs libkbits 2>&1)"
case "$got" in
"$version|/usr/local|-I/usr/local/include"*"|-L/usr/local/lib -lkbits"*) r=0 ;;
*) r=1 ;;
esac
tap $r "pkg-config on the installed .pc: version, prefix, cflags, libs" "$got"
pc --validate libkbits; tap $? "pkg-config --validate libkbits"

# A program built only from the installed tree (the sysroot of the DESTDIR).
cat >"$tmp/prog.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include <kbits.h>
#include <linux/kbits.h>
int main(void)
{
	struct kbits_guid id;
	char buf[64];

	if (kbits_guid_parse("01234567-89ab-cdef-0123-456789abcdef", &id) < 0)
		return 1;
	printf("%s %s %d\n", kbits_guid_format(&id, buf), kbits_state_name(KBITS_STATE_SUSPENDED),
	       KBITS_ABI_VERSION);
	return 0;
}
EOF
flags=$(PKG_CONFIG_SYSROOT_DIR=$dest pc --cflags --libs libkbits 2>&1)
out=$(cc -o "$tmp/prog" "$tmp/prog.c" $flags -Wl,-rpath-link,"$lib" 2>&1) &&
	out=$(LD_LIBRARY_PATH=$lib "$tmp/prog" 2>&1) &&
	ldd_out=$(LD_LIBRARY_PATH=$lib ldd "$tmp/prog") && grep -q "libkbits.so.1 => $lib/libkbits.so.1 " <<<"$ldd_out"
r=$?
[ $r -eq 0 ] && grep -q '^01234567-89ab-cdef-0123-456789abcdef ' <<<"$out"; r=$?
tap $r "a program builds with the installed header and pkg-config, and runs on the installed libkbits.so.1" "$flags" "$out"

# ---- man pages ----------------------------------------------------------------
for m in man8/kbitsctl.8 man8/kbitsd.8 man3/libkbits.3; do
	f=$dest$p/share/man/$m
	warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$f" 2>&1 >/dev/null); rc=$?
	lines=$(LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$f" 2>/dev/null | wc -l)
	[ $rc -eq 0 ] && [ -z "$warn" ] && [ "$lines" -gt 20 ]
	tap $? "man -l renders $(basename "$m") without warnings ($lines lines)" "$warn"
done
found=$(MANPATH=$dest$p/share/man man -w kbitsd 2>&1)
[ "$found" = "$dest$p/share/man/man8/kbitsd.8" ]; tap $? "man finds kbitsd(8) in the installed MANPATH" "$found"
# kbitsd(8) documents every option kbitsd --help lists.
undoc=()
for o in $(build/bin/kbitsd --help 2>&1 | grep -oE '(^| )--?[a-z-]+' | sort -u); do
	grep -qF -- "${o//-/\\-}" "$dest$p/share/man/man8/kbitsd.8" || undoc+=("$o")
done
[ ${#undoc[@]} -eq 0 ]; tap $? "kbitsd(8) documents every option of kbitsd --help" "${undoc[@]}"

# ---- systemd unit, udev, modules-load.d ------------------------------------------
unit=$dest$p/lib/systemd/system/kbitsd.service
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
[ "$exec_start" = "$p/sbin/kbitsd" ] && [ -x "$dest$exec_start" ]
tap $? "the unit starts the installed kbitsd ($exec_start)"
for kv in Type=notify Restart=on-failure StateDirectory=kbits NoNewPrivileges=yes; do
	grep -qx "$kv" "$unit" || { r=1; break; }; r=0
done
tap $r "the unit has Type=notify, Restart=on-failure, StateDirectory=kbits, NoNewPrivileges=yes"
# systemd-analyze verify checks the syntax (unknown keys and bad values are
# reported on stderr, with exit status 0), the executables and the man
# pages of Documentation=. It has no DESTDIR: verify a copy whose command
# paths carry the DESTDIR prefix, with MANPATH on the installed man pages.
mkdir -p "$tmp/verify"
sed "s|^\(ExecStart=[-+!@:]*\)$p/|\1$dest$p/|" "$unit" >"$tmp/verify/kbitsd.service"
out=$(cd "$tmp/verify" && MANPATH=$dest$p/share/man SYSTEMD_LOG_COLOR=0 \
	systemd-analyze verify --man=yes "$tmp/verify/kbitsd.service" 2>&1); rc=$?
[ $rc -eq 0 ] && [ -z "$out" ]; tap $? "systemd-analyze verify kbitsd.service: no complaint (status $rc)" "$out"
# ... and it does complain about a broken copy (the check is not blind).
sed 's/^Type=notify/Type=notifyy/' "$tmp/verify/kbitsd.service" >"$tmp/verify/kbitsd-broken.service"
out=$(cd "$tmp/verify" && MANPATH=$dest$p/share/man systemd-analyze verify "$tmp/verify/kbitsd-broken.service" 2>&1)
grep -q notifyy <<<"$out"; tap $? "systemd-analyze verify reports a broken copy of the unit" "$out"
out=$(systemd-analyze security --offline=yes "$tmp/verify/kbitsd.service" 2>&1 | tail -n 1)
grep -q 'Overall exposure level' <<<"$out"; tap $? "systemd-analyze security: ${out#*→ }"

grep -qE '^KERNEL=="kbits", SUBSYSTEM=="misc", MODE="0666"' "$dest$p/lib/udev/rules.d/60-kbits.rules"
tap $? "udev rule: /dev/kbits mode 0666"
[ "$(grep -v '^#' "$dest$p/lib/modules-load.d/kbits.conf")" = kbits ]; tap $? "modules-load.d/kbits.conf loads kbits"

# ---- bash completion ---------------------------------------------------------------
comp=$dest$p/share/bash-completion/completions/kbitsctl
verbs_help=$(build/bin/kbitsctl --help 2>&1 | sed -n '/^Verbs:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p' | sort | tr '\n' ' ')
out=$(bash -c '
	source /usr/share/bash-completion/bash_completion 2>/dev/null || exit 3
	source "$1" || exit 4
	PATH=$2:$PATH
	c() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
	      COMPREPLY=(); _kbitsctl kbitsctl "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"; printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "; echo; }
	c kbitsctl ""
	c kbitsctl tr
	c kbitsctl get someguid pri
	c kbitsctl create --up
	c kbitsctl transfer --priority ""
' _ "$comp" "$(dirname "$dest$p/bin/kbitsctl")" 2>&1)
mapfile -t got <<<"$out"
[ "${got[0]}" = "$verbs_help" ]; tap $? "completion offers exactly the verbs of kbitsctl --help" "completion: ${got[0]}" "--help:     $verbs_help"
[ "${got[1]}" = "transfer " ] && [ "${got[2]}" = "priority " ] && [ "${got[3]}" = "--upload --upload-reply " ] &&
	[ "${got[4]}" = "foreground high low normal " ]
tap $? "completion of a verb, a property, an option and a priority" "$out"

# ---- the DKMS tree ------------------------------------------------------------------
src=$dest/usr/src/kbits-$version
grep -qx "PACKAGE_VERSION=\"$version\"" "$src/dkms.conf" && grep -qx 'BUILD_EXCLUSIVE_KERNEL_MIN="6.1"' "$src/dkms.conf" &&
	grep -qx 'AUTOINSTALL="yes"' "$src/dkms.conf"
tap $? "dkms.conf: version $version, minimum kernel 6.1, autoinstall"
out=$(bash -c 'source "$1/dkms.conf"; for k in 6.1.0-1-amd64 6.12.9+deb12-amd64 7.0.0 6.0.12-amd64 5.10.0-30-amd64 4.19.0-1; do
	[[ $k =~ $BUILD_EXCLUSIVE_KERNEL ]] && echo -n "$k:y " || echo -n "$k:n "; done' _ "$src")
[ "$out" = "6.1.0-1-amd64:y 6.12.9+deb12-amd64:y 7.0.0:y 6.0.12-amd64:n 5.10.0-30-amd64:n 4.19.0-1:n " ]
tap $? "dkms.conf excludes kernels before 6.1 (for dkms without BUILD_EXCLUSIVE_KERNEL_MIN too)" "$out"
# A real dkms build from the installed tree, with DKMS's own trees (and the
# signing key it makes) in a private mount namespace, not the host's.
for s in $KBITS_KERNEL_SERIES; do
	rel=$(kbits_kernel_release "$s") || { tap 1 "dkms build for $s: no kernel headers"; continue; }
	mkdir -p "$tmp/dkms-$s"
	out=$(unshare -m --propagation private bash -c '
		mount -t tmpfs tmpfs /var/lib/dkms || exit 9
		dkms build -m kbits -v "$1" -k "$2" --sourcetree "$3" --dkmstree "$4"' _ \
		"$version" "$rel" "$dest/usr/src" "$tmp/dkms-$s" 2>&1); rc=$?
	ko=$(ls "$tmp/dkms-$s/kbits/$version/$rel"/x86_64/module/kbits.ko* 2>/dev/null | head -n 1)
	vm=$(modinfo -F vermagic "$ko" 2>/dev/null)
	[ $rc -eq 0 ] && [ "${vm%% *}" = "$rel" ]
	tap $? "dkms build of the installed sources for $rel" "$out"
done

# ---- uninstall -------------------------------------------------------------------------
out=$(mk uninstall DESTDIR="$dest" 2>&1); rc=$?
left=$(cd "$dest" && find . -not -type d)
[ $rc -eq 0 ] && [ -z "$left" ]; tap $? "make uninstall leaves no file or link behind" "$out" "$left"
left=$(cd "$dest" && find . -mindepth 1 -type d -not -empty)
[ ! -e "$dest/usr/src/kbits-$version" ] && [ ! -e "$dest$p/include/linux" ]
tap $? "uninstall removes the DKMS tree and include/linux"

# ---- PREFIX=/usr ----------------------------------------------------------------------
dest2=$tmp/root-usr
out=$(mk install DESTDIR="$dest2" PREFIX=/usr 2>&1); rc=$?
[ $rc -eq 0 ] && grep -qx 'prefix=/usr' "$dest2/usr/lib/pkgconfig/libkbits.pc" &&
	grep -qx 'ExecStart=/usr/sbin/kbitsd' "$dest2/usr/lib/systemd/system/kbitsd.service" &&
	[ -x "$dest2/usr/sbin/kbitsd" ] && [ -f "$dest2/usr/src/kbits-$version/dkms.conf" ] &&
	[ -z "$(cd "$dest2" && find . -path ./usr -prune -o -not -type d -print)" ]
tap $? "make install PREFIX=/usr: paths in the .pc and the unit follow, nothing outside /usr" "$out"
mk uninstall DESTDIR="$dest2" PREFIX=/usr >/dev/null 2>&1
[ -z "$(cd "$dest2" && find . -not -type d)" ]; tap $? "make uninstall PREFIX=/usr leaves nothing"

# ---- make deb ------------------------------------------------------------------------
cv=$(dpkg-parsechangelog -l debian/changelog -SVersion 2>&1)
[ "$cv" = "$version" ]; tap $? "debian/changelog is at the sources' version ($cv, $version)"
start=$(date +%s)
out=$(mk deb 2>&1); rc=$?
tap $rc "make deb ($(( $(date +%s) - start ))s)" "$(tail -n 30 <<<"$out")"
debs=()
for pkg in kbits-dkms kbitsd kbitsctl libkbits1 libkbits-dev apt-transport-kbits; do
	f=$(ls build/deb/"${pkg}"_"$version"_*.deb 2>/dev/null | head -n 1)
	[ -n "$f" ] && debs+=("$pkg")
done
[ ${#debs[@]} -eq 6 ]; tap $? "make deb builds kbits-dkms, kbitsd, kbitsctl, libkbits1, libkbits-dev, apt-transport-kbits (${debs[*]})"
errs=$(grep -c '^E:' build/deb/lintian.log 2>/dev/null)
[ -f build/deb/lintian.log ] && [ "$errs" -eq 0 ]
tap $? "lintian: no error ($(grep -c '^W:' build/deb/lintian.log 2>/dev/null) warnings)" "$(cat build/deb/lintian.log 2>/dev/null)"
c=$(dpkg-deb -c build/deb/kbitsd_"$version"_*.deb 2>/dev/null)
grep -q '\./lib/systemd/system/kbitsd.service$' <<<"$c" && grep -q '\./usr/sbin/kbitsd$' <<<"$c" &&
	dpkg-deb -I build/deb/kbitsd_"$version"_*.deb postinst 2>/dev/null | grep -q 'deb-systemd-helper.*kbitsd.service'
tap $? "kbitsd.deb: the unit, the program, and a postinst that enables the service"
c=$(dpkg-deb -c build/deb/kbits-dkms_"$version"_all.deb 2>/dev/null)
grep -q "\./usr/src/kbits-$version/dkms.conf$" <<<"$c" && grep -q "\./usr/src/kbits-$version/Kbuild$" <<<"$c" &&
	dpkg-deb -I build/deb/kbits-dkms_"$version"_all.deb postinst 2>/dev/null | grep -q 'dkms'
tap $? "kbits-dkms.deb: the DKMS tree and a postinst that runs dkms"
echo "1..$n"
exit $failed
