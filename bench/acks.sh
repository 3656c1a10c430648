#!/usr/bin/env bash
# Proof of display (issue 19): delivery with screens that acknowledge what
# they render (`screen.seen`, at most every 250 ms) beside the same run
# without acknowledgements, on one hub of the demo restaurant: commit→screen
# p99 and the hub's CPU for each.
#
#   bench/acks.sh sqlite|postgres [orders/s] [screens] [runs]   (default: 1000 2000 3)
#
# The screens join the item's station room (so each acknowledgement counts
# there) besides the kitchen room. RESTOHUB_BIN and LOADGEN_BIN run other
# builds of the hub and of the load generator.
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:?sqlite or postgres}
rate=${2:-1000}
screens=${3:-2000}
runs=${4:-3}
if [ -z "${RESTOHUB_BIN:-}" ] || [ -z "${LOADGEN_BIN:-}" ]; then
    cargo build --release --quiet --bin restohub --example loadgen
fi
data=$(mktemp -d)
args=(demo --data-dir "$data" --listen 127.0.0.1:18093 --ws-commands-per-sec 1000000 --ws-max-connections-per-user 100000)
if [ "$backend" = postgres ]; then
    url=postgres://postgres@127.0.0.1:5432/rhbench
    psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS rhbench" -c "CREATE DATABASE rhbench"
    args+=(--database-url "$url")
fi
"${RESTOHUB_BIN:-./target/release/restohub}" "${args[@]}" > "$data/hub.log" 2>&1 &
hub=$!
trap 'kill $hub 2>/dev/null; wait $hub 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/18093) 2>/dev/null && break; sleep 0.2; done
cpu="hub:$hub"
if [ "$backend" = postgres ]; then cpu="$cpu,postgres:=postgres"; fi
for run in $(seq 1 "$runs"); do
    for ack in 0 250; do
        echo "== $backend, run $run, $rate orders/s, $screens screens, ack every ${ack} ms (0: none)"
        "${LOADGEN_BIN:-./target/release/examples/loadgen}" orders --hub http://127.0.0.1:18093 --rate "$rate" \
            --seconds 10 --clients 8 --screens "$screens" --ack-ms "$ack" --cpu "$cpu"
    done
done
