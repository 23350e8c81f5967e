// SPDX-License-Identifier: BSL-1.0
// The overloads that run in a caller's workspace: net(x, ws), net(batch, ws), evaluate(e, ws),
// gradient(e, ws, ...), value_and_gradient(e, ws, ...), loss_and_gradient(..., g, ws) and
// loss_and_input_gradient(..., dx, ws) give the same bits as the overloads that keep their
// workspace on the stack, whatever the workspace held before (it is filled with garbage
// first, and reused across calls), refuse bad input the same way, and their workspace types
// have the sizes documented. tests/static/stack_budget.txt checks the stack they need.
#define BOOST_TEST_MODULE workspace
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
#include <tuple>

namespace {

namespace pp = propel;

using net_t =
    pp::mlp<float, pp::input<5>, pp::dense<7, pp::tanh>, pp::dense<6, pp::relu>, pp::dense<3>>;
constexpr std::size_t rows = 4;
using x1_t = pp::vec<float, 5>;
using xb_t = pp::mat<float, rows, 5>;
using y1_t = pp::vec<float, 3>;
using yb_t = pp::mat<float, rows, 3>;
using labels_t = std::array<int, rows>;

std::uint64_t volatile seed = 77;  // read at run time

template <class Tensor>
Tensor random_tensor(std::uint64_t salt) {
  std::uint64_t state = seed + salt;
  Tensor t;
  for (auto& v : t) {
    state = state * 6364136223846793005u + 1442695040888963407u;
    v = static_cast<float>(static_cast<double>(state >> 40) / 8388608.0 - 1.0);
  }
  return t;
}

net_t make_net() {
  net_t net;
  pp::init(net, seed);
  // non-zero biases, so that a bias that went missing would show
  for (auto& b : net.layer<0>().bias) b = 0.125f;
  for (auto& b : net.layer<2>().bias) b = -0.25f;
  return net;
}

/// Fills a workspace with a byte pattern that makes NaNs and huge values of every float in
/// it: a result that read the workspace before writing it would show.
template <class W>
void spoil(W& ws) {
  std::memset(static_cast<void*>(&ws), 0xff, sizeof(W));
}

bool same_bits(float a, float b) {
  return std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b);
}
/// Whether two tensors (or spans) hold the same bits, element by element.
template <class A>
bool same_bits(A const& a, A const& b) {
  bool same = a.size() == b.size();
  for (std::size_t i = 0; same && i < a.size(); ++i) same = same_bits(a.data()[i], b.data()[i]);
  return same;
}
template <class T>
bool all_nan(T const& t) {
  for (auto v : t) {
    if (!std::isnan(v)) return false;
  }
  return true;
}

}  // namespace

BOOST_AUTO_TEST_CASE(workspace_types_have_the_documented_sizes) {
  using infer_ws = pp::inference_workspace_t<net_t, xb_t>;
  using grad_ws = pp::gradient_workspace_t<net_t, xb_t, yb_t, pp::mse>;
  // inference keeps the activations only; a gradient also keeps the backward pass's buffers
  static_assert(sizeof(infer_ws) < sizeof(grad_ws));
  static_assert(pp::workspace_bytes<net_t, xb_t, yb_t, pp::mse> == sizeof(grad_ws));
  // the activations of a batch: one product output per layer and the tanh layer's values
  static_assert(sizeof(infer_ws) >= (7 + 6 + 3) * rows * sizeof(float));
  // evaluation_workspace_t is the forward part of workspace_t
  using loss_t = pp::detail::loss_expression_t<net_t, xb_t, yb_t, pp::mse>;
  static_assert(sizeof(pp::evaluation_workspace_t<loss_t>) == sizeof(decltype(grad_ws::cache)));
  static_assert(sizeof(pp::evaluation_workspace_t<loss_t>) < sizeof(pp::workspace_t<loss_t>));
  BOOST_TEST(sizeof(infer_ws) > 0u);
}

