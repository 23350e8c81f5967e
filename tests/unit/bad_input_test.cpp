// SPDX-License-Identifier: BSL-1.0
// Bad input never corrupts a network silently. The activations and the losses propagate NaN
// as PyTorch does (values and derivatives, at run time and in constant evaluation); a
// trainer step on inputs or targets that are not all finite, on a label out of range, or
// whose loss is not finite returns a non-finite loss and leaves the network, the optimizer
// state and the step count bit for bit as they were (every loss, every optimizer and option,
// one sample or a batch; a model with two heads, a bad value target of one head or a label out
// of range of the other); loss_and_gradient then returns NaN with every derivative NaN. A
// NaN weight gives PyTorch's NaN pattern in the gradient, and an infinite weight that relu
// hides from the loss gives PyTorch's step.
#define BOOST_TEST_MODULE bad_input
#include <array>
#include <bit>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <propel/propel.hpp>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

namespace pp = propel;

namespace {

using scalar_types = std::tuple<float, double>;

template <class T>
constexpr T nan_v = std::numeric_limits<T>::quiet_NaN();
template <class T>
constexpr T inf_v = std::numeric_limits<T>::infinity();

/// One check: a plain function, so that the templates below, instantiated for many types,
/// do not each expand Boost.Test's macro (which makes the file several times slower to
/// compile under the sanitizers). The failure names the check and, with BOOST_TEST_CONTEXT,
/// where it ran.
void expect(bool ok, std::string const& what) { BOOST_TEST(ok, what); }

/// The arguments written one after the other, as a stream would.
template <class... A>
std::string text(A const&... a) {
  std::ostringstream out;
  (out << ... << a);
  return out.str();
}

/// The value and the derivative of an activation at each element of x, through an
/// expression (the vectorised loops of a node; a node that keeps its values differentiates
/// from them).
template <class Op, class T, std::size_t N>
constexpr std::pair<pp::vec<T, N>, pp::vec<T, N>> value_and_derivative(Op const& op,
                                                                       pp::vec<T, N> x) {
  auto const x_ = pp::variable<"x">(x);
  auto const [total, grads] = pp::value_and_gradient(pp::sum(op(x_)), x_);
  (void)total;
  return {pp::evaluate(op(x_)), std::get<0>(grads)};
}

/// Whether a equals e, NaN equal to NaN (an expected NaN must be a NaN).
template <class T>
bool same_or_both_nan(T a, double e) {
  if (std::isnan(e)) return std::isnan(a);
  return a == static_cast<T>(e);
}

/// One row of PyTorch's answers: torch.<act>(x) and its derivative (autograd) at x = NaN,
/// +inf, -inf and 0 (torch 2, float32 and float64 alike).
struct expected_row {
  double value[4];
  double derivative[4];
};
constexpr double qnan = std::numeric_limits<double>::quiet_NaN();
constexpr double pinf = std::numeric_limits<double>::infinity();

template <class T, class Op>
void check_activation(Op const& op, expected_row const& e) {
  // each special value among finite neighbours, 16 elements so that the loops vectorise
  T const specials[4] = {nan_v<T>, inf_v<T>, -inf_v<T>, T(0)};
  for (std::size_t k = 0; k < 4; ++k) {
    BOOST_TEST_CONTEXT("x = " << specials[k]) {
      pp::vec<T, 16> x;
      for (std::size_t i = 0; i < 16; ++i) x[i] = T(0.25) * T(i) - T(1.5);
      for (std::size_t i : {std::size_t{0}, std::size_t{5}, std::size_t{15}}) x[i] = specials[k];
      auto const [y, dy] = value_and_derivative(op, x);
      for (std::size_t i : {std::size_t{0}, std::size_t{5}, std::size_t{15}}) {
        expect(same_or_both_nan(y[i], e.value[k]), text("value ", y[i], ", torch ", e.value[k]));
        expect(same_or_both_nan(dy[i], e.derivative[k]),
               text("derivative ", dy[i], ", torch ", e.derivative[k]));
        // the scalar forms: value, derivative and (where defined) derivative from the value
        expect(same_or_both_nan(op.value(specials[k]), e.value[k]),
               "same_or_both_nan(op.value(specials[k]), e.value[k])");
        expect(same_or_both_nan(op.derivative(specials[k]), e.derivative[k]),
               "same_or_both_nan(op.derivative(specials[k]), e.derivative[k])");
        if constexpr (requires { op.derivative_of_value(T{}); }) {
          expect(
              same_or_both_nan(op.derivative_of_value(op.value(specials[k])), e.derivative[k]),
              "same_or_both_nan(op.derivative_of_value(op.value(specials[k])), e.derivative[k])");
        }
      }
    }
  }
}

}  // namespace

// =============================================================================================
BOOST_AUTO_TEST_SUITE(activations)

