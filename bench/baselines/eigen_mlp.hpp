// SPDX-License-Identifier: BSL-1.0
/// \file A hand-written fixed-size MLP on Eigen: DESIGN.md's equations written directly with
/// Eigen::Matrix<float, M, N>, as an Eigen user would write them. Forward caches each
/// layer's activation; backward forms dz per layer, sends Wᵀ·dz down before touching W, and
/// applies the plain SGD update in place (W -= lr dz aᵀ, b -= lr Σ dz): the fused form an
/// expert writes for plain SGD. A batch is stored one sample per column (so the row-major
/// B x In input of the other peers is the same memory).
///
/// Products on small fixed sizes: Eigen sends `A * B` through its gemv/gemm kernels unless
/// rows + depth + cols < 20; `lazyProduct` forces the coefficient-wise, fully unrolled
/// product. `Lazy` picks that for layers with at most lazy_limit weights, the faster choice
/// on the small workloads (bench/README.md, "Eigen variants").
#pragma once

#include <Eigen/Core>
#include <array>
#include <cmath>
#include <cstddef>
#include <tuple>
#include <utility>

#include "../common.hpp"

namespace bench {

namespace eigen_detail {

template <std::size_t Out, std::size_t In, int Order>
using weight_t = Eigen::Matrix<float, static_cast<int>(Out), static_cast<int>(In),
                               In == 1 ? Eigen::ColMajor : (Out == 1 ? Eigen::RowMajor : Order)>;

template <std::size_t In, std::size_t Out, act A, int Order>
struct dense {
  static constexpr act activation = A;
  weight_t<Out, In, Order> W;
  Eigen::Matrix<float, static_cast<int>(Out), 1> b;
};

template <act A, class D>
void activate(Eigen::MatrixBase<D>& z) {
  if constexpr (A == act::relu) {
    z = z.cwiseMax(0.0f);
  } else if constexpr (A == act::tanh) {
    z = z.array().tanh().matrix();
  }
}

/// d ⊙= act'(z), from the activation's output a = act(z).
template <act A, class D, class Y>
void backprop_act(Eigen::MatrixBase<D>& d, Eigen::MatrixBase<Y> const& a) {
  if constexpr (A == act::relu) {
    d = (a.array() > 0.0f).select(d, 0.0f);
  } else if constexpr (A == act::tanh) {
    d.array() *= 1.0f - a.array().square();
  }
}

}  // namespace eigen_detail

/// \tparam L       the loss (MSE or softmax cross-entropy, both mean-reduced)
/// \tparam In      input width
/// \tparam Order   storage order of the weights (Eigen::RowMajor is PyTorch's [out][in])
/// \tparam LazyLimit  layers with at most this many weights use lazyProduct
/// \tparam Layers  bench::layer<Out, act>...
template <loss_kind L, std::size_t In, int Order, std::size_t LazyLimit, class... Layers>
class eigen_mlp {
 public:
  static constexpr std::size_t depth = sizeof...(Layers);
  static constexpr std::array<std::size_t, depth + 1> widths{In, Layers::out...};
  static constexpr std::array<act, depth> acts{Layers::activation...};
  static constexpr std::size_t outputs = widths[depth];

  template <std::size_t I>
  using dense_t = eigen_detail::dense<widths[I], widths[I + 1], acts[I], Order>;
  template <std::size_t C>
  struct cols {
    template <std::size_t I>
    using m = Eigen::Matrix<float, static_cast<int>(widths[I]), static_cast<int>(C)>;
  };
  /// The activations of every layer (input first) for C samples.
  template <std::size_t C>
  using cols_t = tuple_of_t<depth + 1, cols<C>::template m>;

  /// Loads PyTorch-ordered parameters: W0 [out][in] row-major, b0, W1, ...
  void load(float const* p) {
    each([&]<std::size_t I>(dense_t<I>& d) {
      for (std::size_t o = 0; o < widths[I + 1]; ++o)
        for (std::size_t i = 0; i < widths[I]; ++i) d.W(o, i) = *p++;
      for (std::size_t o = 0; o < widths[I + 1]; ++o) d.b(o) = *p++;
    });
  }
  void store(float* p) const {
    each([&]<std::size_t I>(dense_t<I> const& d) {
      for (std::size_t o = 0; o < widths[I + 1]; ++o)
        for (std::size_t i = 0; i < widths[I]; ++i) *p++ = d.W(o, i);
      for (std::size_t o = 0; o < widths[I + 1]; ++o) *p++ = d.b(o);
    });
  }

