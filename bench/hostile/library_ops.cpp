// SPDX-License-Identifier: BSL-1.0
/// \file The library peers found by the build (LIBXSMM, oneDNN, LibTorch) behind function
/// pointers (see ops.hpp); their own code lives in bench/baselines/*_mlp.cpp.
#include "adapter.hpp"

namespace bench::hostile {

std::vector<peer> library_ops() {
  std::vector<peer> found;
#ifdef PROPEL_BENCH_XSMM
  found.push_back(peer_of<xsmm_peer>("libxsmm"));
#endif
#ifdef PROPEL_BENCH_DNNL
  found.push_back(peer_of<dnnl_peer>("onednn"));
#endif
#ifdef PROPEL_BENCH_TORCH
  found.push_back(peer_of<torch_peer>("libtorch"));
#endif
  return found;
}

}  // namespace bench::hostile
