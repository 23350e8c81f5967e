// SPDX-License-Identifier: BSL-1.0
// Mistake: using operator* to scale a matrix by a scalar expression (here a sum). operator*
// between expressions is the matrix product; scale by a number of the scalar type instead.
#include <propel/propel.hpp>

float check() {
  propel::mat<float, 2, 3> const w{};
  auto const W = propel::variable<"W">(w);
#ifdef PROPEL_EXPECT_FAIL
  propel::vec<float, 3> const x{};
  auto const y = propel::evaluate(W * propel::sum(propel::constant(x)));
#else
  auto const y = propel::evaluate(W * 2.0f);
#endif
  return y[0];
}
