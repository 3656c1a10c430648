// The expo: every order still in the kitchen, which stations hold it and
// which are done, what is ready for pickup, and the kitchen's alarms (late
// tickets, stations nobody watches, screens that stopped drawing). From
// here the expo rushes an order, fires a held course, recalls a line to
// its station and serves what is ready.
//
// Like the kitchen display it draws from `kitchen.snapshot` (the whole
// kitchen's) and follows the events of the kitchen room; a dropped socket
// resumes with `since`.
import {
  h, fill, $, api, describe, showError, notify, requireStaff, useRestaurant,
  clock, duration, staffLive, connectionBadge, header,
} from './hub.js';
import {
  OPEN, STATUS_WORDS, isHeld, hubClock, stationTimer, tableName as nameOf, reconcile,
} from './kitchen.js';


const app = $('#app');

const state = {
  stations: new Map(), // id → {id, name, targets}
  tables: new Map(), // id → label
  orders: new Map(), // id → order (below)
  seq: 0,
  syncing: null,
  unattended: new Map(), // station id → open tickets
  behind: new Map(), // "station:screen" → {station_id, screen}
  late: new Map(), // "order:station" → {order_id, station_id}
};

/**
 * An order: {id, table_id, source, note, created_at (ms), rush, status,
 * lines, timers: Map station id → {started_at, caution_at, due_at} (ms),
 * seen: Map station id → when its screen showed it}.
 */
function orderFrom(o) {
  return {
    id: o.id,
    table_id: o.table_id,
    source: o.source || 'dine_in',
    note: o.note || '',
    created_at: Date.parse(o.created_at),
    rush: !!o.rush,
    status: o.status,
    lines: o.lines || [],
    timers: new Map(),
    seen: new Map(),
  };
}

const timerFrom = (t) => ({ started_at: Date.parse(t.started_at), caution_at: Date.parse(t.caution_at), due_at: Date.parse(t.due_at) });
const live_ = (line) => line.status !== 'voided';

/** The stations an order has lines at, and those still holding it (held lines count). */
function stationsOf(order) {
  const all = [...new Set(order.lines.filter(live_).map((l) => l.station_id))].filter((id) => id != null).sort((a, b) => a - b);
  const holding = new Set(order.lines.filter((l) => OPEN.includes(l.status)).map((l) => l.station_id));
  return all.map((id) => ({ id, holding: holding.has(id) }));
}

function urgency(order) {
  let worst = null;
  for (const [stationId, timer] of order.timers) {
    const open = order.lines.some((l) => l.station_id === stationId && OPEN.includes(l.status) && !isHeld(l));
    if (open && (!worst || timer.due_at < worst.due_at)) worst = timer;
  }
  if (!worst) return { level: 'held', timer: null };
  const now = hubClock.now();
  const announced = [...state.late.values()].some((l) => l.order_id === order.id);
  return { level: announced || now >= worst.due_at ? 'late' : now >= worst.caution_at ? 'caution' : 'ok', timer: worst };
}

const stationName = (id) => (state.stations.get(id) || { name: `Station ${id}` }).name;

function sorted() {
  return [...state.orders.values()].sort((a, b) => (b.rush - a.rush) || (a.created_at - b.created_at) || (a.id - b.id));
}

// ---------------------------------------------------------------- snapshot and events

async function sync(live) {
  state.syncing = [];
  let snap;
  try {
    snap = await live.command('kitchen.snapshot', {});
  } catch (err) {
    state.syncing = null;
    throw err;
  }
  const buffered = state.syncing;
  state.syncing = null;
  hubClock.set(snap.hub_time);
  const seen = new Map([...state.orders].map(([id, o]) => [id, o.seen]));
  state.orders.clear();
  for (const t of snap.tickets) {
    const order = orderFrom(t.order);
    for (const timer of t.timers || []) order.timers.set(timer.station_id, timerFrom(timer));
    if (seen.has(order.id)) order.seen = seen.get(order.id);
    state.orders.set(order.id, order);
  }
  state.seq = Math.max(state.seq, snap.seq);
  for (const frame of buffered) if (frame.seq > snap.seq) apply(frame);
  draw();
}

function onEvent(frame) {
  if (state.syncing) state.syncing.push(frame);
  if (frame.seq <= state.seq) return;
  apply(frame);
  state.seq = frame.seq;
  draw();
}

