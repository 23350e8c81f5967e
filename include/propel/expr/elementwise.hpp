// SPDX-License-Identifier: BSL-1.0
/// \file Defines the element-wise nodes: unary_expr (activations, scaling) and binary_expr
/// (+, -, hadamard, and binary losses), with a vector broadcast over the rows of a batch.
#pragma once

#include <concepts>
#include <cstddef>
#include <propel/expr/detail/vector_elements.hpp>
#include <propel/expr/expression.hpp>
#include <type_traits>
#include <utility>

namespace propel {

namespace detail {
/// Whether Op's derivative follows from its value alone, `op.derivative_of_value(y)` with
/// y = op.value(x) (1 - y² for tanh): a unary node over such an op keeps its values, so
/// that its backward pass does not evaluate the op again.
template <class Op, class T>
inline constexpr bool keeps_value_v = requires(Op const& op, T y) {
  { op.derivative_of_value(y) } -> std::same_as<T>;
};

/// The adjoint adj carried back through Op from its kept value y: `op.chain_of_value(adj, y)`
/// when Op defines it (relu selects, so that a NaN adjoint does not reach a unit relu has
/// zeroed, as PyTorch's threshold_backward), adj times op.derivative_of_value(y) otherwise.
template <class Op, class T>
PROPEL_ALWAYS_INLINE constexpr T chain_of_value(Op const& op, T adj, T y) {
  if constexpr (requires { op.chain_of_value(adj, y); }) {
    return op.chain_of_value(adj, y);
  } else {
    return adj * op.derivative_of_value(y);
  }
}

/// Whether the adjoint carried back through Op has a vector form for T (see the adjoint
/// protocol in expr/expression.hpp), lane by lane the bits of the scalar one: from the kept
/// value, `op.vector_chain_of_value(adj, y)` where Op defines chain_of_value, otherwise
/// `op.vector_derivative_of_value(y)`; from the argument, `op.vector_derivative(x)`.
template <class Op, class T, bool FromValue>
inline constexpr bool has_vector_chain_v = [] {
#ifdef PROPEL_DETAIL_VECTOR_TYPES
  if constexpr (vector_lanes < T >> 1) {
    if constexpr (!FromValue) {
      return requires(Op const& op, simd_t<T> v) {
        { op.vector_derivative(v) } -> std::same_as<simd_t<T>>;
      };
    } else if constexpr (requires(Op const& op, T a) { op.chain_of_value(a, a); }) {
      return requires(Op const& op, simd_t<T> v) {
        { op.vector_chain_of_value(v, v) } -> std::same_as<simd_t<T>>;
      };
    } else {
      return requires(Op const& op, simd_t<T> v) {
        { op.vector_derivative_of_value(v) } -> std::same_as<simd_t<T>>;
      };
    }
  }
#endif
  return false;
}();

/// The same for a binary op: `op.vector_d_left(a, b)` and `op.vector_d_right(a, b)`.
template <class Op, class T>
inline constexpr bool has_vector_partials_v = [] {
#ifdef PROPEL_DETAIL_VECTOR_TYPES
  if constexpr (vector_lanes < T >> 1) {
    return requires(Op const& op, simd_t<T> v) {
      { op.vector_d_left(v, v) } -> std::same_as<simd_t<T>>;
      { op.vector_d_right(v, v) } -> std::same_as<simd_t<T>>;
    };
  }
#endif
  return false;
}();

#ifdef PROPEL_DETAIL_VECTOR_TYPES
/// chain_of_value on vectors (see has_vector_chain_v).
template <class Op, class V>
PROPEL_ALWAYS_INLINE V vector_chain_of_value(Op const& op, V adj, V y) {
  if constexpr (requires { op.vector_chain_of_value(adj, y); }) {
    return op.vector_chain_of_value(adj, y);
  } else {
    return adj * op.vector_derivative_of_value(y);
  }
}
#endif
}  // namespace detail

/// Op applied to every element of Arg. Element i is computed on demand, in the loop of
/// whoever consumes it; when Op's derivative follows from its value (detail::keeps_value_v)
/// the node instead writes its values into its cache as they are produced (in the epilogue
/// of its producer), reads them back and differentiates from them.
/// \tparam Op   a value with `value(x)` and `derivative(x)` (see propel/ops/), optionally
///             `derivative_of_value(y)`
/// \tparam Arg  any Expression over float or double
template <class Op, Expression Arg>
struct unary_expr {
  static constexpr bool is_propel_expression = true;
  static constexpr bool is_direct = false;
  using value_type = typename Arg::value_type;
  using shape_type = typename Arg::shape_type;
  using leaf_ids = typename Arg::leaf_ids;
  static constexpr bool keeps_value = detail::keeps_value_v<Op, value_type>;
  struct cache_type {
    [[no_unique_address]] typename Arg::cache_type arg;
    [[no_unique_address]] detail::scratch_buffer_t<keeps_value, tensor_t<value_type, shape_type>>
        out;
  };
  struct scratch_type {
    [[no_unique_address]] typename Arg::scratch_type arg;
  };

