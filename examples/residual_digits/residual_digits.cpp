// SPDX-License-Identifier: BSL-1.0
// A network that is not an mlp, written as a propel::model and trained on the 8x8 digits
// (examples/data/digits.csv, as the digits example reads them): an input layer, then a
// pre-norm residual block (PyTorch's nn.LayerNorm, then a linear layer and relu, added back
// onto its own input), then the classifier:
//
//   h = relu(inp(x));   r = h + relu(res(ln(h)));   logits = out(r)
//
// The skip connection reads h twice, so h is a propel::let: computed once, its derivatives
// from both paths added up in the backward pass. Trained in minibatches with softmax
// cross-entropy and Adam; prints the loss and the held-out accuracy after each epoch, and
// checks the final accuracy. Built with propel::io (PROPEL_EXAMPLE_IO), it then saves the
// trained model as a safetensors file (PyTorch's state_dict names: "inp.weight", "ln.bias",
// ...), loads it into a fresh model, and checks that the reloaded model gives the same
// outputs on every held-out image.
//
// Usage (from examples/residual_digits/):
//   residual_digits [--epochs N] [--seed S] [--save model.safetensors] [digits.csv]
// --save keeps the file (by default it goes to the temporary directory and is removed).
// Exits non-zero if the test accuracy is below 96% (90% for a run shortened by --epochs), or
// if the model does not come back from its file unchanged.
#include <array>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <memory>
#include <numbers>
#include <optional>
#include <propel/propel.hpp>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "../common/data.hpp"
#include "../common/digits.hpp"

#ifdef PROPEL_EXAMPLE_IO
#include <propel/io/safetensors.hpp>
#endif

namespace pp = propel;
using namespace pp::literals;  // "inp"_p names a parameter group

namespace {

using example::digits::pixels;
constexpr std::size_t width = 64;  // of the residual stream
using example::digits::classes;
constexpr std::size_t batch = 32;
constexpr long default_epochs = 20;
constexpr double required_accuracy = 0.96;   // after a full run
constexpr double short_run_accuracy = 0.90;  // after a run shortened by --epochs
constexpr double learning_rate = 2e-3;

/// h = relu(inp(x)); logits = out(h + relu(res(ln(h)))). The same code builds the
/// expression of one sample (x a vec) and of a batch (x a mat, one sample per row).
struct residual_forward {
  template <class P, class X>
  constexpr auto operator()(P const& p, X const& x) const {
    auto const block = pp::let(pp::relu{}(p["inp"_p](x)), [p](auto const& h) {
      return h + pp::relu{}(p["res"_p](p["ln"_p](h)));
    });
    return p["out"_p](block);
  }
};

using net_t = pp::model<float, pp::input<pixels>, residual_forward,
                        pp::linear<"inp", width, pixels, pp::he>, pp::norm<"ln", width>,
                        pp::linear<"res", width, width, pp::he>, pp::linear<"out", classes, width>>;

using example::digits::sample;

struct score {
  double accuracy;
  double loss;  // mean softmax cross-entropy
};

/// The accuracy and mean cross-entropy of `net` on `data`, one sample at a time.
score evaluate_on(net_t const& net, std::span<sample const> data) {
  std::size_t correct = 0;
  double loss = 0;
  for (auto const& s : data) {
    auto const logits = net(s.x);
    correct += example::argmax(logits) == s.label ? 1U : 0U;
    // -log softmax(logits)[label], computed stably in double
    double top = logits[0];
    for (float v : logits) top = std::fmax(top, static_cast<double>(v));
    double sum = 0;
    for (float v : logits) sum += std::exp(static_cast<double>(v) - top);
    loss += top + std::log(sum) - static_cast<double>(logits[static_cast<std::size_t>(s.label)]);
  }
  auto const n = static_cast<double>(data.size());
  return {static_cast<double>(correct) / n, loss / n};
}

#ifdef PROPEL_EXAMPLE_IO
/// The value of `--save PATH` among the arguments, or empty.
std::string save_option(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string_view(argv[i]) == "--save") return argv[i + 1];
  }
  return {};
}

