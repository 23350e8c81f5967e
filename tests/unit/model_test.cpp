// SPDX-License-Identifier: BSL-1.0
// Models written with propel::model: a tied-weight autoencoder (the decoder is the transpose
// of the encoder's weight, so that tensor is one variable used twice) and a residual net (the
// input added to a layer's output). Their losses and gradients are checked against a forward
// pass written out by hand here and its central finite differences, in double; one trainer
// step with sgd, adam and adamw against the update rules applied to that gradient; the
// parameter block's names, layout and lookups; and the soundness of the fused update: a
// checking stepper poisons each parameter element once it is moved and records that every
// element is delivered once, with a derivative that is not NaN, and it catches a fusion
// forced onto the tied weight.
#define BOOST_TEST_MODULE model
#include <algorithm>
#include <array>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstddef>
#include <limits>
#include <propel/propel.hpp>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace {

namespace pp = propel;
using namespace pp::literals;

// x̂ = Wᵀ tanh(W x + b) + c: the decoder reuses the encoder's weight.
struct tied_forward {
  template <class P, class X>
  constexpr auto operator()(P const& p, X const& x) const {
    auto const enc = p["enc"_p];
    auto const h = pp::apply(pp::tanh{}, enc(x));
    if constexpr (X::shape_type::rank == 1) {
      return pp::transpose(enc.weight) * h + p["dec_bias"_p];
    } else {
      return h * enc.weight + p["dec_bias"_p];
    }
  }
};
using autoencoder = pp::model<double, pp::input<5>, tied_forward, pp::linear<"enc", 3, 5>,
                              pp::tensor_param<"dec_bias", 5>>;
// The same model with another block type, for the forced unsound fusion below.
using forced_autoencoder =
    pp::model<double, pp::input<5>, tied_forward, pp::linear<"enc", 3, 5, pp::he>,
              pp::tensor_param<"dec_bias", 5>>;

// y = fc2(tanh(fc1(x))) + x
struct residual_forward {
  template <class P, class X>
  constexpr auto operator()(P const& p, X const& x) const {
    return p["fc2"_p](pp::apply(pp::tanh{}, p["fc1"_p](x))) + x;
  }
};
using residual = pp::model<double, pp::input<4>, residual_forward, pp::linear<"fc1", 6, 4, pp::he>,
                           pp::linear<"fc2", 4, 6>>;

// y = W x + W tanh(u): one weight used twice, the second use reading it to pass a derivative
// on to u.
struct shared_forward {
  template <class P, class X>
  constexpr auto operator()(P const& p, X const& x) const {
    auto const w = p["w"_p];
    return w * x + w * pp::apply(pp::tanh{}, p["u"_p]);
  }
};
// logits, value = actor(h), critic(h) with h = tanh(trunk(x)) computed once: two heads.
struct two_head_forward {
  template <class P, class X>
  constexpr auto operator()(P const& p, X const& x) const {
    return pp::let(pp::apply(pp::tanh{}, p["trunk"_p](x)),
                   [p](auto const& h) { return pp::heads(p["actor"_p](h), p["critic"_p](h)); });
  }
};
using two_head = pp::model<double, pp::input<4>, two_head_forward, pp::linear<"trunk", 6, 4>,
                           pp::linear<"actor", 3, 6>, pp::linear<"critic", 2, 6>>;

template <class Init>
using shared_weight = pp::model<double, pp::input<5>, shared_forward, pp::tensor_param<"w", 3, 5>,
                                pp::tensor_param<"u", 5>, pp::linear<"unused", 1, 1, Init>>;

}  // namespace

// The hook: deliver (store, or step at once) the tied weight of forced_autoencoder as if it
// occurred once. Unsound on purpose.
template <>
inline constexpr bool
    propel::detail::force_fused_v<propel::detail::tensor_id<forced_autoencoder::block_type, 0>> =
        true;
template <>
inline constexpr bool propel::detail::force_fused_v<
    propel::detail::tensor_id<shared_weight<propel::he>::block_type, 0>> = true;