  [[no_unique_address]] Op op;
  Arg arg;

  template <class Epi>
  PROPEL_ALWAYS_INLINE constexpr void forward(cache_type& c, Epi const& epi) const {
    if constexpr (keeps_value) {
      arg.forward(c.arg, [&](std::size_t begin, std::size_t end) {
        if (!std::is_constant_evaluated()) {
          // Op on whole vectors where it has a vector form
          if (detail::apply_vector_value(op, arg, c.arg, begin, end, &detail::flat(c.out, 0))) {
            epi(begin, end);
            return;
          }
        }
        detail::for_each_element(arg, c.arg, begin, end, [&](std::size_t i, value_type v) {
          detail::flat(c.out, i) = op.value(v);
        });
        epi(begin, end);
      });
    } else {
      arg.forward(c.arg, epi);
    }
  }
  [[nodiscard]] constexpr value_type at(cache_type const& c, std::size_t i) const {
    if constexpr (keeps_value) {
      return detail::flat(c.out, i);
    } else {
      return op.value(arg.at(c.arg, i));
    }
  }
  [[nodiscard]] constexpr value_type at_rc(cache_type const& c, std::size_t row,
                                           std::size_t col) const {
    if constexpr (keeps_value) {
      return at(c, row * shape_type::cols + col);
    } else {
      return op.value(detail::element_at(arg, c.arg, row, col));
    }
  }
  /// The values of a node that keeps them, row-major: a product reads them in place.
  [[nodiscard]] constexpr value_type const* values(cache_type const& c) const requires keeps_value {
    return &detail::flat(c.out, 0);
  }
  /// Whether elements can be read a vector at a time (detail::vector_element_at): the kept
  /// values, or Op's vector form over vectors of Arg's elements.
  static constexpr bool vector_elements =
      keeps_value ||
      (detail::has_vector_value_v<Op, value_type> && detail::has_vector_elements_v<Arg>);
#ifdef PROPEL_DETAIL_VECTOR_TYPES
  [[nodiscard]] PROPEL_ALWAYS_INLINE detail::simd_t<value_type> vector_at_rc(
      cache_type const& c, std::size_t row, std::size_t col) const requires vector_elements {
    if constexpr (keeps_value) {
      return detail::simd_load(&detail::flat(c.out, row * shape_type::cols + col));
    } else {
      return op.vector_value(detail::vector_element_at(arg, c.arg, row, col));
    }
  }
#endif
  /// Whether the adjoint handed to Arg has a vector form when Adj has one: Op's chain on
  /// vectors, from the kept values or from vectors of Arg's elements.
  template <class Adj>
  static constexpr bool vector_adjoint = detail::has_vector_adjoint_v<Adj, value_type> &&
                                         (keeps_value
                                              ? detail::has_vector_chain_v<Op, value_type, true>
                                              : detail::has_vector_chain_v<Op, value_type, false> &&
                                                    detail::has_vector_elements_v<Arg>);

  template <class Adj, class Sink>
  constexpr void backward(cache_type const& c, scratch_type& s, Adj const& adj, Sink& sink) const {
    if constexpr (detail::depends_on_v<Arg, Sink>) {
      if constexpr (vector_adjoint<Adj>) {
#ifdef PROPEL_DETAIL_VECTOR_TYPES
        backward_with_vectors(c, s, adj, sink);
#endif
      } else if constexpr (keeps_value) {
        arg.backward(
            c.arg, s.arg,
            [&](std::size_t i) {
              return detail::chain_of_value(op, adj(i), detail::flat(c.out, i));
            },
            sink);
      } else {
        arg.backward(
            c.arg, s.arg, [&](std::size_t i) { return adj(i) * op.derivative(arg.at(c.arg, i)); },
            sink);
      }
    }
  }

