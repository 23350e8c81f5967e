// SPDX-License-Identifier: BSL-1.0
/// \file Width sweep at depth 3 (W -> W relu -> W relu -> W), propel against the hand-written
/// Eigen network, for infer1, train1 and train32: where fusing the whole network stops
/// paying against Eigen's own kernels. Same check-before-timing rule as bench_mlp.cpp.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <propel/propel.hpp>
#include <string>
#include <vector>

#include "baselines/eigen_mlp.hpp"
#include "common.hpp"

namespace pp = propel;

namespace bench {
namespace {

template <std::size_t W>
struct sweep {
  using net_t =
      pp::mlp<float, pp::input<W>, pp::dense<W, pp::relu>, pp::dense<W, pp::relu>, pp::dense<W>>;
  using eigen_t = eigen_mlp<loss_kind::mse, W, Eigen::RowMajor, PROPEL_BENCH_EIGEN_LAZY_LIMIT,
                            layer<W, act::relu>, layer<W, act::relu>, layer<W, act::identity>>;
  static constexpr double flops =
      forward_flops<W, layer<W, act::relu>, layer<W, act::relu>, layer<W, act::identity>>();
  static constexpr double training_flops =
      train_flops<W, layer<W, act::relu>, layer<W, act::relu>, layer<W, act::identity>>();

  struct state {
    net_t net;
    eigen_t eigen;
    data_set d{W, W, -1.0f, 1.0f, 3};
    std::vector<pp::vec<float, W>> xs, ys;
    std::vector<pp::mat<float, batch, W>> Xs, Ys;
    state() {
      pp::init(net, 42);
      eigen.load(net.params().data());
      xs.resize(samples);
      ys.resize(samples);
      Xs.resize(samples / batch);
      Ys.resize(samples / batch);
      for (std::size_t s = 0; s < samples; ++s) {
        for (std::size_t j = 0; j < W; ++j) {
          xs[s][j] = Xs[s / batch](s % batch, j) = d.sample(s)[j];
          ys[s][j] = Ys[s / batch](s % batch, j) = d.target(s)[j];
        }
      }
    }
  };

  static void check() {
    auto s = std::make_unique<state>();
    pp::vec<float, W> const y = s->net(s->xs[0]);
    std::vector<float> e(W);
    s->eigen.template infer<1>(s->d.sample(0), e.data());
    for (std::size_t j = 0; j < W; ++j) {
      if (std::abs(y[j] - e[j]) > 1e-4f * std::max(1.0f, std::abs(y[j]))) {
        std::fprintf(stderr, "bench: Eigen disagrees with propel at width %zu\n", W);
        std::exit(1);
      }
    }
  }

  template <int Op, bool Propel>
  static void run(benchmark::State& st) {
    auto s = std::make_unique<state>();
    // the trainer holds a batch's workspace (megabytes at width 1024): not on the stack
    auto const trainer = std::make_unique<pp::trainer<net_t, pp::mse, pp::sgd, batch>>(
        s->net, pp::mse{}, pp::sgd{.lr = timing_lr});
    auto& t = *trainer;
    std::vector<float> out(batch * W);
    std::size_t i = 0;
    for (auto _ : st) {
      if constexpr (Op == 0) {
        if constexpr (Propel) {
          auto y = s->net(s->xs[i]);
          benchmark::DoNotOptimize(y);
        } else {
          s->eigen.template infer<1>(s->d.sample(i), out.data());
        }
      } else if constexpr (Op == 1) {
        if constexpr (Propel) {
          benchmark::DoNotOptimize(t.step(s->xs[i], s->ys[i]));
        } else {
          benchmark::DoNotOptimize(
              s->eigen.template train<1>(s->d.sample(i), s->d.target(i), nullptr, timing_lr));
        }
      } else {
        std::size_t const b = i % (samples / batch);
        if constexpr (Propel) {
          benchmark::DoNotOptimize(t.step(s->Xs[b], s->Ys[b]));
        } else {
          benchmark::DoNotOptimize(s->eigen.template train<batch>(
              s->d.sample(b * batch), s->d.target(b * batch), nullptr, timing_lr));
        }
      }
      benchmark::ClobberMemory();
      i = (i + 1) % samples;
    }
    st.counters["samples"] = Op == 2 ? double(batch) : 1.0;
    st.counters["flops_per_sample"] = Op == 0 ? flops : training_flops;
  }

  static void add() {
    check();
    char const* ops[] = {"infer1", "train1", "train32"};
    auto reg = [&]<int Op>() {
      std::string const base = "width/" + std::to_string(W) + "/" + ops[Op] + "/";
      benchmark::RegisterBenchmark((base + "propel").c_str(), run<Op, true>);
      benchmark::RegisterBenchmark((base + "eigen").c_str(), run<Op, false>);
    };
    reg.template operator()<0>();
    reg.template operator()<1>();
    reg.template operator()<2>();
  }
};

}  // namespace
}  // namespace bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  bench::sweep<16>::add();
  bench::sweep<32>::add();
  bench::sweep<64>::add();
  bench::sweep<128>::add();
  bench::sweep<256>::add();
  bench::sweep<512>::add();
  benchmark::AddCustomContext("compiler", PROPEL_BENCH_COMPILER);
  benchmark::AddCustomContext("flags", PROPEL_BENCH_FLAGS_TEXT);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
