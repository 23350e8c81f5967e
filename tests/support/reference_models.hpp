// SPDX-License-Identifier: BSL-1.0
/// \file Test-only propel models mirroring the PyTorch modules of
/// tests/data/make_model_reference.py (same tensor names, shapes and state_dict order), and
/// how their targets read from tests/data/model_reference.txt.
#pragma once

#include <array>
#include <cstddef>
#include <propel/propel.hpp>
#include <string>
#include <tuple>
#include <type_traits>

namespace reference_models {

namespace pp = propel;
using namespace propel::literals;

/// h = tanh(inp(x)); y = out(h + tanh(res(h)))
struct residual_forward {
  template <class P, class X>
  constexpr auto operator()(P const& p, X const& x) const {
    return p["out"_p](pp::let(pp::tanh{}(p["inp"_p](x)),
                              [p](auto const& h) { return h + pp::tanh{}(p["res"_p](h)); }));
  }
};
template <class T>
using residual = pp::model<T, pp::input<4>, residual_forward, pp::linear<"inp", 8, 4>,
                           pp::linear<"res", 8, 8>, pp::linear<"out", 2, 8>>;

/// h = tanh(trunk(x)); heads actor(h) (logits), critic(h) (a value)
struct actor_critic_forward {
  template <class P, class X>
  constexpr auto operator()(P const& p, X const& x) const {
    return pp::let(pp::tanh{}(p["trunk"_p](x)),
                   [p](auto const& h) { return pp::heads(p["actor"_p](h), p["critic"_p](h)); });
  }
};
template <class T>
using actor_critic = pp::model<T, pp::input<5>, actor_critic_forward, pp::linear<"trunk", 8, 5>,
                               pp::linear<"actor", 3, 8>, pp::linear<"critic", 1, 8>>;

/// h = tanh(enc(x)); y = h enc.weight + dec_bias (a batch), enc.weightᵀ h + dec_bias (one
/// sample): the encoder's weight read twice, one variable. PyTorch's state_dict puts the
/// module's own parameter dec_bias before its child enc's.
struct tied_autoencoder_forward {
  template <class P, class X>
  constexpr auto operator()(P const& p, X const& x) const {
    auto const enc = p["enc"_p];
    auto const h = pp::tanh{}(enc(x));
    if constexpr (X::shape_type::rank == 1) {
      return pp::transpose(enc.weight) * h + p["dec_bias"_p];
    } else {
      return h * enc.weight + p["dec_bias"_p];
    }
  }
};
template <class T>
using tied_autoencoder = pp::model<T, pp::input<6>, tied_autoencoder_forward,
                                   pp::tensor_param<"dec_bias", 6>, pp::linear<"enc", 4, 6>>;

/// y = fc2(concat(tanh(ln(fc1(x))), x)), ln PyTorch's nn.LayerNorm(8) (eps 1e-5)
struct layer_norm_net_forward {
  template <class P, class X>
  constexpr auto operator()(P const& p, X const& x) const {
    return p["fc2"_p](pp::concat(pp::tanh{}(p["ln"_p](p["fc1"_p](x))), x));
  }
};
template <class T>
using layer_norm_net = pp::model<T, pp::input<5>, layer_norm_net_forward, pp::linear<"fc1", 8, 5>,
                                 pp::norm<"ln", 8>, pp::linear<"fc2", 3, 13>>;

/// A tensor of a batch of Rows samples (Rows 0: one sample, a vec).
template <class T, std::size_t Rows, std::size_t N>
using sample_t =
    std::conditional_t<Rows == 0, pp::vec<T, N>, pp::mat<T, (Rows == 0 ? 1 : Rows), N>>;
/// Class labels of Rows samples (Rows 0: one sample, an int).
template <std::size_t Rows>
using labels_t = std::conditional_t<Rows == 0, int, std::array<int, (Rows == 0 ? 1 : Rows)>>;

/// The kind of target of one output: regression values of Size per sample, or class labels.
template <std::size_t Size>
struct values {
  template <class T, std::size_t Rows>
  using type = sample_t<T, Rows, Size>;
};
struct labels {
  template <class T, std::size_t Rows>
  using type = labels_t<Rows>;
};

/// A model of the file: its name there, its loss, and the kinds of its targets (one per head).
template <template <class> class Net, class Loss, class... Targets>
struct model_case {
  template <class T>
  using net = Net<T>;
  static constexpr std::size_t head_count = sizeof...(Targets);
  template <class T, std::size_t Rows>
  using targets_t = std::conditional_t<
      (head_count == 1),
      std::tuple_element_t<0, std::tuple<typename Targets::template type<T, Rows>...>>,
      std::tuple<typename Targets::template type<T, Rows>...>>;
  char const* name;
  Loss loss;
};

inline auto cases() {
  return std::make_tuple(
      model_case<residual, pp::mse, values<2>>{"residual", {}},
      model_case<actor_critic, decltype(pp::per_head{pp::softmax_cross_entropy{}, pp::mse{}}),
                 labels, values<1>>{"actor_critic", {}},
      model_case<tied_autoencoder, pp::mse, values<6>>{"tied_autoencoder", {}},
      model_case<layer_norm_net, pp::softmax_cross_entropy, labels>{"layer_norm_net", {}});
}

}  // namespace reference_models
