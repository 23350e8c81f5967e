# SPDX-License-Identifier: BSL-1.0
#
# Runs one compile-time check of propel's tests (propel_add_compile_fail, the README's
# `// does not compile:` blocks): the compiler, called directly with -fsyntax-only on the
# command line CMake generated for an object library <target> (taken from the build's
# compile_commands.json), so that the checks need no nested `cmake --build` and run in
# parallel. Called by ctest as
#   cmake -DCOMMANDS=<build>/compile_commands.json -DTARGET=<target> -DEXPECT=ok
#   cmake -DCOMMANDS=... -DTARGET=<target> -DEXPECT=fail -DREGEX=<regex> -P propel_compile_check.cmake
# EXPECT=ok:   the compiler must succeed.
# EXPECT=fail: the compiler must fail, and <regex> must match one of its error lines
#   ("<file>:<line>:<column>: error: ..."), nothing else: not the source lines that the
#   compiler echoes under a diagnostic, nor its notes, so that text which only appears in the
#   code (a comment, the condition of a static_assert) cannot make the check pass.
cmake_minimum_required(VERSION 3.23)

foreach(var COMMANDS TARGET EXPECT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "propel_compile_check: -D${var}=... is required")
  endif()
endforeach()
if(NOT EXPECT MATCHES "^(ok|fail)$")
  message(FATAL_ERROR "propel_compile_check: EXPECT must be ok or fail, not '${EXPECT}'")
endif()
if(EXPECT STREQUAL "fail" AND "${REGEX}" STREQUAL "")
  message(FATAL_ERROR "propel_compile_check: EXPECT=fail needs -DREGEX=...")
endif()
if(NOT EXISTS "${COMMANDS}")
  message(FATAL_ERROR "propel_compile_check: ${COMMANDS} does not exist (the compile-time "
                      "checks need CMake's Makefile or Ninja generator, which write it)")
endif()

# The target's entry: CMake writes each one as
#   "directory": "<dir>",
#   "command": "<compiler> <flags> -o <...>CMakeFiles/<target>.dir/<source>.o -c <source>",
# with the object under CMakeFiles/<target>.dir/ (Makefile and Ninja generators alike).
file(READ "${COMMANDS}" json)
string(REGEX REPLACE "([][+.*?()^$|\\\\])" "\\\\\\1" target_re "${TARGET}")
if(NOT json MATCHES
   "\"directory\": \"([^\"\n]*)\",\n[ \t]*\"command\": \"([^\n]*CMakeFiles/${target_re}\\.dir/[^\n]*)\",\n")
  message(FATAL_ERROR "propel_compile_check: ${COMMANDS} has no compile command for ${TARGET}")
endif()
set(dir "${CMAKE_MATCH_1}")
set(command "${CMAKE_MATCH_2}")
# JSON string escapes: CMake writes only \" and \\ in these strings.
string(REPLACE "\\\\" "\\" command "${command}")
string(REPLACE "\\\"" "\"" command "${command}")
separate_arguments(command UNIX_COMMAND "${command}")

# Drop the object output (-o <file>, -c): check the code only, write nothing.
set(args "")
set(skip_next FALSE)
foreach(arg IN LISTS command)
  if(skip_next)
    set(skip_next FALSE)
  elseif(arg STREQUAL "-o")
    set(skip_next TRUE)
  elseif(NOT arg STREQUAL "-c")
    list(APPEND args "${arg}")
  endif()
endforeach()
# Plain diagnostics whatever the flags or the terminal say, so that the regex sees plain text.
list(APPEND args -fsyntax-only -fdiagnostics-color=never)

execute_process(COMMAND ${args} WORKING_DIRECTORY "${dir}" RESULT_VARIABLE rc
                OUTPUT_VARIABLE output ERROR_VARIABLE output)

if(EXPECT STREQUAL "ok")
  if(NOT rc EQUAL 0)
    message("${output}")
    message(FATAL_ERROR "propel_compile_check: ${TARGET} should compile, and does not")
  endif()
  message(STATUS "${TARGET}: compiles")
  return()
endif()

if(rc EQUAL 0)
  message("${output}")
  message(FATAL_ERROR "propel_compile_check: ${TARGET} should not compile, and does")
endif()

# The error lines: "<file>:<line>[:<column>]: [fatal ]error: ...", or "<tool>: error: ..."
# for an error without a place. The output is split into a list of lines with the characters
# that mean something in a CMake list (\ ; [ ]) masked, and unmasked in the lines kept.
string(REPLACE "\\" "<backslash>" masked "${output}")
string(REPLACE ";" "<semicolon>" masked "${masked}")
string(REPLACE "[" "<lbracket>" masked "${masked}")
string(REPLACE "]" "<rbracket>" masked "${masked}")
string(REPLACE "\n" ";" lines "${masked}")
set(errors "")
foreach(line IN LISTS lines)
  if(line MATCHES "^[^ \t][^\t]*:[0-9]+(:[0-9]+)?: (fatal )?error: " OR
     line MATCHES "^[^ \t:]+: (fatal )?error: ")
    string(REPLACE "<backslash>" "\\" line "${line}")
    string(REPLACE "<semicolon>" ";" line "${line}")
    string(REPLACE "<lbracket>" "[" line "${line}")
    string(REPLACE "<rbracket>" "]" line "${line}")
    string(APPEND errors "${line}\n")
  endif()
endforeach()

if(NOT errors MATCHES "${REGEX}")
  message("${output}")
  message("--- the error lines of the output above:\n${errors}")
  message(FATAL_ERROR
          "propel_compile_check: ${TARGET} fails to compile, but no error line matches '${REGEX}'")
endif()
message(STATUS "${TARGET}: fails as expected:\n${errors}")
