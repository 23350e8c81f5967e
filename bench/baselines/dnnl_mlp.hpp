// SPDX-License-Identifier: BSL-1.0
/// \file The same MLP on oneDNN: inner_product forward, backward-data and backward-weights
/// primitives and eltwise forward/backward primitives for the activations, all created once
/// at construction for one sample and for a batch, plain row-major (nc / oi) memory, one
/// thread; the loss and the SGD update are plain loops. The interface carries no oneDNN
/// type, so only bench/baselines/dnnl_mlp.cpp sees its headers.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "../common.hpp"

namespace bench {

class dnnl_mlp {
 public:
  /// widths: input first; acts: one per layer. Primitives exist for 1 and `batch` rows.
  dnnl_mlp(std::vector<std::size_t> widths, std::vector<act> acts, loss_kind loss, float lr);
  ~dnnl_mlp();
  dnnl_mlp(dnnl_mlp const&) = delete;
  dnnl_mlp& operator=(dnnl_mlp const&) = delete;

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
