// SPDX-License-Identifier: BSL-1.0
// The core: propel::vec and propel::mat (packed layout, trivially copyable, constexpr use,
// element access, rows, equality), propel::shape and propel::tensor_t.
#define BOOST_TEST_MODULE core
#include <array>
#include <bit>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <propel/propel.hpp>
#include <span>
#include <tuple>
#include <type_traits>
#include <utility>

namespace pp = propel;

namespace {

using scalar_types = std::tuple<float, double>;

// ---------------------------------------------------------------------------------------------
// Layout: a tensor is its elements, inline, aligned like one element and without padding, so
// that consecutive tensors (W0, b0, W1, ...) pack into one contiguous PyTorch-ordered block.

template <class T, std::size_t... N>
constexpr bool vec_layouts_are_packed(std::index_sequence<N...>) {
  return ((alignof(pp::vec<T, N + 1>) == alignof(T) &&
           sizeof(pp::vec<T, N + 1>) == (N + 1) * sizeof(T)) &&
          ...);
}
template <class T, std::size_t R, std::size_t... C>
constexpr bool mat_layouts_are_packed(std::index_sequence<C...>) {
  return ((alignof(pp::mat<T, R, C + 1>) == alignof(T) &&
           sizeof(pp::mat<T, R, C + 1>) == R * (C + 1) * sizeof(T)) &&
          ...);
}

static_assert(sizeof(pp::vec<float, 2>) == 8);
static_assert(sizeof(pp::vec<float, 3>) == 12 && sizeof(pp::vec<double, 3>) == 24);
static_assert(vec_layouts_are_packed<float>(std::make_index_sequence<70>{}));
static_assert(vec_layouts_are_packed<double>(std::make_index_sequence<40>{}));
static_assert(mat_layouts_are_packed<float, 1>(std::make_index_sequence<9>{}));
static_assert(mat_layouts_are_packed<float, 3>(std::make_index_sequence<9>{}));
static_assert(mat_layouts_are_packed<double, 7>(std::make_index_sequence<9>{}));
static_assert(sizeof(pp::mat<float, 784, 128>) == sizeof(float) * 784 * 128);
// a layer's weight and bias side by side: no gap between them
struct dense_parameters {
  pp::mat<float, 3, 5> weight;
  pp::vec<float, 3> bias;
};
static_assert(sizeof(dense_parameters) == (15 + 3) * sizeof(float));
static_assert(offsetof(dense_parameters, bias) == 15 * sizeof(float));
static_assert(sizeof(std::array<pp::vec<float, 3>, 4>) == 12 * sizeof(float));

// trivially copyable, standard layout, aggregates: memcpy-able, usable in C interfaces
template <class V>
constexpr bool is_plain_v = std::is_trivially_copyable_v<V>&& std::is_standard_layout_v<V>&&
    std::is_aggregate_v<V>&& std::is_trivially_default_constructible_v<V>;
static_assert(is_plain_v<pp::vec<float, 1>> && is_plain_v<pp::vec<double, 7>>);
static_assert(is_plain_v<pp::mat<float, 3, 5>> && is_plain_v<pp::mat<double, 64, 64>>);
static_assert(is_plain_v<pp::vec<int, 3>>);  // any arithmetic type stores

// ---------------------------------------------------------------------------------------------
// Shapes and tensor_t.

static_assert(pp::shape<>::rank == 0 && pp::shape<>::size == 1);
static_assert(pp::shape<>::rows == 1 && pp::shape<>::cols == 1);
static_assert(pp::shape<5>::rank == 1 && pp::shape<5>::size == 5);
static_assert(pp::shape<5>::rows == 5 && pp::shape<5>::cols == 1);
static_assert(pp::shape<2, 3>::rank == 2 && pp::shape<2, 3>::size == 6);
static_assert(pp::shape<2, 3>::rows == 2 && pp::shape<2, 3>::cols == 3);
static_assert(pp::Shape<pp::shape<>> && pp::Shape<pp::shape<4>> && pp::Shape<pp::shape<4, 1>>);
static_assert(!pp::Shape<int> && !pp::Shape<pp::vec<float, 4>> && !pp::Shape<std::array<int, 2>>);
static_assert(!std::is_same_v<pp::shape<4>, pp::shape<4, 1>>);  // a vector is not a 4x1 matrix

static_assert(std::is_same_v<pp::tensor_t<float, pp::shape<>>, float>);
static_assert(std::is_same_v<pp::tensor_t<double, pp::shape<3>>, pp::vec<double, 3>>);
static_assert(std::is_same_v<pp::tensor_t<float, pp::shape<2, 3>>, pp::mat<float, 2, 3>>);

static_assert(std::is_same_v<pp::vec<float, 3>::shape_type, pp::shape<3>>);
static_assert(std::is_same_v<pp::mat<double, 2, 5>::shape_type, pp::shape<2, 5>>);
static_assert(std::is_same_v<pp::vec<float, 3>::value_type, float>);
static_assert(std::is_same_v<pp::mat<double, 2, 5>::value_type, double>);
static_assert(pp::vec<float, 3>::extent == 3 && pp::vec<float, 3>::size() == 3);
static_assert(pp::mat<float, 2, 5>::rows == 2 && pp::mat<float, 2, 5>::cols == 5);
static_assert(pp::mat<float, 2, 5>::size() == 10);
// the round trip shape -> tensor -> shape
static_assert(
    std::is_same_v<pp::tensor_t<float, pp::mat<float, 4, 7>::shape_type>, pp::mat<float, 4, 7>>);

// ---------------------------------------------------------------------------------------------
// Constant evaluation.

constexpr pp::mat<int, 2, 3> transposed_by_hand(pp::mat<int, 3, 2> const& m) {
  pp::mat<int, 2, 3> t{};
  for (std::size_t r = 0; r < 3; ++r) {
    for (std::size_t c = 0; c < 2; ++c) t(c, r) = m(r, c);
  }
  return t;
}
constexpr pp::mat<int, 3, 2> m32{1, 2, 3, 4, 5, 6};
static_assert(transposed_by_hand(m32) == pp::mat<int, 2, 3>{1, 3, 5, 2, 4, 6});
static_assert(m32(2, 1) == 6 && m32[3] == 4 && m32.row(1)[0] == 3);

constexpr double sum_of_row(pp::mat<double, 2, 3> const& m, std::size_t r) {
  double s = 0;
  for (double const x : m.row(r)) s += x;
  return s;
}
static_assert(sum_of_row(pp::mat<double, 2, 3>{1, 2, 3, 4, 5, 6}, 1) == 15.0);

constexpr pp::vec<float, 4> filled(float x) {
  pp::vec<float, 4> v{};
  for (float& e : v) e = x;
  v[2] = -x;
  return v;
}
static_assert(filled(1.5f) == pp::vec<float, 4>{1.5f, 1.5f, -1.5f, 1.5f});
static_assert(filled(1.5f) != pp::vec<float, 4>{1.5f, 1.5f, 1.5f, 1.5f});
static_assert(pp::vec<double, 3>{} == pp::vec<double, 3>{0, 0, 0});
static_assert(pp::vec<double, 3>{7} == pp::vec<double, 3>{7, 0, 0});  // the rest is zeroed
static_assert(filled(2.0f).data()[2] == -2.0f && *filled(2.0f).begin() == 2.0f);
constexpr std::ptrdiff_t length(pp::vec<float, 4> const& v) { return v.end() - v.begin(); }
static_assert(length(filled(2.0f)) == 4);
static_assert(filled(2.0f).span().size() == 4);

}  // namespace

