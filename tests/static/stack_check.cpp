// SPDX-License-Identifier: BSL-1.0
// Checks the stack that propel's entry points use against a budget. The input is the call
// graph GCC writes with -fcallgraph-info=su (a VCG file, FILE.ci): one node per function with
// its frame in bytes ("N bytes (static)"), one edge per call. The stack an entry point needs
// is the deepest path from its node: its own frame plus the largest need among its callees.
//
//   stack_check GRAPH.ci BUDGETS   each line of BUDGETS is `function bytes` (# starts a
//                                  comment); prints every function's need and its budget and
//                                  exits 1 when a need exceeds its budget, a budgeted function
//                                  is missing from the graph, or a path has a frame of dynamic
//                                  size, a call through a pointer or recursion
//   stack_check --propose GRAPH.ci BUDGETS
//                                  prints BUDGETS with each budget replaced by the need found
//                                  in GRAPH plus a margin (10%, at most 256 bytes, rounded up
//                                  to 64): after a change that moves frames on purpose
//   stack_check --self-test        checks the parser and the path search on a built-in graph
//
// Functions outside the translation unit (memcpy, memset) appear without a size; they are
// leaves of the C library and count as 0 bytes, and the report names them.
#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

struct node {
  std::string label;                 // the function's readable name
  std::optional<std::size_t> frame;  // bytes; empty for a function without a size (external)
  bool dynamic = false;              // "dynamic" or "bounded": the frame is not a constant
};

struct graph {
  std::map<std::string, node> nodes;                      // by title (the symbol)
  std::map<std::string, std::vector<std::string>> calls;  // title -> callees' titles
};

/// The value of `key: "..."` in a line of VCG, or an empty string.
std::string field(std::string_view line, std::string_view key) {
  std::string const pattern = std::string(key) + ": \"";
  std::size_t const begin = line.find(pattern);
  if (begin == std::string_view::npos) return {};
  std::size_t const start = begin + pattern.size();
  std::string out;
  for (std::size_t i = start; i < line.size() && line[i] != '"'; ++i) {
    if (line[i] == '\\' && i + 1 < line.size()) {
      ++i;
      out += line[i] == 'n' ? '\n' : line[i];
    } else {
      out += line[i];
    }
  }
  return out;
}

graph parse(std::istream& in) {
  graph g;
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("node:")) {
      node n;
      std::string const label = field(line, "label");
      n.label = label.substr(0, label.find('\n'));
      // the label's last line is "N bytes (static)" when GCC knows the frame
      std::size_t const last = label.rfind('\n');
      std::string const tail = last == std::string::npos ? std::string() : label.substr(last + 1);
      std::size_t bytes = 0;
      char kind[32] = {};
      if (std::sscanf(tail.c_str(), "%zu bytes (%31[a-z,])", &bytes, kind) == 2) {
        n.frame = bytes;
        n.dynamic = std::string_view(kind) != "static";
      }
      g.nodes[field(line, "title")] = n;
    } else if (line.starts_with("edge:")) {
      g.calls[field(line, "sourcename")].push_back(field(line, "targetname"));
    }
  }
  return g;
}

struct need {
  std::size_t bytes = 0;
  std::vector<std::string> path;   // the deepest path, by label
  std::set<std::string> problems;  // reasons the number cannot be trusted
  std::set<std::string> external;  // callees without a size
};

