// SPDX-License-Identifier: BSL-1.0
// Mistake: two parameter groups of one model called "fc".
#include <propel/propel.hpp>

using namespace propel::literals;

struct forward {
  template <class P, class X>
  constexpr auto operator()(P const& p, X const& x) const {
    return p["fc"_p](x);
  }
};

void check() {
#ifdef PROPEL_EXPECT_FAIL
  propel::model<float, propel::input<2>, forward, propel::linear<"fc", 3, 2>,
                propel::linear<"fc", 3, 3>>
      net{};
#else
  propel::model<float, propel::input<2>, forward, propel::linear<"fc", 3, 2>,
                propel::linear<"out", 3, 3>>
      net{};
#endif
  (void)net;
}
