// SPDX-License-Identifier: BSL-1.0
/// \file Test-only helpers: seeded random tensors, central finite differences and error
/// reports, for checking propel's derivatives against numbers that do not come from propel.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <iomanip>
#include <limits>
#include <propel/expr.hpp>
#include <propel/mat.hpp>
#include <propel/vec.hpp>
#include <sstream>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

namespace propel::test {

/// splitmix64 (Steele, Lea, Flood 2014): a tiny, seedable generator whose output is the
/// same on every platform and compiler.
struct splitmix64 {
  std::uint64_t state;

  constexpr explicit splitmix64(std::uint64_t seed) noexcept : state(seed) {}

  constexpr std::uint64_t next() noexcept {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  /// A double uniform in [lo, hi), from the top 53 bits.
  constexpr double uniform(double lo, double hi) noexcept {
    double const unit = static_cast<double>(next() >> 11) * 0x1.0p-53;
    return lo + (hi - lo) * unit;
  }
};

/// Fills every element of a vec or mat with uniform numbers in [lo, hi).
template <class V>
constexpr void fill_uniform(V& v, splitmix64& rng, double lo, double hi) noexcept {
  using T = typename V::value_type;
  for (auto& x : v) x = static_cast<T>(rng.uniform(lo, hi));
}

/// A vec or mat of uniform numbers in [lo, hi) drawn from `rng`.
template <class V>
constexpr V random_tensor(splitmix64& rng, double lo = -1.0, double hi = 1.0) noexcept {
  V v{};
  fill_uniform(v, rng, lo, hi);
  return v;
}

/// A vec or mat whose rows are one-hot vectors (a vec is one row), with the hot class of each
/// row drawn from `rng`.
template <class V>
constexpr V random_one_hot(splitmix64& rng) noexcept {
  using T = typename V::value_type;
  constexpr std::size_t rows = V::shape_type::rows == V::shape_type::size ? 1 : V::shape_type::rows;
  constexpr std::size_t classes = V::shape_type::size / rows;
  V v{};
  for (std::size_t r = 0; r < rows; ++r) {
    std::size_t const hot = static_cast<std::size_t>(rng.next() % classes);
    v.elements[r * classes + hot] = T(1);
  }
  return v;
}

/// A vec or mat whose rows are probability distributions (positive, summing to one).
template <class V>
constexpr V random_distribution(splitmix64& rng) noexcept {
  using T = typename V::value_type;
  constexpr std::size_t rows = V::shape_type::rows == V::shape_type::size ? 1 : V::shape_type::rows;
  constexpr std::size_t classes = V::shape_type::size / rows;
  V v{};
  for (std::size_t r = 0; r < rows; ++r) {
    double weights[classes]{};
    double total = 0;
    for (auto& w : weights) {
      w = rng.uniform(0.05, 1.0);
      total += w;
    }
    for (std::size_t j = 0; j < classes; ++j) {
      v.elements[r * classes + j] = static_cast<T>(weights[j] / total);
    }
  }
  return v;
}

/// The same tensor in another scalar type (double -> float for the float runs).
template <class To, class T, std::size_t N>
constexpr vec<To, N> cast(vec<T, N> const& v) noexcept {
  vec<To, N> out{};
  for (std::size_t i = 0; i < N; ++i) out.elements[i] = static_cast<To>(v.elements[i]);
  return out;
}
template <class To, class T, std::size_t R, std::size_t C>
constexpr mat<To, R, C> cast(mat<T, R, C> const& m) noexcept {
  mat<To, R, C> out{};
  for (std::size_t i = 0; i < R * C; ++i) out.elements[i] = static_cast<To>(m.elements[i]);
  return out;
}

/// |a - b| / max(|a|, |b|, floor): a relative error that does not blow up near zero. Two
/// NaNs or two equal infinities compare as equal (error 0); NaN against a number is infinite.
inline double relative_error(double a, double b, double floor) noexcept {
  if (std::isnan(a) || std::isnan(b)) {
    return std::isnan(a) && std::isnan(b) ? 0.0 : std::numeric_limits<double>::infinity();
  }
  if (a == b) return 0.0;
  double const denominator = std::max({std::abs(a), std::abs(b), floor});
  return std::abs(a - b) / denominator;
}

/// The number of representable values of T between a and b (0 when equal, including
/// +0 == -0); large when the signs differ.
template <class T>
std::uint64_t ulp_distance(T a, T b) noexcept {
  static_assert(std::is_floating_point_v<T>);
  if (a == b) return 0;
  if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<std::uint64_t>::max();
  using bits_t = std::conditional_t<sizeof(T) == 8, std::int64_t, std::int32_t>;
  // map the bit patterns onto a line that is monotonic in the value
  auto const ordered = [](T x) {
    auto const i = std::bit_cast<bits_t>(x);
    return static_cast<std::int64_t>(i < 0 ? std::numeric_limits<bits_t>::min() - i : i);
  };
  std::int64_t const ia = ordered(a);
  std::int64_t const ib = ordered(b);
  return ia > ib ? static_cast<std::uint64_t>(ia - ib) : static_cast<std::uint64_t>(ib - ia);
}

/// Where two tensors differ most.
struct error_report {
  double max_relative_error = 0;  ///< the largest relative_error over the elements
  std::size_t index = 0;          ///< flat index of that element
  double expected = 0;            ///< the reference value there (finite differences, say)
  double actual = 0;              ///< the value under test there

