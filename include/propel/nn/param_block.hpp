// SPDX-License-Identifier: BSL-1.0
/// \file Defines the parameter groups (linear, norm, tensor_param) and param_block: every
/// named parameter tensor of a model in one contiguous aligned block.
#pragma once

#include <array>
#include <cstddef>
#include <propel/detail/storage.hpp>
#include <propel/expr/leaf.hpp>
#include <propel/nn/layers.hpp>
#include <span>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace propel {

/// Weight initialisations of a parameter group: Glorot (Xavier) uniform, bound
/// sqrt(6 / (fan_in + fan_out)), or He (Kaiming) uniform, bound sqrt(6 / fan_in).
struct glorot {};
struct he {};

namespace detail {

/// The characters of a fixed_string without its terminating zero.
template <fixed_string S>
inline constexpr std::string_view view_of{S.chars, sizeof(S.chars) - 1};

/// "Group.suffix" (or "Group" for an empty suffix), stored once per pair.
template <fixed_string Group, fixed_string Suffix>
struct joined_name {
  static constexpr auto chars = [] {
    std::array<char, sizeof(Group.chars) + sizeof(Suffix.chars) - 1> out{};
    std::size_t n = 0;
    for (char c : view_of<Group>) out[n++] = c;
    for (char c : view_of<Suffix>) out[n++] = c;
    return out;
  }();
  static constexpr std::string_view value{chars.data(), chars.size() - 1};
};

/// The parameters of a norm group: PyTorch nn.LayerNorm's weight, then its bias.
template <class T, std::size_t N>
struct norm_params {
  vec<T, N> weight;
  vec<T, N> bias;
};

template <class G>
inline constexpr bool is_group_v = requires {
  G::is_propel_param_group;
  G::tensor_count;
};

}  // namespace detail

/// y = W x + b (one sample) / Y = X Wᵀ + b (a batch): tensors "Name.weight" (mat<T, Out, In>,
/// PyTorch nn.Linear layout) and "Name.bias" (vec<T, Out>). propel::init draws the weight
/// (Init: propel::glorot or propel::he) and zeroes the bias. Its storage is
/// dense_params<T, Out, In>.
template <fixed_string Name, std::size_t Out, std::size_t In, class Init = glorot>
struct linear {
  static_assert(Out > 0 && In > 0, "propel::linear: a layer needs at least one input and output");
  static_assert(std::is_same_v<Init, glorot> || std::is_same_v<Init, he>,
                "propel::linear: the initialisation must be propel::glorot or propel::he");
  static constexpr bool is_propel_param_group = true;
  static constexpr auto name = Name;
  using init = Init;
  static constexpr std::size_t out_size = Out;
  static constexpr std::size_t in_size = In;
  template <class T>
  using storage = dense_params<T, Out, In>;
  static constexpr std::size_t tensor_count = 2;
  static constexpr std::array<std::string_view, 2> names{
      detail::joined_name<Name, ".weight">::value, detail::joined_name<Name, ".bias">::value};
  static constexpr std::array<std::size_t, 2> rows{Out, Out};
  static constexpr std::array<std::size_t, 2> cols{In, 0};
  template <std::size_t K, class S>
  [[nodiscard]] static constexpr auto& get(S& s) noexcept {
    if constexpr (K == 0) {
      return s.weight;
    } else {
      return s.bias;
    }
  }
};

/// PyTorch nn.LayerNorm(N)'s affine parameters: "Name.weight" (vec<T, N>, initialised to
/// ones) and "Name.bias" (vec<T, N>, zeros). The eps is given where the norm is applied.
template <fixed_string Name, std::size_t N>
struct norm {
  static_assert(N > 0, "propel::norm: a norm needs at least one feature");
  static constexpr bool is_propel_param_group = true;
  static constexpr auto name = Name;
  template <class T>
  using storage = detail::norm_params<T, N>;
  static constexpr std::size_t tensor_count = 2;
  static constexpr std::array<std::string_view, 2> names{
      detail::joined_name<Name, ".weight">::value, detail::joined_name<Name, ".bias">::value};
  static constexpr std::array<std::size_t, 2> rows{N, N};
  static constexpr std::array<std::size_t, 2> cols{0, 0};
  template <std::size_t K, class S>
  [[nodiscard]] static constexpr auto& get(S& s) noexcept {
    if constexpr (K == 0) {
      return s.weight;
    } else {
      return s.bias;
    }
  }
};

