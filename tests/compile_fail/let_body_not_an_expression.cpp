// SPDX-License-Identifier: BSL-1.0
// Mistake: a let body that returns a tensor instead of an expression over it.
#include <propel/propel.hpp>

float check() {
  propel::vec<float, 3> const x{};
  propel::vec<float, 3> const y{};
  auto const x_ = propel::variable<"x">(x);
#ifdef PROPEL_EXPECT_FAIL
  auto const shared = propel::let(x_, [&](auto const&) { return y; });
  using L = decltype(shared);
  return sizeof(L) > 0 ? 0.0f : 1.0f;
#else
  auto const shared = propel::let(x_, [&](auto const& h) { return h + propel::constant(y); });
  return propel::evaluate(shared)[0];
#endif
}
