// SPDX-License-Identifier: BSL-1.0
/// \file The workloads of DESIGN.md (tiny, ctrl, digits, mnist) x (infer1, infer32, train1,
/// train32), float, side by side in one binary: propel, a hand-written Eigen network, plain
/// loops, and LIBXSMM, oneDNN and LibTorch (when built with them), plus this core's peak FMA
/// throughput and L2 read bandwidth. Before any timing, every peer is checked against
/// propel: same weights, same inputs, same SGD step (check.hpp), or the program stops with
/// a message. bench/run formats the results; bench/hostile_run sets propel's figures here
/// (the friendly caller) beside those of the hostile-caller harness (hostile/).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <memory>
#include <string>

#include "machine.hpp"
#include "peers.hpp"

namespace bench {
namespace {

enum class op { infer1, infer32, train1, train32 };
constexpr char const* op_name(op o) {
  switch (o) {
    case op::infer1:
      return "infer1";
    case op::infer32:
      return "infer32";
    case op::train1:
      return "train1";
    case op::train32:
      return "train32";
  }
  return "";
}

// ---- timing ------------------------------------------------------------------------------

template <class W, template <class> class Peer, op O>
void run(benchmark::State& state) {
  auto const& d = data<W>();
  auto peer = std::make_unique<Peer<W>>(d, timing_lr);
  peer->load(initial_params<W>().data());
  std::size_t i = 0;
  constexpr std::size_t count = (O == op::infer1 || O == op::train1) ? samples : batches;
  constexpr std::size_t per_iteration = (O == op::infer1 || O == op::train1) ? 1 : batch;
  for (auto _ : state) {
    if constexpr (O == op::infer1) {
      benchmark::DoNotOptimize(peer->infer1(i));
    } else if constexpr (O == op::infer32) {
      benchmark::DoNotOptimize(peer->infer32(i));
    } else if constexpr (O == op::train1) {
      benchmark::DoNotOptimize(peer->train1(i));
    } else {
      benchmark::DoNotOptimize(peer->train32(i));
    }
    benchmark::ClobberMemory();
    i = i + 1 == count ? 0 : i + 1;
  }
  double const flops = O == op::train1 || O == op::train32 ? W::training_flops : W::flops;
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * per_iteration));
  state.counters["flops_per_sample"] = flops;
  state.counters["samples"] = static_cast<double>(per_iteration);
}

template <class W, template <class> class Peer>
void register_peer(char const* peer_name) {
  auto add = [&]<op O>() {
    std::string const name = std::string("mlp/") + W::name + "/" + op_name(O) + "/" + peer_name;
    benchmark::RegisterBenchmark(name.c_str(), run<W, Peer, O>);
  };
  add.template operator()<op::infer1>();
  add.template operator()<op::infer32>();
  add.template operator()<op::train1>();
  add.template operator()<op::train32>();
}

template <class W>
void check_and_register() {
  check_peer<W, eigen_peer>("eigen");
  check_peer<W, loops_peer>("loops");
#ifdef PROPEL_BENCH_XSMM
  check_peer<W, xsmm_peer>("libxsmm");
#endif
#ifdef PROPEL_BENCH_DNNL
  check_peer<W, dnnl_peer>("onednn");
#endif
#ifdef PROPEL_BENCH_TORCH
  check_peer<W, torch_peer>("libtorch");
#endif
  register_peer<W, propel_peer>("propel");
  register_peer<W, eigen_peer>("eigen");
  register_peer<W, loops_peer>("loops");
#ifdef PROPEL_BENCH_XSMM
  register_peer<W, xsmm_peer>("libxsmm");
#endif
#ifdef PROPEL_BENCH_DNNL
  register_peer<W, dnnl_peer>("onednn");
#endif
#ifdef PROPEL_BENCH_TORCH
  register_peer<W, torch_peer>("libtorch");
#endif
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  bench::check_and_register<bench::tiny>();
  bench::check_and_register<bench::ctrl>();
  bench::check_and_register<bench::digits>();
  bench::check_and_register<bench::mnist>();
  std::fprintf(stderr, "bench: every peer agrees with propel (outputs, loss, SGD step)\n");
  bench::register_machine_benchmarks(sizeof(float) * bench::mnist::propel_net::param_count);
  benchmark::AddCustomContext("compiler", PROPEL_BENCH_COMPILER);
  benchmark::AddCustomContext("flags", PROPEL_BENCH_FLAGS_TEXT);
  benchmark::AddCustomContext("peers",
                              "propel eigen loops"
#ifdef PROPEL_BENCH_XSMM
                              " libxsmm"
#endif
#ifdef PROPEL_BENCH_DNNL
                              " onednn"
#endif
#ifdef PROPEL_BENCH_TORCH
                              " libtorch"
#endif
  );
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
