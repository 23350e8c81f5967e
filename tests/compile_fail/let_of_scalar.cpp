// SPDX-License-Identifier: BSL-1.0
// Mistake: sharing a scalar (a sum) with let: the local is a leaf, a vector or a matrix.
#include <propel/propel.hpp>

float check() {
  propel::vec<float, 3> const x{};
  auto const x_ = propel::variable<"x">(x);
#ifdef PROPEL_EXPECT_FAIL
  auto const shared = propel::let(propel::sum(x_), [](auto const& h) { return h; });
  using L = decltype(shared);
  return sizeof(L) > 0 ? 0.0f : 1.0f;
#else
  auto const shared = propel::let(x_ + x_, [](auto const& h) { return propel::sum(h); });
  return propel::evaluate(shared);
#endif
}
