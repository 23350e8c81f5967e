// SPDX-License-Identifier: BSL-1.0
// The ctrl network (16 -> 32 relu -> 32 relu -> 4, MSE) on a Cortex-M4F, run under QEMU by
// run.sh through cortex-m/run:
//
//  1. inference with the weights trained on the host (ctrl_weights.hpp: constexpr data, in
//     flash): the outputs for the probe inputs must equal the host's, bit for bit, one sample
//     at a time and as a batch, and so must the held-out loss;
//  2. training on the device: SGD with momentum on a deterministic stream of samples of a
//     fixed linear-plus-nonlinear map; the held-out loss must fall below a threshold;
//  3. instructions per inference and per training step (cortex-m/instruction_counter.hpp:
//     QEMU -icount).
//
// Part 3 also counts the plain-loop baselines of plain_loops.hpp (inference one row and four
// rows at a time, a one-sample SGD step), and checks that their outputs and their step agree
// with propel's.
//
// No heap, no exceptions, no RTTI: every buffer is sized at compile time. Build switches:
//   -DCTRL_QUIET       no printf (the footprint builds: `cortex-m/run --bare` proves that malloc
//                      is not linked); the exit status alone says PASS (0) or which check failed
//   -DCTRL_INFER_ONLY  only part 1 (the inference-only footprint)
//   -DCTRL_TRAIN_ONLY  only part 2 (the training footprint)
//   -DCTRL_PLAIN=R     with CTRL_INFER_ONLY: part 1 runs plain::infer<R> (R = 1 or 4) instead
//                      of propel (the baselines' footprint), with the same checks
// Exit status: 0 pass, 1 outputs differ from the host's, 2 held-out loss differs from the
// host's, 3 the device's training did not reach the threshold, 4 the plain loops' outputs
// differ from propel's, 5 the plain loops' SGD step differs from propel's.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <propel/propel.hpp>

#include "ctrl_task.hpp"
#include "ctrl_weights.hpp"
#include "plain_loops.hpp"

#ifndef CTRL_QUIET
#include <cstdio>

#include "cortex-m/instruction_counter.hpp"
#define CTRL_PRINT(...) std::printf(__VA_ARGS__)
#else
#define CTRL_PRINT(...) static_cast<void>(0)
#endif

