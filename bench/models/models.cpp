// SPDX-License-Identifier: BSL-1.0
/// \file The networks of the models benchmark behind function pointers (see ops.hpp): the
/// ctrl and digits mlps of DESIGN.md written by hand as propel::model (linear groups named
/// as nn.Sequential names them, and a forward with relu) beside propel::mlp; a residual
/// model beside the same layers without the skip connection; an actor-critic-like model
/// with two heads beside one head of their combined width.
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <propel/propel.hpp>
#include <tuple>
#include <type_traits>
#include <vector>

#include "../common.hpp"
#include "ops.hpp"

namespace bench::models {
namespace {

namespace pp = propel;
using namespace pp::literals;

// ---- the networks ----------------------------------------------------------------------

/// ctrl (16 -> 32 relu -> 32 relu -> 4) as a user writes it.
struct ctrl_forward {
  template <class P, class X>
  constexpr auto operator()(P const& p, X const& x) const {
    return p["4"_p](pp::relu{}(p["2"_p](pp::relu{}(p["0"_p](x)))));
  }
};
using ctrl_mlp =
    pp::mlp<float, pp::input<16>, pp::dense<32, pp::relu>, pp::dense<32, pp::relu>, pp::dense<4>>;
// He initialisation for a layer that a relu follows, as propel::mlp initialises them
using ctrl_model = pp::model<float, pp::input<16>, ctrl_forward, pp::linear<"0", 32, 16, pp::he>,
                             pp::linear<"2", 32, 32, pp::he>, pp::linear<"4", 4, 32>>;

/// digits (64 -> 64 relu -> 10) as a user writes it.
struct digits_forward {
  template <class P, class X>
  constexpr auto operator()(P const& p, X const& x) const {
    return p["2"_p](pp::relu{}(p["0"_p](x)));
  }
};
using digits_mlp = pp::mlp<float, pp::input<64>, pp::dense<64, pp::relu>, pp::dense<10>>;
using digits_model = pp::model<float, pp::input<64>, digits_forward,
                               pp::linear<"0", 64, 64, pp::he>, pp::linear<"2", 10, 64>>;

/// h = relu(inp(x)); out(h + relu(res(h))): h is read twice, so it is a let.
struct residual_forward {
  template <class P, class X>
  constexpr auto operator()(P const& p, X const& x) const {
    return p["out"_p](pp::let(pp::relu{}(p["inp"_p](x)),
                              [p](auto const& h) { return h + pp::relu{}(p["res"_p](h)); }));
  }
};
/// The same layers without the skip connection: out(relu(res(relu(inp(x))))).
struct plain_forward {
  template <class P, class X>
  constexpr auto operator()(P const& p, X const& x) const {
    return p["out"_p](pp::relu{}(p["res"_p](pp::relu{}(p["inp"_p](x)))));
  }
};
template <class Forward>
using residual_layers = pp::model<float, pp::input<64>, Forward, pp::linear<"inp", 64, 64>,
                                  pp::linear<"res", 64, 64>, pp::linear<"out", 10, 64>>;

/// h = tanh(trunk(x)); heads actor(h) (10 values) and critic(h) (1 value).
struct two_heads_forward {
  template <class P, class X>
  constexpr auto operator()(P const& p, X const& x) const {
    return pp::let(pp::tanh{}(p["trunk"_p](x)),
                   [p](auto const& h) { return pp::heads(p["actor"_p](h), p["critic"_p](h)); });
  }
};
/// One head of the combined width: head(tanh(trunk(x))), 11 values.
struct one_head_forward {
  template <class P, class X>
  constexpr auto operator()(P const& p, X const& x) const {
    return p["head"_p](pp::tanh{}(p["trunk"_p](x)));
  }
};
constexpr std::size_t actor_width = 10;
using two_heads = pp::model<float, pp::input<64>, two_heads_forward, pp::linear<"trunk", 64, 64>,
                            pp::linear<"actor", actor_width, 64>, pp::linear<"critic", 1, 64>>;
using one_head = pp::model<float, pp::input<64>, one_head_forward, pp::linear<"trunk", 64, 64>,
                           pp::linear<"head", actor_width + 1, 64>>;

// ---- a network behind the function pointers -------------------------------------------

enum class target_kind { values, labels, two_heads };

/// Net trained with Loss on `samples` inputs in [Lo, Hi) (bench::data_set, seed Seed) and
/// targets of kind K: out_n regression values per sample (for two_heads: the first
/// actor_width for the actor, the last for the critic), or class labels.
template <class Net, class Loss, target_kind K, int Lo, int Hi, std::uint64_t Seed>
struct runner {
  static constexpr std::size_t in = Net::input_size;
  static constexpr std::size_t out_n = [] {
    if constexpr (K == target_kind::two_heads) {
      return actor_width + 1;
    } else {
      return Net::output_size;
    }
  }();
  using one_target =
      std::conditional_t<K == target_kind::values, pp::vec<float, out_n>,
                         std::conditional_t<K == target_kind::labels, int,
                                            std::tuple<pp::vec<float, actor_width>,
                                                       pp::vec<float, out_n - actor_width>>>>;
  using batch_target = std::conditional_t<
      K == target_kind::values, pp::mat<float, batch, out_n>,
      std::conditional_t<K == target_kind::labels, std::array<int, batch>,
                         std::tuple<pp::mat<float, batch, actor_width>,
                                    pp::mat<float, batch, out_n - actor_width>>>>;
  using out1_t = decltype(Net{}(pp::vec<float, in>{}));
  using outb_t = decltype(Net{}(pp::mat<float, batch, in>{}));