BOOST_AUTO_TEST_CASE_TEMPLATE(nan_and_infinities_as_pytorch, T, scalar_types) {
  // {value at NaN, +inf, -inf, 0}, {derivative at NaN, +inf, -inf, 0}, from torch
  BOOST_TEST_CONTEXT("relu") check_activation<T>(pp::relu{}, {{qnan, pinf, 0, 0}, {1, 1, 0, 0}});
  BOOST_TEST_CONTEXT("leaky_relu") {
    check_activation<T>(pp::leaky_relu{0.25}, {{qnan, pinf, -pinf, 0}, {0.25, 1, 0.25, 0.25}});
  }
  BOOST_TEST_CONTEXT("elu") check_activation<T>(pp::elu{}, {{qnan, pinf, -1, 0}, {1, 1, 0, 1}});
  BOOST_TEST_CONTEXT("softplus") {
    check_activation<T>(pp::softplus{},
                        {{qnan, pinf, 0, static_cast<double>(std::log(T(2)))}, {qnan, 1, 0, 0.5}});
  }
  BOOST_TEST_CONTEXT("sigmoid") {
    check_activation<T>(pp::sigmoid{}, {{qnan, 1, 0, 0.5}, {qnan, 0, 0, 0.25}});
  }
  BOOST_TEST_CONTEXT("tanh") check_activation<T>(pp::tanh{}, {{qnan, 1, -1, 0}, {qnan, 0, 0, 1}});
  BOOST_TEST_CONTEXT("silu") {
    check_activation<T>(pp::silu{}, {{qnan, pinf, qnan, 0}, {qnan, qnan, qnan, 0.5}});
  }
  BOOST_TEST_CONTEXT("gelu") {
    check_activation<T>(pp::gelu{}, {{qnan, pinf, qnan, 0}, {qnan, qnan, qnan, 0.5}});
  }
  BOOST_TEST_CONTEXT("gelu_tanh") {
    check_activation<T>(pp::gelu_tanh{}, {{qnan, pinf, qnan, 0}, {qnan, qnan, qnan, 0.5}});
  }
}

BOOST_AUTO_TEST_CASE(relu_keeps_the_sign_of_zero_as_pytorch) {
  // torch.relu(-0.0) is -0.0: the NaN-propagating form returns x unless x < 0
  BOOST_TEST(std::signbit(pp::relu{}.value(-0.0f)));
  BOOST_TEST(!std::signbit(pp::relu{}.value(-1.0f)));
}

// The same in constant evaluation: the scalar forms and an expression evaluated by the
// compiler (no arithmetic on NaN, which clang does not allow in a constant expression).
constexpr bool relu_propagates_nan_at_compile_time() {
  double const x = nan_v<double>;
  pp::relu const r{};
  if (r.value(x) == r.value(x)) return false;                  // NaN
  if (r.derivative_of_value(r.value(x)) != 1.0) return false;  // torch's relu'(NaN) = 1
  if (r.derivative(x) != 1.0) return false;
  if (pp::elu{}.derivative(x) != 1.0) return false;
  if (pp::leaky_relu{0.5}.derivative(x) != 0.5) return false;
  pp::vec<double, 3> const v{-1.0, x, 2.0};
  auto const y = pp::evaluate(r(pp::variable<"x">(v)));
  return y[0] == 0.0 && y[1] != y[1] && y[2] == 2.0;
}
static_assert(relu_propagates_nan_at_compile_time());

BOOST_AUTO_TEST_SUITE_END()

// =============================================================================================
BOOST_AUTO_TEST_SUITE(losses)

