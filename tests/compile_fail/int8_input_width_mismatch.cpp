// SPDX-License-Identifier: BSL-1.0
// Mistake: feeding 4 int8 features to an int8 network built for 3 inputs.
#include <propel/propel.hpp>

using q_t = propel::int8_mlp<propel::input<3>, propel::dense<8, propel::relu>, propel::dense<2>>;

int check(q_t const& net) {
#ifdef PROPEL_EXPECT_FAIL
  propel::vec<std::int8_t, 4> const x{};
#else
  propel::vec<std::int8_t, 3> const x{};
#endif
  return net(x)[0];
}
