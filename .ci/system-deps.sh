#!/usr/bin/env bash
# Installs the system packages the test suite needs, when they are missing (root, non-interactive).
set -euo pipefail
need=()
# Browser tests drive Debian's Chromium (Playwright's own browser download cannot work offline).
if [ -f webxr_client/package.json ] && ! command -v chromium >/dev/null 2>&1; then need+=(chromium); fi
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
