// SPDX-License-Identifier: BSL-1.0
// The documented error bounds, swept against a more precise reference (long double <cmath>):
// the run-time float tanh (detail::fast_tanh, bound detail::fast_tanh_max_ulps) as a scalar
// function and in the vectorised loops of a tanh layer, single sample and batch; the run-time
// float exponential (detail::fast_exp, bound detail::fast_exp_max_ulps); and the
// constant-evaluation functions of propel/detail/math.hpp (bounds detail::math::ce::max_ulps),
// called at run time. Each grid walks the bit patterns with a stride (uniform in the exponent,
// so tiny, subnormal and huge arguments are all there), adds evenly spaced values where the
// function is used, and dense neighbourhoods of every branch threshold of the code, the
// saturation and overflow edges, zeros, infinities and NaN. README.md's sentence about the
// bounds is checked against the constants.
//
// Errors are measured in ulps of the exact value (the spacing of floats or doubles at its
// magnitude, 2^-149 or 2^-1074 below the normal range). Where the exact value rounds to an
// infinity, to a zero (of its sign) or to ±1, the result must be exactly that.
#define BOOST_TEST_MODULE accuracy
#include <algorithm>
#include <bit>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <initializer_list>
#include <iomanip>
#include <limits>
#include <propel/detail/fast_math.hpp>
#include <propel/detail/math.hpp>
#include <propel/propel.hpp>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

namespace pp = propel;
namespace ce = propel::detail::math::ce;

namespace {

// Unoptimised builds (the -O0 Debug configuration) walk a quarter of the strided grid, the
// threshold neighbourhoods in full: they run the same checks, slower.
#ifdef __OPTIMIZE__
constexpr std::uint64_t density = 4;
#else
constexpr std::uint64_t density = 1;
#endif

template <class T>
using bits_t = std::conditional_t<sizeof(T) == 8, std::uint64_t, std::uint32_t>;

/// The spacing of T at the magnitude of r (the exact value): 2^(e - digits) for r in
/// [2^(e-1), 2^e), and the subnormal spacing below the normal range (and at 0).
template <class T>
long double ulp_at(long double r) {
  constexpr int lowest = std::numeric_limits<T>::min_exponent - std::numeric_limits<T>::digits;
  int e = 0;
  if (r != 0) std::frexp(r, &e);
  return std::ldexp(1.0L, std::max(e - std::numeric_limits<T>::digits, lowest));
}

/// The error of y in ulps of the exact value (infinite for a wrong NaN, infinity, zero or
/// ±1; 0 for NaN where the exact value is NaN).
template <class T>
long double ulp_error(T y, long double exact) {
  using lim = std::numeric_limits<T>;
  constexpr long double wrong = std::numeric_limits<long double>::infinity();
  if (std::isnan(exact) || std::isnan(y)) return std::isnan(exact) && std::isnan(y) ? 0 : wrong;
  T const rounded = static_cast<T>(exact);
  // an exact value halfway between two Ts (as far as long double tells: the true value may be
  // on either side) may round either way
  T const neighbour = std::nextafter(rounded, exact > rounded ? lim::infinity() : -lim::infinity());
  bool const halfway =
      std::isfinite(rounded) && 2 * std::abs(exact - rounded) == std::abs(neighbour - rounded);
  if (!halfway && (std::isinf(rounded) || rounded == 0 || std::abs(rounded) == 1)) {
    return y == rounded && std::signbit(y) == std::signbit(rounded) ? 0 : wrong;
  }
  return std::abs(static_cast<long double>(y) - exact) / ulp_at<T>(exact);
}

/// The largest error seen, and where.
template <class T>
struct worst_error {
  long double error = 0;
  T x = 0;
  T y = 0;
  long double exact = 0;
  std::uint64_t points = 0;

