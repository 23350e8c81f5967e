// SPDX-License-Identifier: BSL-1.0
// The vector form of the backward pass (the adjoint's `vector(row, col)`, see
// expr/expression.hpp) gives exactly the bits of the scalar one.
//  - The ops' backward vector forms (vector_derivative, vector_derivative_of_value,
//    vector_chain_of_value, vector_d_left / vector_d_right) against their scalar forms, lane
//    by lane, over a strided walk of the float bit patterns (signed zeros, subnormals,
//    infinities, NaNs) and a grid of special doubles, every value in every lane and paired
//    with every value of a grid for the two-argument forms.
//  - Whole gradients against the scalar path: the same computations in constant evaluation,
//    where no vector form is used (expression gradients through every element-wise node, the
//    bias broadcast over a batch included; an mlp's loss_and_gradient, whose writers take
//    blocks; trainer steps with SGD in every configuration and Adam, which move the
//    parameters a vector at a time from the vector forms; one sample or a batch a step, a
//    batch's dW handed over a row of a broadcast tile at a time). Shapes whose rows are not
//    whole vectors, and sums over fewer than 8 terms, which the forward kernels add in the
//    same order at run time and in constant evaluation.
// Built without FMA contraction (tests/CMakeLists.txt): a compiler that fuses a * b + c may
// fuse each inlined copy of either form differently.
#define BOOST_TEST_MODULE backward_simd
#include <algorithm>
#include <array>
#include <bit>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <propel/propel.hpp>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "support/bit_equality.hpp"

namespace pp = propel;
using bit_equality::bits;
using bit_equality::same;

