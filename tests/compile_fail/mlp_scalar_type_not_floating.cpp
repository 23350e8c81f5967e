// SPDX-License-Identifier: BSL-1.0
// Mistake: a network over int. A network is trained by gradients: use float or double.
#include <propel/propel.hpp>

#ifdef PROPEL_EXPECT_FAIL
using net_t = propel::mlp<int, propel::input<3>, propel::dense<2>>;
#else
using net_t = propel::mlp<float, propel::input<3>, propel::dense<2>>;
#endif

std::size_t check() { return sizeof(net_t); }
