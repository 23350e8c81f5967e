// SPDX-License-Identifier: BSL-1.0
/// \file The expression layer: leaves, element-wise ops and activations, products,
/// transpose, reductions, losses, let / heads / then / per_head, concat, layer_norm, and
/// evaluate / gradient.
#pragma once

#include <propel/expr/concat.hpp>
#include <propel/expr/elementwise.hpp>
#include <propel/expr/expression.hpp>
#include <propel/expr/gradient.hpp>
#include <propel/expr/layer_norm.hpp>
#include <propel/expr/leaf.hpp>
#include <propel/expr/let.hpp>
#include <propel/expr/loss.hpp>
#include <propel/expr/per_head.hpp>
#include <propel/expr/product.hpp>
#include <propel/expr/reduce.hpp>
#include <propel/expr/softmax_cross_entropy.hpp>
#include <propel/expr/transpose.hpp>
#include <propel/ops/activation.hpp>
#include <propel/ops/arithmetic.hpp>
