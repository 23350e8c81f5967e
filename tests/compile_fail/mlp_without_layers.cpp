// SPDX-License-Identifier: BSL-1.0
// Mistake: a network with an input and no layer.
#include <propel/propel.hpp>

#ifdef PROPEL_EXPECT_FAIL
using net_t = propel::mlp<float, propel::input<3>>;
#else
using net_t = propel::mlp<float, propel::input<3>, propel::dense<1>>;
#endif

std::size_t check() { return sizeof(net_t); }
