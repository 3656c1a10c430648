// The manager's dashboard: the live statistics the hub pushes to the
// `dashboard:{r}` room (one complete snapshot at a time, so the page just
// redraws), charts drawn here as SVG, the alerts a manager acts on (late
// tickets, unattended stations, screens behind), the 86 list with one-tap
// restock and 86, and the small administration of menu, tables and staff.
//
// Every figure is the hub's: money in the restaurant's currency, times in
// its zone, ages as of the hub's clock (the snapshot's `at`), never this
// device's clock.

import {
  h, fill, $, api, showError, notify, money, parseMoney, clock, duration,
  useRestaurant, staffLive, connectionBadge, header, requireStaff, HubError,
} from './hub.js';

const SVG = 'http://www.w3.org/2000/svg';
/** How many recent events are kept to replay over a snapshot read meanwhile. */
const RECENT = 500;
/** Sales by hour come from analytics: asked again at most this often. */
const HOURLY_EVERY_MS = 1000;

const state = {
  restaurant: null,
  live: null,
  stats: null, // the latest `dashboard` frame
  hubAt: null, // the hub's clock at that frame (ms)
  menu: new Map(), // id → menu item
  menuSeq: 0,
  categories: [],
  stations: new Map(), // id → station (with targets)
  tables: [],
  users: [],
  orders: new Map(), // orders in the kitchen: id → {id, table_id, source, status, lines}
  kitchenSeq: 0,
  late: new Map(), // `${order}:${station}` → ticket.late data
  unattended: new Map(), // station id → station.unattended data
  behind: new Map(), // `${station}:${screen}` → screen.behind data
  recent: [], // the last events, to replay over a snapshot
  hourly: null, // analytics buckets of today, by hour
  hourlyAt: 0,
  hourlyKey: '',
  hourlyTimer: null,
  restockDraft: new Map(), // item id → quantity typed for its restock
  priceDraft: new Map(), // item id → price typed in the admin list
};

const view = {};

/** "1 ticket", "3 tickets". */
const count = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

// ---------------------------------------------------------------- start

start().catch(showError);

async function start() {
  requireStaff();
  const restaurant = await api('GET', '/api/v1/restaurant');
  state.restaurant = restaurant;
  useRestaurant(restaurant);
  build();
  const badge = view.badge;
  state.live = staffLive({
    // The kitchen room too: line statuses tell when a late ticket is done.
    rooms: [`kitchen:${restaurant.id}`],
    onState: (s, why) => badge.update(s, why),
    onSync: sync,
    onEvent: event,
    onOther: other,
  }).start();
  loadAdmin().catch(showError);
  window.addEventListener('hashchange', showTab);
  showTab();
}

/** After the first welcome and after `resync_required`: redraw from snapshots. */
async function sync(live, welcome) {
  if (!welcome.rooms.some((r) => r.startsWith('dashboard:'))) {
    fill(view.notice, 'The dashboard is for owners and managers: sign in with such an account.');
    view.notice.classList.remove('hidden');
    return;
  }
  state.late.clear();
  state.unattended.clear();
  state.behind.clear();
  await Promise.all([menuSnapshot(), kitchenSnapshot(), loadStations()]);
  await screensBehind();
  drawAlerts();
}

// ---------------------------------------------------------------- layout

