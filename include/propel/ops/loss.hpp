// SPDX-License-Identifier: BSL-1.0
/// \file Defines the losses: mse, huber, bce_with_logits and softmax_cross_entropy.
///
/// A loss is a value that, called on predictions and targets, builds a scalar expression:
/// `propel::mse{}(pred, target)`. Targets may be expressions or plain vec/mat (taken as
/// constants). Every loss reduces by the mean, as PyTorch's `reduction='mean'` does: MSE,
/// Huber and BCE over every element, cross-entropy over the rows (samples).
#pragma once

#include <array>
#include <cstddef>
#include <propel/detail/math.hpp>
#include <propel/expr/elementwise.hpp>
#include <propel/expr/leaf.hpp>
#include <propel/expr/reduce.hpp>
#include <propel/ops/activation.hpp>
#include <propel/ops/arithmetic.hpp>
#include <propel/ops/softmax_cross_entropy.hpp>

namespace propel {

namespace detail {

/// A target given as an expression is used as is; a vec or mat becomes a constant leaf.
template <class X>
constexpr auto as_expression(X const& x) {
  if constexpr (Expression<X>) {
    return x;
  } else if constexpr (Tensor<X>) {
    return constant(x);
  } else {
    static_assert(Tensor<X>,
                  "propel: a loss target must be an expression, a propel::vec or a propel::mat");
    return x;
  }
}

template <class Pred, class Target>
struct check_loss_shapes {
  static_assert(std::is_same_v<Pred, Target>,
                "propel: a loss needs predictions and targets of the same shape (see the two "
                "propel::shape arguments of check_loss_shapes)");
  static constexpr bool ok = true;
};

template <class P, class T>
constexpr auto paired(P const& /*pred*/, T const& target) {
  auto t = as_expression(target);
  static_assert(check_loss_shapes<typename P::shape_type, typename decltype(t)::shape_type>::ok);
  return t;
}

/// Huber's function of the difference d: d²/2 inside [-delta, delta], linear outside.
struct huber_op {
  double delta;
  template <class T>
  [[nodiscard]] constexpr T value(T d) const noexcept {
    T const a = math::abs(d);
    T const k = static_cast<T>(delta);
    return a < k ? T(0.5) * d * d : k * (a - T(0.5) * k);
  }
  template <class T>
  [[nodiscard]] constexpr T derivative(T d) const noexcept {
    T const k = static_cast<T>(delta);
    return d < -k ? -k : (d > k ? k : d);
  }
};

/// Binary cross-entropy of a logit z against a target y in [0, 1], computed stably:
/// max(z, 0) − z y + ln(1 + e^−|z|).
struct bce_logits_op {
  template <class T>
  [[nodiscard]] constexpr T value(T z, T y) const noexcept {
    return (z > T(0) ? z : T(0)) - z * y + math::log1p(math::exp(-math::abs(z)));
  }
  template <class T>
  [[nodiscard]] constexpr T d_left(T z, T y) const noexcept {
    return detail::sigmoid(z) - y;
  }
  template <class T>
  [[nodiscard]] constexpr T d_right(T z, T) const noexcept {
    return -z;
  }
};

}  // namespace detail

/// Mean squared error over every element, as torch.nn.MSELoss.
struct mse {
  template <Expression P, class T>
  [[nodiscard]] constexpr auto operator()(P const& pred, T const& target) const {
    return mean(square(pred - detail::paired(pred, target)));
  }
};

/// Huber loss over every element, as torch.nn.HuberLoss (not SmoothL1Loss).
struct huber {
  double delta = 1.0;
  template <Expression P, class T>
  [[nodiscard]] constexpr auto operator()(P const& pred, T const& target) const {
    return mean(apply(detail::huber_op{delta}, pred - detail::paired(pred, target)));
  }
};

/// Binary cross-entropy on logits, as torch.nn.BCEWithLogitsLoss: stable for any logit.
struct bce_with_logits {
  template <Expression P, class T>
  [[nodiscard]] constexpr auto operator()(P const& logits, T const& target) const {
    auto t = detail::paired(logits, target);
    return mean(binary_expr<detail::bce_logits_op, P, decltype(t)>{{}, logits, t});
  }
};

/// Softmax cross-entropy on logits, as torch.nn.CrossEntropyLoss: against an int label
/// (logits vector), a std::array<int, rows> (one row per sample), or a target of the
/// logits' shape holding one-hot or soft distributions.
struct softmax_cross_entropy {
  template <Expression Z>
  [[nodiscard]] constexpr auto operator()(Z const& logits, int label) const {
    static_assert(detail::check_single_label<typename Z::shape_type>::ok);
    return softmax_xent_expr<Z, detail::labels<1>>{logits, {{label}}};
  }
  template <Expression Z, std::size_t N>
  [[nodiscard]] constexpr auto operator()(Z const& logits, std::array<int, N> const& labels) const {
    static_assert(detail::check_label_count<typename Z::shape_type, N>::ok);
    return softmax_xent_expr<Z, detail::labels<N>>{logits, {labels}};
  }
  template <Expression Z, class T>
  requires(!std::is_arithmetic_v<T>) [[nodiscard]] constexpr auto operator()(
      Z const& logits, T const& target) const {
    auto t = detail::as_expression(target);
    static_assert(detail::check_cross_entropy_target<typename Z::shape_type,
                                                     typename decltype(t)::shape_type>::ok);
    return softmax_xent_expr<Z, decltype(t)>{logits, t};
  }
};

}  // namespace propel
