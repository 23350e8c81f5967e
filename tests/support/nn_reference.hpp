// SPDX-License-Identifier: BSL-1.0
/// \file Test-only reference for propel's networks: an MLP forward pass and the four losses
/// written as plain loops over std::vector<double>, with no propel code in the arithmetic, so
/// that finite differences of it check propel's gradients against an independent function.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numbers>
#include <span>
#include <vector>

namespace nn_reference {

enum class act { identity, relu, leaky_relu, tanh, sigmoid, elu, silu, gelu, gelu_tanh, softplus };

/// An activation and its parameter (leaky_relu: the negative slope; elu: alpha).
struct activation {
  act kind = act::identity;
  double param = 0.0;
};

inline double logistic(double x) { return 1.0 / (1.0 + std::exp(-x)); }

inline double apply(activation a, double x) {
  switch (a.kind) {
    case act::identity:
      return x;
    case act::relu:
      return x > 0.0 ? x : 0.0;
    case act::leaky_relu:
      return x > 0.0 ? x : a.param * x;
    case act::tanh:
      return std::tanh(x);
    case act::sigmoid:
      return logistic(x);
    case act::elu:
      return x > 0.0 ? x : a.param * std::expm1(x);
    case act::silu:
      return x * logistic(x);
    case act::gelu:
      return 0.5 * x * (1.0 + std::erf(x / std::numbers::sqrt2));
    case act::gelu_tanh: {
      double const k = std::sqrt(2.0 / std::numbers::pi);
      return 0.5 * x * (1.0 + std::tanh(k * (x + 0.044715 * x * x * x)));
    }
    case act::softplus:
      return x > 20.0 ? x : std::log1p(std::exp(x));
  }
  return x;
}

/// Where an activation is not twice differentiable (a finite difference across such a point
/// is not a derivative): the side of the point x lies on, or 0 for a smooth activation.
inline int piece(activation a, double x) {
  switch (a.kind) {
    case act::relu:
    case act::leaky_relu:
    case act::elu:
      return x > 0.0 ? 1 : 2;
    case act::softplus:
      return x > 20.0 ? 1 : 2;
    default:
      return 0;
  }
}

/// A network: widths (input first) and one activation per layer.
struct network {
  std::vector<std::size_t> widths;
  std::vector<activation> acts;

  [[nodiscard]] std::size_t param_count() const {
    std::size_t n = 0;
    for (std::size_t l = 0; l + 1 < widths.size(); ++l) n += widths[l + 1] * (widths[l] + 1);
    return n;
  }
};

/// The outputs (rows x last width, row-major) of `net` with parameters `params` (PyTorch
/// order: W0 [out][in] row-major, b0, W1, ...) on inputs x (rows x first width). If `pieces`
/// is given, it receives the piece of every pre-activation of a non-smooth activation.
inline std::vector<double> forward(network const& net, std::span<double const> params,
                                   std::span<double const> x, std::size_t rows,
                                   std::vector<int>* pieces = nullptr) {
  std::vector<double> a(x.begin(), x.end());
  std::size_t offset = 0;
  for (std::size_t l = 0; l + 1 < net.widths.size(); ++l) {
    std::size_t const in = net.widths[l];
    std::size_t const out = net.widths[l + 1];
    double const* w = params.data() + offset;
    double const* b = w + out * in;
    offset += out * in + out;
    std::vector<double> next(rows * out);
    for (std::size_t r = 0; r < rows; ++r) {
      for (std::size_t o = 0; o < out; ++o) {
        double z = b[o];
        for (std::size_t i = 0; i < in; ++i) z += w[o * in + i] * a[r * in + i];
        if (pieces != nullptr) pieces->push_back(piece(net.acts[l], z));
        next[r * out + o] = apply(net.acts[l], z);
      }
    }
    a = std::move(next);
  }
  return a;
}

enum class loss { mse, huber, cross_entropy, bce_with_logits };

/// The loss of outputs y (rows x cols) against targets t of the same layout, reduced by the
/// mean as PyTorch does (cross-entropy: over the rows; the others: over every element). For
/// cross-entropy t holds one distribution per row (one-hot for integer labels). `param` is
/// Huber's delta. `pieces` receives Huber's piece (inside or outside delta) per element.
inline double loss_value(loss kind, double param, std::span<double const> y,
                         std::span<double const> t, std::size_t rows,
                         std::vector<int>* pieces = nullptr) {
  std::size_t const cols = y.size() / rows;
  double total = 0.0;
  switch (kind) {
    case loss::mse:
      for (std::size_t i = 0; i < y.size(); ++i) total += (y[i] - t[i]) * (y[i] - t[i]);
      return total / static_cast<double>(y.size());
    case loss::huber:
      for (std::size_t i = 0; i < y.size(); ++i) {
        double const d = std::abs(y[i] - t[i]);
        if (pieces != nullptr) pieces->push_back(d < param ? 1 : 2);
        total += d < param ? 0.5 * d * d : param * (d - 0.5 * param);
      }
      return total / static_cast<double>(y.size());
    case loss::cross_entropy:
      for (std::size_t r = 0; r < rows; ++r) {
        double const top =
            *std::max_element(y.begin() + static_cast<std::ptrdiff_t>(r * cols),
                              y.begin() + static_cast<std::ptrdiff_t>(r * cols + cols));
        double s = 0.0;
        for (std::size_t j = 0; j < cols; ++j) s += std::exp(y[r * cols + j] - top);
        double const log_sum = top + std::log(s);
        for (std::size_t j = 0; j < cols; ++j)
          total += t[r * cols + j] * (log_sum - y[r * cols + j]);
      }
      return total / static_cast<double>(rows);
    case loss::bce_with_logits:
      for (std::size_t i = 0; i < y.size(); ++i) {
        // -[t log sigmoid(y) + (1 - t) log(1 - sigmoid(y))], written out directly
        double const p = logistic(y[i]);
        total -= t[i] * std::log(p) + (1.0 - t[i]) * std::log1p(-p);
      }
      return total / static_cast<double>(y.size());
  }
  return total;
}

}  // namespace nn_reference
