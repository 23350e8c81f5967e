#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
#
# Sourced by propel's scripts. `propel_need_packages pkg...` makes sure the given Debian
# packages are installed: as root it installs the missing ones with apt-get; otherwise it
# prints the exact command to run and exits 1.
set -euo pipefail

propel_need_packages() {
  local pkg missing=()
  for pkg in "$@"; do
    if [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" != "install ok installed" ]]; then
      missing+=("$pkg")
    fi
  done
  if ((${#missing[@]} == 0)); then
    return 0
  fi
  if [[ "$(id -u)" == 0 ]]; then
    echo "propel: installing ${missing[*]}" >&2
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  else
    echo "propel: missing Debian packages; install them with:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
}
