// SPDX-License-Identifier: BSL-1.0
// Mistake: giving 3 labels for a batch of 4 samples (logits with 4 rows).
#include <array>
#include <propel/propel.hpp>

float check() {
  propel::mat<float, 4, 5> const logits{};
#ifdef PROPEL_EXPECT_FAIL
  std::array<int, 3> const labels{0, 1, 2};
#else
  std::array<int, 4> const labels{0, 1, 2, 3};
#endif
  auto const z = propel::variable<"z">(logits);
  return propel::evaluate(propel::softmax_cross_entropy{}(z, labels));
}