BOOST_AUTO_TEST_CASE_TEMPLATE(nan_anywhere_in_the_logits_makes_cross_entropy_nan, T, scalar_types) {
  // the row's log-sum-exp is NaN wherever the NaN is (first, middle, last: the running max
  // must not skip it), as torch.nn.functional.cross_entropy's
  for (std::size_t at = 0; at < 3; ++at) {
    BOOST_TEST_CONTEXT("NaN at " << at) {
      pp::mat<T, 2, 3> Z{1, 2, 3, 0.5, -1, 4};
      Z(0, at) = nan_v<T>;
      auto const Z_ = pp::variable<"Z">(Z);
      auto const [value, grads] =
          pp::value_and_gradient(pp::softmax_cross_entropy{}(Z_, std::array<int, 2>{2, 0}), Z_);
      BOOST_TEST(std::isnan(value));
      for (std::size_t j = 0; j < 3; ++j) BOOST_TEST(std::isnan(std::get<0>(grads)(0, j)));
      // the other row's derivatives stay finite: (softmax - onehot) / 2
      for (std::size_t j = 0; j < 3; ++j) BOOST_TEST(std::isfinite(std::get<0>(grads)(1, j)));
    }
  }
  // a NaN in a target distribution likewise
  pp::vec<T, 3> z{1, 2, 3};
  auto const z_ = pp::variable<"z">(z);
  BOOST_TEST(
      std::isnan(pp::evaluate(pp::softmax_cross_entropy{}(z_, pp::vec<T, 3>{0, nan_v<T>, 1}))));
  // -inf is a logit of probability 0, as in PyTorch: label 1 gives a finite loss
  pp::vec<T, 3> const w{-inf_v<T>, 0, 1};
  BOOST_TEST(std::isfinite(pp::evaluate(pp::softmax_cross_entropy{}(pp::constant(w), 1))));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(elementwise_losses_propagate_nan, T, scalar_types) {
  pp::vec<T, 2> p{0.5, nan_v<T>};
  pp::vec<T, 2> const t{1, 0};
  auto const p_ = pp::variable<"p">(p);
  auto check = [&](auto const& f) {
    auto const [value, grads] = pp::value_and_gradient(f, p_);
    BOOST_TEST(std::isnan(value));
    BOOST_TEST(std::isfinite(std::get<0>(grads)[0]));
    BOOST_TEST(std::isnan(std::get<0>(grads)[1]));
  };
  check(pp::mse{}(p_, t));
  check(pp::huber{0.5}(p_, t));
  check(pp::bce_with_logits{}(p_, t));
}

BOOST_AUTO_TEST_SUITE_END()

// =============================================================================================
namespace {

using small_net = pp::mlp<float, pp::input<2>, pp::dense<3, pp::relu>, pp::dense<1>>;
using net_t = pp::mlp<float, pp::input<2>, pp::dense<4, pp::relu>, pp::dense<3>>;
constexpr std::size_t outputs = net_t::output_size;

/// Everything a step may change, as bits: parameters, optimizer state, step count.
template <class Trainer>
std::vector<std::uint64_t> snapshot(Trainer const& t) {
  std::vector<std::uint64_t> bits;
  for (float const p : t.net().params()) bits.push_back(std::bit_cast<std::uint32_t>(p));
  for (std::size_t k = 0; k < std::remove_cvref_t<decltype(t.optimizer())>::state_count; ++k) {
    for (float const s : t.state(k).params()) bits.push_back(std::bit_cast<std::uint32_t>(s));
  }
  bits.push_back(t.step_count());
  return bits;
}

/// Inputs: a vec for one sample, a mat of B rows for a batch; every feature 0 negative.
template <std::size_t B>
auto make_inputs() {
  if constexpr (B == 1) {
    return pp::vec<float, 2>{-0.5f, 1.25f};
  } else {
    pp::mat<float, B, 2> x;
    for (std::size_t r = 0; r < B; ++r) {
      x(r, 0) = -0.25f - 0.5f * float(r);
      x(r, 1) = 1.0f - 0.75f * float(r);
    }
    return x;
  }
}

/// The kinds of target a loss takes: values (mse, huber, bce), labels or one-hot rows
/// (softmax cross-entropy).
enum class targets { values, labels, one_hot };

template <std::size_t B>
auto make_value_targets() {
  if constexpr (B == 1) {
    return pp::vec<float, outputs>{0.25f, 1.0f, 0.0f};
  } else {
    pp::mat<float, B, outputs> y;
    for (std::size_t r = 0; r < B; ++r) {
      for (std::size_t j = 0; j < outputs; ++j) y(r, j) = (r + j) % 2 == 0 ? 1.0f : 0.25f;
    }
    return y;
  }
}
template <std::size_t B>
auto make_labels() {
  if constexpr (B == 1) {
    return 2;
  } else {
    std::array<int, B> l{};
    for (std::size_t r = 0; r < B; ++r) l[r] = static_cast<int>(r % outputs);
    return l;
  }
}
template <std::size_t B>
auto make_one_hot() {
  auto y = make_value_targets<B>();
  for (float& v : y) v = 0.0f;
  if constexpr (B == 1) {
    y[1] = 1.0f;
  } else {
    for (std::size_t r = 0; r < B; ++r) y(r, r % outputs) = 1.0f;
  }
  return y;
}
template <targets K, std::size_t B>
auto make_targets() {
  if constexpr (K == targets::values) {
    return make_value_targets<B>();
  } else if constexpr (K == targets::labels) {
    return make_labels<B>();
  } else {
    return make_one_hot<B>();
  }
}

/// Element (r, c) of a vec (r = 0) or a mat.
template <class X>
auto& element(X& x, std::size_t r, std::size_t c) {
  if constexpr (X::shape_type::rank == 1) {
    (void)r;
    return x[c];
  } else {
    return x(r, c);
  }
}

/// The bad versions of some inputs or value targets: NaN, +inf and -inf in the first and the
/// last element.
template <class X>
std::vector<std::pair<std::string, X>> spoiled(X const& good) {
  std::vector<std::pair<std::string, X>> out;
  constexpr std::size_t rows = X::shape_type::rank == 1 ? 1 : X::shape_type::rows;
  constexpr std::size_t cols = X::shape_type::size / rows;
  for (float const v : {nan_v<float>, inf_v<float>, -inf_v<float>}) {
    for (auto [r, c] : {std::pair{std::size_t{0}, std::size_t{0}}, std::pair{rows - 1, cols - 1}}) {
      X bad = good;
      element(bad, r, c) = v;
      out.emplace_back(
          std::to_string(v) + " at (" + std::to_string(r) + ", " + std::to_string(c) + ")", bad);
    }
  }
  return out;
}

/// Labels out of range: negative, the class count, and the extremes of int.
template <class L>
std::vector<std::pair<std::string, L>> spoiled_labels(L const& good) {
  std::vector<std::pair<std::string, L>> out;
  for (int const v : {-1, static_cast<int>(outputs), std::numeric_limits<int>::max(),
                      std::numeric_limits<int>::min()}) {
    L bad = good;
    if constexpr (std::is_same_v<L, int>) {
      bad = v;
    } else {
      bad.back() = v;
    }
    out.emplace_back("label " + std::to_string(v), bad);
  }
  return out;
}

/// refused(what, inputs, targets) for every spoiled input with the good targets, then every
/// spoiled target (or label) with the good inputs.
template <targets K, class X, class Y, class F>
void for_each_spoiled_input_and_target(X const& x, Y const& y, F const& refused) {
  for (auto const& [what, xb] : spoiled(x)) refused("input " + what, xb, y);
  if constexpr (K == targets::labels) {
    for (auto const& [what, yb] : spoiled_labels(y)) refused(what, x, yb);
  } else {
    for (auto const& [what, yb] : spoiled(y)) refused("target " + what, x, yb);
  }
}

/// Weights that are not finite: NaN in each tensor, and an infinity of either sign in layer 0.
void spoil_weight(net_t& net, std::size_t which) {
  switch (which) {
    case 0:
      net.layer<0>().weight(1, 1) = nan_v<float>;
      break;
    case 1:
      net.layer<0>().bias[2] = nan_v<float>;
      break;
    case 2:
      net.layer<1>().weight(0, 3) = nan_v<float>;
      break;
    case 3:
      net.layer<1>().bias[1] = nan_v<float>;
      break;
    case 4:  // reaches the output: the unit's pre-activation is +inf for every sample
      net.layer<0>().weight(3, 0) = -inf_v<float>;
      break;
    default:
      break;
  }
}
constexpr std::size_t spoiled_weights = 5;

/// An infinite input that relu hides: with every weight of feature 0 made positive, -inf in
/// feature 0 of the first sample gives every hidden unit a pre-activation of -inf, so the
/// network's output and the loss stay finite; the backward pass would still form
/// dW = 0 * -inf = NaN in the first layer (as PyTorch's does). Returns those inputs.
template <class X>
X hide_infinite_input(net_t& net, X const& x) {
  for (std::size_t j = 0; j < 4; ++j) {
    net.layer<0>().weight(j, 0) = std::fabs(net.layer<0>().weight(j, 0));
  }
  X bad = x;
  element(bad, 0, 0) = -inf_v<float>;
  bool finite = true;
  for (float const v : net(bad)) finite = finite && std::isfinite(v);
  expect(finite, "the infinite input reaches the output");
  return bad;
}

/// For one loss, optimizer and batch size: two good steps (so that the optimizer state is not
/// trivial), then every bad input, target and weight, each refused without a change; then a
/// good step still trains.
template <std::size_t B, targets K, class Loss, class Opt>
void check_trainer_refuses(Loss const& loss, Opt const& opt) {
  net_t net;
  pp::init(net, 3);
  pp::trainer t{net, loss, opt, pp::batch<B>};
  auto const x = make_inputs<B>();
  auto const y = make_targets<K, B>();
  expect(std::isfinite(t.step(x, y)), "std::isfinite(t.step(x, y))");
  expect(std::isfinite(t.step(x, y)), "std::isfinite(t.step(x, y))");
  expect(t.step_count() == 2u, "t.step_count() == 2u");

  auto refused = [&](std::string const& what, auto const& xb, auto const& yb) {
    BOOST_TEST_CONTEXT(what) {
      auto const before = snapshot(t);
      float const l = t.step(xb, yb);
      expect(!std::isfinite(l), text("the step returned the finite loss ", l));
      expect(snapshot(t) == before, "the step changed the network or the optimizer");
    }
  };
  for_each_spoiled_input_and_target<K>(x, y, refused);
  net_t const good = net;
  for (std::size_t w = 0; w < spoiled_weights; ++w) {
    spoil_weight(net, w);
    refused("weight " + std::to_string(w), x, y);
    net = good;
  }
  refused("input -inf that relu hides", hide_infinite_input(net, x), y);
  net = good;

  // a good step after all this trains as usual
  auto const before = snapshot(t);
  expect(std::isfinite(t.step(x, y)), "std::isfinite(t.step(x, y))");
  expect(t.step_count() == 3u, "t.step_count() == 3u");
  expect(snapshot(t) != before, "the good step changed nothing");
}

/// The options of one optimizer, each a trainer of its own.
template <class Opt>
using configs = std::vector<std::pair<std::string, Opt>>;

/// Every option of SGD (plain, momentum, Nesterov, weight decay with and without momentum)
/// with every loss; Adam (with and without L2 decay) and AdamW with a value loss and with
/// labels. Every refusal comes before the optimizer is consulted, so every optimizer with
/// every loss would repeat these checks at the cost of compiling a trainer for each pair.
template <std::size_t B, targets K, class Loss, class Opt>
void check_configs(Loss const& loss, configs<Opt> const& opts) {
  for (auto const& [name, opt] : opts) {
    BOOST_TEST_CONTEXT(name) check_trainer_refuses<B, K>(loss, opt);
  }
}
configs<pp::sgd> const sgd_options{
    {"sgd", pp::sgd{.lr = 0.1}},
    {"sgd momentum", pp::sgd{.lr = 0.1, .momentum = 0.9}},
    {"sgd nesterov", pp::sgd{.lr = 0.1, .momentum = 0.9, .nesterov = true}},
    {"sgd weight decay", pp::sgd{.lr = 0.1, .weight_decay = 0.01}},
    {"sgd momentum and weight decay", pp::sgd{.lr = 0.1, .momentum = 0.5, .weight_decay = 0.01}}};
configs<pp::adam> const adam_options{
    {"adam", pp::adam{.lr = 0.01}},
    {"adam weight decay", pp::adam{.lr = 0.01, .weight_decay = 0.1}}};
configs<pp::adamw> const adamw_options{{"adamw", pp::adamw{.lr = 0.01}}};

template <std::size_t B>
void check_all_losses() {
  BOOST_TEST_CONTEXT("mse") {
    check_configs<B, targets::values>(pp::mse{}, sgd_options);
    check_configs<B, targets::values>(pp::mse{}, adam_options);
    check_configs<B, targets::values>(pp::mse{}, adamw_options);
  }
  BOOST_TEST_CONTEXT("huber") check_configs<B, targets::values>(pp::huber{0.5}, sgd_options);
  BOOST_TEST_CONTEXT("bce_with_logits") {
    check_configs<B, targets::values>(pp::bce_with_logits{}, sgd_options);
  }
  BOOST_TEST_CONTEXT("cross-entropy, labels") {
    check_configs<B, targets::labels>(pp::softmax_cross_entropy{}, sgd_options);
    check_configs<B, targets::labels>(pp::softmax_cross_entropy{}, adam_options);
    check_configs<B, targets::labels>(pp::softmax_cross_entropy{}, adamw_options);
  }
  BOOST_TEST_CONTEXT("cross-entropy, one-hot") {
    check_configs<B, targets::one_hot>(pp::softmax_cross_entropy{}, sgd_options);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(trainer_step)

BOOST_AUTO_TEST_CASE(nan_input_to_a_relu_network_is_refused) {
  // 2 -> 3 relu -> 1, one SGD step on the input (NaN, 1) against 0.5. With relu(NaN) = 0 the
  // loss was a finite 0.25 and the backward pass wrote 0 * NaN into a column of the first
  // layer's weights.
  small_net net;
  pp::init(net, 1);
  small_net const before = net;
  pp::trainer t{net, pp::mse{}, pp::sgd{.lr = 0.1}};
  float const loss = t.step(pp::vec<float, 2>{nan_v<float>, 1.0f}, pp::vec<float, 1>{0.5f});
  BOOST_TEST(std::isnan(loss));
  BOOST_TEST(t.step_count() == 0u);
  std::size_t changed = 0;
  for (std::size_t i = 0; i < small_net::param_count; ++i) {
    changed += std::bit_cast<std::uint32_t>(net.params()[i]) !=
               std::bit_cast<std::uint32_t>(before.params()[i]);
  }
  BOOST_TEST(changed == 0u);
  // the network's output on that input is NaN, as PyTorch's
  BOOST_TEST(std::isnan(net(pp::vec<float, 2>{nan_v<float>, 1.0f})[0]));
}

BOOST_AUTO_TEST_CASE(one_sample_every_loss_and_optimizer) { check_all_losses<1>(); }
BOOST_AUTO_TEST_CASE(batch_every_loss_and_optimizer) { check_all_losses<3>(); }

BOOST_AUTO_TEST_SUITE_END()

// =============================================================================================
namespace {

/// loss_and_gradient for one loss: a bad input, target or label gives NaN and every
/// derivative NaN, the caller's signal; a good call afterwards gives finite values.
template <std::size_t B, targets K, class Loss>
void check_gradient_refuses(Loss const& loss) {
  net_t net;
  pp::init(net, 5);
  auto const x = make_inputs<B>();
  auto const y = make_targets<K, B>();
  pp::gradient_t<net_t> g;
  auto all = [&](auto pred) {
    bool ok = true;
    for (float const d : g.params()) ok = ok && pred(d);
    return ok;
  };
  auto is_nan = [](float d) { return std::isnan(d); };
  auto refused = [&](std::string const& what, auto const& xb, auto const& yb) {
    BOOST_TEST_CONTEXT(what) {
      g.zero();
      expect(std::isnan(pp::loss_and_gradient(net, xb, yb, loss, g)),
             "std::isnan(pp::loss_and_gradient(net, xb, yb, loss, g))");
      expect(all(is_nan), "a derivative is not NaN");
    }
  };
  for_each_spoiled_input_and_target<K>(x, y, refused);
  {
    net_t const kept = net;
    refused("input -inf that relu hides", hide_infinite_input(net, x), y);
    net = kept;
  }
  // a NaN weight: the loss is NaN and the derivatives are NaN exactly where PyTorch's are
  // (torch 2, the same network): a unit relu zeroes in every sample passes 0 back, not NaN;
  // with an element-wise loss and the NaN in the output layer, the other outputs' weights
  // and biases keep finite derivatives
  net_t const good = net;
  for (std::size_t w = 0; w < 4; ++w) {
    BOOST_TEST_CONTEXT("weight " << w) {
      spoil_weight(net, w);
      g.zero();
      expect(std::isnan(pp::loss_and_gradient(net, x, y, loss, g)),
             "std::isnan(pp::loss_and_gradient(net, x, y, loss, g))");
      std::size_t const nan_output = w == 2 ? 0 : 1;  // the output the NaN reaches (w >= 2)
      bool const all_outputs = w < 2 || K != targets::values;
      auto const& l0 = net.layer<0>();
      auto const& d0 = g.layer<0>();
      auto const& d1 = g.layer<1>();
      for (std::size_t j = 0; j < 4; ++j) {
        bool live = false;  // in some sample, unit j's pre-activation is not <= 0
        for (std::size_t r = 0; r < B; ++r) {
          float z = l0.bias[j];
          for (std::size_t c = 0; c < 2; ++c) z += l0.weight(j, c) * element(x, r, c);
          live = live || !(z <= 0.0f);
        }
        expect(std::isnan(d0.bias[j]) == live, text("unit ", j));
        for (std::size_t c = 0; c < 2; ++c)
          expect(std::isnan(d0.weight(j, c)) == live, "std::isnan(d0.weight(j, c)) == live");
      }
      for (std::size_t k = 0; k < outputs; ++k) {
        bool const nan_row = all_outputs || k == nan_output;
        expect(std::isnan(d1.bias[k]) == nan_row, text("output ", k));
        for (std::size_t j = 0; j < 4; ++j)
          expect(std::isnan(d1.weight(k, j)) == nan_row, "std::isnan(d1.weight(k, j)) == nan_row");
      }
      net = good;
    }
  }
  expect(std::isfinite(pp::loss_and_gradient(net, x, y, loss, g)),
         "std::isfinite(pp::loss_and_gradient(net, x, y, loss, g))");
  expect(all([](float d) { return std::isfinite(d); }),
         "all([](float d) { return std::isfinite(d); })");
}

template <std::size_t B>
void check_gradient_all_losses() {
  BOOST_TEST_CONTEXT("mse") check_gradient_refuses<B, targets::values>(pp::mse{});
  BOOST_TEST_CONTEXT("huber") check_gradient_refuses<B, targets::values>(pp::huber{0.5});
  BOOST_TEST_CONTEXT("bce") check_gradient_refuses<B, targets::values>(pp::bce_with_logits{});
  BOOST_TEST_CONTEXT("cross-entropy, labels") {
    check_gradient_refuses<B, targets::labels>(pp::softmax_cross_entropy{});
  }
  BOOST_TEST_CONTEXT("cross-entropy, one-hot") {
    check_gradient_refuses<B, targets::one_hot>(pp::softmax_cross_entropy{});
  }
}

/// An infinite weight whose unit relu zeroes for every sample: the loss is finite, and the
/// step is PyTorch's. The gradient is that of the network with a large finite weight in its
/// place (the unit is dead either way: its derivatives are 0); an optimizer then moves the
/// infinite weight as PyTorch's does: p - lr (0 + wd p) is inf - inf = NaN with SGD's weight
/// decay, m / sqrt(v) = inf / inf = NaN with Adam's L2 decay; otherwise it stays infinite.
template <std::size_t B, class Opt>
void check_hidden_infinite_weight(Opt const& opt, bool becomes_nan) {
  net_t net;
  pp::init(net, 7);
  auto const x = make_inputs<B>();  // feature 0 negative in every sample
  auto const y = make_value_targets<B>();
  net_t stand_in = net;
  net.layer<0>().weight(2, 0) = inf_v<float>;  // unit 2's pre-activation: -inf
  stand_in.layer<0>().weight(2, 0) = 1e30f;    // -1e30 or less: relu gives 0 as well
  std::size_t const at = 2 * 2 + 0;            // its index in params()

  pp::gradient_t<net_t> g;
  pp::gradient_t<net_t> g_ref;
  float const l = pp::loss_and_gradient(net, x, y, pp::mse{}, g);
  float const l_ref = pp::loss_and_gradient(stand_in, x, y, pp::mse{}, g_ref);
  expect(std::isfinite(l), "std::isfinite(l)");
  expect(l == l_ref, "l == l_ref");
  for (std::size_t i = 0; i < net_t::param_count; ++i) {
    expect(std::bit_cast<std::uint32_t>(g.params()[i]) ==
               std::bit_cast<std::uint32_t>(g_ref.params()[i]),
           text("derivative ", i, " differs from the stand-in's"));
  }
  expect(g.params()[at] == 0.0f, "g.params()[at] == 0.0f");

  pp::trainer t{net, pp::mse{}, opt, pp::batch<B>};
  pp::trainer t_ref{stand_in, pp::mse{}, opt, pp::batch<B>};
  expect(t.step(x, y) == t_ref.step(x, y), "t.step(x, y) == t_ref.step(x, y)");
  expect(t.step_count() == 1u, "t.step_count() == 1u");
  for (std::size_t i = 0; i < net_t::param_count; ++i) {
    if (i == at) continue;
    expect(std::bit_cast<std::uint32_t>(net.params()[i]) ==
               std::bit_cast<std::uint32_t>(stand_in.params()[i]),
           text("parameter ", i, " differs from the stand-in's"));
  }
  if (becomes_nan) {
    expect(std::isnan(net.params()[at]), "std::isnan(net.params()[at])");
  } else {
    expect(net.params()[at] == inf_v<float>, "net.params()[at] == inf_v<float>");
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(gradient)

BOOST_AUTO_TEST_CASE(one_sample_every_loss) { check_gradient_all_losses<1>(); }
BOOST_AUTO_TEST_CASE(batch_every_loss) { check_gradient_all_losses<3>(); }

BOOST_AUTO_TEST_CASE(input_gradient_refuses_bad_input) {
  net_t net;
  pp::init(net, 5);
  pp::vec<float, 2> dx{};
  pp::vec<float, 2> const x{nan_v<float>, 1.0f};
  BOOST_TEST(
      std::isnan(pp::loss_and_input_gradient(net, x, make_value_targets<1>(), pp::mse{}, dx)));
  BOOST_TEST(std::isnan(dx[0]));
  BOOST_TEST(std::isnan(dx[1]));
}

BOOST_AUTO_TEST_CASE(infinite_weight_that_relu_hides_gives_pytorchs_step) {
  for (bool const batch : {false, true}) {
    BOOST_TEST_CONTEXT((batch ? "batch" : "one sample")) {
      auto run = [&](auto const& opt, bool nan) {
        if (batch) {
          check_hidden_infinite_weight<3>(opt, nan);
        } else {
          check_hidden_infinite_weight<1>(opt, nan);
        }
      };
      BOOST_TEST_CONTEXT("sgd") run(pp::sgd{.lr = 0.1}, false);
      BOOST_TEST_CONTEXT("sgd nesterov")
      run(pp::sgd{.lr = 0.1, .momentum = 0.9, .nesterov = true}, false);
      BOOST_TEST_CONTEXT("sgd weight decay") run(pp::sgd{.lr = 0.1, .weight_decay = 0.01}, true);
      BOOST_TEST_CONTEXT("adam") run(pp::adam{.lr = 0.01}, false);
      BOOST_TEST_CONTEXT("adam weight decay") run(pp::adam{.lr = 0.01, .weight_decay = 0.1}, true);
      BOOST_TEST_CONTEXT("adamw") run(pp::adamw{.lr = 0.01}, false);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

// =============================================================================================
namespace {

using namespace pp::literals;

// value, logits = critic(h), actor(h) with h = relu(trunk(x)): a value head (mse) first, a
// softmax cross-entropy head of 3 classes second.
struct two_head_forward {
  template <class P, class X>
  constexpr auto operator()(P const& p, X const& x) const {
    return pp::let(pp::relu{}(p["trunk"_p](x)),
                   [p](auto const& h) { return pp::heads(p["critic"_p](h), p["actor"_p](h)); });
  }
};
using two_head_t = pp::model<float, pp::input<2>, two_head_forward, pp::linear<"trunk", 4, 2>,
                             pp::linear<"critic", 2, 4>, pp::linear<"actor", 3, 4>>;
constexpr std::size_t classes = 3;
static_assert(classes == outputs);  // spoiled_labels gives `outputs` as a label out of range
auto const two_head_loss = pp::per_head{pp::mse{}, pp::softmax_cross_entropy{}};
using two_head_loss_t = std::remove_const_t<decltype(two_head_loss)>;

template <std::size_t B>
auto make_two_head_targets() {
  auto const labels = make_labels<B>();  // classes 0..2: the actor's
  if constexpr (B == 1) {
    return std::tuple{pp::vec<float, 2>{0.5f, -0.25f}, labels};
  } else {
    pp::mat<float, B, 2> v;
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = 0.25f * float(i) - 0.5f;
    return std::tuple{v, labels};
  }
}

/// refused(what, inputs, targets) for every spoiled input, value target of the first head
/// and label of the second.
template <class X, class Y, class F>
void for_each_spoiled_two_head_case(X const& x, Y const& y, F const& refused) {
  for (auto const& [what, xb] : spoiled(x)) refused("input " + what, xb, y);
  for (auto const& [what, vb] : spoiled(std::get<0>(y))) {
    refused("head 0 target " + what, x, Y{vb, std::get<1>(y)});
  }
  for (auto const& [what, lb] : spoiled_labels(std::get<1>(y))) {
    refused("head 1 " + what, x, Y{std::get<0>(y), lb});
  }
}

template <std::size_t B>
void check_two_head_gradient_refuses() {
  static_assert(two_head_t::head_sizes[1] == classes);
  two_head_t net;
  pp::init(net, 5);
  auto const x = make_inputs<B>();
  auto const y = make_two_head_targets<B>();
  pp::gradient_t<two_head_t> g;
  auto refused = [&](std::string const& what, auto const& xb, auto const& yb) {
    BOOST_TEST_CONTEXT(what) {
      // refused before the forward pass (the check a trainer step makes first)
      expect(!pp::detail::step_data_ok<two_head_t, two_head_loss_t>(xb, yb), "accepted");
      g.zero();
      expect(std::isnan(pp::loss_and_gradient(net, xb, yb, two_head_loss, g)),
             "the loss is not NaN");
      bool all_nan = true;
      for (float const d : g.params()) all_nan = all_nan && std::isnan(d);
      expect(all_nan, "a derivative is not NaN");
    }
  };
  for_each_spoiled_two_head_case(x, y, refused);
  // the good targets, the last class included, are accepted
  auto last = y;
  if constexpr (B == 1) {
    std::get<1>(last) = int(classes) - 1;
  } else {
    std::get<1>(last).back() = int(classes) - 1;
  }
  for (auto const& good : {y, last}) {
    expect(pp::detail::step_data_ok<two_head_t, two_head_loss_t>(x, good), "refused good data");
    expect(std::isfinite(pp::loss_and_gradient(net, x, good, two_head_loss, g)), "not finite");
    bool all_finite = true;
    for (float const d : g.params()) all_finite = all_finite && std::isfinite(d);
    expect(all_finite, "a derivative is not finite");
  }
}

template <std::size_t B, class Opt>
void check_two_head_trainer_refuses(Opt const& opt) {
  two_head_t net;
  pp::init(net, 3);
  pp::trainer t{net, two_head_loss, opt, pp::batch<B>};
  auto const x = make_inputs<B>();
  auto const y = make_two_head_targets<B>();
  expect(std::isfinite(t.step(x, y)), "std::isfinite(t.step(x, y))");
  expect(std::isfinite(t.step(x, y)), "std::isfinite(t.step(x, y))");
  auto refused = [&](std::string const& what, auto const& xb, auto const& yb) {
    BOOST_TEST_CONTEXT(what) {
      auto const before = snapshot(t);
      float const l = t.step(xb, yb);
      expect(std::isnan(l), text("the step returned ", l, ", not NaN"));
      expect(snapshot(t) == before, "the step changed the network or the optimizer");
    }
  };
  for_each_spoiled_two_head_case(x, y, refused);
  auto const before = snapshot(t);
  expect(std::isfinite(t.step(x, y)), "std::isfinite(t.step(x, y))");
  expect(t.step_count() == 3u, "t.step_count() == 3u");
  expect(snapshot(t) != before, "the good step changed nothing");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(two_heads)

BOOST_AUTO_TEST_CASE(gradient_refuses_bad_targets_of_either_head) {
  BOOST_TEST_CONTEXT("one sample") check_two_head_gradient_refuses<1>();
  BOOST_TEST_CONTEXT("batch") check_two_head_gradient_refuses<3>();
}

BOOST_AUTO_TEST_CASE(trainer_refuses_bad_targets_of_either_head) {
  BOOST_TEST_CONTEXT("one sample, sgd momentum") {
    check_two_head_trainer_refuses<1>(pp::sgd{.lr = 0.1, .momentum = 0.9});
  }
  BOOST_TEST_CONTEXT("batch, sgd momentum") {
    check_two_head_trainer_refuses<3>(pp::sgd{.lr = 0.1, .momentum = 0.9});
  }
  BOOST_TEST_CONTEXT("batch, adam") check_two_head_trainer_refuses<3>(pp::adam{.lr = 0.01});
}

BOOST_AUTO_TEST_SUITE_END()
