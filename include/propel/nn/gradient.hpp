// SPDX-License-Identifier: BSL-1.0
/// \file Defines loss_and_gradient and loss_and_input_gradient for an mlp.
#pragma once

#include <cstddef>
#include <propel/expr.hpp>
#include <propel/nn/mlp.hpp>
#include <utility>

namespace propel {

namespace detail {

/// The sink that sends the derivative of layer I's weight and bias to gradient block g.
template <class Net, std::size_t... I>
constexpr auto parameter_sink(gradient_t<Net>& g, std::index_sequence<I...>) {
  using T = typename Net::value_type;
  return gradient_sink<T, param_id<Net, I / 2, I % 2>...>{{[&]() -> T* {
    if constexpr (I % 2 == 0) {
      return g.template layer<I / 2>().weight.data();
    } else {
      return g.template layer<I / 2>().bias.data();
    }
  }()...}};
}

template <class X>
struct check_network_input {
  static_assert(Tensor<X>,
                "propel::mlp: the input must be a propel::vec (one sample) or a propel::mat "
                "(one sample per row)");
  static constexpr bool ok = true;
};

}  // namespace detail

/// The loss of `net` on inputs X (a vec, or a mat with one sample per row) against
/// `targets`, and its gradient with respect to every parameter, written into g (same
/// layout as net.params()). `loss` is any callable that turns the network's output
/// expression and the targets into a scalar expression: propel::mse{}, propel::huber{d},
/// propel::softmax_cross_entropy{} (int label or std::array<int, B> labels, or one-hot
/// targets), propel::bce_with_logits{}, or one of the caller's, written with the expression
/// layer. No heap: the workspace is sized at compile time.
template <class Net, class X, class Targets, class Loss>
constexpr typename Net::value_type loss_and_gradient(Net const& net, X const& x,
                                                     Targets const& targets, Loss const& loss,
                                                     gradient_t<Net>& g) noexcept {
  static_assert(detail::check_network_input<X>::ok);
  if constexpr (Tensor<X>) {
    auto const f = loss(net.expression(constant(x)), targets);
    workspace_t<decltype(f)> ws;
    auto const value = forward(f, ws);
    g.zero();
    auto sink = detail::parameter_sink<Net>(g, std::make_index_sequence<2 * Net::layer_count>{});
    backward(f, ws, sink);
    return value;
  } else {
    return typename Net::value_type{};  // reported above
  }
}

/// The loss of `net` on X against `targets`, and its gradient with respect to the input X
/// (written into dx, shaped like X): for sensitivity analysis and input-space losses.
template <class Net, class X, class Targets, class Loss>
constexpr typename Net::value_type loss_and_input_gradient(Net const& net, X const& x,
                                                           Targets const& targets, Loss const& loss,
                                                           X& dx) noexcept {
  static_assert(detail::check_network_input<X>::ok);
  if constexpr (Tensor<X>) {
    auto const f = loss(net.expression(variable_of<detail::input_id<Net>>(x)), targets);
    workspace_t<decltype(f)> ws;
    auto const value = forward(f, ws);
    for (auto& d : dx) d = typename Net::value_type(0);
    gradient_sink<typename Net::value_type, detail::input_id<Net>> sink{{dx.data()}};
    backward(f, ws, sink);
    return value;
  } else {
    return typename Net::value_type{};  // reported above
  }
}

/// The number of bytes of workspace (activations and cached values) that one training step
/// of Net on inputs X against Targets with Loss needs; it lives on the stack during the step.
template <class Net, class X, class Targets, class Loss>
inline constexpr std::size_t workspace_bytes =
    sizeof(workspace_t<decltype(std::declval<Loss const&>()(
               std::declval<Net const&>().expression(constant(std::declval<X const&>())),
               std::declval<Targets const&>()))>);

}  // namespace propel
