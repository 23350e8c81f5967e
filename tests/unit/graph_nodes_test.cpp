// SPDX-License-Identifier: BSL-1.0
// The nodes for general models: let (a subexpression computed once), heads / then / per_head
// (several outputs, a loss per head), concat and layer_norm. Values against direct
// computations written here, gradients against central finite differences in double.
#define BOOST_TEST_MODULE graph_nodes
#include <array>
#include <cmath>

#include "support/expr_nodes_common.hpp"

namespace {

/// tanh(x), counting its evaluations: shows how often a subexpression is computed.
struct counted_tanh {
  static inline int calls = 0;
  template <class T>
  [[nodiscard]] T value(T x) const {
    ++calls;
    return std::tanh(x);
  }
  template <class T>
  [[nodiscard]] T derivative(T x) const {
    T const t = std::tanh(x);
    return T(1) - t * t;
  }
};

/// A sink whose writers store (each element must arrive once, as a network's sink) and count
/// how many times each element arrived.
template <class T, class... Ids>
struct counting_sink {
  struct writer_type {
    static constexpr bool accumulates = false;
    static constexpr bool moves_param = false;
    T* grad;
    int* arrivals;
    void operator()(std::size_t i, T v) const {
      grad[i] = v;
      ++arrivals[i];
    }
  };
  using ids = pp::detail::type_list<Ids...>;
  static constexpr bool accumulates = false;
  std::array<writer_type, sizeof...(Ids)> writers;
  template <class Id>
  [[nodiscard]] writer_type const& writer() const {
    return writers[pp::detail::index_of_v<Id, Ids...>];
  }
};

/// A sink whose writers step each parameter at once, p -= rate * g (a fused update: the
/// writer moves the parameter, and a kernel that reads it reads it through `param`).
template <class T, class... Ids>
struct stepping_sink {
  struct writer_type {
    static constexpr bool accumulates = false;
    static constexpr bool moves_param = true;
    T* param;
    T rate;
    void operator()(std::size_t i, T v) const { param[i] -= rate * v; }
  };
  using ids = pp::detail::type_list<Ids...>;
  static constexpr bool accumulates = false;
  std::array<writer_type, sizeof...(Ids)> writers;
  template <class Id>
  [[nodiscard]] writer_type const& writer() const {
    return writers[pp::detail::index_of_v<Id, Ids...>];
  }
};

template <class V>
double max_abs_difference(V const& a, V const& b) {
  double worst = 0;
  for (std::size_t i = 0; i < V::size(); ++i) {
    worst = std::max(worst, std::abs(static_cast<double>(a.elements[i] - b.elements[i])));
  }
  return worst;
}

// ---- constant evaluation: a let, its gradient, concat and layer_norm
constexpr double let_in_constant_evaluation() {
  vec<double, 2> x{1, 2};
  auto const x_ = pp::variable<"x">(x);
  // (h + h) ⊙ h = 2 x², summed: 2 (1 + 4) = 10; d/dx = 4 x = {4, 8}
  auto const f = pp::sum(pp::let(x_, [](auto const& h) { return pp::hadamard(h + h, h); }));
  auto const [dx] = pp::gradient(f, x_);
  return pp::evaluate(f) + dx[0] * 100 + dx[1] * 1000;
}
static_assert(let_in_constant_evaluation() == 10 + 400 + 8000);

constexpr double concat_and_layer_norm_in_constant_evaluation() {
  vec<double, 2> a{1, 2};
  vec<double, 1> b{3};
  vec<double, 3> w{1, 1, 1};
  vec<double, 3> bias{10, 20, 30};
  auto const joined = pp::evaluate(pp::concat(pp::constant(a), pp::constant(b)));
  // a constant row normalises to 0: the output is the bias
  vec<double, 3> flat{5, 5, 5};
  auto const y =
      pp::evaluate(pp::layer_norm(pp::constant(flat), pp::constant(w), pp::constant(bias), 1e-5));
  return joined[0] + 10 * joined[1] + 100 * joined[2] + y[0] + y[1] + y[2];
}
static_assert(concat_and_layer_norm_in_constant_evaluation() == 1 + 20 + 300 + 60);

constexpr double heads_and_per_head_in_constant_evaluation() {
  vec<double, 2> x{1, 2};
  vec<double, 2> t0{0, 0};
  vec<double, 2> t1{1, 1};
  auto const out = pp::let(pp::constant(x), [](auto const& h) { return pp::heads(h, h + h); });
  auto const [a, b] = pp::evaluate(out);
  // mse(x, 0) = (1 + 4) / 2, mse(2x, 1) = (1 + 9) / 2
  auto const targets = std::tuple{t0, t1};
  auto const loss = pp::per_head{pp::mse{}, pp::mse{}}(out, targets);
  return a[1] + 10 * b[1] + 100 * pp::evaluate(loss);
}
static_assert(heads_and_per_head_in_constant_evaluation() == 2 + 40 + 750);

}  // namespace

