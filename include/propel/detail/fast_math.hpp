// SPDX-License-Identifier: BSL-1.0
/// \file Branch-free float tanh and exp for run time: a loop over them vectorises (a call to
/// the C library's tanhf or expf does not, without -ffast-math), which is what lets a tanh
/// layer's epilogue run at the speed of its product, and softmax cross-entropy take its
/// exponentials a vector at a time. Their accuracy is fast_tanh_max_ulps and
/// fast_exp_max_ulps below;
/// constant evaluation keeps detail::math's series. Where the target has vector registers,
/// an overload on simd_t<float> computes the same function a whole vector at a time, with the
/// same operations in the same order, so the same bits lane by lane: an element-wise loop
/// calls it and is vectorised whatever the compiler decides about inlining.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <propel/detail/kernels.hpp>

namespace propel::detail {

/// c ? a : b without a branch: GCC would otherwise thread the condition into control flow
/// that its vectoriser cannot if-convert (a division under it may trap).
inline float select_bits(bool c, float a, float b) noexcept {
  std::uint32_t const mask = 0u - static_cast<std::uint32_t>(c);
  return std::bit_cast<float>((std::bit_cast<std::uint32_t>(a) & mask) |
                              (std::bit_cast<std::uint32_t>(b) & ~mask));
}

/// fast_tanh's error bound: for every float x, |fast_tanh(x) - tanh x| is at most this many
/// ulps of tanh x (the exact value; an ulp is the spacing of floats at its magnitude), the
/// result is exactly ±1 wherever tanh x rounds to ±1 in float, and fast_tanh(-x) is
/// -fast_tanh(x). tests/unit/accuracy_test.cpp checks it, for the scalar function and for a
/// tanh layer's vectorised loop.
inline constexpr double fast_tanh_max_ulps = 1.75;

/// tanh x for float: an odd polynomial below |x| = 0.55, 1 - 2 / (e^2|x| + 1) above, with
/// e^y = 2^n p(r) (r = y - n ln 2, |r| <= ln2 / 2, p of degree 7); saturates to ±1 from
/// |x| = 9.1 on (where tanh rounds to 1 in float); NaN stays NaN.
inline float fast_tanh(float x) noexcept {
  float const ax = std::fabs(x);  // x < 0 ? -x : x blocks GCC's vectoriser
  // small |x|: x (1 + x² q(x²)), Taylor coefficients of tanh
  float const z = x * x;
  float q = -1.45583438705131826825e-3f;   // -929569 / 638512875
  q = q * z + 3.59212803657248101700e-3f;  // 21844 / 6081075
  q = q * z - 8.86323552990219656886e-3f;  // -1382 / 155925
  q = q * z + 2.18694885361552028219e-2f;  // 62 / 2835
  q = q * z - 5.39682539682539682540e-2f;  // -17 / 315
  q = q * z + 1.33333333333333333333e-1f;  // 2 / 15
  q = q * z - 3.33333333333333333333e-1f;  // -1 / 3
  float const small = x + x * (z * q);
  // large |x|: e^y with y = 2 a, a = |x| in [0.55, 9.1]; y = n ln 2 + r, |r| <= ln 2 / 2,
  // with n rounded by adding 1.5 * 2^23 (the sum keeps no fraction bits) and r = 2 h
  float const a = select_bits(ax < 9.1f, ax, 9.1f);
  float const shifted = a * 2.88539008177792681472f + 12582912.0f;  // 2 log2(e), 1.5 * 2^23
  float const nf = shifted - 12582912.0f;
  float const h = (a - nf * 0.3465728759765625f) - nf * 7.14303410154708616060e-7f;  // ln2 / 2
  // p(r) = Σ r^k / k! (k <= 7) in Estrin's form, (p01 + p23 r²) + (p45 + p67 r²) r⁴: three
  // dependent steps after h, not seven. In h (r² = 4 h², r⁴ = 16 h⁴) each pair is scaled by
  // the power of two its factor needs, which is exact: the same bits as the form in r.
  float const h2 = h * h;
  float const h4 = h2 * h2;
  // the pairs 1 + r, 1/2 + r/6, 1/24 + r/120, 1/720 + r/5040 in h, times 1, 4, 16, 64
  float const p01 = h * 2.0f + 1.0f;
  float const p23 = h * 1.33333333333333333333f + 2.0f;
  float const p45 = h * 2.66666666666666666667e-1f + 6.66666666666666666667e-1f;
  float const p67 = h * 2.53968253968253968254e-2f + 8.88888888888888888889e-2f;
  float const p = (p23 * h2 + p01) + (p67 * h2 + p45) * h4;
  // 2^n from the bits of shifted, whose low mantissa bits hold n (the high bits shift out)
  float const two_n = std::bit_cast<float>((std::bit_cast<std::uint32_t>(shifted) + 127u) << 23);
  float const big = 1.0f - 2.0f / (p * two_n + 1.0f);
  // small has the sign of x except at x = -0 (-0 + +0 is +0), big is >= 0: the sign of x on
  // both keeps tanh(-0) = -0
  float const t = std::copysign(select_bits(ax < 0.55f, small, big), x);
  return select_bits(x != x, x, t);
}

/// fast_exp's error bound: for every float x, |fast_exp(x) - e^x| is at most this many ulps
/// of e^x (an ulp below the normal range being 2^-149: subnormal results are computed, not
/// flushed), e^x rounding to +inf gives +inf and to 0 gives +0, exp(-inf) = 0, exp(+inf) =
/// +inf, exp(0) = 1, and NaN stays NaN. tests/unit/accuracy_test.cpp checks it on a dense
/// grid; over every float, against double's exp, the largest error is 1.05 ulps (1.08 with a
/// * b + c contracted into FMAs).
inline constexpr double fast_exp_max_ulps = 1.125;

/// e^x for float at run time: x = n ln 2 + r (|r| <= ln2 / 2, the product n ln 2 in two parts
/// so that r keeps its bits), e^r = 1 + (r + r² q(r)) with q the Taylor polynomial of degree
/// 5 in Estrin's form (three dependent steps), and the scaling by 2^n in two exact halves,
/// 2^floor(n/2) 2^ceil(n/2), so that results far into the subnormal range and up to the
/// largest floats are rounded once. The argument is clamped to [-104, 89], past which e^x
/// rounds to 0 or overflows; NaN stays NaN.
inline float fast_exp(float x) noexcept {
  // clamped without a branch; NaN fails both comparisons and is restored at the end
  float const a = select_bits(x > -104.0f, select_bits(x < 89.0f, x, 89.0f), -104.0f);
  // n = round(x / ln 2) by adding 1.5 * 2^23 (the sum keeps no fraction bits)
  float const shifted = a * 1.44269504088896340736f + 12582912.0f;  // log2(e), 1.5 * 2^23
  float const nf = shifted - 12582912.0f;
  float const r = (a - nf * 0.693145751953125f) - nf * 1.42860682030941723212e-6f;  // ln 2
  // q(r) = 1/2 + r/6 + r²/24 + r³/120 + r⁴/720 + r⁵/5040 as (q01 + q23 r²) + q45 r⁴
  float const r2 = r * r;
  float const q01 = r * 1.66666666666666666667e-1f + 0.5f;
  float const q23 = r * 8.33333333333333333333e-3f + 4.16666666666666666667e-2f;
  float const q45 = r * 1.98412698412698412698e-4f + 1.38888888888888888889e-3f;
  float const q = (q23 * r2 + q01) + q45 * (r2 * r2);
  float const p = 1.0f + (r2 * q + r);
  // n + 300 from the low mantissa bits of shifted (0x4b400000 + n), n in [-150, 128]: its
  // halves n1 = floor(n / 2) and n - n1 are biased exponents (e1 - 150 + 127, ...)
  std::uint32_t const e = std::bit_cast<std::uint32_t>(shifted) - (0x4b400000u - 300u);
  std::uint32_t const e1 = e >> 1;
  float const y =
      p * std::bit_cast<float>((e1 - 23u) << 23) * std::bit_cast<float>((e - e1 - 23u) << 23);
  return select_bits(x != x, x, y);
}

#ifdef PROPEL_DETAIL_VECTOR_TYPES
/// The lanes of simd_t<float> as unsigned integers, for the bit operations of fast_tanh.
typedef std::uint32_t simd_u32_t __attribute__((vector_size(PROPEL_VECTOR_BYTES)));

/// Lane by lane, c ? a : b for a comparison's mask c (all bits set or none): a blend.
template <class Mask>
PROPEL_ALWAYS_INLINE simd_t<float> select_bits(Mask c, simd_t<float> a, simd_t<float> b) noexcept {
  return c ? a : b;
}

/// fast_tanh(float) on every lane of x: the same steps written with vector operations (the
/// sign bit masked for fabs and copied for copysign, as those functions do), so each lane
/// has exactly the bits the scalar function gives (tests/unit/fast_tanh_simd_test.cpp), as
/// long as the compiler does not contract a * b + c into FMAs; where it does (-march with
/// FMA, GCC's default -ffp-contract=fast), any inlined copy of either form may round a step
/// differently, within the same bound.
PROPEL_ALWAYS_INLINE simd_t<float> fast_tanh(simd_t<float> x) noexcept {
  // the scalar function's steps (see there), c - V{} being the constant c in every lane
  using V = simd_t<float>;
  constexpr std::uint32_t sign = 0x80000000u;
  V const ax = std::bit_cast<V>(std::bit_cast<simd_u32_t>(x) & ~sign);
  V const z = x * x;
  V q = -1.45583438705131826825e-3f - V{};
  q = q * z + 3.59212803657248101700e-3f;
  q = q * z - 8.86323552990219656886e-3f;
  q = q * z + 2.18694885361552028219e-2f;
  q = q * z - 5.39682539682539682540e-2f;
  q = q * z + 1.33333333333333333333e-1f;
  q = q * z - 3.33333333333333333333e-1f;
  V const small = x + x * (z * q);
  V const a = select_bits(ax < 9.1f, ax, 9.1f - V{});
  V const shifted = a * 2.88539008177792681472f + 12582912.0f;
  V const nf = shifted - 12582912.0f;
  V const h = (a - nf * 0.3465728759765625f) - nf * 7.14303410154708616060e-7f;
  V const h2 = h * h;
  V const h4 = h2 * h2;
  V const p01 = h * 2.0f + 1.0f;
  V const p23 = h * 1.33333333333333333333f + 2.0f;
  V const p45 = h * 2.66666666666666666667e-1f + 6.66666666666666666667e-1f;
  V const p67 = h * 2.53968253968253968254e-2f + 8.88888888888888888889e-2f;
  V const p = (p23 * h2 + p01) + (p67 * h2 + p45) * h4;
  V const two_n = std::bit_cast<V>((std::bit_cast<simd_u32_t>(shifted) + 127u) << 23);
  V const big = 1.0f - 2.0f / (p * two_n + 1.0f);
  simd_u32_t const mag = std::bit_cast<simd_u32_t>(select_bits(ax < 0.55f, small, big)) & ~sign;
  V const t = std::bit_cast<V>(mag | (std::bit_cast<simd_u32_t>(x) & sign));
  return select_bits(x != x, x, t);
}

/// fast_exp(float) on every lane of x: the scalar function's steps with vector operations, so
/// each lane has exactly the bits the scalar function gives
/// (tests/unit/fast_tanh_simd_test.cpp), under the same condition as fast_tanh's vector
/// form: no contraction of a * b + c into FMAs.
PROPEL_ALWAYS_INLINE simd_t<float> fast_exp(simd_t<float> x) noexcept {
  using V = simd_t<float>;
  V const a = select_bits(x > -104.0f, select_bits(x < 89.0f, x, 89.0f - V{}), -104.0f - V{});
  V const shifted = a * 1.44269504088896340736f + 12582912.0f;
  V const nf = shifted - 12582912.0f;
  V const r = (a - nf * 0.693145751953125f) - nf * 1.42860682030941723212e-6f;
  V const r2 = r * r;
  V const q01 = r * 1.66666666666666666667e-1f + 0.5f;
  V const q23 = r * 8.33333333333333333333e-3f + 4.16666666666666666667e-2f;
  V const q45 = r * 1.98412698412698412698e-4f + 1.38888888888888888889e-3f;
  V const q = (q23 * r2 + q01) + q45 * (r2 * r2);
  V const p = 1.0f + (r2 * q + r);
  simd_u32_t const e = std::bit_cast<simd_u32_t>(shifted) - (0x4b400000u - 300u);
  simd_u32_t const e1 = e >> 1;
  V const y = p * std::bit_cast<V>((e1 - 23u) << 23) * std::bit_cast<V>((e - e1 - 23u) << 23);
  return select_bits(x != x, x, y);
}
#endif

}  // namespace propel::detail
