// SPDX-License-Identifier: BSL-1.0
/// \file Defines propel::tensor_names: how a network's tensors are named in a file.
#pragma once

#include <cstddef>
#include <functional>
#include <propel/io/safetensors/io_result.hpp>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace propel {

/// One parameter tensor of a network, as a naming scheme sees it. For a propel::model the
/// "layers" are its parameter groups (propel::linear, norm, tensor_param) in order.
struct tensor_slot {
  std::size_t layer = 0;         ///< the dense layer (a model's parameter group), 0-based
  bool bias = false;             ///< false: the weight [out][in]; true: the bias [out] (a model:
                                 ///< true for the bias of a linear or norm group)
  std::size_t module_index = 0;  ///< the layer's index in a PyTorch nn.Sequential, where every
                                 ///< activation other than identity is a module of its own (a
                                 ///< model: the group's index, as `layer`)
  std::string_view name{};       ///< the parameter's own name: "0.weight" for an mlp (its
                                 ///< nn.Sequential name), "fc1.bias" or "dec_bias" for a model
  std::string_view group{};      ///< the name of its layer or group: "0", "fc1", "dec_bias"
  std::size_t index = 0;         ///< its position in parameter order, 0-based
  [[nodiscard]] char const* param() const noexcept { return bias ? "bias" : "weight"; }
};

/// How many layers (or parameter groups) and tensors a network has, as naming checks count
/// them; `mlp` words the messages in layers, otherwise in parameter groups.
struct tensor_layout {
  std::size_t groups = 0;
  std::size_t tensors = 0;
  bool mlp = true;
};

/// How a network's tensors are named. The default is each parameter's own name, which is
/// PyTorch's state_dict key for the same module: for an mlp, nn.Sequential's "0.weight",
/// "0.bias", "2.weight", ... (a dense layer with an activation takes two module indices, one
/// with identity takes one); for a propel::model, "fc1.weight", "fc1.bias", "dec_bias", ...
/// Other schemes:
///
///     propel::tensor_names::sequential("model.")          // "model.0.weight", "model.fc1.bias"
///     propel::tensor_names::per_layer({"fc1", "fc2"})     // "fc1.weight", "fc1.bias", ...
///     propel::tensor_names::per_tensor({"w1", "b1", "w2", "b2"})
///     [](propel::tensor_slot const& s) { return "l" + std::to_string(s.layer) + "." + s.param(); }
class tensor_names {
 public:
  using function_type = std::function<std::string(tensor_slot const&)>;

  tensor_names() = default;
  /// Any callable taking a tensor_slot and returning the name.
  template <class F>
  requires(!std::is_same_v<std::remove_cvref_t<F>, tensor_names> &&
           std::is_invocable_r_v<std::string, F const&, tensor_slot const&>) tensor_names(F f)
      : kind_(kind::function), fn_(std::move(f)) {}  // NOLINT: implicit on purpose

  /// The parameters' own names after a prefix: prefix + "<module index>.weight" for an mlp,
  /// prefix + "fc1.weight" for a model.
  [[nodiscard]] static tensor_names sequential(std::string prefix) {
    tensor_names n;
    n.prefix_ = std::move(prefix);
    return n;
  }
  /// One name per dense layer (a model: per parameter group), in place of the layer's or
  /// group's own: "<name>.weight" and "<name>.bias" ("<name>" for a tensor_param).
  [[nodiscard]] static tensor_names per_layer(std::vector<std::string> layer_names) {
    tensor_names n;
    n.kind_ = kind::per_layer;
    n.list_ = std::move(layer_names);
    return n;
  }
  /// One name per tensor, in parameter order: layer 0 weight, layer 0 bias, layer 1 weight, ...
  /// (a model: the order of for_each_named_tensor).
  [[nodiscard]] static tensor_names per_tensor(std::vector<std::string> names) {
    tensor_names n;
    n.kind_ = kind::per_tensor;
    n.list_ = std::move(names);
    return n;
  }

  /// The name of `slot` in a network of the given layout, or a failure saying why there is
  /// none (a list of the wrong length, an empty name).
  [[nodiscard]] io_result name(tensor_slot const& slot, tensor_layout const& layout,
                               std::string& out) const {
    char const* const groups = layout.mlp ? " layers" : " parameter groups";
    switch (kind_) {
      case kind::sequential:
        out = prefix_;
        out += slot.name;
        break;
      case kind::per_layer:
        if (list_.size() != layout.groups) {
          return io_result::failure("tensor_names::per_layer has " + std::to_string(list_.size()) +
                                    " names, but the network has " + std::to_string(layout.groups) +
                                    groups);
        }
        // the group's name replaced: what follows it (".weight", ".bias" or nothing) is kept
        out = list_[slot.layer];
        out += slot.name.substr(slot.group.size() <= slot.name.size() ? slot.group.size()
                                                                      : slot.name.size());
        break;
      case kind::per_tensor:
        if (list_.size() != layout.tensors) {
          return io_result::failure("tensor_names::per_tensor has " + std::to_string(list_.size()) +
                                    " names, but the network has " +
                                    std::to_string(layout.tensors) + " tensors" +
                                    (layout.mlp ? " (a weight and a bias per layer)" : ""));
        }
        out = list_[slot.index];
        break;
      case kind::function:
        out = fn_(slot);
        break;
    }
    if (out.empty()) {
      if (layout.mlp) {
        return io_result::failure("the naming gives layer " + std::to_string(slot.layer) + "'s " +
                                  slot.param() + " an empty name");
      }
      return io_result::failure("the naming gives tensor \"" + std::string(slot.name) +
                                "\" an empty name");
    }
    return io_result::success();
  }

 private:
  enum class kind { sequential, per_layer, per_tensor, function };
  kind kind_ = kind::sequential;
  std::string prefix_;
  std::vector<std::string> list_;
  function_type fn_;
};

}  // namespace propel
