// SPDX-License-Identifier: BSL-1.0
// propel::mlp end to end: parameter and input gradients against central finite differences of
// an independent reference network (tests/support/nn_reference.hpp) on seeded random
// topologies, every activation and every loss, batches of 1 (vec and mat<1, N>), 7 and 32;
// the network's gradient against the expression layer's gradient of the same function written
// by hand; sizes, parameter layout, init, compose and the trainer. The finite-difference cases
// are in mlp_gradient_fd_elementwise.cpp and mlp_gradient_fd_cross_entropy.cpp, linked into the
// same executable.
#define BOOST_TEST_MODULE mlp_gradient
#include <algorithm>
#include <array>
#include <bit>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <propel/propel.hpp>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "support/mlp_gradient_cases.hpp"

namespace pp = propel;

namespace {

using mlp_cases::check_fd;
using mlp_cases::elu05;
using mlp_cases::fd_result;
using mlp_cases::he_family;
using mlp_cases::leaky02;
using mlp_cases::randomize;
using mlp_cases::rel_err;
using mlp_cases::rng64;

/// Reports the finite-difference checks of every translation unit (run with
/// --log_level=message).
struct report_errors {
  report_errors() = default;
  report_errors(report_errors const&) = delete;
  report_errors& operator=(report_errors const&) = delete;
  ~report_errors() {
    BOOST_TEST_MESSAGE("largest relative error, parameter gradient vs finite differences: "
                       << mlp_cases::largest_fd_error);
    BOOST_TEST_MESSAGE("largest relative error, input gradient vs finite differences: "
                       << mlp_cases::largest_input_fd_error);
    BOOST_TEST_MESSAGE("finite-difference elements checked: " << mlp_cases::fd_elements_checked
                                                              << ", skipped at a kink: "
                                                              << mlp_cases::fd_elements_skipped);
  }
};
BOOST_TEST_GLOBAL_FIXTURE(report_errors);

// ---------------------------------------------------------------------------------------------
// The network's gradient is the expression layer's gradient of the same function, by hand.

template <class V>
double max_rel_diff(V const& a, V const& b) {
  double worst = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    worst = std::max(worst, rel_err(static_cast<double>(a[i]), static_cast<double>(b[i]), 1e-12));
  }
  return worst;
}

double largest_expression_difference = 0.0;

template <class V>
void expect_same(V const& network, V const& by_hand, double tolerance, char const* what) {
  double const d = max_rel_diff(network, by_hand);
  largest_expression_difference = std::max(largest_expression_difference, d);
  BOOST_TEST(d <= tolerance,
             what << ": network vs expression written by hand, relative difference " << d);
}

BOOST_AUTO_TEST_SUITE(same_as_expression_layer)

BOOST_AUTO_TEST_CASE(one_sample_tanh_tanh_mse) {
  using net_t = pp::mlp<double, pp::input<3>, pp::dense<5, pp::tanh>, pp::dense<2, pp::tanh>>;
  rng64 g{7};
  net_t net;
  randomize(net, g);
  pp::vec<double, 3> x{};
  for (auto& v : x) v = g.uniform(-1, 1);
  pp::vec<double, 2> y{};
  for (auto& v : y) v = g.uniform(-1, 1);

  auto const W0v = pp::variable<"W0">(net.layer<0>().weight);
  auto const b0v = pp::variable<"b0">(net.layer<0>().bias);
  auto const W1v = pp::variable<"W1">(net.layer<1>().weight);
  auto const b1v = pp::variable<"b1">(net.layer<1>().bias);
  auto const xv = pp::variable<"x">(x);
  auto const f = pp::mse{}(pp::tanh{}(W1v * pp::tanh{}(W0v * xv + b0v) + b1v), y);
  auto const hand = pp::value_and_gradient(f, W0v, b0v, W1v, b1v, xv);
  auto const& [dW0, db0, dW1, db1, dx] = hand.gradients;

  pp::gradient_t<net_t> grad;
  double const loss = pp::loss_and_gradient(net, x, y, pp::mse{}, grad);
  BOOST_TEST(rel_err(loss, hand.value, 1e-12) <= 1e-12);
  expect_same(grad.layer<0>().weight, dW0, 1e-12, "W0");
  expect_same(grad.layer<0>().bias, db0, 1e-12, "b0");
  expect_same(grad.layer<1>().weight, dW1, 1e-12, "W1");
  expect_same(grad.layer<1>().bias, db1, 1e-12, "b1");

  pp::vec<double, 3> dx_net;
  (void)pp::loss_and_input_gradient(net, x, y, pp::mse{}, dx_net);
  expect_same(dx_net, dx, 1e-12, "x");

  // a custom loss written with the expression layer gives the same as propel::mse
  auto const custom = [](auto const& pred, auto const& target) {
    return pp::mean(pp::square(pred - pp::constant(target)));
  };
  pp::gradient_t<net_t> grad_custom;
  double const loss_custom = pp::loss_and_gradient(net, x, y, custom, grad_custom);
  BOOST_TEST(rel_err(loss_custom, loss, 1e-12) <= 1e-12);
  expect_same(grad_custom.params(), grad.params(), 1e-12, "custom loss");
}

