// SPDX-License-Identifier: BSL-1.0
/// \file The dense kernels behind product_expr: plain loops with compile-time trip counts,
/// shaped so that the compiler keeps register tiles and vectorises them (no intrinsics, so
/// the same source builds for any target, a Cortex-M4 included, and in constant evaluation;
/// only an empty asm statement, simd_pin, keeps loaded vectors in registers). The tile
/// shapes follow from the target's vector width and register count (vector_registers,
/// fma_chains, matvec_rows, nt_x_rows, bcast_rows).
///
/// Two shapes of inner loop:
///  - dot tiles (dot_tile): a few rows of one operand against a few rows of the other, each
///    dot product kept as `lanes` independent partial sums, reduced pairwise at the end.
///    Used for matrix·vector and for a batch against a wide layer. A float sum vectorises
///    only in this form (without -ffast-math the compiler may not reorder a single sum),
///    so these dot products are summed in a slightly different order from a plain loop.
///  - broadcast tiles (bcast_tile): a block of output rows x columns held in registers,
///    each step adding one element of the left operand times a contiguous row piece of the
///    right one. Every output element is summed in the plain order p = 0, 1, 2, ..., so
///    these kernels give the same bits as the naive triple loop (up to FMA contraction).
///
/// A core without a vector unit (scalar_core_v: a Cortex-M) takes scalar forms instead
/// (gemm_nt_scalar, matvec_backward_scalar): register tiles of sums over scalars, every sum
/// in the plain order, so they too give the bits of the naive loops.
#pragma once

#include <cstddef>
#include <propel/config.hpp>
#include <propel/detail/writer.hpp>
#include <type_traits>
#include <utility>

#if defined(__GNUC__) && PROPEL_VECTOR_BYTES >= 16
#define PROPEL_DETAIL_VECTOR_TYPES 1
#endif

