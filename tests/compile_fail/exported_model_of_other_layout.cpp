// SPDX-License-Identifier: BSL-1.0
// Mistake: including a model's exported weights (propel::cpp_header_writer) for a model type
// of another layout: here the code is three features wide where the exported model's is two.
#include <propel/propel.hpp>

#include "../support/export_model.hpp"

#ifdef PROPEL_EXPECT_FAIL
using tiny_model_t = propel::model<float, propel::input<3>, export_model::tied_forward,
                                   propel::tensor_param<"dec_bias", 3>, propel::linear<"enc", 3, 3>,
                                   propel::norm<"ln", 3>>;
#else
using tiny_model_t = export_model::tied_t;
#endif

#include "../data/export_header_model.hpp"
