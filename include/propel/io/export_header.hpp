// SPDX-License-Identifier: BSL-1.0
/// \file Exports a trained network as C++ source: a header whose parameters are constexpr
/// data of the network's own type, for firmware that keeps its weights in flash.
///
///     std::ofstream out("ctrl_weights.hpp");
///     propel::cpp_header_writer h(out, "ctrl_model");        // #pragma once, includes, namespace
///     h.network("weights", net);                              // the network, typed
///     h.tensor("probe_inputs", x);                            // any vec or mat, exactly
///     h.close();                                              // closes the namespace
///
/// gives, for a network of type propel::mlp<float, propel::input<16>, ...>:
///
///     namespace ctrl_model {
///     using weights_type = propel::mlp<float, propel::input<16>, ...>;
///     inline constexpr weights_type weights = [] { weights_type net{};
///       net.layer<0>().weight = propel::mat<float, 32, 16>{0x1.2p-3f, ...}; ... return net; }();
///     inline constexpr propel::mat<float, 8, 16> probe_inputs{...};
///     }
///
/// `inline constexpr` puts the object in read-only data (flash on a microcontroller), built by
/// the compiler: no start-up copy, no RAM. The data are bound to the network type: each layer
/// is assigned as a propel::mat / propel::vec of the exported shape, so a header that does
/// not match the type the program uses fails to compile ("cannot assign a tensor of another
/// shape"), and binding `my_net_t const& n = ctrl_model::weights;` fails unless my_net_t is
/// the exported type. Numbers are C++ hexadecimal floating literals: they round-trip exactly
/// and do not depend on the C library that prints them.
///
/// Any other propel::model is written the same way, each tensor assigned by its name, under
/// the name of its type, which the including code declares before it includes the header
/// (the model's forward is its own class): `h.network("weights", model, "my_model_t")` gives
///
///     static_assert(my_model_t::input_size == 4, "weights: the model type has another ...");
///     static_assert(my_model_t::tensor_count == 4, "weights: the model type has another ...");
///     inline constexpr my_model_t weights = [] { my_model_t net{};
///       net.tensor<"fc1.weight">() = propel::mat<float, 16, 4>{...}; ... return net; }();
///
/// so that a type whose tensors have other names, shapes or scalar type does not compile
/// either ("no parameter of this name", "cannot assign a tensor of another shape").
///
/// `h.network("weights", q)` writes an int8 network (propel::int8_mlp, from propel::quantize)
/// the same way: its int8 weights, int32 biases and multipliers, shifts and tensor parameters,
/// with a static_assert that each layer's derived flag agrees with them.
///
/// An mlp's type is spelled out when every activation is one of propel's (leaky_relu and
/// elu only with their default parameters); otherwise pass the name of a type that the
/// including code declares before it includes the header: `h.network("w", net, "my_net_t")`.
///
/// Host-side and optional: not part of <propel/propel.hpp>; it uses <ostream> and std::string.
/// The generated header needs only <propel/propel.hpp>.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <propel/mat.hpp>
#include <propel/nn/mlp.hpp>
#include <propel/nn/model.hpp>
#include <propel/nn/param_block.hpp>
#include <propel/nn/quantize.hpp>
#include <propel/ops/activation.hpp>
#include <propel/vec.hpp>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace propel {

namespace detail::cpp_source {

template <class T>
constexpr char const* scalar_spelling() {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double> ||
                    std::is_same_v<T, std::int8_t> || std::is_same_v<T, std::int32_t>,
                "propel::cpp_header_writer: tensors of float, double, std::int8_t or "
                "std::int32_t only");
  if constexpr (std::is_same_v<T, std::int8_t>) {
    return "std::int8_t";
  } else if constexpr (std::is_same_v<T, std::int32_t>) {
    return "std::int32_t";
  } else {
    return std::is_same_v<T, float> ? "float" : "double";
  }
}

/// The int8 network type written out: propel::int8_mlp<propel::input<N>, ...>.
template <class Input, class... Layers>
std::string network_spelling(int8_mlp<Input, Layers...> const*) {
  std::string s = "propel::int8_mlp<propel::input<" + std::to_string(Input::size) + ">";
  ((s += ", propel::dense<" + std::to_string(Layers::size) +
         (std::is_same_v<typename Layers::activation, propel::relu> ? ", propel::relu>" : ">")),
   ...);
  return s + ">";
}

