// SPDX-License-Identifier: BSL-1.0
/// \file Defines the leaves of an expression: variables and constants bound to tensors.
#pragma once

#include <algorithm>
#include <cstddef>
#include <propel/expr/detail/vector_elements.hpp>
#include <propel/expr/expression.hpp>
#include <propel/mat.hpp>
#include <propel/vec.hpp>

namespace propel {

/// A compile-time string, the name of a variable: `variable<"W">(w)`.
template <std::size_t N>
struct fixed_string {
  char chars[N]{};
  constexpr fixed_string(char const (&s)[N]) noexcept { std::copy_n(s, N, chars); }
  constexpr bool operator==(fixed_string const&) const = default;
};

/// The identity of the variable called Name. Two leaves with the same identity are the
/// same variable: their derivatives add up.
template <fixed_string Name>
struct named {};

namespace detail {
template <class V>
inline constexpr bool is_tensor_v = false;
template <class T, std::size_t N>
inline constexpr bool is_tensor_v<vec<T, N>> = true;
template <class T, std::size_t R, std::size_t C>
inline constexpr bool is_tensor_v<mat<T, R, C>> = true;
}  // namespace detail

/// A propel::vec or propel::mat.
template <class V>
concept Tensor = detail::is_tensor_v<std::remove_cv_t<V>>;

/// A leaf of an expression: a view of a vec or mat that lives elsewhere (the leaf holds a
/// pointer, so the tensor must outlive the expression).
/// \tparam Id  the variable's identity (propel::named<"W">, or a type of the caller's), or
///             void for a constant, which is never differentiated
/// \tparam V   the propel::vec or propel::mat it reads
template <class Id, Tensor V>
struct leaf {
  static_assert(detail::check_floating<typename V::value_type>::ok);
  static constexpr bool is_propel_expression = true;
  static constexpr bool is_direct = true;  // element i is a load from memory
  using value_type = typename V::value_type;
  using shape_type = typename V::shape_type;
  using id = Id;
  using leaf_ids =
      std::conditional_t<std::is_void_v<Id>, detail::type_list<>, detail::type_list<Id>>;
  struct cache_type {};
  struct scratch_type {};

  V const* data;

  template <class Epi>
  constexpr void forward(cache_type&, Epi const& epi) const {
    epi(0, shape_type::size);
  }
  [[nodiscard]] constexpr value_type at(cache_type const&, std::size_t i) const {
    return data->elements[i];
  }
  template <class Adj, class Sink>
  constexpr void backward(cache_type const&, scratch_type&, Adj const& adj, Sink& sink) const {
    if constexpr (writes_slot<Sink>) {
      auto const& write = detail::slot_writer<Id>(sink);
      if constexpr (detail::has_vector_adjoint_v<Adj, value_type>) {
        // the whole derivative as one block, a vector at a time where the writer's block
        // reads the adjoint's vector form (an optimizer's fused update)
        constexpr std::size_t cols = detail::walk_cols_v<shape_type>;
        detail::write_block<detail::walk_rows_v<shape_type>, cols>(
            write, 0,
            detail::with_vector{[&](std::size_t r, std::size_t c) { return adj(r * cols + c); },
                                [&](std::size_t r, std::size_t c) { return adj.vector(r, c); }});
      } else {
        for (std::size_t i = 0; i < shape_type::size; ++i) write(i, adj(i));
      }
    }
  }

  /// Whether this leaf has a gradient slot in Sink, which a product may then fill directly
  /// (element i of the leaf is element slot_index(i) of the slot).
  template <class Sink>
  static constexpr bool writes_slot = detail::contains_v<typename Sink::ids, Id>;
  /// How a product delivers this leaf's derivative to Sink (see detail::slot_writer).
  template <class Sink>
  [[nodiscard]] constexpr decltype(auto) writer(Sink& sink) const {
    return detail::slot_writer<Id>(sink);
  }
  [[nodiscard]] static constexpr std::size_t slot_index(std::size_t i) noexcept { return i; }
};

/// A variable called Name bound to `v`: `gradient` can differentiate with respect to it.
template <fixed_string Name, Tensor V>
[[nodiscard]] constexpr leaf<named<Name>, V> variable(V const& v) noexcept {
  return {&v};
}
template <fixed_string Name, Tensor V>
void variable(V const&&) = delete;  // the leaf would outlive the temporary

/// A variable whose identity is the type Id (for code that generates variables).
template <class Id, Tensor V>
[[nodiscard]] constexpr leaf<Id, V> variable_of(V const& v) noexcept {
  return {&v};
}

/// A constant bound to `v`: it takes part in the value, never in a gradient.
template <Tensor V>
[[nodiscard]] constexpr leaf<void, V> constant(V const& v) noexcept {
  return {&v};
}
template <Tensor V>
void constant(V const&&) = delete;  // the leaf would outlive the temporary

}  // namespace propel
