// SPDX-License-Identifier: BSL-1.0
/// \file Defines evaluate, gradient and value_and_gradient: running an expression forward,
/// and backward with respect to named variables.
#pragma once

#include <cstddef>
#include <propel/expr/detail/vector_elements.hpp>
#include <propel/expr/expression.hpp>
#include <propel/expr/leaf.hpp>
#include <tuple>
#include <type_traits>

namespace propel {

/// Where the backward pass of an expression accumulates derivatives: one slot (a pointer to
/// T storage laid out like the variable) per identity in Ids.
template <class T, class... Ids>
struct gradient_sink {
  using ids = detail::type_list<Ids...>;
  T* slots[sizeof...(Ids) > 0 ? sizeof...(Ids) : 1];

  template <class Id>
  [[nodiscard]] constexpr T* slot() const noexcept {
    return slots[detail::index_of_v<Id, Ids...>];
  }
};

namespace detail {

template <class X>
inline constexpr bool is_leaf_v = false;
template <class Id, class V>
inline constexpr bool is_leaf_v<leaf<Id, V>> = true;

template <class E>
struct check_scalar_result {
  static_assert(E::shape_type::rank == 0,
                "propel::gradient: the expression must be a scalar (reduce it with sum, mean or "
                "a loss first; see the propel::shape argument of check_scalar_result)");
  static constexpr bool ok = true;
};

template <class E, class Leaf>
struct check_wrt {
  static_assert(is_leaf_v<Leaf>,
                "propel::gradient: differentiate with respect to variables "
                "(propel::variable<name>(tensor)), not expressions");
  static constexpr bool variable = [] {
    if constexpr (is_leaf_v<Leaf>) {
      return !std::is_void_v<typename Leaf::id>;
    } else {
      return true;  // already reported
    }
  }();
  static_assert(variable,
                "propel::gradient: can only differentiate with respect to a variable, not a "
                "constant");
  static constexpr bool contained = [] {
    if constexpr (is_leaf_v<Leaf>) {
      return std::is_void_v<typename Leaf::id> ||
             contains_v<typename E::leaf_ids, typename Leaf::id>;
    } else {
      return true;
    }
  }();
  static_assert(contained,
                "propel::gradient: the expression does not contain the variable asked for "
                "(its identity is the Leaf argument of check_wrt)");
  static_assert(check_same_scalar<typename E::value_type, typename Leaf::value_type>::ok);
  static constexpr bool ok = true;  // each failure above is reported once, by its own text
};

template <class Id, class... Rest>
inline constexpr bool repeats_v = (std::is_same_v<Id, Rest> || ...);

template <class... Ids>
struct distinct_ids;
template <>
struct distinct_ids<> : std::true_type {};
template <class Id, class... Rest>
struct distinct_ids<Id, Rest...>
    : std::bool_constant<!repeats_v<Id, Rest...> && distinct_ids<Rest...>::value> {};

}  // namespace detail

namespace detail {

/// Runs e forward in the cache c and stores its value into out. Always inlined into the two
/// overloads of evaluate, each of which returns its own `out` (no copy of the result).
template <class E, class C, class V>
PROPEL_ALWAYS_INLINE constexpr void evaluate_into(E const& e, C& c, V& out) {
  // row by row where the range covers whole rows: a bias is then read at its column
  e.forward(c, [&](std::size_t begin, std::size_t end) {
    store_elements(e, c, begin, end, &flat(out, 0));
  });
}

}  // namespace detail

/// The value of an expression: a scalar, a propel::vec or a propel::mat, computed in the
/// caller's workspace `ws` (an evaluation_workspace_t<E>, or a workspace_t<E>, of which it uses
/// the forward pass's part): no other memory but the kernels' frames and a few scalars of
/// stack.
template <Expression E, bool Backward>
[[nodiscard]] constexpr value_t<E> evaluate(E const& e,
                                            workspace<std::remove_cv_t<E>, Backward>& ws) {
  value_t<E> out;
  detail::evaluate_into(e, ws.cache, out);
  return out;
}

/// The value of an expression, its workspace on the stack:
/// sizeof(evaluation_workspace_t<E>) bytes. The same bits as with a workspace of the caller's.
template <Expression E>
[[nodiscard]] constexpr value_t<E> evaluate(E const& e) {
  evaluation_workspace_t<E> ws;  // a forward pass only: no backward scratch
  value_t<E> out;
  detail::evaluate_into(e, ws.cache, out);
  return out;
}

/// Runs e forward in the caller's workspace and returns its value (for a scalar e).
template <ScalarExpression E>
constexpr typename E::value_type forward(E const& e, workspace_t<E>& ws) {
  e.forward(ws.cache, detail::no_epilogue{});
  return e.at(ws.cache, 0);
}

/// Runs the backward pass of a scalar e whose forward pass filled ws, delivering dJ/dleaf to
/// the sink's slots: a gradient_sink adds into them (the caller zeroes them first if it
/// wants the derivative alone); a sink with writers of its own decides (nn/gradient.hpp).
template <ScalarExpression E, class Sink>
constexpr void backward(E const& e, workspace_t<E>& ws, Sink& sink) {
  static_assert(detail::sink_accepts_v<Sink, typename E::leaf_ids>,
                "propel::backward: this sink stores each derivative once instead of adding it "
                "up, so every variable it collects must occur exactly once in the expression");
  e.backward(
      ws.cache, ws.scratch, [](std::size_t) { return typename E::value_type(1); }, sink);
}

/// The value of a scalar expression and its derivatives with respect to the variables
/// `wrt...`, each with its variable's shape, in the order asked.
/// Diagnostics: "the expression must be a scalar", "can only differentiate with respect to
/// a variable", "the expression does not contain the variable asked for", "a variable is
/// asked for twice".
template <class T, class... Vs>
struct value_and_gradients {
  T value;
  std::tuple<Vs...> gradients;
};

namespace detail {

/// Runs e forward and backward in ws, storing its value into `value` and the derivatives with
/// respect to `wrt...` into `gradients` (a tuple of tensors, zeroed).
template <class E, class G, class... Leaves>
constexpr void run_gradient(E const& e, workspace_t<E>& ws, typename E::value_type& value,
                            G& gradients, Leaves const&...) {
  std::apply(
      [&](auto&... g) {
        gradient_sink<typename E::value_type, typename Leaves::id...> sink{{g.elements...}};
        value = forward(e, ws);
        backward(e, ws, sink);
      },
      gradients);
}

/// The value and the derivatives of a checked value_and_gradient call, and the derivatives
/// alone (a tuple) of a gradient call. One object and one return each, so that the result is
/// built in the caller's storage, not in this frame.
template <class E, class... Leaves>
[[nodiscard]] constexpr auto value_and_gradient_in(E const& e, workspace_t<E>& ws,
                                                   Leaves const&... wrt) {
  value_and_gradients<typename E::value_type,
                      std::remove_cv_t<std::remove_pointer_t<decltype(wrt.data)>>...>
      result{};
  run_gradient(e, ws, result.value, result.gradients, wrt...);
  return result;
}
template <class E, class... Leaves>
[[nodiscard]] constexpr auto gradient_in(E const& e, workspace_t<E>& ws, Leaves const&... wrt) {
  std::tuple<std::remove_cv_t<std::remove_pointer_t<decltype(wrt.data)>>...> result{};
  typename E::value_type value{};
  run_gradient(e, ws, value, result, wrt...);
  return result;
}

}  // namespace detail

/// value_and_gradient and gradient run in the caller's workspace `ws` (a workspace_t<E>) when
/// it follows the expression, and otherwise keep one on the stack: sizeof(workspace_t<E>)
/// bytes. Either way the results are the same bits.
template <Expression E, class... Leaves>
[[nodiscard]] constexpr auto value_and_gradient(E const& e, workspace_t<E>& ws,
                                                Leaves const&... wrt) {
  static_assert(detail::check_scalar_result<E>::ok);
  static_assert((detail::check_wrt<E, Leaves>::ok && ...));
  using T = typename E::value_type;
  if constexpr (E::shape_type::rank == 0 && (detail::is_leaf_v<Leaves> && ...)) {
    static_assert(detail::distinct_ids<typename Leaves::id...>::value,
                  "propel::gradient: a variable is asked for twice");
    return detail::value_and_gradient_in(e, ws, wrt...);
  } else {
    return value_and_gradients<T>{};  // reported above; no second error
  }
}

template <Expression E, class... Leaves>
[[nodiscard]] constexpr auto value_and_gradient(E const& e, Leaves const&... wrt) {
  workspace_t<E> ws;
  return value_and_gradient(e, ws, wrt...);
}

template <Expression E, class... Leaves>
[[nodiscard]] constexpr auto gradient(E const& e, workspace_t<E>& ws, Leaves const&... wrt) {
  static_assert(detail::check_scalar_result<E>::ok);
  static_assert((detail::check_wrt<E, Leaves>::ok && ...));
  if constexpr (E::shape_type::rank == 0 && (detail::is_leaf_v<Leaves> && ...)) {
    static_assert(detail::distinct_ids<typename Leaves::id...>::value,
                  "propel::gradient: a variable is asked for twice");
    return detail::gradient_in(e, ws, wrt...);
  } else {
    return std::tuple<>{};  // reported above; no second error
  }
}

template <Expression E, class... Leaves>
[[nodiscard]] constexpr auto gradient(E const& e, Leaves const&... wrt) {
  workspace_t<E> ws;
  return gradient(e, ws, wrt...);
}

}  // namespace propel
