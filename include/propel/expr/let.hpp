// SPDX-License-Identifier: BSL-1.0
/// \file Defines let (a subexpression computed once and used many times), heads (several
/// outputs), then (a function of the outputs) and evaluate for several outputs.
///
/// The expression layer is a tree: a subexpression written twice is computed twice.
/// `propel::let(e, body)` computes e once, into a buffer in its cache, and calls `body(h)`
/// with a leaf `h` over that buffer (a variable whose identity is local to this let); the
/// body's expression is what the let computes:
///
///     auto const y = propel::let(x, [=](auto const& h) { return h + propel::tanh{}(W * h + b); });
///
/// The body's expression is a few pointers; the let keeps the body callable (not the
/// expression, whose leaf points into a cache the let does not know before forward) and
/// rebuilds it wherever it needs it: in forward, at and backward.
///
/// Backward: the body's backward first, with a sink that delivers the local's derivative to
/// the let's scratch (zeroed, then added into: the body may use h any number of times) and
/// every other variable's derivative to the caller's writers as before; then e's backward
/// with the derivative collected for h. A variable used both in e and in the body receives
/// derivatives from both (they add up in an adding sink; a storing sink refuses such a
/// variable at compile time, see propel::backward).
#pragma once

#include <concepts>
#include <cstddef>
#include <propel/expr/detail/vector_elements.hpp>
#include <propel/expr/expression.hpp>
#include <propel/expr/leaf.hpp>
#include <propel/expr/product.hpp>
#include <tuple>
#include <type_traits>
#include <utility>

namespace propel {

namespace detail {

/// List with every occurrence of X removed.
template <class List, class X>
struct remove_id;
template <class X>
struct remove_id<type_list<>, X> {
  using type = type_list<>;
};
template <class T, class... Ts, class X>
struct remove_id<type_list<T, Ts...>, X> {
  using rest = typename remove_id<type_list<Ts...>, X>::type;
  using type = std::conditional_t<std::is_same_v<T, X>, rest, concat_t<type_list<T>, rest>>;
};
template <class List, class X>
using remove_id_t = typename remove_id<List, X>::type;

/// Whether a let can read E's value where E keeps it after its forward pass: a leaf's
/// tensor, or a node whose cache member `out` is its whole value (a product's output, an
/// activation's kept values). Any other E is stored into the let's cache.
template <class E>
inline constexpr bool holds_value_v = is_memory_leaf_v<E> ||
                                      requires(typename E::cache_type const& c) {
  { c.out } -> std::same_as<value_t<E> const&>;
};

/// The identity of the local of `let(e, body)`: a function of the let's own type, so lets
/// nested in one another (even made by one helper function at two depths) never share one.
template <class E, class Body>
struct let_local {};

/// The sink a let hands to its body's backward pass: the caller's sink Outer, plus the
/// let's local LocalId, whose derivative is added into `local` (the let's scratch). Every
/// other variable goes through Outer's own writer (a store, an add, or a fused update).
template <class Outer, class LocalId, class T>
struct let_sink {
  using ids = concat_t<typename Outer::ids, type_list<LocalId>>;
  Outer* outer;
  T* local;

  template <class Id>
  [[nodiscard]] constexpr decltype(auto) writer() const {
    if constexpr (std::is_same_v<Id, LocalId>) {
      return adding_writer<T>{local};
    } else {
      return slot_writer<Id>(*outer);
    }
  }
};

/// The shape of a let whose body gives an Expression (void for heads), and the values of
/// a let whose body gives heads.
template <class R, bool = Expression<R>>
struct let_result {
  using shape_type = typename R::shape_type;
  using values_type = value_t<R>;
};
template <class R>
struct let_result<R, false> {
  using shape_type = void;
  using values_type = typename R::values_type;
};

template <class S>
struct check_let_operand {
  static_assert(S::rank >= 1,
                "propel::let: the shared expression must be a vector or a matrix (a scalar has "
                "no leaf; see the propel::shape argument of check_let_operand)");
  static constexpr bool ok = true;
};

template <class R>
struct check_let_body {
  static_assert(Expression<R> || Heads<R>,
                "propel::let: the body must return an expression or propel::heads(...) (see "
                "the type it returned, the argument of check_let_body)");
  static constexpr bool ok = true;
};

/// The number of outputs of an expression (1), a heads or a let of heads.
template <class Out>
inline constexpr std::size_t head_count_v = [] {
  if constexpr (Heads<Out>) {
    return Out::count;
  } else {
    return std::size_t{1};
  }
}();

}  // namespace detail

template <Expression... Es>
struct heads_expr;

/// `let(e, body)`: e computed once, body(h) over it (see the file's comment).
/// \tparam E     any vector or matrix Expression
/// \tparam Body  a callable taking the local leaf and returning an Expression or heads
template <Expression E, class Body>
struct let_expr {
  static_assert(detail::check_let_operand<typename E::shape_type>::ok);
  using local_id = detail::let_local<E, Body>;
  /// (a vector of one element stands in for a scalar e, already reported, so that no
  /// second error follows)
  using local_type = leaf<local_id, std::conditional_t<E::shape_type::rank == 0,
                                                       vec<typename E::value_type, 1>, value_t<E>>>;
  using body_result = std::remove_cvref_t<std::invoke_result_t<Body const&, local_type const&>>;
  static_assert(detail::check_let_body<body_result>::ok);
  /// The body's type (a constant stands in for a wrong one, already reported).
  using body_type = std::conditional_t<Expression<body_result> || Heads<body_result>, body_result,
                                       leaf<void, vec<typename E::value_type, 1>>>;

