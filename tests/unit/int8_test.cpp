// SPDX-License-Identifier: BSL-1.0
// int8 post-training quantization (propel/nn/quantize.hpp) against an independent reference
// written here from TensorFlow Lite's int8 specification, with its own formulations: int64
// and double arithmetic, the multiplier normalised by repeated halving and doubling instead
// of frexp, TFLite's nudge-and-truncate doubling high multiply and its mask-and-threshold
// rounding shift, the input's zero point subtracted from every input instead of folded into
// the bias. Random networks, calibration sets and inputs, and the edge cases (saturating
// inputs and biases, empty ranges, rows of zeros, multipliers of 0.5 and more, left shifts,
// relu clamps above -128) must give the same parameters and the same output bits. Then the
// digits network: its int8 test accuracy within 0.5 points of the float network's.
#define BOOST_TEST_MODULE int8
#include <algorithm>
#include <array>
#include <bit>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <limits>
#include <propel/io/export_header.hpp>
#include <propel/propel.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace pp = propel;

namespace {

// ---------------------------------------------------------------- the reference
namespace ref {

constexpr std::int64_t i32_min = std::numeric_limits<std::int32_t>::min();
constexpr std::int64_t i32_max = std::numeric_limits<std::int32_t>::max();

struct tensor_q {
  float scale;
  std::int64_t zp;
};

/// Asymmetric int8 parameters of [lo, hi], widened to include 0.
tensor_q activation(float lo_seen, float hi_seen) {
  double lo = lo_seen < 0.0f ? lo_seen : 0.0;
  double hi = hi_seen > 0.0f ? hi_seen : 0.0;
  if (hi == lo) return {1.0f, -128};
  float const scale = static_cast<float>((hi - lo) / 255.0);
  if (scale == 0.0f) return {1.0f, -128};
  double const z = std::round(-128.0 - lo / static_cast<double>(scale));
  return {scale, static_cast<std::int64_t>(std::clamp(z, -128.0, 127.0))};
}

/// real = m * 2^(shift - 31), m in [2^30, 2^31): normalised by halving and doubling.
void multiplier(double real, std::int64_t& m, std::int64_t& shift) {
  m = 0;
  shift = 0;
  if (real <= 0.0) return;
  std::int64_t e = 0;
  while (real >= 1.0) {
    real /= 2.0;
    ++e;
  }
  while (real < 0.5) {
    real *= 2.0;
    --e;
  }
  std::int64_t q = std::llround(std::ldexp(real, 31));
  if (q == (std::int64_t{1} << 31)) {
    q >>= 1;
    ++e;
  }
  if (e < -31) {
    e = 0;
    q = 0;
  } else if (e > 30) {
    e = 30;
    q = i32_max;
  }
  m = q;
  shift = e;
}

struct layer_q {
  std::size_t out, in;
  bool relu;
  std::vector<std::int64_t> w;     // [out][in]
  std::vector<std::int64_t> bias;  // TFLite's, the input's zero point not folded in
  std::vector<std::int64_t> m, shift;
  tensor_q output;
  std::int64_t act_min;
};

/// TFLite's SaturatingRoundingDoublingHighMul, as written there.
std::int64_t srdhm(std::int64_t a, std::int64_t b) {
  if (a == i32_min && b == i32_min) return i32_max;
  std::int64_t const ab = a * b;
  std::int64_t const nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
  return (ab + nudge) / (std::int64_t{1} << 31);  // truncating division
}

/// TFLite's RoundingDivideByPOT, as written there.
std::int64_t rdbp(std::int64_t x, std::int64_t e) {
  std::int64_t const mask = (std::int64_t{1} << e) - 1;
  std::int64_t const remainder = x & mask;
  std::int64_t const threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> e) + (remainder > threshold ? 1 : 0);
}

std::int64_t multiply_by_quantized(std::int64_t acc, std::int64_t m, std::int64_t shift) {
  std::int64_t const left = shift > 0 ? shift : 0;
  std::int64_t const right = shift > 0 ? 0 : -shift;
  std::int64_t const x = std::clamp(acc * (std::int64_t{1} << left), i32_min, i32_max);
  return rdbp(srdhm(x, m), right);
}

std::vector<std::int64_t> run_layer(layer_q const& l, std::vector<std::int64_t> const& x,
                                    std::int64_t in_zp) {
  std::vector<std::int64_t> y(l.out);
  for (std::size_t o = 0; o < l.out; ++o) {
    std::int64_t acc = l.bias[o];
    for (std::size_t k = 0; k < l.in; ++k) acc += l.w[o * l.in + k] * (x[k] - in_zp);
    BOOST_REQUIRE(acc >= i32_min && acc <= i32_max);  // the scheme's int32 accumulator
    std::int64_t r = multiply_by_quantized(acc, l.m[o], l.shift[o]) + l.output.zp;
    y[o] = std::clamp<std::int64_t>(r, l.act_min, 127);
  }
  return y;
}

std::int64_t quantize_input(float x, tensor_q p) {
  float const t = x / p.scale;
  if (std::isnan(t)) return p.zp;
  float const r = std::round(std::clamp(t, -1000.0f, 1000.0f));
  return std::clamp<std::int64_t>(static_cast<std::int64_t>(r) + p.zp, -128, 127);
}

/// Quantizes one float layer (weights [out][in], bias) given its input and output tensors.
layer_q quantize_layer(std::vector<double> const& w, std::vector<double> const& b, std::size_t out,
                       std::size_t in, bool relu, tensor_q input, tensor_q output) {
  layer_q l{
      out, in, relu, {}, {}, {}, {}, output, relu ? std::max<std::int64_t>(output.zp, -128) : -128};
  std::int64_t const bias_lim = i32_max - 32512 * static_cast<std::int64_t>(in);
  for (std::size_t o = 0; o < out; ++o) {
    double amax = 0;
    for (std::size_t k = 0; k < in; ++k) amax = std::max(amax, std::abs(w[o * in + k]));
    float const ws = amax == 0 ? 1.0f : static_cast<float>(amax / 127.0);
    for (std::size_t k = 0; k < in; ++k) {
      l.w.push_back(
          std::clamp(std::llround(w[o * in + k] / static_cast<double>(ws)), -127LL, 127LL));
    }
    double const bs = static_cast<double>(input.scale) * static_cast<double>(ws);
    double const qb = std::clamp(std::round(b[o] / bs), -static_cast<double>(bias_lim),
                                 static_cast<double>(bias_lim));
    l.bias.push_back(static_cast<std::int64_t>(qb));
    std::int64_t m = 0;
    std::int64_t s = 0;
    multiplier(static_cast<double>(input.scale) * ws / static_cast<double>(output.scale), m, s);
    l.m.push_back(m);
    l.shift.push_back(s);
  }
  return l;
}

}  // namespace ref

