// SPDX-License-Identifier: BSL-1.0
// A RAM budget checked by the compiler: training the ctrl network (16 -> 32 relu -> 32 relu
// -> 4, MSE) must fit a microcontroller's 64 KiB of RAM. The trainer knows, as constants,
// the bytes of the parameters, the gradient, the optimizer state and a step's workspace,
// so a configuration that does not fit is a compile error, not a crash in the field. The
// program prints the breakdown for a few batch sizes and optimizers.
#include <cstddef>
#include <cstdio>
#include <propel/propel.hpp>

#include "ctrl_task.hpp"

namespace {

constexpr std::size_t ram_budget = 64 * 1024;

/// Bytes that training Net with Opt on batches of B samples keeps in RAM: parameters,
/// gradient, optimizer state and the workspace of a step on B samples (all but the
/// parameters are inside the trainer object), and the batch itself.
template <class Opt, std::size_t B>
struct training_memory {
  using x_t = propel::mat<float, B, ctrl::inputs>;
  using y_t = propel::mat<float, B, ctrl::outputs>;
  using trainer_t = propel::trainer<ctrl::net_t, propel::mse, Opt, B>;
  static constexpr std::size_t parameters = trainer_t::parameter_bytes;
  static constexpr std::size_t gradient = trainer_t::gradient_bytes;
  static constexpr std::size_t optimizer_state = trainer_t::optimizer_state_bytes;
  static constexpr std::size_t workspace = trainer_t::activation_bytes;
  static constexpr std::size_t batch = sizeof(x_t) + sizeof(y_t);
  static constexpr std::size_t total = parameters + gradient + optimizer_state + workspace + batch;
  // the trainer holds everything but the parameters (it refers to the network)
  static_assert(sizeof(trainer_t) >= gradient + optimizer_state + workspace);
  static_assert(trainer_t::template workspace_bytes<x_t, y_t> <= workspace);
};

// The configuration examples/embedded/device.cpp trains with: SGD with momentum, batches of 8.
static_assert(training_memory<propel::sgd, 8>::total <= ram_budget,
              "training ctrl with SGD on batches of 8 does not fit in 64 KiB of RAM");
// Adam keeps two state buffers instead of one; it still fits with batches of 8.
static_assert(training_memory<propel::adam, 8>::total <= ram_budget,
              "training ctrl with Adam on batches of 8 does not fit in 64 KiB of RAM");
// Inference needs the parameters only (in flash, when they are constexpr).
static_assert(sizeof(ctrl::net_t) <= ctrl::net_t::param_count * sizeof(float) + 31);

template <class Opt, std::size_t B>
void print_row(char const* optimizer) {
  using m = training_memory<Opt, B>;
  std::printf("%-5s %5zu %10zu %9zu %10zu %10zu %6zu %8zu %s\n", optimizer, B, m::parameters,
              m::gradient, m::optimizer_state, m::workspace, m::batch, m::total,
              m::total <= ram_budget ? "fits" : "too big");
}

}  // namespace

int main() {
  std::printf("training ctrl (%zu parameters): bytes of RAM, budget %zu\n",
              ctrl::net_t::param_count, ram_budget);
  std::printf("%-5s %5s %10s %9s %10s %10s %6s %8s\n", "opt", "batch", "parameters", "gradient",
              "opt. state", "workspace", "batch", "total");
  print_row<propel::sgd, 1>("sgd");
  print_row<propel::sgd, 8>("sgd");
  print_row<propel::sgd, 32>("sgd");
  print_row<propel::adam, 1>("adam");
  print_row<propel::adam, 8>("adam");
  print_row<propel::adam, 32>("adam");
  std::printf(
      "(the workspace includes the backward pass's buffers: a step needs no more than a few "
      "scalars of stack)\n");
  return 0;
}
