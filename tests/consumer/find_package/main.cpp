// SPDX-License-Identifier: BSL-1.0
// A user's program: includes propel and returns 0 if a vector reads back its element.
#include <propel/propel.hpp>

int main() {
  propel::vec<double, 2> v{0.5, -2.0};
  return v[1] == -2.0 ? 0 : 1;
}
