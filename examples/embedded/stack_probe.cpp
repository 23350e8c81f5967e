// SPDX-License-Identifier: BSL-1.0
// The stack each public entry point needs on a Cortex-M4F: built with -DPROBE_<name> (one of
// the names below), the program runs that one call and nothing else that uses the stack:
// networks, inputs, outputs, workspaces and trainers are globals (.bss), filled by a loop of
// integer arithmetic. The runner's "stack peak" then is the start-up's share, main's frame and
// the entry point's. stack.sh builds and runs every probe and prints the table in the README
// (the peak minus the empty program's).
#include <array>
#include <cstddef>
#include <cstdint>
#include <new>
#include <propel/propel.hpp>
#include <tuple>
#include <utility>

namespace pp = propel;

namespace {

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
using digits_loss_t = decltype(xent{}(
    std::declval<digits_t const&>().expression(pp::constant(std::declval<digits_x const&>())),
    std::declval<labels_t const&>()));

}  // namespace

// Data of every probe; a probe links what it uses (--gc-sections drops the rest).
ctrl_t ctrl;
digits_t digits;
ctrl_int8_t ctrl_int8;
pp::vec<std::int8_t, 16> cx1_int8;
pp::vec<std::int8_t, 4> cy1_int8;
ctrl_x1 cx1;
ctrl_y1 cy1;
ctrl_x cx;
ctrl_y cy;
digits_x1 dx1;
digits_x dx;
labels_t labels;
pp::gradient_t<ctrl_t> cg;
pp::gradient_t<digits_t> dg;
digits_x dinput_grad;
pp::vec<float, 10> dout1;
pp::mat<float, 32, 10> dout;
using vag_t = decltype(pp::value_and_gradient(
    std::declval<digits_loss_t const&>(), std::declval<digits_t const&>().weight_variable<1>()));
vag_t vag;  // the value and dJ/dW of layer 1

