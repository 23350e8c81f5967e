// SPDX-License-Identifier: BSL-1.0
/// \file Defines propel::io_result, what an I/O function of propel::io reports, and
/// propel::io_error, the exception its `check()` throws.
#pragma once

#include <string>
#include <utility>
#if defined(__cpp_exceptions)
#include <stdexcept>
#endif

namespace propel {

#if defined(__cpp_exceptions)
/// Thrown by `io_result::check()` for a failed operation; `what()` is the result's message.
class io_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
#endif

/// The outcome of a load or save: `ok`, whether a scalar conversion (F32 <-> F64) happened,
/// and a message in words (what went wrong, or what was done). Nothing is thrown:
///
///     if (auto r = propel::load_safetensors(net, "w.safetensors"); !r)
///     std::puts(r.message.c_str());
///
/// or, where exceptions are welcome, `propel::load_safetensors(net, path).check();`.
struct [[nodiscard]] io_result {
  bool ok = true;
  bool converted = false;
  std::string message;

  explicit operator bool() const noexcept { return ok; }

  [[nodiscard]] static io_result success(std::string msg = {}, bool conv = false) {
    return io_result{true, conv, std::move(msg)};
  }
  [[nodiscard]] static io_result failure(std::string msg) {
    return io_result{false, false, std::move(msg)};
  }

#if defined(__cpp_exceptions)
  /// Throws propel::io_error with the message if the operation failed.
  void check() const {
    if (!ok) throw io_error(message);
  }
#endif
};

}  // namespace propel
