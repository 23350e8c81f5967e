// SPDX-License-Identifier: BSL-1.0
// Mistake: a custom loss that uses the prediction twice for one sample but once for a batch,
// with a trainer that updates inside the backward pass (it keeps no gradient to add up in).
#include <propel/propel.hpp>
#include <type_traits>

using net_t =
    propel::mlp<float, propel::input<3>, propel::dense<4, propel::relu>, propel::dense<2>>;

struct uneven_loss {
  template <class P, class T>
  auto operator()(P const& pred, T const& target) const {
#ifdef PROPEL_EXPECT_FAIL
    if constexpr (std::is_same_v<T, propel::vec<float, 2>>) {
      return propel::mse{}(pred, target) + propel::mse{}(pred, target);
    } else {
      return propel::mse{}(pred, target);
    }
#else
    return propel::mse{}(pred, target);
#endif
  }
};

float check(net_t& net) {
  propel::trainer t{net, uneven_loss{}, propel::sgd{.lr = 0.1}};
  propel::vec<float, 3> const x{};
  propel::vec<float, 2> const y{};
  return t.step(x, y);
}
