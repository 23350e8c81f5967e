// SPDX-License-Identifier: BSL-1.0
/// \file Elementary functions that also work in constant evaluation.
///
/// At run time these call <cmath>. In constant evaluation they use propel's own series,
/// because the standard functions are not constexpr on every compiler (clang rejects a
/// constexpr std::tanh). They are evaluated in double (exp and log with Cody-Waite argument
/// reduction, series summed smallest term first), within ce::max_ulps of the exact values
/// (a float result is the double one rounded once), so a network trained at compile time
/// behaves like one trained at run time.
#pragma once

#include <bit>
#include <cmath>
#include <limits>
#include <type_traits>

namespace propel::detail::math {

namespace ce {  // constant-evaluation implementations, in double

// ln 2 split for Cody-Waite argument reduction (fdlibm): ln2_hi has its low 32 bits zero,
// so k * ln2_hi is exact for every |k| < 2^11.
constexpr double ln2_hi = 6.93147180369123816490e-01;
constexpr double ln2_lo = 1.90821492927058770002e-10;
constexpr double ln2 = 0.693147180559945309417232121458176568;
constexpr double sqrt_half = 0.707106781186547524400844362104849039;

constexpr double abs(double x) { return x < 0 ? -x : x; }

/// 2^k for -1022 <= k <= 1023, built from its bits.
constexpr double pow2(long long k) {
  return std::bit_cast<double>(static_cast<unsigned long long>(k + 1023) << 52);
}

/// x 2^k for |k| <= 2044, rounded once: outside the normal exponents the scaling is split in
/// two halves, the first exact, so that a subnormal result is rounded by the last one only.
constexpr double scale(double x, long long k) {
  if (k > 1023 || k < -1022) {
    long long const half = k / 2;
    return x * pow2(half) * pow2(k - half);
  }
  return x * pow2(k);
}

/// e^r - 1 for |r| <= ln2 / 2 (or a little more), Taylor series summed smallest term first.
constexpr double expm1_reduced(double r) {
  constexpr int n = 20;
  double terms[n]{};
  double term = r;
  for (int i = 0; i < n; ++i) {
    terms[i] = term;
    term *= r / (i + 2);
  }
  double sum = 0.0;
  for (int i = n - 1; i >= 0; --i) sum += terms[i];
  return sum;
}

/// e^x: x = k ln2 + r with |r| <= ln2 / 2 (Cody-Waite), e^r by its series, then scaled by 2^k.
constexpr double exp(double x) {
  if (x != x) return x;
  if (x > 709.8) return std::numeric_limits<double>::infinity();
  if (x < -745.2) return 0.0;
  double const kd = x / ln2;
  long long const k = static_cast<long long>(kd < 0 ? kd - 0.5 : kd + 0.5);
  double const kk = static_cast<double>(k);
  double const r = (x - kk * ln2_hi) - kk * ln2_lo;
  return scale(1.0 + expm1_reduced(r), k);
}

/// e^x - 1, accurate for small x.
constexpr double expm1(double x) {
  if (x != x || x == 0) return x;  // keeps the sign of a zero (and so does tanh)
  if (abs(x) <= 0.5) return expm1_reduced(x);
  if (x < -40) return -1.0;
  return exp(x) - 1.0;
}

/// ln x: x = m 2^e with m in [sqrt(1/2), sqrt(2)), then ln m = 2 atanh((m - 1) / (m + 1)).
constexpr double log(double x) {
  if (x != x || x < 0) return std::numeric_limits<double>::quiet_NaN();
  if (x == 0) return -std::numeric_limits<double>::infinity();
  if (x == std::numeric_limits<double>::infinity()) return x;
  int e = 0;
  while (x >= 2.0 * sqrt_half) {
    x *= 0.5;
    ++e;
  }
  while (x < sqrt_half) {
    x *= 2.0;
    --e;
  }
  double const f = x - 1.0;  // exact (Sterbenz)
  double const s = f / (x + 1.0);
  double const s2 = s * s;
  // ln m = 2 atanh s = 2 (s + s^3/3 + s^5/5 + ...), |s| < 0.172; summed smallest term first
  double terms[16]{};
  double term = s * s2;
  for (int n = 0; n < 16; ++n) {
    terms[n] = term / (2 * n + 3);
    term *= s2;
  }
  double tail = 0.0;
  for (int n = 15; n >= 0; --n) tail += terms[n];
  // 2 s = f - s f, written so that the leading term f is exact: ln m = f - s f + 2 tail
  double const lnm = f - (s * f - 2.0 * tail);
  double const ed = static_cast<double>(e);
  return (ed * ln2_lo + lnm) + ed * ln2_hi;
}

/// ln(1 + x), accurate for small x (Goldberg's correction).
constexpr double log1p(double x) {
  double const u = 1.0 + x;
  if (u == 1.0) return x;
  if (u == std::numeric_limits<double>::infinity()) return log(x);
  return log(u) * (x / (u - 1.0));
}

constexpr double tanh(double x) {
  if (x != x) return x;
  if (x < 0) return -tanh(-x);
  if (x > 20) return 1.0;
  double const e = expm1(2 * x);
  return e / (e + 2.0);
}

/// e^(-x^2) with x^2 split exactly into hi + lo (Dekker), so that its rounding is not
/// amplified by the exponential.
constexpr double exp_minus_square(double x) {
  double const c = 134217729.0 * x;  // 2^27 + 1
  double const xh = c - (c - x);
  double const xl = x - xh;
  double const hi = x * x;
  double const lo = ((xh * xh - hi) + 2.0 * xh * xl) + xl * xl;
  return exp(-hi) * (1.0 - lo);
}

/// erfc x for x >= 1.5 by its continued fraction: e^(-x^2) / sqrt(pi) / (x + (1/2) / (x + 1 /
/// (x + (3/2) / (x + ...)))), evaluated from the tail.
constexpr double erfc_large(double x) {
  double t = x;
  for (int n = 80; n >= 1; --n) t = x + (n * 0.5) / t;
  return exp_minus_square(x) / t * 0.564189583547756286948079451560772586;
}

/// erf x = 2/sqrt(pi) e^(-x^2) sum 2^n x^(2n+1) / (1 3 ... (2n+1)) (positive terms only,
/// summed smallest first) for x < 1.5, 1 - erfc x above.
constexpr double erf(double x) {
  if (x != x || x == 0) return x;  // keeps the sign of a zero
  if (x < 0) return -erf(-x);
  if (x >= 6) return 1.0;
  if (x >= 1.5) return 1.0 - erfc_large(x);
  double terms[64]{};
  double term = x;
  int n = 0;
  for (; n < 64 && term > 1e-18 * x; ++n) {
    terms[n] = term;
    term *= 2 * x * x / (2 * n + 3);
  }
  double sum = 0.0;
  for (int i = n - 1; i >= 0; --i) sum += terms[i];
  return 1.1283791670955125738961589031215452 * exp_minus_square(x) * sum;
}

/// sqrt x: x = m 4^k with m in [1, 4), Newton's iteration on m, then scaled by 2^k.
constexpr double sqrt(double x) {
  if (x != x || x < 0) return std::numeric_limits<double>::quiet_NaN();
  if (x == 0 || x == std::numeric_limits<double>::infinity()) return x;
  long long k = 0;
  while (x >= 4.0) {
    x *= 0.25;
    ++k;
  }
  while (x < 1.0) {
    x *= 4.0;
    --k;
  }
  double r = 0.5 * (1.0 + x);  // >= sqrt x: the iteration decreases monotonically
  for (int i = 0; i < 64; ++i) {
    double const next = 0.5 * (r + x / r);
    if (next >= r) break;
    r = next;
  }
  return scale(r, k);
}

/// The error bounds of the functions above: for every double x in the function's domain,
/// the result is within this many ulps of double of the exact value (an ulp is the spacing of
/// doubles at the exact value's magnitude); where the exact value rounds to an infinity, a
/// zero (of its sign) or ±1, the result is exactly that; outside the domain it is NaN.
/// tests/unit/accuracy_test.cpp sweeps each function against long double, branch thresholds
/// included. A float result is the double one rounded: within half an ulp of float plus this.
struct max_ulps {
  static constexpr double exp = 1;
  static constexpr double expm1 = 2;
  static constexpr double log = 2;
  static constexpr double log1p = 3;
  static constexpr double tanh = 3;
  static constexpr double erf = 8;
  static constexpr double sqrt = 1;
};

}  // namespace ce

#define PROPEL_DETAIL_MATH_FN(name)                            \
  template <class T>                                           \
  constexpr T name(T x) noexcept {                             \
    if (std::is_constant_evaluated()) {                        \
      return static_cast<T>(ce::name(static_cast<double>(x))); \
    }                                                          \
    return std::name(x);                                       \
  }
PROPEL_DETAIL_MATH_FN(exp)
PROPEL_DETAIL_MATH_FN(expm1)
PROPEL_DETAIL_MATH_FN(log)
PROPEL_DETAIL_MATH_FN(log1p)
PROPEL_DETAIL_MATH_FN(tanh)
PROPEL_DETAIL_MATH_FN(erf)
PROPEL_DETAIL_MATH_FN(sqrt)
#undef PROPEL_DETAIL_MATH_FN

/// b^e for an integer exponent (Adam's bias corrections): std::pow at run time, binary
/// exponentiation in constant evaluation.
constexpr double pow(double b, unsigned long long e) noexcept {
  if (std::is_constant_evaluated()) {
    double result = 1.0;
    while (e > 0) {
      if (e & 1ULL) result *= b;
      b *= b;
      e >>= 1;
    }
    return result;
  }
  return std::pow(b, static_cast<double>(e));
}

template <class T>
constexpr T abs(T x) noexcept {
  return x < T(0) ? -x : x;
}

}  // namespace propel::detail::math
