// SPDX-License-Identifier: BSL-1.0
// Part of the expr_nodes test executable: the gradient of every activation against central
// finite differences in double, alone and composed under products, reductions and a loss.
#include "support/expr_nodes_common.hpp"

// =============================================================================================
BOOST_AUTO_TEST_SUITE(activations)

BOOST_AUTO_TEST_CASE_TEMPLATE(gradients_match_finite_differences, A, pp::test::activation_cases) {
  pp::test::for_all_dims([]<class D>(std::type_identity<D>) {
    BOOST_TEST_CONTEXT(A::name << ", " << D::name()) {
      splitmix64 rng{D::seed};
      auto X = random_tensor<mat<double, D::batch, D::in>>(rng, -3, 3);
      auto const C = random_tensor<mat<double, D::batch, D::in>>(rng);
      auto W = random_tensor<mat<double, D::out, D::in>>(rng);
      auto x = random_tensor<vec<double, D::in>>(rng, -2, 2);
      auto b = random_tensor<vec<double, D::out>>(rng, -0.5, 0.5);
      auto const Y = random_tensor<mat<double, D::batch, D::out>>(rng);
      auto const X_ = pp::variable<"X">(X);
      auto const W_ = pp::variable<"W">(W);
      auto const x_ = pp::variable<"x">(x);
      auto const b_ = pp::variable<"b">(b);
      // alone, weighted so that every element's derivative differs
      PROPEL_EXPECT_GRADCHECK(pp::sum(pp::hadamard(A::op(X_), pp::constant(C))), wrt(X_, X));
      // one sample through a layer
      PROPEL_EXPECT_GRADCHECK(pp::sum(A::op(W_ * x_ + b_)), wrt(W_, W), wrt(x_, x), wrt(b_, b));
      // a batch through a layer, under a loss
      PROPEL_EXPECT_GRADCHECK(pp::mse{}(A::op(X_ * pp::transpose(W_) + b_), Y), wrt(W_, W),
                              wrt(b_, b), wrt(X_, X));
      // an activation as a product operand, under a reduction
      PROPEL_EXPECT_GRADCHECK(pp::mean(pp::square(A::op(X_) * pp::transpose(W_))), wrt(X_, X),
                              wrt(W_, W));
    }
  });
}

BOOST_AUTO_TEST_CASE_TEMPLATE(composed_gradients_match_finite_differences, A,
                              pp::test::activation_cases) {
  using D = pp::test::dims_tall;
  BOOST_TEST_CONTEXT(A::name << ", " << D::name()) {
    splitmix64 rng{D::seed + 100};
    auto X = random_tensor<mat<double, D::batch, D::in>>(rng, -2, 2);
    auto W = random_tensor<mat<double, D::out, D::in>>(rng);
    auto x = random_tensor<vec<double, D::in>>(rng, -2, 2);
    auto b = random_tensor<vec<double, D::out>>(rng, -0.5, 0.5);
    auto const X_ = pp::variable<"X">(X);
    auto const W_ = pp::variable<"W">(W);
    auto const x_ = pp::variable<"x">(x);
    auto const b_ = pp::variable<"b">(b);
    // the transpose of a product under the activation, under a mean
    PROPEL_EXPECT_GRADCHECK(pp::mean(A::op(pp::transpose(W_ * pp::transpose(X_)))), wrt(X_, X),
                            wrt(W_, W));
    // two activations in a row, with a bias between them
    PROPEL_EXPECT_GRADCHECK(pp::sum(A::op(pp::tanh{}(W_ * x_) + b_)), wrt(W_, W), wrt(x_, x),
                            wrt(b_, b));
  }
}

BOOST_AUTO_TEST_SUITE_END()
