// SPDX-License-Identifier: BSL-1.0
/// \file Defines product_expr, the matrix·matrix and matrix·vector product (`operator*`).
#pragma once

#include <concepts>
#include <cstddef>
#include <propel/detail/kernels.hpp>
#include <propel/expr/detail/vector_elements.hpp>
#include <propel/expr/expression.hpp>
#include <propel/expr/transpose.hpp>
#include <type_traits>
#include <utility>

namespace propel {

namespace detail {

template <class A, class B>
struct check_product_shapes {
  static_assert(A::rank == 2,
                "propel: operator* (matrix product): the left operand must be a matrix (see "
                "the two propel::shape arguments of check_product_shapes)");
  static_assert(B::rank >= 1,
                "propel: operator* (matrix product): the right operand must be a matrix or a "
                "vector; scale by a number of the expression's scalar type instead");
  static_assert(A::rank != 2 || B::rank == 0 || A::cols == B::rows,
                "propel: operator* (matrix product): the columns of the left operand must equal "
                "the rows of the right operand (see the two propel::shape arguments of "
                "check_product_shapes)");
  static constexpr bool ok = true;
};

template <class A, class B>
using product_shape_t =
    std::conditional_t<B::rank == 1, shape<A::rows>, shape<A::rows, (B::rank == 2 ? B::cols : 1)>>;

/// Whether E keeps its values in its cache after forward (see unary_expr::values).
template <class E>
inline constexpr bool has_values_v = requires(E const& e, typename E::cache_type const& c) {
  { e.values(c) } -> std::same_as<typename E::value_type const*>;
};

/// Whether a product reads operand E in place (a view of memory, or a node that keeps its
/// values) rather than making it ready once in a buffer of its own (a product reads each
/// operand element many times).
template <class E>
inline constexpr bool reads_in_place_v = E::is_direct || has_values_v<E>;

/// An operand of a product and, unless it is read in place, its buffer.
template <class E, bool InPlace = reads_in_place_v<E>>
struct operand_cache {
  [[no_unique_address]] typename E::cache_type c;
};
template <class E>
struct operand_cache<E, false> {
  typename E::cache_type c;
  value_t<E> buf;
};

template <class E>
PROPEL_ALWAYS_INLINE constexpr void prepare_operand(E const& e, operand_cache<E>& oc) {
  if constexpr (reads_in_place_v<E>) {
    e.forward(oc.c, no_epilogue{});
  } else {
    // the operand's element-wise chain runs in the epilogue of whatever produces it
    e.forward(oc.c, [&](std::size_t begin, std::size_t end) {
      store_elements(e, oc.c, begin, end, oc.buf.elements);
    });
  }
}

template <class E>
[[nodiscard]] constexpr auto operand_at(E const& e, operand_cache<E> const& oc, std::size_t i) {
  if constexpr (reads_in_place_v<E>) {
    return e.at(oc.c, i);
  } else {
    return oc.buf.elements[i];
  }
}

template <class E>
inline constexpr bool is_transpose_v = false;
template <class Arg>
inline constexpr bool is_transpose_v<transpose_expr<Arg>> = true;

/// Whether E is a leaf: its elements lie row-major in memory, at e.data->elements.
template <class E>
inline constexpr bool is_memory_leaf_v = requires(E const& e) {
  e.data->elements;
};

/// Whether a product can read operand E row-major from memory once it is prepared: a
/// leaf, or an operand that is not direct (it keeps its values, or is made ready in a buffer
/// of its own).
template <class E>
inline constexpr bool is_contiguous_operand_v = is_memory_leaf_v<E> || !E::is_direct;

/// The transpose of a leaf: the Wᵀ of X·Wᵀ, read from W's own row-major memory.
template <class E>
inline constexpr bool is_transposed_leaf_v = false;
template <class Arg>
inline constexpr bool is_transposed_leaf_v<transpose_expr<Arg>> = is_memory_leaf_v<Arg>;

template <class E>
[[nodiscard]] constexpr auto const* operand_data(E const& e, operand_cache<E> const& oc) {
  if constexpr (is_memory_leaf_v<E>) {
    return e.data->elements;
  } else if constexpr (has_values_v<E>) {
    return e.values(oc.c);
  } else {
    return oc.buf.elements;
  }
}

/// The writer a product uses for operand E's slot in Sink (see detail::slot_writer).
template <class E, class Sink>
using writer_t =
    std::remove_cvref_t<decltype(std::declval<E const&>().writer(std::declval<Sink&>()))>;

}  // namespace detail

/// The product A·B of a matrix expression A (M x K) and a matrix (K x N) or vector (K)
/// expression B.
///
/// The two products a network is made of have kernels of their own (detail/kernels.hpp):
/// W·x (B a vector) and X·Wᵀ (a batch, one sample per row, against the transpose of a
/// weight leaf). Their output is complete before the consumer's epilogue (bias, activation,
/// reduction) runs over it. Their backward pass streams W once: for W·x one pass over the
/// rows of W gives both dJ/dx += Wᵀ dz and dJ/dW = dz xᵀ; for X·Wᵀ, dJ/dX = dZ W is formed
/// before dJ/dW = dZᵀ X is delivered, so a fused SGD step may move W as it goes. Every other
/// product runs the plain loops below, row by row with the epilogue after each row.
template <Expression A, Expression B>
struct product_expr {
  static_assert(detail::check_same_scalar<typename A::value_type, typename B::value_type>::ok);
  static_assert(detail::check_product_shapes<typename A::shape_type, typename B::shape_type>::ok);