// =============================================================================================
BOOST_AUTO_TEST_SUITE(let_node)

BOOST_AUTO_TEST_CASE(residual_vector_value_and_gradient) {
  splitmix64 rng{11};
  auto W = random_tensor<mat<double, 5, 5>>(rng);
  auto b = random_tensor<vec<double, 5>>(rng);
  auto x = random_tensor<vec<double, 5>>(rng);
  auto const c = random_tensor<vec<double, 5>>(rng);
  auto const W_ = pp::variable<"W">(W);
  auto const b_ = pp::variable<"b">(b);
  auto const x_ = pp::variable<"x">(x);
  auto const residual =
      pp::let(pp::tanh{}(x_), [=](auto const& h) { return h + pp::tanh{}(W_ * h + b_); });
  static_assert(pp::Expression<decltype(residual)>);
  // the same value written without let: tanh(x) + tanh(W tanh(x) + b)
  auto const direct = pp::tanh{}(x_) + pp::tanh{}(W_ * pp::tanh{}(x_) + b_);
  BOOST_TEST(max_abs_difference(pp::evaluate(residual), pp::evaluate(direct)) < 1e-15);
  auto const loss = pp::sum(pp::hadamard(residual, pp::constant(c)));
  PROPEL_EXPECT_GRADCHECK(loss, wrt(W_, W), wrt(b_, b), wrt(x_, x));
}

BOOST_AUTO_TEST_CASE(residual_batch_value_and_gradient) {
  splitmix64 rng{12};
  auto W = random_tensor<mat<double, 3, 3>>(rng);
  auto b = random_tensor<vec<double, 3>>(rng);
  auto X = random_tensor<mat<double, 4, 3>>(rng);
  auto const C = random_tensor<mat<double, 4, 3>>(rng);
  auto const W_ = pp::variable<"W">(W);
  auto const b_ = pp::variable<"b">(b);
  auto const X_ = pp::variable<"X">(X);
  auto const residual =
      pp::let(X_, [=](auto const& h) { return h + pp::tanh{}(h * pp::transpose(W_) + b_); });
  auto const direct = X_ + pp::tanh{}(X_ * pp::transpose(W_) + b_);
  BOOST_TEST(max_abs_difference(pp::evaluate(residual), pp::evaluate(direct)) < 1e-15);
  auto const loss = pp::sum(pp::hadamard(residual, pp::constant(C)));
  PROPEL_EXPECT_GRADCHECK(loss, wrt(W_, W), wrt(b_, b), wrt(X_, X));
  // the derivatives are those of the direct form (where X occurs twice)
  auto const [dW, db, dX] = pp::gradient(loss, W_, b_, X_);
  auto const [eW, eb, eX] =
      pp::gradient(pp::sum(pp::hadamard(direct, pp::constant(C))), W_, b_, X_);
  BOOST_TEST(max_abs_difference(dW, eW) < 1e-14);
  BOOST_TEST(max_abs_difference(db, eb) < 1e-14);
  BOOST_TEST(max_abs_difference(dX, eX) < 1e-14);
}

