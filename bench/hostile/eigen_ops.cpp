// SPDX-License-Identifier: BSL-1.0
/// \file The hand-written Eigen network behind function pointers (see ops.hpp).
#include "adapter.hpp"

namespace bench::hostile {

peer eigen_ops() { return peer_of<eigen_peer>("eigen"); }

}  // namespace bench::hostile
