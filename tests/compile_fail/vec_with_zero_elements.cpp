// SPDX-License-Identifier: BSL-1.0
// Mistake: a vector of 0 elements (an empty feature list, a size computed as 0).
#include <propel/propel.hpp>

float check() {
#ifdef PROPEL_EXPECT_FAIL
  propel::vec<float, 0> const v{};
#else
  propel::vec<float, 1> const v{};
#endif
  return v.data()[0];
}
