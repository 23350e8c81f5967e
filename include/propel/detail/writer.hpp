// SPDX-License-Identifier: BSL-1.0
/// \file The writer protocol: how a kernel delivers a derivative to a gradient slot. A
/// writer `w` takes one element, `w(i, v)`, and says whether it `accumulates` (adds into the
/// slot, so that it may be handed partial sums of one element) and whether it `moves_param`
/// (steps the parameter as it goes: a trainer's fused update). The dense kernels
/// (detail/kernels.hpp) write through write_block and bind_writer; the expression nodes
/// choose the writer of each gradient slot (detail::slot_writer, expr/expression.hpp); the
/// optimizers provide writers that step the parameters (nn/gradient.hpp, nn/optimizer.hpp).
#pragma once

#include <cstddef>
#include <propel/config.hpp>

namespace propel::detail {

/// Delivers derivatives to a gradient slot by adding them: `w(i, v)` is `grad[i] += v`.
/// Every writer says whether it `accumulates` (a node may then hand it partial sums of one
/// element) and whether it `moves_param`: a writer that also steps the parameter (a trainer's
/// fused update) exposes the parameter as `param`, and a kernel that reads the parameter
/// while delivering its derivative reads it through that pointer, before each write.
/// A writer may also deliver a whole block at once (see write_block).
template <class T>
struct adding_writer {
  static constexpr bool accumulates = true;
  static constexpr bool moves_param = false;
  T* grad;
  constexpr void operator()(std::size_t i, T v) const { grad[i] += v; }
};

/// A callable f with a vector form: f(args...) as f itself, and `vector(row, col)`, the
/// elements (row, col) .. (row, col + lanes - 1) of the same function as one simd_t, lane by
/// lane the same bits (the lanes never cross a row). An adjoint (see expr/expression.hpp) or a
/// block of a derivative (write_block) that can be read a vector at a time.
template <class F, class VF>
struct with_vector {
  F scalar;
  VF vector_form;
  template <class... I>
  PROPEL_ALWAYS_INLINE constexpr auto operator()(I... i) const {
    return scalar(i...);
  }
  [[nodiscard]] PROPEL_ALWAYS_INLINE auto vector(std::size_t row, std::size_t col) const {
    return vector_form(row, col);
  }
};
template <class F, class VF>
with_vector(F, VF) -> with_vector<F, VF>;

/// Whether F has a vector form (with_vector).
template <class F>
inline constexpr bool has_vector_form_v = requires(F const& f) {
  f.vector(std::size_t{}, std::size_t{});
};

/// Delivers a block of a derivative through writer w: Rows x Cols elements, row-major from
/// flat index `begin`, element begin + r Cols + c having the value f(r, c); f may have a
/// vector form (with_vector), which a writer's block may read instead. The same as
/// `w(begin + r * Cols + c, f(r, c))` for every element, in no particular order, so f must
/// not read what w writes (the slot, or the parameter a writer that `moves_param` moves). A
/// writer that defines `w.template block<Rows, Cols>(begin, f)` does it in one go: it makes
/// its run-time choices (an optimizer's options) once per block and runs a loop free of
/// them, which the compiler can vectorise; any other writer gets the elements one by one.
template <std::size_t Rows, std::size_t Cols, class W, class F>
constexpr void write_block(W const& w, std::size_t begin, F const& f) {
  if constexpr (requires { w.template block<Rows, Cols>(begin, f); }) {
    w.template block<Rows, Cols>(begin, f);
  } else {
    for (std::size_t r = 0; r < Rows; ++r) {
      for (std::size_t c = 0; c < Cols; ++c) w(begin + r * Cols + c, f(r, c));
    }
  }
}

/// Runs body(put), where put(i, v) delivers v for flat index i as w(i, v) does. A writer
/// that defines `w.bind(body)` (a parameter_writer whose stepper does, see propel::sgd) makes
/// its run-time choices once and hands body a put free of them, body being instantiated for
/// each kind of put it may hand; any other writer is handed itself. For kernels that deliver
/// many short runs of elements, interleaved with reads of the parameter (the backward pass
/// of W·x on a scalar core, detail::matvec_backward_scalar).
template <class W, class Body>
constexpr void bind_writer(W const& w, Body const& body) {
  if constexpr (requires { w.bind(body); }) {
    w.bind(body);
  } else {
    body(w);
  }
}

/// The writer of a backward pass that delivers nothing (W·x when W is not differentiated).
struct no_writer {
  static constexpr bool accumulates = false;
  static constexpr bool moves_param = false;
  template <class T>
  constexpr void operator()(std::size_t, T) const noexcept {}
};

}  // namespace propel::detail
