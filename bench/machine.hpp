// SPDX-License-Identifier: BSL-1.0
/// \file What this core can do at best, measured with the same flags as the peers:
///  - machine/fma/<bits>: peak FMA throughput, Acc independent FMA chains on float vectors
///    of <bits> bits (GCC/Clang vector extensions, contracted to FMA by the compiler);
///    enough chains to cover the FMA latency on both FMA ports;
///  - machine/l2_read/<bits>: a streaming read (a sum) of a buffer as large as the mnist
///    network's parameters, resident in L2 after the first pass: the bandwidth bound of
///    mnist infer1, which must read every weight once.
#pragma once

#include <benchmark/benchmark.h>

#include <cstddef>
#include <string>
#include <vector>

namespace bench {

template <int Bytes, int Acc>
void machine_fma(benchmark::State& state) {
  using v = float __attribute__((vector_size(Bytes)));
  constexpr int lanes = Bytes / static_cast<int>(sizeof(float));
  constexpr int rounds = 512;
  v acc[Acc];
  for (int k = 0; k < Acc; ++k) acc[k] = v{} + 1.0f + static_cast<float>(k) * 1e-3f;
  v m = v{} + 0.9999999f;
  v const c = v{} + 1e-7f;
  benchmark::DoNotOptimize(m);
  for (auto _ : state) {
    for (int r = 0; r < rounds; ++r) {
      for (int k = 0; k < Acc; ++k) acc[k] = acc[k] * m + c;
    }
    for (int k = 0; k < Acc; ++k) benchmark::DoNotOptimize(acc[k]);
  }
  state.counters["flops"] = benchmark::Counter(
      2.0 * lanes * Acc * rounds * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
}

template <int Bytes>
void machine_l2_read(benchmark::State& state, std::size_t bytes) {
  using v = float __attribute__((vector_size(Bytes)));
  constexpr std::size_t lanes = Bytes / sizeof(float);
  constexpr std::size_t acc_n = 8;
  std::size_t const n = bytes / Bytes / acc_n * acc_n;
  std::vector<v> buf(n);
  for (std::size_t i = 0; i < n; ++i) buf[i] = v{} + static_cast<float>(i % 7) * 1e-3f;
  v const* p = buf.data();
  for (auto _ : state) {
    v acc[acc_n] = {};
    for (std::size_t i = 0; i < n; i += acc_n) {
      for (std::size_t k = 0; k < acc_n; ++k) acc[k] += p[i + k];
    }
    for (std::size_t k = 0; k < acc_n; ++k) benchmark::DoNotOptimize(acc[k]);
  }
  state.counters["bytes"] = static_cast<double>(n * lanes * sizeof(float));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * n * Bytes));
}

inline void register_machine_benchmarks(std::size_t l2_bytes) {
  benchmark::RegisterBenchmark("machine/fma/256", machine_fma<32, 12>);
  benchmark::RegisterBenchmark("machine/fma/512", machine_fma<64, 12>);
  benchmark::RegisterBenchmark("machine/l2_read/256", [l2_bytes](benchmark::State& s) {
    machine_l2_read<32>(s, l2_bytes);
  });
  benchmark::RegisterBenchmark("machine/l2_read/512", [l2_bytes](benchmark::State& s) {
    machine_l2_read<64>(s, l2_bytes);
  });
}

}  // namespace bench
