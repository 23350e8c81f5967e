// SPDX-License-Identifier: BSL-1.0
/// \file Defines the optimizers sgd, adam and adamw, with PyTorch's update rules.
///
/// An optimizer is a plain aggregate of hyperparameters (doubles, so one value serves float
/// and double networks). `state_count` says how many parameter-sized buffers of state it
/// keeps; `at_step<T>(n)` gives the stepper of update number n (1-based): a small value that
/// moves one parameter element, `s(i, p, g, state)`, so that the update can run inside the
/// backward pass as each derivative is produced (propel::trainer). A stepper may also move a
/// whole block of elements, `s.block<Rows, Cols>(begin, p, f, state)` (see sgd): a kernel that
/// delivers a block (detail::write_block) then gets one loop per block, with the optimizer's
/// options tested once rather than per element. The hyperparameters are
/// rounded to the network's scalar type before use, as PyTorch does for a tensor of that
/// type.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <propel/config.hpp>
#include <propel/detail/kernels.hpp>
#include <propel/detail/math.hpp>

namespace propel {

/// torch.optim.SGD: d = g + weight_decay p; with momentum, the buffer starts as the first
/// d and is then momentum buf + d (no dampening); Nesterov uses d + momentum buf; finally
/// p -= lr d. The momentum buffer is reserved even when momentum is 0 (the hyperparameters
/// are run-time values); it is then never touched.
struct sgd {
  double lr = 1e-3;
  double momentum = 0.0;
  bool nesterov = false;
  double weight_decay = 0.0;

  static constexpr std::size_t state_count = 1;  // the momentum buffer

  /// One step of SGD for every element: `s(i, p, g, state)` moves p[i] by the derivative g.
  template <class T>
  struct stepper {
    T lr;
    T weight_decay;
    T momentum;
    bool decays;
    bool has_momentum;
    bool nesterov;
    bool first;
    constexpr void operator()(std::size_t i, T* p, T g,
                              std::array<T*, state_count> const& state) const noexcept {
      move(p[i], state[0], i, g, decays, has_momentum);
    }
    /// The same step for a block of Rows x Cols elements from p[begin], element
    /// begin + r Cols + c by the derivative f(r, c) (f reads neither p nor the state): the
    /// options tested once for the block, not per element.
    template <std::size_t Rows, std::size_t Cols, class F>
    constexpr void block(std::size_t begin, T* p, F const& f,
                         std::array<T*, state_count> const& state) const noexcept {
      if (has_momentum) {
        if (decays) {
          descend<Rows, Cols, true, true>(p + begin, state[0] + begin, f);
        } else {
          descend<Rows, Cols, false, true>(p + begin, state[0] + begin, f);
        }
      } else if (decays) {
        descend<Rows, Cols, true, false>(p + begin, nullptr, f);
      } else {
        descend<Rows, Cols, false, false>(p + begin, nullptr, f);
      }
    }

    /// Runs body(put), put(i, g) moving p[i] by g as operator() does (the same bits), with
    /// the options of the common cases fixed: plain SGD, and momentum after the first step
    /// without Nesterov or weight decay; any other case gets operator() itself. For the
    /// kernels of scalar cores, which deliver short runs (detail::bind_writer).
    template <class Body>
    constexpr void bind(T* p, std::array<T*, state_count> const& state, Body const& body) const {
      stepper const s = *this;
      if (!decays && !has_momentum) {
        body([s, p](std::size_t i, T g) { p[i] = detail::mul_sub(p[i], s.lr, g); });
      } else if (!decays && has_momentum && !first && !nesterov) {
        T* const buf = state[0];
        body([s, p, buf](std::size_t i, T g) {
          T const d = detail::mul_add(g, s.momentum, buf[i]);  // momentum buf + g
          buf[i] = d;
          p[i] = detail::mul_sub(p[i], s.lr, d);
        });
      } else {
        // the rare cases (the first step, Nesterov, weight decay): one call per element, so
        // that the kernel's unrolled loops do not copy the whole rule for each of them
        body([s, p, state](std::size_t i, T g) { s.step_out_of_line(i, p, g, state); });
      }
    }

