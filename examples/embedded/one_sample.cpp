// SPDX-License-Identifier: BSL-1.0
// The ctrl network trained on the Cortex-M4 one sample per SGD step (momentum 0.9), by
// propel's trainer or, with -DCTRL_PLAIN, by the plain loops of plain_loops.hpp: run.sh
// builds both with `cortex-m/run --bare` for the footprint table (text, RAM, stack peak).
// Both start from propel::init's weights and draw the same samples; the exit status is 0
// when the held-out loss ends below the threshold, 3 otherwise.
#include <cstddef>
#include <cstring>
#include <memory>
#include <propel/propel.hpp>

#include "ctrl_task.hpp"
#include "plain_loops.hpp"

namespace {

constexpr int train_steps = 4000;
constexpr float loss_threshold = 0.06f;
constexpr float lr = 0.02f;
constexpr float momentum = 0.9f;

ctrl::net_t net;  // propel's initialisation, and the network propel trains

#ifdef CTRL_PLAIN
plain::trainable state;  // the parameters (from net) and the momentum, zero to begin with

/// The network of `state`, for ctrl::holdout_loss.
struct plain_model {
  propel::vec<float, ctrl::outputs> operator()(propel::vec<float, ctrl::inputs> const& x) const {
    plain::layer const layers[3] = {{state.w1, state.b1}, {state.w2, state.b2}, {state.w3, state.b3}};
    propel::vec<float, ctrl::outputs> y;
    plain::infer<1>(layers, x.data(), y.data());
    return y;
  }
};
#else
using trainer_t = propel::trainer<ctrl::net_t, propel::mse, propel::sgd>;
alignas(trainer_t) std::byte trainer_storage[sizeof(trainer_t)];  // in .bss (see device.cpp)
#endif

}  // namespace

int main() {
  propel::init(net, ctrl::init_seed);
#ifdef CTRL_PLAIN
  std::memcpy(state.w1, net.layer<0>().weight.data(), sizeof state.w1);
  std::memcpy(state.b1, net.layer<0>().bias.data(), sizeof state.b1);
  std::memcpy(state.w2, net.layer<1>().weight.data(), sizeof state.w2);
  std::memcpy(state.b2, net.layer<1>().bias.data(), sizeof state.b2);
  std::memcpy(state.w3, net.layer<2>().weight.data(), sizeof state.w3);
  std::memcpy(state.b3, net.layer<2>().bias.data(), sizeof state.b3);
  plain_model const model;
#else
  trainer_t* trainer = std::construct_at(reinterpret_cast<trainer_t*>(trainer_storage), net,
                                         propel::mse{},
                                         propel::sgd{.lr = lr, .momentum = momentum});
  ctrl::net_t const& model = net;
#endif
  float const initial = ctrl::holdout_loss(model);
  ctrl::stream s{ctrl::train_seed};
  propel::mat<float, 1, ctrl::inputs> x;
  propel::mat<float, 1, ctrl::outputs> y;
  for (int step = 0; step < train_steps; ++step) {
    ctrl::draw(s, x, y);
#ifdef CTRL_PLAIN
    plain::sgd_step(state, x.data(), y.data(), lr, momentum);
#else
    propel::vec<float, ctrl::inputs> xv;
    propel::vec<float, ctrl::outputs> yv;
    std::memcpy(xv.data(), x.data(), sizeof xv);
    std::memcpy(yv.data(), y.data(), sizeof yv);
    trainer->step(xv, yv);
#endif
  }
  float const final_loss = ctrl::holdout_loss(model);
  return final_loss < loss_threshold && final_loss < initial / 10 ? 0 : 3;
}
