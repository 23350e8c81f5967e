// SPDX-License-Identifier: BSL-1.0
// propel::io: networks, tensors and checkpoints through safetensors files. Round trips and
// PyTorch naming; conversions; every tensor's name and shape checked, and the message naming
// them; a failed load leaving the network unchanged; hostile files (truncated, lying header
// lengths, invalid JSON, overlapping or out-of-range ranges, wrong dtypes, non-finite values,
// gigabytes announced in a few bytes); checkpoints resuming bit for bit; and a saving process
// killed at random instants, which must always leave the old file or the new one, whole.
#include <propel/io/safetensors.hpp>  // first: the io header compiles on its own
//
#define BOOST_TEST_MODULE safetensors
#include <algorithm>
#include <array>
#include <bit>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <propel/propel.hpp>
#include <random>
#include <string>
#include <vector>

#include "support/export_model.hpp"

#if __has_include(<sys/wait.h>) && __has_include(<unistd.h>)
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#define PROPEL_TEST_FORK 1
#else
#define PROPEL_TEST_FORK 0
#endif

namespace pp = propel;
namespace fs = std::filesystem;
using json = nlohmann::ordered_json;
using bytes_t = std::vector<std::byte>;

namespace {

// keys "0.weight" [3, 2], "0.bias" [3], "2.weight" [1, 3], "2.bias" [1]
using small_t = pp::mlp<float, pp::input<2>, pp::dense<3, pp::relu>, pp::dense<1>>;
using small_d = pp::mlp<double, pp::input<2>, pp::dense<3, pp::relu>, pp::dense<1>>;

// A model that is not an mlp, with a group of each kind: the tied-weight autoencoder with a
// layer-normed code of export_header_test (support/export_model.hpp), enc.weight read twice.
template <class T>
using tied_model = export_model::tied_model<T>;
using tied_t = tied_model<float>;
using tied_d = tied_model<double>;

bool contains(std::string const& text, std::string const& part) {
  bool const found = text.find(part) != std::string::npos;
  if (!found) BOOST_TEST_MESSAGE("\"" << part << "\" is not in: " << text);
  return found;
}

template <class Net>
bool same_bits(Net const& a, Net const& b) {
  // bit for bit on purpose: -0 against 0, or NaN payloads, must count as different
  // NOLINTNEXTLINE(bugprone-suspicious-memory-comparison)
  return std::memcmp(a.params().data(), b.params().data(),
                     sizeof(typename Net::value_type) * Net::param_count) == 0;
}

template <class Net>
Net make_net(std::uint64_t seed) {
  Net net;
  pp::init(net, seed);
  for (std::size_t i = 0; i < Net::param_count; ++i) {  // non-zero biases too
    net.params()[i] += static_cast<typename Net::value_type>(0.01 * static_cast<double>(i % 7));
  }
  return net;
}

/// Whether the file's bytes from `at` are those of the n floats at `values`, bit for bit.
bool file_holds(bytes_t const& file, std::size_t at, float const* values, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t in_file = 0;
    std::memcpy(&in_file, file.data() + at + i * sizeof(float), sizeof(float));
    if (in_file != std::bit_cast<std::uint32_t>(values[i])) return false;
  }
  return true;
}

