#!/bin/bash
# Build pie's gem5 host without Docker: a Debian 11 root made with debootstrap, gem5 v20.1.0.5
# and the patched Skylake configuration inside it, through the same steps as the Dockerfile
# (gem5-steps.sh). Run as root; resumable (each finished stage leaves a marker in ROOT/.pie/,
# and scons resumes a half-done build).
#
#   sudo nice -n 19 docker/gem5-host/build-local.sh ROOT GEM5_SRC SKYLAKE_CONFIG_SRC
#
# GEM5_SRC and SKYLAKE_CONFIG_SRC are local git repositories (bare or not) holding the public
# histories of gem5/gem5 and darchr/gem5-skylake-config; the commits below are checked out.
# DEBIAN_MIRROR overrides the Debian archive (default: the first one this host's apt uses).
# BUILD_JOBS sets scons -j (default: all CPUs; each job needs 1-2 GB of memory).
#
# Afterwards: `nox -s gem5_real` (bench/gem5_real.py) serves the chroot as a farm host on
# loopback and runs PIE's hello world and real PIE rows through it.
set -euo pipefail

GEM5_COMMIT=31cd81fdec46bae4b48d4f3788776936389dbdec          # v20.1.0.5
SKYLAKE_CONFIG_COMMIT=d92b219963b09a5c31a8cdfd46d831b29c23bc88
SUITE=bullseye

here=$(cd "$(dirname "$0")" && pwd)
root=${1:?usage: build-local.sh ROOT GEM5_SRC SKYLAKE_CONFIG_SRC}
gem5_src=${2:?usage: build-local.sh ROOT GEM5_SRC SKYLAKE_CONFIG_SRC}
config_src=${3:?usage: build-local.sh ROOT GEM5_SRC SKYLAKE_CONFIG_SRC}
marks=$root/.pie

die() { echo "build-local.sh: $*" >&2; exit 1; }
done_stage() { [ -e "$marks/$1" ]; }
mark() { date -u +%FT%TZ > "$marks/$1"; echo "build-local.sh: stage $1 done at $(cat "$marks/$1")"; }

# Runs a command inside ROOT with /proc and /dev, in a private mount namespace so that nothing
# stays mounted when it ends (even if it is killed).
in_root() {
  unshare --mount --propagation private -- /bin/sh -c '
    root=$1; shift
    mount -t proc proc "$root/proc" && mount --rbind /dev "$root/dev" &&
    exec chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C "$@"
  ' in_root "$root" "$@"
}

host_mirror() {
  local sources
  sources=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2> /dev/null || true)
  sed -n 's/^URIs: *\([^ ]*\).*/\1/p; s/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*\) .*/\2/p' \
    <<< "$sources" | grep -v security | sed -n 1p
}

[ "$(id -u)" = 0 ] || die "run as root (debootstrap and chroot need it)"
command -v debootstrap > /dev/null || die "debootstrap is missing: apt-get install debootstrap"
git -C "$gem5_src" cat-file -e "$GEM5_COMMIT^{commit}" 2> /dev/null \
  || die "$gem5_src does not hold gem5 commit $GEM5_COMMIT (v20.1.0.5): give a clone of gem5/gem5"
git -C "$config_src" cat-file -e "$SKYLAKE_CONFIG_COMMIT^{commit}" 2> /dev/null \
  || die "$config_src does not hold commit $SKYLAKE_CONFIG_COMMIT: give a clone of darchr/gem5-skylake-config"
mkdir -p "$root"

if ! done_stage debootstrap; then
  mirror=${DEBIAN_MIRROR:-$(host_mirror)}
  [ -n "$mirror" ] || die "no Debian mirror found in /etc/apt: set DEBIAN_MIRROR"
  debootstrap --variant=minbase "$SUITE" "$root" "$mirror"
  mkdir -p "$marks"
  mark debootstrap
fi

install -D -m 0755 "$here/gem5-steps.sh" "$root/opt/pie-build/gem5-steps.sh"
install -D -m 0644 "$here/skylake-config.patch" "$root/opt/pie-build/skylake-config.patch"

if ! done_stage deps; then
  in_root /opt/pie-build/gem5-steps.sh deps
  mark deps
fi

if ! done_stage sources; then
  rm -rf "$root/opt/gem5" "$root/opt/gem5-skylake-config"
  git clone --quiet --no-checkout "$gem5_src" "$root/opt/gem5"
  git -C "$root/opt/gem5" checkout --quiet --detach "$GEM5_COMMIT"
  git clone --quiet --no-checkout "$config_src" "$root/opt/gem5-skylake-config"
  git -C "$root/opt/gem5-skylake-config" checkout --quiet --detach "$SKYLAKE_CONFIG_COMMIT"
  mark sources
fi

if ! done_stage build; then
  start=$(date +%s)
  in_root nice -n 19 /opt/pie-build/gem5-steps.sh build /opt/gem5 "${BUILD_JOBS:-$(nproc)}"
  echo "build-local.sh: scons took $(( $(date +%s) - start )) s this time"
  mark build
fi

in_root /opt/pie-build/gem5-steps.sh config /opt/gem5-skylake-config /opt/pie-build/skylake-config.patch

# What the image's runtime stage adds: an SSH server, so that the chroot can serve as a farm host
# on loopback (bench/gem5_real.py starts it).
if ! done_stage host; then
  in_root /bin/sh -c 'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \
    --no-install-recommends openssh-server && rm -rf /var/lib/apt/lists/* /etc/ssh/ssh_host_*'
  mark host
fi

# The root doubles as the client's gem5 toolchain (g++ --sysroot=ROOT, glibc of the gem5 host):
# the loader link in /lib64 is absolute, which a linker resolves outside the sysroot.
ln -sfn ../lib/x86_64-linux-gnu/ld-2.31.so "$root/lib64/ld-linux-x86-64.so.2"

# The Landlock jail every farm job runs gem5 through, where the image has it (pie looks there).
install -D -m 0555 "$here/gem5-jail.py" "$root/usr/local/libexec/pie-gem5-jail"

# The account gem5 runs as in the chroot (as in the image): uid 10000, a home it cannot write.
if ! in_root id pie > /dev/null 2>&1; then
  in_root useradd --uid 10000 --user-group --home-dir /nonexistent --no-create-home \
    --shell /bin/sh --password '*' pie
fi
install -d -o 10000 -g 10000 -m 0700 "$root/var/tmp/pie"

{
  echo "gem5_version=v20.1.0.5"
  in_root /opt/pie-build/gem5-steps.sh info /opt/gem5 /opt/gem5-skylake-config \
    /opt/pie-build/skylake-config.patch "debootstrap $SUITE"
  in_root /opt/pie-build/gem5-steps.sh libs
  in_root setpriv --reuid 10000 --regid 10000 --clear-groups \
    /opt/pie-build/gem5-steps.sh selftest /opt/gem5/build/X86/gem5.opt \
    /opt/gem5-skylake-config/gem5-configs/run-se.py /var/tmp/pie/selftest \
    /usr/local/libexec/pie-gem5-jail
} > "$root/opt/gem5/BUILD_INFO.new"
mv "$root/opt/gem5/BUILD_INFO.new" "$root/opt/gem5/BUILD_INFO"
cat "$root/opt/gem5/BUILD_INFO"
