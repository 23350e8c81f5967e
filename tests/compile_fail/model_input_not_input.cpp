// SPDX-License-Identifier: BSL-1.0
// Mistake: giving a model's input as a number of features in another type than
// propel::input<N>.
#include <propel/propel.hpp>

using namespace propel::literals;

struct forward {
  template <class P, class X>
  constexpr auto operator()(P const& p, X const& x) const {
    return p["fc"_p](x);
  }
};

#ifdef PROPEL_EXPECT_FAIL
using net_t = propel::model<float, propel::dense<3>, forward, propel::linear<"fc", 2, 3>>;
#else
using net_t = propel::model<float, propel::input<3>, forward, propel::linear<"fc", 2, 3>>;
#endif

std::size_t check() { return sizeof(net_t); }
