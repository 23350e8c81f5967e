// SPDX-License-Identifier: BSL-1.0
/// \file Loads and saves a network's parameters in safetensors files, named as PyTorch's
/// nn.Sequential state_dict names them by default: propel::load_safetensors,
/// propel::save_safetensors, and propel::topology_signature.
#pragma once

#include <array>
#include <charconv>
#include <concepts>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <propel/io/safetensors/tensors.hpp>
#include <propel/nn/mlp.hpp>
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

/// Views of every tensor of `block` (a network, or a block of its layout: gradients,
/// optimizer state), named by `names` after `prefix`, appended to `out` in parameter order.
template <class Net, class Ref, class Block>
io_result block_tensors(Block& block, tensor_names const& names, std::string const& prefix,
                        std::vector<Ref>& out) {
  constexpr auto index = sequential_indices<Net>();
  io_result r = io_result::success();
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          if (!r) return;
          auto& layer = block.template layer<I>();
          std::string name;
          r = names.name(tensor_slot{I, false, index[I]}, Net::layer_count, name);
          if (!r) return;
          out.push_back(named_tensor(prefix + name, layer.weight));
          r = names.name(tensor_slot{I, true, index[I]}, Net::layer_count, name);
          if (!r) return;
          out.push_back(named_tensor(prefix + name, layer.bias));
        }(),
        ...);
  }
  (std::make_index_sequence<Net::layer_count>{});
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

/// The topology of a network type as text, e.g.
/// "float input<2> dense<16,tanh> dense<1,identity>": the scalar type, the widths and the
/// activations. Checkpoints carry it, and loading one checks it.
template <class Net>
requires detail::safetensors::is_mlp_v<Net> std::string topology_signature() {
  std::string s = std::is_same_v<typename Net::value_type, float> ? "float" : "double";
  s += " input<" + std::to_string(Net::input_size) + ">";
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((s += " dense<" + std::to_string(Net::widths[I + 1]) + "," +
           detail::safetensors::activation_name<typename Net::template activation_t<I>>() + ">"),
     ...);
  }
  (std::make_index_sequence<Net::layer_count>{});
  return s;
}

/// Loads a network's parameters from a safetensors file, such as a PyTorch nn.Sequential's
/// state_dict saved with safetensors: "0.weight" [out, in], "0.bias" [out], "2.weight", ...
/// (options.names gives another naming). Every tensor's shape is checked against the
/// network; a missing, extra (with options.strict) or mis-shaped tensor is an error naming
/// it and both shapes. F32 and F64 data load into float and double networks (result.converted
/// says a conversion happened). On any failure the network is unchanged.
template <class T, class In, class... L>
io_result load_safetensors(mlp<T, In, L...>& net, std::filesystem::path const& path,
                           load_options const& options = {}) {
  detail::safetensors::file_source src;
  if (auto r = src.open(path); !r) return r;
  return detail::safetensors::with_path(detail::safetensors::load_network(net, src, options), path);
}
/// The same from the bytes of a file in memory.
template <class T, class In, class... L>
io_result load_safetensors(mlp<T, In, L...>& net, std::span<std::byte const> bytes,
                           load_options const& options = {}) {
  detail::safetensors::memory_source src(bytes);
  return detail::safetensors::load_network(net, src, options);
}

/// Saves a network's parameters to a safetensors file, atomically, named as PyTorch's
/// nn.Sequential state_dict (or by options.names), in the network's scalar type (or
/// options.type). The metadata gets "propel.topology" (topology_signature) besides
/// options.metadata.
template <class T, class In, class... L>
io_result save_safetensors(mlp<T, In, L...> const& net, std::filesystem::path const& path,
                           save_options const& options = {}) {
  using net_t = mlp<T, In, L...>;
  std::vector<const_tensor_ref> refs;
  if (auto r = detail::safetensors::block_tensors<net_t>(net, options.names, "", refs); !r) {
    return r;
  }
  save_options o = options;
  o.metadata["propel.topology"] = topology_signature<net_t>();
  return save_tensors(path, refs, o);
}
/// The same into memory: `out` receives the bytes of the file.
template <class T, class In, class... L>
io_result save_safetensors(mlp<T, In, L...> const& net, std::vector<std::byte>& out,
                           save_options const& options = {}) {
  using net_t = mlp<T, In, L...>;
  std::vector<const_tensor_ref> refs;
  if (auto r = detail::safetensors::block_tensors<net_t>(net, options.names, "", refs); !r) {
    return r;
  }
  save_options o = options;
  o.metadata["propel.topology"] = topology_signature<net_t>();
  return save_tensors(out, refs, o);
}

}  // namespace propel