/// One free tensor "Name": vec<T, R> (Cols == 0) or mat<T, R, Cols>. propel::init draws a
/// matrix Glorot uniform (fan_in = Cols, fan_out = R) and zeroes a vector.
template <fixed_string Name, std::size_t R, std::size_t Cols = 0>
struct tensor_param {
  static_assert(R > 0, "propel::tensor_param: a tensor needs at least one row");
  static constexpr bool is_propel_param_group = true;
  static constexpr auto name = Name;
  template <class T>
  using storage = std::conditional_t<Cols == 0, vec<T, R>, mat<T, R, (Cols == 0 ? 1 : Cols)>>;
  static constexpr std::size_t tensor_count = 1;
  static constexpr std::array<std::string_view, 1> names{detail::view_of<Name>};
  static constexpr std::array<std::size_t, 1> rows{R};
  static constexpr std::array<std::size_t, 1> cols{Cols};
  template <std::size_t K, class S>
  [[nodiscard]] static constexpr auto& get(S& s) noexcept {
    return s;
  }
};

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

template <class... Groups>
struct check_groups {
  static_assert(sizeof...(Groups) > 0, "propel::param_block: a model needs at least one group");
  static_assert((is_group_v<Groups> && ...),
                "propel::param_block: every group must be propel::linear, propel::norm or "
                "propel::tensor_param");
  static constexpr bool ok = true;
};

/// Rejects two groups of one block that have the same name (the Name argument).
template <fixed_string Name, std::size_t Count>
struct check_unique_name {
  static_assert(Count == 1,
                "propel::param_block: two parameter groups have the same name (the Name "
                "argument of check_unique_name)");
  static constexpr bool ok = true;
};

template <fixed_string Name, class... Groups>
inline constexpr std::size_t groups_named_v = (std::size_t{view_of<Groups::name> == view_of<Name>} +
                                               ... + 0);

/// The identity of tensor K (in parameter order) of the parameter block Block: the same
/// variable wherever the model uses it.
template <class Block, std::size_t K>
struct tensor_id {};

}  // namespace detail

namespace detail {
/// One value per tensor of the groups Gs, in parameter order: of(std::type_identity<G>{}, g,
/// j) for tensor j of group G, the g-th group.
template <class V, class... Gs, class Of>
constexpr std::array<V, (Gs::tensor_count + ...)> per_tensor(Of of) {
  std::array<V, (Gs::tensor_count + ...)> out{};
  std::size_t k = 0;
  std::size_t g = 0;
  (
      [&] {
        for (std::size_t j = 0; j < Gs::tensor_count; ++j)
          out[k++] = of(std::type_identity<Gs>{}, g, j);
        ++g;
      }(),
      ...);
  return out;
}
}  // namespace detail

/// Every parameter tensor of a model, named and shaped at compile time, in one contiguous
/// block aligned to PROPEL_MAX_ALIGN bytes, in parameter order: the groups in order, within
/// a group weight then bias (PyTorch's state_dict order for the same modules). An mlp is a
/// model over such a block; `gradient_t<Net>` is a param_block of the same layout. Default
/// initialisation leaves the values unset; `{}` zeroes them.
/// Diagnostics: "two parameter groups have the same name".
template <class T, class... Groups>
class param_block {
  static_assert(detail::check_groups<Groups...>::ok);
  static_assert((detail::check_unique_name<Groups::name,
                                           detail::groups_named_v<Groups::name, Groups...>>::ok &&
                 ...));
  using storage = detail::indexed_pack<std::index_sequence_for<Groups...>,
                                       typename Groups::template storage<T>...>;
  using groups = std::tuple<Groups...>;

