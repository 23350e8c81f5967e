// SPDX-License-Identifier: BSL-1.0
// Mistake: a layer_norm weight whose length is not the length of a row of the input.
#include <propel/propel.hpp>

float check() {
  propel::mat<float, 2, 6> const x{};
#ifdef PROPEL_EXPECT_FAIL
  propel::vec<float, 5> const weight{};
#else
  propel::vec<float, 6> const weight{};
#endif
  propel::vec<float, 6> const bias{};
  auto const y = propel::evaluate(propel::layer_norm(
      propel::constant(x), propel::variable<"w">(weight), propel::variable<"b">(bias), 1e-5));
  return y(0, 0);
}
