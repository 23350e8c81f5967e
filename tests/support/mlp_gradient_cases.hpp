// SPDX-License-Identifier: BSL-1.0
/// \file The cases of the mlp_gradient test executable: seeded random topologies, every loss
/// with its targets, every batch form, and the check of one case (parameter and input
/// gradients against central finite differences of tests/support/nn_reference.hpp), shared by
/// its translation units.
#pragma once

#include <algorithm>
#include <array>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <propel/propel.hpp>
#include <span>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "support/nn_reference.hpp"

namespace mlp_cases {

namespace pp = propel;
namespace ref = nn_reference;

// ---------------------------------------------------------------------------------------------
// Random numbers: SplitMix64 written out here (Steele, Lea, Flood 2014; constants from Vigna's
// reference splitmix64.c), independent of propel's own generator.

struct rng64 {
  std::uint64_t state;
  constexpr std::uint64_t next() noexcept {
    state += 0x9E3779B97F4A7C15ULL;
    std::uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, 1) from the top 53 bits.
  constexpr double unit() noexcept {
    return static_cast<double>(next() >> 11) / 9007199254740992.0;
  }
  constexpr double uniform(double lo, double hi) noexcept { return lo + (hi - lo) * unit(); }
  constexpr std::size_t below(std::size_t n) noexcept {
    return static_cast<std::size_t>(next() % n);
  }
};

/// |a - b| / max(|a|, |b|, floor)
inline double rel_err(double a, double b, double floor) {
  if (a == b) return 0.0;
  if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<double>::infinity();
  return std::abs(a - b) / std::max({std::abs(a), std::abs(b), floor});
}

/// The largest relative errors between a gradient and its finite difference over the whole run,
/// and how many elements were compared (the main translation unit reports them).
inline double largest_fd_error = 0.0;
inline double largest_input_fd_error = 0.0;
inline std::size_t fd_elements_checked = 0;
inline std::size_t fd_elements_skipped = 0;

// ---------------------------------------------------------------------------------------------
// Activations: every one propel has, and two with a non-default parameter.

struct leaky02 : pp::leaky_relu {
  constexpr leaky02() : leaky_relu(0.2) {}
};
struct elu05 : pp::elu {
  constexpr elu05() : elu(0.5) {}
};

using all_activations =
    std::tuple<pp::identity, pp::relu, pp::leaky_relu, leaky02, pp::tanh, pp::sigmoid, pp::elu,
               elu05, pp::silu, pp::gelu, pp::gelu_tanh, pp::softplus>;
inline constexpr std::size_t activation_count = std::tuple_size_v<all_activations>;

/// What each activation is, written independently of propel's types.
template <class A>
ref::activation describe_activation() {
  using ref::act;
  if constexpr (std::is_same_v<A, pp::identity>) return {act::identity, 0.0};
  if constexpr (std::is_same_v<A, pp::relu>) return {act::relu, 0.0};
  if constexpr (std::is_same_v<A, pp::leaky_relu>) return {act::leaky_relu, 0.01};
  if constexpr (std::is_same_v<A, leaky02>) return {act::leaky_relu, 0.2};
  if constexpr (std::is_same_v<A, pp::tanh>) return {act::tanh, 0.0};
  if constexpr (std::is_same_v<A, pp::sigmoid>) return {act::sigmoid, 0.0};
  if constexpr (std::is_same_v<A, pp::elu>) return {act::elu, 1.0};
  if constexpr (std::is_same_v<A, elu05>) return {act::elu, 0.5};
  if constexpr (std::is_same_v<A, pp::silu>) return {act::silu, 0.0};
  if constexpr (std::is_same_v<A, pp::gelu>) return {act::gelu, 0.0};
  if constexpr (std::is_same_v<A, pp::gelu_tanh>) return {act::gelu_tanh, 0.0};
  if constexpr (std::is_same_v<A, pp::softplus>) return {act::softplus, 0.0};
}

/// Whether propel's init must use He (rectifier family) or Glorot bounds, per the docs.
template <class A>
constexpr bool he_family() {
  return std::is_same_v<A, pp::relu> || std::is_same_v<A, pp::leaky_relu> ||
         std::is_same_v<A, leaky02> || std::is_same_v<A, pp::elu> || std::is_same_v<A, elu05> ||
         std::is_same_v<A, pp::silu> || std::is_same_v<A, pp::gelu> ||
         std::is_same_v<A, pp::gelu_tanh>;
}

template <class Net>
ref::network describe_network() {
  ref::network r;
  r.widths.assign(Net::widths.begin(), Net::widths.end());
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (r.acts.push_back(describe_activation<typename Net::template activation_t<I>>()), ...);
  }
  (std::make_index_sequence<Net::layer_count>{});
  return r;
}