// ---------------------------------------------------------------- helpers

std::uint64_t rng_state = 0x12345678u;
std::uint64_t next_u64() {
  std::uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
double uniform(double lo, double hi) {
  return lo + (hi - lo) * static_cast<double>(next_u64() >> 11) * 0x1.0p-53;
}

/// The reference's layers read from a float network, with the tensors' parameters the
/// reference derives from propel's ranges.
template <class Net, std::size_t... I>
std::vector<ref::layer_q> reference_layers(Net const& net,
                                           pp::activation_ranges<Net::layer_count> const& r,
                                           std::index_sequence<I...>) {
  std::vector<ref::layer_q> layers;
  ref::tensor_q in = ref::activation(r.input.min, r.input.max);
  (
      [&] {
        auto const& l = net.template layer<I>();
        std::vector<double> w(l.weight.begin(), l.weight.end());
        std::vector<double> b(l.bias.begin(), l.bias.end());
        ref::tensor_q const out = ref::activation(r.outputs[I].min, r.outputs[I].max);
        layers.push_back(ref::quantize_layer(
            w, b, Net::widths[I + 1], Net::widths[I],
            std::is_same_v<typename Net::template activation_t<I>, pp::relu>, in, out));
        in = out;
      }(),
      ...);
  return layers;
}

/// propel's quantized layers as the reference reads them (the bias unfolded).
template <class Q, std::size_t... I>
std::vector<ref::layer_q> layers_of(Q const& q, std::index_sequence<I...>) {
  std::vector<ref::layer_q> layers;
  std::int64_t in_zp = q.input.zero_point;
  (
      [&] {
        auto const& l = q.template layer<I>();
        constexpr std::size_t out = Q::widths[I + 1];
        constexpr std::size_t in = Q::widths[I];
        ref::layer_q r{out,
                       in,
                       std::is_same_v<typename Q::template activation_t<I>, pp::relu>,
                       {},
                       {},
                       {},
                       {},
                       {l.output.scale, l.output.zero_point},
                       l.act_min};
        for (std::size_t o = 0; o < out; ++o) {
          std::int64_t sum = 0;
          for (std::size_t k = 0; k < in; ++k) {
            r.w.push_back(l.weight(o, k));
            sum += l.weight(o, k);
          }
          r.bias.push_back(l.bias[o] + in_zp * sum);
          r.m.push_back(l.multiplier[o]);
          r.shift.push_back(l.shift[o]);
        }
        layers.push_back(r);
        in_zp = l.output.zero_point;
      }(),
      ...);
  return layers;
}

/// Every parameter of propel's quantized network equals the reference's.
template <class Net, class Q>
void check_parameters(Net const& net, pp::activation_ranges<Net::layer_count> const& ranges,
                      Q const& q) {
  constexpr auto seq = std::make_index_sequence<Net::layer_count>{};
  auto const want = reference_layers(net, ranges, seq);
  auto const got = layers_of(q, seq);
  ref::tensor_q const in = ref::activation(ranges.input.min, ranges.input.max);
  BOOST_TEST(q.input.scale == in.scale);
  BOOST_TEST(q.input.zero_point == in.zp);
  for (std::size_t i = 0; i < want.size(); ++i) {
    BOOST_TEST_CONTEXT("layer " << i) {
      BOOST_TEST(got[i].w == want[i].w, boost::test_tools::per_element());
      BOOST_TEST(got[i].bias == want[i].bias, boost::test_tools::per_element());
      BOOST_TEST(got[i].m == want[i].m, boost::test_tools::per_element());
      BOOST_TEST(got[i].shift == want[i].shift, boost::test_tools::per_element());
      BOOST_TEST(got[i].output.scale == want[i].output.scale);
      BOOST_TEST(got[i].output.zp == want[i].output.zp);
      BOOST_TEST(got[i].act_min == want[i].act_min);
    }
  }
}

/// propel's outputs for x (float and int8 interfaces) equal the reference's, bit for bit,
/// running the reference on propel's parameters.
template <class Q>
int check_outputs(Q const& q, pp::vec<float, Q::input_size> const& x,
                  std::vector<ref::layer_q> const& layers) {
  ref::tensor_q const in{q.input.scale, q.input.zero_point};
  std::vector<std::int64_t> v(Q::input_size);
  for (std::size_t k = 0; k < Q::input_size; ++k) v[k] = ref::quantize_input(x[k], in);
  pp::vec<std::int8_t, Q::input_size> const xq = q.quantize_input(x);
  int mismatches = 0;
  for (std::size_t k = 0; k < Q::input_size; ++k) mismatches += xq[k] != v[k];
  std::int64_t zp = in.zp;
  for (auto const& l : layers) {
    v = ref::run_layer(l, v, zp);
    zp = l.output.zp;
  }
  pp::vec<std::int8_t, Q::output_size> const y = q(xq);
  pp::vec<float, Q::output_size> const yf = q(x);
  for (std::size_t o = 0; o < Q::output_size; ++o) {
    mismatches += y[o] != v[o];
    float const want = q.output().scale * static_cast<float>(v[o] - zp);
    mismatches += std::bit_cast<std::uint32_t>(yf[o]) != std::bit_cast<std::uint32_t>(want);
  }
  return mismatches;
}

/// A float network with weights of different magnitudes per row (some rows zero), biases,
/// and calibration samples in [lo, hi] per feature.
template <class Net, std::size_t... I>
void randomise_layers(Net& net, double bias_scale, std::index_sequence<I...>) {
  (
      [&] {
        auto& l = net.template layer<I>();
        for (std::size_t o = 0; o < l.weight.rows; ++o) {
          double const row_scale = next_u64() % 7 == 0 ? 0.0 : std::exp(uniform(-4.0, 1.0));
          for (std::size_t k = 0; k < l.weight.cols; ++k) {
            l.weight(o, k) = static_cast<float>(uniform(-row_scale, row_scale));
          }
          l.bias[o] = static_cast<float>(uniform(-bias_scale, bias_scale));
        }
      }(),
      ...);
}

template <class Net>
std::vector<pp::vec<float, Net::input_size>> random_samples(std::size_t n, double lo, double hi) {
  std::vector<pp::vec<float, Net::input_size>> xs(n);
  for (auto& x : xs) {
    for (auto& v : x) v = static_cast<float>(uniform(lo, hi));
  }
  return xs;
}

/// Quantizes a random Net from random calibration data and checks parameters and outputs
/// (including inputs beyond the calibrated range, which saturate, and NaN).
template <class Net>
void check_random_network(double bias_scale, double lo, double hi) {
  Net net;
  randomise_layers(net, bias_scale, std::make_index_sequence<Net::layer_count>{});
  auto const calibration = random_samples<Net>(64, lo, hi);
  auto const ranges =
      pp::calibrate(net, std::span<pp::vec<float, Net::input_size> const>(calibration));
  BOOST_REQUIRE(ranges.valid);
  auto const q = pp::quantize(net, ranges);
  BOOST_REQUIRE(q.has_value());
  check_parameters(net, ranges, *q);
  int mismatches = 0;
  auto inputs = random_samples<Net>(200, 1.5 * lo - 0.5, 1.5 * hi + 0.5);
  inputs[0][0] = std::numeric_limits<float>::quiet_NaN();
  inputs[1][0] = std::numeric_limits<float>::infinity();
  auto const layers = layers_of(*q, std::make_index_sequence<Net::layer_count>{});
  for (auto const& x : inputs) mismatches += check_outputs(*q, x, layers);
  BOOST_TEST(mismatches == 0);
}

}  // namespace

