// SPDX-License-Identifier: BSL-1.0
/// \file Defines the optimizers sgd, adam and adamw, with PyTorch's update rules.
///
/// An optimizer is a plain aggregate of hyperparameters (doubles, so one value serves float
/// and double networks). `state_count` says how many parameter-sized buffers of state it
/// keeps; `update` applies one step to one tensor, given the 1-based step number. The
/// hyperparameters are rounded to the network's scalar type before use, as PyTorch does for
/// a tensor of that type.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <propel/detail/math.hpp>

namespace propel {

/// torch.optim.SGD: d = g + weight_decay p; with momentum, the buffer starts as the first
/// d and is then momentum buf + d (no dampening); Nesterov uses d + momentum buf; finally
/// p -= lr d.
struct sgd {
  double lr = 1e-3;
  double momentum = 0.0;
  bool nesterov = false;
  double weight_decay = 0.0;

  static constexpr std::size_t state_count = 1;  // the momentum buffer

  template <class T>
  constexpr void update(std::uint64_t step, T* p, T const* g, std::array<T*, state_count> state,
                        std::size_t n) const noexcept {
    T const lr_t = static_cast<T>(lr);
    T const wd = static_cast<T>(weight_decay);
    T const mu = static_cast<T>(momentum);
    T* buf = state[0];
    for (std::size_t i = 0; i < n; ++i) {
      T d = weight_decay != 0.0 ? g[i] + wd * p[i] : g[i];
      if (momentum != 0.0) {
        buf[i] = step == 1 ? d : mu * buf[i] + d;
        d = nesterov ? d + mu * buf[i] : buf[i];
      }
      p[i] -= lr_t * d;
    }
  }
};

namespace detail {

/// The Adam step shared by adam and adamw, as torch.optim.Adam writes it: bias-corrected
/// moments, eps added after the square root of the corrected second moment.
template <class T>
constexpr void adam_step(double lr, double beta1, double beta2, double eps, double l2,
                         std::uint64_t step, T* p, T const* g, T* m, T* v, std::size_t n) noexcept {
  double const bc1 = 1.0 - math::pow(beta1, step);
  double const bc2 = 1.0 - math::pow(beta2, step);
  T const step_size = static_cast<T>(lr / bc1);
  T const bc2_sqrt = static_cast<T>(math::sqrt(bc2));
  T const b1 = static_cast<T>(1.0 - beta1);
  T const b2 = static_cast<T>(beta2);
  T const one_minus_b2 = static_cast<T>(1.0 - beta2);
  T const eps_t = static_cast<T>(eps);
  T const wd = static_cast<T>(l2);
  for (std::size_t i = 0; i < n; ++i) {
    T const gi = l2 != 0.0 ? g[i] + wd * p[i] : g[i];
    m[i] += b1 * (gi - m[i]);
    v[i] = v[i] * b2 + one_minus_b2 * gi * gi;
    T const denom = math::sqrt(v[i]) / bc2_sqrt + eps_t;
    p[i] -= step_size * (m[i] / denom);
  }
}

}  // namespace detail

/// torch.optim.Adam; weight_decay is L2 regularisation added to the gradient.
struct adam {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;

  static constexpr std::size_t state_count = 2;  // first and second moments

  template <class T>
  constexpr void update(std::uint64_t step, T* p, T const* g, std::array<T*, state_count> state,
                        std::size_t n) const noexcept {
    detail::adam_step(lr, beta1, beta2, eps, weight_decay, step, p, g, state[0], state[1], n);
  }
};

/// torch.optim.AdamW: decoupled weight decay, p *= 1 - lr weight_decay, then Adam's step.
struct adamw {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;

  static constexpr std::size_t state_count = 2;  // first and second moments

  template <class T>
  constexpr void update(std::uint64_t step, T* p, T const* g, std::array<T*, state_count> state,
                        std::size_t n) const noexcept {
    T const decay = static_cast<T>(1.0 - lr * weight_decay);
    for (std::size_t i = 0; i < n; ++i) p[i] *= decay;
    detail::adam_step(lr, beta1, beta2, eps, 0.0, step, p, g, state[0], state[1], n);
  }
};

}  // namespace propel
