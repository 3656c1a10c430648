#!/usr/bin/env bash
# Delivery through a Redis Cluster beside delivery through one Redis server:
# bench/chain.sh on PostgreSQL with the same settings twice, first with the
# shared Redis on 127.0.0.1:6379, then with a private three-master cluster
# (sharded pub/sub, --redis-cluster) started here on ports 17001-17003
# (cluster bus 27001-27003) and stopped at the end.
#
#   bench/cluster.sh <instances> <orders/s> <screens> <restaurants> [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
instances=${1:?instances}
rate=${2:?orders per second}
screens=${3:?screens}
restaurants=${4:?restaurants}
seconds=${5:-10}
target=${CARGO_TARGET_DIR:-target}
export RESTOHUB_BIN=${RESTOHUB_BIN:-$target/release/restohub}
export LOADGEN_BIN=${LOADGEN_BIN:-$target/release/examples/loadgen}

dir=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
seeds=()
for port in 17001 17002 17003; do
    mkdir -p "$dir/$port"
    redis-server --port $port --bind 127.0.0.1 --cluster-enabled yes \
        --cluster-config-file nodes.conf --cluster-node-timeout 2000 \
        --save "" --appendonly no --dir "$dir/$port" > "$dir/$port.log" 2>&1 &
    pids+=($!)
    seeds+=(127.0.0.1:$port)
done
for port in 17001 17002 17003; do
    for _ in $(seq 1 50); do redis-cli -p $port ping > /dev/null 2>&1 && break; sleep 0.1; done
done
redis-cli --cluster create "${seeds[@]}" --cluster-replicas 0 --cluster-yes > /dev/null
for port in 17001 17002 17003; do
    until redis-cli -p $port cluster info | grep -q cluster_state:ok; do sleep 0.1; done
done

echo "### one Redis server (127.0.0.1:6379)"
env -u RESTOHUB_REDIS_CLUSTER REDIS_URL=redis://127.0.0.1:6379 \
    bench/chain.sh postgres "$instances" "$rate" "$screens" "$restaurants" "$seconds"
echo "### Redis Cluster, three masters, sharded pub/sub"
RESTOHUB_REDIS_CLUSTER=true \
    REDIS_URL=redis://127.0.0.1:17001,redis://127.0.0.1:17002,redis://127.0.0.1:17003 \
    bench/chain.sh postgres "$instances" "$rate" "$screens" "$restaurants" "$seconds"
for port in 17001 17002 17003; do
    echo "master $port: $(redis-cli -p $port info stats | grep -E '^total_commands_processed' | tr -d '\r')"
done
