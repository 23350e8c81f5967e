# SPDX-License-Identifier: BSL-1.0
#
# Helpers for propel's tests and examples. Every target they make links propel::propel and
# propel_dev_flags (warnings, -Werror, sanitizers), so one helper call is all a test needs.
#
#   propel_add_unit_test(<name> [NO_SANITIZE] <source>...)
#   propel_add_compile_fail(<name> REGEX <regex>)
#   propel_add_compile_check(<test> TARGET <object library> [REGEX <regex>])
#   propel_add_header_check()
#   propel_add_example(<name> SOURCE <file> [ARGS <arg>...])
#
# The target propel_unit_and_example_tests builds every executable that the unit tests and the
# examples run, and nothing else (no header check, README snippets or compile-time checks):
#   cmake --build <build> --target propel_unit_and_example_tests
#   ctest --test-dir <build> -L 'unit|example'
# propel_add_unit_test and propel_add_example add to it, so no test they register is left out.
include_guard(GLOBAL)

add_custom_target(propel_unit_and_example_tests)

# propel_add_unit_test(<name> <source>...)
#   A Boost.Test executable <name> (one BOOST_TEST_MODULE per executable), linked against the
#   shared Boost::unit_test_framework. It runs as ctest test <name> (label "unit") in the
#   calling directory's source dir (tests/), so it reads data/... by relative path; tests/ is
#   also on the include path for "support/...". NO_SANITIZE: built without PROPEL_SANITIZE
#   (propel_dev_flags_unsanitized), for a test that cannot run under a sanitizer. Needs
#   find_package(Boost CONFIG REQUIRED COMPONENTS unit_test_framework) in the caller.
function(propel_add_unit_test name)
  cmake_parse_arguments(arg "NO_SANITIZE" "" "" ${ARGN})
  if(NOT arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "propel_add_unit_test(${name}): no source files given")
  endif()
  add_executable(${name} ${arg_UNPARSED_ARGUMENTS})
  set(flags propel_dev_flags)
  if(arg_NO_SANITIZE)
    set(flags propel_dev_flags_unsanitized)
  endif()
  target_link_libraries(${name} PRIVATE propel::propel ${flags} Boost::unit_test_framework)
  # Boost.Test's shared-library mode (it then provides main); Boost's CMake config does not
  # define this macro itself.
  target_compile_definitions(${name} PRIVATE BOOST_TEST_DYN_LINK)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  add_test(NAME ${name} COMMAND ${name} WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
  set_tests_properties(${name} PROPERTIES LABELS unit)
  add_dependencies(propel_unit_and_example_tests ${name})
endfunction()

# propel_add_compile_fail(<name> REGEX <regex>)
#   tests/compile_fail/<name>.cpp must compile cleanly as is (test compile_fail.<name>.ok), and
#   must fail with an error matching <regex> when PROPEL_EXPECT_FAIL is defined (test
#   compile_fail.<name>.fail). Label "compile_fail": `ctest -L compile_fail`. The twins are
#   EXCLUDE_FROM_ALL object libraries (`cmake --build <build> --target compile_fail.<name>.fail`
#   shows the diagnostic); the tests run the compiler on their command lines directly, with
#   -fsyntax-only, in parallel (see propel_add_compile_check). Regexes should match a stable
#   fragment of propel's own message, without quotes.
function(propel_add_compile_fail name)
  cmake_parse_arguments(arg "" "REGEX" "" ${ARGN})
  if(NOT arg_REGEX)
    message(FATAL_ERROR "propel_add_compile_fail(${name}): REGEX is required")
  endif()
  foreach(kind ok fail)
    set(tgt compile_fail.${name}.${kind})
    add_library(${tgt} OBJECT EXCLUDE_FROM_ALL ${CMAKE_CURRENT_SOURCE_DIR}/${name}.cpp)
    target_link_libraries(${tgt} PRIVATE propel::propel propel_dev_flags)
  endforeach()
  target_compile_definitions(compile_fail.${name}.fail PRIVATE PROPEL_EXPECT_FAIL)
  propel_add_compile_check(compile_fail.${name}.ok TARGET compile_fail.${name}.ok)
  propel_add_compile_check(compile_fail.${name}.fail TARGET compile_fail.${name}.fail
                           REGEX "${arg_REGEX}")
  set_tests_properties(compile_fail.${name}.ok compile_fail.${name}.fail
                       PROPERTIES LABELS compile_fail)
endfunction()

# propel_add_compile_check(<test> TARGET <object library> [REGEX <regex>])
#   A ctest test <test> that compiles the one source of <object library> (not built by `all`)
#   with -fsyntax-only and the exact command line CMake generated for it (cmake -P
#   cmake/propel_compile_check.cmake reads it from <build>/compile_commands.json). Without
#   REGEX the source must compile; with REGEX it must fail with an error line ("...: error:
#   ...") that <regex> matches: the text the compiler echoes from the source and its notes do
#   not count, so the test fails if the code is rejected for another reason.
function(propel_add_compile_check test)
  cmake_parse_arguments(arg "" "TARGET;REGEX" "" ${ARGN})
  if(NOT CMAKE_GENERATOR MATCHES "Makefiles|Ninja")
    message(FATAL_ERROR "propel's compile-time checks need a Makefile or Ninja generator (they "
                        "read compile_commands.json), not ${CMAKE_GENERATOR}; "
                        "-DPROPEL_BUILD_TESTS=OFF builds without the tests")
  endif()
  set_target_properties(${arg_TARGET} PROPERTIES EXPORT_COMPILE_COMMANDS ON)
  if(DEFINED arg_REGEX)
    set(expect -DEXPECT=fail "-DREGEX=${arg_REGEX}")
  else()
    set(expect -DEXPECT=ok)
  endif()
  add_test(NAME ${test}
           COMMAND ${CMAKE_COMMAND} -DCOMMANDS=${CMAKE_BINARY_DIR}/compile_commands.json
                   -DTARGET=${arg_TARGET} ${expect}
                   -P ${PROJECT_SOURCE_DIR}/cmake/propel_compile_check.cmake)
endfunction()

# propel_add_header_check()
#   One generated translation unit per header in PROPEL_HEADERS (every header under
#   include/propel, detail/ included), all in the OBJECT library propel_header_check, which is
#   part of `all`: the normal build proves that each header compiles on its own (and twice,
#   which checks its include guard).
function(propel_add_header_check)
  set(tus "")
  foreach(header IN LISTS PROPEL_HEADERS)
    file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR}/include ${header})  # propel/layer/dense.hpp
    string(MAKE_C_IDENTIFIER "${rel}" id)
    set(tu ${CMAKE_CURRENT_BINARY_DIR}/header_check/${id}.cpp)
    file(CONFIGURE OUTPUT ${tu} CONTENT "#include <${rel}>\n#include <${rel}>\n")
    list(APPEND tus ${tu})
  endforeach()
  if(NOT tus)
    message(STATUS "propel: no headers under include/propel, header check skipped")
    return()
  endif()
  add_library(propel_header_check OBJECT ${tus})
  target_link_libraries(propel_header_check PRIVATE propel::propel propel_dev_flags)
endfunction()

# propel_add_example(<name> SOURCE <file> [ARGS <arg>...])
#   An executable <name>, written to <build>/examples/<name>/<name> wherever it is declared,
#   and a ctest test example.<name> (label "example") that runs it with ARGS, in the directory
#   that holds <file>. An example must also run with no arguments from that directory (that is
#   how scripts/demo runs one); ARGS are for a shorter run under test.
function(propel_add_example name)
  cmake_parse_arguments(arg "" "SOURCE" "ARGS" ${ARGN})
  if(NOT arg_SOURCE)
    message(FATAL_ERROR "propel_add_example(${name}): SOURCE is required")
  endif()
  cmake_path(ABSOLUTE_PATH arg_SOURCE BASE_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR} OUTPUT_VARIABLE src)
  cmake_path(GET src PARENT_PATH src_dir)
  add_executable(${name} ${src})
  target_link_libraries(${name} PRIVATE propel::propel propel_dev_flags)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/examples/${name})
  add_test(NAME example.${name} COMMAND ${name} ${arg_ARGS} WORKING_DIRECTORY ${src_dir})
  set_tests_properties(example.${name} PROPERTIES LABELS example)
  add_dependencies(propel_unit_and_example_tests ${name})
endfunction()
