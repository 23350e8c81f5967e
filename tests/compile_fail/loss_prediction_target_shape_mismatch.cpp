// SPDX-License-Identifier: BSL-1.0
// Mistake: a mean squared error between predictions for a batch (4 x 2) and targets given as the
// transposed layout (2 x 4).
#include <propel/propel.hpp>

float check() {
  propel::mat<float, 4, 2> const pred{};
#ifdef PROPEL_EXPECT_FAIL
  propel::mat<float, 2, 4> const target{};
#else
  propel::mat<float, 4, 2> const target{};
#endif
  auto const p = propel::variable<"p">(pred);
  return propel::evaluate(propel::mse{}(p, target));
}
