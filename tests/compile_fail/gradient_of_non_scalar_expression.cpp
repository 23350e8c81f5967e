// SPDX-License-Identifier: BSL-1.0
// Mistake: differentiating a vector-valued expression (the output of a layer) instead of a
// scalar. Reduce it first with sum, mean or a loss.
#include <propel/propel.hpp>

float check() {
  propel::mat<float, 2, 3> const w{};
  propel::vec<float, 3> const x{};
  auto const W = propel::variable<"W">(w);
  auto const X = propel::constant(x);
#ifdef PROPEL_EXPECT_FAIL
  auto const [dw] = propel::gradient(W * X, W);
#else
  auto const [dw] = propel::gradient(propel::sum(W * X), W);
#endif
  return dw[0];
}
