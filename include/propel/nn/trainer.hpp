// SPDX-License-Identifier: BSL-1.0
/// \file Defines propel::trainer: forward, backward and optimizer update in one call.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <new>
#include <propel/detail/storage.hpp>
#include <propel/nn/gradient.hpp>
#include <propel/nn/mlp.hpp>
#include <propel/nn/optimizer.hpp>
#include <type_traits>
#include <utility>

namespace propel {

/// The largest batch a trainer is declared for: `propel::trainer t{net, loss, opt,
/// propel::batch<32>}`.
template <std::size_t B>
struct batch_size {
  static constexpr std::size_t value = B;
};
template <std::size_t B>
inline constexpr batch_size<B> batch{};

namespace detail {

/// The inputs and targets a trainer for batches of B must have room for: one sample (a
/// vec) or B of them (a mat), against targets shaped like the output, or integer labels
/// for softmax cross-entropy.
template <class Net, class Loss, std::size_t B>
constexpr std::size_t workspace_capacity() {
  using T = typename Net::value_type;
  constexpr std::size_t in = Net::input_size;
  constexpr std::size_t out = Net::output_size;
  std::size_t bytes = workspace_bytes<Net, mat<T, B, in>, mat<T, B, out>, Loss>;
  if constexpr (B == 1) {
    bytes = std::max(bytes, workspace_bytes<Net, vec<T, in>, vec<T, out>, Loss>);
  }
  if constexpr (std::is_same_v<Loss, softmax_cross_entropy>) {
    bytes = std::max(bytes, workspace_bytes<Net, mat<T, B, in>, std::array<int, B>, Loss>);
    if constexpr (B == 1) bytes = std::max(bytes, workspace_bytes<Net, vec<T, in>, int, Loss>);
  }
  return bytes;
}

/// The loss expression a trainer is declared for: a batch of B samples against value
/// targets shaped like the output. Which tensors it keeps a gradient for follows from it.
template <class Net, class Loss, std::size_t B>
using trainer_expression_t =
    loss_expression_t<Net, mat<typename Net::value_type, B, Net::input_size>,
                      mat<typename Net::value_type, B, Net::output_size>, Loss>;

/// The storage of N kept derivatives (nothing when N is 0).
template <class T, std::size_t N>
struct kept_values {
  alignas(detail::block_alignment) std::array<T, N> values{};
  [[nodiscard]] constexpr T* data() noexcept { return values.data(); }
};
template <class T>
struct kept_values<T, 0> {};

/// The gradient a trainer keeps: one contiguous aligned buffer holding, in parameter order,
/// the derivatives of the tensors that F (its loss expression) uses more than once and that
/// are therefore added up and applied after the backward pass; none for the others, whose
/// update is fused into the backward pass. data<K>() is tensor K's part (null when none).
template <class Net, class F>
class kept_gradient {
  using T = typename Net::value_type;
  static constexpr std::size_t n = tensor_count_v<gradient_t<Net>>;
  static constexpr std::array<std::size_t, n + 1> offsets = [] {
    std::array<std::size_t, n + 1> out{};
    [&]<std::size_t... K>(std::index_sequence<K...>) {
      std::size_t at = 0, k = 0;
      ((out[k++] = at, at += adds_up_v<Net, F, K> ? tensor_size_v<gradient_t<Net>, K> : 0), ...);
      out[n] = at;
    }
    (std::make_index_sequence<n>{});
    return out;
  }();

 public:
  /// Whether tensor K's derivatives are kept.
  template <std::size_t K>
  static constexpr bool keeps = adds_up_v<Net, F, K>;
  /// The number of derivatives kept, and the bytes that take (aligned as a block).
  static constexpr std::size_t size = offsets[n];
  static constexpr std::size_t bytes = size == 0 ? 0 : sizeof(kept_values<T, size>);

  template <std::size_t K>
  [[nodiscard]] constexpr T* data() const noexcept {
    if constexpr (keeps<K>) {
      return values_.data() + offsets[K];  // NOLINT: values_ is mutable
    } else {
      return nullptr;
    }
  }

