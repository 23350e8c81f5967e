// SPDX-License-Identifier: BSL-1.0
// Mistake: the element-wise product of a 2 x 3 and a 3 x 2 matrix. hadamard needs operands of
// one shape; transpose one of them if that is what was meant.
#include <propel/propel.hpp>

float check() {
  propel::mat<float, 2, 3> const a{};
  propel::mat<float, 3, 2> const b{};
  auto const A = propel::variable<"A">(a);
  auto const B = propel::constant(b);
#ifdef PROPEL_EXPECT_FAIL
  auto const y = propel::evaluate(propel::hadamard(A, B));
#else
  auto const y = propel::evaluate(propel::hadamard(A, propel::transpose(B)));
#endif
  return y[0];
}