namespace {

constexpr std::size_t batch = 3;

template <class Tensor>
Tensor filled(double scale, double phase) {
  Tensor t;
  std::size_t i = 0;
  for (auto& v : t) v = scale * std::sin(1.3 * static_cast<double>(i++) + phase);
  return t;
}

/// The mean squared error of the autoencoder on rows `rows` samples, written out by hand.
template <class Net>
double autoencoder_loss(Net const& net, double const* x, double const* y, std::size_t rows) {
  auto const& w = net.template tensor<"enc.weight">();
  auto const& b = net.template tensor<"enc.bias">();
  auto const& c = net.template tensor<"dec_bias">();
  double sum = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    std::array<double, 3> h{};
    for (std::size_t j = 0; j < 3; ++j) {
      double z = b[j];
      for (std::size_t i = 0; i < 5; ++i) z += w(j, i) * x[r * 5 + i];
      h[j] = std::tanh(z);
    }
    for (std::size_t i = 0; i < 5; ++i) {
      double out = c[i];
      for (std::size_t j = 0; j < 3; ++j) out += w(j, i) * h[j];
      sum += (out - y[r * 5 + i]) * (out - y[r * 5 + i]);
    }
  }
  return sum / static_cast<double>(rows * 5);
}

double residual_loss(residual const& net, double const* x, double const* y, std::size_t rows) {
  auto const& w1 = net.tensor<"fc1.weight">();
  auto const& b1 = net.tensor<"fc1.bias">();
  auto const& w2 = net.tensor<"fc2.weight">();
  auto const& b2 = net.tensor<"fc2.bias">();
  double sum = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    std::array<double, 6> h{};
    for (std::size_t j = 0; j < 6; ++j) {
      double z = b1[j];
      for (std::size_t i = 0; i < 4; ++i) z += w1(j, i) * x[r * 4 + i];
      h[j] = std::tanh(z);
    }
    for (std::size_t k = 0; k < 4; ++k) {
      double out = b2[k] + x[r * 4 + k];
      for (std::size_t j = 0; j < 6; ++j) out += w2(k, j) * h[j];
      sum += (out - y[r * 4 + k]) * (out - y[r * 4 + k]);
    }
  }
  return sum / static_cast<double>(rows * 4);
}

/// Checks loss_and_gradient of net on (x, y) against `hand` and its central differences.
template <class Net, class X, class HandLoss>
void check_gradient(Net net, X const& x, X const& y, HandLoss const& hand) {
  constexpr std::size_t rows = X::shape_type::rank == 1 ? 1 : X::shape_type::rows;
  pp::gradient_t<Net> g;
  double const loss = pp::loss_and_gradient(net, x, y, pp::mse{}, g);
  BOOST_TEST(loss == hand(net, x.data(), y.data(), rows), boost::test_tools::tolerance(1e-13));
  double const h = 1e-5;
  for (std::size_t k = 0; k < Net::param_count; ++k) {
    double const saved = net.params()[k];
    net.params()[k] = saved + h;
    double const up = hand(net, x.data(), y.data(), rows);
    net.params()[k] = saved - h;
    double const down = hand(net, x.data(), y.data(), rows);
    net.params()[k] = saved;
    double const fd = (up - down) / (2 * h);
    BOOST_TEST(std::abs(g.params()[k] - fd) <= 1e-8 * std::max(1.0, std::abs(fd)),
               "parameter " << k << ": " << g.params()[k] << " vs " << fd);
  }
}

BOOST_AUTO_TEST_CASE(tied_autoencoder_gradient_matches_finite_differences) {
  autoencoder net;
  pp::init(net, 5);
  net.tensor<"dec_bias">() = filled<pp::vec<double, 5>>(0.3, 0.1);
  net.tensor<"enc.bias">() = filled<pp::vec<double, 3>>(0.2, 0.7);
  check_gradient(net, filled<pp::vec<double, 5>>(1.0, 0.2), filled<pp::vec<double, 5>>(0.8, 1.1),
                 autoencoder_loss<autoencoder>);
  check_gradient(net, filled<pp::mat<double, batch, 5>>(1.0, 0.4),
                 filled<pp::mat<double, batch, 5>>(0.7, 2.0), autoencoder_loss<autoencoder>);
}

