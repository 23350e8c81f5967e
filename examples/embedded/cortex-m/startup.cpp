// SPDX-License-Identifier: BSL-1.0
// Start-up code for propel's Cortex-M4F programs on QEMU's mps2-an386 board (see ./run and
// mps2-an386.ld): the vector table, the reset handler, newlib's system calls over Arm
// semihosting, and the measurements that ./run reports.
//
// Reset: enable the FPU (CP10 and CP11), copy .data from flash to RAM, zero .bss, paint the
// stack, run the static constructors, call main. main's status then ends the program:
//   default           std::exit(status): atexit handlers, static destructors and destructor
//                     functions, stdio flushed
//   -DCORTEX_M_BARE   no exit(): the status goes straight to the emulator, so neither stdio
//                     nor atexit is linked (nor the malloc they bring); static destructors are
//                     not registered. The footprint builds use this to show what the program
//                     itself needs.
// Either way the last act is _exit(status): it writes "cortex-m: stack peak N B, heap M B" to
// stderr and hands the status to QEMU (semihosting SYS_EXIT_EXTENDED), which exits with it.
// abort() ends with 134 (128 + SIGABRT), a fault (HardFault, MemManage, BusFault,
// UsageFault) or an unexpected exception with 139, after a line naming it and the faulting pc.
//
// The stack peak: the reset handler fills the stack region (__stack_limit..sp) with a pattern;
// _exit finds the lowest word that no longer holds it. The peak thus covers everything that
// ran on the stack, the start-up included (an empty main shows that share). If the bottom
// word was overwritten the stack may have overflowed into the heap: the line then reads
// "stack peak >= N B", and ./run fails.
#include <sys/stat.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

extern "C" {
// from mps2-an386.ld
extern std::uint32_t __data_start[], __data_end[], __data_load[];
extern std::uint32_t __bss_start[], __bss_end[];
extern std::uint32_t __stack_limit[], __stack_top[];
extern std::uint8_t __heap_start[], __heap_limit[];
using init_function = void (*)();
extern init_function __preinit_array_start[], __preinit_array_end[];
extern init_function __init_array_start[], __init_array_end[];

// The program's main, named through its symbol: C++ does not let a program call ::main.
int program_main(int argc, char** argv) __asm__("main");

[[noreturn]] void _exit(int status);
void reset_handler();
void fault_entry();
}

namespace {

// ---- semihosting: `bkpt 0xab` with the operation in r0 and its argument in r1
namespace semihosting {

constexpr std::uint32_t sys_open = 0x01;
constexpr std::uint32_t sys_write = 0x05;
constexpr std::uint32_t sys_exit_extended = 0x20;
constexpr std::uint32_t application_exit = 0x20026;  // ADP_Stopped_ApplicationExit

std::uint32_t call(std::uint32_t operation, void const* argument) {
  std::uint32_t result = 0;
  __asm__ volatile(
      "mov r0, %1\n\t"
      "mov r1, %2\n\t"
      "bkpt 0xab\n\t"
      "mov %0, r0"
      : "=r"(result)
      : "r"(operation), "r"(argument)
      : "r0", "r1", "memory");
  return result;
}

/// The host's stdout (fd 1) or stderr (fd 2): ":tt" opened for writing is stdout, opened for
/// appending is stderr. Each is opened on first use; -1 for any other descriptor.
int console(int fd) {
  static std::int32_t handles[2] = {};  // handle + 1, 0 while not open
  if (fd != 1 && fd != 2) return -1;
  std::int32_t& h = handles[fd - 1];
  if (h == 0) {
    constexpr std::uint32_t mode_write = 4;
    constexpr std::uint32_t mode_append = 8;
    std::uint32_t const block[3] = {reinterpret_cast<std::uint32_t>(":tt"),
                                    fd == 1 ? mode_write : mode_append, 3};
    h = static_cast<std::int32_t>(call(sys_open, block)) + 1;
  }
  return h - 1;
}

/// Writes n bytes to the console fd; the number of bytes written, or -1.
int write(int fd, char const* data, std::size_t n) {
  int const handle = console(fd);
  if (handle < 0) return -1;
  std::uint32_t const block[3] = {static_cast<std::uint32_t>(handle),
                                  reinterpret_cast<std::uint32_t>(data), n};
  std::uint32_t const not_written = call(sys_write, block);
  return static_cast<int>(n - not_written);
}

[[noreturn]] void exit(int status) {
  std::uint32_t const block[2] = {application_exit, static_cast<std::uint32_t>(status)};
  for (;;) call(sys_exit_extended, block);
}

}  // namespace semihosting

// ---- a few lines of text without stdio (which would pull in malloc)
struct line {
  char text[96];
  std::size_t n = 0;