/// The type of an mlp written out, or an empty string if an activation has no spelling.
template <class T, class Input, class... Layers>
std::string network_spelling(mlp<T, Input, Layers...> const*) {
  std::string s = std::string("propel::mlp<") + scalar_spelling<T>() + ", propel::input<" +
                  std::to_string(Input::size) + ">";
  bool ok = true;
  (
      [&] {
        using act = typename Layers::activation;
        s += ", propel::dense<" + std::to_string(Layers::size);
        // one of propel's activations is propel::<name>; a derived type (another slope or
        // alpha, or the caller's own activation) cannot be spelled
        if constexpr (!detail::is_named_activation_v<act>) {
          ok = false;
        } else if constexpr (!std::is_same_v<act, propel::identity>) {
          s += ", propel::" + std::string(act::name);
        }
        s += ">";
      }(),
      ...);
  return ok ? s + ">" : std::string();
}

/// A C++ hexadecimal floating literal that denotes exactly x ("0x1.8p-1f", "-0x0p+0"),
/// formatted from the bits (the same text on every platform); infinities and NaN as
/// __builtin_huge_val / __builtin_nan calls that GCC and Clang evaluate at compile time.
template <class T>
std::string literal(T x) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>);
  using bits_t = std::conditional_t<std::is_same_v<T, float>, std::uint32_t, std::uint64_t>;
  constexpr int mantissa_bits = std::is_same_v<T, float> ? 23 : 52;
  constexpr int exponent_bias = std::is_same_v<T, float> ? 127 : 1023;
  constexpr bits_t exponent_mask = (bits_t{1} << (sizeof(T) * 8 - 1 - mantissa_bits)) - 1;
  char const* const suffix = std::is_same_v<T, float> ? "f" : "";
  auto const bits = std::bit_cast<bits_t>(x);
  bool const negative = (bits >> (sizeof(T) * 8 - 1)) != 0;
  auto const biased = static_cast<int>((bits >> mantissa_bits) & exponent_mask);
  bits_t mantissa = bits & ((bits_t{1} << mantissa_bits) - 1);
  std::string s = negative ? "-" : "";
  if (biased == static_cast<int>(exponent_mask)) {  // infinity or NaN
    if (mantissa != 0) {
      return std::is_same_v<T, float> ? "__builtin_nanf(\"\")" : "__builtin_nan(\"\")";
    }
    return s + (std::is_same_v<T, float> ? "__builtin_huge_valf()" : "__builtin_huge_val()");
  }
  if (biased == 0 && mantissa == 0) return s + "0x0p+0" + suffix;
  // hex digits of the fraction: pad the mantissa to a whole number of nibbles
  constexpr int nibbles = (mantissa_bits + 3) / 4;
  mantissa <<= nibbles * 4 - mantissa_bits;
  std::string digits;
  for (int i = nibbles - 1; i >= 0; --i) {
    digits += "0123456789abcdef"[(mantissa >> (4 * i)) & 0xF];
  }
  while (!digits.empty() && digits.back() == '0') digits.pop_back();
  int const exponent = biased == 0 ? 1 - exponent_bias : biased - exponent_bias;
  s += biased == 0 ? "0x0" : "0x1";
  if (!digits.empty()) s += "." + digits;
  s += "p";
  s += exponent < 0 ? "-" : "+";
  s += std::to_string(exponent < 0 ? -exponent : exponent);
  return s + suffix;
}

/// "propel::vec<float, 4>" (cols == 0) or "propel::mat<float, 4, 16>".
template <class T>
std::string tensor_spelling(std::size_t rows, std::size_t cols) {
  std::string s = cols == 0 ? "propel::vec<" : "propel::mat<";
  s += scalar_spelling<T>();
  s += ", ";
  s += std::to_string(rows);
  if (cols != 0) {
    s += ", ";
    s += std::to_string(cols);
  }
  return s + ">";
}
template <class V>
std::string tensor_spelling() {
  using shape = typename V::shape_type;
  return tensor_spelling<typename V::value_type>(shape::rows, shape::rank == 1 ? 0 : shape::cols);
}

/// The braced elements of n values, `per_line` to a line, each line indented.
template <class T>
void write_values(std::ostream& os, T const* values, std::size_t n, std::string_view indent) {
  constexpr std::size_t per_line = std::is_integral_v<T> ? 16 : 4;
  os << "{";
  for (std::size_t i = 0; i < n; ++i) {
    os << (i % per_line == 0 ? std::string("\n").append(indent) : std::string(" "));
    if constexpr (std::is_integral_v<T>) {
      os << std::to_string(static_cast<long long>(values[i]));
    } else {
      os << literal(values[i]);
    }
    os << (i + 1 < n ? "," : "");
  }
  os << "}";
}
/// The braced elements of a vec or mat.
template <class V>
void write_elements(std::ostream& os, V const& v, std::string_view indent) {
  write_values(os, v.data(), v.size(), indent);
}

