#!/usr/bin/env bash
# Delivery across a chain: N restaurants, each with its kitchen screens and a
# waiter ordering, on one or several hub instances (several need PostgreSQL;
# they share Redis). The delivery and scale-out scenarios of BENCHMARKS.md.
#
#   bench/chain.sh sqlite|postgres <instances> <orders/s> <screens> <restaurants> [seconds]
#
# Creates the restaurants bench-1 … bench-N with `restohub create-owner`,
# starts the instances on 127.0.0.1:18101…, runs `loadgen orders --chain`
# (screens and waiters spread over the instances), and stops them.
# PostgreSQL: postgres@127.0.0.1:5432, database rhchain (recreated);
# Redis: 127.0.0.1:6379. Each instance's database pool is
# RESTOHUB_DB_MAX_CONNECTIONS if set, else 4 split over the instances (at
# least 2 each): about two per core of this 2-core box, which PostgreSQL
# shares with the hubs (BENCHMARKS.md, "Delivery across a chain").
# RESTOHUB_BIN and LOADGEN_BIN run other builds of the hub and of the load
# generator (side-by-side comparisons).
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:?sqlite or postgres}
instances=${2:?instances}
rate=${3:?orders per second}
screens=${4:?screens}
restaurants=${5:?restaurants}
seconds=${6:-10}
if [ "$backend" = sqlite ] && [ "$instances" -gt 1 ]; then
    echo "several instances need PostgreSQL" >&2
    exit 2
fi
if [ -z "${RESTOHUB_BIN:-}" ] || [ -z "${LOADGEN_BIN:-}" ]; then
    cargo build --release --quiet --bin restohub --example loadgen
fi
hub=${RESTOHUB_BIN:-./target/release/restohub}
data=$(mktemp -d)
export RESTOHUB_DATA_DIR=$data
. bench/instances.env
if [ "$backend" = postgres ]; then
    psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS rhchain" -c "CREATE DATABASE rhchain"
    # Plain on loopback, as every earlier figure was measured: the hub is
    # built with TLS and would otherwise encrypt wherever the server offers it.
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/rhchain?sslmode=disable
    pool=$(( 4 / instances )); [ "$pool" -ge 2 ] || pool=2
    export RESTOHUB_DB_MAX_CONNECTIONS=${RESTOHUB_DB_MAX_CONNECTIONS:-$pool}
    # REDIS_URL (and RESTOHUB_REDIS_CLUSTER) set by the caller win: bench/cluster.sh.
    if [ "$instances" -gt 1 ]; then export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}; fi
fi
"$hub" migrate > /dev/null
seq 1 "$restaurants" | xargs -P 2 -I{} "$hub" create-owner \
    --restaurant "Bench {}" --slug bench-{} --email owner@bench-{}.restohub --password restohub-bench > /dev/null
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$data"' EXIT
hubs=()
for i in $(seq 1 "$instances"); do
    port=$((18100 + i))
    "$hub" serve --listen 127.0.0.1:$port > "$data/hub-$i.log" 2>&1 &
    pids+=($!)
    hubs+=(http://127.0.0.1:$port)
    for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.2; done
done
cpu=()
for p in "${pids[@]}"; do cpu+=("hubs:$p"); done
cpu+=("postgres:=postgres" "redis:=redis-server")
echo "== $backend, $instances instance(s), $restaurants restaurants, $screens screens, $rate orders/s"
"${LOADGEN_BIN:-./target/release/examples/loadgen}" orders --hub "$(IFS=,; echo "${hubs[*]}")" \
    --restaurant bench --password restohub-bench --chain "$restaurants" --item Soup \
    --rate "$rate" --seconds "$seconds" --clients "$restaurants" --screens "$screens" --cpu "$(IFS=,; echo "${cpu[*]}")" \
    ${LOADGEN_ARGS:-}
