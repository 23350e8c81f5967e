// SPDX-License-Identifier: BSL-1.0
// Mistake: quantizing a network with a tanh layer to int8 (int8 layers are identity or relu).
#include <propel/propel.hpp>

#ifdef PROPEL_EXPECT_FAIL
using net_t =
    propel::mlp<float, propel::input<3>, propel::dense<4, propel::tanh>, propel::dense<2>>;
#else
using net_t =
    propel::mlp<float, propel::input<3>, propel::dense<4, propel::relu>, propel::dense<2>>;
#endif

bool check(net_t const& net, propel::mat<float, 2, 3> const& samples) {
  return propel::quantize(net, samples).has_value();
}