BOOST_AUTO_TEST_CASE(shared_value_is_computed_once) {
  vec<double, 6> x{0.1, -0.2, 0.3, 0.4, -0.5, 0.6};
  auto const x_ = pp::variable<"x">(x);
  auto const e = pp::apply(counted_tanh{}, x_);
  // three consumers of e: with let, e's 6 elements are computed once
  auto const shared =
      pp::sum(pp::let(e, [](auto const& h) { return pp::hadamard(h, h) + pp::sigmoid{}(h)-h; }));
  auto const repeated = pp::sum(pp::hadamard(e, e) + pp::sigmoid{}(e)-e);
  counted_tanh::calls = 0;
  double const v1 = pp::evaluate(shared);
  BOOST_TEST(counted_tanh::calls == 6);
  counted_tanh::calls = 0;
  double const v2 = pp::evaluate(repeated);
  BOOST_TEST(counted_tanh::calls == 4 * 6);
  BOOST_TEST(std::abs(v1 - v2) < 1e-14);
  // a gradient pass: e's value is never computed again by the backward pass
  counted_tanh::calls = 0;
  auto const [dx] = pp::gradient(shared, x_);
  BOOST_TEST(counted_tanh::calls == 6);
  PROPEL_EXPECT_GRADCHECK(shared, wrt(x_, x));
  (void)dx;
}

BOOST_AUTO_TEST_CASE(value_kept_by_the_shared_expression_is_not_copied) {
  splitmix64 rng{16};
  auto const W = random_tensor<mat<float, 8, 4>>(rng);
  auto const x = random_tensor<vec<float, 4>>(rng);
  auto const layer = pp::tanh{}(pp::variable<"W">(W) * pp::constant(x));
  auto const shared = pp::let(layer, [](auto const& h) { return h; });
  // a product's output and an activation's values are read where they are: no second buffer
  static_assert(sizeof(pp::evaluation_workspace_t<decltype(shared)>) ==
                sizeof(pp::evaluation_workspace_t<decltype(layer)>));
  // an element-wise chain that keeps nothing is stored once
  auto const chain = pp::variable<"W">(W) + pp::variable<"W">(W);
  static_assert(
      sizeof(
          pp::evaluation_workspace_t<decltype(pp::let(chain, [](auto const& h) { return h; }))>) ==
      sizeof(mat<float, 8, 4>));
  BOOST_TEST(pp::evaluate(shared) == pp::evaluate(layer));
}

BOOST_AUTO_TEST_CASE(nested_lets_and_one_helper_at_two_depths) {
  splitmix64 rng{13};
  auto W = random_tensor<mat<double, 4, 4>>(rng);
  auto b = random_tensor<vec<double, 4>>(rng);
  auto x = random_tensor<vec<double, 4>>(rng);
  auto const c = random_tensor<vec<double, 4>>(rng);
  auto const W_ = pp::variable<"W">(W);
  auto const b_ = pp::variable<"b">(b);
  auto const x_ = pp::variable<"x">(x);
  // the same helper twice, one let inside the other's shared expression
  auto const block = [=](auto const& in) {
    return pp::let(in, [=](auto const& h) { return h + pp::tanh{}(W_ * h + b_); });
  };
  auto const twice = block(block(x_));
  auto const once = x_ + pp::tanh{}(W_ * x_ + b_);
  auto const direct = once + pp::tanh{}(W_ * once + b_);
  BOOST_TEST(max_abs_difference(pp::evaluate(twice), pp::evaluate(direct)) < 1e-14);
  PROPEL_EXPECT_GRADCHECK(pp::sum(pp::hadamard(twice, pp::constant(c))), wrt(W_, W), wrt(b_, b),
                          wrt(x_, x));
  // a let in the body of another, the inner body using both locals
  auto const nested = pp::let(pp::tanh{}(W_ * x_), [=](auto const& g) {
    return pp::let(pp::sigmoid{}(g + b_), [=](auto const& h) { return pp::hadamard(g, h) + h; });
  });
  auto const g = pp::tanh{}(W_ * x_);
  auto const h = pp::sigmoid{}(g + b_);
  BOOST_TEST(max_abs_difference(pp::evaluate(nested), pp::evaluate(pp::hadamard(g, h) + h)) <
             1e-15);
  PROPEL_EXPECT_GRADCHECK(pp::sum(pp::hadamard(nested, pp::constant(c))), wrt(W_, W), wrt(b_, b),
                          wrt(x_, x));
}

