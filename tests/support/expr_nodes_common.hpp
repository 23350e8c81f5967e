// SPDX-License-Identifier: BSL-1.0
/// \file What every translation unit of the expr_nodes test executable starts with: the shared
/// cases (support/expr_cases.hpp), the finite-difference helpers (support/gradcheck.hpp), and
/// the short names the tests are written with.
#pragma once

#include <array>
#include <boost/test/unit_test.hpp>
#include <cstddef>
#include <propel/propel.hpp>
#include <tuple>
#include <type_traits>

#include "support/expr_cases.hpp"
#include "support/gradcheck.hpp"

namespace pp = propel;
using pp::test::random_tensor;
using pp::test::relative_error;
using pp::test::splitmix64;
using pp::test::wrt;

template <class T, std::size_t N>
using vec = pp::vec<T, N>;
template <class T, std::size_t R, std::size_t C>
using mat = pp::mat<T, R, C>;
