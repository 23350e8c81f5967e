// SPDX-License-Identifier: BSL-1.0
/// \file Defines loss_and_gradient and loss_and_input_gradient for an mlp.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <propel/expr.hpp>
#include <propel/nn/mlp.hpp>
#include <type_traits>
#include <utility>

namespace propel {

namespace detail {

/// A stepper that moves nothing: the writer only stores the derivative.
struct no_step {};
/// Not a stepper: the writer adds the derivative into its slot.
struct adding {};

/// g[r Cols + c] = f(r, c) for a block of a derivative (Add: +=), a vector at a time at run
/// time where f has a vector form (with_vector).
template <std::size_t Rows, std::size_t Cols, bool Add, class T, class F>
constexpr void store_block(T* PROPEL_RESTRICT g, F const& f) {
#ifdef PROPEL_DETAIL_VECTOR_TYPES
  if constexpr (has_vector_adjoint_v<F, T>) {
    if (!std::is_constant_evaluated()) {
      for_each_block_vector<T, Rows, Cols>(
          [=](std::size_t r, std::size_t c) {
            T* const at = g + r * Cols + c;
            if constexpr (Add) {
              simd_store(at, simd_load(at) + f.vector(r, c));
            } else {
              simd_store(at, f.vector(r, c));
            }
          },
          [=](std::size_t r, std::size_t c) {
            if constexpr (Add) {
              g[r * Cols + c] += f(r, c);
            } else {
              g[r * Cols + c] = f(r, c);
            }
          });
      return;
    }
  }
#endif
  for_block<T, Rows, Cols>([=](std::size_t r, std::size_t c) {
    if constexpr (Add) {
      g[r * Cols + c] += f(r, c);
    } else {
      g[r * Cols + c] = f(r, c);
    }
  });
}

/// Delivers the derivative of one parameter tensor. Without a stepper it stores it,
/// `grad[i] = v` (every parameter occurs once in a network's expression, so each element
/// arrives once and nothing needs zeroing); with a stepper it moves the parameter at once,
/// `step(i, param, v, state)`, and stores nothing: the optimizer's update fused into the
/// backward pass, one pass over the parameters. With `adding`, it adds into grad. A block of
/// elements (write_block) goes to the stepper's own `step.block<Rows, Cols>(begin, param, f,
/// state)` when it has one (see propel::sgd); for a stepper without one the writer has no
/// `block`, and write_block hands it the elements one by one.
template <class T, class Step, std::size_t States>
struct parameter_writer {
  static constexpr bool accumulates = std::is_same_v<Step, adding>;
  static constexpr bool moves_param = !accumulates && !std::is_same_v<Step, no_step>;
  T* param;
  T* grad;
  std::array<T*, States> state;
  [[no_unique_address]] Step step;
  constexpr void operator()(std::size_t i, T v) const {
    if constexpr (accumulates) {
      grad[i] += v;
    } else if constexpr (moves_param) {
      step(i, param, v, state);
    } else {
      grad[i] = v;
    }
  }
  /// body(put) with the stepper's put (see detail::bind_writer), when it has one.
  template <class Body>
  requires(moves_param&& requires(Step const& s, T* p, std::array<T*, States> const& st,
                                  Body const& b) {
    s.bind(p, st, b);
  }) constexpr void bind(Body const& body) const {
    step.bind(param, state, body);
  }
  template <std::size_t Rows, std::size_t Cols, class F>
  requires(!moves_param ||
           requires(Step const& s, T* p, F const& f, std::array<T*, States> const& st) {
             s.template block<Rows, Cols>(std::size_t{}, p, f, st);
           }) constexpr void block(std::size_t begin, F const& f) const {
    if constexpr (moves_param) {
      step.template block<Rows, Cols>(begin, param, f, state);
    } else {
      store_block<Rows, Cols, accumulates>(grad + begin, f);
    }
  }
};

/// The sink of a network's backward pass: one parameter_writer per weight and bias.
template <class T, class Step, std::size_t States, class... Ids>
struct parameter_sink {
  using ids = type_list<Ids...>;
  static constexpr bool accumulates = parameter_writer<T, Step, States>::accumulates;
  std::array<parameter_writer<T, Step, States>, sizeof...(Ids)> writers;

