// SPDX-License-Identifier: BSL-1.0
// libFuzzer target for propel::io's loaders: any bytes go through load_safetensors (float,
// strict; double, lenient and finite-only), load_checkpoint (SGD and Adam trainers) and
// load_tensors. Besides the sanitizers' checks it traps when
//   - a failed load changed the network or the trainer;
//   - a network that loaded does not save and load again to the same bits.
// Build: clang++ -fsanitize=fuzzer,address,undefined (tests/fuzz/CMakeLists.txt).
#include <propel/io/safetensors.hpp>
//
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <propel/propel.hpp>
#include <span>
#include <vector>

namespace {

namespace pp = propel;
using net_f = pp::mlp<float, pp::input<2>, pp::dense<3, pp::relu>, pp::dense<1>>;
using net_d = pp::mlp<double, pp::input<2>, pp::dense<3, pp::relu>, pp::dense<1>>;

/// The same parameter bits (not memcmp of the objects: their tail padding is unspecified).
template <class Block>
bool same(Block const& a, Block const& b) {
  return std::memcmp(a.params().data(), b.params().data(), a.params().size_bytes()) == 0;
}

template <class Net>
void fill(Net& net) {
  auto p = net.params();
  for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<typename Net::value_type>(i) / 8;
}

void require(bool ok) {
  if (!ok) __builtin_trap();
}

void networks(std::span<std::byte const> bytes) {
  net_f f;
  fill(f);
  net_f const before = f;
  pp::io_result const r = pp::load_safetensors(f, bytes);
  if (!r) {
    require(same(f, before));
  } else {
    std::vector<std::byte> again;
    require(pp::save_safetensors(f, again).ok);
    net_f g{};
    require(pp::load_safetensors(g, std::span<std::byte const>(again)).ok);
    require(same(f, g));
  }

  net_d d;
  fill(d);
  net_d const dbefore = d;
  pp::load_options lenient;
  lenient.strict = false;
  lenient.require_finite = true;
  pp::tensor_names const names = pp::tensor_names::per_layer({"0", "2"});
  lenient.names = names;
  if (!pp::load_safetensors(d, bytes, lenient)) require(same(d, dbefore));
}

template <class Opt>
void checkpoint(std::span<std::byte const> bytes, Opt opt) {
  auto net = std::make_unique<net_f>();
  fill(*net);
  auto t = std::make_unique<pp::trainer<net_f, pp::mse, Opt>>(*net, pp::mse{}, opt);
  net_f const before = *net;
  auto const state_before = t->state(0);
  if (!pp::load_checkpoint(*t, bytes)) {
    require(same(*net, before));
    require(same(t->state(0), state_before));
    require(t->step_count() == 0);
  } else {
    std::vector<std::byte> again;
    require(pp::save_checkpoint(*t, again).ok);
    require(pp::load_checkpoint(*t, std::span<std::byte const>(again)).ok);
  }
}

void tensors(std::span<std::byte const> bytes) {
  std::vector<float> a(6);
  pp::vec<double, 3> b{};
  pp::load_options lenient;
  lenient.strict = false;
  (void)pp::load_tensors(bytes,
                         {pp::named_tensor("0.weight", std::span<float>(a), {3, 2}),
                          pp::named_tensor("0.bias", b)},
                         lenient);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::span<std::byte const> const bytes(reinterpret_cast<std::byte const*>(data), size);
  networks(bytes);
  checkpoint(bytes, pp::sgd{.lr = 0.1, .momentum = 0.9});
  checkpoint(bytes, pp::adam{});
  tensors(bytes);
  return 0;
}
