// SPDX-License-Identifier: BSL-1.0
/// \file Defines propel::tensor_t, the value type (scalar, vec or mat) of a shape.
#pragma once

#include <cstddef>
#include <propel/mat.hpp>
#include <propel/shape.hpp>
#include <propel/vec.hpp>
#include <type_traits>

namespace propel {

namespace detail {
template <class T, class S>
struct tensor_for;
template <class T>
struct tensor_for<T, shape<>> {
  using type = T;
};
template <class T, std::size_t N>
struct tensor_for<T, shape<N>> {
  using type = vec<T, N>;
};
template <class T, std::size_t R, std::size_t C>
struct tensor_for<T, shape<R, C>> {
  using type = mat<T, R, C>;
};

/// Flat element access that works for a scalar as well as for vec and mat.
template <class V>
constexpr auto& flat(V& v, std::size_t i) noexcept {
  if constexpr (std::is_arithmetic_v<V>) {
    (void)i;
    return v;
  } else {
    return v.elements[i];
  }
}
}  // namespace detail

/// The tensor type that holds values of scalar T in shape S: T for shape<>, vec<T, N> for
/// shape<N>, mat<T, R, C> for shape<R, C>.
template <class T, class S>
using tensor_t = typename detail::tensor_for<T, S>::type;

}  // namespace propel
