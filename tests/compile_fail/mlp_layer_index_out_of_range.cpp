// SPDX-License-Identifier: BSL-1.0
// Mistake: asking a two-layer network for layer 2 (layers count from 0).
#include <propel/propel.hpp>

void check() {
  propel::mlp<float, propel::input<2>, propel::dense<4, propel::relu>, propel::dense<1>> net{};
#ifdef PROPEL_EXPECT_FAIL
  auto& layer = net.layer<2>();
#else
  auto& layer = net.layer<1>();
#endif
  (void)layer;
}
