// SPDX-License-Identifier: BSL-1.0
// A loss of one's own, written with propel's expression layer: a smooth pinball (quantile)
// loss, which teaches a network the 90th percentile of y given x instead of its mean.
// propel derives the loss's gradient from the expression; the example checks that gradient
// against central finite differences, trains with it, and checks that about 90% of fresh
// samples fall below the learned curve.
//
// Usage (from examples/custom_loss/): custom_loss [--steps N]
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <propel/propel.hpp>

#include "../common/data.hpp"

namespace pp = propel;

namespace {

/// The pinball loss of quantile tau, mean over the batch of tau u + beta softplus(-u / beta)
/// with u = y - f(x): tau u above the target's quantile, (tau - 1) u below it, smoothed over
/// a width of about beta. (As beta -> 0 it is the exact pinball loss max(tau u, (tau - 1) u).)
/// Any callable that maps (prediction expression, targets) to a scalar expression is a loss.
struct smooth_pinball {
  double tau = 0.9;
  double beta = 0.01;

  template <pp::Expression Pred, class Target>
  auto operator()(Pred const& pred, Target const& target) const {
    using T = typename Pred::value_type;
    auto const u = pp::constant(target) - pred;  // the residual y - f(x)
    T const b = static_cast<T>(beta);
    return pp::mean(static_cast<T>(tau) * u + b * pp::softplus{}(-u / b));
  }
};

constexpr std::size_t samples = 256;
using net_t =
    pp::mlp<double, pp::input<1>, pp::dense<16, pp::tanh>, pp::dense<16, pp::tanh>, pp::dense<1>>;
using column = pp::mat<double, samples, 1>;

/// Noisy data whose spread grows with |x|: y = x + (0.1 + 0.4 |x|) u, u uniform in [-1, 1],
/// so the true 90th percentile of y given x is x + 0.8 (0.1 + 0.4 |x|).
void make_data(example::splitmix64& rng, column& x, column& y) {
  for (std::size_t i = 0; i < samples; ++i) {
    double const xi = 2 * rng.uniform() - 1;
    double const u = 2 * rng.uniform() - 1;
    x(i, 0) = xi;
    y(i, 0) = xi + (0.1 + 0.4 * std::abs(xi)) * u;
  }
}

double true_quantile(double x) { return x + 0.8 * (0.1 + 0.4 * std::abs(x)); }

/// The largest difference between propel's gradient of the loss with respect to every
/// parameter and a central finite difference, relative to the largest gradient component.
double gradient_check(net_t& net, smooth_pinball const& loss, column const& x, column const& y) {
  pp::gradient_t<net_t> g;
  pp::loss_and_gradient(net, x, y, loss, g);
  // The expression reads the parameters through pointers, so it sees every change below.
  auto const objective = loss(net.expression(pp::constant(x)), y);
  auto params = net.params();
  auto const grads = g.params();
  double const h = 1e-6;
  double max_error = 0;
  double max_gradient = 0;
  for (std::size_t i = 0; i < params.size(); ++i) {
    double const saved = params[i];
    params[i] = saved + h;
    double const up = pp::evaluate(objective);
    params[i] = saved - h;
    double const down = pp::evaluate(objective);
    params[i] = saved;
    max_error = std::fmax(max_error, std::abs((up - down) / (2 * h) - grads[i]));
    max_gradient = std::fmax(max_gradient, std::abs(grads[i]));
  }
  return max_error / max_gradient;
}

}  // namespace

int main(int argc, char** argv) {
  long const steps = example::int_option(argc, argv, "--steps", 1000);
  example::splitmix64 rng{5};
  column x;
  column y;
  make_data(rng, x, y);

  net_t net;
  pp::init(net, 1);
  smooth_pinball const loss{};

  double const error = gradient_check(net, loss, x, y);
  std::printf("gradient check over %zu parameters: relative error %.2e\n", net_t::param_count,
              error);
  if (!(error < 1e-6)) {
    std::printf("FAILED: the gradient does not match finite differences\n");
    return 1;
  }

  // The custom loss goes to the trainer like any built-in one.
  pp::trainer trainer{net, loss, pp::adam{.lr = 1e-2}, pp::batch<samples>};
  double const first_loss = trainer.step(x, y);
  double last_loss = first_loss;
  std::printf("step     1  loss %.5f\n", first_loss);
  for (long step = 2; step <= steps; ++step) {
    last_loss = trainer.step(x, y);
    if (step % 250 == 0) std::printf("step %5ld  loss %.5f\n", step, last_loss);
  }

  // On fresh data from the same distribution, about 90% of the targets should lie below the
  // learned curve.
  column x_new;
  column y_new;
  make_data(rng, x_new, y_new);
  auto const q = net(x_new);
  std::size_t below = 0;
  for (std::size_t i = 0; i < samples; ++i) below += y_new(i, 0) <= q(i, 0) ? 1U : 0U;
  double const coverage = static_cast<double>(below) / samples;

  std::printf("\n     x   learned q0.9   true q0.9\n");
  for (double const xi : {-1.0, -0.5, 0.0, 0.5, 1.0}) {
    double const learned = net(pp::vec<double, 1>{xi})[0];
    std::printf("%6.2f %12.3f %11.3f\n", xi, learned, true_quantile(xi));
  }
  std::printf("\nfresh samples below the learned curve: %.1f%% (aim: 90%%)\n", 100 * coverage);

  bool const ok = last_loss < 0.5 * first_loss && coverage > 0.84 && coverage < 0.96;
  if (!ok) std::printf("FAILED: the loss did not fall by half, or the coverage is off\n");
  return ok ? 0 : 1;
}
