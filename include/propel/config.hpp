// SPDX-License-Identifier: BSL-1.0
/// \file The only place where propel defines macros.
#pragma once

#include <cassert>

#if defined(__GNUC__) || defined(__clang__)
#define PROPEL_ALWAYS_INLINE inline __attribute__((always_inline))
#define PROPEL_NOINLINE __attribute__((noinline))
#define PROPEL_RESTRICT __restrict__
#define PROPEL_PRAGMA(x) _Pragma(#x)
/// Before a loop: unroll it n times, not more (after vectorising it, if it is vectorised).
#define PROPEL_UNROLL(n) PROPEL_PRAGMA(GCC unroll n)
#else
#define PROPEL_ALWAYS_INLINE inline
#define PROPEL_NOINLINE
#define PROPEL_RESTRICT
#define PROPEL_UNROLL(n)
#endif

/// Checks an index or a precondition in debug builds (`assert`); free in release builds.
/// Out-of-range accesses in constant evaluation are rejected by the compiler regardless.
#define PROPEL_ASSERT(cond) assert(cond)

/// Bytes of the target's widest vector register. The dense kernels keep this many bytes of
/// independent partial sums per dot product (a float reduction vectorises only with explicit
/// partial sums unless -ffast-math reorders it) and size their register tiles from it. Only
/// a tuning knob: every value gives the same results up to rounding.
#ifndef PROPEL_VECTOR_BYTES
#if defined(__AVX512F__)
#define PROPEL_VECTOR_BYTES 64
#elif defined(__AVX__)
#define PROPEL_VECTOR_BYTES 32
#elif defined(__SSE2__) || defined(_M_X64) || defined(__ARM_NEON) || defined(__ALTIVEC__) || \
    defined(__VSX__) || defined(__wasm_simd128__) || defined(__riscv_vector)
#define PROPEL_VECTOR_BYTES 16
#else
// No vector unit (Cortex-M, other microcontrollers): one sum per dot product. Partial sums in
// vector types would be split into scalars, costing instructions, registers and stack.
#define PROPEL_VECTOR_BYTES 4
#endif
#endif

/// Alignment in bytes of the blocks propel owns: a network's parameters, its gradients, the
/// optimizer state, a trainer's workspace. A whole cache line (64) with 64-byte vectors, so
/// that no vector load of a weight row straddles two lines (which halves the speed of
/// streaming W from L2); 32 otherwise. Code compiled for different vector widths must not
/// share propel objects across translation units unless it sets PROPEL_MAX_ALIGN (and
/// PROPEL_VECTOR_BYTES) the same everywhere.
#ifndef PROPEL_MAX_ALIGN
#if PROPEL_VECTOR_BYTES >= 64
#define PROPEL_MAX_ALIGN 64
#else
#define PROPEL_MAX_ALIGN 32
#endif
#endif
