// SPDX-License-Identifier: BSL-1.0
/// \file The expression layer (expr/: leaves, element-wise nodes, products, transpose,
/// reductions, evaluate / gradient) and the ops over it (ops/: activations, arithmetic, losses).
#pragma once

#include <propel/expr/elementwise.hpp>
#include <propel/expr/expression.hpp>
#include <propel/expr/gradient.hpp>
#include <propel/expr/leaf.hpp>
#include <propel/expr/product.hpp>
#include <propel/expr/reduce.hpp>
#include <propel/expr/transpose.hpp>
#include <propel/ops/activation.hpp>
#include <propel/ops/arithmetic.hpp>
#include <propel/ops/loss.hpp>
#include <propel/ops/softmax_cross_entropy.hpp>
