// SPDX-License-Identifier: BSL-1.0
/// \file Defines the layer descriptions of an mlp: input<N> and dense<M, Act>.
#pragma once

#include <cstddef>
#include <propel/mat.hpp>
#include <propel/ops/activation.hpp>
#include <propel/vec.hpp>

namespace propel {

/// The input of a network: N features per sample.
template <std::size_t N>
struct input {
  static_assert(N > 0, "propel::input: a network needs at least one input feature");
  static constexpr std::size_t size = N;
};

/// A fully connected layer with M outputs, y = Act(W x + b); its input width is the
/// previous layer's output width, so each size is written once.
/// \tparam M    output width, > 0
/// \tparam Act  an activation type from propel/ops/activation.hpp (default identity)
template <std::size_t M, class Act = identity>
struct dense {
  static_assert(M > 0, "propel::dense: a layer needs at least one output");
  static constexpr std::size_t size = M;
  using activation = Act;
};

/// The parameters of one dense layer, in PyTorch's nn.Linear layout: the weight [Out][In]
/// row-major, then the bias.
template <class T, std::size_t Out, std::size_t In>
struct dense_params {
  mat<T, Out, In> weight;
  vec<T, Out> bias;
};

}  // namespace propel
