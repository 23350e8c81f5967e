// SPDX-License-Identifier: BSL-1.0
// "No heap", checked at run time. This executable replaces every replaceable global operator
// new and delete (single and array, sized, aligned, nothrow) and, on glibc, malloc, free,
// calloc, realloc, reallocarray, aligned_alloc, posix_memalign, memalign, valloc and pvalloc
// with versions that count their calls while a scope is armed, and forward to glibc's own
// allocator (__libc_malloc and the like). Calls from shared libraries (libstdc++, libc itself)
// bind to these definitions too. Each check arms the counter around propel's calls alone
// (Boost.Test allocates around them) and expects zero calls: net(x) and net(batch) for every
// activation, evaluate, gradient and value_and_gradient of expressions, loss_and_gradient and
// loss_and_input_gradient for every loss and target form (each of these with its workspace on
// the stack and in the caller's workspace), and trainer.step for every loss and
// target form with SGD (plain, momentum, Nesterov, weight decay alone and with momentum), Adam
// (with and without L2 decay) and AdamW, one sample at a time and in batches. The guard cases
// show that the counter sees each allocation function, including calls made inside libc.
// tests/static/no_heap_check.cpp checks the same property in the source.
#define BOOST_TEST_MODULE no_heap_runtime
#include <array>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <ostream>
#include <propel/propel.hpp>
#include <type_traits>
#include <vector>

// A sanitizer that brings its own allocator (ASan, TSan, MSan, HWASan) intercepts malloc and
// free, and a second replacement does not mix with it: with g++'s shared libasan, ASan's
// realloc then gets blocks it did not allocate and aborts; with clang++'s static runtime the
// replacement wins and ASan stops seeing the heap. tests/CMakeLists.txt therefore builds this
// test only without sanitizers.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || defined(__SANITIZE_HWADDRESS__)
#define PROPEL_TEST_SANITIZER_ALLOCATOR 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer) || __has_feature(hwaddress_sanitizer)
#define PROPEL_TEST_SANITIZER_ALLOCATOR 1
#endif
#endif
#ifdef PROPEL_TEST_SANITIZER_ALLOCATOR
#error \
    "no_heap_runtime_test replaces malloc, which the sanitizer's allocator intercepts: build it without sanitizers"
#endif

// malloc and its family can be replaced, and forwarded, on glibc (ELF symbol interposition);
// elsewhere only operator new and delete are counted.
#if defined(__GLIBC__)
#define PROPEL_TEST_COUNTS_MALLOC 1
#include <malloc.h>  // memalign, pvalloc

#include <cerrno>
// glibc's own entry points, declared to forward to them: reserved names on purpose
// NOLINTBEGIN(bugprone-reserved-identifier)
extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t count, std::size_t size);
void* __libc_realloc(void* p, std::size_t size);
void* __libc_memalign(std::size_t alignment, std::size_t size);
void* __libc_valloc(std::size_t size);
void* __libc_pvalloc(std::size_t size);
void __libc_free(void* p);
}
// NOLINTEND(bugprone-reserved-identifier)
#else
#define PROPEL_TEST_COUNTS_MALLOC 0
#endif