  line& operator<<(char const* s) {
    while (*s != '\0' && n < sizeof text) text[n++] = *s++;
    return *this;
  }
  line& operator<<(std::uint32_t v) {
    char digits[10];
    std::size_t k = 0;
    do {
      digits[k++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (k > 0 && n < sizeof text) text[n++] = digits[--k];
    return *this;
  }
  line& hex(std::uint32_t v) {
    *this << "0x";
    for (int shift = 28; shift >= 0; shift -= 4) {
      if (n < sizeof text) text[n++] = "0123456789abcdef"[(v >> shift) & 0xf];
    }
    return *this;
  }
  void to_stderr() {
    *this << "\n";
    semihosting::write(2, text, n);
  }
};

// ---- stack and heap measurement
constexpr std::uint32_t stack_paint = 0x5a17c0de;

std::uint8_t* heap_end = __heap_start;

[[gnu::noinline]] void paint_stack() {
  std::uint32_t* sp = nullptr;
  __asm__ volatile("mov %0, sp" : "=r"(sp));
  for (std::uint32_t volatile* p = __stack_limit; p < sp; ++p) *p = stack_paint;
}

void report_memory() {
  std::uint32_t const* p = __stack_limit;
  while (p < __stack_top && *p == stack_paint) ++p;
  auto const peak = static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(__stack_top) -
                                               reinterpret_cast<std::uintptr_t>(p));
  auto const heap = static_cast<std::uint32_t>(heap_end - __heap_start);
  line l;
  l << "cortex-m: stack peak " << (p == __stack_limit ? ">= " : "") << peak << " B, heap " << heap
    << " B";
  l.to_stderr();
}

// ---- faults
char const* exception_name(std::uint32_t number) {
  switch (number) {
    case 2:
      return "NMI";
    case 3:
      return "HardFault";
    case 4:
      return "MemManage fault";
    case 5:
      return "BusFault";
    case 6:
      return "UsageFault";
    default:
      return "unexpected exception";
  }
}

}  // namespace

extern "C" {

/// Called by fault_entry with the exception's stack frame (r0-r3, r12, lr, pc, xpsr) and
/// the exception number.
[[noreturn]] [[gnu::used]] void report_fault(std::uint32_t const* frame, std::uint32_t ipsr) {
  std::uint32_t const number = ipsr & 0x1ff;
  auto const cfsr = *reinterpret_cast<std::uint32_t volatile const*>(0xe000ed28);
  line l;
  l << "cortex-m: " << exception_name(number) << " (exception " << number << ") at pc ";
  l.hex(frame[6]) << ", CFSR ";
  l.hex(cfsr);
  l.to_stderr();
  _exit(139);
}

[[gnu::naked]] void fault_entry() {
  // the frame is on the main or the process stack, as bit 2 of EXC_RETURN says
  __asm__(
      "tst lr, #4\n\t"
      "ite eq\n\t"
      "mrseq r0, msp\n\t"
      "mrsne r0, psp\n\t"
      "mrs r1, ipsr\n\t"
      "b report_fault");
}

// ---- the vector table (Armv7-M), at address 0: the initial stack pointer, then the
// handlers of exceptions 1 to 15. No interrupt is ever enabled, so the table stops there.
struct vector_table_t {
  std::uint32_t* initial_sp;
  void (*handler[15])();
};
[[gnu::section(".vectors"), gnu::used]] extern vector_table_t const vector_table = {
    __stack_top,
    {
        reset_handler,
        fault_entry,  // NMI
        fault_entry,  // HardFault
        fault_entry,  // MemManage
        fault_entry,  // BusFault
        fault_entry,  // UsageFault
        nullptr,      // reserved
        nullptr,      // reserved
        nullptr,      // reserved
        nullptr,      // reserved
        fault_entry,  // SVCall
        fault_entry,  // DebugMonitor
        nullptr,      // reserved
        fault_entry,  // PendSV
        fault_entry,  // SysTick
    }};

void reset_handler() {
  // full access to CP10 and CP11 (the FPU) before any floating-point instruction
  auto& cpacr = *reinterpret_cast<std::uint32_t volatile*>(0xe000ed88);
  cpacr = cpacr | (0xfu << 20);
  __asm__ volatile("dsb\n\tisb" ::: "memory");

  std::uint32_t const* from = __data_load;
  for (std::uint32_t* to = __data_start; to < __data_end;) *to++ = *from++;
  for (std::uint32_t* to = __bss_start; to < __bss_end;) *to++ = 0;
  paint_stack();

  for (init_function* f = __preinit_array_start; f < __preinit_array_end; ++f) (*f)();
  for (init_function* f = __init_array_start; f < __init_array_end; ++f) (*f)();

  // no command line: argc 0, argv[0] null
  static char* argv[1] = {nullptr};
#ifdef CORTEX_M_BARE
  _exit(program_main(0, argv));
#else
  std::exit(program_main(0, argv));
#endif
}

void _exit(int status) {
  report_memory();
  semihosting::exit(status);
}

// ---- newlib's system calls: the console on fds 0-2, a heap between .bss and the stack
void* __dso_handle = nullptr;

#ifdef CORTEX_M_BARE
// main's return ends the program without running destructors: nothing to register.
int __cxa_atexit(void (*)(void*), void*, void*) { return 0; }
int __aeabi_atexit(void*, void (*)(void*), void*) { return 0; }
#else
// exit() runs .fini_array (newlib's __libc_fini_array, registered with atexit) and then _fini,
// the end of the legacy .fini section, which these programs do not have.
void _fini() {}
#endif

int _write(int fd, char const* data, int n) {
  int const written = semihosting::write(fd, data, static_cast<std::size_t>(n));
  if (written < 0) errno = EBADF;
  return written;
}

int _read(int fd, char*, int) {
  if (fd == 0) return 0;  // no input: end of file
  errno = EBADF;
  return -1;
}

int _close(int fd) {
  if (fd >= 0 && fd <= 2) return 0;
  errno = EBADF;
  return -1;
}

int _fstat(int fd, struct stat* st) {
  if (fd < 0 || fd > 2) {
    errno = EBADF;
    return -1;
  }
  st->st_mode = S_IFCHR;
  return 0;
}

int _isatty(int fd) { return fd >= 0 && fd <= 2 ? 1 : 0; }

int _lseek(int, int, int) {
  errno = ESPIPE;
  return -1;
}

void* _sbrk(std::ptrdiff_t increment) {
  if (increment > __heap_limit - heap_end || increment < __heap_start - heap_end) {
    errno = ENOMEM;
    return reinterpret_cast<void*>(-1);
  }
  std::uint8_t* const previous = heap_end;
  heap_end += increment;
  return previous;
}

int _getpid() { return 1; }

int _kill(int, int signal) {
  line l;
  l << "cortex-m: signal " << static_cast<std::uint32_t>(signal);
  l.to_stderr();
  _exit(128 + signal);
}

}  // extern "C"
