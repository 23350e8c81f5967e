// SPDX-License-Identifier: BSL-1.0
// Mistake: a forward that applies a layer of 5 inputs to the 4 outputs of the previous one.
#include <propel/propel.hpp>

using namespace propel::literals;

struct forward {
  template <class P, class X>
  constexpr auto operator()(P const& p, X const& x) const {
    return p["out"_p](propel::apply(propel::relu{}, p["hidden"_p](x)));
  }
};

void check() {
#ifdef PROPEL_EXPECT_FAIL
  propel::model<float, propel::input<3>, forward, propel::linear<"hidden", 4, 3>,
                propel::linear<"out", 2, 5>>
      net{};
#else
  propel::model<float, propel::input<3>, forward, propel::linear<"hidden", 4, 3>,
                propel::linear<"out", 2, 4>>
      net{};
#endif
  (void)net(propel::vec<float, 3>{});
}
