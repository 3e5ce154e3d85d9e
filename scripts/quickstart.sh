#!/usr/bin/env bash
# One command for a newcomer: install, migrate a SQLite database, load the demo data and
# users, and serve the app on http://127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export CRITIQUELAB_DATABASE_URL="${CRITIQUELAB_DATABASE_URL:-sqlite:///$PWD/var/critiquelab.sqlite3}"
.venv/bin/critiquelab db upgrade
.venv/bin/critiquelab demo
echo
echo "critiquelab is starting on http://127.0.0.1:8000 (Ctrl-C stops it)"
exec .venv/bin/critiquelab serve --host 127.0.0.1 --port 8000
