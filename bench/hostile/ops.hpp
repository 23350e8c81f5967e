// SPDX-License-Identifier: BSL-1.0
/// \file The hostile caller's view of a peer: a table of plain function pointers per
/// workload, filled in the peer's own translation unit (propel_ops.cpp, eigen_ops.cpp,
/// library_ops.cpp) and called from main.cpp, which sees no peer's code and so can inline
/// nothing of it into its timing loops.
#pragma once

#include <array>
#include <cstddef>
#include <vector>

namespace bench::hostile {

inline constexpr std::size_t workload_count = 4;  // tiny, ctrl, digits, mnist

/// One peer on one workload. `self` is what make() returned; i is a sample (infer1,
/// train1) or a batch (infer32, train32) of the workload's data set.
struct ops {
  void* (*make)(float lr);
  void (*destroy)(void* self);
  void (*load)(void* self, float const* params);
  void (*store)(void const* self, float* params);
  float const* (*infer1)(void* self, std::size_t i);
  float const* (*infer32)(void* self, std::size_t i);
  float (*train1)(void* self, std::size_t i);
  float (*train32)(void* self, std::size_t i);
};

struct peer {
  char const* name;
  std::array<ops, workload_count> on;  // in the order of workloads()
};

struct workload_info {
  char const* name;
  std::size_t outputs;
  double flops;                     // forward FLOPs of one sample
  double training_flops;            // a training step's FLOPs per sample (bench::train_flops)
  std::vector<float> (*initial)();  // propel's initial parameters (PyTorch order)
};

std::array<workload_info, workload_count> workloads();  // propel_ops.cpp
peer propel_ops();                                      // propel_ops.cpp
peer eigen_ops();                                       // eigen_ops.cpp
std::vector<peer> library_ops();  // library_ops.cpp: those of LIBXSMM, oneDNN, LibTorch built

}  // namespace bench::hostile
