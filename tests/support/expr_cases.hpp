// SPDX-License-Identifier: BSL-1.0
/// \file The random shapes and the activations (with closed forms written independently of
/// propel's) shared by the expression-layer tests, and PROPEL_EXPECT_GRADCHECK.
#pragma once

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <propel/propel.hpp>
#include <string>
#include <tuple>
#include <type_traits>

#include "support/gradcheck.hpp"

/// Runs propel::test::gradcheck(expression, wrt(leaf, tensor)...) and fails the test case,
/// naming the expression and the worst element, if the relative error exceeds the tolerance.
#define PROPEL_EXPECT_GRADCHECK(...)                                                        \
  do {                                                                                      \
    auto const gradcheck_report_ = ::propel::test::gradcheck(__VA_ARGS__);                  \
    std::string const gradcheck_message_ =                                                  \
        "gradcheck of " #__VA_ARGS__ ": " + gradcheck_report_.describe();                   \
    BOOST_TEST(gradcheck_report_.max_relative_error <= ::propel::test::gradcheck_tolerance, \
               gradcheck_message_);                                                         \
  } while (false)

namespace propel::test {

// ---------------------------------------------------------------------------------------------
// Shapes of the random cases: a batch of `batch` samples with `in` features, a layer of `out`.

template <std::size_t Batch, std::size_t In, std::size_t Out, std::uint64_t Seed>
struct dims {
  static constexpr std::size_t batch = Batch;
  static constexpr std::size_t in = In;
  static constexpr std::size_t out = Out;
  static constexpr std::uint64_t seed = Seed;
  static std::string name() {
    return "batch " + std::to_string(Batch) + ", in " + std::to_string(In) + ", out " +
           std::to_string(Out) + ", seed " + std::to_string(Seed);
  }
};

/// The shapes: degenerate (every extent 1), wide and tall.
using dims_tiny = dims<1, 1, 1, 1>;
using dims_wide = dims<2, 3, 4, 42>;
using dims_tall = dims<5, 4, 3, 20240229>;

/// Calls f(std::type_identity<D>{}) for each D.
template <class... D, class F>
void for_each_dims(F const& f) {
  (f(std::type_identity<D>{}), ...);
}

/// Calls f(std::type_identity<D>{}) for each of the three shapes.
template <class F>
void for_all_dims(F const& f) {
  for_each_dims<dims_tiny, dims_wide, dims_tall>(f);
}

// ---------------------------------------------------------------------------------------------
// Activations with their closed forms, written independently of propel's.

inline double std_sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
inline double std_phi(double x) { return 0.5 * (1.0 + std::erf(x / std::numbers::sqrt2)); }

struct identity_case {
  static constexpr char const* name = "identity";
  static constexpr propel::identity op{};
  static double value(double x) { return x; }
  static double derivative(double) { return 1.0; }
};
struct relu_case {
  static constexpr char const* name = "relu";
  static constexpr propel::relu op{};
  static double value(double x) { return x > 0 ? x : 0.0; }
  static double derivative(double x) { return x > 0 ? 1.0 : 0.0; }
};
struct leaky_relu_case {
  static constexpr char const* name = "leaky_relu";
  static constexpr propel::leaky_relu op{};
  static double value(double x) { return x > 0 ? x : 0.01 * x; }
  static double derivative(double x) { return x > 0 ? 1.0 : 0.01; }
};
struct leaky_relu_02_case {
  static constexpr char const* name = "leaky_relu(0.2)";
  static constexpr propel::leaky_relu op{0.2};
  static double value(double x) { return x > 0 ? x : 0.2 * x; }
  static double derivative(double x) { return x > 0 ? 1.0 : 0.2; }
};
struct tanh_case {
  static constexpr char const* name = "tanh";
  static constexpr propel::tanh op{};
  static double value(double x) { return std::tanh(x); }
  static double derivative(double x) { return 1.0 / (std::cosh(x) * std::cosh(x)); }
};
struct sigmoid_case {
  static constexpr char const* name = "sigmoid";
  static constexpr propel::sigmoid op{};
  static double value(double x) { return std_sigmoid(x); }
  static double derivative(double x) {
    double const e = std::exp(-std::abs(x));  // the derivative is even
    return e / ((1.0 + e) * (1.0 + e));
  }
};
struct elu_case {
  static constexpr char const* name = "elu";
  static constexpr propel::elu op{};
  static double value(double x) { return x > 0 ? x : std::expm1(x); }
  static double derivative(double x) { return x > 0 ? 1.0 : std::exp(x); }
};
struct elu_05_case {
  static constexpr char const* name = "elu(0.5)";
  static constexpr propel::elu op{0.5};
  static double value(double x) { return x > 0 ? x : 0.5 * std::expm1(x); }
  static double derivative(double x) { return x > 0 ? 1.0 : 0.5 * std::exp(x); }
};
struct silu_case {
  static constexpr char const* name = "silu";
  static constexpr propel::silu op{};
  static double value(double x) { return x / (1.0 + std::exp(-x)); }
  static double derivative(double x) {
    if (x < 0) {
      double const e = std::exp(x);
      return e * (1.0 + e + x) / ((1.0 + e) * (1.0 + e));
    }
    double const e = std::exp(-x);
    return (1.0 + e + x * e) / ((1.0 + e) * (1.0 + e));
  }
};
struct gelu_case {
  static constexpr char const* name = "gelu";
  static constexpr propel::gelu op{};
  static double value(double x) { return x * std_phi(x); }
  static double derivative(double x) {
    return std_phi(x) + x * std::exp(-0.5 * x * x) / std::sqrt(2.0 * std::numbers::pi);
  }
};
struct gelu_tanh_case {
  static constexpr char const* name = "gelu_tanh";
  static constexpr propel::gelu_tanh op{};
  static double u(double x) {
    return std::sqrt(2.0 / std::numbers::pi) * (x + 0.044715 * x * x * x);
  }
  static double value(double x) { return 0.5 * x * (1.0 + std::tanh(u(x))); }
  static double derivative(double x) {
    double const sech = 1.0 / std::cosh(u(x));
    double const du = std::sqrt(2.0 / std::numbers::pi) * (1.0 + 3.0 * 0.044715 * x * x);
    return 0.5 * (1.0 + std::tanh(u(x))) + 0.5 * x * sech * sech * du;
  }
};
struct softplus_case {
  static constexpr char const* name = "softplus";
  static constexpr propel::softplus op{};
  static double value(double x) { return x > 20 ? x : std::log1p(std::exp(x)); }
  static double derivative(double x) { return x > 20 ? 1.0 : std_sigmoid(x); }
};

using activation_cases = std::tuple<identity_case, relu_case, leaky_relu_case, leaky_relu_02_case,
                                    tanh_case, sigmoid_case, elu_case, elu_05_case, silu_case,
                                    gelu_case, gelu_tanh_case, softplus_case>;

/// Points at which the activations are checked: both signs, near zero, and in the tails.
inline constexpr propel::vec<double, 13> activation_points{-6,   -3,  -1.5, -1,  -0.5, -1e-3, 0,
                                                           1e-3, 0.5, 1,    1.5, 3,    6};

}  // namespace propel::test
