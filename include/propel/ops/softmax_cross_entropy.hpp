// SPDX-License-Identifier: BSL-1.0
/// \file Defines softmax_xent_expr, the softmax cross-entropy of logits against integer
/// labels or target distributions (one-hot or soft), averaged over the rows.
#pragma once

#include <array>
#include <cstddef>
#include <limits>
#include <propel/detail/fast_math.hpp>
#include <propel/detail/math.hpp>
#include <propel/expr/expression.hpp>
#include <propel/expr/product.hpp>
#include <type_traits>
#include <utility>

namespace propel {

namespace detail {

/// Whether label names one of Classes classes, [0, Classes): a loss term's rule, and the one
/// a training step checks its labels by before the forward pass (nn/gradient.hpp).
template <std::size_t Classes>
[[nodiscard]] constexpr bool is_class_label(int label) noexcept {
  return label >= 0 && static_cast<std::size_t>(label) < Classes;
}

/// One integer class label per row of the logits.
template <std::size_t Rows>
struct labels {
  std::array<int, Rows> values;
  using leaf_ids = type_list<>;
};

/// Integer labels need no workspace; a target distribution is made ready like an operand.
template <class Target, bool Labels>
struct target_cache_for {
  struct type {};
};
template <class Target>
struct target_cache_for<Target, false> {
  using type = operand_cache<Target>;
};
template <class Target, bool Labels>
struct target_scratch_for {
  struct type {};
};
template <class Target>
struct target_scratch_for<Target, false> {
  using type = typename Target::scratch_type;
};

template <class Logits, class Target>
struct check_cross_entropy_target {
  static_assert(std::is_same_v<Logits, Target>,
                "propel::softmax_cross_entropy: the target distribution must have the shape of "
                "the logits (see the two propel::shape arguments of check_cross_entropy_target)");
  static constexpr bool ok = true;
};

template <class Logits, std::size_t Labels>
struct check_label_count {
  static_assert(Logits::rank == 2 && Logits::rows == Labels,
                "propel::softmax_cross_entropy: give exactly one label per row of the logits "
                "(see the logits' propel::shape and the label count in check_label_count)");
  static constexpr bool ok = true;
};

template <class Logits>
struct check_single_label {
  static_assert(Logits::rank == 1,
                "propel::softmax_cross_entropy: a single int label needs a logits vector; for a "
                "batch give std::array<int, rows> (see the propel::shape in check_single_label)");
  static constexpr bool ok = true;
};

#ifdef PROPEL_DETAIL_VECTOR_TYPES
/// The lane numbers 0, 1, ..., lanes - 1 of simd_t<float> as floats.
template <std::size_t... L>
PROPEL_ALWAYS_INLINE simd_t<float> float_lane_numbers(std::index_sequence<L...>) noexcept {
  return simd_t<float>{static_cast<float>(L)...};
}
#endif

}  // namespace detail

/// Softmax cross-entropy of logits Z (a vector of C classes, or one row per sample),
/// averaged over the rows, computed stably with log-sum-exp. Target is
/// detail::labels<rows> (integer classes) or an expression of Z's shape whose rows are
/// target distributions (one-hot or soft, as PyTorch's CrossEntropyLoss with probabilities).
/// The derivative is (softmax(z) · Σy − y) / rows, never a softmax Jacobian. A label
/// outside [0, C) makes the value and the derivatives NaN.
template <Expression Z, class Target>
struct softmax_xent_expr {
  static_assert(detail::check_floating<typename Z::value_type>::ok);
  static constexpr bool is_propel_expression = true;
  static constexpr bool is_direct = false;
  static constexpr bool has_labels = !Expression<Target>;
  static constexpr std::size_t rows = Z::shape_type::rank == 2 ? Z::shape_type::rows : 1;
  static constexpr std::size_t classes = Z::shape_type::size / rows;
  using value_type = typename Z::value_type;
  using shape_type = shape<>;
  using leaf_ids = detail::concat_t<typename Z::leaf_ids, typename Target::leaf_ids>;

  using target_cache = typename detail::target_cache_for<Target, has_labels>::type;
  struct cache_type {
    detail::operand_cache<Z> z;
    [[no_unique_address]] target_cache y;
    std::array<value_type, rows> lse;   // log-sum-exp of each row
    std::array<value_type, rows> ysum;  // total target mass of each row (1 for labels)
    value_type total;
  };
  struct scratch_type {
    [[no_unique_address]] typename Z::scratch_type z;
    [[no_unique_address]] typename detail::target_scratch_for<Target, has_labels>::type y;
  };

  Z z;
  Target target;

