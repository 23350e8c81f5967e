// SPDX-License-Identifier: BSL-1.0
// propel::mlp against PyTorch: outputs, losses, parameter and input gradients, and optimizer
// trajectories (SGD, SGD with momentum, Nesterov with weight decay, Adam, Adam with L2 weight
// decay, AdamW) in float64 and float32, read from data/mlp_reference.txt, which
// tests/data/make_reference.py wrote with torch 1.13 (the test never regenerates it).
#define BOOST_TEST_MODULE mlp_reference
#include <algorithm>
#include <array>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstddef>
#include <fstream>
#include <map>
#include <propel/propel.hpp>
#include <sstream>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace pp = propel;

namespace {

// ---------------------------------------------------------------------------------------------
// The data file: lines "<key> <number> <number> ...", comments start with '#'.

std::map<std::string, std::vector<double>> load(char const* path) {
  std::map<std::string, std::vector<double>> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string key;
    fields >> key;
    std::vector<double> values;
    for (std::string word; fields >> word;) values.push_back(std::stod(word));
    out.emplace(std::move(key), std::move(values));
  }
  return out;
}

std::map<std::string, std::vector<double>> const& data() {
  static auto const d = load("data/mlp_reference.txt");
  return d;
}

std::vector<double> const& entry(std::string const& key) {
  static std::vector<double> const none;
  auto const it = data().find(key);
  BOOST_TEST_REQUIRE((it != data().end()), "no " << key
                                                 << " in data/mlp_reference.txt, read "
                                                    "from the tests/ directory");
  return it == data().end() ? none : it->second;
}

// ---------------------------------------------------------------------------------------------
// Comparison: the error of element i is |actual - expected| / max(|expected|, s), s a fraction
// of the record's largest magnitude, so that an element that is nearly zero by cancellation is
// judged on the scale of its record.

struct tally {
  double forward = 0;     // outputs, losses, gradients
  double trajectory = 0;  // optimizer steps
};
std::map<std::string, tally> largest;  // per dtype

struct report_errors {
  report_errors() = default;
  report_errors(report_errors const&) = delete;
  report_errors& operator=(report_errors const&) = delete;
  ~report_errors() {
    for (auto const& [dtype, t] : largest) {
      BOOST_TEST_MESSAGE(dtype << ": largest relative error against PyTorch: outputs, losses and "
                                  "gradients "
                               << t.forward << ", optimizer trajectories " << t.trajectory);
    }
  }
};
BOOST_TEST_GLOBAL_FIXTURE(report_errors);

template <class T>
constexpr char const* dtype_name = std::is_same_v<T, double> ? "f64" : "f32";

// double: rounding of a few dozen operations; float: the same in single precision
template <class T>
constexpr double tolerance = std::is_same_v<T, double> ? 1e-12 : 1e-5;

template <class T, class Values>
void compare(Values const& actual, std::string const& key, bool trajectory) {
  std::vector<double> const& expected = entry(key);
  BOOST_TEST_REQUIRE(expected.size() == std::size(actual), key << ": size");
  double scale = 0;
  for (double const e : expected) scale = std::max(scale, std::abs(e));
  // a parameter after an update p - lr d carries the rounding of p and lr d, so it is judged
  // on the scale of the parameters; outputs and gradients on their own
  scale *= trajectory ? 1e-1 : 1e-2;
  double worst = 0;
  std::size_t where = 0;
  std::size_t i = 0;
  for (auto const a : actual) {
    double const e = expected[i];
    double const err =
        std::abs(static_cast<double>(a) - e) / std::max({std::abs(e), scale, 1e-300});
    if (!(err <= worst)) {  // NaN counts as the worst
      worst = err;
      where = i;
    }
    ++i;
  }
  auto& t = largest[dtype_name<T>];
  (trajectory ? t.trajectory : t.forward) = std::max(trajectory ? t.trajectory : t.forward, worst);
  BOOST_TEST_MESSAGE("  " << key << ": " << worst << " at " << where);
  BOOST_TEST(worst <= tolerance<T>,
             key << ": element " << where << " is "
                 << static_cast<double>(*(std::begin(actual) + static_cast<std::ptrdiff_t>(where)))
                 << ", PyTorch " << expected[where] << ", relative error " << worst);
}

// ---------------------------------------------------------------------------------------------
// The cases, as in make_reference.py.

struct leaky02 : pp::leaky_relu {
  constexpr leaky02() : leaky_relu(0.2) {}
};

template <class T>
using mse_net =
    pp::mlp<T, pp::input<3>, pp::dense<5, pp::tanh>, pp::dense<4, pp::gelu>, pp::dense<2>>;
template <class T>
using huber_net = pp::mlp<T, pp::input<2>, pp::dense<5, pp::sigmoid>, pp::dense<4, pp::gelu_tanh>,
                          pp::dense<2, leaky02>>;
template <class T>
using xent_net =
    pp::mlp<T, pp::input<4>, pp::dense<6, pp::relu>, pp::dense<5, pp::silu>, pp::dense<3>>;
template <class T>
using bce_net = pp::mlp<T, pp::input<3>, pp::dense<4, pp::elu>, pp::dense<4, pp::softplus>,
                        pp::dense<3, pp::leaky_relu>>;

enum class target_kind { values, labels };

/// Rows 0: one sample, a vec (and an int label).
template <template <class> class Net, std::size_t Rows, class Loss, target_kind Kind>
struct ref_case {
  template <class T>
  using net = Net<T>;
  static constexpr std::size_t rows = Rows;
  static constexpr target_kind kind = Kind;
  Loss loss;
  char const* name;
};