function build() {
  view.badge = connectionBadge();
  const tabs = h('div', { class: 'tabs', role: 'tablist' },
    h('a', { class: 'button tab', id: 'tab-live', href: '#live', role: 'tab' }, 'Live'),
    h('a', { class: 'button tab', id: 'tab-admin', href: '#admin', role: 'tab' }, 'Admin'));
  view.notice = h('div', { class: 'card notice hidden', id: 'notice' });

  // Live: figures, alerts, charts, the 86 list, top items.
  view.kpis = h('section', { class: 'kpis', id: 'kpis', 'aria-label': 'Today' });
  view.day = h('span', { class: 'muted', id: 'business-day' });
  view.late = h('ul', { class: 'alerts', id: 'late-list' });
  view.alerts = h('ul', { class: 'alerts', id: 'alerts-list' });
  view.sales = h('div', { class: 'chart', id: 'chart-sales' });
  view.perHour = h('div', { class: 'chart', id: 'chart-orders' });
  view.queues = h('div', { class: 'chart', id: 'chart-queues' });
  view.times = h('div', { class: 'chart', id: 'chart-times' });
  view.kitchen = h('p', { class: 'muted', id: 'kitchen-times' });
  view.eightySixed = h('ul', { class: 'stock-list', id: 'eighty-sixed' });
  view.lowStock = h('ul', { class: 'stock-list', id: 'low-stock' });
  view.stockItems = h('ul', { class: 'stock-list', id: 'stock-items' });
  view.top = h('div', { id: 'top-items', class: 'top' });
  view.livePane = h('div', { id: 'live', class: 'pane' },
    h('div', { class: 'row' }, h('h2', {}, 'Today'), view.day),
    view.kpis,
    h('div', { class: 'dash-grid' },
      h('section', { class: 'card alerts-card' },
        h('h2', {}, 'Late tickets'), view.late,
        h('h2', {}, 'Stations and screens'), view.alerts),
      h('section', { class: 'card stock-card', id: 'stock' },
        h('h2', {}, "86'd and sold out"), view.eightySixed,
        h('h2', {}, 'Low stock'), view.lowStock,
        h('details', { class: 'all-items' },
          h('summary', {}, 'All items: 86 or restock'), view.stockItems)),
      h('section', { class: 'card' }, h('h2', {}, 'Sales by hour'), view.sales),
      h('section', { class: 'card' }, h('h2', {}, 'Station queues'), view.queues),
      h('section', { class: 'card' }, h('h2', {}, 'Ticket times'), view.kitchen, view.times),
      h('section', { class: 'card' }, h('h2', {}, 'Orders per hour (last 24 h)'), view.perHour),
      h('section', { class: 'card top-card' }, h('h2', {}, 'Top items'), view.top)));

  // Admin: menu, tables, staff.
  view.menuRows = h('tbody', { id: 'menu-rows' });
  view.tableRows = h('tbody', { id: 'table-rows' });
  view.staffRows = h('tbody', { id: 'staff-rows' });
  view.newItemCategory = h('select', { id: 'new-item-category' });
  view.newItemStation = h('select', { id: 'new-item-station' });
  view.adminPane = h('div', { id: 'admin', class: 'pane hidden' },
    h('section', { class: 'card', id: 'admin-menu' },
      h('h2', {}, 'Menu items'),
      h('form', { class: 'inline-form', id: 'new-item', onsubmit: createItem },
        field('Name', h('input', { id: 'new-item-name', required: true, maxlength: 100, autocomplete: 'off' })),
        field('Price', h('input', { id: 'new-item-price', required: true, inputmode: 'decimal', placeholder: '12.50', autocomplete: 'off' })),
        field('Category', view.newItemCategory),
        field('Station', view.newItemStation),
        field('Stock (empty: not counted)', h('input', { id: 'new-item-stock', type: 'number', min: 0, inputmode: 'numeric' })),
        field('Low at', h('input', { id: 'new-item-low', type: 'number', min: 0, value: '3', inputmode: 'numeric' })),
        h('button', { class: 'primary', id: 'new-item-create', type: 'submit' }, 'Add item')),
      h('div', { class: 'scroll' },
        h('table', { class: 'data' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Item'), h('th', {}, 'Category'), h('th', {}, 'Price'),
            h('th', {}, 'Stock'), h('th', {}, 'Available'))),
          view.menuRows))),
    h('section', { class: 'card', id: 'admin-tables' },
      h('h2', {}, 'Tables'),
      h('form', { class: 'inline-form', id: 'new-table', onsubmit: createTable },
        field('Label', h('input', { id: 'new-table-label', required: true, maxlength: 30, autocomplete: 'off' })),
        field('Seats', h('input', { id: 'new-table-seats', type: 'number', min: 1, max: 100, value: '4', required: true })),
        h('button', { class: 'primary', id: 'new-table-create', type: 'submit' }, 'Add table')),
      h('div', { class: 'scroll' },
        h('table', { class: 'data' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Table'), h('th', {}, 'Seats'), h('th', {}, 'Status'),
            h('th', {}, 'Guest code and link'), h('th', {}, ''))),
          view.tableRows))),
    h('section', { class: 'card', id: 'admin-staff' },
      h('h2', {}, 'Staff'),
      h('form', { class: 'inline-form', id: 'new-user', onsubmit: createUser },
        field('Name', h('input', { id: 'new-user-name', required: true, autocomplete: 'off' })),
        field('Email', h('input', { id: 'new-user-email', type: 'email', required: true, autocomplete: 'off' })),
        field('Role', h('select', { id: 'new-user-role' },
          ['waiter', 'chef', 'cashier', 'manager', 'owner'].map((r) => h('option', { value: r }, r)))),
        field('Password (8+)', h('input', { id: 'new-user-password', type: 'password', minlength: 8, required: true, autocomplete: 'new-password' })),
        h('button', { class: 'primary', id: 'new-user-create', type: 'submit' }, 'Add person')),
      h('div', { class: 'scroll' },
        h('table', { class: 'data' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Email'), h('th', {}, 'Role'), h('th', {}, ''))),
          view.staffRows))));

  fill($('#app'),
    header('Dashboard', view.badge, [tabs]),
    h('main', {}, view.notice, view.livePane, view.adminPane));
  drawStats();
  drawAlerts();
}

function field(text, input) {
  return h('label', { class: 'field' }, h('span', {}, text), input);
}

function showTab() {
  const admin = location.hash === '#admin';
  view.livePane.classList.toggle('hidden', admin);
  view.adminPane.classList.toggle('hidden', !admin);
  $('#tab-live').classList.toggle('active', !admin);
  $('#tab-admin').classList.toggle('active', admin);
  $('#tab-live').setAttribute('aria-selected', String(!admin));
  $('#tab-admin').setAttribute('aria-selected', String(admin));
}

// ---------------------------------------------------------------- live frames

function other(msg) {
  if (msg.type !== 'dashboard') return;
  // Each frame is complete: it replaces the one before.
  state.stats = msg;
  state.hubAt = Date.parse(msg.at);
  drawStats();
  drawAlerts();
  hourlySoon();
}