// ---------------------------------------------------------------------------------------------
// Seeded random topologies: depth 1 to 3, input width 1 to 6, layer widths 2 to 7, one
// activation per layer drawn from all_activations.

constexpr std::uint64_t draw(std::uint64_t seed, std::uint64_t k) {
  rng64 g{seed * 0x100000001B3ULL + k};
  return g.next();
}

template <std::uint64_t Seed>
struct topology {
  static constexpr std::size_t depth = 1 + static_cast<std::size_t>(draw(Seed, 0) % 3);
  static constexpr std::size_t width(std::size_t i) {
    return i == 0 ? 1 + static_cast<std::size_t>(draw(Seed, 1) % 6)
                  : 2 + static_cast<std::size_t>(draw(Seed, 1 + i) % 6);
  }
  static constexpr std::size_t activation(std::size_t layer) {
    return static_cast<std::size_t>(draw(Seed, 10 + layer) % activation_count);
  }
  template <class T, class = std::make_index_sequence<depth>>
  struct net;
  template <class T, std::size_t... L>
  struct net<T, std::index_sequence<L...>> {
    using type =
        pp::mlp<T, pp::input<width(0)>,
                pp::dense<width(L + 1), std::tuple_element_t<activation(L), all_activations>>...>;
  };
};

// ---------------------------------------------------------------------------------------------
// Losses: how to make targets of each kind, and what the reference computes.

template <class Out>
constexpr std::size_t rows_of = Out::shape_type::rank == 1 ? 1 : Out::shape_type::rows;

/// What every loss case has: propel's loss object, and the reference's loss and parameter.
template <class Fn, ref::loss Kind>
struct loss_of {
  static constexpr ref::loss kind = Kind;
  static constexpr double param = 0.0;
  static Fn fn() { return {}; }
};

/// Targets of the outputs' shape, made one row (one sample's outputs) at a time by
/// fill_row(std::span<double, width>); `flat` gets the same values for the reference.
template <class Out, class FillRow>
Out targets_by_row(std::vector<double>& flat, FillRow const& fill_row) {
  constexpr std::size_t rows = rows_of<Out>;
  constexpr std::size_t width = Out::size() / rows;
  Out y{};
  for (std::size_t r = 0; r < rows; ++r)
    fill_row(std::span<double, width>(y.data() + r * width, width));
  flat.assign(y.begin(), y.end());
  return y;
}

struct mse_case : loss_of<pp::mse, ref::loss::mse> {
  static constexpr char const* name = "mse";
  template <class Out>
  static Out targets(rng64& g, std::vector<double>& flat) {
    return targets_by_row<Out>(flat, [&](auto row) {
      for (auto& v : row) v = g.uniform(-1.5, 1.5);
    });
  }
};

struct huber_case : loss_of<pp::huber, ref::loss::huber> {
  static constexpr char const* name = "huber";
  static constexpr double param = 0.6;
  static pp::huber fn() { return {.delta = param}; }
  template <class Out>
  static Out targets(rng64& g, std::vector<double>& flat) {
    return mse_case::targets<Out>(g, flat);
  }
};

