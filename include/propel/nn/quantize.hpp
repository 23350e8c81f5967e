// SPDX-License-Identifier: BSL-1.0
/// \file int8 post-training quantization: propel::quantize(net, calibration samples) turns a
/// trained relu/identity mlp into a propel::int8_mlp, which runs on int8 data with int32
/// accumulation, in TensorFlow Lite's int8 scheme.
///
/// The scheme (TensorFlow Lite's; a real number r is stored as q with r = scale * (q - zp)):
///  - activations (the input and each layer's output): int8, asymmetric, one scale and zero
///    point per tensor, from the minimum and maximum seen over the calibration samples, the
///    range widened to include 0: lo = min(min, 0), hi = max(max, 0),
///    scale = float((hi - lo) / 255) (in double, then rounded to float),
///    zp = clamp(round(-128 - lo / scale), -128, 127) (lo / scale in double); an empty range
///    (lo == hi == 0) gets scale 1 and zp -128;
///  - weights: int8, symmetric (zero point 0), one scale per output channel (row):
///    s = float(max_k |W(o, k)| / 127), q = clamp(round(W / s), -127, 127) (in double);
///    a row of zeros (or of weights so small that s would round to 0) gets s = 1;
///  - bias: int32 at scale in_scale * s (zero point 0): round(b / (in_scale * s)) in double,
///    saturated to +-(2^31 - 1 - 32512 * inputs), so that the accumulator cannot overflow;
///  - requantisation of the int32 accumulator acc = bias + sum_k q_W(o, k) (q_x(k) - zp_x)
///    to the output's int8: the real multiplier M = in_scale * s / out_scale (in double) as
///    a Q31 multiplier m and a shift e (M = m * 2^(e - 31), m in [2^30, 2^31), as TFLite's
///    QuantizeMultiplier: frexp, round(q * 2^31), e < -31 gives m = 0, e > 30 gives e = 30
///    and m = 2^31 - 1), then TFLite's MultiplyByQuantizedMultiplier with its two roundings:
///    x = acc * 2^max(e, 0) (saturated to int32; TFLite leaves an overflow undefined),
///    y = SaturatingRoundingDoublingHighMul(x, m) = floor((x * m + 2^30) / 2^31),
///    r = RoundingDivideByPOT(y, max(-e, 0)) (round half away from zero),
///    q = clamp(r + zp_out, act_min, 127);
///  - relu is that clamp: act_min = max(zp_out, -128) for relu, -128 for identity.
/// Round means round half away from zero everywhere (std::round).
///
/// The float interface: net(vec<float, N>) quantizes each input as
/// q = clamp(round(x / in_scale) + zp_in, -128, 127), with x / in_scale in float (NaN
/// quantizes to zp_in, real 0), runs the int8 network and dequantizes each output as
/// out_scale * float(q - zp_out). net(vec<std::int8_t, N>) is the int8 network alone.
///
/// Activations other than identity and relu are refused at compile time ("int8 layers
/// support identity and relu only"): tanh, sigmoid and the others need lookup tables, which
/// propel does not implement.
///
/// On Arm cores with the DSP extension (__ARM_FEATURE_DSP: Cortex-M4, M7, M33 with DSP) the
/// dot products use SXTB16 and SMLAD (two 16-bit multiply-adds per instruction) and the
/// requantisation SMMLAR; elsewhere (x86, Cortex-M0/M3) plain C++. Both give the same bits.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <propel/config.hpp>
#include <propel/mat.hpp>
#include <propel/nn/mlp.hpp>
#include <propel/vec.hpp>
#include <span>
#include <tuple>
#include <type_traits>
#include <utility>

#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>
#endif

namespace propel {

/// How a tensor's reals map to int8: r = scale * (q - zero_point).
struct quant_params {
  float scale;
  std::int32_t zero_point;
  friend constexpr bool operator==(quant_params const&, quant_params const&) = default;
};

/// The smallest and largest value a tensor took over the calibration samples.
struct value_range {
  float min;
  float max;
};

/// A layer's Q31 requantisation multipliers m (TensorFlow Lite's, in [0, 2^31)), kept as
/// 2 m in an unsigned 32-bit word: the operand of the requantising multiplication (the
/// doubling high multiply is (2 m acc + 2^31) / 2^32), so that the kernels need not double
/// it for every output. Reading or writing an element gives or takes m.
template <std::size_t N>
class q31_multipliers {
 public:
  constexpr q31_multipliers() noexcept = default;
  /// From TensorFlow Lite's multipliers (each in [0, 2^31)).
  constexpr q31_multipliers(vec<std::int32_t, N> const& m) noexcept {  // NOLINT: implicit
    for (std::size_t i = 0; i < N; ++i) set(i, m[i]);
  }
  static constexpr std::size_t size() noexcept { return N; }
  /// m of output i.
  [[nodiscard]] constexpr std::int32_t operator[](std::size_t i) const noexcept {
    return static_cast<std::int32_t>(doubled_[i] >> 1);
  }
  /// Sets m of output i (in [0, 2^31)).
  constexpr void set(std::size_t i, std::int32_t m) noexcept {
    doubled_[i] = static_cast<std::uint32_t>(m) << 1;
  }
  /// Every m, as TensorFlow Lite's tensor.
  [[nodiscard]] constexpr vec<std::int32_t, N> values() const noexcept {
    vec<std::int32_t, N> v;
    for (std::size_t i = 0; i < N; ++i) v[i] = (*this)[i];
    return v;
  }
  /// 2 m of each output, as stored.
  [[nodiscard]] constexpr std::uint32_t const* doubled() const noexcept { return doubled_.data(); }
  friend constexpr bool operator==(q31_multipliers const&, q31_multipliers const&) = default;

 private:
  std::array<std::uint32_t, N> doubled_{};
};

/// A layer's requantisation shifts e (TensorFlow Lite's: > 0 shifts left before the
/// multiplication, < 0 right after it), kept as ~e = -e - 1: for e <= -1 the right shift
/// that the kernels' rounding takes, so that they need not negate it for every output.
/// Reading or writing an element gives or takes e.
template <std::size_t N>
class requantize_shifts {
 public:
  constexpr requantize_shifts() noexcept = default;
  /// From TensorFlow Lite's shifts.
  constexpr requantize_shifts(vec<std::int8_t, N> const& e) noexcept {  // NOLINT: implicit
    for (std::size_t i = 0; i < N; ++i) set(i, e[i]);
  }
  static constexpr std::size_t size() noexcept { return N; }
  /// e of output i.
  [[nodiscard]] constexpr std::int8_t operator[](std::size_t i) const noexcept {
    return static_cast<std::int8_t>(~negated_[i]);
  }
  /// Sets e of output i.
  constexpr void set(std::size_t i, std::int8_t e) noexcept {
    negated_[i] = static_cast<std::int8_t>(~e);
  }
  /// Every e, as TensorFlow Lite's tensor.
  [[nodiscard]] constexpr vec<std::int8_t, N> values() const noexcept {
    vec<std::int8_t, N> v;
    for (std::size_t i = 0; i < N; ++i) v[i] = (*this)[i];
    return v;
  }
  /// -e - 1 of each output, as stored.
  [[nodiscard]] constexpr std::int8_t const* negated() const noexcept { return negated_.data(); }
  friend constexpr bool operator==(requantize_shifts const&, requantize_shifts const&) = default;

