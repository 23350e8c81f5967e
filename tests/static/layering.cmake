# SPDX-License-Identifier: BSL-1.0
#
# propel's headers form layers, each built on the ones before it:
#
#   core <- expr <- ops <- nn <- io
#
# A header may include headers of its own layer and of lower ones, never of a higher one.
# This script reads every `#include <propel/...>` line of every header under ROOT/propel and
# fails, naming each offending line, when a header includes a higher layer, includes a propel
# header that does not exist, or belongs to no layer (a new folder or top-level header must
# be placed in the table below).
#
#   cmake -DROOT=<dir holding propel/> -P layering.cmake
#
# The layer of a header, by its path under propel/ (the first rule that matches):
#   core  config.hpp shape.hpp tensor.hpp vec.hpp mat.hpp version.hpp, detail/: scalars,
#         shapes, tensors, the dense kernels, the writer protocol, maths
#   expr  expr/: the Expression protocol, leaves, nodes, gradient
#   ops   ops/: activations, arithmetic, losses; expr.hpp, the umbrella of expr/ and ops/
#   nn    nn/: layers, networks, optimizers, trainers; nn.hpp and propel.hpp, the umbrellas
#   io    io/: safetensors and C++ header export (host-side, optional)
cmake_minimum_required(VERSION 3.20)

if(NOT DEFINED ROOT OR NOT IS_DIRECTORY "${ROOT}/propel")
  message(FATAL_ERROR "layering: -DROOT=<directory holding propel/> is required")
endif()
get_filename_component(ROOT "${ROOT}" ABSOLUTE)  # file(GLOB ... RELATIVE) needs it

set(layer_names core expr ops nn io)
# regex on the path under propel/, then the layer's index in layer_names
set(layer_rules
    "^(config|shape|tensor|vec|mat|version)\\.hpp$" 0
    "^detail/" 0
    "^expr/" 1
    "^ops/" 2
    "^expr\\.hpp$" 2
    "^nn/" 3
    "^(nn|propel)\\.hpp$" 3
    "^io/" 4)

# layer_of(<out> <path under propel/>): the index of the layer, or -1.
function(layer_of out path)
  set(rules ${layer_rules})
  list(LENGTH rules n)
  set(i 0)
  while(i LESS n)
    list(GET rules ${i} regex)
    math(EXPR j "${i} + 1")
    list(GET rules ${j} layer)
    if(path MATCHES "${regex}")
      set(${out} ${layer} PARENT_SCOPE)
      return()
    endif()
    math(EXPR i "${i} + 2")
  endwhile()
  set(${out} -1 PARENT_SCOPE)
endfunction()

file(GLOB_RECURSE headers RELATIVE "${ROOT}/propel" "${ROOT}/propel/*.hpp")
list(SORT headers)
set(problems "")
set(checked 0)
foreach(header IN LISTS headers)
  layer_of(from "${header}")
  if(from EQUAL -1)
    list(APPEND problems "propel/${header} belongs to no layer (add it to layering.cmake's table)")
    continue()
  endif()
  list(GET layer_names ${from} from_name)
  file(STRINGS "${ROOT}/propel/${header}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*<propel/")
  foreach(line IN LISTS lines)
    if(NOT line MATCHES "<propel/([^>]+)>")
      continue()
    endif()
    set(target "${CMAKE_MATCH_1}")
    math(EXPR checked "${checked} + 1")
    if(NOT EXISTS "${ROOT}/propel/${target}")
      list(APPEND problems "propel/${header} includes propel/${target}, which does not exist")
      continue()
    endif()
    layer_of(to "${target}")
    if(to GREATER from)
      list(GET layer_names ${to} to_name)
      list(APPEND problems
           "propel/${header} (${from_name}) includes propel/${target} (${to_name}), a higher layer")
    endif()
  endforeach()
endforeach()

list(LENGTH headers header_count)
list(LENGTH problems problem_count)
if(problem_count GREATER 0)
  list(JOIN problems "\n  " text)
  message(FATAL_ERROR "layering: ${problem_count} problems in ${header_count} headers "
                      "(layers: core <- expr <- ops <- nn <- io; a header includes only its "
                      "own layer and lower ones):\n  ${text}")
endif()
if(header_count EQUAL 0 OR checked EQUAL 0)
  message(FATAL_ERROR "layering: no propel headers or includes found under ${ROOT}/propel")
endif()
message(STATUS "layering: ${header_count} headers, ${checked} propel includes, none upward")