  /// Whether float's run-time exponentials are detail::fast_exp, a vector at a time where a
  /// row has whole vectors (the target has vector registers); otherwise, and in constant
  /// evaluation, every exponential is detail::math::exp's, one element at a time.
  static constexpr bool vector_path =
#ifdef PROPEL_DETAIL_VECTOR_TYPES
      std::is_same_v<value_type, float>;
#else
      false;
#endif

  [[nodiscard]] constexpr bool label_ok(std::size_t r) const {
    return detail::is_class_label<classes>(target.values[r]);
  }
  [[nodiscard]] constexpr value_type target_at(cache_type const& c, std::size_t r,
                                               std::size_t j) const {
    if constexpr (has_labels) {
      (void)c;
      return static_cast<std::size_t>(target.values[r]) == j ? value_type(1) : value_type(0);
    } else {
      return detail::operand_at(target, c.y, r * classes + j);
    }
  }

  template <class Epi>
  constexpr void forward(cache_type& c, Epi const& epi) const {
    detail::prepare_operand(z, c.z);
    if constexpr (!has_labels) detail::prepare_operand(target, c.y);
    value_type total{};
    bool valid = true;
    for (std::size_t r = 0; r < rows; ++r) {
      value_type lse{};
      if (vector_path && !std::is_constant_evaluated()) {
#ifdef PROPEL_DETAIL_VECTOR_TYPES
        if constexpr (vector_path) lse = vector_log_sum_exp(c, r);
#endif
      } else {
        value_type top = detail::operand_at(z, c.z, r * classes);
        for (std::size_t j = 1; j < classes; ++j) {
          value_type const v = detail::operand_at(z, c.z, r * classes + j);
          top = v > top ? v : top;
        }
        value_type s{};
        for (std::size_t j = 0; j < classes; ++j) {
          s += detail::math::exp(detail::operand_at(z, c.z, r * classes + j) - top);
        }
        lse = top + detail::math::log(s);
      }
      c.lse[r] = lse;
      if constexpr (has_labels) {
        c.ysum[r] = value_type(1);
        if (!label_ok(r)) {
          valid = false;
          continue;
        }
        total += lse - detail::operand_at(z, c.z,
                                          r * classes + static_cast<std::size_t>(target.values[r]));
      } else {
        value_type mass{};
        for (std::size_t j = 0; j < classes; ++j) {
          value_type const y = target_at(c, r, j);
          mass += y;
          total += y * (lse - detail::operand_at(z, c.z, r * classes + j));
        }
        c.ysum[r] = mass;
      }
    }
    c.total = valid ? total / value_type(rows) : std::numeric_limits<value_type>::quiet_NaN();
    epi(0, 1);
  }
  [[nodiscard]] constexpr value_type at(cache_type const& c, std::size_t) const { return c.total; }

  template <class Adj, class Sink>
  constexpr void backward(cache_type const& c, scratch_type& s, Adj const& adj, Sink& sink) const {
    value_type const d = adj(0) / value_type(rows);
    if constexpr (detail::depends_on_v<Z, Sink>) {
      auto const scalar = [&](std::size_t i) {
        std::size_t const r = i / classes;
        std::size_t const j = i % classes;
        if constexpr (has_labels) {
          if (!label_ok(r)) return std::numeric_limits<value_type>::quiet_NaN();
        }
        value_type const p = exp_of(detail::operand_at(z, c.z, i) - c.lse[r]);
        return d * (p * c.ysum[r] - target_at(c, r, j));
      };
#ifdef PROPEL_DETAIL_VECTOR_TYPES
      if constexpr (vector_path) {
        if (!std::is_constant_evaluated()) {
          // the same steps on lanes col .. col + lanes - 1 of row `row` (row 0 of a vector
          // of logits, whose col is the flat index), which never run past the row's end
          auto const vector = [&](std::size_t row, std::size_t col) {
            using V = detail::simd_t<float>;
            constexpr std::size_t L = detail::vector_lanes<float>;
            if constexpr (has_labels) {
              if (!label_ok(row)) return std::numeric_limits<float>::quiet_NaN() - V{};
            }
            std::size_t const i = row * classes + col;
            V const p = detail::fast_exp(lanes_at(z, c.z, i) - c.lse[row]);
            V y;
            if constexpr (has_labels) {
              // lane l holds class col + l: 1 for the label, 0 elsewhere
              float const label_lane =
                  static_cast<float>(target.values[row]) - static_cast<float>(col);
              y = detail::select_bits(
                  detail::float_lane_numbers(std::make_index_sequence<L>{}) == label_lane,
                  1.0f - V{}, V{});
            } else {
              y = lanes_at(target, c.y, i);
            }
            return d * (p * c.ysum[row] - y);
          };
          z.backward(c.z.c, s.z, detail::with_vector{scalar, vector}, sink);
          return backward_target(c, s, d, sink);
        }
      }
#endif
      z.backward(c.z.c, s.z, scalar, sink);
    }
    backward_target(c, s, d, sink);
  }

