// SPDX-License-Identifier: BSL-1.0
// The forward kernels (detail/kernels.hpp) on shapes that reach every path: Y = X Wᵀ as dot
// tiles and as broadcast tiles over a packed Wᵀ, with rows and columns that do not fill a
// vector, tiles that do not fill the register budget, several panels of Wᵀ, the same in
// constant evaluation; the broadcast tiles of the backward pass, whose partial sums must be
// the same in constant evaluation; and the joint reduction of many dot products against one
// at a time.
#define BOOST_TEST_MODULE kernels
#include <array>
#include <boost/mpl/list.hpp>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstddef>
#include <memory>
#include <propel/detail/kernels.hpp>
#include <vector>

namespace detail = propel::detail;

namespace {

using scalar_types = boost::mpl::list<float, double>;

/// A value in [-1, 1) from the index: the same inputs everywhere, no generator state.
template <class T>
constexpr T input(std::size_t i, std::size_t salt) {
  std::size_t const h = (i * 2654435761u + salt * 40503u) % 2048u;
  return static_cast<T>(static_cast<double>(h) / 1024.0 - 1.0);
}

/// Y = X Wᵀ against the sum in double, within the bound of any summation order: K roundings
/// of the sum of |terms| (a wrong index is off by a whole term).
template <class T, std::size_t M, std::size_t N, std::size_t K>
void check_gemm_nt() {
  std::vector<T> x(M * K + 1), w(N * K + 1), y(M * N + 2, T(-7));
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = input<T>(i, 1);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = input<T>(i, 2);
  // offset by one element: no alignment beyond the scalar's may be assumed
  auto panel = std::make_unique<detail::panel_buffer<T, detail::gemm_nt_panel_size<T, M, N, K>>>();
  detail::gemm_nt<M, N, K>(x.data() + 1, w.data() + 1, y.data() + 1, panel->data());
  BOOST_TEST_CONTEXT("M = " << M << ", N = " << N << ", K = " << K) {
    BOOST_TEST(y.front() == T(-7));  // nothing written outside Y
    BOOST_TEST(y.back() == T(-7));
    for (std::size_t r = 0; r < M; ++r) {
      for (std::size_t o = 0; o < N; ++o) {
        double sum = 0, mag = 0;
        for (std::size_t p = 0; p < K; ++p) {
          double const t = double(x[1 + r * K + p]) * double(w[1 + o * K + p]);
          sum += t;
          mag += std::abs(t);
        }
        double const eps = std::is_same_v<T, float> ? 0x1p-24 : 0x1p-53;
        BOOST_TEST(std::abs(double(y[1 + r * N + o]) - sum) <= double(K + 1) * eps * mag,
                   "Y[" << r << ", " << o << "] = " << y[1 + r * N + o] << ", expected " << sum);
      }
    }
  }
}

template <class T, std::size_t M, std::size_t N, std::size_t K>
constexpr T gemm_nt_in_constant_evaluation() {
  T x[M * K], w[N * K], y[M * N];
  for (std::size_t i = 0; i < M * K; ++i) x[i] = input<T>(i, 1);
  for (std::size_t i = 0; i < N * K; ++i) w[i] = input<T>(i, 2);
  detail::panel_buffer<T, detail::gemm_nt_panel_size<T, M, N, K>> panel;
  detail::gemm_nt<M, N, K>(x, w, y, panel.data());
  T total{};
  for (T v : y) total += v;
  return total;
}

/// A value in [-1, 1) with a full mantissa (sums of products of input() are exact in float,
/// whatever their order).
template <class T>
constexpr T ragged(std::size_t i, std::size_t salt) {
  return static_cast<T>(static_cast<double>(input<double>(i, salt)) * (1.0 - 1.0 / 3e3));
}

/// dx = init + Wᵀ dz (W: M x K row-major) by gemm_bcast with one row, as the backward pass
/// of W·x forms it for one sample.
template <class T, std::size_t M, std::size_t K>
constexpr std::array<T, K> broadcast_wt_dz() {
  std::array<T, M * K> w{};
  std::array<T, M> dz{};
  std::array<T, K> dx{};
  for (std::size_t i = 0; i < M * K; ++i) w[i] = ragged<T>(i, 4);
  for (std::size_t i = 0; i < M; ++i) dz[i] = ragged<T>(i, 5);
  detail::gemm_bcast<1, K, M, M, 1, K>(
      dz.data(), w.data(), [](std::size_t, std::size_t p) { return ragged<T>(p, 6); },
      [&dx](std::size_t, std::size_t p, T v) { dx[p] = v; });
  return dx;
}

/// The run-time result against the sum in double, and bit for bit against constant
/// evaluation (plain loops that must split the sum exactly as the vector tiles do).
template <class T, std::size_t M, std::size_t K>
void check_broadcast_wt_dz() {
  static constexpr std::array<T, K> at_compile_time = broadcast_wt_dz<T, M, K>();
  std::array<T, K> at_run_time = broadcast_wt_dz<T, M, K>();
  BOOST_TEST_CONTEXT("M = " << M << ", K = " << K) {
    for (std::size_t p = 0; p < K; ++p) {
      double sum = double(ragged<T>(p, 6)), mag = std::abs(sum);
      for (std::size_t i = 0; i < M; ++i) {
        double const t = double(ragged<T>(i * K + p, 4)) * double(ragged<T>(i, 5));
        sum += t;
        mag += std::abs(t);
      }
      double const eps = std::is_same_v<T, float> ? 0x1p-24 : 0x1p-53;
      BOOST_TEST(std::abs(double(at_run_time[p]) - sum) <= double(M + 2) * eps * mag,
                 "dx[" << p << "] = " << at_run_time[p] << ", expected " << sum);
      BOOST_TEST(at_run_time[p] == at_compile_time[p], "dx[" << p << "]");
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE_TEMPLATE(gemm_nt_against_a_double_sum, T, scalar_types) {
  // one sample (matrix·vector): short, vector-length and long rows, tails, partial tiles
  check_gemm_nt<T, 1, 1, 16>();
  check_gemm_nt<T, 1, 16, 2>();
  check_gemm_nt<T, 1, 10, 64>();
  check_gemm_nt<T, 1, 17, 9>();
  check_gemm_nt<T, 1, 33, 100>();
  check_gemm_nt<T, 1, 128, 784>();
  // batches: both forms, columns that do not fill a vector, rows that do not fill a tile
  check_gemm_nt<T, 16, 3, 1>();  // once stored a vector to a misaligned stack slot (AVX-512)
  check_gemm_nt<T, 32, 3, 5>();
  check_gemm_nt<T, 32, 1, 16>();
  check_gemm_nt<T, 32, 16, 2>();
  check_gemm_nt<T, 32, 10, 64>();
  check_gemm_nt<T, 32, 64, 64>();
  check_gemm_nt<T, 5, 33, 16>();
  check_gemm_nt<T, 17, 31, 15>();
  check_gemm_nt<T, 3, 100, 7>();
  check_gemm_nt<T, 32, 128, 784>();
  // several panels of Wᵀ (more than 8192 elements), the last one short
  check_gemm_nt<T, 9, 128, 100>();
  check_gemm_nt<T, 4, 40, 300>();
}

BOOST_AUTO_TEST_CASE_TEMPLATE(broadcast_tiles_split_their_sums_alike_everywhere, T, scalar_types) {
  check_broadcast_wt_dz<T, 16, 16>();   // one or two vectors wide: 4 or 8 partial sums
  check_broadcast_wt_dz<T, 9, 16>();    // fewer sums for a short sum, one product left over
  check_broadcast_wt_dz<T, 40, 16>();   // several products per partial sum
  check_broadcast_wt_dz<T, 17, 32>();   // an odd product left over for the first sum
  check_broadcast_wt_dz<T, 7, 16>();    // too short to split
  check_broadcast_wt_dz<T, 64, 10>();   // columns that do not fill a vector: plain loops
  check_broadcast_wt_dz<T, 100, 64>();  // a long sum; with AVX-512, four vectors: no split
  check_broadcast_wt_dz<T, 33, 130>();  // tiles of several widths, a short last one
}

// the vector paths are run-time only; constant evaluation takes the plain loops
static_assert(gemm_nt_in_constant_evaluation<double, 3, 5, 17>() ==
              gemm_nt_in_constant_evaluation<double, 3, 5, 17>());
static_assert(gemm_nt_in_constant_evaluation<float, 32, 10, 64>() != 0.0f);
static_assert(gemm_nt_in_constant_evaluation<float, 1, 10, 64>() != 0.0f);

#ifdef PROPEL_DETAIL_VECTOR_TYPES
// simd_sum_many does the additions of simd_sum, in the same order: the same bits
BOOST_AUTO_TEST_CASE(simd_sum_many_matches_simd_sum) {
  using V = detail::simd_t<float>;
  constexpr std::size_t L = detail::vector_lanes<float>;
  auto run = [&]<std::size_t N>() {
    V acc[N];
    for (std::size_t j = 0; j < N; ++j) {
      float lanes[L];
      for (std::size_t l = 0; l < L; ++l)
        lanes[l] = std::ldexp(input<float>(j * L + l, 3), int(l % 7) * 5);
      acc[j] = detail::simd_load(lanes);
    }
    float sums[N];
    detail::simd_sum_many<float, PROPEL_VECTOR_BYTES, N>(acc, sums);
    for (std::size_t j = 0; j < N; ++j) BOOST_TEST(sums[j] == detail::simd_sum<float>(acc[j]));
  };
  run.template operator()<1>();
  run.template operator()<3>();
  run.template operator()<4>();
  run.template operator()<10>();
  run.template operator()<16>();
  run.template operator()<21>();
}
#endif
