// SPDX-License-Identifier: BSL-1.0
// The kernels of cores without a vector unit (detail::scalar_core_v: a Cortex-M), run on the
// host: this file is built with PROPEL_VECTOR_BYTES=4 and -ffp-contract=off, as the
// Cortex-M4 firmware (examples/embedded/run.sh) is. They promise the plain summation order,
// so they are checked bit for bit against naive loops written here: Y = X Wᵀ one sample and
// batches, the backward pass of W·x with its fused SGD step (every weight read for dx before
// it moves), the options of propel::sgd that the fused step fixes at compile time, and whole
// training steps of a network against a hand-written one, at run time and in constant
// evaluation.
#define BOOST_TEST_MODULE scalar_core
#include <array>
#include <bit>
#include <boost/test/unit_test.hpp>
#include <cstddef>
#include <cstdint>
#include <propel/propel.hpp>
#include <vector>

namespace detail = propel::detail;

static_assert(PROPEL_VECTOR_BYTES == 4,
              "built with -DPROPEL_VECTOR_BYTES=4 (tests/CMakeLists.txt)");
static_assert(detail::scalar_core_v<float> && detail::scalar_core_v<double>);

namespace {

/// A value in [-1, 1) with a full mantissa, from the index.
constexpr float value(std::size_t i, std::size_t salt) {
  std::size_t const h = (i * 2654435761u + salt * 40503u) % 4093u;
  return static_cast<float>(static_cast<double>(h) / 2046.5 - 1.0) * (1.0f - 1.0f / 3e3f);
}

bool same_bits(float a, float b) {
  return std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b);
}

/// Y = X Wᵀ by gemm_nt against the naive loop, bit for bit.
template <std::size_t M, std::size_t N, std::size_t K>
void check_gemm_nt() {
  static_assert(detail::gemm_nt_panel_size<float, M, N, K> == 0, "no transposed panel");
  std::vector<float> x(M * K), w(N * K), y(M * N + 1, -7.0f);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = value(i, 1);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = value(i, 2);
  detail::gemm_nt<M, N, K>(x.data(), w.data(), y.data(), static_cast<float*>(nullptr));
  BOOST_TEST_CONTEXT("M = " << M << ", N = " << N << ", K = " << K) {
    BOOST_TEST(y.back() == -7.0f);  // nothing written past Y
    for (std::size_t r = 0; r < M; ++r) {
      for (std::size_t o = 0; o < N; ++o) {
        float s = 0.0f;
        for (std::size_t p = 0; p < K; ++p) s += x[r * K + p] * w[o * K + p];
        BOOST_TEST(same_bits(y[r * N + o], s),
                   "Y[" << r << ", " << o << "] = " << y[r * N + o] << ", the naive loop " << s);
      }
    }
  }
}

template <std::size_t M, std::size_t N, std::size_t K>
constexpr std::array<float, M * N> gemm_nt_values() {
  std::array<float, M * K> x{};
  std::array<float, N * K> w{};
  std::array<float, M * N> y{};
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = value(i, 1);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = value(i, 2);
  detail::gemm_nt<M, N, K>(x.data(), w.data(), y.data(), static_cast<float*>(nullptr));
  return y;
}

/// Records what a backward pass delivers: each element's value and how often it came.
struct recording_writer {
  float* values;
  int* count;
  void operator()(std::size_t i, float v) const {
    values[i] = v;
    ++count[i];
  }
};

/// The backward pass of W·x (W: M x K): dx and the derivative of W against naive loops.
template <std::size_t M, std::size_t K>
void check_matvec_backward() {
  std::vector<float> w(M * K), x(K), dz(M), dx(K + 1, -7.0f), dw(M * K, 0.0f);
  std::vector<int> count(M * K, 0);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = value(i, 3);
  for (std::size_t i = 0; i < K; ++i) x[i] = value(i, 4);
  for (std::size_t i = 0; i < M; ++i) dz[i] = value(i, 5);
  detail::matvec_backward<M, K, true>(static_cast<float const*>(w.data()), x.data(), dz.data(),
                                      dx.data(), recording_writer{dw.data(), count.data()});
  BOOST_TEST_CONTEXT("M = " << M << ", K = " << K) {
    BOOST_TEST(dx.back() == -7.0f);
    for (std::size_t p = 0; p < K; ++p) {
      float s = 0.0f;
      for (std::size_t i = 0; i < M; ++i) s += w[i * K + p] * dz[i];
      BOOST_TEST(same_bits(dx[p], s), "dx[" << p << "] = " << dx[p] << ", the naive loop " << s);
    }
    for (std::size_t i = 0; i < M * K; ++i) {
      BOOST_TEST(count[i] == 1, "element " << i << " delivered " << count[i] << " times");
      BOOST_TEST(same_bits(dw[i], dz[i / K] * x[i % K]), "dW element " << i);
    }
  }
}