  using trainer_t = pp::trainer<Net, Loss, pp::sgd, batch>;

  Net net;
  trainer_t t;
  std::vector<pp::vec<float, in>> xs;
  std::vector<pp::mat<float, batch, in>> Xs;
  std::vector<one_target> ys;
  std::vector<batch_target> Ys;
  out1_t y1{};
  outb_t yb{};

  static data_set const& data() {
    static data_set const d(in, out_n, float(Lo), float(Hi), Seed);
    return d;
  }

  trainer_t make_trainer(float lr) { return trainer_t{net, Loss{}, pp::sgd{.lr = lr}}; }

  explicit runner(float lr) : t{make_trainer(lr)} {
    data_set const& d = data();
    xs.resize(samples);
    Xs.resize(samples / batch);
    ys.resize(samples);
    Ys.resize(samples / batch);
    for (std::size_t s = 0; s < samples; ++s) {
      std::size_t const b = s / batch, r = s % batch;
      for (std::size_t j = 0; j < in; ++j) {
        xs[s][j] = d.sample(s)[j];
        Xs[b](r, j) = d.sample(s)[j];
      }
      float const* y = d.target(s);
      if constexpr (K == target_kind::values) {
        for (std::size_t j = 0; j < out_n; ++j) ys[s][j] = Ys[b](r, j) = y[j];
      } else if constexpr (K == target_kind::labels) {
        ys[s] = Ys[b][r] = *d.label(s);
      } else {
        for (std::size_t j = 0; j < actor_width; ++j) {
          std::get<0>(ys[s])[j] = std::get<0>(Ys[b])(r, j) = y[j];
        }
        std::get<1>(ys[s])[0] = std::get<1>(Ys[b])(r, 0) = y[actor_width];
      }
    }
  }

  static float const* first(auto const& out) {
    if constexpr (requires { std::get<0>(out); }) {
      return std::get<0>(out).data();
    } else {
      return out.data();
    }
  }
  void read(std::size_t rows, float* dst) const {
    auto copy = [&](auto const& out, std::size_t offset, std::size_t width) {
      for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t j = 0; j < width; ++j) {
          if constexpr (requires { out(r, j); }) {
            dst[r * out_n + offset + j] = out(r, j);
          } else {
            dst[r * out_n + offset + j] = out[j];
          }
        }
      }
    };
    auto read_from = [&](auto const& out) {
      if constexpr (requires { std::get<1>(out); }) {
        copy(std::get<0>(out), 0, actor_width);
        copy(std::get<1>(out), actor_width, out_n - actor_width);
      } else {
        copy(out, 0, out_n);
      }
    };
    if (rows == 1) {
      read_from(y1);
    } else {
      read_from(yb);
    }
  }