 private:
  alignas(4) std::array<std::int8_t, N> negated_{};
};

/// One quantized dense layer, Out outputs from In inputs.
template <std::size_t Out, std::size_t In>
struct int8_dense {
  /// q_W, [out][in] row-major, symmetric per row (zero point 0), in [-127, 127].
  alignas(4) mat<std::int8_t, Out, In> weight;
  /// The int32 bias at scale in_scale * weight_scale[o], with the input's zero point folded
  /// in: TFLite's bias minus zp_in * sum_k q_W(o, k). The accumulator starts here and adds
  /// sum_k q_W(o, k) * q_x(k).
  vec<std::int32_t, Out> bias;
  /// Q31 multiplier m of each output channel, in [2^30, 2^31) (0 for a zero multiplier);
  /// stored as 2 m (see q31_multipliers), multiplier[o] reads m.
  q31_multipliers<Out> multiplier;
  /// TFLite's shift e: > 0 shifts left before the multiplication, < 0 right after it;
  /// stored as ~e (see requantize_shifts), shift[o] reads e.
  requantize_shifts<Out> shift;
  /// The layer's output tensor.
  quant_params output;
  /// The activation's lower clamp (-128 for identity, max(zp_out, -128) for relu).
  std::int8_t act_min;
  /// Whether every shift is <= -1 and act_min is -128 (what quantize gives for relu and
  /// identity layers unless a multiplier reaches 0.5): the kernel's shorter requantisation.
  /// Derived from the fields above (see int8_dense_consistent).
  bool right_shifts_only;
};

namespace detail {

template <class Act>
struct check_int8_activation {
  static_assert(std::is_same_v<Act, identity> || std::is_same_v<Act, relu>,
                "propel::quantize: int8 layers support identity and relu only (the "
                "argument of check_int8_activation is the activation)");
  static constexpr bool ok = true;
};

template <std::size_t In>
struct check_int8_width {
  static_assert(In * 32512 < (std::size_t{1} << 30),
                "propel::int8_mlp: a layer of more than 33025 inputs could overflow the int32 "
                "accumulator");
  static constexpr bool ok = true;
};

template <std::size_t Expected, std::size_t Given>
struct check_int8_input_width {
  static_assert(Expected == Given,
                "propel::int8_mlp: the input has the wrong number of features (the arguments "
                "of check_int8_input_width are <features the network expects, features "
                "given>)");
  static constexpr bool ok = true;
};

template <bool Ok>
struct check_calibration_samples {
  static_assert(Ok,
                "propel::quantize: give the calibration samples as a propel::mat<T, B, inputs> "
                "(one sample per row) or a contiguous range of propel::vec<T, inputs>");
  static constexpr bool ok = true;
};

template <class M>
inline constexpr bool is_mat_v = false;
template <class T, std::size_t R, std::size_t C>
inline constexpr bool is_mat_v<mat<T, R, C>> = true;

template <class T>
struct check_int8_input_scalar {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, std::int8_t>,
                "propel::int8_mlp: give the input as float (quantized on the way in) or as "
                "std::int8_t (already quantized)");
  static constexpr bool ok = true;
};

namespace q8 {

inline constexpr std::int32_t int32_max = std::numeric_limits<std::int32_t>::max();
inline constexpr std::int32_t int32_min = std::numeric_limits<std::int32_t>::min();

/// Round half away from zero, to an integer in [lo, hi] (lo, hi representable as double).
inline double round_clamped(double x, double lo, double hi) {
  double const r = std::round(x);
  return r < lo ? lo : (r > hi ? hi : r);
}

/// The bound on |bias| that keeps bias + sum of In products of int8 within int32.
template <std::size_t In>
inline constexpr std::int64_t bias_limit = std::int64_t{int32_max} -
                                           std::int64_t{32512} * static_cast<std::int64_t>(In);

/// Scale and zero point of a tensor whose values lie in r (see the file comment).
inline quant_params activation_params(value_range r) {
  double const lo = std::min(static_cast<double>(r.min), 0.0);
  double const hi = std::max(static_cast<double>(r.max), 0.0);
  if (!(hi > lo)) return {1.0f, -128};
  auto const scale = static_cast<float>((hi - lo) / 255.0);
  if (!(scale > 0.0f)) return {1.0f, -128};  // a range below float's smallest step
  double const zp = round_clamped(-128.0 - lo / static_cast<double>(scale), -128.0, 127.0);
  return {scale, static_cast<std::int32_t>(zp)};
}

/// TFLite's QuantizeMultiplier: M = m * 2^(shift - 31), m in [2^30, 2^31).
inline void quantize_multiplier(double real, std::int32_t& m, int& shift) {
  if (!(real > 0.0)) {
    m = 0;
    shift = 0;
    return;
  }
  int e = 0;
  double const q = std::frexp(real, &e);  // real = q * 2^e, q in [0.5, 1)
  auto fixed = static_cast<std::int64_t>(std::round(q * 2147483648.0));
  if (fixed == (std::int64_t{1} << 31)) {
    fixed /= 2;
    ++e;
  }
  if (e < -31) {
    e = 0;
    fixed = 0;
  }
  if (e > 30) {
    e = 30;
    fixed = int32_max;
  }
  m = static_cast<std::int32_t>(fixed);
  shift = e;
}

/// SaturatingRoundingDoublingHighMul: floor((x * m + 2^30) / 2^31), which is what TFLite's
/// nudge-and-truncate computes, and INT32_MAX for x = m = INT32_MIN.
constexpr std::int32_t doubling_high_mul(std::int32_t x, std::int32_t m) noexcept {
  if (x == int32_min && m == int32_min) return int32_max;
  std::int64_t const p = static_cast<std::int64_t>(x) * m + (std::int64_t{1} << 30);
  return static_cast<std::int32_t>(p >> 31);  // arithmetic: floor
}

/// RoundingDivideByPOT: x / 2^e rounded half away from zero, e in [0, 31].
constexpr std::int32_t rounding_shift_right(std::int32_t x, int e) noexcept {
  if (e == 0) return x;
  std::int64_t const v =
      static_cast<std::int64_t>(x) + (std::int64_t{1} << (e - 1)) - (x < 0 ? 1 : 0);
  return static_cast<std::int32_t>(v >> e);
}

/// MultiplyByQuantizedMultiplier, the left shift saturating.
constexpr std::int32_t multiply_by_quantized(std::int32_t acc, std::int32_t m, int shift) noexcept {
  std::int32_t x = acc;
  if (shift > 0) {
    std::int64_t const wide = static_cast<std::int64_t>(acc) * (std::int64_t{1} << shift);
    x = wide > int32_max ? int32_max
                         : (wide < int32_min ? int32_min : static_cast<std::int32_t>(wide));
  }
  std::int32_t const y = doubling_high_mul(x, m);
  return shift < 0 ? rounding_shift_right(y, -shift) : y;
}

constexpr std::int8_t saturate_int8(std::int32_t x) noexcept {
  return static_cast<std::int8_t>(x < -128 ? -128 : (x > 127 ? 127 : x));
}

/// The whole requantisation of one accumulator, for any shift and clamp.
constexpr std::int8_t requantize(std::int32_t acc, std::int32_t m, int shift, std::int32_t zp,
                                 std::int32_t act_min) noexcept {
  // in 64 bits: a saturated product plus the zero point would overflow int32
  std::int64_t const r = std::int64_t{multiply_by_quantized(acc, m, shift)} + zp;
  return saturate_int8(static_cast<std::int32_t>(r < act_min ? act_min : (r > 127 ? 127 : r)));
}

/// The same for shift <= -1 and act_min = -128, in fewer operations, from the stored
/// constants twice_m = 2 m and k = -shift - 1: with y the doubling high multiply
/// floor((acc twice_m + 2^31) / 2^32), c = -1 if y < 0, the rounding shift is
/// floor((floor((y + c) / 2^k) + 1) / 2), and adding zp before the last halving is exact
/// (2 zp is even). |acc| <= 2^31 - 1 - 32512 In keeps every sum within int32.
PROPEL_ALWAYS_INLINE std::int32_t requantize_right(std::int32_t acc, std::uint32_t twice_m, int k,
                                                   std::int32_t twice_zp_plus_1) noexcept {
#if defined(__ARM_FEATURE_DSP)
  // SMMLAR y, acc, 2m, acc: acc + (acc * (2m - 2^32) + 2^31) / 2^32 = (2 acc m + 2^31) / 2^32
  std::int32_t y;
  __asm__("smmlar %0, %1, %2, %1" : "=r"(y) : "r"(acc), "r"(twice_m));
  std::int32_t const t = ((y + (y >> 31)) >> k) + twice_zp_plus_1;
  std::int32_t r;
  __asm__("ssat %0, #8, %1, asr #1" : "=r"(r) : "r"(t));  // saturate(t / 2) to int8
  return r;
#else
  // |acc| < 2^31 and twice_m < 2^32: the product fits in int64
  auto const y = static_cast<std::int32_t>(
      (static_cast<std::int64_t>(acc) * static_cast<std::int64_t>(twice_m) +
       (std::int64_t{1} << 31)) >>
      32);
  std::int32_t const t = ((y + (y >> 31)) >> k) + twice_zp_plus_1;
  return saturate_int8(t >> 1);
#endif
}

/// Reads four bytes (any alignment) as one word.
PROPEL_ALWAYS_INLINE std::int32_t load4(std::int8_t const* p) noexcept {
  std::int32_t w;
  std::memcpy(&w, p, 4);
  return w;
}

#if defined(__ARM_FEATURE_DSP)
PROPEL_ALWAYS_INLINE std::int32_t sxtb16_ror8(std::int32_t w) noexcept {
  std::int32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(w));
  return r;
}
/// acc + w0 x0 + w1 x1 + w2 x2 + w3 x3 for the four int8 weights in w and the inputs as
/// pairs: x02 = (x0, x2), x13 = (x1, x3) in 16-bit halves.
PROPEL_ALWAYS_INLINE std::int32_t mac4(std::int32_t w, std::int32_t x02, std::int32_t x13,
                                       std::int32_t acc) noexcept {
  acc = __smlad(__sxtb16(w), x02, acc);
  return __smlad(sxtb16_ror8(w), x13, acc);
}
#endif

/// Four rows (at r, r + In, r + 2 In, r + 3 In) times inputs 4 G to 4 G + 3, as one block
/// the compiler schedules as written: one load of four weights per row, just before use.
template <std::size_t In, std::size_t G>
PROPEL_ALWAYS_INLINE void mac4x4(std::int8_t const* r, std::int32_t x02, std::int32_t x13,
                                 std::int32_t& a0, std::int32_t& a1, std::int32_t& a2,
                                 std::int32_t& a3) noexcept {
  std::int32_t w;
  std::int32_t t;
  __asm__(
      "ldr %[w], [%[r], %[o0]]\n\t"
      "sxtb16 %[t], %[w]\n\t"
      "smlad %[a0], %[t], %[x02], %[a0]\n\t"
      "sxtb16 %[t], %[w], ror #8\n\t"
      "smlad %[a0], %[t], %[x13], %[a0]\n\t"
      "ldr %[w], [%[r], %[o1]]\n\t"
      "sxtb16 %[t], %[w]\n\t"
      "smlad %[a1], %[t], %[x02], %[a1]\n\t"
      "sxtb16 %[t], %[w], ror #8\n\t"
      "smlad %[a1], %[t], %[x13], %[a1]\n\t"
      "ldr %[w], [%[r], %[o2]]\n\t"
      "sxtb16 %[t], %[w]\n\t"
      "smlad %[a2], %[t], %[x02], %[a2]\n\t"
      "sxtb16 %[t], %[w], ror #8\n\t"
      "smlad %[a2], %[t], %[x13], %[a2]\n\t"
      "ldr %[w], [%[r], %[o3]]\n\t"
      "sxtb16 %[t], %[w]\n\t"
      "smlad %[a3], %[t], %[x02], %[a3]\n\t"
      "sxtb16 %[t], %[w], ror #8\n\t"
      "smlad %[a3], %[t], %[x13], %[a3]"
      : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [w] "=&r"(w), [t] "=&r"(t)
      : [r] "r"(r), [x02] "r"(x02), [x13] "r"(x13), [o0] "i"(4 * G), [o1] "i"(In + 4 * G),
        [o2] "i"(2 * In + 4 * G), [o3] "i"(3 * In + 4 * G)
      : "memory");
}

/// Four rows (at r, r + In, r + 2 In, r + 3 In) times inputs 8 H to 8 H + 7, as one block:
/// the four pairs of inputs loaded once (two LDRD from the pair buffer xs) and held in
/// registers for the four rows, the eight weights of each row loaded by one LDRD (rows must
/// start on a word boundary, as they do when In % 4 == 0, and 4 In <= 1028 keeps every
/// offset an LDRD immediate). 13 registers: only optimised builds can give them all.
template <std::size_t In, std::size_t H>
PROPEL_ALWAYS_INLINE void mac4x8(std::int8_t const* r, std::int16_t const* xs, std::int32_t& a0,
                                 std::int32_t& a1, std::int32_t& a2, std::int32_t& a3) noexcept {
  std::int32_t x0;
  std::int32_t x1;
  std::int32_t x2;
  std::int32_t x3;
  std::int32_t w0;
  std::int32_t w1;
  std::int32_t t;
  __asm__(
      "ldrd %[x0], %[x1], [%[xs], %[p0]]\n\t"
      "ldrd %[x2], %[x3], [%[xs], %[p1]]\n\t"
      "ldrd %[w0], %[w1], [%[r], %[o0]]\n\t"
      "sxtb16 %[t], %[w0]\n\t"
      "smlad %[a0], %[t], %[x0], %[a0]\n\t"
      "sxtb16 %[t], %[w0], ror #8\n\t"
      "smlad %[a0], %[t], %[x1], %[a0]\n\t"
      "sxtb16 %[t], %[w1]\n\t"
      "smlad %[a0], %[t], %[x2], %[a0]\n\t"
      "sxtb16 %[t], %[w1], ror #8\n\t"
      "smlad %[a0], %[t], %[x3], %[a0]\n\t"
      "ldrd %[w0], %[w1], [%[r], %[o1]]\n\t"
      "sxtb16 %[t], %[w0]\n\t"
      "smlad %[a1], %[t], %[x0], %[a1]\n\t"
      "sxtb16 %[t], %[w0], ror #8\n\t"
      "smlad %[a1], %[t], %[x1], %[a1]\n\t"
      "sxtb16 %[t], %[w1]\n\t"
      "smlad %[a1], %[t], %[x2], %[a1]\n\t"
      "sxtb16 %[t], %[w1], ror #8\n\t"
      "smlad %[a1], %[t], %[x3], %[a1]\n\t"
      "ldrd %[w0], %[w1], [%[r], %[o2]]\n\t"
      "sxtb16 %[t], %[w0]\n\t"
      "smlad %[a2], %[t], %[x0], %[a2]\n\t"
      "sxtb16 %[t], %[w0], ror #8\n\t"
      "smlad %[a2], %[t], %[x1], %[a2]\n\t"
      "sxtb16 %[t], %[w1]\n\t"
      "smlad %[a2], %[t], %[x2], %[a2]\n\t"
      "sxtb16 %[t], %[w1], ror #8\n\t"
      "smlad %[a2], %[t], %[x3], %[a2]\n\t"
      "ldrd %[w0], %[w1], [%[r], %[o3]]\n\t"
      "sxtb16 %[t], %[w0]\n\t"
      "smlad %[a3], %[t], %[x0], %[a3]\n\t"
      "sxtb16 %[t], %[w0], ror #8\n\t"
      "smlad %[a3], %[t], %[x1], %[a3]\n\t"
      "sxtb16 %[t], %[w1]\n\t"
      "smlad %[a3], %[t], %[x2], %[a3]\n\t"
      "sxtb16 %[t], %[w1], ror #8\n\t"
      "smlad %[a3], %[t], %[x3], %[a3]"
      : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x0] "=&r"(x0), [x1] "=&r"(x1),
        [x2] "=&r"(x2), [x3] "=&r"(x3), [w0] "=&r"(w0), [w1] "=&r"(w1), [t] "=&r"(t)
      : [r] "r"(r), [xs] "r"(xs), [p0] "i"(16 * H), [p1] "i"(16 * H + 8), [o0] "i"(8 * H),
        [o1] "i"(In + 8 * H), [o2] "i"(2 * In + 8 * H), [o3] "i"(3 * In + 8 * H),
        // what the block reads, so that the compiler need not assume it reads all memory
        "m"(*reinterpret_cast<std::int8_t const(*)[4 * In]>(r)),
        "m"(*reinterpret_cast<std::int16_t const(*)[In]>(xs)));
}

