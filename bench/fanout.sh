#!/usr/bin/env bash
# Fan-out: one kitchen room with rising numbers of screens, on one SQLite hub
# (the demo restaurant). 100 orders/s for 5 s per size; every order.placed
# reaches every screen.
#
#   bench/fanout.sh [screens...]      (default: 1 100 1000 10000)
#
# RESTOHUB_BIN and LOADGEN_BIN run other builds of the hub and of the load
# generator (side-by-side comparisons).
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${*:-1 100 1000 10000}
if [ -z "${RESTOHUB_BIN:-}" ] || [ -z "${LOADGEN_BIN:-}" ]; then
    cargo build --release --quiet --bin restohub --example loadgen
fi
data=$(mktemp -d)
"${RESTOHUB_BIN:-./target/release/restohub}" demo --data-dir "$data" --listen 127.0.0.1:18092 \
    --ws-commands-per-sec 1000000 --ws-max-connections-per-user 100000 > "$data/hub.log" 2>&1 &
hub=$!
trap 'kill $hub 2>/dev/null; wait $hub 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/18092) 2>/dev/null && break; sleep 0.2; done
for n in $sizes; do
    echo "== $n screens, 100 orders/s"
    "${LOADGEN_BIN:-./target/release/examples/loadgen}" orders --hub http://127.0.0.1:18092 --rate 100 --seconds 5 \
        --clients 4 --screens "$n" --cpu "hub:$hub"
done