/// A fresh directory under the system's temporary directory, removed at the end.
struct temp_dir {
  fs::path path;
  temp_dir() {
    std::random_device rd;
    path = fs::temp_directory_path() /
           ("propel_io_test_" + std::to_string(rd()) + "_" + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  temp_dir(temp_dir const&) = delete;
  temp_dir& operator=(temp_dir const&) = delete;
};

/// The bytes of a safetensors file with this header text and data section.
bytes_t file_of(std::string const& header, bytes_t const& data) {
  bytes_t out(8 + header.size() + data.size());
  std::uint64_t const n = header.size();
  for (std::size_t i = 0; i < 8; ++i) out[i] = static_cast<std::byte>((n >> (8 * i)) & 0xFF);
  if (!header.empty()) std::memcpy(out.data() + 8, header.data(), header.size());
  if (!data.empty()) std::memcpy(out.data() + 8 + header.size(), data.data(), data.size());
  return out;
}

json header_of(bytes_t const& file) {
  std::uint64_t n = 0;
  for (std::size_t i = 8; i-- > 0;) n = (n << 8) | std::to_integer<std::uint64_t>(file[i]);
  auto const* p = reinterpret_cast<char const*>(file.data()) + 8;
  return json::parse(p, p + n);
}

/// A small_t file written by hand: the tensors in order with the given dtype, as json.
json small_header(char const* dtype = "F32", std::uint64_t esz = 4) {
  json h = json::object();
  std::uint64_t pos = 0;
  for (auto const& [name, shape] : std::vector<std::pair<std::string, std::vector<std::uint64_t>>>{
           {"0.weight", {3, 2}}, {"0.bias", {3}}, {"2.weight", {1, 3}}, {"2.bias", {1}}}) {
    std::uint64_t count = 1;
    for (auto d : shape) count *= d;
    h[name] = {{"dtype", dtype}, {"shape", shape}, {"data_offsets", {pos, pos + count * esz}}};
    pos += count * esz;
  }
  return h;
}

template <class T>
bytes_t data_of(std::vector<T> const& values) {
  bytes_t out(values.size() * sizeof(T));
  std::memcpy(out.data(), values.data(), out.size());  // the test host is little-endian
  return out;
}

std::vector<float> small_values() {
  return {0.5f, -1.f, 2.f, 0.25f, -0.125f, 3.f, 0.1f, 0.2f, 0.3f, 1.5f, -2.5f, 4.f, 0.75f};
}

/// Loads bytes into a small_t that starts from a known state; checks that a failure left it
/// unchanged and returns the result.
pp::io_result load_small(bytes_t const& file, pp::load_options const& options = {}) {
  small_t net = make_net<small_t>(3);
  small_t const before = net;
  pp::io_result r = pp::load_safetensors(net, std::span<std::byte const>(file), options);
  if (!r) BOOST_TEST(same_bits(net, before), "a failed load changed the network: " << r.message);
  return r;
}

}  // namespace

// ------------------------------------------------------------------ round trips and names

BOOST_AUTO_TEST_CASE(a_network_round_trips_through_a_file_bit_for_bit) {
  temp_dir dir;
  auto const path = dir.path / "net.safetensors";
  small_t const a = make_net<small_t>(1);
  pp::io_result const saved = pp::save_safetensors(a, path);
  BOOST_TEST_REQUIRE(saved.ok, saved.message);
  small_t b = make_net<small_t>(2);
  BOOST_TEST(!same_bits(a, b));
  pp::io_result const loaded = pp::load_safetensors(b, path);
  BOOST_TEST_REQUIRE(loaded.ok, loaded.message);
  BOOST_TEST(!loaded.converted);
  BOOST_TEST(same_bits(a, b));
  BOOST_TEST(contains(loaded.message, "loaded 4 tensors (13 values)"));

  // the same through memory, for double
  small_d const c = make_net<small_d>(4);
  bytes_t file;
  BOOST_TEST_REQUIRE(pp::save_safetensors(c, file).ok);
  small_d d{};
  BOOST_TEST_REQUIRE(pp::load_safetensors(d, std::span<std::byte const>(file)).ok);
  BOOST_TEST(same_bits(c, d));
}

BOOST_AUTO_TEST_CASE(default_names_are_pytorch_sequential_state_dict_names) {
  // identity layers take one nn.Sequential index, layers with an activation two
  using net_t = pp::mlp<float, pp::input<3>, pp::dense<4>, pp::dense<5, pp::tanh>,
                        pp::dense<2, pp::relu>, pp::dense<1>>;
  net_t const net = make_net<net_t>(5);
  bytes_t file;
  pp::io_result const r = pp::save_safetensors(net, file);
  BOOST_TEST_REQUIRE(r.ok, r.message);
  json const h = header_of(file);
  std::vector<std::string> keys;
  for (auto const& [k, v] : h.items()) keys.push_back(k);
  std::vector<std::string> const expected{"__metadata__", "0.weight", "0.bias",
                                          "1.weight",     "1.bias",   "3.weight",
                                          "3.bias",       "5.weight", "5.bias"};
  BOOST_TEST(keys == expected, boost::test_tools::per_element());
  BOOST_TEST(h["1.weight"]["shape"] == json({5, 4}));
  BOOST_TEST(h["3.bias"]["shape"] == json({2}));
  BOOST_TEST(h["0.weight"]["dtype"] == "F32");
  BOOST_TEST(h["__metadata__"]["propel.topology"] ==
             "float input<3> dense<4,identity> dense<5,tanh> dense<2,relu> dense<1,identity>");
  BOOST_TEST(file.size() % 8 == 0);  // header padded: the data section is aligned

  struct leaky02 : pp::leaky_relu {
    constexpr leaky02() : leaky_relu(0.2) {}
  };
  using odd_t = pp::mlp<double, pp::input<1>, pp::dense<2, leaky02>, pp::dense<1, pp::elu>>;
  BOOST_TEST(pp::topology_signature<odd_t>() ==
             "double input<1> dense<2,leaky_relu(0.2)> dense<1,elu(1)>");
}

// Every activation's name in a topology signature, as checkpoints carry it: these strings
// are a file format. A type derived from one of propel's activations is "custom", unless it
// only sets the parameter of leaky_relu or elu (a default constructor), which is printed.
namespace {
/// An activation of the user's own, derived from none of propel's.
struct own_activation {
  template <class T>
  [[nodiscard]] constexpr T value(T x) const noexcept {
    return x;
  }
  template <class T>
  [[nodiscard]] constexpr T derivative(T) const noexcept {
    return T(1);
  }
};
}  // namespace

BOOST_AUTO_TEST_CASE(topology_signature_names_every_activation) {
  struct relu_kin : pp::relu {};
  struct elu_of : pp::elu {
    constexpr explicit elu_of(double a) : elu(a) {}
  };
  struct elu2 : pp::elu {
    constexpr elu2() : elu(2.0) {}
  };
  using net_t =
      pp::mlp<float, pp::input<1>, pp::dense<1, pp::identity>, pp::dense<1, pp::relu>,
              pp::dense<1, pp::leaky_relu>, pp::dense<1, pp::tanh>, pp::dense<1, pp::sigmoid>,
              pp::dense<1, pp::elu>, pp::dense<1, pp::silu>, pp::dense<1, pp::gelu>,
              pp::dense<1, pp::gelu_tanh>, pp::dense<1, pp::softplus>, pp::dense<1, relu_kin>,
              pp::dense<1, elu_of>, pp::dense<1, elu2>, pp::dense<1, own_activation>>;
  BOOST_TEST(pp::topology_signature<net_t>() ==
             "float input<1> dense<1,identity> dense<1,relu> dense<1,leaky_relu(0.01)> "
             "dense<1,tanh> dense<1,sigmoid> dense<1,elu(1)> dense<1,silu> dense<1,gelu> "
             "dense<1,gelu_tanh> dense<1,softplus> dense<1,custom> dense<1,custom> "
             "dense<1,elu(2)> dense<1,custom>");
}

BOOST_AUTO_TEST_CASE(other_naming_schemes) {
  small_t const a = make_net<small_t>(1);
  auto round_trip = [&](pp::tensor_names const& names, std::vector<std::string> const& keys) {
    bytes_t file;
    pp::save_options so;
    so.names = names;
    pp::io_result const r = pp::save_safetensors(a, file, so);
    BOOST_TEST_REQUIRE(r.ok, r.message);
    json const h = header_of(file);
    for (auto const& k : keys) BOOST_TEST(h.contains(k), k);
    small_t b{};
    pp::load_options lo;
    lo.names = names;
    BOOST_TEST(pp::load_safetensors(b, std::span<std::byte const>(file), lo).ok);
    BOOST_TEST(same_bits(a, b));
    // with the default names, each tensor is missing and each key is extra
    pp::io_result const wrong = load_small(file);
    BOOST_TEST(!wrong.ok);
    BOOST_TEST(contains(wrong.message, "8 problems"));
    BOOST_TEST(contains(wrong.message, "tensor \"0.weight\" (shape [3, 2]) is missing"));
    BOOST_TEST(contains(wrong.message, "that is not expected"));
  };
  round_trip(pp::tensor_names::sequential("model."), {"model.0.weight", "model.2.bias"});
  round_trip(pp::tensor_names::per_layer({"fc1", "fc2"}), {"fc1.weight", "fc2.bias"});
  round_trip(pp::tensor_names::per_tensor({"w1", "b1", "w2", "b2"}), {"w1", "b2"});
  round_trip(
      [](pp::tensor_slot const& s) {
        std::string name = std::to_string(s.layer);  // (not "L" + ...: GCC 12's -Wrestrict)
        name.insert(name.begin(), 'L');
        return name + s.param();
      },
      {"L0weight", "L1bias"});

  bytes_t file;
  pp::save_options so;
  so.names = pp::tensor_names::per_layer({"only_one"});
  pp::io_result const r = pp::save_safetensors(a, file, so);
  BOOST_TEST(!r.ok);
  BOOST_TEST(contains(r.message, "per_layer has 1 names, but the network has 2 layers"));
  so.names = [](pp::tensor_slot const&) { return std::string("same"); };
  pp::io_result const dup = pp::save_safetensors(a, file, so);
  BOOST_TEST(!dup.ok);
  BOOST_TEST(contains(dup.message, "two tensors are named \"same\""));
}

BOOST_AUTO_TEST_CASE(f64_loads_into_float_and_f32_into_double_and_the_result_says_so) {
  auto const values = small_values();
  std::vector<double> dvalues(values.begin(), values.end());
  dvalues[0] = 0.1;  // not a float: rounds
  bytes_t const f64 = file_of(small_header("F64", 8).dump(), data_of(dvalues));
  small_t net{};
  pp::io_result const r = pp::load_safetensors(net, std::span<std::byte const>(f64));
  BOOST_TEST_REQUIRE(r.ok, r.message);
  BOOST_TEST(r.converted);
  BOOST_TEST(contains(r.message, "converting between F32 and F64"));
  BOOST_TEST(net.layer<0>().weight(0, 0) == 0.1f);
  BOOST_TEST(net.layer<1>().bias[0] == 0.75f);

  bytes_t const f32 = file_of(small_header().dump(), data_of(values));
  small_d d{};
  pp::io_result const rd = pp::load_safetensors(d, std::span<std::byte const>(f32));
  BOOST_TEST_REQUIRE(rd.ok, rd.message);
  BOOST_TEST(rd.converted);
  BOOST_TEST(d.layer<0>().weight(2, 1) == 3.0);
  pp::io_result const same = pp::load_safetensors(net, std::span<std::byte const>(f32));
  BOOST_TEST(same.ok);
  BOOST_TEST(!same.converted);

  pp::load_options no_conversion;
  no_conversion.allow_conversion = false;
  pp::io_result const refused = load_small(f64, no_conversion);
  BOOST_TEST(!refused.ok);
  BOOST_TEST(contains(refused.message, "is F64 in the file, but F32 is expected"));

  // an F64 value beyond float's range is refused, not turned into infinity
  dvalues[3] = 1e300;
  pp::io_result const big = load_small(file_of(small_header("F64", 8).dump(), data_of(dvalues)));
  BOOST_TEST(!big.ok);
  BOOST_TEST(contains(big.message, "tensor \"0.weight\" at [1, 1] holds an F64 value too large"));

  // saving a double network as F32
  bytes_t out;
  pp::save_options as_f32;
  as_f32.type = pp::dtype::f32;
  pp::io_result const s = pp::save_safetensors(d, out, as_f32);
  BOOST_TEST_REQUIRE(s.ok);
  BOOST_TEST(s.converted);
  BOOST_TEST(header_of(out)["0.bias"]["dtype"] == "F32");
  BOOST_TEST(pp::load_safetensors(net, std::span<std::byte const>(out)).ok);
  BOOST_TEST(net.layer<0>().weight(2, 1) == 3.0f);
}

BOOST_AUTO_TEST_CASE(missing_extra_and_misshaped_tensors_are_named_with_both_shapes) {
  auto const data = data_of(small_values());
  json h = small_header();
  h.erase("2.bias");
  h["2.weight"]["data_offsets"] = {36, 52};  // keep the data tiled: [1, 4]
  h["2.weight"]["shape"] = {1, 4};
  pp::io_result const r = load_small(file_of(h.dump(), data));
  BOOST_TEST(!r.ok);
  BOOST_TEST(contains(r.message, "2 problems"));
  BOOST_TEST(contains(r.message,
                      "tensor \"2.weight\" has shape [1, 4] in the file, but shape [1, 3] is "
                      "expected"));
  BOOST_TEST(contains(r.message, "tensor \"2.bias\" (shape [1]) is missing from the file"));

  json extra = small_header();
  extra["3.weight"] = {{"dtype", "F32"}, {"shape", {1}}, {"data_offsets", {52, 56}}};
  auto more = data;
  more.resize(56);
  bytes_t const with_extra = file_of(extra.dump(), more);
  pp::io_result const e = load_small(with_extra);
  BOOST_TEST(!e.ok);
  BOOST_TEST(
      contains(e.message, "the file has a tensor \"3.weight\" (F32 [1]) that is not expected"));
  pp::load_options lenient;
  lenient.strict = false;
  BOOST_TEST(load_small(with_extra, lenient).ok);
}

BOOST_AUTO_TEST_CASE(io_result_check_throws_io_error) {
  small_t net{};
  bytes_t const junk(5, std::byte{0});
  BOOST_CHECK_THROW(pp::load_safetensors(net, std::span<std::byte const>(junk)).check(),
                    pp::io_error);
  bytes_t file;
  BOOST_CHECK_NO_THROW(pp::save_safetensors(net, file).check());
}

// ------------------------------------------------------------------ any model

BOOST_AUTO_TEST_CASE(a_model_round_trips_named_by_its_parameters) {
  temp_dir dir;
  auto const path = dir.path / "model.safetensors";
  tied_t const a = make_net<tied_t>(1);
  pp::io_result const saved = pp::save_safetensors(a, path);
  BOOST_TEST_REQUIRE(saved.ok, saved.message);
  tied_t b = make_net<tied_t>(2);
  BOOST_TEST(!same_bits(a, b));
  pp::io_result const loaded = pp::load_safetensors(b, path);
  BOOST_TEST_REQUIRE(loaded.ok, loaded.message);
  BOOST_TEST(same_bits(a, b));
  BOOST_TEST(contains(loaded.message, "loaded 5 tensors (15 values)"));

  // the tensors are the parameters, in parameter order, named and shaped as PyTorch's
  // state_dict of the same module
  bytes_t file;
  BOOST_TEST_REQUIRE(pp::save_safetensors(a, file).ok);
  json const h = header_of(file);
  std::vector<std::string> keys;
  for (auto const& [k, v] : h.items()) keys.push_back(k);
  std::vector<std::string> const expected{"__metadata__", "dec_bias",  "enc.weight",
                                          "enc.bias",     "ln.weight", "ln.bias"};
  BOOST_TEST(keys == expected, boost::test_tools::per_element());
  BOOST_TEST(h["enc.weight"]["shape"] == json({2, 3}));
  BOOST_TEST(h["dec_bias"]["shape"] == json({3}));
  BOOST_TEST(h["__metadata__"]["propel.topology"] ==
             "float input<3> dec_bias[3] enc.weight[2,3] enc.bias[2] ln.weight[2] ln.bias[2]");
  BOOST_TEST(pp::topology_signature<tied_d>() ==
             "double input<3> dec_bias[3] enc.weight[2,3] enc.bias[2] ln.weight[2] ln.bias[2]");
  // the data are the parameters' bits: enc.weight's six values where its offsets say
  auto const off = h["enc.weight"]["data_offsets"][0].get<std::size_t>();
  std::size_t const data_at = file.size() - 15 * sizeof(float);
  BOOST_TEST(file_holds(file, data_at + off, a.tensor<"enc.weight">().data(), 6));

  // double, through memory; and a double model's F64 file into a float model, converted
  tied_d const c = make_net<tied_d>(4);
  bytes_t dfile;
  BOOST_TEST_REQUIRE(pp::save_safetensors(c, dfile).ok);
  tied_d d{};
  BOOST_TEST_REQUIRE(pp::load_safetensors(d, std::span<std::byte const>(dfile)).ok);
  BOOST_TEST(same_bits(c, d));
  tied_t f{};
  pp::io_result const conv = pp::load_safetensors(f, std::span<std::byte const>(dfile));
  BOOST_TEST_REQUIRE(conv.ok, conv.message);
  BOOST_TEST(conv.converted);
  for (std::size_t i = 0; i < tied_t::param_count; ++i) {
    BOOST_TEST(f.params()[i] == static_cast<float>(c.params()[i]));
  }
}

BOOST_AUTO_TEST_CASE(a_model_takes_every_naming_scheme) {
  tied_t const a = make_net<tied_t>(1);
  auto round_trip = [&](pp::tensor_names const& names, std::vector<std::string> const& keys) {
    bytes_t file;
    pp::save_options so;
    so.names = names;
    pp::io_result const r = pp::save_safetensors(a, file, so);
    BOOST_TEST_REQUIRE(r.ok, r.message);
    json const h = header_of(file);
    std::vector<std::string> got;
    for (auto const& [k, v] : h.items()) {
      if (k != "__metadata__") got.push_back(k);
    }
    BOOST_TEST(got == keys, boost::test_tools::per_element());
    tied_t b{};
    pp::load_options lo;
    lo.names = names;
    pp::io_result const l = pp::load_safetensors(b, std::span<std::byte const>(file), lo);
    BOOST_TEST(l.ok, l.message);
    BOOST_TEST(same_bits(a, b));
  };
  round_trip(
      pp::tensor_names::sequential("model."),
      {"model.dec_bias", "model.enc.weight", "model.enc.bias", "model.ln.weight", "model.ln.bias"});
  round_trip(pp::tensor_names::per_tensor({"d", "w", "b", "g", "s"}), {"d", "w", "b", "g", "s"});
  round_trip(pp::tensor_names::per_layer({"decoder_bias", "encoder", "norm"}),
             {"decoder_bias", "encoder.weight", "encoder.bias", "norm.weight", "norm.bias"});
  // a function sees each parameter's own name, its group and its position
  round_trip(
      [](pp::tensor_slot const& s) {
        std::string name(s.group);
        name += "/";
        name += std::to_string(s.index);
        name += "/";
        name += s.name;
        return name;
      },
      {"dec_bias/0/dec_bias", "enc/1/enc.weight", "enc/2/enc.bias", "ln/3/ln.weight",
       "ln/4/ln.bias"});

  bytes_t file;
  pp::save_options so;
  so.names = pp::tensor_names::per_tensor({"only", "two"});
  pp::io_result const r = pp::save_safetensors(a, file, so);
  BOOST_TEST(!r.ok);
  BOOST_TEST(contains(r.message, "per_tensor has 2 names, but the network has 5 tensors"));
  so.names = pp::tensor_names::per_layer({"one"});
  pp::io_result const g = pp::save_safetensors(a, file, so);
  BOOST_TEST(!g.ok);
  BOOST_TEST(contains(g.message, "per_layer has 1 names, but the network has 3 parameter groups"));
  so.names = [](pp::tensor_slot const& s) {
    return s.name == "ln.weight" ? std::string() : std::string(s.name);
  };
  pp::io_result const e = pp::save_safetensors(a, file, so);
  BOOST_TEST(!e.ok);
  BOOST_TEST(contains(e.message, "the naming gives tensor \"ln.weight\" an empty name"));
}

BOOST_AUTO_TEST_CASE(a_model_load_checks_every_tensor_and_changes_nothing_on_failure) {
  tied_t const a = make_net<tied_t>(1);
  auto refs = [&](pp::mat<float, 3, 2> const& wrong_weight) {
    // dec_bias and ln.bias as saved, enc.weight transposed, enc.bias and ln.weight missing,
    // and a tensor the model does not have
    return std::vector<pp::const_tensor_ref>{
        pp::named_tensor("dec_bias", a.tensor<"dec_bias">()),
        pp::named_tensor("enc.weight", wrong_weight),
        pp::named_tensor("ln.bias", a.tensor<"ln.bias">()),
        pp::named_tensor("dec.weight", a.tensor<"enc.bias">())};
  };
  pp::mat<float, 3, 2> const wrong{};
  bytes_t file;
  BOOST_TEST_REQUIRE(pp::save_tensors(file, refs(wrong)).ok);
  tied_t net = make_net<tied_t>(3);
  tied_t const before = net;
  pp::io_result const r = pp::load_safetensors(net, std::span<std::byte const>(file));
  BOOST_TEST(!r.ok);
  BOOST_TEST(same_bits(net, before), "a failed load changed the model");
  BOOST_TEST(contains(r.message, "4 problems"));
  BOOST_TEST(contains(r.message,
                      "tensor \"enc.weight\" has shape [3, 2] in the file, but shape [2, 3] is "
                      "expected"));
  BOOST_TEST(contains(r.message, "tensor \"enc.bias\" (shape [2]) is missing from the file"));
  BOOST_TEST(contains(r.message, "tensor \"ln.weight\" (shape [2]) is missing from the file"));
  BOOST_TEST(
      contains(r.message, "the file has a tensor \"dec.weight\" (F32 [2]) that is not expected"));
}

// ------------------------------------------------------------------ hostile files

BOOST_AUTO_TEST_CASE(every_truncation_of_a_file_is_refused) {
  bytes_t file;
  BOOST_TEST_REQUIRE(pp::save_safetensors(make_net<small_t>(1), file).ok);
  for (std::size_t n = 0; n < file.size(); ++n) {
    bytes_t const cut(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(n));
    pp::io_result const r = load_small(cut);
    BOOST_TEST(!r.ok, "a file cut to " << n << " bytes loaded");
  }
  BOOST_TEST(contains(load_small(bytes_t(file.begin(), file.begin() + 7)).message,
                      "the file is 7 bytes long"));
  BOOST_TEST(contains(load_small(bytes_t(file.begin(), file.end() - 1)).message,
                      "past the end of the data section"));
}

BOOST_AUTO_TEST_CASE(a_header_length_past_the_end_is_refused) {
  bytes_t file = file_of(small_header().dump(), data_of(small_values()));
  for (std::uint64_t claim : {std::uint64_t{1} << 62, std::uint64_t{file.size()},
                              std::numeric_limits<std::uint64_t>::max()}) {
    for (std::size_t i = 0; i < 8; ++i) file[i] = static_cast<std::byte>((claim >> (8 * i)) & 0xFF);
    pp::io_result const r = load_small(file);
    BOOST_TEST(!r.ok);
    BOOST_TEST(contains(r.message, "the header length says " + std::to_string(claim) + " bytes"));
  }
}

BOOST_AUTO_TEST_CASE(invalid_json_is_refused) {
  auto const data = data_of(small_values());
  auto const refused = [&](std::string const& header, std::string const& why) {
    pp::io_result const r = load_small(file_of(header, data));
    BOOST_TEST(!r.ok, header);
    BOOST_TEST(contains(r.message, why));
  };
  std::string const good = small_header().dump();
  refused(good.substr(0, good.size() - 1), "the header is not valid JSON (");
  refused("not json at all", "the header is not valid JSON (");
  refused("", "the header is not valid JSON (");
  refused(good + "}", "the header is not valid JSON (");
  refused("[1, 2]", "the header is a JSON array, not an object");
  refused(R"({"0.weight": 7})", "tensor \"0.weight\" is described by a JSON number");
  refused(R"({"0.weight": {"shape": [3, 2], "data_offsets": [0, 24]}})",
          "tensor \"0.weight\" has no \"dtype\" string");
  refused(R"({"0.weight": {"dtype": "F32", "shape": [3, -2], "data_offsets": [0, 24]}})",
          "a shape entry that is not a non-negative integer");
  refused(R"({"0.weight": {"dtype": "F32", "shape": [3, 2], "data_offsets": [0]}})",
          "no \"data_offsets\" pair");
  refused(R"({"__metadata__": {"a": 1}})", "the metadata entry \"a\" is a JSON number");
  refused(R"({"__metadata__": [1]})", "\"__metadata__\" is a JSON array");
  refused(R"({"a": {}, "a": {}})", "the header has the key \"a\" twice");
  refused(R"({"a": {"dtype": "F32", "dtype": "F64"}})", "the header has the key \"dtype\" twice");
  refused("{\"a\": " + std::string(100000, '[') + std::string(100000, ']') + "}",
          "nests JSON deeper than safetensors");
}

BOOST_AUTO_TEST_CASE(overlapping_gapped_and_out_of_range_byte_ranges_are_refused) {
  auto const data = data_of(small_values());  // 52 bytes
  auto const refused = [&](json const& h, std::string const& why, bytes_t const* d = nullptr) {
    pp::io_result const r = load_small(file_of(h.dump(), d ? *d : data));
    BOOST_TEST(!r.ok, h.dump());
    BOOST_TEST(contains(r.message, why));
  };
  json h = small_header();
  h["0.bias"]["data_offsets"] = {20, 32};
  refused(h, "tensors \"0.weight\" [0, 24) and \"0.bias\" [20, 32) overlap");
  h = small_header();
  h["2.bias"]["data_offsets"] = {52, 56};
  refused(h,
          "tensor \"2.bias\" has data_offsets [52, 56), past the end of the data section (52 "
          "bytes");
  h = small_header();
  h["0.bias"]["data_offsets"] = {24, 40};
  refused(h, "shape [3] of F32 needs 12 bytes, but data_offsets [24, 40) hold 16");
  h["0.bias"]["data_offsets"] = {30, 24};
  refused(h, "which end before they begin");
  bytes_t longer = data;
  longer.resize(60);
  refused(small_header(), "the data section has 60 bytes, but the tensors cover only 52", &longer);
  h = small_header();
  h["2.bias"]["data_offsets"] = {52, 56};
  h["2.weight"]["data_offsets"] = {36, 48};
  longer.resize(56);
  refused(h,
          "the bytes [48, 52) of the data section, before tensor \"2.bias\", belong to no "
          "tensor",
          &longer);
}

BOOST_AUTO_TEST_CASE(wrong_dtypes_are_refused) {
  auto const data = data_of(small_values());
  json h = small_header();
  h["0.bias"] = {{"dtype", "F16"}, {"shape", {3}}, {"data_offsets", {24, 30}}};
  h["2.weight"]["data_offsets"] = {30, 42};
  h["2.bias"]["data_offsets"] = {42, 46};
  bytes_t d = data;
  d.resize(46);
  pp::io_result const r = load_small(file_of(h.dump(), d));
  BOOST_TEST(!r.ok);
  BOOST_TEST(contains(r.message,
                      "tensor \"0.bias\" has dtype F16 in the file; propel reads F32 "
                      "and F64"));
  h = small_header();
  h["0.bias"]["dtype"] = "I32";
  BOOST_TEST(contains(load_small(file_of(h.dump(), data)).message, "has dtype I32 in the file"));
  h["0.bias"]["dtype"] = "F17";
  BOOST_TEST(contains(load_small(file_of(h.dump(), data)).message,
                      "tensor \"0.bias\" has dtype \"F17\", which is not a safetensors dtype"));
  h["0.bias"]["dtype"] = 4;
  BOOST_TEST(contains(load_small(file_of(h.dump(), data)).message, "has no \"dtype\" string"));
}

BOOST_AUTO_TEST_CASE(non_finite_values_are_refused_when_finite_ones_are_asked_for) {
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()}) {
    auto values = small_values();
    values[7] = bad;  // 0.bias[1]
    bytes_t const file = file_of(small_header().dump(), data_of(values));
    BOOST_TEST(load_small(file).ok);  // accepted unless asked
    pp::load_options finite;
    finite.require_finite = true;
    pp::io_result const r = load_small(file, finite);
    BOOST_TEST(!r.ok);
    BOOST_TEST(contains(r.message, "tensor \"0.bias\" at [1] holds a NaN or infinite value"));
  }
}