/// The same pass delivering to a fused SGD step (the writer moves W as it goes): dx from the
/// weights before the step, each weight and momentum moved once, as the naive rule says.
template <std::size_t M, std::size_t K>
void check_fused_step(propel::sgd const& opt, std::uint64_t step) {
  std::vector<float> w(M * K), buf(M * K), x(K), dz(M), dx(K);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = value(i, 6);
  for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = value(i, 7) / 8.0f;
  for (std::size_t i = 0; i < K; ++i) x[i] = value(i, 8);
  for (std::size_t i = 0; i < M; ++i) dz[i] = value(i, 9);
  std::vector<float> w0 = w, buf0 = buf;
  auto const s = opt.at_step<float>(step);
  detail::parameter_writer<float, propel::sgd::stepper<float>, 1> const write{
      w.data(), nullptr, {buf.data()}, s};
  detail::matvec_backward<M, K, true>(w.data(), x.data(), dz.data(), dx.data(), write);
  float const lr = static_cast<float>(opt.lr), mu = static_cast<float>(opt.momentum);
  float const wd = static_cast<float>(opt.weight_decay);
  BOOST_TEST_CONTEXT("M = " << M << ", K = " << K << ", momentum " << opt.momentum << ", Nesterov "
                            << opt.nesterov << ", weight decay " << opt.weight_decay << ", step "
                            << step) {
    for (std::size_t p = 0; p < K; ++p) {
      float sum = 0.0f;
      for (std::size_t i = 0; i < M; ++i) sum += w0[i * K + p] * dz[i];
      BOOST_TEST(same_bits(dx[p], sum), "dx[" << p << "]");
    }
    for (std::size_t i = 0; i < M * K; ++i) {
      float d = dz[i / K] * x[i % K];
      if (opt.weight_decay != 0.0) d = d + wd * w0[i];
      float b = buf0[i];
      if (opt.momentum != 0.0) {
        b = step == 1 ? d : mu * b + d;
        d = opt.nesterov ? d + mu * b : b;
      }
      float const moved = w0[i] - lr * d;
      BOOST_TEST(same_bits(w[i], moved),
                 "W element " << i << " = " << w[i] << ", expected " << moved);
      BOOST_TEST(same_bits(buf[i], b), "momentum element " << i);
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(gemm_nt_sums_in_the_plain_order) {
  check_gemm_nt<1, 32, 16>();  // one sample: tiles of 16 rows
  check_gemm_nt<1, 32, 32>();
  check_gemm_nt<1, 4, 32>();
  check_gemm_nt<1, 17, 9>();  // a short last tile, an odd depth
  check_gemm_nt<1, 40, 3>();
  check_gemm_nt<1, 1, 1>();
  check_gemm_nt<8, 32, 16>();  // a batch: 4 x 4 tiles
  check_gemm_nt<5, 33, 7>();   // short last tiles both ways
  check_gemm_nt<3, 2, 130>();
}

// constant evaluation takes the same loops (mul_add is the expression there)
BOOST_AUTO_TEST_CASE(gemm_nt_in_constant_evaluation_gives_the_same_bits) {
  static constexpr auto one = gemm_nt_values<1, 17, 9>();
  static constexpr auto batch = gemm_nt_values<5, 33, 7>();
  auto const one_run = gemm_nt_values<1, 17, 9>();
  auto const batch_run = gemm_nt_values<5, 33, 7>();
  for (std::size_t i = 0; i < one.size(); ++i) BOOST_TEST(same_bits(one[i], one_run[i]));
  for (std::size_t i = 0; i < batch.size(); ++i) BOOST_TEST(same_bits(batch[i], batch_run[i]));
}

BOOST_AUTO_TEST_CASE(mul_add_rounds_the_product_first) {
  // 1 + 2^-12 squared is 1 + 2^-11 + 2^-24: a fused multiply-add would keep the 2^-24
  float const a = 1.0f + 0x1p-12f;
  float volatile acc = -1.0f;
  BOOST_TEST(same_bits(detail::mul_add(float(acc), a, a), 0x1p-11f));
  BOOST_TEST(same_bits(detail::mul_sub(float(acc), a, -a), 0x1p-11f));
}

BOOST_AUTO_TEST_CASE(matvec_backward_sums_rows_in_order_and_delivers_each_weight_once) {
  check_matvec_backward<32, 32>();
  check_matvec_backward<32, 16>();
  check_matvec_backward<4, 32>();
  check_matvec_backward<3, 13>();  // a chunk of 8 columns and one of 5
  check_matvec_backward<1, 1>();
}

BOOST_AUTO_TEST_CASE(fused_sgd_step_matches_the_rule_for_every_option) {
  for (std::uint64_t step : {1u, 2u}) {
    check_fused_step<6, 20>(propel::sgd{.lr = 0.05}, step);
    check_fused_step<6, 20>(propel::sgd{.lr = 0.05, .momentum = 0.9}, step);
    check_fused_step<6, 20>(propel::sgd{.lr = 0.05, .momentum = 0.9, .nesterov = true}, step);
    check_fused_step<6, 20>(propel::sgd{.lr = 0.05, .weight_decay = 0.01}, step);
    check_fused_step<6, 20>(propel::sgd{.lr = 0.05, .momentum = 0.5, .weight_decay = 0.01}, step);
  }
}

namespace {

using net_t =
    propel::mlp<float, propel::input<5>, propel::dense<12, propel::relu>, propel::dense<3>>;

/// A network, its momentum and `steps` one-sample SGD steps by propel's trainer.
struct trained {
  net_t net;
  propel::gradient_t<net_t> momentum;
  float loss;
};
constexpr trained train_with_propel(propel::sgd opt, int steps) {
  trained t{};
  propel::init(t.net, 7);
  propel::trainer tr{t.net, propel::mse{}, opt};
  for (int s = 0; s < steps; ++s) {
    propel::vec<float, 5> x;
    propel::vec<float, 3> y;
    for (std::size_t j = 0; j < 5; ++j) x[j] = value(j + 5 * std::size_t(s), 10);
    for (std::size_t k = 0; k < 3; ++k) y[k] = value(k + 3 * std::size_t(s), 11);
    t.loss = tr.step(x, y);
  }
  t.momentum = tr.state(0);
  return t;
}

/// The same steps by hand: forward, the mean squared error's derivative (1/n) (2 e), backward
/// (dx before the weights move), the update rule of torch.optim.SGD.
trained train_by_hand(propel::sgd opt, int steps) {
  trained t{};
  propel::init(t.net, 7);
  auto& l1 = t.net.layer<0>();
  auto& l2 = t.net.layer<1>();
  auto& v1 = t.momentum.layer<0>();
  auto& v2 = t.momentum.layer<1>();
  float const lr = static_cast<float>(opt.lr), mu = static_cast<float>(opt.momentum);
  for (int s = 0; s < steps; ++s) {
    auto move = [&](float& p, float& v, float g) {
      if (opt.momentum != 0.0) {
        v = s == 0 ? g : mu * v + g;
        g = v;
      }
      p -= lr * g;
    };
    float x[5], y[3], h[12], out[3];
    for (std::size_t j = 0; j < 5; ++j) x[j] = value(j + 5 * std::size_t(s), 10);
    for (std::size_t k = 0; k < 3; ++k) y[k] = value(k + 3 * std::size_t(s), 11);
    for (std::size_t i = 0; i < 12; ++i) {
      float z = 0.0f;
      for (std::size_t j = 0; j < 5; ++j) z += l1.weight(i, j) * x[j];
      z = z + l1.bias[i];
      h[i] = z < 0.0f ? 0.0f : z;
    }
    float loss = 0.0f, dout[3];
    for (std::size_t k = 0; k < 3; ++k) {
      float z = 0.0f;
      for (std::size_t i = 0; i < 12; ++i) z += l2.weight(k, i) * h[i];
      out[k] = z + l2.bias[k];
      float const e = out[k] - y[k];
      loss += e * e;
      dout[k] = (1.0f / 3.0f) * (2.0f * e);  // mean's 1/n, then square's derivative
    }
    t.loss = loss / 3.0f;
    float dh[12] = {};
    for (std::size_t k = 0; k < 3; ++k) {
      for (std::size_t i = 0; i < 12; ++i) dh[i] += l2.weight(k, i) * dout[k];
    }
    for (std::size_t k = 0; k < 3; ++k) {
      for (std::size_t i = 0; i < 12; ++i) move(l2.weight(k, i), v2.weight(k, i), dout[k] * h[i]);
      move(l2.bias[k], v2.bias[k], dout[k]);
    }
    for (std::size_t i = 0; i < 12; ++i) {
      float const dz = h[i] > 0.0f ? dh[i] : 0.0f;
      for (std::size_t j = 0; j < 5; ++j) move(l1.weight(i, j), v1.weight(i, j), dz * x[j]);
      move(l1.bias[i], v1.bias[i], dz);
    }
  }
  return t;
}

void check_training(propel::sgd opt, trained const& got) {
  trained const want = train_by_hand(opt, 3);
  BOOST_TEST(same_bits(got.loss, want.loss), "loss " << got.loss << ", by hand " << want.loss);
  std::size_t differ = 0;
  auto const p = got.net.params(), q = want.net.params();
  auto const m = got.momentum.params(), n = want.momentum.params();
  for (std::size_t i = 0; i < net_t::param_count; ++i) {
    if (!same_bits(p[i], q[i]) || !same_bits(m[i], n[i])) ++differ;
  }
  BOOST_TEST(differ == 0u, differ << " of " << net_t::param_count << " parameters differ");
}

}  // namespace

BOOST_AUTO_TEST_CASE(training_steps_equal_the_hand_written_ones) {
  propel::sgd const plain{.lr = 0.1};
  propel::sgd const momentum{.lr = 0.1, .momentum = 0.9};
  check_training(plain, train_with_propel(plain, 3));
  check_training(momentum, train_with_propel(momentum, 3));
  // and in constant evaluation
  static constexpr trained plain_ce = train_with_propel(propel::sgd{.lr = 0.1}, 3);
  static constexpr trained momentum_ce =
      train_with_propel(propel::sgd{.lr = 0.1, .momentum = 0.9}, 3);
  check_training(plain, plain_ce);
  check_training(momentum, momentum_ce);
}
