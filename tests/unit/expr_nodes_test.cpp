// SPDX-License-Identifier: BSL-1.0
// Every node of the expression layer, by value: small cases worked out by hand, activations
// against closed forms written here, and float runs against double. The gradients against
// central finite differences are in expr_nodes_gradients.cpp and
// expr_nodes_activation_gradients.cpp, linked into the same executable.
#define BOOST_TEST_MODULE expr_nodes
#include <cmath>
#include <numbers>

#include "support/expr_nodes_common.hpp"

namespace {
using scalar_types = std::tuple<float, double>;

/// Prints the largest finite-difference error seen (run with --log_level=message).
struct report_largest_error {
  report_largest_error() = default;
  report_largest_error(report_largest_error const&) = delete;
  report_largest_error& operator=(report_largest_error const&) = delete;
  ~report_largest_error() {
    BOOST_TEST_MESSAGE("largest gradcheck relative error: " << pp::test::largest_gradcheck_error());
  }
};

}  // namespace

BOOST_TEST_GLOBAL_FIXTURE(report_largest_error);

// =============================================================================================
BOOST_AUTO_TEST_SUITE(values_by_hand)

BOOST_AUTO_TEST_CASE_TEMPLATE(matrix_product_2x3_by_3x2, T, scalar_types) {
  mat<T, 2, 3> const A{1, 2, 3, 4, 5, 6};
  mat<T, 3, 2> const B{7, 8, 9, 10, 11, 12};
  auto const P = pp::evaluate(pp::constant(A) * pp::constant(B));
  static_assert(std::is_same_v<decltype(P), mat<T, 2, 2> const>);
  BOOST_TEST(P == (mat<T, 2, 2>{58, 64, 139, 154}));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(matrix_vector_product, T, scalar_types) {
  mat<T, 2, 3> const A{1, 2, 3, 4, 5, 6};
  vec<T, 3> const v{1, -1, 2};
  auto const y = pp::evaluate(pp::constant(A) * pp::constant(v));
  static_assert(std::is_same_v<decltype(y), vec<T, 2> const>);
  BOOST_TEST(y == (vec<T, 2>{5, 11}));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(transpose_and_products_with_it, T, scalar_types) {
  mat<T, 2, 3> const A{1, 2, 3, 4, 5, 6};
  auto const At = pp::evaluate(pp::transpose(pp::constant(A)));
  static_assert(std::is_same_v<decltype(At), mat<T, 3, 2> const>);
  BOOST_TEST(At == (mat<T, 3, 2>{1, 4, 2, 5, 3, 6}));
  // a transpose as the left operand, as the right operand, and of a non-leaf
  vec<T, 2> const u{1, 2};
  BOOST_TEST(pp::evaluate(pp::transpose(pp::constant(A)) * pp::constant(u)) ==
             (vec<T, 3>{9, 12, 15}));
  BOOST_TEST(pp::evaluate(pp::constant(A) * pp::transpose(pp::constant(A))) ==
             (mat<T, 2, 2>{14, 32, 32, 77}));
  mat<T, 2, 2> const e01{0, 1, 0, 0};
  BOOST_TEST(pp::evaluate(pp::transpose(pp::constant(A) * pp::transpose(pp::constant(A)) +
                                        pp::constant(e01))) == (mat<T, 2, 2>{14, 32, 33, 77}));
  BOOST_TEST(pp::evaluate(pp::transpose(pp::transpose(pp::constant(A)))) == A);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(products_of_expressions, T, scalar_types) {
  mat<T, 2, 3> const A{1, 2, 3, 4, 5, 6};
  mat<T, 3, 2> const B{7, 8, 9, 10, 11, 12};
  vec<T, 2> const u{1, 1};
  auto const a = pp::constant(A);
  auto const b = pp::constant(B);
  // (2A)B, A(Bu) and (AB)u
  BOOST_TEST(pp::evaluate((T(2) * a) * b) == (mat<T, 2, 2>{116, 128, 278, 308}));
  BOOST_TEST(pp::evaluate(a * (b * pp::constant(u))) == (vec<T, 2>{122, 293}));
  BOOST_TEST(pp::evaluate((a * b) * pp::constant(u)) == (vec<T, 2>{122, 293}));
  // relu on both operands: relu(A - 3) = [0 0 0; 1 2 3], relu(B - 10) = [0 0; 0 0; 1 2]
  mat<T, 2, 3> const three{3, 3, 3, 3, 3, 3};
  mat<T, 3, 2> const ten{10, 10, 10, 10, 10, 10};
  BOOST_TEST(pp::evaluate(pp::relu{}(a - pp::constant(three)) *
                          pp::relu{}(b - pp::constant(ten))) == (mat<T, 2, 2>{0, 0, 3, 6}));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(broadcast_bias_over_rows, T, scalar_types) {
  mat<T, 2, 3> const A{1, 2, 3, 4, 5, 6};
  vec<T, 3> const b{10, 20, 30};
  BOOST_TEST(pp::evaluate(pp::constant(A) + pp::constant(b)) ==
             (mat<T, 2, 3>{11, 22, 33, 14, 25, 36}));
  BOOST_TEST(pp::evaluate(pp::constant(A) - pp::constant(b)) ==
             (mat<T, 2, 3>{-9, -18, -27, -6, -15, -24}));
  // a bias after a product: X W^T + b with W = I (3x3)
  mat<T, 3, 3> const I{1, 0, 0, 0, 1, 0, 0, 0, 1};
  BOOST_TEST(pp::evaluate(pp::constant(A) * pp::transpose(pp::constant(I)) + pp::constant(b)) ==
             (mat<T, 2, 3>{11, 22, 33, 14, 25, 36}));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(same_shape_elementwise, T, scalar_types) {
  mat<T, 2, 3> const A{1, 2, 3, 4, 5, 6};
  mat<T, 2, 3> const B{2, 0, -1, 0.5, 1, 3};
  auto const a = pp::constant(A);
  auto const b = pp::constant(B);
  BOOST_TEST(pp::evaluate(a + b) == (mat<T, 2, 3>{3, 2, 2, 4.5, 6, 9}));
  BOOST_TEST(pp::evaluate(a - b) == (mat<T, 2, 3>{-1, 2, 4, 3.5, 4, 3}));
  BOOST_TEST(pp::evaluate(pp::hadamard(a, b)) == (mat<T, 2, 3>{2, 0, -3, 2, 5, 18}));
  BOOST_TEST(pp::evaluate(pp::square(a)) == (mat<T, 2, 3>{1, 4, 9, 16, 25, 36}));
  vec<T, 4> const v{1, -2, 0.5, 0};
  vec<T, 4> const w{3, 3, -2, 7};
  BOOST_TEST(pp::evaluate(pp::hadamard(pp::constant(v), pp::constant(w))) ==
             (vec<T, 4>{3, -6, -1, 0}));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(scaling_and_negation, T, scalar_types) {
  mat<T, 2, 3> const A{1, 2, 3, 4, 5, 6};
  auto const a = pp::constant(A);
  BOOST_TEST(pp::evaluate(T(3) * a) == (mat<T, 2, 3>{3, 6, 9, 12, 15, 18}));
  BOOST_TEST(pp::evaluate(a * T(0.5)) == (mat<T, 2, 3>{0.5, 1, 1.5, 2, 2.5, 3}));
  BOOST_TEST(pp::evaluate(a / T(2)) == (mat<T, 2, 3>{0.5, 1, 1.5, 2, 2.5, 3}));
  BOOST_TEST(pp::evaluate(-a) == (mat<T, 2, 3>{-1, -2, -3, -4, -5, -6}));
  BOOST_TEST(pp::evaluate(-(T(2) * a) + a) == (mat<T, 2, 3>{-1, -2, -3, -4, -5, -6}));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(sum_and_mean, T, scalar_types) {
  mat<T, 2, 3> const A{1, 2, 3, 4, 5, 6};
  vec<T, 4> const v{1, -2, 0.5, 4};
  auto const a = pp::constant(A);
  static_assert(std::is_same_v<decltype(pp::evaluate(pp::sum(a))), T>);
  BOOST_TEST(pp::evaluate(pp::sum(a)) == T(21));
  BOOST_TEST(pp::evaluate(pp::mean(a)) == T(3.5));
  BOOST_TEST(pp::evaluate(pp::sum(pp::square(a))) == T(91));
  BOOST_TEST(pp::evaluate(pp::mean(pp::square(a))) == T(91) / T(6));
  BOOST_TEST(pp::evaluate(pp::sum(pp::constant(v))) == T(3.5));
  BOOST_TEST(pp::evaluate(pp::mean(pp::constant(v))) == T(0.875));
  // reductions of products, and arithmetic on scalar expressions
  BOOST_TEST(pp::evaluate(pp::sum(a * pp::transpose(a))) == T(155));
  BOOST_TEST(pp::evaluate(pp::sum(a) - pp::mean(a)) == T(17.5));
  BOOST_TEST(pp::evaluate(pp::square(pp::mean(a))) == T(12.25));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(gradients_of_linear_nodes, T, scalar_types) {
  mat<T, 2, 3> W{1, 2, 3, 4, 5, 6};
  vec<T, 3> x{1, -1, 2};
  vec<T, 2> b{0.5, -0.5};
  auto const W_ = pp::variable<"W">(W);
  auto const x_ = pp::variable<"x">(x);
  auto const b_ = pp::variable<"b">(b);
  // d/dW sum(Wx + b) = 1 x^T, d/dx = W^T 1 (column sums), d/db = 1
  auto const [dW, dx, db] = pp::gradient(pp::sum(W_ * x_ + b_), W_, x_, b_);
  BOOST_TEST(dW == (mat<T, 2, 3>{1, -1, 2, 1, -1, 2}));
  BOOST_TEST(dx == (vec<T, 3>{5, 7, 9}));
  BOOST_TEST(db == (vec<T, 2>{1, 1}));
  // broadcast: d/db sum(C ⊙ (X + b)) = column sums of C
  mat<T, 2, 3> X{0, 0, 0, 0, 0, 0};
  mat<T, 2, 3> const C{1, 2, 3, 4, 5, 6};
  vec<T, 3> c{1, 1, 1};
  auto const X_ = pp::variable<"X">(X);
  auto const c_ = pp::variable<"c">(c);
  auto const [dX, dc] = pp::gradient(pp::sum(pp::hadamard(X_ + c_, pp::constant(C))), X_, c_);
  BOOST_TEST(dX == C);
  BOOST_TEST(dc == (vec<T, 3>{5, 7, 9}));
  auto const [dc_minus] = pp::gradient(pp::sum(pp::hadamard(X_ - c_, pp::constant(C))), c_);
  BOOST_TEST(dc_minus == (vec<T, 3>{-5, -7, -9}));
  // mean divides by the element count: d/dW mean(W x) = 1 x^T / 2
  auto const [dW_mean] = pp::gradient(pp::mean(W_ * x_), W_);
  BOOST_TEST(dW_mean == (mat<T, 2, 3>{0.5, -0.5, 1, 0.5, -0.5, 1}));
  // scaling, negation, square, hadamard
  auto const [dx_scaled] = pp::gradient(pp::sum(T(-0.5) * x_ / T(2)), x_);
  BOOST_TEST(dx_scaled == (vec<T, 3>{-0.25, -0.25, -0.25}));
  auto const [dx_square] = pp::gradient(pp::sum(pp::square(-x_)), x_);
  BOOST_TEST(dx_square == (vec<T, 3>{2, -2, 4}));
  auto const [dW_h, dC_h] = pp::gradient(pp::sum(pp::hadamard(W_, X_ + pp::constant(C))), W_, X_);
  BOOST_TEST(dW_h == C);
  BOOST_TEST(dC_h == W);
  // a transposed variable: d/dW sum(W^T u) with u = (1, 2) is u 1^T
  vec<T, 2> const u{1, 2};
  auto const [dW_t] = pp::gradient(pp::sum(pp::transpose(W_) * pp::constant(u)), W_);
  BOOST_TEST(dW_t == (mat<T, 2, 3>{1, 1, 1, 2, 2, 2}));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(mse_by_hand, T, scalar_types) {
  vec<T, 3> p{1, 2, 3};
  vec<T, 3> const y{1, 0, 0};
  auto const p_ = pp::variable<"p">(p);
  auto const [value, grads] = pp::value_and_gradient(pp::mse{}(p_, y), p_);
  BOOST_TEST(relative_error(value, 13.0 / 3.0, 0) <= 1e-7);
  // 2 (p - y) / 3
  BOOST_TEST(relative_error(std::get<0>(grads)[1], 4.0 / 3.0, 0) <= 1e-7);
  BOOST_TEST(std::get<0>(grads)[0] == T(0));
  BOOST_TEST(relative_error(std::get<0>(grads)[2], 2.0, 0) <= 1e-7);
  // a batch: the mean is over every element (4), not over the rows (2)
  mat<T, 2, 2> const P{1, 2, 3, 4};
  mat<T, 2, 2> const Z{0, 0, 0, 0};
  BOOST_TEST(pp::evaluate(pp::mse{}(pp::constant(P), Z)) == T(7.5));
  // the target may be an expression
  BOOST_TEST(pp::evaluate(pp::mse{}(pp::constant(P), pp::constant(P) * T(2))) == T(7.5));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(huber_by_hand, T, scalar_types) {
  vec<T, 4> p{0.5, 2, -3, 1};
  vec<T, 4> const y{0, 0, 0, 0};
  auto const p_ = pp::variable<"p">(p);
  struct expected_t {
    double delta;
    double value;
    vec<T, 4> gradient;  // clip(p - y, -delta, delta) / 4
  };
  std::array<expected_t, 3> const expected{{
      // 0.125, 1.5, 2.5, 0.5 (|d| = delta exactly: 0.5 delta^2)
      {1.0, 4.625 / 4, vec<T, 4>{0.125, 0.25, -0.25, 0.25}},
      // 0.125, 2 (|d| = delta exactly), 2 (3 - 1) = 4, 0.5
      {2.0, 6.625 / 4, vec<T, 4>{0.125, 0.5, -0.5, 0.25}},
      // 0.125 (|d| = delta exactly), 0.5 (2 - 0.25), 0.5 (3 - 0.25), 0.5 (1 - 0.25)
      {0.5, 2.75 / 4, vec<T, 4>{0.125, 0.125, -0.125, 0.125}},
  }};
  for (auto const& e : expected) {
    BOOST_TEST_CONTEXT("delta " << e.delta) {
      auto const [value, grads] = pp::value_and_gradient(pp::huber{e.delta}(p_, y), p_);
      BOOST_TEST(relative_error(value, e.value, 0) <= 1e-7);
      BOOST_TEST(std::get<0>(grads) == e.gradient);
    }
  }
  // the default delta is 1
  BOOST_TEST(pp::evaluate(pp::huber{}(p_, y)) == T(4.625 / 4));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(bce_with_logits_by_hand, T, scalar_types) {
  vec<T, 4> z{0, 2, -1, 0.5};
  vec<T, 4> const y{1, 0, 0.25, 1};
  auto const z_ = pp::variable<"z">(z);
  auto const [value, grads] = pp::value_and_gradient(pp::bce_with_logits{}(z_, y), z_);
  // textbook form: -[y ln s + (1 - y) ln(1 - s)], s = sigmoid(z), averaged over the elements
  double expected = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    double const s = pp::test::std_sigmoid(static_cast<double>(z[i]));
    double const t = static_cast<double>(y[i]);
    expected -= (t * std::log(s) + (1 - t) * std::log(1 - s)) / 4;
  }
  double const tol = std::is_same_v<T, float> ? 1e-6 : 1e-14;
  BOOST_TEST(relative_error(value, expected, 0) <= tol);
  for (std::size_t i = 0; i < 4; ++i) {
    double const d =
        (pp::test::std_sigmoid(static_cast<double>(z[i])) - static_cast<double>(y[i])) / 4;
    BOOST_TEST(relative_error(std::get<0>(grads)[i], d, 1e-12) <= tol);
  }
  // z = 0, y = 1 alone is ln 2
  vec<T, 1> const z0{0};
  vec<T, 1> const y1{1};
  BOOST_TEST(relative_error(pp::evaluate(pp::bce_with_logits{}(pp::constant(z0), y1)),
                            std::numbers::ln2, 0) <= tol);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(softmax_cross_entropy_by_hand, T, scalar_types) {
  double const tol = std::is_same_v<T, float> ? 1e-6 : 1e-14;
  vec<T, 3> z{1, 2, 3};
  auto const z_ = pp::variable<"z">(z);
  double const lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  for (int label = 0; label < 3; ++label) {
    BOOST_TEST_CONTEXT("label " << label) {
      auto const [value, grads] =
          pp::value_and_gradient(pp::softmax_cross_entropy{}(z_, label), z_);
      BOOST_TEST(relative_error(value, lse - (label + 1), 0) <= tol);
      for (std::size_t j = 0; j < 3; ++j) {
        double const softmax = std::exp(static_cast<double>(j + 1) - lse);
        double const onehot = static_cast<std::size_t>(label) == j ? 1.0 : 0.0;
        BOOST_TEST(relative_error(std::get<0>(grads)[j], softmax - onehot, 0) <= tol);
      }
      // the one-hot target gives the same value and gradient
      vec<T, 3> onehot{};
      onehot[static_cast<std::size_t>(label)] = T(1);
      auto const [value_t, grads_t] =
          pp::value_and_gradient(pp::softmax_cross_entropy{}(z_, onehot), z_);
      BOOST_TEST(value_t == value);
      BOOST_TEST(std::get<0>(grads_t) == std::get<0>(grads));
    }
  }
  // a soft target: sum_j y_j (lse - z_j); gradient softmax - y (the target sums to 1)
  vec<T, 3> const soft{0.25, 0.25, 0.5};
  auto const [value_s, grads_s] = pp::value_and_gradient(pp::softmax_cross_entropy{}(z_, soft), z_);
  BOOST_TEST(relative_error(value_s, lse - (0.25 * 1 + 0.25 * 2 + 0.5 * 3), 0) <= tol);
  for (std::size_t j = 0; j < 3; ++j) {
    double const softmax = std::exp(static_cast<double>(j + 1) - lse);
    BOOST_TEST(relative_error(std::get<0>(grads_s)[j], softmax - static_cast<double>(soft[j]),
                              1.0) <= tol);
  }
  // a batch of two rows, averaged over the rows: (lse - 3 + ln 3) / 2
  mat<T, 2, 3> Z{1, 2, 3, 1, 1, 1};
  auto const Z_ = pp::variable<"Z">(Z);
  std::array<int, 2> const labels{2, 0};
  auto const [value_b, grads_b] =
      pp::value_and_gradient(pp::softmax_cross_entropy{}(Z_, labels), Z_);
  BOOST_TEST(relative_error(value_b, (lse - 3 + std::log(3.0)) / 2, 0) <= tol);
  auto const& dZ = std::get<0>(grads_b);
  BOOST_TEST(relative_error(dZ(0, 2), (std::exp(3 - lse) - 1) / 2, 0) <= tol);
  BOOST_TEST(relative_error(dZ(1, 0), (1.0 / 3 - 1) / 2, 0) <= tol);
  BOOST_TEST(relative_error(dZ(1, 1), (1.0 / 3) / 2, 0) <= tol);
}

BOOST_AUTO_TEST_CASE(result_types) {
  mat<double, 4, 3> X{};
  mat<double, 2, 3> W{};
  vec<double, 2> b{};
  auto const X_ = pp::variable<"X">(X);
  auto const W_ = pp::variable<"W">(W);
  auto const b_ = pp::variable<"b">(b);
  auto const z = pp::tanh{}(X_ * pp::transpose(W_) + b_);
  static_assert(std::is_same_v<pp::value_t<decltype(z)>, mat<double, 4, 2>>);
  static_assert(std::is_same_v<decltype(z)::shape_type, pp::shape<4, 2>>);
  static_assert(pp::Expression<decltype(z)> && !pp::ScalarExpression<decltype(z)>);
  static_assert(pp::ScalarExpression<decltype(pp::sum(z))>);
  auto const [dW, db] = pp::gradient(pp::sum(z), W_, b_);
  static_assert(std::is_same_v<std::remove_const_t<decltype(dW)>, mat<double, 2, 3>>);
  static_assert(std::is_same_v<std::remove_const_t<decltype(db)>, vec<double, 2>>);
  BOOST_TEST(pp::evaluate(pp::sum(z)) == 0.0);
}

BOOST_AUTO_TEST_SUITE_END()

// =============================================================================================
BOOST_AUTO_TEST_SUITE(activations)

BOOST_AUTO_TEST_CASE_TEMPLATE(values_match_closed_forms, A, pp::test::activation_cases) {
  auto const y = pp::evaluate(A::op(pp::constant(pp::test::activation_points)));
  auto const same = pp::evaluate(pp::apply(A::op, pp::constant(pp::test::activation_points)));
  for (std::size_t i = 0; i < pp::test::activation_points.size(); ++i) {
    double const x = pp::test::activation_points[i];
    BOOST_TEST_CONTEXT(A::name << " at " << x) {
      BOOST_TEST(relative_error(y[i], A::value(x), 1e-300) <= 1e-14);
      BOOST_TEST(same[i] == y[i]);
    }
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(derivatives_match_closed_forms, A, pp::test::activation_cases) {
  vec<double, pp::test::activation_points.size()> x = pp::test::activation_points;
  auto const x_ = pp::variable<"x">(x);
  auto const [dx] = pp::gradient(pp::sum(A::op(x_)), x_);
  for (std::size_t i = 0; i < x.size(); ++i) {
    BOOST_TEST_CONTEXT(A::name << " at " << x[i]) {
      // absolute below 1: 1 - tanh^2 and the like lose relative accuracy in the tails
      BOOST_TEST(relative_error(dx[i], A::derivative(x[i]), 1.0) <= 1e-14);
    }
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(float_matches_double, A, pp::test::activation_cases) {
  auto const xf = pp::test::cast<float>(pp::test::activation_points);
  vec<double, pp::test::activation_points.size()> xd =
      pp::test::cast<double>(xf);  // the same numbers
  vec<float, pp::test::activation_points.size()> xv = xf;
  auto const xd_ = pp::variable<"x">(xd);
  auto const xf_ = pp::variable<"x">(xv);
  auto const [yd, dd] = pp::value_and_gradient(pp::sum(pp::hadamard(A::op(xd_), xd_)), xd_);
  auto const [yf, df] = pp::value_and_gradient(pp::sum(pp::hadamard(A::op(xf_), xf_)), xf_);
  auto const value_d = pp::evaluate(A::op(xd_));
  auto const value_f = pp::evaluate(A::op(xf_));
  BOOST_TEST_CONTEXT(A::name) {
    // absolute below 1, relative above
    BOOST_TEST(relative_error(yf, yd, 1.0) <= 1e-6);
    for (std::size_t i = 0; i < xd.size(); ++i) {
      BOOST_TEST_CONTEXT("at " << xd[i]) {
        BOOST_TEST(relative_error(value_f[i], value_d[i], 1.0) <= 5e-7);
        BOOST_TEST(relative_error(std::get<0>(df)[i], std::get<0>(dd)[i], 1.0) <= 1e-6);
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

// =============================================================================================
BOOST_AUTO_TEST_SUITE(float_runs)

// Composed expressions evaluated in float on the same inputs (rounded to float) as in double.
BOOST_AUTO_TEST_CASE(composed_values_and_gradients_match_double) {
  pp::test::for_all_dims([]<class D>(std::type_identity<D>) {
    BOOST_TEST_CONTEXT(D::name()) {
      splitmix64 rng{D::seed + 7};
      auto const Xf = random_tensor<mat<float, D::batch, D::in>>(rng, -2, 2);
      auto const Wf = random_tensor<mat<float, D::out, D::in>>(rng);
      auto const bf = random_tensor<vec<float, D::out>>(rng, -0.5, 0.5);
      auto const Yf = random_tensor<mat<float, D::batch, D::out>>(rng);
      std::array<int, D::batch> labels{};
      for (auto& l : labels) l = static_cast<int>(rng.next() % D::out);
      auto const run = [&]<class T>(std::type_identity<T>) {
        auto const X = pp::test::cast<T>(Xf);
        auto const W = pp::test::cast<T>(Wf);
        auto const b = pp::test::cast<T>(bf);
        auto const Y = pp::test::cast<T>(Yf);
        auto const X_ = pp::variable<"X">(X);
        auto const W_ = pp::variable<"W">(W);
        auto const b_ = pp::variable<"b">(b);
        auto const z = X_ * pp::transpose(W_) + b_;
        return std::tuple{
            pp::evaluate(pp::gelu{}(z)),
            pp::value_and_gradient(pp::mse{}(pp::tanh{}(z), Y), W_, b_),
            pp::value_and_gradient(pp::softmax_cross_entropy{}(z, labels), W_, b_),
            pp::value_and_gradient(pp::bce_with_logits{}(z, pp::sigmoid{}(pp::constant(Y))), W_, b_,
                                   X_)};
      };
      auto const [gelu_f, mse_f, ce_f, bce_f] = run(std::type_identity<float>{});
      auto const [gelu_d, mse_d, ce_d, bce_d] = run(std::type_identity<double>{});
      // relative above 1e-2, absolute below
      BOOST_TEST(
          pp::test::compare(gelu_f, pp::test::cast<float>(gelu_d), 1e-2).max_relative_error <=
          1e-5);
      BOOST_TEST(relative_error(mse_f.value, mse_d.value, 1e-2) <= 1e-5);
      BOOST_TEST(relative_error(ce_f.value, ce_d.value, 1e-2) <= 1e-5);
      BOOST_TEST(relative_error(bce_f.value, bce_d.value, 1e-2) <= 1e-5);
      auto const grad_error = [](auto const& gf, auto const& gd) {
        return pp::test::compare(gf, pp::test::cast<float>(gd), 1e-2).max_relative_error;
      };
      BOOST_TEST(grad_error(std::get<0>(mse_f.gradients), std::get<0>(mse_d.gradients)) <= 1e-5);
      BOOST_TEST(grad_error(std::get<1>(mse_f.gradients), std::get<1>(mse_d.gradients)) <= 1e-5);
      BOOST_TEST(grad_error(std::get<0>(ce_f.gradients), std::get<0>(ce_d.gradients)) <= 1e-5);
      BOOST_TEST(grad_error(std::get<1>(ce_f.gradients), std::get<1>(ce_d.gradients)) <= 1e-5);
      BOOST_TEST(grad_error(std::get<0>(bce_f.gradients), std::get<0>(bce_d.gradients)) <= 1e-5);
      BOOST_TEST(grad_error(std::get<2>(bce_f.gradients), std::get<2>(bce_d.gradients)) <= 1e-5);
    }
  });
}

BOOST_AUTO_TEST_SUITE_END()