namespace {

/// Special values of both signs and ordinary ones.
template <class T>
std::vector<T> specials() {
  using lim = std::numeric_limits<T>;
  std::vector<T> xs = {T(0),
                       T(1),
                       T(0.5),
                       T(2),
                       T(1e-3),
                       T(0.75),
                       T(3.25),
                       T(7e4),
                       lim::min(),
                       lim::denorm_min(),
                       lim::max(),
                       lim::epsilon(),
                       lim::infinity(),
                       lim::quiet_NaN(),
                       T(0.1),
                       T(12345.678)};
  return bit_equality::both_signs(xs);
}

/// The values the one-argument forms are checked on: for float a strided walk of all bit
/// patterns, for double the specials and a spread of bit patterns; padded to whole vectors.
template <class T>
std::vector<T> values() {
  std::vector<T> xs = specials<T>();
  if constexpr (sizeof(T) == 4) {
#ifdef __OPTIMIZE__
    constexpr std::uint32_t stride = 4093;
#else
    constexpr std::uint32_t stride = 65521;
#endif
    for (std::uint64_t b = 0; b <= 0xffffffffu; b += stride) {
      xs.push_back(std::bit_cast<float>(static_cast<std::uint32_t>(b)));
    }
  } else {
    for (std::uint64_t b = 0; b < 20000; ++b) {
      xs.push_back(std::bit_cast<double>(b * 0x0000a3f1d7b3c5e1ull));
    }
  }
  while (xs.size() % pp::detail::vector_lanes<T> != 0) xs.push_back(T(0));
  return xs;
}

#ifdef PROPEL_DETAIL_VECTOR_TYPES
/// vf(v) lane by lane against sf(x) over values<T>(), each value in every lane (rotated).
template <class T, class SF, class VF>
void check_unary(char const* name, SF const& sf, VF const& vf) {
  constexpr std::size_t L = pp::detail::vector_lanes<T>;
  std::vector<T> const xs = values<T>();
  std::size_t bad = 0;
  for (std::size_t shift = 0; shift < L; ++shift) {
    for (std::size_t i = 0; i + L <= xs.size(); i += L) {
      T in[L];
      for (std::size_t l = 0; l < L; ++l) in[l] = xs[i + (l + shift) % L];
      pp::detail::simd_t<T> const r = vf(pp::detail::simd_load(in));
      for (std::size_t l = 0; l < L; ++l) {
        if (!same(T(r[l]), sf(in[l])) && ++bad < 10) {
          BOOST_TEST_MESSAGE(name << "(" << in[l] << ") = " << r[l] << ", not " << sf(in[l]));
        }
      }
    }
  }
  BOOST_TEST_INFO(name);
  BOOST_TEST(bad == 0u);
}

/// vf(a, b) lane by lane against sf(a, b): every value a of values<T>() against every
/// special b, in lanes of mixed pairs.
template <class T, class SF, class VF>
void check_binary(char const* name, SF const& sf, VF const& vf) {
  constexpr std::size_t L = pp::detail::vector_lanes<T>;
  std::vector<T> const as = values<T>();
  std::vector<T> const bs = specials<T>();
  std::size_t bad = 0;
  for (std::size_t j = 0; j < bs.size(); ++j) {
    for (std::size_t i = 0; i + L <= as.size(); i += L) {
      T a[L], b[L];
      for (std::size_t l = 0; l < L; ++l) {
        a[l] = as[i + l];
        b[l] = bs[(j + l) % bs.size()];
      }
      pp::detail::simd_t<T> const r = vf(pp::detail::simd_load(a), pp::detail::simd_load(b));
      for (std::size_t l = 0; l < L; ++l) {
        if (!same(T(r[l]), sf(a[l], b[l])) && ++bad < 10) {
          BOOST_TEST_MESSAGE(name << "(" << a[l] << ", " << b[l] << ") = " << r[l] << ", not "
                                  << sf(a[l], b[l]));
        }
      }
      // and the other way round
      pp::detail::simd_t<T> const q = vf(pp::detail::simd_load(b), pp::detail::simd_load(a));
      for (std::size_t l = 0; l < L; ++l) {
        if (!same(T(q[l]), sf(b[l], a[l])) && ++bad < 10) {
          BOOST_TEST_MESSAGE(name << "(" << b[l] << ", " << a[l] << ") = " << q[l] << ", not "
                                  << sf(b[l], a[l]));
        }
      }
    }
  }
  BOOST_TEST_INFO(name);
  BOOST_TEST(bad == 0u);
}

template <class T>
void check_op_forms() {
  using V = pp::detail::simd_t<T>;
  check_unary<T>(
      "identity'", [](T x) { return pp::identity{}.derivative(x); },
      [](V x) { return pp::identity{}.vector_derivative(x); });
  check_binary<T>(
      "relu chain", [](T a, T y) { return pp::relu{}.chain_of_value(a, y); },
      [](V a, V y) { return pp::relu{}.vector_chain_of_value(a, y); });
  for (double slope : {0.01, 0.2, -0.0, 1.5}) {
    pp::leaky_relu const op{slope};
    check_unary<T>(
        "leaky_relu'", [op](T x) { return op.derivative(x); },
        [op](V x) { return op.vector_derivative(x); });
  }
  check_unary<T>(
      "tanh' of value", [](T y) { return pp::tanh{}.derivative_of_value(y); },
      [](V y) { return pp::tanh{}.vector_derivative_of_value(y); });
  check_unary<T>(
      "sigmoid' of value", [](T y) { return pp::sigmoid{}.derivative_of_value(y); },
      [](V y) { return pp::sigmoid{}.vector_derivative_of_value(y); });
  for (T factor : {T(2.5), T(-0.0), T(0), T(-1), std::numeric_limits<T>::infinity(),
                   std::numeric_limits<T>::quiet_NaN()}) {
    pp::ops::scale<T> const op{factor};
    check_unary<T>(
        "scale'", [op](T x) { return op.derivative(x); },
        [op](V x) { return op.vector_derivative(x); });
  }
  check_unary<T>(
      "square'", [](T x) { return pp::ops::square{}.derivative(x); },
      [](V x) { return pp::ops::square{}.vector_derivative(x); });
  auto const partials = [](char const* name, auto op) {
    check_binary<T>(
        name, [op](T a, T b) { return op.d_left(a, b); },
        [op](V a, V b) { return op.vector_d_left(a, b); });
    check_binary<T>(
        name, [op](T a, T b) { return op.d_right(a, b); },
        [op](V a, V b) { return op.vector_d_right(a, b); });
  };
  partials("add", pp::ops::add{});
  partials("subtract", pp::ops::subtract{});
  partials("multiply", pp::ops::multiply{});
}
#endif

// ---- whole gradients against constant evaluation ----

/// Leaves of shapes that are not whole vectors (rows of 6 and 7), and sums of 5 to 7 terms.
template <class T>
struct operands {
  pp::mat<T, 6, 5> w;
  pp::vec<T, 6> b;
  pp::vec<T, 5> x;
  pp::vec<T, 6> t;
  pp::mat<T, 3, 5> xs;
  pp::mat<T, 3, 6> ts;
  pp::mat<T, 3, 6> h;
};

template <class T>
constexpr T pseudo(std::size_t i, std::size_t k) {
  // values in (-1, 1) with some exact zeros, so that relu meets y = 0 and x = 0
  std::size_t const v = (i * 7919 + k * 104729 + 13) % 41;
  return v % 9 == 0 ? T(0) : (T(static_cast<int>(v)) - T(20)) / T(16);
}

template <class T>
constexpr operands<T> make_operands() {
  operands<T> o{};
  for (std::size_t i = 0; i < 30; ++i) o.w.elements[i] = pseudo<T>(i, 1);
  for (std::size_t i = 0; i < 6; ++i) o.b.elements[i] = pseudo<T>(i, 2);
  for (std::size_t i = 0; i < 5; ++i) o.x.elements[i] = pseudo<T>(i, 3);
  for (std::size_t i = 0; i < 6; ++i) o.t.elements[i] = pseudo<T>(i, 4);
  for (std::size_t i = 0; i < 15; ++i) o.xs.elements[i] = pseudo<T>(i, 5);
  for (std::size_t i = 0; i < 18; ++i) o.ts.elements[i] = pseudo<T>(i, 6);
  for (std::size_t i = 0; i < 18; ++i) o.h.elements[i] = pseudo<T>(i, 7);
  return o;
}

/// The gradients of expression K (0 .. expression_count - 1) with respect to its leaves,
/// flattened: the loss first, then each derivative.
inline constexpr std::size_t expression_count = 7;
inline constexpr std::size_t flat_size = 1 + 30 + 6 + 5 + 18;

template <class T, std::size_t K>
constexpr std::array<T, flat_size> expression_gradient() {
  operands<T> const o = make_operands<T>();
  auto const W = pp::variable<"W">(o.w);
  auto const b = pp::variable<"b">(o.b);
  auto const x = pp::variable<"x">(o.x);
  auto const H = pp::variable<"H">(o.h);
  std::array<T, flat_size> out{};
  auto const put = [&](auto const& r) {
    out[0] = r.value;
    std::size_t at = 1;
    std::apply(
        [&](auto const&... g) {
          ((std::copy(g.elements, g.elements + sizeof(g.elements) / sizeof(T), out.begin() + at),
            at += sizeof(g.elements) / sizeof(T)),
           ...);
        },
        r.gradients);
  };
  if constexpr (K == 0) {  // relu layer under MSE: relu's chain, the shared adjoint of W x + b
    put(pp::value_and_gradient(pp::mse{}(pp::relu{}(W * x + b), o.t), W, b, x));
  } else if constexpr (K == 1) {  // leaky_relu (from the argument) and a scaled difference
    put(pp::value_and_gradient(
        pp::mean(pp::square(T(1.5) * pp::leaky_relu{0.2}(W * x + b) - pp::constant(o.t))), W, b,
        x));
  } else if constexpr (K == 2) {  // a batch: the bias broadcast over rows, its column totals
    put(pp::value_and_gradient(
        pp::mse{}(pp::relu{}(pp::constant(o.xs) * pp::transpose(W) + b), o.ts), W, b));
  } else if constexpr (K == 3) {  // hadamard with both operands variables, a difference
    put(pp::value_and_gradient(
        pp::sum(pp::hadamard(H - (pp::constant(o.xs) * pp::transpose(W) + b), H)), W, b, H));
  } else if constexpr (K == 4) {  // a variable twice: through relu's kept values and as is
    put(pp::value_and_gradient(pp::sum(pp::hadamard(pp::relu{}(H), H)), H));
  } else if constexpr (K == 5) {  // identity and a subtraction on the right
    put(pp::value_and_gradient(pp::mean(pp::square(pp::constant(o.t) - pp::identity{}(W * x))), W,
                               x));
  } else {  // a scaled relu batch, the bias subtracted
    put(pp::value_and_gradient(
        pp::sum(T(-0.5) * pp::relu{}(pp::constant(o.xs) * pp::transpose(W) - b)), W, b));
  }
  return out;
}

template <class T, std::size_t K>
[[gnu::noinline]] std::array<T, flat_size> expression_gradient_at_run_time() {
  return expression_gradient<T, K>();
}

template <class T, std::size_t... K>
void check_expressions(std::index_sequence<K...>) {
  (
      [] {
        constexpr std::array<T, flat_size> expected = expression_gradient<T, K>();
        std::array<T, flat_size> const got = expression_gradient_at_run_time<T, K>();
        for (std::size_t i = 0; i < flat_size; ++i) {
          BOOST_TEST_INFO("expression " << K << " element " << i);
          BOOST_TEST(bits(got[i]) == bits(expected[i]));
        }
      }(),
      ...);
}

// ---- networks: loss_and_gradient and trainer steps ----

template <class T>
using net_t =
    pp::mlp<T, pp::input<5>, pp::dense<6, pp::relu>, pp::dense<7, pp::leaky_relu>, pp::dense<3>>;

template <class T>
constexpr net_t<T> make_net() {
  net_t<T> net;
  std::size_t k = 0;
  pp::for_each_tensor(
      [&](std::size_t n, T* p) {
        for (std::size_t i = 0; i < n; ++i, ++k) p[i] = pseudo<T>(k, 10) / T(2);
      },
      net);
  return net;
}

template <class T>
constexpr pp::mat<T, 3, 5> net_inputs() {
  pp::mat<T, 3, 5> x{};
  for (std::size_t i = 0; i < 15; ++i) x.elements[i] = pseudo<T>(i, 8);
  return x;
}
template <class T>
constexpr pp::mat<T, 3, 3> net_targets() {
  pp::mat<T, 3, 3> y{};
  for (std::size_t i = 0; i < 9; ++i) y.elements[i] = pseudo<T>(i, 9);
  return y;
}

inline constexpr std::size_t net_params = net_t<float>::param_count;

/// The gradient of one sample (Batch false) or of the batch, loss last.
template <class T, bool Batch>
constexpr std::array<T, net_params + 1> net_gradient() {
  net_t<T> const net = make_net<T>();
  pp::gradient_t<net_t<T>> g{};
  std::array<T, net_params + 1> out{};
  T loss{};
  if constexpr (Batch) {
    loss = pp::loss_and_gradient(net, net_inputs<T>(), net_targets<T>(), pp::mse{}, g);
  } else {
    pp::vec<T, 5> x{};
    pp::vec<T, 3> y{};
    for (std::size_t i = 0; i < 5; ++i) x.elements[i] = net_inputs<T>().elements[i];
    for (std::size_t i = 0; i < 3; ++i) y.elements[i] = net_targets<T>().elements[i];
    loss = pp::loss_and_gradient(net, x, y, pp::mse{}, g);
  }
  std::size_t at = 0;
  pp::for_each_tensor(
      [&](std::size_t n, T const* p) {
        for (std::size_t i = 0; i < n; ++i) out[at++] = p[i];
      },
      g);
  out[net_params] = loss;
  return out;
}

template <class T, bool Batch>
[[gnu::noinline]] std::array<T, net_params + 1> net_gradient_at_run_time() {
  return net_gradient<T, Batch>();
}

/// The parameters after three steps of one sample each (the fused update on vectors), then
/// the loss of the last step.
template <class T, class Opt>
constexpr std::array<T, net_params + 1> trained(Opt const& opt) {
  net_t<T> net = make_net<T>();
  pp::trainer t{net, pp::mse{}, opt};
  std::array<T, net_params + 1> out{};
  T loss{};
  for (std::size_t s = 0; s < 3; ++s) {
    pp::vec<T, 5> x{};
    pp::vec<T, 3> y{};
    for (std::size_t i = 0; i < 5; ++i) x.elements[i] = net_inputs<T>().elements[s * 5 + i];
    for (std::size_t i = 0; i < 3; ++i) y.elements[i] = net_targets<T>().elements[s * 3 + i];
    loss = t.step(x, y);
  }
  std::size_t at = 0;
  pp::for_each_tensor(
      [&](std::size_t n, T const* p) {
        for (std::size_t i = 0; i < n; ++i) out[at++] = p[i];
      },
      net);
  out[net_params] = loss;
  return out;
}

template <class T, class Opt>
[[gnu::noinline]] std::array<T, net_params + 1> trained_at_run_time(Opt const& opt) {
  return trained<T>(opt);
}

template <class T, std::size_t N>
void check_same(std::array<T, N> const& got, std::array<T, N> const& expected) {
  for (std::size_t i = 0; i < N; ++i) {
    BOOST_TEST_INFO("element " << i << ": " << got[i] << " against " << expected[i]);
    BOOST_TEST(bits(got[i]) == bits(expected[i]));
  }
}

constexpr pp::sgd sgd_config(int flags) {
  return pp::sgd{.lr = 0.125,
                 .momentum = (flags & 1) ? 0.9 : 0.0,
                 .nesterov = (flags & 2) != 0,
                 .weight_decay = (flags & 4) ? 1e-2 : 0.0};
}

template <class T, int... Flags>
void check_sgd(std::integer_sequence<int, Flags...>) {
  (
      [] {
        constexpr auto expected = trained<T>(sgd_config(Flags));
        BOOST_TEST_CONTEXT("sgd flags " << Flags) {
          check_same(trained_at_run_time<T>(sgd_config(Flags)), expected);
        }
      }(),
      ...);
}

// ---- batch steps: dW = dZᵀ X handed to the fused update a row piece of a tile at a time ----

/// 64 inputs: rows of dW of the first layer span whole tiles of broadcast columns and a
/// narrower last one; 20: a row of the second is no whole number of vectors.
template <class T>
using wide_net_t = pp::mlp<T, pp::input<64>, pp::dense<20, pp::relu>, pp::dense<3>>;
inline constexpr std::size_t wide_params = wide_net_t<float>::param_count;

/// The parameters after three steps of a batch of 4 (X Wᵀ and its backward pass), then the
/// loss of the last step.
template <class T, class Opt>
constexpr std::array<T, wide_params + 1> trained_batch(Opt const& opt) {
  wide_net_t<T> net;
  std::size_t k = 0;
  pp::for_each_tensor(
      [&](std::size_t n, T* p) {
        for (std::size_t i = 0; i < n; ++i, ++k) p[i] = pseudo<T>(k, 10) / T(8);
      },
      net);
  pp::trainer t{net, pp::mse{}, opt, pp::batch<4>};
  T loss{};
  for (std::size_t s = 0; s < 3; ++s) {
    pp::mat<T, 4, 64> x{};
    pp::mat<T, 4, 3> y{};
    for (std::size_t i = 0; i < 4 * 64; ++i) x.elements[i] = pseudo<T>(s * 256 + i, 8);
    for (std::size_t i = 0; i < 4 * 3; ++i) y.elements[i] = pseudo<T>(s * 12 + i, 9);
    loss = t.step(x, y);
  }
  std::array<T, wide_params + 1> out{};
  std::size_t at = 0;
  pp::for_each_tensor(
      [&](std::size_t n, T const* p) {
        for (std::size_t i = 0; i < n; ++i) out[at++] = p[i];
      },
      net);
  out[wide_params] = loss;
  return out;
}

template <class T, class Opt>
[[gnu::noinline]] std::array<T, wide_params + 1> trained_batch_at_run_time(Opt const& opt) {
  return trained_batch<T>(opt);
}

template <class T, int... Flags>
void check_batch_sgd(std::integer_sequence<int, Flags...>) {
  (
      [] {
        constexpr auto expected = trained_batch<T>(sgd_config(Flags));
        BOOST_TEST_CONTEXT("sgd flags " << Flags) {
          check_same(trained_batch_at_run_time<T>(sgd_config(Flags)), expected);
        }
      }(),
      ...);
}

}  // namespace

