// SPDX-License-Identifier: BSL-1.0
/// \file A small portable random generator: the same bits on every platform and compiler.
#pragma once

#include <cstdint>

namespace propel::detail {

/// SplitMix64 (Steele, Lea, Flood 2014): a 64-bit state, one multiply-xorshift output.
/// Only integer arithmetic, so the stream is identical everywhere; no std distributions.
struct splitmix64 {
  std::uint64_t state;

  constexpr std::uint64_t next() noexcept {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, 1), from the top 53 bits: exact in double.
  constexpr double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  /// Uniform in [-a, a).
  constexpr double symmetric(double a) noexcept { return a * (2.0 * uniform() - 1.0); }
};

}  // namespace propel::detail