BOOST_AUTO_TEST_CASE(gigabytes_announced_in_a_small_header_allocate_nothing) {
  // Each claims far more than the file holds; the loader must refuse it from the header alone
  // (under AddressSanitizer an attempt to allocate such sizes would abort the test).
  auto const data = data_of(small_values());
  auto const refused = [&](json const& h, std::string const& why) {
    pp::io_result const r = load_small(file_of(h.dump(), data));
    BOOST_TEST(!r.ok, h.dump());
    BOOST_TEST(contains(r.message, why));
  };
  json h = small_header();
  std::uint64_t const g16 = std::uint64_t{16} << 30;
  h["0.weight"] = {
      {"dtype", "F32"}, {"shape", {std::uint64_t{1} << 32}}, {"data_offsets", {0, g16}}};
  refused(h, "data_offsets [0, 17179869184), past the end of the data section");
  h["0.weight"]["shape"] = {std::uint64_t{1} << 40, std::uint64_t{1} << 40};
  refused(h, "shape [1099511627776, 1099511627776], more bytes than any file holds");
  h["0.weight"]["shape"] = {std::uint64_t{1} << 62};
  refused(h, "more bytes than any file holds");
  h = small_header();
  h["0.weight"]["data_offsets"] = {std::numeric_limits<std::uint64_t>::max() - 23,
                                   std::numeric_limits<std::uint64_t>::max()};
  refused(h, "past the end of the data section");
  // a header length of 100 MB + 1 in a file that long is refused before it is read
  std::string big = small_header().dump();
  big.resize((std::size_t{100} << 20) + 1, ' ');
  pp::io_result const r = load_small(file_of(big, data));
  BOOST_TEST(!r.ok);
  BOOST_TEST(contains(r.message, "headers over 104857600 bytes are refused"));
}