// ---- softmax cross-entropy: its vector adjoint against its scalar one, at run time ----

/// The loss and the gradient of relu(X W1ᵀ + b1) W2ᵀ + b2 (Batch rows of Classes logits)
/// under softmax cross-entropy, against labels or soft target rows, flattened (loss first),
/// at run time. Scalar reads the logits through transpose(transpose(Z)): the same values,
/// read one by one in the forward pass, and a transpose hands the node below it an adjoint
/// without a vector form, so that every derivative of the logits comes from the scalar
/// adjoint (the same float exponential, detail::fast_exp, element by element).
template <std::size_t Batch, std::size_t Classes, bool Soft, bool Scalar>
[[gnu::noinline]] std::vector<float> xent_gradient() {
  pp::mat<float, 6, 5> w1;
  pp::vec<float, 6> b1;
  pp::mat<float, Classes, 6> w2;
  pp::vec<float, Classes> b2;
  pp::mat<float, Batch, 5> xs;
  pp::mat<float, Batch, Classes> ts;
  std::array<int, Batch> labels{};
  for (std::size_t i = 0; i < 30; ++i) w1.elements[i] = 2 * pseudo<float>(i, 11);
  for (std::size_t i = 0; i < 6; ++i) b1.elements[i] = pseudo<float>(i, 12);
  for (std::size_t i = 0; i < Classes * 6; ++i) w2.elements[i] = 3 * pseudo<float>(i, 13);
  for (std::size_t i = 0; i < Classes; ++i) b2.elements[i] = pseudo<float>(i, 14);
  for (std::size_t i = 0; i < Batch * 5; ++i) xs.elements[i] = 2 * pseudo<float>(i, 15);
  for (std::size_t i = 0; i < Batch * Classes; ++i) {
    ts.elements[i] = std::abs(pseudo<float>(i, 16)) * 0.25f;
  }
  for (std::size_t r = 0; r < Batch; ++r) labels[r] = static_cast<int>((r * 7 + 3) % Classes);
  auto const W1 = pp::variable<"W1">(w1);
  auto const B1 = pp::variable<"b1">(b1);
  auto const W2 = pp::variable<"W2">(w2);
  auto const B2 = pp::variable<"b2">(b2);
  auto const z = pp::relu{}(pp::constant(xs) * pp::transpose(W1) + B1) * pp::transpose(W2) + B2;
  auto const gradient = [&](auto const& logits) {
    if constexpr (Soft) {
      return pp::value_and_gradient(pp::softmax_cross_entropy{}(logits, ts), W1, B1, W2, B2);
    } else {
      return pp::value_and_gradient(pp::softmax_cross_entropy{}(logits, labels), W1, B1, W2, B2);
    }
  };
  auto const r = [&] {
    if constexpr (Scalar) {
      return gradient(pp::transpose(pp::transpose(z)));
    } else {
      return gradient(z);
    }
  }();
  std::vector<float> out{r.value};
  std::apply(
      [&](auto const&... g) {
        (out.insert(out.end(), std::begin(g.elements), std::end(g.elements)), ...);
      },
      r.gradients);
  return out;
}