BOOST_AUTO_TEST_CASE(batch_relu_gelu_identity_cross_entropy) {
  using net_t =
      pp::mlp<double, pp::input<4>, pp::dense<6, pp::relu>, pp::dense<5, pp::gelu>, pp::dense<3>>;
  rng64 g{8};
  net_t net;
  randomize(net, g);
  pp::mat<double, 7, 4> x{};
  for (auto& v : x) v = g.uniform(-1, 1);
  std::array<int, 7> labels{};
  for (auto& l : labels) l = static_cast<int>(g.below(3));

  auto const W0v = pp::variable<"W0">(net.layer<0>().weight);
  auto const b0v = pp::variable<"b0">(net.layer<0>().bias);
  auto const W1v = pp::variable<"W1">(net.layer<1>().weight);
  auto const b1v = pp::variable<"b1">(net.layer<1>().bias);
  auto const W2v = pp::variable<"W2">(net.layer<2>().weight);
  auto const b2v = pp::variable<"b2">(net.layer<2>().bias);
  auto const xc = pp::constant(x);
  auto const h0 = pp::relu{}(xc * pp::transpose(W0v) + b0v);
  auto const h1 = pp::gelu{}(h0 * pp::transpose(W1v) + b1v);
  auto const f = pp::softmax_cross_entropy{}(h1 * pp::transpose(W2v) + b2v, labels);
  auto const hand = pp::value_and_gradient(f, W0v, b0v, W1v, b1v, W2v, b2v);
  auto const& [dW0, db0, dW1, db1, dW2, db2] = hand.gradients;

  pp::gradient_t<net_t> grad;
  double const loss = pp::loss_and_gradient(net, x, labels, pp::softmax_cross_entropy{}, grad);
  BOOST_TEST(rel_err(loss, hand.value, 1e-12) <= 1e-12);
  expect_same(grad.layer<0>().weight, dW0, 1e-12, "W0");
  expect_same(grad.layer<0>().bias, db0, 1e-12, "b0");
  expect_same(grad.layer<1>().weight, dW1, 1e-12, "W1");
  expect_same(grad.layer<1>().bias, db1, 1e-12, "b1");
  expect_same(grad.layer<2>().weight, dW2, 1e-12, "W2");
  expect_same(grad.layer<2>().bias, db2, 1e-12, "b2");
  // the network's own variables reach the same leaves
  auto const g2 = pp::gradient(pp::softmax_cross_entropy{}(net.expression(pp::constant(x)), labels),
                               net.weight_variable<2>(), net.bias_variable<0>());
  expect_same(std::get<0>(g2), dW2, 1e-12, "W2 through net.expression");
  expect_same(std::get<1>(g2), db0, 1e-12, "b0 through net.expression");
}

BOOST_AUTO_TEST_CASE(float_batch_silu_softplus_bce) {
  using net_t = pp::mlp<float, pp::input<2>, pp::dense<4, pp::silu>, pp::dense<3, pp::softplus>>;
  rng64 g{9};
  net_t net;
  randomize(net, g);
  pp::mat<float, 5, 2> x{};
  for (auto& v : x) v = static_cast<float>(g.uniform(-1, 1));
  pp::mat<float, 5, 3> y{};
  for (auto& v : y) v = static_cast<float>(g.unit());
  auto const W0v = pp::variable<"W0">(net.layer<0>().weight);
  auto const b0v = pp::variable<"b0">(net.layer<0>().bias);
  auto const W1v = pp::variable<"W1">(net.layer<1>().weight);
  auto const b1v = pp::variable<"b1">(net.layer<1>().bias);
  auto const h = pp::silu{}(pp::constant(x) * pp::transpose(W0v) + b0v);
  auto const f = pp::bce_with_logits{}(pp::softplus{}(h * pp::transpose(W1v) + b1v), y);
  auto const [dW0, db0, dW1, db1] = pp::gradient(f, W0v, b0v, W1v, b1v);
  pp::gradient_t<net_t> grad;
  (void)pp::loss_and_gradient(net, x, y, pp::bce_with_logits{}, grad);
  expect_same(grad.layer<0>().weight, dW0, 1e-6, "W0");
  expect_same(grad.layer<0>().bias, db0, 1e-6, "b0");
  expect_same(grad.layer<1>().weight, dW1, 1e-6, "W1");
  expect_same(grad.layer<1>().bias, db1, 1e-6, "b1");
  BOOST_TEST_MESSAGE("largest relative difference, network vs expression by hand: "
                     << largest_expression_difference);
}

