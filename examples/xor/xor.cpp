// SPDX-License-Identifier: BSL-1.0
// The smallest complete propel program: a 2-8-1 network learns XOR.
#include <cstddef>
#include <cstdio>
#include <propel/propel.hpp>

namespace pp = propel;

int main() {
  using net_t = pp::mlp<float, pp::input<2>, pp::dense<8, pp::tanh>, pp::dense<1>>;
  net_t net;
  pp::init(net, 1);  // seeded: the same weights on every platform

  pp::mat<float, 4, 2> const x{0, 0, 0, 1, 1, 0, 1, 1};  // one sample per row
  pp::mat<float, 4, 1> const y{0, 1, 1, 0};
  pp::trainer trainer{net, pp::mse{}, pp::adam{.lr = 0.05}, pp::batch<4>};
  float loss = 0;
  for (int step = 0; step < 500; ++step) loss = trainer.step(x, y);

  auto const out = net(x);
  for (std::size_t i = 0; i < 4; ++i) {
    std::printf("%g xor %g -> %.3f\n", double{x(i, 0)}, double{x(i, 1)}, double{out(i, 0)});
  }
  std::printf("mse %g\n", static_cast<double>(loss));
  return loss < 1e-3f ? 0 : 1;
}
