// SPDX-License-Identifier: BSL-1.0
// Mistake: a dense layer of 0 outputs.
#include <propel/propel.hpp>

#ifdef PROPEL_EXPECT_FAIL
using net_t = propel::mlp<float, propel::input<3>, propel::dense<0>, propel::dense<2>>;
#else
using net_t = propel::mlp<float, propel::input<3>, propel::dense<1>, propel::dense<2>>;
#endif

std::size_t check() { return sizeof(net_t); }
