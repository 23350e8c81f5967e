// SPDX-License-Identifier: BSL-1.0
// Mistake: then on a tensor rather than on an expression or heads.
#include <propel/propel.hpp>

float check() {
  propel::vec<float, 3> const x{};
  auto const total = [](auto const& e) { return propel::sum(e); };
#ifdef PROPEL_EXPECT_FAIL
  auto const y = propel::then(x, total);
  (void)y;
  return 0;
#else
  return propel::evaluate(propel::then(propel::constant(x), total));
#endif
}
