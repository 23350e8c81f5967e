// SPDX-License-Identifier: BSL-1.0
// Mistake: feeding a batch of samples of 4 features to a model built for 3 inputs.
#include <propel/propel.hpp>

using namespace propel::literals;

struct forward {
  template <class P, class X>
  constexpr auto operator()(P const& p, X const& x) const {
    return propel::tanh{}(p["fc"_p](x));
  }
};
using net_t = propel::model<float, propel::input<3>, forward, propel::linear<"fc", 2, 3>>;

float check(net_t const& net) {
#ifdef PROPEL_EXPECT_FAIL
  propel::mat<float, 2, 4> const x{};
#else
  propel::mat<float, 2, 3> const x{};
#endif
  return net(x)(0, 0);
}
