#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
#
# The stack each public entry point needs on the Cortex-M4F (QEMU mps2-an386): builds
# stack_probe.cpp once per entry point with arm-none-eabi-g++ -O2 (cortex-m/run --bare), runs
# it, and prints the runner's stack peak minus that of the probe that calls nothing
# (PROBE_none: start-up, main and the probe's own frame). Prints one line per probe; exit
# status 0 when every probe ran. Needs what run.sh needs.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/propel-stack.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

boost_dir=${BOOST_INCLUDEDIR:-/usr/include}
mkdir -p "$tmp/include"
ln -s "$boost_dir/boost" "$tmp/include/boost"  # only boost/, not the host's C library
flags=(-I"$repo/include" -isystem"$tmp/include" -DNDEBUG -Wextra -Werror)

peak() {  # <probe name>: the runner's stack peak in bytes
  bash "$here/cortex-m/run" --bare "$here/stack_probe.cpp" "${flags[@]}" "-DPROBE_$1" \
    >"$tmp/out" 2>&1 || { cat "$tmp/out" >&2; echo "stack: the probe $1 failed" >&2; exit 1; }
  sed -n 's/^cortex-m: stack peak \([0-9]*\) B.*/\1/p' "$tmp/out"
}

base=$(peak none)
echo "probe: stack peak minus the empty probe's ($base B), arm-none-eabi-g++ -O2 -mcpu=cortex-m4"
# the probes in the order of run()'s branches
for name in $(sed -n '/float run()/,$p' "$here/stack_probe.cpp" |
  sed -n 's/.*defined(PROBE_\([a-z0-9_]*\)).*/\1/p' | grep -vx none); do
  printf '%-40s %7d B\n' "$name" $(($(peak "$name") - base))
done
