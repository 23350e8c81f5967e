// SPDX-License-Identifier: BSL-1.0
/// \file Loads and saves the parameters of a network (an mlp or any propel::model) in
/// safetensors files, named by default as PyTorch's state_dict names them for the same
/// module: propel::load_safetensors, propel::save_safetensors, and
/// propel::topology_signature.
#pragma once

#include <array>
#include <charconv>
#include <concepts>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <propel/io/safetensors/tensors.hpp>
#include <propel/nn/mlp.hpp>
#include <propel/nn/model.hpp>
#include <propel/nn/param_block.hpp>
#include <propel/ops/activation.hpp>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace propel {

namespace detail::safetensors {

inline std::string number_text(double v) {
  std::array<char, 32> buf{};
  auto const res = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  return std::string(buf.data(), res.ptr);
}

/// An activation's name in topology signatures: the name of propel's activation
/// (Act::name), with its parameter when it has one (leaky_relu and elu, types derived from
/// them to change the default included), "custom" for any other type.
template <class Act>
std::string activation_name() {
  if constexpr (requires { typename Act::activation_type; }) {
    using named = typename Act::activation_type;
    if constexpr (is_named_activation_v<named> && std::is_default_constructible_v<Act> &&
                  requires(Act const& a) {
                    { a.parameter() } -> std::convertible_to<double>;
                  }) {
      return std::string(named::name) + "(" + number_text(Act{}.parameter()) + ")";
    } else if constexpr (is_named_activation_v<Act>) {
      return std::string(Act::name);
    }
  }
  return "custom";
}

template <class Net>
inline constexpr bool is_mlp_v = false;
template <class T, class In, class... L>
inline constexpr bool is_mlp_v<mlp<T, In, L...>> = true;

/// The topology signature of an mlp: "float input<2> dense<16,tanh> dense<1,identity>".
template <class T, class In, class... L>
std::string mlp_signature(mlp<T, In, L...> const*) {
  std::string s = std::is_same_v<T, float> ? "float" : "double";
  s += " input<" + std::to_string(In::size) + ">";
  ((s +=
    " dense<" + std::to_string(L::size) + "," + activation_name<typename L::activation>() + ">"),
   ...);
  return s;
}

/// Each layer's index in the equivalent PyTorch nn.Sequential, where every activation other
/// than identity is a module of its own.
template <class Net>
constexpr std::array<std::size_t, Net::layer_count> sequential_indices() {
  std::array<std::size_t, Net::layer_count> out{};
  std::size_t next = 0;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((out[I] = next,
      next += std::is_same_v<typename Net::template activation_t<I>, propel::identity> ? 1U : 2U),
     ...);
  }
  (std::make_index_sequence<Net::layer_count>{});
  return out;
}

/// A propel::model (an mlp is one).
template <class Net>
inline constexpr bool is_model_v = requires {
  typename Net::block_type;
  typename Net::forward_type;
  Net::input_size;
};

/// The module index of each parameter group in a tensor_slot: for an mlp its layer's index
/// in the equivalent nn.Sequential, for any other model the group's own index.
template <class Net>
constexpr std::array<std::size_t, Net::block_type::group_count> module_indices() {
  if constexpr (is_mlp_v<Net>) {
    return sequential_indices<Net>();
  } else {
    std::array<std::size_t, Net::block_type::group_count> out{};
    for (std::size_t g = 0; g < out.size(); ++g) out[g] = g;
    return out;
  }
}

/// Views of every tensor of `block` (a network, or a block of its layout: gradients,
/// optimizer state), named by `names` after `prefix`, appended to `out` in parameter order
/// (that of for_each_named_tensor).
template <class Net, class Ref, class Block>
io_result block_tensors(Block& block, tensor_names const& names, std::string const& prefix,
                        std::vector<Ref>& out) {
  using layout_t = typename Net::block_type;
  static_assert(std::is_base_of_v<layout_t, std::remove_const_t<Block>>,
                "propel internal error: a block of another layout than the network's");
  constexpr auto index = module_indices<Net>();
  constexpr tensor_layout layout{layout_t::group_count, layout_t::tensor_count, is_mlp_v<Net>};
  io_result r = io_result::success();
  std::size_t k = 0;
  std::string name;
  for_each_named_tensor(
      [&](std::string_view own, std::size_t rows, std::size_t cols, auto* data) {
        std::size_t const at = k++;
        if (!r) return;
        std::size_t const g = layout_t::tensor_group[at];
        tensor_slot const slot{g,   layout_t::tensor_local[at] == 1, index[g],
                               own, layout_t::group_names[g],        at};
        r = names.name(slot, layout, name);
        if (!r) return;
        std::vector<std::size_t> shape{rows};
        if (cols != 0) shape.push_back(cols);
        out.push_back(named_tensor(prefix + name, std::span(data, rows * (cols == 0 ? 1 : cols)),
                                   std::move(shape)));
      },
      static_cast<std::conditional_t<std::is_const_v<Block>, layout_t const&, layout_t&>>(block));
  return r;
}

