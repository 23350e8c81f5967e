// SPDX-License-Identifier: BSL-1.0
// Mistake: giving a single int label for a batch of logits (one row per sample). A batch needs
// one label per row, as std::array<int, rows>.
#include <array>
#include <propel/propel.hpp>

float check() {
  propel::mat<float, 4, 5> const logits{};
  auto const z = propel::variable<"z">(logits);
#ifdef PROPEL_EXPECT_FAIL
  int const label = 2;
#else
  std::array<int, 4> const label{2, 2, 2, 2};
#endif
  return propel::evaluate(propel::softmax_cross_entropy{}(z, label));
}