BOOST_AUTO_TEST_CASE(residual_gradient_matches_finite_differences) {
  residual net;
  pp::init(net, 9);
  net.tensor<"fc2.bias">() = filled<pp::vec<double, 4>>(0.3, 0.5);
  check_gradient(net, filled<pp::vec<double, 4>>(1.0, 0.3), filled<pp::vec<double, 4>>(0.9, 1.7),
                 residual_loss);
  check_gradient(net, filled<pp::mat<double, batch, 4>>(1.0, 0.6),
                 filled<pp::mat<double, batch, 4>>(0.5, 2.5), residual_loss);
  // the forward by hand: the input goes around the layers
  auto const x = filled<pp::vec<double, 4>>(1.0, 0.3);
  auto const out = net(x);
  std::array<double, 4> y{};
  double const loss = residual_loss(net, x.data(), y.data(), 1);
  double sq = 0;
  for (double v : out) sq += v * v;
  BOOST_TEST(sq / 4 == loss, boost::test_tools::tolerance(1e-13));
}

/// One trainer step of net with opt against the update rule `rule(param, grad)` applied to
/// the gradient of loss_and_gradient (checked above).
template <class Net, class Opt, class Rule>
void check_step(Net const& start, Opt opt, Rule const& rule) {
  auto const x = filled<pp::mat<double, batch, Net::input_size>>(1.0, 0.9);
  auto const y = filled<pp::mat<double, batch, Net::output_size>>(0.6, 0.1);
  pp::gradient_t<Net> g;
  double const expected_loss = pp::loss_and_gradient(start, x, y, pp::mse{}, g);
  Net net = start;
  pp::trainer t{net, pp::mse{}, opt, pp::batch<batch>};
  BOOST_TEST(t.step(x, y) == expected_loss);
  for (std::size_t k = 0; k < Net::param_count; ++k) {
    double const want = rule(start.params()[k], g.params()[k]);
    BOOST_TEST(net.params()[k] == want, boost::test_tools::tolerance(1e-12));
  }
}

template <class Net>
void check_optimizers(Net const& net) {
  double const lr = 0.05;
  check_step(net, pp::sgd{.lr = lr, .momentum = 0.9},
             [&](double p, double d) { return p - lr * d; });
  check_step(net, pp::adam{.lr = lr},
             [&](double p, double d) { return p - lr * d / (std::abs(d) + 1e-8); });
  check_step(net, pp::adamw{.lr = lr, .weight_decay = 0.1}, [&](double p, double d) {
    return p * (1 - lr * 0.1) - lr * d / (std::abs(d) + 1e-8);
  });
}

BOOST_AUTO_TEST_CASE(trainer_steps_on_models) {
  autoencoder ae;
  pp::init(ae, 5);
  ae.tensor<"dec_bias">() = filled<pp::vec<double, 5>>(0.3, 0.1);
  check_optimizers(ae);
  residual res;
  pp::init(res, 9);
  check_optimizers(res);

  // the tied weight is added up in a kept gradient; everything else is updated in the
  // backward pass
  using ae_trainer = pp::trainer<autoencoder, pp::mse, pp::adam, batch>;
  static_assert(!ae_trainer::fused_update);
  static_assert(ae_trainer::gradient_bytes >= sizeof(double) * 3 * 5 &&
                ae_trainer::gradient_bytes < sizeof(pp::gradient_t<autoencoder>));
  using res_trainer = pp::trainer<residual, pp::mse, pp::adam, batch>;
  static_assert(res_trainer::fused_update && res_trainer::gradient_bytes == 0);

  // a few steps learn: the loss goes down
  pp::trainer t{ae, pp::mse{}, pp::adam{.lr = 0.02}, pp::batch<batch>};
  auto const x = filled<pp::mat<double, batch, 5>>(1.0, 0.9);
  double const first = t.step(x, x);
  double last = first;
  for (int i = 0; i < 60; ++i) last = t.step(x, x);
  BOOST_TEST(last < 0.5 * first);
}

