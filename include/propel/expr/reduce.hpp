// SPDX-License-Identifier: BSL-1.0
/// \file Defines reduce_expr: `sum` and `mean` of every element of an expression.
#pragma once

#include <cstddef>
#include <propel/expr/detail/vector_elements.hpp>
#include <propel/expr/expression.hpp>

namespace propel {

/// The sum of every element of Arg, divided by `divisor` (1 for sum, the element count for mean).
/// The element-wise chain under it is evaluated inside the accumulation loop, block by block as its
/// producer delivers it: nothing is materialised.
template <Expression Arg>
struct reduce_expr {
  static_assert(detail::check_floating<typename Arg::value_type>::ok);
  static constexpr bool is_propel_expression = true;
  static constexpr bool is_direct = false;
  using value_type = typename Arg::value_type;
  using shape_type = shape<>;
  using leaf_ids = typename Arg::leaf_ids;
  struct cache_type {
    [[no_unique_address]] typename Arg::cache_type arg;
    value_type total;
  };
  struct scratch_type {
    [[no_unique_address]] typename Arg::scratch_type arg;
  };

  Arg arg;
  value_type divisor;

  template <class Epi>
  constexpr void forward(cache_type& c, Epi const& epi) const {
    value_type acc{};
    arg.forward(c.arg, [&](std::size_t begin, std::size_t end) {
      for (std::size_t i = begin; i < end; ++i) acc += arg.at(c.arg, i);
    });
    c.total = acc / divisor;
    epi(0, 1);
  }
  [[nodiscard]] constexpr value_type at(cache_type const& c, std::size_t) const { return c.total; }
  template <class Adj, class Sink>
  constexpr void backward(cache_type const& c, scratch_type& s, Adj const& adj, Sink& sink) const {
    if constexpr (detail::depends_on_v<Arg, Sink>) {
      value_type const d = adj(0) / divisor;
      auto const scalar = [d](std::size_t) { return d; };
#ifdef PROPEL_DETAIL_VECTOR_TYPES
      if constexpr (detail::vector_lanes < value_type >> 1) {
        // every element's derivative is d: its vector form is d in every lane
        arg.backward(c.arg, s.arg,
                     detail::with_vector{
                         scalar, [d](std::size_t, std::size_t) { return detail::simd_splat(d); }},
                     sink);
        return;
      }
#endif
      arg.backward(c.arg, s.arg, scalar, sink);
    }
  }
};

/// The sum of every element.
template <Expression E>
[[nodiscard]] constexpr reduce_expr<E> sum(E const& e) {
  return {e, typename E::value_type(1)};
}

/// The mean of every element.
template <Expression E>
[[nodiscard]] constexpr reduce_expr<E> mean(E const& e) {
  using T = typename E::value_type;
  return {e, static_cast<T>(E::shape_type::size)};
}

}  // namespace propel
