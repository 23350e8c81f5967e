// SPDX-License-Identifier: BSL-1.0
// Mistake: a trainer declared for batches of 0 samples.
#include <propel/propel.hpp>

using net_t =
    propel::mlp<float, propel::input<3>, propel::dense<4, propel::relu>, propel::dense<2>>;

#ifdef PROPEL_EXPECT_FAIL
constexpr std::size_t rows = 0;
#else
constexpr std::size_t rows = 1;
#endif

std::size_t check() { return sizeof(propel::trainer<net_t, propel::mse, propel::sgd, rows>); }