BOOST_AUTO_TEST_CASE(requantisation_matches_tflite_formulas) {
  // the general and the short (shift <= -1, no relu clamp) requantisation against TFLite's
  // MultiplyByQuantizedMultiplier, for accumulators up to the bound quantize keeps them in
  std::int64_t const bound = ref::i32_max - 32512 * 64;
  std::vector<std::int64_t> accs = {0,      1,       -1,         2,     -2,    bound,
                                    -bound, 1 << 20, -(1 << 20), 12345, -12345};
  std::vector<std::int64_t> mults = {0, 1 << 30, ref::i32_max, (1 << 30) + 1, 1518500250};
  for (int i = 0; i < 40; ++i) accs.push_back(static_cast<std::int64_t>(uniform(-bound, bound)));
  for (int i = 0; i < 20; ++i) accs.push_back(static_cast<std::int64_t>(uniform(-5000, 5000)));
  for (int i = 0; i < 20; ++i)
    mults.push_back(static_cast<std::int64_t>(uniform(1 << 30, ref::i32_max)));
  int general = 0;
  int fast = 0;
  int cases = 0;
  for (std::int64_t acc : accs) {
    for (std::int64_t m : mults) {
      for (int shift = -31; shift <= 30; ++shift) {
        for (std::int32_t zp : {-128, -3, 127}) {
          for (std::int32_t act_min : {-128, 100}) {
            std::int64_t const want = std::clamp<std::int64_t>(
                ref::multiply_by_quantized(acc, m, shift) + zp, act_min, 127);
            auto const a = static_cast<std::int32_t>(acc);
            auto const mm = static_cast<std::int32_t>(m);
            general += pp::detail::q8::requantize(a, mm, shift, zp, act_min) != want;
            if (shift <= -1 && act_min == -128) {
              fast += pp::detail::q8::requantize_right(a, static_cast<std::uint32_t>(mm) << 1,
                                                       -shift - 1, 2 * zp + 1) != want;
            }
            ++cases;
          }
        }
      }
    }
  }
  BOOST_TEST(general == 0);
  BOOST_TEST(fast == 0);
  BOOST_TEST(cases > 100000);
  // ties, both signs: TFLite rounds x * m / 2^31 half up, then x / 2^e half away from zero
  BOOST_TEST(ref::srdhm(-1, 1 << 30) == 0);
  BOOST_TEST(pp::detail::q8::doubling_high_mul(-1, 1 << 30) == 0);   // -0.5 -> 0
  BOOST_TEST(pp::detail::q8::doubling_high_mul(1, 1 << 30) == 1);    // 0.5 -> 1
  BOOST_TEST(pp::detail::q8::doubling_high_mul(-3, 1 << 30) == -1);  // -1.5 -> -1
  BOOST_TEST(pp::detail::q8::rounding_shift_right(-6, 2) == -2);     // -1.5 -> -2
  BOOST_TEST(pp::detail::q8::rounding_shift_right(6, 2) == 2);       // 1.5 -> 2
  BOOST_TEST(pp::detail::q8::rounding_shift_right(-5, 2) == -1);     // -1.25 -> -1
}

