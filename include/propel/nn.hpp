// SPDX-License-Identifier: BSL-1.0
/// \file The network layer: models, mlp, their gradient, optimizers, the trainer and int8 quantization.
#pragma once

#include <propel/nn/gradient.hpp>
#include <propel/nn/layers.hpp>
#include <propel/nn/mlp.hpp>
#include <propel/nn/model.hpp>
#include <propel/nn/optimizer.hpp>
#include <propel/nn/param_block.hpp>
#include <propel/nn/quantize.hpp>
#include <propel/nn/trainer.hpp>
