// SPDX-License-Identifier: BSL-1.0
// The umbrella header compiles in a Boost.Test executable and a vector reads back its elements.
#define BOOST_TEST_MODULE smoke
#include <boost/test/unit_test.hpp>
#include <propel/propel.hpp>

BOOST_AUTO_TEST_CASE(vec_reads_back_its_elements) {
  propel::vec<float, 3> v{1.f, 2.f, 3.f};
  BOOST_TEST(v[1] == 2.f);
}
