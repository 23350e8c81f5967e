// SPDX-License-Identifier: BSL-1.0
/// \file Alignment and scalar checks shared by propel::vec and propel::mat.
#pragma once

#include <bit>
#include <cstddef>
#include <propel/config.hpp>
#include <type_traits>

namespace propel::detail {

/// Alignment of a tensor of N elements of T: SIMD-friendly for big tensors, no padding
/// for small ones (a vec<float, 2> stays 8 bytes).
template <class T, std::size_t N>
inline constexpr std::size_t storage_alignment = [] {
  std::size_t const bytes = std::bit_floor(N * sizeof(T));
  std::size_t const capped = bytes < PROPEL_MAX_ALIGN ? bytes : std::size_t{PROPEL_MAX_ALIGN};
  return capped < alignof(T) ? alignof(T) : capped;
}();

template <class T>
struct check_scalar {
  static_assert(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>,
                "propel: the scalar type of a tensor must be an arithmetic type such as float "
                "or double");
  static constexpr bool ok = true;
};

}  // namespace propel::detail
