// SPDX-License-Identifier: BSL-1.0
/// \file Training checkpoints: propel::save_checkpoint and propel::load_checkpoint store a
/// trainer's parameters, optimizer state and step count in a safetensors file, so that a
/// resumed run continues exactly, bit for bit, as if it had never stopped.
///
/// Any trainer's: of an mlp or of any other propel::model. The file: the parameters, named as
/// by load_safetensors ("0.weight", "0.bias", ... for an mlp, "fc1.weight", ... for a model),
/// so that a checkpoint also loads as weights with `.strict = false`, and optimizer state
/// buffer k as "optimizer.<k>.<parameter name>", in the network's scalar type; metadata
///   propel.format          "checkpoint"
///   propel.format_version  "1"
///   propel.topology        topology_signature<Net>()
///   propel.optimizer       "sgd", "adam", "adamw" or "custom", and propel.optimizer_states
///   propel.step_count      decimal
///   propel.checksum        "fnv1a64:" + 16 hex digits: FNV-1a 64 of the data section
///                          followed by the text of propel.step_count
/// plus propel.optimizer_settings, the hyperparameters (informative: not checked, a resumed
/// run may change them).
#pragma once

#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <propel/io/safetensors/network_io.hpp>
#include <propel/io/safetensors/tensors.hpp>
#include <propel/nn/optimizer.hpp>
#include <propel/nn/trainer.hpp>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace propel {

namespace detail::safetensors {

inline constexpr char const* checkpoint_version = "1";

template <class Opt>
std::string optimizer_name() {
  if constexpr (std::is_same_v<Opt, sgd>)
    return "sgd";
  else if constexpr (std::is_same_v<Opt, adam>)
    return "adam";
  else if constexpr (std::is_same_v<Opt, adamw>)
    return "adamw";
  else
    return "custom";
}

template <class Opt>
std::string optimizer_settings(Opt const& o) {
  if constexpr (std::is_same_v<Opt, sgd>) {
    return "lr=" + number_text(o.lr) + " momentum=" + number_text(o.momentum) +
           " nesterov=" + (o.nesterov ? "true" : "false") +
           " weight_decay=" + number_text(o.weight_decay);
  } else if constexpr (std::is_same_v<Opt, adam> || std::is_same_v<Opt, adamw>) {
    return "lr=" + number_text(o.lr) + " beta1=" + number_text(o.beta1) +
           " beta2=" + number_text(o.beta2) + " eps=" + number_text(o.eps) +
           " weight_decay=" + number_text(o.weight_decay);
  } else {
    return {};
  }
}

inline std::string hex64(std::uint64_t v) {
  std::string s(16, '0');
  for (std::size_t i = 16; i-- > 0; v >>= 4) s[i] = "0123456789abcdef"[v & 0xF];
  return s;
}

template <class Net, class Loss, class Opt, std::size_t B>
io_result write_checkpoint(trainer<Net, Loss, Opt, B> const& t, byte_sink* sink,
                           std::filesystem::path const* path) {
  std::vector<const_tensor_ref> refs;
  if (auto r = block_tensors<Net>(t.net(), tensor_names{}, "", refs); !r) return r;
  for (std::size_t k = 0; k < Opt::state_count; ++k) {
    if (auto r = block_tensors<Net>(t.state(k), tensor_names{},
                                    "optimizer." + std::to_string(k) + ".", refs);
        !r) {
      return r;
    }
  }
  save_options o;
  std::string const step = std::to_string(t.step_count());
  o.metadata["propel.format"] = "checkpoint";
  o.metadata["propel.format_version"] = checkpoint_version;
  o.metadata["propel.topology"] = topology_signature<Net>();
  o.metadata["propel.optimizer"] = optimizer_name<Opt>();
  o.metadata["propel.optimizer_states"] = std::to_string(Opt::state_count);
  o.metadata["propel.optimizer_settings"] = optimizer_settings(t.optimizer());
  o.metadata["propel.step_count"] = step;
  fnv1a_sink hash;
  if (!write_data(hash, refs, o)) return io_result::failure("cannot hash the data");
  hash.hash = fnv1a(hash.hash, step.data(), step.size());
  o.metadata["propel.checksum"] = "fnv1a64:" + hex64(hash.hash);
  io_result r = path != nullptr ? save_tensors(*path, refs, o) : write_file(*sink, refs, o);
  if (r) {
    r.message =
        "saved a checkpoint at step " + step + " (" + std::to_string(refs.size()) + " tensors)";
  }
  return r;
}

template <class Net, class Loss, class Opt, std::size_t B>
io_result read_checkpoint(trainer<Net, Loss, Opt, B>& t, byte_source& src) {
  header h;
  if (auto r = parse_header(src, h); !r) return r;
  auto const meta = [&](char const* key) -> std::string const* {
    auto const it = h.metadata.find(key);
    return it == h.metadata.end() ? nullptr : &it->second;
  };
  auto const* format = meta("propel.format");
  if (format == nullptr || *format != "checkpoint") {
    return io_result::failure(
        "not a propel checkpoint (its metadata has no propel.format \"checkpoint\")");
  }
  auto const* version = meta("propel.format_version");
  if (version == nullptr || *version != checkpoint_version) {
    return io_result::failure("the checkpoint has format version " +
                              (version ? quote_name(*version) : std::string("(none)")) +
                              "; this propel reads version " + checkpoint_version);
  }
  std::string const topology = topology_signature<Net>();
  auto const* file_topology = meta("propel.topology");
  if (file_topology == nullptr || *file_topology != topology) {
    return io_result::failure("the checkpoint is of the network " +
                              (file_topology ? quote_name(*file_topology) : std::string("(none)")) +
                              ", but the trainer's network is " + quote_name(topology));
  }
  std::string const opt =
      optimizer_name<Opt>() + " with " + std::to_string(Opt::state_count) + " state buffers";
  auto const* file_opt = meta("propel.optimizer");
  auto const* file_states = meta("propel.optimizer_states");
  std::string const file_opt_text = (file_opt ? *file_opt : std::string("(none)")) + " with " +
                                    (file_states ? *file_states : std::string("(none)")) +
                                    " state buffers";
  if (file_opt_text != opt) {
    return io_result::failure("the checkpoint's optimizer is " + quote_name(file_opt_text) +
                              ", but the trainer's is " + quote_name(opt));
  }
  auto const* step_text = meta("propel.step_count");
  std::uint64_t step = 0;
  if (step_text == nullptr || step_text->empty() ||
      std::from_chars(step_text->data(), step_text->data() + step_text->size(), step).ptr !=
          step_text->data() + step_text->size()) {
    return io_result::failure("the checkpoint has no valid propel.step_count");
  }
  auto const* checksum = meta("propel.checksum");
  if (checksum == nullptr || checksum->size() != 24 || checksum->compare(0, 8, "fnv1a64:") != 0) {
    return io_result::failure("the checkpoint has no valid propel.checksum");
  }
  std::uint64_t sum = fnv1a_basis;
  {
    alignas(8) std::array<unsigned char, 8192> buf{};
    for (std::uint64_t pos = 0; pos < h.data_size;) {
      auto const n =
          static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), h.data_size - pos));
      if (!src.read(h.data_offset + pos, buf.data(), n)) {
        return io_result::failure("cannot read the data: " + src.error());
      }
      sum = fnv1a(sum, buf.data(), n);
      pos += n;
    }
    sum = fnv1a(sum, step_text->data(), step_text->size());
  }
  if ("fnv1a64:" + hex64(sum) != *checksum) {
    return io_result::failure("the checksum does not match: the file says " + *checksum +
                              ", the data hashes to fnv1a64:" + hex64(sum) +
                              " (the file is damaged)");
  }

  using block = typename trainer<Net, Loss, Opt, B>::gradient_type;
  auto net = std::make_unique<Net>(t.net());
  auto states = std::make_unique<std::array<block, Opt::state_count>>();
  std::vector<tensor_ref> refs;
  if (auto r = block_tensors<Net>(*net, tensor_names{}, "", refs); !r) return r;
  for (std::size_t k = 0; k < Opt::state_count; ++k) {
    if (auto r = block_tensors<Net>((*states)[k], tensor_names{},
                                    "optimizer." + std::to_string(k) + ".", refs);
        !r) {
      return r;
    }
  }
  load_options o;
  o.allow_conversion = false;
  if (auto r = read_tensors(src, h, refs, o); !r) return r;
  t.net() = *net;
  for (std::size_t k = 0; k < Opt::state_count; ++k) t.state(k) = (*states)[k];
  t.set_step_count(step);
  return io_result::success("loaded a checkpoint at step " + *step_text);
}

}  // namespace detail::safetensors