 private:
#ifdef PROPEL_DETAIL_VECTOR_TYPES
  /// backward with the adjoint's vector form handed on (vector_adjoint): the same scalar
  /// adjoint, and Op's chain on vectors of it.
  template <class Adj, class Sink>
  PROPEL_ALWAYS_INLINE constexpr void backward_with_vectors(cache_type const& c, scratch_type& s,
                                                            Adj const& adj, Sink& sink) const {
    if constexpr (keeps_value) {
      arg.backward(c.arg, s.arg,
                   detail::with_vector{
                       [&](std::size_t i) {
                         return detail::chain_of_value(op, adj(i), detail::flat(c.out, i));
                       },
                       [&](std::size_t row, std::size_t col) {
                         return detail::vector_chain_of_value(
                             op, adj.vector(row, col),
                             detail::simd_load(&detail::flat(c.out, row * shape_type::cols + col)));
                       }},
                   sink);
    } else {
      arg.backward(
          c.arg, s.arg,
          detail::with_vector{
              [&](std::size_t i) { return adj(i) * op.derivative(arg.at(c.arg, i)); },
              [&](std::size_t row, std::size_t col) {
                return adj.vector(row, col) *
                       op.vector_derivative(detail::vector_element_at(arg, c.arg, row, col));
              }},
          sink);
    }
  }
#endif
};

/// Applies the element-wise op (an activation, for example) to an expression:
/// `apply(propel::leaky_relu{0.2}, e)`, the same as `propel::leaky_relu{0.2}(e)`.
template <class Op, Expression E>
[[nodiscard]] constexpr unary_expr<Op, E> apply(Op const& op, E const& e) {
  static_assert(detail::check_floating<typename E::value_type>::ok);
  return {op, e};
}

namespace detail {

/// Element-wise operands must have the same shape, except that a vector may be added to
/// (or subtracted from) every row of a matrix whose rows are as long as the vector.
template <class L, class R>
inline constexpr bool is_row_broadcast_v = L::rank == 2 && R::rank == 1 && L::cols == R::size;

template <class L, class R>
struct check_elementwise_shapes {
  static_assert(std::is_same_v<L, R> || is_row_broadcast_v<L, R>,
                "propel: element-wise operation on operands of different shapes (see the two "
                "propel::shape arguments of check_elementwise_shapes); only a vector as long as "
                "a matrix row may be broadcast over the rows of that matrix");
  static constexpr bool ok = true;
};

}  // namespace detail

/// Op applied to the elements of L and R pairwise. When R is a vector and L a matrix with
/// rows as long as R, R is broadcast over the rows of L (a bias added to a batch).
/// \tparam Op  a value with `value(a, b)`, `d_left(a, b)` and `d_right(a, b)`
template <class Op, Expression L, Expression R>
struct binary_expr {
  static_assert(detail::check_same_scalar<typename L::value_type, typename R::value_type>::ok);
  static_assert(
      detail::check_elementwise_shapes<typename L::shape_type, typename R::shape_type>::ok);

  static constexpr bool is_propel_expression = true;
  static constexpr bool is_direct = false;
  static constexpr bool broadcast =
      detail::is_row_broadcast_v<typename L::shape_type, typename R::shape_type>;
  using value_type = typename L::value_type;
  using shape_type = typename L::shape_type;
  using leaf_ids = detail::concat_t<typename L::leaf_ids, typename R::leaf_ids>;
  struct cache_type {
    [[no_unique_address]] typename L::cache_type l;
    [[no_unique_address]] typename R::cache_type r;
  };
  /// When both operands take part in a gradient, dJ/de is materialised once (`adj`) and both
  /// read it, rather than evaluating the lazy chain above this node twice.
  static constexpr bool shares_adjoint = detail::has_leaves_v<L> && detail::has_leaves_v<R>;
  struct scratch_type {
    [[no_unique_address]] typename L::scratch_type l;
    [[no_unique_address]] typename R::scratch_type r;
    [[no_unique_address]] detail::scratch_buffer_t<shares_adjoint, tensor_t<value_type, shape_type>>
        adj;
    /// A broadcast operand's derivative: the column totals of the rows it was added to.
    [[no_unique_address]] detail::scratch_buffer_t<broadcast && detail::has_leaves_v<R>,
                                                   tensor_t<value_type, typename R::shape_type>>
        totals;
  };

