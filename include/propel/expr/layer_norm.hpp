// SPDX-License-Identifier: BSL-1.0
/// \file Defines layer_norm_expr: PyTorch's nn.LayerNorm over the last dimension.
///
/// For each row x of N features (each row of a matrix, the whole of a vector):
///
///     mean = Σ x_j / N,  var = Σ (x_j - mean)² / N   (biased, as PyTorch)
///     rstd = 1 / sqrt(var + eps),  x̂_j = (x_j - mean) rstd,  y_j = x̂_j w_j + b_j
///
/// Backward, with dy the incoming derivative of the row and g = dy ⊙ w (the standard
/// closed form, the row's mean and rstd kept from the forward pass):
///
///     dx_j = rstd (g_j - mean(g) - x̂_j mean(g ⊙ x̂))
///     dw_j = Σ_rows dy_j x̂_j,   db_j = Σ_rows dy_j
///
/// (mean(·) over the row's N features). x̂ is recomputed from x, mean and rstd.
#pragma once

#include <cstddef>
#include <propel/detail/math.hpp>
#include <propel/expr/expression.hpp>
#include <propel/expr/product.hpp>
#include <type_traits>

namespace propel {

namespace detail {

template <class X, class W, class B>
struct check_layer_norm_shapes {
  static_assert(X::rank >= 1,
                "propel::layer_norm: the input must be a vector or a matrix (one sample per "
                "row; see the propel::shape arguments of check_layer_norm_shapes)");
  static constexpr std::size_t n = X::rank == 2 ? X::cols : X::size;
  static_assert(W::rank == 1 && W::size == n && B::rank == 1 && B::size == n,
                "propel::layer_norm: weight and bias must be vectors as long as a row of the "
                "input (see the propel::shape arguments of check_layer_norm_shapes: input, "
                "weight, bias)");
  static constexpr bool ok = true;
};

}  // namespace detail

/// y = (x - mean) / sqrt(var + eps) ⊙ weight + bias over each row of X (see the file's
/// comment). The cache keeps each row's mean and 1/sqrt(var + eps) and, unless X is a view
/// of memory or keeps its values, X's values (each row is read three times); y is computed
/// on demand, row by row in the consumer's epilogue.
template <Expression X, Expression W, Expression B>
struct layer_norm_expr {
  static_assert(detail::check_same_scalar<typename X::value_type, typename W::value_type>::ok);
  static_assert(detail::check_same_scalar<typename X::value_type, typename B::value_type>::ok);
  static_assert(detail::check_layer_norm_shapes<typename X::shape_type, typename W::shape_type,
                                                typename B::shape_type>::ok);

  static constexpr bool is_propel_expression = true;
  static constexpr bool is_direct = false;
  using value_type = typename X::value_type;
  using shape_type = typename X::shape_type;
  using leaf_ids =
      detail::concat_t<typename X::leaf_ids, typename W::leaf_ids, typename B::leaf_ids>;
  static constexpr std::size_t n =
      detail::check_layer_norm_shapes<shape_type, typename W::shape_type,
                                      typename B::shape_type>::n;
  static constexpr std::size_t rows = shape_type::size / n;
  using row_stats = tensor_t<value_type, shape<rows>>;
  using features = tensor_t<value_type, shape<n>>;

  struct cache_type {
    detail::operand_cache<X> x;
    [[no_unique_address]] typename W::cache_type w;
    [[no_unique_address]] typename B::cache_type b;
    row_stats mean;
    row_stats rstd;
  };

  static constexpr bool need_any =
      detail::has_leaves_v<X> || detail::has_leaves_v<W> || detail::has_leaves_v<B>;
  struct scratch_type {
    [[no_unique_address]] typename X::scratch_type x;
    [[no_unique_address]] typename W::scratch_type w;
    [[no_unique_address]] typename B::scratch_type b;
    /// The incoming derivative, read several times per element.
    [[no_unique_address]] detail::scratch_buffer_t<need_any, tensor_t<value_type, shape_type>> dy;
    /// Per row: mean(g) and mean(g ⊙ x̂).
    [[no_unique_address]] detail::scratch_buffer_t<detail::has_leaves_v<X>, row_stats> mean_g;
    [[no_unique_address]] detail::scratch_buffer_t<detail::has_leaves_v<X>, row_stats> mean_gx;
    [[no_unique_address]] detail::scratch_buffer_t<detail::has_leaves_v<W>, features> dw;
    [[no_unique_address]] detail::scratch_buffer_t<detail::has_leaves_v<B>, features> db;
  };

  X x;
  W w;
  B b;
  value_type eps;