 private:
  /// e^x: detail::fast_exp for float at run time where the vector path is taken (the same
  /// function as its vector form), detail::math::exp otherwise.
  [[nodiscard]] static constexpr value_type exp_of(value_type x) {
#ifdef PROPEL_DETAIL_VECTOR_TYPES
    if constexpr (vector_path) {
      if (!std::is_constant_evaluated()) return detail::fast_exp(x);
    }
#endif
    return static_cast<value_type>(detail::math::exp(x));
  }

#ifdef PROPEL_DETAIL_VECTOR_TYPES
  /// Elements i .. i + lanes - 1 of E (an operand of this node, made ready in oc) as one
  /// vector: a load where they lie in memory, otherwise read one by one.
  template <class E, class OC>
  [[nodiscard]] PROPEL_ALWAYS_INLINE static detail::simd_t<float> lanes_at(E const& e, OC const& oc,
                                                                           std::size_t i) {
    if constexpr (detail::is_contiguous_operand_v<E>) {
      return detail::simd_load(detail::operand_data(e, oc) + i);
    } else {
      detail::simd_t<float> v;
      for (std::size_t l = 0; l < detail::vector_lanes<float>; ++l) {
        v[l] = detail::operand_at(e, oc, i + l);
      }
      return v;
    }
  }

  /// The log-sum-exp of row r of the logits, its maximum and Σ e^(z - max) taken a vector at
  /// a time: whole vectors of the row, then its last `classes % lanes` elements as the
  /// row's last vector (overlapping the one before it: harmless for the maximum, the lanes
  /// already counted masked out of the sum); a row shorter than a vector is padded, its
  /// padding masked out. Lanes summed pairwise at the end (detail::simd_sum).
  [[nodiscard]] float vector_log_sum_exp(cache_type const& c, std::size_t r) const {
    using V = detail::simd_t<float>;
    constexpr std::size_t L = detail::vector_lanes<float>;
    constexpr std::size_t whole = classes / L * L;
    constexpr std::size_t rest = classes % L;
    std::size_t const base = r * classes;
    V const lane = detail::float_lane_numbers(std::make_index_sequence<L>{});
    // the row's last vector: its last L elements, or the whole row padded with -inf
    V last;
    if constexpr (whole > 0) {
      last = lanes_at(z, c.z, base + classes - L);
    } else {
      last = -std::numeric_limits<float>::infinity() - V{};
      for (std::size_t l = 0; l < classes; ++l) last[l] = detail::operand_at(z, c.z, base + l);
    }
    V top = last;
    for (std::size_t j = 0; j < whole; j += L) {
      V const v = lanes_at(z, c.z, base + j);
      top = detail::select_bits(v > top, v, top);
    }
    float m = top[0];
    for (std::size_t l = 1; l < L; ++l) m = top[l] > m ? top[l] : m;
    V sum{};
    for (std::size_t j = 0; j < whole; j += L)
      sum += detail::fast_exp(lanes_at(z, c.z, base + j) - m);
    if constexpr (rest > 0) {
      // the lanes of `last` not in a whole vector: its last `rest` (its first, padded)
      constexpr float first_new = whole > 0 ? static_cast<float>(L - rest) : 0.0f;
      constexpr float past_new = whole > 0 ? static_cast<float>(L) : static_cast<float>(rest);
      V const e = detail::fast_exp(last - m);
      sum += detail::select_bits((lane >= first_new) & (lane < past_new), e, V{});
    }
    return m + static_cast<float>(detail::math::log(detail::simd_sum<float>(sum)));
  }
#endif

  /// dJ/dy of a target distribution that has variables: (lse - z) d.
  template <class Sink>
  constexpr void backward_target(cache_type const& c, scratch_type& s, value_type d,
                                 Sink& sink) const {
    if constexpr (!has_labels) {
      if constexpr (detail::depends_on_v<Target, Sink>) {
        target.backward(
            c.y.c, s.y,
            [&](std::size_t i) { return d * (c.lse[i / classes] - detail::operand_at(z, c.z, i)); },
            sink);
      }
    }
    (void)c, (void)s, (void)d, (void)sink;
  }
};

}  // namespace propel
