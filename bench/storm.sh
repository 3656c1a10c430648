#!/usr/bin/env bash
# A reconnect storm (BENCHMARKS.md, "Reconnect storm"): three instances on
# PostgreSQL and a private Redis, a chain of N restaurants, waiters ordering
# on the second and third instance, S kitchen screens on the first; the
# first is killed (SIGKILL) and its screens resume with `since` on the
# others. `loadgen storm` reports resume time, events missed, order acks
# during and after the storm, presence afterwards.
#
#   bench/storm.sh <screens> [give-up ms (0: clients wait)] [restaurants] [orders/s]
#
# e.g. `bench/storm.sh 10000 5000` for clients that give up on a hello
# after 5 s and retry at once. PostgreSQL: postgres@127.0.0.1:5432,
# database rhstorm (recreated, dropped at the end); Redis: a redis-server
# of its own on 127.0.0.1:16391, stopped at the end. Each instance's
# database pool is RESTOHUB_DB_MAX_CONNECTIONS if set, else 2 (as
# bench/chain.sh gives three instances). RESTOHUB_BIN and LOADGEN_BIN run
# other builds (side-by-side comparisons); LOADGEN_ARGS adds options.
set -euo pipefail
cd "$(dirname "$0")/.."
screens=${1:?screens}
give_up=${2:-0}
restaurants=${3:-100}
rate=${4:-100}
if [ -z "${RESTOHUB_BIN:-}" ] || [ -z "${LOADGEN_BIN:-}" ]; then
    cargo build --release --quiet --bin restohub --example loadgen
fi
hub=${RESTOHUB_BIN:-./target/release/restohub}
# Sockets: the screens' on the killed instance and in the load generator.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt $((screens + 1000)) ]; then
    echo "open files limit $(ulimit -n) is below $((screens + 1000))" >&2
    exit 2
fi
data=$(mktemp -d)
redis_port=16391
pids=()
cleanup() {
    kill "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
    psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS rhstorm" 2>/dev/null || true
    rm -rf "$data"
}
trap cleanup EXIT
redis-server --port $redis_port --bind 127.0.0.1 --save "" --appendonly no > "$data/redis.log" 2>&1 &
pids+=($!)
redis_pid=$!
export RESTOHUB_DATA_DIR=$data
. bench/instances.env
export REDIS_URL=redis://127.0.0.1:$redis_port
psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS rhstorm" -c "CREATE DATABASE rhstorm"
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/rhstorm?sslmode=disable
export RESTOHUB_DB_MAX_CONNECTIONS=${RESTOHUB_DB_MAX_CONNECTIONS:-2}
"$hub" migrate > /dev/null
seq 1 "$restaurants" | xargs -P 2 -I{} "$hub" create-owner \
    --restaurant "Bench {}" --slug bench-{} --email owner@bench-{}.restohub --password restohub-bench > /dev/null
hubs=()
hub_pids=()
for i in 1 2 3; do
    port=$((18200 + i))
    "$hub" serve --listen 127.0.0.1:$port > "$data/hub-$i.log" 2>&1 &
    pids+=($!)
    hub_pids+=($!)
    hubs+=(http://127.0.0.1:$port)
    for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.2; done
done
echo "== storm: $screens screens on instance 1 of 3, $restaurants restaurants, $rate orders/s, give-up ${give_up} ms"
"${LOADGEN_BIN:-./target/release/examples/loadgen}" storm --hub "$(IFS=,; echo "${hubs[*]}")" \
    --victim-pid "${hub_pids[0]}" --restaurant bench --password restohub-bench --chain "$restaurants" \
    --item Soup --rate "$rate" --screens "$screens" --give-up-ms "$give_up" \
    --cpu "hubs:${hub_pids[1]},hubs:${hub_pids[2]},postgres:=postgres,redis:$redis_pid" ${LOADGEN_ARGS:-}
for i in 2 3; do
    echo "instance $i: $(grep -c 'presence queue full' "$data/hub-$i.log" || true) presence changes dropped (\"presence queue full\")"
done
