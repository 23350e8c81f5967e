// SPDX-License-Identifier: BSL-1.0
// Mistake: asking for the gradient with respect to a variable the expression does not use (here
// "b", although the loss was built from W only).
#include <propel/propel.hpp>

float check() {
  propel::mat<float, 2, 3> const w{};
  propel::vec<float, 3> const x{};
  propel::vec<float, 2> const b{};
  auto const W = propel::variable<"W">(w);
  auto const B = propel::variable<"b">(b);
  auto const X = propel::constant(x);
#ifdef PROPEL_EXPECT_FAIL
  auto const loss = propel::sum(W * X);
#else
  auto const loss = propel::sum(W * X + B);
#endif
  auto const [dw, db] = propel::gradient(loss, W, B);
  return dw[0] + db[0];
}
