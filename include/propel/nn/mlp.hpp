// SPDX-License-Identifier: BSL-1.0
/// \file Defines propel::mlp, a statically shaped multilayer perceptron whose forward and
/// backward passes are expressions of propel's expression layer.
#pragma once

#include <boost/hana/fold_left.hpp>
#include <boost/hana/integral_constant.hpp>
#include <boost/hana/range.hpp>
#include <cstddef>
#include <cstdint>
#include <propel/detail/math.hpp>
#include <propel/detail/random.hpp>
#include <propel/expr.hpp>
#include <propel/mat.hpp>
#include <propel/nn/layers.hpp>
#include <propel/nn/model.hpp>
#include <propel/nn/param_block.hpp>
#include <propel/vec.hpp>
#include <tuple>
#include <type_traits>
#include <utility>

namespace propel {

namespace detail {

/// The identity of parameter K (0 weight, 1 bias) of layer I of network Net.
template <class Net, std::size_t I, std::size_t K>
using param_id = tensor_id<typename Net::block_type, 2 * I + K>;

template <class L>
inline constexpr bool is_dense_v = false;
template <std::size_t M, class Act>
inline constexpr bool is_dense_v<dense<M, Act>> = true;

template <class T, class Input, class... Layers>
struct check_mlp {
  static_assert(std::is_floating_point_v<T>,
                "propel::mlp: the scalar type must be float or double");
  static_assert(is_input_v<Input>,
                "propel::mlp: the first layer argument must be propel::input<N>");
  static_assert(sizeof...(Layers) > 0, "propel::mlp: a network needs at least one layer");
  static_assert((is_dense_v<Layers> && ...),
                "propel::mlp: every layer after the input must be propel::dense<M, Act>");
  static constexpr bool ok = true;
};

template <std::size_t OutputOfFirst, std::size_t InputOfSecond>
struct check_chain {
  static_assert(OutputOfFirst == InputOfSecond,
                "propel::compose: the first network's outputs must equal the second network's "
                "inputs (the arguments of check_chain are <outputs of the first, inputs of the "
                "second>)");
  static constexpr bool ok = true;
};

/// The decimal digits of V as a fixed_string: a module index of an nn.Sequential.
template <std::size_t V>
constexpr auto index_name() {
  constexpr std::size_t digits = [] {
    std::size_t d = 1;
    for (std::size_t v = V; v >= 10; v /= 10) ++d;
    return d;
  }();
  char s[digits + 1]{};
  std::size_t v = V;
  for (std::size_t i = digits; i-- > 0; v /= 10) s[i] = static_cast<char>('0' + v % 10);
  return fixed_string<digits + 1>(s);
}

/// The groups of an mlp: layer I is propel::linear named by its module index in the
/// equivalent PyTorch nn.Sequential (every activation other than identity is a module of
/// its own), He-initialised for the rectifier family, Glorot otherwise.
template <class T, class Input, class... Layers>
struct mlp_groups {
  static constexpr std::array<std::size_t, sizeof...(Layers) + 1> widths{Input::size,
                                                                         Layers::size...};
  using acts = std::tuple<typename Layers::activation...>;
  static constexpr std::array<std::size_t, sizeof...(Layers)> module_index = [] {
    std::array<std::size_t, sizeof...(Layers)> out{};
    std::size_t next = 0, i = 0;
    ((out[i++] = next, next += std::is_same_v<typename Layers::activation, identity> ? 1 : 2), ...);
    return out;
  }();
  template <std::size_t I>
  using group = linear<index_name<module_index[I]>(), widths[I + 1], widths[I],
                       std::conditional_t<he_init_v<std::tuple_element_t<I, acts>>, he, glorot>>;
};

/// The forward of an mlp: each layer's affine map, then its activation.
template <class... Layers>
struct mlp_forward {
  template <class P, class X>
  [[nodiscard]] constexpr auto operator()(P const& p, X const& x) const {
    namespace hana = boost::hana;
    return hana::fold_left(
        hana::make_range(hana::size_c<0>, hana::size_c<sizeof...(Layers)>), x,
        [&p](auto const& e, auto i) {
          using act =
              typename std::tuple_element_t<decltype(i)::value, std::tuple<Layers...>>::activation;
          auto const z = p.template at<decltype(i)::value>()(e);
          if constexpr (std::is_same_v<act, identity>) {
            return z;
          } else {
            return apply(act{}, z);
          }
        });
  }
};

template <class T, class Input, class Seq, class... Layers>
struct mlp_model;
template <class T, class Input, std::size_t... I, class... Layers>
struct mlp_model<T, Input, std::index_sequence<I...>, Layers...> {
  using type = model<T, Input, mlp_forward<Layers...>,
                     typename mlp_groups<T, Input, Layers...>::template group<I>...>;
};

template <class T, class Input, class... Layers>
using mlp_model_t =
    typename mlp_model<T, Input, std::make_index_sequence<sizeof...(Layers)>, Layers...>::type;

}  // namespace detail

/// A multilayer perceptron with compile-time topology:
/// `propel::mlp<float, propel::input<64>, propel::dense<64, propel::relu>, propel::dense<10>>`.
/// It is a propel::model whose groups are propel::linear layers named as PyTorch's
/// nn.Sequential names its modules ("0", "2", ...: tensors "0.weight", "0.bias", ...) and
/// whose forward applies them in turn, each followed by its activation. The parameters live
/// inside the object (no heap), contiguous and in PyTorch order.
/// \tparam T       float or double
/// \tparam Input   propel::input<N>
/// \tparam Layers  propel::dense<M, Act>...; each layer's input width is the previous width
/// Diagnostics: "the input has the wrong number of features", "every layer after the input
/// must be propel::dense", "the first layer argument must be propel::input".
template <class T, class Input, class... Layers>
class mlp : public detail::mlp_model_t<T, Input, Layers...> {
  static_assert(detail::check_mlp<T, Input, Layers...>::ok);

