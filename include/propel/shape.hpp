// SPDX-License-Identifier: BSL-1.0
/// \file Defines propel::shape, the compile-time shape of every tensor and expression.
#pragma once

#include <cstddef>

namespace propel {

/// The static shape of a tensor or an expression: `shape<>` is a scalar, `shape<N>` a
/// vector of N elements, `shape<R, C>` a row-major R x C matrix (a batch is one sample per
/// row). Every shape exposes its rank, its rows and columns (a vector is N x 1, a scalar
/// 1 x 1) and its element count.
template <std::size_t... Dims>
struct shape;

template <>
struct shape<> {
  static constexpr std::size_t rank = 0;
  static constexpr std::size_t rows = 1;
  static constexpr std::size_t cols = 1;
  static constexpr std::size_t size = 1;
};

template <std::size_t N>
struct shape<N> {
  static_assert(N > 0, "propel::shape: a vector needs at least one element");
  static constexpr std::size_t rank = 1;
  static constexpr std::size_t rows = N;
  static constexpr std::size_t cols = 1;
  static constexpr std::size_t size = N;
};

template <std::size_t R, std::size_t C>
struct shape<R, C> {
  static_assert(R > 0 && C > 0, "propel::shape: a matrix needs at least one row and one column");
  static constexpr std::size_t rank = 2;
  static constexpr std::size_t rows = R;
  static constexpr std::size_t cols = C;
  static constexpr std::size_t size = R * C;
};

namespace detail {
template <class S>
inline constexpr bool is_shape_v = false;
template <std::size_t... D>
inline constexpr bool is_shape_v<shape<D...>> = true;
}  // namespace detail

/// A propel::shape.
template <class S>
concept Shape = detail::is_shape_v<S>;

}  // namespace propel
