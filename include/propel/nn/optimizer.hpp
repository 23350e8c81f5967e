// SPDX-License-Identifier: BSL-1.0
/// \file Defines the optimizers sgd, adam and adamw, with PyTorch's update rules.
///
/// An optimizer is a plain aggregate of hyperparameters (doubles, so one value serves float
/// and double networks). `state_count` says how many parameter-sized buffers of state it
/// keeps; `at_step<T>(n)` gives the stepper of update number n (1-based): a small value that
/// moves one parameter element, `s(i, p, g, state)`, so that the update can run inside the
/// backward pass as each derivative is produced (propel::trainer). A stepper may also move a
/// whole block of elements, `s.block<Rows, Cols>(begin, p, f, state)` (see sgd): a kernel that
/// delivers a block (detail::write_block) then gets one loop per block, with the optimizer's
/// options tested once rather than per element. The hyperparameters are
/// rounded to the network's scalar type before use, as PyTorch does for a tensor of that
/// type.
#pragma once

#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <propel/config.hpp>
#include <propel/detail/kernels.hpp>
#include <propel/detail/math.hpp>
#include <propel/expr/detail/vector_elements.hpp>
#include <type_traits>
#if defined(__SSE2__) || defined(__AVX__) || defined(__AVX512F__)
#include <immintrin.h>
#endif
#if defined(__aarch64__)
#include <arm_neon.h>
#endif

namespace propel {

/// torch.optim.SGD: d = g + weight_decay p; with momentum, the buffer starts as the first
/// d and is then momentum buf + d (no dampening); Nesterov uses d + momentum buf; finally
/// p -= lr d. The momentum buffer is reserved even when momentum is 0 (the hyperparameters
/// are run-time values); it is then never touched.
struct sgd {
  double lr = 1e-3;
  double momentum = 0.0;
  bool nesterov = false;
  double weight_decay = 0.0;

  static constexpr std::size_t state_count = 1;  // the momentum buffer

  /// One step of SGD for every element: `s(i, p, g, state)` moves p[i] by the derivative g.
  template <class T>
  struct stepper {
    T lr;
    T weight_decay;
    T momentum;
    bool decays;
    bool has_momentum;
    bool nesterov;
    bool first;
    constexpr void operator()(std::size_t i, T* p, T g,
                              std::array<T*, state_count> const& state) const noexcept {
      move(p[i], state[0], i, g, decays, has_momentum);
    }
    /// The same step for a block of Rows x Cols elements from p[begin], element
    /// begin + r Cols + c by the derivative f(r, c) (f reads neither p nor the state): the
    /// options tested once for the block, not per element, and at run time, where f has a
    /// vector form (with_vector), each row's elements moved a vector at a time.
    template <std::size_t Rows, std::size_t Cols, class F>
    constexpr void block(std::size_t begin, T* p, F const& f,
                         std::array<T*, state_count> const& state) const noexcept {
      if (has_momentum) {
        if (decays) {
          descend<Rows, Cols, true, true>(p + begin, state[0] + begin, f);
        } else {
          descend<Rows, Cols, false, true>(p + begin, state[0] + begin, f);
        }
      } else if (decays) {
        descend<Rows, Cols, true, false>(p + begin, nullptr, f);
      } else {
        descend<Rows, Cols, false, false>(p + begin, nullptr, f);
      }
    }

    /// Runs body(put), put(i, g) moving p[i] by g as operator() does (the same bits), with
    /// the options of the common cases fixed: plain SGD, and momentum after the first step
    /// without Nesterov or weight decay; any other case gets operator() itself. For the
    /// kernels of scalar cores, which deliver short runs (detail::bind_writer).
    template <class Body>
    constexpr void bind(T* p, std::array<T*, state_count> const& state, Body const& body) const {
      stepper const s = *this;
      if (!decays && !has_momentum) {
        body([s, p](std::size_t i, T g) { p[i] = detail::mul_sub(p[i], s.lr, g); });
      } else if (!decays && has_momentum && !first && !nesterov) {
        T* const buf = state[0];
        body([s, p, buf](std::size_t i, T g) {
          T const d = detail::mul_add(g, s.momentum, buf[i]);  // momentum buf + g
          buf[i] = d;
          p[i] = detail::mul_sub(p[i], s.lr, d);
        });
      } else {
        // the rare cases (the first step, Nesterov, weight decay): one call per element, so
        // that the kernel's unrolled loops do not copy the whole rule for each of them
        body([s, p, state](std::size_t i, T g) { s.step_out_of_line(i, p, g, state); });
      }
    }

