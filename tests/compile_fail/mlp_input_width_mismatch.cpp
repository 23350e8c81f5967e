// SPDX-License-Identifier: BSL-1.0
// Mistake: feeding a sample of 4 features to a network built for 3 inputs.
#include <propel/propel.hpp>

using net_t =
    propel::mlp<float, propel::input<3>, propel::dense<8, propel::relu>, propel::dense<2>>;

float check(net_t const& net) {
#ifdef PROPEL_EXPECT_FAIL
  propel::vec<float, 4> const x{};
#else
  propel::vec<float, 3> const x{};
#endif
  return net(x)[0];
}
