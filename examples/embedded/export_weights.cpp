// SPDX-License-Identifier: BSL-1.0
// Trains the ctrl network (16 -> 32 relu -> 32 relu -> 4) on the host and exports it as
// ctrl_weights.hpp: the parameters as constexpr data of the network type (they land in the
// firmware's flash), probe inputs, and the outputs the host computes for them, all as exact
// hexadecimal floats. The Cortex-M4 program (device.cpp) checks that its outputs are
// bit-identical to these.
//
//   export_weights                 regenerate in memory and compare with ./ctrl_weights.hpp
//                                  (exit status 1 if they differ: the header is stale)
//   export_weights --write [FILE]  write the header (default ./ctrl_weights.hpp)
//   export_weights --print         write it to stdout
//
// Training is plain SGD with momentum: float additions and multiplications only (no libm),
// with a seeded initialisation and an integer data stream, so every compiler and build type
// produces the same bits. Built with -ffp-contract=off and PROPEL_VECTOR_BYTES=4, like the
// firmware (run.sh), so that both sum in the same order.
#include <bit>
#include <cstdint>
#include <cstdio>
#include <propel/io/export_header.hpp>
#include <propel/propel.hpp>
#include <sstream>
#include <string>

#include "ctrl_task.hpp"
#include "header_file.hpp"
#if __has_include("ctrl_weights.hpp")
#include "ctrl_weights.hpp"
#define CTRL_HAVE_WEIGHTS 1
#endif

namespace {

constexpr std::uint32_t host_train_seed = 0xC0FFEEu;
constexpr int host_steps = 1500;
constexpr std::size_t host_batch = 32;
constexpr std::size_t probes = 8;

std::string generate(float& holdout, ctrl::net_t& net) {
  propel::init(net, ctrl::init_seed);
  propel::trainer t{net, propel::mse{}, propel::sgd{.lr = 0.1, .momentum = 0.9},
                    propel::batch<host_batch>};
  ctrl::stream s{host_train_seed};
  propel::mat<float, host_batch, ctrl::inputs> x;
  propel::mat<float, host_batch, ctrl::outputs> y;
  for (int i = 0; i < host_steps; ++i) {
    ctrl::draw(s, x, y);
    t.step(x, y);
  }
  holdout = ctrl::holdout_loss(net);

  ctrl::stream probe_stream{ctrl::probe_seed};
  propel::mat<float, probes, ctrl::inputs> probe_x;
  propel::mat<float, probes, ctrl::outputs> probe_target;
  ctrl::draw(probe_stream, probe_x, probe_target);
  // one sample at a time (a controller's path) and as one batch: the device checks both
  propel::mat<float, probes, ctrl::outputs> probe_y;
  for (std::size_t r = 0; r < probes; ++r) {
    propel::vec<float, ctrl::inputs> sample;
    for (std::size_t j = 0; j < ctrl::inputs; ++j) sample[j] = probe_x(r, j);
    propel::vec<float, ctrl::outputs> const out = net(sample);
    for (std::size_t k = 0; k < ctrl::outputs; ++k) probe_y(r, k) = out[k];
  }
  propel::mat<float, probes, ctrl::outputs> const probe_batch_y = net(probe_x);

  std::ostringstream out;
  {
    propel::cpp_header_writer h(
        out, "ctrl_model",
        "The ctrl network trained on the host by examples/embedded/export_weights.cpp\n"
        "(SGD, momentum 0.9, lr 0.1, " +
            std::to_string(host_steps) + " steps of " + std::to_string(host_batch) +
            " samples). Regenerate: export_weights --write");
    h.network("weights", net);
    h.tensor("probe_inputs", probe_x, "Inputs drawn from ctrl::stream{ctrl::probe_seed}.");
    h.tensor("probe_outputs", probe_y,
             "weights(x) for each row x of probe_inputs, computed on the host one sample at a "
             "time: the device must match every bit.");
    h.tensor("probe_batch_outputs", probe_batch_y,
             "weights(probe_inputs), computed on the host as one batch: the device must match "
             "every bit.");
    h.tensor("holdout_loss", propel::vec<float, 1>{holdout},
             "ctrl::holdout_loss(weights), computed on the host.");
  }
  return out.str();
}

/// Whether the committed header, as this compiler reads it, holds exactly the parameters
/// just trained (its hexadecimal literals round-trip).
bool compiled_weights_match([[maybe_unused]] ctrl::net_t const& net) {
#ifdef CTRL_HAVE_WEIGHTS
  bool same = true;
  propel::for_each_tensor(
      [&](std::size_t n, float const* a, float const* b) {
        for (std::size_t i = 0; i < n; ++i) {
          same = same && std::bit_cast<std::uint32_t>(a[i]) == std::bit_cast<std::uint32_t>(b[i]);
        }
      },
      net, ctrl_model::weights);
  return same;
#else
  return false;
#endif
}

}  // namespace

int main(int argc, char** argv) {
  float holdout = 0;
  ctrl::net_t net;
  std::string const text = generate(holdout, net);
  embedded::header_action done{};
  int const status =
      embedded::header_file_command("export_weights", "ctrl_weights.hpp", text, argc, argv, done);
  if (status != 0 || done == embedded::header_action::printed) return status;
  std::printf("held-out loss %.6f\n", static_cast<double>(holdout));
  if (done == embedded::header_action::written) return 0;
  if (!compiled_weights_match(net)) {
    std::fprintf(stderr,
                 "export_weights: ctrl_weights.hpp is up to date, but this program was compiled "
                 "with another version of it, or its numbers do not read back exactly\n");
    return 1;
  }
  std::printf("ctrl_weights.hpp is up to date and reads back bit for bit\n");
  return 0;
}
