// SPDX-License-Identifier: BSL-1.0
/// \file Umbrella header: everything public in propel.
#pragma once

#include <propel/config.hpp>
#include <propel/expr.hpp>
#include <propel/mat.hpp>
#include <propel/nn.hpp>
#include <propel/shape.hpp>
#include <propel/tensor.hpp>
#include <propel/vec.hpp>
#include <propel/version.hpp>
