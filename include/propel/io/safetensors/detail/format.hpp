// SPDX-License-Identifier: BSL-1.0
/// \file The safetensors format itself: reading and checking a header, reading tensors with
/// conversion, and writing a file, over abstract byte sources and sinks. Not public.
///
/// A safetensors file is an 8-byte little-endian header length N, a JSON header of N bytes
/// mapping each tensor's name to its dtype, shape and data_offsets [begin, end) relative to
/// the data section (plus an optional "__metadata__" map of strings), then the data section,
/// little-endian. As in the reference implementation, the tensors must tile the data section
/// exactly: no overlap, no gap, no trailing byte.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <propel/io/safetensors/io_result.hpp>
#include <propel/io/safetensors/tensor_ref.hpp>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace propel::detail::safetensors {

/// The largest header accepted, as in the reference implementation (100 MB).
inline constexpr std::uint64_t max_header_bytes = std::uint64_t{100} << 20;
/// Problems listed in one message before "and N more".
inline constexpr std::size_t max_listed_problems = 8;

// ---------------------------------------------------------------- sources and sinks

/// Random-access bytes: a file or a buffer.
class byte_source {
 public:
  byte_source() = default;
  byte_source(byte_source const&) = delete;
  byte_source& operator=(byte_source const&) = delete;
  virtual ~byte_source() = default;
  [[nodiscard]] virtual std::uint64_t size() const noexcept = 0;
  /// Reads n bytes at offset into dst; false on failure (error() says why).
  [[nodiscard]] virtual bool read(std::uint64_t offset, void* dst, std::size_t n) = 0;
  [[nodiscard]] virtual std::string error() const = 0;
};

class memory_source final : public byte_source {
 public:
  explicit memory_source(std::span<std::byte const> bytes) noexcept : bytes_(bytes) {}
  [[nodiscard]] std::uint64_t size() const noexcept override { return bytes_.size(); }
  [[nodiscard]] bool read(std::uint64_t offset, void* dst, std::size_t n) override {
    if (offset > bytes_.size() || n > bytes_.size() - offset) return false;
    if (n != 0) std::memcpy(dst, bytes_.data() + static_cast<std::size_t>(offset), n);
    return true;
  }
  [[nodiscard]] std::string error() const override { return "read past the end of the buffer"; }

 private:
  std::span<std::byte const> bytes_;
};

/// A stream of bytes written in order.
class byte_sink {
 public:
  byte_sink() = default;
  byte_sink(byte_sink const&) = delete;
  byte_sink& operator=(byte_sink const&) = delete;
  virtual ~byte_sink() = default;
  [[nodiscard]] virtual bool write(void const* data, std::size_t n) = 0;
  [[nodiscard]] virtual std::string error() const = 0;
};

class vector_sink final : public byte_sink {
 public:
  explicit vector_sink(std::vector<std::byte>& out) noexcept : out_(&out) {}
  [[nodiscard]] bool write(void const* data, std::size_t n) override {
    auto const* p = static_cast<std::byte const*>(data);
    out_->insert(out_->end(), p, p + n);
    return true;
  }
  [[nodiscard]] std::string error() const override { return "out of memory"; }

 private:
  std::vector<std::byte>* out_;
};

/// FNV-1a, 64 bits: the checksum of propel checkpoints.
inline constexpr std::uint64_t fnv1a_basis = 14695981039346656037ULL;
inline constexpr std::uint64_t fnv1a_prime = 1099511628211ULL;
inline std::uint64_t fnv1a(std::uint64_t h, void const* data, std::size_t n) noexcept {
  auto const* p = static_cast<unsigned char const*>(data);
  for (std::size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= fnv1a_prime;
  }
  return h;
}

class fnv1a_sink final : public byte_sink {
 public:
  [[nodiscard]] bool write(void const* data, std::size_t n) override {
    hash = fnv1a(hash, data, n);
    return true;
  }
  [[nodiscard]] std::string error() const override { return {}; }
  std::uint64_t hash = fnv1a_basis;
};

