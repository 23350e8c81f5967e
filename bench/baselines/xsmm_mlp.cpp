// SPDX-License-Identifier: BSL-1.0
#include "xsmm_mlp.hpp"

#include <libxsmm.h>

#include <array>
#include <cmath>
#include <stdexcept>
#include <string>

#include "loss_loops.hpp"

namespace bench {

// LIBXSMM is column-major and its JIT (1.17) has no transposed A, alpha = 1 and beta 0 or 1.
// So the weights are kept as W (out x in, column-major), activations as (width x rows) with
// one sample per column (the row-major rows x width of the caller), and every product is
// written without a transposed A:
//   forward        Z  (out x r)  = W (out x in) · A (in x r)                beta 0
//   backward data  Gᵀ (r x in)   = dZᵀ (r x out) · W (out x in)            beta 0
//   weights        W  (out x in) += (-lr dZ) (out x r) · Aᵀ                 beta 1, B transposed
// dZᵀ and -lr dZ are written by the loops that form dZ.
struct xsmm_mlp::impl {
  struct shape_kernels {
    libxsmm_smmfunction forward, down, update;
  };
  struct layer {
    std::size_t in, out;
    act activation;
    std::vector<float> w, b;                 // w column-major out x in
    std::array<shape_kernels, 2> kernels{};  // for 1 row, for `batch` rows
  };
  std::vector<layer> layers;
  loss_kind loss;
  float lr;
  std::vector<std::vector<float>> a;  // activations, (width x rows) each; a[0] unused
  std::vector<float> dz, dzt, scaled, down;

  static libxsmm_smmfunction dispatch(std::size_t m, std::size_t n, std::size_t k, std::size_t lda,
                                      std::size_t ldb, std::size_t ldc, float beta, int flags) {
    auto const i = [](std::size_t v) { return static_cast<libxsmm_blasint>(v); };
    libxsmm_blasint const la = i(lda), lb = i(ldb), lc = i(ldc);
    float const alpha = 1.0f;
    libxsmm_smmfunction f =
        libxsmm_smmdispatch(i(m), i(n), i(k), &la, &lb, &lc, &alpha, &beta, &flags, nullptr);
    if (f == nullptr)
      throw std::runtime_error("LIBXSMM has no JIT kernel for m=" + std::to_string(m) +
                               " n=" + std::to_string(n) + " k=" + std::to_string(k) +
                               " flags=" + std::to_string(flags));
    return f;
  }
  static std::size_t slot(std::size_t rows) {
    if (rows == 1) return 0;
    if (rows == batch) return 1;
    throw std::invalid_argument("xsmm_mlp: kernels exist for 1 and " + std::to_string(batch) +
                                " rows only");
  }

