// SPDX-License-Identifier: BSL-1.0
/// \file Element-wise loops written with vector types: the elements of an expression read a
/// whole simd_t<T> at a time, so that a bias add, an activation or a copy runs on vectors by
/// construction, whatever the compiler decides about inlining and auto-vectorising the
/// caller's loop (a tanh of ~40 operations is often inlined but left scalar, or not inlined
/// at all, and then costs a call per element).
///
/// The protocol: `vector_element_at(e, c, row, col)` is the vector of elements (row, col) ..
/// (row, col + lanes - 1) of e (row 0 and col the flat index for a vector), for an e with
/// has_vector_elements_v: a leaf or a node that owns its values (a load), or an element-wise
/// node whose op has a vector form (`op.vector_value(v)` or `op.vector_value(a, b)`, lane by
/// lane the bits of `op.value`) over operands that have vector elements. Lanes never cross a
/// row: a row's last, partial vector is left to the caller (see for_each_vector).
#pragma once

#include <concepts>
#include <cstddef>
#include <propel/config.hpp>
#include <propel/detail/kernels.hpp>
#include <propel/expr/expression.hpp>
#include <type_traits>

namespace propel::detail {

/// Whether Op has a vector form for T: `op.vector_value(v)` on a simd_t<T>, lane by lane the
/// bits of op.value.
template <class Op, class T>
inline constexpr bool has_vector_value_v = [] {
#ifdef PROPEL_DETAIL_VECTOR_TYPES
  if constexpr (vector_lanes < T >> 1) {
    return requires(Op const& op, simd_t<T> v) {
      { op.vector_value(v) } -> std::same_as<simd_t<T>>;
    };
  }
#endif
  return false;
}();

/// The same for a binary op: `op.vector_value(a, b)`.
template <class Op, class T>
inline constexpr bool has_vector_value2_v = [] {
#ifdef PROPEL_DETAIL_VECTOR_TYPES
  if constexpr (vector_lanes < T >> 1) {
    return requires(Op const& op, simd_t<T> v) {
      { op.vector_value(v, v) } -> std::same_as<simd_t<T>>;
    };
  }
#endif
  return false;
}();

/// Whether E's elements lie row-major in memory at `e.data->elements` (a leaf).
template <class E>
inline constexpr bool is_elements_leaf_v = requires(E const& e) {
  { e.data->elements[0] } -> std::convertible_to<typename E::value_type>;
};

/// Whether E's elements can be read a vector at a time (see the file comment): a leaf, a node
/// with `elements(c)` (its own values, row-major), or a node that says so itself
/// (`E::vector_elements`, an element-wise node over such operands).
template <class E>
inline constexpr bool has_vector_elements_v = [] {
#ifdef PROPEL_DETAIL_VECTOR_TYPES
  if constexpr (vector_lanes < typename E::value_type >> 1) {
    if constexpr (is_elements_leaf_v<E> || requires(E const& e, typename E::cache_type const& c) {
                    { e.elements(c) } -> std::same_as<typename E::value_type const*>;
                  }) {
      return true;
    } else if constexpr (requires { E::vector_elements; }) {
      return bool{E::vector_elements};
    }
  }
#endif
  return false;
}();

#ifdef PROPEL_DETAIL_VECTOR_TYPES
/// Elements (row, col) .. (row, col + lanes - 1) of e (see the file comment); col + lanes is
/// at most the row's length.
template <class E, class C>
PROPEL_ALWAYS_INLINE simd_t<typename E::value_type> vector_element_at(E const& e, C const& c,
                                                                      std::size_t row,
                                                                      std::size_t col) {
  std::size_t const i = row * E::shape_type::cols + col;
  if constexpr (is_elements_leaf_v<E>) {
    return simd_load(e.data->elements + i);
  } else if constexpr (requires { e.elements(c); }) {
    return simd_load(e.elements(c) + i);
  } else {
    return e.vector_at_rc(c, row, col);
  }
}

/// Every lane x, the same bits (x - 0 is x for every x, -0 and NaN included).
template <class T>
PROPEL_ALWAYS_INLINE simd_t<T> simd_splat(T x) {
  return x - simd_t<T>{};
}

/// p[l] = op.value(p[l]) for l < n, fewer than a vector's worth: one vector padded with
/// zeros (what the padding lanes compute is thrown away). A function of its own, so that the
/// loop calling it keeps one copy of the vector form.
template <class Op, class T>
void apply_vector_value_part(Op const& op, T* p, std::size_t n) {
  T part[vector_lanes<T>] = {};
  for (std::size_t l = 0; l < n; ++l) part[l] = p[l];
  simd_store(part, op.vector_value(simd_load(part)));
  for (std::size_t l = 0; l < n; ++l) p[l] = part[l];
}
#endif

/// For the flat range [begin, end) of e (whole rows of a matrix, the whole of a vector):
/// vf(i, v) for each whole vector v of elements i .. i + lanes - 1 of a row, then
/// tail(i, n) for the n < lanes elements i .. i + n - 1 left at the end of the row. Returns
/// false, doing nothing, where e has no vector elements or the range is not whole rows or the
/// whole vector (the caller then runs its scalar loop).
template <class E, class C, class VF, class TF>
PROPEL_ALWAYS_INLINE bool for_each_vector(E const& e, C const& c, std::size_t begin,
                                          std::size_t end, VF const& vf, TF const& tail) {
#ifdef PROPEL_DETAIL_VECTOR_TYPES
  if constexpr (has_vector_elements_v<E>) {
    using T = typename E::value_type;
    constexpr std::size_t L = vector_lanes<T>;
    if constexpr (E::shape_type::rank == 2) {
      constexpr std::size_t cols = E::shape_type::cols;
      if (begin % cols != 0 || end % cols != 0) return false;
      for (std::size_t row = begin / cols; row < end / cols; ++row) {
        std::size_t col = 0;
        PROPEL_UNROLL(1)
        for (; col + L <= cols; col += L) vf(row * cols + col, vector_element_at(e, c, row, col));
        if constexpr (cols % L != 0) tail(row * cols + col, cols - col);
      }
      return true;
    } else {
      // the whole vector, the one range any producer hands a vector's epilogue: bounds
      // known at compile time, so a size that is a multiple of the lanes has no tail code
      constexpr std::size_t size = E::shape_type::size;
      if (begin != 0 || end != size) return false;
      PROPEL_UNROLL(1)
      for (std::size_t i = 0; i < size / L * L; i += L) vf(i, vector_element_at(e, c, 0, i));
      if constexpr (size % L != 0) tail(size / L * L, size % L);
      return true;
    }
  }
#endif
  (void)e, (void)c, (void)begin, (void)end, (void)vf, (void)tail;
  return false;
}

#ifdef PROPEL_DETAIL_VECTOR_TYPES
/// out[i] = op.value(arg.at(c, i)) for i in [begin, end) in two passes: the arguments
/// written first (a cheap loop in any form), then Op applied to them in place, a vector at a
/// time, the range's last partial vector padded.
template <class Op, class Arg, class C>
void apply_vector_value_in_place(Op const& op, Arg const& arg, C const& c, std::size_t begin,
                                 std::size_t end, typename Arg::value_type* out) {
  using T = typename Arg::value_type;
  constexpr std::size_t L = vector_lanes<T>;
  for_each_element(arg, c, begin, end, [&](std::size_t i, T v) { out[i] = v; });
  std::size_t i = begin;
  PROPEL_UNROLL(1)
  for (; i + L <= end; i += L) simd_store(out + i, op.vector_value(simd_load(out + i)));
  if (i < end) apply_vector_value_part(op, out + i, end - i);
}
#endif

/// out[i] = op.value(arg.at(c, i)) for i in [begin, end) through Op's vector form (run time
/// only), when Op has one for Arg's scalar type; returns false, doing nothing, otherwise.
/// Where Arg has vector elements (a bias added to a product: W x + b) and the range is whole
/// rows, the arguments are read a vector at a time and Op applied to them in the same pass,
/// each row's last partial vector padded; otherwise apply_vector_value_in_place.
template <class Op, class Arg, class C>
PROPEL_ALWAYS_INLINE bool apply_vector_value(Op const& op, Arg const& arg, C const& c,
                                             std::size_t begin, std::size_t end,
                                             typename Arg::value_type* out) {
  using T = typename Arg::value_type;
  if constexpr (has_vector_value_v<Op, T>) {
#ifdef PROPEL_DETAIL_VECTOR_TYPES
    bool const fused = for_each_vector(
        arg, c, begin, end,
        [&](std::size_t i, simd_t<T> v) { simd_store(out + i, op.vector_value(v)); },
        [&](std::size_t i, std::size_t n) {
          for (std::size_t l = 0; l < n; ++l) out[i + l] = arg.at(c, i + l);
          apply_vector_value_part(op, out + i, n);
        });
    if (!fused) apply_vector_value_in_place(op, arg, c, begin, end, out);
    return true;
#endif
  }
  (void)op, (void)arg, (void)c, (void)begin, (void)end, (void)out;
  return false;
}

/// dst[i] = e.at(c, i) for i in [begin, end): whole vectors where e has vector elements (the
/// row's last few elements one by one, each a cheap operation: an op whose vector form
/// matters, tanh, keeps its values), otherwise for_each_element's loop.
template <class E, class C>
constexpr void store_elements(E const& e, C const& c, std::size_t begin, std::size_t end,
                              typename E::value_type* dst) {
  if (!std::is_constant_evaluated()) {
#ifdef PROPEL_DETAIL_VECTOR_TYPES
    bool const done = for_each_vector(
        e, c, begin, end, [&](std::size_t i, auto v) { simd_store(dst + i, v); },
        [&](std::size_t i, std::size_t n) {
          for (std::size_t l = 0; l < n; ++l) dst[i + l] = e.at(c, i + l);
        });
    if (done) return;
#endif
  }
  for_each_element(e, c, begin, end, [&](std::size_t i, auto v) { dst[i] = v; });
}

/// Whether the adjoint (or block function) F has a vector form for T (see with_vector and
/// the protocol in expr/expression.hpp): `f.vector(row, col)` is a simd_t<T>.
template <class F, class T>
inline constexpr bool has_vector_adjoint_v = [] {
#ifdef PROPEL_DETAIL_VECTOR_TYPES
  if constexpr (vector_lanes < T >> 1) {
    return requires(F const& f, std::size_t i) {
      { f.vector(i, i) } -> std::same_as<simd_t<T>>;
    };
  }
#endif
  return false;
}();

/// The rows and columns in which a backward pass walks the elements of shape S: a matrix's
/// own, one row of all the elements otherwise (element (0, i) is flat element i).
template <class S>
inline constexpr std::size_t walk_rows_v = S::rank == 2 ? S::rows : 1;
template <class S>
inline constexpr std::size_t walk_cols_v = S::rank == 2 ? S::cols : S::size;

/// vf(r, c) for each whole vector of T's lanes c .. c + lanes - 1 of each row r < Rows of a
/// Rows x Cols block, then sf(r, c) for each element c left at the row's end. The loop over
/// a row's vectors is unrolled up to 8 times (a row of up to 8 vectors, completely): its
/// body is a few vector instructions, which the loop's own would otherwise match.
template <class T, std::size_t Rows, std::size_t Cols, class VF, class SF>
PROPEL_ALWAYS_INLINE void for_each_block_vector(VF const& vf, SF const& sf) {
  constexpr std::size_t L = vector_lanes<T>;
  for (std::size_t r = 0; r < Rows; ++r) {
    std::size_t c = 0;
    PROPEL_UNROLL(8)
    for (; c + L <= Cols; c += L) vf(r, c);
    if constexpr (Cols % L != 0) {
      for (; c < Cols; ++c) sf(r, c);
    }
  }
}

/// dst[i] = adj(i) for every element i of shape S: a vector at a time through the adjoint's
/// vector form where it has one (run time only; each row's last few elements one by one),
/// otherwise one loop over the elements (the loop it replaces in a node: always inlined).
template <class S, class T, class Adj>
PROPEL_ALWAYS_INLINE constexpr void store_adjoint(Adj const& adj, T* dst) {
  if constexpr (has_vector_adjoint_v<Adj, T>) {
#ifdef PROPEL_DETAIL_VECTOR_TYPES
    if (!std::is_constant_evaluated()) {
      constexpr std::size_t cols = walk_cols_v<S>;
      for_each_block_vector<T, walk_rows_v<S>, cols>(
          [&](std::size_t r, std::size_t c) { simd_store(dst + r * cols + c, adj.vector(r, c)); },
          [&](std::size_t r, std::size_t c) { dst[r * cols + c] = adj(r * cols + c); });
      return;
    }
#endif
  }
  PROPEL_UNROLL(1)  // kept for the vectoriser (see detail::for_each_element)
  for (std::size_t i = 0; i < S::size; ++i) dst[i] = adj(i);
}

/// The adjoint that reads a derivative materialised in p (shape S, row-major): p[i], and,
/// where the target has vector registers, its vector form, a load.
template <class S, class T>
[[nodiscard]] constexpr auto stored_adjoint(T const* p) {
  auto const scalar = [p](std::size_t i) { return p[i]; };
#ifdef PROPEL_DETAIL_VECTOR_TYPES
  if constexpr (vector_lanes < T >> 1) {
    return with_vector{scalar, [p](std::size_t r, std::size_t c) {
                         return simd_load(p + r * walk_cols_v<S> + c);
                       }};
  } else {
    return scalar;
  }
#else
  return scalar;
#endif
}

}  // namespace propel::detail
