#!/usr/bin/env bash
# PostgreSQL's own instructions per order placement, counted by callgrind:
# stable to a few in ten thousand on a box whose CPU times move by 2x
# between hours (issue 22, "Session 10" in BENCHMARKS.md).
#
#   bench/pg_instructions.sh [hub|peer] [sql...]
#
# hub (default): starts a private PostgreSQL (initdb in a temp dir, a free
# port), has the hub make and seed its database (`restohub demo`, stopped
# once ready), runs each extra SQL statement given (schema variants to
# compare, e.g. "ALTER TABLE events DROP CONSTRAINT events_restaurant_id_fkey"),
# stops the server, then runs bench/place_order.sql's two statements in a
# single-user backend under callgrind, prepared once and executed 50 and
# then 250 times on fresh copies of the database, and prints the
# instructions per placement, (I250 - I50) / 200: one backend's user-space
# work, without the kernel's (sockets, the commit's flush) or the protocol's.
# peer: the same for the Socket.IO peer's transaction on its own schema
# (../shared/peer/sio-hub.js: BEGIN, the item read, its versioned stock
# update, the order, its line, COMMIT).
#
# Needs valgrind and PostgreSQL's server binaries (/usr/lib/postgresql/*/bin);
# as root, runs PostgreSQL as the `postgres` user. RESTOHUB_BIN runs another
# build of the hub, PLACE_SQL another placement's SQL (both: a build as it
# was, beside this one). About a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-hub}; shift || true
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
hub=${RESTOHUB_BIN:-./target/release/restohub}
work=$(mktemp -d)
chmod 777 "$work"
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -c "$*"; else sh -c "$*"; fi; }
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
port=$(free_port)
cleanup() {
    as_pg "$bin/pg_ctl -D $work/data stop -m immediate" >/dev/null 2>&1 || true
    [ -n "${hubpid:-}" ] && kill "$hubpid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
as_pg "$bin/initdb -D $work/data -A trust -U postgres" >/dev/null
as_pg "$bin/pg_ctl -D $work/data -l $work/log -o '-p $port -k $work -c autovacuum=off' -w start" >/dev/null
url=postgres://postgres@127.0.0.1:$port
psql -q "$url/postgres" -c "CREATE DATABASE bench"
if [ "$what" = hub ]; then
    listen=127.0.0.1:$(free_port)
    "$hub" demo --data-dir "$work" --listen "$listen" --database-url "$url/bench?sslmode=disable" \
        >"$work/hub.log" 2>&1 &
    hubpid=$!
    for _ in $(seq 150); do curl -sf "http://$listen/health/ready" >/dev/null 2>&1 && break; sleep 0.2; done
    curl -sf "http://$listen/health/ready" >/dev/null || { cat "$work/hub.log" >&2; exit 1; }
    kill "$hubpid"; wait "$hubpid" 2>/dev/null || true; hubpid=
    psql -q "$url/bench" -c "UPDATE menu_items SET stock = NULL"
    for sql in "$@"; do psql -q "$url/bench" -c "$sql"; done
else
    psql -q "$url/bench" -f bench/peer_schema.sql
fi
as_pg "$bin/pg_ctl -D $work/data stop -m fast" >/dev/null
# The statements, executed n times: a single-user backend reads one per line.
python3 - "$what" "$work" "${PLACE_SQL:-bench/place_order.sql}" <<'EOF'
import sys
what, work, place = sys.argv[1], sys.argv[2], sys.argv[3]
if what == 'hub':
    lines = [l for l in open(place) if l.strip() and not l.startswith(('--', '\\'))]
    read, write = (l.strip().removesuffix('\\gset').strip().rstrip(';') for l in lines)
    key = "(:key)::TEXT"
    read = read.replace(key, '$1')
    write = (write.replace(key, '$1').replace('(:order_id)::BIGINT', "currval('orders_id_seq')")
             .replace('(:line_id)::BIGINT', "currval('order_lines_id_seq')"))
    assert ':key' not in read + write and ':order_id' not in write and ':line_id' not in write
    head = [f"PREPARE r(text) AS {read}", f"PREPARE w(text) AS {write}"]
    one = lambda i: [f"EXECUTE r('bench-{i}')", f"EXECUTE w('bench-{i}')"]
else:
    head = ["PREPARE s(bigint) AS SELECT id, price_cents, stock, version FROM menu_items WHERE id = $1 AND restaurant_id = 1",
            "PREPARE u(int, bigint, int) AS UPDATE menu_items SET stock = stock - $1, version = version + 1 "
            "WHERE id = $2 AND version = $3 AND stock >= $1",
            "PREPARE o(bigint, bigint, int) AS INSERT INTO orders(restaurant_id, table_id, total_cents) "
            "VALUES ($1, $2, $3) RETURNING id, created_at",
            "PREPARE l(bigint, bigint, int) AS INSERT INTO order_items VALUES ($1, $2, $3, 0)"]
    version = {}
    def one(i):
        item = i % 10 + 1
        v = version.get(item, 0); version[item] = v + 1
        return ["BEGIN ISOLATION LEVEL READ COMMITTED", f"EXECUTE s({item})", f"EXECUTE u(1, {item}, {v})",
                "EXECUTE o(1, 1, 1000)", f"EXECUTE l(currval('orders_id_seq'), {item}, 1)", "COMMIT"]
for n in (50, 250):
    version = {}
    out = list(head)
    for i in range(n):
        out += one(i)
    open(f'{work}/run_{n}.sql', 'w').write('\n'.join(out) + '\n')
EOF
chmod 644 "$work"/run_*.sql
count() {
    as_pg "echo 'CREATE DATABASE run TEMPLATE bench' | $bin/postgres --single -D $work/data postgres" >/dev/null 2>&1
    as_pg "valgrind --tool=callgrind --callgrind-out-file=$work/cg.$1 $bin/postgres --single -D $work/data run < $work/run_$1.sql" 2>&1 |
        grep -oP 'Collected : \K[0-9]+'
    as_pg "echo 'DROP DATABASE run' | $bin/postgres --single -D $work/data postgres" >/dev/null 2>&1
}
a=$(count 50)
b=$(count 250)
echo "$what: $(( (b - a) / 200 )) PostgreSQL instructions per placement"