// ---------------------------------------------------------------- words

/// A string as a JSON string literal (quoted, escaped), cut short if very long: safe to put
/// any name read from a file into a message.
inline std::string quote_name(std::string_view s) {
  constexpr std::size_t limit = 200;
  std::string const cut = s.size() > limit ? std::string(s.substr(0, limit)) : std::string(s);
  std::string q = nlohmann::json(cut).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (s.size() > limit) q.insert(q.size() - 1, "...");
  return q;
}

template <class Int>
std::string shape_string(std::span<Int const> shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i != 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

/// The multi-index of element `flat` of a row-major tensor of `shape`, e.g. "[2, 0]".
inline std::string index_string(std::vector<std::size_t> const& shape, std::size_t flat) {
  std::vector<std::size_t> idx(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    if (shape[d] == 0) break;
    idx[d] = flat % shape[d];
    flat /= shape[d];
  }
  return shape_string<std::size_t>(idx);
}

inline std::string describe(std::vector<std::string> const& problems) {
  std::string msg;
  if (problems.size() > 1) msg = std::to_string(problems.size()) + " problems: ";
  for (std::size_t i = 0; i < problems.size() && i < max_listed_problems; ++i) {
    if (i != 0) msg += "; ";
    msg += problems[i];
  }
  if (problems.size() > max_listed_problems) {
    msg += "; and " + std::to_string(problems.size() - max_listed_problems) + " more";
  }
  return msg;
}

// ---------------------------------------------------------------- the header

/// Bytes per element of a safetensors dtype; 0 if the name is not one.
inline std::size_t dtype_bytes(std::string_view d) noexcept {
  struct known {
    std::string_view name;
    std::size_t bytes;
  };
  constexpr std::array<known, 15> table{{{"F64", 8},
                                         {"F32", 4},
                                         {"F16", 2},
                                         {"BF16", 2},
                                         {"I64", 8},
                                         {"I32", 4},
                                         {"I16", 2},
                                         {"I8", 1},
                                         {"U64", 8},
                                         {"U32", 4},
                                         {"U16", 2},
                                         {"U8", 1},
                                         {"BOOL", 1},
                                         {"F8_E4M3", 1},
                                         {"F8_E5M2", 1}}};
  for (auto const& k : table) {
    if (k.name == d) return k.bytes;
  }
  return 0;
}

/// One tensor as the header describes it (checked: known dtype, bytes match the shape, range
/// inside the data section).
struct entry {
  std::string name;
  std::string dtype;
  std::vector<std::uint64_t> shape;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

struct header {
  std::uint64_t data_offset = 0;  // 8 + N
  std::uint64_t data_size = 0;
  std::vector<entry> entries;  // sorted by data_offsets
  std::map<std::string, std::string> metadata;
};

using json = nlohmann::json;

/// Records the first parse error's text (a SAX handler that builds nothing).
struct parse_error_sax {
  std::string message;
  bool null() { return true; }
  bool boolean(bool) { return true; }
  bool number_integer(json::number_integer_t) { return true; }
  bool number_unsigned(json::number_unsigned_t) { return true; }
  bool number_float(json::number_float_t, json::string_t const&) { return true; }
  bool string(json::string_t&) { return true; }
  bool binary(json::binary_t&) { return true; }
  bool start_object(std::size_t) { return true; }
  bool key(json::string_t&) { return true; }
  bool end_object() { return true; }
  bool start_array(std::size_t) { return true; }
  bool end_array() { return true; }
  bool parse_error(std::size_t, std::string const&, json::exception const& e) {
    message = e.what();
    return false;
  }
};

inline bool checked_mul(std::uint64_t a, std::uint64_t b, std::uint64_t& out) noexcept {
  if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) return false;
  out = a * b;
  return true;
}

/// Reads and checks the header of the file in `src`. Allocates at most the header's length,
/// which is at most the file's size (and 100 MB).
inline io_result parse_header(byte_source& src, header& out) {
  std::uint64_t const size = src.size();
  if (size < 8) {
    return io_result::failure("the file is " + std::to_string(size) +
                              " bytes long; a safetensors file starts with an 8-byte header "
                              "length");
  }
  std::array<unsigned char, 8> len_bytes{};
  if (!src.read(0, len_bytes.data(), 8)) {
    return io_result::failure("cannot read the header length: " + src.error());
  }
  std::uint64_t n = 0;
  for (std::size_t i = 8; i-- > 0;) n = (n << 8) | len_bytes[i];
  if (n > size - 8) {
    return io_result::failure("the header length says " + std::to_string(n) +
                              " bytes, but only " + std::to_string(size - 8) +
                              " bytes follow it (the file is truncated, or not safetensors)");
  }
  if (n > max_header_bytes) {
    return io_result::failure("the header length says " + std::to_string(n) +
                              " bytes; headers over " + std::to_string(max_header_bytes) +
                              " bytes are refused");
  }
  std::string text(static_cast<std::size_t>(n), '\0');
  if (!src.read(8, text.data(), text.size())) {
    return io_result::failure("cannot read the " + std::to_string(n) +
                              "-byte header: " + src.error());
  }

  // The header nests three levels at most: {name: {"shape": [dims]}}. Deeper containers are
  // dropped while parsing (so a hostile file cannot build a deep tree) and refused.
  bool too_deep = false;
  std::string duplicate;
  std::array<std::set<std::string>, 3> keys;  // the keys seen in the open object at depth 1, 2
  auto const callback = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) {
      if (depth > 2) {
        too_deep = true;
        return false;
      }
      if (event == json::parse_event_t::object_start && depth + 1 <= 2) {
        keys[static_cast<std::size_t>(depth) + 1].clear();
      }
    } else if (event == json::parse_event_t::key && depth >= 1 && depth <= 2 && parsed.is_string()) {
      auto const& k = parsed.get_ref<std::string const&>();
      if (!keys[static_cast<std::size_t>(depth)].insert(k).second && duplicate.empty()) {
        duplicate = k;
      }
    }
    return true;
  };
  json const j = json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    parse_error_sax sax;
    (void)json::sax_parse(text.begin(), text.end(), &sax);
    return io_result::failure("the header is not valid JSON (" +
                              (sax.message.empty() ? std::string("parse error") : sax.message) +
                              ")");
  }
  if (too_deep) return io_result::failure("the header nests JSON deeper than safetensors does");
  if (!duplicate.empty()) {
    return io_result::failure("the header has the key " + quote_name(duplicate) + " twice");
  }
  if (!j.is_object()) {
    return io_result::failure(std::string("the header is a JSON ") + j.type_name() +
                              ", not an object");
  }

  out = header{};
  out.data_offset = 8 + n;
  out.data_size = size - 8 - n;
  for (auto const& [key, value] : j.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) {
        return io_result::failure(std::string("\"__metadata__\" is a JSON ") + value.type_name() +
                                  ", not an object of strings");
      }
      for (auto const& [mk, mv] : value.items()) {
        if (!mv.is_string()) {
          return io_result::failure("the metadata entry " + quote_name(mk) + " is a JSON " +
                                    mv.type_name() + ", not a string");
        }
        out.metadata.emplace(mk, mv.get<std::string>());
      }
      continue;
    }
    std::string const q = "tensor " + quote_name(key);
    if (!value.is_object()) {
      return io_result::failure(q + " is described by a JSON " + value.type_name() +
                                ", not an object with dtype, shape and data_offsets");
    }
    entry e;
    e.name = key;
    auto const dt = value.find("dtype");
    if (dt == value.end() || !dt->is_string()) {
      return io_result::failure(q + " has no \"dtype\" string");
    }
    e.dtype = dt->get<std::string>();
    std::size_t const elem = dtype_bytes(e.dtype);
    if (elem == 0) {
      return io_result::failure(q + " has dtype " + quote_name(e.dtype) +
                                ", which is not a safetensors dtype");
    }
    auto const sh = value.find("shape");
    if (sh == value.end() || !sh->is_array()) {
      return io_result::failure(q + " has no \"shape\" array");
    }
    std::uint64_t count = 1;
    bool overflow = false;
    for (auto const& d : *sh) {
      if (!d.is_number_unsigned()) {
        return io_result::failure(q + " has a shape entry that is not a non-negative integer");
      }
      e.shape.push_back(d.get<std::uint64_t>());
      if (!checked_mul(count, e.shape.back(), count)) overflow = true;
    }
    std::uint64_t bytes = 0;
    if (overflow || !checked_mul(count, elem, bytes)) {
      return io_result::failure(q + " has shape " + shape_string<std::uint64_t>(e.shape) +
                                ", more bytes than any file holds");
    }
    auto const off = value.find("data_offsets");
    if (off == value.end() || !off->is_array() || off->size() != 2 ||
        !(*off)[0].is_number_unsigned() || !(*off)[1].is_number_unsigned()) {
      return io_result::failure(q + " has no \"data_offsets\" pair of non-negative integers");
    }
    e.begin = (*off)[0].get<std::uint64_t>();
    e.end = (*off)[1].get<std::uint64_t>();
    std::string const range =
        "data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) + ")";
    // The messages below are built at most once, on the way out of the loop: the check's
    // concern (temporaries on every iteration) does not apply.
    // NOLINTBEGIN(performance-inefficient-string-concatenation)
    if (e.end < e.begin) {
      return io_result::failure(q + " has " + range + ", which end before they begin");
    }
    if (e.end > out.data_size) {
      return io_result::failure(q + " has " + range + ", past the end of the data section (" +
                                std::to_string(out.data_size) +
                                " bytes; the file is truncated, or the offsets are wrong)");
    }
    if (e.end - e.begin != bytes) {
      return io_result::failure(q + ": shape " + shape_string<std::uint64_t>(e.shape) + " of " +
                                e.dtype + " needs " + std::to_string(bytes) + " bytes, but " +
                                range + " hold " + std::to_string(e.end - e.begin));
    }
    // NOLINTEND(performance-inefficient-string-concatenation)
    out.entries.push_back(std::move(e));
  }

  std::sort(out.entries.begin(), out.entries.end(), [](entry const& a, entry const& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t pos = 0;
  entry const* prev = nullptr;
  for (auto const& e : out.entries) {
    if (e.begin < pos) {
      return io_result::failure("tensors " + quote_name(prev->name) + " [" +
                                std::to_string(prev->begin) + ", " + std::to_string(prev->end) +
                                ") and " + quote_name(e.name) + " [" + std::to_string(e.begin) + ", " +
                                std::to_string(e.end) + ") overlap");
    }
    if (e.begin > pos) {
      return io_result::failure("the bytes [" + std::to_string(pos) + ", " +
                                std::to_string(e.begin) + ") of the data section, before tensor " +
                                quote_name(e.name) + ", belong to no tensor");
    }
    pos = e.end;
    prev = &e;
  }
  if (pos != out.data_size) {
    return io_result::failure("the data section has " + std::to_string(out.data_size) +
                              " bytes, but the tensors cover only " + std::to_string(pos));
  }
  return io_result::success();
}

// ---------------------------------------------------------------- reading tensors

/// Reverses the bytes of an unsigned integer (for big-endian hosts).
template <class U>
constexpr U byteswap(U v) noexcept {
  U r = 0;
  for (std::size_t i = 0; i < sizeof(U); ++i) {
    r = static_cast<U>((r << 8) | (v & 0xFF));
    v = static_cast<U>(v >> 8);
  }
  return r;
}

/// The value of element k of a little-endian F32 or F64 buffer.
template <class From>
From decode(unsigned char const* p) noexcept {
  using bits = std::conditional_t<sizeof(From) == 4, std::uint32_t, std::uint64_t>;
  bits b{};
  std::memcpy(&b, p, sizeof b);
  if constexpr (std::endian::native == std::endian::big) b = byteswap(b);
  return std::bit_cast<From>(b);
}

template <class To>
void encode(To v, unsigned char* p) noexcept {
  using bits = std::conditional_t<sizeof(To) == 4, std::uint32_t, std::uint64_t>;
  auto b = std::bit_cast<bits>(v);
  if constexpr (std::endian::native == std::endian::big) b = byteswap(b);
  std::memcpy(p, &b, sizeof b);
}

/// Converts n elements from the file's buffer into dst[0, n); false (and where) on a value
/// that is not finite when finiteness is required, or that overflows float.
template <class From, class To>
bool convert_in(unsigned char const* buf, std::size_t n, To* dst, bool require_finite,
                std::size_t& bad, bool& overflow) noexcept {
  for (std::size_t k = 0; k < n; ++k) {
    From const v = decode<From>(buf + k * sizeof(From));
    To const t = static_cast<To>(v);
    if (std::isfinite(v) && !std::isfinite(t)) {
      bad = k;
      overflow = true;
      return false;
    }
    if (require_finite && !std::isfinite(t)) {
      bad = k;
      return false;
    }
    dst[k] = t;
  }
  return true;
}

/// Reads one tensor of dtype `from` at absolute offset into w.
inline io_result read_one(byte_source& src, std::uint64_t offset, dtype from, tensor_ref const& w,
                          bool require_finite) {
  std::size_t const esz = from == dtype::f32 ? 4 : 8;
  alignas(8) std::array<unsigned char, 8192> buf{};
  std::size_t const per_chunk = buf.size() / esz;
  for (std::size_t i = 0; i < w.size; i += per_chunk) {
    std::size_t const n = std::min(per_chunk, w.size - i);
    if (!src.read(offset + std::uint64_t{i} * esz, buf.data(), n * esz)) {
      return io_result::failure("cannot read tensor " + quote_name(w.name) + ": " + src.error());
    }
    std::size_t bad = 0;
    bool overflow = false;
    bool ok = true;
    if (w.type == dtype::f32) {
      float* dst = static_cast<float*>(w.data) + i;
      ok = from == dtype::f32 ? convert_in<float>(buf.data(), n, dst, require_finite, bad, overflow)
                              : convert_in<double>(buf.data(), n, dst, require_finite, bad,
                                                   overflow);
    } else {
      double* dst = static_cast<double*>(w.data) + i;
      ok = from == dtype::f32 ? convert_in<float>(buf.data(), n, dst, require_finite, bad, overflow)
                              : convert_in<double>(buf.data(), n, dst, require_finite, bad,
                                                   overflow);
    }
    if (!ok) {
      std::string const where = "tensor " + quote_name(w.name) + " at " + index_string(w.shape, i + bad);
      if (overflow) {
        return io_result::failure(where + " holds an F64 value too large for float");
      }
      return io_result::failure(where + " holds a NaN or infinite value, and finite values were "
                                        "asked for");
    }
  }
  return io_result::success();
}

inline std::size_t element_count(std::vector<std::size_t> const& shape, bool& overflow) {
  std::uint64_t n = 1;
  overflow = false;
  for (auto d : shape) {
    if (!checked_mul(n, d, n)) overflow = true;
  }
  if (n > std::numeric_limits<std::size_t>::max()) overflow = true;
  return static_cast<std::size_t>(n);
}

/// Matches the tensors asked for against the header (every problem listed in one message),
/// then reads them. Nothing is written into the tensors unless every name, shape and dtype
/// checks out; a read error or a value refused midway can leave them partly written.
inline io_result read_tensors(byte_source& src, header const& h, std::span<tensor_ref const> wanted,
                              load_options const& options) {
  std::map<std::string_view, std::size_t> by_name;
  for (std::size_t i = 0; i < h.entries.size(); ++i) by_name.emplace(h.entries[i].name, i);
  std::vector<bool> used(h.entries.size(), false);
  std::vector<entry const*> source(wanted.size(), nullptr);
  std::set<std::string_view> asked;
  std::vector<std::string> problems;
  bool converted = false;
  std::size_t values = 0;
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    tensor_ref const& w = wanted[i];
    std::string const q = "tensor " + quote_name(w.name);
    bool overflow = false;
    if (element_count(w.shape, overflow) != w.size || overflow || (w.size != 0 && !w.data)) {
      return io_result::failure(q + ": the shape " + shape_string<std::size_t>(w.shape) +
                                " does not match the " + std::to_string(w.size) +
                                " elements of the memory given for it");
    }
    if (!asked.insert(w.name).second) {
      return io_result::failure(q + " is asked for twice (check the tensor names)");
    }
    values += w.size;
    auto const it = by_name.find(w.name);
    if (it == by_name.end()) {
      problems.push_back(q + " (shape " + shape_string<std::size_t>(w.shape) +
                         ") is missing from the file");
      continue;
    }
    entry const& e = h.entries[it->second];
    used[it->second] = true;
    bool const same_shape = std::equal(e.shape.begin(), e.shape.end(), w.shape.begin(),
                                       w.shape.end(), [](std::uint64_t a, std::size_t b) {
                                         return a == std::uint64_t{b};
                                       });
    if (!same_shape) {
      problems.push_back(q + " has shape " + shape_string<std::uint64_t>(e.shape) +
                         " in the file, but shape " + shape_string<std::size_t>(w.shape) +
                         " is expected");
      continue;
    }
    if (e.dtype != "F32" && e.dtype != "F64") {
      problems.push_back(q + " has dtype " + e.dtype + " in the file; propel reads F32 and F64");
      continue;
    }
    dtype const from = e.dtype == "F32" ? dtype::f32 : dtype::f64;
    if (from != w.type) {
      if (!options.allow_conversion) {
        problems.push_back(q + " is " + e.dtype + " in the file, but " + dtype_name(w.type) +
                           " is expected (conversion is off)");
        continue;
      }
      converted = true;
    }
    source[i] = &e;
  }
  if (options.strict) {
    for (std::size_t i = 0; i < h.entries.size(); ++i) {
      if (used[i]) continue;
      auto const& e = h.entries[i];
      problems.push_back("the file has a tensor " + quote_name(e.name) + " (" + e.dtype + " " +
                         shape_string<std::uint64_t>(e.shape) + ") that is not expected");
    }
  }
  if (!problems.empty()) return io_result::failure(describe(problems));

  for (std::size_t i = 0; i < wanted.size(); ++i) {
    entry const& e = *source[i];
    dtype const from = e.dtype == "F32" ? dtype::f32 : dtype::f64;
    if (auto r = read_one(src, h.data_offset + e.begin, from, wanted[i], options.require_finite);
        !r) {
      return r;
    }
  }
  if (options.metadata != nullptr) *options.metadata = h.metadata;
  std::string msg = "loaded " + std::to_string(wanted.size()) + " tensors (" +
                    std::to_string(values) + " values)";
  if (converted) msg += ", converting between F32 and F64";
  return io_result::success(std::move(msg), converted);
}