BOOST_AUTO_TEST_CASE(parameter_in_shared_expression_and_body_adds_up) {
  splitmix64 rng{14};
  auto W = random_tensor<mat<double, 3, 3>>(rng);
  auto x = random_tensor<vec<double, 3>>(rng);
  auto const W_ = pp::variable<"W">(W);
  auto const x_ = pp::variable<"x">(x);
  // W both computes h and is applied to it (tied weights)
  auto const f =
      pp::mean(pp::square(pp::let(pp::tanh{}(W_ * x_), [=](auto const& h) { return W_ * h; })));
  PROPEL_EXPECT_GRADCHECK(f, wrt(W_, W), wrt(x_, x));
  // W's derivative is the sum of both uses: the let with W in the body alone differs
  mat<double, 3, 3> const W_copy = W;
  auto const f_split = pp::mean(pp::square(
      pp::let(pp::tanh{}(W_ * x_), [&](auto const& h) { return pp::constant(W_copy) * h; })));
  auto const [dW] = pp::gradient(f, W_);
  auto const [dW_first] = pp::gradient(f_split, W_);
  BOOST_TEST(max_abs_difference(dW, dW_first) > 1e-3);
}

BOOST_AUTO_TEST_CASE(storing_sink_receives_each_parameter_element_once) {
  splitmix64 rng{15};
  auto W1 = random_tensor<mat<double, 4, 3>>(rng);
  auto W2 = random_tensor<mat<double, 4, 4>>(rng);
  auto b = random_tensor<vec<double, 4>>(rng);
  auto const x = random_tensor<vec<double, 3>>(rng);
  auto const W1_ = pp::variable<"W1">(W1);
  auto const W2_ = pp::variable<"W2">(W2);
  auto const b_ = pp::variable<"b">(b);
  auto const f = pp::mean(pp::square(pp::let(pp::tanh{}(W1_ * pp::constant(x)), [=](auto const& h) {
    return h + pp::relu{}(W2_ * h + b_);
  })));
  using F = std::remove_const_t<decltype(f)>;
  mat<double, 4, 3> g1{};
  mat<double, 4, 4> g2{};
  vec<double, 4> gb{};
  std::array<int, 12> n1{};
  std::array<int, 16> n2{};
  std::array<int, 4> nb{};
  using sink_t = counting_sink<double, pp::named<"W1">, pp::named<"W2">, pp::named<"b">>;
  sink_t sink{{{{g1.elements, n1.data()}, {g2.elements, n2.data()}, {gb.elements, nb.data()}}}};
  pp::workspace_t<F> ws;
  (void)pp::forward(f, ws);
  pp::backward(f, ws, sink);
  auto const [e1, e2, eb] = pp::gradient(f, W1_, W2_, b_);
  BOOST_TEST(max_abs_difference(g1, e1) == 0.0);
  BOOST_TEST(max_abs_difference(g2, e2) == 0.0);
  BOOST_TEST(max_abs_difference(gb, eb) == 0.0);
  for (int n : n1) BOOST_TEST(n == 1);
  for (int n : n2) BOOST_TEST(n == 1);
  for (int n : nb) BOOST_TEST(n == 1);
  // a fused update through the let's sink gives the step taken from the whole gradient
  // (loops, not lambdas: clang 14 cannot capture structured bindings)
  auto W1_stepped = W1;
  for (std::size_t i = 0; i < W1.size(); ++i) W1_stepped.elements[i] -= 0.5 * e1.elements[i];
  auto W2_stepped = W2;
  for (std::size_t i = 0; i < W2.size(); ++i) W2_stepped.elements[i] -= 0.5 * e2.elements[i];
  stepping_sink<double, pp::named<"W1">, pp::named<"W2">, pp::named<"b">> step{
      {{{W1.elements, 0.5}, {W2.elements, 0.5}, {b.elements, 0.5}}}};
  (void)pp::forward(f, ws);
  pp::backward(f, ws, step);
  BOOST_TEST(max_abs_difference(W1, W1_stepped) < 1e-15);
  BOOST_TEST(max_abs_difference(W2, W2_stepped) < 1e-15);
}

BOOST_AUTO_TEST_SUITE_END()

// =============================================================================================
BOOST_AUTO_TEST_SUITE(heads_and_per_head)

