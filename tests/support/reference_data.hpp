// SPDX-License-Identifier: BSL-1.0
/// \file Test-only reader of the PyTorch reference files of tests/data (lines "<key> <number>
/// <number> ...", comments starting with '#'), and the comparison of propel's numbers with
/// them: the error of element i is |actual - expected| / max(|expected|, s), s a fraction of
/// the record's largest magnitude, so that an element that is nearly zero by cancellation is
/// judged on the scale of its record. Include after <boost/test/unit_test.hpp>.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace reference_data {

using records = std::map<std::string, std::vector<double>>;

/// The records of a file (read from the tests/ directory, where ctest runs the tests). Words
/// that are not numbers (none in the files) would stop the test with std::stod's exception.
inline records load(std::string const& path) {
  records out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string key;
    fields >> key;
    std::vector<double> values;
    for (std::string word; fields >> word;) values.push_back(std::stod(word));
    out.emplace(std::move(key), std::move(values));
  }
  return out;
}

template <class T>
constexpr char const* dtype_name = std::is_same_v<T, double> ? "f64" : "f32";

/// The largest relative error met per dtype and kind of record ("forward": outputs, losses,
/// gradients; "trajectory": optimizer steps), printed by the test at the end.
inline std::map<std::string, double>& largest() {
  static std::map<std::string, double> m;
  return m;
}

/// Compares `actual` (a range of T) with record `expected`, named `key`, to relative
/// tolerance `tol`. A parameter after an update p - lr d carries the rounding of p and lr d,
/// so a trajectory is judged on the scale of the parameters (a tenth of the largest);
/// outputs and gradients on their own (a hundredth).
template <class T, class Values>
double compare(Values const& actual, std::vector<double> const& expected, std::string const& key,
               bool trajectory, double tol) {
  BOOST_TEST_REQUIRE(
      expected.size() == static_cast<std::size_t>(std::size(actual)),
      key << ": size " << std::size(actual) << ", the record has " << expected.size());
  double scale = 0;
  for (double const e : expected) scale = std::max(scale, std::abs(e));
  scale *= trajectory ? 1e-1 : 1e-2;
  double worst = 0;
  std::size_t where = 0;
  std::size_t i = 0;
  double worst_actual = 0;
  for (auto const a : actual) {
    double const e = expected[i];
    double const err =
        std::abs(static_cast<double>(a) - e) / std::max({std::abs(e), scale, 1e-300});
    if (!(err <= worst)) {  // NaN counts as the worst
      worst = err;
      where = i;
      worst_actual = static_cast<double>(a);
    }
    ++i;
  }
  double& record =
      largest()[std::string(dtype_name<T>) + (trajectory ? " trajectory" : " forward")];
  record = std::max(record, worst);
  BOOST_TEST_MESSAGE("  " << key << ": " << worst << " at " << where);
  BOOST_TEST(worst <= tol, key << ": element " << where << " is " << worst_actual << ", PyTorch "
                               << expected[where] << ", relative error " << worst);
  return worst;
}

/// The records of the file at `path`, read once per path.
inline records const& file(std::string const& path) {
  static std::map<std::string, records> files;
  auto it = files.find(path);
  if (it == files.end()) it = files.emplace(path, load(path)).first;
  return it->second;
}

/// Record `key` of the file at `path`; a missing key fails the test.
inline std::vector<double> const& entry(std::string const& path, std::string const& key) {
  static std::vector<double> const none;
  records const& r = file(path);
  auto const it = r.find(key);
  BOOST_TEST_REQUIRE((it != r.end()),
                     "no " << key << " in " << path << ", read from the tests/ directory");
  return it == r.end() ? none : it->second;
}

}  // namespace reference_data
