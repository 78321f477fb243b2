#!/bin/bash
# The steps that make pie's gem5 host, shared by the Dockerfile (ubuntu:20.04 builder) and
# build-local.sh (a Debian 11 chroot), so the two builds cannot drift apart.
#
#   gem5-steps.sh deps                      install gem5 v20.1's build dependencies (apt)
#   gem5-steps.sh build GEM5_DIR [JOBS]     scons build/X86/gem5.opt, then strip debug info
#   gem5-steps.sh config CONFIG_DIR PATCH   apply pie's patch to gem5-skylake-config and check it
#   gem5-steps.sh selftest GEM5 CONFIG WORK  compile and run the self-test programs in WORK
#   gem5-steps.sh info GEM5_DIR CONFIG_DIR PATCH BUILD_IMAGE   print BUILD_INFO lines
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
  local gem5_dir=$1 jobs=${2:-$(nproc)}
  cd "$gem5_dir"
  # --ignore-style: no git-hook prompt (it would read stdin and stop a non-interactive build).
  # scons is incremental: a build stopped half-way resumes where it was.
  scons build/X86/gem5.opt --ignore-style -j"$jobs"
  # The code is unchanged by stripping, the file much smaller.
  objcopy --strip-debug build/X86/gem5.opt
}

config() {
  local config_dir=$1 patch=$2 run_se
  run_se="$config_dir/gem5-configs/run-se.py"
  if ! grep -q 'pie:' "$run_se"; then
    git -C "$config_dir" apply --verbose "$patch"
  fi
  grep -q 'UnconstrainedCPU\]' "$run_se"
  grep -q 'do_statistics_insts = False' "$run_se"
  grep -q 'do_checkpoint_insts = False' "$run_se"
  grep -q 'mmap_using_noreserve = True' "$run_se"
}

# Self-test programs compiled as PIE compiled (-std=c++17 -O3, dynamic): hello prints a line;
# m5reset works a while, then executes m5_reset_stats (x86 pseudo-op 0F 04, function 0x40).
# Each run is the farm's command: fixed binary path, empty environment (but for
# PYTHONNOUSERSITE), stdin given. A reset honoured would make sim_ticks a tiny part of final_tick.
selftest() {
  local gem5=$1 config=$2 work=$3 prog dumps sim final
  mkdir -p "$work/bin"
  cd "$work"
  printf '%s\n' '#include <iostream>' \
    'int main() { std::cout << "pie-gem5-selftest" << std::endl; return 0; }' > hello.cpp
  printf '%s\n' 'int main() {' '  volatile unsigned long sum = 0;' \
    '  for (unsigned long i = 0; i < 200000; ++i) sum += i;' \
    '  __asm__ volatile(".byte 0x0f, 0x04\n\t.word 0x40" : : "D"(0UL), "S"(0UL) : "rax", "memory");' \
    '  return 0;' '}' > m5reset.cpp
  g++ hello.cpp -o bin/hello --std=c++17 -O3
  g++ m5reset.cpp -o bin/m5reset --std=c++17 -O3
  for prog in hello m5reset; do
    env -i PYTHONNOUSERSITE=1 "$gem5" --outdir="out-$prog" --stats-file=stats.txt \
      "$config" Verbatim "$work/bin/$prog" < /dev/null > "$prog.log" 2>&1 \
      || { cat "$prog.log"; exit 1; }
    dumps=$(grep -c 'Begin Simulation Statistics' "out-$prog/stats.txt")
    [ "$dumps" = 1 ] || { echo "$prog: $dumps statistics dumps" >&2; exit 1; }
  done
  grep -q pie-gem5-selftest hello.log || { cat hello.log; echo "hello: no output" >&2; exit 1; }
  sim=$(stat_of sim_ticks out-m5reset/stats.txt)
  final=$(stat_of final_tick out-m5reset/stats.txt)
  if [ $((2 * sim)) -lt "$final" ]; then
    echo "m5_reset_stats was honoured: sim_ticks $sim, final_tick $final" >&2
    exit 1
  fi
  echo "selftest=passed"
  echo "selftest_hello_sim_ticks=$(stat_of sim_ticks out-hello/stats.txt)"
  echo "selftest_hello_sim_freq=$(stat_of sim_freq out-hello/stats.txt)"
  echo "selftest_m5reset_sim_ticks=$sim"
}

stat_of() { awk -v key="$1" '$1 == key { print $2 }' "$2"; }

# config_tree_sha256 is computed as pie's farm computes its config identity (from gem5-configs).
info() {
  local gem5_dir=$1 config_dir=$2 patch=$3 build_image=$4 lib
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
  for lib in /lib64/ld-linux-x86-64.so.2 /lib/x86_64-linux-gnu/libc.so.6 \
      /lib/x86_64-linux-gnu/libm.so.6 /lib/x86_64-linux-gnu/libgcc_s.so.1 \
      /usr/lib/x86_64-linux-gnu/libstdc++.so.6; do
    echo "guest_lib_sha256:$lib=$(sha256sum "$(readlink -f "$lib")" | cut -d' ' -f1)"
  done
  echo "glibc=$(ldd --version | head -n1)"
}

step=${1:?usage: gem5-steps.sh deps|build|config|selftest|info ...}
shift
case "$step" in
  deps | build | config | selftest | info) "$step" "$@" ;;
  *) echo "gem5-steps.sh: unknown step '$step' (deps, build, config, selftest, info)" >&2; exit 64 ;;
esac
