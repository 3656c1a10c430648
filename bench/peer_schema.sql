-- The Socket.IO peer's schema (../shared/peer/sio-hub.js) with its ten
-- items, for benchmarks that run its transaction beside the hub's:
-- bench/pg_instructions.sh peer, bench/pg_floor.sh.
CREATE TABLE menu_items(id bigint primary key, restaurant_id bigint not null,
  name text not null, price_cents int not null, stock int check (stock >= 0), version int not null default 0);
CREATE TABLE orders(id bigserial primary key, restaurant_id bigint not null, table_id bigint,
  total_cents int not null, status text not null default 'placed', created_at timestamptz default now());
CREATE TABLE order_items(order_id bigint not null, menu_item_id bigint not null, qty int not null,
  price_cents int not null);
INSERT INTO menu_items SELECT g, 1, 'item' || g, 1000, 100000000 FROM generate_series(1, 10) g;
