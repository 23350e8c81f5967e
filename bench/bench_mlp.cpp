// SPDX-License-Identifier: BSL-1.0
/// \file The workloads of DESIGN.md (tiny, ctrl, digits, mnist) x (infer1, infer32, train1,
/// train32), float, side by side in one binary: propel, a hand-written Eigen network, plain
/// loops and LibTorch (when built with it), plus this core's peak FMA throughput and L2
/// read bandwidth. Before any timing, every peer is checked against propel: same weights,
/// same inputs, same SGD step; outputs and updated weights must agree to 1e-4 (relative),
/// or the program stops with a message. bench/run formats the results.
#include <benchmark/benchmark.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <propel/propel.hpp>
#include <string>
#include <vector>

#include "baselines/eigen_mlp.hpp"
#include "baselines/loops_mlp.hpp"
#include "common.hpp"
#include "machine.hpp"
#ifdef PROPEL_BENCH_TORCH
#include "baselines/torch_mlp.hpp"
#endif

namespace pp = propel;

namespace bench {
namespace {

/// Layers with at most this many weights use Eigen's lazyProduct (see eigen_mlp.hpp).
inline constexpr std::size_t eigen_lazy_limit = PROPEL_BENCH_EIGEN_LAZY_LIMIT;

/// A workload: the propel network and loss, and the same topology for the baselines.
template <class Net, class Loss, loss_kind L, float Lo, float Hi, std::size_t In, class... Layers>
struct workload {
  using propel_net = Net;
  using propel_loss = Loss;
  static constexpr loss_kind loss = L;
  static constexpr std::size_t inputs = In;
  static constexpr std::size_t outputs = Net::output_size;
  static constexpr float lo = Lo, hi = Hi;  // range of the inputs
  static constexpr double flops = forward_flops<In, Layers...>();
  using eigen = eigen_mlp<L, In, Eigen::RowMajor, eigen_lazy_limit, Layers...>;
  using loops = loops_mlp<L, In, Layers...>;
  static std::vector<std::size_t> widths() { return {In, Layers::out...}; }
  static std::vector<act> acts() { return {Layers::activation...}; }
};

struct tiny : workload<pp::mlp<float, pp::input<2>, pp::dense<16, pp::tanh>,
                               pp::dense<16, pp::tanh>, pp::dense<1>>,
                       pp::mse, loss_kind::mse, -1.0f, 1.0f, 2, layer<16, act::tanh>,
                       layer<16, act::tanh>, layer<1, act::identity>> {
  static constexpr char const* name = "tiny";
};
struct ctrl : workload<pp::mlp<float, pp::input<16>, pp::dense<32, pp::relu>,
                               pp::dense<32, pp::relu>, pp::dense<4>>,
                       pp::mse, loss_kind::mse, -1.0f, 1.0f, 16, layer<32, act::relu>,
                       layer<32, act::relu>, layer<4, act::identity>> {
  static constexpr char const* name = "ctrl";
};
struct digits : workload<pp::mlp<float, pp::input<64>, pp::dense<64, pp::relu>, pp::dense<10>>,
                         pp::softmax_cross_entropy, loss_kind::softmax_ce, 0.0f, 1.0f, 64,
                         layer<64, act::relu>, layer<10, act::identity>> {
  static constexpr char const* name = "digits";
};
struct mnist : workload<pp::mlp<float, pp::input<784>, pp::dense<128, pp::relu>,
                                pp::dense<64, pp::relu>, pp::dense<10>>,
                        pp::softmax_cross_entropy, loss_kind::softmax_ce, 0.0f, 1.0f, 784,
                        layer<128, act::relu>, layer<64, act::relu>, layer<10, act::identity>> {
  static constexpr char const* name = "mnist";
};

constexpr std::size_t batches = samples / batch;

/// Every peer has the same interface: load/store PyTorch-ordered parameters, and run one
/// operation on sample (or batch) i of the data set, leaving its output in `out`.
template <class W>
struct propel_peer {
  using net_t = typename W::propel_net;
  static constexpr std::size_t in = W::inputs, out_n = W::outputs;
  static constexpr bool ce = W::loss == loss_kind::softmax_ce;

