#!/usr/bin/env bash
# PostgreSQL's CPU per order for the hub's placement SQL with parts of it
# taken away, beside the Socket.IO peer's transaction: how much of the gap
# to the peer each part of the design accounts for (issue 22, "Session 13").
#
#   bench/pg_floor.sh [rounds]          (default 3)
#
# Makes three databases on postgres@127.0.0.1:5432: the hub's (`restohub
# demo`, stock untracked, 20,000 closed orders so the key's lookup is
# planned as in a live database, analyzed), a copy of it without the
# secondary indexes of orders and lines and their two foreign keys, and the
# peer's schema (../shared/peer/sio-hub.js) with its ten items. Then, in
# turn for each round, pgbench (prepared statements, 2 clients, 200
# transactions/s, 12 s) runs one of:
#   log      bench/place_order.sql as the hub runs it: the read, then the
#            write (statistics, seq, events, room index, order, line)
#   no-stats the write without the statistics and the room index
#   no-log   the write without those, the events and the table's open-check
#            lookup: the seq, the order and its line
#   bare     no-log on the copy without secondary indexes and keys
#   peer     the peer's transaction: BEGIN, the item read, its versioned
#            stock update, the order, its line, COMMIT
# and prints the CPU of that database's backends per transaction (10 s in
# the middle of the run) and, at the end, each variant's median and the
# median of its per-round ratios to the peer. The databases are dropped.
# RESTOHUB_BIN runs another build of the hub. About a minute a round.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
hub=${RESTOHUB_BIN:-./target/release/restohub}
pg=postgres://postgres@127.0.0.1:5432
work=$(mktemp -d)
cleanup() {
    [ -n "${hubpid:-}" ] && kill "$hubpid" 2>/dev/null || true
    for db in floor_hub floor_bare floor_peer; do
        psql -q "$pg/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
for db in floor_hub floor_bare floor_peer; do
    psql -q "$pg/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" 2>/dev/null
done
listen=127.0.0.1:$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
"$hub" demo --data-dir "$work" --listen "$listen" --database-url "$pg/floor_hub?sslmode=disable" >"$work/hub.log" 2>&1 &
hubpid=$!
for _ in $(seq 150); do curl -sf "http://$listen/health/ready" >/dev/null 2>&1 && break; sleep 0.2; done
curl -sf "http://$listen/health/ready" >/dev/null || { cat "$work/hub.log" >&2; exit 1; }
kill "$hubpid"; wait "$hubpid" 2>/dev/null || true; hubpid=
psql -q "$pg/floor_hub" -c "UPDATE menu_items SET stock = NULL" \
    -c "INSERT INTO orders (restaurant_id, source, status, note, total_cents, placed_by_user,
        placed_by_role, idempotency_key, request_hash, created_at, updated_at, business_day,
        hour_start, placed_seq) SELECT 1, 'takeaway', 'closed', '', 100, 1, 'owner', 'seed-' || g,
        '', 0, 0, '2026-01-01', 0, 0 FROM generate_series(1, 20000) g" -c "VACUUM ANALYZE"
psql -q "$pg/postgres" -c "DROP DATABASE floor_bare" -c "CREATE DATABASE floor_bare TEMPLATE floor_hub"
psql -q "$pg/floor_bare" -c "DROP INDEX orders_by_status, orders_by_day, orders_by_check,
        orders_by_table, orders_in_kitchen_by_age, orders_by_placed_seq, order_lines_by_order,
        order_lines_by_status, order_lines_by_restaurant_order, order_lines_held,
        order_lines_open_fired_by_start" \
    -c "ALTER TABLE orders DROP CONSTRAINT orders_restaurant_id_table_id_fkey" \
    -c "ALTER TABLE order_lines DROP CONSTRAINT order_lines_restaurant_id_menu_item_id_fkey" \
    -c "VACUUM ANALYZE"