template <class T, std::size_t Rows, std::size_t N>
using input_t = std::conditional_t<Rows == 0, pp::vec<T, N>, pp::mat<T, (Rows == 0 ? 1 : Rows), N>>;

template <class T, class Tensor>
Tensor read_tensor(std::string const& key) {
  std::vector<double> const& v = entry(key);
  Tensor t{};
  BOOST_TEST_REQUIRE(v.size() == t.size(), key << ": size");
  for (std::size_t i = 0; i < t.size(); ++i) t[i] = static_cast<T>(v[i]);
  return t;
}

template <class T, class C>
auto read_targets(std::string const& key) {
  using net_t = typename C::template net<T>;
  if constexpr (C::kind == target_kind::labels) {
    std::vector<double> const& v = entry(key);
    constexpr std::size_t n = C::rows == 0 ? 1 : C::rows;
    std::array<int, n> labels{};
    BOOST_TEST_REQUIRE(v.size() == n, key << ": size");
    for (std::size_t i = 0; i < n; ++i) labels[i] = static_cast<int>(v[i]);
    if constexpr (C::rows == 0) {
      return labels[0];
    } else {
      return labels;
    }
  } else {
    return read_tensor<T, input_t<T, C::rows, net_t::output_size>>(key);
  }
}

template <class Net>
void set_params(Net& net, std::string const& key) {
  using T = typename Net::value_type;
  std::vector<double> const& v = entry(key);
  BOOST_TEST_REQUIRE(v.size() == Net::param_count, key << ": size");
  for (std::size_t i = 0; i < Net::param_count; ++i) net.params()[i] = static_cast<T>(v[i]);
}

// The optimizers of make_reference.py, with PyTorch's defaults where it gives none.
auto optimizers() {
  return std::make_tuple(
      std::pair{"sgd", pp::sgd{.lr = 0.1}},
      std::pair{"sgd_momentum", pp::sgd{.lr = 0.1, .momentum = 0.9}},
      std::pair{"sgd_nesterov_wd",
                pp::sgd{.lr = 0.05, .momentum = 0.8, .nesterov = true, .weight_decay = 0.01}},
      std::pair{"adam", pp::adam{.lr = 0.01}},
      std::pair{
          "adam_wd",
          pp::adam{.lr = 0.01, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-3, .weight_decay = 0.1}},
      std::pair{"adamw", pp::adamw{.lr = 0.01, .eps = 1e-4, .weight_decay = 0.1}});
}
constexpr std::size_t steps = 4;

template <class T, class C>
void check_against_pytorch(C const& c) {
  using net_t = typename C::template net<T>;
  std::string const key = std::string(c.name) + "." + dtype_name<T>;
  BOOST_TEST_MESSAGE(key);
  net_t net;
  set_params(net, key + ".params");
  auto const x = read_tensor<T, input_t<T, C::rows, net_t::input_size>>(key + ".input");
  auto const targets = read_targets<T, C>(key + ".target");

  compare<T>(net(x), key + ".output", false);
  pp::gradient_t<net_t> grad;
  T const loss = pp::loss_and_gradient(net, x, targets, c.loss, grad);
  compare<T>(std::array<T, 1>{loss}, key + ".loss", false);
  compare<T>(grad.params(), key + ".grad", false);
  auto dx = x;
  T const loss2 = pp::loss_and_input_gradient(net, x, targets, c.loss, dx);
  BOOST_TEST(loss2 == loss);
  compare<T>(dx, key + ".input_grad", false);

  std::apply(
      [&](auto const&... named) {
        (
            [&](auto const& name_and_opt) {
              std::string const okey = key + "." + name_and_opt.first;
              net_t trained;
              set_params(trained, key + ".params");
              pp::trainer t{trained, c.loss, name_and_opt.second,
                            pp::batch<(C::rows == 0 ? 1 : C::rows)>};
              std::array<T, steps> losses{};
              for (auto& l : losses) l = t.step(x, targets);
              BOOST_TEST(t.step_count() == steps);
              compare<T>(losses, okey + ".loss", true);
              compare<T>(trained.params(), okey + ".params", true);
            }(named),
            ...);
      },
      optimizers());
}

auto const cases = std::make_tuple(
    ref_case<mse_net, 5, pp::mse, target_kind::values>{{}, "mse_batch"},
    ref_case<mse_net, 0, pp::mse, target_kind::values>{{}, "mse_vec"},
    ref_case<huber_net, 6, pp::huber, target_kind::values>{{.delta = 0.5}, "huber_batch"},
    ref_case<xent_net, 5, pp::softmax_cross_entropy, target_kind::labels>{{}, "xent_labels_batch"},
    ref_case<xent_net, 0, pp::softmax_cross_entropy, target_kind::labels>{{}, "xent_label_vec"},
    ref_case<xent_net, 5, pp::softmax_cross_entropy, target_kind::values>{{}, "xent_onehot_batch"},
    ref_case<bce_net, 5, pp::bce_with_logits, target_kind::values>{{}, "bce_batch"});

BOOST_AUTO_TEST_CASE(data_file_is_complete) {
  // 7 cases x 2 dtypes x (7 records + 6 optimizers x 2 records)
  BOOST_TEST(data().size() == 7u * 2u * (7u + 6u * 2u));
}

BOOST_AUTO_TEST_CASE(float64_matches_pytorch) {
  std::apply([](auto const&... c) { (check_against_pytorch<double>(c), ...); }, cases);
}

BOOST_AUTO_TEST_CASE(float32_matches_pytorch) {
  std::apply([](auto const&... c) { (check_against_pytorch<float>(c), ...); }, cases);
}

}  // namespace
