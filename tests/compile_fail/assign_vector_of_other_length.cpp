// SPDX-License-Identifier: BSL-1.0
// Mistake: assigning a vector of 4 elements to a vector of 3 (a copy of the wrong buffer).
#include <propel/propel.hpp>

float check() {
  propel::vec<float, 3> a{};
#ifdef PROPEL_EXPECT_FAIL
  propel::vec<float, 4> const b{1, 2, 3, 4};
#else
  propel::vec<float, 3> const b{1, 2, 3};
#endif
  a = b;
  return a[0];
}