function apply(frame) {
  const d = frame.data;
  const order = state.orders.get(d.order_id);
  switch (frame.kind) {
    case 'order.placed': {
      const fresh = orderFrom(d);
      for (const id of new Set(fresh.lines.map((l) => l.station_id))) {
        const timer = stationTimer(fresh, state.stations.get(id), id);
        if (timer) fresh.timers.set(id, timer);
      }
      state.orders.set(fresh.id, fresh);
      break;
    }
    case 'ticket.fired':
      if (!order) break;
      for (const line of d.lines || []) {
        const i = order.lines.findIndex((l) => l.id === line.id);
        if (i >= 0) order.lines[i] = line;
      }
      if (d.timer) order.timers.set(d.timer.station_id, timerFrom(d.timer));
      break;
    case 'order.line_status_changed': {
      const line = order && order.lines.find((l) => l.id === d.line_id);
      if (!line) break;
      line.status = d.status;
      if (d.status === 'ready') line.ready_at = frame.at;
      break;
    }
    case 'order.status_changed':
      if (!order) break;
      order.status = d.status;
      if (['served', 'closed', 'cancelled'].includes(d.status)) forget(d.order_id);
      break;
    case 'order.cancelled':
      forget(d.order_id);
      break;
    case 'order.rushed':
      if (order) order.rush = d.rush;
      break;
    case 'ticket.late':
      if (state.orders.has(d.order_id)) state.late.set(`${d.order_id}:${d.station_id}`, d);
      break;
    case 'ticket.seen':
      for (const id of d.order_ids || []) {
        const o = state.orders.get(id);
        if (o) o.seen.set(d.station_id, d.seen_at);
      }
      break;
    case 'station.unattended':
      state.unattended.set(d.station_id, d.open_tickets);
      break;
    case 'station.attended':
      state.unattended.delete(d.station_id);
      break;
    case 'screen.behind':
      state.behind.set(`${d.station_id}:${d.screen}`, d);
      break;
    case 'screen.caught_up':
      state.behind.delete(`${d.station_id}:${d.screen}`);
      break;
    default:
  }
}

function forget(orderId) {
  state.orders.delete(orderId);
  for (const key of [...state.late.keys()]) if (key.startsWith(`${orderId}:`)) state.late.delete(key);
}

// ---------------------------------------------------------------- actions

async function send(type, fields, done) {
  try {
    await live.command(type, fields);
    if (done) notify(done, 'ok');
  } catch (err) {
    showError(err);
  }
}

function toggleRush(order) {
  send('order.rush', { order_id: order.id, rush: !order.rush }, order.rush ? `${nameOf(state.tables, order)}: rush off` : `${nameOf(state.tables, order)} rushed`);
}

function fire(order, course) {
  send('order.fire_course', { order_id: order.id, course }, `${nameOf(state.tables, order)}: course ${course} fired`);
}

function recall(order, line) {
  send('item.set_status', { order_id: order.id, line_id: line.id, status: 'preparing' }, `${line.name} back to ${stationName(line.station_id)}`);
}

/** Hands over what is ready: the whole order when all of it is, else line by line. */
async function serve(order) {
  const ready = order.lines.filter((l) => l.status === 'ready');
  if (!ready.length) return;
  if (order.status === 'ready') return send('order.set_status', { order_id: order.id, status: 'served' }, `${nameOf(state.tables, order)} served`);
  for (const line of ready) await send('item.set_status', { order_id: order.id, line_id: line.id, status: 'served' });
}

// ---------------------------------------------------------------- drawing

const badge = connectionBadge();
/** Bumped when names or the time zone arrive: every card is drawn again. */
let version = 0;
const alertsBox = h('section', { id: 'alerts', class: 'alerts', 'aria-live': 'polite' });
const pickupBox = h('section', { id: 'pickup', class: 'pickup' });
const board = h('section', { id: 'orders', class: 'orders', 'aria-label': 'Open orders' });
const offlineBar = h('div', { id: 'offline', class: 'offline-bar hidden', role: 'alert' });

