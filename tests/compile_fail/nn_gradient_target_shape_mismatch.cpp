// SPDX-License-Identifier: BSL-1.0
// Mistake: regression targets with 3 columns for a network with 2 outputs, in
// loss_and_gradient.
#include <propel/propel.hpp>

using net_t =
    propel::mlp<double, propel::input<3>, propel::dense<4, propel::tanh>, propel::dense<2>>;

double check(net_t const& net, propel::gradient_t<net_t>& g) {
  propel::mat<double, 8, 3> const x{};
#ifdef PROPEL_EXPECT_FAIL
  propel::mat<double, 8, 3> const y{};
#else
  propel::mat<double, 8, 2> const y{};
#endif
  return propel::loss_and_gradient(net, x, y, propel::mse{}, g);
}