/// The same for a vector of logits (a variable, whose derivative is the adjoint's vector
/// form read at row 0) against a 1 x Classes matrix of the same values read through
/// transpose(transpose(·)) (the scalar adjoint): the gradient of the logits, loss first.
template <std::size_t Classes, bool Scalar>
[[gnu::noinline]] std::vector<float> xent_logits_gradient() {
  pp::vec<float, Classes> v;
  for (std::size_t i = 0; i < Classes; ++i) v.elements[i] = 4 * pseudo<float>(i, 17);
  int const label = static_cast<int>(Classes / 2);
  auto const r = [&] {
    if constexpr (Scalar) {
      pp::mat<float, 1, Classes> m;
      std::copy(std::begin(v.elements), std::end(v.elements), m.elements);
      auto const L = pp::variable<"L">(m);
      return pp::value_and_gradient(
          pp::softmax_cross_entropy{}(pp::transpose(pp::transpose(L)), std::array<int, 1>{label}),
          L);
    } else {
      auto const L = pp::variable<"L">(v);
      return pp::value_and_gradient(pp::softmax_cross_entropy{}(L, label), L);
    }
  }();
  auto const& g = std::get<0>(r.gradients);
  std::vector<float> out{r.value};
  out.insert(out.end(), std::begin(g.elements), std::end(g.elements));
  return out;
}

