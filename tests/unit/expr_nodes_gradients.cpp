// SPDX-License-Identifier: BSL-1.0
// Part of the expr_nodes test executable: the gradients of products, transposes, element-wise
// nodes, broadcasts, reductions and every loss against central finite differences in double, on
// seeded random shapes and values, alone and composed.
#include "support/expr_nodes_common.hpp"

// =============================================================================================
BOOST_AUTO_TEST_SUITE(nodes_against_finite_differences)

BOOST_AUTO_TEST_CASE(products) {
  pp::test::for_all_dims([]<class D>(std::type_identity<D>) {
    BOOST_TEST_CONTEXT(D::name()) {
      splitmix64 rng{D::seed + 1};
      auto A = random_tensor<mat<double, D::batch, D::in>>(rng);
      auto B = random_tensor<mat<double, D::in, D::out>>(rng);
      auto const C = random_tensor<mat<double, D::batch, D::out>>(rng);
      auto W = random_tensor<mat<double, D::out, D::in>>(rng);
      auto V = random_tensor<mat<double, D::out, D::batch>>(rng);
      auto x = random_tensor<vec<double, D::in>>(rng);
      auto y = random_tensor<vec<double, D::in>>(rng);
      auto const c = random_tensor<vec<double, D::out>>(rng);
      auto const A_ = pp::variable<"A">(A);
      auto const B_ = pp::variable<"B">(B);
      auto const W_ = pp::variable<"W">(W);
      auto const V_ = pp::variable<"V">(V);
      auto const x_ = pp::variable<"x">(x);
      auto const y_ = pp::variable<"y">(y);
      auto const C_in = random_tensor<mat<double, D::batch, D::in>>(rng);
      auto const c_batch = random_tensor<vec<double, D::batch>>(rng);
      auto const Cc = pp::constant(C);
      // matrix-matrix (axpy order) and matrix-vector (dot order)
      PROPEL_EXPECT_GRADCHECK(pp::sum(pp::hadamard(A_ * B_, Cc)), wrt(A_, A), wrt(B_, B));
      PROPEL_EXPECT_GRADCHECK(pp::sum(pp::hadamard(W_ * x_, pp::constant(c))), wrt(W_, W),
                              wrt(x_, x));
      // transposed operands, on either side and on both (their gradients are written through
      // the transpose's index map)
      PROPEL_EXPECT_GRADCHECK(pp::sum(pp::hadamard(A_ * pp::transpose(W_), Cc)), wrt(A_, A),
                              wrt(W_, W));
      PROPEL_EXPECT_GRADCHECK(pp::sum(pp::hadamard(pp::transpose(V_) * W_, pp::constant(C_in))),
                              wrt(V_, V), wrt(W_, W));
      PROPEL_EXPECT_GRADCHECK(
          pp::sum(pp::hadamard(pp::transpose(B_) * pp::transpose(A_), pp::transpose(Cc))),
          wrt(A_, A), wrt(B_, B));
      PROPEL_EXPECT_GRADCHECK(pp::mean(pp::square(pp::transpose(A_) * pp::transpose(V_))),
                              wrt(A_, A), wrt(V_, V));
      // operands that are expressions (buffered), a product of products, a transposed product
      PROPEL_EXPECT_GRADCHECK(pp::sum(pp::hadamard(pp::tanh{}(A_)*pp::sigmoid{}(B_), Cc)),
                              wrt(A_, A), wrt(B_, B));
      PROPEL_EXPECT_GRADCHECK(pp::mean(pp::square(A_ * (B_ * pp::constant(c)))), wrt(A_, A),
                              wrt(B_, B));
      PROPEL_EXPECT_GRADCHECK(pp::mean(pp::square((A_ * B_) * pp::constant(c))), wrt(A_, A),
                              wrt(B_, B));
      PROPEL_EXPECT_GRADCHECK(pp::sum(pp::hadamard(pp::transpose(W_ * pp::transpose(A_)), Cc)),
                              wrt(A_, A), wrt(W_, W));
      PROPEL_EXPECT_GRADCHECK(pp::sum(pp::transpose(pp::tanh{}(A_)) * pp::constant(c_batch)),
                              wrt(A_, A));
      // the same variable more than once: the contributions add up
      PROPEL_EXPECT_GRADCHECK(pp::sum(pp::hadamard(W_ * x_, W_ * y_)), wrt(W_, W), wrt(x_, x),
                              wrt(y_, y));
      PROPEL_EXPECT_GRADCHECK(pp::mean(pp::square(pp::transpose(A_) * A_)), wrt(A_, A));
      PROPEL_EXPECT_GRADCHECK(pp::mean(pp::square(A_ * pp::transpose(A_))), wrt(A_, A));
    }
  });
}

