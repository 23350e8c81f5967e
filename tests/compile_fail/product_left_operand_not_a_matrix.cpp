// SPDX-License-Identifier: BSL-1.0
// Mistake: writing x * W (row-vector habit) with a vector on the left of operator*. The left
// operand of a product must be a matrix: multiply by the transpose instead.
#include <propel/propel.hpp>

float check() {
  propel::mat<float, 3, 2> const w{};
  propel::vec<float, 3> const x{};
  auto const W = propel::variable<"W">(w);
  auto const X = propel::constant(x);
#ifdef PROPEL_EXPECT_FAIL
  auto const y = propel::evaluate(X * W);
#else
  auto const y = propel::evaluate(propel::transpose(W) * X);
#endif
  return y[0];
}
