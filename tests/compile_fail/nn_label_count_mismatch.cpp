// SPDX-License-Identifier: BSL-1.0
// Mistake: a trainer step on a batch of 4 samples with 3 class labels.
#include <array>
#include <propel/propel.hpp>

using net_t =
    propel::mlp<float, propel::input<3>, propel::dense<4, propel::relu>, propel::dense<5>>;

float check(net_t& net) {
  propel::trainer t{net, propel::softmax_cross_entropy{}, propel::sgd{.lr = 0.1}, propel::batch<4>};
  propel::mat<float, 4, 3> const x{};
#ifdef PROPEL_EXPECT_FAIL
  std::array<int, 3> const labels{0, 1, 2};
#else
  std::array<int, 4> const labels{0, 1, 2, 3};
#endif
  return t.step(x, labels);
}