// PyTorch's conventions where the derivative is not defined: relu'(0) = 0 and
// leaky_relu'(0) = the slope.
BOOST_AUTO_TEST_CASE(derivative_at_exactly_zero) {
  // out = 2 act(1 x + 0) + 0.5 at x = 0, mse against 0: dL/dout = 2 (0.5 - 0) = 1
  auto const run = [](auto net, double expected_db0) {
    net.template layer<0>().weight[0] = 1.0;
    net.template layer<0>().bias[0] = 0.0;
    net.template layer<1>().weight[0] = 2.0;
    net.template layer<1>().bias[0] = 0.5;
    pp::vec<double, 1> const x{0.0};
    pp::vec<double, 1> const y{0.0};
    pp::gradient_t<decltype(net)> grad;
    double const loss = pp::loss_and_gradient(net, x, y, pp::mse{}, grad);
    BOOST_TEST(loss == 0.25);
    BOOST_TEST(grad.template layer<1>().bias[0] == 1.0);
    BOOST_TEST(grad.template layer<1>().weight[0] == 0.0);  // act(0) = 0
    BOOST_TEST(grad.template layer<0>().bias[0] == expected_db0);
    BOOST_TEST(grad.template layer<0>().weight[0] == 0.0);  // times x = 0
    pp::vec<double, 1> dx;
    (void)pp::loss_and_input_gradient(net, x, y, pp::mse{}, dx);
    BOOST_TEST(dx[0] == expected_db0);
  };
  run(pp::mlp<double, pp::input<1>, pp::dense<1, pp::relu>, pp::dense<1>>{}, 0.0);
  run(pp::mlp<double, pp::input<1>, pp::dense<1, leaky02>, pp::dense<1>>{}, 2.0 * 0.2);
  run(pp::mlp<double, pp::input<1>, pp::dense<1, pp::leaky_relu>, pp::dense<1>>{}, 2.0 * 0.01);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------------
// Sizes and the parameter layout.

BOOST_AUTO_TEST_SUITE(layout)

using digits_t = pp::mlp<float, pp::input<64>, pp::dense<64, pp::relu>, pp::dense<10>>;
static_assert(digits_t::param_count == 64 * 64 + 64 + 64 * 10 + 10);
static_assert(digits_t::input_size == 64 && digits_t::output_size == 10);
static_assert(digits_t::layer_count == 2);
static_assert(digits_t::widths == std::array<std::size_t, 3>{64, 64, 10});
static_assert(std::is_same_v<decltype(std::declval<digits_t&>().params()), std::span<float, 4810>>);
static_assert(
    std::is_same_v<decltype(std::declval<digits_t&>().layer<1>().weight), pp::mat<float, 10, 64>>);
static_assert(
    std::is_same_v<decltype(std::declval<digits_t&>().layer<1>().bias), pp::vec<float, 10>>);
static_assert(std::is_same_v<decltype(std::declval<digits_t const&>()(pp::vec<float, 64>{})),
                             pp::vec<float, 10>>);
static_assert(std::is_same_v<decltype(std::declval<digits_t const&>()(pp::mat<float, 32, 64>{})),
                             pp::mat<float, 32, 10>>);
using mnist_t = pp::mlp<double, pp::input<784>, pp::dense<128, pp::relu>, pp::dense<64, pp::relu>,
                        pp::dense<10>>;
static_assert(mnist_t::param_count == 784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10);
static_assert(mnist_t::input_size == 784 && mnist_t::output_size == 10 &&
              mnist_t::layer_count == 3);
static_assert(pp::mlp<float, pp::input<1>, pp::dense<1>>::param_count == 2);
// no heap and no hidden members: the network is its parameters (up to the block's alignment)
static_assert(sizeof(mnist_t) >= mnist_t::param_count * sizeof(double));
static_assert(sizeof(mnist_t) < mnist_t::param_count * sizeof(double) + PROPEL_MAX_ALIGN);
static_assert(alignof(mnist_t) >= PROPEL_MAX_ALIGN);
static_assert(std::is_trivially_copyable_v<mnist_t>);

BOOST_AUTO_TEST_CASE(params_are_in_pytorch_order) {
  using net_t =
      pp::mlp<double, pp::input<3>, pp::dense<4, pp::relu>, pp::dense<5, pp::tanh>, pp::dense<2>>;
  static_assert(net_t::param_count == 12 + 4 + 20 + 5 + 10 + 2);
  net_t net;
  auto const p = net.params();
  for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<double>(i);
  // W0 [4][3] row-major, b0, W1 [5][4], b1, W2 [2][5], b2
  double k = 0;
  for (std::size_t r = 0; r < 4; ++r) {
    for (std::size_t c = 0; c < 3; ++c) BOOST_TEST(net.layer<0>().weight(r, c) == k++);
  }
  for (std::size_t r = 0; r < 4; ++r) BOOST_TEST(net.layer<0>().bias[r] == k++);
  for (std::size_t r = 0; r < 5; ++r) {
    for (std::size_t c = 0; c < 4; ++c) BOOST_TEST(net.layer<1>().weight(r, c) == k++);
  }
  for (std::size_t r = 0; r < 5; ++r) BOOST_TEST(net.layer<1>().bias[r] == k++);
  for (std::size_t r = 0; r < 2; ++r) {
    for (std::size_t c = 0; c < 5; ++c) BOOST_TEST(net.layer<2>().weight(r, c) == k++);
  }
  for (std::size_t r = 0; r < 2; ++r) BOOST_TEST(net.layer<2>().bias[r] == k++);
  BOOST_TEST(k == static_cast<double>(net_t::param_count));

  // layer<I>() aliases params(): writes through one show in the other
  net.layer<1>().bias[2] = -1.5;
  BOOST_TEST(p[16 + 20 + 2] == -1.5);
  net.layer<2>().weight(1, 3) = -2.5;
  BOOST_TEST(p[41 + 5 + 3] == -2.5);
  p[3 * 1 + 2] = -3.5;
  BOOST_TEST(net.layer<0>().weight(1, 2) == -3.5);
  BOOST_TEST(net.layer<0>().weight.data() == p.data());
  BOOST_TEST(reinterpret_cast<std::uintptr_t>(p.data()) % PROPEL_MAX_ALIGN == 0);
  net_t const& cnet = net;
  BOOST_TEST(cnet.params().data() == p.data());

  // the gradient block has the same layout
  pp::gradient_t<net_t> grad{};
  BOOST_TEST(grad.params().size() == net_t::param_count);
  BOOST_TEST(grad.layer<2>().bias.data() - grad.params().data() == 41 + 10);
  BOOST_TEST(
      std::all_of(grad.params().begin(), grad.params().end(), [](double v) { return v == 0; }));

  // for_each_tensor walks W0, b0, W1, b1, W2, b2 over several blocks together
  std::vector<std::size_t> sizes;
  std::vector<std::ptrdiff_t> offsets;
  pp::for_each_tensor(
      [&](std::size_t n, double* a, double* b) {
        sizes.push_back(n);
        offsets.push_back(a - p.data());
        BOOST_TEST(b - grad.params().data() == a - p.data());
      },
      net, grad);
  BOOST_TEST(sizes == (std::vector<std::size_t>{12, 4, 20, 5, 10, 2}),
             boost::test_tools::per_element());
  BOOST_TEST(offsets == (std::vector<std::ptrdiff_t>{0, 12, 16, 36, 41, 51}),
             boost::test_tools::per_element());

  net.zero();
  BOOST_TEST(std::all_of(p.begin(), p.end(), [](double v) { return v == 0; }));
}

BOOST_AUTO_TEST_CASE(forward_of_a_batch_is_the_forward_of_each_row) {
  using net_t = pp::mlp<double, pp::input<3>, pp::dense<4, pp::elu>, pp::dense<2, pp::sigmoid>>;
  rng64 g{11};
  net_t net;
  randomize(net, g);
  pp::mat<double, 5, 3> x{};
  for (auto& v : x) v = g.uniform(-2, 2);
  auto const y = net(x);
  for (std::size_t r = 0; r < 5; ++r) {
    pp::vec<double, 3> row{};
    std::copy(x.row(r).begin(), x.row(r).end(), row.begin());
    auto const yr = net(row);
    for (std::size_t c = 0; c < 2; ++c) BOOST_TEST(rel_err(y(r, c), yr[c], 1e-300) <= 1e-15);
  }
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------------
// init: SplitMix64 and He / Glorot uniform bounds, re-implemented here.

BOOST_AUTO_TEST_SUITE(initialisation)

BOOST_AUTO_TEST_CASE(splitmix64_matches_its_published_outputs) {
  // the test's generator: outputs of the reference splitmix64.c for seeds 0 and 1234567
  rng64 a{0};
  BOOST_TEST(a.next() == 0xE220A8397B1DCDAFULL);
  rng64 b{1234567};
  BOOST_TEST(b.next() == 6457827717110365317ULL);
  BOOST_TEST(b.next() == 3203168211198807973ULL);
  BOOST_TEST(b.next() == 9817491932198370423ULL);
}

template <class Net>
void check_init(std::uint64_t seed) {
  using T = typename Net::value_type;
  Net net;
  for (auto& v : net.params()) v = T(99);  // biases must be set, weights overwritten
  pp::init(net, seed);
  rng64 g{seed};
  std::size_t mismatches = 0;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          using act = typename Net::template activation_t<I>;
          double const fan_in = static_cast<double>(Net::widths[I]);
          double const fan_out = static_cast<double>(Net::widths[I + 1]);
          double const bound =
              he_family<act>() ? std::sqrt(6.0 / fan_in) : std::sqrt(6.0 / (fan_in + fan_out));
          for (T const w : net.template layer<I>().weight) {
            T const expected = static_cast<T>(bound * (2.0 * g.unit() - 1.0));
            if (w != expected) ++mismatches;
            BOOST_TEST(std::abs(static_cast<double>(w)) <= bound);
          }
          for (T const b : net.template layer<I>().bias) BOOST_TEST(b == T(0));
        }(),
        ...);
  }
  (std::make_index_sequence<Net::layer_count>{});
  BOOST_TEST(mismatches == 0u, mismatches << " of " << Net::param_count
                                          << " weights differ from SplitMix64 + He/Glorot");

  Net again;
  pp::init(again, seed);
  BOOST_TEST(
      std::memcmp(net.params().data(), again.params().data(), sizeof(T) * Net::param_count) == 0);
  Net other;
  pp::init(other, seed + 1);
  BOOST_TEST(!std::equal(net.params().begin(), net.params().end(), other.params().begin()));
}

