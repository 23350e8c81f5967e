// SPDX-License-Identifier: BSL-1.0
/// \file Defines per_head: a loss for a model with several outputs, one loss per head.
#pragma once

#include <cstddef>
#include <propel/expr/let.hpp>
#include <propel/expr/reduce.hpp>
#include <propel/ops/arithmetic.hpp>
#include <tuple>
#include <utility>

namespace propel {

namespace detail {

template <std::size_t Losses, std::size_t Heads, std::size_t Targets>
struct check_per_head_counts {
  static_assert(Losses == Heads,
                "propel::per_head: give one loss per head of the output (see the loss count and "
                "the head count, the first two arguments of check_per_head_counts)");
  static_assert(Losses == Targets,
                "propel::per_head: give one target per loss, in a std::tuple (see the loss count "
                "and the target count, the first and last arguments of check_per_head_counts)");
  static constexpr bool ok = true;
};

/// f of per_head's `then`: the sum of each head's loss against its target. The targets are
/// held by pointer: a target tensor becomes a constant leaf over the caller's tuple's
/// element, which must outlive the expression (as for any loss). Within a let, f runs
/// wherever the let rebuilds its body.
template <class Losses, class Targets>
struct sum_of_head_losses {
  Losses losses;
  Targets const* targets;

  template <class... Hs>
  [[nodiscard]] constexpr auto operator()(Hs const&... hs) const {
    return sum_terms(std::index_sequence_for<Hs...>{}, std::tuple<Hs const&...>{hs...});
  }

 private:
  template <std::size_t... I, class H>
  [[nodiscard]] constexpr auto sum_terms(std::index_sequence<I...>, H const& hs) const {
    return (std::get<I>(losses)(std::get<I>(hs), std::get<I>(*targets)) + ...);
  }
};

}  // namespace detail

/// A loss for several outputs: `per_head{loss0, loss1, ...}(out, std::tuple{t0, t1, ...})` is
/// loss0(head0, t0) + loss1(head1, t1) + ..., one scalar expression (the heads' losses
/// trained in one step). out is propel::heads(...) or a propel::let whose body gives heads
/// (what the heads share is then computed once, and its derivative collects every head's).
/// A count of losses, heads or targets that differs is a compile error. The tuple of targets
/// must outlive the expression, as a leaf's tensor must (a temporary tuple is refused).
template <class... Losses>
struct per_head {
  std::tuple<Losses...> losses;

  constexpr per_head() = default;
  constexpr explicit per_head(Losses const&... ls) requires(sizeof...(Losses) > 0)
      : losses(ls...) {}

  template <class Out, class... Targets>
  [[nodiscard]] constexpr auto operator()(Out const& out,
                                          std::tuple<Targets...> const& targets) const {
    static_assert(detail::check_per_head_counts<sizeof...(Losses), detail::head_count_v<Out>,
                                                sizeof...(Targets)>::ok);
    if constexpr (sizeof...(Losses) == detail::head_count_v<Out> &&
                  sizeof...(Losses) == sizeof...(Targets)) {
      return then(out, detail::sum_of_head_losses<std::tuple<Losses...>, std::tuple<Targets...>>{
                           losses, &targets});
    } else {
      // reported above; a scalar expression all the same, so that no second error follows
      return then(out, [](auto const& first, auto const&...) { return sum(first); });
    }
  }
  /// The expression refers to the tuple of targets (a target tensor becomes a constant leaf
  /// over the tuple's element): a temporary tuple would be gone before the loss is used.
  template <class Out, class... Targets>
  void operator()(Out const&, std::tuple<Targets...> const&&) const = delete;
};
template <class... Losses>
per_head(Losses...) -> per_head<Losses...>;

}  // namespace propel
