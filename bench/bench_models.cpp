// SPDX-License-Identifier: BSL-1.0
/// \file What a network written as propel::model costs, in pairs (models/ops.hpp): the ctrl
/// and digits mlps written by hand as a model against propel::mlp (the same code should
/// come out: the same time); a residual model against the same layers without the skip
/// connection, and a model with two heads against one head of their combined width (the
/// difference should be what the extra operations cost, no per-call overhead). Each network
/// is reached as a user's harness reaches a library: through function pointers defined in
/// another translation unit (models/models.cpp, no link-time optimisation), the loop count
/// and the cycle over the data set's 256 samples (8 batches of 32) known only at run time.
///
/// Before any timing every pair is checked: a model against its mlp through
/// bench::check_against (outputs, loss and SGD step); the residual, plain, two-head and
/// one-head networks against plain loops computing the same forward pass and loss here.
///
/// Usage: propel_bench_models [benchmark flags]   times "models/<pair>/<op>/<network>"
///        propel_bench_models --callgrind N [filter]
///          under `valgrind --tool=callgrind --collect-atstart=no`: N calls of each cell
///          (whose name contains filter), each cell's instructions dumped as one part named
///          after it (bench/models_run --callgrind divides by N).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "check.hpp"
#include "common.hpp"
#include "models/ops.hpp"

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define PROPEL_BENCH_CALLGRIND 1
#endif

