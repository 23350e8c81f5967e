// SPDX-License-Identifier: BSL-1.0
// Mistake: one loss for a model with two heads.
#include <propel/propel.hpp>
#include <tuple>

float check() {
  propel::mat<float, 3, 4> const x{};
  propel::mat<float, 2, 4> const wa{};
  propel::mat<float, 1, 4> const wc{};
  propel::mat<float, 3, 2> const ta{};
  propel::mat<float, 3, 1> const tv{};
  auto const wa_ = propel::variable<"wa">(wa);
  auto const wc_ = propel::variable<"wc">(wc);
  auto const out = propel::let(propel::constant(x), [=](auto const& h) {
    return propel::heads(h * propel::transpose(wa_), h * propel::transpose(wc_));
  });
#ifdef PROPEL_EXPECT_FAIL
  (void)tv;
  auto const targets = std::tuple{ta};
  auto const loss = propel::per_head{propel::mse{}}(out, targets);
#else
  auto const targets = std::tuple{ta, tv};
  auto const loss = propel::per_head{propel::mse{}, propel::mse{}}(out, targets);
#endif
  return propel::evaluate(loss);
}