/// One trainer step of a two-head model under per_head{softmax_cross_entropy, mse} against
/// `rule` applied to loss_and_gradient's gradient, on a batch (labels) and on one sample
/// (an int label).
template <class Opt, class Rule>
void check_two_head_step(two_head const& start, Opt opt, Rule const& rule) {
  auto const loss = pp::per_head{pp::softmax_cross_entropy{}, pp::mse{}};
  auto const x = filled<pp::mat<double, batch, 4>>(1.0, 0.9);
  auto const batch_targets =
      std::tuple{std::array<int, batch>{2, 0, 1}, filled<pp::mat<double, batch, 2>>(0.6, 0.1)};
  auto const x1 = filled<pp::vec<double, 4>>(1.0, 0.4);
  auto const sample_targets = std::tuple{1, filled<pp::vec<double, 2>>(0.7, 0.3)};
  auto const check = [&](auto const& input, auto const& targets, auto& t, two_head const& net) {
    pp::gradient_t<two_head> g;
    two_head const before = net;
    double const expected_loss = pp::loss_and_gradient(before, input, targets, loss, g);
    BOOST_TEST(t.step(input, targets) == expected_loss);
    for (std::size_t k = 0; k < two_head::param_count; ++k) {
      double const want = rule(before.params()[k], g.params()[k]);
      BOOST_TEST(net.params()[k] == want, boost::test_tools::tolerance(1e-12));
    }
  };
  two_head net = start;
  pp::trainer t{net, loss, opt, pp::batch<batch>};
  check(x, batch_targets, t, net);
  two_head net1 = start;
  pp::trainer t1{net1, loss, opt};
  check(x1, sample_targets, t1, net1);
  // the trainer's workspace has room for value targets of the softmax head too
  two_head net2 = start;
  pp::trainer t2{net2, loss, opt, pp::batch<batch>};
  auto const one_hot = std::tuple{filled<pp::mat<double, batch, 3>>(0.5, 0.2),
                                  filled<pp::mat<double, batch, 2>>(0.6, 0.1)};
  check(x, one_hot, t2, net2);
}

BOOST_AUTO_TEST_CASE(trainer_steps_on_a_model_with_two_heads) {
  static_assert(two_head::head_count == 2 && two_head::head_sizes[0] == 3 &&
                two_head::head_sizes[1] == 2);
  two_head net;
  pp::init(net, 21);
  net.tensor<"critic.bias">() = filled<pp::vec<double, 2>>(0.2, 0.4);
  double const lr = 0.05;
  check_two_head_step(net, pp::sgd{.lr = lr, .momentum = 0.9},
                      [&](double p, double d) { return p - lr * d; });
  check_two_head_step(net, pp::adam{.lr = lr},
                      [&](double p, double d) { return p - lr * d / (std::abs(d) + 1e-8); });
  check_two_head_step(net, pp::adamw{.lr = lr, .weight_decay = 0.1}, [&](double p, double d) {
    return p * (1 - lr * 0.1) - lr * d / (std::abs(d) + 1e-8);
  });

  // every tensor occurs once: the whole update is fused, no gradient kept
  using loss_t = decltype(pp::per_head{pp::softmax_cross_entropy{}, pp::mse{}});
  using trainer_t = pp::trainer<two_head, loss_t, pp::adam, batch>;
  static_assert(trainer_t::fused_update && trainer_t::gradient_bytes == 0);

  // a few steps learn: the loss goes down
  pp::trainer t{net, loss_t{}, pp::adam{.lr = 0.02}, pp::batch<batch>};
  auto const x = filled<pp::mat<double, batch, 4>>(1.0, 0.9);
  auto const targets =
      std::tuple{std::array<int, batch>{2, 0, 1}, filled<pp::mat<double, batch, 2>>(0.6, 0.1)};
  double const first = t.step(x, targets);
  double last = first;
  for (int i = 0; i < 60; ++i) last = t.step(x, targets);
  BOOST_TEST(last < 0.5 * first);
}

