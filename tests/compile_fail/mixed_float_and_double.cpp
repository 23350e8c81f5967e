// SPDX-License-Identifier: BSL-1.0
// Mistake: multiplying float weights by a double input. propel never converts between scalar
// types silently: convert the data once, explicitly.
#include <propel/propel.hpp>

float check() {
  propel::mat<float, 2, 3> const w{};
#ifdef PROPEL_EXPECT_FAIL
  propel::vec<double, 3> const x{};
#else
  propel::vec<float, 3> const x{};
#endif
  auto const y = propel::evaluate(propel::variable<"W">(w) * propel::constant(x));
  return y[0];
}