   private:
    PROPEL_NOINLINE constexpr void step_out_of_line(
        std::size_t i, T* p, T g, std::array<T*, state_count> const& state) const noexcept {
      (*this)(i, p, g, state);
    }
    /// The rule for one element: p -= lr d, where d is g, plus weight_decay p when
    /// with_decay, then run through the momentum buffer buf[i] when with_momentum.
    PROPEL_ALWAYS_INLINE constexpr void move(T& p, T* buf, std::size_t i, T g, bool with_decay,
                                             bool with_momentum) const noexcept {
      T d = with_decay ? g + weight_decay * p : g;
      if (with_momentum) {
        buf[i] = first ? d : momentum * buf[i] + d;
        d = nesterov ? d + momentum * buf[i] : buf[i];
      }
      p -= lr * d;
    }
    /// block with the options fixed: one loop that tests nothing per element.
    template <std::size_t Rows, std::size_t Cols, bool Decays, bool Momentum, class F>
    constexpr void descend(T* PROPEL_RESTRICT p, T* PROPEL_RESTRICT buf,
                           F const& f) const noexcept {
      stepper const s = *this;  // a local copy: the stores through p cannot change it
      detail::for_block<T, Rows, Cols>([=](std::size_t r, std::size_t c) {
        std::size_t const i = r * Cols + c;
        s.move(p[i], buf, i, f(r, c), Decays, Momentum);
      });
    }
  };
  /// The stepper of update number `step` (1 for the first), hyperparameters rounded to T.
  template <class T>
  [[nodiscard]] constexpr stepper<T> at_step(std::uint64_t step) const noexcept {
    return {static_cast<T>(lr),
            static_cast<T>(weight_decay),
            static_cast<T>(momentum),
            weight_decay != 0.0,
            momentum != 0.0,
            nesterov,
            step == 1};
  }
};

namespace detail {

/// The Adam step shared by adam and adamw, as torch.optim.Adam writes it: bias-corrected
/// moments, eps added after the square root of the corrected second moment; for AdamW the
/// decoupled decay p *= 1 - lr weight_decay comes first.
template <class T>
struct adam_stepper {
  T step_size;
  T bc2_sqrt;
  T one_minus_beta1;
  T beta2;
  T one_minus_beta2;
  T eps;
  T l2;     // weight decay added to the gradient (adam)
  T decay;  // decoupled decay factor (adamw)
  bool has_l2;
  bool decoupled;
  constexpr void operator()(std::size_t i, T* p, T g,
                            std::array<T*, 2> const& state) const noexcept {
    if (decoupled) p[i] *= decay;
    T const gi = has_l2 ? g + l2 * p[i] : g;
    T& m = state[0][i];
    T& v = state[1][i];
    m += one_minus_beta1 * (gi - m);
    v = v * beta2 + one_minus_beta2 * gi * gi;
    T const denom = math::sqrt(v) / bc2_sqrt + eps;
    p[i] -= step_size * (m / denom);
  }
};

template <class T>
constexpr adam_stepper<T> make_adam_stepper(double lr, double beta1, double beta2, double eps,
                                            double l2, double decoupled_decay,
                                            std::uint64_t step) noexcept {
  double const bc1 = 1.0 - math::pow(beta1, step);
  double const bc2 = 1.0 - math::pow(beta2, step);
  return {static_cast<T>(lr / bc1),
          static_cast<T>(math::sqrt(bc2)),
          static_cast<T>(1.0 - beta1),
          static_cast<T>(beta2),
          static_cast<T>(1.0 - beta2),
          static_cast<T>(eps),
          static_cast<T>(l2),
          static_cast<T>(1.0 - lr * decoupled_decay),
          l2 != 0.0,
          decoupled_decay != 0.0};
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
  [[nodiscard]] constexpr detail::adam_stepper<T> at_step(std::uint64_t step) const noexcept {
    return detail::make_adam_stepper<T>(lr, beta1, beta2, eps, weight_decay, 0.0, step);
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
  [[nodiscard]] constexpr detail::adam_stepper<T> at_step(std::uint64_t step) const noexcept {
    return detail::make_adam_stepper<T>(lr, beta1, beta2, eps, 0.0, weight_decay, step);
  }
};

}  // namespace propel