need deepest(graph const& g, std::string const& title, std::vector<std::string>& active,
             std::map<std::string, need>& memo) {
  if (auto const it = memo.find(title); it != memo.end()) return it->second;
  need out;
  auto const it = g.nodes.find(title);
  std::string const label = it == g.nodes.end() ? title : it->second.label;
  if (std::find(active.begin(), active.end(), title) != active.end()) {
    out.problems.insert("recursion through " + label);
    return out;
  }
  if (it == g.nodes.end() || !it->second.frame) {
    // GCC names an indirect call's target "__indirect_call"
    if (title.find("indirect_call") != std::string::npos) {
      out.problems.insert("a call through a pointer");
    } else {
      out.external.insert(label);
    }
    out.path.push_back(label + " (outside, 0)");
    return out;
  }
  if (it->second.dynamic) out.problems.insert("a frame of dynamic size in " + label);
  active.push_back(title);
  need deepest_callee;
  if (auto const c = g.calls.find(title); c != g.calls.end()) {
    for (std::string const& callee : c->second) {
      need const n = deepest(g, callee, active, memo);
      out.problems.insert(n.problems.begin(), n.problems.end());
      out.external.insert(n.external.begin(), n.external.end());
      if (n.bytes >= deepest_callee.bytes) {
        deepest_callee.bytes = n.bytes;
        deepest_callee.path = n.path;
      }
    }
  }
  active.pop_back();
  out.bytes = *it->second.frame + deepest_callee.bytes;
  out.path.push_back(label + " (" + std::to_string(*it->second.frame) + ")");
  out.path.insert(out.path.end(), deepest_callee.path.begin(), deepest_callee.path.end());
  memo[title] = out;
  return out;
}

need deepest(graph const& g, std::string const& title) {
  std::vector<std::string> active;
  std::map<std::string, need> memo;
  return deepest(g, title, active, memo);
}

/// The budget proposed for a need: a margin of 10%, at most 256 bytes, rounded up to 64.
std::size_t proposed_budget(std::size_t bytes) {
  std::size_t const margin = std::min<std::size_t>(bytes / 10, 256);
  return (bytes + margin + 63) / 64 * 64;
}

int self_test() {
  std::istringstream in(
      "graph: { title: \"t.cpp\"\n"
      "node: { title: \"leaf\" label: \"int leaf(int*)\\nt.cpp:2:23\\n296 bytes (static)\" }\n"
      "node: { title: \"mid\" label: \"int mid(int*)\\nt.cpp:3:23\\n64 bytes (static)\" }\n"
      "node: { title: \"other\" label: \"int other()\\nt.cpp:5:1\\n8 bytes (static)\" }\n"
      "edge: { sourcename: \"mid\" targetname: \"other\" label: \"t.cpp:3:50\" }\n"
      "edge: { sourcename: \"mid\" targetname: \"leaf\" label: \"t.cpp:3:55\" }\n"
      "node: { title: \"memcpy\" label: \"memcpy\\n<built-in>\" }\n"
      "edge: { sourcename: \"leaf\" targetname: \"memcpy\" label: \"t.cpp:2:40\" }\n"
      "node: { title: \"top\" label: \"int top(int*)\\nt.cpp:4:5\\n16 bytes (static)\" }\n"
      "edge: { sourcename: \"top\" targetname: \"mid\" label: \"t.cpp:4:27\" }\n"
      "node: { title: \"dyn\" label: \"void dyn(int)\\nt.cpp:6:1\\n32 bytes (dynamic,bounded)\" }\n"
      "node: { title: \"rec\" label: \"void rec()\\nt.cpp:7:1\\n16 bytes (static)\" }\n"
      "edge: { sourcename: \"rec\" targetname: \"rec\" label: \"t.cpp:7:20\" }\n"
      "}\n");
  graph const g = parse(in);
  int failures = 0;
  auto check = [&](bool ok, char const* what) {
    if (!ok) {
      std::fprintf(stderr, "stack_check self-test: %s\n", what);
      ++failures;
    }
  };
  need const top = deepest(g, "top");
  check(top.bytes == 16 + 64 + 296, "top needs its frame plus its deepest callee's path");
  check(top.path.size() == 4 && top.path[2].starts_with("int leaf"), "the deepest path");
  check(top.problems.empty(), "a static path has no problem");
  check(top.external.count("memcpy") == 1, "memcpy is reported as outside");
  check(!deepest(g, "dyn").problems.empty(), "a dynamic frame is a problem");
  check(!deepest(g, "rec").problems.empty(), "recursion is a problem");
  check(proposed_budget(360) == 448 && proposed_budget(50608) == 50880,
        "a proposed budget is the need plus 10%, at most 256 bytes, rounded up to 64");
  if (failures == 0) std::puts("stack_check self-test: passed");
  return failures == 0 ? 0 : 1;
}

