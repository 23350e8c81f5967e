// SPDX-License-Identifier: BSL-1.0
// Checks that propel's core headers need no heap, no exceptions and no RTTI: no `new`,
// `malloc`, `calloc`, `realloc`, `throw`, `typeid`, `dynamic_cast` or `virtual` in code.
// Comments, string literals, character literals and #include lines are skipped, so
// documentation may use the words and <new> may be included (for std::launder); identifiers
// that merely contain them (`renew`, `new_size`) are not matches.
//
//   no_heap_check DIR [--exclude SUBDIR]...   every .hpp/.h/.cpp under DIR; exit 1 on a match
//   no_heap_check --self-test                 the scanner finds each token in code and none
//                                             in comments or literals (exit 1 otherwise)
//
// A match is reported as file:line: token, followed by the line.
#include <algorithm>
#include <array>
#include <cctype>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr std::array<std::string_view, 8> banned{"new",   "malloc", "calloc",       "realloc",
                                                 "throw", "typeid", "dynamic_cast", "virtual"};

struct finding {
  std::size_t line;
  std::string token;
};

bool identifier_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

/// The source with comments, string literals (raw ones included) and character literals
/// replaced by spaces, newlines kept, so that line numbers stay right.
std::string code_only(std::string_view src) {
  std::string out(src);
  std::size_t i = 0;
  auto blank = [&](std::size_t from, std::size_t to) {
    for (std::size_t k = from; k < to && k < out.size(); ++k) {
      if (out[k] != '\n') out[k] = ' ';
    }
  };
  // whether only blanks precede position k on its line
  auto at_line_start = [&](std::size_t k) {
    while (k > 0 && (src[k - 1] == ' ' || src[k - 1] == '\t')) --k;
    return k == 0 || src[k - 1] == '\n';
  };
  while (i < src.size()) {
    char const c = src[i];
    if (c == '/' && i + 1 < src.size() && src[i + 1] == '/') {
      std::size_t end = src.find('\n', i);
      // a line comment continues over a backslash-newline
      while (end != std::string_view::npos && end > 0 && src[end - 1] == '\\') {
        end = src.find('\n', end + 1);
      }
      end = end == std::string_view::npos ? src.size() : end;
      blank(i, end);
      i = end;
    } else if (c == '/' && i + 1 < src.size() && src[i + 1] == '*') {
      std::size_t end = src.find("*/", i + 2);
      end = end == std::string_view::npos ? src.size() : end + 2;
      blank(i, end);
      i = end;
    } else if (c == 'R' && i + 1 < src.size() && src[i + 1] == '"' &&
               (i == 0 || !identifier_char(src[i - 1]) || src[i - 1] == '8' || src[i - 1] == 'u' ||
                src[i - 1] == 'U' || src[i - 1] == 'L')) {
      std::size_t const open = src.find('(', i + 2);
      if (open == std::string_view::npos) break;
      std::string close(1, ')');  // built piece by piece: GCC 12 warns falsely on ")" + s
      close.append(src.substr(i + 2, open - i - 2));
      close.push_back('"');
      std::size_t end = src.find(close, open);
      end = end == std::string_view::npos ? src.size() : end + close.size();
      blank(i, end);
      i = end;
    } else if (c == '#' && src.substr(i).starts_with("#include") && at_line_start(i)) {
      // an #include's header name is not code: `#include <new>` (for std::launder) allocates
      // nothing
      std::size_t end = src.find('\n', i);
      end = end == std::string_view::npos ? src.size() : end;
      blank(i, end);
      i = end;
    } else if (c == '"' ||
               (c == '\'' &&
                !(i > 0 && std::isxdigit(static_cast<unsigned char>(src[i - 1])) != 0))) {
      // a string or character literal (a ' between digits is a digit separator)
      std::size_t k = i + 1;
      while (k < src.size() && src[k] != c && src[k] != '\n') k += src[k] == '\\' ? 2u : 1u;
      blank(i, k + 1);
      i = k + 1;
    } else {
      ++i;
    }
  }
  return out;
}

std::vector<finding> scan(std::string_view src) {
  std::string const code = code_only(src);
  std::vector<finding> found;
  std::size_t line = 1;
  std::size_t i = 0;
  while (i < code.size()) {
    if (code[i] == '\n') {
      ++line;
      ++i;
    } else if (identifier_char(code[i])) {
      std::size_t k = i;
      while (k < code.size() && identifier_char(code[k])) ++k;
      std::string_view const word(code.data() + i, k - i);
      if (std::find(banned.begin(), banned.end(), word) != banned.end()) {
        found.push_back({line, std::string(word)});
      }
      i = k;
    } else {
      ++i;
    }
  }
  return found;
}

