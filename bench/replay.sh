#!/usr/bin/env bash
# Resume amplification (BENCHMARKS.md, "Resumes over a long log"): the demo
# restaurant's log filled to 10,000 events (takeaway orders), then other
# clients' REST `GET /api/v1/menu/items` and staff ping latency and the
# hub's RSS, quiet and while 20 loops each say hello with `since: 1` on one
# guest token.
#
#   bench/replay.sh sqlite|postgres [loops] [seconds per phase] [loadgen options]
#
# (default: 20 loops, 15 s; e.g. `--plain` makes the loops say hello
# without `since`, for comparison).
#
# Starts a release hub on 127.0.0.1:18093 with its limits at their defaults
# (but commands and connections per account raised, as in the other
# scenarios, so the filling orders and the loops are not cut by them), runs
# `loadgen replay`, stops the hub. PostgreSQL: postgres@127.0.0.1:5432,
# database rhreplay (recreated). RESTOHUB_BIN and LOADGEN_BIN run other
# builds of the hub and of the load generator (side-by-side comparisons).
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:?sqlite or postgres}
loops=${2:-20}
seconds=${3:-15}
extra=("${@:4}")
if [ -z "${RESTOHUB_BIN:-}" ] || [ -z "${LOADGEN_BIN:-}" ]; then
    cargo build --release --quiet --bin restohub --example loadgen
fi
data=$(mktemp -d)
args=(demo --data-dir "$data" --listen 127.0.0.1:18093 --ws-commands-per-sec 1000000
      --ws-max-connections-per-user 100000 --log warn)
if [ "$backend" = postgres ]; then
    psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS rhreplay" -c "CREATE DATABASE rhreplay"
    args+=(--database-url postgres://postgres@127.0.0.1:5432/rhreplay?sslmode=disable)
fi
"${RESTOHUB_BIN:-./target/release/restohub}" "${args[@]}" > "$data/hub.log" 2>&1 &
hub=$!
trap 'kill $hub 2>/dev/null; wait $hub 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/18093) 2>/dev/null && break; sleep 0.2; done
echo "== $backend, $loops hello loops"
"${LOADGEN_BIN:-./target/release/examples/loadgen}" replay --hub http://127.0.0.1:18093 --pid "$hub" \
    --events 10000 --loops "$loops" --seconds "$seconds" --cpu "hub:$hub,postgres:=postgres" "${extra[@]}"