/// Where input k of a layer of In inputs sits in the DSP kernels' 16-bit input buffer: inputs
/// 4 g to 4 g + 3 as the pairs (x[4 g], x[4 g + 2]), (x[4 g + 1], x[4 g + 3]) (what SXTB16
/// makes of four int8), the inputs after the last group of four in order. Each layer writes
/// its outputs there for the next, so that only the network's input is repacked.
constexpr std::size_t pair_slot(std::size_t k, std::size_t in) noexcept {
  return k < in / 4 * 4 ? k / 4 * 4 + (k % 2) * 2 + k % 4 / 2 : k;
}

/// requantize, out of line: the general case, rare in practice (a multiplier of 0.5 or more,
/// or a relu whose output zero point is not -128), kept out of the kernels' loops.
[[gnu::noinline]] inline std::int8_t requantize_general(std::int32_t acc, std::int32_t m, int shift,
                                                        std::int32_t zp,
                                                        std::int32_t act_min) noexcept {
  return requantize(acc, m, shift, zp, act_min);
}

/// The layer's requantisation of the accumulators of rows o to o + N - 1; Fast:
/// layer.right_shifts_only. Calls store(i, int8 value of row o + i).
template <bool Fast, std::size_t Out, std::size_t In, std::size_t N, class Store>
PROPEL_ALWAYS_INLINE void requantize_rows(int8_dense<Out, In> const& layer, std::size_t o,
                                          std::int32_t const (&acc)[N],
                                          Store const& store) noexcept {
  std::int32_t const zp = layer.output.zero_point;
  if constexpr (Fast) {
    std::int32_t const twice_zp_plus_1 = 2 * zp + 1;
    PROPEL_UNROLL(4)
    for (std::size_t i = 0; i < N; ++i) {
      store(i, requantize_right(acc[i], layer.multiplier.doubled()[o + i],
                                layer.shift.negated()[o + i], twice_zp_plus_1));
    }
  } else {
    for (std::size_t i = 0; i < N; ++i) {
      store(i, requantize_general(acc[i], layer.multiplier[o + i], layer.shift[o + i], zp,
                                  layer.act_min));
    }
  }
}