// =============================================================================================
BOOST_AUTO_TEST_SUITE(vec_and_mat)

BOOST_AUTO_TEST_CASE_TEMPLATE(vec_element_access, T, scalar_types) {
  pp::vec<T, 5> v{1, 2, 3, 4, 5};
  BOOST_TEST(v.size() == 5u);
  BOOST_TEST(v[0] == T(1));
  BOOST_TEST(v[4] == T(5));
  v[2] = T(-7);
  BOOST_TEST(v.elements[2] == T(-7));
  BOOST_TEST(v.data() == &v.elements[0]);
  BOOST_TEST(v.begin() == v.data());
  BOOST_TEST(v.end() == v.data() + 5);
  T total = 0;
  for (T const x : v) total += x;
  BOOST_TEST(total == T(5));
  std::span<T, 5> const s = v.span();
  s[0] = T(10);
  BOOST_TEST(v[0] == T(10));
  pp::vec<T, 5> const& cv = v;
  static_assert(std::is_same_v<decltype(cv[0]), T const&>);
  static_assert(std::is_same_v<decltype(cv.span()), std::span<T const, 5>>);
  BOOST_TEST(cv.span()[2] == T(-7));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(mat_is_row_major, T, scalar_types) {
  pp::mat<T, 2, 3> m{1, 2, 3, 4, 5, 6};
  BOOST_TEST(m.size() == 6u);
  for (std::size_t r = 0; r < 2; ++r) {
    for (std::size_t c = 0; c < 3; ++c) {
      BOOST_TEST(m(r, c) == T(static_cast<int>(r * 3 + c + 1)));
      BOOST_TEST(&m(r, c) == &m[r * 3 + c]);
      BOOST_TEST(&m(r, c) == m.data() + r * 3 + c);
    }
  }
  m(1, 0) = T(40);
  BOOST_TEST(m.elements[3] == T(40));
  m[5] = T(60);
  BOOST_TEST(m(1, 2) == T(60));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(row_is_a_view, T, scalar_types) {
  pp::mat<T, 3, 2> m{1, 2, 3, 4, 5, 6};
  std::span<T, 2> const r1 = m.row(1);
  BOOST_TEST(r1.size() == 2u);
  BOOST_TEST(r1.data() == &m(1, 0));
  BOOST_TEST(r1[0] == T(3));
  BOOST_TEST(r1[1] == T(4));
  r1[1] = T(-4);
  BOOST_TEST(m(1, 1) == T(-4));
  BOOST_TEST(m.row(2)[0] == T(5));
  pp::mat<T, 3, 2> const& cm = m;
  static_assert(std::is_same_v<decltype(cm.row(0)), std::span<T const, 2>>);
  BOOST_TEST(cm.row(0).data() == m.data());
  BOOST_TEST(m.span().size() == 6u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(equality_compares_every_element, T, scalar_types) {
  pp::mat<T, 2, 2> const a{1, 2, 3, 4};
  pp::mat<T, 2, 2> b = a;
  BOOST_TEST((a == b));
  b(1, 1) = T(5);
  BOOST_TEST((a != b));
  b = a;
  b[0] = T(0);
  BOOST_TEST((a != b));
  // numbers compare as numbers: +0 equals -0, and NaN equals nothing
  pp::vec<T, 2> const zeros{0, 0};
  pp::vec<T, 2> const minus_zeros{-T(0), -T(0)};
  BOOST_TEST((zeros == minus_zeros));
  pp::vec<T, 2> const with_nan{1, std::numeric_limits<T>::quiet_NaN()};
  BOOST_TEST(!(with_nan == with_nan));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(copies_are_bitwise, T, scalar_types) {
  pp::mat<T, 3, 3> m{1, 2, 3, 4, 5, 6, 7, 8, 9};
  pp::mat<T, 3, 3> copy;
  std::memcpy(&copy, &m, sizeof m);
  BOOST_TEST((copy == m));
  pp::mat<T, 3, 3> assigned{};
  assigned = m;
  m(0, 0) = T(100);  // a copy owns its elements
  BOOST_TEST(assigned(0, 0) == T(1));
  BOOST_TEST(copy(0, 0) == T(1));
}

BOOST_AUTO_TEST_CASE(consecutive_tensors_are_contiguous) {
  // a weight and a bias in one struct read as one flat array of floats, in order
  dense_parameters p{};
  for (std::size_t i = 0; i < 15; ++i) p.weight[i] = static_cast<float>(i);
  for (std::size_t i = 0; i < 3; ++i) p.bias[i] = static_cast<float>(100 + i);
  std::array<float, 18> flat{};
  std::memcpy(flat.data(), &p, sizeof p);
  BOOST_TEST(flat[14] == 14.0f);
  BOOST_TEST(flat[15] == 100.0f);
  BOOST_TEST(flat[17] == 102.0f);
  BOOST_TEST(p.bias.data() == p.weight.data() + 15);
}

BOOST_AUTO_TEST_SUITE_END()