/// Bit equality of two flattened gradients, and that they are finite and not all zero.
void check_xent(char const* name, std::vector<float> const& vector_path,
                std::vector<float> const& scalar_path) {
  BOOST_TEST_INFO(name);
  BOOST_TEST_REQUIRE(vector_path.size() == scalar_path.size());
  std::size_t bad = 0;
  std::size_t nonzero = 0;
  for (std::size_t i = 0; i < vector_path.size(); ++i) {
    if (bits(vector_path[i]) != bits(scalar_path[i]) && ++bad <= 8) {
      BOOST_ERROR(name << " element " << i << ": vector path " << vector_path[i] << ", scalar "
                       << scalar_path[i]);
    }
    if (vector_path[i] != 0 && std::isfinite(vector_path[i])) ++nonzero;
  }
  BOOST_TEST(bad == 0u);
  BOOST_TEST(nonzero > vector_path.size() / 2);
}

/// Softmax cross-entropy of Rows x Classes logits (a vector of them for Rows 0), against
/// labels or soft targets, at run time against the same computed here in long double (the
/// forward pass's maximum, Σ e^(z - max) of whole and partial vectors, and the derivative's
/// exponentials). The tolerance is 8 ulps scaled by 1 + max |z|: an error of an ulp in the
/// log-sum-exp of logits of that size is one of that many ulps in each e^(z - lse).
template <std::size_t Rows, std::size_t Classes, bool Soft>
void check_xent_against_long_double() {
  constexpr std::size_t n = (Rows == 0 ? 1 : Rows) * Classes;
  using logits_t = std::conditional_t<Rows == 0, pp::vec<float, Classes>,
                                      pp::mat<float, (Rows == 0 ? 1 : Rows), Classes>>;
  logits_t z;
  logits_t t;
  std::array<int, n / Classes> labels{};
  for (std::size_t i = 0; i < n; ++i) {
    // a spread of logits, the largest anywhere in a row (its last elements included)
    z.elements[i] = 9 * pseudo<float>(i, 18) + (i % Classes == (i * 5) % 7 ? 6.0f : 0.0f);
    t.elements[i] = std::abs(pseudo<float>(i, 19));
  }
  for (std::size_t r = 0; r < n / Classes; ++r) {
    labels[r] = static_cast<int>((r * 5 + Classes - 1) % Classes);
  }
  auto const Z = pp::variable<"Z">(z);
  auto const result = [&] {
    if constexpr (Soft) {
      return pp::value_and_gradient(pp::softmax_cross_entropy{}(Z, t), Z);
    } else if constexpr (Rows == 0) {
      return pp::value_and_gradient(pp::softmax_cross_entropy{}(Z, labels[0]), Z);
    } else {
      return pp::value_and_gradient(pp::softmax_cross_entropy{}(Z, labels), Z);
    }
  }();
  auto const& g = std::get<0>(result.gradients);
  long double loss = 0;
  std::array<long double, n> grad{};
  long double const rows = static_cast<long double>(n / Classes);
  for (std::size_t r = 0; r < n / Classes; ++r) {
    long double s = 0;
    for (std::size_t j = 0; j < Classes; ++j)
      s += std::exp(static_cast<long double>(z.elements[r * Classes + j]));
    long double const lse = std::log(s);
    long double mass = 0;
    for (std::size_t j = 0; j < Classes; ++j) {
      std::size_t const i = r * Classes + j;
      long double const y = Soft ? static_cast<long double>(t.elements[i])
                                 : (static_cast<int>(j) == labels[r] ? 1.0L : 0.0L);
      mass += y;
      loss += y * (lse - z.elements[i]);
      grad[i] = -y;
    }
    for (std::size_t j = 0; j < Classes; ++j) {
      std::size_t const i = r * Classes + j;
      grad[i] = (grad[i] + std::exp(z.elements[i] - lse) * mass) / rows;
    }
  }
  loss /= rows;
  long double largest = 0;
  long double scale = 1;
  for (long double d : grad) largest = std::max(largest, std::abs(d));
  for (float v : z.elements) scale = std::max(scale, 1 + std::abs(static_cast<long double>(v)));
  long double const tolerance = 8 * std::numeric_limits<float>::epsilon() * scale;
  BOOST_TEST_INFO(Rows << " x " << Classes << (Soft ? ", soft targets" : ", labels"));
  BOOST_TEST(std::abs(result.value - loss) <= tolerance * std::max(1.0L, std::abs(loss)));
  std::size_t bad = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!(std::abs(g.elements[i] - grad[i]) <= tolerance * largest) && ++bad <= 4) {
      BOOST_ERROR(Rows << " x " << Classes << " element " << i << ": " << g.elements[i]
                       << ", exact " << static_cast<double>(grad[i]));
    }
  }
  BOOST_TEST(bad == 0u);
}

