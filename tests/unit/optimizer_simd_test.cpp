// SPDX-License-Identifier: BSL-1.0
// The optimizers' block updates (a stepper's block<Rows, Cols>, which the backward pass of
// W·x hands a block of derivatives) give exactly the bits (any NaN for a NaN, see same()) of
// the element-by-element update (the stepper's call operator, scalar): Adam and AdamW, whose
// block moves vectors of simd_t with the square root detail::simd_sqrt, with and without
// weight decay at several steps; SGD, whose block is a loop with its options fixed, with
// every combination of momentum, Nesterov, weight decay and first step. Each block is run
// twice: with derivatives given element by element, and with their vector form
// (detail::with_vector, what the backward pass hands a block where it can), which moves the
// parameters a vector at a time. The parameters,
// moments and derivatives are drawn from a grid of values (±0, subnormals, ±inf, NaN, values
// near 1 and far from it) in every lane position; blocks whose rows are whole vectors,
// shorter than a vector, and with a partial vector at the end; the elements around each
// block untouched. Then detail::simd_sqrt alone against std::sqrt over a strided walk of all
// float bit patterns and over spread-out doubles. Built without FMA contraction
// (tests/CMakeLists.txt): a compiler that fuses a * b + c may fuse each inlined copy of
// either form differently.
#define BOOST_TEST_MODULE optimizer_simd
#include <array>
#include <bit>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <propel/nn/optimizer.hpp>
#include <vector>

#include "support/bit_equality.hpp"

namespace pp = propel;
using bit_equality::bits;
using bit_equality::same;

namespace {

/// The grid: special values and ordinary ones of both signs.
template <class T>
std::vector<T> grid() {
  using lim = std::numeric_limits<T>;
  std::vector<T> xs = {T(0),
                       T(1),
                       T(0.5),
                       T(1e-3),
                       T(3.25),
                       T(1e-20),
                       T(7e4),
                       lim::min(),
                       lim::denorm_min(),
                       lim::max(),
                       T(1) + lim::epsilon(),
                       lim::infinity(),
                       lim::quiet_NaN(),
                       T(0.1),
                       T(2e-8),
                       T(12345.678)};
  return bit_equality::both_signs(xs);
}

/// Runs the block update and the element-by-element update of stepper s on copies of the
/// same parameters and state (and derivatives), Rows x Cols elements from an offset, and
/// checks every element (the untouched ones around the block included) bit for bit.
template <class T, std::size_t Rows, std::size_t Cols, std::size_t States, class S>
void check_block(S const& s, std::size_t seed) {
  std::vector<T> const g = grid<T>();
  constexpr std::size_t pad = 3;
  constexpr std::size_t n = Rows * Cols + 2 * pad;
  auto value = [&](std::size_t i, std::size_t k) {
    return g[(i * (k + 3) + seed * 7 + k) % g.size()];
  };
  std::vector<T> p0(n), d(n);
  std::array<std::vector<T>, States> st0;
  for (std::size_t i = 0; i < n; ++i) {
    p0[i] = value(i, 0);
    d[i] = value(i, 1);
  }
  for (std::size_t k = 0; k < States; ++k) {
    st0[k].resize(n);
    for (std::size_t i = 0; i < n; ++i) st0[k][i] = value(i, k + 2);
  }
  std::vector<T> pv = p0, pw = p0, ps = p0;
  std::array<std::vector<T>, States> sv = st0, sw = st0, ss = st0;
  std::array<T*, States> stv, stw, sts;
  for (std::size_t k = 0; k < States; ++k) {
    stv[k] = sv[k].data(), stw[k] = sw[k].data(), sts[k] = ss[k].data();
  }

  T const* dd = d.data() + pad;
  auto const f = [dd](std::size_t r, std::size_t c) { return dd[r * Cols + c]; };
  s.template block<Rows, Cols>(pad, pv.data(), f, stv);
#ifdef PROPEL_DETAIL_VECTOR_TYPES
  s.template block<Rows, Cols>(
      pad, pw.data(),
      pp::detail::with_vector{
          f,
          [dd](std::size_t r, std::size_t c) { return pp::detail::simd_load(dd + r * Cols + c); }},
      stw);
#else
  s.template block<Rows, Cols>(pad, pw.data(), f, stw);
#endif
  for (std::size_t i = 0; i < Rows * Cols; ++i) s(pad + i, ps.data(), dd[i], sts);

  for (std::size_t i = 0; i < n; ++i) {
    BOOST_TEST_INFO("element " << i << " p " << p0[i] << " g " << d[i]);
    BOOST_TEST(same(pv[i], ps[i]));
    BOOST_TEST(same(pw[i], ps[i]));
    for (std::size_t k = 0; k < States; ++k) {
      BOOST_TEST(same(sv[k][i], ss[k][i]));
      BOOST_TEST(same(sw[k][i], ss[k][i]));
    }
  }
}

/// check_block for block shapes around the vector width: whole vectors, fewer elements than
/// a vector, whole vectors and a partial one, several rows.
template <class T, std::size_t States, class S>
void check_shapes(S const& s) {
#ifdef __OPTIMIZE__
  constexpr std::size_t seeds = 8;
#else
  constexpr std::size_t seeds = 3;  // -O0 under the sanitizers
#endif
  for (std::size_t seed = 0; seed < seeds; ++seed) {
    check_block<T, 1, 1, States>(s, seed);
    check_block<T, 3, 5, States>(s, seed);
    check_block<T, 2, 8, States>(s, seed);
    check_block<T, 2, 16, States>(s, seed);
    check_block<T, 3, 19, States>(s, seed);
    check_block<T, 1, 37, States>(s, seed);
    check_block<T, 4, 64, States>(s, seed);
  }
}

template <class T>
void check_sgd() {
  for (int flags = 0; flags < 16; ++flags) {
    pp::sgd const opt{.lr = 0.125,
                      .momentum = (flags & 1) ? 0.9 : 0.0,
                      .nesterov = (flags & 2) != 0,
                      .weight_decay = (flags & 4) ? 1e-2 : 0.0};
    BOOST_TEST_CONTEXT("sgd flags " << flags) {
      check_shapes<T, 1>(opt.at_step<T>((flags & 8) ? 1 : 5));
    }
  }
}

template <class T>
void check_adam() {
  for (std::uint64_t step : {1u, 2u, 1000u}) {
    for (double wd : {0.0, 0.05}) {
      BOOST_TEST_CONTEXT("adam step " << step << " weight decay " << wd) {
        check_shapes<T, 2>(pp::adam{.lr = 0.01, .weight_decay = wd}.at_step<T>(step));
      }
      BOOST_TEST_CONTEXT("adamw step " << step << " weight decay " << wd) {
        check_shapes<T, 2>(pp::adamw{.lr = 0.01, .weight_decay = wd}.at_step<T>(step));
      }
    }
  }
  // both decays at once (no public optimizer has it, but the stepper allows it)
  check_shapes<T, 2>(pp::detail::make_adam_stepper<T>(0.01, 0.9, 0.999, 1e-8, 0.05, 0.05, 3));
}

}  // namespace

