// SPDX-License-Identifier: BSL-1.0
// Mistake: asking for the gradient with respect to an input held in a std::array. The input
// (and its gradient) is a propel::vec or a propel::mat.
#include <array>
#include <propel/propel.hpp>

using net_t = propel::mlp<float, propel::input<3>, propel::dense<2>>;

float check(net_t const& net) {
  propel::vec<float, 2> const target{};
#ifdef PROPEL_EXPECT_FAIL
  std::array<float, 3> const x{};
  std::array<float, 3> dx{};
#else
  propel::vec<float, 3> const x{};
  propel::vec<float, 3> dx{};
#endif
  return propel::loss_and_input_gradient(net, x, target, propel::mse{}, dx);
}