#if defined(__ARM_FEATURE_DSP)
/// The int8 inputs x into the 16-bit buffer xs (pair_slot's layout; xs word-aligned).
template <std::size_t In>
PROPEL_ALWAYS_INLINE void pack_pairs(std::int8_t const* PROPEL_RESTRICT x,
                                     std::int16_t* PROPEL_RESTRICT xs) noexcept {
  PROPEL_UNROLL(8)
  for (std::size_t g = 0; g < In / 4; ++g) {
    std::int32_t const v = load4(x + 4 * g);
    std::int32_t const p[2] = {__sxtb16(v), sxtb16_ror8(v)};
    std::memcpy(xs + 4 * g, p, sizeof p);
  }
  for (std::size_t k = In / 4 * 4; k < In; ++k) xs[k] = x[k];
}

/// a0 to a3 = b[0] to b[3] (b word-aligned), by two LDRD from one pointer.
PROPEL_ALWAYS_INLINE void load_bias4(std::int32_t const* b, std::int32_t& a0, std::int32_t& a1,
                                     std::int32_t& a2, std::int32_t& a3) noexcept {
  __asm__(
      "ldrd %[a0], %[a1], [%[b]]\n\t"
      "ldrd %[a2], %[a3], [%[b], #8]"
      : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=r"(a2), [a3] "=r"(a3)
      : [b] "r"(b), "m"(*reinterpret_cast<std::int32_t const(*)[4]>(b)));
}

/// requantize_right for the accumulators of rows o to o + 3 (their 2 m at bias + M words:
/// the multipliers follow the biases, so that one pointer serves both; k: their four
/// -e - 1, read as one word, since ASR by a register takes its low byte), stored at
/// y + 0, 1, 2, 3 (int8) or in the pair layout y + 0, 2, 1, 3 (int16), as one block.
template <std::size_t M, class Y>
PROPEL_ALWAYS_INLINE void requantize_right4(std::int32_t a0, std::int32_t a1, std::int32_t a2,
                                            std::int32_t a3, std::int32_t const* bias,
                                            std::int8_t const* k, std::int32_t twice_zp_plus_1,
                                            Y* y) noexcept {
  std::int32_t m0;
  std::int32_t m1;
  std::int32_t kr;
  __asm__(
      "ldrd %[m0], %[m1], [%[m], %[mo0]]\n\t"
      "ldr %[k], [%[kp]]\n\t"
      "smmlar %[a0], %[a0], %[m0], %[a0]\n\t"
      "add %[a0], %[a0], %[a0], asr #31\n\t"
      "asr %[a0], %[a0], %[k]\n\t"
      "add %[a0], %[a0], %[z]\n\t"
      "ssat %[a0], #8, %[a0], asr #1\n\t"
      "lsr %[k], %[k], #8\n\t"
      "smmlar %[a1], %[a1], %[m1], %[a1]\n\t"
      "add %[a1], %[a1], %[a1], asr #31\n\t"
      "asr %[a1], %[a1], %[k]\n\t"
      "add %[a1], %[a1], %[z]\n\t"
      "ssat %[a1], #8, %[a1], asr #1\n\t"
      "ldrd %[m0], %[m1], [%[m], %[mo1]]\n\t"
      "lsr %[k], %[k], #8\n\t"
      "smmlar %[a2], %[a2], %[m0], %[a2]\n\t"
      "add %[a2], %[a2], %[a2], asr #31\n\t"
      "asr %[a2], %[a2], %[k]\n\t"
      "add %[a2], %[a2], %[z]\n\t"
      "ssat %[a2], #8, %[a2], asr #1\n\t"
      "lsr %[k], %[k], #8\n\t"
      "smmlar %[a3], %[a3], %[m1], %[a3]\n\t"
      "add %[a3], %[a3], %[a3], asr #31\n\t"
      "asr %[a3], %[a3], %[k]\n\t"
      "add %[a3], %[a3], %[z]\n\t"
      "ssat %[a3], #8, %[a3], asr #1"
      : [a0] "+&r"(a0), [a1] "+&r"(a1), [a2] "+&r"(a2), [a3] "+&r"(a3), [m0] "=&r"(m0),
        [m1] "=&r"(m1), [k] "=&r"(kr)
      :
      [m] "r"(bias), [mo0] "i"(4 * M), [mo1] "i"(4 * M + 8), [kp] "r"(k), [z] "r"(twice_zp_plus_1),
      "m"(*reinterpret_cast<std::uint32_t const(*)[4]>(reinterpret_cast<char const*>(bias) +
                                                       4 * M)),
      "m"(*reinterpret_cast<std::int8_t const(*)[4]>(k)));
  // four stores (the compiler would merge them into words, with more instructions)
  if constexpr (std::is_same_v<Y, std::int16_t>) {
    __asm__(
        "strh %[a0], [%[y]]\n\t"
        "strh %[a1], [%[y], #4]\n\t"
        "strh %[a2], [%[y], #2]\n\t"
        "strh %[a3], [%[y], #6]"
        : "=m"(*reinterpret_cast<Y(*)[4]>(y))
        : [a0] "r"(a0), [a1] "r"(a1), [a2] "r"(a2), [a3] "r"(a3), [y] "r"(y));
  } else {
    __asm__(
        "strb %[a0], [%[y]]\n\t"
        "strb %[a1], [%[y], #1]\n\t"
        "strb %[a2], [%[y], #2]\n\t"
        "strb %[a3], [%[y], #3]"
        : "=m"(*reinterpret_cast<Y(*)[4]>(y))
        : [a0] "r"(a0), [a1] "r"(a1), [a2] "r"(a2), [a3] "r"(a3), [y] "r"(y));
  }
}

