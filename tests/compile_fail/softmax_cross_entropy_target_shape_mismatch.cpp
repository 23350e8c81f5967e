// SPDX-License-Identifier: BSL-1.0
// Mistake: a one-hot target with fewer classes than the logits (4 entries for 5 classes).
#include <propel/propel.hpp>

float check() {
  propel::vec<float, 5> const logits{};
#ifdef PROPEL_EXPECT_FAIL
  propel::vec<float, 4> const one_hot{0, 0, 1, 0};
#else
  propel::vec<float, 5> const one_hot{0, 0, 1, 0, 0};
#endif
  auto const z = propel::variable<"z">(logits);
  auto const loss = propel::softmax_cross_entropy{}(z, one_hot);
  static_assert(propel::ScalarExpression<decltype(loss)>);
  return propel::evaluate(loss);
}