namespace {

// ---------------------------------------------------------------------------------------------
// The counter. Plain atomics: nothing here allocates, and an allocation inside an armed scope is
// sequenced after the store that arms it.

enum kind : std::size_t { new_call, delete_call, malloc_call, free_call, kinds };

std::atomic<bool> armed{false};
std::array<std::atomic<std::size_t>, kinds> calls{};
std::atomic<std::size_t> first_size{0};  // the size asked for by the first armed allocation

void note(kind k, std::size_t size = 0) noexcept {
  if (!armed.load(std::memory_order_relaxed)) return;
  if (k == new_call || k == malloc_call) {
    std::size_t none = 0;
    first_size.compare_exchange_strong(none, size == 0 ? 1 : size, std::memory_order_relaxed);
  }
  calls[k].fetch_add(1, std::memory_order_relaxed);
}

/// The calls counted while an armed scope ran.
struct heap_calls {
  std::size_t news = 0, deletes = 0, mallocs = 0, frees = 0, first_size = 0;
  [[nodiscard]] std::size_t total() const { return news + deletes + mallocs + frees; }
  friend std::ostream& operator<<(std::ostream& os, heap_calls const& c) {
    return os << c.news << " operator new, " << c.deletes << " operator delete, " << c.mallocs
              << " malloc family, " << c.frees << " free (first allocation: " << c.first_size
              << " bytes)";
  }
};

/// Runs f with the counter armed and returns what it counted. f must not allocate for any
/// other reason: no Boost.Test macros inside.
template <class F>
heap_calls count_heap_calls(F&& f) {
  for (auto& c : calls) c.store(0);
  first_size.store(0);
  armed.store(true);
  f();
  armed.store(false);
  return {calls[new_call].load(), calls[delete_call].load(), calls[malloc_call].load(),
          calls[free_call].load(), first_size.load()};
}

// ---------------------------------------------------------------------------------------------
// The allocator underneath: glibc's own functions when malloc is replaced, the C library's
// otherwise.

void* raw_malloc(std::size_t size) noexcept {
#if PROPEL_TEST_COUNTS_MALLOC
  return __libc_malloc(size);
#else
  return std::malloc(size);
#endif
}

void* raw_aligned(std::size_t alignment, std::size_t size) noexcept {
#if PROPEL_TEST_COUNTS_MALLOC
  return __libc_memalign(alignment, size);
#else
  // aligned_alloc wants a multiple of the alignment
  std::size_t const rounded = (size + alignment - 1) / alignment * alignment;
  return rounded < size ? nullptr : std::aligned_alloc(alignment, rounded);
#endif
}

void raw_free(void* p) noexcept {
#if PROPEL_TEST_COUNTS_MALLOC
  __libc_free(p);
#else
  std::free(p);
#endif
}

void* counted_new(std::size_t size, std::size_t alignment, bool nothrow) {
  note(new_call, size);
  if (size == 0) size = 1;
  while (true) {
    void* const p = alignment <= __STDCPP_DEFAULT_NEW_ALIGNMENT__ ? raw_malloc(size)
                                                                  : raw_aligned(alignment, size);
    if (p != nullptr) return p;
    std::new_handler const handler = std::get_new_handler();
    if (handler == nullptr) {
      if (nothrow) return nullptr;
      throw std::bad_alloc();
    }
    if (nothrow) {
      try {
        handler();
      } catch (std::bad_alloc const&) {
        return nullptr;
      }
    } else {
      handler();
    }
  }
}

void counted_delete(void* p) noexcept {
  note(delete_call);
  raw_free(p);
}

constexpr std::size_t no_alignment = 0;

}  // namespace

// ---------------------------------------------------------------------------------------------
// The replacements: every replaceable global allocation and deallocation function.

void* operator new(std::size_t size) { return counted_new(size, no_alignment, false); }
void* operator new[](std::size_t size) { return counted_new(size, no_alignment, false); }
void* operator new(std::size_t size, std::nothrow_t const&) noexcept {
  return counted_new(size, no_alignment, true);
}
void* operator new[](std::size_t size, std::nothrow_t const&) noexcept {
  return counted_new(size, no_alignment, true);
}
void* operator new(std::size_t size, std::align_val_t al) {
  return counted_new(size, static_cast<std::size_t>(al), false);
}
void* operator new[](std::size_t size, std::align_val_t al) {
  return counted_new(size, static_cast<std::size_t>(al), false);
}
void* operator new(std::size_t size, std::align_val_t al, std::nothrow_t const&) noexcept {
  return counted_new(size, static_cast<std::size_t>(al), true);
}
void* operator new[](std::size_t size, std::align_val_t al, std::nothrow_t const&) noexcept {
  return counted_new(size, static_cast<std::size_t>(al), true);
}

