// SPDX-License-Identifier: BSL-1.0
/// \file propel::io, weights in and out through safetensors files. Optional: not part of
/// <propel/propel.hpp> (the core has no I/O); link the CMake target propel::io, which needs
/// nlohmann_json.
///
///     #include <propel/io/safetensors.hpp>
///     propel::load_safetensors(net, "model.safetensors").check();   // PyTorch state_dict names
///     if (auto r = propel::save_safetensors(net, "out.safetensors"); !r) puts(r.message.c_str());
///     propel::save_checkpoint(trainer, "run.ckpt");                  // resume bit for bit
///
/// Contents: load_safetensors / save_safetensors (an mlp or any propel::model), load_checkpoint /
/// save_checkpoint (trainers), load_tensors / save_tensors (any named vec, mat or buffer),
/// io_result, load_options, save_options, tensor_names, topology_signature.
#pragma once

#include <propel/io/safetensors/checkpoint.hpp>
#include <propel/io/safetensors/io_result.hpp>
#include <propel/io/safetensors/network_io.hpp>
#include <propel/io/safetensors/tensor_names.hpp>
#include <propel/io/safetensors/tensor_ref.hpp>
#include <propel/io/safetensors/tensors.hpp>
