// SPDX-License-Identifier: BSL-1.0
// propel::model against PyTorch: a residual MLP, an actor-critic with two heads, a tied-weight
// autoencoder and a layer-norm network with a skip concatenation, each on a batch of 4 and on
// one sample, in float64 (relative error 1e-9) and float32 (1e-4): tensor names and shapes,
// outputs, loss, gradient (loss_and_gradient), input gradient (loss_and_input_gradient), and
// five steps of SGD with momentum, Adam and AdamW (propel::trainer; the two-head model under
// propel::per_head). Read from data/model_reference.txt, which
// tests/data/make_model_reference.py wrote with torch 1.13 (the test never regenerates it).
#define BOOST_TEST_MODULE model_reference
#include <array>
#include <boost/test/unit_test.hpp>
#include <cstddef>
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

reference_data::records const& data() { return reference_data::file("data/model_reference.txt"); }

std::vector<double> const& entry(std::string const& key) {
  return reference_data::entry("data/model_reference.txt", key);
}

struct report_errors {
  report_errors() = default;
  report_errors(report_errors const&) = delete;
  report_errors& operator=(report_errors const&) = delete;
  ~report_errors() {
    for (auto const& [what, worst] : reference_data::largest()) {
      BOOST_TEST_MESSAGE(what << ": largest relative error against PyTorch " << worst);
    }
  }
};
BOOST_TEST_GLOBAL_FIXTURE(report_errors);

// The largest relative errors measured (printed at the end; g++ -O3, x86-64): float64 7e-15,
// the rounding of a few hundred operations; float32 8.4e-6 (a derivative summed from terms of
// both signs; propel's float tanh is a fast approximation and PyTorch sums in another order),
// 6e-7 along the trajectories. A layer norm with eps 1e-4 instead of 1e-5 fails every
// layer-norm record in float64 and most in float32; a tied weight's gradient not zeroed
// before its two contributions are added fails the tied model's gradient and trajectories.
template <class T>
constexpr double tolerance = std::is_same_v<T, double> ? 1e-9 : 1e-4;

template <class T, class Values>
void compare(Values const& actual, std::string const& key, bool trajectory = false) {
  reference_data::compare<T>(actual, entry(key), key, trajectory, tolerance<T>);
}

/// Every parameter of a block (a model or its gradient), flat in parameter order.
template <class Block>
auto flat(Block const& block) {
  std::vector<typename Block::value_type> out;
  pp::for_each_named_tensor(
      [&](std::string_view, std::size_t rows, std::size_t cols, auto const* p) {
        out.insert(out.end(), p, p + rows * (cols == 0 ? 1 : cols));
      },
      block);
  return out;
}

/// Sets a model's parameters from a record, flat in parameter order.
template <class Net>
void set_params(Net& net, std::string const& key) {
  using T = typename Net::value_type;
  std::vector<double> const& v = entry(key);
  std::size_t i = 0;
  pp::for_each_named_tensor(
      [&](std::string_view, std::size_t rows, std::size_t cols, T* p) {
        for (std::size_t k = 0; k < rows * (cols == 0 ? 1 : cols); ++k, ++i) {
          BOOST_TEST_REQUIRE(i < v.size(), key << ": too short");
          p[k] = static_cast<T>(v[i]);
        }
      },
      net);
  BOOST_TEST(i == v.size(), key << ": " << v.size() << " values for " << i << " parameters");
}

template <class T, class Tensor>
Tensor read_tensor(std::string const& key) {
  std::vector<double> const& v = entry(key);
  Tensor t{};
  BOOST_TEST_REQUIRE(v.size() == t.size(), key << ": size");
  for (std::size_t i = 0; i < t.size(); ++i) t[i] = static_cast<T>(v[i]);
  return t;
}

template <class T, class Target>
Target read_target(std::string const& key) {
  if constexpr (std::is_same_v<Target, int>) {
    std::vector<double> const& v = entry(key);
    BOOST_TEST_REQUIRE(v.size() == 1u, key << ": size");
    return static_cast<int>(v.at(0));
  } else if constexpr (std::is_same_v<typename Target::value_type, int>) {
    std::vector<double> const& v = entry(key);
    Target labels{};
    BOOST_TEST_REQUIRE(v.size() == labels.size(), key << ": size");
    for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int>(v[i]);
    return labels;
  } else {
    return read_tensor<T, Target>(key);
  }
}

/// The targets of a case: one record "<key>.target", or one per head "<key>.target.<h>".
template <class T, std::size_t Rows, class C>
auto read_targets(std::string const& key) {
  using targets_t = typename C::template targets_t<T, Rows>;
  if constexpr (C::head_count == 1) {
    return read_target<T, targets_t>(key + ".target");
  } else {
    return [&]<std::size_t... H>(std::index_sequence<H...>) {
      return targets_t{read_target<T, std::tuple_element_t<H, targets_t>>(key + ".target." +
                                                                          std::to_string(H))...};
    }
    (std::make_index_sequence<C::head_count>{});
  }
}

/// The outputs: one record "<key>", or one per head "<key>.<h>" for a tuple of heads.
template <class T, class Out>
void compare_outputs(Out const& out, std::string const& key) {
  if constexpr (
      requires { std::tuple_size<Out>::value; } && !requires { out.size(); }) {
    [&]<std::size_t... H>(std::index_sequence<H...>) {
      (compare<T>(std::get<H>(out), key + "." + std::to_string(H)), ...);
    }
    (std::make_index_sequence<std::tuple_size_v<Out>>{});
  } else {
    compare<T>(out, key);
  }
}

