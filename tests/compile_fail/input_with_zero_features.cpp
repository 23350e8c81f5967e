// SPDX-License-Identifier: BSL-1.0
// Mistake: a network input of 0 features.
#include <propel/propel.hpp>

#ifdef PROPEL_EXPECT_FAIL
using net_t = propel::mlp<float, propel::input<0>, propel::dense<2>>;
#else
using net_t = propel::mlp<float, propel::input<1>, propel::dense<2>>;
#endif

std::size_t check() { return sizeof(net_t); }
