// SPDX-License-Identifier: BSL-1.0
/// \file Defines propel::model: named parameter groups in one block and a forward
/// expression over them. Everything that trains a network (trainer, optimizers,
/// loss_and_gradient, init, gradient_t) takes any model; propel::mlp is one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <propel/detail/math.hpp>
#include <propel/detail/random.hpp>
#include <propel/expr.hpp>
#include <propel/mat.hpp>
#include <propel/nn/layers.hpp>
#include <propel/nn/param_block.hpp>
#include <propel/vec.hpp>
#include <type_traits>
#include <utility>

namespace propel {

/// The name of a parameter group as a type: `p[propel::name_t<"fc1">{}]`, or, with
/// `using namespace propel::literals;`, `p["fc1"_p]`.
template <fixed_string Name>
struct name_t {
  static constexpr auto value = Name;
};

namespace literals {
/// `"fc1"_p` is propel::name_t<"fc1">{}: the name of a parameter group in a forward.
template <fixed_string Name>
[[nodiscard]] constexpr name_t<Name> operator""_p() noexcept {
  return {};
}
}  // namespace literals

namespace detail {

/// The identity of a network's input, when differentiating with respect to it.
template <class Net>
struct input_id {};

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

template <class I>
inline constexpr bool is_input_v = false;
template <std::size_t N>
inline constexpr bool is_input_v<input<N>> = true;

/// Rejects `p["name"_p]` for a name that is not one of the model's groups (the Name
/// argument).
template <fixed_string Name, bool Known>
struct check_group_name {
  static_assert(Known,
                "propel::model: the forward asks for a parameter group the model does not have "
                "(the Name argument of check_group_name)");
  static constexpr bool ok = true;
};

/// A linear group as the forward sees it: its weight and bias variables, and the affine map
/// an mlp layer computes: W x + b for one sample, X Wᵀ + b (b broadcast over the rows) for a
/// batch of one sample per row.
template <class W, class B>
struct linear_view {
  W weight;
  B bias;
  template <Expression X>
  [[nodiscard]] constexpr auto operator()(X const& x) const {
    if constexpr (X::shape_type::rank == 1) {
      return weight * x + bias;
    } else {
      return x * transpose(weight) + bias;
    }
  }
};

/// A norm group as the forward sees it: view(x) is propel::layer_norm(x, weight, bias, eps)
/// with PyTorch's default eps 1e-5, view(x, eps) with another.
template <class W, class B>
struct norm_view {
  W weight;
  B bias;
  // layer_norm is found by argument-dependent lookup when a forward applies the view
  template <Expression X>
  [[nodiscard]] constexpr auto operator()(X const& x) const {
    return layer_norm(x, weight, bias, 1e-5);
  }
  template <Expression X, class Eps>
  [[nodiscard]] constexpr auto operator()(X const& x, Eps eps) const {
    return layer_norm(x, weight, bias, eps);
  }
};

/// The parameters of a block as a forward sees them: `p["fc1"_p]` (or `p.template at<G>()`
/// for group G) gives a linear or norm group's view, or a tensor_param's variable. Tensor K
/// of the block is the variable of identity tensor_id<Block, K> wherever it is used, so a
/// tensor used twice is one variable whose derivatives add up.
template <class Block>
struct param_view {
  Block const* block;

