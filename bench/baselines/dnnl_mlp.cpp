// SPDX-License-Identifier: BSL-1.0
#include "dnnl_mlp.hpp"

#include <array>
#include <dnnl.hpp>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "loss_loops.hpp"

// GNU OpenMP, the runtime Debian's oneDNN is built on (declared here rather than through
// <omp.h>, which with clang++ -fopenmp would mean LLVM's runtime, not the one oneDNN uses).
extern "C" void omp_set_num_threads(int) noexcept;
extern "C" int omp_get_max_threads() noexcept;

namespace bench {

namespace {

using dnnl::memory;
using tag = memory::format_tag;
using args_t = std::unordered_map<int, memory>;

dnnl::algorithm eltwise_of(act a) {
  return a == act::relu ? dnnl::algorithm::eltwise_relu_use_dst_for_bwd
                        : dnnl::algorithm::eltwise_tanh_use_dst_for_bwd;
}

// oneDNN's JIT generates code for the core it runs on, whatever the build's -march: a build
// without AVX-512 (x86-64-v3) caps it at AVX2, so every peer of such a build uses the same
// instruction set. Only the first call, before any primitive or engine exists, takes effect.
void cap_jit_isa() {
#if defined(__x86_64__) && !defined(__AVX512F__)
  (void)dnnl::set_max_cpu_isa(dnnl::cpu_isa::avx2);
  if (dnnl::get_effective_cpu_isa() != dnnl::cpu_isa::avx2)
    throw std::runtime_error("dnnl_mlp: could not limit oneDNN's JIT to AVX2");
#endif
}

}  // namespace

// Everything is created once: for each layer and each row count (1, batch), the primitives
// and their argument maps over memory objects that wrap this object's buffers; a call only
// points the input memory at the caller's data and executes.
struct dnnl_mlp::impl {
  struct step {
    dnnl::primitive prim;
    args_t args;
  };
  struct shape {               // the primitives of one layer for one row count
    std::vector<float> a, da;  // this layer's output (rows x out) and d loss / d that output
    memory src, dst, ddst, dsrc;
    step infer, infer_act, train, train_act, act_back, back_data, back_weights;
  };
  struct layer {
    std::size_t in, out;
    act activation;
    std::vector<float> w, b, dw, db;  // w: oi (PyTorch's [out][in])
    memory wm, bm, dwm, dbm;
    std::array<shape, 2> shapes;
  };
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
  std::vector<layer> layers;
  loss_kind loss;
  float lr;

  static std::size_t slot(std::size_t rows) {
    if (rows == 1) return 0;
    if (rows == batch) return 1;
    throw std::invalid_argument("dnnl_mlp: primitives exist for 1 and " + std::to_string(batch) +
                                " rows only");
  }
  void run(step& s) { s.prim.execute(strm, s.args); }

