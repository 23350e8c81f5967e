// SPDX-License-Identifier: BSL-1.0
// Edge values of the expression layer: derivatives at the kinks (relu, leaky_relu, elu at 0,
// huber at +-delta), softplus at its threshold of 20, logits of +-1e4 in the cross-entropies and
// the activations, out-of-range labels, PyTorch's mean conventions; and constant evaluation:
// static_asserts on expressions and gradients, and compile-time values that agree with run-time
// values to a few ulps.
#define BOOST_TEST_MODULE expr_edge
#include <algorithm>
#include <array>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numbers>
#include <propel/propel.hpp>
#include <string>
#include <tuple>
#include <type_traits>

#include "support/expr_cases.hpp"
#include "support/gradcheck.hpp"

namespace pp = propel;
using pp::test::relative_error;

namespace {

using scalar_types = std::tuple<float, double>;

template <class T, std::size_t N>
using vec = pp::vec<T, N>;
template <class T, std::size_t R, std::size_t C>
using mat = pp::mat<T, R, C>;

/// The value and the derivative of an activation at each element of x, at run time.
template <class Op, class T, std::size_t N>
std::pair<vec<T, N>, vec<T, N>> value_and_derivative(Op const& op, vec<T, N> x) {
  auto const x_ = pp::variable<"x">(x);
  auto const [total, grads] = pp::value_and_gradient(pp::sum(op(x_)), x_);
  (void)total;
  return {pp::evaluate(op(x_)), std::get<0>(grads)};
}

template <class T>
T next_up(T x) {
  return std::nextafter(x, std::numeric_limits<T>::infinity());
}
template <class T>
T next_down(T x) {
  return std::nextafter(x, -std::numeric_limits<T>::infinity());
}

}  // namespace

// =============================================================================================
BOOST_AUTO_TEST_SUITE(kinks)