/// The DSP kernel: the layer's Out outputs for the inputs in xs (pair_slot's layout, 8-byte
/// aligned), written to y: int8 in order (Y = std::int8_t) or as the next layer's 16-bit
/// input buffer (Y = std::int16_t). Fast: layer.right_shifts_only.
template <bool Fast, class Y, std::size_t Out, std::size_t In>
void int8_dense_rows(int8_dense<Out, In> const& layer, std::int16_t const* PROPEL_RESTRICT xs,
                     Y* PROPEL_RESTRICT y) noexcept {
  std::int8_t const* const w = layer.weight.data();
  std::int32_t const* const bias = layer.bias.data();
  // stores the outputs of rows o to o + 3 (o % 4 == 0) or of row o alone
  auto const store4 = [y](std::size_t o) {
    return [yb = y + o](std::size_t i, std::int32_t v) {
      yb[std::is_same_v<Y, std::int16_t> ? pair_slot(i, 4) : i] = static_cast<Y>(v);
    };
  };
  auto const store1 = [y](std::size_t o) {
    return [yb = y + (std::is_same_v<Y, std::int16_t> ? pair_slot(o, Out) : o)](
               std::size_t, std::int32_t v) { *yb = static_cast<Y>(v); };
  };
  constexpr std::size_t groups = In / 4;
  auto const pair = [xs](std::size_t j) {
    std::int32_t v;
    std::memcpy(&v, xs + 2 * j, sizeof v);
    return v;
  };
  auto const tail = [&](std::size_t o, std::int32_t acc) {
    for (std::size_t k = groups * 4; k < In; ++k) acc += w[o * In + k] * xs[k];
    return acc;
  };
  // the multipliers Out words after the biases (requantize_right4), within LDRD's reach
  using layer_t = int8_dense<Out, In>;
  static_assert(offsetof(layer_t, multiplier) == offsetof(layer_t, bias) + 4 * Out);
#if defined(__OPTIMIZE__)
  constexpr bool requantize_by_4 = Fast && 4 * Out + 8 <= 1020;
  constexpr bool blocks_of_8 = Fast && In % 4 == 0 && 4 * In <= 1028;
#else
  // requantize_right4 and mac4x8 need more registers than -O0 leaves
  constexpr bool requantize_by_4 = false;
  constexpr bool blocks_of_8 = false;
#endif
  // four rows at a time: each pair of inputs is loaded once for four rows
  for (std::size_t o = 0; o + 4 <= Out; o += 4) {
    std::int8_t const* r = w + o * In;
    std::int32_t a0;
    std::int32_t a1;
    std::int32_t a2;
    std::int32_t a3;
    load_bias4(bias + o, a0, a1, a2, a3);
    if constexpr (blocks_of_8) {
      // unrolled: no loop counter, every offset an immediate
      [&]<std::size_t... H>(std::index_sequence<H...>) {
        (mac4x8<In, H>(r, xs, a0, a1, a2, a3), ...);
      }
      (std::make_index_sequence<groups / 2>{});
      if constexpr (groups % 2 != 0) {
        mac4x4<In, groups - 1>(r, pair(2 * groups - 2), pair(2 * groups - 1), a0, a1, a2, a3);
      }
    } else if constexpr (Fast && 4 * In <= 4096) {
      [&]<std::size_t... G>(std::index_sequence<G...>) {
        (mac4x4<In, G>(r, pair(2 * G), pair(2 * G + 1), a0, a1, a2, a3), ...);
      }
      (std::make_index_sequence<groups>{});
    } else {
      // the rare case: a loop, less code
      for (std::size_t g = 0; g < groups; ++g) {
        std::int32_t const x02 = pair(2 * g);
        std::int32_t const x13 = pair(2 * g + 1);
        a0 = mac4(load4(r + 4 * g), x02, x13, a0);
        a1 = mac4(load4(r + In + 4 * g), x02, x13, a1);
        a2 = mac4(load4(r + 2 * In + 4 * g), x02, x13, a2);
        a3 = mac4(load4(r + 3 * In + 4 * g), x02, x13, a3);
      }
    }
    if constexpr (In % 4 != 0) {
      a0 = tail(o, a0);
      a1 = tail(o + 1, a1);
      a2 = tail(o + 2, a2);
      a3 = tail(o + 3, a3);
    }
    if constexpr (requantize_by_4) {
      requantize_right4<Out>(a0, a1, a2, a3, bias + o, layer.shift.negated() + o,
                             2 * layer.output.zero_point + 1, y + o);
    } else {
      std::int32_t const acc[4] = {a0, a1, a2, a3};
      requantize_rows<Fast>(layer, o, acc, store4(o));
    }
  }
  if constexpr (Out % 4 != 0) {
    for (std::size_t o = Out / 4 * 4; o < Out; ++o) {
      std::int8_t const* const r = w + o * In;
      std::int32_t a = bias[o];
      for (std::size_t g = 0; g < groups; ++g) {
        a = mac4(load4(r + 4 * g), pair(2 * g), pair(2 * g + 1), a);
      }
      std::int32_t const acc[1] = {tail(o, a)};
      requantize_rows<Fast>(layer, o, acc, store1(o));
    }
  }
}

/// Whether int8_dense_layer_asm can run the layer: right shifts only, rows in blocks of 4 and
/// of 8 inputs, every offset within LDRD's reach; and an optimised build (the block needs 13
/// registers, r7 aside, which may be -O0's frame pointer).
template <std::size_t Out, std::size_t In>
inline constexpr bool whole_layer_asm =
#if defined(__OPTIMIZE__)
    Out % 4 == 0 && In % 8 == 0 && In > 0 && Out > 0 && 3 * In <= 1020 && 4 * Out + 8 <= 1020;
#else
    false;
#endif