BOOST_AUTO_TEST_CASE(elementwise_and_broadcast) {
  pp::test::for_all_dims([]<class D>(std::type_identity<D>) {
    BOOST_TEST_CONTEXT(D::name()) {
      splitmix64 rng{D::seed + 2};
      auto X = random_tensor<mat<double, D::batch, D::in>>(rng, -2, 2);
      auto Z = random_tensor<mat<double, D::batch, D::in>>(rng, -2, 2);
      auto const C = random_tensor<mat<double, D::batch, D::in>>(rng);
      auto b = random_tensor<vec<double, D::in>>(rng);
      auto v = random_tensor<vec<double, D::in>>(rng);
      auto const X_ = pp::variable<"X">(X);
      auto const Z_ = pp::variable<"Z">(Z);
      auto const b_ = pp::variable<"b">(b);
      auto const v_ = pp::variable<"v">(v);
      auto const Cc = pp::constant(C);
      // bias broadcast over the rows, added and subtracted, alone and under an activation
      PROPEL_EXPECT_GRADCHECK(pp::sum(pp::hadamard(X_ + b_, Cc)), wrt(X_, X), wrt(b_, b));
      PROPEL_EXPECT_GRADCHECK(pp::sum(pp::hadamard(X_ - b_, Cc)), wrt(X_, X), wrt(b_, b));
      PROPEL_EXPECT_GRADCHECK(pp::mean(pp::tanh{}(pp::hadamard(X_, Cc) - pp::square(b_))),
                              wrt(X_, X), wrt(b_, b));
      // same-shape +, -, hadamard (both operands variables, and the same variable twice)
      PROPEL_EXPECT_GRADCHECK(pp::sum(pp::hadamard(X_ + Z_, Cc)), wrt(X_, X), wrt(Z_, Z));
      PROPEL_EXPECT_GRADCHECK(pp::sum(pp::hadamard(X_ - Z_, Cc)), wrt(X_, X), wrt(Z_, Z));
      PROPEL_EXPECT_GRADCHECK(pp::sum(pp::hadamard(pp::hadamard(X_, Z_), Cc)), wrt(X_, X),
                              wrt(Z_, Z));
      PROPEL_EXPECT_GRADCHECK(pp::sum(pp::hadamard(X_, X_)), wrt(X_, X));
      PROPEL_EXPECT_GRADCHECK(pp::sum(pp::hadamard(v_, pp::sigmoid{}(b_ - v_))), wrt(v_, v),
                              wrt(b_, b));
      // scaling, division, negation, square
      PROPEL_EXPECT_GRADCHECK(pp::sum(pp::hadamard(2.5 * X_, Cc)), wrt(X_, X));
      PROPEL_EXPECT_GRADCHECK(pp::sum(pp::hadamard(X_ * -1.5, Cc)), wrt(X_, X));
      PROPEL_EXPECT_GRADCHECK(pp::sum(pp::hadamard(X_ / 4.0, Cc)), wrt(X_, X));
      PROPEL_EXPECT_GRADCHECK(pp::sum(pp::hadamard(-X_, Cc)), wrt(X_, X));
      PROPEL_EXPECT_GRADCHECK(pp::sum(pp::hadamard(pp::square(X_), Cc)), wrt(X_, X));
      PROPEL_EXPECT_GRADCHECK(pp::sum(pp::square(-(0.5 * v_) + b_ / 3.0)), wrt(v_, v), wrt(b_, b));
    }
  });
}

