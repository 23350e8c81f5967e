// SPDX-License-Identifier: BSL-1.0
/// \file The same MLP as plain loops over std::array: what one writes without a library.
/// Weights are PyTorch's [out][in] row-major; a batch is one sample per row. Forward caches
/// every activation; backward sends Wᵀ·dz down, then applies plain SGD in place.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <tuple>
#include <utility>

#include "../common.hpp"

namespace bench {

template <loss_kind L, std::size_t In, class... Layers>
class loops_mlp {
 public:
  static constexpr std::size_t depth = sizeof...(Layers);
  static constexpr std::array<std::size_t, depth + 1> widths{In, Layers::out...};
  static constexpr std::array<act, depth> acts{Layers::activation...};
  static constexpr std::size_t outputs = widths[depth];

  template <std::size_t I>
  struct dense {
    std::array<float, widths[I + 1] * widths[I]> W;
    std::array<float, widths[I + 1]> b;
  };
  template <std::size_t C>
  struct cols {
    template <std::size_t I>
    using m = std::array<float, widths[I] * C>;
  };
  template <std::size_t C>
  using cols_t = tuple_of_t<depth + 1, cols<C>::template m>;

  void load(float const* p) {
    each([&]<std::size_t I>(dense<I>& d) {
      for (auto& w : d.W) w = *p++;
      for (auto& v : d.b) v = *p++;
    });
  }
  void store(float* p) const {
    each([&]<std::size_t I>(dense<I> const& d) {
      for (float w : d.W) *p++ = w;
      for (float v : d.b) *p++ = v;
    });
  }

  template <std::size_t C>
  void infer(float const* x, float* y) {
    auto& a = this->template cache<C>();
    for (std::size_t i = 0; i < In * C; ++i) std::get<0>(a)[i] = x[i];
    forward<C>(a);
    for (std::size_t i = 0; i < outputs * C; ++i) y[i] = std::get<depth>(a)[i];
  }

  template <std::size_t C>
  float train(float const* x, float const* y, int const* labels, float lr) {
    auto& a = this->template cache<C>();
    for (std::size_t i = 0; i < In * C; ++i) std::get<0>(a)[i] = x[i];
    forward<C>(a);
    auto const& z = std::get<depth>(a);
    std::array<float, outputs * C> dz;
    float loss = 0;
    if constexpr (L == loss_kind::mse) {
      float const scale = 2.0f / float(outputs * C);
      for (std::size_t i = 0; i < outputs * C; ++i) {
        float const d = z[i] - y[i];
        loss += d * d;
        dz[i] = scale * d;
      }
      loss /= float(outputs * C);
    } else {
      for (std::size_t c = 0; c < C; ++c) {
        float const* zc = z.data() + c * outputs;
        float* dc = dz.data() + c * outputs;
        float top = zc[0];
        for (std::size_t j = 1; j < outputs; ++j) top = zc[j] > top ? zc[j] : top;
        float s = 0;
        for (std::size_t j = 0; j < outputs; ++j) s += (dc[j] = std::exp(zc[j] - top));
        loss += std::log(s) + top - zc[labels[c]];
        for (std::size_t j = 0; j < outputs; ++j) dc[j] = dc[j] / s / float(C);
        dc[labels[c]] -= 1.0f / float(C);
      }
      loss /= float(C);
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

  template <act A>
  static float activate(float z) {
    if constexpr (A == act::relu) {
      return z > 0.0f ? z : 0.0f;
    } else if constexpr (A == act::tanh) {
      return std::tanh(z);
    } else {
      return z;
    }
  }
  /// act'(z) from a = act(z)
  template <act A>
  static float derivative(float a) {
    if constexpr (A == act::relu) {
      return a > 0.0f ? 1.0f : 0.0f;
    } else if constexpr (A == act::tanh) {
      return 1.0f - a * a;
    } else {
      return 1.0f;
    }
  }

  template <std::size_t C>
  void forward(cols_t<C>& a) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (
          [&] {
            constexpr std::size_t in = widths[I], out = widths[I + 1];
            auto const& d = std::get<I>(layers_);
            auto const& x = std::get<I>(a);
            auto& y = std::get<I + 1>(a);
            for (std::size_t c = 0; c < C; ++c) {
              for (std::size_t o = 0; o < out; ++o) {
                float s = d.b[o];
                for (std::size_t i = 0; i < in; ++i) s += d.W[o * in + i] * x[c * in + i];
                y[c * out + o] = activate<acts[I]>(s);
              }
            }
          }(),
          ...);
    }(std::make_index_sequence<depth>{});
  }

  template <std::size_t C, std::size_t I>
  void backward(cols_t<C> const& a, std::array<float, widths[I + 1] * C> const& dz, float lr) {
    constexpr std::size_t in = widths[I], out = widths[I + 1];
    auto& d = std::get<I>(layers_);
    auto const& x = std::get<I>(a);
    if constexpr (I > 0) {
      std::array<float, in * C> down{};
      for (std::size_t c = 0; c < C; ++c)
        for (std::size_t o = 0; o < out; ++o)
          for (std::size_t i = 0; i < in; ++i) down[c * in + i] += d.W[o * in + i] * dz[c * out + o];
      for (std::size_t i = 0; i < in * C; ++i) down[i] *= derivative<acts[I - 1]>(x[i]);
      update<C, I>(d, x, dz, lr);
      backward<C, I - 1>(a, down, lr);
    } else {
      update<C, I>(d, x, dz, lr);
    }
  }
  template <std::size_t C, std::size_t I, class X, class Dz>
  static void update(dense<I>& d, X const& x, Dz const& dz, float lr) {
    constexpr std::size_t in = widths[I], out = widths[I + 1];
    for (std::size_t o = 0; o < out; ++o) {
      float gb = 0;
      for (std::size_t c = 0; c < C; ++c) gb += dz[c * out + o];
      d.b[o] -= lr * gb;
      for (std::size_t i = 0; i < in; ++i) {
        float g = 0;
        for (std::size_t c = 0; c < C; ++c) g += dz[c * out + o] * x[c * in + i];
        d.W[o * in + i] -= lr * g;
      }
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

  tuple_of_t<depth, dense> layers_;
  cols_t<1> acts1_;
  cols_t<batch> actsb_;
};

}  // namespace bench