  float const* forward(float const* x, std::size_t rows, bool training) {
    auto const s = slot(rows);
    layers.front().shapes[s].src.set_data_handle(const_cast<float*>(x));
    for (auto& L : layers) {
      auto& S = L.shapes[s];
      run(training ? S.train : S.infer);
      if (L.activation != act::identity) run(training ? S.train_act : S.infer_act);
    }
    strm.wait();
    return layers.back().shapes[s].a.data();
  }
};

dnnl_mlp::dnnl_mlp(std::vector<std::size_t> widths, std::vector<act> acts, loss_kind loss, float lr)
    : impl_((cap_jit_isa(), std::make_unique<impl>())) {
  // one thread, like every other peer
  omp_set_num_threads(1);
  if (omp_get_max_threads() != 1)
    throw std::runtime_error("dnnl_mlp: could not limit oneDNN's OpenMP runtime to one thread");
  auto& m = *impl_;
  m.loss = loss;
  m.lr = lr;
  auto const dim = [](std::size_t v) { return static_cast<memory::dim>(v); };
  auto const f32 = memory::data_type::f32;
  m.layers.resize(widths.size() - 1);
  for (std::size_t l = 0; l < m.layers.size(); ++l) {
    auto& L = m.layers[l];
    L.in = widths[l];
    L.out = widths[l + 1];
    L.activation = acts[l];
    L.w.resize(L.in * L.out);
    L.dw.resize(L.in * L.out);
    L.b.resize(L.out);
    L.db.resize(L.out);
    memory::desc const wd({dim(L.out), dim(L.in)}, f32, tag::oi);
    memory::desc const bd({dim(L.out)}, f32, tag::x);
    L.wm = memory(wd, m.eng, L.w.data());
    L.bm = memory(bd, m.eng, L.b.data());
    L.dwm = memory(wd, m.eng, L.dw.data());
    L.dbm = memory(bd, m.eng, L.db.data());
    for (std::size_t s = 0; s < 2; ++s) {
      std::size_t const rows = s == 0 ? 1 : batch;
      auto& S = L.shapes[s];
      memory::desc const sd({dim(rows), dim(L.in)}, f32, tag::nc);
      memory::desc const dd({dim(rows), dim(L.out)}, f32, tag::nc);
      S.a.resize(rows * L.out);
      S.da.resize(rows * L.out);
      // the input: the caller's data (layer 0) or the layer below's output and its gradient
      if (l == 0) {
        S.src = memory(sd, m.eng, DNNL_MEMORY_NONE);
      } else {
        S.src = m.layers[l - 1].shapes[s].dst;
        S.dsrc = m.layers[l - 1].shapes[s].ddst;
      }
      S.dst = memory(dd, m.eng, S.a.data());
      S.ddst = memory(dd, m.eng, S.da.data());

      using ipf = dnnl::inner_product_forward;
      ipf::primitive_desc const inf(ipf::desc(dnnl::prop_kind::forward_inference, sd, wd, bd, dd),
                                    m.eng);
      ipf::primitive_desc const trn(ipf::desc(dnnl::prop_kind::forward_training, sd, wd, bd, dd),
                                    m.eng);
      args_t const fwd{{DNNL_ARG_SRC, S.src},
                       {DNNL_ARG_WEIGHTS, L.wm},
                       {DNNL_ARG_BIAS, L.bm},
                       {DNNL_ARG_DST, S.dst}};
      S.infer = {ipf(inf), fwd};
      S.train = {ipf(trn), fwd};
      using ipw = dnnl::inner_product_backward_weights;
      S.back_weights = {ipw(ipw::primitive_desc(ipw::desc(sd, wd, bd, dd), m.eng, trn)),
                        {{DNNL_ARG_SRC, S.src},
                         {DNNL_ARG_DIFF_DST, S.ddst},
                         {DNNL_ARG_DIFF_WEIGHTS, L.dwm},
                         {DNNL_ARG_DIFF_BIAS, L.dbm}}};
      if (l > 0) {
        using ipd = dnnl::inner_product_backward_data;
        S.back_data = {
            ipd(ipd::primitive_desc(ipd::desc(sd, wd, dd), m.eng, trn)),
            {{DNNL_ARG_DIFF_DST, S.ddst}, {DNNL_ARG_WEIGHTS, L.wm}, {DNNL_ARG_DIFF_SRC, S.dsrc}}};
      }
      if (L.activation != act::identity) {
        using ef = dnnl::eltwise_forward;
        using eb = dnnl::eltwise_backward;
        auto const alg = eltwise_of(L.activation);
        ef::primitive_desc const einf(
            ef::desc(dnnl::prop_kind::forward_inference, alg, dd, 0.0f, 0.0f), m.eng);
        ef::primitive_desc const etrn(
            ef::desc(dnnl::prop_kind::forward_training, alg, dd, 0.0f, 0.0f), m.eng);
        args_t const inplace{{DNNL_ARG_SRC, S.dst}, {DNNL_ARG_DST, S.dst}};
        S.infer_act = {ef(einf), inplace};
        S.train_act = {ef(etrn), inplace};
        S.act_back = {
            eb(eb::primitive_desc(eb::desc(alg, dd, dd, 0.0f, 0.0f), m.eng, etrn)),
            {{DNNL_ARG_DST, S.dst}, {DNNL_ARG_DIFF_DST, S.ddst}, {DNNL_ARG_DIFF_SRC, S.ddst}}};
      }
    }
  }
}

dnnl_mlp::~dnnl_mlp() = default;

void dnnl_mlp::load(float const* p) {
  for (auto& L : impl_->layers) {
    std::copy(p, p + L.w.size(), L.w.begin());
    p += L.w.size();
    std::copy(p, p + L.b.size(), L.b.begin());
    p += L.b.size();
  }
}

void dnnl_mlp::store(float* p) const {
  for (auto const& L : impl_->layers) {
    p = std::copy(L.w.begin(), L.w.end(), p);
    p = std::copy(L.b.begin(), L.b.end(), p);
  }
}

void dnnl_mlp::infer(float const* x, std::size_t rows, float* y) {
  float const* z = impl_->forward(x, rows, false);
  std::copy(z, z + rows * impl_->layers.back().out, y);
}

float dnnl_mlp::train(float const* x, std::size_t rows, float const* y, int const* labels) {
  auto& m = *impl_;
  auto const s = impl::slot(rows);
  float const* z = m.forward(x, rows, true);
  auto& top = m.layers.back().shapes[s];
  float const loss =
      loss_and_gradient(m.loss, z, m.layers.back().out, rows, y, labels, top.da.data());
  for (std::size_t l = m.layers.size(); l-- > 0;) {
    auto& L = m.layers[l];
    auto& S = L.shapes[s];
    // da holds d loss / d a; through the activation it becomes d loss / d z, in place
    if (L.activation != act::identity) m.run(S.act_back);
    m.run(S.back_weights);
    if (l > 0) m.run(S.back_data);  // with W before its update
    m.strm.wait();
    for (std::size_t i = 0; i < L.w.size(); ++i) L.w[i] -= m.lr * L.dw[i];
    for (std::size_t i = 0; i < L.b.size(); ++i) L.b[i] -= m.lr * L.db[i];
  }
  return loss;
}

}  // namespace bench
