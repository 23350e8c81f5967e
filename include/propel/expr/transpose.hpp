// SPDX-License-Identifier: BSL-1.0
/// \file Defines transpose_expr, the transpose of a matrix expression (a view: no copy).
#pragma once

#include <cstddef>
#include <propel/expr/expression.hpp>

namespace propel {

namespace detail {
template <class S>
struct check_transpose {
  static_assert(S::rank == 2,
                "propel: transpose needs a matrix expression; a vector has no transpose here "
                "(see the propel::shape argument of check_transpose)");
  static constexpr bool ok = true;
};
}  // namespace detail

/// The transpose of a matrix expression: element (r, c) is element (c, r) of Arg.
template <Expression Arg>
struct transpose_expr {
  static_assert(detail::check_transpose<typename Arg::shape_type>::ok);
  static constexpr bool is_propel_expression = true;
  static constexpr bool is_direct = Arg::is_direct;  // a view of memory stays a view
  static constexpr std::size_t in_rows = Arg::shape_type::rows;
  static constexpr std::size_t in_cols = Arg::shape_type::cols;
  using value_type = typename Arg::value_type;
  using shape_type = shape<in_cols, in_rows>;
  using leaf_ids = typename Arg::leaf_ids;
  struct cache_type {
    [[no_unique_address]] typename Arg::cache_type arg;
  };
  struct scratch_type {
    [[no_unique_address]] typename Arg::scratch_type arg;
  };

  Arg arg;

  /// Flat index in Arg of flat index i of the transpose.
  [[nodiscard]] static constexpr std::size_t source(std::size_t i) noexcept {
    return (i % in_rows) * in_cols + i / in_rows;
  }
  template <class Epi>
  constexpr void forward(cache_type& c, Epi const& epi) const {
    arg.forward(c.arg, detail::no_epilogue{});
    epi(0, shape_type::size);
  }
  [[nodiscard]] constexpr value_type at(cache_type const& c, std::size_t i) const {
    return arg.at(c.arg, source(i));
  }
  template <class Adj, class Sink>
  constexpr void backward(cache_type const& c, scratch_type& s, Adj const& adj, Sink& sink) const {
    if constexpr (detail::depends_on_v<Arg, Sink>) {
      // element j of Arg is element (j % in_cols) * in_rows + j / in_cols of the transpose
      arg.backward(
          c.arg, s.arg, [&](std::size_t j) { return adj((j % in_cols) * in_rows + j / in_cols); },
          sink);
    }
  }

  template <class Sink>
  static constexpr bool writes_slot = detail::writes_slot_v<Arg, Sink>;
  template <class Sink>
  [[nodiscard]] constexpr decltype(auto) writer(Sink& sink) const {
    return arg.writer(sink);
  }
  [[nodiscard]] static constexpr std::size_t slot_index(std::size_t i) noexcept {
    return Arg::slot_index(source(i));
  }
};

/// The transpose of a matrix expression.
template <Expression E>
[[nodiscard]] constexpr transpose_expr<E> transpose(E const& e) {
  return {e};
}

}  // namespace propel
