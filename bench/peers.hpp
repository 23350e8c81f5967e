// SPDX-License-Identifier: BSL-1.0
/// \file The four workloads of DESIGN.md (tiny, ctrl, digits, mnist) and every peer behind one
/// interface (load/store PyTorch-ordered parameters; infer1, infer32, train1, train32 on
/// sample or batch i of the data set), plus the check that a peer computes what propel
/// computes. Shared by the friendly benchmark (bench_mlp.cpp) and the hostile-caller one
/// (hostile/). The runtime-shaped peers (LibTorch, LIBXSMM, oneDNN) are declared only when
/// the build found them: PROPEL_BENCH_TORCH, PROPEL_BENCH_XSMM, PROPEL_BENCH_DNNL.
#pragma once

#include <algorithm>
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
#include "check.hpp"
#include "common.hpp"
#ifdef PROPEL_BENCH_TORCH
#include "baselines/torch_mlp.hpp"
#endif
#ifdef PROPEL_BENCH_XSMM
#include "baselines/xsmm_mlp.hpp"
#endif
#ifdef PROPEL_BENCH_DNNL
#include "baselines/dnnl_mlp.hpp"
#endif

namespace bench {

namespace pp = propel;

/// Layers with at most this many weights use Eigen's lazyProduct (see eigen_mlp.hpp).
inline constexpr std::size_t eigen_lazy_limit = PROPEL_BENCH_EIGEN_LAZY_LIMIT;

/// A workload: the propel network and loss, and the same topology for the baselines. The
/// inputs lie in [Lo, Hi) (integers: clang++ 14 takes no float template argument).
template <class Net, class Loss, loss_kind L, int Lo, int Hi, std::size_t In, class... Layers>
struct workload {
  using propel_net = Net;
  using propel_loss = Loss;
  static constexpr loss_kind loss = L;
  static constexpr std::size_t inputs = In;
  static constexpr std::size_t outputs = Net::output_size;
  static constexpr float lo = Lo, hi = Hi;
  static constexpr double flops = forward_flops<In, Layers...>();
  static constexpr double training_flops = train_flops<In, Layers...>();
  using eigen = eigen_mlp<L, In, Eigen::RowMajor, eigen_lazy_limit, Layers...>;
  using loops = loops_mlp<L, In, Layers...>;
  static std::vector<std::size_t> widths() { return {In, Layers::out...}; }
  static std::vector<act> acts() { return {Layers::activation...}; }
};

struct tiny : workload<pp::mlp<float, pp::input<2>, pp::dense<16, pp::tanh>,
                               pp::dense<16, pp::tanh>, pp::dense<1>>,
                       pp::mse, loss_kind::mse, -1, 1, 2, layer<16, act::tanh>,
                       layer<16, act::tanh>, layer<1, act::identity>> {
  static constexpr char const* name = "tiny";
};
struct ctrl : workload<pp::mlp<float, pp::input<16>, pp::dense<32, pp::relu>,
                               pp::dense<32, pp::relu>, pp::dense<4>>,
                       pp::mse, loss_kind::mse, -1, 1, 16, layer<32, act::relu>,
                       layer<32, act::relu>, layer<4, act::identity>> {
  static constexpr char const* name = "ctrl";
};
struct digits : workload<pp::mlp<float, pp::input<64>, pp::dense<64, pp::relu>, pp::dense<10>>,
                         pp::softmax_cross_entropy, loss_kind::softmax_ce, 0, 1, 64,
                         layer<64, act::relu>, layer<10, act::identity>> {
  static constexpr char const* name = "digits";
};
struct mnist : workload<pp::mlp<float, pp::input<784>, pp::dense<128, pp::relu>,
                                pp::dense<64, pp::relu>, pp::dense<10>>,
                        pp::softmax_cross_entropy, loss_kind::softmax_ce, 0, 1, 784,
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

/// The peers with run-time shapes (LibTorch, LIBXSMM, oneDNN): all take float pointers,
/// samples one per row.
template <class W, class Impl>
struct runtime_peer {
  Impl net;
  data_set const* ds;
  std::array<float, batch * W::outputs> y;
  runtime_peer(data_set const& d, float lr) : net(W::widths(), W::acts(), W::loss, lr), ds(&d) {}
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
#ifdef PROPEL_BENCH_TORCH
template <class W>
using torch_peer = runtime_peer<W, torch_mlp>;
#endif
#ifdef PROPEL_BENCH_XSMM
template <class W>
using xsmm_peer = runtime_peer<W, xsmm_mlp>;
#endif
#ifdef PROPEL_BENCH_DNNL
template <class W>
using dnnl_peer = runtime_peer<W, dnnl_mlp>;
#endif

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

template <class W, template <class> class Peer>
void check_peer(char const* peer_name) {
  auto const& d = data<W>();
  auto ref = std::make_unique<propel_peer<W>>(d, check_lr);
  auto peer = std::make_unique<Peer<W>>(d, check_lr);
  check_against(*ref, *peer, initial_params<W>(), W::outputs, W::name, peer_name);
}

}  // namespace bench
