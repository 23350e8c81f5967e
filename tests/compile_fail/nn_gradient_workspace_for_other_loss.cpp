// SPDX-License-Identifier: BSL-1.0
// Mistake: computing a cross-entropy gradient in the workspace declared for MSE.
#include <array>
#include <propel/propel.hpp>

using net_t =
    propel::mlp<float, propel::input<3>, propel::dense<8, propel::relu>, propel::dense<2>>;
using x_t = propel::mat<float, 4, 3>;
using labels_t = std::array<int, 4>;

float check(net_t const& net, x_t const& x, labels_t const& labels, propel::gradient_t<net_t>& g) {
#ifdef PROPEL_EXPECT_FAIL
  propel::gradient_workspace_t<net_t, x_t, propel::mat<float, 4, 2>, propel::mse> ws;
#else
  propel::gradient_workspace_t<net_t, x_t, labels_t, propel::softmax_cross_entropy> ws;
#endif
  return propel::loss_and_gradient(net, x, labels, propel::softmax_cross_entropy{}, g, ws);
}