/// Saves `net` to `path` (a fresh name in the temporary directory, removed afterwards, when
/// empty), loads the file into a new model and checks that it gives the same outputs on every
/// image of `data`.
bool save_and_reload(net_t const& net, std::span<sample const> data, std::string path) {
  namespace fs = std::filesystem;
  bool const keep = !path.empty();
  std::error_code ec;  // the error_code forms of std::filesystem: no exceptions
  if (!keep) {
    fs::path const dir = fs::temp_directory_path(ec);
    if (ec) {
      std::printf("FAILED: no temporary directory: %s\n", ec.message().c_str());
      return false;
    }
    auto const stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    path = (dir / ("propel_residual_digits_" + std::to_string(stamp) + ".safetensors")).string();
  }
  if (auto r = pp::save_safetensors(net, path); !r) {
    std::printf("FAILED: saving the model: %s\n", r.message.c_str());
    return false;
  }
  auto const bytes = fs::file_size(path, ec);
  auto reloaded = std::make_unique<net_t>();  // zero until loaded
  auto const r = pp::load_safetensors(*reloaded, path);
  if (!keep) fs::remove(path, ec);
  if (!r) {
    std::printf("FAILED: loading the model back: %s\n", r.message.c_str());
    return false;
  }
  std::size_t same = 0;
  for (auto const& s : data) same += net(s.x) == (*reloaded)(s.x) ? 1U : 0U;
  std::printf(
      "saved as safetensors (%ju bytes%s%s), reloaded: the same outputs on %zu of %zu "
      "held-out images\n",
      static_cast<std::uintmax_t>(bytes), keep ? ", " : "", keep ? path.c_str() : "", same,
      data.size());
  if (same != data.size()) {
    std::printf("FAILED: the reloaded model computes something else\n");
    return false;
  }
  return true;
}
#endif

}  // namespace

int main(int argc, char** argv) {
  long const epochs = example::int_option(argc, argv, "--epochs", default_epochs);
  auto const seed = static_cast<std::uint64_t>(example::int_option(argc, argv, "--seed", 2024));
  std::string const path = example::positional(argc, argv, "../data/digits.csv");

  auto const all = example::digits::load(path);
  if (!all) return 1;

  // A seeded 75/25 split (the digits example's).
  example::splitmix64 rng{seed};
  auto const [train, test] = example::split_three_to_one(*all, rng);
  std::printf("digits: %zu images, %zu for training, %zu held out\n", all->size(), train.size(),
              test.size());
  std::printf("model: h = relu(inp(x)), out(h + relu(res(layer_norm(h)))), %zu parameters:\n",
              net_t::param_count);
  net_t net;
  pp::for_each_named_tensor(
      [](std::string_view name, std::size_t rows, std::size_t cols, float const*) {
        if (cols == 0) {
          std::printf("  %-11.*s [%zu]\n", static_cast<int>(name.size()), name.data(), rows);
        } else {
          std::printf("  %-11.*s [%zu, %zu]\n", static_cast<int>(name.size()), name.data(), rows,
                      cols);
        }
      },
      std::as_const(net));
  std::printf("Adam, batches of %zu, %ld epochs\n\n", batch, epochs);

  pp::init(net, seed);
  pp::trainer trainer{net, pp::softmax_cross_entropy{}, pp::adam{.lr = learning_rate},
                      pp::batch<batch>};

  std::size_t const steps_per_epoch = train.size() / batch;
  pp::mat<float, batch, pixels> x;
  std::array<int, batch> labels{};
  auto train_order = example::iota(train.size());
  std::printf("epoch  train loss  test loss  test acc\n");
  score held_out{};
  for (long epoch = 1; epoch <= epochs; ++epoch) {
    example::shuffle(train_order, rng);
    // Cosine learning-rate decay from learning_rate to 0 over the run.
    double const progress = static_cast<double>(epoch - 1) / static_cast<double>(epochs);
    trainer.optimizer().lr = learning_rate * 0.5 * (1 + std::cos(std::numbers::pi * progress));
    double loss_sum = 0;
    for (std::size_t step = 0; step < steps_per_epoch; ++step) {
      for (std::size_t row = 0; row < batch; ++row) {
        sample const& s = train[train_order[step * batch + row]];
        for (std::size_t i = 0; i < pixels; ++i) x(row, i) = s.x[i];
        labels[row] = s.label;
      }
      loss_sum += static_cast<double>(trainer.step(x, labels));
    }
    held_out = evaluate_on(net, test);
    std::printf("%5ld  %10.4f  %9.4f  %7.2f%%\n", epoch,
                loss_sum / static_cast<double>(steps_per_epoch), held_out.loss,
                100 * held_out.accuracy);
  }

  std::printf("\nheld-out accuracy: %.2f%% (%zu images), loss %.4f\n", 100 * held_out.accuracy,
              test.size(), held_out.loss);
  double const required = epochs >= default_epochs ? required_accuracy : short_run_accuracy;
  if (!(held_out.accuracy >= required)) {
    std::printf("FAILED: held-out accuracy below %.0f%%\n", 100 * required);
    return 1;
  }
#ifdef PROPEL_EXAMPLE_IO
  // propel::io reports its errors in io_result; what is left to throw is the standard
  // library's own (std::bad_alloc, ...)
  try {
    if (!save_and_reload(net, test, save_option(argc, argv))) return 1;
  } catch (std::exception const& e) {
    std::printf("FAILED: %s\n", e.what());
    return 1;
  }
#endif
  return 0;
}
