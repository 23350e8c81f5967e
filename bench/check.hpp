// SPDX-License-Identifier: BSL-1.0
/// \file The check run before any timing: a peer must compute what propel computes (same
/// weights, same inputs, same SGD step). Free of propel and of every peer's types, so that
/// the hostile-caller harness can run it on peers it reaches only through function pointers.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "common.hpp"

namespace bench {

/// Largest |a - b| / max(|a|, |b|, floor) over n values.
inline double max_rel_error(float const* a, float const* b, std::size_t n, double floor) {
  double worst = 0;
  for (std::size_t i = 0; i < n; ++i) {
    double const x = a[i], y = b[i];
    double const scale = std::max({std::abs(x), std::abs(y), floor});
    worst = std::max(worst, std::abs(x - y) / scale);
  }
  return worst;
}

/// Checks `peer` against `ref` (propel), both loaded with `initial` plus a fixed random
/// offset of every parameter (so that the biases, zero at initialisation, are not): outputs
/// of one sample and of one batch, and one SGD step of each (loss and updated weights) must
/// agree to 1e-4 (relative); the updates themselves (lr g) to 1e-3 of the largest update, so
/// that a wrong gradient cannot hide behind the weights. Stops the program with a message if
/// not.
template <class Ref, class Peer>
void check_against(Ref& ref, Peer& peer, std::vector<float> const& initial, std::size_t outputs,
                   char const* workload_name, char const* peer_name) {
  std::vector<float> p0 = initial;
  rng r{2024};
  for (auto& v : p0) v += r.uniform(-0.01f, 0.01f);
  constexpr double tol = 1e-4;
  auto fail = [&](char const* what, double err) {
    std::fprintf(stderr,
                 "bench: %s disagrees with propel on %s/%s (max relative error %.3g > %.0e); "
                 "not timing a peer that computes something else\n",
                 peer_name, workload_name, what, err, tol);
    std::exit(1);
  };
  ref.load(p0.data());
  peer.load(p0.data());
  // outputs of one sample and of one batch; floor: outputs are O(1)
  if (double e = max_rel_error(ref.infer1(3), peer.infer1(3), outputs, 1e-2); e > tol)
    fail("infer1", e);
  if (double e = max_rel_error(ref.infer32(1), peer.infer32(1), batch * outputs, 1e-2); e > tol)
    fail("infer32", e);
  std::vector<float> a(p0.size()), b(p0.size());
  auto check_step = [&](char const* what, auto step) {
    ref.load(p0.data());
    peer.load(p0.data());
    float const la = step(ref), lb = step(peer);
    ref.store(a.data());
    peer.store(b.data());
    if (double e = max_rel_error(&la, &lb, 1, 1e-2); e > tol) fail(what, e);
    if (double e = max_rel_error(a.data(), b.data(), a.size(), 1e-2); e > tol) fail(what, e);
    double big = 0, worst = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      big = std::max(big, std::abs(double(a[i]) - p0[i]));
      worst = std::max(worst, std::abs(double(a[i]) - double(b[i])));
    }
    if (big == 0 || worst > 1e-3 * big) fail(what, big == 0 ? 1.0 : worst / big);
  };
  check_step("train1", [](auto& p) { return p.train1(5); });
  check_step("train32", [](auto& p) { return p.train32(2); });
}

}  // namespace bench
