// SPDX-License-Identifier: BSL-1.0
// Weights between PyTorch and propel through safetensors files.
//
//   1. PyTorch -> propel: loads the state_dict of a PyTorch nn.Sequential
//      (Linear(4,16), Tanh(), Linear(16,16), ReLU(), Linear(16,3)) from
//      FROM/torch_model.safetensors into the propel network of the same topology, and checks
//      that it reproduces PyTorch's outputs in FROM/torch_io.safetensors.
//   2. propel -> PyTorch: trains that network in propel, saves it to
//      TO/propel_model.safetensors and its outputs on the same inputs to
//      TO/propel_io.safetensors, for `interop.py check TO` to load into PyTorch.
//
// Usage: pytorch_interop [--from DIR] [--to DIR]
//   FROM defaults to data/ (files made by `interop.py export data`), TO to a fresh
//   directory under the system's temporary directory.
#include <propel/io/safetensors.hpp>
//
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <propel/propel.hpp>
#include <random>
#include <string>
#include <string_view>

namespace pp = propel;
namespace fs = std::filesystem;

// nn.Sequential(Linear(4, 16), Tanh(), Linear(16, 16), ReLU(), Linear(16, 3)):
// state_dict keys 0.weight, 0.bias, 2.weight, 2.bias, 4.weight, 4.bias.
using net_t =
    pp::mlp<float, pp::input<4>, pp::dense<16, pp::tanh>, pp::dense<16, pp::relu>, pp::dense<3>>;
constexpr std::size_t batch = 32;
constexpr double rtol = 1e-6;  // |propel - torch| <= rtol * max(|torch|, 1)

namespace {

int fail(pp::io_result const& r) {
  std::fprintf(stderr, "error: %s\n", r.message.c_str());
  return 1;
}

/// Largest |a - b| / max(|b|, 1) over the batch.
double worst_relative(pp::mat<float, batch, 3> const& a, pp::mat<float, batch, 3> const& b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    double const d = std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i]));
    worst = std::max(worst, d / std::max(std::abs(static_cast<double>(b[i])), 1.0));
  }
  return worst;
}

}  // namespace

int main(int argc, char** argv) {
  fs::path from = "data";
  fs::path to = fs::temp_directory_path() / "propel_pytorch_interop";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view const arg = argv[i];
    if (arg == "--from") {
      from = argv[i + 1];
    } else if (arg == "--to") {
      to = argv[i + 1];
    } else {
      std::fprintf(stderr, "usage: pytorch_interop [--from DIR] [--to DIR]\n");
      return 2;
    }
  }

  // 1. PyTorch -> propel
  auto net = std::make_unique<net_t>();
  if (auto r = pp::load_safetensors(*net, from / "torch_model.safetensors"); !r) return fail(r);
  pp::mat<float, batch, 4> inputs{};
  pp::mat<float, batch, 3> expected{};
  if (auto r = pp::load_tensors(
          from / "torch_io.safetensors",
          {pp::named_tensor("inputs", inputs), pp::named_tensor("outputs", expected)});
      !r) {
    return fail(r);
  }
  double const err = worst_relative((*net)(inputs), expected);
  std::printf(
      "PyTorch -> propel: %s reproduces PyTorch's outputs, max relative difference %.3g "
      "(tolerance %.0e)\n",
      pp::topology_signature<net_t>().c_str(), err, rtol);
  if (!(err <= rtol)) return 1;

  // 2. propel -> PyTorch: train from scratch on the same task, y = (sin(x0 + x1), x2 x3,
  //    cos(x0) - x3) for x uniform in [-1, 1]^4
  pp::init(*net, 2024);
  pp::trainer t{*net, pp::mse{}, pp::adam{.lr = 1e-2}, pp::batch<batch>};
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  pp::mat<float, batch, 4> x{};
  pp::mat<float, batch, 3> y{};
  float loss = 0;
  for (int step = 0; step < 300; ++step) {
    for (std::size_t i = 0; i < batch; ++i) {
      for (std::size_t j = 0; j < 4; ++j) x(i, j) = u(rng);
      y(i, 0) = std::sin(x(i, 0) + x(i, 1));
      y(i, 1) = x(i, 2) * x(i, 3);
      y(i, 2) = std::cos(x(i, 0)) - x(i, 3);
    }
    loss = t.step(x, y);
  }
  std::printf("propel: trained 300 Adam steps, final loss %.4f\n", static_cast<double>(loss));
  std::error_code ec;
  fs::create_directories(to, ec);
  pp::mat<float, batch, 3> const outputs = (*net)(inputs);
  if (auto r = pp::save_safetensors(*net, to / "propel_model.safetensors"); !r) return fail(r);
  if (auto r = pp::save_tensors(
          to / "propel_io.safetensors",
          {pp::named_tensor("inputs", inputs), pp::named_tensor("outputs", outputs)});
      !r) {
    return fail(r);
  }
  std::printf("propel -> PyTorch: wrote %s and %s\n",
              (to / "propel_model.safetensors").string().c_str(),
              (to / "propel_io.safetensors").string().c_str());
  return 0;
}