  static constexpr bool is_propel_expression = Expression<body_type>;
  static constexpr bool is_propel_heads = Heads<body_type>;
  static constexpr bool is_direct = [] {
    if constexpr (Expression<body_type>) {
      return body_type::is_direct;
    } else {
      return false;
    }
  }();
  using value_type = typename E::value_type;
  using shape_type = typename detail::let_result<body_type>::shape_type;
  /// e's variables and the body's, without the local (the let's business alone).
  using leaf_ids = detail::concat_t<typename E::leaf_ids,
                                    detail::remove_id_t<typename body_type::leaf_ids, local_id>>;

  struct cache_type {
    [[no_unique_address]] typename E::cache_type e;
    /// e's value, the local's buffer, unless e's own (a leaf's tensor, a product's output,
    /// an activation's kept values) is read in place
    [[no_unique_address]] detail::scratch_buffer_t<!detail::holds_value_v<E>, value_t<E>> value;
    [[no_unique_address]] typename body_type::cache_type body;
  };
  struct scratch_type {
    [[no_unique_address]] typename E::scratch_type e;
    [[no_unique_address]] typename body_type::scratch_type body;
    /// dJ/dh, added up over every use of h in the body (needed when e has variables).
    [[no_unique_address]] detail::scratch_buffer_t<detail::has_leaves_v<E>, value_t<E>> local;
  };

  E e;
  Body body;

  /// The body's expression over the local's buffer in c.
  [[nodiscard]] constexpr body_type body_at(cache_type const& c) const {
    if constexpr (detail::is_memory_leaf_v<E>) {
      return body(local_type{e.data});
    } else if constexpr (detail::holds_value_v<E>) {
      return body(local_type{&c.e.out});
    } else {
      return body(local_type{&c.value});
    }
  }

  /// Computes e into the local's buffer (its element-wise chain in its producer's epilogue).
  constexpr void prepare(cache_type& c) const {
    if constexpr (detail::holds_value_v<E>) {
      e.forward(c.e, detail::no_epilogue{});
    } else {
      e.forward(c.e, [&](std::size_t begin, std::size_t end) {
        detail::store_elements(e, c.e, begin, end, &detail::flat(c.value, 0));
      });
    }
  }

  template <class Epi>
  constexpr void forward(cache_type& c, Epi const& epi) const requires is_propel_expression {
    prepare(c);
    body_at(c).forward(c.body, epi);
  }
  [[nodiscard]] constexpr value_type at(cache_type const& c,
                                        std::size_t i) const requires is_propel_expression {
    return body_at(c).at(c.body, i);
  }
  [[nodiscard]] constexpr value_type at_rc(cache_type const& c, std::size_t row,
                                           std::size_t col) const requires is_propel_expression {
    return detail::element_at(body_at(c), c.body, row, col);
  }
  /// The body's kept values, when it keeps them: a product reads them in place.
  [[nodiscard]] constexpr value_type const* values(cache_type const& c) const requires
      is_propel_expression && detail::has_values_v<body_type> {
    return body_at(c).values(c.body);
  }

  /// Whether elements can be read a vector at a time (detail::vector_element_at): the body's.
  static constexpr bool vector_elements = [] {
    if constexpr (Expression<body_type>) {
      return detail::has_vector_elements_v<body_type>;
    } else {
      return false;
    }
  }();
#ifdef PROPEL_DETAIL_VECTOR_TYPES
  [[nodiscard]] PROPEL_ALWAYS_INLINE detail::simd_t<value_type> vector_at_rc(
      cache_type const& c, std::size_t row, std::size_t col) const requires vector_elements {
    return detail::vector_element_at(body_at(c), c.body, row, col);
  }
#endif

  template <class Adj, class Sink>
  constexpr void backward(cache_type const& c, scratch_type& s, Adj const& adj,
                          Sink& sink) const requires is_propel_expression {
    body_type const b = body_at(c);
    if constexpr (detail::depends_on_v<E, Sink>) {
      constexpr std::size_t n = E::shape_type::size;
      value_type* local = &detail::flat(s.local, 0);
      for (std::size_t i = 0; i < n; ++i) local[i] = value_type{};
      detail::let_sink<Sink, local_id, value_type> inner{&sink, local};
      if constexpr (detail::depends_on_v<body_type, decltype(inner)>) {
        b.backward(c.body, s.body, adj, inner);
      }
      e.backward(
          c.e, s.e, [local](std::size_t i) { return local[i]; }, sink);
    } else if constexpr (detail::depends_on_v<body_type, Sink>) {
      b.backward(c.body, s.body, adj, sink);
    }
  }