/// A stepper that checks the delivery of derivatives: each element of each parameter must be
/// delivered exactly once, with a derivative that is not NaN. It poisons each element with
/// NaN once moved, so that a read of it afterwards (an update fused before the parameter's
/// last read) turns later derivatives into NaN.
struct delivery_log {
  std::vector<int> count;
  bool nan_seen = false;
  double const* base = nullptr;
};
struct checking_stepper {
  delivery_log* log;
  template <std::size_t S>
  void operator()(std::size_t i, double* p, double d, std::array<double*, S> const&) const {
    auto const k = static_cast<std::size_t>(p + i - log->base);
    ++log->count.at(k);
    if (std::isnan(d)) log->nan_seen = true;
    p[i] = std::numeric_limits<double>::quiet_NaN();
  }
};

template <class Net, class X, class Y>
delivery_log check_delivery(Net net, X const& x, Y const& y) {
  auto const f = pp::mse{}(net.expression(pp::constant(x)), y);
  pp::workspace_t<decltype(f)> ws;
  (void)pp::forward(f, ws);
  delivery_log log{std::vector<int>(Net::param_count, 0), false, net.params().data()};
  pp::gradient_t<Net> g;
  std::array<pp::gradient_t<Net>, 0> no_state;
  pp::detail::network_backward(f, ws, &net, pp::detail::block_gradient<pp::gradient_t<Net>>{&g},
                               checking_stepper{&log}, no_state);
  log.base = nullptr;  // net ends here
  return log;
}

bool delivered_once_each(delivery_log const& log) {
  for (int c : log.count) {
    if (c != 1) return false;
  }
  return !log.nan_seen;
}

BOOST_AUTO_TEST_CASE(fused_update_delivers_each_element_once_after_its_last_read) {
  autoencoder ae;
  pp::init(ae, 5);
  residual res;
  pp::init(res, 9);
  pp::mlp<double, pp::input<5>, pp::dense<4, pp::tanh>, pp::dense<5>> net;
  pp::init(net, 3);
  for (auto const& log : {check_delivery(ae, filled<pp::mat<double, batch, 5>>(1.0, 0.9),
                                         filled<pp::mat<double, batch, 5>>(0.5, 0.2)),
                          check_delivery(ae, filled<pp::vec<double, 5>>(1.0, 0.2),
                                         filled<pp::vec<double, 5>>(0.5, 0.2)),
                          check_delivery(net, filled<pp::mat<double, batch, 5>>(1.0, 0.9),
                                         filled<pp::mat<double, batch, 5>>(0.5, 0.2))}) {
    BOOST_TEST(delivered_once_each(log));
  }
  BOOST_TEST(delivered_once_each(check_delivery(res, filled<pp::mat<double, batch, 4>>(1.0, 0.4),
                                                filled<pp::mat<double, batch, 4>>(0.5, 0.2))));
}

BOOST_AUTO_TEST_CASE(checking_stepper_catches_a_forced_unsound_fusion) {
  forced_autoencoder ae;
  pp::init(ae, 5);
  auto const log = check_delivery(ae, filled<pp::mat<double, batch, 5>>(1.0, 0.9),
                                  filled<pp::mat<double, batch, 5>>(0.5, 0.2));
  BOOST_TEST(!delivered_once_each(log));
  // the tied weight is delivered twice, once per use: each element moved twice
  BOOST_TEST(log.count.front() == 2);

  // a weight read after it was moved: the derivative passed on through it is NaN
  shared_weight<pp::glorot> sound;
  pp::init(sound, 4);
  sound.tensor<"u">() = filled<pp::vec<double, 5>>(0.5, 0.3);
  BOOST_TEST(delivered_once_each(check_delivery(sound, filled<pp::vec<double, 5>>(1.0, 0.2),
                                                filled<pp::vec<double, 3>>(0.5, 0.2))));
  shared_weight<pp::he> forced;
  std::copy(sound.params().begin(), sound.params().end(), forced.params().begin());  // same values
  auto const shared = check_delivery(forced, filled<pp::vec<double, 5>>(1.0, 0.2),
                                     filled<pp::vec<double, 3>>(0.5, 0.2));
  BOOST_TEST(!delivered_once_each(shared));
  BOOST_TEST(shared.nan_seen);
}