  net_t net;
  pp::trainer<net_t, typename W::propel_loss, pp::sgd, batch> t;
  std::vector<pp::vec<float, in>> xs;
  std::vector<pp::mat<float, batch, in>> Xs;
  std::vector<pp::vec<float, out_n>> ys;
  std::vector<pp::mat<float, batch, out_n>> Ys;
  std::vector<std::array<int, batch>> Ls;
  data_set const* ds;
  pp::vec<float, out_n> y1;
  pp::mat<float, batch, out_n> yb;

  propel_peer(data_set const& d, float lr) : t{net, {}, pp::sgd{.lr = lr}}, ds(&d) {
    xs.resize(samples);
    Xs.resize(batches);
    ys.resize(samples);
    Ys.resize(batches);
    Ls.resize(batches);
    for (std::size_t s = 0; s < samples; ++s) {
      for (std::size_t j = 0; j < in; ++j) xs[s][j] = d.sample(s)[j];
      for (std::size_t j = 0; j < out_n; ++j) ys[s][j] = d.target(s)[j];
      for (std::size_t j = 0; j < in; ++j) Xs[s / batch](s % batch, j) = d.sample(s)[j];
      for (std::size_t j = 0; j < out_n; ++j) Ys[s / batch](s % batch, j) = d.target(s)[j];
      Ls[s / batch][s % batch] = *d.label(s);
    }
  }
  void load(float const* p) {
    for (auto& v : net.params()) v = *p++;
  }
  void store(float* p) const {
    for (float v : net.params()) *p++ = v;
  }
  float const* infer1(std::size_t i) {
    y1 = net(xs[i]);
    return y1.data();
  }
  float const* infer32(std::size_t b) {
    yb = net(Xs[b]);
    return yb.data();
  }
  float train1(std::size_t i) {
    if constexpr (ce) {
      return t.step(xs[i], *ds->label(i));
    } else {
      return t.step(xs[i], ys[i]);
    }
  }
  float train32(std::size_t b) {
    if constexpr (ce) {
      return t.step(Xs[b], Ls[b]);
    } else {
      return t.step(Xs[b], Ys[b]);
    }
  }
};

/// Eigen and plain loops share this adapter: both take float pointers.
template <class W, class Net>
struct pointer_peer {
  Net net;
  data_set const* ds;
  float lr;
  std::array<float, batch * W::outputs> y;

