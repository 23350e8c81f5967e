// SPDX-License-Identifier: BSL-1.0
/// \file Branch-free float tanh for run time: a loop over it vectorises (a call to the C
/// library's tanhf does not, without -ffast-math), which is what lets a tanh layer's
/// epilogue run at the speed of its product. Within 3 ulp of std::tanh and exactly ±1 where
/// tanh rounds to ±1 (tests/unit/expr_edge_test.cpp); constant evaluation keeps
/// detail::math's series.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

namespace propel::detail {

/// c ? a : b without a branch: GCC would otherwise thread the condition into control flow
/// that its vectoriser cannot if-convert (a division under it may trap).
inline float select_bits(bool c, float a, float b) noexcept {
  std::uint32_t const mask = 0u - static_cast<std::uint32_t>(c);
  return std::bit_cast<float>((std::bit_cast<std::uint32_t>(a) & mask) |
                              (std::bit_cast<std::uint32_t>(b) & ~mask));
}

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
  // large |x|: e^y with y = 2 |x| in [1.1, 18]
  float const y = 2.0f * select_bits(ax < 9.1f, ax, 9.1f);
  float const nf = static_cast<float>(static_cast<std::int32_t>(y * 1.44269504088896341f + 0.5f));
  float const r = (y - nf * 0.693145751953125f) - nf * 1.42860682030941723212e-6f;
  float p = 1.98412698412698412698e-4f;    // 1 / 5040
  p = p * r + 1.38888888888888888889e-3f;  // 1 / 720
  p = p * r + 8.33333333333333333333e-3f;  // 1 / 120
  p = p * r + 4.16666666666666666667e-2f;  // 1 / 24
  p = p * r + 1.66666666666666666667e-1f;  // 1 / 6
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  float const two_n =
      std::bit_cast<float>(static_cast<std::uint32_t>(static_cast<std::int32_t>(nf) + 127) << 23);
  float const big = 1.0f - 2.0f / (p * two_n + 1.0f);
  float const t = select_bits(ax < 0.55f, small, std::copysign(big, x));
  return select_bits(x != x, x, t);
}

}  // namespace propel::detail