/// A C++ string literal of `text`: "\"fc1.weight\"", with '"' and '\\' escaped.
inline std::string string_literal(std::string_view text) {
  std::string s = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') s += '\\';
    s += c;
  }
  return s + "\"";
}

/// `  <access(k, name)> = <vec or mat of the tensor's shape>{...};` for each tensor k of a
/// network's parameter block, in parameter order.
template <class Block, class Access>
void write_tensors(std::ostream& os, Block const& block, Access const& access) {
  using T = typename Block::value_type;
  std::size_t k = 0;
  for_each_named_tensor(
      [&](std::string_view name, std::size_t rows, std::size_t cols, T const* data) {
        os << "  " << access(k++, name) << " = " << tensor_spelling<T>(rows, cols);
        write_values(os, data, rows * (cols == 0 ? 1 : cols), "      ");
        os << ";\n";
      },
      block);
}

}  // namespace detail::cpp_source

/// Writes a C++ header of constexpr networks and tensors to a std::ostream (see the file
/// comment). The constructor writes the preamble and opens `name_space`; close() (or the
/// destructor) closes it. Identifiers are written as given.
class cpp_header_writer {
 public:
  /// `comment`: lines for the header's opening comment (say what produced it).
  cpp_header_writer(std::ostream& os, std::string_view name_space, std::string_view comment = {})
      : os_(&os), name_space_(name_space) {
    os << "// Generated by propel::cpp_header_writer (propel/io/export_header.hpp). Do not edit.\n";
    std::string_view rest = comment;
    while (!rest.empty()) {
      auto const end = rest.find('\n');
      std::string_view const line = rest.substr(0, end);
      os << "//" << (line.empty() ? "" : " ") << line << "\n";
      rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    }
    os << "#pragma once\n\n#include <propel/propel.hpp>\n\nnamespace " << name_space_ << " {\n";
  }
  cpp_header_writer(cpp_header_writer const&) = delete;
  cpp_header_writer& operator=(cpp_header_writer const&) = delete;
  ~cpp_header_writer() { close(); }

  /// `inline constexpr <type> name = ...;` holding every parameter of `net`, and
  /// `using name_type = <type>;` when the type can be spelled. `type_name` names a type the
  /// including code declares instead (required when an activation is not one of propel's).
  /// Returns false, writing nothing, if the type can be neither spelled nor named (or the
  /// writer is closed).
  template <class T, class Input, class... Layers>
  bool network(std::string_view name, mlp<T, Input, Layers...> const& net,
               std::string_view type_name = {}) {
    using net_t = mlp<T, Input, Layers...>;
    if (os_ == nullptr) return false;  // closed
    std::string const spelled =
        detail::cpp_source::network_spelling(static_cast<net_t const*>(nullptr));
    std::string type(type_name);
    std::ostream& os = *os_;
    if (type.empty()) {
      if (spelled.empty()) return false;
      type = std::string(name) + "_type";
      os << "\n/// The network type of " << name << ".\nusing " << type << " = " << spelled
         << ";\n";
    } else {
      os << "\nstatic_assert(" << type << "::layer_count == " << net_t::layer_count << ", \""
         << name << ": the network type has another number of layers\");\n";
    }
    os << "\n/// Every parameter of the network (" << net_t::param_count
       << "), in read-only data: a constant the compiler builds.\n"
       << "inline constexpr " << type << " " << name << " = [] {\n  " << type << " net{};\n";
    using block = typename net_t::block_type;
    // each layer by its index: net.layer<I>().weight, net.layer<I>().bias
    detail::cpp_source::write_tensors(
        os, static_cast<block const&>(net), [](std::size_t k, std::string_view) {
          return "net.layer<" + std::to_string(block::tensor_group[k]) + ">()." +
                 (block::tensor_local[k] == 0 ? "weight" : "bias");
        });
    os << "  return net;\n}();\n";
    return true;
  }