BOOST_AUTO_TEST_CASE(actor_critic_values_loss_and_gradient) {
  splitmix64 rng{21};
  auto Wt = random_tensor<mat<double, 6, 5>>(rng);
  auto bt = random_tensor<vec<double, 6>>(rng);
  auto Wa = random_tensor<mat<double, 3, 6>>(rng);
  auto ba = random_tensor<vec<double, 3>>(rng);
  auto Wc = random_tensor<mat<double, 1, 6>>(rng);
  auto bc = random_tensor<vec<double, 1>>(rng);
  auto const X = random_tensor<mat<double, 4, 5>>(rng);
  auto const values = random_tensor<mat<double, 4, 1>>(rng);
  std::array<int, 4> const labels{2, 0, 1, 2};
  auto const Wt_ = pp::variable<"Wt">(Wt);
  auto const bt_ = pp::variable<"bt">(bt);
  auto const Wa_ = pp::variable<"Wa">(Wa);
  auto const ba_ = pp::variable<"ba">(ba);
  auto const Wc_ = pp::variable<"Wc">(Wc);
  auto const bc_ = pp::variable<"bc">(bc);
  auto const out =
      pp::let(pp::tanh{}(pp::constant(X) * pp::transpose(Wt_) + bt_), [=](auto const& h) {
        return pp::heads(h * pp::transpose(Wa_) + ba_, h * pp::transpose(Wc_) + bc_);
      });
  static_assert(pp::Heads<decltype(out)> && !pp::Expression<decltype(out)>);
  // evaluate: a tuple of the heads' values, in a workspace of the caller's too
  auto const trunk = pp::tanh{}(pp::constant(X) * pp::transpose(Wt_) + bt_);
  auto const logits = trunk * pp::transpose(Wa_) + ba_;
  auto const value = trunk * pp::transpose(Wc_) + bc_;
  auto const [l, v] = pp::evaluate(out);
  static_assert(std::is_same_v<std::remove_const_t<decltype(l)>, mat<double, 4, 3>>);
  static_assert(std::is_same_v<std::remove_const_t<decltype(v)>, mat<double, 4, 1>>);
  BOOST_TEST(max_abs_difference(l, pp::evaluate(logits)) < 1e-15);
  BOOST_TEST(max_abs_difference(v, pp::evaluate(value)) < 1e-15);
  pp::evaluation_workspace_t<decltype(out)> ws;
  auto const [l2, v2] = pp::evaluate(out, ws);
  BOOST_TEST(max_abs_difference(l2, l) == 0.0);
  BOOST_TEST(max_abs_difference(v2, v) == 0.0);
  // per_head: the sum of each head's loss
  auto const targets = std::tuple{labels, values};
  auto const loss = pp::per_head{pp::softmax_cross_entropy{}, pp::mse{}}(out, targets);
  static_assert(pp::ScalarExpression<decltype(loss)>);
  double const expected = pp::evaluate(pp::softmax_cross_entropy{}(logits, labels)) +
                          pp::evaluate(pp::mse{}(value, values));
  BOOST_TEST(std::abs(pp::evaluate(loss) - expected) < 1e-14);
  PROPEL_EXPECT_GRADCHECK(loss, wrt(Wt_, Wt), wrt(bt_, bt), wrt(Wa_, Wa), wrt(ba_, ba),
                          wrt(Wc_, Wc), wrt(bc_, bc));
}

BOOST_AUTO_TEST_CASE(heads_without_let_and_then) {
  vec<double, 3> a{1, 2, 3};
  vec<double, 2> b{4, 5};
  auto const out = pp::heads(pp::constant(a), pp::constant(b) + pp::constant(b));
  auto const [va, vb] = pp::evaluate(out);
  BOOST_TEST(va == a);
  BOOST_TEST(vb == (vec<double, 2>{8, 10}));
  auto const total =
      pp::then(out, [](auto const& x, auto const& y) { return pp::sum(x) + pp::sum(y); });
  BOOST_TEST(pp::evaluate(total) == 24.0);
  // then over a let of heads: the function is applied inside the let
  auto const l = pp::let(pp::constant(a), [](auto const& h) { return pp::heads(h, h + h); });
  auto const s =
      pp::then(l, [](auto const& x, auto const& y) { return pp::sum(pp::hadamard(x, y)); });
  BOOST_TEST(pp::evaluate(s) == 2.0 * (1 + 4 + 9));
}