/// The whole layer in one asm loop, for layers with right shifts only (whole_layer_asm):
/// per block of four rows, their biases (two LDRD), then for each eight inputs two LDRD of
/// input pairs and, per row, one LDRD of eight weights, four SXTB16 and four SMLAD; then the
/// requantisation as in requantize_right4, the four outputs stored as in requantize_right4.
/// The pointers the block does not need while it multiplies (multipliers, shifts, outputs,
/// zero point) wait on the stack (one STM, one LDM), the others advance by post-indexed
/// loads. Fixed registers: r0 weights, r1 inputs, r2-r5 accumulators, r6 r8-r12 lr the
/// inputs and weights of a block or the requantisation's pointers and operands. The 24 bytes
/// of stack the loop reserves are not in GCC's -fstack-usage; with its 32-byte frame they
/// stay below the general kernel's frames, which the stack budgets count.
template <class Y, std::size_t Out, std::size_t In>
void int8_dense_layer_asm(int8_dense<Out, In> const& layer, std::int16_t const* PROPEL_RESTRICT xs,
                          Y* PROPEL_RESTRICT y) noexcept {
  using layer_t = int8_dense<Out, In>;
  static_assert(offsetof(layer_t, multiplier) == offsetof(layer_t, bias) + 4 * Out);
  register std::int8_t const* w asm("r0") = layer.weight.data();
  register std::int16_t const* x asm("r1") = xs;
  // the multipliers of the block; its biases lie 4 Out bytes before them
  register std::uint32_t const* m asm("r6") = layer.multiplier.doubled();
  register std::int8_t const* k asm("r8") = layer.shift.negated();
  register Y* out asm("r9") = y;
  register std::int32_t z asm("r10") = 2 * layer.output.zero_point + 1;
  register std::uint32_t const* end asm("r11") = layer.multiplier.doubled() + Out;
  constexpr bool pairs = std::is_same_v<Y, std::int16_t>;
#define PROPEL_Q8_ROW(acc)      \
  "sxtb16 lr, r11\n\t"          \
  "smlad " acc ", lr, r6, " acc \
  "\n\t"                        \
  "sxtb16 lr, r11, ror #8\n\t"  \
  "smlad " acc ", lr, r8, " acc \
  "\n\t"                        \
  "sxtb16 lr, r12\n\t"          \
  "smlad " acc ", lr, r9, " acc \
  "\n\t"                        \
  "sxtb16 lr, r12, ror #8\n\t"  \
  "smlad " acc ", lr, r10, " acc "\n\t"
#define PROPEL_Q8_REQUANTIZE(acc, mult)     \
  "smmlar " acc ", " acc ", " mult ", " acc \
  "\n\t"                                    \
  "add " acc ", " acc ", " acc              \
  ", asr #31\n\t"                           \
  "asr " acc ", " acc                       \
  ", r11\n\t"                               \
  "add " acc ", " acc                       \
  ", r10\n\t"                               \
  "ssat " acc ", #8, " acc ", asr #1\n\t"
#define PROPEL_Q8_LAYER(store_rest, store_first) \
  "sub sp, sp, #24\n\t"                                                               \
  "str r11, [sp, #16]\n"                                                              \
  "1:\n\t"                                                                            \
  "ldrd r2, r3, [r6, #-%c[bias]]\n\t"                                                 \
  "ldrd r4, r5, [r6, #-%c[bias] + 8]\n\t"                                             \
  "stm sp, {r6, r8, r9, r10}\n\t"                                                     \
  ".rept %c[blocks]\n\t"                                                              \
  "ldrd r6, r8, [r1], #8\n\t"                                                         \
  "ldrd r9, r10, [r1], #8\n\t"                                                        \
  "ldrd r11, r12, [r0, #%c[row1]]\n\t" PROPEL_Q8_ROW("r3")                            \
  "ldrd r11, r12, [r0, #%c[row2]]\n\t" PROPEL_Q8_ROW("r4")                            \
  "ldrd r11, r12, [r0, #%c[row3]]\n\t" PROPEL_Q8_ROW("r5")                            \
  "ldrd r11, r12, [r0], #8\n\t" PROPEL_Q8_ROW("r2")                                   \
  ".endr\n\t"                                                                         \
  "add r0, r0, #%c[row3]\n\t"                                                         \
  "sub r1, r1, #%c[inputs]\n\t"                                                       \
  "ldm sp, {r6, r8, r9, r10}\n\t"                                                     \
  "ldr r11, [r8], #4\n\t"                                                             \
  "ldrd r12, lr, [r6], #8\n\t" PROPEL_Q8_REQUANTIZE("r2", "r12")                      \
  "lsr r11, r11, #8\n\t" PROPEL_Q8_REQUANTIZE("r3", "lr")                             \
  "ldrd r12, lr, [r6], #8\n\t"                                                        \
  "lsr r11, r11, #8\n\t" PROPEL_Q8_REQUANTIZE("r4", "r12")                            \
  "lsr r11, r11, #8\n\t" PROPEL_Q8_REQUANTIZE("r5", "lr") store_rest store_first      \
  "ldr r12, [sp, #16]\n\t"                                                            \
  "cmp r6, r12\n\t"                                                                   \
  "bne 1b\n\t"                                                                        \
  "add sp, sp, #24"
#define PROPEL_Q8_OPERANDS                                                         \
  : "+r"(w), "+r"(x), "+r"(m), "+r"(k), "+r"(out), "+r"(z), "+r"(end)                    \
  : [bias] "i"(4 * Out), [blocks] "i"(In / 8), [row1] "i"(In), [row2] "i"(2 * In),       \
    [row3] "i"(3 * In), [inputs] "i"(2 * In)                                             \
  : "r2", "r3", "r4", "r5", "r12", "lr", "cc", "memory"
  if constexpr (pairs) {
    __asm__ volatile(PROPEL_Q8_LAYER(
        "strh r3, [r9, #4]\n\tstrh r4, [r9, #2]\n\tstrh r5, [r9, #6]\n\t", "strh r2, [r9], #8\n\t")
                         PROPEL_Q8_OPERANDS);
  } else {
    __asm__ volatile(PROPEL_Q8_LAYER(
        "strb r3, [r9, #1]\n\tstrb r4, [r9, #2]\n\tstrb r5, [r9, #3]\n\t", "strb r2, [r9], #4\n\t")
                         PROPEL_Q8_OPERANDS);
  }
#undef PROPEL_Q8_OPERANDS
#undef PROPEL_Q8_LAYER
#undef PROPEL_Q8_REQUANTIZE
#undef PROPEL_Q8_ROW
}

/// int8_dense_rows with the requantisation the layer needs: the two loops are compiled apart,
/// so that the common one keeps its accumulators in registers.
template <class Y, std::size_t Out, std::size_t In>
void int8_dense_forward(int8_dense<Out, In> const& layer, std::int16_t const* PROPEL_RESTRICT xs,
                        Y* PROPEL_RESTRICT y) noexcept {
  if (layer.right_shifts_only) {
    if constexpr (whole_layer_asm<Out, In>) {
      int8_dense_layer_asm(layer, xs, y);
    } else {
      int8_dense_rows<true>(layer, xs, y);
    }
  } else {
    int8_dense_rows<false>(layer, xs, y);
  }
}
#else
/// The plain C++ kernel: the layer's Out int8 outputs for the int8 inputs x, one row at a
/// time. Fast: layer.right_shifts_only.
template <bool Fast, std::size_t Out, std::size_t In>
void int8_dense_rows(int8_dense<Out, In> const& layer, std::int8_t const* PROPEL_RESTRICT x,
                     std::int8_t* PROPEL_RESTRICT y) noexcept {
  std::int8_t const* const w = layer.weight.data();
  std::int32_t const* const bias = layer.bias.data();
  auto const store = [y](std::size_t o) {
    return [yo = y + o](std::size_t, std::int32_t v) { *yo = static_cast<std::int8_t>(v); };
  };
  for (std::size_t o = 0; o < Out; ++o) {
    std::int8_t const* const r = w + o * In;
    std::int32_t sum = 0;
    for (std::size_t k = 0; k < In; ++k) {
      sum += static_cast<std::int32_t>(r[k]) * static_cast<std::int32_t>(x[k]);
    }
    // the sum fits (|sum| <= 16256 In), so adding the bias last changes nothing
    std::int32_t const acc[1] = {sum + bias[o]};
    requantize_rows<Fast>(layer, o, acc, store(o));
  }
}