   private:
    PROPEL_NOINLINE constexpr void step_out_of_line(
        std::size_t i, T* p, T g, std::array<T*, state_count> const& state) const noexcept {
      (*this)(i, p, g, state);
    }
    /// The rule for one element: p -= lr d, where d is g, plus weight_decay p when
    /// with_decay, then run through the momentum buffer buf[i] when with_momentum.
    PROPEL_ALWAYS_INLINE constexpr void move(T& p, T* buf, std::size_t i, T g, bool with_decay,
                                             bool with_momentum) const noexcept {
      T d = with_decay ? g + weight_decay * p : g;
      if (with_momentum) {
        buf[i] = first ? d : momentum * buf[i] + d;
        d = nesterov ? d + momentum * buf[i] : buf[i];
      }
      p -= lr * d;
    }
    /// move for a whole vector of elements p with their momentum buffer b (the same steps).
    template <class P>
    PROPEL_ALWAYS_INLINE void move_lanes(P& p, P& b, P g, bool with_decay,
                                         bool with_momentum) const noexcept {
      P d = with_decay ? g + weight_decay * p : g;
      if (with_momentum) {
        b = first ? d : momentum * b + d;
        d = nesterov ? d + momentum * b : b;
      }
      p -= lr * d;
    }
    /// block with the options fixed: one loop that tests nothing per element.
    template <std::size_t Rows, std::size_t Cols, bool Decays, bool Momentum, class F>
    constexpr void descend(T* PROPEL_RESTRICT p, T* PROPEL_RESTRICT buf,
                           F const& f) const noexcept {
      stepper const s = *this;  // a local copy: the stores through p cannot change it
#ifdef PROPEL_DETAIL_VECTOR_TYPES
      if constexpr (detail::has_vector_adjoint_v<F, T>) {
        if (!std::is_constant_evaluated()) {
          // the derivatives a vector at a time from f's vector form (not gathered lane by
          // lane), each row's last few elements one by one
          using V = detail::simd_t<T>;
          detail::for_each_block_vector<T, Rows, Cols>(
              [=](std::size_t r, std::size_t c) {
                std::size_t const i = r * Cols + c;
                V pv = detail::simd_load(p + i);
                V bv = Momentum ? detail::simd_load(buf + i) : V{};
                s.move_lanes(pv, bv, f.vector(r, c), Decays, Momentum);
                detail::simd_store(p + i, pv);
                if constexpr (Momentum) detail::simd_store(buf + i, bv);
              },
              [=](std::size_t r, std::size_t c) {
                std::size_t const i = r * Cols + c;
                s.move(p[i], buf, i, f(r, c), Decays, Momentum);
              });
          return;
        }
      }
#endif
      detail::for_block<T, Rows, Cols>([=](std::size_t r, std::size_t c) {
        std::size_t const i = r * Cols + c;
        s.move(p[i], buf, i, f(r, c), Decays, Momentum);
      });
    }
  };
  /// The stepper of update number `step` (1 for the first), hyperparameters rounded to T.
  template <class T>
  [[nodiscard]] constexpr stepper<T> at_step(std::uint64_t step) const noexcept {
    return {static_cast<T>(lr),
            static_cast<T>(weight_decay),
            static_cast<T>(momentum),
            weight_decay != 0.0,
            momentum != 0.0,
            nesterov,
            step == 1};
  }
};

namespace detail {

/// The square root of every lane of x, correctly rounded (IEEE 754), as std::sqrt gives
/// for each element: the target's vector instruction where it has one (x86's sqrtps/sqrtpd
/// at every width, AArch64's fsqrt), std::sqrt lane by lane elsewhere.
#ifdef PROPEL_DETAIL_VECTOR_TYPES
template <class T>
PROPEL_ALWAYS_INLINE simd_t<T> simd_sqrt(simd_t<T> x) noexcept {
  using V = simd_t<T>;
  constexpr std::size_t bytes = sizeof(V);
  constexpr bool f32 = std::is_same_v<T, float>;
  constexpr bool f64 = std::is_same_v<T, double>;
#if defined(__AVX512F__)
  // the zero-masked forms with every lane selected: the plain ones start from an undefined
  // vector, which GCC 12 reports as maybe-uninitialized
  if constexpr (bytes == 64 && f32) {
    return std::bit_cast<V>(_mm512_maskz_sqrt_ps(__mmask16(0xffff), std::bit_cast<__m512>(x)));
  }
  if constexpr (bytes == 64 && f64) {
    return std::bit_cast<V>(_mm512_maskz_sqrt_pd(__mmask8(0xff), std::bit_cast<__m512d>(x)));
  }
#endif
#if defined(__AVX__)
  if constexpr (bytes == 32 && f32)
    return std::bit_cast<V>(_mm256_sqrt_ps(std::bit_cast<__m256>(x)));
  if constexpr (bytes == 32 && f64)
    return std::bit_cast<V>(_mm256_sqrt_pd(std::bit_cast<__m256d>(x)));
#endif
#if defined(__SSE2__)
  if constexpr (bytes == 16 && f32) return std::bit_cast<V>(_mm_sqrt_ps(std::bit_cast<__m128>(x)));
  if constexpr (bytes == 16 && f64) return std::bit_cast<V>(_mm_sqrt_pd(std::bit_cast<__m128d>(x)));
#endif
#if defined(__aarch64__)
  if constexpr (bytes == 16 && f32)
    return std::bit_cast<V>(vsqrtq_f32(std::bit_cast<float32x4_t>(x)));
  if constexpr (bytes == 16 && f64)
    return std::bit_cast<V>(vsqrtq_f64(std::bit_cast<float64x2_t>(x)));
#endif
  V r;
  for (std::size_t l = 0; l < bytes / sizeof(T); ++l) r[l] = std::sqrt(x[l]);
  return r;
}
#endif

/// The Adam step shared by adam and adamw, as torch.optim.Adam writes it: bias-corrected
/// moments, eps added after the square root of the corrected second moment; for AdamW the
/// decoupled decay p *= 1 - lr weight_decay comes first.
template <class T>
struct adam_stepper {
  T step_size;
  T bc2_sqrt;
  T one_minus_beta1;
  T beta2;
  T one_minus_beta2;
  T eps;
  T l2;     // weight decay added to the gradient (adam)
  T decay;  // decoupled decay factor (adamw)
  bool has_l2;
  bool decoupled;
  constexpr void operator()(std::size_t i, T* p, T g,
                            std::array<T*, 2> const& state) const noexcept {
    // move's steps, written out: one element at a time (the backward pass of a batch), the
    // options tested per element, as compact as the rule itself
    if (decoupled) p[i] *= decay;
    T const gi = has_l2 ? g + l2 * p[i] : g;
    T& m = state[0][i];
    T& v = state[1][i];
    m += one_minus_beta1 * (gi - m);
    v = v * beta2 + one_minus_beta2 * gi * gi;
    T const denom = math::sqrt(v) / bc2_sqrt + eps;
    p[i] -= step_size * (m / denom);
  }
  /// The same step for a block of Rows x Cols elements from p[begin], element
  /// begin + r Cols + c by the derivative f(r, c) (f reads neither p nor the state): the
  /// options tested once for the block, and at run time, where the target has vector
  /// registers, each row's elements moved a vector at a time (the square root the target's
  /// vector instruction, simd_sqrt), the row's last partial vector element by element. The
  /// same rule (move) in either form: the same bits.
  template <std::size_t Rows, std::size_t Cols, class F>
  constexpr void block(std::size_t begin, T* p, F const& f,
                       std::array<T*, 2> const& state) const noexcept {
    T* const m = state[0] + begin;
    T* const v = state[1] + begin;
    if (decoupled) {
      if (has_l2) {
        descend<Rows, Cols, true, true>(p + begin, m, v, f);
      } else {
        descend<Rows, Cols, true, false>(p + begin, m, v, f);
      }
    } else if (has_l2) {
      descend<Rows, Cols, false, true>(p + begin, m, v, f);
    } else {
      descend<Rows, Cols, false, false>(p + begin, m, v, f);
    }
  }