namespace {

// The header's weights must be the network this program uses: a different topology fails
// to compile right here.
constexpr ctrl::net_t const& flash_net = ctrl_model::weights;

/// The same weights run by plain loops, R output rows at a time (plain_loops.hpp).
template <std::size_t R>
struct plain_net {
  plain::layer layers[3];
  propel::vec<float, ctrl::outputs> operator()(propel::vec<float, ctrl::inputs> const& x) const {
    propel::vec<float, ctrl::outputs> y;
    plain::infer<R>(layers, x.data(), y.data());
    return y;
  }
};
template <std::size_t R>
constexpr plain_net<R> flash_plain{
    {{flash_net.layer<0>().weight.data(), flash_net.layer<0>().bias.data()},
     {flash_net.layer<1>().weight.data(), flash_net.layer<1>().bias.data()},
     {flash_net.layer<2>().weight.data(), flash_net.layer<2>().bias.data()}}};

#ifdef CTRL_PLAIN
static_assert(CTRL_PLAIN == 1 || CTRL_PLAIN == 4, "CTRL_PLAIN: 1 or 4 rows at a time");
constexpr auto const& model = flash_plain<CTRL_PLAIN>;
#else
constexpr auto const& model = flash_net;
#endif

// ---- training: what it needs, checked against a RAM budget at compile time
constexpr std::size_t batch = 8;
constexpr int train_steps = 1000;
constexpr int report_every = 100;
constexpr float loss_threshold = 0.06f;

using batch_x = propel::mat<float, batch, ctrl::inputs>;
using batch_y = propel::mat<float, batch, ctrl::outputs>;
using trainer_t = propel::trainer<ctrl::net_t, propel::mse, propel::sgd, batch>;

constexpr std::size_t ram_budget = 64 * 1024;
constexpr std::size_t training_bytes =
    trainer_t::parameter_bytes + trainer_t::gradient_bytes + trainer_t::optimizer_state_bytes +
    trainer_t::activation_bytes + sizeof(batch_x) + sizeof(batch_y);
static_assert(training_bytes <= ram_budget,
              "training ctrl on batches of 8 needs more than the 64 KiB RAM budget");

#ifndef CTRL_TRAIN_ONLY
bool same_bits(float a, float b) {
  std::uint32_t x = 0;
  std::uint32_t y = 0;
  std::memcpy(&x, &a, sizeof x);
  std::memcpy(&y, &b, sizeof y);
  return x == y;
}

/// Part 1: the host-trained network from flash, against the host's numbers.
int check_flash_network() {
  std::size_t mismatches = 0;
  [[maybe_unused]] std::size_t plain_mismatches = 0;
  // one sample at a time
  for (std::size_t r = 0; r < ctrl_model::probe_inputs.rows; ++r) {
    propel::vec<float, ctrl::inputs> x;
    for (std::size_t j = 0; j < ctrl::inputs; ++j) x[j] = ctrl_model::probe_inputs(r, j);
    propel::vec<float, ctrl::outputs> const y = model(x);
    for (std::size_t k = 0; k < ctrl::outputs; ++k) {
      if (!same_bits(y[k], ctrl_model::probe_outputs(r, k))) ++mismatches;
    }
#ifndef CTRL_INFER_ONLY
    // the plain loops sum in propel's order: the same bits
    propel::vec<float, ctrl::outputs> const y1 = flash_plain<1>(x);
    propel::vec<float, ctrl::outputs> const y4 = flash_plain<4>(x);
    for (std::size_t k = 0; k < ctrl::outputs; ++k) {
      if (!same_bits(y1[k], y[k]) || !same_bits(y4[k], y[k])) ++plain_mismatches;
    }
#endif
  }
  [[maybe_unused]] std::size_t outputs = ctrl_model::probe_outputs.size();
#ifndef CTRL_INFER_ONLY
  CTRL_PRINT("plain loops: %u of %u outputs bit-identical to propel's\n",
             static_cast<unsigned>(2 * outputs - plain_mismatches),
             static_cast<unsigned>(2 * outputs));
  if (plain_mismatches != 0) return 4;
  // the whole batch at once (left out of the inference-only footprint build, whose stack
  // then holds one sample's activations)
  auto const y = flash_net(ctrl_model::probe_inputs);
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (!same_bits(y[i], ctrl_model::probe_batch_outputs[i])) ++mismatches;
  }
  outputs += y.size();
#endif
  CTRL_PRINT("flash network: %u of %u outputs bit-identical to the host's\n",
             static_cast<unsigned>(outputs - mismatches), static_cast<unsigned>(outputs));
  if (mismatches != 0) return 1;
  float const holdout = ctrl::holdout_loss(model);
  CTRL_PRINT("flash network: held-out loss %.6f (host: %.6f)\n", static_cast<double>(holdout),
             static_cast<double>(ctrl_model::holdout_loss[0]));
  return same_bits(holdout, ctrl_model::holdout_loss[0]) ? 0 : 2;
}
#endif

#ifndef CTRL_INFER_ONLY
// Static storage: the network and the trainer (gradient, momentum and the workspace of a
// step on up to 8 samples) are in .bss, so the link map accounts for all of it. The trainer is
// constructed at run time: a namespace-scope `trainer_t trainer{net, ...};` is constant-initialised
// (its constructor is constexpr, and it holds a pointer and the learning rate), which puts the
// whole object, zero buffers included, in .data: its image then costs flash as well as RAM.
ctrl::net_t net;
alignas(trainer_t) std::byte trainer_storage[sizeof(trainer_t)];
trainer_t* trainer = nullptr;

/// Part 2: training on the device.
int train_on_device() {
  propel::init(net, ctrl::init_seed);
  trainer = std::construct_at(reinterpret_cast<trainer_t*>(trainer_storage), net, propel::mse{},
                              propel::sgd{.lr = 0.05, .momentum = 0.9});
  ctrl::stream s{ctrl::train_seed};
  batch_x x;
  batch_y y;
  float const initial = ctrl::holdout_loss(net);
  CTRL_PRINT("training: held-out loss %.5f before\n", static_cast<double>(initial));
  float recent = 0.0f;
  for (int step = 1; step <= train_steps; ++step) {
    ctrl::draw(s, x, y);
    recent += trainer->step(x, y);
    if (step % report_every == 0) {
      CTRL_PRINT("step %4d  batch loss %.5f  held-out %.5f\n", step,
                 static_cast<double>(recent / report_every),
                 static_cast<double>(ctrl::holdout_loss(net)));
      recent = 0.0f;
    }
  }
  float const final_loss = ctrl::holdout_loss(net);
  bool const ok = final_loss < loss_threshold && final_loss < initial / 10;
  CTRL_PRINT("training: held-out loss %.5f -> %.5f (threshold %.3f): %s\n",
             static_cast<double>(initial), static_cast<double>(final_loss),
             static_cast<double>(loss_threshold), ok ? "ok" : "FAILED");
  return ok ? 0 : 3;
}
#endif