 public:
  using model_type = detail::mlp_model_t<T, Input, Layers...>;
  using block_type = typename model_type::block_type;
  using value_type = T;
  static constexpr std::size_t layer_count = sizeof...(Layers);
  static constexpr std::array<std::size_t, sizeof...(Layers) + 1> widths{Input::size,
                                                                         Layers::size...};
  static constexpr std::size_t input_size = Input::size;
  static constexpr std::size_t output_size = widths[sizeof...(Layers)];
  template <std::size_t I>
  using activation_t = typename std::tuple_element_t<I, std::tuple<Layers...>>::activation;

  /// The variables (leaves) of layer I's weight and bias, as the expression layer sees them.
  template <std::size_t I>
  [[nodiscard]] constexpr auto weight_variable() const noexcept {
    return variable_of<detail::param_id<mlp, I, 0>>(this->template layer<I>().weight);
  }
  template <std::size_t I>
  [[nodiscard]] constexpr auto bias_variable() const noexcept {
    return variable_of<detail::param_id<mlp, I, 1>>(this->template layer<I>().bias);
  }
};

/// The network that runs `first`, then `second`: its layers are first's followed by
/// second's, and its parameters are copies of theirs.
/// Diagnostics: "the first network's outputs must equal the second network's inputs".
template <class T, class InA, class... La, class InB, class... Lb>
[[nodiscard]] constexpr mlp<T, InA, La..., Lb...> compose(mlp<T, InA, La...> const& first,
                                                          mlp<T, InB, Lb...> const& second) {
  static_assert(detail::check_chain<mlp<T, InA, La...>::output_size, InB::size>::ok);
  mlp<T, InA, La..., Lb...> out;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((out.template layer<I>() = first.template layer<I>()), ...);
  }
  (std::make_index_sequence<sizeof...(La)>{});
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((out.template layer<sizeof...(La) + I>() = second.template layer<I>()), ...);
  }
  (std::make_index_sequence<sizeof...(Lb)>{});
  return out;
}

}  // namespace propel
