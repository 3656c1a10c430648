#!/usr/bin/env bash
# Orders per second and ack latency at rising rates, on SQLite or PostgreSQL;
# on PostgreSQL also pgbench running the same transaction's SQL
# (bench/place_order.sql) against the same database, for the ratio.
#
#   bench/orders.sh sqlite|postgres [rates...]      (default rates: 250 500 1000 1500 2000)
#
# Starts a release hub with the demo restaurant on 127.0.0.1:18091, runs
# loadgen at each rate for 10 s (8 ordering connections, no screens), stops
# the hub. PostgreSQL: postgres@127.0.0.1:5432, database rhbench (recreated).
# RESTOHUB_BIN and LOADGEN_BIN run other builds of the hub and of the load
# generator (side-by-side comparisons).
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:?sqlite or postgres}; shift
rates=${*:-250 500 1000 1500 2000}
if [ -z "${RESTOHUB_BIN:-}" ] || [ -z "${LOADGEN_BIN:-}" ]; then
    cargo build --release --quiet --bin restohub --example loadgen
fi
data=$(mktemp -d)
args=(demo --data-dir "$data" --listen 127.0.0.1:18091 --ws-commands-per-sec 1000000 --ws-max-connections-per-user 100000)
if [ "$backend" = postgres ]; then
    url=postgres://postgres@127.0.0.1:5432/rhbench?sslmode=disable
    psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS rhbench" -c "CREATE DATABASE rhbench"
    args+=(--database-url "$url")
fi
"${RESTOHUB_BIN:-./target/release/restohub}" "${args[@]}" > "$data/hub.log" 2>&1 &
hub=$!
trap 'kill $hub 2>/dev/null; wait $hub 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/18091) 2>/dev/null && break; sleep 0.2; done
# Each step starts from a vacuumed database: one restaurant's rows (its event
# seq, the hour's statistics) are updated by every order, and their dead
# versions, until vacuumed, slow every later step (pgbench on a database the
# hub left unvacuumed commits less than half as much).
vacuum() { if [ "$backend" = postgres ]; then psql -q -h 127.0.0.1 -U postgres -d rhbench -c "VACUUM ANALYZE"; fi; }
for rate in $rates; do
    vacuum
    echo "== $backend, $rate orders/s"
    "${LOADGEN_BIN:-./target/release/examples/loadgen}" orders --hub http://127.0.0.1:18091 --rate "$rate" --seconds 10 --clients 8 \
        --cpu "hub:$hub,postgres:=postgres"
done
if [ "$backend" = postgres ]; then
    kill $hub; wait $hub 2>/dev/null || true
    vacuum
    echo "== pgbench, the same SQL, 8 clients, 10 s"
    pgbench -n -h 127.0.0.1 -U postgres -c 8 -j 2 -T 10 -f bench/place_order.sql rhbench | grep -E "tps|latency"
fi
