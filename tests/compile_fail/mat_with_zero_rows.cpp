// SPDX-License-Identifier: BSL-1.0
// Mistake: a matrix with no rows (an empty batch).
#include <propel/propel.hpp>

float check() {
#ifdef PROPEL_EXPECT_FAIL
  propel::mat<float, 0, 3> const m{};
#else
  propel::mat<float, 1, 3> const m{};
#endif
  return m.data()[0];
}