BOOST_AUTO_TEST_CASE(file_errors_are_reported_in_words) {
  temp_dir dir;
  small_t net{};
  pp::io_result const missing = pp::load_safetensors(net, dir.path / "nope.safetensors");
  BOOST_TEST(!missing.ok);
  BOOST_TEST(contains(missing.message, "cannot open"));
  BOOST_TEST(contains(missing.message, "nope.safetensors"));
  pp::io_result const is_dir = pp::load_safetensors(net, dir.path);
  BOOST_TEST(!is_dir.ok);
  pp::io_result const no_dir = pp::save_safetensors(net, dir.path / "no" / "such" / "w.st");
  BOOST_TEST(!no_dir.ok);
  BOOST_TEST(contains(no_dir.message, "cannot create a file next to"));
  // a file: its errors name it
  bytes_t junk(16, std::byte{0xFF});
  auto const path = dir.path / "junk.safetensors";
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    BOOST_TEST_REQUIRE(f != nullptr);
    BOOST_TEST(std::fwrite(junk.data(), 1, junk.size(), f) == junk.size());
    std::fclose(f);
  }
  pp::io_result const r = pp::load_safetensors(net, path);
  BOOST_TEST(!r.ok);
  BOOST_TEST(contains(r.message, path.string() + ": the header length says"));
  // nothing but the file itself is left in the directory by successful saves
  BOOST_TEST(pp::save_safetensors(net, path).ok);
  BOOST_TEST(pp::save_safetensors(net, path).ok);
  BOOST_TEST(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator{}) == 1);
}

