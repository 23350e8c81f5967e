// SPDX-License-Identifier: BSL-1.0
// Mistake: passing a training batch as a std::array. The input of a network is a propel::vec
// (one sample) or a propel::mat (one sample per row).
#include <array>
#include <propel/propel.hpp>

using net_t = propel::mlp<float, propel::input<3>, propel::dense<2>>;

float check(net_t const& net, propel::gradient_t<net_t>& g) {
  propel::vec<float, 2> const target{};
#ifdef PROPEL_EXPECT_FAIL
  std::array<float, 3> const x{};
#else
  propel::vec<float, 3> const x{};
#endif
  return propel::loss_and_gradient(net, x, target, propel::mse{}, g);
}
