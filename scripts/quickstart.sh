#!/usr/bin/env bash
# One command for a newcomer: install, migrate a SQLite database, load the demo data and
# users, then run the CPU model server, a worker (which precomputes the demo's assistance)
# and the app on http://127.0.0.1:8000 under scripts/supervise.py, which reports at once a
# process that exits (with the last lines of its log), restarts it, and says when the demo's
# assistance is ready. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export CRITIQUELAB_DATABASE_URL="${CRITIQUELAB_DATABASE_URL:-sqlite:///$PWD/var/critiquelab.sqlite3}"
export CRITIQUELAB_MODEL_URL="${CRITIQUELAB_MODEL_URL:-http://127.0.0.1:8001/v1}"
mkdir -p var
.venv/bin/critiquelab db upgrade
.venv/bin/critiquelab demo
.venv/bin/critiquelab assist generate >/dev/null
exec .venv/bin/python scripts/supervise.py --port 8000 --model-port 8001 --logs var
