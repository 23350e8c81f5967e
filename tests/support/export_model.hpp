// SPDX-License-Identifier: BSL-1.0
/// \file The forward of the model that tests/unit/export_header_test.cpp exports to
/// tests/data/export_header_model.hpp, shared with the compile-fail case that includes that
/// header for a model type of another layout.
#pragma once

#include <propel/propel.hpp>

namespace export_model {

/// A tied-weight autoencoder with a layer-normed code: y = enc.weightᵀ tanh(ln(enc(x))) +
/// dec_bias, the encoder's weight read twice.
struct tied_forward {
  template <class P, class X>
  constexpr auto operator()(P const& p, X const& x) const {
    using namespace propel::literals;
    auto const enc = p["enc"_p];
    auto const h = propel::tanh{}(p["ln"_p](enc(x)));
    if constexpr (X::shape_type::rank == 1) {
      return propel::transpose(enc.weight) * h + p["dec_bias"_p];
    } else {
      return h * enc.weight + p["dec_bias"_p];
    }
  }
};

/// The model, in float or double: "dec_bias" [3], "enc.weight" [2, 3], "enc.bias" [2],
/// "ln.weight" [2], "ln.bias" [2]. The exported one is in float.
template <class T>
using tied_model =
    propel::model<T, propel::input<3>, tied_forward, propel::tensor_param<"dec_bias", 3>,
                  propel::linear<"enc", 2, 3>, propel::norm<"ln", 2>>;
using tied_t = tied_model<float>;

}  // namespace export_model