 private:
  [[no_unique_address]] mutable kept_values<T, size> values_{};
};

/// Whether the trainer's loss, on the inputs and targets of a step, uses every parameter
/// once, so that the whole update runs inside the backward pass and no gradient is kept.
template <class Net, class Loss, std::size_t B>
inline constexpr bool fused_update_v =
    kept_gradient<Net, trainer_expression_t<Net, Loss, B>>::size == 0;

/// Whether the gradient a trainer keeps for its loss expression Declared covers every
/// tensor that the expression F of a step adds up.
template <class Net, class Declared, class F>
inline constexpr bool keeps_what_adds_up_v = []<std::size_t... K>(std::index_sequence<K...>) {
  return ((!adds_up_v<Net, F, K> || adds_up_v<Net, Declared, K>)&&...);
}
(std::make_index_sequence<tensor_count_v<gradient_t<Net>>>{});

template <bool Consistent>
struct check_fused_update {
  static_assert(Consistent,
                "propel::trainer: the loss uses the prediction more than once for these inputs "
                "and targets, but not for a batch of value targets: the trainer keeps no "
                "gradient to add derivatives up in; give the loss the same form for both");
  static constexpr bool ok = true;
};

template <std::size_t Needed, std::size_t Held, std::size_t Batch>
struct check_trainer_workspace {
  static_assert(Needed <= Held,
                "propel::trainer: this step needs a larger workspace than the trainer holds "
                "(see Needed and Held bytes in check_trainer_workspace): declare the trainer "
                "for the batch size it trains on, propel::trainer t{net, loss, optimizer, "
                "propel::batch<rows>}");
  static constexpr bool ok = true;
};

}  // namespace detail

/// Trains a model (a propel::mlp or a propel::model):
/// `propel::trainer t{net, propel::mse{}, propel::adam{.lr = 1e-3}};`
/// then `T loss = t.step(X, targets);` per (mini)batch. The trainer refers to the network
/// and holds everything a step uses: the optimizer state and the workspace of a step on up
/// to Batch samples (declare a batch size with a fourth argument,
/// `propel::batch<32>`; the default is one sample at a time). All of it is sized at compile
/// time (parameter_bytes, gradient_bytes, optimizer_state_bytes, activation_bytes); a step
/// allocates nothing, throws nothing and needs no stack beyond its kernels' frames and a few
/// scalars (README, Stack).
///
/// The optimizer's update runs inside the backward pass: each derivative moves its
/// parameter as soon as it is complete (after the last read of that parameter), so a step
/// makes one pass over the parameters and keeps no gradient (gradient_bytes is 0; call
/// propel::loss_and_gradient for the gradient itself). That is decided tensor by tensor at
/// compile time: a tensor that the loss uses more than once (a tied weight of a model, or
/// every tensor under a custom loss that uses the prediction more than once) needs its
/// derivatives added up first, so the trainer keeps a gradient for such tensors only and
/// applies it after the backward pass.
///
/// Bad input never reaches the network: a step refuses inputs or value targets that are
/// not all finite and cross-entropy labels outside [0, output_size) (one pass over them,
/// before the forward pass), and returns NaN; a step whose loss is not finite (a NaN or
/// infinite weight that reaches the output, a diverged run) returns that loss, known before
/// the backward pass starts. Either way the network, the optimizer state and step_count()
/// are left exactly as they were, so a step returns a finite loss exactly when it applied
/// an update. A step with a finite loss is PyTorch's, including on a network that already
/// holds an infinite weight whose unit relu zeroes (the loss cannot see it): weight decay
/// then turns it into NaN (inf - inf), as torch.optim does.
template <class Net, class Loss, class Opt, std::size_t Batch = 1>
class trainer {
  static_assert(Batch > 0, "propel::trainer: the batch size must be at least 1");

 public:
  using value_type = typename Net::value_type;
  using gradient_type = gradient_t<Net>;
  static constexpr std::size_t max_batch = Batch;

  /// Whether the whole update runs inside the backward pass (see above).
  static constexpr bool fused_update = detail::fused_update_v<Net, Loss, Batch>;

  static constexpr std::size_t parameter_bytes = sizeof(gradient_type);
  /// The gradient the trainer keeps: the derivatives of the tensors whose update is not
  /// fused (none when fused_update).
  static constexpr std::size_t gradient_bytes =
      detail::kept_gradient<Net, detail::trainer_expression_t<Net, Loss, Batch>>::bytes;
  static constexpr std::size_t optimizer_state_bytes = Opt::state_count * sizeof(gradient_type);
  /// The workspace the trainer holds: activations, cached values and the backward pass's
  /// buffers for a step on up to Batch samples.
  static constexpr std::size_t activation_bytes = detail::workspace_capacity<Net, Loss, Batch>();

