// SPDX-License-Identifier: BSL-1.0
/// \file Defines propel::tensor_names: how a network's tensors are named in a file.
#pragma once

#include <cstddef>
#include <functional>
#include <propel/io/safetensors/io_result.hpp>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace propel {

/// One parameter tensor of a network, as a naming scheme sees it.
struct tensor_slot {
  std::size_t layer = 0;         ///< the dense layer, 0-based
  bool bias = false;             ///< false: the weight [out][in]; true: the bias [out]
  std::size_t module_index = 0;  ///< the layer's index in a PyTorch nn.Sequential, where every
                                 ///< activation other than identity is a module of its own
  [[nodiscard]] char const* param() const noexcept { return bias ? "bias" : "weight"; }
};

/// How a network's tensors are named. The default is PyTorch's nn.Sequential state_dict:
/// "0.weight", "0.bias", "2.weight", ... (a dense layer with an activation takes two module
/// indices, one with identity takes one). Other schemes:
///
///     propel::tensor_names::sequential("model.")          // "model.0.weight", ...
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

  /// nn.Sequential naming with a prefix: prefix + "<module index>.weight".
  [[nodiscard]] static tensor_names sequential(std::string prefix) {
    tensor_names n;
    n.prefix_ = std::move(prefix);
    return n;
  }
  /// One name per dense layer: "<name>.weight" and "<name>.bias".
  [[nodiscard]] static tensor_names per_layer(std::vector<std::string> layer_names) {
    tensor_names n;
    n.kind_ = kind::per_layer;
    n.list_ = std::move(layer_names);
    return n;
  }
  /// One name per tensor, in parameter order: layer 0 weight, layer 0 bias, layer 1 weight, ...
  [[nodiscard]] static tensor_names per_tensor(std::vector<std::string> names) {
    tensor_names n;
    n.kind_ = kind::per_tensor;
    n.list_ = std::move(names);
    return n;
  }

  /// The name of `slot` in a network of `layer_count` layers, or a failure saying why there
  /// is none (a list of the wrong length, an empty name).
  [[nodiscard]] io_result name(tensor_slot const& slot, std::size_t layer_count,
                               std::string& out) const {
    switch (kind_) {
      case kind::sequential:
        out = prefix_ + std::to_string(slot.module_index) + "." + slot.param();
        break;
      case kind::per_layer:
        if (list_.size() != layer_count) {
          return io_result::failure("tensor_names::per_layer has " + std::to_string(list_.size()) +
                                    " names, but the network has " + std::to_string(layer_count) +
                                    " layers");
        }
        out = list_[slot.layer] + "." + slot.param();
        break;
      case kind::per_tensor:
        if (list_.size() != 2 * layer_count) {
          return io_result::failure("tensor_names::per_tensor has " + std::to_string(list_.size()) +
                                    " names, but the network has " +
                                    std::to_string(2 * layer_count) +
                                    " tensors (a weight and a bias per layer)");
        }
        out = list_[2 * slot.layer + (slot.bias ? 1 : 0)];
        break;
      case kind::function:
        out = fn_(slot);
        break;
    }
    if (out.empty()) {
      return io_result::failure("the naming gives layer " + std::to_string(slot.layer) + "'s " +
                                slot.param() + " an empty name");
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