BOOST_AUTO_TEST_CASE(random_networks_match_the_reference_bit_for_bit) {
  using ctrl_t =
      pp::mlp<float, pp::input<16>, pp::dense<32, pp::relu>, pp::dense<32, pp::relu>, pp::dense<4>>;
  // widths that are not multiples of 4, identity hidden layers (negative zero points)
  using odd_t = pp::mlp<float, pp::input<7>, pp::dense<5, pp::relu>, pp::dense<9>, pp::dense<3>>;
  using wide_t = pp::mlp<float, pp::input<37>, pp::dense<13>, pp::dense<6, pp::relu>>;
  for (int rep = 0; rep < 4; ++rep) {
    check_random_network<ctrl_t>(0.3, -1.0, 1.0);
    check_random_network<odd_t>(1.0, -0.2, 3.0);
    check_random_network<wide_t>(0.05, 0.5, 2.0);   // inputs all positive: the range widens to 0
    check_random_network<odd_t>(100.0, -1.0, 1.0);  // large biases: outputs saturate
  }
}

BOOST_AUTO_TEST_CASE(edge_cases_match_the_reference) {
  using net_t = pp::mlp<float, pp::input<8>, pp::dense<8, pp::relu>, pp::dense<4>>;
  net_t net;
  randomise_layers(net, 0.5, std::make_index_sequence<2>{});
  auto const xs = random_samples<net_t>(32, -1.0, 1.0);
  std::span<pp::vec<float, 8> const> const span(xs);
  auto ranges = pp::calibrate(net, span);

  // a layer whose outputs are all 0: an empty range (scale 1, zero point -128)
  net_t zero = net;
  for (auto& w : zero.layer<0>().weight) w = 0.0f;
  for (auto& b : zero.layer<0>().bias) b = -1.0f;  // relu: every output 0
  auto const zero_ranges = pp::calibrate(zero, span);
  BOOST_TEST(zero_ranges.outputs[0].max == 0.0f);
  auto const qz = pp::quantize(zero, zero_ranges);
  BOOST_REQUIRE(qz.has_value());
  BOOST_TEST(qz->layer<0>().output.scale == 1.0f);
  BOOST_TEST(qz->layer<0>().output.zero_point == -128);
  check_parameters(zero, zero_ranges, *qz);

  // the output range narrowed to make multipliers of 0.5 and more (shift >= 0) and above 1
  // (left shifts, saturating): the general requantisation
  for (float narrow : {0.5f, 1e-3f, 1e-6f, 1e-12f}) {
    auto r = ranges;
    r.outputs[1] = {-narrow, narrow};
    auto const q = pp::quantize(net, r);
    BOOST_REQUIRE(q.has_value());
    check_parameters(net, r, *q);
    BOOST_TEST(!q->layer<1>().right_shifts_only);
    BOOST_TEST(pp::int8_dense_consistent(q->layer<1>()));
    int mismatches = 0;
    auto const layers = layers_of(*q, std::make_index_sequence<2>{});
    for (auto const& x : xs) mismatches += check_outputs(*q, x, layers);
    BOOST_TEST(mismatches == 0);
  }
  // a wide output range: multipliers below 2^-31 become 0
  {
    auto r = ranges;
    r.outputs[1] = {-1e30f, 1e30f};
    auto const q = pp::quantize(net, r);
    BOOST_REQUIRE(q.has_value());
    check_parameters(net, r, *q);
    BOOST_TEST(q->layer<1>().multiplier[0] == 0);
  }
  // a huge bias saturates at the accumulator's bound
  {
    net_t big = net;
    big.layer<0>().bias[0] = 1e30f;
    big.layer<0>().bias[1] = -1e30f;
    auto const q = pp::quantize(big, ranges);
    BOOST_REQUIRE(q.has_value());
    check_parameters(big, ranges, *q);
    int mismatches = 0;
    auto const layers = layers_of(*q, std::make_index_sequence<2>{});
    for (auto const& x : xs) mismatches += check_outputs(*q, x, layers);
    BOOST_TEST(mismatches == 0);
  }
  // inputs halfway between two steps: round half away from zero
  {
    auto q = *pp::quantize(net, ranges);
    q.input = {0.25f, 3};
    int mismatches = 0;
    auto const layers = layers_of(q, std::make_index_sequence<2>{});
    pp::vec<float, 8> x{};
    for (int i = -300; i <= 300; ++i) {
      for (std::size_t k = 0; k < 8; ++k)
        x[k] = 0.125f * static_cast<float>(i + static_cast<int>(k));
      mismatches += check_outputs(q, x, layers);
    }
    BOOST_TEST(mismatches == 0);
    BOOST_TEST(int{q.quantize_input(pp::vec<float, 8>{0.125f, -0.125f})[0]} == 4);  // 0.5 -> 1, + 3
    BOOST_TEST(int{q.quantize_input(pp::vec<float, 8>{0.125f, -0.125f})[1]} ==
               2);  // -0.5 -> -1, + 3
  }
  // a relu whose output zero point is above -128 (a range set by hand): relu clamps there
  {
    auto q = *pp::quantize(net, ranges);
    auto& l = q.layer<0>();
    l.output.zero_point = -20;
    l.act_min = -20;
    l.right_shifts_only = false;
    BOOST_TEST(pp::int8_dense_consistent(l));
    int mismatches = 0;
    auto const layers = layers_of(q, std::make_index_sequence<2>{});
    for (auto const& x : xs) mismatches += check_outputs(q, x, layers);
    BOOST_TEST(mismatches == 0);
  }
}