function event(frame) {
  state.recent.push(frame);
  if (state.recent.length > RECENT) state.recent.shift();
  applyMenu(frame);
  applyKitchen(frame);
  applyAlerts(frame);
}

function applyMenu(frame) {
  if (frame.seq <= state.menuSeq) return;
  const d = frame.data;
  const item = d && state.menu.get(d.menu_item_id);
  if (!item) return;
  if (frame.kind === 'menu.stock_changed') item.stock = d.stock;
  else if (frame.kind === 'menu.availability_changed') item.available = d.available;
  else return;
  drawStock();
  drawMenuRows();
}

function applyKitchen(frame) {
  if (frame.seq <= state.kitchenSeq) return;
  const d = frame.data;
  switch (frame.kind) {
    case 'order.placed':
      state.orders.set(d.id, trackOrder(d));
      break;
    case 'order.line_status_changed': {
      const order = state.orders.get(d.order_id);
      const line = order && order.lines.find((l) => l.id === d.line_id);
      if (line) line.status = d.status;
      settleLate(d.order_id);
      break;
    }
    case 'order.status_changed': {
      const order = state.orders.get(d.order_id);
      if (order) order.status = d.status;
      if (['ready', 'served', 'closed'].includes(d.status)) dropLate(d.order_id);
      if (d.status === 'closed') state.orders.delete(d.order_id);
      break;
    }
    case 'order.cancelled':
      dropLate(d.order_id);
      state.orders.delete(d.order_id);
      break;
    case 'ticket.late':
      state.late.set(`${d.order_id}:${d.station_id}`, d);
      settleLate(d.order_id);
      break;
    default:
      return;
  }
  drawAlerts();
}

function applyAlerts(frame) {
  const d = frame.data;
  switch (frame.kind) {
    case 'station.unattended': state.unattended.set(d.station_id, d); break;
    case 'station.attended': state.unattended.delete(d.station_id); break;
    case 'screen.behind': state.behind.set(`${d.station_id}:${d.screen}`, d); break;
    case 'screen.caught_up': state.behind.delete(`${d.station_id}:${d.screen}`); break;
    default: return;
  }
  drawAlerts();
}

function trackOrder(order) {
  return {
    id: order.id,
    table_id: order.table_id,
    source: order.source,
    status: order.status,
    lines: (order.lines || []).map((l) => ({ id: l.id, station_id: l.station_id, status: l.status })),
  };
}

const open = (line) => line.status === 'queued' || line.status === 'preparing';

/** A late ticket leaves the list once its station has nothing of it open. */
function settleLate(orderId) {
  const order = state.orders.get(orderId);
  if (!order) return;
  for (const [key, late] of state.late) {
    if (late.order_id !== orderId) continue;
    const left = order.lines.filter((l) => l.station_id === late.station_id && open(l)).length;
    if (left === 0) state.late.delete(key);
    else late.open_lines = left;
  }
}

function dropLate(orderId) {
  for (const [key, late] of state.late) if (late.order_id === orderId) state.late.delete(key);
}

// ---------------------------------------------------------------- snapshots

async function menuSnapshot() {
  const ack = await state.live.command('menu.snapshot');
  state.menu = new Map(ack.items.map((i) => [i.id, i]));
  state.categories = ack.categories;
  state.menuSeq = ack.seq;
  // Events read meanwhile but newer than the snapshot still count.
  for (const frame of state.recent) if (frame.seq > ack.seq) applyMenu(frame);
  drawStock();
  drawMenuRows();
  drawCategoryChoices();
}

/** Orders in the kitchen, and which of their tickets are late already. */
async function kitchenSnapshot() {
  const ack = await state.live.command('kitchen.snapshot');
  const now = Date.parse(ack.hub_time);
  state.orders = new Map();
  for (const ticket of ack.tickets) {
    const order = trackOrder(ticket.order);
    state.orders.set(order.id, order);
    for (const timer of ticket.timers || []) {
      const left = order.lines.filter((l) => l.station_id === timer.station_id && open(l)).length;
      if (left > 0 && Date.parse(timer.due_at) < now) {
        state.late.set(`${order.id}:${timer.station_id}`, {
          order_id: order.id, station_id: timer.station_id, table_id: order.table_id,
          source: order.source, timer, open_lines: left, late_at: timer.due_at,
        });
      }
    }
  }
  state.kitchenSeq = ack.seq;
  for (const frame of state.recent) if (frame.seq > ack.seq) applyKitchen(frame);
}

/** Screens flagged behind before this page opened (their events are not replayed). */
async function screensBehind() {
  for (const station of state.stations.values()) {
    try {
      const screens = await api('GET', `/api/v1/stations/${station.id}/screens`);
      const rows = Array.isArray(screens) ? screens : screens.items || [];
      for (const s of rows) {
        if (s.behind) state.behind.set(`${station.id}:${s.screen}`, { station_id: station.id, screen: s.screen, seen_seq: s.seen_seq, seen_at: s.seen_at });
      }
    } catch (err) { showError(err); }
  }
}

