// SPDX-License-Identifier: BSL-1.0
// Mistake: transposing a vector (to make a row vector). A vector has no transpose here; a
// vector is already the right operand of W * x, and a row vector is a 1 x N matrix.
#include <propel/propel.hpp>

float check() {
#ifdef PROPEL_EXPECT_FAIL
  propel::vec<float, 3> const x{};
#else
  propel::mat<float, 1, 3> const x{};
#endif
  auto const y = propel::evaluate(propel::transpose(propel::variable<"x">(x)));
  return y[0];
}
