// SPDX-License-Identifier: BSL-1.0
// Mistake: training a model with two heads under one loss: the trainer cannot tell what the
// targets of each head are. Give one loss per head with propel::per_head.
#include <propel/propel.hpp>
#include <tuple>

using namespace propel::literals;

struct forward {
  template <class P, class X>
  constexpr auto operator()(P const& p, X const& x) const {
    return propel::heads(p["a"_p](x), p["b"_p](x));
  }
};
using net_t = propel::model<float, propel::input<3>, forward, propel::linear<"a", 2, 3>,
                            propel::linear<"b", 1, 3>>;

float check(net_t& net) {
  propel::vec<float, 3> const x{};
  auto const targets = std::tuple{propel::vec<float, 2>{}, propel::vec<float, 1>{}};
#ifdef PROPEL_EXPECT_FAIL
  propel::trainer t{net, propel::mse{}, propel::sgd{.lr = 0.1f}};
#else
  propel::trainer t{net, propel::per_head{propel::mse{}, propel::mse{}}, propel::sgd{.lr = 0.1f}};
#endif
  return t.step(x, targets);
}
