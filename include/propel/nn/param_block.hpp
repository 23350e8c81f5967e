// SPDX-License-Identifier: BSL-1.0
/// \file Defines param_block: every layer's parameters in one contiguous aligned block.
#pragma once

#include <array>
#include <cstddef>
#include <propel/detail/storage.hpp>
#include <propel/nn/layers.hpp>
#include <span>
#include <type_traits>
#include <utility>

namespace propel {

namespace detail {

template <std::size_t I, class P>
struct indexed {
  P value;
};

template <class Seq, class... Ps>
struct indexed_pack;
template <std::size_t... I, class... Ps>
struct indexed_pack<std::index_sequence<I...>, Ps...> : indexed<I, Ps>... {};

template <std::size_t I, class P>
constexpr P& get(indexed<I, P>& x) noexcept {
  return x.value;
}
template <std::size_t I, class P>
constexpr P const& get(indexed<I, P> const& x) noexcept {
  return x.value;
}

template <class T, std::size_t... Widths>
struct layer_storage {
  static constexpr std::array<std::size_t, sizeof...(Widths)> widths{Widths...};
  template <std::size_t I>
  using layer = dense_params<T, widths[I + 1], widths[I]>;
  template <std::size_t... I>
  static auto make(std::index_sequence<I...>)
      -> indexed_pack<std::index_sequence<I...>, layer<I>...>;
  using type = decltype(make(std::make_index_sequence<sizeof...(Widths) - 1>{}));
};

}  // namespace detail

/// The parameters of every layer of a network of widths Widths... (input first), laid out
/// as PyTorch's nn.Sequential state: layer 0 weight [out][in] row-major, layer 0 bias,
/// layer 1 weight, ... in one contiguous block aligned to PROPEL_MAX_ALIGN bytes. An mlp
/// is a param_block with a forward pass; `gradient_t<Net>` is a param_block of the same
/// layout. Default initialisation leaves the values unset; `{}` zeroes them.
template <class T, std::size_t... Widths>
class param_block {
  static_assert(sizeof...(Widths) >= 2, "propel::mlp: a network needs at least one layer");
  using storage = detail::layer_storage<T, Widths...>;

 public:
  using value_type = T;
  static constexpr std::size_t layer_count = sizeof...(Widths) - 1;
  static constexpr std::array<std::size_t, sizeof...(Widths)> widths{Widths...};
  static constexpr std::size_t param_count = [] {
    std::size_t n = 0;
    for (std::size_t i = 0; i < layer_count; ++i) n += widths[i + 1] * widths[i] + widths[i + 1];
    return n;
  }();
  /// The parameters of layer I: `.weight` (mat<T, out, in>) and `.bias` (vec<T, out>).
  template <std::size_t I>
  using layer_type = typename storage::template layer<I>;

  template <std::size_t I>
  [[nodiscard]] constexpr auto& layer() noexcept {
    static_assert(I < layer_count, "propel::mlp: layer index out of range");
    return detail::get<I>(layers_);
  }
  template <std::size_t I>
  [[nodiscard]] constexpr auto const& layer() const noexcept {
    static_assert(I < layer_count, "propel::mlp: layer index out of range");
    return detail::get<I>(layers_);
  }

  /// Every parameter, flat, in PyTorch order. (Code meant for constant evaluation walks the
  /// block tensor by tensor with propel::for_each_tensor.)
  [[nodiscard]] std::span<T, param_count> params() noexcept {
    return std::span<T, param_count>(layer<0>().weight.data(), param_count);
  }
  [[nodiscard]] std::span<T const, param_count> params() const noexcept {
    return std::span<T const, param_count>(layer<0>().weight.data(), param_count);
  }

  /// Sets every parameter to zero.
  constexpr void zero() noexcept {
    for_each_tensor(
        [](std::size_t n, T* p) {
          for (std::size_t i = 0; i < n; ++i) p[i] = T(0);
        },
        *this);
  }

 private:
  alignas(detail::block_alignment) typename storage::type layers_;

  static_assert(layer_count == 0 || sizeof(typename storage::type) == param_count * sizeof(T),
                "propel internal error: the parameter block has padding; please report");
};

namespace detail {
template <std::size_t I, class F, class First, class... Rest>
constexpr void visit_layer(F& f, First& first, Rest&... rest) {
  f(first.template layer<I>().weight.size(), first.template layer<I>().weight.data(),
    rest.template layer<I>().weight.data()...);
  f(first.template layer<I>().bias.size(), first.template layer<I>().bias.data(),
    rest.template layer<I>().bias.data()...);
}
template <class F, class... Blocks, std::size_t... I>
constexpr void for_each_tensor_impl(F& f, std::index_sequence<I...>, Blocks&... blocks) {
  (visit_layer<I>(f, blocks...), ...);
}
}  // namespace detail

/// Calls f(size, data of first, data of rest...) for each tensor of blocks of one layout,
/// in PyTorch order (W0, b0, W1, b1, ...): how optimizers walk parameters, gradients and
/// their state together, in constant evaluation too.
template <class F, class Block, class... Blocks>
constexpr void for_each_tensor(F&& f, Block& first, Blocks&... rest) {
  detail::for_each_tensor_impl(
      f, std::make_index_sequence<std::remove_const_t<Block>::layer_count>{}, first, rest...);
}

}  // namespace propel