BOOST_AUTO_TEST_CASE(bad_parameters_or_calibration_are_refused) {
  using net_t = pp::mlp<float, pp::input<3>, pp::dense<2>>;
  net_t net;
  pp::init(net, 1);
  pp::mat<float, 2, 3> xs{0.5f, 1.0f, -1.0f, 0.25f, 0.0f, 2.0f};
  BOOST_TEST(pp::quantize(net, xs).has_value());
  std::vector<pp::vec<float, 3>> none;
  BOOST_TEST(!pp::quantize(net, none).has_value());  // no calibration sample
  xs(1, 2) = std::numeric_limits<float>::infinity();
  BOOST_TEST(!pp::quantize(net, xs).has_value());
  xs(1, 2) = 0.0f;
  net.layer<0>().weight(1, 1) = std::numeric_limits<float>::quiet_NaN();
  BOOST_TEST(!pp::quantize(net, xs).has_value());
}

namespace {

struct digits_data {
  std::vector<pp::vec<float, 64>> x;
  std::vector<int> label;
};

digits_data load_digits() {
  digits_data d;
  std::ifstream in("../examples/data/digits.csv");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    pp::vec<float, 64> x{};
    std::string f;
    for (std::size_t i = 0; i < 64 && std::getline(fields, f, ','); ++i) {
      x[i] = std::stof(f) / 16.0f;
    }
    std::getline(fields, f, ',');
    d.x.push_back(x);
    d.label.push_back(std::stoi(f));
  }
  return d;
}