namespace bench::models {
namespace {

/// A network seen through its function pointers, with the member names check.hpp expects.
struct handle {
  variant const* v;
  void* self;
  handle(variant const& table, float lr) : v(&table), self(table.make(lr)) {}
  ~handle() { v->destroy(self); }
  handle(handle const&) = delete;
  handle& operator=(handle const&) = delete;
  void load(float const* p) { v->load(self, p); }
  void store(float* p) const { v->store(self, p); }
  float const* infer1(std::size_t i) { return v->infer1(self, i); }
  float const* infer32(std::size_t i) { return v->infer32(self, i); }
  float train1(std::size_t i) { return v->train1(self, i); }
  float train32(std::size_t i) { return v->train32(self, i); }
  [[nodiscard]] std::vector<float> read(std::size_t rows) const {
    std::vector<float> out(rows * v->outputs);
    v->read(self, rows, out.data());
    return out;
  }
};

// ---- plain-loop references of the residual and two-head pairs ---------------------------

/// y = W x + b, W rows x cols (row-major) at p, b after it; returns p past b.
float const* affine(float const* p, std::size_t rows, std::size_t cols, float const* x, float* y) {
  for (std::size_t r = 0; r < rows; ++r) {
    double s = p[rows * cols + r];
    for (std::size_t c = 0; c < cols; ++c) s += double(p[r * cols + c]) * x[c];
    y[r] = float(s);
  }
  return p + rows * cols + rows;
}

/// The outputs of one sample: check_kind::residual (first: with the skip; second: without)
/// or check_kind::heads (the first's layout: trunk, actor, critic; actor and critic side by
/// side), from the first network's parameters.
std::vector<float> reference(check_kind kind, bool skip, std::vector<float> const& params,
                             float const* x) {
  constexpr std::size_t n = 64;
  float const* p = params.data();
  std::vector<float> h(n), t(n);
  if (kind == check_kind::residual) {
    std::vector<float> y(10);
    p = affine(p, n, n, x, h.data());
    for (auto& v : h) v = std::max(v, 0.0f);
    p = affine(p, n, n, h.data(), t.data());
    for (std::size_t i = 0; i < n; ++i) t[i] = std::max(t[i], 0.0f) + (skip ? h[i] : 0.0f);
    affine(p, 10, n, t.data(), y.data());
    return y;
  }
  std::vector<float> y(11);
  p = affine(p, n, n, x, h.data());
  for (auto& v : h) v = std::tanh(v);
  p = affine(p, 10, n, h.data(), y.data());
  affine(p, 1, n, h.data(), y.data() + 10);
  return y;
}

[[noreturn]] void fail(char const* pair, char const* net, char const* what, double err) {
  std::fprintf(stderr,
               "bench: %s/%s disagrees with the reference on %s (max relative error %.3g); not "
               "timing a network that computes something else\n",
               pair, net, what, err);
  std::exit(1);
}

/// The residual and two-head pairs against the loops above: outputs of sample 3 and of
/// batch 1, and the loss of a step on sample 5 and on batch 2 (the loss before the update:
/// softmax cross-entropy for the residual pair; mse of each head, added, for two heads; mse
/// of the 11 outputs for one head), and that the step moved the parameters.
void check_against_loops(pair const& pr, std::vector<float> const& p0) {
  constexpr double tol = 1e-4;
  for (int which = 0; which < 2; ++which) {
    variant const& v = which == 0 ? pr.first : pr.second;
    std::vector<float> const p = which == 0 ? p0 : pr.second_params(p0);
    bool const skip = which == 0;
    data_set const& d = v.data();
    handle h(v, check_lr);
    auto outputs_of = [&](std::size_t first, std::size_t rows) {
      std::vector<float> y;
      for (std::size_t s = first; s < first + rows; ++s) {
        auto const r = reference(pr.check, skip, p0, d.sample(s));
        y.insert(y.end(), r.begin(), r.end());
      }
      return y;
    };
    auto loss_of = [&](std::size_t first, std::size_t rows) {
      auto const y = outputs_of(first, rows);
      double loss = 0;
      if (pr.check == check_kind::residual) {
        for (std::size_t s = 0; s < rows; ++s) {
          float const* z = y.data() + s * 10;
          double const top = *std::max_element(z, z + 10);
          double sum = 0;
          for (std::size_t j = 0; j < 10; ++j) sum += std::exp(z[j] - top);
          loss += top + std::log(sum) - z[*d.label(first + s)];
        }
        return loss / double(rows);
      }
      double actor = 0, critic = 0;
      for (std::size_t s = 0; s < rows; ++s) {
        for (std::size_t j = 0; j < 11; ++j) {
          double const e = y[s * 11 + j] - d.target(first + s)[j];
          (j < 10 ? actor : critic) += e * e;
        }
      }
      if (which == 0) return actor / double(rows * 10) + critic / double(rows);
      return (actor + critic) / double(rows * 11);
    };
    h.load(p.data());
    h.infer1(3);
    auto const want1 = outputs_of(3, 1);
    if (double e = max_rel_error(h.read(1).data(), want1.data(), want1.size(), 1e-2); e > tol)
      fail(pr.name, v.name, "infer1", e);
    h.infer32(1);
    auto const want32 = outputs_of(batch, batch);
    if (double e = max_rel_error(h.read(batch).data(), want32.data(), want32.size(), 1e-2); e > tol)
      fail(pr.name, v.name, "infer32", e);
    auto check_step = [&](char const* what, float loss, double want) {
      float const w = float(want);
      if (double e = max_rel_error(&loss, &w, 1, 1e-2); e > tol) fail(pr.name, v.name, what, e);
      std::vector<float> after(p.size());
      h.store(after.data());
      bool moved = false;
      for (std::size_t i = 0; i < p.size(); ++i) {
        if (!std::isfinite(after[i])) fail(pr.name, v.name, what, INFINITY);
        moved = moved || after[i] != p[i];
      }
      if (!moved) fail(pr.name, v.name, what, 0);
      h.load(p.data());
    };
    check_step("train1", h.train1(5), loss_of(5, 1));
    check_step("train32", h.train32(2), loss_of(2 * batch, batch));
  }
}

void check(pair const& pr) {
  if (pr.check == check_kind::same) {
    handle a(pr.first, check_lr), b(pr.second, check_lr);
    check_against(a, b, pr.first.initial(), pr.first.outputs, pr.name, pr.second.name);
    if (pr.first.initial() != pr.second.initial()) {
      fail(pr.name, pr.second.name, "initial parameters (propel::init)", 1);
    }
  } else {
    std::vector<float> p0 = pr.first.initial();
    rng r{2024};
    for (auto& v : p0) v += r.uniform(-0.01f, 0.01f);  // so that the biases are not zero
    check_against_loops(pr, p0);
  }
}

// ---- timing ------------------------------------------------------------------------------

enum class op { infer1, infer32, train1, train32 };
char const* const op_names[] = {"infer1", "infer32", "train1", "train32"};

struct cell {
  std::string name;
  variant const* net;
  std::vector<float> params;
  op which;
};

/// Calls `c` n times (at least once), cycling over the samples or batches.
template <class Each>
void repeat(cell const& c, handle& h, Each&& each) {
  bool const single = c.which == op::infer1 || c.which == op::train1;
  std::size_t const count = single ? samples : samples / batch;
  std::size_t i = 0;
  void* const self = h.self;
  if (c.which == op::infer1 || c.which == op::infer32) {
    auto const f = c.which == op::infer1 ? c.net->infer1 : c.net->infer32;
    each([&] {
      benchmark::DoNotOptimize(f(self, i));
      benchmark::ClobberMemory();
      if (++i == count) i = 0;
    });
  } else {
    auto const f = c.which == op::train1 ? c.net->train1 : c.net->train32;
    each([&] {
      benchmark::DoNotOptimize(f(self, i));
      benchmark::ClobberMemory();
      if (++i == count) i = 0;
    });
  }
}

void time_cell(benchmark::State& state, cell const& c) {
  handle h(*c.net, timing_lr);
  h.load(c.params.data());
  repeat(c, h, [&](auto const& call) {
    for (auto _ : state) call();
  });
  bool const single = c.which == op::infer1 || c.which == op::train1;
  state.counters["samples"] = single ? 1.0 : double(batch);
}

/// Each cell's instructions for n calls, in a callgrind part of its own (see the file
/// comment).
int count_instructions(std::vector<cell> const& cells, long n, char const* filter) {
#ifdef PROPEL_BENCH_CALLGRIND
  if (!RUNNING_ON_VALGRIND) {
    std::fprintf(stderr,
                 "--callgrind: run under valgrind --tool=callgrind "
                 "--collect-atstart=no (bench/models_run --callgrind does)\n");
    return 2;
  }
  for (auto const& c : cells) {
    if (filter && c.name.find(filter) == std::string::npos) continue;
    handle h(*c.net, timing_lr);
    h.load(c.params.data());
    repeat(c, h, [&](auto const& call) {
      call();  // warm-up, not counted
      CALLGRIND_TOGGLE_COLLECT;
      for (long k = 0; k < n; ++k) call();
      CALLGRIND_TOGGLE_COLLECT;
    });
    CALLGRIND_DUMP_STATS_AT(c.name.c_str());
  }
  return 0;
#else
  (void)cells, (void)n, (void)filter;
  std::fprintf(stderr, "--callgrind: built without <valgrind/callgrind.h> (Debian: valgrind)\n");
  return 2;
#endif
}

}  // namespace
}  // namespace bench::models