/// Saves a trainer's parameters, optimizer state and step count to `path`, atomically.
template <class Net, class Loss, class Opt, std::size_t B>
io_result save_checkpoint(trainer<Net, Loss, Opt, B> const& t, std::filesystem::path const& path) {
  return detail::safetensors::write_checkpoint(t, nullptr, &path);
}
/// The same into memory: `out` receives the bytes of the file.
template <class Net, class Loss, class Opt, std::size_t B>
io_result save_checkpoint(trainer<Net, Loss, Opt, B> const& t, std::vector<std::byte>& out) {
  out.clear();
  detail::safetensors::vector_sink sink(out);
  return detail::safetensors::write_checkpoint(t, &sink, nullptr);
}

/// Restores a trainer (its network's parameters, its optimizer state, its step count) from a
/// checkpoint written by save_checkpoint for the same topology and optimizer kind. The
/// format version, topology, optimizer, checksum and every tensor are checked first; on any
/// failure the trainer and its network are unchanged.
template <class Net, class Loss, class Opt, std::size_t B>
io_result load_checkpoint(trainer<Net, Loss, Opt, B>& t, std::filesystem::path const& path) {
  detail::safetensors::file_source src;
  if (auto r = src.open(path); !r) return r;
  return detail::safetensors::with_path(detail::safetensors::read_checkpoint(t, src), path);
}
/// The same from the bytes of a file in memory.
template <class Net, class Loss, class Opt, std::size_t B>
io_result load_checkpoint(trainer<Net, Loss, Opt, B>& t, std::span<std::byte const> bytes) {
  detail::safetensors::memory_source src(bytes);
  return detail::safetensors::read_checkpoint(t, src);
}

}  // namespace propel
