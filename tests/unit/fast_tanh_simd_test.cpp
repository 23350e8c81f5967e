// SPDX-License-Identifier: BSL-1.0
// The vector form of the run-time float tanh (detail::fast_tanh on simd_t<float>) gives, lane
// by lane, exactly the bits of the scalar fast_tanh: over a strided walk of all float bit
// patterns (both signs, subnormals, NaNs with payloads, infinities), dense neighbourhoods of
// the thresholds (0.55, the clamp at 9.1, saturation), and the special values, each placed in
// every lane. Then the element loops that use it: detail::apply_vector_value_in_place over
// every range up to a few vectors (the padded tail included, the elements around untouched),
// tanh nodes of shapes that are not whole vectors, and dense layers' fused epilogues (bias
// and activation on vectors, rows that are not whole vectors) against the scalar function.
// The other vector forms (relu, leaky_relu, identity, scaling, squaring, + - hadamard) against
// their scalar values the same way; and the run-time float exponential (detail::fast_exp)
// against its scalar function like tanh. Built without FMA contraction (tests/CMakeLists.txt): a
// compiler that fuses a * b + c may fuse each inlined copy of either form differently.
#define BOOST_TEST_MODULE fast_tanh_simd
#include <bit>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <propel/detail/fast_math.hpp>
#include <propel/expr.hpp>
#include <propel/ops/activation.hpp>
#include <utility>
#include <vector>

namespace pp = propel;

namespace {

/// The scalar function, not inlined into the loops below (which the compiler might vectorise).
[[gnu::noinline]] float scalar_tanh(float x) { return pp::detail::fast_tanh(x); }
[[gnu::noinline]] float scalar_exp(float x) { return pp::detail::fast_exp(x); }

std::uint32_t bits(float x) { return std::bit_cast<std::uint32_t>(x); }

/// Every bit pattern at a stride (odd, so that all low-bit patterns occur): both signs,
/// subnormals, NaNs.
std::vector<float> strided() {
#ifdef __OPTIMIZE__
  constexpr std::uint32_t stride = 2039;
#else
  constexpr std::uint32_t stride = 16381;
#endif
  std::vector<float> xs;
  for (std::uint64_t b = 0; b <= 0xffffffffu; b += stride) {
    xs.push_back(std::bit_cast<float>(static_cast<std::uint32_t>(b)));
  }
  return xs;
}

/// The neighbourhoods of the thresholds and the special values, each with both signs.
std::vector<float> edges() {
  std::vector<float> xs;
  auto const around = [&](float c, int n) {
    std::uint32_t const m = bits(c);
    for (int k = -n; k <= n; ++k) {
      float const x =
          std::bit_cast<float>(static_cast<std::uint32_t>(static_cast<std::int64_t>(m) + k));
      xs.push_back(x);
      xs.push_back(-x);
    }
  };
  for (float c : {0.55f, 9.1f, 9.01091099f, 0x1p-12f, 1.0f, 0.34657359f}) around(c, 2048);
  around(0x1p-149f, 64);                               // the smallest subnormals
  around(std::numeric_limits<float>::max(), 64);       // the largest finite floats
  around(std::numeric_limits<float>::infinity(), 64);  // ±inf and the first NaNs past it
  for (float x :
       {0.0f, std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN(),
        std::numeric_limits<float>::signaling_NaN(), std::bit_cast<float>(0x7fc12345u),
        std::bit_cast<float>(0x7f800001u)}) {
    xs.push_back(x);
    xs.push_back(-x);
  }
  return xs;
}

}  // namespace

#ifdef PROPEL_DETAIL_VECTOR_TYPES

using V = pp::detail::simd_t<float>;
constexpr std::size_t lanes = pp::detail::vector_lanes<float>;

