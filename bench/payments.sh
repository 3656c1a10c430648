#!/usr/bin/env bash
# Payments per second and ack latency beside order placement, on SQLite or
# PostgreSQL (issue 18). At each rate it runs `loadgen orders`, then
# `loadgen payments` at the same rate for the same time, so every rate has
# both figures from the same box minutes apart (this 2-core box's speed
# moves between sessions and within one: compare them as ratios).
#
#   bench/payments.sh sqlite|postgres [rates...]     (default rates: 100 250 500 1000)
#
# Starts a release hub with the demo restaurant on 127.0.0.1:18092. Orders go
# to the demo restaurant as in bench/orders.sh. Payments pay prepared
# takeaway checks (one order of one untracked 650-cent item each, placed and
# opened before the measured window) in a restaurant of their own, "pay"
# (made here; the load generator adds its cashier and item): every check
# change looks for the restaurant's open orders without a check to join it,
# and the orders steps leave thousands of those in the demo restaurant
# (BENCHMARKS.md, "Payments beside orders"; SAME_RESTAURANT=1 pays in the
# demo restaurant instead, to measure that). One payment per check
# (PAYMENTS_ARGS=--partial: two halves per check). PostgreSQL:
# postgres@127.0.0.1:5432, database rhbench (recreated); every measured step
# starts from a VACUUM ANALYZE (as in bench/orders.sh), the payments' after
# their checks are prepared. SECONDS_PER_RUN (default 10) and CLIENTS
# (default 8) apply to both; RESTOHUB_BIN and LOADGEN_BIN run other builds.
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:?sqlite or postgres}; shift
rates=${*:-100 250 500 1000}
seconds=${SECONDS_PER_RUN:-10}
clients=${CLIENTS:-8}
if [ -z "${RESTOHUB_BIN:-}" ] || [ -z "${LOADGEN_BIN:-}" ]; then
    cargo build --release --quiet --bin restohub --example loadgen
fi
hub_bin=${RESTOHUB_BIN:-./target/release/restohub}
loadgen=${LOADGEN_BIN:-./target/release/examples/loadgen}
data=$(mktemp -d)
port=18092
db=(--data-dir "$data")
vacuum_cmd=true
if [ "$backend" = postgres ]; then
    url=postgres://postgres@127.0.0.1:5432/rhbench?sslmode=disable
    psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS rhbench" -c "CREATE DATABASE rhbench"
    db+=(--database-url "$url")
    vacuum_cmd='psql -q -h 127.0.0.1 -U postgres -d rhbench -c "VACUUM ANALYZE"'
fi
payments_at=(--restaurant pay)
if [ -n "${SAME_RESTAURANT:-}" ]; then
    payments_at=()
else
    "$hub_bin" "${db[@]}" migrate > /dev/null
    "$hub_bin" "${db[@]}" create-owner --restaurant Payments --slug pay \
        --email owner@pay.restohub --password restohub-demo > /dev/null
fi
"$hub_bin" "${db[@]}" demo --listen 127.0.0.1:$port --ws-commands-per-sec 1000000 \
    --ws-max-connections-per-user 100000 > "$data/hub.log" 2>&1 &
hub=$!
trap 'kill $hub 2>/dev/null; wait $hub 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.2; done
# PostgreSQL's CPU is counted twice: every process of the server, and only
# the backends of rhbench (the server may be serving other work too).
cpu="hub:$hub"
if [ "$backend" = postgres ]; then cpu+=",postgres:=postgres,rhbench:~postgres rhbench "; fi
for rate in $rates; do
    sh -c "$vacuum_cmd"
    echo "== $backend, orders, $rate/s"
    "$loadgen" orders --hub http://127.0.0.1:$port --rate "$rate" --seconds "$seconds" \
        --clients "$clients" --cpu "$cpu"
    # Analyzed again before the checks are prepared: with SAME_RESTAURANT,
    # statistics that have not seen the orders step's orders (open, without
    # a check) let PostgreSQL plan the "join the check" update to walk all of
    # them on every check change.
    sh -c "$vacuum_cmd"
    echo "== $backend, payments${PAYMENTS_ARGS:+ ($PAYMENTS_ARGS)}, $rate/s"
    # shellcheck disable=SC2086
    "$loadgen" payments --hub http://127.0.0.1:$port "${payments_at[@]}" --rate "$rate" \
        --seconds "$seconds" --clients "$clients" --cpu "$cpu" \
        --after-prepare "$vacuum_cmd" ${PAYMENTS_ARGS:-}
done