int propose(graph const& g, std::istream& budgets) {
  std::string line;
  int failures = 0;
  while (std::getline(budgets, line)) {
    std::istringstream fields(line.substr(0, line.find('#')));
    std::string name;
    if (!(fields >> name)) {
      std::printf("%s\n", line.c_str());
    } else if (g.nodes.find(name) == g.nodes.end()) {
      std::fprintf(stderr, "stack_check: %s is not in the graph\n", name.c_str());
      ++failures;
    } else {
      std::printf("%-40s %6zu\n", name.c_str(), proposed_budget(deepest(g, name).bytes));
    }
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string_view(argv[1]) == "--self-test") return self_test();
  bool const proposing = argc == 4 && std::string_view(argv[1]) == "--propose";
  if (proposing) {
    ++argv;
    --argc;
  }
  if (argc != 3) {
    std::fprintf(stderr,
                 "usage: stack_check [--propose] GRAPH.ci BUDGETS | stack_check --self-test\n");
    return 2;
  }
  std::ifstream graph_file(argv[1]);
  std::ifstream budget_file(argv[2]);
  if (!graph_file || !budget_file) {
    std::fprintf(stderr, "stack_check: cannot read %s\n", !graph_file ? argv[1] : argv[2]);
    return 2;
  }
  graph const g = parse(graph_file);
  if (proposing) return propose(g, budget_file);
  int failures = 0;
  std::size_t budgets = 0;
  std::string line;
  std::set<std::string> outside;
  while (std::getline(budget_file, line)) {
    line = line.substr(0, line.find('#'));
    std::istringstream fields(line);
    std::string name;
    std::size_t budget = 0;
    if (!(fields >> name)) continue;
    if (!(fields >> budget)) {
      std::fprintf(stderr, "stack_check: %s: no budget for %s\n", argv[2], name.c_str());
      ++failures;
      continue;
    }
    ++budgets;
    if (g.nodes.find(name) == g.nodes.end()) {
      std::fprintf(stderr,
                   "stack_check: FAIL: %s is not in %s (renamed, or inlined: probe functions "
                   "must be extern \"C\" and noinline)\n",
                   name.c_str(), argv[1]);
      ++failures;
      continue;
    }
    need const n = deepest(g, name);
    outside.insert(n.external.begin(), n.external.end());
    bool const over = n.bytes > budget;
    std::printf("%-52s %7zu bytes of stack (budget %zu)%s\n", name.c_str(), n.bytes, budget,
                over ? "  OVER" : "");
    for (std::string const& problem : n.problems) {
      std::fprintf(stderr, "stack_check: FAIL: %s: %s, so its stack has no static bound\n",
                   name.c_str(), problem.c_str());
      ++failures;
    }
    if (over) {
      std::fprintf(stderr,
                   "stack_check: FAIL: %s needs %zu bytes of stack, more than its budget of %zu "
                   "(a frame grew, or a workspace moved onto the stack); the deepest path:\n",
                   name.c_str(), n.bytes, budget);
      for (std::string const& f : n.path) std::fprintf(stderr, "    %s\n", f.c_str());
      ++failures;
    }
  }
  if (budgets == 0) {
    std::fprintf(stderr, "stack_check: FAIL: %s names no function\n", argv[2]);
    ++failures;
  }
  if (!outside.empty()) {
    std::printf("functions outside the probe, counted as 0 bytes:");
    for (std::string const& f : outside) std::printf(" %s", f.c_str());
    std::printf("\n");
  }
  if (failures != 0) std::fprintf(stderr, "stack_check: %d failure(s)\n", failures);
  return failures == 0 ? 0 : 1;
}