/// int8_dense_rows with the requantisation the layer needs.
template <std::size_t Out, std::size_t In>
void int8_dense_forward(int8_dense<Out, In> const& layer, std::int8_t const* PROPEL_RESTRICT x,
                        std::int8_t* PROPEL_RESTRICT y) noexcept {
  if (layer.right_shifts_only) {
    int8_dense_rows<true>(layer, x, y);
  } else {
    int8_dense_rows<false>(layer, x, y);
  }
}
#endif

template <class Act>
inline constexpr bool is_relu_v = std::is_same_v<Act, relu>;

/// int8 of x / scale + zp, rounded half away from zero, exactly, without libm.
constexpr std::int8_t quantize_value(float x, quant_params p) noexcept {
  float t = x / p.scale;
  if (!(t == t)) return saturate_int8(p.zero_point);  // NaN: real 0
  t = t < -512.0f ? -512.0f : (t > 512.0f ? 512.0f : t);
  auto i = static_cast<std::int32_t>(t);         // toward zero
  float const frac = t - static_cast<float>(i);  // exact
  if (frac >= 0.5f) ++i;
  if (frac <= -0.5f) --i;
  return saturate_int8(i + p.zero_point);
}

}  // namespace q8

}  // namespace detail

/// Whether a layer's derived flag agrees with its shifts and clamp (quantize and the header
/// writer set it so; a header edited by hand might not).
template <std::size_t Out, std::size_t In>
constexpr bool int8_dense_consistent(int8_dense<Out, In> const& layer) noexcept {
  bool right = layer.act_min == -128;
  for (std::size_t o = 0; o < Out; ++o) right = right && layer.shift[o] <= -1;
  return right == layer.right_shifts_only;
}

template <class Input, class... Layers>
class int8_mlp;

/// int8_dense_consistent for every layer.
template <class Input, class... Layers>
constexpr bool int8_mlp_consistent(int8_mlp<Input, Layers...> const& net) noexcept {
  return [&]<std::size_t... I>(std::index_sequence<I...>) {
    return (int8_dense_consistent(net.template layer<I>()) && ...);
  }
  (std::make_index_sequence<sizeof...(Layers)>{});
}

/// An mlp quantized to int8 (see the file comment): the same topology as
/// `mlp<T, Input, Layers...>`, sizes as types; activations identity or relu.
/// `quantize(net, samples)` makes one; cpp_header_writer exports one as constexpr data.
/// Diagnostics: "the input has the wrong number of features", "int8 layers support identity
/// and relu only".
template <class Input, class... Layers>
class int8_mlp {
  static_assert((detail::check_int8_activation<typename Layers::activation>::ok && ...));

 public:
  static constexpr std::size_t layer_count = sizeof...(Layers);
  static constexpr std::array<std::size_t, layer_count + 1> widths{Input::size, Layers::size...};
  static constexpr std::size_t input_size = Input::size;
  static constexpr std::size_t output_size = widths[layer_count];
  template <std::size_t I>
  using layer_type = int8_dense<widths[I + 1], widths[I]>;
  template <std::size_t I>
  using activation_t = typename std::tuple_element_t<I, std::tuple<Layers...>>::activation;

 private:
  static constexpr std::size_t max_width = [] {
    std::size_t m = 0;
    for (std::size_t w : widths) m = w > m ? w : m;
    return m;
  }();
  static_assert((detail::check_int8_width<max_width>::ok));
  template <std::size_t... I>
  static auto make_layers(std::index_sequence<I...>) -> std::tuple<layer_type<I>...>;
  using layers_tuple = decltype(make_layers(std::make_index_sequence<layer_count>{}));

 public:
  /// The input tensor: how float inputs are quantized.
  quant_params input;
  layers_tuple layers;

  template <std::size_t I>
  [[nodiscard]] constexpr layer_type<I>& layer() noexcept {
    static_assert(I < layer_count, "propel::int8_mlp: layer index out of range");
    return std::get<I>(layers);
  }
  template <std::size_t I>
  [[nodiscard]] constexpr layer_type<I> const& layer() const noexcept {
    static_assert(I < layer_count, "propel::int8_mlp: layer index out of range");
    return std::get<I>(layers);
  }
  /// The output tensor: how int8 outputs dequantize.
  [[nodiscard]] constexpr quant_params output() const noexcept {
    return layer<layer_count - 1>().output;
  }

  /// The int8 outputs for int8 inputs (quantized with `input`).
  template <class U, std::size_t N>
  [[nodiscard]] vec<std::conditional_t<std::is_same_v<U, float>, float, std::int8_t>, output_size>
  operator()(vec<U, N> const& x) const noexcept {
    static_assert(detail::check_int8_input_width<input_size, N>::ok);
    static_assert(detail::check_int8_input_scalar<U>::ok);
    if constexpr (N == input_size && std::is_same_v<U, float>) {
      return dequantize_output(run(quantize_input(x)));
    } else if constexpr (N == input_size && std::is_same_v<U, std::int8_t>) {
      return run(x);
    } else {
      return {};  // reported above
    }
  }

  /// q = clamp(round(x / scale) + zero_point, -128, 127) for each input feature.
  [[nodiscard]] constexpr vec<std::int8_t, input_size> quantize_input(
      vec<float, input_size> const& x) const noexcept {
    vec<std::int8_t, input_size> q;
    for (std::size_t i = 0; i < input_size; ++i) q[i] = detail::q8::quantize_value(x[i], input);
    return q;
  }
  /// scale * (q - zero_point) for each output.
  [[nodiscard]] constexpr vec<float, output_size> dequantize_output(
      vec<std::int8_t, output_size> const& q) const noexcept {
    quant_params const p = output();
    vec<float, output_size> y;
    for (std::size_t i = 0; i < output_size; ++i) {
      y[i] = p.scale * static_cast<float>(q[i] - p.zero_point);
    }
    return y;
  }

 private:
  [[nodiscard]] vec<std::int8_t, output_size> run(
      vec<std::int8_t, input_size> const& x) const noexcept {
    vec<std::int8_t, output_size> out;
#if defined(__ARM_FEATURE_DSP)
    // each layer's inputs as 16-bit pairs, written by the layer before (pair_slot)
    alignas(8) std::int16_t a[max_width];
    alignas(8) std::int16_t b[max_width];
    detail::q8::pack_pairs<input_size>(x.data(), a);
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (
          [&] {
            std::int16_t const* const from = I % 2 == 0 ? a : b;
            if constexpr (I + 1 == layer_count) {
              detail::q8::int8_dense_forward(layer<I>(), from, out.data());
            } else {
              detail::q8::int8_dense_forward(layer<I>(), from, I % 2 == 0 ? b : a);
            }
          }(),
          ...);
    }
    (std::make_index_sequence<layer_count>{});
#else
    alignas(4) std::int8_t a[max_width];
    alignas(4) std::int8_t b[max_width];
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (
          [&] {
            std::int8_t const* const from = I == 0 ? x.data() : (I % 2 == 1 ? a : b);
            std::int8_t* const to = I + 1 == layer_count ? out.data() : (I % 2 == 0 ? a : b);
            detail::q8::int8_dense_forward(layer<I>(), from, to);
          }(),
          ...);
    }
    (std::make_index_sequence<layer_count>{});
