// SPDX-License-Identifier: BSL-1.0
// Mistake: multiplying a 2 x 3 matrix by a vector of 4 elements. W * x needs x to have as many
// elements as W has columns.
#include <propel/propel.hpp>

float check() {
  propel::mat<float, 2, 3> const w{};
#ifdef PROPEL_EXPECT_FAIL
  propel::vec<float, 4> const x{};
#else
  propel::vec<float, 3> const x{};
#endif
  auto const y = propel::evaluate(propel::variable<"W">(w) * propel::constant(x));
  return y[0];
}