  pointer_peer(data_set const& d, float rate) : ds(&d), lr(rate) {}
  void load(float const* p) { net.load(p); }
  void store(float* p) const { net.store(p); }
  float const* infer1(std::size_t i) {
    net.template infer<1>(ds->sample(i), y.data());
    return y.data();
  }
  float const* infer32(std::size_t b) {
    net.template infer<batch>(ds->sample(b * batch), y.data());
    return y.data();
  }
  float train1(std::size_t i) {
    return net.template train<1>(ds->sample(i), ds->target(i), ds->label(i), lr);
  }
  float train32(std::size_t b) {
    return net.template train<batch>(ds->sample(b * batch), ds->target(b * batch),
                                     ds->label(b * batch), lr);
  }
};
template <class W>
using eigen_peer = pointer_peer<W, typename W::eigen>;
template <class W>
using loops_peer = pointer_peer<W, typename W::loops>;

#ifdef PROPEL_BENCH_TORCH
template <class W>
struct torch_peer {
  torch_mlp net;
  data_set const* ds;
  std::array<float, batch * W::outputs> y;
  torch_peer(data_set const& d, float lr) : net(W::widths(), W::acts(), W::loss, lr), ds(&d) {}
  void load(float const* p) { net.load(p); }
  void store(float* p) const { net.store(p); }
  float const* infer1(std::size_t i) {
    net.infer(ds->sample(i), 1, y.data());
    return y.data();
  }
  float const* infer32(std::size_t b) {
    net.infer(ds->sample(b * batch), batch, y.data());
    return y.data();
  }
  float train1(std::size_t i) { return net.train(ds->sample(i), 1, ds->target(i), ds->label(i)); }
  float train32(std::size_t b) {
    return net.train(ds->sample(b * batch), batch, ds->target(b * batch), ds->label(b * batch));
  }
};
#endif

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

template <class W>
data_set const& data() {
  static data_set const d(W::inputs, W::outputs, W::lo, W::hi, 7);
  return d;
}
template <class W>
std::vector<float> const& initial_params() {
  static std::vector<float> const p = [] {
    auto net = std::make_unique<typename W::propel_net>();
    pp::init(*net, 42);
    return std::vector<float>(net->params().begin(), net->params().end());
  }();
  return p;
}

// ---- checking every peer against propel before timing ----------------------------------

/// Largest |a - b| / max(|a|, |b|, floor) over n values.
double max_rel_error(float const* a, float const* b, std::size_t n, double floor) {
  double worst = 0;
  for (std::size_t i = 0; i < n; ++i) {
    double const x = a[i], y = b[i];
    double const scale = std::max({std::abs(x), std::abs(y), floor});
    worst = std::max(worst, std::abs(x - y) / scale);
  }
  return worst;
}

template <class W, template <class> class Peer>
void check_peer(char const* peer_name) {
  constexpr double tol = 1e-4;
  auto const& d = data<W>();
  auto const& p0 = initial_params<W>();
  auto ref = std::make_unique<propel_peer<W>>(d, check_lr);
  auto peer = std::make_unique<Peer<W>>(d, check_lr);
  auto fail = [&](char const* what, double err) {
    std::fprintf(stderr,
                 "bench: %s disagrees with propel on %s/%s (max relative error %.3g > %.0e); "
                 "not timing a peer that computes something else\n",
                 peer_name, W::name, what, err, tol);
    std::exit(1);
  };
  ref->load(p0.data());
  peer->load(p0.data());
  // outputs of one sample and of one batch; floor: outputs are O(1)
  if (double e = max_rel_error(ref->infer1(3), peer->infer1(3), W::outputs, 1e-2); e > tol)
    fail("infer1", e);
  if (double e = max_rel_error(ref->infer32(1), peer->infer32(1), batch * W::outputs, 1e-2);
      e > tol)
    fail("infer32", e);
  // one SGD step: the updated weights, and the updates themselves (lr g) to 1e-3 of the
  // largest update, so that a wrong gradient cannot hide behind the weights
  std::vector<float> a(p0.size()), b(p0.size());
  auto check_step = [&](char const* what, auto step) {
    ref->load(p0.data());
    peer->load(p0.data());
    float const la = step(*ref), lb = step(*peer);
    ref->store(a.data());
    peer->store(b.data());
    if (double e = max_rel_error(&la, &lb, 1, 1e-2); e > tol) fail(what, e);
    if (double e = max_rel_error(a.data(), b.data(), a.size(), 1e-2); e > tol) fail(what, e);
    double big = 0, worst = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      big = std::max(big, std::abs(double(a[i]) - p0[i]));
      worst = std::max(worst, std::abs(double(a[i]) - double(b[i])));
    }
    if (big == 0 || worst > 1e-3 * big) fail(what, big == 0 ? 1.0 : worst / big);
  };
  check_step("train1", [](auto& p) { return p.train1(5); });
  check_step("train32", [](auto& p) { return p.train32(2); });
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
  double const flops = W::flops * (O == op::train1 || O == op::train32 ? 3.0 : 1.0);
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
#ifdef PROPEL_BENCH_TORCH
  check_peer<W, torch_peer>("libtorch");
#endif
  register_peer<W, propel_peer>("propel");
  register_peer<W, eigen_peer>("eigen");
  register_peer<W, loops_peer>("loops");
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
#ifdef PROPEL_BENCH_TORCH
                              " libtorch"
#endif
  );
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