 public:
  using value_type = T;
  static constexpr std::size_t group_count = sizeof...(Groups);
  static constexpr std::size_t tensor_count = (Groups::tensor_count + ...);
  /// Group I (a propel::linear, norm or tensor_param).
  template <std::size_t I>
  using group_type = std::tuple_element_t<I, groups>;
  /// The storage of group I (for a linear: `.weight` and `.bias`).
  template <std::size_t I>
  using layer_type = typename group_type<I>::template storage<T>;

  /// For tensor K in parameter order: its group, its index in the group, its name, rows and
  /// columns (0 for a vector).
  static constexpr auto tensor_group = detail::per_tensor<std::size_t, Groups...>(
      [](auto, std::size_t g, std::size_t) { return g; });
  static constexpr auto tensor_local = detail::per_tensor<std::size_t, Groups...>(
      [](auto, std::size_t, std::size_t j) { return j; });
  static constexpr auto tensor_names = detail::per_tensor<std::string_view, Groups...>(
      [](auto group, std::size_t, std::size_t j) { return decltype(group)::type::names[j]; });
  static constexpr auto tensor_rows = detail::per_tensor<std::size_t, Groups...>(
      [](auto group, std::size_t, std::size_t j) { return decltype(group)::type::rows[j]; });
  static constexpr auto tensor_cols = detail::per_tensor<std::size_t, Groups...>(
      [](auto group, std::size_t, std::size_t j) { return decltype(group)::type::cols[j]; });
  static constexpr std::array<std::string_view, group_count> group_names{
      detail::view_of<Groups::name>...};
  static constexpr std::size_t param_count = [] {
    std::size_t n = 0;
    for (std::size_t k = 0; k < tensor_count; ++k) {
      n += tensor_rows[k] * (tensor_cols[k] == 0 ? 1 : tensor_cols[k]);
    }
    return n;
  }();

  /// The position of the group / tensor called `name`, or group_count / tensor_count.
  [[nodiscard]] static constexpr std::size_t group_index(std::string_view name) noexcept {
    std::size_t i = 0;
    while (i < group_count && group_names[i] != name) ++i;
    return i;
  }
  [[nodiscard]] static constexpr std::size_t tensor_index(std::string_view name) noexcept {
    std::size_t i = 0;
    while (i < tensor_count && tensor_names[i] != name) ++i;
    return i;
  }

  /// The storage of group I (for an mlp, layer I: `.weight` and `.bias`).
  template <std::size_t I>
  [[nodiscard]] constexpr auto& layer() noexcept {
    static_assert(I < group_count,
                  "propel::model: layer index out of range (layer<I>() is parameter group I: "
                  "an mlp's layer I)");
    return detail::get<(I < group_count ? I : 0)>(groups_);  // (0: reported above)
  }
  template <std::size_t I>
  [[nodiscard]] constexpr auto const& layer() const noexcept {
    static_assert(I < group_count,
                  "propel::model: layer index out of range (layer<I>() is parameter group I: "
                  "an mlp's layer I)");
    return detail::get<(I < group_count ? I : 0)>(groups_);  // (0: reported above)
  }

  /// The storage of the group called Name: `block.template group<"fc1">()`.
  template <fixed_string Name>
  [[nodiscard]] constexpr auto& group() noexcept {
    return layer<checked_group<Name>()>();
  }
  template <fixed_string Name>
  [[nodiscard]] constexpr auto const& group() const noexcept {
    return layer<checked_group<Name>()>();
  }