/** Every row of a list endpoint (§5), page after page. */
async function all(path) {
  const rows = [];
  let after = null;
  for (;;) {
    const sep = path.includes('?') ? '&' : '?';
    const page = await api('GET', `${path}${sep}limit=200${after === null ? '' : `&after=${after}`}`);
    rows.push(...page.items);
    if (page.next_after === undefined || page.next_after === null) return rows;
    after = page.next_after;
  }
}

async function loadStations() {
  const stations = await all('/api/v1/stations');
  state.stations = new Map(stations.map((s) => [s.id, s]));
  drawCategoryChoices();
  drawStats();
}

async function loadAdmin() {
  const [tables, users] = await Promise.all([all('/api/v1/tables'), all('/api/v1/users')]);
  state.tables = tables;
  state.users = users;
  drawTableRows();
  drawStaffRows();
  drawAlerts();
}

// ---------------------------------------------------------------- sales by hour (analytics)

/**
 * Asks analytics for today's hours again when the figures moved (a new
 * `seq` or another day), at most once a second; otherwise once a minute.
 */
function hourlySoon() {
  const stats = state.stats;
  if (state.hourlyTimer || !stats) return;
  const moved = state.hourlyKey !== `${stats.business_day}:${stats.seq}`;
  const every = moved ? HOURLY_EVERY_MS : 60000;
  const wait = Math.max(0, state.hourlyAt + every - Date.now());
  if (!moved && wait > 0) return;
  state.hourlyTimer = setTimeout(() => {
    state.hourlyTimer = null;
    loadHourly().catch(() => { /* asked again with the next frame */ });
  }, wait);
}

async function loadHourly() {
  const stats = state.stats;
  if (!stats) return;
  state.hourlyAt = Date.now();
  state.hourlyKey = `${stats.business_day}:${stats.seq}`;
  const day = stats.business_day;
  const reply = await api('GET', `/api/v1/analytics?from=${day}&to=${day}&group_by=hour&limit=30`);
  state.hourly = reply.buckets;
  drawSales();
}

// ---------------------------------------------------------------- drawing: figures

function kpi(id, label, text, data, sub) {
  return h('div', { class: 'kpi', id, dataset: data },
    h('div', { class: 'kpi-label' }, label),
    h('div', { class: 'kpi-value num' }, text),
    sub ? h('div', { class: 'kpi-sub muted' }, sub) : null);
}

function drawStats() {
  const s = state.stats;
  if (!s) {
    fill(view.kpis, h('p', { class: 'muted' }, 'Waiting for the hub’s figures…'));
    return;
  }
  const t = s.today;
  const m = s.money;
  const o = s.open_orders;
  const revenue = t.revenue_closed_cents + t.revenue_open_cents;
  fill(view.day, `${s.business_day} · as of ${clock(s.at)}`);
  fill(view.kpis,
    kpi('revenue', 'Revenue today', money(revenue), { cents: revenue },
      `${money(t.revenue_closed_cents)} closed · ${money(t.revenue_open_cents)} open`),
    kpi('orders', 'Orders', String(t.orders), { count: t.orders },
      t.average_order_cents === undefined || t.average_order_cents === null ? 'no orders yet' : `average ${money(t.average_order_cents)}`),
    kpi('net-sales', 'Paid sales (net)', money(m.net_sales_cents), { cents: m.net_sales_cents },
      `${count(m.paid_checks, 'check')} · average ${money(m.average_check_cents)}`),
    kpi('tips', 'Tips', money(m.tips_cents), { cents: m.tips_cents },
      `card ${money(m.payments.card.amount_cents)} · cash ${money(m.payments.cash.amount_cents)}`),
    kpi('open-checks', 'Open checks', String(m.open_checks.count), { count: m.open_checks.count },
      `${money(m.open_checks.due_cents)} due`),
    kpi('open-orders', 'In the kitchen', String(o.placed + o.in_progress), { count: o.placed + o.in_progress },
      `${o.ready} ready · ${o.served} served`),
    kpi('kitchen-avg', 'Kitchen time', t.kitchen.average_ms == null ? '–' : duration(t.kitchen.average_ms),
      { ms: t.kitchen.average_ms == null ? '' : t.kitchen.average_ms },
      t.kitchen.p90_ms == null ? 'no ready orders yet' : `p90 ${duration(t.kitchen.p90_ms)}`),
    kpi('tables', 'Tables occupied', String(s.tables_occupied), { count: s.tables_occupied },
      `${count(s.covers, 'seat')} · ${t.cancellations.count} cancelled (${money(t.cancellations.cents)})`));
  drawSales();
  drawPerHour();
  drawQueues();
  drawTimes();
  drawTop();
}

function drawTop() {
  const s = state.stats;
  const list = (rows, value) => rows.length
    ? h('ol', { class: 'top-list' }, rows.map((r) => h('li', { dataset: { itemId: r.menu_item_id } },
      h('span', { class: 'grow' }, r.name), h('span', { class: 'num' }, value(r)))))
    : h('p', { class: 'muted' }, 'Nothing sold yet today.');
  fill(view.top,
    h('div', {}, h('h3', {}, 'By quantity'), list(s.top_by_qty, (r) => `${r.qty} ×`)),
    h('div', {}, h('h3', {}, 'By revenue'), list(s.top_by_revenue, (r) => money(r.revenue_cents))));
}