  // ---- when the body gives heads
  static constexpr std::size_t count = detail::head_count_v<body_type>;
  using values_type = typename detail::let_result<body_type>::values_type;

  /// Evaluates every head into out (a std::tuple of their values).
  constexpr void evaluate_into(cache_type& c, values_type& out) const requires is_propel_heads {
    prepare(c);
    body_at(c).evaluate_into(c.body, out);
  }
};

/// Several outputs of one model (an actor's logits and a critic's value, say): not an
/// Expression; `evaluate` gives a std::tuple of their values, `then` a function of them
/// (propel::per_head: a loss per head). Each head is computed on its own: what they share
/// is computed once when a let holds them (`let(trunk, [](auto const& h) { return
/// heads(f(h), g(h)); })`).
template <Expression... Es>
struct heads_expr {
  static_assert(sizeof...(Es) >= 1, "propel::heads: give at least one output");
  static_assert(
      (detail::check_same_scalar<typename std::tuple_element_t<0, std::tuple<Es...>>::value_type,
                                 typename Es::value_type>::ok &&
       ...));
  static constexpr bool is_propel_heads = true;
  static constexpr std::size_t count = sizeof...(Es);
  using value_type = typename std::tuple_element_t<0, std::tuple<Es...>>::value_type;
  using leaf_ids = detail::concat_t<typename Es::leaf_ids...>;
  using values_type = std::tuple<value_t<Es>...>;
  struct cache_type {
    std::tuple<typename Es::cache_type...> heads;
  };
  struct scratch_type {};

  std::tuple<Es...> items;

  constexpr void evaluate_into(cache_type& c, values_type& out) const {
    [&]<std::size_t... I>(std::index_sequence<I...>) { (evaluate_one<I>(c, out), ...); }
    (std::index_sequence_for<Es...>{});
  }

 private:
  template <std::size_t I>
  constexpr void evaluate_one(cache_type& c, values_type& out) const {
    auto const& e = std::get<I>(items);
    auto& ec = std::get<I>(c.heads);
    auto& v = std::get<I>(out);
    e.forward(ec, [&](std::size_t begin, std::size_t end) {
      detail::store_elements(e, ec, begin, end, &detail::flat(v, 0));
    });
  }
};

/// Computes e once and gives body(h) over it, h being a leaf over e's value (see the file's
/// comment). body returns an Expression (the let is then an Expression) or heads(...).
template <Expression E, class Body>
[[nodiscard]] constexpr let_expr<E, Body> let(E const& e, Body const& body) {
  return {e, body};
}

/// Several outputs: `heads(actor(h), critic(h))`.
template <Expression E0, Expression... Es>
[[nodiscard]] constexpr heads_expr<E0, Es...> heads(E0 const& e0, Es const&... es) {
  return {std::tuple<E0, Es...>{e0, es...}};
}

template <class Out, class F>
[[nodiscard]] constexpr auto then(Out const& out, F const& f);

namespace detail {
/// The body of `then(let(e, body), f)`: body's outputs, then f of them.
template <class Body, class F>
struct then_body {
  Body body;
  F f;
  template <class H>
  [[nodiscard]] constexpr auto operator()(H const& h) const {
    return propel::then(body(h), f);
  }
};
}  // namespace detail

/// f applied to the outputs of out: f(out) for an Expression, f(e0, e1, ...) for
/// heads(e0, e1, ...), and for a let whose body gives heads the same let whose body gives
/// f of them (what the let shares stays computed once). The result is f's: an Expression.
template <class Out, class F>
[[nodiscard]] constexpr auto then(Out const& out, F const& f) {
  if constexpr (Expression<Out>) {
    return f(out);
  } else if constexpr (requires { out.items; }) {
    return std::apply(f, out.items);
  } else if constexpr (Heads<Out>) {
    return let_expr<std::remove_cvref_t<decltype(out.e)>,
                    detail::then_body<std::remove_cvref_t<decltype(out.body)>, F>>{out.e,
                                                                                   {out.body, f}};
  } else {
    static_assert(Heads<Out>,
                  "propel::then: the first argument must be an expression, propel::heads(...) "
                  "or a propel::let whose body gives heads");
    return out;  // reported above; no second error
  }
}

/// The values of several outputs, a std::tuple, computed in the caller's workspace (an
/// evaluation_workspace_t<H> or a workspace_t<H>).
template <Heads H, bool Backward>
[[nodiscard]] constexpr typename H::values_type evaluate(
    H const& h, workspace<std::remove_cv_t<H>, Backward>& ws) {
  typename H::values_type out{};
  h.evaluate_into(ws.cache, out);
  return out;
}

/// The values of several outputs, a std::tuple, the workspace on the stack.
template <Heads H>
[[nodiscard]] constexpr typename H::values_type evaluate(H const& h) {
  evaluation_workspace_t<H> ws;
  typename H::values_type out{};
  h.evaluate_into(ws.cache, out);
  return out;
}

}  // namespace propel
