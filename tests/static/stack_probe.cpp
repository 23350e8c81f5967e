// SPDX-License-Identifier: BSL-1.0
// The stack each public entry point needs, for the ctrl (16 -> 32 relu -> 32 relu -> 4, MSE)
// and digits (64 -> 64 relu -> 10, softmax cross-entropy) networks, one sample and a batch of
// 32. Each probe is an extern "C" noinline function that calls one entry point as a user's
// program does, from a function of its own; GCC compiles this file with -fstack-usage
// -fcallgraph-info=su (tests/static/CMakeLists.txt), and stack_check adds the frames along
// the deepest call path of each probe and compares the sum with its budget in
// stack_budget.txt. Results come back by value (into the caller's storage) or through
// references, so that a probe's own frame holds no copy of them. `_ws` probes pass the
// caller's workspace; the others keep it on their stack, which is what their budget says.
#include <array>
#include <propel/propel.hpp>

namespace pp = propel;

using ctrl_t =
    pp::mlp<float, pp::input<16>, pp::dense<32, pp::relu>, pp::dense<32, pp::relu>, pp::dense<4>>;
using digits_t = pp::mlp<float, pp::input<64>, pp::dense<64, pp::relu>, pp::dense<10>>;
using ctrl_x1 = pp::vec<float, 16>;
using ctrl_y1 = pp::vec<float, 4>;
using ctrl_x = pp::mat<float, 32, 16>;
using ctrl_y = pp::mat<float, 32, 4>;
using digits_x1 = pp::vec<float, 64>;
using digits_x = pp::mat<float, 32, 64>;
using labels_t = std::array<int, 32>;
using xent = pp::softmax_cross_entropy;
using ctrl_int8_t =
    pp::int8_mlp<pp::input<16>, pp::dense<32, pp::relu>, pp::dense<32, pp::relu>, pp::dense<4>>;

// The loss expression of the digits network, for evaluate, gradient and value_and_gradient.
using digits_loss_t = decltype(xent{}(
    std::declval<digits_t const&>().expression(pp::constant(std::declval<digits_x const&>())),
    std::declval<labels_t const&>()));

#define PROPEL_PROBE extern "C" [[gnu::noinline, gnu::used]]

// ---- ctrl
PROPEL_PROBE ctrl_y1 ctrl_infer1(ctrl_t const& net, ctrl_x1 const& x) { return net(x); }
PROPEL_PROBE ctrl_y1 ctrl_infer1_ws(ctrl_t const& net, ctrl_x1 const& x,
                                    pp::inference_workspace_t<ctrl_t, ctrl_x1>& ws) {
  return net(x, ws);
}
PROPEL_PROBE ctrl_y ctrl_infer32(ctrl_t const& net, ctrl_x const& x) { return net(x); }
PROPEL_PROBE ctrl_y ctrl_infer32_ws(ctrl_t const& net, ctrl_x const& x,
                                    pp::inference_workspace_t<ctrl_t, ctrl_x>& ws) {
  return net(x, ws);
}
PROPEL_PROBE float ctrl_loss_and_gradient1(ctrl_t const& net, ctrl_x1 const& x, ctrl_y1 const& y,
                                           pp::gradient_t<ctrl_t>& g) {
  return pp::loss_and_gradient(net, x, y, pp::mse{}, g);
}
PROPEL_PROBE float ctrl_loss_and_gradient1_ws(
    ctrl_t const& net, ctrl_x1 const& x, ctrl_y1 const& y, pp::gradient_t<ctrl_t>& g,
    pp::gradient_workspace_t<ctrl_t, ctrl_x1, ctrl_y1, pp::mse>& ws) {
  return pp::loss_and_gradient(net, x, y, pp::mse{}, g, ws);
}
PROPEL_PROBE float ctrl_loss_and_gradient32(ctrl_t const& net, ctrl_x const& x, ctrl_y const& y,
                                            pp::gradient_t<ctrl_t>& g) {
  return pp::loss_and_gradient(net, x, y, pp::mse{}, g);
}
PROPEL_PROBE float ctrl_loss_and_gradient32_ws(
    ctrl_t const& net, ctrl_x const& x, ctrl_y const& y, pp::gradient_t<ctrl_t>& g,
    pp::gradient_workspace_t<ctrl_t, ctrl_x, ctrl_y, pp::mse>& ws) {
  return pp::loss_and_gradient(net, x, y, pp::mse{}, g, ws);
}
PROPEL_PROBE float ctrl_trainer_step1(pp::trainer<ctrl_t, pp::mse, pp::sgd>& t, ctrl_x1 const& x,
                                      ctrl_y1 const& y) {
  return t.step(x, y);
}
PROPEL_PROBE float ctrl_trainer_step32(pp::trainer<ctrl_t, pp::mse, pp::sgd, 32>& t,
                                       ctrl_x const& x, ctrl_y const& y) {
  return t.step(x, y);
}