  [[no_unique_address]] Op op;
  L l;
  R r;

  /// The operand that produces its values last drives the fused loop; the other is made
  /// ready first. A broadcast vector never drives (its index space is smaller).
  static constexpr bool drive_right = !broadcast && L::is_direct && !R::is_direct;

  template <class Epi>
  PROPEL_ALWAYS_INLINE constexpr void forward(cache_type& c, Epi const& epi) const {
    if constexpr (drive_right) {
      l.forward(c.l, detail::no_epilogue{});
      r.forward(c.r, epi);
    } else {
      r.forward(c.r, detail::no_epilogue{});
      l.forward(c.l, epi);
    }
  }
  [[nodiscard]] static constexpr std::size_t right_index(std::size_t i) noexcept {
    if constexpr (broadcast) {
      return i % R::shape_type::size;
    } else {
      return i;
    }
  }
  [[nodiscard]] constexpr value_type at(cache_type const& c, std::size_t i) const {
    return op.value(l.at(c.l, i), r.at(c.r, right_index(i)));
  }
  /// Whether elements can be read a vector at a time (detail::vector_element_at): Op's vector
  /// form over vectors of both operands' elements (a broadcast vector read at the column).
  static constexpr bool vector_elements = detail::has_vector_value2_v<Op, value_type> &&
                                          detail::has_vector_elements_v<L> &&
                                          detail::has_vector_elements_v<R>;
#ifdef PROPEL_DETAIL_VECTOR_TYPES
  [[nodiscard]] PROPEL_ALWAYS_INLINE detail::simd_t<value_type> vector_at_rc(
      cache_type const& c, std::size_t row, std::size_t col) const requires vector_elements {
    return op.vector_value(detail::vector_element_at(l, c.l, row, col),
                           detail::vector_element_at(r, c.r, broadcast ? 0 : row, col));
  }
#endif
  [[nodiscard]] constexpr value_type at_rc(cache_type const& c, std::size_t row,
                                           std::size_t col) const {
    if constexpr (broadcast) {
      return op.value(detail::element_at(l, c.l, row, col), r.at(c.r, col));
    } else {
      return op.value(detail::element_at(l, c.l, row, col), detail::element_at(r, c.r, row, col));
    }
  }
  template <class Adj, class Sink>
  constexpr void backward(cache_type const& c, scratch_type& s, Adj const& adj, Sink& sink) const {
    constexpr bool need_l = detail::depends_on_v<L, Sink>;
    constexpr bool need_r = detail::depends_on_v<R, Sink>;
    if constexpr (need_l && need_r && detail::has_vector_adjoint_v<Adj, value_type>) {
      detail::store_adjoint<shape_type>(adj, &detail::flat(s.adj, 0));
      backward_operands(
          c, s, detail::stored_adjoint<shape_type>(&detail::flat(std::as_const(s.adj), 0)), sink);
    } else if constexpr (need_l && need_r) {
      PROPEL_UNROLL(1)  // kept for the vectoriser (see detail::for_each_element)
      for (std::size_t i = 0; i < shape_type::size; ++i) detail::flat(s.adj, i) = adj(i);
      backward_operands(
          c, s, [&](std::size_t i) { return detail::flat(std::as_const(s.adj), i); }, sink);
    } else {
      backward_operands(c, s, adj, sink);
    }
  }

 private:
  /// Whether the adjoints handed to the operands have vector forms when Adj has one: Op's
  /// partial derivatives on vectors of both operands' elements.
  template <class Adj>
  static constexpr bool vector_adjoint =
      detail::has_vector_adjoint_v<Adj, value_type>&& detail::has_vector_partials_v<
          Op, value_type>&& detail::has_vector_elements_v<L>&& detail::has_vector_elements_v<R>;

