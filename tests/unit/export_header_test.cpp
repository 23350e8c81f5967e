// SPDX-License-Identifier: BSL-1.0
// propel::cpp_header_writer (propel/io/export_header.hpp): its floating literals denote every
// float and double exactly; the header it writes for two small networks is the committed
// tests/data/export_header_tiny.hpp (regenerate it with PROPEL_REGENERATE=1 when the format
// changes on purpose), and that header, compiled here, holds exactly the parameters it was
// written from: checked at compile time. The same for a propel::model that is not an mlp
// (tests/data/export_header_model.hpp, assigned tensor by tensor by name), whose compiled
// header also gives the outputs of the model it was written from;
// tests/compile_fail/exported_model_of_other_layout.cpp includes it for another layout.
#define BOOST_TEST_MODULE export_header
#include <bit>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <limits>
#include <propel/io/export_header.hpp>
#include <propel/propel.hpp>
#include <sstream>
#include <string>
#include <type_traits>

#include "support/export_model.hpp"

namespace pp = propel;

namespace {

using tiny_float_net = pp::mlp<float, pp::input<2>, pp::dense<3, pp::tanh>, pp::dense<1>>;
// the header refers to this one by name (as for a network with a custom activation)
using tiny_net_t = pp::mlp<double, pp::input<2>, pp::dense<3, pp::relu>, pp::dense<2>>;

/// The networks the committed header was written from: seeded initialisation, and biases
/// that exercise signed zero, subnormals and the largest finite numbers.
constexpr tiny_float_net make_float_net() {
  tiny_float_net net;
  pp::init(net, 5);
  net.layer<0>().bias = pp::vec<float, 3>{-0.0f, std::numeric_limits<float>::denorm_min(),
                                          std::numeric_limits<float>::max()};
  net.layer<1>().bias = pp::vec<float, 1>{-1.5f};
  return net;
}
constexpr tiny_net_t make_double_net() {
  tiny_net_t net;
  pp::init(net, 6);
  net.layer<0>().bias = pp::vec<double, 3>{-0.0, std::numeric_limits<double>::denorm_min(),
                                           -std::numeric_limits<double>::max()};
  net.layer<1>().bias = pp::vec<double, 2>{0.1, 1e-310};
  return net;
}

std::string write_tiny_header() {
  std::ostringstream out;
  pp::cpp_header_writer h(out, "tiny", "Written by tests/unit/export_header_test.cpp.");
  BOOST_TEST(h.network("spelled", make_float_net()));
  BOOST_TEST(h.network("named", make_double_net(), "tiny_net_t"));
  h.tensor("inputs", pp::mat<float, 2, 2>{0.5f, -0.25f, 1e-3f, 7.0f}, "Two samples.");
  h.close();
  return out.str();
}

/// The model the committed model header was written from: seeded, with a norm's weight and
/// biases that exercise signed zero and a subnormal.
using tiny_model_t = export_model::tied_t;
constexpr tiny_model_t make_model() {
  tiny_model_t net;
  pp::init(net, 9);
  net.tensor<"ln.weight">() = pp::vec<float, 2>{1.25f, -0.0f};
  net.tensor<"ln.bias">() = pp::vec<float, 2>{0.5f, std::numeric_limits<float>::denorm_min()};
  net.tensor<"dec_bias">() = pp::vec<float, 3>{-0.75f, 0.0f, 2.0f};
  return net;
}

std::string write_model_header() {
  std::ostringstream out;
  pp::cpp_header_writer h(out, "tiny_model", "Written by tests/unit/export_header_test.cpp.");
  BOOST_TEST(h.network("weights", make_model(), "tiny_model_t"));
  h.close();
  return out.str();
}

/// The text of a committed file (read from tests/), written first with PROPEL_REGENERATE.
std::string committed(char const* path, std::string const& text) {
  if (std::getenv("PROPEL_REGENERATE") != nullptr) {
    std::ofstream(path, std::ios::binary) << text;
  }
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

#include "data/export_header_model.hpp"
#include "data/export_header_tiny.hpp"

namespace {

template <class Net>
constexpr bool same_parameters(Net const& a, Net const& b) {
  using T = typename Net::value_type;
  using bits_t = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  bool same = true;
  pp::for_each_tensor(
      [&](std::size_t n, T const* x, T const* y) {
        for (std::size_t i = 0; i < n; ++i) {
          same = same && std::bit_cast<bits_t>(x[i]) == std::bit_cast<bits_t>(y[i]);
        }
      },
      a, b);
  return same;
}

static_assert(std::is_same_v<tiny::spelled_type, tiny_float_net>,
              "the header spells the network's own type");
static_assert(std::is_same_v<std::remove_cv_t<decltype(tiny::named)>, tiny_net_t>);
static_assert(same_parameters(tiny::spelled, make_float_net()),
              "the compiled header holds the exported float parameters, bit for bit");
static_assert(same_parameters(tiny::named, make_double_net()),
              "the compiled header holds the exported double parameters, bit for bit");
static_assert(tiny::inputs(1, 0) == 1e-3f);
static_assert(std::is_same_v<std::remove_cv_t<decltype(tiny_model::weights)>, tiny_model_t>);
static_assert(same_parameters(tiny_model::weights, make_model()),
              "the compiled header holds the exported model's parameters, bit for bit");

}  // namespace

BOOST_AUTO_TEST_CASE(writer_output_matches_the_committed_header) {
  for (auto const& [path, text] :
       {std::pair{"data/export_header_tiny.hpp", write_tiny_header()},
        std::pair{"data/export_header_model.hpp", write_model_header()}}) {
    BOOST_TEST(committed(path, text) == text,
               "tests/" << path
                        << " differs from what the writer produces now; if the change is "
                           "intended, run this test with PROPEL_REGENERATE=1 in tests/");
  }
}

// A model's header assigns each tensor by name, as the vec or mat of its shape, after
// checking the type's input width and tensor count; compiled (above), it computes what the
// model it was written from computes, bit for bit.
BOOST_AUTO_TEST_CASE(an_exported_model_gives_the_outputs_of_the_model) {
  std::string const text = write_model_header();
  BOOST_TEST(text.find("static_assert(tiny_model_t::tensor_count == 5, ") != std::string::npos);
  BOOST_TEST(text.find("static_assert(tiny_model_t::input_size == 3, ") != std::string::npos);
  BOOST_TEST(text.find("  net.tensor<\"enc.weight\">() = propel::mat<float, 2, 3>{") !=
             std::string::npos);
  BOOST_TEST(text.find("  net.tensor<\"ln.bias\">() = propel::vec<float, 2>{") !=
             std::string::npos);

  tiny_model_t const net = make_model();
  pp::mat<float, 4, 3> const x{0.5f, -1.f, 2.f, 0.f, 0.25f, -0.125f,
                               3.f,  -2.f, 1.f, 7.f, 0.f,   -4.f};
  auto const a = tiny_model::weights(x);
  auto const b = net(x);
  for (std::size_t i = 0; i < a.size(); ++i) {
    BOOST_TEST(std::bit_cast<std::uint32_t>(a[i]) == std::bit_cast<std::uint32_t>(b[i]));
  }
  pp::vec<float, 3> const x1{0.5f, -1.f, 2.f};
  auto const a1 = tiny_model::weights(x1);
  auto const b1 = net(x1);
  for (std::size_t i = 0; i < 3; ++i) {
    BOOST_TEST(std::bit_cast<std::uint32_t>(a1[i]) == std::bit_cast<std::uint32_t>(b1[i]));
    BOOST_TEST(a1[i] == a(0, i), "the batch's first row is the sample's output");
  }

  // a model's type cannot be spelled: without a name, nothing is written
  std::ostringstream out;
  pp::cpp_header_writer h(out, "m");
  std::size_t const before = out.str().size();
  BOOST_TEST(!h.network("w", net, ""));
  BOOST_TEST(out.str().size() == before);
}

BOOST_AUTO_TEST_CASE(network_type_must_be_spellable_or_named) {
  struct custom : pp::relu {};
  pp::mlp<float, pp::input<2>, pp::dense<2, custom>> net{};
  std::ostringstream out;
  pp::cpp_header_writer h(out, "n");
  std::size_t const before = out.str().size();
  BOOST_TEST(!h.network("w", net));
  BOOST_TEST(out.str().size() == before);  // nothing written
  BOOST_TEST(h.network("w", net, "my_net"));
  BOOST_TEST(out.str().find("static_assert(my_net::layer_count == 1") != std::string::npos);
  BOOST_TEST(out.str().find("inline constexpr my_net w = [] {") != std::string::npos);
}

// Every activation of propel's spelled in the exported network type (identity, the default,
// left out); a type derived from one is not spelled (see the test above).
BOOST_AUTO_TEST_CASE(network_type_spells_every_activation) {
  using net_t =
      pp::mlp<double, pp::input<1>, pp::dense<1, pp::identity>, pp::dense<1, pp::relu>,
              pp::dense<1, pp::leaky_relu>, pp::dense<1, pp::tanh>, pp::dense<1, pp::sigmoid>,
              pp::dense<1, pp::elu>, pp::dense<1, pp::silu>, pp::dense<1, pp::gelu>,
              pp::dense<1, pp::gelu_tanh>, pp::dense<1, pp::softplus>>;
  BOOST_TEST(pp::detail::cpp_source::network_spelling(static_cast<net_t const*>(nullptr)) ==
             "propel::mlp<double, propel::input<1>, propel::dense<1>, "
             "propel::dense<1, propel::relu>, propel::dense<1, propel::leaky_relu>, "
             "propel::dense<1, propel::tanh>, propel::dense<1, propel::sigmoid>, "
             "propel::dense<1, propel::elu>, propel::dense<1, propel::silu>, "
             "propel::dense<1, propel::gelu>, propel::dense<1, propel::gelu_tanh>, "
             "propel::dense<1, propel::softplus>>");
  struct elu2 : pp::elu {
    constexpr elu2() : elu(2.0) {}
  };
  using derived_t = pp::mlp<float, pp::input<1>, pp::dense<1, elu2>>;
  BOOST_TEST(pp::detail::cpp_source::network_spelling(static_cast<derived_t const*>(nullptr)) ==
             "");
}

BOOST_AUTO_TEST_CASE(literals_are_exact) {
  using pp::detail::cpp_source::literal;
  BOOST_TEST(literal(1.0f) == "0x1p+0f");
  BOOST_TEST(literal(-0.0f) == "-0x0p+0f");
  BOOST_TEST(literal(0.75f) == "0x1.8p-1f");
  BOOST_TEST(literal(0.1) == "0x1.999999999999ap-4");
  BOOST_TEST(literal(std::numeric_limits<float>::denorm_min()) == "0x0.000002p-126f");
  BOOST_TEST(literal(std::numeric_limits<float>::max()) == "0x1.fffffep+127f");
  BOOST_TEST(literal(std::numeric_limits<float>::infinity()) == "__builtin_huge_valf()");
  // every literal reads back as the same bits (strtof/strtod parse hexadecimal floats)
  std::uint64_t state = 12345;
  auto next = [&] {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  int float_mismatches = 0;
  int double_mismatches = 0;
  for (int i = 0; i < 200000; ++i) {
    std::uint64_t const bits = next();
    // small exponents too: subnormals and numbers near them
    auto const fb = static_cast<std::uint32_t>(i % 4 == 0 ? bits & 0x80FFFFFFu : bits);
    float const f = std::bit_cast<float>(fb);
    if (std::isfinite(f)) {
      float const back = std::strtof(literal(f).c_str(), nullptr);
      if (std::bit_cast<std::uint32_t>(back) != fb) ++float_mismatches;
    }
    std::uint64_t const db = i % 4 == 0 ? bits & 0x801FFFFFFFFFFFFFull : bits;
    double const d = std::bit_cast<double>(db);
    if (std::isfinite(d)) {
      double const back = std::strtod(literal(d).c_str(), nullptr);
      if (std::bit_cast<std::uint64_t>(back) != db) ++double_mismatches;
    }
  }
  BOOST_TEST(float_mismatches == 0);
  BOOST_TEST(double_mismatches == 0);
}