  static constexpr bool is_propel_expression = true;
  static constexpr bool is_direct = false;
  static constexpr std::size_t m = A::shape_type::rows;
  static constexpr std::size_t k = A::shape_type::cols;
  static constexpr std::size_t n = B::shape_type::cols;
  using value_type = typename A::value_type;
  using shape_type = detail::product_shape_t<typename A::shape_type, typename B::shape_type>;
  using leaf_ids = detail::concat_t<typename A::leaf_ids, typename B::leaf_ids>;
  /// W·x: a matrix in memory times a vector.
  static constexpr bool matvec_path = B::shape_type::rank == 1 &&
                                      detail::is_contiguous_operand_v<A> &&
                                      detail::is_contiguous_operand_v<B>;
  /// X·Wᵀ: a matrix in memory times the transpose of a weight leaf.
  static constexpr bool nt_path =
      detail::is_transposed_leaf_v<B> && detail::is_contiguous_operand_v<A>;
  /// The kernel's scratch (a transposed panel of W for a batch), part of the workspace.
  static constexpr std::size_t panel_size = [] {
    if constexpr (matvec_path) {
      return detail::gemm_nt_panel_size<value_type, 1, m, k>;
    } else if constexpr (nt_path) {
      return detail::gemm_nt_panel_size<value_type, m, n, k>;
    } else {
      return std::size_t{0};
    }
  }();

  struct cache_type {
    detail::operand_cache<A> a;
    detail::operand_cache<B> b;
    tensor_t<value_type, shape_type> out;
    [[no_unique_address]] detail::panel_buffer<value_type, panel_size> panel;
  };

  A a;
  B b;

  /// Dot-product order when B's columns are contiguous (a vector, or the transpose of a
  /// row-major matrix); otherwise rows of B are accumulated (axpy order). Both sum over k
  /// in the same order, so the choice never changes a result.
  static constexpr bool dot_order = n == 1 || detail::is_transpose_v<B>;

  template <class Epi>
  PROPEL_ALWAYS_INLINE constexpr void forward(cache_type& c, Epi const& epi) const {
    detail::prepare_operand(a, c.a);
    detail::prepare_operand(b, c.b);
    value_type* out = c.out.elements;
    if constexpr ((matvec_path || nt_path) && detail::scalar_core_v<value_type>) {
      // a scalar core: the epilogue runs on each tile as it is stored
      if constexpr (matvec_path) {
        detail::gemm_nt_scalar<1, m, k>(detail::operand_data(b, c.b), detail::operand_data(a, c.a),
                                        out, epi);
      } else {
        detail::gemm_nt_scalar<m, n, k>(detail::operand_data(a, c.a), b.arg.data->elements, out,
                                        epi);
      }
    } else if constexpr (matvec_path) {
      detail::gemm_nt<1, m, k>(detail::operand_data(b, c.b), detail::operand_data(a, c.a), out,
                               c.panel.data());
      epi(0, m);
    } else if constexpr (nt_path) {
      detail::gemm_nt<m, n, k>(detail::operand_data(a, c.a), b.arg.data->elements, out,
                               c.panel.data());
      epi(0, m * n);
    } else {
      for (std::size_t i = 0; i < m; ++i) {
        value_type* row = out + i * n;
        if constexpr (dot_order) {
          for (std::size_t j = 0; j < n; ++j) {
            value_type acc{};
            for (std::size_t p = 0; p < k; ++p) {
              acc += detail::operand_at(a, c.a, i * k + p) * detail::operand_at(b, c.b, p * n + j);
            }
            row[j] = acc;
          }
        } else {
          for (std::size_t j = 0; j < n; ++j) row[j] = value_type{};
          for (std::size_t p = 0; p < k; ++p) {
            value_type const aip = detail::operand_at(a, c.a, i * k + p);
            for (std::size_t j = 0; j < n; ++j) {
              row[j] += aip * detail::operand_at(b, c.b, p * n + j);
            }
          }
        }
        epi(i * n, i * n + n);
      }
    }
  }
  [[nodiscard]] constexpr value_type at(cache_type const& c, std::size_t i) const {
    return c.out.elements[i];
  }
  /// The product's values, row-major (read a vector at a time by an epilogue).
  [[nodiscard]] constexpr value_type const* elements(cache_type const& c) const {
    return c.out.elements;
  }

