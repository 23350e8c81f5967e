// SPDX-License-Identifier: BSL-1.0
/// \file The digits data set as the examples read it (examples/data/digits.csv: 64 pixel
/// values 0..16, then the label 0..9, per line): the samples, with the pixels scaled to
/// [0, 1].
#pragma once

#include <cstddef>
#include <cstdio>
#include <optional>
#include <propel/vec.hpp>
#include <string>
#include <vector>

#include "data.hpp"

namespace example::digits {

inline constexpr std::size_t pixels = 64;  // 8 x 8, each 0..16
inline constexpr std::size_t classes = 10;

struct sample {
  propel::vec<float, pixels> x;  // scaled to [0, 1]
  int label;
};

/// The samples of the file at `path`; empty, after saying why, when it cannot be read or a
/// line is not 64 pixels and a label in [0, 10).
inline std::optional<std::vector<sample>> load(std::string const& path) {
  auto const lines = read_csv(path);
  if (!lines) return std::nullopt;
  std::vector<sample> data;
  for (auto const& fields : *lines) {
    if (fields.size() != pixels + 1) {
      std::fprintf(stderr, "%s: expected %zu values per line, found %zu\n", path.c_str(),
                   pixels + 1, fields.size());
      return std::nullopt;
    }
    sample s{};
    for (std::size_t i = 0; i < pixels; ++i) {
      s.x[i] = static_cast<float>(to_number(fields[i]) / 16.0);
    }
    s.label = static_cast<int>(to_number(fields[pixels]));
    if (s.label < 0 || s.label >= static_cast<int>(classes)) {
      std::fprintf(stderr, "%s: label %d out of range\n", path.c_str(), s.label);
      return std::nullopt;
    }
    data.push_back(s);
  }
  return data;
}

}  // namespace example::digits