psql -q "$pg/floor_peer" -f bench/peer_schema.sql -c "VACUUM ANALYZE"
cat >"$work/peer.sql" <<'EOF'
\set item random(1, 10)
BEGIN ISOLATION LEVEL READ COMMITTED;
SELECT id, price_cents, stock, version FROM menu_items WHERE id = :item AND restaurant_id = 1 \gset
UPDATE menu_items SET stock = stock - 1, version = version + 1 WHERE id = :item AND version = :version AND stock >= 1;
INSERT INTO orders(restaurant_id, table_id, total_cents) VALUES (1, 1, 1000) RETURNING id AS o_id \gset
INSERT INTO order_items VALUES (:o_id, :item, 1, 0);
COMMIT;
EOF
# The write's variants: its CTEs (h, i, s, e, er, o, l) split at the top
# level, some left out.
python3 - bench/place_order.sql "$work" <<'EOF'
import sys
src, work = sys.argv[1], sys.argv[2]
lines = open(src).read().split('\n')
head = [l for l in lines if l.startswith(('--', '\\'))]
read, write = [l for l in lines if l.strip() and not l.startswith(('--', '\\'))]
s, parts, depth, start, i = write[len('WITH '):], [], 0, 0, 0
while i < len(s):
    c = s[i]
    if c == "'":
        escaped, j = s[i - 1] == 'E', i + 1
        while True:
            if escaped and s[j] == '\\':
                j += 2
            elif s[j] == "'" and s[j + 1:j + 2] == "'":
                j += 2
            elif s[j] == "'":
                break
            else:
                j += 1
        i = j + 1
        continue
    if c == '(':
        depth += 1
    elif c == ')':
        depth -= 1
        if depth == 0:
            parts.append(s[start:i + 1].strip().lstrip(',').strip())
            start = i + 1
            if not s[start:].lstrip().startswith(','):
                final = s[start:].strip()
                break
    i += 1
names = [p.split(' ', 1)[0] for p in parts]
assert names == ['h', 'i', 's', 'e', 'er', 'o', 'l'], names
def without(drop, end):
    kept = [p.replace(' AND (SELECT count(*) FROM i) >= 0', '')
            for p, n in zip(parts, names) if n not in drop]
    return 'WITH ' + ', '.join(kept) + ' ' + end
for name, sql in (('log', write),
                  ('no-stats', without({'h', 'i', 'er'}, final)),
                  ('no-log', without({'h', 'i', 'e', 'er'}, 'SELECT base FROM s;'))):
    open(f'{work}/{name}.sql', 'w').write('\n'.join(head + [read, sql]) + '\n')
EOF
cp "$work/no-log.sql" "$work/bare.sql"
cpu() { # CPU seconds of the backends connected to database $1
    python3 - "$1" <<'EOF'
import os, sys
db, total = sys.argv[1], 0.0
for p in filter(str.isdigit, os.listdir('/proc')):
    try:
        cmd = open(f'/proc/{p}/cmdline', 'rb').read().replace(b'\0', b' ').decode()
        if cmd.startswith('postgres: ') and f' {db} ' in cmd:
            f = open(f'/proc/{p}/stat').read().split(') ')[1].split(' ')
            total += (int(f[11]) + int(f[12])) / os.sysconf('SC_CLK_TCK')
    except OSError:
        pass
print(total)
EOF
}
: >"$work/results"
for r in $(seq "$rounds"); do
    for v in log no-stats no-log bare peer; do
        case $v in bare) db=floor_bare ;; peer) db=floor_peer ;; *) db=floor_hub ;; esac
        psql -q "$pg/$db" -c "VACUUM"
        pgbench -n -M prepared -h 127.0.0.1 -U postgres -c 2 -j 1 -R 200 -T 12 -f "$work/$v.sql" "$db" \
            >"$work/pgbench.out" 2>&1 &
        bench=$!
        sleep 1.5
        c0=$(cpu "$db"); t0=$(date +%s.%N)
        sleep 10
        c1=$(cpu "$db"); t1=$(date +%s.%N)
        wait "$bench" || { cat "$work/pgbench.out" >&2; exit 1; }
        tps=$(grep -oP 'tps = \K[0-9.]+' "$work/pgbench.out" | head -1)
        ms=$(python3 -c "print(round(1000 * ($c1 - $c0) / ($tps * ($t1 - $t0)), 3))")
        echo "round $r $v: PostgreSQL CPU $ms ms per transaction ($tps tps)"
        echo "$r $v $ms" >>"$work/results"
    done
done
python3 - "$work/results" <<'EOF'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    r, v, ms = line.split()
    runs.setdefault(v, {})[r] = float(ms)
for v, by in runs.items():
    ratios = [ms / runs['peer'][r] for r, ms in by.items()]
    print(f"{v:9} median {statistics.median(by.values()):.3f} ms ({min(by.values()):.3f}-{max(by.values()):.3f}),"
          f" {statistics.median(ratios):.2f}x the peer's ({min(ratios):.2f}-{max(ratios):.2f})")
EOF