  /// What the backward pass materialises: dJ/dZ, and dJ/d(operand) for an operand that
  /// has variables, unless the kernel delivers it to the operand's slot itself (W of W·x,
  /// Wᵀ of X·Wᵀ).
  static constexpr bool any_leaves = detail::has_leaves_v<A> || detail::has_leaves_v<B>;
  static constexpr bool a_buffer =
      detail::has_leaves_v<A> && !(matvec_path && detail::is_memory_leaf_v<A>);
  static constexpr bool b_buffer = detail::has_leaves_v<B> && !nt_path;
  struct scratch_type {
    [[no_unique_address]] typename A::scratch_type a;
    [[no_unique_address]] typename B::scratch_type b;
    [[no_unique_address]] detail::scratch_buffer_t<any_leaves, tensor_t<value_type, shape_type>> dz;
    [[no_unique_address]] detail::scratch_buffer_t<a_buffer, value_t<A>> da;
    [[no_unique_address]] detail::scratch_buffer_t<b_buffer, value_t<B>> db;
  };

  template <class Adj, class Sink>
  constexpr void backward(cache_type const& c, scratch_type& s, Adj const& adj, Sink& sink) const {
    constexpr bool need_a = detail::depends_on_v<A, Sink>;
    constexpr bool need_b = detail::depends_on_v<B, Sink>;
    if constexpr (need_a || need_b) {
      if constexpr (detail::has_vector_adjoint_v<Adj, value_type>) {
        detail::store_adjoint<shape_type>(adj, s.dz.elements);
      } else {
        PROPEL_UNROLL(1)  // kept for the vectoriser (see detail::for_each_element)
        for (std::size_t i = 0; i < m * n; ++i) s.dz.elements[i] = adj(i);
      }
      if constexpr (matvec_path && (!need_a || detail::is_memory_leaf_v<A>)) {
        backward_matvec(c, s, sink);
      } else if constexpr (nt_path) {
        backward_nt(c, s, sink);
      } else {
        backward_generic(c, s, sink);
      }
    }
  }

 private:
  /// dJ/dx and dJ/dW of W·x in one pass over the rows of W (a leaf when it is needed).
  template <class Sink>
  constexpr void backward_matvec(cache_type const& c, scratch_type& s, Sink& sink) const {
    constexpr bool need_a = detail::depends_on_v<A, Sink>;
    constexpr bool need_b = detail::depends_on_v<B, Sink>;
    value_type const* x = detail::operand_data(b, c.b);
    value_type const* dz = s.dz.elements;
    value_type* dx = nullptr;
    if constexpr (need_b) dx = s.db.elements;
    if constexpr (need_a) {
      auto const& write = a.writer(sink);
      if constexpr (std::remove_cvref_t<decltype(write)>::moves_param) {
        detail::matvec_backward<m, k, need_b>(write.param, x, dz, dx, write);
      } else {
        detail::matvec_backward<m, k, need_b>(a.data->elements, x, dz, dx, write);
      }
    } else {
      detail::matvec_backward<m, k, need_b>(detail::operand_data(a, c.a), x, dz, dx,
                                            detail::no_writer{});
    }
    if constexpr (need_b) deliver<B>(b, c.b, s.b, s.db, sink);
  }

