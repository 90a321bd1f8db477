#!/usr/bin/env bash
# Builds the tiny guest the QEMU tests boot, into a cache directory (default .guest-cache/,
# ignored by git): a Debian cloud kernel fetched with `apt-get download` and unpacked with
# `dpkg-deb -x` (nothing is installed into /boot), and a busybox initramfs whose init prints
# a ready line to the serial console and to the kernel log, then waits.
#
#   scripts/build-test-guest.sh [CACHE_DIR]
#
# Prints the cache directory, which then holds `vmlinuz` and `initrd.img`. Exits 2 (with the
# reason on stderr) when the guest cannot be built here: no busybox-static or cpio, or no
# way to the Debian mirror. Reruns reuse what is already there.
set -euo pipefail
cache="${1:-$(cd "$(dirname "$0")/.." && pwd)/.guest-cache}"
mkdir -p "$cache"
cache="$(cd "$cache" && pwd)"
cannot() { echo "build-test-guest: $*" >&2; exit 2; }

exec 9>"$cache/.lock"
flock 9

if [ ! -s "$cache/vmlinuz" ]; then
    command -v apt-get >/dev/null || cannot "apt-get is missing"
    work="$(mktemp -d "$cache/kernel.XXXXXX")"
    trap 'rm -rf "$work"' EXIT
    (
        cd "$work"
        # The meta package only depends on the versioned image: download that one.
        package="$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')"
        [ -n "$package" ] || package=linux-image-cloud-amd64
        apt-get download "$package" >/dev/null 2>&1 || exit 3
        dpkg-deb -x ./*.deb unpacked
    ) || cannot "cannot download linux-image-cloud-amd64 from the Debian mirror (no network?)"
    kernel="$(ls "$work"/unpacked/boot/vmlinuz-* 2>/dev/null | head -1)"
    [ -n "$kernel" ] || cannot "the kernel package held no /boot/vmlinuz-*"
    cp "$kernel" "$cache/vmlinuz.tmp"
    mv "$cache/vmlinuz.tmp" "$cache/vmlinuz"
    rm -rf "$work"
    trap - EXIT
fi

if [ ! -s "$cache/initrd.img" ]; then
    busybox=""
    for candidate in /bin/busybox /usr/bin/busybox; do
        if [ -x "$candidate" ] && ! ldd "$candidate" >/dev/null 2>&1; then busybox="$candidate"; break; fi
    done
    [ -n "$busybox" ] || cannot "no static busybox (apt-get install busybox-static)"
    command -v cpio >/dev/null || cannot "cpio is missing (apt-get install cpio)"
    tree="$(mktemp -d "$cache/initrd.XXXXXX")"
    trap 'rm -rf "$tree"' EXIT
    mkdir -p "$tree"/{bin,dev,proc,sys}
    cp "$busybox" "$tree/bin/busybox"
    ln -s busybox "$tree/bin/sh"
    cat >"$tree/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "BERTH-GUEST-READY" >/dev/kmsg
echo "BERTH-GUEST-READY"
# Nothing else to do: stay alive until QEMU is told to stop.
while :; do /bin/busybox sleep 3600; done
INIT
    chmod 755 "$tree/init"
    (cd "$tree" && find . | cpio -o -H newc --quiet | gzip -1) >"$cache/initrd.img.tmp"
    mv "$cache/initrd.img.tmp" "$cache/initrd.img"
    rm -rf "$tree"
    trap - EXIT
fi
echo "$cache"
