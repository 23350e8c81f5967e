// SPDX-License-Identifier: BSL-1.0
// Mistake: loading a layer's weight from a matrix in [in][out] layout; a dense layer's weight
// is [out][in], as PyTorch's nn.Linear.
#include <propel/propel.hpp>

using net_t =
    propel::mlp<float, propel::input<3>, propel::dense<4, propel::relu>, propel::dense<2>>;

void check(net_t& net) {
#ifdef PROPEL_EXPECT_FAIL
  propel::mat<float, 3, 4> const w{};
#else
  propel::mat<float, 4, 3> const w{};
#endif
  net.layer<0>().weight = w;
}