template <class Net>
int argmax(Net const& net, pp::vec<float, 64> const& x) {
  auto const y = net(x);
  return static_cast<int>(std::max_element(y.begin(), y.end()) - y.begin());
}

}  // namespace

BOOST_AUTO_TEST_CASE(digits_int8_accuracy_is_within_half_a_point_of_float) {
  using net_t = pp::mlp<float, pp::input<64>, pp::dense<64, pp::relu>, pp::dense<10>>;
  rng_state = 2024;
  digits_data d = load_digits();
  BOOST_REQUIRE(d.x.size() == 1797);
  // a seeded shuffle; then the first 1347 images train (and calibrate), the other 450 test
  for (std::size_t i = d.x.size() - 1; i > 0; --i) {
    std::size_t const j = next_u64() % (i + 1);
    std::swap(d.x[i], d.x[j]);
    std::swap(d.label[i], d.label[j]);
  }
  std::size_t const train_n = 1347;
  static net_t net;
  pp::init(net, 2024);
  static pp::trainer trainer{net, pp::softmax_cross_entropy{}, pp::adam{.lr = 4e-3}, pp::batch<32>};
  pp::mat<float, 32, 64> xb;
  std::array<int, 32> lb{};
  std::vector<std::size_t> order(train_n);
  for (std::size_t i = 0; i < train_n; ++i) order[i] = i;
  for (int epoch = 0; epoch < 8; ++epoch) {
    for (std::size_t i = train_n - 1; i > 0; --i) std::swap(order[i], order[next_u64() % (i + 1)]);
    for (std::size_t s = 0; s + 32 <= train_n; s += 32) {
      for (std::size_t r = 0; r < 32; ++r) {
        std::size_t const i = order[s + r];
        for (std::size_t k = 0; k < 64; ++k) xb(r, k) = d.x[i][k];
        lb[r] = d.label[i];
      }
      (void)trainer.step(xb, lb);
    }
  }
  auto const q = pp::quantize(net, std::span(d.x.data(), train_n));
  BOOST_REQUIRE(q.has_value());
  int float_correct = 0;
  int int8_correct = 0;
  for (std::size_t i = train_n; i < d.x.size(); ++i) {
    float_correct += argmax(net, d.x[i]) == d.label[i];
    int8_correct += argmax(*q, d.x[i]) == d.label[i];
  }
  double const n = static_cast<double>(d.x.size() - train_n);
  double const float_acc = 100.0 * float_correct / n;
  double const int8_acc = 100.0 * int8_correct / n;
  BOOST_TEST_MESSAGE("digits test accuracy: float " << float_acc << "%, int8 " << int8_acc << "%");
  BOOST_TEST(float_acc >= 90.0);
  BOOST_TEST(std::abs(int8_acc - float_acc) <= 0.5);
}

