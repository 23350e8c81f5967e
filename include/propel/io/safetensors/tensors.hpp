// SPDX-License-Identifier: BSL-1.0
/// \file Loads and saves named tensors (vectors, matrices, buffers) in safetensors files:
/// propel::load_tensors and propel::save_tensors. Networks and checkpoints build on these
/// (propel/io/safetensors.hpp).
#pragma once

#include <cstddef>
#include <filesystem>
#include <initializer_list>
#include <propel/io/safetensors/detail/files.hpp>
#include <propel/io/safetensors/detail/format.hpp>
#include <propel/io/safetensors/io_result.hpp>
#include <propel/io/safetensors/tensor_ref.hpp>
#include <span>
#include <string>
#include <vector>

namespace propel {

namespace detail::safetensors {
inline io_result with_path(io_result r, std::filesystem::path const& path) {
  if (!r.message.empty()) r.message = path.string() + ": " + r.message;
  return r;
}
}  // namespace detail::safetensors

/// Loads the named tensors from a safetensors file. Every name must be in the file with the
/// same shape, and F32 or F64 data (converted to the memory's type if it differs, unless
/// options.allow_conversion is false); with options.strict, the file must hold nothing else.
/// Never allocates more than the file's header. On a failure nothing is written if a name,
/// shape or dtype is wrong; a read error or a refused value midway (require_finite) can leave
/// the tensors partly written (the network loaders work on a copy and never do).
inline io_result load_tensors(std::filesystem::path const& path,
                              std::span<tensor_ref const> tensors,
                              load_options const& options = {}) {
  detail::safetensors::file_source src;
  if (auto r = src.open(path); !r) return r;
  return detail::safetensors::with_path(detail::safetensors::load(src, tensors, options), path);
}
inline io_result load_tensors(std::filesystem::path const& path,
                              std::initializer_list<tensor_ref> tensors,
                              load_options const& options = {}) {
  return load_tensors(path, std::span<tensor_ref const>(tensors.begin(), tensors.size()), options);
}
/// The same from the bytes of a file in memory.
inline io_result load_tensors(std::span<std::byte const> bytes, std::span<tensor_ref const> tensors,
                              load_options const& options = {}) {
  detail::safetensors::memory_source src(bytes);
  return detail::safetensors::load(src, tensors, options);
}
inline io_result load_tensors(std::span<std::byte const> bytes,
                              std::initializer_list<tensor_ref> tensors,
                              load_options const& options = {}) {
  return load_tensors(bytes, std::span<tensor_ref const>(tensors.begin(), tensors.size()), options);
}

/// Saves the named tensors to a safetensors file, atomically: the file at `path` is the old
/// one or the new one, whole, whenever the program stops. Each tensor is written in its own
/// dtype, or in options.type.
inline io_result save_tensors(std::filesystem::path const& path,
                              std::span<const_tensor_ref const> tensors,
                              save_options const& options = {}) {
  using namespace detail::safetensors;
  if (auto r = check_for_write(tensors); !r) return with_path(r, path);
  atomic_file_sink sink;
  if (auto r = sink.open(path); !r) return r;
  io_result r = write_file(sink, tensors, options);
  if (!r) return with_path(r, path);
  if (auto c = sink.commit(); !c) return c;
  return with_path(r, path);
}
inline io_result save_tensors(std::filesystem::path const& path,
                              std::initializer_list<const_tensor_ref> tensors,
                              save_options const& options = {}) {
  return save_tensors(path, std::span<const_tensor_ref const>(tensors.begin(), tensors.size()),
                      options);
}
/// The same into memory: `out` receives the bytes of the file.
inline io_result save_tensors(std::vector<std::byte>& out,
                              std::span<const_tensor_ref const> tensors,
                              save_options const& options = {}) {
  out.clear();
  detail::safetensors::vector_sink sink(out);
  return detail::safetensors::write_file(sink, tensors, options);
}
inline io_result save_tensors(std::vector<std::byte>& out,
                              std::initializer_list<const_tensor_ref> tensors,
                              save_options const& options = {}) {
  return save_tensors(out, std::span<const_tensor_ref const>(tensors.begin(), tensors.size()),
                      options);
}

}  // namespace propel