/// Parses the header, then reads the tensors asked for.
inline io_result load(byte_source& src, std::span<tensor_ref const> wanted,
                      load_options const& options) {
  header h;
  if (auto r = parse_header(src, h); !r) return r;
  return read_tensors(src, h, wanted, options);
}

// ---------------------------------------------------------------- writing

/// Checks the tensors to write: names unique and not "__metadata__", shapes matching sizes.
inline io_result check_for_write(std::span<const_tensor_ref const> tensors) {
  std::set<std::string_view> names;
  for (auto const& t : tensors) {
    if (t.name.empty() || t.name == "__metadata__") {
      return io_result::failure("a tensor cannot be named " + quote_name(t.name));
    }
    if (!names.insert(t.name).second) {
      return io_result::failure("two tensors are named " + quote_name(t.name));
    }
    bool overflow = false;
    if (element_count(t.shape, overflow) != t.size || overflow || (t.size != 0 && !t.data)) {
      return io_result::failure("tensor " + quote_name(t.name) + ": the shape " +
                                shape_string<std::size_t>(t.shape) + " does not match the " +
                                std::to_string(t.size) + " elements of the memory given for it");
    }
  }
  return io_result::success();
}

inline dtype file_type(const_tensor_ref const& t, save_options const& options) noexcept {
  return options.type.value_or(t.type);
}

