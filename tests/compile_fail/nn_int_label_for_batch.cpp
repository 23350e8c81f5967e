// SPDX-License-Identifier: BSL-1.0
// Mistake: one int label for a batch of 4 samples in loss_and_gradient; a batch takes
// std::array<int, 4>.
#include <array>
#include <propel/propel.hpp>

using net_t = propel::mlp<float, propel::input<3>, propel::dense<5>>;

float check(net_t const& net, propel::gradient_t<net_t>& g) {
  propel::mat<float, 4, 3> const x{};
#ifdef PROPEL_EXPECT_FAIL
  int const labels = 2;
#else
  std::array<int, 4> const labels{0, 1, 2, 3};
#endif
  return propel::loss_and_gradient(net, x, labels, propel::softmax_cross_entropy{}, g);
}
