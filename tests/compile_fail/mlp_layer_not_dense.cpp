// SPDX-License-Identifier: BSL-1.0
// Mistake: giving propel::input<N> again after the first layer. Every layer after the input
// is a propel::dense<M, Act>.
#include <propel/propel.hpp>

#ifdef PROPEL_EXPECT_FAIL
using net_t = propel::mlp<float, propel::input<3>, propel::input<4>, propel::dense<2>>;
#else
using net_t = propel::mlp<float, propel::input<3>, propel::dense<4>, propel::dense<2>>;
#endif

std::size_t check() { return sizeof(net_t); }
