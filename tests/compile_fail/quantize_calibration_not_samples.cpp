// SPDX-License-Identifier: BSL-1.0
// Mistake: calibrating with samples of the wrong width (5 features for a 3-input network).
#include <propel/propel.hpp>
#include <vector>

using net_t = propel::mlp<float, propel::input<3>, propel::dense<2>>;

bool check(net_t const& net) {
#ifdef PROPEL_EXPECT_FAIL
  std::vector<propel::vec<float, 5>> samples(4);
#else
  std::vector<propel::vec<float, 3>> samples(4);
#endif
  return propel::quantize(net, samples).has_value();
}