// ---------------------------------------------------------------- drawing: charts

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/**
 * Vertical bars: [{label, value, text, cls}]; a label under every
 * `labelEvery`-th bar, the value's text above each bar when there is room.
 */
function columns(bars, { label, labelEvery = 1, showValues = bars.length <= 12 }) {
  const W = 420; const H = 150; const top = 18; const bottom = 22; const side = 24;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const step = (W - 2 * side) / Math.max(1, bars.length);
  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart-svg', role: 'img', 'aria-label': label });
  chart.append(svg('line', { x1: 0, x2: W, y1: H - bottom + 0.5, y2: H - bottom + 0.5, class: 'axis' }));
  bars.forEach((b, i) => {
    const height = Math.round((b.value / max) * (H - top - bottom));
    const x = side + i * step + step * 0.12;
    const y = H - bottom - height;
    chart.append(svg('rect', { x, y, width: step * 0.76, height: Math.max(height, b.value > 0 ? 2 : 0), rx: 3, class: `bar ${b.cls || ''}` },
      svg('title', {}, `${b.label}: ${b.text}`)));
    if (showValues && b.value > 0) {
      chart.append(svg('text', { x: x + step * 0.38, y: y - 5, class: 'value', 'text-anchor': 'middle' }, b.text));
    }
    if (i % labelEvery === 0) {
      chart.append(svg('text', { x: x + step * 0.38, y: H - 6, class: 'label', 'text-anchor': 'middle' }, b.label));
    }
  });
  return chart;
}

/** Horizontal bars, one row per name, each row with one or more bars. */
function rowsChart(rows, { label, series }) {
  const W = 420; const rowH = 18 * series.length + 14; const nameW = 105; const valueW = 95;
  const H = Math.max(rowH * rows.length, 30);
  const max = Math.max(1, ...rows.flatMap((r) => series.map((s) => r.values[s.key] || 0)));
  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart-svg', role: 'img', 'aria-label': label });
  rows.forEach((r, i) => {
    const y0 = i * rowH + 7;
    chart.append(svg('text', { x: 0, y: y0 + 13, class: 'name' }, r.name));
    series.forEach((s, j) => {
      const v = r.values[s.key] || 0;
      const width = Math.round((v / max) * (W - nameW - valueW));
      const y = y0 + j * 18;
      chart.append(svg('rect', { x: nameW, y, width: Math.max(width, v > 0 ? 2 : 0), height: 15, rx: 3, class: `bar ${(r.cls && r.cls[s.key]) || s.cls}` },
        svg('title', {}, `${r.name}, ${s.name}: ${s.text(v, r)}`)));
      chart.append(svg('text', { x: nameW + width + 6, y: y + 12, class: 'value' }, s.text(v, r)));
    });
  });
  return chart;
}

function legend(series) {
  return h('div', { class: 'legend' }, series.map((s) => h('span', { class: `key ${s.cls}` }, s.name)));
}

function drawSales() {
  const buckets = state.hourly;
  if (!buckets) {
    fill(view.sales, h('p', { class: 'muted' }, 'Reading today’s sales…'));
    return;
  }
  const bars = buckets.map((b) => {
    const cents = b.figures.revenue_closed_cents + b.figures.revenue_open_cents;
    return { label: clock(b.start), value: cents, text: money(cents), cls: 'sales' };
  });
  const total = bars.reduce((sum, b) => sum + b.value, 0);
  fill(view.sales,
    columns(bars, { label: 'Sales by hour today', labelEvery: 4, showValues: false }),
    h('p', { class: 'muted' }, `Order value by the hour it was placed, ${money(total)} today.`));
}

function drawPerHour() {
  const s = state.stats;
  const bars = s.orders_per_hour.map((b) => ({ label: clock(b.hour_start), value: b.orders, text: String(b.orders), cls: 'orders' }));
  fill(view.perHour, columns(bars, { label: 'Orders per hour, the last 24 hours', labelEvery: 4, showValues: false }));
}

function lateSeconds(stationId) {
  const station = state.stations.get(stationId);
  return station && station.targets ? station.targets.dine_in.late_seconds : 480;
}

function drawQueues() {
  const stations = state.stats.stations;
  if (!stations.length) { fill(view.queues, h('p', { class: 'muted' }, 'No stations.')); return; }
  const series = [
    { key: 'tickets', name: 'tickets', cls: 'tickets', text: (v) => count(v, 'ticket') },
    { key: 'lines', name: 'lines', cls: 'lines', text: (v) => count(v, 'line') },
  ];
  const rows = stations.map((q) => ({ name: q.name, values: { tickets: q.tickets, lines: q.lines } }));
  fill(view.queues, legend(series), rowsChart(rows, { label: 'Open tickets and lines per station', series }),
    h('ul', { class: 'plain', id: 'queue-list' }, stations.map((q) => h('li', { dataset: { stationId: q.station_id, tickets: q.tickets } },
      `${q.name}: ${count(q.tickets, 'ticket')}, ${count(q.lines, 'line')}`,
      q.oldest_age_ms == null ? '' : `, oldest ${duration(q.oldest_age_ms)}`))));
}

