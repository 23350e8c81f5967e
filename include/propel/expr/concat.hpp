// SPDX-License-Identifier: BSL-1.0
/// \file Defines concat_expr: two expressions side by side along the feature dimension.
#pragma once

#include <cstddef>
#include <propel/expr/expression.hpp>
#include <type_traits>

namespace propel {

namespace detail {

template <class A, class B>
struct check_concat_shapes {
  static_assert((A::rank == 1 && B::rank == 1) ||
                    (A::rank == 2 && B::rank == 2 && A::rows == B::rows),
                "propel::concat: join two vectors, or two matrices with the same number of rows "
                "(one sample per row), along the features (see the two propel::shape arguments "
                "of check_concat_shapes)");
  static constexpr bool ok = true;
};

/// The number of features of a vector (its size) or of a matrix (its columns).
template <class S>
inline constexpr std::size_t features_v = S::rank == 2 ? S::cols : S::size;

template <class A, class B>
using concat_shape_t = std::conditional_t<A::rank == 1, shape<A::size + B::size>,
                                          shape<A::rows, features_v<A> + features_v<B>>>;

}  // namespace detail

/// A's features followed by B's: vec<N>, vec<M> → vec<N + M>; mat<R, N>, mat<R, M> →
/// mat<R, N + M>, row r being row r of A then row r of B (torch.cat(dim=-1)). It owns no
/// buffer: element i is read from the operand it comes from, and its derivative is handed
/// back to that operand's part of the incoming derivative.
template <Expression A, Expression B>
struct concat_expr {
  static_assert(detail::check_same_scalar<typename A::value_type, typename B::value_type>::ok);
  static_assert(detail::check_concat_shapes<typename A::shape_type, typename B::shape_type>::ok);

  static constexpr bool is_propel_expression = true;
  static constexpr bool is_direct = false;
  static constexpr bool matrix = A::shape_type::rank == 2;
  static constexpr std::size_t na = detail::features_v<typename A::shape_type>;
  static constexpr std::size_t nb = detail::features_v<typename B::shape_type>;
  static constexpr std::size_t n = na + nb;
  using value_type = typename A::value_type;
  using shape_type = detail::concat_shape_t<typename A::shape_type, typename B::shape_type>;
  using leaf_ids = detail::concat_t<typename A::leaf_ids, typename B::leaf_ids>;
  struct cache_type {
    [[no_unique_address]] typename A::cache_type a;
    [[no_unique_address]] typename B::cache_type b;
  };
  struct scratch_type {
    [[no_unique_address]] typename A::scratch_type a;
    [[no_unique_address]] typename B::scratch_type b;
  };

  A a;
  B b;

  template <class Epi>
  constexpr void forward(cache_type& c, Epi const& epi) const {
    a.forward(c.a, detail::no_epilogue{});
    b.forward(c.b, detail::no_epilogue{});
    epi(0, shape_type::size);
  }
  [[nodiscard]] constexpr value_type at_rc(cache_type const& c, std::size_t row,
                                           std::size_t col) const {
    if constexpr (matrix) {
      return col < na ? detail::element_at(a, c.a, row, col)
                      : detail::element_at(b, c.b, row, col - na);
    } else {
      return col < na ? a.at(c.a, col) : b.at(c.b, col - na);
    }
  }
  [[nodiscard]] constexpr value_type at(cache_type const& c, std::size_t i) const {
    return at_rc(c, i / n, i % n);
  }
  template <class Adj, class Sink>
  constexpr void backward(cache_type const& c, scratch_type& s, Adj const& adj, Sink& sink) const {
    if constexpr (detail::depends_on_v<A, Sink>) {
      a.backward(
          c.a, s.a, [&](std::size_t i) { return adj((i / na) * n + i % na); }, sink);
    }
    if constexpr (detail::depends_on_v<B, Sink>) {
      b.backward(
          c.b, s.b, [&](std::size_t i) { return adj((i / nb) * n + na + i % nb); }, sink);
    }
  }
};

/// Joins two expressions along the features (the last dimension): two vectors, or two
/// matrices with one sample per row and the same number of rows. Any other pair of shapes is
/// a compile error naming both.
template <Expression A, Expression B>
[[nodiscard]] constexpr concat_expr<A, B> concat(A const& a, B const& b) {
  return {a, b};
}

}  // namespace propel
