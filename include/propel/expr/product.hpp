// SPDX-License-Identifier: BSL-1.0
/// \file Defines product_expr, the matrix·matrix and matrix·vector product (`operator*`).
#pragma once

#include <cstddef>
#include <propel/expr/expression.hpp>
#include <propel/expr/transpose.hpp>

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

/// An operand of a product: read in place when it is a view of memory, otherwise made
/// ready once in a buffer of its own (a product reads each operand element many times).
template <class E, bool Direct = E::is_direct>
struct operand_cache {
  [[no_unique_address]] typename E::cache_type c;
};
template <class E>
struct operand_cache<E, false> {
  typename E::cache_type c;
  value_t<E> buf;
};

template <class E>
constexpr void prepare_operand(E const& e, operand_cache<E>& oc) {
  if constexpr (E::is_direct) {
    e.forward(oc.c, no_epilogue{});
  } else {
    // the operand's element-wise chain runs in the epilogue of whatever produces it
    e.forward(oc.c, [&](std::size_t begin, std::size_t end) {
      for (std::size_t i = begin; i < end; ++i) oc.buf.elements[i] = e.at(oc.c, i);
    });
  }
}

template <class E>
[[nodiscard]] constexpr auto operand_at(E const& e, operand_cache<E> const& oc, std::size_t i) {
  if constexpr (E::is_direct) {
    return e.at(oc.c, i);
  } else {
    return oc.buf.elements[i];
  }
}

template <class E>
inline constexpr bool is_transpose_v = false;
template <class Arg>
inline constexpr bool is_transpose_v<transpose_expr<Arg>> = true;

}  // namespace detail

/// The product A·B of a matrix expression A (M x K) and a matrix (K x N) or vector (K)
/// expression B. The output is computed row by row; after each row the consumer's epilogue
/// (bias, activation, reduction) runs on it. The backward pass reads A once for both
/// dJ/dA = dZ·Bᵀ and dJ/dB = Aᵀ·dZ, and writes straight into the gradient of a leaf operand.
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
  struct cache_type {
    detail::operand_cache<A> a;
    detail::operand_cache<B> b;
    value_t<product_expr> out;
  };

  A a;
  B b;

  /// Dot-product order when B's columns are contiguous (a vector, or the transpose of a
  /// row-major matrix); otherwise rows of B are accumulated (axpy order). Both sum over k
  /// in the same order, so the choice never changes a result.
  static constexpr bool dot_order = n == 1 || detail::is_transpose_v<B>;

  template <class Epi>
  constexpr void forward(cache_type& c, Epi const& epi) const {
    detail::prepare_operand(a, c.a);
    detail::prepare_operand(b, c.b);
    value_type* out = c.out.elements;
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
          for (std::size_t j = 0; j < n; ++j) row[j] += aip * detail::operand_at(b, c.b, p * n + j);
        }
      }
      epi(i * n, i * n + n);
    }
  }
  [[nodiscard]] constexpr value_type at(cache_type const& c, std::size_t i) const {
    return c.out.elements[i];
  }

  template <class Adj, class Sink>
  constexpr void backward(cache_type const& c, Adj const& adj, Sink& sink) const {
    constexpr bool need_a = detail::depends_on_v<A, Sink>;
    constexpr bool need_b = detail::depends_on_v<B, Sink>;
    if constexpr (need_a || need_b) {
      constexpr bool a_slot = detail::writes_slot_v<A, Sink>;
      constexpr bool b_slot = detail::writes_slot_v<B, Sink>;
      value_t<product_expr> dz;
      for (std::size_t i = 0; i < m * n; ++i) dz.elements[i] = adj(i);

      // dJ/dA and dJ/dB go straight into a leaf's gradient, or into a buffer handed back
      struct no_buffer {};
      [[maybe_unused]] std::conditional_t<need_a && !a_slot, value_t<A>, no_buffer> da;
      [[maybe_unused]] std::conditional_t<need_b && !b_slot, value_t<B>, no_buffer> db{};
      [[maybe_unused]] value_type* ga = nullptr;
      [[maybe_unused]] value_type* gb = nullptr;
      if constexpr (need_a && a_slot) ga = a.slot(sink);
      if constexpr (need_b && b_slot) gb = b.slot(sink);

      for (std::size_t i = 0; i < m; ++i) {
        value_type const* dzi = dz.elements + i * n;
        for (std::size_t p = 0; p < k; ++p) {
          if constexpr (need_a) {
            value_type s{};
            for (std::size_t j = 0; j < n; ++j) s += dzi[j] * detail::operand_at(b, c.b, p * n + j);
            if constexpr (a_slot) {
              ga[A::slot_index(i * k + p)] += s;
            } else {
              da.elements[i * k + p] = s;
            }
          }
          if constexpr (need_b) {
            value_type const aip = detail::operand_at(a, c.a, i * k + p);
            for (std::size_t j = 0; j < n; ++j) {
              if constexpr (b_slot) {
                gb[B::slot_index(p * n + j)] += aip * dzi[j];
              } else {
                db.elements[p * n + j] += aip * dzi[j];
              }
            }
          }
        }
      }
      if constexpr (need_a && !a_slot) {
        a.backward(
            c.a.c, [&](std::size_t i) { return da.elements[i]; }, sink);
      }
      if constexpr (need_b && !b_slot) {
        b.backward(
            c.b.c, [&](std::size_t i) { return db.elements[i]; }, sink);
      }
    }
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
