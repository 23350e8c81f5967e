// SPDX-License-Identifier: BSL-1.0
/// \file The hostile-caller benchmark: every operation (infer1, infer32, train1, train32) of
/// every workload (tiny, ctrl, digits, mnist) of every peer (propel, hand-written Eigen, and
/// LIBXSMM, oneDNN, LibTorch when built with them), called as a user's harness calls a
/// library: through a function pointer defined in another translation unit (ops.hpp), so
/// nothing of the peer is inlined into the timing loop; the loop count and the cycle over
/// the data set's samples (256 samples, 8 batches: different input buffers on each call)
/// known only at run time. All workloads and peers are in this one binary. Before any
/// timing, every peer is checked against propel through the same pointers (check.hpp).
/// The names match bench_mlp's, so bench/format_hostile.py can set the two side by side.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>
#include <vector>

#include "../check.hpp"
#include "../common.hpp"
#include "../machine.hpp"
#include "ops.hpp"

namespace bench::hostile {
namespace {

/// A peer instance seen through its function pointers, with the member names check.hpp
/// expects.
struct handle {
  ops const* o;
  void* self;
  handle(ops const& table, float lr) : o(&table), self(table.make(lr)) {}
  ~handle() { o->destroy(self); }
  handle(handle const&) = delete;
  handle& operator=(handle const&) = delete;
  void load(float const* p) { o->load(self, p); }
  void store(float* p) const { o->store(self, p); }
  float const* infer1(std::size_t i) { return o->infer1(self, i); }
  float const* infer32(std::size_t i) { return o->infer32(self, i); }
  float train1(std::size_t i) { return o->train1(self, i); }
  float train32(std::size_t i) { return o->train32(self, i); }
};

enum class op { infer1, infer32, train1, train32 };
char const* const op_names[] = {"infer1", "infer32", "train1", "train32"};

/// What one benchmark times, all of it run-time data.
struct cell {
  ops const* table;
  std::vector<float> const* params;
  op which;
  double flops;  // per sample: forward for inference, bench::train_flops for a step
};

void time_cell(benchmark::State& state, cell const& c) {
  handle h(*c.table, timing_lr);
  h.load(c.params->data());
  bool const single = c.which == op::infer1 || c.which == op::train1;
  std::size_t const count = single ? samples : samples / batch;  // inputs cycled
  std::size_t const per_call = single ? 1 : batch;
  std::size_t i = 0;
  void* const self = h.self;
  if (c.which == op::infer1 || c.which == op::infer32) {
    auto const f = c.which == op::infer1 ? c.table->infer1 : c.table->infer32;
    for (auto _ : state) {
      benchmark::DoNotOptimize(f(self, i));
      benchmark::ClobberMemory();
      if (++i == count) i = 0;
    }
  } else {
    auto const f = c.which == op::train1 ? c.table->train1 : c.table->train32;
    for (auto _ : state) {
      benchmark::DoNotOptimize(f(self, i));
      benchmark::ClobberMemory();
      if (++i == count) i = 0;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * per_call));
  state.counters["flops_per_sample"] = c.flops;
  state.counters["samples"] = static_cast<double>(per_call);
}

}  // namespace
}  // namespace bench::hostile

int main(int argc, char** argv) {
  using namespace bench::hostile;
  benchmark::Initialize(&argc, argv);
  auto const infos = workloads();
  std::vector<peer> peers{propel_ops(), eigen_ops()};
  for (auto& p : library_ops()) peers.push_back(p);

  std::vector<std::vector<float>> params;
  for (auto const& w : infos) params.push_back(w.initial());
  std::string names;
  for (std::size_t w = 0; w < workload_count; ++w) {
    for (std::size_t p = 1; p < peers.size(); ++p) {
      handle ref(peers[0].on[w], bench::check_lr), other(peers[p].on[w], bench::check_lr);
      bench::check_against(ref, other, params[w], infos[w].outputs, infos[w].name, peers[p].name);
    }
  }
  std::fprintf(stderr, "bench: every peer agrees with propel (outputs, loss, SGD step)\n");

  static std::vector<cell> cells;  // RegisterBenchmark's closures refer to these
  cells.reserve(workload_count * 4 * peers.size());
  for (std::size_t w = 0; w < workload_count; ++w) {
    for (int o = 0; o < 4; ++o) {
      for (auto const& p : peers) {
        bool const train = o == static_cast<int>(op::train1) || o == static_cast<int>(op::train32);
        cells.push_back({&p.on[w], &params[w], static_cast<op>(o),
                         train ? infos[w].training_flops : infos[w].flops});
        cell const* c = &cells.back();
        std::string const name =
            std::string("mlp/") + infos[w].name + "/" + op_names[o] + "/" + p.name;
        benchmark::RegisterBenchmark(name.c_str(), [c](benchmark::State& s) { time_cell(s, *c); });
      }
    }
  }
  bench::register_machine_benchmarks(sizeof(float) * params[3].size());
  for (auto const& p : peers) names += std::string(names.empty() ? "" : " ") + p.name;
  benchmark::AddCustomContext("compiler", PROPEL_BENCH_COMPILER);
  benchmark::AddCustomContext("flags", PROPEL_BENCH_FLAGS_TEXT);
  benchmark::AddCustomContext("peers", names);
  benchmark::AddCustomContext("caller", "hostile");
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
