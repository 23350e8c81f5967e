// SPDX-License-Identifier: BSL-1.0
/// \file The losses as plain loops, for the peers whose libraries have no loss (LIBXSMM,
/// oneDNN): mean-reduced MSE and softmax cross-entropy, value and gradient with respect to
/// the network's output, one sample after the other (rows x outputs, a sample contiguous).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "../common.hpp"

namespace bench {

/// Writes d loss / d z into dz and returns the loss. y: MSE targets; labels: class indices.
inline float loss_and_gradient(loss_kind loss, float const* z, std::size_t outputs,
                               std::size_t rows, float const* y, int const* labels, float* dz) {
  float total = 0;
  if (loss == loss_kind::mse) {
    float const scale = 2.0f / static_cast<float>(outputs * rows);
    for (std::size_t i = 0; i < outputs * rows; ++i) {
      float const e = z[i] - y[i];
      total += e * e;
      dz[i] = scale * e;
    }
    return total / static_cast<float>(outputs * rows);
  }
  float const scale = 1.0f / static_cast<float>(rows);
  for (std::size_t r = 0; r < rows; ++r) {
    float const* zr = z + r * outputs;
    float* dr = dz + r * outputs;
    float const top = *std::max_element(zr, zr + outputs);
    float sum = 0;
    for (std::size_t o = 0; o < outputs; ++o) sum += (dr[o] = std::exp(zr[o] - top));
    auto const label = static_cast<std::size_t>(labels[r]);
    total += std::log(sum) + top - zr[label];
    for (std::size_t o = 0; o < outputs; ++o) dr[o] *= scale / sum;
    dr[label] -= scale;
  }
  return total * scale;
}

}  // namespace bench
