// SPDX-License-Identifier: BSL-1.0
/// \file What this core can do at best, measured with the same flags as the peers:
///  - machine/fma/<bits>: peak FMA throughput, Acc independent FMA chains on float vectors
///    of <bits> bits (GCC/Clang vector extensions, contracted to FMA by the compiler);
///    enough chains to cover the FMA latency on both FMA ports; 512 only when the build
///    has AVX-512 (with -march=x86-64-v3 the peak is that of 256-bit vectors);
///  - machine/l2_read/<bits>: a streaming read (a sum) of a buffer as large as the mnist
///    network's parameters, resident in L2 after the first pass: the bandwidth bound of
///    mnist infer1, which must read every weight once.
#pragma once

#include <benchmark/benchmark.h>

#include <cstddef>
#include <string>
#include <vector>

namespace bench {

// Spelled out: GCC drops a vector_size attribute whose size depends on a template parameter.
typedef float float8 __attribute__((vector_size(32)));
typedef float float16 __attribute__((vector_size(64)));

template <class v, int Acc>
void machine_fma(benchmark::State& state) {
  constexpr int lanes = static_cast<int>(sizeof(v) / sizeof(float));
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

/// The sum of n vectors (n a multiple of 8), eight independent chains.
template <class v>
[[gnu::noinline]] v sum_stream(v const* p, std::size_t n) {
  v a0{}, a1{}, a2{}, a3{}, a4{}, a5{}, a6{}, a7{};
  for (std::size_t i = 0; i < n; i += 8) {
    a0 += p[i];
    a1 += p[i + 1];
    a2 += p[i + 2];
    a3 += p[i + 3];
    a4 += p[i + 4];
    a5 += p[i + 5];
    a6 += p[i + 6];
    a7 += p[i + 7];
  }
  return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
}

template <class v>
void machine_l2_read(benchmark::State& state, std::size_t bytes) {
  constexpr std::size_t lanes = sizeof(v) / sizeof(float);
  std::size_t const n = bytes / sizeof(v) / 8 * 8;
  std::vector<v> buf(n);
  for (std::size_t i = 0; i < n; ++i) buf[i] = v{} + static_cast<float>(i % 7) * 1e-3f;
  v const* p = buf.data();
  for (auto _ : state) {
    benchmark::DoNotOptimize(p);
    v s = sum_stream(p, n);
    benchmark::DoNotOptimize(s);
  }
  state.counters["bytes"] = static_cast<double>(n * lanes * sizeof(float));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * n * sizeof(v)));
}

inline void register_machine_benchmarks(std::size_t l2_bytes) {
  benchmark::RegisterBenchmark("machine/fma/256", machine_fma<float8, 12>);
#ifdef __AVX512F__  // only the widths the build's instructions have
  benchmark::RegisterBenchmark("machine/fma/512", machine_fma<float16, 12>);
#endif
  benchmark::RegisterBenchmark("machine/l2_read/256", [l2_bytes](benchmark::State& s) {
    machine_l2_read<float8>(s, l2_bytes);
  });
#ifdef __AVX512F__
  benchmark::RegisterBenchmark("machine/l2_read/512", [l2_bytes](benchmark::State& s) {
    machine_l2_read<float16>(s, l2_bytes);
  });
#endif
}

}  // namespace bench
