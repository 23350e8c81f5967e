#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
#
# Builds the ctrl network's Cortex-M4F programs (device.cpp) with arm-none-eabi-g++ and runs
# them on QEMU (mps2-an386) with cortex-m/run, then checks what they report:
#   full       inference with the host-trained weights from flash (bit-identical outputs),
#              on-device training (held-out loss below the threshold), instruction counts of
#              propel and of the plain-loop baselines (plain_loops.hpp, whose outputs and SGD
#              step must equal propel's bit for bit); must print PASS and exit 0
#   inference  --bare, no printf, inference only: exit 0 and "malloc linked: no"
#   plain1, plain4
#              the same with the plain loops (one row, four rows at a time) instead of propel
#   sgd1, sgd1-plain
#              --bare, one_sample.cpp: training one sample per SGD step, by propel's trainer
#              and by the plain loops; exit 0 (held-out loss below the threshold)
#   int8       int8_device.cpp: the network quantized to int8 (ctrl_int8_weights.hpp), outputs
#              bit-identical to the host's, instruction counts against plain loops; PASS
#   int8_inference  --bare, no printf, the int8 checks only: exit 0 and "malloc linked: no"
#   int8_only, int8_plain
#              --bare, int8 in and out only, by propel and by the plain loops
#   training   --bare, no printf, training only: exit 0 and "malloc linked: no"
#   empty      --bare, an empty main: the start-up's own share of the footprint
#   probe      --bare, checks the tools themselves: a loop of exactly 2000 instructions must
#              count 2000 to 2006 (the counter's own reads; the exit status is 100 + the
#              excess, so main's status must reach the runner), and an operator new must make
#              the runner report "malloc linked: yes"
# and that the weights (ctrl_model::weights, ctrl_int8_model::weights) sit in flash, not in .data
# or .bss. Prints a footprint table (text, data, bss, stack peak). Exit status 0 when every
# check passes.
#
# Needs gcc-arm-none-eabi, libnewlib-arm-none-eabi, libstdc++-arm-none-eabi-newlib,
# qemu-system-arm and libboost-dev (Boost.Hana headers); as root it installs the missing
# ones (scripts/deps.sh).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
runner=$here/cortex-m/run

source "$repo/scripts/deps.sh"
propel_need_packages gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib \
  qemu-system-arm libboost-dev

