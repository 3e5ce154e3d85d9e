#!/usr/bin/env bash
# One command for the whole test suite: install, then run it on SQLite and on a real
# PostgreSQL 15 that the tests start themselves. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
