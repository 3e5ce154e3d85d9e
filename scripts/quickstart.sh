#!/usr/bin/env bash
# One command for a newcomer: install, migrate a SQLite database, load the demo data and
# users, start the CPU model server and a worker (which precomputes the demo's assistance
# in the background), and serve the app on http://127.0.0.1:8000. Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export CRITIQUELAB_DATABASE_URL="${CRITIQUELAB_DATABASE_URL:-sqlite:///$PWD/var/critiquelab.sqlite3}"
export CRITIQUELAB_MODEL_URL="${CRITIQUELAB_MODEL_URL:-http://127.0.0.1:8001/v1}"
mkdir -p var
.venv/bin/critiquelab db upgrade
.venv/bin/critiquelab demo

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT INT TERM
.venv/bin/python -m model_server --port 8001 >var/model_server.log 2>&1 &
pids+=($!)
.venv/bin/critiquelab worker >var/worker.log 2>&1 &
pids+=($!)
.venv/bin/critiquelab assist generate >/dev/null

echo
echo "model server: http://127.0.0.1:8001/v1 (log: var/model_server.log); worker log: var/worker.log"
echo "critiquelab is starting on http://127.0.0.1:8000 (Ctrl-C stops it)"
.venv/bin/critiquelab serve --host 127.0.0.1 --port 8000