tmp=$(mktemp -d "${TMPDIR:-/tmp}/propel-embedded.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Boost.Hana is header-only, but /usr/include also holds the host's C library: give the cross
# compiler a directory that holds nothing but boost/.
boost_dir=${BOOST_INCLUDEDIR:-/usr/include}
if [[ ! -f $boost_dir/boost/hana.hpp ]]; then
  echo "embedded: Boost.Hana not found under $boost_dir (set BOOST_INCLUDEDIR)" >&2
  exit 1
fi
mkdir -p "$tmp/include"
ln -s "$boost_dir/boost" "$tmp/include/boost"

# -ffp-contract=off and PROPEL_VECTOR_BYTES=4: the summation order of the host program that
# wrote ctrl_weights.hpp (examples/CMakeLists.txt, export_weights), so that the outputs can be
# compared bit for bit.
flags=(-I"$repo/include" -isystem"$tmp/include" -DNDEBUG -ffp-contract=off -DPROPEL_VECTOR_BYTES=4
  -Wextra -Werror)
cd "$here"
failures=0
fail() {
  echo "embedded: FAIL: $*" >&2
  failures=$((failures + 1))
}

# build_and_run <name> <runner option...> -- <compiler flag...>: builds and runs the program,
# keeps the ELF ($tmp/<name>.elf) and its output ($tmp/<name>.out, stdout then stderr).
build_and_run() {
  local name=$1 start=$SECONDS rc=0
  shift
  local opts=()
  while [[ $1 != -- ]]; do opts+=("$1"); shift; done
  shift
  bash "$runner" "${opts[@]}" -o "$tmp/$name.elf" "$@" >"$tmp/$name.stdout" 2>"$tmp/$name.stderr" ||
    rc=$?
  cat "$tmp/$name.stdout" "$tmp/$name.stderr" >"$tmp/$name.out"
  echo "=== $name (exit status $rc, $((SECONDS - start)) s)"
  sed 's/^/  /' "$tmp/$name.out"
  return "$rc"
}

build_and_run full -- device.cpp "${flags[@]}" || fail "the full program exited with status $?"
grep -qx 'PASS' "$tmp/full.stdout" || fail "the full program printed no PASS line"
grep -q 'outputs bit-identical to the host' "$tmp/full.stdout" ||
  fail "the full program did not compare its outputs with the host's"
grep -q "^plain loops: .* outputs bit-identical to propel's" "$tmp/full.stdout" ||
  fail "the full program did not compare the plain loops' outputs with propel's"
grep -q '^plain loops: SGD step from the same state: .*: ok$' "$tmp/full.stdout" ||
  fail "the full program did not compare the plain loops' SGD step with propel's"

build_and_run inference --bare -- device.cpp "${flags[@]}" -DCTRL_QUIET -DCTRL_INFER_ONLY ||
  fail "the inference-only program exited with status $? (1: outputs differ from the host's, 2: held-out loss differs)"
build_and_run training --bare -- device.cpp "${flags[@]}" -DCTRL_QUIET -DCTRL_TRAIN_ONLY ||
  fail "the training-only program exited with status $? (3: the loss stayed above the threshold)"
for rows in 1 4; do
  build_and_run plain$rows --bare -- device.cpp "${flags[@]}" -DCTRL_QUIET -DCTRL_INFER_ONLY \
    -DCTRL_PLAIN=$rows || fail "the plain-loop inference program ($rows rows) exited with status $?"
done
build_and_run sgd1 --bare -- one_sample.cpp "${flags[@]}" ||
  fail "the one-sample training program exited with status $? (3: the loss stayed above the threshold)"
build_and_run sgd1-plain --bare -- one_sample.cpp "${flags[@]}" -DCTRL_PLAIN ||
  fail "the plain-loop one-sample training program exited with status $?"
for name in inference training plain1 plain4 sgd1 sgd1-plain; do
  grep -qx 'cortex-m: malloc linked: no' "$tmp/$name.stderr" || fail "$name: malloc is linked"
done
build_and_run int8 -- int8_device.cpp "${flags[@]}" || fail "the int8 program exited with status $?"
grep -qx 'PASS' "$tmp/int8.stdout" || fail "the int8 program printed no PASS line"
build_and_run int8_inference --bare -- int8_device.cpp "${flags[@]}" -DCTRL_QUIET ||
  fail "the int8 inference-only program exited with status $? (1: int8 outputs differ from the host's, 2: float outputs or held-out loss differ)"
grep -qx 'cortex-m: malloc linked: no' "$tmp/int8_inference.stderr" || fail "int8_inference: malloc is linked"
# int8 in and out only, by propel and by the plain-loop baseline: their footprints side by side
build_and_run int8_only --bare -- int8_device.cpp "${flags[@]}" -DCTRL_QUIET -DCTRL_INT8_ONLY ||
  fail "the int8-only program exited with status $? (1: int8 outputs differ from the host's)"
build_and_run int8_plain --bare -- int8_device.cpp "${flags[@]}" -DCTRL_QUIET -DCTRL_INT8_ONLY \
  -DCTRL_PLAIN || fail "the int8 plain-loop program exited with status $? (1: outputs differ)"
for name in int8_only int8_plain; do
  grep -qx 'cortex-m: malloc linked: no' "$tmp/$name.stderr" || fail "$name: malloc is linked"
done
echo 'int main() { return 0; }' >"$tmp/empty.cpp"
build_and_run empty --bare -- "$tmp/empty.cpp" || fail "the empty program exited with status $?"
cat >"$tmp/probe.cpp" <<'EOF'
#include "instruction_counter.hpp"
int* volatile sink;
int main() {
  sink = new int(1);  // the allocator must show up in the runner's report
  cortex_m::start_counter();
  unsigned n = 1000;
  std::uint32_t const t = cortex_m::ticks();
  __asm__ volatile("1: subs %0, %0, #1\n\tbne 1b" : "+r"(n));  // 2 instructions, 1000 times
  return static_cast<int>(100 + cortex_m::instructions_since(t) - 2000);
}
EOF
probe_rc=0
build_and_run probe --bare -- "$tmp/probe.cpp" || probe_rc=$?
if ((probe_rc >= 100 && probe_rc <= 106)); then
  echo "probe: a loop of 2000 instructions counts $((1900 + probe_rc))"
else
  fail "the probe program exited with status $probe_rc: a 2000-instruction loop counted as" \
    "$((1900 + probe_rc)) (modulo 256), or main's status did not reach the runner"
fi
grep -qx 'cortex-m: malloc linked: yes (.*_Znwj.*)' "$tmp/probe.stderr" ||
  fail "the runner did not see the operator new that the probe program links"

# The host-trained weights must be read from flash: the symbol's address lies in the flash
# region (0x00000000..), not in RAM (0x20000000..), where .data and .bss live.
for name in full inference int8 int8_inference int8_only int8_plain; do
  symbol=ctrl_model::weights
  [[ $name != int8* ]] || symbol=ctrl_int8_model::weights
  line=$(arm-none-eabi-nm -C -S "$tmp/$name.elf" | grep -E " $symbol\$" || true)
  read -r addr size kind _ <<<"$line"
  if [[ -z $line ]]; then
    fail "$name: no symbol $symbol"
  elif ((16#$addr >= 16#20000000)); then
    fail "$name: $symbol is in RAM ($line)"
  else
    echo "$name: $symbol at 0x$addr, $((16#$size)) bytes, in flash (nm type $kind)"
  fi
done

# footprint table
echo
echo "footprint (arm-none-eabi-g++ -O2, Cortex-M4F, --bare, no printf):"
printf '%-14s %8s %6s %6s %12s\n' build text data bss "stack peak"
for name in inference plain1 plain4 int8_inference int8_only int8_plain training sgd1 sgd1-plain \
  empty; do
  read -r text data bss < <(sed -n 's/^cortex-m: size: text \([0-9]*\) data \([0-9]*\) bss \([0-9]*\).*/\1 \2 \3/p' \
    "$tmp/$name.stderr" || true)
  stack=$(sed -n 's/^cortex-m: stack peak \([0-9]*\) B.*/\1/p' "$tmp/$name.stderr")
  [[ -n $text && -n $stack ]] || fail "$name: no size or stack peak in the runner's output"
  printf '%-14s %8s %6s %6s %12s\n' "$name" "$text" "$data" "$bss" "$stack"
done
grep -h '^instructions:' "$tmp/full.stdout" "$tmp/int8.stdout" || true

# Instruction budgets: the counts above (exact under -icount for a given arm-none-eabi-g++) may
# not grow by more than 2% over the README's, so that a kernel change that slows the M4 fails
# here instead of going unnoticed; lower the budgets when the counts fall.
check_budget() {  # <what> <count> <budget>
  if [[ -z $2 ]]; then
    fail "no instruction count for $1 in the full program's output"
  elif (($2 * 100 > $3 * 102)); then
    fail "$1: $2 instructions, over the budget of $3 (+2%)"
  fi
}
read -r infer batch_infer < <(sed -n 's/^instructions: inference \([0-9]*\) .* \([0-9]*\) per sample in a batch.*/\1 \2/p' \
  "$tmp/full.stdout" || true)
read -r sgd1 sgd8 < <(sed -n 's/^instructions: SGD step \([0-9]*\) (1 sample), \([0-9]*\) (batch.*/\1 \2/p' \
  "$tmp/full.stdout" || true)
sgd1_plain=$(sed -n 's/^instructions: SGD step without momentum \([0-9]*\) (1 sample).*/\1/p' \
  "$tmp/full.stdout")
check_budget "inference (one sample)" "${infer:-}" 4418
check_budget "inference (per sample in a batch of 8)" "${batch_infer:-}" 3472
check_budget "SGD step (one sample)" "${sgd1:-}" 25048
check_budget "SGD step without momentum (one sample)" "${sgd1_plain:-}" 16881
check_budget "SGD step (batch of 8)" "${sgd8:-}" 191834
read -r int8_infer int8_float < <(sed -n 's/^instructions: int8 inference \([0-9]*\) .*, \([0-9]*\) with float input.*/\1 \2/p' \
  "$tmp/int8.stdout" || true)
check_budget "int8 inference (int8 in and out)" "${int8_infer:-}" 2736
check_budget "int8 inference (float in and out)" "${int8_float:-}" 3379

if ((failures)); then
  echo "embedded: $failures check(s) failed" >&2
  exit 1
fi
echo "embedded: PASS"
