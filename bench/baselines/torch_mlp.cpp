// SPDX-License-Identifier: BSL-1.0
#include "torch_mlp.hpp"

#include <torch/torch.h>

#include <cstdlib>
#include <cstring>

namespace bench {

struct torch_mlp::impl {
  std::vector<std::size_t> widths;
  loss_kind loss;
  torch::nn::Sequential net;
  std::vector<torch::nn::Linear> linears;
  std::unique_ptr<torch::optim::SGD> opt;
};

torch_mlp::torch_mlp(std::vector<std::size_t> widths, std::vector<act> acts, loss_kind loss,
                     float lr)
    : impl_(std::make_unique<impl>()) {
  // ATen picks its kernels by the core it runs on, whatever the build's -march: a build
  // without AVX-512 (x86-64-v3) asks for its AVX2 ones (read when ATen first dispatches)
#if defined(__x86_64__) && !defined(__AVX512F__)
  setenv("ATEN_CPU_CAPABILITY", "avx2", 0);
#endif
  torch::set_num_threads(1);
  impl_->widths = widths;
  impl_->loss = loss;
  for (std::size_t i = 0; i + 1 < widths.size(); ++i) {
    torch::nn::Linear lin(static_cast<std::int64_t>(widths[i]),
                          static_cast<std::int64_t>(widths[i + 1]));
    impl_->linears.push_back(lin);
    impl_->net->push_back(lin);
    if (acts[i] == act::relu) impl_->net->push_back(torch::nn::ReLU());
    if (acts[i] == act::tanh) impl_->net->push_back(torch::nn::Tanh());
  }
  impl_->opt = std::make_unique<torch::optim::SGD>(impl_->net->parameters(),
                                                   torch::optim::SGDOptions(lr));
}

torch_mlp::~torch_mlp() = default;

void torch_mlp::load(float const* p) {
  torch::NoGradGuard guard;
  for (auto& lin : impl_->linears) {
    for (auto* t : {&lin->weight, &lin->bias}) {
      std::memcpy(t->data_ptr<float>(), p, static_cast<std::size_t>(t->numel()) * sizeof(float));
      p += t->numel();
    }
  }
}

void torch_mlp::store(float* p) const {
  for (auto const& lin : impl_->linears) {
    for (auto const* t : {&lin->weight, &lin->bias}) {
      auto const c = t->contiguous();
      std::memcpy(p, c.data_ptr<float>(), static_cast<std::size_t>(t->numel()) * sizeof(float));
      p += t->numel();
    }
  }
}

void torch_mlp::infer(float const* x, std::size_t rows, float* y) {
  torch::NoGradGuard guard;
  auto const in = torch::from_blob(const_cast<float*>(x),
                                   {static_cast<std::int64_t>(rows),
                                    static_cast<std::int64_t>(impl_->widths.front())});
  auto const out = impl_->net->forward(in);
  std::memcpy(y, out.data_ptr<float>(), rows * impl_->widths.back() * sizeof(float));
}

float torch_mlp::train(float const* x, std::size_t rows, float const* y, int const* labels) {
  auto const r = static_cast<std::int64_t>(rows);
  auto const in = torch::from_blob(const_cast<float*>(x),
                                   {r, static_cast<std::int64_t>(impl_->widths.front())});
  impl_->opt->zero_grad();
  auto const out = impl_->net->forward(in);
  torch::Tensor loss;
  if (impl_->loss == loss_kind::mse) {
    auto const t = torch::from_blob(const_cast<float*>(y),
                                    {r, static_cast<std::int64_t>(impl_->widths.back())});
    loss = torch::mse_loss(out, t);
  } else {
    auto const t = torch::from_blob(const_cast<int*>(labels), {r}, torch::kInt32).to(torch::kLong);
    loss = torch::nn::functional::cross_entropy(out, t);
  }
  loss.backward();
  impl_->opt->step();
  return loss.item<float>();
}

}  // namespace bench