struct bce_case : loss_of<pp::bce_with_logits, ref::loss::bce_with_logits> {
  static constexpr char const* name = "bce_with_logits";
  template <class Out>
  static Out targets(rng64& g, std::vector<double>& flat) {
    return targets_by_row<Out>(flat, [&](auto row) {
      for (auto& v : row) v = g.unit();
    });
  }
};

/// Integer labels: an int for one sample, std::array<int, rows> for a batch.
struct labels_case : loss_of<pp::softmax_cross_entropy, ref::loss::cross_entropy> {
  static constexpr char const* name = "softmax_cross_entropy, labels";
  template <class Out>
  static auto targets(rng64& g, std::vector<double>& flat) {
    constexpr std::size_t rows = rows_of<Out>;
    constexpr std::size_t classes = Out::size() / rows;
    std::array<int, rows> labels{};
    flat.assign(rows * classes, 0.0);
    for (std::size_t r = 0; r < rows; ++r) {
      std::size_t const c = g.below(classes);
      labels[r] = static_cast<int>(c);
      flat[r * classes + c] = 1.0;
    }
    if constexpr (Out::shape_type::rank == 1) {
      return labels[0];
    } else {
      return labels;
    }
  }
};

/// One-hot targets of the logits' shape.
struct one_hot_case : loss_of<pp::softmax_cross_entropy, ref::loss::cross_entropy> {
  static constexpr char const* name = "softmax_cross_entropy, one-hot";
  template <class Out>
  static Out targets(rng64& g, std::vector<double>& flat) {
    return targets_by_row<Out>(flat, [&](auto row) { row[g.below(row.size())] = 1.0; });
  }
};

/// Soft targets (each row a distribution), as PyTorch's CrossEntropyLoss with probabilities.
struct soft_case : loss_of<pp::softmax_cross_entropy, ref::loss::cross_entropy> {
  static constexpr char const* name = "softmax_cross_entropy, soft";
  template <class Out>
  static Out targets(rng64& g, std::vector<double>& flat) {
    return targets_by_row<Out>(flat, [&](auto row) {
      double total = 0.0;
      for (auto& v : row) total += (v = g.uniform(0.1, 1.0));
      for (auto& v : row) v /= total;
    });
  }
};

// Batch forms: one sample as a vec, or B samples as the rows of a mat (B = 1 included).
struct one_vec {
  template <class T, std::size_t N>
  using input = pp::vec<T, N>;
  template <class T, std::size_t N>
  using output = pp::vec<T, N>;
  static constexpr std::size_t rows = 1;
};
template <std::size_t B>
struct batch_of {
  template <class T, std::size_t N>
  using input = pp::mat<T, B, N>;
  template <class T, std::size_t N>
  using output = pp::mat<T, B, N>;
  static constexpr std::size_t rows = B;
};

template <std::uint64_t Seed, class Batch, class Loss>
struct grad_case {
  static constexpr std::uint64_t seed = Seed;
  using batch = Batch;
  using loss = Loss;
  using net = typename topology<Seed>::template net<double>::type;
};

/// The cases of one loss, one per batch form in Batches (a std::tuple), on the topologies of
/// seeds FirstSeed, FirstSeed + 1, ...
template <std::uint64_t FirstSeed, class Loss, class Batches,
          class = std::make_index_sequence<std::tuple_size_v<Batches>>>
struct cases_of;
template <std::uint64_t FirstSeed, class Loss, class... Batch, std::size_t... I>
struct cases_of<FirstSeed, Loss, std::tuple<Batch...>, std::index_sequence<I...>> {
  using type = std::tuple<grad_case<FirstSeed + I, Batch, Loss>...>;
};

using every_batch = std::tuple<one_vec, batch_of<1>, batch_of<7>, batch_of<32>>;

// Every loss with every batch form (soft targets: one sample and a batch of 7), each on its
// own random topology: the element-wise losses and the softmax cross-entropies, which compile
// in translation units of their own.
using elementwise_loss_cases =
    decltype(std::tuple_cat(std::declval<cases_of<101, mse_case, every_batch>::type>(),
                            std::declval<cases_of<105, huber_case, every_batch>::type>(),
                            std::declval<cases_of<119, bce_case, every_batch>::type>()));