  /// `inline constexpr <type_name> name = ...;` holding every parameter of a propel::model,
  /// each tensor assigned by its name as the vec or mat of its shape
  /// (`net.tensor<"fc1.weight">() = propel::mat<float, 16, 4>{...};`), after static_asserts
  /// that the type has the model's input width and number of tensors. A model's type is
  /// written by no one but its author (its forward is the author's class), so `type_name`
  /// names it, and the including code declares it before it includes the header. Returns
  /// false, writing nothing, if type_name is empty (or the writer is closed).
  template <class T, class Input, class Forward, class... Groups>
  bool network(std::string_view name, model<T, Input, Forward, Groups...> const& net,
               std::string_view type_name) {
    using block = param_block<T, Groups...>;
    if (os_ == nullptr || type_name.empty()) return false;
    std::ostream& os = *os_;
    std::string const type(type_name);
    os << "\nstatic_assert(" << type << "::input_size == " << Input::size << ", \"" << name
       << ": the model type has another input width\");\n"
       << "static_assert(" << type << "::tensor_count == " << block::tensor_count << ", \"" << name
       << ": the model type has another number of parameter tensors\");\n";
    os << "\n/// Every parameter of the model (" << block::param_count
       << "), in read-only data: a constant the compiler builds.\n"
       << "inline constexpr " << type << " " << name << " = [] {\n  " << type << " net{};\n";
    detail::cpp_source::write_tensors(
        os, static_cast<block const&>(net), [](std::size_t, std::string_view tensor) {
          return "net.tensor<" + detail::cpp_source::string_literal(tensor) + ">()";
        });
    os << "  return net;\n}();\n";
    return true;
  }

  /// `inline constexpr <type> name = ...;` holding every parameter of an int8 network (see
  /// propel/nn/quantize.hpp), `using name_type = <type>;`, and a static_assert that each
  /// layer's derived flag agrees with its data. Returns false if the writer is closed.
  template <class Input, class... Layers>
  bool network(std::string_view name, int8_mlp<Input, Layers...> const& net) {
    using net_t = int8_mlp<Input, Layers...>;
    if (os_ == nullptr) return false;  // closed
    std::ostream& os = *os_;
    std::string const type = std::string(name) + "_type";
    os << "\n/// The int8 network type of " << name << ".\nusing " << type << " = "
       << detail::cpp_source::network_spelling(static_cast<net_t const*>(nullptr)) << ";\n";
    auto const params = [&](quant_params p) {
      return "propel::quant_params{" + detail::cpp_source::literal(p.scale) + ", " +
             std::to_string(p.zero_point) + "}";
    };
    os << "\n/// Every parameter of the int8 network, in read-only data: a constant the compiler "
          "builds.\n"
       << "inline constexpr " << type << " " << name << " = [] {\n  " << type << " net{};\n"
       << "  net.input = " << params(net.input) << ";\n";
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (
          [&] {
            auto const& layer = net.template layer<I>();
            auto const field = [&](char const* what, auto const& v) {
              os << "  net.layer<" << I << ">()." << what << " = "
                 << detail::cpp_source::tensor_spelling<std::remove_cvref_t<decltype(v)>>();
              detail::cpp_source::write_elements(os, v, "      ");
              os << ";\n";
            };
            field("weight", layer.weight);
            field("bias", layer.bias);
            field("multiplier", layer.multiplier.values());
            field("shift", layer.shift.values());
            os << "  net.layer<" << I << ">().output = " << params(layer.output) << ";\n"
               << "  net.layer<" << I << ">().act_min = " << int{layer.act_min} << ";\n"
               << "  net.layer<" << I
               << ">().right_shifts_only = " << (layer.right_shifts_only ? "true" : "false")
               << ";\n";
          }(),
          ...);
    }
    (std::make_index_sequence<net_t::layer_count>{});
    os << "  return net;\n}();\n"
       << "static_assert(propel::int8_mlp_consistent(" << name << "), \"" << name
       << ": a layer's right_shifts_only disagrees with its shifts and clamp\");\n";
    return true;
  }

  /// `inline constexpr propel::vec<...> name{...};` (or propel::mat), exactly v. `doc`, if
  /// given, becomes its comment.
  template <class V>
  void tensor(std::string_view name, V const& v, std::string_view doc = {}) {
    if (os_ == nullptr) return;  // closed
    std::ostream& os = *os_;
    os << "\n";
    if (!doc.empty()) os << "/// " << doc << "\n";
    os << "inline constexpr " << detail::cpp_source::tensor_spelling<V>() << " " << name;
    detail::cpp_source::write_elements(os, v, "    ");
    os << ";\n";
  }

  /// Closes the namespace (once; later calls do nothing).
  void close() {
    if (os_ == nullptr) return;
    *os_ << "\n}  // namespace " << name_space_ << "\n";
    os_ = nullptr;
  }

 private:
  std::ostream* os_;
  std::string name_space_;
};

}  // namespace propel
