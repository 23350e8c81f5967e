#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
#
# The repository stands alone: no tracked file refers to a place outside it. Scans the
# git-tracked text files (their working-tree contents) for
#   - a relative path into a "shared" directory beside the repository (dot-dot, slash, shared)
#   - absolute paths of a build machine: the top-level directories work and root, a user's
#     directory under home or Users (or a drive's Users folder on Windows), a fixed name under
#     tmp (a mktemp template, with XXX, is fine)
#   - the repository's own absolute path, and the build directory's (arguments)
# System paths (usr/include, usr/bin/env, dev/null, an install prefix under opt) are not
# findings, nor is a path that continues a variable or a URL (${BUILD}/work, https://host/home).
# This file spells the paths it looks for so that it does not match them itself.
#
#   no_outside_paths.sh REPO [BUILD_DIR]   exit 1 and print file:line: text for each finding;
#                                          exit 77 (skipped) if REPO is not a git work tree
#   no_outside_paths.sh --self-test        the scan flags every planted leak in a scratch
#                                          repository and nothing else (exit 1 otherwise)
set -euo pipefail

# An absolute path starts a word (not after a letter, digit, '.', '/', '-', '$', '}' or '~') or
# follows a compiler's or linker's directory option (-I, -L, -isystem, -iquote).
start='(^|[^[:alnum:]_./$}~-]|-[IL]|-isystem|-iquote)'
end='([/[:space:]"'"'"'`:;,)]|$)'
patterns=(
  "\\.\\./shared$end"
  "$start/(work|root)$end"
  "$start/(home|Users)/[[:alnum:]_.-]+"
  "$start/tmp/[^[:space:]\"'\`]*[[:alnum:]_-]"
  '[A-Za-z]:\\+(Users|home)\\+'
)

git_() { git -c safe.directory='*' "$@"; }

# scan REPO [LITERAL...]: prints the findings (file:line:text, each line once), returns 1 if
# there are any.
scan() {
  local findings
  findings=$(scan_all "$@" | sort -t: -k1,1 -k2,2n -u)
  [[ -z $findings ]] && return 0
  printf '%s\n' "$findings"
  return 1
}

scan_all() {
  local repo=$1 out
  shift
  local args=(-n -I --no-color -E)
  local p
  for p in "${patterns[@]}"; do args+=(-e "$p"); done
  # A mktemp template under /tmp is not a fixed name: a line is a finding if it still matches
  # with its templates taken out.
  local line text
  out=$({ git_ -C "$repo" grep "${args[@]}" -- . || true; } | while IFS= read -r line; do
    text=${line#*:}
    text=${text#*:}
    text=$(sed -E 's#[/]tmp/[^[:space:]"'"'"'`]*XXX[^[:space:]"'"'"'`]*##g' <<<"$text")
    if grep -qE "${args[@]:3}" <<<"$text"; then printf '%s\n' "$line"; fi
  done)
  [[ -z $out ]] || printf '%s\n' "$out"
  local literal
  for literal in "$@"; do
    [[ ${#literal} -gt 1 ]] || continue
    git_ -C "$repo" grep -n -I --no-color -F -e "$literal" -- . || true
  done
}

self_test() {
  local dir
  dir=$(mktemp -d "${TMPDIR:-/tmp}/propel-paths.XXXXXX")
  trap 'rm -rf "$dir"' RETURN
  git_ -C "$dir" init -q
  # The planted lines are spelled with {/} for a slash and {\} for a backslash, so that this
  # file has no leak.
  local leaks=(
    'source ..{/}shared{/}tools{/}cortex-m{/}run'
    'tools=../..{/}shared'
    '#include "{/}work{/}ci{/}propel{/}include{/}propel.hpp"'
    'cd {/}root && make'
    'data = {/}home{/}alice{/}data.csv'
    '-I{/}Users{/}bob{/}boost'
    'cmake -B {/}tmp{/}propel-build'
    'C:{\}{\}Users{\}{\}carol{\}{\}propel'
    'D:{\}Users{\}dan{\}propel'
    "a copy at $dir{/}include"
    'generated in {/}srv{/}ci{/}propel-build{/}gen.hpp'
    'mktemp -d {/}tmp{/}x.XXXXXX && cd {/}tmp{/}propel'
  )
  local clean=(
    '#!{/}usr{/}bin{/}env bash'
    '-I{/}usr{/}include -isystem {/}usr{/}include >{/}dev{/}null'
    'tmp=$(mktemp -d "${TMPDIR:-{/}tmp}{/}propel.XXXXXX")'
    'cmake --install b --prefix {/}opt{/}propel; mktemp -d {/}tmp{/}propel.XXXXXX'
    '--work ${CMAKE_CURRENT_BINARY_DIR}{/}work'
    'see https:{/}{/}example.org{/}home{/}page and $HOME{/}work{/}x'
    'std::shared_ptr<int> and ..{/}include{/}propel and ..{/}shared_state.hpp'
  )
  local line
  spell() {
    local text=${1//\{\/\}//}
    printf '%s\n' "${text//\{\\\}/\\}"
  }
  for line in "${leaks[@]}"; do spell "$line" >>"$dir/leaks.txt"; done
  for line in "${clean[@]}"; do spell "$line" >>"$dir/clean.txt"; done
  # an untracked file is not the repository's
  spell "${leaks[0]}" >"$dir/untracked.txt"
  git_ -C "$dir" add leaks.txt clean.txt
  local out rc=0
  out=$(scan "$dir" "$dir" /srv/ci/propel-build) || rc=$?
  local expected
  expected=$(seq 1 "${#leaks[@]}" | sed 's/^/leaks.txt:/')
  local got
  got=$(printf '%s\n' "$out" | cut -d: -f1,2)
  if ((rc != 1)) || [[ $got != "$expected" ]]; then
    echo "self-test: expected every line of leaks.txt and nothing else; the scan found:" >&2
    printf '%s\n' "$out" >&2
    return 1
  fi
  echo "self-test: ${#leaks[@]} planted leaks found, ${#clean[@]} legitimate lines passed"
}

if [[ ${1:-} == --self-test ]]; then
  self_test
  exit
fi
if (($# < 1 || $# > 2)); then
  echo "usage: $0 REPO [BUILD_DIR] | --self-test" >&2
  exit 2
fi
repo=$1
if ! top=$(git_ -C "$repo" rev-parse --show-toplevel 2>/dev/null); then
  echo "no_outside_paths: $repo is not a git work tree: nothing to scan" >&2
  exit 77
fi
literals=("$top" "$(cd "$repo" && pwd -P)")
if (($# == 2)); then
  literals+=("$2" "$(cd "$2" 2>/dev/null && pwd -P || true)")
fi
if ! scan "$top" "${literals[@]}"; then
  echo "no_outside_paths: tracked files refer to places outside the repository (above)" >&2
  exit 1
fi
echo "no_outside_paths: $(git_ -C "$top" ls-files | wc -l) tracked files, none refers outside the repository"
