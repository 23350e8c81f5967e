// SPDX-License-Identifier: BSL-1.0
/// \file Defines the Expression concept and the protocol every expression node follows.
///
/// A node is a small value that holds its operands by value and its data by pointer. It
/// knows at compile time its scalar type, its shape, the workspace it needs (`cache_type`),
/// how to evaluate itself and how to send a derivative back to its operands.
///
/// The protocol, for a node `e` with workspace `c`:
///  - `e.forward(c, epi)` makes every element of `e` available through `e.at(c, i)`. A node
///    that produces values (a product, a reduction) calls `epi(begin, end)` as soon as the
///    flat range [begin, end) of its output is ready; an element-wise node passes `epi` on
///    to the operand that produces its input. This is how an element-wise chain is fused:
///    the consumer's loop (bias + activation, or a reduction's accumulation) runs in the
///    producer's epilogue, over the block just produced: the whole output of a dense kernel,
///    a tile of the scalar kernel, a row of any other product (see docs/expressions.md).
///  - `e.at(c, i)` is element i (flat, row-major). Element-wise nodes compute it on demand
///    and own no buffer, except an activation whose derivative follows from its value (it
///    keeps its values); products, row-wise reductions and whole reductions own one.
///  - `e.backward(c, s, adj, sink)` receives dJ/de lazily, as a callable `adj(i)`, and
///    passes dJ/d(operand) on in the same form. Where the target has vector registers and
///    everything under a node can, the adjoint also has a vector form (detail::with_vector):
///    `adj.vector(row, col)`, the simd_t of elements (row, col) .. (row, col + lanes - 1)
///    (row 0 and col the flat index for a vector), lane by lane the bits of adj(i), read
///    where the derivative is materialised or delivered in blocks, so that the chain of
///    derivatives runs on vectors by construction (see detail/vector_elements.hpp). Leaves deliver
///    what reaches them to the gradient slots of the `sink` through its writers; subtrees without a
///    requested leaf are skipped at compile time. Whatever a node materialises on the way (a
///    product's dJ/dZ, a derivative handed to an operand) goes into its part of the scratch `s`, of
///    type `scratch_type`, so that a backward pass needs no stack beyond the kernels' frames and a
///    few scalars.
///  - A node whose whole value lies in its cache after forward keeps it in a member `out` of
///    its value type (a product's output, an activation's kept values): propel::let then
///    reads it there instead of storing a copy.
#pragma once

#include <concepts>
#include <cstddef>
#include <propel/config.hpp>
#include <propel/detail/writer.hpp>
#include <propel/shape.hpp>
#include <propel/tensor.hpp>
#include <type_traits>

