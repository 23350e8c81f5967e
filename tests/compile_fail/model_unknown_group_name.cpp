// SPDX-License-Identifier: BSL-1.0
// Mistake: a forward that asks for a parameter group the model does not have ("fc2").
#include <propel/propel.hpp>

using namespace propel::literals;

struct forward {
  template <class P, class X>
  constexpr auto operator()(P const& p, X const& x) const {
#ifdef PROPEL_EXPECT_FAIL
    return p["fc2"_p](x);
#else
    return p["fc1"_p](x);
#endif
  }
};

void check() {
  propel::model<float, propel::input<2>, forward, propel::linear<"fc1", 3, 2>> net{};
  (void)net(propel::vec<float, 2>{});
}