  static variant table(char const* name) {
    float (*train1)(void*, std::size_t) = [](void* self, std::size_t i) {
      auto& s = *static_cast<runner*>(self);
      return s.t.step(s.xs[i], s.ys[i]);
    };
    float (*train32)(void*, std::size_t) = [](void* self, std::size_t i) {
      auto& s = *static_cast<runner*>(self);
      return s.t.step(s.Xs[i], s.Ys[i]);
    };
    return {
        name,
        out_n,
        data,
        [] {
          auto net = std::make_unique<Net>();
          pp::init(*net, 7);
          auto const p = net->params();
          return std::vector<float>(p.begin(), p.end());
        },
        [](float lr) -> void* { return new runner(lr); },
        [](void* self) { delete static_cast<runner*>(self); },
        [](void* self, float const* p) {
          for (auto& v : static_cast<runner*>(self)->net.params()) v = *p++;
        },
        [](void const* self, float* p) {
          for (float v : static_cast<runner const*>(self)->net.params()) *p++ = v;
        },
        [](void* self, std::size_t i) {
          auto& s = *static_cast<runner*>(self);
          s.y1 = s.net(s.xs[i]);
          return first(s.y1);
        },
        [](void* self, std::size_t i) {
          auto& s = *static_cast<runner*>(self);
          s.yb = s.net(s.Xs[i]);
          return first(s.yb);
        },
        train1,
        train32,
        [](void const* self, std::size_t rows, float* out) {
          static_cast<runner const*>(self)->read(rows, out);
        },
    };
  }
};

std::vector<float> same_layout(std::vector<float> const& p) { return p; }

/// two_heads' parameters (trunk, actor, critic) as one_head's (trunk, head): the head's
/// weight is the actor's rows then the critic's, its bias likewise.
std::vector<float> combined_head(std::vector<float> const& p) {
  constexpr std::size_t trunk = 64 * 64 + 64, aw = actor_width * 64, cw = 64;
  std::vector<float> out(p.begin(), p.begin() + trunk);
  auto const actor_w = p.begin() + trunk;
  auto const actor_b = actor_w + aw;
  auto const critic_w = actor_b + actor_width;
  auto const critic_b = critic_w + cw;
  out.insert(out.end(), actor_w, actor_w + aw);
  out.insert(out.end(), critic_w, critic_w + cw);
  out.insert(out.end(), actor_b, actor_b + actor_width);
  out.insert(out.end(), critic_b, critic_b + 1);
  return out;
}

using ctrl_mse = pp::mse;
using ce = pp::softmax_cross_entropy;
using two_mse = pp::per_head<pp::mse, pp::mse>;

}  // namespace

std::vector<pair> pairs() {
  return {
      {"ctrl", check_kind::same, 16,
       runner<ctrl_mlp, ctrl_mse, target_kind::values, -1, 1, 11>::table("mlp"),
       runner<ctrl_model, ctrl_mse, target_kind::values, -1, 1, 11>::table("model"), same_layout},
      {"digits", check_kind::same, 64,
       runner<digits_mlp, ce, target_kind::labels, 0, 1, 12>::table("mlp"),
       runner<digits_model, ce, target_kind::labels, 0, 1, 12>::table("model"), same_layout},
      {"residual", check_kind::residual, 64,
       runner<residual_layers<residual_forward>, ce, target_kind::labels, 0, 1, 13>::table(
           "residual"),
       runner<residual_layers<plain_forward>, ce, target_kind::labels, 0, 1, 13>::table("plain"),
       same_layout},
      {"heads", check_kind::heads, 64,
       runner<two_heads, two_mse, target_kind::two_heads, 0, 1, 14>::table("two_heads"),
       runner<one_head, pp::mse, target_kind::values, 0, 1, 14>::table("one_head"), combined_head},
  };
}

}  // namespace bench::models
