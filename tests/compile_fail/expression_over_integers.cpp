// SPDX-License-Identifier: BSL-1.0
// Mistake: building an expression over an int tensor. A vec<int, N> may hold data, but
// expressions (and their derivatives) need float or double.
#include <propel/propel.hpp>

float check() {
#ifdef PROPEL_EXPECT_FAIL
  propel::vec<int, 3> const x{1, 2, 3};
  return static_cast<float>(propel::evaluate(propel::sum(propel::variable<"x">(x))));
#else
  propel::vec<float, 3> const x{1, 2, 3};
  return propel::evaluate(propel::sum(propel::variable<"x">(x)));
#endif
}
