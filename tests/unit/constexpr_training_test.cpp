// SPDX-License-Identifier: BSL-1.0
// Training in constant evaluation: XOR is learned by a 2 -> 4 tanh -> 1 network inside the
// compiler (forward, backward and Adam steps), a gradient computed at compile time matches
// central finite differences, and an SGD step follows PyTorch's rule. At run time the same
// training reaches the same loss. (The accuracy of the elementary functions constant
// evaluation uses is tests/unit/accuracy_test.cpp's.)
//
// Needs a raised constant-evaluation budget (tests/CMakeLists.txt sets -fconstexpr-ops-limit
// for g++ and -fconstexpr-steps for clang++ on this target).
#define BOOST_TEST_MODULE constexpr_training
#include <boost/test/unit_test.hpp>
#include <cstddef>
#include <cstdint>
#include <propel/propel.hpp>
#include <utility>

namespace pp = propel;

namespace {

template <class T>
using xor_net = pp::mlp<T, pp::input<2>, pp::dense<4, pp::tanh>, pp::dense<1>>;

template <class T>
constexpr pp::mat<T, 4, 2> xor_inputs{0, 0, 0, 1, 1, 0, 1, 1};
template <class T>
constexpr pp::mat<T, 4, 1> xor_targets{0, 1, 1, 0};

constexpr std::uint64_t xor_seed = 1;
constexpr int xor_steps = 60;

struct xor_run {
  float first_loss;          // loss of the initial network
  float final_loss;          // loss after xor_steps Adam steps
  pp::mat<float, 4, 1> out;  // the trained network's outputs on the four inputs
};

/// Initialises the network, takes `steps` Adam steps on the four XOR samples (one batch) and
/// reports the losses: the same function runs in constant evaluation and at run time.
constexpr xor_run train_xor(int steps) {
  xor_net<float> net;
  pp::init(net, xor_seed);
  pp::trainer t{net, pp::mse{}, pp::adam{.lr = 0.1}, pp::batch<4>};
  xor_run run{};
  run.first_loss = t.step(xor_inputs<float>, xor_targets<float>);
  for (int i = 1; i < steps; ++i) t.step(xor_inputs<float>, xor_targets<float>);
  pp::gradient_t<xor_net<float>> g{};
  run.final_loss = pp::loss_and_gradient(net, xor_inputs<float>, xor_targets<float>, pp::mse{}, g);
  run.out = net(xor_inputs<float>);
  return run;
}

constexpr xor_run compile_time_xor = train_xor(xor_steps);
static_assert(compile_time_xor.first_loss > 0.25f, "the initial network should not solve XOR");
static_assert(compile_time_xor.final_loss < 0.05f,
              "XOR trained at compile time: the loss must fall below 0.05");
static_assert(compile_time_xor.out[0] < 0.5f && compile_time_xor.out[1] > 0.5f &&
                  compile_time_xor.out[2] > 0.5f && compile_time_xor.out[3] < 0.5f,
              "XOR trained at compile time: every output on the right side of 0.5");

constexpr double abs_d(double x) { return x < 0 ? -x : x; }

/// The largest relative error between the gradient of the XOR loss (double network, seeded
/// initialisation) and central finite differences, over every parameter.
constexpr double xor_gradient_error() {
  using net_t = xor_net<double>;
  net_t net;
  pp::init(net, xor_seed);
  // move the biases off zero so that their derivatives are exercised too
  net.layer<0>().bias = pp::vec<double, 4>{0.1, -0.2, 0.3, -0.05};
  net.layer<1>().bias = pp::vec<double, 1>{0.25};
  pp::gradient_t<net_t> g{};
  pp::loss_and_gradient(net, xor_inputs<double>, xor_targets<double>, pp::mse{}, g);
  pp::gradient_t<net_t> scratch{};
  double worst = 0;
  double const h = 1e-6;
  auto const loss = [&] {
    return pp::loss_and_gradient(net, xor_inputs<double>, xor_targets<double>, pp::mse{}, scratch);
  };
  pp::for_each_tensor(
      [&](std::size_t n, double* p, double const* d) {
        for (std::size_t i = 0; i < n; ++i) {
          double const saved = p[i];
          p[i] = saved + h;
          double const up = loss();
          p[i] = saved - h;
          double const down = loss();
          p[i] = saved;
          double const fd = (up - down) / (2 * h);
          double const err = abs_d(fd - d[i]) / (abs_d(fd) + abs_d(d[i]) + 1e-8);
          worst = err > worst ? err : worst;
        }
      },
      net, std::as_const(g));
  return worst;
}

constexpr double compile_time_gradient_error = xor_gradient_error();
static_assert(compile_time_gradient_error < 1e-6,
              "the compile-time gradient must match central finite differences");

/// One step of SGD with momentum and weight decay, in constant evaluation: the parameters
/// move by exactly -lr (g + wd p) on the first step (the momentum buffer starts at d).
constexpr bool sgd_step_follows_pytorch() {
  using net_t = xor_net<float>;
  net_t net;
  pp::init(net, 3);
  net_t const before = net;
  pp::gradient_t<net_t> grad;
  (void)pp::loss_and_gradient(net, xor_inputs<float>, xor_targets<float>, pp::mse{}, grad);
  pp::trainer t{net, pp::mse{}, pp::sgd{.lr = 0.5, .momentum = 0.9, .weight_decay = 0.01},
                pp::batch<4>};
  t.step(xor_inputs<float>, xor_targets<float>);
  bool same = true;
  pp::for_each_tensor(
      [&](std::size_t n, float const* after, float const* p, float const* g, float const* m) {
        for (std::size_t i = 0; i < n; ++i) {
          float const d = g[i] + 0.01f * p[i];
          same = same && m[i] == d && after[i] == p[i] - 0.5f * d;
        }
      },
      std::as_const(net), before, std::as_const(grad), std::as_const(t.state(0)));
  return same;
}
static_assert(sgd_step_follows_pytorch(),
              "an SGD step in constant evaluation follows torch.optim.SGD");

}  // namespace

BOOST_AUTO_TEST_CASE(xor_trained_at_run_time_matches_compile_time) {
  xor_run const rt = train_xor(xor_steps);
  BOOST_TEST_MESSAGE("XOR at compile time: loss "
                     << compile_time_xor.first_loss << " -> " << compile_time_xor.final_loss
                     << "; at run time: " << rt.final_loss
                     << "; gradient vs finite differences: " << compile_time_gradient_error);
  BOOST_TEST(rt.first_loss == compile_time_xor.first_loss);  // no transcendental in init
  // tanh comes from <cmath> at run time and from propel's series at compile time
  BOOST_TEST(rt.final_loss == compile_time_xor.final_loss, boost::test_tools::tolerance(0.02f));
  for (std::size_t i = 0; i < 4; ++i) {
    BOOST_TEST(rt.out[i] == compile_time_xor.out[i], boost::test_tools::tolerance(1e-3f));
  }
}