  void add(T x_, T y_, long double exact_) {
    ++points;
    long double const e = ulp_error(y_, exact_);
    if (e > error) *this = {e, x_, y_, exact_, points};
  }
  [[nodiscard]] std::string describe() const {
    std::ostringstream out;
    out << std::setprecision(std::numeric_limits<T>::max_digits10) << static_cast<double>(error)
        << " ulp at x = " << x << " (" << std::hexfloat << x << std::defaultfloat << "): got " << y
        << ", exact " << std::setprecision(21) << exact << "; " << points << " points";
    return out.str();
  }
};

// -- grids: each calls visit(x) for the values it walks --------------------------------------

template <class T>
bits_t<T> bits(T x) {
  return std::bit_cast<bits_t<T>>(x);
}
template <class T>
T from_bits(bits_t<T> b) {
  return std::bit_cast<T>(b);
}

/// About `count` values from lo to hi (0 <= lo < hi, both included), evenly spaced in the bit
/// patterns: every binade between them gets its share.
template <class T, class Visit>
void stride(T lo, T hi, std::uint64_t count, Visit&& visit) {
  bits_t<T> const a = bits(lo);
  bits_t<T> const b = bits(hi);
  auto const step = static_cast<bits_t<T>>(std::max<std::uint64_t>(1, (b - a) / count));
  for (bits_t<T> u = a; u < b; u = static_cast<bits_t<T>>(u + step)) visit(from_bits<T>(u));
  visit(hi);
}

/// count + 1 values evenly spaced in value from lo to hi (lo < hi, either sign).
template <class T, class Visit>
void evenly(T lo, T hi, std::uint64_t count, Visit&& visit) {
  for (std::uint64_t i = 0; i <= count; ++i) {
    T const x = lo + (hi - lo) * static_cast<T>(i) / static_cast<T>(count);
    visit(x);
  }
}

/// The n values of T below c, c, and the n above (c >= 0; stops at 0 and at infinity).
template <class T, class Visit>
void around(T c, std::uint64_t n, Visit&& visit) {
  bits_t<T> const b = bits(c);
  bits_t<T> const lo = b > n ? static_cast<bits_t<T>>(b - n) : 0;
  bits_t<T> const inf = bits(std::numeric_limits<T>::infinity());
  bits_t<T> const hi =
      inf - b > n ? static_cast<bits_t<T>>(b + n) : static_cast<bits_t<T>>(inf - 1);
  for (bits_t<T> u = lo; u <= hi; ++u) visit(from_bits<T>(u));
}

/// Infinity, the largest finite value, zero, the smallest subnormal and NaN.
template <class T, class Visit>
void specials(Visit&& visit) {
  using lim = std::numeric_limits<T>;
  for (T x : {lim::infinity(), lim::max(), T(0), lim::denorm_min(), lim::min(), lim::quiet_NaN()}) {
    visit(x);
  }
}

// -- the run-time float tanh ------------------------------------------------------------------

/// The magnitudes at which fast_tanh is checked (each with both signs).
std::vector<float> tanh_grid() {
  std::vector<float> xs;
  auto const add = [&](float x) { xs.push_back(x); };
  // every binade of the finite floats; then [2^-13, 10] much denser: below 2^-13 tanh x
  // rounds to x, above 9.1 the result is 1
  stride(0.0f, std::numeric_limits<float>::max(), 65536 * density, add);
  stride(0x1p-13f, 10.0f, 262144 * density, add);
  // the branch at |x| = 0.55, the clamp at 9.1, and where tanh starts rounding to 1 (9.0109)
  for (float c : {0.55f, 9.1f, 9.01091099f}) around(c, 4096, add);
  // where the exponential's n = round(2 |x| / ln 2) steps, |r| = ln2 / 2 (n = 2 .. 26)
  for (int n = 1; n <= 26; ++n)
    around(static_cast<float>((n + 0.5) * 0.34657359027997264), 512, add);
  // tiny arguments, where x³/3 starts to count
  around(0x1p-12f, 1024, add);
  specials<float>(add);
  return xs;
}

/// fast_tanh as a scalar function: not inlined into the sweep's loop, which the compiler might
/// otherwise vectorise.
[[gnu::noinline]] float scalar_tanh(float x) { return pp::detail::fast_tanh(x); }

long double exact_tanh(float x) { return std::tanh(static_cast<long double>(x)); }

}  // namespace