// ---- ctrl quantized to int8 (propel::int8_mlp): no workspace, a few hundred bytes
PROPEL_PROBE pp::vec<std::int8_t, 4> ctrl_int8_infer1(ctrl_int8_t const& net,
                                                      pp::vec<std::int8_t, 16> const& x) {
  return net(x);
}
PROPEL_PROBE ctrl_y1 ctrl_int8_infer1_float(ctrl_int8_t const& net, ctrl_x1 const& x) {
  return net(x);
}

// ---- digits
PROPEL_PROBE pp::vec<float, 10> digits_infer1(digits_t const& net, digits_x1 const& x) {
  return net(x);
}
PROPEL_PROBE pp::vec<float, 10> digits_infer1_ws(
    digits_t const& net, digits_x1 const& x, pp::inference_workspace_t<digits_t, digits_x1>& ws) {
  return net(x, ws);
}
PROPEL_PROBE pp::mat<float, 32, 10> digits_infer32(digits_t const& net, digits_x const& x) {
  return net(x);
}
PROPEL_PROBE pp::mat<float, 32, 10> digits_infer32_ws(
    digits_t const& net, digits_x const& x, pp::inference_workspace_t<digits_t, digits_x>& ws) {
  return net(x, ws);
}
PROPEL_PROBE float digits_evaluate32(digits_t const& net, digits_x const& x,
                                     labels_t const& labels) {
  return pp::evaluate(xent{}(net.expression(pp::constant(x)), labels));
}
PROPEL_PROBE float digits_evaluate32_ws(digits_t const& net, digits_x const& x,
                                        labels_t const& labels,
                                        pp::evaluation_workspace_t<digits_loss_t>& ws) {
  return pp::evaluate(xent{}(net.expression(pp::constant(x)), labels), ws);
}
PROPEL_PROBE auto digits_value_and_gradient32(digits_t const& net, digits_x const& x,
                                              labels_t const& labels) {
  return pp::value_and_gradient(xent{}(net.expression(pp::constant(x)), labels),
                                net.weight_variable<1>(), net.bias_variable<1>());
}
PROPEL_PROBE auto digits_value_and_gradient32_ws(digits_t const& net, digits_x const& x,
                                                 labels_t const& labels,
                                                 pp::workspace_t<digits_loss_t>& ws) {
  return pp::value_and_gradient(xent{}(net.expression(pp::constant(x)), labels), ws,
                                net.weight_variable<1>(), net.bias_variable<1>());
}
PROPEL_PROBE auto digits_gradient32_ws(digits_t const& net, digits_x const& x,
                                       labels_t const& labels, pp::workspace_t<digits_loss_t>& ws) {
  return pp::gradient(xent{}(net.expression(pp::constant(x)), labels), ws, net.bias_variable<0>());
}
PROPEL_PROBE float digits_loss_and_gradient32(digits_t const& net, digits_x const& x,
                                              labels_t const& labels, pp::gradient_t<digits_t>& g) {
  return pp::loss_and_gradient(net, x, labels, xent{}, g);
}
PROPEL_PROBE float digits_loss_and_gradient32_ws(
    digits_t const& net, digits_x const& x, labels_t const& labels, pp::gradient_t<digits_t>& g,
    pp::gradient_workspace_t<digits_t, digits_x, labels_t, xent>& ws) {
  return pp::loss_and_gradient(net, x, labels, xent{}, g, ws);
}
PROPEL_PROBE float digits_loss_and_input_gradient32(digits_t const& net, digits_x const& x,
                                                    labels_t const& labels, digits_x& dx) {
  return pp::loss_and_input_gradient(net, x, labels, xent{}, dx);
}
PROPEL_PROBE float digits_loss_and_input_gradient32_ws(
    digits_t const& net, digits_x const& x, labels_t const& labels, digits_x& dx,
    pp::input_gradient_workspace_t<digits_t, digits_x, labels_t, xent>& ws) {
  return pp::loss_and_input_gradient(net, x, labels, xent{}, dx, ws);
}
PROPEL_PROBE float digits_trainer_step32(pp::trainer<digits_t, xent, pp::sgd, 32>& t,
                                         digits_x const& x, labels_t const& labels) {
  return t.step(x, labels);
}