BOOST_AUTO_TEST_CASE_TEMPLATE(relu_derivative_at_zero_is_zero, T, scalar_types) {
  T const tiny = std::numeric_limits<T>::denorm_min();
  vec<T, 6> const x{0, -T(0), tiny, -tiny, 2, -2};
  auto const [y, dy] = value_and_derivative(pp::relu{}, x);
  BOOST_TEST(y == (vec<T, 6>{0, 0, tiny, 0, 2, 0}));
  BOOST_TEST(dy == (vec<T, 6>{0, 0, 1, 0, 1, 0}));
  // a pre-activation that is exactly 0 inside a layer: nothing flows back
  mat<T, 1, 2> W{1, -1};
  vec<T, 2> v{2, 2};
  vec<T, 1> b{0};
  auto const W_ = pp::variable<"W">(W);
  auto const v_ = pp::variable<"v">(v);
  auto const b_ = pp::variable<"b">(b);
  auto const [dW, dv, db] = pp::gradient(pp::sum(pp::relu{}(W_ * v_ + b_)), W_, v_, b_);
  BOOST_TEST(dW == (mat<T, 1, 2>{0, 0}));
  BOOST_TEST(dv == (vec<T, 2>{0, 0}));
  BOOST_TEST(db == (vec<T, 1>{0}));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(leaky_relu_derivative_at_zero_is_the_slope, T, scalar_types) {
  vec<T, 4> const x{0, -T(0), 3, -3};
  auto const [y, dy] = value_and_derivative(pp::leaky_relu{}, x);
  T const s = static_cast<T>(0.01);
  BOOST_TEST(y == (vec<T, 4>{0, 0, 3, -3 * s}));
  BOOST_TEST(dy == (vec<T, 4>{s, s, 1, s}));
  auto const [y2, dy2] = value_and_derivative(pp::leaky_relu{0.2}, x);
  T const s2 = static_cast<T>(0.2);
  BOOST_TEST(y2 == (vec<T, 4>{0, 0, 3, -3 * s2}));
  BOOST_TEST(dy2 == (vec<T, 4>{s2, s2, 1, s2}));
  // through a layer whose pre-activation is exactly 0: d/db is the slope
  mat<T, 1, 2> W{1, -1};
  vec<T, 2> v{2, 2};
  vec<T, 1> b{0};
  auto const W_ = pp::variable<"W">(W);
  auto const b_ = pp::variable<"b">(b);
  auto const [db] = pp::gradient(pp::sum(pp::leaky_relu{0.2}(W_ * pp::constant(v) + b_)), b_);
  BOOST_TEST(db[0] == s2);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(elu_derivative_at_zero_is_alpha, T, scalar_types) {
  // PyTorch's elu backward takes the x <= 0 branch at 0: alpha * e^0
  vec<T, 2> const x{0, -T(0)};
  auto const [y, dy] = value_and_derivative(pp::elu{}, x);
  BOOST_TEST(y == (vec<T, 2>{0, 0}));
  BOOST_TEST(dy == (vec<T, 2>{1, 1}));
  auto const [y2, dy2] = value_and_derivative(pp::elu{0.5}, x);
  BOOST_TEST(y2 == (vec<T, 2>{0, 0}));
  BOOST_TEST(dy2 == (vec<T, 2>{0.5, 0.5}));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(huber_at_exactly_plus_minus_delta, T, scalar_types) {
  for (double const delta : {1.0, 0.5, 2.0}) {
    BOOST_TEST_CONTEXT("delta " << delta) {
      T const d = static_cast<T>(delta);
      // differences of exactly +delta and -delta, given as predictions and as targets
      vec<T, 4> p{d, -d, 3, 3};
      vec<T, 4> const y{0, 0, 3 - d, 3 + d};
      auto const p_ = pp::variable<"p">(p);
      auto const [value, grads] = pp::value_and_gradient(pp::huber{delta}(p_, y), p_);
      // 0.5 delta^2 on each side of the kink, averaged over 4 elements
      BOOST_TEST(value == T(0.5) * d * d);
      BOOST_TEST(std::get<0>(grads) == (vec<T, 4>{d / 4, -d / 4, d / 4, -d / 4}));
      // continuity: one step either side of the kink
      vec<T, 2> q{next_up(d), next_down(d)};
      vec<T, 2> const zero{0, 0};
      auto const q_ = pp::variable<"q">(q);
      auto const [value_q, grads_q] = pp::value_and_gradient(pp::huber{delta}(q_, zero), q_);
      BOOST_TEST(relative_error(value_q, 0.5 * delta * delta, 0) <=
                 4 * std::numeric_limits<T>::epsilon());
      BOOST_TEST(relative_error(std::get<0>(grads_q)[0], delta / 2, 0) <=
                 2 * std::numeric_limits<T>::epsilon());
      BOOST_TEST(relative_error(std::get<0>(grads_q)[1], delta / 2, 0) <=
                 2 * std::numeric_limits<T>::epsilon());
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

// =============================================================================================
BOOST_AUTO_TEST_SUITE(softplus_threshold)

// PyTorch's Softplus (beta 1, threshold 20) is linear only for x > 20: at x = 20 exactly it is
// still log1p(exp(20)), which in double is 20 + 2.06e-9.
BOOST_AUTO_TEST_CASE(at_twenty_in_double) {
  double const at = 20.0;
  vec<double, 3> const x{next_down(at), at, next_up(at)};
  auto const [y, dy] = value_and_derivative(pp::softplus{}, x);
  // below and at the threshold: the logarithm
  BOOST_TEST(y[0] == std::log1p(std::exp(x[0])));
  BOOST_TEST(y[1] == std::log1p(std::exp(20.0)));
  BOOST_TEST(y[1] != 20.0);
  BOOST_TEST(relative_error(y[1] - 20.0, std::exp(-20.0), 0) <= 2e-6);
  BOOST_TEST(relative_error(dy[0], 1.0 / (1.0 + std::exp(-x[0])), 0) <= 1e-16);
  BOOST_TEST(relative_error(dy[1], 1.0 / (1.0 + std::exp(-20.0)), 0) <= 1e-16);
  BOOST_TEST(dy[1] < 1.0);
  BOOST_TEST(relative_error(1.0 - dy[1], std::exp(-20.0), 0) <= 1e-7);
  // above: the identity, exactly
  BOOST_TEST(y[2] == x[2]);
  BOOST_TEST(dy[2] == 1.0);
  // the jumps across the threshold are e^-20, in the value and in the derivative
  BOOST_TEST(std::abs(y[2] - y[1]) <= 3e-9);
  BOOST_TEST(std::abs(dy[2] - dy[1]) <= 3e-9);
  BOOST_TEST(std::abs(y[1] - y[0]) <= 1e-14);
}

BOOST_AUTO_TEST_CASE(at_twenty_in_float) {
  float const at = 20.0f;
  vec<float, 3> const x{next_down(at), at, next_up(at)};
  auto const [y, dy] = value_and_derivative(pp::softplus{}, x);
  // e^-20 is below float's resolution at 20: the logarithm rounds to 20
  BOOST_TEST(y[1] == std::log1p(std::exp(20.0f)));
  BOOST_TEST(y[1] == 20.0f);
  BOOST_TEST(y[0] == std::log1p(std::exp(x[0])));
  BOOST_TEST(y[2] == x[2]);
  BOOST_TEST(dy[2] == 1.0f);
  BOOST_TEST(relative_error(dy[1], 1.0 / (1.0 + std::exp(-20.0)), 0) <= 1e-7);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(far_from_the_threshold, T, scalar_types) {
  vec<T, 4> const x{19, 21, T(1e4), T(-1e4)};
  auto const [y, dy] = value_and_derivative(pp::softplus{}, x);
  double const tol = 2 * std::numeric_limits<T>::epsilon();
  BOOST_TEST(relative_error(y[0], std::log1p(std::exp(19.0)), 0) <= tol);
  BOOST_TEST(y[1] == T(21));
  BOOST_TEST(y[2] == T(1e4));  // no overflow of e^x
  BOOST_TEST(y[3] == T(0));
  BOOST_TEST(relative_error(dy[0], 1.0 / (1.0 + std::exp(-19.0)), 0) <= tol);
  BOOST_TEST(dy[1] == T(1));
  BOOST_TEST(dy[2] == T(1));
  BOOST_TEST(dy[3] == T(0));
}

BOOST_AUTO_TEST_SUITE_END()

// =============================================================================================
BOOST_AUTO_TEST_SUITE(extreme_logits)

BOOST_AUTO_TEST_CASE_TEMPLATE(activations_stay_finite_at_plus_minus_1e4, A,
                              pp::test::activation_cases) {
  BOOST_TEST_CONTEXT(A::name) {
    vec<double, 2> const xd{1e4, -1e4};
    vec<float, 2> const xf{1e4f, -1e4f};
    auto const [yd, dyd] = value_and_derivative(A::op, xd);
    auto const [yf, dyf] = value_and_derivative(A::op, xf);
    for (std::size_t i = 0; i < 2; ++i) {
      BOOST_TEST(std::isfinite(yd[i]));
      BOOST_TEST(std::isfinite(dyd[i]));
      BOOST_TEST(std::isfinite(yf[i]));
      BOOST_TEST(std::isfinite(dyf[i]));
      // the limits, against the closed forms (absolute near 0, relative elsewhere)
      BOOST_TEST(relative_error(yd[i], A::value(xd[i]), 1.0) <= 1e-15);
      BOOST_TEST(relative_error(dyd[i], A::derivative(xd[i]), 1.0) <= 1e-15);
      BOOST_TEST(relative_error(yf[i], A::value(xd[i]), 1.0) <= 1e-7);
      BOOST_TEST(relative_error(dyf[i], A::derivative(xd[i]), 1.0) <= 1e-7);
    }
  }
}

// Float tanh at run time (detail::fast_tanh) must reach +-1 where the correctly rounded tanh
// does, as std::tanh, PyTorch and constant evaluation do: with its argument clamped at |x| = 9,
// 1 - 2 / (e^18 + 1) = 1 - 3.05e-8 rounded to 0.99999994f, so tanh never saturated and
// tanh' = 1 - y^2 was 1.19e-7 instead of 0 for every saturated unit (fixed in 7304e7c).
BOOST_AUTO_TEST_CASE(float_tanh_saturates_to_plus_minus_one) {
  vec<float, 4> const x{9.5f, 20.0f, 1e4f, -1e4f};
  auto const [y, dy] = value_and_derivative(pp::tanh{}, x);
  for (std::size_t i = 0; i < 4; ++i) {
    BOOST_TEST_CONTEXT("x = " << x[i]) {
      BOOST_TEST(y[i] == std::tanh(x[i]));  // +-1, correctly rounded
      BOOST_TEST(std::abs(y[i]) == 1.0f);
      BOOST_TEST(dy[i] == 0.0f);
    }
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(sigmoid_at_plus_minus_1e4, T, scalar_types) {
  vec<T, 2> const x{T(1e4), T(-1e4)};
  auto const [y, dy] = value_and_derivative(pp::sigmoid{}, x);
  BOOST_TEST(y == (vec<T, 2>{1, 0}));
  BOOST_TEST(dy == (vec<T, 2>{0, 0}));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(cross_entropy_with_logits_of_1e4, T, scalar_types) {
  vec<T, 2> z{T(1e4), T(-1e4)};
  auto const z_ = pp::variable<"z">(z);
  // label 0: the right class wins by 2e4, the loss is 0 and so is the gradient
  auto const [v0, g0] = pp::value_and_gradient(pp::softmax_cross_entropy{}(z_, 0), z_);
  BOOST_TEST(v0 == T(0));
  BOOST_TEST(std::get<0>(g0) == (vec<T, 2>{0, 0}));
  // label 1: the loss is the margin, 2e4; the gradient softmax - onehot = (1, 0) - (0, 1)
  auto const [v1, g1] = pp::value_and_gradient(pp::softmax_cross_entropy{}(z_, 1), z_);
  BOOST_TEST(v1 == T(2e4));
  BOOST_TEST(std::get<0>(g1) == (vec<T, 2>{1, -1}));
  // the same as one-hot targets, and a soft target halfway
  vec<T, 2> const e1{0, 1};
  auto const [v1t, g1t] = pp::value_and_gradient(pp::softmax_cross_entropy{}(z_, e1), z_);
  BOOST_TEST(v1t == T(2e4));
  BOOST_TEST(std::get<0>(g1t) == (vec<T, 2>{1, -1}));
  vec<T, 2> const half{0.5, 0.5};
  auto const [vh, gh] = pp::value_and_gradient(pp::softmax_cross_entropy{}(z_, half), z_);
  BOOST_TEST(vh == T(1e4));
  BOOST_TEST(std::get<0>(gh) == (vec<T, 2>{0.5, -0.5}));
  // three classes, the winner not first: lse is 1e4 exactly
  vec<T, 3> w{0, T(1e4), T(-1e4)};
  auto const w_ = pp::variable<"w">(w);
  auto const [v2, g2] = pp::value_and_gradient(pp::softmax_cross_entropy{}(w_, 0), w_);
  BOOST_TEST(v2 == T(1e4));
  BOOST_TEST(std::get<0>(g2) == (vec<T, 3>{-1, 1, 0}));
  // a batch: the mean over the two rows
  mat<T, 2, 2> Z{T(1e4), T(-1e4), T(1e4), T(-1e4)};
  auto const Z_ = pp::variable<"Z">(Z);
  auto const [vb, gb] =
      pp::value_and_gradient(pp::softmax_cross_entropy{}(Z_, std::array<int, 2>{0, 1}), Z_);
  BOOST_TEST(vb == T(1e4));
  BOOST_TEST(std::get<0>(gb) == (mat<T, 2, 2>{0, 0, 0.5, -0.5}));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(bce_with_logits_of_1e4, T, scalar_types) {
  vec<T, 4> z{T(1e4), T(1e4), T(-1e4), T(-1e4)};
  vec<T, 4> const y{1, 0, 0, 1};
  auto const z_ = pp::variable<"z">(z);
  auto const [value, grads] = pp::value_and_gradient(pp::bce_with_logits{}(z_, y), z_);
  // per element 0, 1e4, 0, 1e4: right with certainty costs nothing, wrong costs |z|
  BOOST_TEST(value == T(5e3));
  // (sigmoid(z) - y) / 4
  BOOST_TEST(std::get<0>(grads) == (vec<T, 4>{0, 0.25, 0, -0.25}));
  // a target of one half: ln(1 + e^-|z|) + |z| / 2 = 5e3 for each element
  vec<T, 4> const half{0.5, 0.5, 0.5, 0.5};
  BOOST_TEST(pp::evaluate(pp::bce_with_logits{}(z_, half)) == T(5e3));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(label_out_of_range_gives_nan, T, scalar_types) {
  vec<T, 3> z{1, 2, 3};
  auto const z_ = pp::variable<"z">(z);
  for (int const label : {3, -1, 100}) {
    BOOST_TEST_CONTEXT("label " << label) {
      auto const [value, grads] =
          pp::value_and_gradient(pp::softmax_cross_entropy{}(z_, label), z_);
      BOOST_TEST(std::isnan(value));
      for (std::size_t j = 0; j < 3; ++j) BOOST_TEST(std::isnan(std::get<0>(grads)[j]));
    }
  }
  // in a batch, one bad row makes the loss NaN and the derivatives of that row NaN; through a
  // layer, every weight the row reaches gets NaN
  mat<T, 2, 2> X{1, 2, -1, 0.5};
  mat<T, 3, 2> W{0.5, -1, 2, 0.25, -0.5, 1};
  auto const X_ = pp::variable<"X">(X);
  auto const W_ = pp::variable<"W">(W);
  auto const logits = X_ * pp::transpose(W_);
  auto const [value, grads] =
      pp::value_and_gradient(pp::softmax_cross_entropy{}(logits, std::array<int, 2>{1, 3}), X_, W_);
  BOOST_TEST(std::isnan(value));
  auto const& dX = std::get<0>(grads);
  auto const& dW = std::get<1>(grads);
  BOOST_TEST(std::isnan(dX(1, 0)));
  BOOST_TEST(std::isnan(dX(1, 1)));
  for (T const g : dW) BOOST_TEST(std::isnan(g));
  // the labels at the ends of the range are fine
  BOOST_TEST(std::isfinite(pp::evaluate(pp::softmax_cross_entropy{}(z_, 0))));
  BOOST_TEST(std::isfinite(pp::evaluate(pp::softmax_cross_entropy{}(z_, 2))));
}

BOOST_AUTO_TEST_SUITE_END()

// =============================================================================================
BOOST_AUTO_TEST_SUITE(pytorch_mean_conventions)

BOOST_AUTO_TEST_CASE_TEMPLATE(elementwise_losses_average_every_element, T, scalar_types) {
  // a batch of 2 samples with 3 outputs: the divisor is 6, not 2 or 3
  mat<T, 2, 3> P{1, 2, 3, 0, 0, 0};
  mat<T, 2, 3> const zero{};
  auto const P_ = pp::variable<"P">(P);
  auto const [mse_value, mse_grads] = pp::value_and_gradient(pp::mse{}(P_, zero), P_);
  BOOST_TEST(relative_error(mse_value, 14.0 / 6.0, 0) <= std::numeric_limits<T>::epsilon());
  // 2 (p - y) / 6
  BOOST_TEST(relative_error(std::get<0>(mse_grads)(0, 2), 1.0, 0) <=
             std::numeric_limits<T>::epsilon());
  BOOST_TEST(relative_error(std::get<0>(mse_grads)(0, 0), 1.0 / 3.0, 0) <=
             std::numeric_limits<T>::epsilon());
  // huber, delta 1: 0.5 + 1.5 + 2.5 over 6
  BOOST_TEST(relative_error(pp::evaluate(pp::huber{}(P_, zero)), 4.5 / 6.0, 0) <=
             std::numeric_limits<T>::epsilon());
  // bce: ln 2 for every logit 0, whatever the count
  BOOST_TEST(relative_error(pp::evaluate(pp::bce_with_logits{}(pp::constant(zero), zero)),
                            std::numbers::ln2, 0) <= std::numeric_limits<T>::epsilon());
  auto const [bce_value, bce_grads] =
      pp::value_and_gradient(pp::bce_with_logits{}(P_ - P_, zero), P_);
  BOOST_TEST(relative_error(bce_value, std::numbers::ln2, 0) <= std::numeric_limits<T>::epsilon());
  // d/dP of bce(P - P) is 0; d/dz would be (1/2 - 0) / 6
  BOOST_TEST(std::get<0>(bce_grads) == zero);
  mat<T, 2, 3> Z{};
  auto const Z_ = pp::variable<"Z">(Z);
  auto const [dZ] = pp::gradient(pp::bce_with_logits{}(Z_, zero), Z_);
  for (T const g : dZ)
    BOOST_TEST(relative_error(g, 1.0 / 12.0, 0) <= std::numeric_limits<T>::epsilon());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(cross_entropy_averages_over_rows, T, scalar_types) {
  // 2 rows of 3 zero logits: each row costs ln 3, and the mean is over the 2 rows (not 6)
  mat<T, 2, 3> Z{};
  auto const Z_ = pp::variable<"Z">(Z);
  auto const [value, grads] =
      pp::value_and_gradient(pp::softmax_cross_entropy{}(Z_, std::array<int, 2>{0, 2}), Z_);
  double const tol = 2 * std::numeric_limits<T>::epsilon();
  BOOST_TEST(relative_error(value, std::log(3.0), 0) <= tol);
  auto const& dZ = std::get<0>(grads);
  // (softmax - onehot) / 2
  BOOST_TEST(relative_error(dZ(0, 0), (1.0 / 3 - 1) / 2, 0) <= tol);
  BOOST_TEST(relative_error(dZ(0, 1), (1.0 / 3) / 2, 0) <= tol);
  BOOST_TEST(relative_error(dZ(1, 2), (1.0 / 3 - 1) / 2, 0) <= tol);
  // a single sample (a vector) is one row: no division at all
  vec<T, 3> z{};
  auto const z_ = pp::variable<"z">(z);
  auto const [v1, g1] = pp::value_and_gradient(pp::softmax_cross_entropy{}(z_, 1), z_);
  BOOST_TEST(relative_error(v1, std::log(3.0), 0) <= tol);
  BOOST_TEST(relative_error(std::get<0>(g1)[1], 1.0 / 3 - 1, 0) <= tol);
  // a target that does not sum to one (PyTorch's probabilities form): loss sum_j y_j (lse - z_j),
  // gradient softmax * sum(y) - y
  mat<T, 2, 3> const heavy{2, 0, 0, 0, 0, 0.5};
  auto const [vh, gh] = pp::value_and_gradient(pp::softmax_cross_entropy{}(Z_, heavy), Z_);
  BOOST_TEST(relative_error(vh, (2 + 0.5) * std::log(3.0) / 2, 0) <= tol);
  BOOST_TEST(relative_error(std::get<0>(gh)(0, 0), (2.0 / 3 - 2) / 2, 0) <= tol);
  BOOST_TEST(relative_error(std::get<0>(gh)(0, 1), (2.0 / 3) / 2, 0) <= tol);
  BOOST_TEST(relative_error(std::get<0>(gh)(1, 2), (0.5 / 3 - 0.5) / 2, 0) <= tol);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(sum_and_mean, T, scalar_types) {
  mat<T, 3, 4> X{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  auto const X_ = pp::variable<"X">(X);
  BOOST_TEST(pp::evaluate(pp::sum(X_)) == T(78));
  BOOST_TEST(pp::evaluate(pp::mean(X_)) == T(6.5));
  auto const [ds] = pp::gradient(pp::sum(X_), X_);
  auto const [dm] = pp::gradient(pp::mean(X_), X_);
  for (T const g : ds) BOOST_TEST(g == T(1));
  for (T const g : dm)
    BOOST_TEST(relative_error(g, 1.0 / 12, 0) <= std::numeric_limits<T>::epsilon());
}

BOOST_AUTO_TEST_SUITE_END()

// =============================================================================================
// Constant evaluation: expressions and gradients in static_asserts (g++ and clang++ alike).

namespace {

constexpr double relu_layer_value() {
  mat<double, 2, 2> W{1, -2, 3, 4};
  vec<double, 2> x{1, 1};
  vec<double, 2> b{2, -10};
  // W x + b = (1, -3); relu = (1, 0)
  return pp::evaluate(
      pp::sum(pp::relu{}(pp::variable<"W">(W) * pp::variable<"x">(x) + pp::variable<"b">(b))));
}
static_assert(relu_layer_value() == 1.0);

struct layer_gradients {
  mat<double, 2, 2> dW;
  vec<double, 2> dx;
  vec<double, 2> db;
};
constexpr layer_gradients relu_layer_gradients() {
  mat<double, 2, 2> W{1, -2, 3, 4};
  vec<double, 2> x{1, 1};
  vec<double, 2> b{2, -10};
  auto const W_ = pp::variable<"W">(W);
  auto const x_ = pp::variable<"x">(x);
  auto const b_ = pp::variable<"b">(b);
  auto const g = pp::gradient(pp::sum(pp::relu{}(W_ * x_ + b_)), W_, x_, b_);
  return {std::get<0>(g), std::get<1>(g), std::get<2>(g)};
}
// relu'(z) = (1, 0): dW = (1, 0)^T x^T, dx = W^T (1, 0), db = (1, 0)
static_assert(relu_layer_gradients().dW == mat<double, 2, 2>{1, 1, 0, 0});
static_assert(relu_layer_gradients().dx == vec<double, 2>{1, -2});
static_assert(relu_layer_gradients().db == vec<double, 2>{1, 0});

constexpr mat<float, 2, 3> A23{1, 2, 3, 4, 5, 6};
constexpr vec<float, 3> bias3{10, 20, 30};
static_assert(pp::evaluate(pp::constant(A23) * pp::transpose(pp::constant(A23))) ==
              mat<float, 2, 2>{14, 32, 32, 77});
static_assert(pp::evaluate(pp::constant(A23) + pp::constant(bias3)) ==
              mat<float, 2, 3>{11, 22, 33, 14, 25, 36});
static_assert(pp::evaluate(pp::mean(pp::square(pp::constant(A23)))) == 91.0f / 6.0f);

constexpr pp::value_and_gradients<double, vec<double, 4>> mse_at_compile_time() {
  vec<double, 4> p{1, 2, 3, 5};
  vec<double, 4> const y{1, 0, 0, 1};
  auto const p_ = pp::variable<"p">(p);
  return pp::value_and_gradient(pp::mse{}(p_, y), p_);
}
// (0 + 4 + 9 + 16) / 4, and 2 (p - y) / 4
static_assert(mse_at_compile_time().value == 7.25);
static_assert(std::get<0>(mse_at_compile_time().gradients) == vec<double, 4>{0, 1, 1.5, 2});

constexpr pp::value_and_gradients<double, vec<double, 2>> cross_entropy_at_compile_time(int label) {
  vec<double, 2> z{0, 0};
  auto const z_ = pp::variable<"z">(z);
  return pp::value_and_gradient(pp::softmax_cross_entropy{}(z_, label), z_);
}
constexpr double ce_abs(double x) { return x < 0 ? -x : x; }
// two equal logits: ln 2, gradient (1/2 - 1, 1/2) (exp and log in constant evaluation)
static_assert(ce_abs(cross_entropy_at_compile_time(0).value - std::numbers::ln2) < 1e-15);
static_assert(ce_abs(std::get<0>(cross_entropy_at_compile_time(0).gradients)[0] + 0.5) < 1e-15);
static_assert(ce_abs(std::get<0>(cross_entropy_at_compile_time(0).gradients)[1] - 0.5) < 1e-15);
// logits of +-1e4 stay exact at compile time too
constexpr double ce_extreme() {
  vec<double, 2> z{1e4, -1e4};
  return pp::evaluate(pp::softmax_cross_entropy{}(pp::constant(z), 1));
}
static_assert(ce_extreme() == 2e4);

// tanh(0.5) and its derivative, tanh'(0.5) = 1 - tanh^2
constexpr vec<double, 2> tanh_at_half() {
  vec<double, 1> x{0.5};
  auto const x_ = pp::variable<"x">(x);
  auto const r = pp::value_and_gradient(pp::sum(pp::tanh{}(x_)), x_);
  return {r.value, std::get<0>(r.gradients)[0]};
}
static_assert(ce_abs(tanh_at_half()[0] - 0.46211715726000975850) < 1e-16);
static_assert(ce_abs(tanh_at_half()[1] - 0.78644773296592741) < 1e-16);

// ---------------------------------------------------------------------------------------------
// Compile-time values against run-time values.

/// Points where the constant-evaluation series are compared with <cmath>: both signs, small,
/// moderate, near softplus's threshold and in the tails.
constexpr vec<double, 27> ulp_points{-30,  -12,   -8,    -5, -3,   -2,   -1.25, -1,  -0.5,
                                     -0.1, -1e-3, -1e-7, 0,  1e-7, 1e-3, 0.1,   0.5, 1,
                                     1.25, 2,     3,     5,  8,    12,   19.5,  20,  30};

template <class A, class T>
constexpr vec<T, ulp_points.size()> activation_values(vec<T, ulp_points.size()> x) {
  return pp::evaluate(A::op(pp::constant(x)));
}
template <class A, class T>
constexpr vec<T, ulp_points.size()> activation_derivatives(vec<T, ulp_points.size()> x) {
  auto const x_ = pp::variable<"x">(x);
  return std::get<0>(pp::gradient(pp::sum(A::op(x_)), x_));
}
template <class T>
constexpr vec<T, ulp_points.size()> points_in() {
  return pp::test::cast<T>(ulp_points);
}
/// The points, through a volatile so that the compiler cannot treat them as constants.
template <class T>
vec<T, ulp_points.size()> points_at_run_time() {
  static volatile double one = 1.0;
  vec<T, ulp_points.size()> x{};
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<T>(ulp_points[i] * one);
  return x;
}

/// The largest distance in ulps between two tensors, and where it is.
template <class V>
std::pair<std::uint64_t, std::size_t> max_ulps(V const& a, V const& b) {
  std::pair<std::uint64_t, std::size_t> worst{0, 0};
  for (std::size_t i = 0; i < V::size(); ++i) {
    std::uint64_t const d = pp::test::ulp_distance(a.elements[i], b.elements[i]);
    if (d > worst.first) worst = {d, i};
  }
  return worst;
}

using transcendental_cases =
    std::tuple<pp::test::tanh_case, pp::test::sigmoid_case, pp::test::elu_case, pp::test::silu_case,
               pp::test::gelu_case, pp::test::gelu_tanh_case, pp::test::softplus_case>;

}  // namespace

BOOST_AUTO_TEST_SUITE(constant_evaluation)

BOOST_AUTO_TEST_CASE(static_asserts_hold_at_run_time_too) {
  // the same functions as in the static_asserts above, called at run time
  BOOST_TEST(relu_layer_value() == 1.0);
  layer_gradients const g = relu_layer_gradients();
  BOOST_TEST(g.dW == (mat<double, 2, 2>{1, 1, 0, 0}));
  BOOST_TEST(std::get<0>(mse_at_compile_time().gradients) == (vec<double, 4>{0, 1, 1.5, 2}));
  BOOST_TEST(ce_extreme() == 2e4);
  BOOST_TEST(relative_error(tanh_at_half()[0], std::tanh(0.5), 0) <= 1e-16);
}

// Activations over exp, expm1, log1p, tanh and erf: constant evaluation uses propel's series,
// run time uses <cmath>. gelu's negative tail is x (1 + erf(x / sqrt 2)) / 2 with erf near -1:
// there an ulp of erf is many ulps of the result, in any implementation (at x = -2 one ulp of
// erf is about 20 ulps of gelu), so gelu is compared in units of eps * max(|y|, |x| / 2) for
// the value and eps * max(|y'|, 1 / 2) for the derivative, the scale of the terms summed.
BOOST_AUTO_TEST_CASE_TEMPLATE(activations_agree_to_a_few_ulps, A, transcendental_cases) {
  static constexpr auto ce_values_d = activation_values<A, double>(points_in<double>());
  static constexpr auto ce_derivs_d = activation_derivatives<A, double>(points_in<double>());
  static constexpr auto ce_values_f = activation_values<A, float>(points_in<float>());
  static constexpr auto ce_derivs_f = activation_derivatives<A, float>(points_in<float>());
  auto const xd = points_at_run_time<double>();
  auto const xf = points_at_run_time<float>();
  auto const rt_values_d = activation_values<A, double>(xd);
  auto const rt_derivs_d = activation_derivatives<A, double>(xd);
  auto const rt_values_f = activation_values<A, float>(xf);
  auto const rt_derivs_f = activation_derivatives<A, float>(xf);
  constexpr bool is_gelu = std::is_same_v<A, pp::test::gelu_case>;
  // the distance in ulps, or for gelu in units of eps * scale (see above)
  auto const distance = [](auto ce, auto rt, double x, bool derivative) -> double {
    using T = decltype(ce);
    if constexpr (is_gelu) {
      double const scale =
          std::max(std::abs(static_cast<double>(rt)), derivative ? 0.5 : 0.5 * std::abs(x));
      return std::abs(static_cast<double>(ce) - static_cast<double>(rt)) /
             (std::numeric_limits<T>::epsilon() * scale);
    } else {
      (void)x;
      (void)derivative;
      return static_cast<double>(pp::test::ulp_distance(ce, rt));
    }
  };
  auto const check = [&](char const* what, auto const& ce, auto const& rt, bool derivative,
                         double limit) {
    double worst = 0;
    std::size_t where = 0;
    for (std::size_t i = 0; i < ulp_points.size(); ++i) {
      double const d = distance(ce[i], rt[i], ulp_points[i], derivative);
      if (d > worst) {
        worst = d;
        where = i;
      }
    }
    BOOST_TEST_MESSAGE(A::name << " " << what << ": " << worst
                               << " ulps at x = " << ulp_points[where]);
    BOOST_TEST(worst <= limit,
               A::name << " " << what << ": compile time " << ce[where] << " vs run time "
                       << rt[where] << " at x = " << ulp_points[where] << ", " << worst << " ulps");
  };
  check("value (double)", ce_values_d, rt_values_d, false, 4);
  check("derivative (double)", ce_derivs_d, rt_derivs_d, true, 4);
  check("value (float)", ce_values_f, rt_values_f, false, 2);
  check("derivative (float)", ce_derivs_f, rt_derivs_f, true, 2);
}

BOOST_AUTO_TEST_CASE(losses_agree_to_a_few_ulps) {
  struct results {
    double ce;
    double bce;
    vec<double, 3> dce;
    vec<double, 3> dbce;
  };
  auto const run = [](vec<double, 3> z) {
    auto const z_ = pp::variable<"z">(z);
    vec<double, 3> const y{0.25, 1, 0};
    auto const ce = pp::value_and_gradient(pp::softmax_cross_entropy{}(z_, 2), z_);
    auto const bce = pp::value_and_gradient(pp::bce_with_logits{}(z_, y), z_);
    return results{ce.value, bce.value, std::get<0>(ce.gradients), std::get<0>(bce.gradients)};
  };
  static constexpr vec<double, 3> z{-2.5, 0.75, 3};
  static constexpr results at_compile_time = run(z);
  static volatile double one = 1.0;
  results const at_run_time = run(vec<double, 3>{z[0] * one, z[1] * one, z[2] * one});
  BOOST_TEST(pp::test::ulp_distance(at_compile_time.ce, at_run_time.ce) <= 4u);
  BOOST_TEST(pp::test::ulp_distance(at_compile_time.bce, at_run_time.bce) <= 4u);
  BOOST_TEST(max_ulps(at_compile_time.dce, at_run_time.dce).first <= 4u);
  BOOST_TEST(max_ulps(at_compile_time.dbce, at_run_time.dbce).first <= 4u);
}

BOOST_AUTO_TEST_SUITE_END()