function draw() {
  drawAlerts();
  drawPickup();
  const list = sorted();
  if (!list.length) fill(board, h('p', { class: 'empty' }, 'No open orders.'));
  else reconcile(board, list, (o) => JSON.stringify([o.status, o.rush, o.note, nameOf(state.tables, o), o.lines, [...o.seen], version]), orderCard);
  $('#count').textContent = `${list.length} open`;
  tick();
}

function drawAlerts() {
  const items = [];
  for (const [id, open] of state.unattended) {
    items.push(h('div', { class: 'alert late', dataset: { kind: 'unattended' } },
      `${stationName(id)}: no screen is watching (${open} open ticket${open === 1 ? '' : 's'})`));
  }
  for (const b of state.behind.values()) {
    items.push(h('div', { class: 'alert caution', dataset: { kind: 'behind' } },
      `${stationName(b.station_id)}: screen ${b.screen} stopped showing new tickets`));
  }
  for (const l of state.late.values()) {
    const order = state.orders.get(l.order_id);
    // Said while the station still has something of it to make.
    if (order && !order.lines.some((x) => x.station_id === l.station_id && OPEN.includes(x.status))) continue;
    items.push(h('div', { class: 'alert late', dataset: { kind: 'late' } },
      `LATE: ${order ? nameOf(state.tables, order) : `order ${l.order_id}`} at ${stationName(l.station_id)} (${l.open_lines} open)`));
  }
  fill(alertsBox, items);
  alertsBox.classList.toggle('hidden', !items.length);
}

// A card is kept while its drawing is unchanged, but the order behind it may
// have been read again (a snapshot): a tap acts on the order as it is now.
const latest = (order) => state.orders.get(order.id) || order;

const pickupList = h('div', { class: 'pickup-list' });

function drawPickup() {
  const ready = sorted().filter((o) => o.lines.some((l) => l.status === 'ready'));
  if (pickupList.parentNode !== pickupBox) fill(pickupBox, h('h2', {}, 'Ready for pickup'), pickupList);
  if (!ready.length) fill(pickupList, h('p', { class: 'muted' }, 'Nothing waiting.'));
  else reconcile(pickupList, ready, (o) => JSON.stringify([o.status, nameOf(state.tables, o), o.lines, version]), pickupItem);
}

function pickupItem(o) {
  return h('div', { class: `pickup-item ${o.status === 'ready' ? 'all' : ''}`, dataset: { order: o.id } },
    h('div', { class: 'grow' },
      h('strong', {}, nameOf(state.tables, o)), o.status === 'ready' ? h('span', { class: 'badge ok' }, 'ALL READY') : null,
      h('div', { class: 'small' }, o.lines.filter((l) => l.status === 'ready').map((l) => `${l.qty}× ${l.name}`).join(', '))),
    h('button', { class: 'primary serve', onclick: () => serve(latest(o)) }, 'Serve'));
}

