// SPDX-License-Identifier: BSL-1.0
// Mistake: adding a bias to a batch of 4 samples with 3 features each, with the bias as long as
// the batch (4) instead of as long as a row (3).
#include <propel/propel.hpp>

float check() {
  propel::mat<float, 4, 3> const batch{};
#ifdef PROPEL_EXPECT_FAIL
  propel::vec<float, 4> const bias{};
#else
  propel::vec<float, 3> const bias{};
#endif
  auto const y = propel::evaluate(propel::constant(batch) + propel::variable<"b">(bias));
  return y[0];
}
