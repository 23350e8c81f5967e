// SPDX-License-Identifier: BSL-1.0
// Mistake: adding two vectors of different lengths.
#include <propel/propel.hpp>

float check() {
  propel::vec<float, 3> const a{};
#ifdef PROPEL_EXPECT_FAIL
  propel::vec<float, 4> const b{};
#else
  propel::vec<float, 3> const b{};
#endif
  auto const y = propel::evaluate(propel::variable<"a">(a) + propel::constant(b));
  return y[0];
}