BOOST_AUTO_TEST_CASE(reductions) {
  pp::test::for_all_dims([]<class D>(std::type_identity<D>) {
    BOOST_TEST_CONTEXT(D::name()) {
      splitmix64 rng{D::seed + 3};
      auto X = random_tensor<mat<double, D::batch, D::in>>(rng, -2, 2);
      auto W = random_tensor<mat<double, D::out, D::in>>(rng);
      auto v = random_tensor<vec<double, D::in>>(rng, -2, 2);
      auto const X_ = pp::variable<"X">(X);
      auto const W_ = pp::variable<"W">(W);
      auto const v_ = pp::variable<"v">(v);
      PROPEL_EXPECT_GRADCHECK(pp::sum(X_), wrt(X_, X));
      PROPEL_EXPECT_GRADCHECK(pp::mean(X_), wrt(X_, X));
      PROPEL_EXPECT_GRADCHECK(pp::sum(pp::square(v_)), wrt(v_, v));
      PROPEL_EXPECT_GRADCHECK(pp::mean(pp::square(v_)), wrt(v_, v));
      // a reduction of a product, and element-wise arithmetic on reductions
      PROPEL_EXPECT_GRADCHECK(pp::mean(pp::square(pp::transpose(X_) * X_)), wrt(X_, X));
      PROPEL_EXPECT_GRADCHECK(pp::hadamard(pp::sum(pp::tanh{}(W_ * v_)), pp::mean(X_)), wrt(W_, W),
                              wrt(v_, v), wrt(X_, X));
      PROPEL_EXPECT_GRADCHECK(pp::square(pp::mean(X_)) - 3.0 * pp::sum(pp::sigmoid{}(v_)),
                              wrt(X_, X), wrt(v_, v));
      PROPEL_EXPECT_GRADCHECK(pp::sigmoid{}(pp::sum(X_ * pp::transpose(W_))), wrt(X_, X),
                              wrt(W_, W));
    }
  });
}

BOOST_AUTO_TEST_SUITE_END()

// =============================================================================================
BOOST_AUTO_TEST_SUITE(losses_against_finite_differences)

