// SPDX-License-Identifier: BSL-1.0
/// \file The only place where propel defines macros.
#pragma once

#include <cassert>

#if defined(__GNUC__) || defined(__clang__)
#define PROPEL_ALWAYS_INLINE inline __attribute__((always_inline))
#define PROPEL_RESTRICT __restrict__
#else
#define PROPEL_ALWAYS_INLINE inline
#define PROPEL_RESTRICT
#endif

/// Checks an index or a precondition in debug builds (`assert`); free in release builds.
/// Out-of-range accesses in constant evaluation are rejected by the compiler regardless.
#define PROPEL_ASSERT(cond) assert(cond)

/// Alignment in bytes of the blocks propel owns: a network's parameters, its gradients, the
/// optimizer state. 32 suits AVX; 64 suits AVX-512.
#ifndef PROPEL_MAX_ALIGN
#define PROPEL_MAX_ALIGN 32
#endif