// ------------------------------------------------------------------ tensors

BOOST_AUTO_TEST_CASE(named_vectors_matrices_and_buffers_round_trip) {
  temp_dir dir;
  auto const path = dir.path / "t.safetensors";
  pp::mat<float, 2, 3> m{{1, 2, 3, 4, 5, 6}};
  pp::vec<double, 2> v{{-1.5, 2.5}};
  std::vector<float> buf{1, 2, 3, 4, 5, 6, 7, 8};
  pp::save_options so;
  so.metadata["origin"] = "test";
  pp::io_result const s =
      pp::save_tensors(path,
                       {pp::named_tensor("m", m), pp::named_tensor("v", v),
                        pp::named_tensor("b", std::span<float const>(buf), {2, 2, 2})},
                       so);
  BOOST_TEST_REQUIRE(s.ok, s.message);
  pp::mat<float, 2, 3> m2{};
  pp::vec<double, 2> v2{};
  std::vector<float> buf2(8);
  std::map<std::string, std::string> meta;
  pp::load_options lo;
  lo.metadata = &meta;
  pp::io_result const l =
      pp::load_tensors(path,
                       {pp::named_tensor("m", m2), pp::named_tensor("v", v2),
                        pp::named_tensor("b", std::span<float>(buf2), {2, 2, 2})},
                       lo);
  BOOST_TEST_REQUIRE(l.ok, l.message);
  BOOST_TEST(m2 == m);
  BOOST_TEST(v2 == v);
  BOOST_TEST(buf2 == buf, boost::test_tools::per_element());
  BOOST_TEST(meta["origin"] == "test");
  // a buffer whose size does not match its shape is refused
  pp::io_result const bad =
      pp::load_tensors(path, {pp::named_tensor("b", std::span<float>(buf2), {3, 3})});
  BOOST_TEST(!bad.ok);
  BOOST_TEST(contains(bad.message, "the shape [3, 3] does not match the 8 elements"));
  // a shape asked for differently
  pp::mat<float, 3, 2> wrong{};
  pp::load_options lenient;
  lenient.strict = false;
  pp::io_result const w = pp::load_tensors(path, {pp::named_tensor("m", wrong)}, lenient);
  BOOST_TEST(!w.ok);
  BOOST_TEST(contains(w.message, "tensor \"m\" has shape [2, 3] in the file, but shape [3, 2]"));
}

