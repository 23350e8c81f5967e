// SPDX-License-Identifier: BSL-1.0
/// \file The expression layer (expr/: leaves, element-wise nodes, products, transpose,
/// reductions, let / heads / then, concat, layer_norm, evaluate / gradient) and the ops over it
/// (ops/: activations, arithmetic, losses, per_head).
#pragma once

#include <propel/expr/concat.hpp>
#include <propel/expr/elementwise.hpp>
#include <propel/expr/expression.hpp>
#include <propel/expr/gradient.hpp>
#include <propel/expr/layer_norm.hpp>
#include <propel/expr/leaf.hpp>
#include <propel/expr/let.hpp>
#include <propel/expr/product.hpp>
#include <propel/expr/reduce.hpp>
#include <propel/expr/transpose.hpp>
#include <propel/ops/activation.hpp>
#include <propel/ops/arithmetic.hpp>
#include <propel/ops/loss.hpp>
#include <propel/ops/per_head.hpp>
#include <propel/ops/softmax_cross_entropy.hpp>