function drawTimes() {
  const s = state.stats;
  const k = s.today.kitchen;
  fill(view.kitchen, k.average_ms == null
    ? 'No order has been ready today yet.'
    : `Placed to ready today: average ${duration(k.average_ms)}, 90% within ${duration(k.p90_ms)} (${count(k.orders, 'order')}).`);
  const series = [
    { key: 'average', name: 'average ticket today', cls: 'average', text: (v, r) => (r.done ? `${duration(v)} (${r.done})` : '–') },
    { key: 'oldest', name: 'oldest open ticket', cls: 'oldest', text: (v) => (v ? duration(v) : '–') },
  ];
  const rows = s.stations.map((q) => {
    const late = q.oldest_age_ms != null && q.oldest_age_ms > lateSeconds(q.station_id) * 1000;
    return {
      name: q.name,
      done: q.tickets_done_today,
      values: { average: q.average_ticket_ms || 0, oldest: q.oldest_age_ms || 0 },
      cls: late ? { oldest: 'late' } : null,
    };
  });
  fill(view.times, legend(series), rowsChart(rows, { label: 'Ticket times per station', series }));
}

// ---------------------------------------------------------------- drawing: alerts

const stationName = (id) => (state.stations.get(id) || {}).name || `station ${id}`;
const tableLabel = (id) => {
  if (id === null || id === undefined) return 'takeaway';
  const t = state.tables.find((x) => x.id === id);
  return t ? t.label : `table ${id}`;
};

function drawAlerts() {
  if (!view.late) return;
  const now = state.hubAt;
  const late = [...state.late.values()].sort((a, b) => Date.parse(a.timer.due_at) - Date.parse(b.timer.due_at));
  fill(view.late, late.length
    ? late.map((l) => h('li', { class: 'alert late', dataset: { orderId: l.order_id, stationId: l.station_id } },
      h('span', { class: 'badge late' }, 'late'),
      h('strong', {}, `Order ${l.order_id}`),
      h('span', {}, `${tableLabel(l.table_id)} · ${stationName(l.station_id)}`),
      h('span', { class: 'muted' }, `due ${clock(l.timer.due_at)}`,
        now && now > Date.parse(l.timer.due_at) ? ` · ${duration(now - Date.parse(l.timer.due_at))} over` : '',
        ` · ${count(l.open_lines, 'line')} open`)))
    : h('li', { class: 'muted empty' }, 'No late tickets.'));

  const items = [];
  for (const u of state.unattended.values()) {
    items.push(h('li', { class: 'alert late', dataset: { kind: 'unattended', stationId: u.station_id } },
      h('span', { class: 'badge late' }, 'unattended'),
      h('strong', {}, u.station || stationName(u.station_id)),
      h('span', {}, `no screen open, ${count(u.open_tickets, 'open ticket')}`)));
  }
  for (const b of state.behind.values()) {
    items.push(h('li', { class: 'alert caution', dataset: { kind: 'behind', stationId: b.station_id } },
      h('span', { class: 'badge caution' }, 'behind'),
      h('strong', {}, `${stationName(b.station_id)}: ${b.screen}`),
      h('span', { class: 'muted' }, b.seen_at ? `last showed new tickets at ${clock(b.seen_at)}` : 'has not shown new tickets')));
  }
  fill(view.alerts, items.length ? items : h('li', { class: 'muted empty' }, 'Every station has a screen, and every screen is up to date.'));
}

// ---------------------------------------------------------------- the 86 list and stock

const tracked = (item) => item.stock !== null && item.stock !== undefined;
const soldOut = (item) => tracked(item) && item.stock === 0;
const low = (item) => item.available && tracked(item) && item.stock <= item.low_stock_threshold;

function restockTo(item) {
  const typed = state.restockDraft.get(item.id);
  if (typed !== undefined) return typed;
  return String(Math.max(20, (item.low_stock_threshold || 0) * 4));
}

function stockText(item) {
  if (!tracked(item)) return 'not counted';
  return soldOut(item) ? 'sold out' : `${item.stock} left`;
}

/** The one-tap buttons of an item: 86 or back on, and restock. */
function itemActions(item) {
  const actions = [];
  if (item.available) {
    actions.push(h('button', { class: 'danger eighty-six', type: 'button', onclick: (e) => setAvailable(e, item, false) }, '86'));
  } else if (!soldOut(item)) {
    actions.push(h('button', { class: 'back-on', type: 'button', onclick: (e) => setAvailable(e, item, true) }, 'Back on'));
  }
  if (tracked(item) || !item.available) {
    actions.push(h('input', {
      class: 'restock-qty', type: 'number', min: 0, max: 1000000, inputmode: 'numeric',
      'aria-label': `Restock ${item.name} to`, value: restockTo(item),
      oninput: (e) => state.restockDraft.set(item.id, e.target.value),
    }));
    actions.push(h('button', { class: 'primary restock', type: 'button', onclick: (e) => restock(e, item) }, 'Restock'));
  }
  return h('span', { class: 'actions' }, actions);
}