  template <class Epi>
  constexpr void forward(cache_type& c, Epi const& epi) const {
    detail::prepare_operand(x, c.x);
    w.forward(c.w, detail::no_epilogue{});
    b.forward(c.b, detail::no_epilogue{});
    value_type const count = static_cast<value_type>(n);
    for (std::size_t r = 0; r < rows; ++r) {
      value_type total{};
      for (std::size_t j = 0; j < n; ++j) total += input(c, r * n + j);
      value_type const mean = total / count;
      value_type squares{};
      for (std::size_t j = 0; j < n; ++j) {
        value_type const d = input(c, r * n + j) - mean;
        squares += d * d;
      }
      detail::flat(c.mean, r) = mean;
      detail::flat(c.rstd, r) = value_type(1) / detail::math::sqrt(squares / count + eps);
      epi(r * n, r * n + n);
    }
  }
  [[nodiscard]] constexpr value_type at_rc(cache_type const& c, std::size_t row,
                                           std::size_t col) const {
    return normalized(c, row, col) * w.at(c.w, col) + b.at(c.b, col);
  }
  [[nodiscard]] constexpr value_type at(cache_type const& c, std::size_t i) const {
    return at_rc(c, i / n, i % n);
  }

  template <class Adj, class Sink>
  constexpr void backward(cache_type const& c, scratch_type& s, Adj const& adj, Sink& sink) const {
    constexpr bool need_x = detail::depends_on_v<X, Sink>;
    constexpr bool need_w = detail::depends_on_v<W, Sink>;
    constexpr bool need_b = detail::depends_on_v<B, Sink>;
    if constexpr (need_x || need_w || need_b) {
      value_type* dy = &detail::flat(s.dy, 0);
      for (std::size_t i = 0; i < shape_type::size; ++i) dy[i] = adj(i);
      if constexpr (need_x) {
        value_type const count = static_cast<value_type>(n);
        for (std::size_t r = 0; r < rows; ++r) {
          value_type sum_g{};
          value_type sum_gx{};
          for (std::size_t j = 0; j < n; ++j) {
            value_type const g = dy[r * n + j] * w.at(c.w, j);
            sum_g += g;
            sum_gx += g * normalized(c, r, j);
          }
          detail::flat(s.mean_g, r) = sum_g / count;
          detail::flat(s.mean_gx, r) = sum_gx / count;
        }
        // x first: its derivative reads w, which a fused update may move once delivered
        x.backward(
            c.x.c, s.x,
            [&](std::size_t i) {
              std::size_t const r = i / n;
              std::size_t const j = i % n;
              return detail::flat(c.rstd, r) * (dy[i] * w.at(c.w, j) - detail::flat(s.mean_g, r) -
                                                normalized(c, r, j) * detail::flat(s.mean_gx, r));
            },
            sink);
      }
      if constexpr (need_w) {
        value_type* dw = &detail::flat(s.dw, 0);
        for (std::size_t j = 0; j < n; ++j) dw[j] = value_type{};
        for (std::size_t r = 0; r < rows; ++r) {
          for (std::size_t j = 0; j < n; ++j) dw[j] += dy[r * n + j] * normalized(c, r, j);
        }
        w.backward(
            c.w, s.w, [dw](std::size_t j) { return dw[j]; }, sink);
      }
      if constexpr (need_b) {
        value_type* db = &detail::flat(s.db, 0);
        for (std::size_t j = 0; j < n; ++j) db[j] = value_type{};
        for (std::size_t r = 0; r < rows; ++r) {
          for (std::size_t j = 0; j < n; ++j) db[j] += dy[r * n + j];
        }
        b.backward(
            c.b, s.b, [db](std::size_t j) { return db[j]; }, sink);
      }
    }
  }

 private:
  [[nodiscard]] constexpr value_type input(cache_type const& c, std::size_t i) const {
    return detail::operand_at(x, c.x, i);
  }
  /// x̂ at (row, col).
  [[nodiscard]] constexpr value_type normalized(cache_type const& c, std::size_t row,
                                                std::size_t col) const {
    return (input(c, row * n + col) - detail::flat(c.mean, row)) * detail::flat(c.rstd, row);
  }
};

/// PyTorch's nn.LayerNorm over the last dimension of x (each row of a matrix, the whole of a
/// vector), with the affine parameters weight and bias (expressions, usually variables, as
/// long as a row) and eps inside the square root: y = (x - mean) / sqrt(var + eps) ⊙ weight
/// + bias, var biased. Wrong lengths are a compile error naming the shapes.
template <Expression X, Expression W, Expression B>
[[nodiscard]] constexpr layer_norm_expr<X, W, B> layer_norm(X const& x, W const& weight,
                                                            B const& bias, double eps = 1e-5) {
  return {x, weight, bias, static_cast<typename X::value_type>(eps)};
}

}  // namespace propel
