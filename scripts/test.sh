#!/usr/bin/env bash
# One command for the whole test suite: install, then run it on SQLite and on a real
# PostgreSQL 15 that the tests start themselves. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
# Gates before the tests: lint, formatting, and types (strict on app/ and model_server/).
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