  template <std::size_t K>
  [[nodiscard]] constexpr auto variable() const noexcept {
    return variable_of<tensor_id<Block, K>>(block->template tensor_at<K>());
  }
  template <std::size_t G>
  [[nodiscard]] constexpr auto at() const noexcept {
    using group = typename Block::template group_type<G>;
    constexpr std::size_t k = [] {
      std::size_t i = 0;
      while (Block::tensor_group[i] != G) ++i;
      return i;
    }();
    if constexpr (group::tensor_count == 1) {
      return variable<k>();
    } else if constexpr (requires { group::in_size; }) {
      return linear_view<decltype(variable<k>()), decltype(variable<k + 1>())>{variable<k>(),
                                                                               variable<k + 1>()};
    } else {
      return norm_view<decltype(variable<k>()), decltype(variable<k + 1>())>{variable<k>(),
                                                                             variable<k + 1>()};
    }
  }
  template <fixed_string Name>
  [[nodiscard]] constexpr auto operator[](name_t<Name>) const noexcept {
    constexpr std::size_t g = Block::group_index(view_of<Name>);
    static_assert(check_group_name<Name, (g < Block::group_count)>::ok);
    if constexpr (g < Block::group_count) {
      return at<g>();
    } else {
      return 0;  // reported above
    }
  }
};

/// The forward expression of Forward over the parameters of Block on the input X.
template <class Forward, class Block, class X>
using forward_expression_t = decltype(std::declval<Forward const&>()(
    std::declval<param_view<Block> const&>(), std::declval<X const&>()));

/// output_size, for a model whose forward gives one expression.
template <class E, bool = Expression<E>>
struct model_output {};
template <class E>
struct model_output<E, true> {
  static constexpr std::size_t output_size = E::shape_type::rows;
};

}  // namespace detail

/// A model: the named parameter tensors of Groups... (propel::linear, propel::norm,
/// propel::tensor_param) in one contiguous block, and the forward expression Forward builds
/// over them. Forward is a default-constructible class with
/// `template <class P, class X> constexpr auto operator()(P const& p, X const& x) const`:
/// x is the input expression (a vec of N features, or a mat with one sample per row), and
/// `p["fc1"_p]` gives the parameters of the group called "fc1" as variables (see
/// detail::param_view). Train it as an mlp: propel::init, propel::trainer,
/// propel::loss_and_gradient, propel::gradient_t.
/// \tparam T      float or double
/// \tparam Input  propel::input<N>
/// Diagnostics: "two parameter groups have the same name", "the forward asks for a
/// parameter group the model does not have", "the input has the wrong number of features".
template <class T, class Input, class Forward, class... Groups>
class model
    : public param_block<T, Groups...>,
      public detail::model_output<detail::forward_expression_t<Forward, param_block<T, Groups...>,
                                                               leaf<void, vec<T, Input::size>>>> {
  static_assert(std::is_floating_point_v<T>,
                "propel::mlp: the scalar type must be float or double");
  static_assert(detail::is_input_v<Input>,
                "propel::mlp: the first layer argument must be propel::input<N>");

 public:
  using block_type = param_block<T, Groups...>;
  using value_type = T;
  using forward_type = Forward;
  static constexpr std::size_t input_size = Input::size;

  /// The model applied to an expression X: a vector of input_size features, or a matrix
  /// with one sample per row. Its parameters are variables, so `gradient` reaches them.
  template <Expression X>
  [[nodiscard]] constexpr auto expression(X const& x) const {
    static_assert(detail::check_same_scalar<T, typename X::value_type>::ok);
    using xs = typename X::shape_type;
    constexpr std::size_t width = xs::rank == 1 ? xs::rows : xs::cols;
    static_assert(detail::check_input_width<input_size, width>::ok);
    return Forward{}(detail::param_view<block_type>{this}, x);
  }

  /// The output for one sample (a vec) or a batch (a mat, one sample per row). Its
  /// workspace (the activations) is on the stack:
  /// sizeof(propel::inference_workspace_t<Net, X>) bytes; pass one of those as a second
  /// argument to keep the stack to the kernels' frames. The same bits either way.
  /// Diagnostics: "the workspace is not the one for this network and input".
  template <class U, std::size_t N>
  [[nodiscard]] constexpr auto operator()(vec<U, N> const& x) const {
    return run(x);
  }
  template <class U, std::size_t B, std::size_t N>
  [[nodiscard]] constexpr auto operator()(mat<U, B, N> const& x) const {
    return run(x);
  }
  template <class U, std::size_t N, class E, bool Backward>
  [[nodiscard]] constexpr auto operator()(vec<U, N> const& x, workspace<E, Backward>& ws) const {
    return run_in(x, ws);
  }
  template <class U, std::size_t B, std::size_t N, class E, bool Backward>
  [[nodiscard]] constexpr auto operator()(mat<U, B, N> const& x, workspace<E, Backward>& ws) const {
    return run_in(x, ws);
  }

 private:
  template <class X>
  static constexpr bool input_ok() {
    using xs = typename X::shape_type;
    constexpr std::size_t width = xs::rank == 1 ? xs::rows : xs::cols;
    static_assert(detail::check_input_width<input_size, width>::ok);
    static_assert(detail::check_same_scalar<T, typename X::value_type>::ok);
    return width == input_size && std::is_same_v<T, typename X::value_type>;
  }
  template <class X>
  [[nodiscard]] constexpr auto run(X const& x) const {
    if constexpr (input_ok<X>()) {
      return evaluate(expression(constant(x)));
    } else {
      return X{};  // reported above
    }
  }
  template <class X, class E, bool Backward>
  [[nodiscard]] constexpr auto run_in(X const& x, workspace<E, Backward>& ws) const {
    if constexpr (input_ok<X>()) {
      using expected = std::remove_cv_t<decltype(expression(constant(x)))>;
      static_assert(detail::check_workspace<expected, E>::ok);
      if constexpr (std::is_same_v<expected, E>) {
        return evaluate(expression(constant(x)), ws);
      } else {
        return X{};  // reported above
      }
    } else {
      return X{};  // reported above
    }
  }
};

/// The workspace of `net(x, ws)` for a Net on inputs X (a vec, or a mat of one sample per
/// row): the activations of the forward pass. `sizeof` it for its bytes.
template <class Net, class X>
using inference_workspace_t = evaluation_workspace_t<decltype(std::declval<Net const&>().expression(
    constant(std::declval<X const&>())))>;

/// The gradient of a model: a parameter block with the layout of `Net::params()`.
template <class Net>
using gradient_t = typename Net::block_type;

/// Initialises the parameters of a model from `seed`, group by group in parameter order:
/// a linear's weight uniform with bound sqrt(6 / fan_in) (propel::he) or
/// sqrt(6 / (fan_in + fan_out)) (propel::glorot) and its bias zero; a norm's weight one and
/// its bias zero; a tensor_param matrix Glorot uniform (fan_in = columns, fan_out = rows)
/// and a vector zero. The stream is SplitMix64 with integer-only arithmetic: the same bits
/// on every platform and compiler.
template <class T, class Input, class Forward, class... Groups>
constexpr void init(model<T, Input, Forward, Groups...>& net, std::uint64_t seed) noexcept {
  using block = param_block<T, Groups...>;
  detail::splitmix64 rng{seed};
  auto draw = [&rng](auto& tensor, double fan_in, double fan_out, bool he) {
    double const bound =
        he ? detail::math::sqrt(6.0 / fan_in) : detail::math::sqrt(6.0 / (fan_in + fan_out));
    for (auto& w : tensor) w = static_cast<T>(rng.symmetric(bound));
  };
  [&]<std::size_t... G>(std::index_sequence<G...>) {
    (
        [&] {
          using group = typename block::template group_type<G>;
          auto& s = net.template layer<G>();
          if constexpr (requires { group::in_size; }) {  // linear
            draw(s.weight, double(group::in_size), double(group::out_size),
                 std::is_same_v<typename group::init, he>);
            for (auto& b : s.bias) b = T(0);
          } else if constexpr (group::tensor_count == 2) {  // norm
            for (auto& w : s.weight) w = T(1);
            for (auto& b : s.bias) b = T(0);
          } else if constexpr (group::cols[0] != 0) {  // matrix tensor_param
            draw(s, double(group::cols[0]), double(group::rows[0]), false);
          } else {
            for (auto& v : s) v = T(0);
          }
        }(),
        ...);
  }
  (std::make_index_sequence<block::group_count>{});
}

}  // namespace propel