  /// C samples, one per column (= one per row of a row-major C x In block).
  template <std::size_t C>
  void infer(float const* x, float* y) {
    auto& a = this->template cache<C>();
    std::get<0>(a) = Eigen::Map<Eigen::Matrix<float, In, C> const>(x);
    forward<C>(a);
    Eigen::Map<Eigen::Matrix<float, outputs, C>> out(y);
    out = std::get<depth>(a);
  }

  /// One plain SGD step on C samples; MSE targets (outputs x C) or labels. Returns the loss.
  template <std::size_t C>
  float train(float const* x, float const* y, int const* labels, float lr) {
    auto& a = this->template cache<C>();
    std::get<0>(a) = Eigen::Map<Eigen::Matrix<float, In, C> const>(x);
    forward<C>(a);
    auto const& z = std::get<depth>(a);
    Eigen::Matrix<float, outputs, C> dz;
    float loss;
    if constexpr (L == loss_kind::mse) {
      dz = z - Eigen::Map<Eigen::Matrix<float, outputs, C> const>(y);
      loss = dz.squaredNorm() / float(outputs * C);
      dz *= 2.0f / float(outputs * C);
    } else {
      loss = 0;
      for (std::size_t c = 0; c < C; ++c) {
        float const top = z.col(c).maxCoeff();
        dz.col(c) = (z.col(c).array() - top).exp().matrix();
        float const s = dz.col(c).sum();
        loss += std::log(s) + top - z(labels[c], c);
        dz.col(c) /= s;
        dz(labels[c], c) -= 1.0f;
      }
      loss /= float(C);
      dz /= float(C);
    }
    backward<C, depth - 1>(a, dz, lr);
    return loss;
  }

 private:
  template <class F>
  void each(F&& f) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (f.template operator()<I>(std::get<I>(layers_)), ...);
    }(std::make_index_sequence<depth>{});
  }
  template <class F>
  void each(F&& f) const {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (f.template operator()<I>(std::get<I>(layers_)), ...);
    }(std::make_index_sequence<depth>{});
  }

  template <std::size_t I, class W, class X>
  static auto product(W const& w, X const& x) {
    if constexpr (widths[I] * widths[I + 1] <= LazyLimit) {
      return w.lazyProduct(x);
    } else {
      return w * x;
    }
  }

  template <std::size_t C>
  void forward(cols_t<C>& a) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (
          [&] {
            auto& d = std::get<I>(layers_);
            auto& out = std::get<I + 1>(a);
            out.noalias() = product<I>(d.W, std::get<I>(a));
            out.colwise() += d.b;
            eigen_detail::activate<acts[I]>(out);
          }(),
          ...);
    }(std::make_index_sequence<depth>{});
  }

  template <std::size_t C, std::size_t I, class Dz>
  void backward(cols_t<C> const& a, Dz const& dz, float lr) {
    auto& d = std::get<I>(layers_);
    if constexpr (I > 0) {
      Eigen::Matrix<float, static_cast<int>(widths[I]), static_cast<int>(C)> down;
      down.noalias() = product<I>(d.W.transpose(), dz);  // with W before its update
      eigen_detail::backprop_act<acts[I - 1]>(down, std::get<I>(a));
      update<C, I>(d, a, dz, lr);
      backward<C, I - 1>(a, down, lr);
    } else {
      update<C, I>(d, a, dz, lr);
    }
  }
  template <std::size_t C, std::size_t I, class Dz>
  static void update(dense_t<I>& d, cols_t<C> const& a, Dz const& dz, float lr) {
    if constexpr (C == 1) {
      d.W.noalias() -= (lr * dz) * std::get<I>(a).transpose();
      d.b.noalias() -= lr * dz;
    } else {
      d.W.noalias() -= product<I>(lr * dz, std::get<I>(a).transpose());
      d.b.noalias() -= lr * dz.rowwise().sum();
    }
  }

  template <std::size_t C>
  cols_t<C>& cache() {
    if constexpr (C == 1) {
      return acts1_;
    } else {
      return actsb_;
    }
  }

  tuple_of_t<depth, dense_t> layers_;
  cols_t<1> acts1_;
  cols_t<batch> actsb_;
};

}  // namespace bench