  /// Keeps the worse of two reports.
  void merge(error_report const& other) noexcept {
    if (other.max_relative_error > max_relative_error) *this = other;
  }
  [[nodiscard]] std::string describe() const {
    std::ostringstream out;
    out << std::scientific << std::setprecision(3) << "max relative error " << max_relative_error
        << " at flat index " << index << std::setprecision(17) << ": expected " << expected
        << ", got " << actual;
    return out.str();
  }
};

/// Compares `actual` with `expected` element by element (vec, mat or scalar).
template <class V>
error_report compare(V const& actual, V const& expected, double floor = 1e-3) {
  error_report report;
  if constexpr (std::is_arithmetic_v<V>) {
    report.max_relative_error =
        relative_error(static_cast<double>(actual), static_cast<double>(expected), floor);
    report.expected = static_cast<double>(expected);
    report.actual = static_cast<double>(actual);
  } else {
    for (std::size_t i = 0; i < V::size(); ++i) {
      double const a = static_cast<double>(actual.elements[i]);
      double const e = static_cast<double>(expected.elements[i]);
      double const err = relative_error(a, e, floor);
      if (err > report.max_relative_error || i == 0) {
        report = {err, i, e, a};
      }
    }
  }
  return report;
}

/// A non-owning view of a callable `double()`, so that the finite-difference loop is compiled
/// once per tensor type rather than once per expression.
struct scalar_function_ref {
  void const* object;
  double (*call)(void const*);

  template <class F>
  static scalar_function_ref of(F const& f) noexcept {
    return {&f, [](void const* p) { return static_cast<double>((*static_cast<F const*>(p))()); }};
  }
  double operator()() const { return call(object); }
};

/// The central finite difference of the scalar function f() with respect to every element
/// of x, which f reads (through a propel leaf, say): (f(x + h e_i) - f(x - h e_i)) / 2h with
/// h = rel_step * max(1, |x_i|). x is restored exactly afterwards. Meant for double.
template <class V>
V central_difference(scalar_function_ref f, V& x, double rel_step = 1e-6) {
  using T = typename V::value_type;
  V derivative{};
  for (std::size_t i = 0; i < V::size(); ++i) {
    T const saved = x.elements[i];
    T const h = static_cast<T>(rel_step * std::max(1.0, std::abs(static_cast<double>(saved))));
    x.elements[i] = saved + h;
    T const up = static_cast<T>(f());
    x.elements[i] = saved - h;
    T const down = static_cast<T>(f());
    x.elements[i] = saved;
    // divide by the step actually taken, which rounding may have changed
    T const taken = (saved + h) - (saved - h);
    derivative.elements[i] = (up - down) / taken;
  }
  return derivative;
}

/// A variable leaf together with the tensor it views, which finite differences perturb.
template <class Leaf, class V>
struct bound {
  Leaf leaf;
  V* tensor;
};

/// Binds a propel variable to the (mutable) tensor it was made from.
template <class Leaf, class V>
[[nodiscard]] constexpr bound<Leaf, V> wrt(Leaf const& leaf, V& tensor) noexcept {
  return {leaf, &tensor};
}

/// The value of the scalar expression e, from the same forward pass that propel::gradient runs
/// (evaluate() has its own tests; sharing the instantiation keeps these tests quick to build).
template <class E>
double forward_value(E const& e) {
  propel::workspace_t<E> ws;
  return static_cast<double>(propel::forward(e, ws));
}

/// The largest relative error seen by any gradcheck in this test executable.
inline double& largest_gradcheck_error() noexcept {
  static double largest = 0;
  return largest;
}

/// Compares propel::gradient of the scalar expression e with the central finite difference
/// of evaluate(e) for every bound variable, and returns the worst element over all of them.
template <class E, class... Leaves, class... Vs>
error_report gradcheck(E const& e, bound<Leaves, Vs> const&... vars) {
  auto const analytic = propel::gradient(e, vars.leaf...);
  auto const value = [&] { return forward_value(e); };
  auto const f = scalar_function_ref::of(value);
  error_report worst;
  std::size_t k = 0;
  std::apply(
      [&](auto const&... g) {
        (
            [&](auto const& grad, auto const& var) {
              error_report r = compare(grad, central_difference(f, *var.tensor));
              r.index += 1000 * k++;  // the thousands tell which variable
              worst.merge(r);
            }(g, vars),
            ...);
      },
      analytic);
  largest_gradcheck_error() = std::max(largest_gradcheck_error(), worst.max_relative_error);
  return worst;
}

/// The tolerance for gradchecks in double.
inline constexpr double gradcheck_tolerance = 1e-6;

}  // namespace propel::test