  /// dJ/dX = dZ W first (it reads W), then dJ/dW = dZᵀ X (its writer may move W).
  template <class Sink>
  constexpr void backward_nt(cache_type const& c, scratch_type& s, Sink& sink) const {
    constexpr bool need_a = detail::depends_on_v<A, Sink>;
    constexpr bool need_b = detail::depends_on_v<B, Sink>;
    value_type const* dz = s.dz.elements;
    auto const zero = [](std::size_t, std::size_t) { return value_type{}; };
    if constexpr (need_a) {
      value_type* dx = s.da.elements;
      detail::gemm_bcast<m, k, n, n, 1, k>(
          dz, b.arg.data->elements, zero,
          [&](std::size_t i, std::size_t j, value_type v) { dx[i * k + j] = v; });
      deliver<A>(a, c.a, s.a, s.da, sink);
    }
    if constexpr (need_b) {
      auto const& write = b.writer(sink);
#ifdef PROPEL_DETAIL_VECTOR_TYPES
      // each row piece of a tile of dW as one block (write_block), read a vector at a time:
      // the writer's options tested once per block, its update done in vectors
      detail::gemm_bcast<n, k, m, 1, n, k>(
          dz, detail::operand_data(a, c.a), zero,
          detail::row_out{[&]<std::size_t C>(std::size_t o, std::size_t p, value_type const* row) {
            detail::write_block<1, C>(
                write, o * k + p,
                detail::with_vector{
                    [row](std::size_t, std::size_t j) { return row[j]; },
                    [row](std::size_t, std::size_t j) { return detail::simd_load(row + j); }});
          }});
#else
      detail::gemm_bcast<n, k, m, 1, n, k>(
          dz, detail::operand_data(a, c.a), zero,
          [&](std::size_t o, std::size_t p, value_type v) { write(o * k + p, v); });
#endif
    }
  }

  /// Hands dJ/dE (a complete buffer shaped like E) to operand E: through its slot writer
  /// when E writes a slot, otherwise to its own backward pass.
  template <class E, class Buffer, class Sink>
  static constexpr void deliver(E const& e, detail::operand_cache<E> const& oc,
                                typename E::scratch_type& es, Buffer const& d, Sink& sink) {
    if constexpr (detail::writes_slot_v<E, Sink>) {
      auto const& write = e.writer(sink);
      for (std::size_t i = 0; i < E::shape_type::size; ++i) write(E::slot_index(i), d.elements[i]);
    } else {
#ifdef PROPEL_DETAIL_VECTOR_TYPES
      e.backward(oc.c, es, detail::stored_adjoint<typename E::shape_type>(d.elements), sink);
#else
      e.backward(
          oc.c, es, [&](std::size_t i) { return d.elements[i]; }, sink);
#endif
    }
  }

  /// Whether operand E's derivative can be added into its slot while the loops run: E writes
  /// a slot and its writer accumulates. Otherwise the derivative is completed in a buffer
  /// and delivered afterwards, once per element, after every read of A and B.
  template <class E, class Sink>
  static constexpr bool adds_in_place = [] {
    if constexpr (detail::depends_on_v<E, Sink> && detail::writes_slot_v<E, Sink>) {
      return detail::writer_t<E, Sink>::accumulates;
    } else {
      return false;
    }
  }();

  /// Any other product: dJ/dA = dZ·Bᵀ and dJ/dB = Aᵀ·dZ in one pass over A.
  template <class Sink>
  constexpr void backward_generic(cache_type const& c, scratch_type& s, Sink& sink) const {
    constexpr bool need_a = detail::depends_on_v<A, Sink>;
    constexpr bool need_b = detail::depends_on_v<B, Sink>;
    constexpr bool a_in_place = adds_in_place<A, Sink>;
    constexpr bool b_in_place = adds_in_place<B, Sink>;
    value_type const* dz = s.dz.elements;
    if constexpr (need_b && !b_in_place) {
      for (std::size_t i = 0; i < B::shape_type::size; ++i) s.db.elements[i] = value_type{};
    }
    for (std::size_t i = 0; i < m; ++i) {
      value_type const* dzi = dz + i * n;
      for (std::size_t p = 0; p < k; ++p) {
        if constexpr (need_a) {
          value_type acc{};
          for (std::size_t j = 0; j < n; ++j) {
            acc += dzi[j] * detail::operand_at(b, c.b, p * n + j);
          }
          if constexpr (a_in_place) {
            a.writer(sink)(A::slot_index(i * k + p), acc);
          } else {
            s.da.elements[i * k + p] = acc;
          }
        }
        if constexpr (need_b) {
          value_type const aip = detail::operand_at(a, c.a, i * k + p);
          for (std::size_t j = 0; j < n; ++j) {
            if constexpr (b_in_place) {
              b.writer(sink)(B::slot_index(p * n + j), aip * dzi[j]);
            } else {
              s.db.elements[p * n + j] += aip * dzi[j];
            }
          }
        }
      }
    }
    if constexpr (need_a && !a_in_place) deliver<A>(a, c.a, s.a, s.da, sink);
    if constexpr (need_b && !b_in_place) deliver<B>(b, c.b, s.b, s.db, sink);
  }
};

/// Matrix·matrix or matrix·vector product of two expressions. The shapes must meet: the
/// left operand's columns equal the right operand's rows; otherwise the compiler rejects
/// the product and names both shapes.
template <Expression A, Expression B>
[[nodiscard]] constexpr product_expr<A, B> operator*(A const& a, B const& b) {
  return {a, b};
}

}  // namespace propel