  float const* forward(float const* x, std::size_t rows) {
    auto const s = slot(rows);
    float const* in = x;
    for (std::size_t l = 0; l < layers.size(); ++l) {
      auto& L = layers[l];
      float* z = a[l + 1].data();
      L.kernels[s].forward(L.w.data(), in, z);
      for (std::size_t c = 0; c < rows; ++c) {
        float* zc = z + c * L.out;
        float const* b = L.b.data();
        if (L.activation == act::relu) {
          for (std::size_t o = 0; o < L.out; ++o) zc[o] = std::max(zc[o] + b[o], 0.0f);
        } else if (L.activation == act::tanh) {
          for (std::size_t o = 0; o < L.out; ++o) zc[o] = std::tanh(zc[o] + b[o]);
        } else {
          for (std::size_t o = 0; o < L.out; ++o) zc[o] += b[o];
        }
      }
      in = z;
    }
    return in;
  }
};

xsmm_mlp::xsmm_mlp(std::vector<std::size_t> widths, std::vector<act> acts, loss_kind loss, float lr)
    : impl_(std::make_unique<impl>()) {
  libxsmm_init();
  // LIBXSMM's JIT generates code for the core it runs on, whatever the build's -march: a
  // build without AVX-512 (x86-64-v3) caps it at AVX2, so every peer of such a build uses the
  // same instruction set
#if defined(__x86_64__) && !defined(__AVX512F__)
  if (libxsmm_get_target_archid() > LIBXSMM_X86_AVX2) libxsmm_set_target_archid(LIBXSMM_X86_AVX2);
  if (libxsmm_get_target_archid() > LIBXSMM_X86_AVX2)
    throw std::runtime_error("xsmm_mlp: could not limit LIBXSMM's JIT to AVX2");
#endif
  auto& m = *impl_;
  m.loss = loss;
  m.lr = lr;
  std::size_t widest = 0;
  for (std::size_t l = 0; l + 1 < widths.size(); ++l) {
    impl::layer L{widths[l], widths[l + 1], acts[l], {}, {}, {}};
    L.w.resize(L.in * L.out);
    L.b.resize(L.out);
    for (std::size_t s = 0; s < 2; ++s) {
      std::size_t const r = s == 0 ? 1 : batch;
      L.kernels[s].forward = impl::dispatch(L.out, r, L.in, L.out, L.in, L.out, 0.0f, 0);
      if (l > 0) L.kernels[s].down = impl::dispatch(r, L.in, L.out, r, L.out, r, 0.0f, 0);
      L.kernels[s].update =
          impl::dispatch(L.out, L.in, r, L.out, L.in, L.out, 1.0f, LIBXSMM_GEMM_FLAG_TRANS_B);
    }
    m.layers.push_back(std::move(L));
  }
  for (std::size_t w : widths) {
    m.a.emplace_back(w * batch);
    widest = std::max(widest, w);
  }
  m.dz.resize(widest * batch);
  m.dzt.resize(widest * batch);
  m.scaled.resize(widest * batch);
  m.down.resize(widest * batch);
}

xsmm_mlp::~xsmm_mlp() = default;

void xsmm_mlp::load(float const* p) {
  for (auto& L : impl_->layers) {
    for (std::size_t o = 0; o < L.out; ++o)
      for (std::size_t i = 0; i < L.in; ++i) L.w[i * L.out + o] = *p++;
    for (std::size_t o = 0; o < L.out; ++o) L.b[o] = *p++;
  }
}

void xsmm_mlp::store(float* p) const {
  for (auto const& L : impl_->layers) {
    for (std::size_t o = 0; o < L.out; ++o)
      for (std::size_t i = 0; i < L.in; ++i) *p++ = L.w[i * L.out + o];
    for (std::size_t o = 0; o < L.out; ++o) *p++ = L.b[o];
  }
}

void xsmm_mlp::infer(float const* x, std::size_t rows, float* y) {
  float const* z = impl_->forward(x, rows);
  std::copy(z, z + rows * impl_->layers.back().out, y);
}

float xsmm_mlp::train(float const* x, std::size_t rows, float const* y, int const* labels) {
  auto& m = *impl_;
  auto const s = impl::slot(rows);
  float const* z = m.forward(x, rows);
  std::size_t const depth = m.layers.size();
  float const loss =
      loss_and_gradient(m.loss, z, m.layers.back().out, rows, y, labels, m.dz.data());
  for (std::size_t l = depth; l-- > 0;) {
    auto& L = m.layers[l];
    float const* dz = m.dz.data();  // out x rows
    float* dzt = m.dzt.data();      // rows x out
    float* scaled = m.scaled.data();
    for (std::size_t c = 0; c < rows; ++c)
      for (std::size_t o = 0; o < L.out; ++o) {
        float const d = dz[c * L.out + o];
        dzt[o * rows + c] = d;
        scaled[c * L.out + o] = -m.lr * d;
      }
    if (l > 0) L.kernels[s].down(dzt, L.w.data(), m.down.data());  // W before its update
    float const* input = l == 0 ? x : m.a[l].data();
    L.kernels[s].update(scaled, input, L.w.data());
    for (std::size_t c = 0; c < rows; ++c)
      for (std::size_t o = 0; o < L.out; ++o) L.b[o] += scaled[c * L.out + o];
    if (l > 0) {
      // dz of the layer below: (Wᵀ dz)ᵀ back to one sample per column, times act'(a)
      float const* down = m.down.data();
      float const* al = m.a[l].data();
      float* next = m.dz.data();
      act const below = m.layers[l - 1].activation;
      for (std::size_t c = 0; c < rows; ++c)
        for (std::size_t i = 0; i < L.in; ++i) {
          float const g = down[i * rows + c], v = al[c * L.in + i];
          next[c * L.in + i] = below == act::relu   ? (v > 0.0f ? g : 0.0f)
                               : below == act::tanh ? g * (1.0f - v * v)
                                                    : g;
        }
    }
  }
  return loss;
}

}  // namespace bench