function stockRow(item) {
  return h('li', { class: `stock-row${item.available ? '' : ' out'}`, id: `stock-item-${item.id}`, dataset: { itemId: item.id, available: String(item.available), stock: tracked(item) ? item.stock : '' } },
    h('span', { class: 'grow name' }, item.name),
    h('span', { class: `badge ${item.available ? (low(item) ? 'caution' : '') : 'late'}` },
      item.available ? stockText(item) : (soldOut(item) ? 'sold out' : "86'd")),
    itemActions(item));
}

function drawStock() {
  if (!view.eightySixed) return;
  const items = [...state.menu.values()].sort((a, b) => a.name.localeCompare(b.name));
  const out = items.filter((i) => !i.available);
  const lows = items.filter(low);
  fill(view.eightySixed, out.length ? out.map(stockRow) : h('li', { class: 'muted empty' }, 'Everything is available.'));
  fill(view.lowStock, lows.length ? lows.map(stockRow) : h('li', { class: 'muted empty' }, 'Nothing is running low.'));
  fill(view.stockItems, items.filter((i) => i.available && !low(i)).map(stockRow));
}

async function setAvailable(e, item, available) {
  const button = e.currentTarget;
  button.disabled = true;
  try {
    const changed = await menuChange('menu.set_available', { menu_item_id: item.id, available }, { available });
    notify(`${changed.name}: ${available ? 'back on the menu' : "86'd"}`, 'ok');
  } catch (err) {
    showError(err);
  } finally {
    button.disabled = false;
  }
}

async function restock(e, item) {
  const button = e.currentTarget;
  const qty = Number(restockTo(item));
  if (!Number.isInteger(qty) || qty < 0) {
    notify(`${item.name}: the stock must be a whole number, 0 or more`, 'error');
    return;
  }
  button.disabled = true;
  try {
    const changed = await menuChange('menu.set_stock', { menu_item_id: item.id, stock: qty }, { stock: qty });
    state.restockDraft.delete(item.id);
    notify(`${changed.name}: ${qty} in stock`, 'ok');
  } catch (err) {
    showError(err);
  } finally {
    button.disabled = false;
  }
}

/**
 * A stock or availability change: over the live socket (chefs' and
 * managers' command), or over REST while the socket is down.
 */
async function menuChange(command, fields, patch) {
  let item;
  try {
    item = (await state.live.command(command, fields)).item;
  } catch (err) {
    if (!(err instanceof HubError) || err.code !== 'UNAVAILABLE') throw err;
    item = await api('PATCH', `/api/v1/menu/items/${fields.menu_item_id}`, patch);
  }
  if (item) {
    state.menu.set(item.id, item);
    drawStock();
    drawMenuRows();
  }
  return item || { name: `item ${fields.menu_item_id}` };
}

// ---------------------------------------------------------------- admin: menu

function drawCategoryChoices() {
  if (!view.newItemCategory) return;
  const keep = view.newItemCategory.value;
  fill(view.newItemCategory, state.categories.map((c) => h('option', { value: String(c.id) }, c.name)));
  if (keep) view.newItemCategory.value = keep;
  const keepStation = view.newItemStation.value;
  fill(view.newItemStation, h('option', { value: '' }, 'none'),
    [...state.stations.values()].map((s) => h('option', { value: String(s.id) }, s.name)));
  if (keepStation) view.newItemStation.value = keepStation;
}

function drawMenuRows() {
  if (!view.menuRows) return;
  const categories = new Map(state.categories.map((c) => [c.id, c.name]));
  const items = [...state.menu.values()].sort((a, b) => (a.category_id - b.category_id) || a.name.localeCompare(b.name));
  fill(view.menuRows, items.map((item) => {
    const price = h('input', {
      class: 'price-input', inputmode: 'decimal', 'aria-label': `Price of ${item.name}`,
      value: state.priceDraft.get(item.id) ?? plainAmount(item.price_cents),
      oninput: (e) => state.priceDraft.set(item.id, e.target.value),
    });
    return h('tr', { dataset: { itemId: item.id } },
      h('td', {}, item.name),
      h('td', { class: 'muted' }, categories.get(item.category_id) || '–'),
      h('td', {}, h('span', { class: 'row nowrap' },
        h('span', { class: 'num price' }, money(item.price_cents)), price,
        h('button', { class: 'save-price', type: 'button', onclick: (e) => savePrice(e, item, price) }, 'Save'))),
      h('td', {}, stockText(item)),
      h('td', {}, itemActions(item)));
  }));
}

/** Minor units as a person types them back ("12.50"), in the currency's digits. */
function plainAmount(minor) {
  const digits = new Intl.NumberFormat('en', { style: 'currency', currency: state.restaurant.currency })
    .resolvedOptions().maximumFractionDigits;
  return (minor / 10 ** digits).toFixed(digits);
}

async function savePrice(e, item, input) {
  const cents = parseMoney(input.value);
  if (cents === null) {
    notify(`${item.name}: a price like 12.50`, 'error');
    return;
  }
  const button = e.currentTarget;
  button.disabled = true;
  try {
    const changed = await api('PATCH', `/api/v1/menu/items/${item.id}`, { price_cents: cents });
    state.priceDraft.delete(item.id);
    state.menu.set(changed.id, changed);
    drawMenuRows();
    notify(`${changed.name}: now ${money(changed.price_cents)}`, 'ok');
  } catch (err) {
    showError(err);
  } finally {
    button.disabled = false;
  }
}

