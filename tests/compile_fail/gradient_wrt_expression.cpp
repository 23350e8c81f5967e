// SPDX-License-Identifier: BSL-1.0
// Mistake: asking for the gradient with respect to an intermediate expression (the
// pre-activation W x) instead of a variable. Differentiate with respect to the variables it is
// made of.
#include <propel/propel.hpp>

float check() {
  propel::mat<float, 2, 3> const w{};
  propel::vec<float, 3> const x{};
  auto const W = propel::variable<"W">(w);
  auto const z = W * propel::constant(x);
  auto const loss = propel::sum(propel::relu{}(z));
#ifdef PROPEL_EXPECT_FAIL
  auto const [dz] = propel::gradient(loss, z);
#else
  auto const [dz] = propel::gradient(loss, W);
#endif
  return dz[0];
}
