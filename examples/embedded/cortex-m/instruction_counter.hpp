// SPDX-License-Identifier: BSL-1.0
// Instructions executed between two points of a program run by ./run on QEMU's mps2-an386:
//
//   cortex_m::start_counter();                      // once
//   std::uint32_t const t = cortex_m::ticks();
//   auto const y = work(x);
//   cortex_m::keep(y);                              // y is computed before the next reading
//   std::uint32_t const n = cortex_m::instructions_since(t);
//
// ./run starts QEMU with `-icount shift=6`: every instruction advances the virtual clock by
// 2^6 = 64 ns, whatever the instruction. The board's CMSDK timer 0 (at 0x40000000) counts
// down at 25 MHz of that clock, one tick per 40 ns, so instructions = ticks * 40 / 64. The
// count includes the instructions that read the timer (a loop of 1000 two-instruction
// iterations reads 2003), is exact to within about 2 instructions, and is the same on every
// run of the same ELF. These are instructions, not cycles: QEMU models no pipeline, wait states or
// FPU latency (a Cortex-M4 takes roughly 1.1 to 2 cycles per instruction). The counter wraps
// after 2^32 ticks (171 s of virtual time, 2.7e9 instructions).
#pragma once

#include <cstdint>

namespace cortex_m {

namespace detail {

struct cmsdk_timer {
  std::uint32_t volatile ctrl;
  std::uint32_t volatile value;
  std::uint32_t volatile reload;
  std::uint32_t volatile intstatus;
};

inline cmsdk_timer& timer0() { return *reinterpret_cast<cmsdk_timer*>(0x40000000); }

}  // namespace detail

/// Starts timer 0 counting down from 2^32 - 1, no interrupt.
inline void start_counter() {
  detail::timer0().ctrl = 0;
  detail::timer0().reload = 0xffffffff;
  detail::timer0().value = 0xffffffff;
  detail::timer0().ctrl = 1;  // enable
}

/// Ticks since start_counter() (modulo 2^32).
inline std::uint32_t ticks() { return 0xffffffff - detail::timer0().value; }

/// Instructions executed since the reading `then` of ticks().
inline std::uint32_t instructions_since(std::uint32_t then) {
  std::uint64_t const elapsed = static_cast<std::uint32_t>(ticks() - then);
  return static_cast<std::uint32_t>((elapsed * 40 + 32) / 64);
}

/// Makes the optimiser treat `value` as read here: the work that computes it cannot move past
/// a later ticks() or instructions_since().
template <class T>
inline void keep(T const& value) {
  __asm__ volatile("" : : "m"(value) : "memory");
}

}  // namespace cortex_m