/// The JSON header, padded with spaces to a multiple of 8 bytes (so the data is aligned).
inline std::string make_header(std::span<const_tensor_ref const> tensors,
                               save_options const& options) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  if (!options.metadata.empty()) {
    auto& m = j["__metadata__"];
    m = nlohmann::ordered_json::object();
    for (auto const& [k, v] : options.metadata) m[k] = v;
  }
  std::uint64_t pos = 0;
  for (auto const& t : tensors) {
    dtype const ft = file_type(t, options);
    std::uint64_t const bytes = std::uint64_t{t.size} * (ft == dtype::f32 ? 4U : 8U);
    j[t.name] = {{"dtype", dtype_name(ft)}, {"shape", t.shape}, {"data_offsets", {pos, pos + bytes}}};
    pos += bytes;
  }
  std::string text = j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

template <class From, class To>
void convert_out(From const* src, std::size_t n, unsigned char* buf) noexcept {
  for (std::size_t k = 0; k < n; ++k) encode<To>(static_cast<To>(src[k]), buf + k * sizeof(To));
}

/// Writes the data section.
inline bool write_data(byte_sink& sink, std::span<const_tensor_ref const> tensors,
                       save_options const& options) {
  alignas(8) std::array<unsigned char, 8192> buf{};
  for (auto const& t : tensors) {
    dtype const ft = file_type(t, options);
    std::size_t const esz = ft == dtype::f32 ? 4 : 8;
    if (ft == t.type && std::endian::native == std::endian::little) {
      if (t.size != 0 && !sink.write(t.data, t.size * esz)) return false;
      continue;
    }
    std::size_t const per_chunk = buf.size() / esz;
    for (std::size_t i = 0; i < t.size; i += per_chunk) {
      std::size_t const n = std::min(per_chunk, t.size - i);
      if (t.type == dtype::f32) {
        float const* p = static_cast<float const*>(t.data) + i;
        ft == dtype::f32 ? convert_out<float, float>(p, n, buf.data())
                         : convert_out<float, double>(p, n, buf.data());
      } else {
        double const* p = static_cast<double const*>(t.data) + i;
        ft == dtype::f32 ? convert_out<double, float>(p, n, buf.data())
                         : convert_out<double, double>(p, n, buf.data());
      }
      if (!sink.write(buf.data(), n * esz)) return false;
    }
  }
  return true;
}

/// Writes a whole file: header length, header, data.
inline io_result write_file(byte_sink& sink, std::span<const_tensor_ref const> tensors,
                            save_options const& options) {
  if (auto r = check_for_write(tensors); !r) return r;
  std::string const text = make_header(tensors, options);
  std::array<unsigned char, 8> len{};
  std::uint64_t n = text.size();
  for (auto& b : len) {
    b = static_cast<unsigned char>(n & 0xFF);
    n >>= 8;
  }
  if (!sink.write(len.data(), len.size()) || !sink.write(text.data(), text.size()) ||
      !write_data(sink, tensors, options)) {
    return io_result::failure(sink.error());
  }
  bool converted = false;
  std::size_t values = 0;
  for (auto const& t : tensors) {
    converted = converted || file_type(t, options) != t.type;
    values += t.size;
  }
  std::string msg = "saved " + std::to_string(tensors.size()) + " tensors (" +
                    std::to_string(values) + " values)";
  if (converted) msg += ", converting to " + std::string(dtype_name(*options.type));
  return io_result::success(std::move(msg), converted);
}

}  // namespace propel::detail::safetensors
