// SPDX-License-Identifier: BSL-1.0
// A user's program without propel::io: the core alone.
#include <propel/propel.hpp>

int main() {
  propel::vec<double, 2> v{0.5, -2.0};
  return v[1] == -2.0 ? 0 : 1;
}