#if !defined(CTRL_QUIET) && !defined(CTRL_INFER_ONLY) && !defined(CTRL_TRAIN_ONLY)
/// Part 3: instructions per inference and per training step.
/// Instructions that f(input) executes. The input is made opaque to the optimiser after the
/// first reading of the counter, so that the work can neither be folded at compile time nor
/// hoisted above that reading.
template <class In, class F>
std::uint32_t instructions(In& input, F const& f) {
  std::uint32_t const t = cortex_m::ticks();
  __asm__ volatile("" : "+m"(input));
  auto const out = f(input);
  cortex_m::keep(out);
  return cortex_m::instructions_since(t);
}

// The plain-loop SGD baseline's parameters and momentum (.bss, this program only).
plain::trainable plain_state;
constexpr float sgd_lr = 0.05f;  // train_on_device's hyperparameters, as the step rounds them
constexpr float sgd_momentum = 0.9f;

/// Copies layer I of net and its momentum buffers (the trainer's state) into plain arrays.
template <std::size_t I>
void copy_layer(float* w, float* b, float* vw, float* vb) {
  auto const& l = net.layer<I>();
  auto const& v = trainer->state(0).layer<I>();
  std::memcpy(w, l.weight.data(), sizeof l.weight);
  std::memcpy(b, l.bias.data(), sizeof l.bias);
  std::memcpy(vw, v.weight.data(), sizeof v.weight);
  std::memcpy(vb, v.bias.data(), sizeof v.bias);
}
/// plain_state = the network and its momentum as they are now.
void load_plain_state() {
  plain::trainable& p = plain_state;
  copy_layer<0>(p.w1, p.b1, p.v_w1, p.v_b1);
  copy_layer<1>(p.w2, p.b2, p.v_w2, p.v_b2);
  copy_layer<2>(p.w3, p.b3, p.v_w3, p.v_b3);
}

/// One propel step and one plain-loop step from the same state: the same loss, parameters
/// and momentum, bit for bit (the plain loops add in propel's order, and their dJ/dy, 2 e / 4,
/// is exactly propel's (1/4) (2 e)).
int compare_steps(propel::vec<float, ctrl::inputs> const& x,
                  propel::vec<float, ctrl::outputs> const& target) {
  load_plain_state();
  float const plain_loss =
      plain::sgd_step(plain_state, x.data(), target.data(), sgd_lr, sgd_momentum);
  float const loss = trainer->step(x, target);
  std::size_t differ = 0;
  auto compare = [&]<std::size_t I>(float const* w, float const* b, float const* vw,
                                    float const* vb) {
    auto const& l = net.layer<I>();
    auto const& v = trainer->state(0).layer<I>();
    for (std::size_t i = 0; i < l.weight.size(); ++i) {
      differ += !same_bits(w[i], l.weight.data()[i]) || !same_bits(vw[i], v.weight.data()[i]);
    }
    for (std::size_t i = 0; i < l.bias.size(); ++i) {
      differ += !same_bits(b[i], l.bias.data()[i]) || !same_bits(vb[i], v.bias.data()[i]);
    }
  };
  plain::trainable const& p = plain_state;
  compare.template operator()<0>(p.w1, p.b1, p.v_w1, p.v_b1);
  compare.template operator()<1>(p.w2, p.b2, p.v_w2, p.v_b2);
  compare.template operator()<2>(p.w3, p.b3, p.v_w3, p.v_b3);
  bool const ok = differ == 0 && same_bits(loss, plain_loss);
  std::printf(
      "plain loops: SGD step from the same state: loss %.7g (propel %.7g), %u of %u "
      "parameters and momenta differ from propel's: %s\n",
      static_cast<double>(plain_loss), static_cast<double>(loss), static_cast<unsigned>(differ),
      static_cast<unsigned>(ctrl::net_t::param_count), ok ? "ok" : "FAILED");
  return ok ? 0 : 5;
}

