// SPDX-License-Identifier: BSL-1.0
/// \file The same MLP on LIBXSMM: every product of the forward and backward passes is a
/// JIT-generated small GEMM (libxsmm_smmdispatch, dispatched once per shape at construction
/// for one sample and for a batch); bias, activations, loss and the SGD update are plain
/// loops. The interface carries no LIBXSMM type, so only bench/baselines/xsmm_mlp.cpp sees
/// its headers.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "../common.hpp"

namespace bench {

class xsmm_mlp {
 public:
  /// widths: input first; acts: one per layer. Kernels exist for 1 and `batch` rows.
  xsmm_mlp(std::vector<std::size_t> widths, std::vector<act> acts, loss_kind loss, float lr);
  ~xsmm_mlp();
  xsmm_mlp(xsmm_mlp const&) = delete;
  xsmm_mlp& operator=(xsmm_mlp const&) = delete;

  /// PyTorch-ordered parameters: W0 [out][in] row-major, b0, W1, ...
  void load(float const* params);
  void store(float* params) const;
  /// `rows` samples, one per row; y receives rows x outputs.
  void infer(float const* x, std::size_t rows, float* y);
  /// One SGD step on `rows` samples (MSE targets or labels); returns the loss.
  float train(float const* x, std::size_t rows, float const* y, int const* labels);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace bench
