// SPDX-License-Identifier: BSL-1.0
/// \file What the examples share that is not propel: reading a numeric CSV file, a seeded
/// portable shuffle, and a few small helpers. Plain standard C++; the heap is used here only
/// to hold a data set read from disk.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace example {

/// The fields of each line of a comma-separated file, as text (lines that are empty are
/// skipped). Empty when the file cannot be opened; prints why.
inline std::optional<std::vector<std::vector<std::string>>> read_csv(std::string const& path) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "cannot open %s (run the example from its folder, or give the path)\n",
                 path.c_str());
    return std::nullopt;
  }
  std::vector<std::vector<std::string>> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line == "\r") continue;
    std::vector<std::string> fields;
    std::stringstream ss(line);
    std::string field;
    while (std::getline(ss, field, ',')) fields.push_back(field);
    lines.push_back(std::move(fields));
  }
  return lines;
}

/// The number a CSV field holds; prints and exits on a field that is not a number.
inline double to_number(std::string const& field) {
  char* end = nullptr;
  double const value = std::strtod(field.c_str(), &end);
  if (end == field.c_str()) {
    std::fprintf(stderr, "not a number in the data: '%s'\n", field.c_str());
    std::exit(1);
  }
  return value;
}

/// SplitMix64 (Steele, Lea, Flood 2014): integer arithmetic only, so a seed gives the same
/// stream on every platform and compiler, unlike std::uniform_int_distribution.
struct splitmix64 {
  std::uint64_t state;

  std::uint64_t next() noexcept {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, n) (the modulo bias is below 2^-50 for the sizes used here).
  std::size_t below(std::size_t n) noexcept { return static_cast<std::size_t>(next() % n); }
  /// Uniform in [0, 1).
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
};

/// Fisher-Yates shuffle driven by `rng`: the same order for the same seed everywhere.
inline void shuffle(std::span<std::size_t> order, splitmix64& rng) {
  for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
}

/// 0, 1, ..., n - 1.
inline std::vector<std::size_t> iota(std::size_t n) {
  std::vector<std::size_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

/// A seeded split of a data set: the samples in an order shuffled by `rng`, the first three
/// quarters for training and the rest held out.
template <class Sample>
std::pair<std::vector<Sample>, std::vector<Sample>> split_three_to_one(
    std::vector<Sample> const& all, splitmix64& rng) {
  auto order = iota(all.size());
  shuffle(order, rng);
  std::size_t const train_count = all.size() * 3 / 4;
  std::pair<std::vector<Sample>, std::vector<Sample>> out;
  for (std::size_t i = 0; i < order.size(); ++i) {
    (i < train_count ? out.first : out.second).push_back(all[order[i]]);
  }
  return out;
}

/// The index of the largest element (the predicted class of a row of logits).
template <class Range>
int argmax(Range const& r) {
  int best = 0;
  int i = 0;
  auto best_value = *r.begin();
  for (auto const v : r) {
    if (v > best_value) {
      best_value = v;
      best = i;
    }
    ++i;
  }
  return best;
}

/// The value of `--name N` among the arguments, or `fallback`; the other arguments are left
/// to the caller. Exits with a usage message on a malformed number.
inline long int_option(int argc, char** argv, std::string const& name, long fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == name) {
      char* end = nullptr;
      long const value = std::strtol(argv[i + 1], &end, 10);
      if (*end != '\0' || value <= 0) {
        std::fprintf(stderr, "%s needs a positive whole number\n", name.c_str());
        std::exit(2);
      }
      return value;
    }
  }
  return fallback;
}

/// The first argument that is neither an option (--x) nor an option's value, or `fallback`.
inline std::string positional(int argc, char** argv, std::string const& fallback) {
  for (int i = 1; i < argc; ++i) {
    std::string const a = argv[i];
    if (a.rfind("--", 0) == 0) {
      ++i;  // skip the option's value
      continue;
    }
    return a;
  }
  return fallback;
}

}  // namespace example
