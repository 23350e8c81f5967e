// SPDX-License-Identifier: BSL-1.0
// propel's main demo: a 64-128-10 network learns to read 8x8 handwritten digits (UCI
// "Optical Recognition of Handwritten Digits", 1797 images), trained in minibatches with
// softmax cross-entropy and Adam, then timed one sample at a time; its int8 quantization's
// accuracy is printed beside the float network's.
//
// Usage (from examples/digits/): digits [--epochs N] [--seed S] [path/to/digits.csv]
// Exits non-zero if the test accuracy is below 97% (90% for a run shortened by --epochs).
#include "../common/digits.hpp"

#include <array>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <numbers>
#include <optional>
#include <propel/propel.hpp>
#include <span>
#include <string>
#include <vector>

#include "../common/data.hpp"

namespace pp = propel;

namespace {

using example::digits::classes;
using example::digits::pixels;
constexpr std::size_t batch = 32;
constexpr long default_epochs = 30;
constexpr double required_accuracy = 0.97;   // after a full run
constexpr double short_run_accuracy = 0.90;  // after --epochs 4 or more
constexpr double learning_rate = 2e-3;

using net_t = pp::mlp<float, pp::input<pixels>, pp::dense<128, pp::relu>, pp::dense<classes>>;
using clock_type = std::chrono::steady_clock;

using example::digits::sample;

using confusion_matrix = std::array<std::array<int, classes>, classes>;  // [truth][predicted]

int predict(net_t const& net, pp::vec<float, pixels> const& x) { return example::argmax(net(x)); }

/// The fraction of `data` that `net` classifies correctly; fills `confusion` if given.
double accuracy(net_t const& net, std::span<sample const> data,
                confusion_matrix* confusion = nullptr) {
  std::size_t correct = 0;
  for (auto const& s : data) {
    int const p = predict(net, s.x);
    correct += p == s.label ? 1U : 0U;
    if (confusion) {
      ++(*confusion)[static_cast<std::size_t>(s.label)][static_cast<std::size_t>(p)];
    }
  }
  return static_cast<double>(correct) / static_cast<double>(data.size());
}

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  long const epochs = example::int_option(argc, argv, "--epochs", default_epochs);
  auto const seed = static_cast<std::uint64_t>(example::int_option(argc, argv, "--seed", 2024));
  std::string const path = example::positional(argc, argv, "../data/digits.csv");

  auto const all = example::digits::load(path);
  if (!all) return 1;

  // A seeded 75/25 split.
  example::splitmix64 rng{seed};
  auto const [train, test] = example::split_three_to_one(*all, rng);
  std::printf("digits: %zu images, %zu for training, %zu for testing\n", all->size(), train.size(),
              test.size());
  std::printf("network: %zu -> %zu relu -> %zu, %zu parameters; Adam, batches of %zu\n\n",
              net_t::widths[0], net_t::widths[1], net_t::widths[2], net_t::param_count, batch);

  net_t net;
  pp::init(net, seed);
  pp::trainer trainer{net, pp::softmax_cross_entropy{}, pp::adam{.lr = learning_rate},
                      pp::batch<batch>};

  // Each epoch visits the training set in a new order, in whole batches (the few samples
  // left over are different ones each epoch).
  std::size_t const steps_per_epoch = train.size() / batch;
  pp::mat<float, batch, pixels> x;
  std::array<int, batch> labels{};
  double train_seconds = 0;
  auto const run_start = clock_type::now();

  std::printf("epoch   loss    train acc  test acc  samples/s\n");
  auto train_order = example::iota(train.size());
  for (long epoch = 1; epoch <= epochs; ++epoch) {
    example::shuffle(train_order, rng);
    // Cosine learning-rate decay from learning_rate to 0 over the run.
    double const progress = static_cast<double>(epoch - 1) / static_cast<double>(epochs);
    trainer.optimizer().lr = learning_rate * 0.5 * (1 + std::cos(std::numbers::pi * progress));
    double loss_sum = 0;
    auto const start = clock_type::now();
    for (std::size_t step = 0; step < steps_per_epoch; ++step) {
      for (std::size_t row = 0; row < batch; ++row) {
        sample const& s = train[train_order[step * batch + row]];
        for (std::size_t i = 0; i < pixels; ++i) x(row, i) = s.x[i];
        labels[row] = s.label;
      }
      loss_sum += static_cast<double>(trainer.step(x, labels));
    }
    double const seconds = seconds_since(start);
    train_seconds += seconds;
    std::printf("%5ld  %7.4f  %8.2f%%  %7.2f%%  %9.0f\n", epoch,
                loss_sum / static_cast<double>(steps_per_epoch), 100 * accuracy(net, train),
                100 * accuracy(net, test), static_cast<double>(steps_per_epoch * batch) / seconds);
  }
  double const run_seconds = seconds_since(run_start);

  confusion_matrix confusion{};
  double const test_accuracy = accuracy(net, test, &confusion);
  std::printf("\ntest accuracy: %.2f%% (%zu images)\n", 100 * test_accuracy, test.size());
  std::printf("\nconfusion matrix (rows: true digit, columns: predicted)\n     ");
  for (std::size_t c = 0; c < classes; ++c) std::printf("%4zu", c);
  std::printf("\n");
  for (std::size_t r = 0; r < classes; ++r) {
    std::printf("%4zu ", r);
    for (std::size_t c = 0; c < classes; ++c) std::printf("%4d", confusion[r][c]);
    std::printf("\n");
  }
  std::printf("\ntraining: %.2f s for %ld epochs (%.2f s with the per-epoch evaluation)\n",
              train_seconds, epochs, run_seconds);

  // The same network quantized to int8 (TensorFlow Lite's scheme), calibrated on the
  // training images.
  std::vector<pp::vec<float, pixels>> calibration;
  calibration.reserve(train.size());
  for (auto const& s : train) calibration.push_back(s.x);
  auto const int8_net = pp::quantize(net, calibration);
  if (!int8_net) {
    std::printf("FAILED: the network could not be quantized\n");
    return 1;
  }
  std::size_t int8_correct = 0;
  for (auto const& s : test) int8_correct += example::argmax((*int8_net)(s.x)) == s.label ? 1U : 0U;
  double const int8_accuracy = static_cast<double>(int8_correct) / static_cast<double>(test.size());
  std::printf("int8 test accuracy: %.2f%% (float: %.2f%%)\n", 100 * int8_accuracy,
              100 * test_accuracy);

  // Inference latency: one sample at a time, as a real-time caller would, over the test set
  // again and again for at least half a second. Every prediction goes into a volatile sink,
  // so none of the work can be optimised away.
  volatile int sink = 0;
  for (auto const& s : test) sink = sink + predict(net, s.x);  // warm-up
  std::size_t calls = 0;
  auto const start = clock_type::now();
  double seconds = 0;
  do {
    for (auto const& s : test) sink = sink + predict(net, s.x);
    calls += test.size();
    seconds = seconds_since(start);
  } while (seconds < 0.5);
  std::printf("inference: %.0f ns per sample (forward pass + argmax, %zu single-sample calls)\n",
              seconds * 1e9 / static_cast<double>(calls), calls);

  // A full run must reach 97%; a shortened one (a quick check) must at least get well past
  // the 10% of guessing.
  double const required = epochs >= default_epochs ? required_accuracy : short_run_accuracy;
  if (test_accuracy < required) {
    std::printf("FAILED: test accuracy below %.0f%%\n", 100 * required);
    return 1;
  }
  return 0;
}