BOOST_AUTO_TEST_CASE(regression_losses) {
  pp::test::for_all_dims([]<class D>(std::type_identity<D>) {
    BOOST_TEST_CONTEXT(D::name()) {
      splitmix64 rng{D::seed + 4};
      auto X = random_tensor<mat<double, D::batch, D::in>>(rng, -2, 2);
      auto W = random_tensor<mat<double, D::out, D::in>>(rng);
      auto b = random_tensor<vec<double, D::out>>(rng, -0.5, 0.5);
      auto Y = random_tensor<mat<double, D::batch, D::out>>(rng, -2, 2);
      auto x = random_tensor<vec<double, D::in>>(rng, -2, 2);
      auto y = random_tensor<vec<double, D::out>>(rng, -2, 2);
      auto const X_ = pp::variable<"X">(X);
      auto const W_ = pp::variable<"W">(W);
      auto const b_ = pp::variable<"b">(b);
      auto const Y_ = pp::variable<"Y">(Y);
      auto const x_ = pp::variable<"x">(x);
      auto const y_ = pp::variable<"y">(y);
      auto const batch = X_ * pp::transpose(W_) + b_;
      auto const sample = W_ * x_ + b_;
      // mse, plain targets and targets that are variables too
      PROPEL_EXPECT_GRADCHECK(pp::mse{}(batch, Y), wrt(W_, W), wrt(b_, b), wrt(X_, X));
      PROPEL_EXPECT_GRADCHECK(pp::mse{}(pp::tanh{}(batch), Y_), wrt(W_, W), wrt(b_, b), wrt(X_, X),
                              wrt(Y_, Y));
      PROPEL_EXPECT_GRADCHECK(pp::mse{}(pp::elu{}(sample), y_), wrt(W_, W), wrt(b_, b), wrt(x_, x),
                              wrt(y_, y));
      // huber with several deltas: differences fall on both sides of +-delta
      for (double const delta : {0.1, 0.5, 1.0, 2.0}) {
        BOOST_TEST_CONTEXT("huber delta " << delta) {
          PROPEL_EXPECT_GRADCHECK(pp::huber{delta}(batch, Y), wrt(W_, W), wrt(b_, b), wrt(X_, X));
          PROPEL_EXPECT_GRADCHECK(pp::huber{delta}(pp::relu{}(batch), Y_), wrt(W_, W), wrt(b_, b),
                                  wrt(X_, X), wrt(Y_, Y));
          PROPEL_EXPECT_GRADCHECK(pp::huber{delta}(sample, y_), wrt(W_, W), wrt(b_, b), wrt(x_, x),
                                  wrt(y_, y));
        }
      }
      // two layers
      auto W2 = random_tensor<mat<double, D::in, D::out>>(rng);
      auto b2 = random_tensor<vec<double, D::in>>(rng, -0.5, 0.5);
      auto const T2 = random_tensor<mat<double, D::batch, D::in>>(rng);
      auto const W2_ = pp::variable<"W2">(W2);
      auto const b2_ = pp::variable<"b2">(b2);
      PROPEL_EXPECT_GRADCHECK(pp::mse{}(pp::tanh{}(pp::tanh{}(batch)*pp::transpose(W2_) + b2_), T2),
                              wrt(W_, W), wrt(b_, b), wrt(W2_, W2), wrt(b2_, b2), wrt(X_, X));
    }
  });
}

BOOST_AUTO_TEST_CASE(bce_with_logits) {
  pp::test::for_all_dims([]<class D>(std::type_identity<D>) {
    BOOST_TEST_CONTEXT(D::name()) {
      splitmix64 rng{D::seed + 5};
      auto X = random_tensor<mat<double, D::batch, D::in>>(rng, -2, 2);
      auto W = random_tensor<mat<double, D::out, D::in>>(rng, -2, 2);
      auto b = random_tensor<vec<double, D::out>>(rng, -1, 1);
      auto Y = random_tensor<mat<double, D::batch, D::out>>(rng, 0, 1);
      auto const X_ = pp::variable<"X">(X);
      auto const W_ = pp::variable<"W">(W);
      auto const b_ = pp::variable<"b">(b);
      auto const Y_ = pp::variable<"Y">(Y);
      auto const logits = X_ * pp::transpose(W_) + b_;
      PROPEL_EXPECT_GRADCHECK(pp::bce_with_logits{}(logits, Y), wrt(W_, W), wrt(b_, b), wrt(X_, X));
      PROPEL_EXPECT_GRADCHECK(pp::bce_with_logits{}(pp::silu{}(logits), Y_), wrt(W_, W), wrt(b_, b),
                              wrt(X_, X), wrt(Y_, Y));
      vec<double, D::out> y = pp::test::random_one_hot<vec<double, D::out>>(rng);
      auto x = random_tensor<vec<double, D::in>>(rng, -2, 2);
      auto const x_ = pp::variable<"x">(x);
      PROPEL_EXPECT_GRADCHECK(pp::bce_with_logits{}(W_ * x_ + b_, y), wrt(W_, W), wrt(b_, b),
                              wrt(x_, x));
    }
  });
}