namespace propel::detail {

#ifdef PROPEL_DETAIL_VECTOR_TYPES
// GCC and Clang generic vectors: portable (they lower to whatever the target has, scalar
// code included), and the one way to make both compilers keep a dot product's partial sums
// in registers and reduce them with shuffles rather than lane by lane. Spelled out per
// size: GCC ignores a vector_size that depends on a template parameter.
template <class T, std::size_t Bytes>
struct simd;
#define PROPEL_DETAIL_SIMD(T, B)                                                        \
  template <>                                                                           \
  struct simd<T, B> {                                                                   \
    typedef T type __attribute__((vector_size(B)));                                     \
    typedef T unaligned __attribute__((vector_size(B), aligned(sizeof(T)), may_alias)); \
  };
PROPEL_DETAIL_SIMD(float, 8)
PROPEL_DETAIL_SIMD(float, 16)
PROPEL_DETAIL_SIMD(float, 32)
PROPEL_DETAIL_SIMD(float, 64)
PROPEL_DETAIL_SIMD(double, 16)
PROPEL_DETAIL_SIMD(double, 32)
PROPEL_DETAIL_SIMD(double, 64)
#undef PROPEL_DETAIL_SIMD
template <class T, std::size_t Bytes = PROPEL_VECTOR_BYTES>
using simd_t = typename simd<T, Bytes>::type;

template <class T, std::size_t Bytes = PROPEL_VECTOR_BYTES>
inline simd_t<T, Bytes> simd_load(T const* p) {
  return *reinterpret_cast<typename simd<T, Bytes>::unaligned const*>(p);
}
template <class T, std::size_t Bytes = PROPEL_VECTOR_BYTES>
inline void simd_store(T* p, simd_t<T, Bytes> v) {
  *reinterpret_cast<typename simd<T, Bytes>::unaligned*>(p) = v;
}
template <class T, std::size_t B, std::size_t... I>
inline simd_t<T, B / 2> simd_low(simd_t<T, B> x, std::index_sequence<I...>) {
  return __builtin_shufflevector(x, x, I...);
}
template <class T, std::size_t B, std::size_t... I>
inline simd_t<T, B / 2> simd_high(simd_t<T, B> x, std::index_sequence<I...>) {
  return __builtin_shufflevector(x, x, (I + B / 2 / sizeof(T))...);
}
/// The sum of the lanes, pairwise: lanes l and l + n/2 first, as the plain loop does.
template <class T, std::size_t B = PROPEL_VECTOR_BYTES>
inline T simd_sum(simd_t<T, B> x) {
  if constexpr (B == 2 * sizeof(T)) {
    return x[0] + x[1];
  } else {
    constexpr auto half = std::make_index_sequence<B / 2 / sizeof(T)>{};
    return simd_sum<T, B / 2>(simd_low<T, B>(x, half) + simd_high<T, B>(x, half));
  }
}

/// One level of simd_sum_many: source lane of output lane d when a vector holds groups of W
/// lanes (one dot product each) and the next level halves them, group g of the result
/// taking lanes [g W, g W + W / 2) (Hi: [g W + W / 2, g W + W)) of the concatenated sources.
template <std::size_t W, bool Hi>
constexpr int simd_tree_index(std::size_t d) {
  return static_cast<int>(d / (W / 2) * W + d % (W / 2) + (Hi ? W / 2 : 0));
}
template <class T, std::size_t B, std::size_t W, std::size_t... D>
PROPEL_ALWAYS_INLINE simd_t<T, B> simd_tree_pair(simd_t<T, B> u, simd_t<T, B> v,
                                                 std::index_sequence<D...>) {
  return __builtin_shufflevector(u, v, simd_tree_index<W, false>(D)...) +
         __builtin_shufflevector(u, v, simd_tree_index<W, true>(D)...);
}
template <class T, std::size_t B, std::size_t W, std::size_t... D>
PROPEL_ALWAYS_INLINE simd_t<T, B / 2> simd_tree_narrow(simd_t<T, B> u, std::index_sequence<D...>) {
  return __builtin_shufflevector(u, u, simd_tree_index<W, false>(D)...) +
         __builtin_shufflevector(u, u, simd_tree_index<W, true>(D)...);
}

/// out[j] = simd_sum(acc[j]) for j < N, with the same additions in the same order, but
/// done for all N at once: each level adds the halves of every dot product's lanes, two
/// vectors' worth per shuffle pair, so the sums end up side by side in one vector (a
/// transposition rather than N separate reductions). W is the lanes each sum still spans.
template <class T, std::size_t B, std::size_t N, std::size_t W = B / sizeof(T)>
PROPEL_ALWAYS_INLINE void simd_sum_many(simd_t<T, B> const* acc, T* out) {
  constexpr std::size_t lanes = B / sizeof(T);
  constexpr std::size_t per = lanes / W;  // sums per vector
  constexpr std::size_t vecs = (N + per - 1) / per;
  if constexpr (W == 1) {
    T all[vecs * lanes];
    for (std::size_t v = 0; v < vecs; ++v) simd_store<T, B>(all + v * lanes, acc[v]);
    for (std::size_t j = 0; j < N; ++j) out[j] = all[j];
  } else if constexpr (vecs == 1 && B > 2 * sizeof(T)) {
    simd_t<T, B / 2> const half =
        simd_tree_narrow<T, B, W>(acc[0], std::make_index_sequence<lanes / 2>{});
    simd_sum_many<T, B / 2, N, W / 2>(&half, out);
  } else if constexpr (vecs == 1) {
    out[0] = acc[0][0] + acc[0][1];
  } else {
    simd_t<T, B> next[(vecs + 1) / 2];
    for (std::size_t v = 0; v < vecs / 2; ++v) {
      next[v] =
          simd_tree_pair<T, B, W>(acc[2 * v], acc[2 * v + 1], std::make_index_sequence<lanes>{});
    }
    if constexpr (vecs % 2 == 1) {
      next[vecs / 2] =
          simd_tree_pair<T, B, W>(acc[vecs - 1], simd_t<T, B>{}, std::make_index_sequence<lanes>{});
    }
    simd_sum_many<T, B, N, W / 2>(next, out);
  }
}

/// Keeps v in a vector register from here on. A register tile uses each loaded vector for
/// several FMAs; left alone, GCC folds the load into every one of them as a memory operand
/// (one load per FMA instead of one per vector), and a tile that should issue about half a
/// load per FMA then issues one or two and is bound by the two loads per cycle of the core
/// rather than by its FMA units. An empty asm that takes and returns v in a register is
/// opaque to the compiler, so the loaded value must live in one. No instruction is emitted.
template <class V>
PROPEL_ALWAYS_INLINE void simd_pin(V& v) {
#if defined(__x86_64__) || defined(__i386__)
  __asm__("" : "+v"(v));  // "v": any SSE/AVX register (the 32 of AVX-512 included)
#elif defined(__aarch64__) || defined(__ARM_NEON)
  __asm__("" : "+w"(v));  // "w": any SIMD/FP register
#else
  (void)v;
#endif
}
#endif

/// Elements of T in the widest vector register (PROPEL_VECTOR_BYTES); at least 1.
template <class T>
inline constexpr std::size_t vector_lanes = PROPEL_VECTOR_BYTES / sizeof(T) > 0
                                                ? PROPEL_VECTOR_BYTES / sizeof(T)
                                                : 1;

/// Vector registers the compiler may allocate: 32 with AVX-512 (zmm0-31) and on AArch64
/// (v0-31, SVE's z0-31), 16 elsewhere (SSE and AVX2: xmm/ymm0-15; 32-bit NEON: q0-15).
inline constexpr std::size_t vector_registers =
#if defined(__AVX512F__) || defined(__aarch64__)
    32;
#else
    16;
#endif

/// Independent FMA chains that keep a core's FMA units busy: 2 ports x 4 cycles of latency
/// on the x86 cores of the last decade (Skylake to Sapphire Rapids, Zen 2 to Zen 5) and on
/// the wide Arm cores. Fewer chains, and a register tile waits on its own sums.
inline constexpr std::size_t fma_chains = 8;

/// Vectors of a row of Y in a tile of gemm_nt_panel_simd: 4 with 64-byte vectors, else 2.
inline constexpr std::size_t tile_rows = PROPEL_VECTOR_BYTES >= 64 ? 4 : 2;

constexpr std::size_t floor_pow2(std::size_t n) noexcept {
  std::size_t p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}
constexpr std::size_t min_size(std::size_t a, std::size_t b) noexcept { return a < b ? a : b; }
constexpr std::size_t floor_log2(std::size_t n) noexcept {
  std::size_t k = 0;
  while (n > 1) n /= 2, ++k;
  return k;
}

/// Whether T's kernels run on a core without a vector unit (PROPEL_VECTOR_BYTES holds one
/// element of T: a Cortex-M, for one). Such a core takes the scalar kernels below, shaped
/// for its registers rather than for lanes; every other target leaves them alone.
template <class T>
inline constexpr bool scalar_core_v = vector_lanes<T> == 1;

/// acc + a * b with the product rounded before the sum, as written (no fused multiply-add).
/// On an Arm core with a single-precision FPU (a Cortex-M4F) a float takes one vmla.f32,
/// which rounds the same way: GCC itself emits a vmul and a vadd there when it may not
/// contract (-ffp-contract=off, the default of the ISO -std=c++NN modes), and a vfma, whose
/// bits differ, when it may. Constant evaluation and other targets: the expression.
template <class T>
PROPEL_ALWAYS_INLINE constexpr T mul_add(T acc, T a, T b) noexcept {
#if defined(__GNUC__) && defined(__arm__) && defined(__ARM_FP) && (__ARM_FP & 4)
  if constexpr (std::is_same_v<T, float>) {
    if (!std::is_constant_evaluated()) {
      __asm__("vmla.f32 %0, %1, %2" : "+t"(acc) : "t"(a), "t"(b));
      return acc;
    }
  }
#endif
  return acc + a * b;
}
/// acc - a * b, the product rounded before the difference (vmls.f32 on an Arm FPU).
template <class T>
PROPEL_ALWAYS_INLINE constexpr T mul_sub(T acc, T a, T b) noexcept {
#if defined(__GNUC__) && defined(__arm__) && defined(__ARM_FP) && (__ARM_FP & 4)
  if constexpr (std::is_same_v<T, float>) {
    if (!std::is_constant_evaluated()) {
      __asm__("vmls.f32 %0, %1, %2" : "+t"(acc) : "t"(a), "t"(b));
      return acc;
    }
  }
#endif
  return acc - a * b;
}

/// y[i * ldy + o] = Σ_p x[i * K + p] w[o * K + p] for i < Ri, o < Ro, the scalar-core tile:
/// every sum in the plain order p = 0, 1, ..., K - 1 (the bits of the naive loop), each
/// x[i, p] and w[o, p] loaded once for the whole tile into Ri + Ro registers beside the
/// Ri x Ro sums, the products added by mul_add.
template <std::size_t Ri, std::size_t Ro, std::size_t K, class T>
constexpr void scalar_dot_tile(T const* PROPEL_RESTRICT x, T const* PROPEL_RESTRICT w,
                               T* PROPEL_RESTRICT y, std::size_t ldy) {
  // the loops over the tile unrolled completely (GCC's -O2 would keep them, and the sums in
  // memory), the one over p four times (without a run-time dispatch on the remainder)
  T acc[Ri][Ro];
  PROPEL_UNROLL(16)
  for (std::size_t i = 0; i < Ri; ++i) {
    PROPEL_UNROLL(16)
    for (std::size_t o = 0; o < Ro; ++o) acc[i][o] = T{};
  }
  auto const step = [&](std::size_t p) {
    T xp[Ri];
    PROPEL_UNROLL(16)
    for (std::size_t i = 0; i < Ri; ++i) xp[i] = x[i * K + p];
    PROPEL_UNROLL(16)
    for (std::size_t o = 0; o < Ro; ++o) {
      T const wp = w[o * K + p];
      PROPEL_UNROLL(16)
      for (std::size_t i = 0; i < Ri; ++i) acc[i][o] = mul_add(acc[i][o], xp[i], wp);
    }
  };
  constexpr std::size_t unroll = 4;
  constexpr std::size_t k_main = K / unroll * unroll;
  for (std::size_t p = 0; p < k_main; p += unroll) {
    PROPEL_UNROLL(16)
    for (std::size_t u = 0; u < unroll; ++u) step(p + u);
  }
  PROPEL_UNROLL(16)
  for (std::size_t p = k_main; p < K; ++p) step(p);
  PROPEL_UNROLL(16)
  for (std::size_t i = 0; i < Ri; ++i) {
    PROPEL_UNROLL(16)
    for (std::size_t o = 0; o < Ro; ++o) y[i * ldy + o] = acc[i][o];
  }
}

/// Y = X Wᵀ (X: M x K, W: N x K, row-major) on a scalar core, in scalar_dot_tile tiles: 16
/// rows of W against one sample (16 sums, the input and the weights of one p in registers:
/// about 20 of the 32 single-precision registers of an FPv4, each input loaded once per 16
/// products), 4 x 4 for a batch (24 of them). No transposed copy of W: a core that adds one
/// product at a time needs none. done(begin, end) is called as soon as the flat range
/// [begin, end) of Y is stored: each tile of one sample, each block of whole rows of a batch
/// (a product runs its epilogue there, on values still in the cache if not in registers).
template <std::size_t M, std::size_t N, std::size_t K, class T, class Done>
constexpr void gemm_nt_scalar(T const* x, T const* w, T* y, Done const& done) {
  constexpr std::size_t ro = min_size(N, M == 1 ? 16 : 4);
  constexpr std::size_t ri = min_size(M, 4);
  constexpr std::size_t n_main = N / ro * ro;
  constexpr std::size_t m_main = M / ri * ri;
  auto rows = [&]<std::size_t Ri>(std::size_t r) {
    for (std::size_t o = 0; o < n_main; o += ro) {
      scalar_dot_tile<Ri, ro, K>(x + r * K, w + o * K, y + r * N + o, N);
      if constexpr (M == 1) done(o, o + ro);
    }
    if constexpr (n_main < N) {
      scalar_dot_tile<Ri, N - n_main, K>(x + r * K, w + n_main * K, y + r * N + n_main, N);
      if constexpr (M == 1) done(n_main, N);
    }
    if constexpr (M > 1) done(r * N, (r + Ri) * N);
  };
  for (std::size_t r = 0; r < m_main; r += ri) rows.template operator()<ri>(r);
  if constexpr (m_main < M) rows.template operator()<M - m_main>(m_main);
}

/// Partial sums per dot product of length K: a vector register's worth, fewer for short
/// products, none (a plain sum, which the compiler vectorises across rows instead) below 8.
template <class T, std::size_t K>
inline constexpr std::size_t dot_lanes = K < 8 ? 1 : min_size(vector_lanes<T>, floor_pow2(K));

#ifdef PROPEL_DETAIL_VECTOR_TYPES
/// One step of dot_tile: acc[i][o][s] += x[i K + p ...] w[o K + p ...], a vector each. The Ro
/// vectors of w stay in registers, then each row of x is loaded once and FMA'd with all of
/// them: Ri Ro accumulators, Ro + 1 other registers, Ri + Ro loads for Ri Ro FMAs (simd_pin:
/// not one load per FMA). With one row of x the vectors of w are each used once and stay
/// memory operands of their FMAs instead (Ro + 1 registers in all). Always inlined: acc must stay
/// in registers, and GCC stops inlining into a function as large as a network's forward pass.
template <std::size_t Ri, std::size_t Ro, std::size_t K, std::size_t B, class T, class V,
          std::size_t S>
PROPEL_ALWAYS_INLINE void dot_step(V (&acc)[Ri][Ro][S], std::size_t s, T const* x, T const* w,
                                   std::size_t p) {
  if constexpr (Ri == 1) {
    // one row of x (a matrix·vector product): each vector of w is used once, so it is left
    // to the FMA as its memory operand (one instruction, not a load and an FMA); only the
    // vector of x, used Ro times, is kept in a register
    V xv = simd_load<T, B>(x + p);
    simd_pin(xv);
    PROPEL_UNROLL(16)
    for (std::size_t o = 0; o < Ro; ++o) acc[0][o][s] += xv * simd_load<T, B>(w + o * K + p);
    return;
  }
  V wv[Ro];
  PROPEL_UNROLL(16)
  for (std::size_t o = 0; o < Ro; ++o) {
    V v = simd_load<T, B>(w + o * K + p);
    simd_pin(v);  // a named register: pinned in place, an array element is also stored
    wv[o] = v;
  }
  PROPEL_UNROLL(16)
  for (std::size_t i = 0; i < Ri; ++i) {
    V xv = simd_load<T, B>(x + i * K + p);
    simd_pin(xv);
    PROPEL_UNROLL(16)
    for (std::size_t o = 0; o < Ro; ++o) acc[i][o][s] += xv * wv[o];
  }
}
#endif

/// y[i * ldy + o] = Σ_p x[i * K + p] w[o * K + p] for i < Ri, o < Ro: Ri rows of x against
/// Ro rows of w, every dot product kept as S x L partial sums (S vectors of L lanes: lane l
/// of vector s takes the products p ≡ s L + l modulo S L), reduced pairwise at the end:
/// vector s + S/2 into vector s, ..., then the lanes as simd_sum does. S is a power of two.
template <std::size_t Ri, std::size_t Ro, std::size_t K, std::size_t L, std::size_t S = 1, class T>
constexpr void dot_tile(T const* PROPEL_RESTRICT x, T const* PROPEL_RESTRICT w,
                        T* PROPEL_RESTRICT y, std::size_t ldy) {
  static_assert((S & (S - 1)) == 0 && S > 0, "propel: dot_tile: S must be a power of two");
  if constexpr (L == 1 && S == 1) {
    for (std::size_t i = 0; i < Ri; ++i) {
      for (std::size_t o = 0; o < Ro; ++o) {
        T s{};
        for (std::size_t p = 0; p < K; ++p) s += x[i * K + p] * w[o * K + p];
        y[i * ldy + o] = s;
      }
    }
  } else {
    constexpr std::size_t step = L * S;
    constexpr std::size_t main = K / step * step;
#ifdef PROPEL_DETAIL_VECTOR_TYPES
    if (!std::is_constant_evaluated()) {
      constexpr std::size_t B = L * sizeof(T);
      constexpr std::size_t whole = (K - main) / L;  // whole vectors past the main loop (< S)
      constexpr std::size_t rest = K - main - whole * L;
      using V = simd_t<T, B>;
      V acc[Ri][Ro][S];
      for (std::size_t i = 0; i < Ri; ++i) {
        for (std::size_t o = 0; o < Ro; ++o) {
          for (std::size_t s = 0; s < S; ++s) acc[i][o][s] = V{};
        }
      }
      // kept a loop: completely unrolled (short rows), GCC hoists every vector of x out of
      // the loop over rows of w and spills them
      PROPEL_UNROLL(1)
      for (std::size_t p = 0; p < main; p += step) {
        for (std::size_t s = 0; s < S; ++s) dot_step<Ri, Ro, K, B>(acc, s, x, w, p + s * L);
      }
      for (std::size_t s = 0; s < whole; ++s) dot_step<Ri, Ro, K, B>(acc, s, x, w, main + s * L);
      if constexpr (rest > 0) {
        constexpr std::size_t q = main + whole * L;
        for (std::size_t i = 0; i < Ri; ++i) {
          for (std::size_t o = 0; o < Ro; ++o) {
            T tail[L] = {};
            for (std::size_t l = 0; l < rest; ++l) tail[l] = x[i * K + q + l] * w[o * K + q + l];
            acc[i][o][whole] += simd_load<T, B>(tail);
          }
        }
      }
      V red[Ri * Ro];  // a copy: the address of acc taken, GCC keeps it in memory
      for (std::size_t i = 0; i < Ri; ++i) {
        for (std::size_t o = 0; o < Ro; ++o) {
          for (std::size_t half = S / 2; half > 0; half /= 2) {
            for (std::size_t s = 0; s < half; ++s) acc[i][o][s] += acc[i][o][s + half];
          }
          red[i * Ro + o] = acc[i][o][0];
        }
      }
      T sums[Ri * Ro];
      simd_sum_many<T, B, Ri * Ro>(red, sums);
      for (std::size_t i = 0; i < Ri; ++i) {
        for (std::size_t o = 0; o < Ro; ++o) y[i * ldy + o] = sums[i * Ro + o];
      }
      return;
    }
#endif
    // the same partial sums and the same order of additions, lane by lane
    T acc[Ri][Ro][step] = {};
    for (std::size_t p = 0; p < main; p += step) {
      for (std::size_t i = 0; i < Ri; ++i) {
        for (std::size_t o = 0; o < Ro; ++o) {
          for (std::size_t l = 0; l < step; ++l)
            acc[i][o][l] += x[i * K + p + l] * w[o * K + p + l];
        }
      }
    }
    if constexpr (main < K) {
      for (std::size_t i = 0; i < Ri; ++i) {
        for (std::size_t o = 0; o < Ro; ++o) {
          for (std::size_t l = 0; l < K - main; ++l) {
            acc[i][o][l] += x[i * K + main + l] * w[o * K + main + l];
          }
        }
      }
    }
    for (std::size_t i = 0; i < Ri; ++i) {
      for (std::size_t o = 0; o < Ro; ++o) {
        for (std::size_t half = step / 2; half > 0; half /= 2) {
          for (std::size_t l = 0; l < half; ++l) acc[i][o][l] += acc[i][o][l + half];
        }
        y[i * ldy + o] = acc[i][o][0];
      }
    }
  }
}

/// Accumulators per tile of gemm_nt_panel_simd, and rows per tile of a W x whose W fits L1:
/// half the vector registers of AVX-512 or SVE (32), the same count in half the registers
/// elsewhere.
inline constexpr std::size_t dot_tile_size = PROPEL_VECTOR_BYTES >= 64 ? 16 : 8;

/// W x (W: N x K row-major, M = 1) for a W larger than L1: rows of W taken matvec_rows at a
/// time, each dot product as matvec_sums vectors of partial sums. W is read once and from
/// L2, so the product runs at the speed W streams in. That speed
/// is reached by one sequential stream, the access the prefetchers follow best: several rows
/// at a time are as many interleaved streams, and measured on an AVX-512 core (784 x 128
/// floats) 2, 4, 8 or 16 rows at a time reach 60-67% of a plain streaming read, one row
/// 93-98%. One row reloads the vector of x for every vector of W, though: two loads per FMA,
/// and cores load two vectors per cycle, so one row streams one vector of W per cycle: 64
/// bytes with AVX-512, over what L2 delivers (48-64 bytes per cycle), but 32 with AVX2 and
/// 16 with 128-bit vectors, under it. There R rows share each vector of x (R/(R + 1) of the
/// loads are W): 2 rows with 32-byte vectors, 4 with 16-byte ones.
inline constexpr std::size_t matvec_rows =
    PROPEL_VECTOR_BYTES >= 64 ? 1 : (PROPEL_VECTOR_BYTES >= 32 ? 2 : 4);
/// Partial sums (vectors) per row: fma_chains over the matvec_rows rows, at most what a dot
/// product of K elements fills (a power of two).
template <class T, std::size_t K>
inline constexpr std::size_t matvec_sums = min_size(
    fma_chains / matvec_rows, floor_pow2(K / vector_lanes<T> > 0 ? K / vector_lanes<T> : 1));

/// The register tile of a batch X Wᵀ (M > 1), nt_x_rows rows of X x nt_w_rows rows of W,
/// each dot product one vector of partial sums. A step loads the vectors of nt_w_rows rows
/// of W (kept), then one of each row of X, FMA'd with all of them: Ri Ro accumulators, Ro
/// vectors of W and one of X live, Ri + Ro loads for Ri Ro FMAs. With 32 registers: 8 x 3
/// (24 accumulators, 28 registers, 11 loads per 24 FMAs); with 16: 6 x 2 (12 accumulators,
/// half as many again as fma_chains, 15 registers, 8 loads per 12 FMAs; 4 x 2, only the
/// fma_chains, ran a 784-input layer 6% slower with AVX2, 3 x 3 twice as slow, and 4 x 3
/// needs all 16 registers). X is the outer
/// loop (gemm_nt_dot): Ri rows of X stay in L1 while W streams past them from L2, Ro rows
/// at a time: Ro vector loads from L2 per Ri Ro FMAs, well under what L2 delivers.
inline constexpr std::size_t nt_x_rows = vector_registers >= 32 ? 8 : 6;
inline constexpr std::size_t nt_w_rows = vector_registers >= 32 ? 3 : 2;

/// Y = X Wᵀ in dot tiles: Y[r * N + o] = Σ_p X[r * K + p] W[o * K + p] (X is M x K, W is
/// N x K, both row-major). With M = 1 this is the matrix·vector product W x (matvec_rows);
/// a batch goes in tiles of Ri rows of X x Ro rows of W (nt_x_rows, nt_w_rows), the rows of
/// X outermost. Without vectors (L = 1), each row of X against all of W in plain sums.
template <std::size_t M, std::size_t N, std::size_t K, class T, std::size_t Ri = nt_x_rows,
          std::size_t Ro = nt_w_rows>
constexpr void gemm_nt_dot(T const* x, T const* w, T* y) {
  constexpr std::size_t L = dot_lanes<T, K>;
  if constexpr (L == 1) {
    // in this form (a call per block of rows of W, one block) the Cortex-M4's code is the
    // smallest: GCC inlines the layers of a network into one function
    auto rows = [&]<std::size_t Rw>(std::size_t o) {
      for (std::size_t r = 0; r < M; ++r) {
        dot_tile<1, Rw, K, 1>(x + r * K, w + o * K, y + r * N + o, N);
      }
    };
    for (std::size_t o = 0; o < N; o += N) rows.template operator()<N>(o);
  } else if constexpr (M == 1) {
    // a W that fits L1 (32 KiB on every core considered) is not streamed: dot_tile_size rows
    // at a time then, their reductions done together (simd_sum_many)
    constexpr bool stream = N * K * sizeof(T) > 32768 && L == vector_lanes<T>;
    constexpr std::size_t ro = min_size(stream ? matvec_rows : dot_tile_size, N);
    constexpr std::size_t s = stream ? matvec_sums<T, K> : 1;
    constexpr std::size_t n_main = N / ro * ro;
    for (std::size_t o = 0; o < n_main; o += ro) dot_tile<1, ro, K, L, s>(x, w + o * K, y + o, N);
    if constexpr (n_main < N) {
      dot_tile<1, N - n_main, K, L, s>(x, w + n_main * K, y + n_main, N);
    }
  } else {
    constexpr std::size_t ri = min_size(Ri, M);
    constexpr std::size_t ro = min_size(Ro, N);
    constexpr std::size_t m_main = M / ri * ri;
    constexpr std::size_t n_main = N / ro * ro;
    auto rows = [&]<std::size_t Rx>(std::size_t r) {
      for (std::size_t o = 0; o < n_main; o += ro) {
        dot_tile<Rx, ro, K, L>(x + r * K, w + o * K, y + r * N + o, N);
      }
      if constexpr (n_main < N) {
        dot_tile<Rx, N - n_main, K, L>(x + r * K, w + n_main * K, y + r * N + n_main, N);
      }
    };
    for (std::size_t r = 0; r < m_main; r += ri) rows.template operator()<ri>(r);
    if constexpr (m_main < M) rows.template operator()<M - m_main>(m_main);
  }
}

/// Interleaved partial sums per accumulator of a broadcast tile of Ri x Cj over P products.
/// A tile of fewer than 4 vector accumulators (one row, one or two vectors wide: the
/// matrix·vector backward pass of a small layer) would be a chain of P dependent FMAs whose
/// latency is the whole tile's time. S chains (p mod S) take 4 P / S cycles of FMA latency
/// (about 4 cycles each), and joining them pairwise log2(S) additions of about 4 more:
/// doubling S pays while each chain keeps at least two products, and while the tile's
/// accumulators stay within fma_chains (more would wait on the FMA units rather than on
/// latency). A 16 x 16 layer: 4 chains of 4 FMAs with 8 lanes, 8 of 2 with 16 lanes, where
/// one chain of 16 would take twice as long. The scalar form of the same tile (constant
/// evaluation) sums the same way, so both give one result.
template <class T, std::size_t Ri, std::size_t Cj, std::size_t P>
inline constexpr std::size_t bcast_split = [] {
  constexpr std::size_t L = vector_lanes<T>;
  std::size_t s = 1;
  if constexpr (L > 1 && Cj % L == 0) {
    constexpr std::size_t accumulators = Ri * (Cj / L);
    if (accumulators < 4) {
      while (2 * s * accumulators <= fma_chains && P >= 4 * s) s *= 2;
    }
  }
  return s;
}();

/// Joins the S partial sums of a broadcast tile's accumulator into sum[0], pairwise: sum s +
/// S/2 into sum s for s < S/2, then the same on the first half, ... (S = 2: sum 1 into sum 0).
template <std::size_t S, class Sum>
PROPEL_ALWAYS_INLINE constexpr void join_split_sums(Sum const& sum) {
  for (std::size_t half = S / 2; half > 0; half /= 2) {
    for (std::size_t s = 0; s < half; ++s) sum(s) += sum(s + half);
  }
}

/// Calls add(s, p) for p = 0, 1, ..., P - 1, naming the partial sum s that takes the product
/// of p: p mod S within the whole groups of S, 0 for the products past them (bcast_tile's
/// order, shared by its vector and scalar forms).
template <std::size_t S, std::size_t P, class Add>
PROPEL_ALWAYS_INLINE constexpr void for_split_sums(Add const& add) {
  constexpr std::size_t pm = P / S * S;
  for (std::size_t p = 0; p < pm; p += S) {
    for (std::size_t s = 0; s < S; ++s) add(s, p + s);
  }
  for (std::size_t p = pm; p < P; ++p) add(0, p);
}

/// An `out` of bcast_tile and gemm_bcast that takes the results a row piece at a time:
/// f.template operator()<C>(i, j, row) hands over elements (i, j), ..., (i, j + C - 1) of the
/// result, row[0 .. C) (valid during the call only), rather than out(i, j, v) element by
/// element: a writer can then deliver them as one block (write_block), a vector at a time.
template <class F>
struct row_out {
  F f;
};
template <class F>
row_out(F) -> row_out<F>;
template <class Out>
inline constexpr bool is_row_out_v = false;
template <class F>
inline constexpr bool is_row_out_v<row_out<F>> = true;

/// Hands row i of a tile, row[0 .. C) at columns j .. j + C, to out (a row_out, or an
/// element-wise out(i, j, v)).
template <std::size_t C, class T, class Out>
PROPEL_ALWAYS_INLINE constexpr void put_row(Out const& out, std::size_t i, std::size_t j,
                                            T const* row) {
  if constexpr (is_row_out_v<Out>) {
    out.f.template operator()<C>(i, j, row);
  } else {
    for (std::size_t c = 0; c < C; ++c) out(i, j + c, row[c]);
  }
}

/// A broadcast tile: acc[i][j] = init(i, j) + Σ_p a(i, p) b[p * Ldb + j], then
/// out(i, j, acc[i][j]) (or a row at a time, when out is a row_out). a(i, p) is
/// a[i * As + p * Ps], so the left operand may be read transposed. With S = bcast_split
/// partial sums, sum 0 starts from init and the others from 0; each adds its products
/// (for_split_sums) in the order of p, and the S sums are then joined pairwise
/// (join_split_sums; S = 1: the plain order of p).
template <std::size_t Ri, std::size_t Cj, std::size_t P, std::size_t As, std::size_t Ps,
          std::size_t Ldb, class T, class Init, class Out>
constexpr void bcast_tile(T const* PROPEL_RESTRICT a, T const* PROPEL_RESTRICT b, Init const& init,
                          Out const& out) {
  constexpr std::size_t S = bcast_split<T, Ri, Cj, P>;
#ifdef PROPEL_DETAIL_VECTOR_TYPES
  constexpr std::size_t L = vector_lanes<T>;
  if constexpr (Cj % L == 0 && L > 1) {
    if (!std::is_constant_evaluated()) {
      using V = simd_t<T>;
      constexpr std::size_t cv = Cj / L;
      V acc[S][Ri][cv];
      for (std::size_t i = 0; i < Ri; ++i) {
        for (std::size_t v = 0; v < cv; ++v) {
          T first[L];
          for (std::size_t l = 0; l < L; ++l) first[l] = init(i, v * L + l);
          acc[0][i][v] = simd_load(first);
          for (std::size_t s = 1; s < S; ++s) acc[s][i][v] = V{};
        }
      }
      for_split_sums<S, P>([&](std::size_t s, std::size_t p) {
        auto& sum = acc[s];
        // cv vectors of b and one broadcast a(i, p) at a time in registers: cv + Ri loads
        // for Ri cv FMAs (simd_pin)
        V bv[cv];
        PROPEL_UNROLL(16)
        for (std::size_t v = 0; v < cv; ++v) {
          V loaded = simd_load(b + p * Ldb + v * L);
          simd_pin(loaded);
          bv[v] = loaded;
        }
        PROPEL_UNROLL(16)
        for (std::size_t i = 0; i < Ri; ++i) {
          V aip = a[i * As + p * Ps] - V{};  // a broadcast (x - 0 is x, -0 included)
          simd_pin(aip);
          PROPEL_UNROLL(16)
          for (std::size_t v = 0; v < cv; ++v) sum[i][v] += aip * bv[v];
        }
      });
      for (std::size_t i = 0; i < Ri; ++i) {
        for (std::size_t v = 0; v < cv; ++v) {
          join_split_sums<S>([&](std::size_t s) -> V& { return acc[s][i][v]; });
        }
        T row[Cj];
        for (std::size_t v = 0; v < cv; ++v) simd_store(row + v * L, acc[0][i][v]);
        put_row<Cj>(out, i, 0, row);
      }
      return;
    }
  }
#endif
  T acc[S][Ri][Cj] = {};
  for (std::size_t i = 0; i < Ri; ++i) {
    for (std::size_t j = 0; j < Cj; ++j) acc[0][i][j] = init(i, j);
  }
  for_split_sums<S, P>([&](std::size_t s, std::size_t p) {
    auto& sum = acc[s];  // named once per product: acc[s][i][j] in the loops doubles M4 code
    for (std::size_t i = 0; i < Ri; ++i) {
      T const aip = a[i * As + p * Ps];
      for (std::size_t j = 0; j < Cj; ++j) sum[i][j] += aip * b[p * Ldb + j];
    }
  });
  for (std::size_t i = 0; i < Ri; ++i) {
    for (std::size_t j = 0; j < Cj; ++j) {
      join_split_sums<S>([&](std::size_t s) -> T& { return acc[s][i][j]; });
      if constexpr (!is_row_out_v<Out>) out(i, j, acc[0][i][j]);
    }
    if constexpr (is_row_out_v<Out>) put_row<Cj>(out, i, 0, acc[0][i]);
  }
}

/// The tile of gemm_bcast with vectors: bcast_rows x bcast_vectors accumulators. A step
/// keeps bcast_vectors vectors of B and one broadcast element of A in registers besides the
/// accumulators, and loads bcast_rows + bcast_vectors of them for bcast_rows bcast_vectors
/// FMAs. With 32 registers (AVX-512, AArch64): 8 x 3, 24 accumulators (3 times fma_chains),
/// 28 registers, 11 loads per 24 FMAs; with 16 (AVX2, SSE, 32-bit NEON): 6 x 2, 12
/// accumulators (half as many again as fma_chains: slack for the loads' latency) in 15
/// registers, 8 loads per 12 FMAs (4 x 2, just the fma_chains, took 2-6% more instructions
/// for the batch-32 training steps of 64- and 784-input networks with AVX2, its tails of
/// 2 rows included). Without a vector unit, 2 x 2 scalars (the registers of a Cortex-M4).
inline constexpr std::size_t bcast_rows =
    PROPEL_VECTOR_BYTES >= 16 ? (vector_registers >= 32 ? 8 : 6) : 2;
inline constexpr std::size_t bcast_vectors =
    PROPEL_VECTOR_BYTES >= 16 ? (vector_registers >= 32 ? 3 : 2) : 2;

/// C (M x N) from A (M x P, element (i, p) at a[i * As + p * Ps]) times B (P x N,
/// row-major with leading dimension Ldb) in broadcast tiles: acc = init(i, j), then the
/// products over p (summed as bcast_tile says), then out(i, j, acc), or a row piece of a tile
/// at a time when out is a row_out. Columns go in pieces of bcast_vectors vector registers,
/// rows bcast_rows at a time.
template <std::size_t M, std::size_t N, std::size_t P, std::size_t As, std::size_t Ps,
          std::size_t Ldb, class T, class Init, class Out>
constexpr void gemm_bcast(T const* a, T const* b, Init const& init, Out const& out) {
  constexpr std::size_t cj = min_size(bcast_vectors * vector_lanes<T>, N);
  constexpr std::size_t ri = min_size(bcast_rows, M);
  constexpr std::size_t n_main = N / cj * cj;
  constexpr std::size_t m_main = M / ri * ri;
  auto block = [&]<std::size_t Ri, std::size_t Cj>(std::size_t i0, std::size_t j0) {
    auto const at = [&](std::size_t i, std::size_t j) { return init(i0 + i, j0 + j); };
    if constexpr (is_row_out_v<Out>) {
      bcast_tile<Ri, Cj, P, As, Ps, Ldb>(
          a + i0 * As, b + j0, at,
          row_out{[&]<std::size_t C>(std::size_t i, std::size_t j, T const* row) {
            out.f.template operator()<C>(i0 + i, j0 + j, row);
          }});
    } else {
      bcast_tile<Ri, Cj, P, As, Ps, Ldb>(
          a + i0 * As, b + j0, at,
          [&](std::size_t i, std::size_t j, T v) { out(i0 + i, j0 + j, v); });
    }
  };
  for (std::size_t j = 0; j < n_main; j += cj) {
    for (std::size_t i = 0; i < m_main; i += ri) block.template operator()<ri, cj>(i, j);
    if constexpr (m_main < M) block.template operator()<M - m_main, cj>(m_main, j);
  }
  if constexpr (n_main < N) {
    for (std::size_t i = 0; i < m_main; i += ri)
      block.template operator()<ri, N - n_main>(i, n_main);
    if constexpr (m_main < M) block.template operator()<M - m_main, N - n_main>(m_main, n_main);
  }
}

/// Whether Y = X Wᵀ (X: M x K, W: N x K) is cheaper as dot tiles than as broadcast tiles
/// over a transposed copy of W. In vector operations: a dot tile pays a reduction per
/// output (about 3, see simd_sum_many), the broadcast form pads each row of Wᵀ to whole
/// vectors and transposes W (log2(lanes) shuffles, a load and a store per vector; a load
/// and a store per element where W has less than a vector's worth of rows or columns).
/// Without vector registers: a dot product per output against a transposition per weight
/// (a scalar core, scalar_core_v, needs no transposition: always the dot form).
template <class T, std::size_t M, std::size_t N, std::size_t K>
inline constexpr bool prefer_dot_v = [] {
#ifdef PROPEL_DETAIL_VECTOR_TYPES
  constexpr std::size_t L = vector_lanes<T>;
  if constexpr (L > 1) {
    constexpr std::size_t dl = dot_lanes<T, K>;
    constexpr std::size_t dot = M * N * ((K + dl - 1) / dl + (dl > 1 ? 3 : 0));
    constexpr std::size_t transpose =
        N >= L && K >= L ? N * K * (floor_log2(L) + 2) / L : 2 * N * K;
    constexpr std::size_t panel = M * ((N + L - 1) / L) * K + transpose;
    return dot < panel;
  }
#endif
  return scalar_core_v<T> || K > 8 * M;
}();

/// Rows of W transposed at a time by gemm_nt_panel: a panel of at most 4096 elements.
template <std::size_t N, std::size_t K>
inline constexpr std::size_t panel_depth = min_size(K, 4096 / N > 0 ? 4096 / N : 1);

/// Rows of Wᵀ packed at a time by gemm_nt_panel_simd, each padded to whole vectors: a panel
/// of at most 8192 elements.
template <class T, std::size_t N, std::size_t K>
inline constexpr std::size_t simd_panel_depth = [] {
  constexpr std::size_t L = vector_lanes<T>;
  constexpr std::size_t ld = (N + L - 1) / L * L;
  return min_size(K, 8192 / ld > 0 ? 8192 / ld : 1);
}();

/// The elements of the panel buffer gemm_nt needs for Y = X Wᵀ (X: M x K, W: N x K): the
/// caller provides it (a product keeps it in its workspace, not on the stack); 0 when the
/// dot-tile form needs none. Room for both panel forms: constant evaluation takes the
/// scalar one.
template <class T, std::size_t M, std::size_t N, std::size_t K>
inline constexpr std::size_t gemm_nt_panel_size = [] {
  if constexpr (prefer_dot_v<T, M, N, K>) {
    return std::size_t{0};
  } else {
    constexpr std::size_t L = vector_lanes<T>;
    constexpr std::size_t simd = simd_panel_depth<T, N, K> * ((N + L - 1) / L * L);
    constexpr std::size_t plain = panel_depth<N, K> * N;
    return simd > plain ? simd : plain;
  }
}();

#ifdef PROPEL_DETAIL_VECTOR_TYPES
template <std::size_t L, bool Hi>
constexpr int simd_zip_index(std::size_t d) {
  return static_cast<int>(d % 2 * L + d / 2 + (Hi ? L / 2 : 0));
}
/// The lanes of a and b interleaved: a0 b0 a1 b1 ... (lo), then the upper halves (hi).
template <class T, std::size_t... D>
PROPEL_ALWAYS_INLINE void simd_zip(simd_t<T> a, simd_t<T> b, simd_t<T>& lo, simd_t<T>& hi,
                                   std::index_sequence<D...>) {
  constexpr std::size_t L = sizeof...(D);
  lo = __builtin_shufflevector(a, b, simd_zip_index<L, false>(D)...);
  hi = __builtin_shufflevector(a, b, simd_zip_index<L, true>(D)...);
}

/// Transposes the L x L block r (vector j is row j). Zipping rows j and j + L/2 into rows
/// 2j and 2j + 1 rotates the bits of (row, lane) left by one; log2(L) times transposes.
template <class T>
PROPEL_ALWAYS_INLINE void simd_transpose(simd_t<T> (&r)[vector_lanes<T>]) {
  constexpr std::size_t L = vector_lanes<T>;
  for (std::size_t stage = 1; stage < L; stage *= 2) {
    simd_t<T> t[L];
    for (std::size_t j = 0; j < L / 2; ++j) {
      simd_zip<T>(r[j], r[j + L / 2], t[2 * j], t[2 * j + 1], std::make_index_sequence<L>{});
    }
    for (std::size_t j = 0; j < L; ++j) r[j] = t[j];
  }
}

/// gemm_nt_panel with vectors: Wᵀ packed in rows padded to whole vectors (padding zero),
/// then register tiles of Ri rows of X x Cv vectors of Y, each summed in the plain order.
template <std::size_t M, std::size_t N, std::size_t K, class T>
inline void gemm_nt_panel_simd(T const* PROPEL_RESTRICT x, T const* PROPEL_RESTRICT w,
                               T* PROPEL_RESTRICT y, T* PROPEL_RESTRICT panel) {
  using V = simd_t<T>;
  constexpr std::size_t L = vector_lanes<T>;
  constexpr std::size_t nv = (N + L - 1) / L;  // vectors per row of Y
  constexpr std::size_t ld = nv * L;           // padded row of the panel
  constexpr std::size_t pd = simd_panel_depth<T, N, K>;
  constexpr std::size_t cv = min_size(nv, tile_rows);
  // Y[i0 + i, v0 L + ...] for i < Ri, the Cv vectors from v0 (the last has Last lanes of
  // Y), over panel rows [p0, p0 + Pc); First: Y holds nothing yet
  auto tile = [&]<std::size_t Ri, std::size_t Cv, std::size_t Last, std::size_t Pc, bool First>(
                  std::size_t i0, std::size_t v0, std::size_t p0) {
    V acc[Ri][Cv];
    for (std::size_t i = 0; i < Ri; ++i) {
      for (std::size_t c = 0; c < Cv; ++c) {
        T const* src = y + (i0 + i) * N + (v0 + c) * L;
        if constexpr (First) {
          acc[i][c] = V{};
        } else if (c + 1 < Cv || Last == L) {
          acc[i][c] = simd_load(src);
        } else {
          T part[L] = {};
          for (std::size_t l = 0; l < Last; ++l) part[l] = src[l];
          acc[i][c] = simd_load(part);
        }
      }
    }
    for (std::size_t p = 0; p < Pc; ++p) {
      V bv[Cv];  // in registers, as a broadcast element of x (simd_pin)
      for (std::size_t c = 0; c < Cv; ++c) {
        V loaded = simd_load(panel + p * ld + (v0 + c) * L);
        simd_pin(loaded);
        bv[c] = loaded;
      }
      for (std::size_t i = 0; i < Ri; ++i) {
        V a = x[(i0 + i) * K + p0 + p] - V{};  // a broadcast (x - 0 is x, -0 included)
        simd_pin(a);
        for (std::size_t c = 0; c < Cv; ++c) acc[i][c] += a * bv[c];
      }
    }
    for (std::size_t i = 0; i < Ri; ++i) {
      for (std::size_t c = 0; c < Cv; ++c) {
        T* dst = y + (i0 + i) * N + (v0 + c) * L;
        if (c + 1 < Cv || Last == L) {
          simd_store(dst, acc[i][c]);
        } else {
          T part[L];
          simd_store(part, acc[i][c]);
          for (std::size_t l = 0; l < Last; ++l) dst[l] = part[l];
        }
      }
    }
  };
  auto columns = [&]<std::size_t Cv, std::size_t Last, std::size_t Pc, bool First>(std::size_t v0,
                                                                                   std::size_t p0) {
    constexpr std::size_t ri = min_size(M, dot_tile_size / Cv);
    constexpr std::size_t m_main = M / ri * ri;
    for (std::size_t i = 0; i < m_main; i += ri) {
      tile.template operator()<ri, Cv, Last, Pc, First>(i, v0, p0);
    }
    if constexpr (m_main < M)
      tile.template operator()<M - m_main, Cv, Last, Pc, First>(m_main, v0, p0);
  };
  auto chunk = [&]<std::size_t Pc, bool First>(std::size_t p0) {
    // panel[p ld + o] = W[o, p0 + p], in L x L blocks where W has them
    constexpr std::size_t o_main = N / L * L;
    constexpr std::size_t p_main = Pc / L * L;
    for (std::size_t o = 0; o < o_main; o += L) {
      for (std::size_t p = 0; p < p_main; p += L) {
        V r[L];
        for (std::size_t j = 0; j < L; ++j) r[j] = simd_load(w + (o + j) * K + p0 + p);
        simd_transpose<T>(r);
        for (std::size_t j = 0; j < L; ++j) simd_store(panel + (p + j) * ld + o, r[j]);
      }
      for (std::size_t p = p_main; p < Pc; ++p) {
        for (std::size_t j = 0; j < L; ++j) panel[p * ld + o + j] = w[(o + j) * K + p0 + p];
      }
    }
    for (std::size_t p = 0; p < Pc; ++p) {
      for (std::size_t o = o_main; o < ld; ++o) {
        panel[p * ld + o] = o < N ? w[o * K + p0 + p] : T{};
      }
    }
    // whole tiles of cv full vectors, then the rest (at most cv vectors, the last maybe partial)
    constexpr std::size_t v_main = N / L / cv * cv;
    for (std::size_t v = 0; v < v_main; v += cv)
      columns.template operator()<cv, L, Pc, First>(v, p0);
    if constexpr (v_main < nv) {
      columns.template operator()<nv - v_main, N - (nv - 1) * L, Pc, First>(v_main, p0);
    }
  };
  chunk.template operator()<pd, true>(0);
  constexpr std::size_t k_main = K / pd * pd;
  for (std::size_t p0 = pd; p0 < k_main; p0 += pd) chunk.template operator()<pd, false>(p0);
  if constexpr (k_main < K && k_main > 0) chunk.template operator()<K - k_main, false>(k_main);
}
#endif

/// Y = X Wᵀ in broadcast tiles over panels of Wᵀ (panel_depth columns of W at a time): the
/// plain summation order, so the same bits as the naive loop.
template <std::size_t M, std::size_t N, std::size_t K, class T>
constexpr void gemm_nt_panel(T const* x, T const* w, T* y, T* panel) {
#ifdef PROPEL_DETAIL_VECTOR_TYPES
  if constexpr (vector_lanes < T >> 1) {
    if (!std::is_constant_evaluated()) {
      gemm_nt_panel_simd<M, N, K>(x, w, y, panel);
      return;
    }
  }
#endif
  constexpr std::size_t pd = panel_depth<N, K>;  // every panel element written before read
  auto chunk = [&]<std::size_t Pc>(std::size_t p0) {
    for (std::size_t o = 0; o < N; ++o) {
      for (std::size_t p = 0; p < Pc; ++p) panel[p * N + o] = w[o * K + p0 + p];
    }
    gemm_bcast<M, N, Pc, K, 1, N>(
        x + p0, panel, [&](std::size_t i, std::size_t j) { return p0 == 0 ? T{} : y[i * N + j]; },
        [&](std::size_t i, std::size_t j, T v) { y[i * N + j] = v; });
  };
  constexpr std::size_t k_main = K / pd * pd;
  for (std::size_t p0 = 0; p0 < k_main; p0 += pd) chunk.template operator()<pd>(p0);
  if constexpr (k_main < K) chunk.template operator()<K - k_main>(k_main);
}

/// Scratch for gemm_nt: Size elements aligned for vector loads, or nothing.
template <class T, std::size_t Size>
struct panel_buffer {
  alignas(PROPEL_VECTOR_BYTES) T elements[Size];
  [[nodiscard]] constexpr T* data() noexcept { return elements; }
};
template <class T>
struct panel_buffer<T, 0> {
  [[nodiscard]] constexpr T* data() noexcept { return nullptr; }
};

/// Y = X Wᵀ, Y[r * N + o] = Σ_p X[r * K + p] W[o * K + p], in whichever form is cheaper;
/// `panel` points to gemm_nt_panel_size<T, M, N, K> elements of scratch (aligned to
/// PROPEL_VECTOR_BYTES), or may be null when that size is 0.
template <std::size_t M, std::size_t N, std::size_t K, class T>
constexpr void gemm_nt(T const* x, T const* w, T* y, T* panel) {
  if constexpr (scalar_core_v<T>) {
    (void)panel;
    gemm_nt_scalar<M, N, K>(x, w, y, [](std::size_t, std::size_t) {});
  } else if constexpr (prefer_dot_v<T, M, N, K>) {
    (void)panel;
    gemm_nt_dot<M, N, K>(x, w, y);
  } else {
    gemm_nt_panel<M, N, K>(x, w, y, panel);
  }
}

/// Calls body(r, c) for r < Rows and c < Cols, row by row (an element-wise loop over a
/// block of a matrix), in a form that vectorises well. With vector registers, a row of more
/// than 4 elements is the loop the compiler vectorises, unrolled up to 8 times (in vectors)
/// but never completely before it is vectorised: GCC would then vectorise across rows, with
/// strided accesses and shuffles. Shorter rows are vectorised across, the loop over rows
/// kept whole for that (completely unrolled, GCC would vectorise the block's elements with
/// element-by-element inserts).
template <class T, std::size_t Rows, std::size_t Cols, class Body>
PROPEL_ALWAYS_INLINE constexpr void for_block(Body const& body) {
  if constexpr (vector_lanes<T> == 1) {
    for (std::size_t r = 0; r < Rows; ++r) {
      for (std::size_t c = 0; c < Cols; ++c) body(r, c);
    }
  } else if constexpr (Cols > 8) {
    for (std::size_t r = 0; r < Rows; ++r) {
      PROPEL_UNROLL(8)
      for (std::size_t c = 0; c < Cols; ++c) body(r, c);
    }
  } else if constexpr (Cols > 4) {
    for (std::size_t r = 0; r < Rows; ++r) {
      PROPEL_UNROLL(4)
      for (std::size_t c = 0; c < Cols; ++c) body(r, c);
    }
  } else {
    PROPEL_UNROLL(1)
    for (std::size_t r = 0; r < Rows; ++r) {
      for (std::size_t c = 0; c < Cols; ++c) body(r, c);
    }
  }
}

/// Rows of W per block of matvec_backward: a divisor of M, as many rows as fit in 1024
/// elements (one row at least), so that a block is still in the L1 cache when it is read the
/// second time.
template <std::size_t M, std::size_t K>
inline constexpr std::size_t matvec_block_rows = [] {
  std::size_t r = K >= 1024 ? 1 : min_size(M, 1024 / K);
  while (M % r != 0) --r;
  return r;
}();

/// matvec_backward on a scalar core, in one pass over W: columns of W in chunks of up to
/// 8, each chunk walked down every row, its inputs x[p] and its sums dx[p] kept in registers
/// (16 of the 32 of an FPv4); in each row the chunk's weights are read for dx, then their
/// derivatives dz[i] x[p] are delivered (through bind_writer: a stepper's options are
/// tested once, not per run): every element is read before the write that may move it.
/// dx[p] = Σ_i W[i, p] dz[i] is summed in the order i = 0, 1, ..., M - 1, the order of
/// matvec_backward's broadcast tiles on a scalar core: the same bits.
template <std::size_t M, std::size_t K, bool NeedX, class T, class WPtr, class Write>
constexpr void matvec_backward_scalar(WPtr w, T const* x, T const* dz, T* dx, Write const& write) {
  constexpr bool delivers = !std::is_same_v<Write, no_writer>;
  auto run = [&](auto const& put) {
    auto chunk = [&]<std::size_t C>(std::size_t p0) {
      T xs[C];
      T sums[C];
      PROPEL_UNROLL(16)
      for (std::size_t c = 0; c < C; ++c) {
        xs[c] = x[p0 + c];
        sums[c] = T{};
      }
      for (std::size_t i = 0; i < M; ++i) {
        T const d = dz[i];
        if constexpr (NeedX) {
          T const* wi = static_cast<T const*>(w + i * K + p0);
          PROPEL_UNROLL(16)
          for (std::size_t c = 0; c < C; ++c) sums[c] = mul_add(sums[c], wi[c], d);
        }
        if constexpr (delivers) {
          PROPEL_UNROLL(16)
          for (std::size_t c = 0; c < C; ++c) put(i * K + p0 + c, d * xs[c]);
        }
      }
      if constexpr (NeedX) {
        PROPEL_UNROLL(16)
        for (std::size_t c = 0; c < C; ++c) dx[p0 + c] = sums[c];
      }
    };
    constexpr std::size_t cw = min_size(K, 8);
    constexpr std::size_t k_main = K / cw * cw;
    for (std::size_t p0 = 0; p0 < k_main; p0 += cw) chunk.template operator()<cw>(p0);
    if constexpr (k_main < K) chunk.template operator()<K - k_main>(k_main);
  };
  if constexpr (delivers) {
    bind_writer(write, run);
  } else {
    run(write);
  }
}

/// The backward pass of y = W x (W: M x K row-major) for one sample, one pass over W in
/// blocks of rows: dx[p] = Σ_i W[i, p] dz[i] block after block (when NeedX; within a block
/// as gemm_bcast sums), and dW[i, p] = dz[i] x[p] handed to `write` once per element (at
/// flat index i K + p), a block at a time (write_block). Each block of W is read for dx before its
/// derivative is delivered: when the writer moves W (a fused update), w is the writer's own
/// parameter pointer and every element is read before the write that moves it. A scalar
/// core takes matvec_backward_scalar instead: the same sums and derivatives, in chunks of
/// columns.
template <std::size_t M, std::size_t K, bool NeedX, class T, class WPtr, class Write>
constexpr void matvec_backward(WPtr w, T const* x, T const* dz, T* dx, Write const& write) {
  if constexpr (scalar_core_v<T>) {
    matvec_backward_scalar<M, K, NeedX>(w, x, dz, dx, write);
  } else {
    constexpr std::size_t rb = matvec_block_rows<M, K>;
    auto block = [&]<bool First>(std::size_t from) {
      // the first block starts at row 0 whether or not the compiler inlines this call (it
      // often does not): its addresses are then constant offsets from w, x and dz, which a
      // vector load or store takes as its displacement, not an address computed per access
      std::size_t const i0 = First ? 0 : from;
      if constexpr (NeedX) {
        // dx (= 0 before the first block) += W[i0 : i0 + rb]ᵀ dz[i0 : i0 + rb]
        gemm_bcast<1, K, rb, rb, 1, K>(
            dz + i0, static_cast<T const*>(w + i0 * K),
            [dx](std::size_t, std::size_t p) { return First ? T{} : dx[p]; },
            [dx](std::size_t, std::size_t p, T v) { dx[p] = v; });
      }
      if constexpr (!std::is_same_v<Write, no_writer>) {
        T const* dzb = dz + i0;
        auto const d = [dzb, x](std::size_t r, std::size_t p) { return dzb[r] * x[p]; };
#ifdef PROPEL_DETAIL_VECTOR_TYPES
        // with its vector form: a writer's block reads dz[i] x[p .. p + lanes) as one vector
        write_block<rb, K>(write, i0 * K, with_vector{d, [dzb, x](std::size_t r, std::size_t p) {
                                                        return dzb[r] * simd_load(x + p);
                                                      }});
#else
        write_block<rb, K>(write, i0 * K, d);
#endif
      }
    };
    block.template operator()<true>(0);
    for (std::size_t i0 = rb; i0 < M; i0 += rb) block.template operator()<false>(i0);
  }
}

}  // namespace propel::detail
