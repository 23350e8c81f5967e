// SPDX-License-Identifier: BSL-1.0
// Regression: a 1-16-16-1 tanh network fits sin(x) on [-pi, pi] from 64 points, trained
// full-batch with MSE and Adam, then draws its fit against the truth, on that interval and
// beyond it.
//
// Usage (from examples/sine/): sine [--steps N]
// Exits non-zero if the final mean squared error is above 1e-3.
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <numbers>
#include <propel/propel.hpp>
#include <string>

#include "../common/data.hpp"

namespace pp = propel;

namespace {

constexpr std::size_t points = 64;
constexpr float max_mse = 1e-3f;
constexpr double pi = std::numbers::pi;

using net_t =
    pp::mlp<float, pp::input<1>, pp::dense<16, pp::tanh>, pp::dense<16, pp::tanh>, pp::dense<1>>;

/// The network's fit (*) against sin(x) (.), # where they meet, over [-1.5 pi, 1.5 pi]: the
/// training interval [-pi, pi] (between the two ':') and beyond it, where the network was never
/// shown the curve.
void plot(net_t const& net) {
  constexpr std::size_t width = 61;   // columns 10 and 50 fall on -pi and +pi
  constexpr std::size_t height = 21;  // an odd number: y = 0 gets a row of its own
  constexpr double x_max = 1.5 * pi;
  std::array<std::array<char, width>, height> canvas{};
  for (auto& row : canvas) row.fill(' ');
  auto const row_of = [](double y) {  // y in [-1.2, 1.2] -> row 0 at the top, clamped
    double const r = std::round((1.2 - y) / 2.4 * (height - 1));
    return static_cast<std::size_t>(r < 0 ? 0 : (r > height - 1 ? height - 1 : r));
  };
  for (auto& row : canvas) row[10] = row[50] = ':';
  for (std::size_t c = 0; c < width; ++c) canvas[row_of(0)][c] = '-';
  for (std::size_t c = 0; c < width; ++c) {
    double const x = -x_max + 2 * x_max * static_cast<double>(c) / (width - 1);
    std::size_t const truth = row_of(std::sin(x));
    std::size_t const fit =
        row_of(static_cast<double>(net(pp::vec<float, 1>{static_cast<float>(x)})[0]));
    canvas[truth][c] = '.';
    canvas[fit][c] = fit == truth ? '#' : '*';
  }
  std::string const frame(width, '-');
  std::printf(" 1.2 +%s+\n", frame.c_str());
  for (auto const& row : canvas) std::printf("     |%.*s|\n", static_cast<int>(width), row.data());
  std::printf("-1.2 +%s+\n", frame.c_str());
  std::printf("     -1.5pi    -pi%37s+pi%4s1.5pi\n", "", "");
  std::printf("     * network   . sin(x)   # both   : the training interval's ends\n");
}

}  // namespace

int main(int argc, char** argv) {
  long const steps = example::int_option(argc, argv, "--steps", 3000);

  // 64 evenly spaced points on [-pi, pi], one sample per row.
  pp::mat<float, points, 1> x;
  pp::mat<float, points, 1> y;
  for (std::size_t i = 0; i < points; ++i) {
    double const xi = -pi + 2 * pi * static_cast<double>(i) / (points - 1);
    x(i, 0) = static_cast<float>(xi);
    y(i, 0) = static_cast<float>(std::sin(xi));
  }

  net_t net;
  pp::init(net, 7);
  pp::trainer trainer{net, pp::mse{}, pp::adam{.lr = 3e-3}, pp::batch<points>};
  float loss = 0;
  for (long step = 1; step <= steps; ++step) {
    loss = trainer.step(x, y);
    if (step % (steps / 5 > 0 ? steps / 5 : 1) == 0 || step == 1) {
      std::printf("step %5ld  mse %.6f\n", step, static_cast<double>(loss));
    }
  }

  auto const fit = net(x);
  float const final_mse = pp::evaluate(pp::mse{}(pp::constant(fit), y));
  std::printf("\nfinal mse %.6f (must be below %g)\n\n", static_cast<double>(final_mse),
              static_cast<double>(max_mse));
  plot(net);
  return final_mse < max_mse ? 0 : 1;
}
