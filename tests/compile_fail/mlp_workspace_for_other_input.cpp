// SPDX-License-Identifier: BSL-1.0
// Mistake: running a batch in the workspace declared for one sample.
#include <propel/propel.hpp>

using net_t =
    propel::mlp<float, propel::input<3>, propel::dense<8, propel::relu>, propel::dense<2>>;

float check(net_t const& net, propel::mat<float, 4, 3> const& x) {
#ifdef PROPEL_EXPECT_FAIL
  propel::inference_workspace_t<net_t, propel::vec<float, 3>> ws;
#else
  propel::inference_workspace_t<net_t, propel::mat<float, 4, 3>> ws;
#endif
  return net(x, ws)(0, 0);
}
