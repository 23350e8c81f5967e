// SPDX-License-Identifier: BSL-1.0
// Mistake: a tensor of bool (a mask). Tensors hold numbers: use 0 and 1 in a float tensor.
#include <propel/propel.hpp>

float check() {
#ifdef PROPEL_EXPECT_FAIL
  propel::vec<bool, 3> const mask{true, false, true};
  return mask[0] ? 1.0f : 0.0f;
#else
  propel::vec<float, 3> const mask{1, 0, 1};
  return mask[0];
#endif
}