using cross_entropy_cases = decltype(std::tuple_cat(
    std::declval<cases_of<109, labels_case, every_batch>::type>(),
    std::declval<cases_of<113, one_hot_case, every_batch>::type>(),
    std::declval<cases_of<117, soft_case, std::tuple<one_vec, batch_of<7>>>::type>()));
using gradient_cases = decltype(std::tuple_cat(std::declval<elementwise_loss_cases>(),
                                               std::declval<cross_entropy_cases>()));

// The random topologies cover every activation, and depths 1, 2 and 3.
inline constexpr bool covers_everything = [] {
  std::array<bool, activation_count> seen{};
  std::array<bool, 4> depth_seen{};
  [&]<class... C>(std::tuple<C...>*) {
    (
        [&] {
          using topo = topology<C::seed>;
          depth_seen[topo::depth] = true;
          for (std::size_t l = 0; l < topo::depth; ++l) seen[topo::activation(l)] = true;
        }(),
        ...);
  }(static_cast<gradient_cases*>(nullptr));
  bool all = depth_seen[1] && depth_seen[2] && depth_seen[3];
  for (bool s : seen) all = all && s;
  return all;
}();
static_assert(covers_everything, "the gradient cases must cover every activation and depth");

/// Random parameters of moderate size (weights scaled by 1.5/sqrt(fan_in), nonzero biases).
template <class Net>
void randomize(Net& net, rng64& g) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          auto& layer = net.template layer<I>();
          double const scale = 1.5 / std::sqrt(static_cast<double>(Net::widths[I]));
          for (auto& w : layer.weight)
            w = static_cast<typename Net::value_type>(g.uniform(-scale, scale));
          for (auto& b : layer.bias)
            b = static_cast<typename Net::value_type>(g.uniform(-0.5, 0.5));
        }(),
        ...);
  }
  (std::make_index_sequence<Net::layer_count>{});
}

struct fd_result {
  double max_error = 0.0;
  std::size_t worst = 0;
  double analytic = 0.0;
  double numeric = 0.0;
  std::size_t skipped = 0;
};

/// Compares analytic[i] with the central difference of f at v[i] for every i; f(v, pieces)
/// also reports the pieces of every non-smooth function it passed through, and elements whose
/// two evaluations lie on different pieces are skipped.
template <class F>
fd_result check_fd(F const& f, std::vector<double> v, std::span<double const> analytic) {
  fd_result res;
  double const h = 1e-5;
  for (std::size_t i = 0; i < v.size(); ++i) {
    double const saved = v[i];
    std::vector<int> up_pieces;
    std::vector<int> down_pieces;
    v[i] = saved + h;
    double const up = f(v, &up_pieces);
    v[i] = saved - h;
    double const down = f(v, &down_pieces);
    v[i] = saved;
    if (up_pieces != down_pieces) {
      ++res.skipped;
      continue;
    }
    double const numeric = (up - down) / (2 * h);
    double const e = rel_err(analytic[i], numeric, 1e-4);
    if (e > res.max_error || i == 0) res = {e, i, analytic[i], numeric, res.skipped};
  }
  return res;
}

// ---------------------------------------------------------------------------------------------
// One case: the network's outputs, loss, parameter gradient and input gradient against the
// reference and its finite differences.

