// SPDX-License-Identifier: BSL-1.0
// PyTorch modules of four kinds (a residual MLP, an actor-critic with two heads, a tied-weight
// autoencoder, a layer-norm network), saved as safetensors files by
// tests/data/make_model_reference.py (F32, PyTorch's state_dict names), loaded into the propel
// models that mirror them in float and double: every parameter lands where PyTorch had it, and
// the model reproduces PyTorch's outputs on a fixed batch (records "<model>.safetensors.*" of
// data/model_reference.txt). The files are read with propel::load_safetensors, strict, with
// its default names (the parameters' own, as for_each_named_tensor gives them): the file must
// hold exactly the model's tensors, each of its shape.
#define BOOST_TEST_MODULE model_safetensors
#include <boost/test/unit_test.hpp>
#include <cstddef>
#include <propel/io/safetensors.hpp>
#include <propel/propel.hpp>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "support/reference_data.hpp"
#include "support/reference_models.hpp"

namespace pp = propel;
namespace rm = reference_models;
using reference_data::dtype_name;

namespace {

std::vector<double> const& entry(std::string const& key) {
  return reference_data::entry("data/model_reference.txt", key);
}

// float64: the file's float32 values widen exactly, so only the forward pass's rounding is
// left; float32: single-precision rounding and propel's fast tanh
template <class T>
constexpr double tolerance = std::is_same_v<T, double> ? 1e-9 : 1e-4;

constexpr std::size_t rows = 3;  // LOAD_ROWS of make_model_reference.py

/// Loads every tensor of `net` by its name from the safetensors file at `path`.
template <class Net>
pp::io_result load_model(Net& net, std::string const& path) {
  return pp::load_safetensors(net, path);
}

template <class T, class C>
void load_and_reproduce(C const& c) {
  using net_t = typename C::template net<T>;
  std::string const name = c.name;
  std::string const key = name + ".safetensors";
  BOOST_TEST_MESSAGE(key << " into " << dtype_name<T>);

  net_t net{};
  pp::io_result const r = load_model(net, "data/" + name + ".safetensors");
  BOOST_TEST_REQUIRE(r.ok, r.message);
  BOOST_TEST((r.converted == std::is_same_v<T, double>), r.message);

  // every parameter, bit for bit: the records hold the file's float32 values exactly
  std::vector<double> const& expected = entry(key + ".params");
  std::size_t i = 0;
  pp::for_each_named_tensor(
      [&](std::string_view tensor, std::size_t r_, std::size_t cols, T const* p) {
        for (std::size_t k = 0; k < r_ * (cols == 0 ? 1 : cols); ++k, ++i) {
          BOOST_TEST_REQUIRE(i < expected.size());
          BOOST_TEST(p[k] == static_cast<T>(expected[i]), tensor << "[" << k << "]");
        }
      },
      static_cast<net_t const&>(net));
  BOOST_TEST(i == expected.size());

  std::vector<double> const& in = entry(key + ".input");
  pp::mat<T, rows, net_t::input_size> x{};
  BOOST_TEST_REQUIRE(in.size() == x.size());
  for (std::size_t k = 0; k < x.size(); ++k) x[k] = static_cast<T>(in[k]);

  auto const out = net(x);
  std::string const okey = key + "." + dtype_name<T> + ".output";
  if constexpr (C::head_count == 1) {
    reference_data::compare<T>(out, entry(okey), okey, false, tolerance<T>);
  } else {
    [&]<std::size_t... H>(std::index_sequence<H...>) {
      (reference_data::compare<T>(std::get<H>(out), entry(okey + "." + std::to_string(H)),
                                  okey + "." + std::to_string(H), false, tolerance<T>),
       ...);
    }
    (std::make_index_sequence<C::head_count>{});
  }
}

BOOST_AUTO_TEST_CASE(pytorch_modules_load_and_reproduce_double) {
  std::apply([](auto const&... c) { (load_and_reproduce<double>(c), ...); }, rm::cases());
}

BOOST_AUTO_TEST_CASE(pytorch_modules_load_and_reproduce_float) {
  std::apply([](auto const&... c) { (load_and_reproduce<float>(c), ...); }, rm::cases());
}

}  // namespace
