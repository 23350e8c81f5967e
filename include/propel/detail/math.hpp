// SPDX-License-Identifier: BSL-1.0
/// \file Elementary functions that also work in constant evaluation.
///
/// At run time these call <cmath>. In constant evaluation they use propel's own series,
/// because the standard functions are not constexpr on every compiler (clang rejects a
/// constexpr std::tanh). The series are evaluated in double and agree with <cmath> to a
/// few ulps, so a network trained at compile time behaves like one trained at run time.
#pragma once

#include <cmath>
#include <limits>
#include <type_traits>

namespace propel::detail::math {

namespace ce {  // constant-evaluation implementations, in double

constexpr double ln2 = 0.693147180559945309417232121458176568;

constexpr double abs(double x) { return x < 0 ? -x : x; }

/// e^x: x = k ln2 + r with |r| <= ln2 / 2, Taylor series for e^r, then scaled by 2^k.
constexpr double exp(double x) {
  if (x != x) return x;
  if (x > 709.8) return std::numeric_limits<double>::infinity();
  if (x < -745.2) return 0.0;
  double const kd = x / ln2;
  long long const k = static_cast<long long>(kd < 0 ? kd - 0.5 : kd + 0.5);
  double const r = x - static_cast<double>(k) * ln2;
  double term = 1.0;
  double sum = 1.0;
  for (int n = 1; n < 30; ++n) {
    term *= r / n;
    sum += term;
  }
  // scale in two halves so that 2^k never overflows on its own near the limits
  double scale = 1.0;
  long long const half = k / 2;
  for (long long i = 0; i < (half < 0 ? -half : half); ++i) scale *= half < 0 ? 0.5 : 2.0;
  double scale2 = 1.0;
  long long const rest = k - half;
  for (long long i = 0; i < (rest < 0 ? -rest : rest); ++i) scale2 *= rest < 0 ? 0.5 : 2.0;
  return sum * scale * scale2;
}

/// e^x - 1, accurate for small x.
constexpr double expm1(double x) {
  if (abs(x) < 0.5) {
    double term = x;
    double sum = x;
    for (int n = 2; n < 30; ++n) {
      term *= x / n;
      sum += term;
    }
    return sum;
  }
  return exp(x) - 1.0;
}

/// ln x: x = m 2^e with m in [1, 2), then ln m = 2 atanh((m - 1) / (m + 1)).
constexpr double log(double x) {
  if (x != x || x < 0) return std::numeric_limits<double>::quiet_NaN();
  if (x == 0) return -std::numeric_limits<double>::infinity();
  if (x == std::numeric_limits<double>::infinity()) return x;
  int e = 0;
  while (x >= 2.0) {
    x *= 0.5;
    ++e;
  }
  while (x < 1.0) {
    x *= 2.0;
    --e;
  }
  double const s = (x - 1.0) / (x + 1.0);
  double const s2 = s * s;
  double term = s;
  double sum = 0.0;
  for (int n = 1; n < 60; n += 2) {
    sum += term / n;
    term *= s2;
  }
  return 2.0 * sum + e * ln2;
}

/// ln(1 + x), accurate for small x (Goldberg's correction).
constexpr double log1p(double x) {
  double const u = 1.0 + x;
  if (u == 1.0) return x;
  return log(u) * (x / (u - 1.0));
}

constexpr double tanh(double x) {
  if (x > 20) return 1.0;
  if (x < -20) return -1.0;
  double const e = expm1(2 * x);
  return e / (e + 2.0);
}

/// erf x = 2/sqrt(pi) e^(-x^2) sum 2^n x^(2n+1) / (1 3 ... (2n+1)): positive terms only.
constexpr double erf(double x) {
  if (x < 0) return -erf(-x);
  if (x > 6) return 1.0;
  double term = x;
  double sum = x;
  for (int n = 1; n < 400 && term > 1e-17 * sum; ++n) {
    term *= 2 * x * x / (2 * n + 1);
    sum += term;
  }
  return 1.1283791670955125738961589031215452 * exp(-x * x) * sum;
}

constexpr double sqrt(double x) {
  if (x != x || x < 0) return std::numeric_limits<double>::quiet_NaN();
  if (x == 0 || x == std::numeric_limits<double>::infinity()) return x;
  double r = x > 1 ? x : 1.0;
  for (int i = 0; i < 200; ++i) {
    double const next = 0.5 * (r + x / r);
    if (next == r) break;
    r = next;
  }
  return r;
}

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