BOOST_AUTO_TEST_CASE(sgd_block_matches_elementwise_float) { check_sgd<float>(); }
BOOST_AUTO_TEST_CASE(sgd_block_matches_elementwise_double) { check_sgd<double>(); }
BOOST_AUTO_TEST_CASE(adam_block_matches_elementwise_float) { check_adam<float>(); }
BOOST_AUTO_TEST_CASE(adam_block_matches_elementwise_double) { check_adam<double>(); }

#ifdef PROPEL_DETAIL_VECTOR_TYPES
namespace {
template <class T>
void check_sqrt(std::vector<T> const& xs) {
  constexpr std::size_t L = pp::detail::vector_lanes<T>;
  using V = pp::detail::simd_t<T>;
  std::size_t bad = 0;
  for (std::size_t i = 0; i + L <= xs.size(); i += L) {
    V const r = pp::detail::simd_sqrt<T>(pp::detail::simd_load(xs.data() + i));
    for (std::size_t l = 0; l < L; ++l) {
      if (bits(T(r[l])) != bits(std::sqrt(xs[i + l]))) {
        if (++bad < 10) BOOST_TEST_MESSAGE("sqrt(" << xs[i + l] << ") = " << r[l]);
      }
    }
  }
  BOOST_TEST(bad == 0u);
}
}  // namespace

BOOST_AUTO_TEST_CASE(simd_sqrt_float_all_bit_patterns_strided) {
#ifdef __OPTIMIZE__
  constexpr std::uint32_t stride = 509;
#else
  constexpr std::uint32_t stride = 16381;
#endif
  std::vector<float> xs;
  for (std::uint64_t b = 0; b <= 0xffffffffu; b += stride) {
    xs.push_back(std::bit_cast<float>(static_cast<std::uint32_t>(b)));
  }
  for (float x : grid<float>()) xs.push_back(x);
  while (xs.size() % pp::detail::vector_lanes<float> != 0) xs.push_back(0.0f);
  check_sqrt(xs);
}

BOOST_AUTO_TEST_CASE(simd_sqrt_double_edges) {
  std::vector<double> xs = grid<double>();
  for (std::uint64_t b = 0; b < 200000; ++b) {
    xs.push_back(std::bit_cast<double>(b * 0x0000a3f1d7b3c5e1ull));
  }
  while (xs.size() % pp::detail::vector_lanes<double> != 0) xs.push_back(0.0);
  check_sqrt(xs);
}
#endif
