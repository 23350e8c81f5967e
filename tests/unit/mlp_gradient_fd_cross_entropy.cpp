// SPDX-License-Identifier: BSL-1.0
// Part of the mlp_gradient test executable: the finite-difference cases of softmax_cross_entropy
// with integer labels, one-hot and soft targets (support/mlp_gradient_cases.hpp), in a translation
// unit of their own so that the cases compile in parallel.
#include "support/mlp_gradient_cases.hpp"

namespace {

BOOST_AUTO_TEST_SUITE(finite_differences)

BOOST_AUTO_TEST_CASE_TEMPLATE(parameter_and_input_gradients, C, mlp_cases::cross_entropy_cases) {
  mlp_cases::check_parameter_and_input_gradients<C>();
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
