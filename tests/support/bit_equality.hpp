// SPDX-License-Identifier: BSL-1.0
/// \file Test-only helpers for checking that two forms of a computation (a vector form and
/// its scalar twin) give the same bits: the bits of a number, bit equality up to which NaN,
/// and a grid of values of both signs.
#pragma once

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace bit_equality {

/// The bits of x.
template <class T>
auto bits(T x) {
  if constexpr (sizeof(T) == 4) {
    return std::bit_cast<std::uint32_t>(x);
  } else {
    return std::bit_cast<std::uint64_t>(x);
  }
}

/// The same bits, or both NaN: which NaN an operation on two NaNs returns (x86 returns the
/// first operand's, sign and payload) depends on the operand order the compiler picks for a
/// commutative operation, which neither form fixes (nor does IEEE 754, nor PyTorch).
template <class T>
bool same(T a, T b) {
  return bits(a) == bits(b) || (std::isnan(a) && std::isnan(b));
}

/// xs followed by the negation of each.
template <class T>
std::vector<T> both_signs(std::vector<T> xs) {
  std::size_t const n = xs.size();
  for (std::size_t i = 0; i < n; ++i) xs.push_back(-xs[i]);
  return xs;
}

}  // namespace bit_equality