BOOST_AUTO_TEST_CASE(weights_are_splitmix64_he_or_glorot_uniform_and_biases_zero) {
  check_init<pp::mlp<double, pp::input<5>, pp::dense<7, pp::relu>, pp::dense<6, pp::tanh>,
                     pp::dense<4, leaky02>, pp::dense<3, pp::sigmoid>, pp::dense<2>>>(42);
  check_init<pp::mlp<float, pp::input<4>, pp::dense<6, pp::gelu>, pp::dense<5, pp::softplus>,
                     pp::dense<3, elu05>, pp::dense<3, pp::silu>, pp::dense<2, pp::gelu_tanh>,
                     pp::dense<2, pp::leaky_relu>, pp::dense<2, pp::elu>>>(0);
}

BOOST_AUTO_TEST_CASE(weights_look_uniform) {
  using net_t = pp::mlp<double, pp::input<64>, pp::dense<64, pp::relu>>;
  net_t net;
  pp::init(net, 2024);
  double const bound = std::sqrt(6.0 / 64.0);
  double sum = 0.0;
  double sum_sq = 0.0;
  for (double const w : net.layer<0>().weight) {
    sum += w;
    sum_sq += w * w;
  }
  double const n = 64.0 * 64.0;
  BOOST_TEST(std::abs(sum / n) < 0.05 * bound);
  BOOST_TEST(std::abs(sum_sq / n / (bound * bound / 3.0) - 1.0) < 0.1);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(compose_runs_the_first_network_then_the_second) {
  using a_t = pp::mlp<double, pp::input<3>, pp::dense<4, pp::tanh>>;
  using b_t = pp::mlp<double, pp::input<4>, pp::dense<5, pp::relu>, pp::dense<2, pp::sigmoid>>;
  rng64 g{12};
  a_t a;
  b_t b;
  randomize(a, g);
  randomize(b, g);
  auto c = pp::compose(a, b);
  static_assert(
      std::is_same_v<decltype(c), pp::mlp<double, pp::input<3>, pp::dense<4, pp::tanh>,
                                          pp::dense<5, pp::relu>, pp::dense<2, pp::sigmoid>>>);
  std::vector<double> expected(a.params().begin(), a.params().end());
  expected.insert(expected.end(), b.params().begin(), b.params().end());
  BOOST_TEST(std::equal(expected.begin(), expected.end(), c.params().begin(), c.params().end()));

  pp::vec<double, 3> x{};
  for (auto& v : x) v = g.uniform(-1, 1);
  auto const y = c(x);
  auto const y2 = b(a(x));
  for (std::size_t i = 0; i < 2; ++i) BOOST_TEST(rel_err(y[i], y2[i], 1e-300) <= 1e-15);
  pp::mat<double, 6, 3> xs{};
  for (auto& v : xs) v = g.uniform(-1, 1);
  auto const ys = c(xs);
  auto const ys2 = b(a(xs));
  for (std::size_t i = 0; i < ys.size(); ++i) BOOST_TEST(rel_err(ys[i], ys2[i], 1e-300) <= 1e-15);

  // the composed network owns copies
  a.layer<0>().bias[0] += 1.0;
  BOOST_TEST(c.layer<0>().bias[0] == expected[12]);
}

// ---------------------------------------------------------------------------------------------
// The trainer.

BOOST_AUTO_TEST_SUITE(trainer)

using xor_t = pp::mlp<float, pp::input<2>, pp::dense<8, pp::tanh>, pp::dense<1>>;
static_assert(xor_t::param_count == 33);

template <class Net, class Opt>
using trainer_t = pp::trainer<Net, pp::mse, Opt>;

// 36 doubles = 288 bytes: a multiple of the block alignment, so the block has no padding
using even_t = pp::mlp<double, pp::input<3>, pp::dense<4>, pp::dense<4>>;
static_assert(even_t::param_count == 12 + 4 + 16 + 4 &&
              even_t::param_count * sizeof(double) % 32 == 0);
static_assert(trainer_t<even_t, pp::sgd>::parameter_bytes == even_t::param_count * sizeof(double));
// under a built-in loss the update runs inside the backward pass: no gradient is kept
static_assert(trainer_t<even_t, pp::sgd>::fused_update);
static_assert(trainer_t<even_t, pp::sgd>::gradient_bytes == 0);
static_assert(trainer_t<even_t, pp::sgd>::optimizer_state_bytes ==
              even_t::param_count * sizeof(double));
static_assert(trainer_t<even_t, pp::adam>::optimizer_state_bytes ==
              2 * even_t::param_count * sizeof(double));
static_assert(trainer_t<even_t, pp::adamw>::optimizer_state_bytes ==
              2 * even_t::param_count * sizeof(double));
// 33 floats = 132 bytes: the aligned block ends in padding, which the counts include
static_assert(trainer_t<xor_t, pp::adam>::parameter_bytes == sizeof(xor_t));
static_assert(trainer_t<xor_t, pp::adam>::parameter_bytes >= 33 * sizeof(float));
static_assert(trainer_t<xor_t, pp::adam>::parameter_bytes < 33 * sizeof(float) + PROPEL_MAX_ALIGN);
static_assert(trainer_t<xor_t, pp::adam>::gradient_bytes == 0);
static_assert(trainer_t<xor_t, pp::adam>::optimizer_state_bytes ==
              2 * sizeof(pp::gradient_t<xor_t>));
// the trainer holds the optimizer state and the workspace of a step itself, and refers to the
// network
using xor_trainer = pp::trainer<xor_t, pp::mse, pp::adam, 4>;
static_assert(sizeof(xor_trainer) >= xor_trainer::gradient_bytes +
                                         xor_trainer::optimizer_state_bytes +
                                         xor_trainer::activation_bytes);
static_assert(sizeof(xor_trainer) < xor_trainer::gradient_bytes +
                                        xor_trainer::optimizer_state_bytes +
                                        xor_trainer::activation_bytes + 128);
// a step's workspace holds at least every layer's output and its derivative for the whole
// batch, and is not wildly larger than that; the trainer holds room for it
constexpr std::size_t xor_workspace =
    xor_trainer::workspace_bytes<pp::mat<float, 4, 2>, pp::mat<float, 4, 1>>;
static_assert(xor_workspace >= 2 * 4 * (8 + 1) * sizeof(float));
static_assert(xor_workspace <= 8 * 4 * (8 + 1) * sizeof(float) + 256);
static_assert(xor_workspace <= xor_trainer::activation_bytes);
// a trainer for single samples holds less: one sample's workspace
static_assert(trainer_t<xor_t, pp::adam>::activation_bytes < xor_trainer::activation_bytes);
static_assert(trainer_t<xor_t, pp::adam>::activation_bytes >=
              trainer_t<xor_t, pp::adam>::workspace_bytes<pp::vec<float, 2>, pp::vec<float, 1>>);
static_assert(pp::workspace_bytes<layout::digits_t, pp::mat<float, 32, 64>, std::array<int, 32>,
                                  pp::softmax_cross_entropy> >= 32 * (64 + 10) * sizeof(float));

// Plain SGD may be fused into the backward pass: the gradient and the update must still be those
// of the parameters before the step.
template <class X, class Y>
void expect_plain_sgd_step() {
  using net_t = pp::mlp<double, pp::input<3>, pp::dense<4, pp::softplus>, pp::dense<5, pp::tanh>,
                        pp::dense<2>>;
  rng64 g{13};
  net_t net;
  randomize(net, g);
  X x{};
  for (auto& v : x) v = g.uniform(-1, 1);
  Y y{};
  for (auto& v : y) v = g.uniform(-1, 1);
  net_t const before = net;
  pp::gradient_t<net_t> grad;
  double const loss = pp::loss_and_gradient(net, x, y, pp::mse{}, grad);

  constexpr std::size_t rows = sizeof(X) / sizeof(double) / net_t::input_size;
  pp::trainer t{net, pp::mse{}, pp::sgd{.lr = 0.25}, pp::batch<rows>};
  BOOST_TEST(t.step_count() == 0u);
  double const step_loss = t.step(x, y);
  BOOST_TEST(step_loss == loss);  // the loss before the update
  BOOST_TEST(t.step_count() == 1u);
  for (std::size_t i = 0; i < net_t::param_count; ++i) {
    double const expected = before.params()[i] - 0.25 * grad.params()[i];
    BOOST_TEST(rel_err(net.params()[i], expected, 1e-300) <= 1e-15);
  }
  BOOST_TEST(&t.net() == &net);
  // the second step starts from the updated parameters
  net_t const after_one = net;
  pp::gradient_t<net_t> grad2;
  double const loss2 = pp::loss_and_gradient(after_one, x, y, pp::mse{}, grad2);
  BOOST_TEST(t.step(x, y) == loss2);
  BOOST_TEST(loss2 < loss);
  (void)t.step(x, y);
  BOOST_TEST(t.step_count() == 3u);
  t.set_step_count(10);
  (void)t.step(x, y);
  BOOST_TEST(t.step_count() == 11u);
}

BOOST_AUTO_TEST_CASE(plain_sgd_step_is_params_minus_lr_times_gradient) {
  expect_plain_sgd_step<pp::vec<double, 3>, pp::vec<double, 2>>();
  expect_plain_sgd_step<pp::mat<double, 5, 3>, pp::mat<double, 5, 2>>();
}

template <class Opt>
void expect_no_update_on(Opt opt) {
  using net_t = pp::mlp<float, pp::input<2>, pp::dense<3, pp::relu>, pp::dense<3>>;
  net_t net;
  pp::init(net, 5);
  net_t const before = net;
  pp::mat<float, 2, 2> const x{0.5f, -0.25f, 1.0f, 0.75f};
  pp::trainer t{net, pp::softmax_cross_entropy{}, opt, pp::batch<2>};
  auto const unchanged = [&] {
    bool same = std::memcmp(net.params().data(), before.params().data(),
                            sizeof(float) * net_t::param_count) == 0;
    for (std::size_t k = 0; k < Opt::state_count; ++k) {
      for (float const s : t.state(k).params()) same = same && s == 0.0f;
    }
    return same && t.step_count() == 0u;
  };
  BOOST_TEST(std::isnan(t.step(x, std::array<int, 2>{0, 3})));  // class 3 of 3: out of range
  BOOST_TEST(unchanged());
  BOOST_TEST(std::isnan(t.step(x, std::array<int, 2>{-1, 1})));  // negative
  BOOST_TEST(unchanged());
  pp::vec<float, 2> const one{0.5f, 0.5f};
  BOOST_TEST(std::isnan(t.step(one, 7)));  // one sample, int label
  BOOST_TEST(unchanged());
  // a valid step does update
  float const loss = t.step(x, std::array<int, 2>{2, 0});
  BOOST_TEST(std::isfinite(loss));
  BOOST_TEST(t.step_count() == 1u);
  BOOST_TEST(!unchanged());
}

BOOST_AUTO_TEST_CASE(a_label_out_of_range_gives_nan_and_no_update) {
  expect_no_update_on(pp::sgd{.lr = 0.1});
  expect_no_update_on(pp::sgd{.lr = 0.1, .momentum = 0.9});
  expect_no_update_on(pp::adam{.lr = 0.01});
  expect_no_update_on(pp::adamw{.lr = 0.01});
}

BOOST_AUTO_TEST_CASE(an_infinite_loss_gives_no_update) {
  using net_t = pp::mlp<double, pp::input<2>, pp::dense<2>>;
  net_t net;
  pp::init(net, 3);
  net_t const before = net;
  pp::trainer t{net, pp::mse{}, pp::sgd{.lr = 0.1}};
  pp::vec<double, 2> const x{1.0, 2.0};
  pp::vec<double, 2> const y{std::numeric_limits<double>::infinity(), 0.0};
  BOOST_TEST(!std::isfinite(t.step(x, y)));
  BOOST_TEST(std::equal(before.params().begin(), before.params().end(), net.params().begin()));
  BOOST_TEST(t.step_count() == 0u);
}

template <class Opt>
void expect_xor_learned(Opt opt, std::size_t steps, char const* name) {
  xor_t net;
  pp::init(net, 7);
  pp::mat<float, 4, 2> const x{0, 0, 0, 1, 1, 0, 1, 1};
  pp::mat<float, 4, 1> const y{0, 1, 1, 0};
  pp::trainer t{net, pp::bce_with_logits{}, opt, pp::batch<4>};
  float const first = t.step(x, y);
  float last = first;
  for (std::size_t i = 1; i < steps; ++i) last = t.step(x, y);
  auto const out = net(x);
  bool correct = true;
  for (std::size_t r = 0; r < 4; ++r) correct = correct && ((out[r] > 0.0f) == (y[r] > 0.5f));
  BOOST_TEST_MESSAGE(name << ": XOR loss " << first << " -> " << last << " in " << steps
                          << " steps");
  BOOST_TEST(last < 0.1f, name << ": loss " << first << " -> " << last);
  BOOST_TEST(last < 0.2f * first, name);
  BOOST_TEST(correct, name << ": XOR not learned");
}

/// A loss that uses the prediction twice: the mean of softplus(u) + softplus(-u), u = p - t.
/// Each parameter then occurs twice in the loss, so its derivatives have to be added up
/// before an update can use them.
struct twice_loss {
  template <class P, class T>
  auto operator()(P const& pred, T const& target) const {
    auto const u = pred - pp::constant(target);
    return pp::mean(pp::softplus{}(u) + pp::softplus{}(-u));
  }
};

/// The trainer's update, which runs inside the backward pass (or after it, for twice_loss),
/// gives the same bits as the optimizer's rule applied afterwards to loss_and_gradient's
/// gradient, step after step: on a batch of 6 (Rows) or on one sample (Rows = 0, the
/// kernels of W·x, which hand the update whole blocks of a weight matrix).
template <class T, std::size_t Rows, class Loss, class Opt>
void expect_update_as_a_separate_pass(Loss loss, Opt opt, char const* name) {
  using net_t =
      pp::mlp<T, pp::input<3>, pp::dense<5, pp::tanh>, pp::dense<12, pp::relu>, pp::dense<2>>;
  using x_t = std::conditional_t<Rows == 0, pp::vec<T, 3>, pp::mat<T, Rows, 3>>;
  using y_t = std::conditional_t<Rows == 0, pp::vec<T, 2>, pp::mat<T, Rows, 2>>;
  rng64 g{29};
  net_t net;
  randomize(net, g);
  x_t x{};
  for (auto& v : x) v = static_cast<T>(g.uniform(-1, 1));
  y_t y{};
  for (auto& v : y) v = static_cast<T>(g.uniform(-1, 1));
  net_t reference = net;
  std::array<pp::gradient_t<net_t>, Opt::state_count> state{};
  pp::trainer t{net, loss, opt, pp::batch < Rows == 0 ? 1 : Rows > };
  for (std::uint64_t step = 1; step <= 3; ++step) {
    pp::gradient_t<net_t> grad;
    T const expected_loss = pp::loss_and_gradient(reference, x, y, loss, grad);
    auto const rule = opt.template at_step<T>(step);
    std::array<T*, Opt::state_count> s{};
    for (std::size_t k = 0; k < Opt::state_count; ++k) s[k] = state[k].params().data();
    for (std::size_t i = 0; i < net_t::param_count; ++i) {
      rule(i, reference.params().data(), grad.params()[i], s);
    }
    BOOST_TEST(t.step(x, y) == expected_loss, name << " step " << step);
    BOOST_TEST(std::equal(net.params().begin(), net.params().end(), reference.params().begin()),
               name << " step " << step << ": parameters");
    for (std::size_t k = 0; k < Opt::state_count; ++k) {
      BOOST_TEST(std::equal(state[k].params().begin(), state[k].params().end(),
                            t.state(k).params().begin()),
                 name << " step " << step << ": state " << k);
    }
  }
}

// A loss that uses the prediction twice needs its derivatives added up: the trainer keeps a
// gradient for it and updates after the backward pass.
static_assert(!pp::trainer<xor_t, twice_loss, pp::sgd>::fused_update);
static_assert(pp::trainer<xor_t, twice_loss, pp::sgd>::gradient_bytes ==
              sizeof(pp::gradient_t<xor_t>));
static_assert(pp::trainer<xor_t, pp::huber, pp::sgd>::fused_update);

BOOST_AUTO_TEST_CASE(the_update_inside_the_backward_pass_equals_a_separate_pass) {
  auto const both = [](auto opt, char const* name) {
    expect_update_as_a_separate_pass<double, 6>(pp::mse{}, opt, name);
    expect_update_as_a_separate_pass<double, 6>(twice_loss{}, opt, name);
    expect_update_as_a_separate_pass<double, 0>(pp::mse{}, opt, name);
    expect_update_as_a_separate_pass<double, 0>(twice_loss{}, opt, name);
    expect_update_as_a_separate_pass<float, 0>(pp::mse{}, opt, name);
    expect_update_as_a_separate_pass<float, 6>(pp::mse{}, opt, name);
  };
  both(pp::sgd{.lr = 0.1}, "sgd");
  both(pp::sgd{.lr = 0.1, .weight_decay = 0.01}, "sgd decay");
  both(pp::sgd{.lr = 0.1, .momentum = 0.9}, "momentum");
  both(pp::sgd{.lr = 0.1, .momentum = 0.9, .nesterov = true, .weight_decay = 0.01}, "nesterov");
  both(pp::adam{.lr = 0.01, .weight_decay = 0.1}, "adam");
  both(pp::adamw{.lr = 0.01}, "adamw");
}

BOOST_AUTO_TEST_CASE(a_loss_that_uses_the_prediction_twice_adds_up_its_derivatives) {
  using net_t = pp::mlp<double, pp::input<3>, pp::dense<4, pp::tanh>, pp::dense<2>>;
  rng64 g{31};
  net_t net;
  randomize(net, g);
  pp::mat<double, 5, 3> x{};
  for (auto& v : x) v = g.uniform(-1, 1);
  pp::mat<double, 5, 2> y{};
  for (auto& v : y) v = g.uniform(-1, 1);
  pp::gradient_t<net_t> grad;
  (void)pp::loss_and_gradient(net, x, y, twice_loss{}, grad);
  std::vector<double> const params(net.params().begin(), net.params().end());
  auto const f = [&](std::vector<double> const& p, std::vector<int>*) {
    net_t moved;
    std::copy(p.begin(), p.end(), moved.params().begin());
    return pp::evaluate(twice_loss{}(moved.expression(pp::constant(x)), y));
  };
  fd_result const r = check_fd(f, params, std::span<double const>(grad.params()));
  BOOST_TEST(r.max_error < 1e-7,
             "worst element " << r.worst << ": " << r.analytic << " vs " << r.numeric);
}

BOOST_AUTO_TEST_CASE(xor_is_learned_with_every_optimizer) {
  expect_xor_learned(pp::sgd{.lr = 0.5}, 1500, "sgd");
  expect_xor_learned(pp::sgd{.lr = 0.1, .momentum = 0.9}, 500, "sgd momentum");
  expect_xor_learned(pp::sgd{.lr = 0.1, .momentum = 0.9, .nesterov = true, .weight_decay = 1e-4},
                     500, "sgd nesterov");
  expect_xor_learned(pp::adam{.lr = 0.05}, 300, "adam");
  expect_xor_learned(pp::adamw{.lr = 0.05, .weight_decay = 1e-2}, 300, "adamw");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
