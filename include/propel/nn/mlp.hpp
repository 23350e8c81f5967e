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
#include <propel/nn/param_block.hpp>
#include <propel/vec.hpp>
#include <tuple>
#include <type_traits>
#include <utility>

namespace propel {

namespace detail {

/// The identity of parameter K (0 weight, 1 bias) of layer I of network Net.
template <class Net, std::size_t I, std::size_t K>
struct param_id {};
/// The identity of a network's input, when differentiating with respect to it.
template <class Net>
struct input_id {};

template <class L>
inline constexpr bool is_dense_v = false;
template <std::size_t M, class Act>
inline constexpr bool is_dense_v<dense<M, Act>> = true;
template <class I>
inline constexpr bool is_input_v = false;
template <std::size_t N>
inline constexpr bool is_input_v<input<N>> = true;

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

template <std::size_t Expected, std::size_t Given>
struct check_input_width {
  static_assert(Expected == Given,
                "propel::mlp: the input has the wrong number of features (the arguments of "
                "check_input_width are <features the network expects, features given>)");
  static constexpr bool ok = true;
};

/// Rejects a caller's workspace laid out for another expression (another network, input
/// shape, loss or target form).
template <class Expected, class Given>
struct check_workspace {
  static_assert(std::is_same_v<Expected, Given>,
                "propel: the workspace is not the one for this network and input (or this "
                "loss and targets): declare it as propel::inference_workspace_t<Net, X> for "
                "net(x, ws), propel::gradient_workspace_t<Net, X, Targets, Loss> for "
                "loss_and_gradient, propel::input_gradient_workspace_t<Net, X, Targets, Loss> "
                "for loss_and_input_gradient");
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

}  // namespace detail

/// A multilayer perceptron with compile-time topology:
/// `propel::mlp<float, propel::input<64>, propel::dense<64, propel::relu>, propel::dense<10>>`.
/// The parameters live inside the object (no heap), contiguous and in PyTorch order; the
/// forward pass is an expression built from the layer list, so its backward pass is the
/// expression layer's.
/// \tparam T       float or double
/// \tparam Input   propel::input<N>
/// \tparam Layers  propel::dense<M, Act>...; each layer's input width is the previous width
/// Diagnostics: "the input has the wrong number of features", "every layer after the input
/// must be propel::dense", "the first layer argument must be propel::input".
template <class T, class Input, class... Layers>
class mlp : public param_block<T, Input::size, Layers::size...> {
  static_assert(detail::check_mlp<T, Input, Layers...>::ok);
  using block = param_block<T, Input::size, Layers::size...>;

 public:
  using block_type = block;
  using value_type = T;
  static constexpr std::size_t input_size = Input::size;
  static constexpr std::size_t output_size = block::widths[sizeof...(Layers)];
  template <std::size_t I>
  using activation_t = typename std::tuple_element_t<I, std::tuple<Layers...>>::activation;

  /// The network applied to an expression X: a vector of input_size features, or a
  /// matrix with one sample per row. Use it to write custom losses and layers around the
  /// network; its parameters are variables, so `gradient` reaches them.
  template <Expression X>
  [[nodiscard]] constexpr auto expression(X const& x) const {
    static_assert(detail::check_same_scalar<T, typename X::value_type>::ok);
    using xs = typename X::shape_type;
    constexpr std::size_t width = xs::rank == 1 ? xs::rows : xs::cols;
    static_assert(detail::check_input_width<input_size, width>::ok);
    namespace hana = boost::hana;
    return hana::fold_left(
        hana::make_range(hana::size_c<0>, hana::size_c<sizeof...(Layers)>), x,
        [this](auto const& e, auto i) { return this->layer_expression<decltype(i)::value>(e); });
  }

  /// The output for one sample. Its workspace (the activations) is on the stack:
  /// sizeof(propel::inference_workspace_t<mlp, vec<T, input_size>>) bytes; pass one of those
  /// as a second argument to keep the stack to the kernels' frames. The same bits either way.
  template <class U, std::size_t N>
  [[nodiscard]] constexpr vec<T, output_size> operator()(vec<U, N> const& x) const {
    static_assert(detail::check_input_width<input_size, N>::ok);
    static_assert(detail::check_same_scalar<T, U>::ok);
    if constexpr (N == input_size && std::is_same_v<T, U>) {
      return evaluate(expression(constant(x)));
    } else {
      return {};  // reported above
    }
  }
  /// The outputs for a batch, one sample per row; its workspace is on the stack as above,
  /// sizeof(propel::inference_workspace_t<mlp, mat<T, B, input_size>>) bytes.
  template <class U, std::size_t B, std::size_t N>
  [[nodiscard]] constexpr mat<T, B, output_size> operator()(mat<U, B, N> const& x) const {
    static_assert(detail::check_input_width<input_size, N>::ok);
    static_assert(detail::check_same_scalar<T, U>::ok);
    if constexpr (N == input_size && std::is_same_v<T, U>) {
      return evaluate(expression(constant(x)));
    } else {
      return {};  // reported above
    }
  }
  /// The output for one sample (vec) or a batch (mat), computed in the caller's workspace
  /// `ws`, a propel::inference_workspace_t<mlp, X>: no other stack than the kernels' frames
  /// and a few scalars. Diagnostics: "the workspace is not the one for this network and input".
  template <class U, std::size_t N, class E, bool Backward>
  [[nodiscard]] constexpr vec<T, output_size> operator()(vec<U, N> const& x,
                                                         workspace<E, Backward>& ws) const {
    return run_in<vec<T, output_size>>(x, ws);
  }
  template <class U, std::size_t B, std::size_t N, class E, bool Backward>
  [[nodiscard]] constexpr mat<T, B, output_size> operator()(mat<U, B, N> const& x,
                                                            workspace<E, Backward>& ws) const {
    return run_in<mat<T, B, output_size>>(x, ws);
  }

