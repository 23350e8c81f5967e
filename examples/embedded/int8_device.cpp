// SPDX-License-Identifier: BSL-1.0
// The ctrl network (16 -> 32 relu -> 32 relu -> 4) quantized to int8 on a Cortex-M4F, run
// under QEMU by run.sh through cortex-m/run:
//
//  1. int8 inference with the network exported by the host (ctrl_int8_weights.hpp: constexpr
//     data, in flash): the int8 outputs for the probe inputs must equal the host's bit for
//     bit, and so must the float outputs (quantize, int8 network, dequantize) and the
//     held-out loss;
//  2. instructions per inference (cortex-m/instruction_counter.hpp: QEMU -icount): propel's
//     int8 network (SXTB16/SMLAD kernels, the M4's DSP extension), int8 in and out and float
//     in and out, and a plain-loop baseline of the same arithmetic (one row at a time, an
//     int32 multiply-add per weight), which must give the same outputs;
//  3. the DSP kernels on odd widths (their tails), with the general requantisation, and the
//     whole-layer kernel on widths other than ctrl's, against the plain loops, on
//     pseudo-random parameters and inputs.
//
// No heap, no exceptions, no RTTI. Build switches:
//   -DCTRL_QUIET  no printf, no counting: only part 1 (the footprint build, `cortex-m/run
//                 --bare`); the exit status says PASS (0) or which check failed
//   -DCTRL_INT8_ONLY  part 1 checks the int8 outputs only (no float input or output)
//   -DCTRL_PLAIN  with CTRL_INT8_ONLY: part 1 runs the plain-loop baseline instead of propel
//                 (the baseline's footprint)
//
// Exit status: 0 pass, 1 int8 outputs differ from the host's, 2 float outputs or held-out
// loss differ, 3 the plain-loop baseline disagrees, 4 the odd-width network disagrees with it.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <propel/propel.hpp>

#include "ctrl_int8_weights.hpp"
#include "ctrl_task.hpp"
#include "ctrl_weights.hpp"

#ifndef CTRL_QUIET
#include <cstdio>

#include "cortex-m/instruction_counter.hpp"
#define CTRL_PRINT(...) std::printf(__VA_ARGS__)
#else
#define CTRL_PRINT(...) static_cast<void>(0)
#endif

