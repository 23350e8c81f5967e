// SPDX-License-Identifier: BSL-1.0
/// \file Defines propel::trainer: forward, backward and optimizer update in one call.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <propel/nn/gradient.hpp>
#include <propel/nn/mlp.hpp>
#include <propel/nn/optimizer.hpp>
#include <utility>

namespace propel {

/// Trains a network: `propel::trainer t{net, propel::mse{}, propel::adam{.lr = 1e-3}};`
/// then `T loss = t.step(X, targets);` per (mini)batch. The trainer refers to the network
/// and holds the gradients and the optimizer state, all sized at compile time; a step's
/// activation workspace lives on the stack (`workspace_bytes`). No heap, no exceptions.
/// A step whose loss is not finite (a label out of range, a diverged run) returns that
/// loss and leaves the network and the optimizer state unchanged.
template <class Net, class Loss, class Opt>
class trainer {
 public:
  using value_type = typename Net::value_type;
  using gradient_type = gradient_t<Net>;

  static constexpr std::size_t parameter_bytes = sizeof(gradient_type);
  static constexpr std::size_t gradient_bytes = sizeof(gradient_type);
  static constexpr std::size_t optimizer_state_bytes = Opt::state_count * sizeof(gradient_type);

  constexpr trainer(Net& net, Loss loss, Opt opt) noexcept
      : net_(&net), loss_(loss), opt_(opt), grad_{}, state_{} {}

  /// One step: forward, backward, update. Returns the loss before the update.
  template <class X, class Targets>
  constexpr value_type step(X const& x, Targets const& targets) noexcept {
    value_type const loss = loss_and_gradient(*net_, x, targets, loss_, grad_);
    if (!(loss - loss == value_type(0))) return loss;  // NaN or infinite: no update
    ++steps_;
    apply_update(std::make_index_sequence<Opt::state_count>{});
    return loss;
  }

  [[nodiscard]] constexpr Net& net() noexcept { return *net_; }
  [[nodiscard]] constexpr Net const& net() const noexcept { return *net_; }
  [[nodiscard]] constexpr Loss const& loss() const noexcept { return loss_; }
  [[nodiscard]] constexpr Opt& optimizer() noexcept { return opt_; }
  [[nodiscard]] constexpr Opt const& optimizer() const noexcept { return opt_; }
  /// The gradient of the last step.
  [[nodiscard]] constexpr gradient_type const& gradient() const noexcept { return grad_; }
  /// Optimizer state buffer k (SGD: momentum; Adam: first then second moment).
  [[nodiscard]] constexpr gradient_type& state(std::size_t k) noexcept { return state_[k]; }
  [[nodiscard]] constexpr gradient_type const& state(std::size_t k) const noexcept {
    return state_[k];
  }
  /// The number of updates applied so far.
  [[nodiscard]] constexpr std::uint64_t step_count() const noexcept { return steps_; }
  constexpr void set_step_count(std::uint64_t n) noexcept { steps_ = n; }

  /// The stack bytes one step on inputs X against Targets needs for its activations.
  template <class X, class Targets>
  static constexpr std::size_t workspace_bytes = propel::workspace_bytes<Net, X, Targets, Loss>;

 private:
  template <std::size_t... K>
  constexpr void apply_update(std::index_sequence<K...>) noexcept {
    for_each_tensor(
        [&](std::size_t n, value_type* p, value_type const* g, auto*... s) {
          opt_.update(steps_, p, g, std::array<value_type*, Opt::state_count>{s...}, n);
        },
        *net_, std::as_const(grad_), state_[K]...);
  }

  Net* net_;
  Loss loss_;
  Opt opt_;
  gradient_type grad_;
  std::array<gradient_type, Opt::state_count> state_;
  std::uint64_t steps_ = 0;
};

}  // namespace propel
