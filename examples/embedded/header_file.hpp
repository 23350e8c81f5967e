// SPDX-License-Identifier: BSL-1.0
// The command line of the host programs that generate a committed header (export_weights,
// export_int8), given the text they just generated:
//
//   PROGRAM                 compare the text with FILE (exit status 1 if they differ: the
//                           committed header is stale, and where they first differ is printed)
//   PROGRAM --write [FILE]  write the text to FILE
//   PROGRAM --print         write it to stdout
//
// FILE defaults to the header's name in the working directory.
#pragma once

#include <cstddef>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

namespace embedded {

enum class header_action { checked, written, printed };

/// Runs the command line above. Returns main's exit status, and in `done` what was done
/// (meaningful when the status is 0).
inline int header_file_command(char const* program, char const* default_file,
                               std::string const& text, int argc, char** argv,
                               header_action& done) {
  std::string const mode = argc > 1 ? argv[1] : "";
  std::string const path = argc > 2 ? argv[2] : default_file;
  if (mode == "--print") {
    std::cout << text;
    done = header_action::printed;
    return 0;
  }
  if (mode == "--write") {
    std::ofstream f(path, std::ios::binary);
    f << text;
    if (!f) {
      std::fprintf(stderr, "%s: cannot write %s\n", program, path.c_str());
      return 1;
    }
    std::printf("wrote %s\n", path.c_str());
    done = header_action::written;
    return 0;
  }
  if (!mode.empty()) {
    std::fprintf(stderr, "usage: %s [--write [FILE] | --print]\n", program);
    return 2;
  }
  std::ifstream f(path, std::ios::binary);
  std::string const committed((std::istreambuf_iterator<char>(f)),
                              std::istreambuf_iterator<char>());
  if (committed != text) {
    std::size_t line = 1;
    for (std::size_t i = 0; i < committed.size() && i < text.size() && committed[i] == text[i];
         ++i) {
      if (committed[i] == '\n') ++line;
    }
    std::fprintf(stderr,
                 "%s: %s differs from the regenerated header (first at line %zu); regenerate "
                 "it with\n  <build>/examples/%s/%s --write\nrun in examples/embedded/, and "
                 "commit the new header.\n",
                 program, path.c_str(), line, program, program);
    return 1;
  }
  done = header_action::checked;
  return 0;
}

}  // namespace embedded