BOOST_AUTO_TEST_CASE(parameter_block_names_and_layout) {
  using block = autoencoder::block_type;
  static_assert(pp::tensor_count_v<autoencoder> == 3);
  static_assert(autoencoder::param_count == 3 * 5 + 3 + 5);
  std::vector<std::string> names;
  std::vector<std::size_t> shapes;
  autoencoder ae{};
  std::vector<double const*> data;
  pp::for_each_named_tensor(
      [&](std::string_view name, std::size_t rows, std::size_t cols, double const* p) {
        names.emplace_back(name);
        shapes.push_back(rows);
        shapes.push_back(cols);
        data.push_back(p);
      },
      std::as_const(ae));
  BOOST_TEST((names == std::vector<std::string>{"enc.weight", "enc.bias", "dec_bias"}));
  BOOST_TEST((shapes == std::vector<std::size_t>{3, 5, 3, 0, 5, 0}));
  BOOST_TEST(data[0] == ae.params().data());
  BOOST_TEST(data[1] == ae.params().data() + 15);
  BOOST_TEST(data[2] == ae.params().data() + 18);
  BOOST_TEST(&ae.group<"enc">().bias == &ae.tensor<"enc.bias">());
  BOOST_TEST(&ae.group<"dec_bias">() == &ae.tensor<"dec_bias">());
  static_assert(block::group_index("dec_bias") == 1 && block::tensor_index("enc.bias") == 1);

  // an mlp's tensors are named as PyTorch's nn.Sequential names them
  using net_t = pp::mlp<float, pp::input<3>, pp::dense<4, pp::relu>, pp::dense<2>, pp::dense<2>>;
  static_assert(net_t::tensor_names == std::array<std::string_view, 6>{"0.weight", "0.bias",
                                                                       "2.weight", "2.bias",
                                                                       "3.weight", "3.bias"});
  net_t net{};
  BOOST_TEST(&net.tensor<"2.weight">() == &net.layer<1>().weight);
}

// y = w x + v with free tensors
struct free_forward {
  template <class P, class X>
  constexpr auto operator()(P const& p, X const& x) const {
    return p["w"_p] * x + p["v"_p];
  }
};

BOOST_AUTO_TEST_CASE(init_of_model_groups) {
  using m = pp::model<float, pp::input<40>, free_forward, pp::tensor_param<"w", 30, 40>,
                      pp::tensor_param<"v", 30>, pp::linear<"he", 20, 10, pp::he>>;
  m net;
  for (auto& v : net.params()) v = 7.0F;
  pp::init(net, 11);
  double const glorot = std::sqrt(6.0 / 70.0);
  double const he = std::sqrt(6.0 / 10.0);
  double max_w = 0, max_he = 0;
  for (float v : net.tensor<"w">()) max_w = std::max(max_w, double(std::abs(v)));
  for (float v : net.tensor<"he.weight">()) max_he = std::max(max_he, double(std::abs(v)));
  BOOST_TEST(max_w <= glorot);
  BOOST_TEST(max_w > 0.9 * glorot);  // 1200 draws reach near the bound
  BOOST_TEST(max_he <= he);
  BOOST_TEST(max_he > 0.9 * he);
  for (float v : net.tensor<"v">()) BOOST_TEST(v == 0.0F);
  for (float v : net.tensor<"he.bias">()) BOOST_TEST(v == 0.0F);
}

}  // namespace
