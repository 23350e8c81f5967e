// SPDX-License-Identifier: BSL-1.0
/// \file Defines softmax_xent_expr, the softmax cross-entropy of logits against integer
/// labels or target distributions (one-hot or soft), averaged over the rows.
#pragma once

#include <array>
#include <cstddef>
#include <limits>
#include <propel/detail/math.hpp>
#include <propel/expr/expression.hpp>
#include <propel/expr/product.hpp>
#include <type_traits>

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
      value_type top = detail::operand_at(z, c.z, r * classes);
      for (std::size_t j = 1; j < classes; ++j) {
        value_type const v = detail::operand_at(z, c.z, r * classes + j);
        top = v > top ? v : top;
      }
      value_type s{};
      for (std::size_t j = 0; j < classes; ++j) {
        s += detail::math::exp(detail::operand_at(z, c.z, r * classes + j) - top);
      }
      value_type const lse = top + detail::math::log(s);
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
      z.backward(
          c.z.c, s.z,
          [&](std::size_t i) {
            std::size_t const r = i / classes;
            std::size_t const j = i % classes;
            if constexpr (has_labels) {
              if (!label_ok(r)) return std::numeric_limits<value_type>::quiet_NaN();
            }
            value_type const p = detail::math::exp(detail::operand_at(z, c.z, i) - c.lse[r]);
            return d * (p * c.ysum[r] - target_at(c, r, j));
          },
          sink);
    }
    if constexpr (!has_labels) {
      if constexpr (detail::depends_on_v<Target, Sink>) {
        target.backward(
            c.y.c, s.y,
            [&](std::size_t i) { return d * (c.lse[i / classes] - detail::operand_at(z, c.z, i)); },
            sink);
      }
    }
  }
};

}  // namespace propel
