// SPDX-License-Identifier: BSL-1.0
// Mistake: joining the features of two batches with different numbers of samples (rows).
#include <propel/propel.hpp>

float check() {
  propel::mat<float, 4, 3> const a{};
#ifdef PROPEL_EXPECT_FAIL
  propel::mat<float, 5, 2> const b{};
#else
  propel::mat<float, 4, 2> const b{};
#endif
  auto const y = propel::evaluate(propel::concat(propel::variable<"a">(a), propel::constant(b)));
  return y(0, 0);
}