 private:
  /// The rule for one element (P = T) or one vector of them (P = simd_t<T>): the parameter
  /// p, the moments m and v, moved by the derivative g; sqrt_of the square root for P. The
  /// same steps as operator() (tests/unit/optimizer_simd_test.cpp checks the bits).
  template <class P, class Sqrt>
  PROPEL_ALWAYS_INLINE constexpr void move(P& p, P& m, P& v, P g, bool with_decay, bool with_l2,
                                           Sqrt const& sqrt_of) const noexcept {
    if (with_decay) p *= decay;
    P const gi = with_l2 ? g + l2 * p : g;
    m += one_minus_beta1 * (gi - m);
    v = v * beta2 + one_minus_beta2 * gi * gi;
    P const denom = sqrt_of(v) / bc2_sqrt + eps;
    p -= step_size * (m / denom);
  }
  /// block with the options fixed: loops that test nothing per element.
  template <std::size_t Rows, std::size_t Cols, bool Decays, bool L2, class F>
  constexpr void descend(T* PROPEL_RESTRICT p, T* PROPEL_RESTRICT m, T* PROPEL_RESTRICT v,
                         F const& f) const noexcept {
    adam_stepper const s = *this;  // a local copy: the stores through p cannot change it
    auto const scalar_sqrt = [](T x) { return math::sqrt(x); };
#ifdef PROPEL_DETAIL_VECTOR_TYPES
    constexpr std::size_t L = vector_lanes<T>;
    if constexpr (L > 1 && Cols >= L) {
      if (!std::is_constant_evaluated()) {
        using V = simd_t<T>;
        auto const vector_sqrt = [](V x) { return simd_sqrt<T>(x); };
        for (std::size_t r = 0; r < Rows; ++r) {
          std::size_t const row = r * Cols;
          std::size_t c = 0;
          PROPEL_UNROLL(1)
          for (; c + L <= Cols; c += L) {
            V g;
            if constexpr (has_vector_adjoint_v<F, T>) {
              g = f.vector(r, c);  // f's vector form (with_vector)
            } else {
              T gs[L];
              for (std::size_t l = 0; l < L; ++l) gs[l] = f(r, c + l);
              g = simd_load(gs);
            }
            V pv = simd_load(p + row + c);
            V mv = simd_load(m + row + c);
            V vv = simd_load(v + row + c);
            s.move(pv, mv, vv, g, Decays, L2, vector_sqrt);
            simd_store(p + row + c, pv);
            simd_store(m + row + c, mv);
            simd_store(v + row + c, vv);
          }
          for (; c < Cols; ++c) {
            std::size_t const i = row + c;
            s.move(p[i], m[i], v[i], f(r, c), Decays, L2, scalar_sqrt);
          }
        }
        return;
      }
    }
#endif
    for_block<T, Rows, Cols>([=](std::size_t r, std::size_t c) {
      std::size_t const i = r * Cols + c;
      s.move(p[i], m[i], v[i], f(r, c), Decays, L2, scalar_sqrt);
    });
  }
};

template <class T>
constexpr adam_stepper<T> make_adam_stepper(double lr, double beta1, double beta2, double eps,
                                            double l2, double decoupled_decay,
                                            std::uint64_t step) noexcept {
  double const bc1 = 1.0 - math::pow(beta1, step);
  double const bc2 = 1.0 - math::pow(beta2, step);
  return {static_cast<T>(lr / bc1),
          static_cast<T>(math::sqrt(bc2)),
          static_cast<T>(1.0 - beta1),
          static_cast<T>(beta2),
          static_cast<T>(1.0 - beta2),
          static_cast<T>(eps),
          static_cast<T>(l2),
          static_cast<T>(1.0 - lr * decoupled_decay),
          l2 != 0.0,
          decoupled_decay != 0.0};
}

}  // namespace detail

/// torch.optim.Adam; weight_decay is L2 regularisation added to the gradient.
struct adam {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;

  static constexpr std::size_t state_count = 2;  // first and second moments

  template <class T>
  [[nodiscard]] constexpr detail::adam_stepper<T> at_step(std::uint64_t step) const noexcept {
    return detail::make_adam_stepper<T>(lr, beta1, beta2, eps, weight_decay, 0.0, step);
  }
};

/// torch.optim.AdamW: decoupled weight decay, p *= 1 - lr weight_decay, then Adam's step.
struct adamw {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;

  static constexpr std::size_t state_count = 2;  // first and second moments

  template <class T>
  [[nodiscard]] constexpr detail::adam_stepper<T> at_step(std::uint64_t step) const noexcept {
    return detail::make_adam_stepper<T>(lr, beta1, beta2, eps, 0.0, weight_decay, step);
  }
};

}  // namespace propel