void operator delete(void* p) noexcept { counted_delete(p); }
void operator delete[](void* p) noexcept { counted_delete(p); }
void operator delete(void* p, std::size_t) noexcept { counted_delete(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_delete(p); }
void operator delete(void* p, std::nothrow_t const&) noexcept { counted_delete(p); }
void operator delete[](void* p, std::nothrow_t const&) noexcept { counted_delete(p); }
void operator delete(void* p, std::align_val_t) noexcept { counted_delete(p); }
void operator delete[](void* p, std::align_val_t) noexcept { counted_delete(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { counted_delete(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { counted_delete(p); }
void operator delete(void* p, std::align_val_t, std::nothrow_t const&) noexcept {
  counted_delete(p);
}
void operator delete[](void* p, std::align_val_t, std::nothrow_t const&) noexcept {
  counted_delete(p);
}

#if PROPEL_TEST_COUNTS_MALLOC
extern "C" {
void* malloc(std::size_t size) noexcept {
  note(malloc_call, size);
  return __libc_malloc(size);
}
void* calloc(std::size_t count, std::size_t size) noexcept {
  note(malloc_call, count * size);
  return __libc_calloc(count, size);
}
void* realloc(void* p, std::size_t size) noexcept {
  note(malloc_call, size);
  return __libc_realloc(p, size);
}
void* reallocarray(void* p, std::size_t count, std::size_t size) noexcept {
  note(malloc_call, count * size);
  if (size != 0 && count > SIZE_MAX / size) {
    errno = ENOMEM;
    return nullptr;
  }
  return __libc_realloc(p, count * size);
}
void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept {
  note(malloc_call, size);
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t size) noexcept {
  note(malloc_call, size);
  if (alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0) return EINVAL;
  void* const p = __libc_memalign(alignment, size);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
void* memalign(std::size_t alignment, std::size_t size) noexcept {
  note(malloc_call, size);
  return __libc_memalign(alignment, size);
}
void* valloc(std::size_t size) noexcept {
  note(malloc_call, size);
  return __libc_valloc(size);
}
void* pvalloc(std::size_t size) noexcept {
  note(malloc_call, size);
  return __libc_pvalloc(size);
}
void free(void* p) noexcept {
  note(free_call);
  __libc_free(p);
}
}
#endif

namespace {

namespace pp = propel;

// ---------------------------------------------------------------------------------------------
// Data: networks with real work, inputs drawn at run time from a seed the compiler cannot see.

using net_t =
    pp::mlp<float, pp::input<4>, pp::dense<8, pp::tanh>, pp::dense<8, pp::relu>, pp::dense<3>>;
// every other activation, for the forward pass and a gradient
using wide_net_t =
    pp::mlp<float, pp::input<4>, pp::dense<6, pp::sigmoid>, pp::dense<6, pp::leaky_relu>,
            pp::dense<6, pp::elu>, pp::dense<6, pp::silu>, pp::dense<6, pp::gelu>,
            pp::dense<6, pp::gelu_tanh>, pp::dense<3, pp::softplus>>;
constexpr std::size_t rows = 5;

std::uint64_t volatile seed = 2024;  // read at run time: nothing below is constant-folded

/// A float in [-1, 1) from a SplitMix-like stream.
float draw(std::uint64_t& state) {
  state += 0x9E3779B97F4A7C15u;
  std::uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
  z ^= z >> 31;
  return static_cast<float>(static_cast<double>(z >> 40) / 8388608.0 - 1.0);
}

template <class Tensor>
Tensor random_tensor(std::uint64_t salt) {
  std::uint64_t state = seed + salt;
  Tensor t;
  for (auto& v : t) v = draw(state);
  return t;
}

/// Targets in [0, 1] (for binary cross-entropy) or a distribution per row (cross-entropy).
template <class Tensor>
Tensor probabilities(std::uint64_t salt, bool per_row_distribution) {
  Tensor t = random_tensor<Tensor>(salt);
  for (auto& v : t) v = 0.5f * (v + 1.0f);
  if (per_row_distribution) {
    constexpr std::size_t width =
        Tensor::shape_type::rank == 1 ? Tensor::shape_type::rows : Tensor::shape_type::cols;
    for (std::size_t begin = 0; begin < t.size(); begin += width) {
      float sum = 0;
      for (std::size_t k = 0; k < width; ++k) sum += t.data()[begin + k];
      for (std::size_t k = 0; k < width; ++k) t.data()[begin + k] /= sum;
    }
  }
  return t;
}

template <class Net>
Net initialised(std::uint64_t salt) {
  Net net;
  pp::init(net, seed + salt);
  return net;
}

template <class Tensor>
bool all_finite(Tensor const& t) {
  for (auto v : t) {
    if (!std::isfinite(v)) return false;
  }
  return true;
}

/// A loss that uses the prediction twice (smooth L1 as softplus(u) + softplus(-u)): the
/// trainer then keeps a gradient and applies it after the backward pass.
struct smooth_l1 {
  template <class P, class T>
  constexpr auto operator()(P const& pred, T const& target) const {
    auto const u = pred - pp::constant(target);
    return pp::mean(pp::softplus{}(u) + pp::softplus{}(-u));
  }
};

// One sample and a batch of each target form, for every loss.
pp::vec<float, 4> const x_one = random_tensor<pp::vec<float, 4>>(1);
pp::mat<float, rows, 4> const x_batch = random_tensor<pp::mat<float, rows, 4>>(2);
pp::vec<float, 3> const y_one = random_tensor<pp::vec<float, 3>>(3);
pp::mat<float, rows, 3> const y_batch = random_tensor<pp::mat<float, rows, 3>>(4);
pp::vec<float, 3> const p_one = probabilities<pp::vec<float, 3>>(5, false);
pp::mat<float, rows, 3> const p_batch = probabilities<pp::mat<float, rows, 3>>(6, false);
pp::vec<float, 3> const d_one = probabilities<pp::vec<float, 3>>(7, true);
pp::mat<float, rows, 3> const d_batch = probabilities<pp::mat<float, rows, 3>>(8, true);
int const label = 2;
std::array<int, rows> const labels{0, 2, 1, 1, 0};

/// Calls visit(name, loss, x, targets) for every loss and target form, single and batch.
template <class Visit>
void for_each_loss(Visit&& visit) {
  visit("mse, one sample", pp::mse{}, x_one, y_one);
  visit("mse, batch", pp::mse{}, x_batch, y_batch);
  visit("huber, one sample", pp::huber{0.5}, x_one, y_one);
  visit("huber, batch", pp::huber{0.5}, x_batch, y_batch);
  visit("bce_with_logits, one sample", pp::bce_with_logits{}, x_one, p_one);
  visit("bce_with_logits, batch", pp::bce_with_logits{}, x_batch, p_batch);
  visit("softmax_cross_entropy, int label", pp::softmax_cross_entropy{}, x_one, label);
  visit("softmax_cross_entropy, labels of a batch", pp::softmax_cross_entropy{}, x_batch, labels);
  visit("softmax_cross_entropy, distribution", pp::softmax_cross_entropy{}, x_one, d_one);
  visit("softmax_cross_entropy, distributions of a batch", pp::softmax_cross_entropy{}, x_batch,
        d_batch);
  visit("smooth L1 (prediction used twice), one sample", smooth_l1{}, x_one, y_one);
  visit("smooth L1 (prediction used twice), batch", smooth_l1{}, x_batch, y_batch);
}

template <class X>
constexpr std::size_t batch_of = X::shape_type::rank == 1 ? 1 : X::shape_type::rows;

/// Three steps of a trainer for (loss, opt) on (x, targets), counted: none may allocate, each
/// must return a finite loss, and the parameters must have moved.
template <class Opt, class Loss, class X, class Targets>
void check_steps(char const* loss_name, char const* opt_name, Opt const& opt, Loss const& loss,
                 X const& x, Targets const& targets) {
  net_t net = initialised<net_t>(10);
  net_t const before = net;
  pp::trainer<net_t, Loss, Opt, batch_of<X>> trainer{net, loss, opt};
  std::array<float, 3> losses{};
  heap_calls const c = count_heap_calls([&] {
    for (auto& l : losses) l = trainer.step(x, targets);
  });
  BOOST_TEST(c.total() == 0u, "trainer.step, " << loss_name << ", " << opt_name << ": " << c);
  BOOST_TEST(all_finite(losses), loss_name << ", " << opt_name);
  BOOST_TEST(trainer.step_count() == 3u, loss_name << ", " << opt_name);
  bool moved = false;
  for (std::size_t i = 0; i < net_t::param_count; ++i) {
    moved = moved || net.params()[i] != before.params()[i];
  }
  BOOST_TEST(moved, loss_name << ", " << opt_name << ": the parameters did not move");
}

void* volatile escape = nullptr;  // keeps the compiler from removing an allocation and its free

}  // namespace

// ---------------------------------------------------------------------------------------------
// The counter sees what it must, and nothing outside an armed scope.

BOOST_AUTO_TEST_CASE(the_counter_sees_every_form_of_operator_new_and_delete) {
  heap_calls const c = count_heap_calls([] {
    escape = ::operator new(24);
    ::operator delete(escape);
    escape = ::operator new[](24);
    ::operator delete[](escape);
    escape = ::operator new(24, std::nothrow);
    ::operator delete(escape, std::nothrow);
    escape = ::operator new[](24, std::nothrow);
    ::operator delete[](escape, std::nothrow);
    escape = ::operator new (24, std::align_val_t{64});
    ::operator delete (escape, std::align_val_t{64});
    escape = ::operator new[](24, std::align_val_t{64});
    ::operator delete[](escape, std::align_val_t{64});
    escape = ::operator new (24, std::align_val_t{64}, std::nothrow);
    ::operator delete (escape, std::align_val_t{64}, std::nothrow);
    escape = ::operator new[](24, std::align_val_t{64}, std::nothrow);
    ::operator delete[](escape, std::align_val_t{64}, std::nothrow);
    escape = ::operator new(24);
    ::operator delete(escape, 24);
    escape = ::operator new[](24);
    ::operator delete[](escape, 24);
    escape = ::operator new (24, std::align_val_t{64});
    ::operator delete (escape, 24, std::align_val_t{64});
    escape = ::operator new[](24, std::align_val_t{64});
    ::operator delete[](escape, 24, std::align_val_t{64});
  });
  BOOST_TEST(c.news == 12u, c);
  BOOST_TEST(c.deletes == 12u, c);
  BOOST_TEST(c.first_size == 24u, c);
}

BOOST_AUTO_TEST_CASE(the_counter_sees_new_expressions_and_containers) {
  heap_calls const c = count_heap_calls([] {
    int* const p = new int(7);
    escape = p;
    delete static_cast<int*>(escape);
    std::vector<int> v(100, 1);
    escape = v.data();
  });
  BOOST_TEST(c.news == 2u, c);
  BOOST_TEST(c.deletes == 2u, c);
  BOOST_TEST(c.mallocs == 0u, c);  // operator new is counted once, not again as malloc
}

#if PROPEL_TEST_COUNTS_MALLOC
BOOST_AUTO_TEST_CASE(the_counter_sees_the_malloc_family_and_calls_inside_libc) {
  heap_calls const c = count_heap_calls([] {
    escape = std::malloc(16);
    escape = std::realloc(escape, 4096);
    std::free(escape);
    escape = std::calloc(4, 8);
    std::free(escape);
    escape = std::aligned_alloc(64, 128);
    std::free(escape);
    void* p = nullptr;
    if (posix_memalign(&p, 64, 32) == 0) escape = p;
    std::free(escape);
    escape = memalign(32, 16);
    std::free(escape);
    escape = reallocarray(nullptr, 4, 4);
    std::free(escape);
    // strdup allocates inside libc, through the same interposed malloc
    char const* volatile text = "allocated by libc";
    escape = strdup(text);
    std::free(escape);
  });
  BOOST_TEST(c.mallocs == 8u, c);
  BOOST_TEST(c.frees == 7u, c);
  BOOST_TEST(c.news == 0u, c);
}
#else
BOOST_AUTO_TEST_CASE(the_malloc_family_is_not_counted_here) {
  BOOST_TEST_MESSAGE("malloc is not replaced on this C library: only operator new is counted");
}
#endif

BOOST_AUTO_TEST_CASE(nothing_is_counted_outside_an_armed_scope) {
  heap_calls const c = count_heap_calls([] {});
  std::vector<int> v(100, 1);
  escape = v.data();
  BOOST_TEST(c.total() == 0u, c);
  BOOST_TEST(calls[new_call].load() == 0u);
}

// ---------------------------------------------------------------------------------------------
// propel allocates nothing.

BOOST_AUTO_TEST_CASE(init_and_the_forward_pass_allocate_nothing) {
  net_t net;
  wide_net_t wide;
  pp::vec<float, 3> y{};
  pp::mat<float, rows, 3> ys{};
  pp::vec<float, 3> wy{};
  pp::mat<float, rows, 3> wys{};
  pp::vec<float, 3> y_ws{};
  pp::mat<float, rows, 3> ys_ws{};
  pp::mat<float, rows, 3> wys_ws{};
  pp::inference_workspace_t<net_t, pp::vec<float, 4>> ws_one;
  pp::inference_workspace_t<net_t, pp::mat<float, rows, 4>> ws_batch;
  pp::inference_workspace_t<wide_net_t, pp::mat<float, rows, 4>> ws_wide;
  heap_calls const c = count_heap_calls([&] {
    pp::init(net, seed);
    pp::init(wide, seed + 1);
    y = net(x_one);
    ys = net(x_batch);
    wy = wide(x_one);
    wys = wide(x_batch);
    y_ws = net(x_one, ws_one);
    ys_ws = net(x_batch, ws_batch);
    wys_ws = wide(x_batch, ws_wide);
  });
  BOOST_TEST(c.total() == 0u, "init, net(x), net(batch), with and without a workspace: " << c);
  BOOST_TEST((all_finite(y) && all_finite(ys) && all_finite(wy) && all_finite(wys)));
  BOOST_TEST((y_ws == y && ys_ws == ys && wys_ws == wys));
  // the batch's first row is the sample's output when they are the same input
  pp::mat<float, rows, 4> xs = x_batch;
  for (std::size_t k = 0; k < 4; ++k) xs(0, k) = x_one[k];
  pp::mat<float, rows, 3> ys2{};
  heap_calls const c2 = count_heap_calls([&] { ys2 = net(xs); });
  BOOST_TEST(c2.total() == 0u, c2);
  for (std::size_t k = 0; k < 3; ++k)
    BOOST_TEST(ys2(0, k) == y[k], boost::test_tools::tolerance(1e-5f));
}

BOOST_AUTO_TEST_CASE(expressions_evaluate_and_differentiate_without_allocating) {
  auto w = random_tensor<pp::mat<float, 3, 4>>(20);
  auto b = random_tensor<pp::vec<float, 3>>(21);
  auto const W = pp::variable<"W">(w);
  auto const B = pp::variable<"b">(b);
  auto const one = pp::tanh{}(W * pp::constant(x_one) + B);                        // a vec
  auto const batch = pp::sigmoid{}(pp::constant(x_batch) * pp::transpose(W) + B);  // a mat
  auto const f = pp::mse{}(one, y_one) + pp::mean(pp::square(batch));
  pp::vec<float, 3> v{};
  pp::mat<float, rows, 3> m{};
  float value = 0, value2 = 0;
  pp::mat<float, 3, 4> dw{}, dw2{};
  pp::vec<float, 3> db{};
  pp::mat<float, rows, 3> m_ws{};
  float value_ws = 0, value2_ws = 0;
  pp::mat<float, 3, 4> dw_ws{}, dw2_ws{};
  pp::evaluation_workspace_t<decltype(batch)> batch_ws;
  pp::workspace_t<decltype(f)> ws;
  heap_calls const c = count_heap_calls([&] {
    v = pp::evaluate(one);
    m = pp::evaluate(batch);
    value = pp::evaluate(f);
    auto [gw, gb] = pp::gradient(f, W, B);
    dw = gw;
    db = gb;
    auto const vg = pp::value_and_gradient(f, W);
    value2 = vg.value;
    dw2 = std::get<0>(vg.gradients);
    m_ws = pp::evaluate(batch, batch_ws);
    value_ws = pp::evaluate(f, ws);
    dw_ws = std::get<0>(pp::gradient(f, ws, W, B));
    auto const vg_ws = pp::value_and_gradient(f, ws, W);
    value2_ws = vg_ws.value;
    dw2_ws = std::get<0>(vg_ws.gradients);
  });
  BOOST_TEST(c.total() == 0u,
             "evaluate, gradient, value_and_gradient, with and without a workspace: " << c);
  BOOST_TEST(
      (m_ws == m && value_ws == value && value2_ws == value2 && dw_ws == dw && dw2_ws == dw2));
  BOOST_TEST((all_finite(v) && all_finite(m) && all_finite(dw) && all_finite(db)));
  BOOST_TEST(value == value2);
  BOOST_TEST(std::isfinite(value));
  for (std::size_t i = 0; i < dw.size(); ++i) BOOST_TEST(dw.data()[i] == dw2.data()[i]);
}

BOOST_AUTO_TEST_CASE(loss_and_gradient_allocates_nothing_for_any_loss) {
  net_t const net = initialised<net_t>(30);
  for_each_loss([&](char const* name, auto const& loss, auto const& x, auto const& targets) {
    using x_t = std::remove_cvref_t<decltype(x)>;
    using targets_t = std::remove_cvref_t<decltype(targets)>;
    using loss_t = std::remove_cvref_t<decltype(loss)>;
    pp::gradient_t<net_t> g, g_ws;
    auto dx = x;
    auto dx_ws = x;
    pp::gradient_workspace_t<net_t, x_t, targets_t, loss_t> ws;
    pp::input_gradient_workspace_t<net_t, x_t, targets_t, loss_t> input_ws;
    float loss_value = 0, loss_value2 = 0, loss_ws = 0, loss_ws2 = 0;
    heap_calls const c = count_heap_calls([&] {
      loss_value = pp::loss_and_gradient(net, x, targets, loss, g);
      loss_value2 = pp::loss_and_input_gradient(net, x, targets, loss, dx);
      loss_ws = pp::loss_and_gradient(net, x, targets, loss, g_ws, ws);
      loss_ws2 = pp::loss_and_input_gradient(net, x, targets, loss, dx_ws, input_ws);
    });
    BOOST_TEST(c.total() == 0u, "loss_and_gradient, " << name << ": " << c);
    BOOST_TEST((loss_ws == loss_value && loss_ws2 == loss_value2 && dx_ws == dx), name);
    for (std::size_t i = 0; i < net_t::param_count; ++i) {
      BOOST_TEST(g_ws.params()[i] == g.params()[i], name);
    }
    BOOST_TEST(std::isfinite(loss_value), name);
    BOOST_TEST(loss_value == loss_value2, name);
    BOOST_TEST(all_finite(g.params()), name);
    BOOST_TEST(all_finite(dx), name);
  });
  wide_net_t const wide = initialised<wide_net_t>(31);
  pp::gradient_t<wide_net_t> g;
  float loss_value = 0;
  heap_calls const c = count_heap_calls(
      [&] { loss_value = pp::loss_and_gradient(wide, x_batch, y_batch, pp::mse{}, g); });
  BOOST_TEST(c.total() == 0u, "loss_and_gradient, every activation: " << c);
  BOOST_TEST(std::isfinite(loss_value));
}

BOOST_AUTO_TEST_CASE(trainer_steps_allocate_nothing_for_any_loss_and_optimizer) {
  std::array<std::pair<char const*, pp::sgd>, 5> const sgds{{
      {"sgd", pp::sgd{.lr = 0.05}},
      {"sgd with momentum", pp::sgd{.lr = 0.05, .momentum = 0.9}},
      {"sgd with Nesterov momentum", pp::sgd{.lr = 0.05, .momentum = 0.9, .nesterov = true}},
      {"sgd with weight decay", pp::sgd{.lr = 0.05, .weight_decay = 0.01}},
      {"sgd with momentum and weight decay",
       pp::sgd{.lr = 0.05, .momentum = 0.9, .weight_decay = 0.01}},
  }};
  std::array<std::pair<char const*, pp::adam>, 2> const adams{{
      {"adam", pp::adam{.lr = 0.01}},
      {"adam with weight decay", pp::adam{.lr = 0.01, .weight_decay = 0.01}},
  }};
  for_each_loss([&](char const* name, auto const& loss, auto const& x, auto const& targets) {
    for (auto const& [opt_name, opt] : sgds) check_steps(name, opt_name, opt, loss, x, targets);
    for (auto const& [opt_name, opt] : adams) check_steps(name, opt_name, opt, loss, x, targets);
    check_steps(name, "adamw", pp::adamw{.lr = 0.01}, loss, x, targets);
  });
}
