// SPDX-License-Identifier: BSL-1.0
/// \file The ctrl network written as plain nested loops, the way one writes it by hand in a
/// few minutes: the baselines that device.cpp counts beside propel on the Cortex-M4.
///
///  - infer<1>: one output row at a time, a dot product over the inputs, then bias and relu;
///  - infer<4>: four output rows at a time, each input loaded once for the four rows;
///  - sgd_step: one sample of SGD with momentum under the mean squared error (forward,
///    backward and update), over arrays of floats, as PyTorch defines the step.
///
/// Every dot product is summed in the plain order p = 0, 1, ... and the bias added last, as
/// propel sums a forward pass: the outputs are propel's, bit for bit (device.cpp checks).
#pragma once

#include <cstddef>

namespace plain {

/// One layer's weights (Out x In, row-major) and bias, as plain pointers.
struct layer {
  float const* w;
  float const* b;
};

/// y = act(W x + b), one output row at a time.
template <std::size_t Out, std::size_t In, bool Relu>
inline void dense_rows1(layer l, float const* x, float* y) {
  for (std::size_t o = 0; o < Out; ++o) {
    float s = 0.0f;
    for (std::size_t p = 0; p < In; ++p) s += l.w[o * In + p] * x[p];
    float const z = s + l.b[o];
    y[o] = Relu && z < 0.0f ? 0.0f : z;
  }
}

/// y = act(W x + b), four output rows at a time (Out a multiple of 4), each x[p] loaded once
/// for the four.
template <std::size_t Out, std::size_t In, bool Relu>
inline void dense_rows4(layer l, float const* x, float* y) {
  static_assert(Out % 4 == 0);
  for (std::size_t o = 0; o < Out; o += 4) {
    float const* w = l.w + o * In;
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    for (std::size_t p = 0; p < In; ++p) {
      float const xp = x[p];
      s0 += w[p] * xp;
      s1 += w[In + p] * xp;
      s2 += w[2 * In + p] * xp;
      s3 += w[3 * In + p] * xp;
    }
    float const z[4] = {s0 + l.b[o], s1 + l.b[o + 1], s2 + l.b[o + 2], s3 + l.b[o + 3]};
    for (std::size_t r = 0; r < 4; ++r) y[o + r] = Relu && z[r] < 0.0f ? 0.0f : z[r];
  }
}

/// y = act(W x + b), R (1 or 4) output rows at a time.
template <std::size_t R, std::size_t Out, std::size_t In, bool Relu>
inline void dense(layer l, float const* x, float* y) {
  static_assert(R == 1 || R == 4);
  if constexpr (R == 1) {
    dense_rows1<Out, In, Relu>(l, x, y);
  } else {
    dense_rows4<Out, In, Relu>(l, x, y);
  }
}

/// The ctrl network's output for one input (16 -> 32 relu -> 32 relu -> 4), R rows at a time.
template <std::size_t R>
inline void infer(layer const (&net)[3], float const* x, float* y) {
  float h1[32];
  float h2[32];
  dense<R, 32, 16, true>(net[0], x, h1);
  dense<R, 32, 32, true>(net[1], h1, h2);
  dense<R, 4, 32, false>(net[2], h2, y);
}

/// The parameters and momentum buffers of a network trained by sgd_step.
struct trainable {
  float w1[32 * 16], b1[32], w2[32 * 32], b2[32], w3[4 * 32], b3[4];
  float v_w1[32 * 16], v_b1[32], v_w2[32 * 32], v_b2[32], v_w3[4 * 32], v_b3[4];
};

/// v = momentum v + g; p -= lr v (torch.optim.SGD after its first step, no dampening).
inline void update(float* p, float* v, float g, float lr, float momentum) {
  *v = momentum * *v + g;
  *p -= lr * *v;
}

/// One SGD step with momentum on one sample (x, target) under the mean squared error;
/// returns the loss before the step.
inline float sgd_step(trainable& n, float const* x, float const* target, float lr, float momentum) {
  float h1[32], h2[32], y[4];
  dense<1, 32, 16, true>({n.w1, n.b1}, x, h1);
  dense<1, 32, 32, true>({n.w2, n.b2}, h1, h2);
  dense<1, 4, 32, false>({n.w3, n.b3}, h2, y);
  float loss = 0.0f;
  float dy[4];
  for (std::size_t k = 0; k < 4; ++k) {
    float const e = y[k] - target[k];
    loss += e * e;
    dy[k] = 2.0f * e / 4.0f;
  }
  // layer 3: dh2 = W3ᵀ dy (before W3 moves), then W3 and b3
  float dh2[32] = {};
  for (std::size_t k = 0; k < 4; ++k) {
    for (std::size_t j = 0; j < 32; ++j) dh2[j] += n.w3[k * 32 + j] * dy[k];
  }
  for (std::size_t k = 0; k < 4; ++k) {
    for (std::size_t j = 0; j < 32; ++j) {
      update(&n.w3[k * 32 + j], &n.v_w3[k * 32 + j], dy[k] * h2[j], lr, momentum);
    }
    update(&n.b3[k], &n.v_b3[k], dy[k], lr, momentum);
  }
  // layer 2: through relu, dh1 = W2ᵀ dz2, then W2 and b2
  float dh1[32] = {};
  for (std::size_t i = 0; i < 32; ++i) {
    float const dz = h2[i] > 0.0f ? dh2[i] : 0.0f;
    for (std::size_t j = 0; j < 32; ++j) dh1[j] += n.w2[i * 32 + j] * dz;
    for (std::size_t j = 0; j < 32; ++j) {
      update(&n.w2[i * 32 + j], &n.v_w2[i * 32 + j], dz * h1[j], lr, momentum);
    }
    update(&n.b2[i], &n.v_b2[i], dz, lr, momentum);
  }
  // layer 1: through relu, W1 and b1
  for (std::size_t i = 0; i < 32; ++i) {
    float const dz = h1[i] > 0.0f ? dh1[i] : 0.0f;
    for (std::size_t j = 0; j < 16; ++j) {
      update(&n.w1[i * 16 + j], &n.v_w1[i * 16 + j], dz * x[j], lr, momentum);
    }
    update(&n.b1[i], &n.v_b1[i], dz, lr, momentum);
  }
  return loss / 4.0f;
}

}  // namespace plain
