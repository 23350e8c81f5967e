// SPDX-License-Identifier: BSL-1.0
// Mistake: two losses for two heads, but one target.
#include <propel/propel.hpp>
#include <tuple>

float check() {
  propel::vec<float, 2> const a{};
  propel::vec<float, 1> const v{};
  propel::vec<float, 2> const ta{};
  propel::vec<float, 1> const tv{};
  auto const out = propel::heads(propel::variable<"a">(a), propel::variable<"v">(v));
#ifdef PROPEL_EXPECT_FAIL
  (void)tv;
  auto const targets = std::tuple{ta};
#else
  auto const targets = std::tuple{ta, tv};
#endif
  auto const loss = propel::per_head{propel::mse{}, propel::mse{}}(out, targets);
  return propel::evaluate(loss);
}