BOOST_AUTO_TEST_SUITE(run_time_tanh)

BOOST_AUTO_TEST_CASE(scalar_fast_tanh_is_within_its_bound) {
  std::vector<float> const xs = tanh_grid();
  worst_error<float> worst;
  std::uint64_t not_odd = 0;
  for (float const m : xs) {
    float const y = scalar_tanh(m);
    float const y_neg = scalar_tanh(-m);
    worst.add(m, y, exact_tanh(m));
    worst.add(-m, y_neg, exact_tanh(-m));
    if (std::bit_cast<std::uint32_t>(y_neg) != std::bit_cast<std::uint32_t>(-y) && !std::isnan(y)) {
      ++not_odd;
    }
  }
  BOOST_TEST_MESSAGE("fast_tanh, scalar: " << worst.describe());
  BOOST_TEST(worst.error <= pp::detail::fast_tanh_max_ulps, "fast_tanh: " << worst.describe());
  BOOST_TEST(worst.points >= 650'000 * density);
  BOOST_TEST(not_odd == 0u, not_odd << " arguments where fast_tanh(-x) != -fast_tanh(x)");
  // ±inf, ±0 and NaN exactly
  BOOST_TEST(scalar_tanh(std::numeric_limits<float>::infinity()) == 1.0f);
  BOOST_TEST(scalar_tanh(-std::numeric_limits<float>::infinity()) == -1.0f);
  BOOST_TEST(std::signbit(scalar_tanh(-0.0f)));
  BOOST_TEST(std::isnan(scalar_tanh(std::numeric_limits<float>::quiet_NaN())));
  BOOST_TEST(std::isnan(scalar_tanh(-std::numeric_limits<float>::quiet_NaN())));
}

// A tanh layer applies fast_tanh in the epilogue of its product, a vector at a time (its
// vector form, where the target has vector registers): 1 -> chunk tanh with the grid as
// weights and the input 1 gives tanh of the grid (w * 1 + 0 is w, and -0 becomes +0), a
// batch of grid values through 1 -> 1 tanh with weight 1 the same down a column.
BOOST_AUTO_TEST_CASE(tanh_layer_is_within_the_bound) {
  constexpr std::size_t chunk = 256;
  std::vector<float> xs = tanh_grid();
  std::vector<float> const positive = xs;
  for (float const m : positive) xs.push_back(-m);
  while (xs.size() % chunk != 0) xs.push_back(0.5f);

  pp::mlp<float, pp::input<1>, pp::dense<chunk, pp::tanh>> wide{};
  pp::mlp<float, pp::input<1>, pp::dense<1, pp::tanh>> narrow{};
  narrow.layer<0>().weight.data()[0] = 1.0f;
  pp::vec<float, 1> const one{1.0f};
  pp::mat<float, chunk, 1> batch{};
  worst_error<float> single_worst;
  worst_error<float> batch_worst;
  for (std::size_t begin = 0; begin < xs.size(); begin += chunk) {
    std::copy_n(xs.begin() + static_cast<std::ptrdiff_t>(begin), chunk,
                wide.layer<0>().weight.data());
    std::copy_n(xs.begin() + static_cast<std::ptrdiff_t>(begin), chunk, batch.data());
    pp::vec<float, chunk> const y = wide(one);
    pp::mat<float, chunk, 1> const yb = narrow(batch);
    for (std::size_t i = 0; i < chunk; ++i) {
      float const z = xs[begin + i] + 0.0f;  // the pre-activation
      long double const exact = exact_tanh(z);
      single_worst.add(z, y[i], exact);
      batch_worst.add(z, yb.data()[i], exact);
    }
  }
  BOOST_TEST_MESSAGE("tanh layer, one sample: " << single_worst.describe());
  BOOST_TEST_MESSAGE("tanh layer, batch: " << batch_worst.describe());
  BOOST_TEST(single_worst.error <= pp::detail::fast_tanh_max_ulps,
             "one sample: " << single_worst.describe());
  BOOST_TEST(batch_worst.error <= pp::detail::fast_tanh_max_ulps,
             "batch: " << batch_worst.describe());
}

BOOST_AUTO_TEST_SUITE_END()

// -- the run-time float exponential -----------------------------------------------------------

namespace {

/// The arguments at which fast_exp is checked (both signs).
std::vector<float> exp_grid() {
  std::vector<float> xs;
  auto const add = [&](float x) {
    xs.push_back(x);
    xs.push_back(-x);
  };
  // every binade of the finite floats, then [2^-26, 104] densely: below it e^x rounds to 1
  // (or to the float below 1), past it to 0 or infinity
  stride(0.0f, std::numeric_limits<float>::max(), 65536 * density, add);
  stride(0x1p-26f, 104.0f, 262144 * density, add);
  // overflow (ln of the largest float), the first subnormal results (ln 2^-126), the last
  // nonzero ones (ln 2^-150), the clamps at 89 and -104, and the tiny arguments
  for (float c : {88.7228394f, 87.3365479f, 103.278931f, 103.972084f, 89.0f, 104.0f, 0x1p-24f}) {
    around(c, 4096, add);
  }
  // where n = round(x / ln 2) steps (|r| = ln2 / 2), and where the halves of n change
  for (int n = 0; n <= 150; n += 1) {
    around(static_cast<float>((n + 0.5) * 0.69314718055994530942), 64, add);
  }
  specials<float>(add);
  return xs;
}

/// fast_exp as a scalar function, not inlined into the sweep's loop.
[[gnu::noinline]] float scalar_exp(float x) { return pp::detail::fast_exp(x); }

}  // namespace

BOOST_AUTO_TEST_SUITE(run_time_exp)

BOOST_AUTO_TEST_CASE(scalar_fast_exp_is_within_its_bound) {
  std::vector<float> const xs = exp_grid();
  worst_error<float> worst;
  std::uint64_t subnormal = 0;
  for (float const x : xs) {
    float const y = scalar_exp(x);
    worst.add(x, y, std::exp(static_cast<long double>(x)));
    if (y != 0 && y < std::numeric_limits<float>::min()) ++subnormal;
  }
  BOOST_TEST_MESSAGE("fast_exp, scalar: " << worst.describe());
  BOOST_TEST(worst.error <= pp::detail::fast_exp_max_ulps, "fast_exp: " << worst.describe());
  BOOST_TEST(worst.points >= 650'000 * density);
  // subnormal results computed (within the bound, whose ulp is 2^-149 there), not flushed
  BOOST_TEST(subnormal >= 8000u);
  using lim = std::numeric_limits<float>;
  BOOST_TEST(scalar_exp(-lim::infinity()) == 0.0f);
  BOOST_TEST(!std::signbit(scalar_exp(-lim::infinity())));
  BOOST_TEST(scalar_exp(lim::infinity()) == lim::infinity());
  BOOST_TEST(scalar_exp(0.0f) == 1.0f);
  BOOST_TEST(scalar_exp(-0.0f) == 1.0f);
  BOOST_TEST(scalar_exp(89.0f) == lim::infinity());
  BOOST_TEST(scalar_exp(lim::max()) == lim::infinity());
  BOOST_TEST(scalar_exp(-104.0f) == 0.0f);
  BOOST_TEST(scalar_exp(-lim::max()) == 0.0f);
  BOOST_TEST(scalar_exp(-103.0f) > 0.0f);  // e^-103 = 1.4e-45: the smallest subnormal
  BOOST_TEST(std::isnan(scalar_exp(lim::quiet_NaN())));
  BOOST_TEST(std::isnan(scalar_exp(-lim::quiet_NaN())));
}

BOOST_AUTO_TEST_SUITE_END()

// -- the constant-evaluation functions, in double ---------------------------------------------

namespace {

/// Where one of detail::math::ce's functions is checked: strided over [0, max] (and over
/// [-max_negative, 0] when it is positive), evenly over [lo, hi], and around the thresholds
/// (each with the sign it is given), plus ±infinity, ±0, NaN and the extremes.
struct double_grid {
  double max;
  double max_negative;
  double lo;
  double hi;
  std::initializer_list<double> thresholds;
};

template <class F, class Ref>
worst_error<double> sweep_double(F f, Ref exact, double_grid const& g) {
  worst_error<double> worst;
  auto const at = [&](double x) { worst.add(x, f(x), exact(static_cast<long double>(x))); };
  auto const both = [&](double x) {
    at(x);
    at(-x);
  };
  stride(0.0, g.max, 50000 * density, at);
  if (g.max_negative > 0) stride(0.0, g.max_negative, 50000 * density, [&](double x) { at(-x); });
  evenly(g.lo, g.hi, 100000 * density, at);
  for (double c : g.thresholds) {
    around(std::abs(c), 2048, [&](double x) { at(std::copysign(x, c)); });
  }
  specials<double>(both);
  return worst;
}

void check_double(char const* name, worst_error<double> const& worst, double bound) {
  BOOST_TEST_MESSAGE(name << ": " << worst.describe());
  BOOST_TEST(worst.error <= bound, name << ": " << worst.describe());
  BOOST_TEST(worst.points >= 200'000 * density);
}

constexpr double ln2 = 0.693147180559945309417232121458176568;
constexpr double sqrt2 = 1.41421356237309504880168872420969808;

struct long_double_is_wider {
  boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const {
    return std::numeric_limits<long double>::digits > std::numeric_limits<double>::digits + 8;
  }
};

}  // namespace

// The reference is long double <cmath>: it must carry more bits than double.
BOOST_AUTO_TEST_SUITE(constant_evaluation_functions,
                      *boost::unit_test::precondition(long_double_is_wider{}))

BOOST_AUTO_TEST_CASE(exp_is_within_its_bound) {
  // overflow (ln of the largest double) and the code's cut-offs; the smallest normal and
  // subnormal results; where scale() splits 2^k (k = ±1023.5), where k steps near 0
  double_grid const g{709.8,
                      746,
                      -745.2,
                      709.8,
                      {709.782712893384, 709.8, 1023.5 * ln2, -745.2, -745.13321910194122,
                       -708.39641853226408, -1022.5 * ln2, 0.5 * ln2, -0.5 * ln2, 1.5 * ln2}};
  check_double("exp",
               sweep_double([](double x) { return ce::exp(x); },
                            [](long double x) { return std::exp(x); }, g),
               ce::max_ulps::exp);
}

BOOST_AUTO_TEST_CASE(expm1_is_within_its_bound) {
  // the series below |x| = 0.5, exp(x) - 1 above, -1 below -40 (and rounding to -1 from -37.4)
  double_grid const g{709.7, 746, -40, 40, {0.5, -0.5, -40, -37.42994775023705, 1e-300}};
  check_double("expm1",
               sweep_double([](double x) { return ce::expm1(x); },
                            [](long double x) { return std::expm1(x); }, g),
               ce::max_ulps::expm1);
}

BOOST_AUTO_TEST_CASE(log_is_within_its_bound) {
  // the reduction to [sqrt(1/2), sqrt 2) in several binades, 1 (where ln m is small),
  // the normal/subnormal boundary, negative arguments (NaN)
  double_grid const g{std::numeric_limits<double>::max(),
                      1e300,
                      0.25,
                      4,
                      {1, sqrt2 / 2, sqrt2, 2 * sqrt2, sqrt2 / 4, 0x1p-1000 * sqrt2,
                       0x1p1000 * sqrt2, std::numeric_limits<double>::min(), -1}};
  check_double("log",
               sweep_double([](double x) { return ce::log(x); },
                            [](long double x) { return std::log(x); }, g),
               ce::max_ulps::log);
}

BOOST_AUTO_TEST_CASE(log1p_is_within_its_bound) {
  // where 1 + x rounds to 1, near -1 (the pole), the reduction boundaries of log(1 + x),
  // arguments below -1 (NaN) and huge ones
  double_grid const g{
      std::numeric_limits<double>::max(),
      1,
      -1,
      1,
      {0x1p-53, -0x1p-54, 0x1p-52, -1, sqrt2 / 2 - 1, sqrt2 - 1, 1e-12, -1e-12, 1e300}};
  check_double("log1p",
               sweep_double([](double x) { return ce::log1p(x); },
                            [](long double x) { return std::log1p(x); }, g),
               ce::max_ulps::log1p);
}

BOOST_AUTO_TEST_CASE(tanh_is_within_its_bound) {
  // expm1's series below |2x| = 0.5, rounding to ±1 from 19.06, the cut-off at 20
  double_grid const g{std::numeric_limits<double>::max(),
                      std::numeric_limits<double>::max(),
                      -25,
                      25,
                      {0.25, -0.25, 19.061547465398498, 20, -20, 1e-8}};
  check_double("tanh",
               sweep_double([](double x) { return ce::tanh(x); },
                            [](long double x) { return std::tanh(x); }, g),
               ce::max_ulps::tanh);
}

BOOST_AUTO_TEST_CASE(erf_is_within_its_bound) {
  // the series below 1.5, the continued fraction above, rounding to ±1 from 5.92, the
  // cut-off at 6
  double_grid const g{std::numeric_limits<double>::max(),
                      std::numeric_limits<double>::max(),
                      -7,
                      7,
                      {1.5, -1.5, 5.9215871957945083, 6, -6, 1e-8}};
  check_double("erf",
               sweep_double([](double x) { return ce::erf(x); },
                            [](long double x) { return std::erf(x); }, g),
               ce::max_ulps::erf);
}

BOOST_AUTO_TEST_CASE(sqrt_is_within_its_bound) {
  // the reduction to [1, 4), subnormals, negative arguments (NaN)
  double_grid const g{std::numeric_limits<double>::max(),
                      1,
                      0,
                      16,
                      {1, 4, 0.25, 2, std::numeric_limits<double>::min(), 0x1p-1060, -1}};
  check_double("sqrt",
               sweep_double([](double x) { return ce::sqrt(x); },
                            [](long double x) { return std::sqrt(x); }, g),
               ce::max_ulps::sqrt);
}

BOOST_AUTO_TEST_SUITE_END()

// README.md states the range of the constant-evaluation bounds: it must be the constants'.
BOOST_AUTO_TEST_CASE(readme_states_the_bounds) {
  std::ifstream in("../README.md");
  BOOST_TEST_REQUIRE(in.good(), "cannot read ../README.md from the tests directory");
  std::stringstream text;
  text << in.rdbuf();
  std::string flat = text.str();
  std::replace(flat.begin(), flat.end(), '\n', ' ');
  auto const [lo, hi] =
      std::minmax({ce::max_ulps::exp, ce::max_ulps::expm1, ce::max_ulps::log, ce::max_ulps::log1p,
                   ce::max_ulps::tanh, ce::max_ulps::erf, ce::max_ulps::sqrt});
  std::ostringstream phrase;
  phrase << "within " << lo << " to " << hi << " ulps of double";
  BOOST_TEST(flat.find(phrase.str()) != std::string::npos,
             "README.md should say \"" << phrase.str() << "\"");
}
