// SPDX-License-Identifier: BSL-1.0
/// \file Defines loss_and_gradient and loss_and_input_gradient for any model (an mlp or a
/// propel::model), and the backward pass that delivers its derivatives tensor by tensor.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <propel/expr.hpp>
#include <propel/nn/model.hpp>
#include <tuple>
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

/// Delivers the derivative of one parameter tensor. With no_step it stores it,
/// `grad[i] = v` (for a tensor that occurs once in the expression: each element arrives
/// once, complete, and nothing needs zeroing); with a stepper it moves the parameter at once,
/// `step(i, param, v, state)`, and stores nothing: the optimizer's update fused into the
/// backward pass, one pass over the parameters. With `adding`, it adds into grad (a tensor
/// that occurs more than once: its derivatives add up). A block of elements (write_block)
/// goes to the stepper's own `step.block<Rows, Cols>(begin, param, f, state)` when it has one
/// (see propel::sgd); for a stepper without one the writer has no `block`, and write_block
/// hands it the elements one by one.
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

/// A test hook: specialised true for a parameter identity (tensor_id<Block, K>), it makes
/// that tensor's derivative be stored, or its update fused, as if it occurred once in every
/// expression. It exists to show that the checks of the fused update catch an unsound
/// fusion; nothing else specialises it.
template <class Id>
inline constexpr bool force_fused_v = false;

/// Whether the parameter of identity Id occurs exactly once in an expression with leaves
/// List: its derivative is then delivered once, complete, after its last read, and may be
/// stored or applied to the parameter at once. Any other parameter's derivatives are added
/// up first.
template <class List, class Id>
inline constexpr bool delivered_once_v = count_v<List, Id> == 1 || force_fused_v<Id>;

/// The sink of a model's backward pass: one writer per parameter tensor, each of its own
/// kind (stored, stepped or added up, see network_backward).
template <class Ids, class Writers>
struct parameter_sink;
template <class... Ids, class... Writers>
struct parameter_sink<type_list<Ids...>, std::tuple<Writers...>> {
  using ids = type_list<Ids...>;
  static constexpr bool accumulates = (Writers::accumulates && ...);
  /// Whether this sink is sound for an expression with leaves List: every writer that does
  /// not add up receives a derivative of a tensor that occurs once.
  template <class List>
  static constexpr bool accepts = ((Writers::accumulates || delivered_once_v<List, Ids>)&&...);
  std::tuple<Writers...> writers;

  template <class Id>
  [[nodiscard]] constexpr auto const& writer() const noexcept {
    return std::get<index_of_v<Id, Ids...>>(writers);
  }
};
/// The common case, every writer of one kind (every tensor occurs once, or none does).
template <class... Ids, class W, class... Writers>
requires(std::is_same_v<W, Writers>&&...) struct parameter_sink<type_list<Ids...>,
                                                                std::tuple<W, Writers...>> {
  using ids = type_list<Ids...>;
  static constexpr bool accumulates = W::accumulates;
  template <class List>
  static constexpr bool accepts = ((W::accumulates || delivered_once_v<List, Ids>)&&...);
  std::array<W, sizeof...(Ids)> writers;

  template <class Id>
  [[nodiscard]] constexpr W const& writer() const noexcept {
    return writers[index_of_v<Id, Ids...>];
  }
};

/// The number of elements of tensor K of Block.
template <class Block, std::size_t K>
inline constexpr std::size_t tensor_size_v =
    std::remove_cvref_t<decltype(std::declval<Block&>().template tensor_at<K>())>::size();

/// Tensor K of a block, in parameter order.
template <std::size_t K, class Block>
[[nodiscard]] constexpr auto* tensor_data(Block& block) noexcept {
  return block.template tensor_at<K>().data();
}

/// The identities of every parameter of Net, in parameter order.
template <class Net, std::size_t... K>
auto param_ids(std::index_sequence<K...>) -> type_list<tensor_id<gradient_t<Net>, K>...>;
template <class Net>
using param_ids_t =
    decltype(param_ids<Net>(std::make_index_sequence<tensor_count_v<gradient_t<Net>>>{}));

/// Where the derivatives of a model's tensors go: tensor K's into data<K>() (null for a
/// tensor whose derivatives are not kept). block_gradient keeps them all, in a block of the
/// model's layout.
template <class Block>
struct block_gradient {
  Block* g;
  template <std::size_t K>
  [[nodiscard]] constexpr auto* data() const noexcept {
    return g != nullptr ? tensor_data<K>(*g) : nullptr;
  }
};

/// Whether tensor K of Net must be added up (not delivered once) in the expression F.
template <class Net, class F, std::size_t K>
inline constexpr bool adds_up_v =
    !delivered_once_v<typename std::remove_cvref_t<F>::leaf_ids, tensor_id<gradient_t<Net>, K>>;

