// SPDX-License-Identifier: BSL-1.0
/// \file Defines propel::mat, a fixed-size row-major matrix.
#pragma once

#include <cstddef>
#include <propel/config.hpp>
#include <propel/detail/storage.hpp>
#include <propel/shape.hpp>
#include <span>

namespace propel {

/// An R x C matrix of T, row-major, stored inline without padding, trivially copyable and
/// usable in constant expressions. `m(r, c)` is row r, column c; `m[i]` is the i-th
/// element in memory order. A batch of samples is a matrix with one sample per row.
/// Initialisation as for propel::vec: `mat<float, 2, 2> m{1, 2, 3, 4};` is row by row.
/// \tparam T  float or double
/// \tparam R  rows, > 0
/// \tparam C  columns, > 0
template <class T, std::size_t R, std::size_t C>
struct mat {
  static_assert(detail::check_scalar<T>::ok);
  static_assert(R > 0 && C > 0, "propel::mat: a matrix needs at least one row and one column");

  using value_type = T;
  using shape_type = shape<R, C>;
  static constexpr std::size_t rows = R;
  static constexpr std::size_t cols = C;

  T elements[R * C > 0 ? R* C : 1];  // 0 is rejected above; no second error

  [[nodiscard]] static constexpr std::size_t size() noexcept { return R * C; }
  [[nodiscard]] constexpr T& operator()(std::size_t r, std::size_t c) noexcept {
    PROPEL_ASSERT(r < R && c < C);
    return elements[r * C + c];
  }
  [[nodiscard]] constexpr T const& operator()(std::size_t r, std::size_t c) const noexcept {
    PROPEL_ASSERT(r < R && c < C);
    return elements[r * C + c];
  }
  [[nodiscard]] constexpr T& operator[](std::size_t i) noexcept {
    PROPEL_ASSERT(i < R * C);
    return elements[i];
  }
  [[nodiscard]] constexpr T const& operator[](std::size_t i) const noexcept {
    PROPEL_ASSERT(i < R * C);
    return elements[i];
  }
  /// Row r as a span of C elements.
  [[nodiscard]] constexpr std::span<T, C> row(std::size_t r) noexcept {
    PROPEL_ASSERT(r < R);
    return std::span<T, C>(elements + r * C, C);
  }
  [[nodiscard]] constexpr std::span<T const, C> row(std::size_t r) const noexcept {
    PROPEL_ASSERT(r < R);
    return std::span<T const, C>(elements + r * C, C);
  }
  [[nodiscard]] constexpr T* data() noexcept { return elements; }
  [[nodiscard]] constexpr T const* data() const noexcept { return elements; }
  [[nodiscard]] constexpr T* begin() noexcept { return elements; }
  [[nodiscard]] constexpr T* end() noexcept { return elements + R * C; }
  [[nodiscard]] constexpr T const* begin() const noexcept { return elements; }
  [[nodiscard]] constexpr T const* end() const noexcept { return elements + R * C; }
  [[nodiscard]] constexpr std::span<T, R * C> span() noexcept {
    return std::span<T, R * C>(elements, R * C);
  }
  [[nodiscard]] constexpr std::span<T const, R * C> span() const noexcept {
    return std::span<T const, R * C>(elements, R * C);
  }

  /// Assigning a matrix of another shape or scalar type is a compile error.
  template <class U, std::size_t R2, std::size_t C2>
  constexpr mat& operator=(mat<U, R2, C2> const&) noexcept {
    static_assert(detail::check_assign<shape<R, C>, shape<R2, C2>, T, U>::ok);
    return *this;
  }

  friend constexpr bool operator==(mat const&, mat const&) = default;
};

}  // namespace propel