template <class C>
void check_parameter_and_input_gradients() {
  using net_t = typename C::net;
  using batch = typename C::batch;
  using loss = typename C::loss;
  using x_t = typename batch::template input<double, net_t::input_size>;
  using out_t = typename batch::template output<double, net_t::output_size>;
  constexpr std::size_t rows = batch::rows;
  BOOST_TEST_MESSAGE("seed " << C::seed << ", depth " << net_t::layer_count << ", "
                             << net_t::param_count << " parameters, batch " << rows << ", "
                             << loss::name);

  rng64 g{C::seed};
  net_t net;
  randomize(net, g);
  x_t x{};
  for (auto& v : x) v = g.uniform(-1.0, 1.0);
  std::vector<double> target_flat;
  auto const targets = loss::template targets<out_t>(g, target_flat);

  ref::network const rnet = describe_network<net_t>();
  std::vector<double> const params(net.params().begin(), net.params().end());
  std::vector<double> const xs(x.begin(), x.end());
  BOOST_TEST_REQUIRE(rnet.param_count() == net_t::param_count);

  auto const ref_loss = [&](std::vector<double> const& p, std::vector<double> const& in,
                            std::vector<int>* pieces) {
    auto const y = ref::forward(rnet, p, in, rows, pieces);
    return ref::loss_value(loss::kind, loss::param, y, target_flat, rows, pieces);
  };

  // the network's outputs and loss against the reference's
  out_t const y = net(x);
  std::vector<double> const y_ref = ref::forward(rnet, params, xs, rows);
  for (std::size_t i = 0; i < y.size(); ++i) {
    BOOST_TEST(rel_err(y[i], y_ref[i], 1e-3) <= 1e-13,
               "output " << i << ": " << y[i] << " vs " << y_ref[i]);
  }

  pp::gradient_t<net_t> grad;
  double const value = pp::loss_and_gradient(net, x, targets, loss::fn(), grad);
  double const value_ref = ref_loss(params, xs, nullptr);
  BOOST_TEST(rel_err(value, value_ref, 1e-6) <= 1e-12, "loss " << value << " vs " << value_ref);

  // parameter gradient against finite differences of the reference
  std::span<double const> const gp = grad.params();
  BOOST_TEST(std::any_of(gp.begin(), gp.end(), [](double d) { return std::abs(d) > 1e-6; }),
             "the gradient is (almost) zero: the case checks nothing");
  fd_result const r = check_fd([&](std::vector<double> const& p,
                                   std::vector<int>* pieces) { return ref_loss(p, xs, pieces); },
                               params, gp);
  BOOST_TEST(r.max_error <= 1e-6, "parameter " << r.worst << ": propel " << r.analytic
                                               << ", finite difference " << r.numeric
                                               << ", relative error " << r.max_error);
  BOOST_TEST(r.skipped <= params.size() / 10);
  largest_fd_error = std::max(largest_fd_error, r.max_error);
  fd_elements_checked += params.size() - r.skipped;
  fd_elements_skipped += r.skipped;

  // input gradient against finite differences of the reference
  x_t dx;
  for (auto& v : dx) v = 123.0;  // must be overwritten, not added to
  double const value2 = pp::loss_and_input_gradient(net, x, targets, loss::fn(), dx);
  BOOST_TEST(value2 == value);
  std::vector<double> const dxs(dx.begin(), dx.end());
  fd_result const rx =
      check_fd([&](std::vector<double> const& in,
                   std::vector<int>* pieces) { return ref_loss(params, in, pieces); },
               xs, dxs);
  BOOST_TEST(rx.max_error <= 1e-6, "input " << rx.worst << ": propel " << rx.analytic
                                            << ", finite difference " << rx.numeric
                                            << ", relative error " << rx.max_error);
  BOOST_TEST(rx.skipped <= xs.size() / 10 + 1);
  largest_input_fd_error = std::max(largest_input_fd_error, rx.max_error);
  fd_elements_checked += xs.size() - rx.skipped;
  fd_elements_skipped += rx.skipped;

  // the gradient block is overwritten, not accumulated into
  pp::gradient_t<net_t> grad2;
  for (auto& v : grad2.params()) v = -77.0;
  (void)pp::loss_and_gradient(net, x, targets, loss::fn(), grad2);
  BOOST_TEST(std::equal(gp.begin(), gp.end(), grad2.params().begin()));
}

}  // namespace mlp_cases