namespace propel {

/// A node of propel's expression layer: it has a scalar type, a static shape and opts in
/// with `is_propel_expression`.
template <class E>
concept Expression = requires {
  typename E::value_type;
  typename E::shape_type;
  requires Shape<typename E::shape_type>;
  requires E::is_propel_expression;
};

/// An expression whose value is a single number (the result of sum, mean or a loss).
template <class E>
concept ScalarExpression = Expression<E> &&(E::shape_type::rank == 0);

/// Several outputs computed together (propel::heads, or a propel::let whose body gives
/// heads): not an Expression, but it has a workspace and `evaluate` gives a std::tuple of
/// the outputs' values (expr/let.hpp).
template <class E>
concept Heads = requires {
  requires E::is_propel_heads;
};

/// The workspace of a forward and a backward pass of E: the values the forward pass caches
/// (`cache`, all that evaluating E needs) and the buffers its backward pass fills
/// (`scratch`). Its size is a compile-time constant: `sizeof(workspace_t<E>)`. With
/// Backward false it is the forward pass's part alone (`evaluation_workspace_t<E>`): what
/// `evaluate` needs, and all that inference needs. The functions that take a workspace run
/// in it and use no other stack than the kernels' frames and a few scalars; those that do not take
/// one keep it on their stack.
template <class E, bool Backward = true>
struct workspace {
  typename E::cache_type cache;
  [[no_unique_address]] typename E::scratch_type scratch;
};
template <class E>
struct workspace<E, false> {
  typename E::cache_type cache;
};
template <class E>
requires Expression<E> || Heads<E>
using workspace_t = workspace<std::remove_cv_t<E>>;
template <class E>
requires Expression<E> || Heads<E>
using evaluation_workspace_t = workspace<std::remove_cv_t<E>, false>;

/// The value type of expression E: a scalar, a propel::vec or a propel::mat.
template <Expression E>
using value_t = tensor_t<typename E::value_type, typename E::shape_type>;

namespace detail {

/// A list of types (leaf identities) with no behaviour of its own.
template <class... Ts>
struct type_list {};

template <class... Lists>
struct concat;
template <>
struct concat<> {
  using type = type_list<>;
};
template <class... A>
struct concat<type_list<A...>> {
  using type = type_list<A...>;
};
template <class... A, class... B, class... Rest>
struct concat<type_list<A...>, type_list<B...>, Rest...> {
  using type = typename concat<type_list<A..., B...>, Rest...>::type;
};
template <class... Lists>
using concat_t = typename concat<Lists...>::type;

template <class List, class X>
inline constexpr bool contains_v = false;
template <class... Ts, class X>
inline constexpr bool contains_v<type_list<Ts...>, X> = (std::is_same_v<Ts, X> || ...);

/// The position of X in Ts... (the first occurrence; sizeof...(Ts) when absent).
template <class X, class... Ts>
inline constexpr std::size_t index_of_v = [] {
  std::size_t i = 0;
  bool found = false;
  ((found = found || std::is_same_v<X, Ts>, i += found ? 0 : 1), ...);
  return i;
}();

/// How many times X occurs in List.
template <class List, class X>
inline constexpr std::size_t count_v = 0;
template <class... Ts, class X>
inline constexpr std::size_t count_v<type_list<Ts...>, X> = (std::size_t{std::is_same_v<Ts, X>} +
                                                             ... + 0);

/// True when any of Wanted's identities occurs in List.
template <class List, class Wanted>
inline constexpr bool intersects_v = false;
template <class List, class... Ws>
inline constexpr bool intersects_v<List, type_list<Ws...>> = (contains_v<List, Ws> || ...);

/// Whether differentiating with respect to the leaves a Sink collects has to visit E.
template <class E, class Sink>
inline constexpr bool depends_on_v = intersects_v<typename E::leaf_ids, typename Sink::ids>;

/// Whether E is a leaf (or a view of one) whose gradient slot in Sink a product may write
/// directly, instead of handing a buffer of derivatives back to it.
template <class E, class Sink>
inline constexpr bool writes_slot_v = [] {
  if constexpr (requires { E::template writes_slot<Sink>; }) {
    return E::template writes_slot<Sink>;
  } else {
    return false;
  }
}();

/// The writer for the slot of leaf identity Id in Sink: the sink's own (`sink.writer<Id>()`,
/// which may return a reference to a writer the sink keeps) when it defines one, otherwise an
/// adding_writer. A sink whose writers do not accumulate must receive each element of each
/// derivative exactly once (see docs/expressions.md).
template <class Id, class Sink>
[[nodiscard]] constexpr decltype(auto) slot_writer(Sink& sink) {
  if constexpr (requires { sink.template writer<Id>(); }) {
    return sink.template writer<Id>();
  } else {
    using T = std::remove_pointer_t<decltype(sink.template slot<Id>())>;
    return adding_writer<T>{sink.template slot<Id>()};
  }
}

/// Whether the writers of Sink add into their slots (false: each element is delivered once).
template <class Sink>
inline constexpr bool sink_accumulates_v = [] {
  if constexpr (requires { Sink::accumulates; }) {
    return Sink::accumulates;
  } else {
    return true;
  }
}();

/// Whether every identity in Ids occurs exactly once in List.
template <class List, class Ids>
inline constexpr bool each_once_v = false;
template <class List, class... Ids>
inline constexpr bool each_once_v<List, type_list<Ids...>> = ((count_v<List, Ids> == 1) && ...);

/// Whether Sink may collect the derivatives of an expression with leaves List: a sink whose
/// writers add up takes any; one whose writers store each derivative once needs every
/// variable it collects to occur once in List. A sink with writers of several kinds says
/// itself, `Sink::accepts<List>` (detail::parameter_sink).
template <class Sink, class List>
inline constexpr bool sink_accepts_v = [] {
  if constexpr (requires { Sink::template accepts<List>; }) {
    return Sink::template accepts<List>;
  } else {
    return sink_accumulates_v<Sink> || each_once_v<List, typename Sink::ids>;
  }
}();

/// True when E's backward pass may have anything to deliver: E contains a variable.
template <class E>
inline constexpr bool has_leaves_v = !std::is_same_v<typename E::leaf_ids, type_list<>>;

/// A buffer for the backward pass when Needed, nothing otherwise.
struct no_scratch {};
template <bool Needed, class V>
using scratch_buffer_t = std::conditional_t<Needed, V, no_scratch>;

/// Element (row, col) of a matrix expression e. Element-wise nodes provide `at_rc`, so that
/// a vector broadcast over the rows (a bias over a batch) is read at `col` rather than at
/// `i % cols`: a loop over a row then reads every operand contiguously and vectorises.
template <class E, class C>
[[nodiscard]] constexpr typename E::value_type element_at(E const& e, C const& c, std::size_t row,
                                                          std::size_t col) {
  if constexpr (requires { e.at_rc(c, row, col); }) {
    return e.at_rc(c, row, col);
  } else {
    return e.at(c, row * E::shape_type::cols + col);
  }
}

/// Calls f(i, e.at(c, i)) for i in [begin, end), row by row through element_at when e is a
/// matrix and the range covers whole rows. The loops over elements stay rolled
/// (PROPEL_UNROLL(1)) until GCC's loop vectoriser has seen them: GCC otherwise unrolls a
/// loop of up to 16 iterations completely first, and its basic-block vectoriser leaves much
/// of the straight-line result scalar (relu's select, for one). The same holds for the
/// other element-wise loops of the forward and backward passes.
template <class E, class C, class F>
constexpr void for_each_element(E const& e, C const& c, std::size_t begin, std::size_t end,
                                F const& f) {
  constexpr std::size_t cols = E::shape_type::cols;
  if constexpr (E::shape_type::rank == 2 && cols > 1) {
    if (begin % cols == 0 && end % cols == 0) {
      for (std::size_t row = begin / cols; row < end / cols; ++row) {
        PROPEL_UNROLL(1)
        for (std::size_t col = 0; col < cols; ++col)
          f(row * cols + col, element_at(e, c, row, col));
      }
      return;
    }
  }
  if constexpr (PROPEL_VECTOR_BYTES < 2 * sizeof(typename E::value_type)) {
    // a core without a vector unit (detail::scalar_core_v): no vectoriser to keep the loop
    // for, and unrolled, the epilogue that a scalar kernel runs on each tile it has just
    // stored (detail::gemm_nt_scalar) may take the tile's values from registers
    PROPEL_UNROLL(16)
    for (std::size_t i = begin; i < end; ++i) f(i, e.at(c, i));
  } else {
    PROPEL_UNROLL(1)
    for (std::size_t i = begin; i < end; ++i) f(i, e.at(c, i));
  }
}

/// The epilogue of a forward pass whose consumer needs no per-block work.
struct no_epilogue {
  constexpr void operator()(std::size_t, std::size_t) const noexcept {}
};

/// Rejects mixing scalar types in one expression.
template <class L, class R>
struct check_same_scalar {
  static_assert(std::is_same_v<L, R>,
                "propel: operands have different scalar types (for example float and double); "
                "convert one of them explicitly");
  static constexpr bool ok = true;
};

/// Rejects an expression over a scalar type that is not floating point.
template <class T>
struct check_floating {
  static_assert(std::is_floating_point_v<T>,
                "propel: expressions are differentiable only over floating-point scalars "
                "(float or double)");
  static constexpr bool ok = true;
};

}  // namespace detail
}  // namespace propel