  /// Tensor K in parameter order (a vec or a mat).
  template <std::size_t K>
  [[nodiscard]] constexpr auto& tensor_at() noexcept {
    static_assert(K < tensor_count, "propel::param_block: tensor index out of range");
    constexpr std::size_t g = tensor_group[K];
    return group_type<g>::template get<tensor_local[K]>(detail::get<g>(groups_));
  }
  template <std::size_t K>
  [[nodiscard]] constexpr auto const& tensor_at() const noexcept {
    static_assert(K < tensor_count, "propel::param_block: tensor index out of range");
    constexpr std::size_t g = tensor_group[K];
    return group_type<g>::template get<tensor_local[K]>(detail::get<g>(groups_));
  }
  /// The tensor called Name: `block.template tensor<"fc1.weight">()`.
  template <fixed_string Name>
  [[nodiscard]] constexpr auto& tensor() noexcept {
    return tensor_at<checked_tensor<Name>()>();
  }
  template <fixed_string Name>
  [[nodiscard]] constexpr auto const& tensor() const noexcept {
    return tensor_at<checked_tensor<Name>()>();
  }

  /// Every parameter, flat, in parameter order. (Code meant for constant evaluation walks
  /// the block tensor by tensor with propel::for_each_tensor.)
  [[nodiscard]] std::span<T, param_count> params() noexcept {
    return std::span<T, param_count>(tensor_at<0>().data(), param_count);
  }
  [[nodiscard]] std::span<T const, param_count> params() const noexcept {
    return std::span<T const, param_count>(tensor_at<0>().data(), param_count);
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
  template <fixed_string Name, std::size_t Index, std::size_t Count>
  struct check_name {
    static_assert(Index < Count,
                  "propel::param_block: no parameter of this name (the Name argument of "
                  "check_name)");
    static constexpr bool ok = true;
  };
  template <fixed_string Name>
  static constexpr std::size_t checked_group() {
    constexpr std::size_t i = group_index(detail::view_of<Name>);
    static_assert(check_name<Name, i, group_count>::ok);
    return i < group_count ? i : 0;
  }
  template <fixed_string Name>
  static constexpr std::size_t checked_tensor() {
    constexpr std::size_t i = tensor_index(detail::view_of<Name>);
    static_assert(check_name<Name, i, tensor_count>::ok);
    return i < tensor_count ? i : 0;
  }

  alignas(detail::block_alignment) storage groups_;

  static_assert(sizeof(storage) == param_count * sizeof(T),
                "propel internal error: the parameter block has padding; please report");
};

/// The number of parameter tensors of a param_block (or of a model, or a gradient_t).
template <class Block>
inline constexpr std::size_t tensor_count_v = std::remove_cvref_t<Block>::tensor_count;

namespace detail {
template <std::size_t K, class F, class First, class... Rest>
constexpr void visit_tensor(F& f, First& first, Rest&... rest) {
  f(first.template tensor_at<K>().size(), first.template tensor_at<K>().data(),
    rest.template tensor_at<K>().data()...);
}
template <class F, class... Blocks, std::size_t... K>
constexpr void for_each_tensor_impl(F& f, std::index_sequence<K...>, Blocks&... blocks) {
  (visit_tensor<K>(f, blocks...), ...);
}
}  // namespace detail

/// Calls f(size, data of first, data of rest...) for each tensor of blocks of one layout,
/// in parameter order (W0, b0, W1, b1, ... for an mlp): how optimizers walk parameters,
/// gradients and their state together, in constant evaluation too.
template <class F, class Block, class... Blocks>
constexpr void for_each_tensor(F&& f, Block& first, Blocks&... rest) {
  detail::for_each_tensor_impl(f, std::make_index_sequence<tensor_count_v<Block>>{}, first,
                               rest...);
}

/// Calls f(name, rows, cols, data) for each tensor of block in parameter order: name as
/// PyTorch's state_dict spells it ("0.weight", "fc1.bias"), cols == 0 for a vector, data a
/// T* (T const* for a const block).
template <class F, class Block>
constexpr void for_each_named_tensor(F&& f, Block& block) {
  using B = std::remove_const_t<Block>;
  [&]<std::size_t... K>(std::index_sequence<K...>) {
    (f(B::tensor_names[K], B::tensor_rows[K], B::tensor_cols[K],
       block.template tensor_at<K>().data()),
     ...);
  }
  (std::make_index_sequence<B::tensor_count>{});
}

}  // namespace propel
