// SPDX-License-Identifier: BSL-1.0
// Mistake: starting the layer list with a dense layer. The first layer argument names the
// number of input features: propel::input<N>.
#include <propel/propel.hpp>

#ifdef PROPEL_EXPECT_FAIL
using net_t = propel::mlp<float, propel::dense<3>, propel::dense<2>>;
#else
using net_t = propel::mlp<float, propel::input<3>, propel::dense<2>>;
#endif

std::size_t check() { return sizeof(net_t); }
