// SPDX-License-Identifier: BSL-1.0
// Weights exported by propel::cpp_header_writer are bound to the network type: including the
// header (tests/data/export_header_tiny.hpp) for a network whose first layer has another
// input width is a compile error that names both shapes.
#include <propel/propel.hpp>

#ifdef PROPEL_EXPECT_FAIL
using tiny_net_t =
    propel::mlp<double, propel::input<4>, propel::dense<3, propel::relu>, propel::dense<2>>;
#else
using tiny_net_t =
    propel::mlp<double, propel::input<2>, propel::dense<3, propel::relu>, propel::dense<2>>;
#endif

#include "../data/export_header_tiny.hpp"

double first_weight() { return tiny::named.layer<0>().weight[0]; }