BOOST_AUTO_TEST_CASE(softmax_cross_entropy_against_long_double) {
  check_xent_against_long_double<0, 10, false>();
  check_xent_against_long_double<0, 3, false>();
  check_xent_against_long_double<3, 3, false>();
  check_xent_against_long_double<3, 10, false>();
  check_xent_against_long_double<4, 16, false>();
  check_xent_against_long_double<3, 19, false>();
  check_xent_against_long_double<3, 10, true>();
  check_xent_against_long_double<2, 7, true>();
}

// Rows shorter than a vector, whole vectors, and whole vectors and a rest (4 or 8 lanes).
BOOST_AUTO_TEST_CASE(softmax_cross_entropy_vector_adjoint) {
  check_xent("labels, 3 classes", xent_gradient<3, 3, false, false>(),
             xent_gradient<3, 3, false, true>());
  check_xent("labels, 10 classes", xent_gradient<3, 10, false, false>(),
             xent_gradient<3, 10, false, true>());
  check_xent("labels, 16 classes", xent_gradient<2, 16, false, false>(),
             xent_gradient<2, 16, false, true>());
  check_xent("labels, 19 classes", xent_gradient<3, 19, false, false>(),
             xent_gradient<3, 19, false, true>());
  check_xent("soft targets, 10 classes", xent_gradient<3, 10, true, false>(),
             xent_gradient<3, 10, true, true>());
  check_xent("soft targets, 5 classes", xent_gradient<2, 5, true, false>(),
             xent_gradient<2, 5, true, true>());
  check_xent("vector logits, 10", xent_logits_gradient<10, false>(),
             xent_logits_gradient<10, true>());
  check_xent("vector logits, 13", xent_logits_gradient<13, false>(),
             xent_logits_gradient<13, true>());
}

