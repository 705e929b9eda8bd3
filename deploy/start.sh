#!/usr/bin/env bash
# Start the Attention lab for a lecture hall: one Streamlit process per core behind nginx
# (Debian's package: apt-get install -y nginx). Options: --processes N, --listen ADDR:PORT
# (default 127.0.0.1:8080), --first-port P (processes on P, P+1, ...), --redis-port P (the rooms'
# redis-server, default 6390; Debian's redis-server package) or --no-redis. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-.venv/bin/python}
[ -x "$py" ] || py=python3
exec "$py" -m deploy.serve "$@"
