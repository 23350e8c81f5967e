// SPDX-License-Identifier: BSL-1.0
/// \file The same MLP in LibTorch: torch::nn::Sequential of Linear layers and activations,
/// one intra-op thread, NoGradGuard for inference, torch::optim::SGD for the update. The
/// interface carries no Torch type, so only bench/baselines/torch_mlp.cpp sees Torch's
/// headers.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "../common.hpp"

namespace bench {

class torch_mlp {
 public:
  /// widths: input first; acts: one per layer.
  torch_mlp(std::vector<std::size_t> widths, std::vector<act> acts, loss_kind loss, float lr);
  ~torch_mlp();
  torch_mlp(torch_mlp const&) = delete;
  torch_mlp& operator=(torch_mlp const&) = delete;

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
