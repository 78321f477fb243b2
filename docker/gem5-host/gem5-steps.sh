#!/bin/bash
# The steps that make pie's gem5 host, shared by the Dockerfile (ubuntu:20.04 builder) and
# build-local.sh (a Debian 11 chroot), so the two builds cannot drift apart.
#
#   gem5-steps.sh deps                      install gem5 v20.1's build dependencies (apt)
#   gem5-steps.sh build GEM5_DIR [JOBS]     scons build/X86/gem5.opt, then strip debug info
#   gem5-steps.sh config CONFIG_DIR PATCH   apply pie's patch to gem5-skylake-config and check it
#   gem5-steps.sh programs WORK             compile the self-test programs into WORK/bin
#   gem5-steps.sh selftest GEM5 CONFIG WORK [JAIL]  run them under gem5 (compiling them if
#                                           needed), in the Landlock jail JAIL if it works here
#   gem5-steps.sh info GEM5_DIR CONFIG_DIR PATCH BUILD_IMAGE   print BUILD_INFO lines of the build
#   gem5-steps.sh libs                      print BUILD_INFO lines of the libraries a guest loads
set -euo pipefail

# gem5 v20.1's own dependency list (util/dockerfiles/ubuntu-20.04_all-dependencies) without
# doxygen and Boost, which the X86 gem5.opt build does not use. Not pinned: the archive drops
# superseded versions; reproducibility comes from building once and running that one build.
BUILD_PACKAGES=(
  build-essential ca-certificates git m4 scons zlib1g zlib1g-dev
  libprotobuf-dev protobuf-compiler libprotoc-dev libgoogle-perftools-dev
  python3-dev python3-six python-is-python3 libhdf5-serial-dev python3-pydot
  libpng-dev libelf-dev
)