BOOST_AUTO_TEST_CASE(softmax_cross_entropy) {
  pp::test::for_all_dims([]<class D>(std::type_identity<D>) {
    BOOST_TEST_CONTEXT(D::name()) {
      splitmix64 rng{D::seed + 6};
      constexpr std::size_t classes = D::out;
      auto X = random_tensor<mat<double, D::batch, D::in>>(rng, -2, 2);
      auto W = random_tensor<mat<double, classes, D::in>>(rng, -2, 2);
      auto b = random_tensor<vec<double, classes>>(rng, -1, 1);
      auto x = random_tensor<vec<double, D::in>>(rng, -2, 2);
      auto const X_ = pp::variable<"X">(X);
      auto const W_ = pp::variable<"W">(W);
      auto const b_ = pp::variable<"b">(b);
      auto const x_ = pp::variable<"x">(x);
      auto const logits = X_ * pp::transpose(W_) + b_;
      auto const sample = W_ * x_ + b_;
      std::array<int, D::batch> labels{};
      for (auto& l : labels) l = static_cast<int>(rng.next() % classes);
      int const label = static_cast<int>(rng.next() % classes);
      auto const onehot = pp::test::random_one_hot<mat<double, D::batch, classes>>(rng);
      auto soft = pp::test::random_distribution<mat<double, D::batch, classes>>(rng);
      auto const soft_ = pp::variable<"soft">(soft);
      // one sample with an int label, and under an activation
      PROPEL_EXPECT_GRADCHECK(pp::softmax_cross_entropy{}(sample, label), wrt(W_, W), wrt(b_, b),
                              wrt(x_, x));
      PROPEL_EXPECT_GRADCHECK(pp::softmax_cross_entropy{}(pp::gelu{}(sample), label), wrt(W_, W),
                              wrt(b_, b), wrt(x_, x));
      // a batch with std::array labels, a one-hot target and a soft target
      PROPEL_EXPECT_GRADCHECK(pp::softmax_cross_entropy{}(logits, labels), wrt(W_, W), wrt(b_, b),
                              wrt(X_, X));
      PROPEL_EXPECT_GRADCHECK(pp::softmax_cross_entropy{}(logits, onehot), wrt(W_, W), wrt(b_, b),
                              wrt(X_, X));
      PROPEL_EXPECT_GRADCHECK(pp::softmax_cross_entropy{}(pp::tanh{}(logits), soft), wrt(W_, W),
                              wrt(b_, b), wrt(X_, X));
      // the soft target as a variable too (its derivative is lse - z, averaged over the rows)
      PROPEL_EXPECT_GRADCHECK(pp::softmax_cross_entropy{}(logits, soft_), wrt(W_, W), wrt(b_, b),
                              wrt(X_, X), wrt(soft_, soft));
      // a target that does not sum to one: the gradient is softmax * sum(y) - y
      auto heavy = random_tensor<mat<double, D::batch, classes>>(rng, 0, 2);
      auto const heavy_ = pp::variable<"heavy">(heavy);
      PROPEL_EXPECT_GRADCHECK(pp::softmax_cross_entropy{}(logits, heavy_), wrt(W_, W), wrt(X_, X),
                              wrt(heavy_, heavy));
      // int labels agree with the equivalent one-hot rows
      mat<double, D::batch, classes> same{};
      for (std::size_t r = 0; r < D::batch; ++r) {
        same(r, static_cast<std::size_t>(labels[r])) = 1.0;
      }
      auto const [v_labels, g_labels] =
          pp::value_and_gradient(pp::softmax_cross_entropy{}(logits, labels), W_, b_, X_);
      auto const [v_onehot, g_onehot] =
          pp::value_and_gradient(pp::softmax_cross_entropy{}(logits, same), W_, b_, X_);
      BOOST_TEST(relative_error(v_labels, v_onehot, 0) <= 1e-15);
      BOOST_TEST(
          pp::test::compare(std::get<0>(g_labels), std::get<0>(g_onehot)).max_relative_error <=
          1e-15);
      BOOST_TEST(
          pp::test::compare(std::get<2>(g_labels), std::get<2>(g_onehot)).max_relative_error <=
          1e-15);
    }
  });
}

BOOST_AUTO_TEST_SUITE_END()
