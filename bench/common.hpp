// SPDX-License-Identifier: BSL-1.0
/// \file The benchmark workloads (DESIGN.md), their data sets and FLOP counts, shared by
/// propel and every baseline. Baselines see only the plain description here (widths,
/// activations, loss), never a propel type.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <tuple>
#include <utility>
#include <vector>

namespace bench {

enum class act { identity, relu, tanh };
enum class loss_kind { mse, softmax_ce };

/// A dense layer of a baseline network: Out outputs, activation A.
template <std::size_t Out, act A>
struct layer {
  static constexpr std::size_t out = Out;
  static constexpr act activation = A;
};

inline constexpr std::size_t batch = 32;      // the batch of infer32 / train32
inline constexpr std::size_t samples = 256;   // distinct samples cycled through while timing
inline constexpr float timing_lr = 1e-3f;     // plain SGD while timing
inline constexpr float check_lr = 0.1f;       // plain SGD while checking a peer

/// std::tuple<F<0>, ..., F<N-1>>.
template <class Seq, template <std::size_t> class F>
struct tuple_of;
template <std::size_t... I, template <std::size_t> class F>
struct tuple_of<std::index_sequence<I...>, F> {
  using type = std::tuple<F<I>...>;
};
template <std::size_t N, template <std::size_t> class F>
using tuple_of_t = typename tuple_of<std::make_index_sequence<N>, F>::type;

/// Forward FLOPs of one sample: 2 Σ in·out.
template <std::size_t In, class... Layers>
constexpr double forward_flops() {
  double f = 0;
  std::size_t in = In;
  ((f += 2.0 * static_cast<double>(in * Layers::out), in = Layers::out), ...);
  return f;
}

/// The FLOPs of one sample's training step that the products need: the forward pass, dJ/dW of
/// every layer (2 in·out each), and dJ/dx of every layer but the first (a network's input
/// needs no derivative). Element-wise work is not counted.
template <std::size_t In, class First, class... Rest>
constexpr double train_flops() {
  return 3.0 * forward_flops<In, First, Rest...>() - 2.0 * static_cast<double>(In * First::out);
}

/// SplitMix64 then a float in [lo, hi): the same data for every peer.
struct rng {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  float uniform(float lo, float hi) {
    return lo + (hi - lo) * static_cast<float>(next() >> 40) * (1.0f / 16777216.0f);
  }
};

/// The inputs and targets of a workload: `samples` samples, row after row (so samples
/// 32 b .. 32 b + 31 are batch b, one sample per row). MSE targets are floats, one row of
/// `outputs` per sample; cross-entropy targets are integer labels.
struct data_set {
  std::size_t inputs, outputs;
  std::vector<float> x;
  std::vector<float> y;      // MSE targets
  std::vector<int> labels;   // cross-entropy labels

  data_set(std::size_t in, std::size_t out, float lo, float hi, std::uint64_t seed)
      : inputs(in), outputs(out), x(samples * in), y(samples * out), labels(samples) {
    rng r{seed};
    for (auto& v : x) v = r.uniform(lo, hi);
    for (auto& v : y) v = r.uniform(-1.0f, 1.0f);
    for (auto& l : labels) l = static_cast<int>(r.next() % out);
  }
  [[nodiscard]] float const* sample(std::size_t i) const { return x.data() + i * inputs; }
  [[nodiscard]] float const* target(std::size_t i) const { return y.data() + i * outputs; }
  [[nodiscard]] int const* label(std::size_t i) const { return labels.data() + i; }
};

}  // namespace bench