BOOST_AUTO_TEST_SUITE_END()

// =============================================================================================
BOOST_AUTO_TEST_SUITE(concat_node)

BOOST_AUTO_TEST_CASE(vectors_and_matrices) {
  vec<double, 2> a{1, 2};
  vec<double, 3> b{3, 4, 5};
  BOOST_TEST(pp::evaluate(pp::concat(pp::constant(a), pp::constant(b))) ==
             (vec<double, 5>{1, 2, 3, 4, 5}));
  mat<double, 2, 1> A{1, 2};
  mat<double, 2, 2> B{3, 4, 5, 6};
  BOOST_TEST(pp::evaluate(pp::concat(pp::constant(A), pp::constant(B))) ==
             (mat<double, 2, 3>{1, 3, 4, 2, 5, 6}));
  BOOST_TEST(pp::evaluate(pp::concat(pp::constant(B), pp::constant(A))) ==
             (mat<double, 2, 3>{3, 4, 1, 5, 6, 2}));
}

BOOST_AUTO_TEST_CASE(gradients) {
  splitmix64 rng{31};
  auto W = random_tensor<mat<double, 3, 4>>(rng);
  auto x = random_tensor<vec<double, 4>>(rng);
  auto y = random_tensor<vec<double, 2>>(rng);
  auto V = random_tensor<mat<double, 5, 3>>(rng);
  auto const c = random_tensor<vec<double, 5>>(rng);
  auto const W_ = pp::variable<"W">(W);
  auto const x_ = pp::variable<"x">(x);
  auto const y_ = pp::variable<"y">(y);
  auto const V_ = pp::variable<"V">(V);
  // concat of a product and a leaf, into another product (buffered operand)
  auto const v = pp::concat(pp::tanh{}(W_ * x_), y_);
  auto U = random_tensor<mat<double, 5, 5>>(rng);
  auto const U_ = pp::variable<"U">(U);
  PROPEL_EXPECT_GRADCHECK(pp::sum(pp::hadamard(pp::sigmoid{}(U_ * v), pp::constant(c))), wrt(W_, W),
                          wrt(x_, x), wrt(y_, y), wrt(U_, U));
  PROPEL_EXPECT_GRADCHECK(pp::sum(pp::transpose(V_) * pp::concat(y_, pp::tanh{}(W_ * x_))),
                          wrt(W_, W), wrt(x_, x), wrt(y_, y), wrt(V_, V));
  // batches: two branches of one input side by side
  auto X = random_tensor<mat<double, 3, 4>>(rng);
  auto A = random_tensor<mat<double, 2, 4>>(rng);
  auto const C = random_tensor<mat<double, 3, 5>>(rng);
  auto const X_ = pp::variable<"X">(X);
  auto const A_ = pp::variable<"A">(A);
  auto const both = pp::concat(pp::tanh{}(X_ * pp::transpose(W_)), X_ * pp::transpose(A_));
  static_assert(std::is_same_v<pp::value_t<decltype(both)>, mat<double, 3, 5>>);
  PROPEL_EXPECT_GRADCHECK(pp::sum(pp::hadamard(both, pp::constant(C))), wrt(X_, X), wrt(W_, W),
                          wrt(A_, A));
  PROPEL_EXPECT_GRADCHECK(pp::mean(pp::square(both * pp::constant(V))), wrt(X_, X), wrt(W_, W),
                          wrt(A_, A));
}

BOOST_AUTO_TEST_SUITE_END()

// =============================================================================================
BOOST_AUTO_TEST_SUITE(layer_norm_node)

