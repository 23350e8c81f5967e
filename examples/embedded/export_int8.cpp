// SPDX-License-Identifier: BSL-1.0
// Quantizes the host-trained ctrl network (ctrl_weights.hpp) to int8 with propel::quantize,
// calibrated on 256 samples of the ctrl task, and exports it as ctrl_int8_weights.hpp: the
// int8 network as constexpr data (in the firmware's flash), probe inputs, and the int8 and
// float outputs the host computes for them. The Cortex-M4 program (int8_device.cpp) checks
// that its outputs are bit-identical to these.
//
//   export_int8                 regenerate in memory and compare with ./ctrl_int8_weights.hpp
//                               (exit status 1 if they differ: the header is stale)
//   export_int8 --write [FILE]  write the header (default ./ctrl_int8_weights.hpp)
//   export_int8 --print         write it to stdout
//
// Calibration runs the float network in float with -ffp-contract=off, like export_weights,
// so every compiler and build type produces the same bits.
#include <cstdint>
#include <cstdio>
#include <propel/io/export_header.hpp>
#include <propel/propel.hpp>
#include <sstream>
#include <string>

#include "ctrl_task.hpp"
#include "ctrl_weights.hpp"
#include "header_file.hpp"

namespace {

constexpr std::uint32_t calibration_seed = 0x51ED270Bu;
constexpr std::size_t calibration_samples = 256;
constexpr std::size_t probes = ctrl_model::probe_inputs.rows;

std::string generate(float& float_loss, float& int8_loss) {
  ctrl::stream s{calibration_seed};
  static propel::mat<float, calibration_samples, ctrl::inputs> x;
  static propel::mat<float, calibration_samples, ctrl::outputs> y;
  ctrl::draw(s, x, y);
  auto const q = propel::quantize(ctrl_model::weights, x);
  if (!q) {
    std::fprintf(stderr, "export_int8: quantization failed (a value is not finite)\n");
    return {};
  }
  propel::mat<std::int8_t, probes, ctrl::inputs> probe_q;
  propel::mat<std::int8_t, probes, ctrl::outputs> probe_int8;
  propel::mat<float, probes, ctrl::outputs> probe_float;
  for (std::size_t r = 0; r < probes; ++r) {
    propel::vec<float, ctrl::inputs> sample;
    for (std::size_t j = 0; j < ctrl::inputs; ++j) sample[j] = ctrl_model::probe_inputs(r, j);
    auto const xq = q->quantize_input(sample);
    auto const yq = (*q)(xq);
    auto const yf = (*q)(sample);
    for (std::size_t j = 0; j < ctrl::inputs; ++j) probe_q(r, j) = xq[j];
    for (std::size_t k = 0; k < ctrl::outputs; ++k) {
      probe_int8(r, k) = yq[k];
      probe_float(r, k) = yf[k];
    }
  }
  float_loss = ctrl::holdout_loss(ctrl_model::weights);
  int8_loss = ctrl::holdout_loss(*q);

  std::ostringstream out;
  {
    propel::cpp_header_writer h(
        out, "ctrl_int8_model",
        "The ctrl network of ctrl_weights.hpp quantized to int8 by\n"
        "examples/embedded/export_int8.cpp (propel::quantize, calibrated on " +
            std::to_string(calibration_samples) +
            " samples of the ctrl task).\nRegenerate: export_int8 --write");
    h.network("weights", *q);
    h.tensor("probe_inputs", probe_q,
             "ctrl_model::probe_inputs quantized (weights.quantize_input), one sample per row.");
    h.tensor("probe_outputs", probe_int8,
             "weights(x) for each row x of probe_inputs, int8, computed on the host: the device "
             "must match every bit.");
    h.tensor("probe_float_outputs", probe_float,
             "weights(x) for each row x of ctrl_model::probe_inputs, float in and out (quantize, "
             "int8 network, dequantize), computed on the host.");
    h.tensor("holdout_loss", propel::vec<float, 1>{int8_loss},
             "ctrl::holdout_loss(weights), computed on the host.");
  }
  return out.str();
}

}  // namespace

int main(int argc, char** argv) {
  float float_loss = 0;
  float int8_loss = 0;
  std::string const text = generate(float_loss, int8_loss);
  if (text.empty()) return 1;
  embedded::header_action done{};
  int const status =
      embedded::header_file_command("export_int8", "ctrl_int8_weights.hpp", text, argc, argv, done);
  if (status != 0 || done == embedded::header_action::printed) return status;
  std::printf("held-out loss: float %.6f, int8 %.6f\n", static_cast<double>(float_loss),
              static_cast<double>(int8_loss));
  if (done == embedded::header_action::checked) {
    std::printf("ctrl_int8_weights.hpp is up to date\n");
  }
  return status;
}
