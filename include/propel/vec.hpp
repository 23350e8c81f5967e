// SPDX-License-Identifier: BSL-1.0
/// \file Defines propel::vec, a fixed-size vector.
#pragma once

#include <cstddef>
#include <propel/config.hpp>
#include <propel/detail/storage.hpp>
#include <propel/shape.hpp>
#include <span>

namespace propel {

/// A vector of N elements of T, stored inline without padding, trivially copyable and
/// usable in constant expressions. An aggregate: `vec<float, 3> v{1, 2, 3};` sets the
/// elements, `vec<float, 3> v{};` zeroes them, `vec<float, 3> v;` leaves them
/// uninitialised (like std::array).
/// \tparam T  float or double (any arithmetic type stores; the expression layer wants
///            floating point)
/// \tparam N  number of elements, > 0
template <class T, std::size_t N>
struct vec {
  static_assert(detail::check_scalar<T>::ok);
  static_assert(N > 0, "propel::vec: a vector needs at least one element");

  using value_type = T;
  using shape_type = shape<N>;
  static constexpr std::size_t extent = N;

  T elements[N > 0 ? N : 1];  // N == 0 is rejected above; no second error

  [[nodiscard]] static constexpr std::size_t size() noexcept { return N; }
  [[nodiscard]] constexpr T& operator[](std::size_t i) noexcept {
    PROPEL_ASSERT(i < N);
    return elements[i];
  }
  [[nodiscard]] constexpr T const& operator[](std::size_t i) const noexcept {
    PROPEL_ASSERT(i < N);
    return elements[i];
  }
  [[nodiscard]] constexpr T* data() noexcept { return elements; }
  [[nodiscard]] constexpr T const* data() const noexcept { return elements; }
  [[nodiscard]] constexpr T* begin() noexcept { return elements; }
  [[nodiscard]] constexpr T* end() noexcept { return elements + N; }
  [[nodiscard]] constexpr T const* begin() const noexcept { return elements; }
  [[nodiscard]] constexpr T const* end() const noexcept { return elements + N; }
  [[nodiscard]] constexpr std::span<T, N> span() noexcept { return std::span<T, N>(elements, N); }
  [[nodiscard]] constexpr std::span<T const, N> span() const noexcept {
    return std::span<T const, N>(elements, N);
  }

  /// Assigning a vector of another length or scalar type is a compile error.
  template <class U, std::size_t M>
  constexpr vec& operator=(vec<U, M> const&) noexcept {
    static_assert(detail::check_assign<shape<N>, shape<M>, T, U>::ok);
    return *this;
  }

  friend constexpr bool operator==(vec const&, vec const&) = default;
};

}  // namespace propel