BOOST_AUTO_TEST_CASE(values_by_hand) {
  // a row of equal values has no variance: the output is the bias
  mat<double, 2, 3> X{7, 7, 7, 1, 2, 3};
  vec<double, 3> w{2, 3, 4};
  vec<double, 3> b{0.5, -1, 2};
  auto const Y = pp::evaluate(pp::layer_norm(pp::constant(X), pp::constant(w), pp::constant(b)));
  for (std::size_t j = 0; j < 3; ++j) BOOST_TEST(Y(0, j) == b[j]);
  // {1, 2, 3}: mean 2, biased variance 2/3, so x̂ = {-1, 0, 1} / sqrt(2/3 + 1e-5)
  double const s = 1.0 / std::sqrt(2.0 / 3.0 + 1e-5);
  BOOST_TEST(std::abs(Y(1, 0) - (-s * 2 + 0.5)) < 1e-14);
  BOOST_TEST(Y(1, 1) == -1.0);
  BOOST_TEST(std::abs(Y(1, 2) - (s * 4 + 2)) < 1e-14);
  // eps inside the square root: with eps = 1 and {0, 2} (variance 1), x̂ = ±1 / sqrt(2)
  vec<double, 2> x{0, 2};
  vec<double, 2> ones{1, 1};
  vec<double, 2> zeros{0, 0};
  auto const y =
      pp::evaluate(pp::layer_norm(pp::constant(x), pp::constant(ones), pp::constant(zeros), 1.0));
  BOOST_TEST(std::abs(y[0] + 1 / std::sqrt(2.0)) < 1e-15);
  BOOST_TEST(std::abs(y[1] - 1 / std::sqrt(2.0)) < 1e-15);
}

BOOST_AUTO_TEST_CASE(values_against_direct_formula) {
  splitmix64 rng{41};
  auto const X = random_tensor<mat<double, 3, 5>>(rng, -2, 2);
  auto const w = random_tensor<vec<double, 5>>(rng);
  auto const b = random_tensor<vec<double, 5>>(rng);
  auto const Y =
      pp::evaluate(pp::layer_norm(pp::constant(X), pp::constant(w), pp::constant(b), 1e-3));
  for (std::size_t r = 0; r < 3; ++r) {
    double mean = 0;
    for (std::size_t j = 0; j < 5; ++j) mean += X(r, j) / 5;
    double var = 0;
    for (std::size_t j = 0; j < 5; ++j) var += (X(r, j) - mean) * (X(r, j) - mean) / 5;
    for (std::size_t j = 0; j < 5; ++j) {
      double const expected = (X(r, j) - mean) / std::sqrt(var + 1e-3) * w[j] + b[j];
      BOOST_TEST(std::abs(Y(r, j) - expected) < 1e-14);
    }
  }
}

BOOST_AUTO_TEST_CASE(gradients) {
  splitmix64 rng{42};
  auto X = random_tensor<mat<double, 3, 5>>(rng, -2, 2);
  auto w = random_tensor<vec<double, 5>>(rng);
  auto b = random_tensor<vec<double, 5>>(rng);
  auto W = random_tensor<mat<double, 5, 4>>(rng);
  auto x = random_tensor<vec<double, 4>>(rng);
  auto const C = random_tensor<mat<double, 3, 5>>(rng);
  auto const c = random_tensor<vec<double, 5>>(rng);
  auto M = random_tensor<mat<double, 5, 5>>(rng);
  auto const X_ = pp::variable<"X">(X);
  auto const M_ = pp::variable<"M">(M);
  auto const w_ = pp::variable<"w">(w);
  auto const b_ = pp::variable<"b">(b);
  auto const W_ = pp::variable<"W">(W);
  auto const x_ = pp::variable<"x">(x);
  // a batch read in place (a leaf), and a vector made ready in a buffer (a product)
  PROPEL_EXPECT_GRADCHECK(
      pp::sum(pp::hadamard(pp::tanh{}(pp::layer_norm(X_, w_, b_)), pp::constant(C))), wrt(X_, X),
      wrt(w_, w), wrt(b_, b));
  PROPEL_EXPECT_GRADCHECK(
      pp::sum(pp::hadamard(pp::layer_norm(W_ * x_ + b_, w_, b_, 0.1), pp::constant(c))), wrt(W_, W),
      wrt(x_, x), wrt(w_, w), wrt(b_, b));
  // into a product, and a residual around it
  auto const n =
      pp::let(X_, [=](auto const& h) { return h + pp::layer_norm(h * pp::transpose(M_), w_, b_); });
  PROPEL_EXPECT_GRADCHECK(pp::mean(pp::square(n * W_)), wrt(X_, X), wrt(w_, w), wrt(b_, b),
                          wrt(M_, M), wrt(W_, W));
}

BOOST_AUTO_TEST_SUITE_END()
