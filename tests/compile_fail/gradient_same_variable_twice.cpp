// SPDX-License-Identifier: BSL-1.0
// Mistake: naming the same variable twice in the list of gradient (a copy-paste slip).
#include <propel/propel.hpp>

float check() {
  propel::mat<float, 2, 3> const w{};
  propel::vec<float, 3> const x{};
  propel::vec<float, 2> const b{};
  auto const W = propel::variable<"W">(w);
  auto const B = propel::variable<"b">(b);
  auto const loss = propel::sum(W * propel::constant(x) + B);
#ifdef PROPEL_EXPECT_FAIL
  auto const [dw, db] = propel::gradient(loss, W, W);
#else
  auto const [dw, db] = propel::gradient(loss, W, B);
#endif
  return dw[0] + db[0];
}
