// SPDX-License-Identifier: BSL-1.0
// Part of the expr_nodes test executable: the gradient of every activation against central
// finite differences in double, alone and composed under products, reductions and a loss.
#include <bit>
#include <cstdint>
#include <iterator>

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

// =============================================================================================
// tanh, sigmoid and relu keep their forward values and differentiate from them; the result
// must be the same bits as evaluating the derivative from the pre-activation, and the kept
// values must replace (not add to) the buffer a product makes for its operand.
namespace {

/// The same activation without derivative_of_value: its node recomputes from x.
template <class Act>
struct recomputing : pp::detail::activation_call<recomputing<Act>> {
  template <class T>
  [[nodiscard]] constexpr T value(T x) const noexcept {
    return Act{}.value(x);
  }
  template <class T>
  [[nodiscard]] constexpr T derivative(T x) const noexcept {
    return Act{}.derivative(x);
  }
};

template <class Act>
void expect_kept_values_change_nothing() {
  static_assert(pp::detail::keeps_value_v<Act, float>);
  static_assert(!pp::detail::keeps_value_v<recomputing<Act>, float>);
  splitmix64 rng{77};
  auto X = random_tensor<mat<float, 5, 7>>(rng, -3, 3);
  auto W1 = random_tensor<mat<float, 6, 7>>(rng);
  auto W2 = random_tensor<mat<float, 3, 6>>(rng);
  auto b = random_tensor<vec<float, 6>>(rng, -0.5, 0.5);
  auto const Y = random_tensor<mat<float, 5, 3>>(rng);
  auto const X_ = pp::variable<"X">(X);
  auto const W1_ = pp::variable<"W1">(W1);
  auto const W2_ = pp::variable<"W2">(W2);
  auto const b_ = pp::variable<"b">(b);
  auto const loss = [&]<class A>(A act) {
    return pp::mse{}(act(X_ * pp::transpose(W1_) + b_) * pp::transpose(W2_), Y);
  };
  auto const kept = pp::value_and_gradient(loss(Act{}), X_, W1_, W2_, b_);
  auto const recomputed = pp::value_and_gradient(loss(recomputing<Act>{}), X_, W1_, W2_, b_);
  BOOST_TEST(std::bit_cast<std::uint32_t>(kept.value) ==
             std::bit_cast<std::uint32_t>(recomputed.value));
  auto const same_bits = [](auto const& u, auto const& v) {
    for (std::size_t i = 0; i < std::size(u.elements); ++i) {
      if (std::bit_cast<std::uint32_t>(u.elements[i]) !=
          std::bit_cast<std::uint32_t>(v.elements[i]))
        return false;
    }
    return true;
  };
  BOOST_TEST(same_bits(std::get<0>(kept.gradients), std::get<0>(recomputed.gradients)));
  BOOST_TEST(same_bits(std::get<1>(kept.gradients), std::get<1>(recomputed.gradients)));
  BOOST_TEST(same_bits(std::get<2>(kept.gradients), std::get<2>(recomputed.gradients)));
  BOOST_TEST(same_bits(std::get<3>(kept.gradients), std::get<3>(recomputed.gradients)));
  // the product reads the kept values in place: no larger workspace than a buffered operand
  static_assert(sizeof(pp::workspace_t<decltype(loss(Act{}))>) <=
                sizeof(pp::workspace_t<decltype(loss(recomputing<Act>{}))>));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(kept_values)

BOOST_AUTO_TEST_CASE(same_bits_as_recomputing_the_derivative) {
  expect_kept_values_change_nothing<pp::tanh>();
  expect_kept_values_change_nothing<pp::sigmoid>();
  expect_kept_values_change_nothing<pp::relu>();
  static_assert(!pp::detail::keeps_value_v<pp::elu, float>);
  static_assert(!pp::detail::keeps_value_v<pp::identity, float>);
}

BOOST_AUTO_TEST_SUITE_END()
