// SPDX-License-Identifier: BSL-1.0
/// \file The "ctrl" network (16 -> 32 relu -> 32 relu -> 4, MSE) and the regression task it
/// learns on the device and on the host: a fixed linear-plus-nonlinear map of 16 inputs to 4
/// outputs, sampled from a deterministic stream. Integer arithmetic only for the stream and
/// no libm anywhere, so the host and a Cortex-M4 see the same bits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <propel/propel.hpp>

namespace ctrl {

using net_t = propel::mlp<float, propel::input<16>, propel::dense<32, propel::relu>,
                          propel::dense<32, propel::relu>, propel::dense<4>>;

inline constexpr std::size_t inputs = net_t::input_size;
inline constexpr std::size_t outputs = net_t::output_size;

/// A network object is its parameters and nothing else (up to the block's alignment).
static_assert(sizeof(net_t) == (net_t::param_count * sizeof(float) + alignof(net_t) - 1) /
                                   alignof(net_t) * alignof(net_t),
              "an inference-only network must be no larger than its parameters");
static_assert(net_t::param_count == 16 * 32 + 32 + 32 * 32 + 32 + 32 * 4 + 4);

/// xorshift32 (Marsaglia): a tiny integer generator, the same bits on every target.
struct stream {
  std::uint32_t state;

  constexpr std::uint32_t next() noexcept {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
  }
  /// Uniform in [-1, 1), a multiple of 2^-23: exact in float.
  constexpr float symmetric() noexcept {
    return static_cast<float>(static_cast<std::int32_t>(next() >> 8) - (1 << 23)) * 0x1.0p-23f;
  }
};

/// The coefficient of input j in output k of the linear part: in [-0.5, 0.5), from a hash.
constexpr float coefficient(std::size_t k, std::size_t j) noexcept {
  std::uint32_t h = static_cast<std::uint32_t>(k * inputs + j + 1) * 2654435761u;
  h ^= h >> 15;
  return static_cast<float>(static_cast<std::int32_t>(h >> 16) - 32768) * 0x1.0p-16f;
}

/// The map to learn: y_k = sum_j a_kj x_j + x_k x_(k+4) / 2 + |x_(k+8)| / 2 - 1/4.
template <class X, class Y>
constexpr void target(X const& x, Y&& y) noexcept {
  for (std::size_t k = 0; k < outputs; ++k) {
    float s = 0.0f;
    for (std::size_t j = 0; j < inputs; ++j) s += coefficient(k, j) * x[j];
    float const a = x[k + 8] < 0.0f ? -x[k + 8] : x[k + 8];
    y[k] = s + 0.5f * x[k] * x[k + 4] + 0.5f * a - 0.25f;
  }
}

/// Draws a batch of B samples (one per row) and their targets from the stream.
template <std::size_t B>
constexpr void draw(stream& s, propel::mat<float, B, inputs>& x,
                    propel::mat<float, B, outputs>& y) noexcept {
  for (std::size_t b = 0; b < B; ++b) {
    for (std::size_t j = 0; j < inputs; ++j) x(b, j) = s.symmetric();
    target(x.row(b), y.row(b));
  }
}

/// Seeds: the device's training stream, the held-out set, and the probe inputs whose outputs
/// the host writes into the weights header.
inline constexpr std::uint32_t train_seed = 0x2545F491u;
inline constexpr std::uint32_t holdout_seed = 0x9E3779B9u;
inline constexpr std::uint32_t probe_seed = 0x1234567u;
inline constexpr std::uint64_t init_seed = 2024;

/// The mean squared error of `net` on `n` held-out samples, evaluated one sample at a time
/// (the way a controller runs it).
template <class Net>
constexpr float holdout_loss(Net const& net, std::size_t n = 64) noexcept {
  stream s{holdout_seed};
  propel::vec<float, inputs> x;
  propel::vec<float, outputs> y;
  float total = 0.0f;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < inputs; ++j) x[j] = s.symmetric();
    target(x, y);
    propel::vec<float, outputs> const p = net(x);
    for (std::size_t k = 0; k < outputs; ++k) total += (p[k] - y[k]) * (p[k] - y[k]);
  }
  return total / static_cast<float>(n * outputs);
}

}  // namespace ctrl