int main(int argc, char** argv) {
  using namespace bench::models;
  long callgrind_calls = 0;
  char const* filter = nullptr;
  if (argc >= 3 && std::strcmp(argv[1], "--callgrind") == 0) {
    callgrind_calls = std::strtol(argv[2], nullptr, 10);
    if (callgrind_calls <= 0) {
      std::fprintf(stderr, "--callgrind needs a positive number of calls\n");
      return 2;
    }
    if (argc >= 4) filter = argv[3];
  } else {
    benchmark::Initialize(&argc, argv);
  }

  static std::vector<pair> const all = pairs();
  for (auto const& pr : all) check(pr);
  if (!callgrind_calls) {
    std::fprintf(stderr,
                 "bench: every pair checked (a model against its mlp; the residual and "
                 "two-head pairs against plain loops)\n");
  }

  static std::vector<cell> cells;  // RegisterBenchmark's closures refer to these
  cells.reserve(all.size() * 8);
  for (auto const& pr : all) {
    std::vector<float> const p1 = pr.first.initial();
    std::vector<float> const p2 = pr.second_params(p1);
    for (int o = 0; o < 4; ++o) {
      for (int which = 0; which < 2; ++which) {
        variant const& v = which == 0 ? pr.first : pr.second;
        cells.push_back({std::string("models/") + pr.name + "/" + op_names[o] + "/" + v.name, &v,
                         which == 0 ? p1 : p2, static_cast<op>(o)});
      }
    }
  }
  if (callgrind_calls) return count_instructions(cells, callgrind_calls, filter);

  for (auto const& c : cells) {
    cell const* p = &c;
    benchmark::RegisterBenchmark(c.name.c_str(), [p](benchmark::State& s) { time_cell(s, *p); });
  }
  benchmark::AddCustomContext("compiler", PROPEL_BENCH_COMPILER);
  benchmark::AddCustomContext("flags", PROPEL_BENCH_FLAGS_TEXT);
  benchmark::AddCustomContext("caller", "hostile");
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
