// SPDX-License-Identifier: BSL-1.0
// The vector form of the run-time float tanh (detail::fast_tanh on simd_t<float>) gives, lane
// by lane, exactly the bits of the scalar fast_tanh: over a strided walk of all float bit
// patterns (both signs, subnormals, NaNs with payloads, infinities), dense neighbourhoods of
// the thresholds (0.55, the clamp at 9.1, saturation), and the special values, each placed in
// every lane. Then the element loops that use it: detail::apply_vector_value over every
// range up to a few vectors (the padded tail included, the elements around untouched), and
// tanh nodes of shapes that are not whole vectors, against the scalar function. Built without
// FMA contraction (tests/CMakeLists.txt): a compiler that fuses a * b + c may fuse each
// inlined copy of either form differently.
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
#include <vector>

namespace pp = propel;

namespace {

/// The scalar function, not inlined into the loops below (which the compiler might vectorise).
[[gnu::noinline]] float scalar_tanh(float x) { return pp::detail::fast_tanh(x); }

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
/// of xs from `shift` on; returns the lanes compared and counts the mismatches.
std::size_t compare(std::vector<float> const& xs, std::size_t shift, std::size_t& mismatches) {
  std::size_t checked = 0;
  for (std::size_t i = shift; i + lanes <= xs.size(); i += lanes) {
    V const y = pp::detail::fast_tanh(pp::detail::simd_load(xs.data() + i));
    for (std::size_t l = 0; l < lanes; ++l) {
      float const x = xs[i + l];
      float const want = scalar_tanh(x);
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

BOOST_AUTO_TEST_CASE(apply_vector_value_covers_exactly_its_range) {
  static_assert(pp::detail::has_vector_value_v<pp::tanh, float>);
  static_assert(!pp::detail::has_vector_value_v<pp::tanh, double>);
  static_assert(!pp::detail::has_vector_value_v<pp::relu, float>);
  constexpr std::size_t n = 3 * lanes + 3;
  float in[n];
  for (std::size_t i = 0; i < n; ++i) in[i] = -4.0f + 0.37f * static_cast<float>(i);
  for (std::size_t begin = 0; begin <= n; ++begin) {
    for (std::size_t end = begin; end <= n; ++end) {
      float p[n];
      for (std::size_t i = 0; i < n; ++i) p[i] = in[i];
      pp::detail::apply_vector_value(pp::tanh{}, p, begin, end);
      for (std::size_t i = 0; i < n; ++i) {
        float const want = begin <= i && i < end ? scalar_tanh(in[i]) : in[i];
        BOOST_TEST(bits(p[i]) == bits(want), "[" << begin << ", " << end << ") at " << i);
      }
    }
  }
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