/// Loads into a copy of `net` and commits only on success.
template <class Net>
io_result load_network(Net& net, byte_source& src, load_options const& options) {
  auto copy = std::make_unique<Net>(net);
  std::vector<tensor_ref> refs;
  if (auto r = block_tensors<Net>(*copy, options.names, "", refs); !r) return r;
  io_result r = load(src, refs, options);
  if (r) net = *copy;
  return r;
}

}  // namespace detail::safetensors

/// The topology of a network type as text: the scalar type and input width, then for an
/// mlp the widths and activations ("float input<2> dense<16,tanh> dense<1,identity>"), for
/// any other model each parameter tensor's name and shape in parameter order ("float
/// input<6> dec_bias[6] enc.weight[4,6] enc.bias[4]"). Checkpoints carry it, and loading one
/// checks it.
template <class Net>
requires(detail::safetensors::is_mlp_v<Net> || detail::safetensors::is_model_v<Net>) std::string
    topology_signature() {
  if constexpr (detail::safetensors::is_mlp_v<Net>) {
    // from the type's arguments alone: an mlp type whose activation cannot be applied has a
    // signature too
    return detail::safetensors::mlp_signature(static_cast<Net const*>(nullptr));
  } else {
    using block = typename Net::block_type;
    std::string s = std::is_same_v<typename Net::value_type, float> ? "float" : "double";
    s += " input<" + std::to_string(Net::input_size) + ">";
    for (std::size_t k = 0; k < block::tensor_count; ++k) {
      // piece by piece (not "[" + std::to_string(...): GCC 12's -Wrestrict)
      s += ' ';
      s += block::tensor_names[k];
      s += '[';
      s += std::to_string(block::tensor_rows[k]);
      if (block::tensor_cols[k] != 0) {
        s += ',';
        s += std::to_string(block::tensor_cols[k]);
      }
      s += ']';
    }
    return s;
  }
}

/// Loads a network's parameters (an mlp's, or any propel::model's) from a safetensors file,
/// each tensor named by default as the parameter is (PyTorch's state_dict key for the same
/// module): for an mlp nn.Sequential's "0.weight" [out, in], "0.bias" [out], "2.weight", ...;
/// for a model "fc1.weight", "fc1.bias", ... (options.names gives another naming). Every
/// tensor's shape is checked against the network; a missing, extra (with options.strict) or
/// mis-shaped tensor is an error naming it and both shapes. F32 and F64 data load into float
/// and double networks (result.converted says a conversion happened). On any failure the
/// network is unchanged.
template <class Net>
requires(detail::safetensors::is_model_v<Net> && !std::is_const_v<Net>) io_result
    load_safetensors(Net& net, std::filesystem::path const& path,
                     load_options const& options = {}) {
  detail::safetensors::file_source src;
  if (auto r = src.open(path); !r) return r;
  return detail::safetensors::with_path(detail::safetensors::load_network(net, src, options), path);
}
/// The same from the bytes of a file in memory.
template <class Net>
requires(detail::safetensors::is_model_v<Net> && !std::is_const_v<Net>) io_result
    load_safetensors(Net& net, std::span<std::byte const> bytes, load_options const& options = {}) {
  detail::safetensors::memory_source src(bytes);
  return detail::safetensors::load_network(net, src, options);
}

/// Saves a network's parameters (an mlp's, or any propel::model's) to a safetensors file,
/// atomically, named as its parameters are (or by options.names), in the network's scalar
/// type (or options.type). The metadata gets "propel.topology" (topology_signature) besides
/// options.metadata.
template <class Net>
requires detail::safetensors::is_model_v<Net> io_result save_safetensors(
    Net const& net, std::filesystem::path const& path, save_options const& options = {}) {
  std::vector<const_tensor_ref> refs;
  if (auto r = detail::safetensors::block_tensors<Net>(net, options.names, "", refs); !r) {
    return r;
  }
  save_options o = options;
  o.metadata["propel.topology"] = topology_signature<Net>();
  return save_tensors(path, refs, o);
}
/// The same into memory: `out` receives the bytes of the file.
template <class Net>
requires detail::safetensors::is_model_v<Net> io_result
save_safetensors(Net const& net, std::vector<std::byte>& out, save_options const& options = {}) {
  std::vector<const_tensor_ref> refs;
  if (auto r = detail::safetensors::block_tensors<Net>(net, options.names, "", refs); !r) {
    return r;
  }
  save_options o = options;
  o.metadata["propel.topology"] = topology_signature<Net>();
  return save_tensors(out, refs, o);
}

}  // namespace propel
