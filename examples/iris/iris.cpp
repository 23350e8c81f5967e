// SPDX-License-Identifier: BSL-1.0
// Classification on Fisher's Iris data: standardize the 4 measurements, hold out a seeded
// 20% of the 150 flowers, train a 4-16-3 network full-batch with softmax cross-entropy,
// and report the accuracy on the held-out flowers.
//
// Usage (from examples/iris/): iris [--steps N] [path/to/iris.csv]
// Exits non-zero if the test accuracy is below 90%.
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <propel/propel.hpp>
#include <string>
#include <vector>

#include "../common/data.hpp"

namespace pp = propel;

namespace {

constexpr std::size_t features = 4;
constexpr std::size_t classes = 3;
constexpr std::size_t rows = 150;
constexpr std::size_t test_rows = 30;
constexpr std::size_t train_rows = rows - test_rows;
constexpr double required_accuracy = 0.90;

using net_t = pp::mlp<float, pp::input<features>, pp::dense<16, pp::relu>, pp::dense<classes>>;

}  // namespace

int main(int argc, char** argv) {
  long const steps = example::int_option(argc, argv, "--steps", 200);
  std::string const path = example::positional(argc, argv, "../data/iris.csv");

  // Header line: 150,4,setosa,versicolor,virginica; then 4 measurements (cm) and the class.
  auto const lines = example::read_csv(path);
  if (!lines) return 1;
  if (lines->size() != rows + 1 || (*lines)[0].size() != 2 + classes) {
    std::fprintf(stderr, "%s: expected a header line and %zu rows\n", path.c_str(), rows);
    return 1;
  }
  auto const& names = (*lines)[0];  // names[2 + class]

  // A seeded split: the first 120 rows of a shuffled order train, the last 30 test.
  example::splitmix64 rng{11};
  auto order = example::iota(rows);
  example::shuffle(order, rng);
  pp::mat<float, train_rows, features> x_train;
  pp::mat<float, test_rows, features> x_test;
  std::array<int, train_rows> y_train{};
  std::array<int, test_rows> y_test{};
  for (std::size_t i = 0; i < rows; ++i) {
    auto const& fields = (*lines)[1 + order[i]];
    if (fields.size() != features + 1) {
      std::fprintf(stderr, "%s: expected %zu values per row\n", path.c_str(), features + 1);
      return 1;
    }
    for (std::size_t f = 0; f < features; ++f) {
      auto const v = static_cast<float>(example::to_number(fields[f]));
      if (i < train_rows) {
        x_train(i, f) = v;
      } else {
        x_test(i - train_rows, f) = v;
      }
    }
    int const label = static_cast<int>(example::to_number(fields[features]));
    if (label < 0 || label >= static_cast<int>(classes)) {
      std::fprintf(stderr, "%s: class %d out of range\n", path.c_str(), label);
      return 1;
    }
    (i < train_rows ? y_train[i] : y_test[i - train_rows]) = label;
  }

  // Standardize every feature with the training rows' mean and standard deviation.
  for (std::size_t f = 0; f < features; ++f) {
    double sum = 0;
    double sum_sq = 0;
    for (std::size_t r = 0; r < train_rows; ++r) {
      sum += static_cast<double>(x_train(r, f));
      sum_sq += static_cast<double>(x_train(r, f)) * static_cast<double>(x_train(r, f));
    }
    double const mean = sum / train_rows;
    double const sd = std::sqrt(sum_sq / train_rows - mean * mean);
    auto const standardize = [&](float& v) {
      v = static_cast<float>((static_cast<double>(v) - mean) / sd);
    };
    for (std::size_t r = 0; r < train_rows; ++r) standardize(x_train(r, f));
    for (std::size_t r = 0; r < test_rows; ++r) standardize(x_test(r, f));
  }

  net_t net;
  pp::init(net, 3);
  // The whole training set is one batch: a mat of 120 rows and 120 labels.
  pp::trainer trainer{net, pp::softmax_cross_entropy{}, pp::adam{.lr = 1e-2},
                      pp::batch<train_rows>};
  for (long step = 1; step <= steps; ++step) {
    float const loss = trainer.step(x_train, y_train);
    if (step == 1 || step % 50 == 0) {
      std::printf("step %4ld  loss %.4f\n", step, static_cast<double>(loss));
    }
  }

  auto const logits = net(x_test);  // all 30 test flowers at once
  std::size_t correct = 0;
  std::printf("\n  %-12s %s\n", "class", "predicted");
  for (std::size_t r = 0; r < test_rows; ++r) {
    int const predicted = example::argmax(logits.row(r));
    correct += predicted == y_test[r] ? 1U : 0U;
    if (r < 6) {
      std::printf("  %-12s %s\n", names[2 + static_cast<std::size_t>(y_test[r])].c_str(),
                  names[2 + static_cast<std::size_t>(predicted)].c_str());
    }
  }
  double const accuracy = static_cast<double>(correct) / test_rows;
  std::printf("  ...\n\ntest accuracy: %.1f%% (%zu of %zu flowers)\n", 100 * accuracy, correct,
              test_rows);
  if (accuracy < required_accuracy) {
    std::printf("FAILED: test accuracy below %.0f%%\n", 100 * required_accuracy);
    return 1;
  }
  return 0;
}
