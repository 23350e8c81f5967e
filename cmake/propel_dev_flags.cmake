# SPDX-License-Identifier: BSL-1.0
#
# propel_dev_flags: an INTERFACE target carrying the flags for propel's own tests, examples
# and benchmarks. Link it PRIVATE to those targets. NEVER link it to propel::propel: a
# consumer's warnings, sanitizers and -march are the consumer's business.
#
# Options:
#   PROPEL_WERROR    warnings are errors (default ON when propel is the top-level project)
#   PROPEL_SANITIZE  comma-separated sanitizers, e.g. "address,undefined" (default empty)
#   PROPEL_NATIVE    add -march=native (default OFF; results then depend on the build machine)
#   PROPEL_TIME_TRACE  add -ftime-trace on Clang, for compile-time profiling (default OFF)
# Optimisation comes from CMAKE_BUILD_TYPE only.
include_guard(GLOBAL)

option(PROPEL_WERROR "Treat warnings as errors in propel's own targets" ${PROJECT_IS_TOP_LEVEL})
set(PROPEL_SANITIZE "" CACHE STRING "Sanitizers for propel's own targets, e.g. address,undefined")
option(PROPEL_NATIVE "Compile propel's own targets with -march=native" OFF)
option(PROPEL_TIME_TRACE "Compile propel's own targets with -ftime-trace (Clang)" OFF)

add_library(propel_dev_flags INTERFACE)
# The same flags without PROPEL_SANITIZE, for the few targets that must not run under a
# sanitizer (a test that replaces malloc, which AddressSanitizer owns).
add_library(propel_dev_flags_unsanitized INTERFACE)

# propel's own targets are built as standard C++20 (-std=c++20, not gnu++20), so a GNU
# extension cannot slip into the headers unnoticed. propel::propel leaves this to the consumer.
set(CMAKE_CXX_EXTENSIONS OFF)

if(MSVC)
  target_compile_options(propel_dev_flags_unsanitized INTERFACE /W4 /permissive-)
  if(PROPEL_WERROR)
    target_compile_options(propel_dev_flags_unsanitized INTERFACE /WX)
  endif()
else()
  target_compile_options(propel_dev_flags_unsanitized INTERFACE
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wold-style-cast)
  if(PROPEL_WERROR)
    target_compile_options(propel_dev_flags_unsanitized INTERFACE -Werror)
  endif()
  if(PROPEL_SANITIZE)
    # Abort on the first report so that a sanitizer finding fails the test.
    set(sanitize_flags -fsanitize=${PROPEL_SANITIZE} -fno-sanitize-recover=all)
    target_compile_options(propel_dev_flags INTERFACE ${sanitize_flags} -fno-omit-frame-pointer)
    target_link_options(propel_dev_flags INTERFACE ${sanitize_flags})
  endif()
  if(PROPEL_NATIVE)
    target_compile_options(propel_dev_flags_unsanitized INTERFACE -march=native)
  endif()
  if(PROPEL_TIME_TRACE AND CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    target_compile_options(propel_dev_flags_unsanitized INTERFACE -ftime-trace)
  endif()
endif()
target_link_libraries(propel_dev_flags INTERFACE propel_dev_flags_unsanitized)