BOOST_AUTO_TEST_CASE(inference_in_a_workspace_gives_the_same_bits) {
  net_t const net = make_net();
  auto const x = random_tensor<x1_t>(1);
  auto const xb = random_tensor<xb_t>(2);
  pp::inference_workspace_t<net_t, x1_t> ws1;
  pp::inference_workspace_t<net_t, xb_t> wsb;
  spoil(ws1);
  spoil(wsb);
  BOOST_TEST(same_bits(net(x, ws1), net(x)));
  BOOST_TEST(same_bits(net(xb, wsb), net(xb)));
  // reused for other inputs: nothing carries over
  auto const x2 = random_tensor<x1_t>(3);
  auto const xb2 = random_tensor<xb_t>(4);
  BOOST_TEST(same_bits(net(x2, ws1), net(x2)));
  BOOST_TEST(same_bits(net(xb2, wsb), net(xb2)));
  BOOST_TEST(!same_bits(net(x2, ws1), net(x, ws1)));  // the inputs do differ
  // a full workspace of the same expression serves inference too
  pp::workspace_t<decltype(net.expression(pp::constant(xb)))> full;
  spoil(full);
  BOOST_TEST(same_bits(net(xb, full), net(xb)));
}

BOOST_AUTO_TEST_CASE(expressions_in_a_workspace_give_the_same_bits) {
  auto w = random_tensor<pp::mat<float, 3, 5>>(10);
  auto b = random_tensor<pp::vec<float, 3>>(11);
  auto const xb = random_tensor<xb_t>(12);
  auto const y = random_tensor<yb_t>(13);
  auto const W = pp::variable<"W">(w);
  auto const B = pp::variable<"b">(b);
  auto const f = pp::mse{}(pp::tanh{}(pp::constant(xb) * pp::transpose(W) + B), y);
  using f_t = decltype(f);

  pp::evaluation_workspace_t<f_t> ews;
  pp::workspace_t<f_t> ws;
  spoil(ews);
  spoil(ws);
  BOOST_TEST(same_bits(pp::evaluate(f, ews), pp::evaluate(f)));
  BOOST_TEST(same_bits(pp::evaluate(f, ws), pp::evaluate(f)));
  auto const z = pp::tanh{}(pp::constant(xb) * pp::transpose(W) + B);
  pp::evaluation_workspace_t<decltype(z)> zws;
  spoil(zws);
  BOOST_TEST(same_bits(pp::evaluate(z, zws), pp::evaluate(z)));

  spoil(ws);
  auto const in_ws = pp::value_and_gradient(f, ws, W, B);
  auto const on_stack = pp::value_and_gradient(f, W, B);
  BOOST_TEST(same_bits(in_ws.value, on_stack.value));
  BOOST_TEST(same_bits(std::get<0>(in_ws.gradients), std::get<0>(on_stack.gradients)));
  BOOST_TEST(same_bits(std::get<1>(in_ws.gradients), std::get<1>(on_stack.gradients)));
  // gradient, in the same (now used) workspace, in another order
  auto const [gb, gw] = pp::gradient(f, ws, B, W);
  BOOST_TEST(same_bits(gw, std::get<0>(on_stack.gradients)));
  BOOST_TEST(same_bits(gb, std::get<1>(on_stack.gradients)));
  auto const [gw2] = pp::gradient(f, W);
  BOOST_TEST(same_bits(gw2, gw));
  // the gradient is not zero: the comparison means something
  bool nonzero = false;
  for (float v : gw) nonzero = nonzero || v != 0.0f;
  BOOST_TEST(nonzero);
}