namespace {

using q_t = ctrl_int8_model::weights_type;
// The header's network must have the topology this program uses: another one fails to
// compile here.
constexpr propel::int8_mlp<propel::input<ctrl::inputs>, propel::dense<32, propel::relu>,
                           propel::dense<32, propel::relu>, propel::dense<ctrl::outputs>> const&
    flash_net = ctrl_int8_model::weights;

constexpr std::size_t probes = ctrl_int8_model::probe_inputs.rows;

[[maybe_unused]] bool same_bits(float a, float b) {
  std::uint32_t x = 0;
  std::uint32_t y = 0;
  std::memcpy(&x, &a, sizeof x);
  std::memcpy(&y, &b, sizeof y);
  return x == y;
}

propel::vec<std::int8_t, ctrl::inputs> probe(std::size_t r) {
  propel::vec<std::int8_t, ctrl::inputs> x;
  for (std::size_t j = 0; j < ctrl::inputs; ++j) x[j] = ctrl_int8_model::probe_inputs(r, j);
  return x;
}

/// The baseline: the same int8 arithmetic as two plain nested loops per layer, one output row
/// at a time, with TFLite's requantisation (propel's general one) for every output.
template <std::size_t Out, std::size_t In>
void plain_layer(propel::int8_dense<Out, In> const& l, std::int8_t const* x, std::int8_t* y) {
  for (std::size_t o = 0; o < Out; ++o) {
    std::int32_t acc = l.bias[o];
    for (std::size_t k = 0; k < In; ++k) acc += l.weight(o, k) * x[k];
    y[o] = propel::detail::q8::requantize(acc, l.multiplier[o], l.shift[o], l.output.zero_point,
                                          l.act_min);
  }
}

[[gnu::noinline, maybe_unused]] propel::vec<std::int8_t, ctrl::outputs> plain_loops(
    q_t const& net, propel::vec<std::int8_t, ctrl::inputs> const& x) {
  std::int8_t h1[32];
  std::int8_t h2[32];
  propel::vec<std::int8_t, ctrl::outputs> y;
  plain_layer(net.layer<0>(), x.data(), h1);
  plain_layer(net.layer<1>(), h1, h2);
  plain_layer(net.layer<2>(), h2, y.data());
  return y;
}

/// Part 1: the int8 network from flash, against the host's numbers (with CTRL_PLAIN, the
/// plain loops' int8 outputs instead; with CTRL_INT8_ONLY, the int8 outputs only).
int check_flash_network() {
  std::size_t mismatches = 0;
  for (std::size_t r = 0; r < probes; ++r) {
#ifdef CTRL_PLAIN
    propel::vec<std::int8_t, ctrl::outputs> const y = plain_loops(flash_net, probe(r));
#else
    propel::vec<std::int8_t, ctrl::outputs> const y = flash_net(probe(r));
#endif
    for (std::size_t k = 0; k < ctrl::outputs; ++k) {
      if (y[k] != ctrl_int8_model::probe_outputs(r, k)) ++mismatches;
    }
  }
  CTRL_PRINT("int8 network: %u of %u int8 outputs bit-identical to the host's\n",
             static_cast<unsigned>(probes * ctrl::outputs - mismatches),
             static_cast<unsigned>(probes * ctrl::outputs));
  if (mismatches != 0) return 1;
#ifdef CTRL_INT8_ONLY
  return 0;
#endif
  for (std::size_t r = 0; r < probes; ++r) {
    propel::vec<float, ctrl::inputs> x;
    for (std::size_t j = 0; j < ctrl::inputs; ++j) x[j] = ctrl_model::probe_inputs(r, j);
    propel::vec<float, ctrl::outputs> const y = flash_net(x);
    for (std::size_t k = 0; k < ctrl::outputs; ++k) {
      if (!same_bits(y[k], ctrl_int8_model::probe_float_outputs(r, k))) ++mismatches;
    }
  }
  float const holdout = ctrl::holdout_loss(flash_net);
  CTRL_PRINT("int8 network: %u of %u float outputs bit-identical to the host's\n",
             static_cast<unsigned>(probes * ctrl::outputs - mismatches),
             static_cast<unsigned>(probes * ctrl::outputs));
  CTRL_PRINT("int8 network: held-out loss %.6f (host: %.6f)\n", static_cast<double>(holdout),
             static_cast<double>(ctrl_int8_model::holdout_loss[0]));
  return mismatches == 0 && same_bits(holdout, ctrl_int8_model::holdout_loss[0]) ? 0 : 2;
}

#ifndef CTRL_QUIET

/// Part 3: the DSP kernels on widths that are not multiples of 4 (their tails) and with the
/// general requantisation (shifts >= 0, a relu clamp above -128), against the plain loops:
/// a network of pseudo-random parameters and inputs.
using odd_t = propel::int8_mlp<propel::input<7>, propel::dense<5, propel::relu>, propel::dense<9>,
                               propel::dense<6, propel::relu>>;
/// Widths of the whole-layer kernel (blocks of four rows and eight inputs), other than ctrl's.
using block_t = propel::int8_mlp<propel::input<8>, propel::dense<12, propel::relu>,
                                 propel::dense<24>, propel::dense<8, propel::relu>>;

template <class L>
void randomise(L& l, ctrl::stream& s, bool general) {
  auto byte = [&] { return static_cast<std::int8_t>(s.next() >> 24); };
  for (auto& w : l.weight) w = byte();
  for (std::size_t o = 0; o < l.bias.size(); ++o) {
    l.bias[o] = static_cast<std::int32_t>(s.next() >> 18) - 8192;
    l.multiplier.set(o, static_cast<std::int32_t>((1u << 30) + (s.next() >> 2)));
    l.shift.set(o, static_cast<std::int8_t>(general ? static_cast<int>(s.next() % 12) - 9
                                                    : -static_cast<int>(1 + s.next() % 10)));
  }
  l.output = {1.0f, general ? -20 : -128};
  l.act_min = static_cast<std::int8_t>(general ? -20 : -128);
  bool right = l.act_min == -128;  // the flag quantize would derive
  for (std::size_t o = 0; o < l.shift.size(); ++o) right = right && l.shift[o] <= -1;
  l.right_shifts_only = right;
}

int check_odd_shapes() {
  static odd_t net;
  ctrl::stream s{0xBADC0DEu};
  std::size_t mismatches = 0;
  std::size_t outputs = 0;
  for (int round = 0; round < 2; ++round) {
    randomise(net.layer<0>(), s, round == 1);
    randomise(net.layer<1>(), s, false);
    randomise(net.layer<2>(), s, round == 1);
    for (int i = 0; i < 50; ++i) {
      propel::vec<std::int8_t, 7> x;
      for (auto& v : x) v = static_cast<std::int8_t>(s.next() >> 24);
      std::int8_t h1[5];
      std::int8_t h2[9];
      std::int8_t want[6];
      plain_layer(net.layer<0>(), x.data(), h1);
      plain_layer(net.layer<1>(), h1, h2);
      plain_layer(net.layer<2>(), h2, want);
      auto const got = net(x);
      for (std::size_t k = 0; k < 6; ++k) mismatches += got[k] != want[k] ? 1U : 0U;
      outputs += 6;
    }
  }
  static block_t blocks;
  for (int round = 0; round < 2; ++round) {
    randomise(blocks.layer<0>(), s, false);
    randomise(blocks.layer<1>(), s, false);
    randomise(blocks.layer<2>(), s, false);
    for (int i = 0; i < 50; ++i) {
      propel::vec<std::int8_t, 8> x;
      for (auto& v : x) v = static_cast<std::int8_t>(s.next() >> 24);
      std::int8_t h1[12];
      std::int8_t h2[24];
      std::int8_t want[8];
      plain_layer(blocks.layer<0>(), x.data(), h1);
      plain_layer(blocks.layer<1>(), h1, h2);
      plain_layer(blocks.layer<2>(), h2, want);
      auto const got = blocks(x);
      for (std::size_t k = 0; k < 8; ++k) mismatches += got[k] != want[k] ? 1U : 0U;
      outputs += 8;
    }
  }
  CTRL_PRINT(
      "odd widths, both requantisations, and whole-layer blocks: %u of %u outputs equal the "
      "plain loops'\n",
      static_cast<unsigned>(outputs - mismatches), static_cast<unsigned>(outputs));
  return mismatches == 0 ? 0 : 4;
}

/// Part 2: instructions. The input is made opaque to the optimiser after the first reading of
/// the counter, so that the work can neither be folded nor hoisted above it.
template <class In, class F>
std::uint32_t instructions(In& input, F const& f) {
  std::uint32_t const t = cortex_m::ticks();
  __asm__ volatile("" : "+m"(input));
  auto const out = f(input);
  cortex_m::keep(out);
  return cortex_m::instructions_since(t);
}

int count_instructions() {
  cortex_m::start_counter();
  auto x = probe(0);
  propel::vec<float, ctrl::inputs> xf;
  for (std::size_t j = 0; j < ctrl::inputs; ++j) xf[j] = ctrl_model::probe_inputs(0, j);
  std::uint32_t const int8 = instructions(x, [](auto const& in) { return flash_net(in); });
  std::uint32_t const float_io = instructions(xf, [](auto const& in) { return flash_net(in); });
  std::uint32_t const plain =
      instructions(x, [](auto const& in) { return plain_loops(flash_net, in); });
  constexpr unsigned macs = 16 * 32 + 32 * 32 + 32 * 4;
  CTRL_PRINT(
      "instructions: int8 inference %u (%.2f per multiply-add), %u with float input "
      "and output; plain loops %u\n",
      static_cast<unsigned>(int8), static_cast<double>(int8) / macs,
      static_cast<unsigned>(float_io), static_cast<unsigned>(plain));
  std::size_t mismatches = 0;
  for (std::size_t r = 0; r < probes; ++r) {
    auto const a = plain_loops(flash_net, probe(r));
    for (std::size_t k = 0; k < ctrl::outputs; ++k) {
      if (a[k] != ctrl_int8_model::probe_outputs(r, k)) ++mismatches;
    }
  }
  CTRL_PRINT("plain loops: %u of %u int8 outputs equal propel's\n",
             static_cast<unsigned>(probes * ctrl::outputs - mismatches),
             static_cast<unsigned>(probes * ctrl::outputs));
  return mismatches == 0 ? 0 : 3;
}
#endif

}  // namespace

int main() {
  int status = check_flash_network();
#ifndef CTRL_QUIET
  if (status == 0) status = count_instructions();
  if (status == 0) status = check_odd_shapes();
  CTRL_PRINT("%s\n", status == 0 ? "PASS" : "FAIL");
#endif
  return status;
}
