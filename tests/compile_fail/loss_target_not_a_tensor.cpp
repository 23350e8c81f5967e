// SPDX-License-Identifier: BSL-1.0
// Mistake: passing the targets of a loss as a std::array. A target is an expression, a
// propel::vec or a propel::mat.
#include <array>
#include <propel/propel.hpp>

float check() {
  propel::vec<float, 3> const pred{};
#ifdef PROPEL_EXPECT_FAIL
  std::array<float, 3> const target{1, 2, 3};
#else
  propel::vec<float, 3> const target{1, 2, 3};
#endif
  auto const p = propel::variable<"p">(pred);
  return propel::evaluate(propel::mse{}(p, target));
}
