// SPDX-License-Identifier: BSL-1.0
// Mistake: generic code that computes a matrix shape with no rows (here a batch of
// Samples / BatchSize rows for fewer samples than one batch).
#include <cstddef>
#include <propel/propel.hpp>

template <std::size_t Samples, std::size_t BatchSize, std::size_t Features>
constexpr std::size_t batch_elements() {
  return propel::shape<Samples / BatchSize, Features>::size;
}

std::size_t check() {
#ifdef PROPEL_EXPECT_FAIL
  return batch_elements<10, 32, 3>();
#else
  return batch_elements<64, 32, 3>();
#endif
}