  /// The variables (leaves) of layer I's weight and bias, as the expression layer sees them.
  template <std::size_t I>
  [[nodiscard]] constexpr auto weight_variable() const noexcept {
    return variable_of<detail::param_id<mlp, I, 0>>(this->template layer<I>().weight);
  }
  template <std::size_t I>
  [[nodiscard]] constexpr auto bias_variable() const noexcept {
    return variable_of<detail::param_id<mlp, I, 1>>(this->template layer<I>().bias);
  }

 private:
  template <class Out, class X, class E, bool Backward>
  [[nodiscard]] constexpr Out run_in(X const& x, workspace<E, Backward>& ws) const {
    using xs = typename X::shape_type;
    constexpr std::size_t width = xs::rank == 1 ? xs::rows : xs::cols;
    static_assert(detail::check_input_width<input_size, width>::ok);
    static_assert(detail::check_same_scalar<T, typename X::value_type>::ok);
    if constexpr (width == input_size && std::is_same_v<T, typename X::value_type>) {
      using expected = std::remove_cv_t<decltype(expression(constant(x)))>;
      static_assert(detail::check_workspace<expected, E>::ok);
      if constexpr (std::is_same_v<expected, E>) {
        return evaluate(expression(constant(x)), ws);
      } else {
        return {};  // reported above
      }
    } else {
      return {};  // reported above
    }
  }

  template <std::size_t I, class X>
  [[nodiscard]] constexpr auto layer_expression(X const& x) const {
    using act = activation_t<I>;
    auto const w = weight_variable<I>();
    auto const b = bias_variable<I>();
    // one sample: W x + b; a batch (one sample per row): X Wᵀ + b, b broadcast over rows
    auto const z = [&] {
      if constexpr (X::shape_type::rank == 1) {
        return w * x + b;
      } else {
        return x * transpose(w) + b;
      }
    }();
    if constexpr (std::is_same_v<act, identity>) {
      return z;
    } else {
      return apply(act{}, z);
    }
  }
};

/// The workspace of `net(x, ws)` for a Net on inputs X (a vec, or a mat of one sample per
/// row): the activations of the forward pass. `sizeof` it for its bytes.
template <class Net, class X>
using inference_workspace_t = evaluation_workspace_t<decltype(std::declval<Net const&>().expression(
    constant(std::declval<X const&>())))>;

/// The gradient of a network: a parameter block with the layout of `Net::params()`.
template <class Net>
using gradient_t = typename Net::block_type;

/// Initialises the weights from `seed` (He uniform, bound sqrt(6 / fan_in), for layers whose
/// activation declares `he_init`, the rectifier family of ops/activation.hpp; Glorot uniform,
/// bound sqrt(6 / (fan_in + fan_out)), for the others) and sets the biases to zero. The stream
/// is SplitMix64 with integer-only arithmetic, drawn in PyTorch parameter order: the same
/// bits on every platform and compiler.
template <class T, class Input, class... Layers>
constexpr void init(mlp<T, Input, Layers...>& net, std::uint64_t seed) noexcept {
  using net_t = mlp<T, Input, Layers...>;
  detail::splitmix64 rng{seed};
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          auto& layer = net.template layer<I>();
          double const fan_in = static_cast<double>(net_t::widths[I]);
          double const fan_out = static_cast<double>(net_t::widths[I + 1]);
          double const bound = detail::he_init_v<typename net_t::template activation_t<I>>
                                   ? detail::math::sqrt(6.0 / fan_in)
                                   : detail::math::sqrt(6.0 / (fan_in + fan_out));
          for (auto& w : layer.weight) w = static_cast<T>(rng.symmetric(bound));
          for (auto& b : layer.bias) b = T(0);
        }(),
        ...);
  }
  (std::make_index_sequence<sizeof...(Layers)>{});
}

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