namespace {

/// Values in [-0.5, 0.5) from a linear congruential stream: no floating-point library call.
template <class Range>
void fill_values(Range&& r, std::uint32_t state) {
  for (auto& v : r) {
    state = state * 1664525u + 1013904223u;
    v = static_cast<float>(static_cast<std::int32_t>(state >> 8) - (1 << 23)) /
        static_cast<float>(1 << 24);
  }
}

/// int8 parameters as quantize gives them for ctrl (right shifts only, the common kernels):
/// weights and inputs from the same stream, multipliers 0.75 * 2^-8.
template <class Layer>
void fill_int8(Layer& l, std::uint32_t state) {
  for (auto& w : l.weight) {
    state = state * 1664525u + 1013904223u;
    w = static_cast<std::int8_t>(static_cast<std::int32_t>(state >> 24) - 128);
  }
  for (std::size_t o = 0; o < l.bias.size(); ++o) {
    l.bias[o] = static_cast<std::int32_t>(o) * 37 - 500;
    l.multiplier.set(o, 3 << 29);
    l.shift.set(o, -8);
  }
  l.output = {0.05f, -128};
  l.act_min = -128;
  l.right_shifts_only = true;
}

#if defined(PROBE_ctrl_infer1_ws)
pp::inference_workspace_t<ctrl_t, ctrl_x1> ctrl_infer1_ws;
#elif defined(PROBE_ctrl_infer32_ws)
pp::inference_workspace_t<ctrl_t, ctrl_x> ctrl_infer32_ws;
#elif defined(PROBE_ctrl_loss_and_gradient1_ws)
pp::gradient_workspace_t<ctrl_t, ctrl_x1, ctrl_y1, pp::mse> ctrl_grad1_ws;
#elif defined(PROBE_ctrl_loss_and_gradient32_ws)
pp::gradient_workspace_t<ctrl_t, ctrl_x, ctrl_y, pp::mse> ctrl_grad32_ws;
#elif defined(PROBE_ctrl_trainer_step1)
alignas(pp::trainer<ctrl_t, pp::mse, pp::sgd>) std::byte
    ctrl_trainer1_storage[sizeof(pp::trainer<ctrl_t, pp::mse, pp::sgd>)];
#elif defined(PROBE_ctrl_trainer_step32)
alignas(pp::trainer<ctrl_t, pp::mse, pp::sgd, 32>) std::byte
    ctrl_trainer32_storage[sizeof(pp::trainer<ctrl_t, pp::mse, pp::sgd, 32>)];
#elif defined(PROBE_digits_infer1_ws)
pp::inference_workspace_t<digits_t, digits_x1> digits_infer1_ws;
#elif defined(PROBE_digits_infer32_ws)
pp::inference_workspace_t<digits_t, digits_x> digits_infer32_ws;
#elif defined(PROBE_digits_evaluate32_ws)
pp::evaluation_workspace_t<digits_loss_t> digits_evaluate32_ws;
#elif defined(PROBE_digits_value_and_gradient32_ws)
pp::workspace_t<digits_loss_t> digits_vag32_ws;
#elif defined(PROBE_digits_loss_and_gradient32_ws)
pp::gradient_workspace_t<digits_t, digits_x, labels_t, xent> digits_grad32_ws;
#elif defined(PROBE_digits_loss_and_input_gradient32_ws)
pp::input_gradient_workspace_t<digits_t, digits_x, labels_t, xent> digits_input_grad32_ws;
#elif defined(PROBE_digits_trainer_step32)
alignas(pp::trainer<digits_t, xent, pp::sgd, 32>) std::byte
    digits_trainer32_storage[sizeof(pp::trainer<digits_t, xent, pp::sgd, 32>)];
#endif

/// The one call of the probe; returns a number that depends on its result.
[[gnu::noinline]] float run() {
#if defined(PROBE_ctrl_infer1)
  ::new (static_cast<void*>(&cy1)) ctrl_y1(ctrl(cx1));
  return cy1[0];
#elif defined(PROBE_ctrl_infer1_ws)
  ::new (static_cast<void*>(&cy1)) ctrl_y1(ctrl(cx1, ctrl_infer1_ws));
  return cy1[0];
#elif defined(PROBE_ctrl_infer32)
  ::new (static_cast<void*>(&cy)) ctrl_y(ctrl(cx));
  return cy(31, 3);
#elif defined(PROBE_ctrl_infer32_ws)
  ::new (static_cast<void*>(&cy)) ctrl_y(ctrl(cx, ctrl_infer32_ws));
  return cy(31, 3);
#elif defined(PROBE_ctrl_loss_and_gradient1)
  return pp::loss_and_gradient(ctrl, cx1, cy1, pp::mse{}, cg);
#elif defined(PROBE_ctrl_loss_and_gradient1_ws)
  return pp::loss_and_gradient(ctrl, cx1, cy1, pp::mse{}, cg, ctrl_grad1_ws);
#elif defined(PROBE_ctrl_loss_and_gradient32)
  return pp::loss_and_gradient(ctrl, cx, cy, pp::mse{}, cg);
#elif defined(PROBE_ctrl_loss_and_gradient32_ws)
  return pp::loss_and_gradient(ctrl, cx, cy, pp::mse{}, cg, ctrl_grad32_ws);
#elif defined(PROBE_ctrl_trainer_step1)
  using trainer_t = pp::trainer<ctrl_t, pp::mse, pp::sgd>;
  auto* t = new (ctrl_trainer1_storage) trainer_t{ctrl, pp::mse{}, pp::sgd{.lr = 0.01}};
  return t->step(cx1, cy1);
#elif defined(PROBE_ctrl_trainer_step32)
  using trainer_t = pp::trainer<ctrl_t, pp::mse, pp::sgd, 32>;
  auto* t = new (ctrl_trainer32_storage) trainer_t{ctrl, pp::mse{}, pp::sgd{.lr = 0.01}};
  return t->step(cx, cy);
#elif defined(PROBE_ctrl_int8_infer1)
  cy1_int8 = ctrl_int8(cx1_int8);
  return static_cast<float>(cy1_int8[0]);
#elif defined(PROBE_ctrl_int8_infer1_float)
  ::new (static_cast<void*>(&cy1)) ctrl_y1(ctrl_int8(cx1));
  return cy1[0];
#elif defined(PROBE_digits_infer1)
  ::new (static_cast<void*>(&dout1)) pp::vec<float, 10>(digits(dx1));
  return dout1[9];
#elif defined(PROBE_digits_infer1_ws)
  ::new (static_cast<void*>(&dout1)) pp::vec<float, 10>(digits(dx1, digits_infer1_ws));
  return dout1[9];
#elif defined(PROBE_digits_infer32)
  ::new (static_cast<void*>(&dout)) pp::mat<float, 32, 10>(digits(dx));
  return dout(31, 9);
#elif defined(PROBE_digits_infer32_ws)
  ::new (static_cast<void*>(&dout)) pp::mat<float, 32, 10>(digits(dx, digits_infer32_ws));
  return dout(31, 9);
#elif defined(PROBE_digits_evaluate32)
  return pp::evaluate(xent{}(digits.expression(pp::constant(dx)), labels));
#elif defined(PROBE_digits_evaluate32_ws)
  return pp::evaluate(xent{}(digits.expression(pp::constant(dx)), labels), digits_evaluate32_ws);
#elif defined(PROBE_digits_value_and_gradient32)
  ::new (static_cast<void*>(&vag)) vag_t(pp::value_and_gradient(
      xent{}(digits.expression(pp::constant(dx)), labels), digits.weight_variable<1>()));
  return vag.value;
#elif defined(PROBE_digits_value_and_gradient32_ws)
  ::new (static_cast<void*>(&vag))
      vag_t(pp::value_and_gradient(xent{}(digits.expression(pp::constant(dx)), labels),
                                   digits_vag32_ws, digits.weight_variable<1>()));
  return vag.value;
#elif defined(PROBE_digits_loss_and_gradient32)
  return pp::loss_and_gradient(digits, dx, labels, xent{}, dg);
#elif defined(PROBE_digits_loss_and_gradient32_ws)
  return pp::loss_and_gradient(digits, dx, labels, xent{}, dg, digits_grad32_ws);
#elif defined(PROBE_digits_loss_and_input_gradient32)
  return pp::loss_and_input_gradient(digits, dx, labels, xent{}, dinput_grad);
#elif defined(PROBE_digits_loss_and_input_gradient32_ws)
  return pp::loss_and_input_gradient(digits, dx, labels, xent{}, dinput_grad,
                                     digits_input_grad32_ws);
#elif defined(PROBE_digits_trainer_step32)
  using trainer_t = pp::trainer<digits_t, xent, pp::sgd, 32>;
  auto* t = new (digits_trainer32_storage) trainer_t{digits, xent{}, pp::sgd{.lr = 0.01}};
  return t->step(dx, labels);
#elif defined(PROBE_none)
  return 0.0f;  // the probe's own share: start-up, main and this frame
#else
#error "name the entry point to probe: -DPROBE_<name> (see stack.sh)"
#endif
}

}  // namespace

int main() {
  fill_values(ctrl.params(), 1);
  fill_values(digits.params(), 2);
  fill_values(cx1, 3);
  fill_values(cy1, 4);
  fill_values(cx, 5);
  fill_values(cy, 6);
  fill_values(dx1, 7);
  fill_values(dx, 8);
  ctrl_int8.input = {1.0f / 128, 0};
  fill_int8(ctrl_int8.layer<0>(), 9);
  fill_int8(ctrl_int8.layer<1>(), 10);
  fill_int8(ctrl_int8.layer<2>(), 11);
  for (std::size_t i = 0; i < cx1_int8.size(); ++i) {
    cx1_int8[i] = static_cast<std::int8_t>(static_cast<int>(i * 13 % 256) - 128);
  }
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int>(i % 10);
  float const r = run();
  return r - r == 0.0f ? 0 : 1;  // a finite result
}
