// SPDX-License-Identifier: BSL-1.0
/// \file Defines the activations. Each is an element-wise op (value and derivative) and a
/// callable that applies itself to an expression: `propel::relu{}(e)`, `propel::elu{0.5}(e)`.
/// The same types name a dense layer's activation: `propel::dense<64, propel::relu>`.
///
/// An activation whose derivative follows from its value alone also defines
/// `derivative_of_value(y)` (tanh, sigmoid, relu); the node applying it then keeps its values
/// from the forward pass and differentiates from them, as PyTorch does for these three
/// (relu also defines `chain_of_value(adj, y)`, the adjoint carried back, see
/// detail::chain_of_value). The `vector_` forms are the same functions on a vector of
/// elements (a simd_t), lane by lane the same bits: the forward pass's `vector_value`, the
/// backward pass's `vector_derivative`, `vector_derivative_of_value` and
/// `vector_chain_of_value` (see detail::has_vector_chain_v).
///
/// Conventions, as in PyTorch: relu'(0) = 0; leaky_relu'(0) is the slope; softplus is
/// linear above 20 (beta 1, threshold 20); gelu is the exact (erf) form and gelu_tanh the
/// tanh approximation. Parameters are doubles, used in the expression's scalar type.
///
/// Each activation of propel's says what the rest of the library needs to know about it, so
/// that adding one touches this file alone: its `name` (the topology signature of a
/// checkpoint prints it, and the C++ header export spells the type as propel::<name>), the
/// `parameter()` a signature prints with it when it has one (leaky_relu's slope, elu's
/// alpha), and `he_init` when propel::init draws its weights He uniform (the rectifier
/// family) rather than Glorot uniform. A type derived from an activation inherits these, and
/// is told apart where it matters (detail::is_named_activation_v).
///
/// NaN, as in PyTorch: every activation maps NaN to NaN (relu included: a rectifier written
/// max(x, 0) would return 0), and the derivatives at NaN are PyTorch's: 1 for relu and elu
/// (their backward passes test x <= 0), the slope for leaky_relu, NaN for the others.
#pragma once

#include <concepts>
#include <propel/detail/fast_math.hpp>
#include <propel/detail/math.hpp>
#include <propel/expr/elementwise.hpp>
#include <string_view>
#include <type_traits>