#endif
    return out;
  }
};

/// The value ranges of the input and of every layer's output (after its activation) of a
/// network over a set of samples: what quantize needs.
template <std::size_t Layers>
struct activation_ranges {
  value_range input;
  std::array<value_range, Layers> outputs;
  /// False if no sample was given or a value was not finite.
  bool valid;
};

namespace detail::q8 {

/// Runs one sample through net in T, recording the range of the input and of each layer's
/// output (after its activation).
template <class Net, std::size_t... I>
void observe(Net const& net, typename Net::value_type const* x,
             activation_ranges<Net::layer_count>& r, std::index_sequence<I...>) {
  using T = typename Net::value_type;
  constexpr std::size_t max_width = [] {
    std::size_t m = 0;
    for (std::size_t w : Net::widths) m = w > m ? w : m;
    return m;
  }();
  auto const see = [&](value_range& v, T value) {
    if (!std::isfinite(value)) r.valid = false;
    auto const f = static_cast<float>(value);
    v.min = f < v.min ? f : v.min;
    v.max = f > v.max ? f : v.max;
  };
  std::array<T, max_width> a{};
  std::array<T, max_width> b{};
  for (std::size_t k = 0; k < Net::input_size; ++k) {
    see(r.input, x[k]);
    a[k] = x[k];
  }
  (
      [&] {
        auto const& from = I % 2 == 0 ? a : b;
        auto& to = I % 2 == 0 ? b : a;
        auto const& layer = net.template layer<I>();
        for (std::size_t o = 0; o < Net::widths[I + 1]; ++o) {
          T z = layer.bias[o];
          for (std::size_t k = 0; k < Net::widths[I]; ++k) z += layer.weight(o, k) * from[k];
          if constexpr (is_relu_v<typename Net::template activation_t<I>>) {
            z = z > T(0) ? z : T(0);
          }
          to[o] = z;
          see(r.outputs[I], z);
        }
      }(),
      ...);
}

}  // namespace detail::q8

/// The ranges of `net`'s input and layer outputs over `samples` (one sample per element).
template <class T, class Input, class... Layers>
[[nodiscard]] activation_ranges<sizeof...(Layers)> calibrate(
    mlp<T, Input, Layers...> const& net, std::span<vec<T, Input::size> const> samples) {
  constexpr float inf = std::numeric_limits<float>::infinity();
  activation_ranges<sizeof...(Layers)> r{{inf, -inf}, {}, !samples.empty()};
  for (auto& o : r.outputs) o = {inf, -inf};
  for (auto const& x : samples) {
    detail::q8::observe(net, x.data(), r, std::make_index_sequence<sizeof...(Layers)>{});
  }
  return r;
}
/// The same over the rows of a batch.
template <class T, class Input, class... Layers, std::size_t B, std::size_t N>
[[nodiscard]] activation_ranges<sizeof...(Layers)> calibrate(mlp<T, Input, Layers...> const& net,
                                                             mat<T, B, N> const& samples) {
  static_assert(detail::check_int8_input_width<Input::size, N>::ok);
  constexpr float inf = std::numeric_limits<float>::infinity();
  activation_ranges<sizeof...(Layers)> r{{inf, -inf}, {}, true};
  for (auto& o : r.outputs) o = {inf, -inf};
  if constexpr (N == Input::size) {
    for (std::size_t b = 0; b < B; ++b) {
      detail::q8::observe(net, samples.data() + b * N, r,
                          std::make_index_sequence<sizeof...(Layers)>{});
    }
  }
  return r;
}

/// The int8 network for `net` with activation tensors quantized from `ranges` (see the file
/// comment for every formula). Empty if the ranges are not valid or a parameter of `net` is
/// not finite.
template <class T, class Input, class... Layers>
[[nodiscard]] std::optional<int8_mlp<Input, Layers...>> quantize(
    mlp<T, Input, Layers...> const& net, activation_ranges<sizeof...(Layers)> const& ranges) {
  using q_t = int8_mlp<Input, Layers...>;
  using net_t = mlp<T, Input, Layers...>;
  if (!ranges.valid) return std::nullopt;
  for (T const p : net.params()) {
    if (!std::isfinite(p)) return std::nullopt;
  }
  q_t q{};
  q.input = detail::q8::activation_params(ranges.input);
  quant_params in = q.input;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          constexpr std::size_t out_n = net_t::widths[I + 1];
          constexpr std::size_t in_n = net_t::widths[I];
          auto const& src = net.template layer<I>();
          auto& dst = q.template layer<I>();
          quant_params const out = detail::q8::activation_params(ranges.outputs[I]);
          dst.output = out;
          dst.act_min = static_cast<std::int8_t>(
              detail::q8::is_relu_v<typename net_t::template activation_t<I>>
                  ? std::max(out.zero_point, std::int32_t{-128})
                  : -128);
          bool right = dst.act_min == -128;
          for (std::size_t o = 0; o < out_n; ++o) {
            double amax = 0.0;
            for (std::size_t k = 0; k < in_n; ++k) {
              amax = std::max(amax, std::fabs(static_cast<double>(src.weight(o, k))));
            }
            float const ws = amax > 0.0 ? static_cast<float>(amax / 127.0) : 1.0f;
            auto const wsd = static_cast<double>(ws > 0.0f ? ws : 1.0f);
            std::int64_t wsum = 0;
            for (std::size_t k = 0; k < in_n; ++k) {
              auto const qw = static_cast<std::int8_t>(detail::q8::round_clamped(
                  static_cast<double>(src.weight(o, k)) / wsd, -127.0, 127.0));
              dst.weight(o, k) = qw;
              wsum += qw;
            }
            double const bias_scale = static_cast<double>(in.scale) * wsd;
            double const lim = static_cast<double>(detail::q8::bias_limit<in_n>);
            auto const qb = static_cast<std::int64_t>(detail::q8::round_clamped(
                static_cast<double>(src.bias[o]) / bias_scale, -lim, lim));
            dst.bias[o] = static_cast<std::int32_t>(qb - std::int64_t{in.zero_point} * wsum);
            std::int32_t m = 0;
            int e = 0;
            detail::q8::quantize_multiplier(
                static_cast<double>(in.scale) * wsd / static_cast<double>(out.scale), m, e);
            dst.multiplier.set(o, m);
            dst.shift.set(o, static_cast<std::int8_t>(e));
            right = right && e <= -1;
          }
          dst.right_shifts_only = right;
          in = out;
        }(),
        ...);
  }
  (std::make_index_sequence<sizeof...(Layers)>{});
  return q;
}

/// quantize(net, calibrate(net, samples)): samples is a std::span of vec<T, N>, or a
/// mat<T, B, N> of one sample per row.
template <class T, class Input, class... Layers, class Samples>
[[nodiscard]] std::optional<int8_mlp<Input, Layers...>> quantize(
    mlp<T, Input, Layers...> const& net, Samples const& samples) {
  using span_t = std::span<vec<T, Input::size> const>;
  static_assert(detail::check_calibration_samples < std::is_convertible_v<Samples const&, span_t> ||
                detail::is_mat_v < Samples >> ::ok);
  if constexpr (detail::is_mat_v<Samples>) {
    return quantize(net, calibrate(net, samples));
  } else if constexpr (std::is_convertible_v<Samples const&, span_t>) {
    return quantize(net, calibrate(net, span_t(samples)));
  } else {
    return std::nullopt;  // reported above
  }
}

}  // namespace propel