#ifdef PROPEL_DETAIL_VECTOR_TYPES
BOOST_AUTO_TEST_CASE(op_vector_forms_float) { check_op_forms<float>(); }
BOOST_AUTO_TEST_CASE(op_vector_forms_double) { check_op_forms<double>(); }
#endif

BOOST_AUTO_TEST_CASE(expression_gradients_float) {
  check_expressions<float>(std::make_index_sequence<expression_count>{});
}
BOOST_AUTO_TEST_CASE(expression_gradients_double) {
  check_expressions<double>(std::make_index_sequence<expression_count>{});
}

BOOST_AUTO_TEST_CASE(network_gradients) {
  constexpr auto f1 = net_gradient<float, false>();
  check_same(net_gradient_at_run_time<float, false>(), f1);
  constexpr auto fb = net_gradient<float, true>();
  check_same(net_gradient_at_run_time<float, true>(), fb);
  constexpr auto d1 = net_gradient<double, false>();
  check_same(net_gradient_at_run_time<double, false>(), d1);
}

BOOST_AUTO_TEST_CASE(trainer_steps_sgd) {
  check_sgd<float>(std::integer_sequence<int, 0, 1, 3, 5, 7>{});
  check_sgd<double>(std::integer_sequence<int, 0, 1>{});
}

BOOST_AUTO_TEST_CASE(batch_trainer_steps_sgd) {
  check_batch_sgd<float>(std::integer_sequence<int, 0, 1, 3, 5, 7>{});
  check_batch_sgd<double>(std::integer_sequence<int, 0, 1>{});
}

BOOST_AUTO_TEST_CASE(batch_trainer_steps_adam) {
  constexpr auto expected = trained_batch<float>(pp::adamw{.lr = 0.01});
  check_same(trained_batch_at_run_time<float>(pp::adamw{.lr = 0.01}), expected);
}

BOOST_AUTO_TEST_CASE(trainer_steps_adam) {
  constexpr auto expected = trained<float>(pp::adamw{.lr = 0.01});
  check_same(trained_at_run_time<float>(pp::adamw{.lr = 0.01}), expected);
}
