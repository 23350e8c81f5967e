// SPDX-License-Identifier: BSL-1.0
// Mistake: a step on a batch of 16 samples with a trainer declared for batches of 8.
#include <propel/propel.hpp>

using net_t =
    propel::mlp<float, propel::input<3>, propel::dense<4, propel::relu>, propel::dense<2>>;

float check(net_t& net) {
  propel::trainer t{net, propel::mse{}, propel::sgd{.lr = 0.1}, propel::batch<8>};
#ifdef PROPEL_EXPECT_FAIL
  constexpr std::size_t rows = 16;
#else
  constexpr std::size_t rows = 8;
#endif
  propel::mat<float, rows, 3> const x{};
  propel::mat<float, rows, 2> const y{};
  return t.step(x, y);
}
