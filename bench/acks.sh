#!/usr/bin/env bash
# Proof of display (issue 19): delivery with screens that acknowledge what
# they render (`screen.seen`, at most once per ACK_MS, default 1000 ms)
# beside the same run
# without acknowledgements: the delivery scenario of `bench/chain.sh` (one
# instance, 100 restaurants, their screens at their item's station), with
# commit→screen p99 and the hub's CPU for each.
#
#   bench/acks.sh sqlite|postgres [orders/s] [screens] [runs]   (default: 1000 2000 3)
#
# In both runs the screens join their item's station room besides the
# kitchen room (`loadgen --station-room`), so both deliver the same events;
# only the acknowledgements differ. RESTOHUB_BIN and LOADGEN_BIN run other
# builds of the hub and of the load generator.
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:?sqlite or postgres}
rate=${2:-1000}
screens=${3:-2000}
runs=${4:-3}
for run in $(seq 1 "$runs"); do
    for ack in 0 "${ACK_MS:-1000}"; do
        echo "== run $run, screens acknowledge every ${ack} ms (0: never)"
        LOADGEN_ARGS="--station-room --ack-ms $ack" bash bench/chain.sh "$backend" 1 "$rate" "$screens" 100
    done
done