async function createItem(e) {
  e.preventDefault();
  const name = $('#new-item-name').value.trim();
  const price = parseMoney($('#new-item-price').value);
  if (price === null) {
    notify('The price is an amount like 12.50', 'error');
    return;
  }
  const stockTyped = $('#new-item-stock').value.trim();
  const body = {
    name,
    price_cents: price,
    category_id: view.newItemCategory.value ? Number(view.newItemCategory.value) : null,
    station_id: view.newItemStation.value ? Number(view.newItemStation.value) : null,
    stock: stockTyped === '' ? null : Number(stockTyped),
    low_stock_threshold: Number($('#new-item-low').value || 0),
  };
  const button = $('#new-item-create');
  button.disabled = true;
  try {
    const item = await api('POST', '/api/v1/menu/items', body);
    state.menu.set(item.id, item);
    drawMenuRows();
    drawStock();
    $('#new-item-name').value = '';
    $('#new-item-price').value = '';
    $('#new-item-stock').value = '';
    notify(`${item.name} is on the menu at ${money(item.price_cents)}`, 'ok');
  } catch (err) {
    showError(err);
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------- admin: tables

function drawTableRows() {
  fill(view.tableRows, state.tables.map((t) => {
    const link = t.guest_code ? `${location.origin}/t/${encodeURIComponent(t.guest_code)}` : null;
    return h('tr', { dataset: { tableId: t.id } },
      h('td', {}, h('strong', {}, t.label)),
      h('td', { class: 'num' }, String(t.seats)),
      h('td', {}, h('span', { class: 'badge' }, t.status)),
      h('td', {}, link
        ? h('span', { class: 'code-cell' },
          h('code', { class: 'guest-code' }, t.guest_code),
          h('a', { class: 'guest-link', href: link, target: '_blank', rel: 'noopener' }, link))
        : h('span', { class: 'muted' }, '–')),
      h('td', {}, h('button', { class: 'ghost new-code', type: 'button', onclick: (e) => newCode(e, t) }, 'New code')));
  }));
}

async function createTable(e) {
  e.preventDefault();
  const button = $('#new-table-create');
  button.disabled = true;
  try {
    const table = await api('POST', '/api/v1/tables', {
      label: $('#new-table-label').value.trim(),
      seats: Number($('#new-table-seats').value),
    });
    state.tables.push(table);
    drawTableRows();
    $('#new-table-label').value = '';
    notify(`Table ${table.label} added`, 'ok');
  } catch (err) {
    showError(err);
  } finally {
    button.disabled = false;
  }
}

/** A new QR secret: the old code stops working (a table's visit is over). */
async function newCode(e, table) {
  const button = e.currentTarget;
  button.disabled = true;
  try {
    const fresh = await api('POST', `/api/v1/tables/${table.id}/guest-code`);
    const at = state.tables.findIndex((t) => t.id === table.id);
    if (fresh && fresh.id) state.tables[at] = fresh;
    else state.tables = await all('/api/v1/tables');
    drawTableRows();
    notify(`Table ${table.label} has a new guest code`, 'ok');
  } catch (err) {
    showError(err);
    button.disabled = false;
  }
}

// ---------------------------------------------------------------- admin: staff

function drawStaffRows() {
  const me = (requireStaff().user || {}).id;
  fill(view.staffRows, state.users.map((u) => h('tr', { dataset: { userId: u.id } },
    h('td', {}, u.name),
    h('td', {}, u.email),
    h('td', {}, h('span', { class: 'badge' }, u.role), u.locked_until ? h('span', { class: 'badge late' }, 'locked') : null),
    h('td', {}, u.id === me
      ? h('span', { class: 'muted' }, 'you')
      : h('button', { class: 'danger delete-user', type: 'button', onclick: (e) => deleteUser(e, u) }, 'Delete')))));
}

async function createUser(e) {
  e.preventDefault();
  const button = $('#new-user-create');
  button.disabled = true;
  try {
    const user = await api('POST', '/api/v1/users', {
      name: $('#new-user-name').value.trim(),
      email: $('#new-user-email').value.trim(),
      role: $('#new-user-role').value,
      password: $('#new-user-password').value,
    });
    state.users.push(user);
    drawStaffRows();
    for (const id of ['#new-user-name', '#new-user-email', '#new-user-password']) $(id).value = '';
    notify(`${user.name} can sign in as ${user.role}`, 'ok');
  } catch (err) {
    showError(err);
  } finally {
    button.disabled = false;
  }
}

/** Two taps: the first arms the button, the second deletes. */
async function deleteUser(e, user) {
  const button = e.currentTarget;
  if (!button.dataset.armed) {
    button.dataset.armed = '1';
    button.textContent = `Delete ${user.name}?`;
    setTimeout(() => { delete button.dataset.armed; button.textContent = 'Delete'; }, 4000);
    return;
  }
  button.disabled = true;
  try {
    await api('DELETE', `/api/v1/users/${user.id}`);
    state.users = state.users.filter((u) => u.id !== user.id);
    drawStaffRows();
    notify(`${user.name} can no longer sign in`, 'ok');
  } catch (err) {
    showError(err);
    button.disabled = false;
  }
}
