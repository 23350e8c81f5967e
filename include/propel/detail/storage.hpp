// SPDX-License-Identifier: BSL-1.0
/// \file Alignment and scalar checks shared by propel::vec and propel::mat.
#pragma once

#include <cstddef>
#include <propel/config.hpp>
#include <type_traits>

namespace propel::detail {

/// Alignment of the blocks propel owns (an mlp's parameters, gradients, optimizer state).
/// vec and mat themselves are aligned like their elements, so that consecutive tensors
/// (W0, b0, W1, ...) pack without padding into one contiguous, PyTorch-ordered block.
inline constexpr std::size_t block_alignment = PROPEL_MAX_ALIGN;

template <class T>
struct check_scalar {
  static_assert(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>,
                "propel: the scalar type of a tensor must be an arithmetic type such as float "
                "or double");
  static constexpr bool ok = true;
};

/// Only reached for a shape or scalar type that differs: the same type uses the implicit
/// copy assignment.
template <class To, class From, class T, class U>
struct check_assign {
  static_assert(sizeof(To) == 0,
                "propel: cannot assign a tensor of another shape or scalar type (the arguments "
                "of check_assign are <target shape, source shape, target scalar, source "
                "scalar>)");
  static constexpr bool ok = true;
};

}  // namespace propel::detail