  template <class Adj, class Sink>
  constexpr void backward_operands(cache_type const& c, scratch_type& s, Adj const& adj,
                                   Sink& sink) const {
    if constexpr (vector_adjoint<Adj>) {
#ifdef PROPEL_DETAIL_VECTOR_TYPES
      backward_operands_with_vectors(c, s, adj, sink);
#endif
    } else {
      if constexpr (detail::depends_on_v<L, Sink>) {
        l.backward(
            c.l, s.l,
            [&](std::size_t i) {
              return adj(i) * op.d_left(l.at(c.l, i), r.at(c.r, right_index(i)));
            },
            sink);
      }
      if constexpr (detail::depends_on_v<R, Sink>) {
        if constexpr (broadcast) {
          // a broadcast operand collects the derivative of every row it was added to: the
          // column totals, summed row by row (each in the order of the rows) so that the loop
          // runs along contiguous rows
          constexpr std::size_t n = R::shape_type::size;
          constexpr std::size_t rows = L::shape_type::rows;
          value_type* total = s.totals.elements;
          for (std::size_t j = 0; j < n; ++j) total[j] = value_type{};
          for (std::size_t row = 0; row < rows; ++row) {
            for (std::size_t j = 0; j < n; ++j) {
              std::size_t const i = row * n + j;
              total[j] += adj(i) * op.d_right(l.at(c.l, i), r.at(c.r, j));
            }
          }
          if constexpr (detail::has_vector_adjoint_v<Adj, value_type>) {
            r.backward(c.r, s.r, detail::stored_adjoint<typename R::shape_type>(total), sink);
          } else {
            r.backward(
                c.r, s.r, [&](std::size_t j) { return total[j]; }, sink);
          }
        } else {
          r.backward(
              c.r, s.r,
              [&](std::size_t i) { return adj(i) * op.d_right(l.at(c.l, i), r.at(c.r, i)); }, sink);
        }
      }
    }
  }

#ifdef PROPEL_DETAIL_VECTOR_TYPES
  /// backward_operands with the adjoint's vector form handed on (vector_adjoint): the same
  /// scalar adjoints, and Op's partial derivatives on vectors of both operands' elements; a
  /// broadcast operand's column totals summed a vector of columns at a time (at run time),
  /// each column in the order of the rows as the scalar loop sums it.
  template <class Adj, class Sink>
  PROPEL_ALWAYS_INLINE constexpr void backward_operands_with_vectors(cache_type const& c,
                                                                     scratch_type& s,
                                                                     Adj const& adj,
                                                                     Sink& sink) const {
    if constexpr (detail::depends_on_v<L, Sink>) {
      l.backward(
          c.l, s.l,
          detail::with_vector{[&](std::size_t i) {
                                return adj(i) * op.d_left(l.at(c.l, i), r.at(c.r, right_index(i)));
                              },
                              [&](std::size_t row, std::size_t col) {
                                return adj.vector(row, col) *
                                       op.vector_d_left(detail::vector_element_at(l, c.l, row, col),
                                                        detail::vector_element_at(
                                                            r, c.r, broadcast ? 0 : row, col));
                              }},
          sink);
    }
    if constexpr (detail::depends_on_v<R, Sink>) {
      if constexpr (broadcast) {
        constexpr std::size_t n = R::shape_type::size;
        constexpr std::size_t rows = L::shape_type::rows;
        value_type* total = s.totals.elements;
        for (std::size_t j = 0; j < n; ++j) total[j] = value_type{};
        auto const add_scalar = [&](std::size_t row, std::size_t j) {
          std::size_t const i = row * n + j;
          total[j] += adj(i) * op.d_right(l.at(c.l, i), r.at(c.r, j));
        };
        if (std::is_constant_evaluated()) {
          for (std::size_t row = 0; row < rows; ++row) {
            for (std::size_t j = 0; j < n; ++j) add_scalar(row, j);
          }
        } else {
          detail::for_each_block_vector<value_type, rows, n>(
              [&](std::size_t row, std::size_t j) {
                detail::simd_store(
                    total + j, detail::simd_load(total + j) +
                                   adj.vector(row, j) *
                                       op.vector_d_right(detail::vector_element_at(l, c.l, row, j),
                                                         detail::vector_element_at(r, c.r, 0, j)));
              },
              add_scalar);
        }
        r.backward(c.r, s.r, detail::stored_adjoint<typename R::shape_type>(total), sink);
      } else {
        r.backward(
            c.r, s.r,
            detail::with_vector{
                [&](std::size_t i) { return adj(i) * op.d_right(l.at(c.l, i), r.at(c.r, i)); },
                [&](std::size_t row, std::size_t col) {
                  return adj.vector(row, col) *
                         op.vector_d_right(detail::vector_element_at(l, c.l, row, col),
                                           detail::vector_element_at(r, c.r, row, col));
                }},
            sink);
      }
    }
  }
#endif
};

}  // namespace propel