int count_instructions() {
  cortex_m::start_counter();
  propel::vec<float, ctrl::inputs> x{};
  for (std::size_t j = 0; j < ctrl::inputs; ++j) x[j] = ctrl_model::probe_inputs(0, j);
  auto x8 = ctrl_model::probe_inputs;
  propel::vec<float, ctrl::outputs> const target1{};
  batch_y const target8{};

  std::uint32_t const infer_flash = instructions(x, [](auto const& in) { return flash_net(in); });
  std::uint32_t const infer_ram = instructions(x, [](auto const& in) { return net(in); });
  std::uint32_t const infer8 = instructions(x8, [](auto const& in) { return flash_net(in); });
  std::uint32_t const train1 =
      instructions(x, [&](auto const& in) { return trainer->step(in, target1); });
  std::uint32_t const train8 =
      instructions(x8, [&](auto const& in) { return trainer->step(in, target8); });
  trainer->optimizer().momentum = 0.0;
  std::uint32_t const train1_plain_sgd =
      instructions(x, [&](auto const& in) { return trainer->step(in, target1); });
  trainer->optimizer().momentum = 0.9;
  std::uint32_t const plain1 = instructions(x, [](auto const& in) { return flash_plain<1>(in); });
  std::uint32_t const plain4 = instructions(x, [](auto const& in) { return flash_plain<4>(in); });
  load_plain_state();
  std::uint32_t const plain_train1 = instructions(x, [&](auto const& in) {
    return plain::sgd_step(plain_state, in.data(), target1.data(), sgd_lr, sgd_momentum);
  });

  constexpr unsigned macs = 16 * 32 + 32 * 32 + 32 * 4;
  std::printf(
      "instructions: inference %u (weights in flash), %u (in RAM); %u per sample in a "
      "batch of 8\n",
      static_cast<unsigned>(infer_flash), static_cast<unsigned>(infer_ram),
      static_cast<unsigned>(infer8 / 8));
  std::printf("instructions: SGD step %u (1 sample), %u (batch of 8, %u per sample)\n",
              static_cast<unsigned>(train1), static_cast<unsigned>(train8),
              static_cast<unsigned>(train8 / 8));
  std::printf("instructions: SGD step without momentum %u (1 sample)\n",
              static_cast<unsigned>(train1_plain_sgd));
  std::printf("instructions: %.2f per multiply-add in inference (%u MACs)\n",
              static_cast<double>(infer_flash) / macs, macs);
  std::printf(
      "instructions: plain loops: inference %u (one row at a time), %u (four rows at "
      "a time); SGD step %u (1 sample)\n",
      static_cast<unsigned>(plain1), static_cast<unsigned>(plain4),
      static_cast<unsigned>(plain_train1));
  return compare_steps(x, target1);
}
#endif

}  // namespace

int main() {
  CTRL_PRINT("ctrl network %u -> 32 relu -> 32 relu -> %u: %u parameters, %u bytes\n",
             static_cast<unsigned>(ctrl::inputs), static_cast<unsigned>(ctrl::outputs),
             static_cast<unsigned>(ctrl::net_t::param_count),
             static_cast<unsigned>(sizeof(ctrl::net_t)));
  int status = 0;
#ifndef CTRL_TRAIN_ONLY
  status = check_flash_network();
  if (status != 0) return status;
#endif
#ifndef CTRL_INFER_ONLY
  CTRL_PRINT(
      "training needs %u bytes: parameters %u, gradient %u, momentum %u, workspace %u, "
      "batch %u (budget %u)\n",
      static_cast<unsigned>(training_bytes), static_cast<unsigned>(trainer_t::parameter_bytes),
      static_cast<unsigned>(trainer_t::gradient_bytes),
      static_cast<unsigned>(trainer_t::optimizer_state_bytes),
      static_cast<unsigned>(trainer_t::activation_bytes),
      static_cast<unsigned>(sizeof(batch_x) + sizeof(batch_y)), static_cast<unsigned>(ram_budget));
  status = train_on_device();
  if (status != 0) return status;
#endif
#if !defined(CTRL_QUIET) && !defined(CTRL_INFER_ONLY) && !defined(CTRL_TRAIN_ONLY)
  status = count_instructions();
  if (status != 0) return status;
#endif
  CTRL_PRINT("PASS\n");
  return status;
}
