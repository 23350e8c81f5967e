// SPDX-License-Identifier: BSL-1.0
/// \file Turns a peer of bench/peers.hpp into the function-pointer table of ops.hpp.
/// Included only by the peers' translation units, never by main.cpp.
#pragma once

#include <array>

#include "../peers.hpp"
#include "ops.hpp"

namespace bench::hostile {

template <template <class> class Peer, class W>
ops ops_of() {
  using P = Peer<W>;
  return {
      [](float lr) -> void* { return new P(data<W>(), lr); },
      [](void* self) { delete static_cast<P*>(self); },
      [](void* self, float const* p) { static_cast<P*>(self)->load(p); },
      [](void const* self, float* p) { static_cast<P const*>(self)->store(p); },
      [](void* self, std::size_t i) { return static_cast<P*>(self)->infer1(i); },
      [](void* self, std::size_t i) { return static_cast<P*>(self)->infer32(i); },
      [](void* self, std::size_t i) { return static_cast<P*>(self)->train1(i); },
      [](void* self, std::size_t i) { return static_cast<P*>(self)->train32(i); },
  };
}

template <template <class> class Peer>
peer peer_of(char const* name) {
  return {
      name,
      {ops_of<Peer, tiny>(), ops_of<Peer, ctrl>(), ops_of<Peer, digits>(), ops_of<Peer, mnist>()}};
}

}  // namespace bench::hostile