namespace {

/// loss_and_gradient and loss_and_input_gradient with and without a workspace, on the same
/// network, inputs and targets: the same bits, twice in a row in one workspace.
template <class Loss, class X, class Targets>
void check_gradients(char const* name, Loss const& loss, X const& x, Targets const& targets) {
  net_t const net = make_net();
  pp::gradient_workspace_t<net_t, X, Targets, Loss> ws;
  pp::input_gradient_workspace_t<net_t, X, Targets, Loss> iws;
  spoil(ws);
  spoil(iws);
  for (int round = 0; round < 2; ++round) {
    pp::gradient_t<net_t> g_ws, g_stack;
    float const l_ws = pp::loss_and_gradient(net, x, targets, loss, g_ws, ws);
    float const l_stack = pp::loss_and_gradient(net, x, targets, loss, g_stack);
    BOOST_TEST(std::isfinite(l_ws), name);
    BOOST_TEST(same_bits(l_ws, l_stack), name);
    BOOST_TEST(same_bits(g_ws.params(), g_stack.params()), name);
    X dx_ws, dx_stack;
    float const li_ws = pp::loss_and_input_gradient(net, x, targets, loss, dx_ws, iws);
    float const li_stack = pp::loss_and_input_gradient(net, x, targets, loss, dx_stack);
    BOOST_TEST(same_bits(li_ws, l_stack), name);
    BOOST_TEST(same_bits(li_stack, l_stack), name);
    BOOST_TEST(same_bits(dx_ws, dx_stack), name);
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(gradients_in_a_workspace_give_the_same_bits_for_every_loss_form) {
  auto const x = random_tensor<x1_t>(20);
  auto const xb = random_tensor<xb_t>(21);
  check_gradients("mse, one sample", pp::mse{}, x, random_tensor<y1_t>(22));
  check_gradients("mse, batch", pp::mse{}, xb, random_tensor<yb_t>(23));
  check_gradients("huber, batch", pp::huber{0.5}, xb, random_tensor<yb_t>(24));
  check_gradients("softmax_cross_entropy, label", pp::softmax_cross_entropy{}, x, 2);
  check_gradients("softmax_cross_entropy, labels", pp::softmax_cross_entropy{}, xb,
                  labels_t{0, 2, 1, 2});
}

BOOST_AUTO_TEST_CASE(bad_input_in_a_workspace_is_refused_as_without) {
  net_t const net = make_net();
  auto xb = random_tensor<xb_t>(30);
  xb(1, 2) = std::numeric_limits<float>::quiet_NaN();
  labels_t const labels{0, 1, 2, 1};
  pp::gradient_workspace_t<net_t, xb_t, labels_t, pp::softmax_cross_entropy> ws;
  pp::gradient_t<net_t> g;
  float const l = pp::loss_and_gradient(net, xb, labels, pp::softmax_cross_entropy{}, g, ws);
  BOOST_TEST(std::isnan(l));
  BOOST_TEST(all_nan(g.params()));
  auto const xs = random_tensor<xb_t>(31);
  labels_t const bad{0, 3, 1, 1};  // 3 is not a class of a 3-output network
  pp::input_gradient_workspace_t<net_t, xb_t, labels_t, pp::softmax_cross_entropy> iws;
  xb_t dx;
  float const li = pp::loss_and_input_gradient(net, xs, bad, pp::softmax_cross_entropy{}, dx, iws);
  BOOST_TEST(std::isnan(li));
  BOOST_TEST(all_nan(dx));
}

namespace {

// In constant evaluation too: a workspace declared by the caller.
using small_t = pp::mlp<float, pp::input<2>, pp::dense<3, pp::relu>, pp::dense<1>>;
constexpr small_t small_net() {
  small_t net;
  pp::init(net, 5);
  return net;
}
constexpr bool constant_evaluation_agrees() {
  small_t const net = small_net();
  pp::vec<float, 2> const x{0.5f, -0.25f};
  pp::vec<float, 1> const y{0.75f};
  pp::inference_workspace_t<small_t, pp::vec<float, 2>> iws;
  pp::gradient_workspace_t<small_t, pp::vec<float, 2>, pp::vec<float, 1>, pp::mse> gws;
  pp::gradient_t<small_t> g1{}, g2{};
  bool ok = net(x, iws)[0] == net(x)[0];
  ok = ok && pp::loss_and_gradient(net, x, y, pp::mse{}, g1, gws) ==
                 pp::loss_and_gradient(net, x, y, pp::mse{}, g2);
  auto const same = [](auto const& a, auto const& b) {
    bool equal = true;
    for (std::size_t i = 0; i < a.size(); ++i) equal = equal && a.data()[i] == b.data()[i];
    return equal;
  };
  ok = ok && same(g1.layer<0>().weight, g2.layer<0>().weight) &&
       same(g1.layer<0>().bias, g2.layer<0>().bias) &&
       same(g1.layer<1>().weight, g2.layer<1>().weight) &&
       same(g1.layer<1>().bias, g2.layer<1>().bias);
  return ok;
}
static_assert(constant_evaluation_agrees());

}  // namespace

BOOST_AUTO_TEST_CASE(the_overloads_run_in_constant_evaluation) {
  BOOST_TEST(constant_evaluation_agrees());
}