  template <class Id>
  [[nodiscard]] constexpr parameter_writer<T, Step, States> const& writer() const noexcept {
    return writers[index_of_v<Id, Ids...>];
  }
};

/// Tensor I of a block in PyTorch order: layer I / 2's weight (I even) or bias (I odd).
template <std::size_t I, class Block>
[[nodiscard]] constexpr auto* tensor_data(Block& block) noexcept {
  if constexpr (I % 2 == 0) {
    return block.template layer<I / 2>().weight.data();
  } else {
    return block.template layer<I / 2>().bias.data();
  }
}

/// The sink that delivers dJ/dW and dJ/db of every layer of Net: into *g (stored or added)
/// or, with a stepper, straight to the parameters of *net with the optimizer state `state`.
/// The pointer a writer does not use may be null.
template <class Net, class Step, std::size_t States, std::size_t... I>
constexpr auto network_sink(Net* net, gradient_t<Net>* g, Step const& step,
                            std::array<gradient_t<Net>, States>& state, std::index_sequence<I...>) {
  using T = typename Net::value_type;
  using writer_t = parameter_writer<T, Step, States>;
  auto const states = [&]<std::size_t J>() {
    std::array<T*, States> s{};
    for (std::size_t k = 0; k != States; ++k) s[k] = tensor_data<J>(state[k]);
    return s;
  };
  return parameter_sink<T, Step, States, param_id<Net, I / 2, I % 2>...>{{writer_t{
      net != nullptr ? tensor_data<I>(*net) : nullptr, g != nullptr ? tensor_data<I>(*g) : nullptr,
      states.template operator()<I>(), step}...}};
}

/// The identities of every parameter of Net, in PyTorch order.
template <class Net, std::size_t... I>
auto param_ids(std::index_sequence<I...>) -> type_list<param_id<Net, I / 2, I % 2>...>;
template <class Net>
using param_ids_t = decltype(param_ids<Net>(std::make_index_sequence<2 * Net::layer_count>{}));

/// Applies `step` to every parameter of net from the complete gradient g.
template <class Net, class Step, std::size_t States, std::size_t... K>
constexpr void step_all(Net& net, gradient_t<Net> const& g, Step const& step,
                        std::array<gradient_t<Net>, States>& state, std::index_sequence<K...>) {
  using T = typename Net::value_type;
  for_each_tensor(
      [&](std::size_t n, T* p, T const* d, auto*... s) {
        std::array<T*, States> const st{s...};
        for (std::size_t i = 0; i < n; ++i) step(i, p, d[i], st);
      },
      net, g, state[K]...);
}

/// The loss expression of Net on inputs X against Targets.
template <class Net, class X, class Targets, class Loss>
using loss_expression_t = decltype(std::declval<Loss const&>()(
    std::declval<Net const&>().expression(constant(std::declval<X const&>())),
    std::declval<Targets const&>()));

/// Whether every parameter of Net occurs exactly once in the loss expression F (a network
/// under any built-in loss), so that each derivative is complete when it is first delivered.
template <class Net, class F>
inline constexpr bool delivers_once_v =
    each_once_v<typename std::remove_cvref_t<F>::leaf_ids, param_ids_t<Net>>;

/// The backward pass of a network's loss f (run forward in ws) when every parameter occurs
/// once in f: each derivative is stored into *g or, with a stepper, applied to *net at once.
/// Otherwise (a loss that uses the prediction more than once) the derivatives are added up
/// in *g, zeroed first, and a stepper then applies them in a pass of its own.
template <class Net, class F, class W, class Step, std::size_t States>
constexpr void network_backward(F const& f, W& ws, Net* net, gradient_t<Net>* g, Step const& step,
                                std::array<gradient_t<Net>, States>& state) {
  constexpr auto tensors = std::make_index_sequence<2 * Net::layer_count>{};
  if constexpr (delivers_once_v<Net, F>) {
    auto sink = network_sink<Net>(net, g, step, state, tensors);
    backward(f, ws, sink);
  } else {
    g->zero();
    auto sink = network_sink<Net>(static_cast<Net*>(nullptr), g, adding{}, state, tensors);
    backward(f, ws, sink);
    if constexpr (!std::is_same_v<Step, no_step>) {
      step_all(*net, std::as_const(*g), step, state, std::make_index_sequence<States>{});
    }
  }
}

/// Whether every element of the tensor x is finite: its exponent bits are not all ones.
/// Read from the bits, with no floating-point operation, so that it runs in constant
/// evaluation on a NaN too; one pass that the compiler vectorises.
template <Tensor X>
[[nodiscard]] constexpr bool all_finite(X const& x) noexcept {
  using T = typename X::value_type;
  using bits_t =
      std::conditional_t<sizeof(T) == sizeof(std::uint32_t), std::uint32_t, std::uint64_t>;
  static_assert(sizeof(T) == sizeof(bits_t) && std::numeric_limits<T>::is_iec559);
  constexpr bits_t exponent =
      bits_t(std::bit_cast<bits_t>(std::numeric_limits<T>::infinity()));  // all ones, fraction 0
  bits_t bad = 0;
  for (T const v : x) bad |= bits_t((std::bit_cast<bits_t>(v) & exponent) == exponent);
  return bad == 0;
}

/// Whether the inputs and targets of a training step or a gradient of Net under Loss are
/// usable: every input and every value target finite, and, for softmax cross-entropy, every
/// integer label a class of Net's output, in [0, output_size). Other targets (expressions)
/// are the loss's to judge.
template <class Net, class Loss, class X, class Targets>
[[nodiscard]] constexpr bool step_data_ok(X const& x, Targets const& targets) noexcept {
  if (!all_finite(x)) return false;
  constexpr auto label_ok = is_class_label<Net::output_size>;
  if constexpr (Tensor<Targets>) {
    return all_finite(targets);
  } else if constexpr (std::is_same_v<Loss, softmax_cross_entropy> &&
                       std::is_same_v<Targets, int>) {
    return label_ok(targets);
  } else if constexpr (std::is_same_v<Loss, softmax_cross_entropy> &&
                       requires { std::tuple_size<Targets>::value; }) {
    bool ok = true;
    for (int const label : targets) ok = ok && label_ok(label);
    return ok;
  } else {
    return true;
  }
}

template <class X>
struct check_network_input {
  static_assert(Tensor<X>,
                "propel::mlp: the input must be a propel::vec (one sample) or a propel::mat "
                "(one sample per row)");
  static constexpr bool ok = true;
};

}  // namespace detail

/// The workspace of loss_and_gradient for a Net on inputs X against Targets with Loss: the
/// activations, cached values and backward buffers of the loss expression. `sizeof` it (or
/// propel::workspace_bytes) for its bytes.
template <class Net, class X, class Targets, class Loss>
using gradient_workspace_t = workspace_t<detail::loss_expression_t<Net, X, Targets, Loss>>;

/// The workspace of loss_and_input_gradient for a Net on inputs X against Targets with Loss.
template <class Net, class X, class Targets, class Loss>
using input_gradient_workspace_t = workspace_t<decltype(std::declval<Loss const&>()(
    std::declval<Net const&>().expression(
        variable_of<detail::input_id<Net>>(std::declval<X const&>())),
    std::declval<Targets const&>()))>;

/// The loss of `net` on inputs X (a vec, or a mat with one sample per row) against
/// `targets`, and its gradient with respect to every parameter, written into g (same
/// layout as net.params()). `loss` is any callable that turns the network's output
/// expression and the targets into a scalar expression: propel::mse{}, propel::huber{d},
/// propel::softmax_cross_entropy{} (int label or std::array<int, B> labels, or one-hot
/// targets), propel::bce_with_logits{}, or one of the caller's, written with the expression
/// layer. No heap: the workspace is sized at compile time. With a last argument `ws`, a
/// propel::gradient_workspace_t<Net, X, Targets, Loss>, it runs in the caller's workspace
/// and needs no stack beyond the kernels' frames; without, it keeps the workspace on its
/// stack (propel::workspace_bytes<Net, X, Targets, Loss> bytes). The same bits either way.
///
/// Bad input is refused, and the caller can tell: when an input or a value target is NaN or
/// infinite, or a cross-entropy label is not a class of the network (PyTorch raises an
/// error), the result is NaN and so is every derivative in g. Otherwise the loss and the
/// gradient are PyTorch's, NaN where PyTorch's are: a NaN weight makes the loss and the
/// derivatives NaN, and an infinite weight can leave the loss finite (relu zeroes a unit
/// whose pre-activation is -inf) while derivatives it reaches through a product are NaN
/// (0 times infinity). A non-finite loss means the gradient is not to be used.
/// Diagnostics: "the workspace is not the one for this network and input".
template <class Net, class X, class Targets, class Loss, class E>
constexpr typename Net::value_type loss_and_gradient(Net const& net, X const& x,
                                                     Targets const& targets, Loss const& loss,
                                                     gradient_t<Net>& g,
                                                     workspace<E>& ws) noexcept {
  static_assert(detail::check_network_input<X>::ok);
  if constexpr (Tensor<X>) {
    using T = typename Net::value_type;
    using expected = std::remove_cv_t<detail::loss_expression_t<Net, X, Targets, Loss>>;
    static_assert(detail::check_workspace<expected, E>::ok);
    if constexpr (std::is_same_v<expected, E>) {
      if (!detail::step_data_ok<Net, Loss>(x, targets)) {
        for_each_tensor(
            [](std::size_t n, T* p) {
              for (std::size_t i = 0; i < n; ++i) p[i] = std::numeric_limits<T>::quiet_NaN();
            },
            g);
        return std::numeric_limits<T>::quiet_NaN();
      }
      auto const f = loss(net.expression(constant(x)), targets);
      auto const value = forward(f, ws);
      std::array<gradient_t<Net>, 0> no_state;
      detail::network_backward(f, ws, static_cast<Net*>(nullptr), &g, detail::no_step{}, no_state);
      return value;
    } else {
      return T{};  // reported above
    }
  } else {
    return typename Net::value_type{};  // reported above
  }
}

template <class Net, class X, class Targets, class Loss>
constexpr typename Net::value_type loss_and_gradient(Net const& net, X const& x,
                                                     Targets const& targets, Loss const& loss,
                                                     gradient_t<Net>& g) noexcept {
  static_assert(detail::check_network_input<X>::ok);
  if constexpr (Tensor<X>) {
    gradient_workspace_t<Net, X, Targets, Loss> ws;
    return loss_and_gradient(net, x, targets, loss, g, ws);
  } else {
    return typename Net::value_type{};  // reported above
  }
}

/// The loss of `net` on X against `targets`, and its gradient with respect to the input X
/// (written into dx, shaped like X): for sensitivity analysis and input-space losses. Bad
/// input is refused as by loss_and_gradient: NaN, and every element of dx NaN. With a last
/// argument `ws`, a propel::input_gradient_workspace_t<Net, X, Targets, Loss>, it runs in
/// the caller's workspace; without, it keeps that workspace on its stack.
template <class Net, class X, class Targets, class Loss, class E>
constexpr typename Net::value_type loss_and_input_gradient(Net const& net, X const& x,
                                                           Targets const& targets, Loss const& loss,
                                                           X& dx, workspace<E>& ws) noexcept {
  static_assert(detail::check_network_input<X>::ok);
  if constexpr (Tensor<X>) {
    using T = typename Net::value_type;
    using expected = std::remove_cv_t<decltype(loss(
        net.expression(variable_of<detail::input_id<Net>>(x)), targets))>;
    static_assert(detail::check_workspace<expected, E>::ok);
    if constexpr (std::is_same_v<expected, E>) {
      if (!detail::step_data_ok<Net, Loss>(x, targets)) {
        for (auto& d : dx) d = std::numeric_limits<T>::quiet_NaN();
        return std::numeric_limits<T>::quiet_NaN();
      }
      auto const f = loss(net.expression(variable_of<detail::input_id<Net>>(x)), targets);
      auto const value = forward(f, ws);
      for (auto& d : dx) d = T(0);
      gradient_sink<T, detail::input_id<Net>> sink{{dx.data()}};
      backward(f, ws, sink);
      return value;
    } else {
      return T{};  // reported above
    }
  } else {
    return typename Net::value_type{};  // reported above
  }
}

template <class Net, class X, class Targets, class Loss>
constexpr typename Net::value_type loss_and_input_gradient(Net const& net, X const& x,
                                                           Targets const& targets, Loss const& loss,
                                                           X& dx) noexcept {
  static_assert(detail::check_network_input<X>::ok);
  if constexpr (Tensor<X>) {
    input_gradient_workspace_t<Net, X, Targets, Loss> ws;
    return loss_and_input_gradient(net, x, targets, loss, dx, ws);
  } else {
    return typename Net::value_type{};  // reported above
  }
}

/// The number of bytes of workspace (activations, cached values and the backward pass's
/// buffers) that one training step of Net on inputs X against Targets with Loss needs:
/// loss_and_gradient without a workspace argument keeps it on its stack, a propel::trainer
/// holds it.
template <class Net, class X, class Targets, class Loss>
inline constexpr std::size_t workspace_bytes = sizeof(gradient_workspace_t<Net, X, Targets, Loss>);

}  // namespace propel