/// The sink that delivers the derivative of every tensor of Net in the expression F: stored
/// into grads or, with a stepper, applied to *net with the optimizer state `state`, for a
/// tensor that occurs once; added into grads for any other.
template <class Net, class F, class Grads, class Step, std::size_t States, std::size_t... K>
constexpr auto network_sink(Net* net, Grads const& grads, Step const& step,
                            std::array<gradient_t<Net>, States>& state, std::index_sequence<K...>) {
  using T = typename Net::value_type;
  auto const writer = [&]<std::size_t J>() {
    if constexpr (adds_up_v<Net, F, J>) {
      return parameter_writer<T, adding, States>{nullptr, grads.template data<J>(), {}, {}};
    } else if constexpr (std::is_same_v<Step, no_step>) {
      return parameter_writer<T, no_step, States>{nullptr, grads.template data<J>(), {}, {}};
    } else {
      std::array<T*, States> s{};
      for (std::size_t k = 0; k != States; ++k) s[k] = tensor_data<J>(state[k]);
      return parameter_writer<T, Step, States>{tensor_data<J>(*net), nullptr, s, step};
    }
  };
  using sink_t = parameter_sink<type_list<tensor_id<gradient_t<Net>, K>...>,
                                std::tuple<decltype(writer.template operator()<K>())...>>;
  return sink_t{{writer.template operator()<K>()...}};
}

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

/// network_backward for a loss in which some tensor occurs more than once.
template <class Net, class F, class W, class Grads, class Step, std::size_t States,
          std::size_t... K>
constexpr void network_backward_mixed(F const& f, W& ws, Net* net, Grads const& grads,
                                      Step const& step, std::array<gradient_t<Net>, States>& state,
                                      std::index_sequence<K...>) {
  using T = typename Net::value_type;
  (
      [&] {
        if constexpr (adds_up_v<Net, F, K>) {
          T* const g = grads.template data<K>();
          for (std::size_t i = 0; i < tensor_size_v<gradient_t<Net>, K>; ++i) g[i] = T(0);
        }
      }(),
      ...);
  auto sink = network_sink<Net, F>(net, grads, step, state, std::index_sequence<K...>{});
  backward(f, ws, sink);
  if constexpr (!std::is_same_v<Step, no_step>) {
    (
        [&] {
          if constexpr (adds_up_v<Net, F, K>) {
            T const* const g = grads.template data<K>();
            T* const p = tensor_data<K>(*net);
            std::array<T*, States> s{};
            for (std::size_t k = 0; k != States; ++k) s[k] = tensor_data<K>(state[k]);
            for (std::size_t i = 0; i < tensor_size_v<gradient_t<Net>, K>; ++i) step(i, p, g[i], s);
          }
        }(),
        ...);
  }
}

/// The backward pass of a model's loss f (run forward in ws), decided tensor by tensor at
/// compile time: the derivative of a tensor that occurs once in f is stored into grads or,
/// with a stepper, applied to *net at once (the update fused into the backward pass); that
/// of any other tensor (a tied weight, a loss that uses the prediction more than once) is
/// added up in grads, zeroed first, and a stepper applies it after the backward pass.
template <class Net, class F, class W, class Grads, class Step, std::size_t States>
constexpr void network_backward(F const& f, W& ws, Net* net, Grads const& grads, Step const& step,
                                std::array<gradient_t<Net>, States>& state) {
  constexpr std::size_t n = tensor_count_v<gradient_t<Net>>;
  if constexpr (delivers_once_v<Net, F>) {  // every tensor once: nothing to zero or step after
    auto sink = network_sink<Net, F>(net, grads, step, state, std::make_index_sequence<n>{});
    backward(f, ws, sink);
  } else {
    network_backward_mixed<Net>(f, ws, net, grads, step, state, std::make_index_sequence<n>{});
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

template <class Targets>
inline constexpr bool is_std_tuple_v = false;
template <class... Ts>
inline constexpr bool is_std_tuple_v<std::tuple<Ts...>> = true;

/// Whether the targets of one output are usable: a value target finite, and integer labels
/// under softmax cross-entropy classes of that output, in [0, Width).
template <class Loss, std::size_t Width, class Targets>
[[nodiscard]] constexpr bool output_targets_ok(Targets const& targets) noexcept {
  constexpr auto label_ok = is_class_label<Width>;
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

/// Whether the inputs and targets of a training step or a gradient of Net under Loss are
/// usable: every input and every value target finite, and, for softmax cross-entropy, every
/// integer label a class of Net's output, in [0, output_size). A std::tuple of targets (one
/// per head of a model with several outputs, under a per-head loss) has each of its value
/// targets checked. Other targets (expressions) are the loss's to judge.
template <class Net, class Loss, class X, class Targets>
[[nodiscard]] constexpr bool step_data_ok(X const& x, Targets const& targets) noexcept {
  if (!all_finite(x)) return false;
  if constexpr (is_std_tuple_v<Targets>) {
    return std::apply(
        [](auto const&... t) {
          return ([&] {
            if constexpr (Tensor<std::remove_cvref_t<decltype(t)>>) {
              return all_finite(t);
            } else {
              return true;  // labels: the head's loss judges them
            }
          }() && ...);
        },
        targets);
  } else if constexpr (requires { Net::output_size; }) {
    return output_targets_ok<Loss, Net::output_size>(targets);
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
      detail::network_backward(f, ws, static_cast<Net*>(nullptr),
                               detail::block_gradient<gradient_t<Net>>{&g}, detail::no_step{},
                               no_state);
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
