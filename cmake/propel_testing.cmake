# SPDX-License-Identifier: BSL-1.0
#
# Helpers for propel's tests and examples. Every target they make links propel::propel and
# propel_dev_flags (warnings, -Werror, sanitizers), so one helper call is all a test needs.
#
#   propel_add_unit_test(<name> <source>...)
#   propel_add_compile_fail(<name> REGEX <regex>)
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
#   also on the include path for "support/...". Needs
#   find_package(Boost CONFIG REQUIRED COMPONENTS unit_test_framework) in the caller.
function(propel_add_unit_test name)
  if(NOT ARGN)
    message(FATAL_ERROR "propel_add_unit_test(${name}): no source files given")
  endif()
  add_executable(${name} ${ARGN})
  target_link_libraries(${name} PRIVATE propel::propel propel_dev_flags Boost::unit_test_framework)
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
#   must fail with a diagnostic matching <regex> when PROPEL_EXPECT_FAIL is defined (test
#   compile_fail.<name>.fail). The twins are EXCLUDE_FROM_ALL object libraries that each test
#   builds with a nested `cmake --build`. Label "compile_fail": `ctest -L compile_fail`.
#   Regexes should match a stable fragment of propel's own message, without quotes.
function(propel_add_compile_fail name)
  cmake_parse_arguments(arg "" "REGEX" "" ${ARGN})
  if(NOT arg_REGEX)
    message(FATAL_ERROR "propel_add_compile_fail(${name}): REGEX is required")
  endif()
  foreach(kind ok fail)
    set(tgt compile_fail.${name}.${kind})
    add_library(${tgt} OBJECT EXCLUDE_FROM_ALL ${CMAKE_CURRENT_SOURCE_DIR}/${name}.cpp)
    target_link_libraries(${tgt} PRIVATE propel::propel propel_dev_flags)
    add_test(NAME ${tgt}
             COMMAND ${CMAKE_COMMAND} --build ${CMAKE_BINARY_DIR} --target ${tgt} --config $<CONFIG>)
    # The nested builds share one build tree: run them one at a time.
    set_tests_properties(${tgt} PROPERTIES LABELS compile_fail RESOURCE_LOCK propel_compile_fail)
  endforeach()
  target_compile_definitions(compile_fail.${name}.fail PRIVATE PROPEL_EXPECT_FAIL)
  # With PASS_REGULAR_EXPRESSION ctest ignores the exit code: the test passes only if the
  # expected text shows up, i.e. the build failed *for the intended reason*.
  set_tests_properties(compile_fail.${name}.fail PROPERTIES PASS_REGULAR_EXPRESSION "${arg_REGEX}")
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