namespace propel {

namespace detail {
/// Stable logistic function: never evaluates exp of a large positive number.
template <class T>
constexpr T sigmoid(T x) noexcept {
  if (x >= T(0)) return T(1) / (T(1) + math::exp(-x));
  T const e = math::exp(x);
  return e / (T(1) + e);
}

/// Gives every activation its call operator: `act(e)` is `apply(act, e)`, and its
/// `activation_type`: the activation of propel's that a type is, or derives from.
template <class Self>
struct activation_call {
  using activation_type = Self;
  template <Expression E>
  [[nodiscard]] constexpr unary_expr<Self, E> operator()(E const& e) const {
    return apply(static_cast<Self const&>(*this), e);
  }
};

/// Whether Act is one of propel's activations itself (it has a `name` and is its own
/// `activation_type`), not a type derived from one: a derived type inherits the name, but may
/// change the parameter or the functions, so it is spelled by neither.
template <class Act>
inline constexpr bool is_named_activation_v = [] {
  if constexpr (requires {
                  typename Act::activation_type;
                  { Act::name } -> std::convertible_to<std::string_view>;
                }) {
    return std::is_same_v<typename Act::activation_type, Act>;
  } else {
    return false;
  }
}();

/// Whether propel::init draws the weights of a layer with activation Act He uniform: the
/// activation says so (`he_init`, inherited by a derived type); otherwise Glorot uniform.
template <class Act>
inline constexpr bool he_init_v = [] {
  if constexpr (requires { Act::he_init; }) {
    return bool{Act::he_init};
  } else {
    return false;
  }
}();
}  // namespace detail

/// y = x
struct identity : detail::activation_call<identity> {
  static constexpr std::string_view name = "identity";
  template <class T>
  [[nodiscard]] constexpr T value(T x) const noexcept {
    return x;
  }
  template <class V>
  [[nodiscard]] PROPEL_ALWAYS_INLINE V vector_value(V x) const noexcept {
    return x;
  }
  template <class T>
  [[nodiscard]] constexpr T derivative(T) const noexcept {
    return T(1);
  }
  template <class V>
  [[nodiscard]] PROPEL_ALWAYS_INLINE V vector_derivative(V x) const noexcept {
    using T = std::remove_cvref_t<decltype(x[0])>;
    return V{} + T(1);
  }
};

/// y = max(x, 0), NaN for NaN (and -0 for -0, as torch.relu); the derivative at 0 is 0,
/// at NaN 1 (PyTorch's).
struct relu : detail::activation_call<relu> {
  static constexpr std::string_view name = "relu";
  static constexpr bool he_init = true;
  /// x unless x < 0: a NaN fails the test and passes through. Vectorised, this is one max
  /// with 0 as its first operand (x86's maxps returns the second when either is NaN).
  template <class T>
  [[nodiscard]] constexpr T value(T x) const noexcept {
    return x < T(0) ? T(0) : x;
  }
  /// value on a vector (detail::vector_element_at): the same test lane by lane, a blend.
  template <class V>
  [[nodiscard]] PROPEL_ALWAYS_INLINE V vector_value(V x) const noexcept {
    return x < V{} ? V{} : x;
  }
  /// The same rule from x or from y = relu(x): y <= 0 exactly when x <= 0, and y is NaN
  /// exactly when x is.
  template <class T>
  [[nodiscard]] constexpr T derivative(T x) const noexcept {
    return derivative_of_value(x);
  }
  template <class T>
  [[nodiscard]] constexpr T derivative_of_value(T y) const noexcept {
    return y <= T(0) ? T(0) : T(1);
  }
  /// The backward pass from y: adj where y > 0 or y is NaN, 0 where y <= 0, chosen rather
  /// than multiplied (PyTorch's threshold_backward), so a NaN or infinite adjoint does not
  /// reach a unit relu has zeroed: 0, not NaN, as 0 * NaN would give.
  template <class T>
  [[nodiscard]] constexpr T chain_of_value(T adj, T y) const noexcept {
    return y <= T(0) ? T(0) : adj;
  }
  /// chain_of_value on vectors: the same test lane by lane, a blend.
  template <class V>
  [[nodiscard]] PROPEL_ALWAYS_INLINE V vector_chain_of_value(V adj, V y) const noexcept {
    return y <= V{} ? V{} : adj;
  }
};

/// y = x for x > 0, slope * x otherwise (PyTorch's default slope, 0.01). For a dense
/// layer with another slope, derive a type: `struct leaky02 : propel::leaky_relu {
/// constexpr leaky02() : leaky_relu(0.2) {} };`
struct leaky_relu : detail::activation_call<leaky_relu> {
  static constexpr std::string_view name = "leaky_relu";
  static constexpr bool he_init = true;
  double slope;
  constexpr explicit leaky_relu(double negative_slope = 0.01) noexcept : slope(negative_slope) {}
  [[nodiscard]] constexpr double parameter() const noexcept { return slope; }
  template <class T>
  [[nodiscard]] constexpr T value(T x) const noexcept {
    return x > T(0) ? x : static_cast<T>(slope) * x;
  }
  template <class V>
  [[nodiscard]] PROPEL_ALWAYS_INLINE V vector_value(V x) const noexcept {
    using T = std::remove_cvref_t<decltype(x[0])>;
    return x > V{} ? x : static_cast<T>(slope) * x;
  }
  template <class T>
  [[nodiscard]] constexpr T derivative(T x) const noexcept {
    return x > T(0) ? T(1) : static_cast<T>(slope);
  }
  template <class V>
  [[nodiscard]] PROPEL_ALWAYS_INLINE V vector_derivative(V x) const noexcept {
    using T = std::remove_cvref_t<decltype(x[0])>;
    return x > V{} ? V{} + T(1) : static_cast<T>(slope) - V{};
  }
};

/// y = tanh x. For float at run time a branch-free tanh (within detail::fast_tanh_max_ulps of
/// the exact value), applied a vector at a time where the target has vector registers
/// (vector_value); otherwise detail::math::tanh.
struct tanh : detail::activation_call<tanh> {
  static constexpr std::string_view name = "tanh";
  template <class T>
  [[nodiscard]] constexpr T value(T x) const noexcept {
    if constexpr (std::is_same_v<T, float>) {
      if (!std::is_constant_evaluated()) return detail::fast_tanh(x);
    }
    return detail::math::tanh(x);
  }
#ifdef PROPEL_DETAIL_VECTOR_TYPES
  /// value(x) on a vector of floats at run time (see detail::has_vector_value_v): the same
  /// bits, lane by lane, as value(float).
  [[nodiscard]] PROPEL_ALWAYS_INLINE detail::simd_t<float> vector_value(
      detail::simd_t<float> x) const noexcept {
    return detail::fast_tanh(x);
  }
#endif
  template <class T>
  [[nodiscard]] constexpr T derivative(T x) const noexcept {
    return derivative_of_value(value(x));
  }
  /// 1 - y² from y = tanh x.
  template <class T>
  [[nodiscard]] constexpr T derivative_of_value(T y) const noexcept {
    return T(1) - y * y;
  }
  template <class V>
  [[nodiscard]] PROPEL_ALWAYS_INLINE V vector_derivative_of_value(V y) const noexcept {
    using T = std::remove_cvref_t<decltype(y[0])>;
    return T(1) - y * y;
  }
};

/// y = 1 / (1 + e^-x), evaluated stably for every x.
struct sigmoid : detail::activation_call<sigmoid> {
  static constexpr std::string_view name = "sigmoid";
  template <class T>
  [[nodiscard]] constexpr T value(T x) const noexcept {
    return detail::sigmoid(x);
  }
  template <class T>
  [[nodiscard]] constexpr T derivative(T x) const noexcept {
    return derivative_of_value(value(x));
  }
  /// s (1 - s) from s = sigmoid(x).
  template <class T>
  [[nodiscard]] constexpr T derivative_of_value(T s) const noexcept {
    return s * (T(1) - s);
  }
  template <class V>
  [[nodiscard]] PROPEL_ALWAYS_INLINE V vector_derivative_of_value(V s) const noexcept {
    using T = std::remove_cvref_t<decltype(s[0])>;
    return s * (T(1) - s);
  }
};

/// y = x for x > 0, alpha (e^x - 1) otherwise (PyTorch's default alpha, 1).
struct elu : detail::activation_call<elu> {
  static constexpr std::string_view name = "elu";
  static constexpr bool he_init = true;
  double alpha;
  constexpr explicit elu(double a = 1.0) noexcept : alpha(a) {}
  [[nodiscard]] constexpr double parameter() const noexcept { return alpha; }
  template <class T>
  [[nodiscard]] constexpr T value(T x) const noexcept {
    return x > T(0) ? x : static_cast<T>(alpha) * detail::math::expm1(x);
  }
  /// 1 for x > 0 and for NaN (PyTorch's test is x <= 0), alpha e^x otherwise.
  template <class T>
  [[nodiscard]] constexpr T derivative(T x) const noexcept {
    return x <= T(0) ? static_cast<T>(alpha) * detail::math::exp(x) : T(1);
  }
};

/// y = x sigmoid(x)
struct silu : detail::activation_call<silu> {
  static constexpr std::string_view name = "silu";
  static constexpr bool he_init = true;
  template <class T>
  [[nodiscard]] constexpr T value(T x) const noexcept {
    return x * detail::sigmoid(x);
  }
  template <class T>
  [[nodiscard]] constexpr T derivative(T x) const noexcept {
    T const s = detail::sigmoid(x);
    return s * (T(1) + x * (T(1) - s));
  }
};

/// y = x Phi(x) = x (1 + erf(x / sqrt 2)) / 2, the exact GELU.
struct gelu : detail::activation_call<gelu> {
  static constexpr std::string_view name = "gelu";
  static constexpr bool he_init = true;
  template <class T>
  [[nodiscard]] constexpr T value(T x) const noexcept {
    return T(0.5) * x * (T(1) + detail::math::erf(x * T(0.70710678118654752440)));
  }
  template <class T>
  [[nodiscard]] constexpr T derivative(T x) const noexcept {
    T const cdf = T(0.5) * (T(1) + detail::math::erf(x * T(0.70710678118654752440)));
    T const pdf = T(0.39894228040143267794) * detail::math::exp(T(-0.5) * x * x);
    return cdf + x * pdf;
  }
};

/// y = x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))) / 2, GELU's tanh approximation.
struct gelu_tanh : detail::activation_call<gelu_tanh> {
  static constexpr std::string_view name = "gelu_tanh";
  static constexpr bool he_init = true;
  static constexpr double k = 0.79788456080286535588;  // sqrt(2 / pi)
  static constexpr double c = 0.044715;
  template <class T>
  [[nodiscard]] constexpr T value(T x) const noexcept {
    T const u = T(k) * (x + T(c) * x * x * x);
    return T(0.5) * x * (T(1) + detail::math::tanh(u));
  }
  template <class T>
  [[nodiscard]] constexpr T derivative(T x) const noexcept {
    T const u = T(k) * (x + T(c) * x * x * x);
    T const t = detail::math::tanh(u);
    T const du = T(k) * (T(1) + T(3 * c) * x * x);
    return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * du;
  }
};

/// y = ln(1 + e^x), and y = x above 20 (PyTorch's Softplus with beta 1, threshold 20).
struct softplus : detail::activation_call<softplus> {
  static constexpr std::string_view name = "softplus";
  static constexpr double threshold = 20.0;
  template <class T>
  [[nodiscard]] constexpr T value(T x) const noexcept {
    return x > T(threshold) ? x : detail::math::log1p(detail::math::exp(x));
  }
  template <class T>
  [[nodiscard]] constexpr T derivative(T x) const noexcept {
    return x > T(threshold) ? T(1) : detail::sigmoid(x);
  }
};

}  // namespace propel
