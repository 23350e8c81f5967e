// SPDX-License-Identifier: BSL-1.0
// Mistake: composing an encoder with 4 outputs and a head that expects 5 inputs.
#include <propel/propel.hpp>

using encoder_t = propel::mlp<float, propel::input<3>, propel::dense<4, propel::relu>>;
#ifdef PROPEL_EXPECT_FAIL
using head_t = propel::mlp<float, propel::input<5>, propel::dense<2>>;
#else
using head_t = propel::mlp<float, propel::input<4>, propel::dense<2>>;
#endif

std::size_t check(encoder_t const& encoder, head_t const& head) {
  return propel::compose(encoder, head).param_count;
}
