// SPDX-License-Identifier: BSL-1.0
/// \file propel behind function pointers (see ops.hpp), and the workloads' descriptions.
#include "adapter.hpp"

namespace bench::hostile {

namespace {
template <class W>
workload_info info() {
  return {W::name, W::outputs, W::flops, W::training_flops, [] { return initial_params<W>(); }};
}
}  // namespace

std::array<workload_info, workload_count> workloads() {
  return {info<tiny>(), info<ctrl>(), info<digits>(), info<mnist>()};
}

peer propel_ops() { return peer_of<propel_peer>("propel"); }

}  // namespace bench::hostile