deps() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${BUILD_PACKAGES[@]}"
  rm -rf /var/lib/apt/lists/*
}

build() {
  local gem5_dir=$1 jobs=${2:-$(nproc)} pid rc
  cd "$gem5_dir"
  # --ignore-style: no git-hook prompt (it would read stdin and stop a non-interactive build).
  # scons is incremental, but it records what it has built (build/sconsign.dblite) only when it
  # ends or stops on SIGINT: killed by another signal it leaves no record, and the next run
  # compiles every object again (a session's end did so here: 1,150 objects compiled twice).
  # So scons ignores SIGTERM and SIGHUP, and this step turns them into the SIGINT that saves it.
  # A shell cannot un-ignore a signal it was started with ignored (nohup, `cmd &` in a script
  # both start it so), so Python sets SIGINT back to its default for scons.
  python3 -c '
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGHUP, signal.SIG_IGN)
os.execvp(sys.argv[1], sys.argv[1:])
' scons build/X86/gem5.opt --ignore-style -j"$jobs" &
  pid=$!
  trap 'kill -INT "$pid" 2> /dev/null' TERM HUP
  while :; do
    wait "$pid" && rc=0 || rc=$?
    kill -0 "$pid" 2> /dev/null || break # a signal ended the wait, not scons: wait again
  done
  trap - TERM HUP
  [ "$rc" = 0 ] || return "$rc"
  # The code is unchanged by stripping, the file much smaller.
  objcopy --strip-debug build/X86/gem5.opt
}

config() {
  local config_dir=$1 patch=$2 run_se
  run_se="$config_dir/gem5-configs/run-se.py"
  # From the pristine file each time, so that a newer patch replaces an older one.
  git -C "$config_dir" checkout --quiet -- gem5-configs/run-se.py
  git -C "$config_dir" apply --verbose "$patch"
  grep -q 'UnconstrainedCPU\]' "$run_se"
  grep -q 'do_statistics_insts = False' "$run_se"
  grep -q 'do_checkpoint_insts = False' "$run_se"
  grep -q 'mmap_using_noreserve = True' "$run_se"
  grep -q -- "--max-ticks" "$run_se"
  grep -q -- "--argv0" "$run_se"
  grep -q -- "--report-fd" "$run_se"
  grep -q -- "--guest-output" "$run_se"
}

# The guest path of PIE's hello world: PIE ran it as /tmp/tmpXXXXXXXX/basic.out (tempfile).
PIE_HELLO_ARGV0=/tmp/tmppie_gem5/basic.out
PIE_HELLO_TICKS=1004121118   # LearningOpt/pie gem5/api_pytest.py: 0.001004121118 s

# Self-test programs, compiled as PIE compiled (g++ -std=c++17 -O3, dynamic): PIE's own hello
# world (its api_pytest.py source, byte for byte); m5reset works a while, then executes
# m5_reset_stats (x86 pseudo-op 0F 04, function 0x40). Each run is the farm's command: an empty
# environment but for PYTHONNOUSERSITE, the guest's argv[0] of PIE's shape, stdin given, and
# the exit report on descriptor 3, whose tick the stats file must match, and the guest's stdout
# in its own file (--guest-output), apart from gem5's banner. A reset honoured would
# make sim_ticks a tiny part of final_tick. escape opens gem5's own memory for writing (gem5
# passes the guest's open through): the jail must refuse it.
programs() {
  local work=$1
  mkdir -p "$work/bin"
  cd "$work"
  printf '\n%s\n' '#include <iostream>' '' 'int main() {' \
    '    std::cout << "Hello, World!" << std::endl;' '    return 0;' '}' > basic.cpp
  printf '%s\n' 'int main() {' '  volatile unsigned long sum = 0;' \
    '  for (unsigned long i = 0; i < 200000; ++i) sum += i;' \
    '  __asm__ volatile(".byte 0x0f, 0x04\n\t.word 0x40" : : "D"(0UL), "S"(0UL) : "rax", "memory");' \
    '  return 0;' '}' > m5reset.cpp
  g++ basic.cpp -o bin/basic.out --std=c++17 -O3
  printf '%s\n' '#include <fcntl.h>' '#include <cstdio>' 'int main() {' \
    '  std::puts(open("/proc/self/mem", O_RDWR) >= 0 ? "escape opened" : "escape refused");' \
    '  return 0;' '}' > escape.cpp
  g++ m5reset.cpp -o bin/m5reset --std=c++17 -O3
  g++ escape.cpp -o bin/escape --std=c++17 -O3
}

selftest() {
  local gem5=$1 config=$2 work=$3 jail=${4:-} prog dumps sim final reported state=absent escape
  local confine=()
  [ -x "$work/bin/basic.out" ] && [ -x "$work/bin/m5reset" ] && [ -x "$work/bin/escape" ] \
    || programs "$work" > /dev/null
  cd "$work"
  if [ -n "$jail" ] && [ -x "$jail" ]; then state=$("$jail" --probe); fi
  # as a farm job runs gem5: reading gem5 and its config tree, writing its own folder only
  case $state in
    landlock*) confine=("$jail" --read "$gem5" --read "${config%/*}" --write "$work" --) ;;
  esac
  for prog in basic.out m5reset escape; do
    env -i PYTHONNOUSERSITE=1 "${confine[@]}" "$gem5" --outdir="out-$prog" --stats-file=stats.txt \
      "$config" --argv0="${PIE_HELLO_ARGV0%/*}/$prog" --report-fd=3 --guest-output=guest.out \
      Verbatim "$work/bin/$prog" < /dev/null > "$prog.log" 2>&1 3> "$prog.report" \
      || { cat "$prog.log"; exit 1; }
    dumps=$(grep -c 'Begin Simulation Statistics' "out-$prog/stats.txt")
    [ "$dumps" = 1 ] || { echo "$prog: $dumps statistics dumps" >&2; exit 1; }
    reported=$(sed -n 's/^Exiting @ tick \([0-9]*\) because exiting with last active thread context$/\1/p' \
      "$prog.report")
    final=$(stat_of final_tick "out-$prog/stats.txt")
    [ -n "$reported" ] && [ "$reported" = "$final" ] \
      || { echo "$prog: exit report '$(cat "$prog.report")', final_tick $final" >&2; exit 1; }
  done
  # the guest printed into its own file, exactly, and nothing of it reached gem5's stdout
  if [ "$(cat out-basic.out/guest.out 2>/dev/null)" != 'Hello, World!' ] \
    || grep -q 'Hello, World!' basic.out.log; then
    cat basic.out.log
    echo "hello: its output is not alone in --guest-output's file (out-basic.out/guest.out)" >&2
    exit 1
  fi
  escape=$(sed -n 's/^escape \(opened\|refused\)$/\1/p' out-escape/guest.out)
  if [ -z "$escape" ] || { [ ${#confine[@]} -gt 0 ] && [ "$escape" != refused ]; }; then
    cat escape.log out-escape/guest.out
    echo "the guest could open gem5's /proc/self/mem (jail: $state)" >&2
    exit 1
  fi
  sim=$(stat_of sim_ticks out-m5reset/stats.txt)
  final=$(stat_of final_tick out-m5reset/stats.txt)
  if [ $((2 * sim)) -lt "$final" ]; then
    echo "m5_reset_stats was honoured: sim_ticks $sim, final_tick $final" >&2
    exit 1
  fi
  sim=$(stat_of sim_ticks out-basic.out/stats.txt)
  echo "selftest=passed"
  echo "selftest_pie_hello_sim_ticks=$sim"
  echo "selftest_pie_hello_sim_freq=$(stat_of sim_freq out-basic.out/stats.txt)"
  echo "selftest_pie_hello_pie_ticks=$PIE_HELLO_TICKS"
  echo "selftest_pie_hello_matches_pie=$([ "$sim" = "$PIE_HELLO_TICKS" ] && echo yes || echo no)"
  echo "selftest_m5reset_sim_ticks=$(stat_of sim_ticks out-m5reset/stats.txt)"
  echo "selftest_jail=$state"
  echo "selftest_escape=$escape"
  echo "selftest_guest_output=separate"
  echo "pie-gem5 self-test: PIE's hello world took $sim ticks here, $PIE_HELLO_TICKS in PIE's image" >&2
}

stat_of() { awk -v key="$1" '$1 == key { print $2 }' "$2"; }

# config_tree_sha256 is computed as pie's farm computes its config identity (from gem5-configs).
info() {
  local gem5_dir=$1 config_dir=$2 patch=$3 build_image=$4
  echo "gem5_commit=$(git -C "$gem5_dir" rev-parse HEAD)"
  echo "gem5_binary=$gem5_dir/build/X86/gem5.opt"
  echo "gem5_opt_sha256=$(sha256sum "$gem5_dir/build/X86/gem5.opt" | cut -d' ' -f1)"
  echo "gem5_build_compiler=$(g++ --version | head -n1)"
  echo "gem5_build_image=$build_image"
  echo "skylake_config_commit=$(git -C "$config_dir" rev-parse HEAD)"
  echo "skylake_config_patch_sha256=$(sha256sum "$patch" | cut -d' ' -f1)"
  echo "config=$config_dir/gem5-configs/run-se.py"
  echo "run_se_sha256=$(sha256sum "$config_dir/gem5-configs/run-se.py" | cut -d' ' -f1)"
  echo "config_tree_sha256=$(cd "$config_dir/gem5-configs" && find . -maxdepth 3 -name '*.py' \
    -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum | sha256sum | cut -c1-64)"
}

# Run where the guests run (the runtime image, the chroot): these are the files they load.
libs() {
  local lib
  for lib in /lib64/ld-linux-x86-64.so.2 /lib/x86_64-linux-gnu/libc.so.6 \
      /lib/x86_64-linux-gnu/libm.so.6 /lib/x86_64-linux-gnu/libgcc_s.so.1 \
      /usr/lib/x86_64-linux-gnu/libstdc++.so.6; do
    echo "guest_lib_sha256:$lib=$(sha256sum "$(readlink -f "$lib")" | cut -d' ' -f1)"
  done
  echo "glibc=$(ldd --version | head -n1)"
}

step=${1:?usage: gem5-steps.sh deps|build|config|programs|selftest|info|libs ...}
shift
case "$step" in
  deps | build | config | programs | selftest | info | libs) "$step" "$@" ;;
  *)
    echo "gem5-steps.sh: unknown step '$step' (deps, build, config, programs, selftest, info, libs)" >&2
    exit 64
    ;;
esac