// ------------------------------------------------------------------ checkpoints

namespace {

using ckpt_net =
    pp::mlp<float, pp::input<2>, pp::dense<16, pp::tanh>, pp::dense<16, pp::tanh>, pp::dense<1>>;

struct toy_data {
  pp::mat<float, 32, 2> x{};
  pp::mat<float, 32, 1> y{};
  toy_data() {
    for (std::size_t i = 0; i < 32; ++i) {
      float const a = static_cast<float>(i) / 16.f - 1.f;
      float const b = static_cast<float>((i * 7) % 32) / 16.f - 1.f;
      x(i, 0) = a;
      x(i, 1) = b;
      y(i, 0) = a * b + 0.5f * a;
    }
  }
};

/// The same parameter bits (not memcmp of the objects: their tail padding is unspecified).
template <class Block>
bool same_block(Block const& a, Block const& b) {
  return std::memcmp(a.params().data(), b.params().data(), a.params().size_bytes()) == 0;
}

/// Inputs of 3 features, and themselves as the targets: an autoencoder's data.
struct toy_codes {
  pp::mat<float, 32, 3> x{};
  toy_codes() {
    for (std::size_t i = 0; i < 32; ++i) {
      for (std::size_t j = 0; j < 3; ++j) {
        x(i, j) = static_cast<float>((i * (j + 3) + j) % 17) / 8.f - 1.f;
      }
    }
  }
};

template <class Net, class Opt, class X, class Y>
void check_resume(Opt opt, std::string const& what, X const& x, Y const& y) {
  BOOST_TEST_CONTEXT(what) {
    temp_dir dir;
    auto const path = dir.path / "run.ckpt";
    constexpr int total = 40;
    constexpr int first = 15;

    auto a = std::make_unique<Net>(make_net<Net>(7));
    auto ta = std::make_unique<pp::trainer<Net, pp::mse, Opt, 32>>(*a, pp::mse{}, opt);
    for (int i = 0; i < total; ++i) (void)ta->step(x, y);

    auto b = std::make_unique<Net>(make_net<Net>(7));
    auto tb = std::make_unique<pp::trainer<Net, pp::mse, Opt, 32>>(*b, pp::mse{}, opt);
    for (int i = 0; i < first; ++i) (void)tb->step(x, y);
    pp::io_result const s = pp::save_checkpoint(*tb, path);
    BOOST_TEST_REQUIRE(s.ok, s.message);
    BOOST_TEST(contains(s.message, "saved a checkpoint at step 15"));

    auto c = std::make_unique<Net>(make_net<Net>(99));  // other weights: overwritten
    auto tc = std::make_unique<pp::trainer<Net, pp::mse, Opt, 32>>(*c, pp::mse{}, opt);
    pp::io_result const l = pp::load_checkpoint(*tc, path);
    BOOST_TEST_REQUIRE(l.ok, l.message);
    BOOST_TEST(tc->step_count() == std::uint64_t{first});
    BOOST_TEST(same_bits(*b, *c));
    for (int i = first; i < total; ++i) (void)tc->step(x, y);

    BOOST_TEST(tc->step_count() == ta->step_count());
    BOOST_TEST(same_bits(*a, *c), "the resumed run's parameters differ from the unbroken run's");
    for (std::size_t k = 0; k < Opt::state_count; ++k) {
      BOOST_TEST(same_block(ta->state(k), tc->state(k)), "optimizer state " << k << " differs");
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_resumed_run_continues_bit_for_bit) {
  toy_data const data;
  check_resume<ckpt_net>(pp::adam{.lr = 1e-2}, "adam", data.x, data.y);
  check_resume<ckpt_net>(pp::adamw{.lr = 1e-2}, "adamw", data.x, data.y);
  check_resume<ckpt_net>(pp::sgd{.lr = 5e-2, .momentum = 0.9, .nesterov = true},
                         "sgd with momentum", data.x, data.y);
}

// A model that is not an mlp: its shared weight is stepped after the backward pass, its
// other tensors inside it; the optimizer state of each is named after the parameter.
BOOST_AUTO_TEST_CASE(a_resumed_run_of_a_model_continues_bit_for_bit) {
  toy_codes const data;
  check_resume<tied_t>(pp::adam{.lr = 1e-2}, "adam, model", data.x, data.x);
  check_resume<tied_t>(pp::sgd{.lr = 5e-2, .momentum = 0.9}, "sgd with momentum, model", data.x,
                       data.x);

  auto net = std::make_unique<tied_t>(make_net<tied_t>(7));
  pp::trainer t{*net, pp::mse{}, pp::adam{}, pp::batch<32>};
  for (int i = 0; i < 3; ++i) (void)t.step(data.x, data.x);
  bytes_t file;
  BOOST_TEST_REQUIRE(pp::save_checkpoint(t, file).ok);
  json const h = header_of(file);
  for (char const* key : {"dec_bias", "enc.weight", "ln.bias", "optimizer.0.dec_bias",
                          "optimizer.1.enc.weight", "optimizer.1.ln.weight"}) {
    BOOST_TEST(h.contains(key), key);
  }
  BOOST_TEST(h["optimizer.1.enc.weight"]["shape"] == json({2, 3}));
  BOOST_TEST(h["__metadata__"]["propel.topology"] == pp::topology_signature<tied_t>());
  // the optimizer state in the file is the trainer's, bit for bit
  auto const off = h["optimizer.1.enc.weight"]["data_offsets"][0].get<std::size_t>();
  // the data section: the parameters and Adam's two state buffers, 15 floats each
  std::size_t const data_at = file.size() - std::size_t{3} * tied_t::param_count * sizeof(float);
  BOOST_TEST(file_holds(file, data_at + off, t.state(1).tensor<"enc.weight">().data(), 6));

  // an mlp's checkpoint is refused by the model's trainer, naming both topologies
  toy_data const other;
  auto m = std::make_unique<ckpt_net>(make_net<ckpt_net>(7));
  pp::trainer tm{*m, pp::mse{}, pp::adam{}, pp::batch<32>};
  (void)tm.step(other.x, other.y);
  bytes_t mlp_file;
  BOOST_TEST_REQUIRE(pp::save_checkpoint(tm, mlp_file).ok);
  auto const before = *net;
  pp::io_result const r = pp::load_checkpoint(t, std::span<std::byte const>(mlp_file));
  BOOST_TEST(!r.ok);
  BOOST_TEST(contains(r.message,
                      "but the trainer's network is \"float input<3> dec_bias[3] "
                      "enc.weight[2,3] enc.bias[2] ln.weight[2] ln.bias[2]\""));
  BOOST_TEST(same_bits(*net, before));
  BOOST_TEST(t.step_count() == 3U);
}

BOOST_AUTO_TEST_CASE(a_checkpoint_is_checked_before_it_is_used) {
  toy_data const data;
  auto net = std::make_unique<ckpt_net>(make_net<ckpt_net>(7));
  pp::trainer t{*net, pp::mse{}, pp::adam{}, pp::batch<32>};
  for (int i = 0; i < 3; ++i) (void)t.step(data.x, data.y);
  bytes_t file;
  BOOST_TEST_REQUIRE(pp::save_checkpoint(t, file).ok);
  json const h = header_of(file);
  BOOST_TEST(h["__metadata__"]["propel.format_version"] == "1");
  BOOST_TEST(h["__metadata__"]["propel.step_count"] == "3");
  BOOST_TEST(h.contains("optimizer.1.4.bias"));

  auto fresh = std::make_unique<ckpt_net>(make_net<ckpt_net>(8));
  auto const before = *fresh;
  pp::trainer t2{*fresh, pp::mse{}, pp::adam{}};
  auto refused = [&](bytes_t const& f, std::string const& why) {
    pp::io_result const r = pp::load_checkpoint(t2, std::span<std::byte const>(f));
    BOOST_TEST(!r.ok);
    BOOST_TEST(contains(r.message, why));
    BOOST_TEST(same_bits(*fresh, before));
    BOOST_TEST(t2.step_count() == 0U);
  };
  // a flipped bit anywhere in the data
  for (std::size_t at : {file.size() - 1, file.size() - 1000, file.size() / 2 + 3}) {
    bytes_t damaged = file;
    damaged[at] ^= std::byte{0x10};
    refused(damaged, "the checksum does not match");
  }
  // another optimizer, another network
  pp::trainer t3{*fresh, pp::mse{}, pp::sgd{.momentum = 0.9}};
  pp::io_result const o = pp::load_checkpoint(t3, std::span<std::byte const>(file));
  BOOST_TEST(!o.ok);
  BOOST_TEST(contains(o.message,
                      "the checkpoint's optimizer is \"adam with 2 state buffers\", "
                      "but the trainer's is \"sgd with 1 state buffers\""));
  using other_t =
      pp::mlp<float, pp::input<2>, pp::dense<16, pp::relu>, pp::dense<16, pp::tanh>, pp::dense<1>>;
  auto other = std::make_unique<other_t>();
  pp::trainer t4{*other, pp::mse{}, pp::adam{}};
  pp::io_result const n = pp::load_checkpoint(t4, std::span<std::byte const>(file));
  BOOST_TEST(!n.ok);
  BOOST_TEST(contains(n.message,
                      "the checkpoint is of the network \"float input<2> "
                      "dense<16,tanh> dense<16,tanh> dense<1,identity>\", but the "
                      "trainer's network is \"float input<2> dense<16,relu>"));
  // plain weights are not a checkpoint; a checkpoint is weights (with its extra tensors)
  bytes_t weights;
  BOOST_TEST_REQUIRE(pp::save_safetensors(*net, weights).ok);
  refused(weights, "not a propel checkpoint");
  pp::load_options lenient;
  lenient.strict = false;
  auto w = std::make_unique<ckpt_net>();
  BOOST_TEST(pp::load_safetensors(*w, std::span<std::byte const>(file), lenient).ok);
  BOOST_TEST(same_bits(*w, *net));
  // a version from the future
  bytes_t future = file;
  auto const text = std::string(reinterpret_cast<char const*>(future.data()), future.size());
  auto const at = text.find("\"propel.format_version\":\"1\"");
  BOOST_TEST_REQUIRE(at != std::string::npos);
  future[at + std::string("\"propel.format_version\":\"").size()] = std::byte{'2'};
  refused(future, "the checkpoint has format version \"2\"; this propel reads version 1");
  // and the good file loads
  pp::io_result const ok = pp::load_checkpoint(t2, std::span<std::byte const>(file));
  BOOST_TEST(ok.ok, ok.message);
  BOOST_TEST(t2.step_count() == 3U);
  BOOST_TEST(same_bits(*fresh, *net));
}

// ------------------------------------------------------------------ killed while saving

#if PROPEL_TEST_FORK
BOOST_AUTO_TEST_CASE(a_save_killed_at_any_instant_leaves_the_old_file_or_the_new_one_whole) {
  // A child process saves checkpoints of two different states, A and B, over and over,
  // starting with the state that is not on disk; it is killed (SIGKILL) after a random delay,
  // many times. After every kill the checkpoint must load, and be exactly the old state or
  // exactly the new one. Kills must have landed in the middle of a save (the killed process's
  // temporary file left behind) and after a save completed (the new state on disk).
  // PROPEL_KILL_ROUNDS sets the number of kills.
  using big_t = pp::mlp<float, pp::input<128>, pp::dense<128, pp::relu>, pp::dense<128>>;
  using trainer_t = pp::trainer<big_t, pp::mse, pp::adam>;
  temp_dir dir;
  auto const path = dir.path / "big.ckpt";

  auto make = [](std::uint64_t seed, std::uint64_t steps) {
    auto net = std::make_unique<big_t>(make_net<big_t>(seed));
    auto t = std::make_unique<trainer_t>(*net, pp::mse{}, pp::adam{});
    for (std::size_t k = 0; k < 2; ++k) {
      auto p = t->state(k).params();
      for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<float>(seed * 10 + k + i % 3);
    }
    t->set_step_count(steps);
    return std::make_pair(std::move(net), std::move(t));
  };
  auto const [net_a, ta] = make(1, 100);
  auto const [net_b, tb] = make(2, 200);
  BOOST_TEST_REQUIRE(pp::save_checkpoint(*ta, path).ok);
  bool a_on_disk = true;

  // Starts a process that reports when it runs, then saves `first` and `second` alternately
  // (once only, and exits, when `once`); returns its pid once it runs.
  auto start_saving = [&path](trainer_t const& first, trainer_t const& second, bool once) {
    int ready[2];
    BOOST_TEST_REQUIRE(::pipe(ready) == 0);
    pid_t const pid = ::fork();
    BOOST_TEST_REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(ready[0]);
      char const running = 1;
      if (::write(ready[1], &running, 1) != 1) _exit(4);
      if (once) _exit(pp::save_checkpoint(first, path).ok ? 0 : 3);
      for (;;) {
        if (!pp::save_checkpoint(first, path).ok || !pp::save_checkpoint(second, path).ok) {
          _exit(3);
        }
      }
    }
    ::close(ready[1]);
    char running = 0;
    BOOST_TEST_REQUIRE(::read(ready[0], &running, 1) == 1, "the saving process did not start");
    ::close(ready[0]);
    return pid;
  };
  // The time of a process's first save (which costs more than the later ones of a process):
  // the middle one of three.
  std::array<long long, 3> first_save_us{};
  for (long long& us : first_save_us) {
    pid_t const pid = start_saving(*ta, *tb, true);
    auto const t0 = std::chrono::steady_clock::now();
    int status = 0;
    ::waitpid(pid, &status, 0);
    us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    BOOST_TEST_REQUIRE((WIFEXITED(status) && WEXITSTATUS(status) == 0), "a save failed");
  }
  std::sort(first_save_us.begin(), first_save_us.end());
  long long const save_us = std::max<long long>(first_save_us[1], 1000);
  BOOST_TEST_MESSAGE("a process's first save of " << fs::file_size(path) << " bytes takes "
                                                  << save_us << " us");

  // 40 kills: about 40% of them land in the middle of a save and 40% after a complete one
  // (measured, with or without sanitizers, on a loaded machine)
  int rounds = 40;
  if (char const* env = std::getenv("PROPEL_KILL_ROUNDS")) rounds = std::atoi(env);
  std::mt19937_64 rng(12345);
  // up to two saves: the kill lands in the first save or the second one
  std::uniform_int_distribution<long long> delay(0, 2 * save_us);
  std::string const temp_prefix = "." + path.filename().string() + ".tmp-";
  int saw_old = 0;
  int saw_new = 0;
  int mid_save = 0;   // kills that left the killed process's temporary file behind
  int mid_write = 0;  // of those, the ones whose temporary file was not yet complete
  auto check = std::make_unique<big_t>();
  auto tcheck = std::make_unique<trainer_t>(*check, pp::mse{}, pp::adam{});
  // At least `rounds` kills, and more (up to 10 times as many) until kills have landed both
  // in the middle of a save and after a complete one: on a loaded machine the first ones may
  // all miss.
  auto const loop_start = std::chrono::steady_clock::now();
  int round = 0;
  for (; round < rounds || ((mid_save == 0 || saw_new == 0) && round < 10 * rounds); ++round) {
    pid_t const pid = a_on_disk ? start_saving(*tb, *ta, false) : start_saving(*ta, *tb, false);
    ::usleep(static_cast<useconds_t>(delay(rng)));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    BOOST_TEST_REQUIRE((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL),
                       "the saving process stopped by itself");
    // the temporary file of this process ("<prefix><pid>-<n>"), if it was killed between
    // creating it and renaming it over the checkpoint (those of earlier, killed processes
    // may still be there: the next save removes them)
    std::string const own = temp_prefix + std::to_string(pid) + "-";
    for (auto const& e : fs::directory_iterator(dir.path)) {
      if (e.path().filename().string().rfind(own, 0) == 0) {
        ++mid_save;
        if (e.file_size() < fs::file_size(path)) ++mid_write;
        break;
      }
    }
    pp::io_result const r = pp::load_checkpoint(*tcheck, path);
    BOOST_TEST_REQUIRE(r.ok, "after kill " << round << ": " << r.message);
    bool const a_now = tcheck->step_count() == 100U;
    if (a_now) {
      BOOST_TEST_REQUIRE(same_bits(*check, *net_a));
      BOOST_TEST_REQUIRE(same_block(tcheck->state(1), ta->state(1)));
    } else {
      BOOST_TEST_REQUIRE(tcheck->step_count() == 200U);
      BOOST_TEST_REQUIRE(same_bits(*check, *net_b));
      BOOST_TEST_REQUIRE(same_block(tcheck->state(1), tb->state(1)));
    }
    ++(a_now == a_on_disk ? saw_old : saw_new);
    a_on_disk = a_now;
  }
  auto const loop_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - loop_start)
                           .count();
  BOOST_TEST_MESSAGE(round << " kills in " << loop_ms << " ms, " << mid_save
                           << " of them in the middle of a save (" << mid_write
                           << " while the new file was being written): the checkpoint loaded "
                              "whole every time, "
                           << saw_old << " times the old state, " << saw_new
                           << " times the new one");
  BOOST_TEST(saw_old + saw_new == round);
  if (rounds > 0) {  // the test means something only if kills landed during saves and after
    BOOST_TEST(mid_save > 0, "no kill landed in the middle of a save in " << round << " kills");
    BOOST_TEST(saw_new > 0, "no kill landed after a complete save in " << round << " kills");
  }
  // the next save removes the temporary files of the killed processes
  BOOST_TEST_REQUIRE(pp::save_checkpoint(*tb, path).ok);
  BOOST_TEST(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator{}) == 1);
}
#endif
