// SPDX-License-Identifier: BSL-1.0
/// \file Element-wise arithmetic on expressions: +, -, hadamard, scaling, negation, square.
#pragma once

#include <concepts>
#include <propel/expr/elementwise.hpp>
#include <type_traits>

namespace propel {

namespace ops {

struct add {
  template <class T>
  [[nodiscard]] constexpr T value(T a, T b) const noexcept {
    return a + b;
  }
  /// value on vectors (detail::vector_element_at): lane by lane the same operation.
  template <class V>
  [[nodiscard]] PROPEL_ALWAYS_INLINE V vector_value(V a, V b) const noexcept {
    return a + b;
  }
  template <class T>
  [[nodiscard]] constexpr T d_left(T, T) const noexcept {
    return T(1);
  }
  template <class T>
  [[nodiscard]] constexpr T d_right(T, T) const noexcept {
    return T(1);
  }
  /// d_left and d_right on vectors (the backward pass's vector form).
  template <class V>
  [[nodiscard]] PROPEL_ALWAYS_INLINE V vector_d_left(V a, V) const noexcept {
    using T = std::remove_cvref_t<decltype(a[0])>;
    return V{} + T(1);
  }
  template <class V>
  [[nodiscard]] PROPEL_ALWAYS_INLINE V vector_d_right(V a, V) const noexcept {
    using T = std::remove_cvref_t<decltype(a[0])>;
    return V{} + T(1);
  }
};

struct subtract {
  template <class T>
  [[nodiscard]] constexpr T value(T a, T b) const noexcept {
    return a - b;
  }
  /// value on vectors (detail::vector_element_at): lane by lane the same operation.
  template <class V>
  [[nodiscard]] PROPEL_ALWAYS_INLINE V vector_value(V a, V b) const noexcept {
    return a - b;
  }
  template <class T>
  [[nodiscard]] constexpr T d_left(T, T) const noexcept {
    return T(1);
  }
  template <class T>
  [[nodiscard]] constexpr T d_right(T, T) const noexcept {
    return T(-1);
  }
  /// d_left and d_right on vectors (the backward pass's vector form).
  template <class V>
  [[nodiscard]] PROPEL_ALWAYS_INLINE V vector_d_left(V a, V) const noexcept {
    using T = std::remove_cvref_t<decltype(a[0])>;
    return V{} + T(1);
  }
  template <class V>
  [[nodiscard]] PROPEL_ALWAYS_INLINE V vector_d_right(V a, V) const noexcept {
    using T = std::remove_cvref_t<decltype(a[0])>;
    return V{} - T(1);
  }
};

struct multiply {
  template <class T>
  [[nodiscard]] constexpr T value(T a, T b) const noexcept {
    return a * b;
  }
  /// value on vectors (detail::vector_element_at): lane by lane the same operation.
  template <class V>
  [[nodiscard]] PROPEL_ALWAYS_INLINE V vector_value(V a, V b) const noexcept {
    return a * b;
  }
  template <class T>
  [[nodiscard]] constexpr T d_left(T, T b) const noexcept {
    return b;
  }
  template <class T>
  [[nodiscard]] constexpr T d_right(T a, T) const noexcept {
    return a;
  }
  /// d_left and d_right on vectors (the backward pass's vector form).
  template <class V>
  [[nodiscard]] PROPEL_ALWAYS_INLINE V vector_d_left(V, V b) const noexcept {
    return b;
  }
  template <class V>
  [[nodiscard]] PROPEL_ALWAYS_INLINE V vector_d_right(V a, V) const noexcept {
    return a;
  }
};

/// x -> factor * x
template <class T>
struct scale {
  T factor;
  [[nodiscard]] constexpr T value(T x) const noexcept { return factor * x; }
  template <class V>
  [[nodiscard]] PROPEL_ALWAYS_INLINE V vector_value(V x) const noexcept {
    return factor * x;
  }
  [[nodiscard]] constexpr T derivative(T) const noexcept { return factor; }
  /// derivative on vectors: factor in every lane (factor - 0 is factor, -0 included).
  template <class V>
  [[nodiscard]] PROPEL_ALWAYS_INLINE V vector_derivative(V) const noexcept {
    return factor - V{};
  }
};

/// x -> x * x
struct square {
  template <class T>
  [[nodiscard]] constexpr T value(T x) const noexcept {
    return x * x;
  }
  template <class V>
  [[nodiscard]] PROPEL_ALWAYS_INLINE V vector_value(V x) const noexcept {
    return x * x;
  }
  template <class T>
  [[nodiscard]] constexpr T derivative(T x) const noexcept {
    return T(2) * x;
  }
  template <class V>
  [[nodiscard]] PROPEL_ALWAYS_INLINE V vector_derivative(V x) const noexcept {
    using T = std::remove_cvref_t<decltype(x[0])>;
    return T(2) * x;
  }
};

}  // namespace ops

/// Element-wise sum; a vector on the right is broadcast over the rows of a matrix.
template <Expression L, Expression R>
[[nodiscard]] constexpr binary_expr<ops::add, L, R> operator+(L const& l, R const& r) {
  return {{}, l, r};
}

/// Element-wise difference; a vector on the right is broadcast over the rows of a matrix.
template <Expression L, Expression R>
[[nodiscard]] constexpr binary_expr<ops::subtract, L, R> operator-(L const& l, R const& r) {
  return {{}, l, r};
}

/// Element-wise (Hadamard) product ⊙. `operator*` between expressions is the matrix product.
template <Expression L, Expression R>
[[nodiscard]] constexpr binary_expr<ops::multiply, L, R> hadamard(L const& l, R const& r) {
  return {{}, l, r};
}

/// Scaling by a number of the expression's scalar type (no silent float/double mixing).
template <Expression E>
[[nodiscard]] constexpr unary_expr<ops::scale<typename E::value_type>, E> operator*(
    typename E::value_type s, E const& e) {
  return {{s}, e};
}
template <Expression E>
[[nodiscard]] constexpr unary_expr<ops::scale<typename E::value_type>, E> operator*(
    E const& e, typename E::value_type s) {
  return {{s}, e};
}
template <Expression E>
[[nodiscard]] constexpr unary_expr<ops::scale<typename E::value_type>, E> operator/(
    E const& e, typename E::value_type s) {
  return {{typename E::value_type(1) / s}, e};
}
template <Expression E>
[[nodiscard]] constexpr unary_expr<ops::scale<typename E::value_type>, E> operator-(E const& e) {
  return {{typename E::value_type(-1)}, e};
}

/// Element-wise square.
template <Expression E>
[[nodiscard]] constexpr unary_expr<ops::square, E> square(E const& e) {
  return {{}, e};
}

}  // namespace propel