std::string line_of(std::string_view src, std::size_t line) {
  std::size_t begin = 0;
  for (std::size_t l = 1; l < line && begin != std::string_view::npos; ++l) {
    begin = src.find('\n', begin);
    if (begin != std::string_view::npos) ++begin;
  }
  if (begin == std::string_view::npos) return {};
  std::size_t const end = src.find('\n', begin);
  return std::string(src.substr(begin, end == std::string_view::npos ? end : end - begin));
}

int self_test() {
  int failures = 0;
  auto expect = [&](std::string_view src, std::vector<std::string> const& tokens) {
    std::vector<std::string> got;
    for (auto const& f : scan(src)) got.push_back(f.token);
    if (got != tokens) {
      std::string list;
      for (auto const& t : got) list += " " + t;
      std::printf("self-test FAILED on <<%.*s>>: found [%s ]\n", static_cast<int>(src.size()),
                  src.data(), list.c_str());
      ++failures;
    }
  };
  // every banned token is found in code ...
  expect("int* p = new int;", {"new"});
  expect("void* q = std::malloc(4);", {"malloc"});
  expect("p = calloc(1, 2); p = realloc(p, 8);", {"calloc", "realloc"});
  expect("if (!ok) throw error{};", {"throw"});
  expect("auto& t = typeid(x);", {"typeid"});
  expect("auto* d = dynamic_cast<D*>(b);", {"dynamic_cast"});
  expect("struct S { virtual ~S(); };", {"virtual"});
  expect("void* operator new(std::size_t);\nint x;\nvirtual", {"new", "virtual"});
  // ... and never in comments, literals or longer identifiers
  expect("// new, malloc and throw are not used\nint x;", {});
  expect("/* a virtual\n   typeid */ int y;", {});
  expect("static_assert(ok, \"a new layer: throw it away\");", {});
  expect("char const* s = R\"x(new \" virtual)x\";", {});
  expect("char c = '\\''; int renew_count = 0, new_size = 1'000;", {});
  expect("// comment \\\n new continues the comment\nint z;", {});
  expect("#include <new>\n  #include <new>\nint n;", {});
  expect("#define make new int\nint* b = new int;", {"new", "new"});
  // line numbers
  auto const f = scan("int a;\n// new\nint* b = new int;\n");
  if (f.size() != 1 || f[0].line != 3) {
    std::printf("self-test FAILED: wrong line number\n");
    ++failures;
  }
  std::printf("no_heap_check self-test: %s\n", failures == 0 ? "ok" : "FAILED");
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string_view(argv[1]) == "--self-test") return self_test();
  if (argc < 2) {
    std::fprintf(stderr, "usage: no_heap_check DIR [--exclude SUBDIR]... | --self-test\n");
    return 2;
  }
  namespace fs = std::filesystem;
  fs::path const root(argv[1]);
  std::vector<fs::path> excluded;
  for (int a = 2; a + 1 < argc; a += 2) {
    if (std::string_view(argv[a]) != "--exclude") {
      std::fprintf(stderr, "no_heap_check: unknown argument %s\n", argv[a]);
      return 2;
    }
    excluded.push_back((root / argv[a + 1]).lexically_normal());
  }
  if (!fs::is_directory(root)) {
    std::fprintf(stderr, "no_heap_check: %s is not a directory\n", root.string().c_str());
    return 2;
  }
  std::vector<fs::path> files;
  for (auto const& entry : fs::recursive_directory_iterator(root)) {
    fs::path const p = entry.path().lexically_normal();
    bool skip = false;
    for (auto const& ex : excluded) {
      auto const rel = p.lexically_relative(ex);
      skip = skip || (!rel.empty() && *rel.begin() != "..");
    }
    auto const ext = p.extension();
    if (!skip && entry.is_regular_file() && (ext == ".hpp" || ext == ".h" || ext == ".cpp")) {
      files.push_back(p);
    }
  }
  std::sort(files.begin(), files.end());
  std::size_t matches = 0;
  for (auto const& p : files) {
    std::ifstream in(p, std::ios::binary);
    std::string const src((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (auto const& f : scan(src)) {
      std::printf("%s:%zu: %s\n    %s\n", p.string().c_str(), f.line, f.token.c_str(),
                  line_of(src, f.line).c_str());
      ++matches;
    }
  }
  std::printf("no_heap_check: %zu files under %s, %zu forbidden tokens in code\n", files.size(),
              root.string().c_str(), matches);
  return matches == 0 && !files.empty() ? 0 : 1;
}