namespace {

using tiny_t = pp::mlp<float, pp::input<3>, pp::dense<4, pp::relu>, pp::dense<2>>;

/// The network that tests/data/export_int8_tiny.hpp was written from.
pp::int8_mlp<pp::input<3>, pp::dense<4, pp::relu>, pp::dense<2>> tiny_int8() {
  tiny_t net;
  pp::init(net, 7);
  net.layer<0>().bias = pp::vec<float, 4>{0.25f, -0.5f, 0.0f, 1.0f};
  pp::mat<float, 4, 3> const xs{0.5f,   1.0f, -1.0f, 0.25f, 0.0f,  2.0f,
                                -0.75f, 0.5f, 0.5f,  1.5f,  -2.0f, 0.125f};
  return *pp::quantize(net, xs);
}

}  // namespace

#include "data/export_int8_tiny.hpp"

static_assert(std::is_same_v<tiny_int8_model::weights_type,
                             pp::int8_mlp<pp::input<3>, pp::dense<4, pp::relu>, pp::dense<2>>>,
              "the header spells the int8 network's own type");
static_assert(tiny_int8_model::weights.layer<0>().weight.rows == 4);

BOOST_AUTO_TEST_CASE(int8_header_holds_the_quantized_network) {
  auto const q = tiny_int8();
  std::ostringstream out;
  {
    pp::cpp_header_writer h(out, "tiny_int8_model", "Written by tests/unit/int8_test.cpp.");
    BOOST_TEST(h.network("weights", q));
  }
  std::string const text = out.str();
  char const* const path = "data/export_int8_tiny.hpp";
  if (std::getenv("PROPEL_REGENERATE") != nullptr) std::ofstream(path, std::ios::binary) << text;
  std::ifstream in(path, std::ios::binary);
  std::string const committed((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
  BOOST_TEST(committed == text, "tests/" << path
                                         << " differs from what the writer produces now; if the "
                                            "change is intended, run this test with "
                                            "PROPEL_REGENERATE=1 in tests/");
  // the compiled header holds exactly the quantized network
  auto const& h = tiny_int8_model::weights;
  BOOST_TEST((h.input == q.input));
  auto same_layer = [](auto const& a, auto const& b) {
    return a.weight == b.weight && a.bias == b.bias && a.multiplier == b.multiplier &&
           a.shift == b.shift && a.output == b.output && a.act_min == b.act_min &&
           a.right_shifts_only == b.right_shifts_only;
  };
  BOOST_TEST(same_layer(h.layer<0>(), q.layer<0>()));
  BOOST_TEST(same_layer(h.layer<1>(), q.layer<1>()));
  BOOST_TEST(pp::int8_mlp_consistent(h));
}