  constexpr trainer(Net& net, Loss loss, Opt opt) noexcept
      : net_(&net), loss_(loss), opt_(opt), grad_{}, state_{}, workspace_{} {}
  constexpr trainer(Net& net, Loss loss, Opt opt, batch_size<Batch>) noexcept
      : trainer(net, loss, opt) {}

  /// One step: forward, backward and update. Returns the loss before the update, or a
  /// non-finite value (NaN for bad inputs or targets) when it refused the step and changed
  /// nothing.
  template <class X, class Targets>
  constexpr value_type step(X const& x, Targets const& targets) noexcept {
    static_assert(detail::check_network_input<X>::ok);
    if constexpr (Tensor<X>) {
      if (!detail::step_data_ok<Net, Loss>(x, targets)) {
        return std::numeric_limits<value_type>::quiet_NaN();
      }
      auto const f = loss_(net_->expression(constant(x)), targets);
      using ws_t = workspace_t<decltype(f)>;
      static_assert(detail::check_trainer_workspace<sizeof(ws_t), activation_bytes, Batch>::ok);
      static_assert(alignof(ws_t) <= detail::block_alignment);
      if (std::is_constant_evaluated()) {
        ws_t ws;
        return run(f, ws);
      } else {
        return run(f, *std::launder(reinterpret_cast<ws_t*>(workspace_.data())));
      }
    } else {
      return value_type{};  // reported above
    }
  }

  [[nodiscard]] constexpr Net& net() noexcept { return *net_; }
  [[nodiscard]] constexpr Net const& net() const noexcept { return *net_; }
  [[nodiscard]] constexpr Loss const& loss() const noexcept { return loss_; }
  [[nodiscard]] constexpr Opt& optimizer() noexcept { return opt_; }
  [[nodiscard]] constexpr Opt const& optimizer() const noexcept { return opt_; }
  /// Optimizer state buffer k (SGD: momentum; Adam: first then second moment).
  [[nodiscard]] constexpr gradient_type& state(std::size_t k) noexcept { return state_[k]; }
  [[nodiscard]] constexpr gradient_type const& state(std::size_t k) const noexcept {
    return state_[k];
  }
  /// The number of updates applied so far.
  [[nodiscard]] constexpr std::uint64_t step_count() const noexcept { return steps_; }
  constexpr void set_step_count(std::uint64_t n) noexcept { steps_ = n; }

  /// The workspace bytes a step on inputs X against Targets uses (at most activation_bytes).
  template <class X, class Targets>
  static constexpr std::size_t workspace_bytes = propel::workspace_bytes<Net, X, Targets, Loss>;

 private:
  template <class F, class W>
  constexpr value_type run(F const& f, W& ws) noexcept {
    value_type const loss = forward(f, ws);
    if (!(loss - loss == value_type(0))) return loss;  // NaN or infinite: no update
    ++steps_;
    constexpr bool kept = detail::keeps_what_adds_up_v<Net, declared_expression, F>;
    static_assert(detail::check_fused_update<kept>::ok);
    if constexpr (kept) {
      detail::network_backward(f, ws, net_, grad_, opt_.template at_step<value_type>(steps_),
                               state_);
    }
    return loss;
  }

  Net* net_;
  Loss loss_;
  Opt opt_;
  using declared_expression = detail::trainer_expression_t<Net, Loss, Batch>;
  [[no_unique_address]] detail::kept_gradient<Net, declared_expression> grad_;
  std::array<gradient_type, Opt::state_count> state_;
  std::uint64_t steps_ = 0;
  alignas(detail::block_alignment) std::array<std::byte, activation_bytes> workspace_;
};

template <class Net, class Loss, class Opt>
trainer(Net&, Loss, Opt) -> trainer<Net, Loss, Opt, 1>;
template <class Net, class Loss, class Opt, std::size_t B>
trainer(Net&, Loss, Opt, batch_size<B>) -> trainer<Net, Loss, Opt, B>;

}  // namespace propel