function orderCard(order) {
  const stations = stationsOf(order);
  const courses = [...new Set(order.lines.filter(live_).map((l) => l.course))].sort();
  const heldCourses = courses.filter((c) => order.lines.some((l) => l.course === c && isHeld(l)));
  return h('article', { class: 'order', dataset: { order: order.id } },
    h('header', { class: 'order-head' },
      h('span', { class: 'table' }, nameOf(state.tables, order)),
      order.rush ? h('span', { class: 'badge rush' }, 'RUSH') : null,
      h('span', { class: `badge status ${order.status}` }, order.status.replace('_', ' ')),
      h('span', { class: 'timer num' }, '')),
    h('div', { class: 'order-meta muted' }, `#${order.id} · ${clock(new Date(order.created_at).toISOString())}`),
    h('div', { class: 'stations' }, stations.map((s) => h('span', {
      class: `station ${s.holding ? 'holding' : 'done'}`,
      dataset: { station: s.id },
      title: order.seen.has(s.id) ? `on screen since ${clock(order.seen.get(s.id))}` : 'not yet seen on a screen',
    }, stationName(s.id), s.holding ? ' · cooking' : ' ✓', order.seen.has(s.id) ? h('span', { class: 'seen' }, 'seen') : null))),
    order.note ? h('div', { class: 'ticket-note' }, order.note) : null,
    courses.map((course) => {
      const lines = order.lines.filter((l) => l.course === course && live_(l));
      const held = lines.some(isHeld);
      return h('div', { class: `course ${held ? 'held' : ''}` },
        courses.length > 1 || held ? h('div', { class: 'course-head' }, `Course ${course}`, held ? h('span', { class: 'badge held' }, 'HELD') : null) : null,
        lines.map((line) => h('div', { class: `line ${isHeld(line) ? 'held' : line.status}`, dataset: { line: line.id } },
          h('span', { class: 'qty num' }, `${line.qty}×`),
          h('span', { class: 'name' }, line.name,
            (line.choices || []).length || (line.modifiers || []).length
              ? h('span', { class: 'mods-inline' }, ' ', [...(line.choices || []).map((c) => c.name), ...(line.modifiers || [])].join(', '))
              : null,
            (line.allergens || []).map((a) => h('span', { class: 'allergen' }, a.toUpperCase()))),
          h('span', { class: 'where muted small' }, line.station_id != null ? stationName(line.station_id) : ''),
          h('span', { class: `state ${isHeld(line) ? 'held' : line.status}` }, isHeld(line) ? 'held' : STATUS_WORDS[line.status] || line.status),
          line.status === 'ready' ? h('button', { class: 'ghost recall', onclick: () => recall(latest(order), line) }, 'Recall') : null)));
    }),
    h('footer', { class: 'order-foot' },
      h('button', { class: `rush-toggle ${order.rush ? 'on' : ''}`, 'aria-pressed': order.rush ? 'true' : 'false', onclick: () => toggleRush(latest(order)) },
        order.rush ? 'Rush off' : 'Rush'),
      heldCourses.map((c) => h('button', { class: 'fire', onclick: () => fire(latest(order), c) }, `Fire course ${c}`)),
      order.lines.some((l) => l.status === 'ready') ? h('button', { class: 'primary serve', onclick: () => serve(latest(order)) }, 'Serve ready') : null));
}

function tick() {
  const now = hubClock.now();
  for (const card of board.querySelectorAll('.order')) {
    const order = state.orders.get(Number(card.dataset.order));
    if (!order) continue;
    const { level, timer } = urgency(order);
    for (const l of ['held', 'ok', 'caution', 'late']) card.classList.toggle(l, l === level);
    card.querySelector('.timer').textContent = timer ? duration(now - timer.started_at) : '';
  }
}

// ---------------------------------------------------------------- start

let live;

async function start() {
  requireStaff();
  let me;
  let stations;
  try {
    [me, stations] = await Promise.all([api('GET', '/api/v1/auth/me'), api('GET', '/api/v1/stations?limit=200')]);
  } catch (err) {
    fill(app, h('main', {}, h('p', { class: 'error-text' }, `The expo cannot be loaded: ${describe(err)}`)));
    return;
  }
  if (!['owner', 'manager', 'chef', 'waiter'].includes(me.role)) {
    fill(app, h('main', {}, h('p', { class: 'error-text' }, `The expo is for chefs, waiters and managers; this login is a ${me.role}'s.`)));
    return;
  }
  for (const s of stations.items || []) state.stations.set(s.id, s);
  api('GET', '/api/v1/restaurant').then((r) => { useRestaurant(r); version += 1; draw(); }).catch(() => {});
  api('GET', '/api/v1/tables?limit=200').then((list) => {
    for (const t of list.items || []) state.tables.set(t.id, t.label);
    version += 1;
    draw();
  }).catch(() => {});

  fill(app,
    header('Expo', badge, [h('span', { id: 'count', class: 'count' }, '')]),
    offlineBar,
    alertsBox,
    h('main', { class: 'expo' }, board, h('aside', { class: 'side' }, pickupBox)));
  draw();

  let everLive = false;
  live = staffLive({
    rooms: [`kitchen:${me.restaurant_id}`],
    onSync: sync,
    onEvent,
    onOther: (frame) => { if (frame.type === 'kitchen.all_day') hubClock.set(frame.hub_time); },
    onState: (s, why) => {
      if (s === 'connecting' && everLive) return;
      if (s === 'live') everLive = true;
      badge.update(s, why);
      offlineBar.classList.toggle('hidden', s !== 'down');
      if (s === 'down') offlineBar.textContent = `OFFLINE — ${why || 'connection lost'}. Reconnecting…`;
    },
  }).start();
  setInterval(tick, 1000);
}

start().catch(showError);