// The optimizers of make_model_reference.py, with PyTorch's defaults where it gives none.
auto optimizers() {
  return std::make_tuple(std::pair{"sgd_momentum", pp::sgd{.lr = 0.1, .momentum = 0.9}},
                         std::pair{"adam", pp::adam{.lr = 0.01}},
                         std::pair{"adamw", pp::adamw{.lr = 0.01, .weight_decay = 0.1}});
}
constexpr std::size_t steps = 5;

/// The names and shapes of the model's tensors are PyTorch's state_dict's, in its order
/// (records "<model>.tensor.<i>.<name> rows cols").
template <class Net>
void check_names(std::string const& model) {
  Net net{};
  std::size_t i = 0;
  pp::for_each_named_tensor(
      [&](std::string_view name, std::size_t rows, std::size_t cols, auto*) {
        std::string const key = model + ".tensor." + std::to_string(i) + "." + std::string(name);
        auto const it = data().find(key);
        BOOST_TEST((it != data().end()), "tensor " << i << " is " << name << ", no record " << key);
        if (it != data().end()) {
          BOOST_TEST(it->second.size() == 2u);
          BOOST_TEST(it->second.at(0) == static_cast<double>(rows), key);
          BOOST_TEST(it->second.at(1) == static_cast<double>(cols), key);
        }
        ++i;
      },
      net);
  BOOST_TEST(i == pp::tensor_count_v<Net>);
  std::size_t records = 0;
  for (auto const& [key, values] : data()) {
    if (key.rfind(model + ".tensor.", 0) == 0) ++records;
  }
  BOOST_TEST(i == records, model << ": " << i << " tensors, PyTorch's state_dict has " << records);
}

template <class T, std::size_t Rows, class C>
void check_against_pytorch(C const& c) {
  using net_t = typename C::template net<T>;
  std::string const key = std::string(c.name) + (Rows == 0 ? ".vec." : ".batch.") + dtype_name<T>;
  BOOST_TEST_MESSAGE(key);
  net_t net;
  set_params(net, key + ".params");
  auto const x = read_tensor<T, rm::sample_t<T, Rows, net_t::input_size>>(key + ".input");
  auto const targets = read_targets<T, Rows, C>(key);

  compare_outputs<T>(net(x), key + ".output");
  // every element is written (a tied tensor's derivatives are added up from zero, not onto
  // what the gradient held)
  pp::gradient_t<net_t> grad;
  pp::for_each_named_tensor(
      [](std::string_view, std::size_t rows, std::size_t cols, T* p) {
        for (std::size_t k = 0; k < rows * (cols == 0 ? 1 : cols); ++k) p[k] = T(1000);
      },
      grad);
  T const loss = pp::loss_and_gradient(net, x, targets, c.loss, grad);
  compare<T>(std::array<T, 1>{loss}, key + ".loss");
  compare<T>(flat(grad), key + ".grad");
  auto dx = x;
  T const loss2 = pp::loss_and_input_gradient(net, x, targets, c.loss, dx);
  BOOST_TEST(loss2 == loss);
  compare<T>(dx, key + ".input_grad");

  std::apply(
      [&](auto const&... named) {
        (
            [&](auto const& name_and_opt) {
              std::string const okey = key + "." + name_and_opt.first;
              net_t trained;
              set_params(trained, key + ".params");
              std::array<T, steps> losses{};
              pp::trainer t{trained, c.loss, name_and_opt.second,
                            pp::batch<(Rows == 0 ? 1 : Rows)>};
              for (auto& l : losses) l = t.step(x, targets);
              BOOST_TEST(t.step_count() == steps);
              compare<T>(losses, okey + ".loss", true);
              compare<T>(flat(trained), okey + ".params", true);
            }(named),
            ...);
      },
      optimizers());
}

template <class T>
void check_all() {
  std::apply(
      [](auto const&... c) {
        ((check_against_pytorch<T, 4>(c), check_against_pytorch<T, 0>(c)), ...);
      },
      rm::cases());
}

BOOST_AUTO_TEST_CASE(tensor_names_and_shapes_are_pytorchs) {
  std::apply(
      [](auto const&... c) {
        (check_names<typename std::remove_cvref_t<decltype(c)>::template net<float>>(c.name), ...);
      },
      rm::cases());
}

BOOST_AUTO_TEST_CASE(data_file_is_complete) {
  // per model: its tensors; per form and dtype params, input, loss, grad, input_grad, a target
  // and an output per head, and a loss and params per optimizer; the safetensors records
  // params, input and an output per head per dtype
  std::size_t expected = 0;
  std::apply(
      [&](auto const&... c) {
        ((expected +=
          pp::tensor_count_v<typename std::remove_cvref_t<decltype(c)>::template net<float>> +
          2 * 2 * (5 + 2 * c.head_count + 2 * 3) + 2 + 2 * c.head_count),
         ...);
      },
      rm::cases());
  BOOST_TEST(data().size() == expected);
}

BOOST_AUTO_TEST_CASE(float64_matches_pytorch) { check_all<double>(); }

BOOST_AUTO_TEST_CASE(float32_matches_pytorch) { check_all<float>(); }

}  // namespace