/// Compares the vector form with the scalar function on xs, the vectors being the windows
/// of xs from `shift` on; returns the lanes compared and counts the mismatches. Of fast_tanh,
/// or of fast_exp (Exp).
template <bool Exp = false>
std::size_t compare(std::vector<float> const& xs, std::size_t shift, std::size_t& mismatches) {
  std::size_t checked = 0;
  for (std::size_t i = shift; i + lanes <= xs.size(); i += lanes) {
    V const v = pp::detail::simd_load(xs.data() + i);
    V const y = Exp ? pp::detail::fast_exp(v) : pp::detail::fast_tanh(v);
    for (std::size_t l = 0; l < lanes; ++l) {
      float const x = xs[i + l];
      float const want = Exp ? scalar_exp(x) : scalar_tanh(x);
      ++checked;
      if (bits(y[l]) != bits(want) && ++mismatches <= 8) {
        BOOST_ERROR("lane " << l << ", x bits 0x" << std::hex << bits(x) << ": vector 0x"
                            << bits(y[l]) << ", scalar 0x" << bits(want));
      }
    }
  }
  return checked;
}

BOOST_AUTO_TEST_CASE(vector_form_gives_the_scalar_bits) {
  std::size_t mismatches = 0;
  std::size_t checked = compare(strided(), 0, mismatches);
  // the edges in every lane: windows shifted by one each time
  std::vector<float> const e = edges();
  for (std::size_t shift = 0; shift < lanes; ++shift) checked += compare(e, shift, mismatches);
  BOOST_TEST_MESSAGE(checked << " lanes compared, " << lanes << " lanes a vector");
  BOOST_TEST(mismatches == 0u);
  BOOST_TEST(checked >= 250'000u);
}

// The same for the exponential: the strided walk, and dense neighbourhoods of its edges
// (overflow, the first subnormal and the last nonzero results, the clamps at 89 and -104,
// where n = round(x / ln 2) steps) and the special values, in every lane.
BOOST_AUTO_TEST_CASE(exp_vector_form_gives_the_scalar_bits) {
  std::size_t mismatches = 0;
  std::size_t checked = compare<true>(strided(), 0, mismatches);
  std::vector<float> e = edges();
  auto const around = [&](float c, int n) {
    for (int k = -n; k <= n; ++k) {
      float const x =
          std::bit_cast<float>(static_cast<std::uint32_t>(static_cast<std::int64_t>(bits(c)) + k));
      e.push_back(x);
      e.push_back(-x);
    }
  };
  for (float c : {88.7228394f, 87.3365479f, 103.972084f, 103.278931f, 89.0f, 104.0f, 0.34657359f,
                  1.03972077f, 44.0253448f}) {
    around(c, 1024);
  }
  for (std::size_t shift = 0; shift < lanes; ++shift) {
    checked += compare<true>(e, shift, mismatches);
  }
  BOOST_TEST_MESSAGE(checked << " lanes compared");
  BOOST_TEST(mismatches == 0u);
  BOOST_TEST(checked >= 250'000u);
}

BOOST_AUTO_TEST_CASE(apply_vector_value_in_place_covers_exactly_its_range) {
  static_assert(pp::detail::has_vector_value_v<pp::tanh, float>);
  static_assert(!pp::detail::has_vector_value_v<pp::tanh, double>);
  static_assert(pp::detail::has_vector_value_v<pp::relu, double>);
  static_assert(!pp::detail::has_vector_value_v<pp::sigmoid, float>);
  constexpr std::size_t n = 3 * lanes + 3;
  pp::vec<float, n> in;
  for (std::size_t i = 0; i < n; ++i) in[i] = -4.0f + 0.37f * static_cast<float>(i);
  auto const arg = pp::constant(in);
  for (std::size_t begin = 0; begin <= n; ++begin) {
    for (std::size_t end = begin; end <= n; ++end) {
      float p[n];
      for (std::size_t i = 0; i < n; ++i) p[i] = -7.0f;
      pp::detail::apply_vector_value_in_place(pp::tanh{}, arg, decltype(arg)::cache_type{}, begin,
                                              end, p);
      for (std::size_t i = 0; i < n; ++i) {
        float const want = begin <= i && i < end ? scalar_tanh(in[i]) : -7.0f;
        BOOST_TEST(bits(p[i]) == bits(want), "[" << begin << ", " << end << ") at " << i);
      }
    }
  }
}

namespace {
/// The vector form of a unary op against its scalar value on xs, every lane; mismatches.
template <class Op>
std::size_t unary_mismatches(Op const& op, std::vector<float> const& xs) {
  std::size_t bad = 0;
  for (std::size_t i = 0; i + lanes <= xs.size(); ++i) {
    V const y = op.vector_value(pp::detail::simd_load(xs.data() + i));
    for (std::size_t l = 0; l < lanes; ++l) {
      if (bits(y[l]) != bits(op.value(xs[i + l])) && ++bad <= 4) {
        BOOST_ERROR("x bits 0x" << std::hex << bits(xs[i + l]) << ": vector 0x" << bits(y[l])
                                << ", scalar 0x" << bits(op.value(xs[i + l])));
      }
    }
  }
  return bad;
}
/// The same for a binary op, the second operand the values lanes + 1 further on.
template <class Op>
std::size_t binary_mismatches(Op const& op, std::vector<float> const& xs) {
  std::size_t bad = 0;
  for (std::size_t i = 0; i + 2 * lanes + 1 <= xs.size(); ++i) {
    V const y = op.vector_value(pp::detail::simd_load(xs.data() + i),
                                pp::detail::simd_load(xs.data() + i + lanes + 1));
    for (std::size_t l = 0; l < lanes; ++l) {
      float const want = op.value(xs[i + l], xs[i + l + lanes + 1]);
      // of two NaN operands, a commutative op returns either (the compiler may swap them)
      bool const same =
          bits(y[l]) == bits(want) || (std::isnan(y[l]) && std::isnan(want) &&
                                       std::isnan(xs[i + l]) && std::isnan(xs[i + l + lanes + 1]));
      if (!same && ++bad <= 4) BOOST_ERROR("binary op, lane " << l);
    }
  }
  return bad;
}
}  // namespace

// relu, leaky_relu, identity, scaling, squaring and + - hadamard on vectors: the scalar bits
// over the special values (±0, ±inf, NaNs, subnormals, the largest floats) and a sparse walk
// of all floats, each value in every lane.
BOOST_AUTO_TEST_CASE(vector_forms_of_the_other_ops_give_the_scalar_bits) {
  std::vector<float> xs = edges();
  std::vector<float> const some = strided();
  for (std::size_t i = 0; i < some.size(); i += 7) xs.push_back(some[i]);
  BOOST_TEST(unary_mismatches(pp::relu{}, xs) == 0u);
  BOOST_TEST(unary_mismatches(pp::leaky_relu{0.2}, xs) == 0u);
  BOOST_TEST(unary_mismatches(pp::identity{}, xs) == 0u);
  BOOST_TEST(unary_mismatches(pp::ops::scale<float>{-0.3f}, xs) == 0u);
  BOOST_TEST(unary_mismatches(pp::ops::square{}, xs) == 0u);
  BOOST_TEST(binary_mismatches(pp::ops::add{}, xs) == 0u);
  BOOST_TEST(binary_mismatches(pp::ops::subtract{}, xs) == 0u);
  BOOST_TEST(binary_mismatches(pp::ops::multiply{}, xs) == 0u);
}

namespace {
/// act(W x + b) for one sample and act(X Wᵀ + b) for a batch of 3, Out outputs, against the
/// scalar op applied to w x + b computed here: one input, so that each product is a single
/// multiplication (never -0, whose sum with a zero might not be), whatever a kernel's order
/// of summation; biases that reach the special values.
template <std::size_t Out, class Act>
void check_layer(Act const& act) {
  constexpr std::size_t batch = 3;
  pp::mat<float, Out, 1> w;
  pp::vec<float, Out> b;
  pp::vec<float, 1> x{-1.7f};
  pp::mat<float, batch, 1> xb;
  float const specials[] = {0.0f,
                            -0.0f,
                            std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::quiet_NaN(),
                            1e30f};
  for (std::size_t o = 0; o < Out; ++o) w(o, 0) = 0.25f + std::sin(0.7f * static_cast<float>(o));
  for (std::size_t o = 0; o < Out; ++o) b[o] = o < 6 ? specials[o] : 0.11f * static_cast<float>(o);
  for (std::size_t r = 0; r < batch; ++r) xb(r, 0) = 2.5f - 1.3f * static_cast<float>(r);
  auto const W = pp::constant(w);
  auto const B = pp::constant(b);
  auto const y1 = pp::evaluate(act(W * pp::constant(x) + B));
  auto const yb = pp::evaluate(act(pp::constant(xb) * pp::transpose(W) + B));
  // a chain read a vector at a time through a node that keeps its values (sigmoid, which
  // has no vector form) and a scaling
  auto const y2 = pp::evaluate(act(0.5f * pp::sigmoid{}(pp::constant(xb) * pp::transpose(W) + B)));
  for (std::size_t o = 0; o < Out; ++o) {
    float const z = w(o, 0) * x[0] + b[o];
    BOOST_TEST(bits(y1[o]) == bits(act.value(z)), "one sample, " << Out << " outputs, " << o);
  }
  for (std::size_t r = 0; r < batch; ++r) {
    for (std::size_t o = 0; o < Out; ++o) {
      float const z = xb(r, 0) * w(o, 0) + b[o];
      BOOST_TEST(bits(yb(r, o)) == bits(act.value(z)), "batch, " << Out << ", " << r << ", " << o);
      float const s = pp::sigmoid{}.value(z);
      BOOST_TEST(bits(y2(r, o)) == bits(act.value(0.5f * s)), "chain, " << r << ", " << o);
    }
  }
}
}  // namespace

// The fused epilogue (bias and activation read and applied a vector at a time, each row's
// last partial vector padded) for widths below, at, and past whole vectors.
BOOST_AUTO_TEST_CASE(dense_layer_epilogues_give_the_scalar_bits) {
  static_assert(
      pp::detail::has_vector_elements_v<
          decltype(pp::constant(std::declval<pp::mat<float, 3, 4> const&>()) *
                       pp::transpose(pp::constant(std::declval<pp::mat<float, 2, 4> const&>())) +
                   pp::constant(std::declval<pp::vec<float, 2> const&>()))>);
  check_layer<1>(pp::tanh{});
  check_layer<3>(pp::tanh{});
  check_layer<lanes>(pp::tanh{});
  check_layer<lanes + 3>(pp::tanh{});
  check_layer<2 * lanes>(pp::tanh{});
  check_layer<3>(pp::relu{});
  check_layer<lanes + 3>(pp::relu{});
  check_layer<2 * lanes + 1>(pp::leaky_relu{0.2});
}

#else

BOOST_AUTO_TEST_CASE(no_vector_form_without_vector_types) {
  static_assert(!pp::detail::has_vector_value_v<pp::tanh, float>);
  BOOST_TEST_MESSAGE("no vector types on this target: the scalar fast_tanh serves every loop");
}

#endif

namespace {
/// tanh of a node of shape S over the values x0, x0 + step, ..., against the scalar function.
template <class Tensor>
void check_node(float x0, float step) {
  Tensor x{};
  for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = x0 + step * static_cast<float>(i);
  Tensor const y = pp::evaluate(pp::tanh{}(pp::constant(x)));
  for (std::size_t i = 0; i < x.size(); ++i) {
    BOOST_TEST(bits(y.data()[i]) == bits(scalar_tanh(x.data()[i])),
               "element " << i << " of " << x.size() << ", x = " << x.data()[i]);
  }
}
}  // namespace

BOOST_AUTO_TEST_CASE(tanh_nodes_of_any_length_give_the_scalar_bits) {
  check_node<pp::vec<float, 1>>(0.3f, 0.0f);
  check_node<pp::vec<float, 7>>(-2.0f, 0.61f);
  check_node<pp::vec<float, 37>>(-10.0f, 0.57f);
  check_node<pp::mat<float, 3, 5>>(-1.2f, 0.173f);
  check_node<pp::mat<float, 4, 16>>(-9.5f, 0.31f);
}
