// SPDX-License-Identifier: BSL-1.0
// Mistake: generic code that computes a vector shape of 0 elements (here Features / 4 for 3
// features).
#include <cstddef>
#include <propel/propel.hpp>

template <std::size_t Features>
constexpr std::size_t hidden_size() {
  return propel::shape<Features / 4>::size;
}

std::size_t check() {
#ifdef PROPEL_EXPECT_FAIL
  return hidden_size<3>();
#else
  return hidden_size<8>();
#endif
}
