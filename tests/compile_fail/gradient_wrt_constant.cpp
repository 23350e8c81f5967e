// SPDX-License-Identifier: BSL-1.0
// Mistake: asking for the gradient with respect to a constant. Bind the tensor with
// propel::variable to differentiate with respect to it.
#include <propel/propel.hpp>

float check() {
  propel::vec<float, 3> const x{};
#ifdef PROPEL_EXPECT_FAIL
  auto const X = propel::constant(x);
#else
  auto const X = propel::variable<"x">(x);
#endif
  auto const [dx] = propel::gradient(propel::sum(propel::square(X)), X);
  return dx[0];
}
