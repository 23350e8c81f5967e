// SPDX-License-Identifier: BSL-1.0
// A user's program: saves a network with propel::io into memory and loads it back.
#include <cstddef>
#include <propel/io/safetensors.hpp>
#include <propel/propel.hpp>
#include <span>
#include <vector>

int main() {
  using net_t = propel::mlp<float, propel::input<2>, propel::dense<3, propel::relu>,
                            propel::dense<1>>;
  net_t a;
  propel::init(a, 1);
  std::vector<std::byte> file;
  net_t b{};
  if (!propel::save_safetensors(a, file)) return 1;
  if (!propel::load_safetensors(b, std::span<std::byte const>(file))) return 1;
  return b.layer<0>().weight == a.layer<0>().weight ? 0 : 1;
}
