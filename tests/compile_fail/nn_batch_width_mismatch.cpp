// SPDX-License-Identifier: BSL-1.0
// Mistake: running a network built for 3 input features on a batch whose rows hold 4
// features (8 samples, one per row).
#include <propel/propel.hpp>

using net_t =
    propel::mlp<float, propel::input<3>, propel::dense<5, propel::relu>, propel::dense<2>>;

propel::mat<float, 8, 2> check(net_t const& net) {
#ifdef PROPEL_EXPECT_FAIL
  propel::mat<float, 8, 4> const x{};
#else
  propel::mat<float, 8, 3> const x{};
#endif
  return net(x);
}
