// SPDX-License-Identifier: BSL-1.0
/// \file Defines the vocabulary of propel::io: file scalar types (dtype), views of named
/// tensors in memory (tensor_ref, const_tensor_ref, named_tensor) and the load and save
/// options.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <propel/io/safetensors/tensor_names.hpp>
#include <propel/mat.hpp>
#include <propel/vec.hpp>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace propel {

/// A scalar type of tensors in memory and in files: safetensors' "F32" and "F64".
enum class dtype : unsigned char { f32, f64 };

/// "F32" or "F64", as safetensors spells it.
[[nodiscard]] constexpr char const* dtype_name(dtype t) noexcept {
  return t == dtype::f32 ? "F32" : "F64";
}

namespace detail {
template <class T>
struct dtype_of_impl {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "propel::io: tensors in files are float (F32) or double (F64)");
};
template <>
struct dtype_of_impl<float> {
  static constexpr dtype value = dtype::f32;
};
template <>
struct dtype_of_impl<double> {
  static constexpr dtype value = dtype::f64;
};
}  // namespace detail

/// The dtype of float (F32) or double (F64).
template <class T>
inline constexpr dtype dtype_of = detail::dtype_of_impl<std::remove_const_t<T>>::value;

/// A named tensor to load into: `size` elements of `type` at `data`, of the given shape
/// (row-major, like PyTorch). Make one with propel::named_tensor.
struct tensor_ref {
  std::string name;
  std::vector<std::size_t> shape;
  dtype type = dtype::f32;
  void* data = nullptr;
  std::size_t size = 0;
};

/// A named tensor to save from; a tensor_ref converts to it.
struct const_tensor_ref {
  std::string name;
  std::vector<std::size_t> shape;
  dtype type = dtype::f32;
  void const* data = nullptr;
  std::size_t size = 0;

  const_tensor_ref() = default;
  const_tensor_ref(std::string n, std::vector<std::size_t> s, dtype t, void const* d,
                   std::size_t count)
      : name(std::move(n)), shape(std::move(s)), type(t), data(d), size(count) {}
  const_tensor_ref(tensor_ref const& r)  // NOLINT: implicit on purpose
      : name(r.name), shape(r.shape), type(r.type), data(r.data), size(r.size) {}
};

/// A named view of a vector (shape [N]) or a matrix (shape [R, C]): a tensor_ref for a
/// mutable object, a const_tensor_ref for a const one. The view refers to the object.
template <class T, std::size_t N>
[[nodiscard]] tensor_ref named_tensor(std::string name, vec<T, N>& v) {
  return tensor_ref{std::move(name), {N}, dtype_of<T>, v.data(), N};
}
template <class T, std::size_t N>
[[nodiscard]] const_tensor_ref named_tensor(std::string name, vec<T, N> const& v) {
  return const_tensor_ref{std::move(name), {N}, dtype_of<T>, v.data(), N};
}
template <class T, std::size_t R, std::size_t C>
[[nodiscard]] tensor_ref named_tensor(std::string name, mat<T, R, C>& m) {
  return tensor_ref{std::move(name), {R, C}, dtype_of<T>, m.data(), R * C};
}
template <class T, std::size_t R, std::size_t C>
[[nodiscard]] const_tensor_ref named_tensor(std::string name, mat<T, R, C> const& m) {
  return const_tensor_ref{std::move(name), {R, C}, dtype_of<T>, m.data(), R * C};
}
template <class T, std::size_t N>
void named_tensor(std::string, vec<T, N>&&) = delete;  // the view would dangle
template <class T, std::size_t R, std::size_t C>
void named_tensor(std::string, mat<T, R, C>&&) = delete;  // the view would dangle
/// A named view of a buffer of any shape; the shape's element count must equal data.size()
/// (checked when the view is used).
template <class T>
[[nodiscard]] auto named_tensor(std::string name, std::span<T> data,
                                std::vector<std::size_t> shape) {
  if constexpr (std::is_const_v<T>) {
    return const_tensor_ref{std::move(name), std::move(shape), dtype_of<T>, data.data(),
                            data.size()};
  } else {
    return tensor_ref{std::move(name), std::move(shape), dtype_of<T>, data.data(), data.size()};
  }
}

/// Options of the load functions.
struct load_options {
  /// How a network's tensors are named (networks and checkpoints only).
  tensor_names names{};
  /// A tensor in the file that was not asked for is an error (false: it is skipped).
  bool strict = true;
  /// A NaN or infinite value in a loaded tensor is an error.
  bool require_finite = false;
  /// F64 data may load into float and F32 data into double (the result says so).
  bool allow_conversion = true;
  /// If set, receives the file's "__metadata__" string map.
  std::map<std::string, std::string>* metadata = nullptr;
};

/// Options of the save functions.
struct save_options {
  /// How a network's tensors are named (networks only).
  tensor_names names{};
  /// The dtype written; by default each tensor's own (a network's scalar type).
  std::optional<dtype> type{};
  /// Written as the file's "__metadata__" string map (keys starting "propel." are reserved).
  std::map<std::string, std::string> metadata{};
};

}  // namespace propel
