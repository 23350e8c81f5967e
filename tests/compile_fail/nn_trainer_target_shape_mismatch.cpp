// SPDX-License-Identifier: BSL-1.0
// Mistake: a trainer step on a batch of 8 samples with a target for one sample.
#include <propel/propel.hpp>

using net_t =
    propel::mlp<float, propel::input<3>, propel::dense<4, propel::relu>, propel::dense<2>>;

float check(net_t& net) {
  propel::trainer t{net, propel::huber{}, propel::adam{}, propel::batch<8>};
  propel::mat<float, 8, 3> const x{};
#ifdef PROPEL_EXPECT_FAIL
  propel::vec<float, 2> const y{};
#else
  propel::mat<float, 8, 2> const y{};
#endif
  return t.step(x, y);
}
