// The waiter's page: the floor (tables with their live status and open
// orders), order entry from the live menu, firing held courses, "your order
// is ready" and guests' calls, and the table's check: splitting it and
// taking payments. Built for a phone in one hand first; a tablet shows the
// floor and the table side by side.
//
// Everything on screen comes from the hub: snapshots (table.snapshot,
// menu.snapshot) when the socket starts or has to resync, then the events
// after them. Writes go over the socket as commands; an order and a payment
// each carry an idempotency key kept until they succeed, so tapping again
// after a dropped connection never places or charges twice.
import {
  $, h, fill, api, notify, showError, describe, requireStaff, money, parseMoney, clock,
  useRestaurant, newKey, staffLive, connectionBadge, header,
} from './hub.js';

const TABLE_STATUSES = ['free', 'occupied', 'reserved', 'cleaning'];
const ORDER_WORDS = {
  placed: 'placed', in_progress: 'in the works', ready: 'ready', served: 'served',
  closed: 'closed', cancelled: 'cancelled',
};
const LINE_WORDS = { queued: 'queued', preparing: 'cooking', ready: 'ready', served: 'served', voided: 'voided' };
const METHODS = [['card', 'Card'], ['cash', 'Cash'], ['other', 'Other']];
/** The width below which the page shows the floor or one table (waiter.css). */
const PHONE = matchMedia('(max-width: 820px)');

const state = {
  me: null,
  currency: 'EUR',
  live: null,
  /** table id → {table, orders: Map(order id → order)} */
  tables: new Map(),
  categories: [],
  /** menu item id → item (stock and availability kept live) */
  items: new Map(),
  /** open calls: table id → {table_id, label, by, at} */
  calls: new Map(),
  /** "your order is ready": order id → {order_id, table_id, at} */
  ready: new Map(),
  /** what each station has on screen: order id → station names */
  seen: new Map(),
  /** carts by table id: {lines, note, key} */
  carts: new Map(),
  selected: null,
  tab: 'orders',
  /** the check shown for the selected table (null: none, undefined: looking) */
  check: undefined,
  /** the payment being taken: {part, method, key} */
  pay: null,
  lastPayment: null,
  // Until both snapshots are in, events wait; then only those after each
  // snapshot's seq apply (7.4).
  syncing: true,
  queue: [],
  tablesSeq: 0,
  menuSeq: 0,
};

// ---------------------------------------------------------------- start

const badge = connectionBadge();
const alertsEl = h('div', { id: 'alerts', class: 'alerts', 'aria-live': 'assertive' });
const tablesEl = h('section', { id: 'tables', class: 'tables-pane', 'aria-label': 'Tables' });
const detailEl = h('section', { id: 'detail', class: 'detail-pane', 'aria-label': 'Table' });
const mainEl = h('main', { class: 'waiter' }, tablesEl, detailEl);

async function start() {
  state.me = requireStaff();
  fill($('#app'), h('div', { class: 'topbar' }, header('Waiter', badge), alertsEl), mainEl);
  fill(tablesEl, h('p', { class: 'muted' }, 'Loading the floor…'));
  renderDetail();
  const restaurant = await untilLoaded(() => api('GET', '/api/v1/restaurant'));
  useRestaurant(restaurant);
  state.currency = restaurant.currency;
  state.live = staffLive({
    // The whole kitchen's room too: line statuses and fired courses are
    // announced there, not to the waiters' room.
    rooms: [`kitchen:${restaurant.id}`],
    onSync: sync,
    onResumed: () => { if (state.syncing) sync(); },
    onEvent: (frame) => (state.syncing ? state.queue.push(frame) : apply(frame)),
    onState: badge.update,
  }).start();
}

/** Keeps trying a first read while the hub cannot be reached. */
async function untilLoaded(read) {
  for (let wait = 1000; ; wait = Math.min(wait * 2, 10000)) {
    try { return await read(); } catch (err) {
      showError(err);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

/** Redraws from snapshots, then applies the events that came meanwhile. */
let syncRunning = false;
async function sync() {
  state.syncing = true;
  if (syncRunning) return;
  syncRunning = true;
  const live = state.live;
  try {
    const [floor, menu] = await Promise.all([live.command('table.snapshot'), live.command('menu.snapshot')]);
    state.tables = new Map(floor.tables.map((view) => [view.table.id,
      { table: view.table, orders: new Map(view.orders.map((o) => [o.id, o])) }]));
    state.tablesSeq = floor.seq;
    state.categories = [...menu.categories].sort((a, b) => a.position - b.position || a.id - b.id);
    state.items = new Map(menu.items.map((item) => [item.id, item]));
    state.menuSeq = menu.seq;
  } catch (err) {
    // Still syncing: events keep waiting, and the snapshots are asked for
    // again (after a resume, or in a moment if the socket stayed up).
    showError(err);
    setTimeout(() => { if (state.syncing && live.state === 'live') sync(); }, 2000);
    return;
  } finally {
    syncRunning = false;
  }
  const waiting = state.queue;
  state.queue = [];
  state.syncing = false;
  for (const frame of waiting) apply(frame);
  renderAll();
  if (state.selected !== null && state.tab === 'check') loadCheck();
}

// ---------------------------------------------------------------- events

function apply(frame) {
  const d = frame.data || {};
  const menuEvent = frame.kind.startsWith('menu.');
  if (frame.seq <= (menuEvent ? state.menuSeq : state.tablesSeq)) return;
  switch (frame.kind) {
    case 'order.placed':
      if (d.table_id !== null && d.table_id !== undefined) putOrder(d);
      break;
    case 'order.line_status_changed': {
      const order = findOrder(d.order_id);
      const line = order && order.lines.find((l) => l.id === d.line_id);
      if (line) line.status = d.status;
      floorChanged(d.table_id);
      break;
    }
    case 'ticket.fired': {
      const order = findOrder(d.order_id);
      if (order) {
        for (const fired of d.lines) {
          const line = order.lines.find((l) => l.id === fired.id);
          if (line) Object.assign(line, { fired_at: fired.fired_at, start_at: fired.start_at, status: fired.status });
        }
      }
      floorChanged(d.table_id);
      break;
    }
    case 'order.status_changed':
    case 'order.cancelled': {
      const status = frame.kind === 'order.cancelled' ? 'cancelled' : d.status;
      const order = findOrder(d.order_id);
      if (order) order.status = status;
      if (['closed', 'cancelled'].includes(status) && state.tables.has(d.table_id)) {
        state.tables.get(d.table_id).orders.delete(d.order_id);
      }
      if (!['ready'].includes(status) && state.ready.delete(d.order_id)) renderAlerts();
      // A guest's order (from the table's QR code) has no waiter who placed
      // it to hear order.ready: every waiter on the floor is told.
      if (status === 'ready' && order && order.source === 'qr' && !state.ready.has(d.order_id)) {
        state.ready.set(d.order_id, { order_id: d.order_id, table_id: d.table_id, at: frame.at });
        if (navigator.vibrate) navigator.vibrate([200, 100, 200]);
        renderAlerts();
      }
      floorChanged(d.table_id);
      break;
    }
    case 'order.rushed': {
      const order = findOrder(d.order_id);
      if (order) order.rush = d.rush;
      floorChanged(d.table_id);
      break;
    }
    case 'order.ready':
      state.ready.set(d.order_id, { ...d, at: frame.at });
      if (navigator.vibrate) navigator.vibrate([200, 100, 200]);
      renderAlerts();
      floorChanged(d.table_id);
      break;
    case 'ticket.seen': {
      for (const id of d.order_ids) {
        const names = state.seen.get(id) || new Set();
        names.add(d.station);
        state.seen.set(id, names);
      }
      if (state.selected !== null && state.tab === 'orders') renderOrders();
      break;
    }
    case 'table.status_changed': {
      const view = state.tables.get(d.table_id);
      if (view) view.table.status = d.status;
      floorChanged(d.table_id);
      break;
    }
    case 'table.waiter_called':
      state.calls.set(d.table_id, { ...d, at: frame.at });
      if (navigator.vibrate) navigator.vibrate(300);
      renderAlerts();
      renderTables();
      break;
    case 'table.call_accepted':
      if (state.calls.delete(d.table_id)) {
        if (!state.me.user || d.by_user !== state.me.user.id) notify(`${d.label}: a colleague took the call`);
        renderAlerts();
        renderTables();
      }
      break;
    case 'menu.stock_changed':
    case 'menu.availability_changed': {
      const item = state.items.get(d.menu_item_id);
      if (!item) break;
      if (frame.kind === 'menu.stock_changed') item.stock = d.stock;
      else {
        item.available = d.available;
        notify(d.available ? `${d.name} is back` : `${d.name} is sold out`, d.available ? 'ok' : 'info');
      }
      menuChanged(item);
      break;
    }
    case 'check.opened':
    case 'check.updated':
    case 'check.closed':
      checkChanged(d);
      break;
    default:
      break;
  }
}

function findOrder(id) {
  for (const view of state.tables.values()) {
    const order = view.orders.get(id);
    if (order) return order;
  }
  return null;
}

function putOrder(order) {
  const view = state.tables.get(order.table_id);
  if (!view) return;
  view.orders.set(order.id, order);
  floorChanged(order.table_id);
}

/** Something on a table changed: redraw the floor and, if it is open, the table. */
function floorChanged(tableId) {
  if (state.syncing) return;
  renderTables();
  if (tableId === state.selected) {
    renderHead();
    if (state.tab === 'orders') renderOrders();
  }
}

function menuChanged(item) {
  if (state.syncing) return;
  if (state.tab === 'new') {
    renderMenu();
    renderCart();
  }
  if (sheet && sheet.item.id === item.id) sheet.update();
}

function checkChanged(check) {
  if (state.selected === null || check.table_id !== state.selected) return;
  // A newer check for the table (opened elsewhere) replaces a closed one.
  if (state.check && state.check.id !== check.id && isLive(state.check)) return;
  state.check = check;
  if (state.tab === 'check') renderCheck();
}

// ---------------------------------------------------------------- alerts

function renderAlerts() {
  const cards = [];
  for (const call of state.calls.values()) {
    cards.push(h('div', { class: 'alert call', dataset: { call: call.table_id } },
      h('span', { class: 'alert-text' }, h('strong', {}, call.label), ' is calling a waiter',
        call.by && call.by !== 'guest' ? ` (${call.by})` : '', ' · ', clock(call.at)),
      h('button', { class: 'primary', dataset: { accept: call.table_id }, onclick: () => acceptCall(call) }, 'Accept')));
  }
  for (const ready of state.ready.values()) {
    const view = state.tables.get(ready.table_id);
    const label = view ? view.table.label : 'takeaway';
    cards.push(h('div', { class: 'alert ready', dataset: { ready: ready.order_id } },
      h('span', { class: 'alert-text' }, h('strong', {}, label), ` · order ${ready.order_id} is ready to serve · `, clock(ready.at)),
      h('button', { class: 'primary', dataset: { served: ready.order_id }, onclick: () => markServed(ready.order_id) }, 'Served'),
      h('button', { class: 'ghost', 'aria-label': 'Dismiss', onclick: () => { state.ready.delete(ready.order_id); renderAlerts(); } }, '✕')));
  }
  fill(alertsEl, cards);
}

async function acceptCall(call) {
  try {
    await state.live.command('table.accept_call', { table_id: call.table_id });
    state.calls.delete(call.table_id);
    notify(`You took ${call.label}'s call`, 'ok');
  } catch (err) {
    // Taken by someone else meanwhile: the call is gone either way.
    if (err.code === 'CONFLICT') state.calls.delete(call.table_id);
    showError(err);
  }
  renderAlerts();
  renderTables();
}

async function markServed(orderId) {
  try {
    const ack = await state.live.command('order.set_status', { order_id: orderId, status: 'served' });
    state.ready.delete(orderId);
    if (ack.order) putOrder(ack.order);
    notify(`Order ${orderId} served`, 'ok');
  } catch (err) {
    showError(err);
  }
  renderAlerts();
}

// ---------------------------------------------------------------- the floor

function renderAll() {
  renderAlerts();
  renderTables();
  renderDetail();
}

function renderTables() {
  const views = [...state.tables.values()].sort((a, b) => a.table.id - b.table.id);
  fill(tablesEl,
    h('h2', {}, 'Tables'),
    views.length ? null : h('p', { class: 'muted' }, 'No tables yet.'),
    h('div', { class: 'table-grid' }, views.map(tableCard)));
}

function tableCard(view) {
  const t = view.table;
  const orders = [...view.orders.values()];
  const ready = orders.filter((o) => o.status === 'ready').length;
  const held = orders.some((o) => heldCourses(o).length > 0);
  const called = state.calls.has(t.id);
  const classes = ['table-card', `status-${t.status}`];
  if (t.id === state.selected) classes.push('selected');
  if (called) classes.push('called');
  return h('button', {
    class: classes.join(' '), dataset: { table: t.id }, 'aria-pressed': String(t.id === state.selected),
    onclick: () => select(t.id),
  },
  h('span', { class: 'table-label' }, t.label),
  h('span', { class: `badge table-status ${t.status}` }, t.status),
  h('span', { class: 'table-facts muted' }, `${t.seats} seats`, orders.length ? ` · ${orders.length} open` : ''),
  h('span', { class: 'table-flags' },
    called ? h('span', { class: 'badge late' }, 'calling') : null,
    ready ? h('span', { class: 'badge ok' }, `${ready} ready`) : null,
    held ? h('span', { class: 'badge held' }, 'held course') : null));
}

function select(tableId) {
  if (state.selected !== tableId) {
    state.selected = tableId;
    state.check = undefined;
    state.pay = null;
    state.lastPayment = null;
    closeSheet();
  }
  mainEl.classList.add('detail-open');
  renderTables();
  renderDetail();
  if (state.tab === 'check') loadCheck();
  // On a phone the table replaces the floor: start at its top.
  if (PHONE.matches) window.scrollTo(0, 0);
}

// ---------------------------------------------------------------- a table

const headEl = h('div', { class: 'detail-head' });
const viewEl = h('div', { id: 'view' });

function renderDetail() {
  if (state.selected === null || !state.tables.has(state.selected)) {
    mainEl.classList.remove('detail-open');
    fill(detailEl, h('div', { class: 'card empty' },
      h('h2', {}, 'Choose a table'),
      h('p', { class: 'muted' }, 'Tap a table to see its orders, take a new order or settle its check.')));
    return;
  }
  const tab = (name, label) => h('button', {
    id: `tab-${name}`, role: 'tab', class: state.tab === name ? 'tab active' : 'tab',
    'aria-selected': String(state.tab === name), onclick: () => switchTab(name),
  }, label);
  fill(detailEl, headEl,
    h('div', { class: 'tabs', role: 'tablist' }, tab('orders', 'Orders'), tab('new', 'New order'), tab('check', 'Check')),
    viewEl);
  renderHead();
  renderView();
}

function renderHead() {
  const view = state.tables.get(state.selected);
  if (!view) return;
  const t = view.table;
  const status = h('select', {
    id: 'table-status', 'aria-label': 'Table status',
    onchange: (e) => setTableStatus(t.id, e.target.value),
  }, TABLE_STATUSES.map((s) => h('option', { value: s, selected: s === t.status }, s)));
  fill(headEl,
    h('button', { id: 'back', class: 'ghost back', onclick: back }, '← Tables'),
    h('h2', { id: 'table-title' }, t.label),
    h('span', { class: 'muted' }, `${t.seats} seats`),
    h('span', { class: 'right' }, status));
}

function back() {
  mainEl.classList.remove('detail-open');
  window.scrollTo(0, 0);
}

async function setTableStatus(tableId, status) {
  try {
    const ack = await state.live.command('table.set_status', { table_id: tableId, status });
    const view = state.tables.get(tableId);
    if (view && ack.table) view.table.status = ack.table.status;
  } catch (err) {
    showError(err);
  }
  floorChanged(tableId);
}

function switchTab(name) {
  state.tab = name;
  closeSheet();
  renderDetail();
  if (name === 'check') loadCheck();
}

function renderView() {
  if (state.tab === 'orders') renderOrders();
  else if (state.tab === 'new') renderEntry();
  else renderCheck();
}

// ---------------------------------------------------------------- orders

/** Courses of an order whose live lines are still held (not fired). */
function heldCourses(order) {
  const courses = new Set();
  for (const line of order.lines) {
    if (!line.fired_at && line.status !== 'voided') courses.add(line.course);
  }
  return [...courses].sort((a, b) => a - b);
}

function renderOrders() {
  const view = state.tables.get(state.selected);
  if (!view) return;
  const orders = [...view.orders.values()].sort((a, b) => a.id - b.id);
  if (!orders.length) {
    fill(viewEl, h('div', { class: 'card' },
      h('p', { class: 'muted' }, 'No open orders at this table.'),
      h('button', { class: 'primary', onclick: () => switchTab('new') }, 'Take an order')));
    return;
  }
  fill(viewEl, h('div', { class: 'orders' }, orders.map(orderCard)));
}

function orderCard(order) {
  const held = heldCourses(order);
  const courses = [...new Set(order.lines.map((l) => l.course))].sort((a, b) => a - b);
  const seen = state.seen.get(order.id);
  return h('article', { class: `card order ${order.status}`, dataset: { order: order.id } },
    h('div', { class: 'row order-head' },
      h('h3', {}, `Order ${order.id}`),
      h('span', { class: 'muted' }, clock(order.created_at)),
      order.rush ? h('span', { class: 'badge rush' }, 'rush') : null,
      h('span', { class: `badge order-status ${order.status === 'ready' ? 'ok' : ''}` }, ORDER_WORDS[order.status] || order.status),
      h('span', { class: 'right num' }, money(order.total_cents))),
    seen ? h('p', { class: 'muted seen' }, 'On screen at ', [...seen].join(', ')) : null,
    courses.map((course) => {
      const lines = order.lines.filter((l) => l.course === course);
      const isHeld = held.includes(course);
      return h('section', { class: `course${isHeld ? ' held' : ''}`, dataset: { course } },
        h('div', { class: 'row course-head' },
          h('strong', {}, `Course ${course}`),
          isHeld ? h('span', { class: 'badge held' }, 'held') : h('span', { class: 'muted' }, 'fired'),
          isHeld ? h('button', {
            class: 'primary right', dataset: { fireOrder: order.id, fireCourse: course },
            onclick: (e) => fireCourse(order.id, course, e.currentTarget),
          }, `Fire course ${course}`) : null),
        h('ul', { class: 'lines' }, lines.map(lineItem)));
    }),
    order.note ? h('p', { class: 'note' }, 'Note: ', order.note) : null,
    order.status === 'ready' ? h('button', { class: 'primary', onclick: () => markServed(order.id) }, 'Mark served') : null);
}

function lineItem(line) {
  const choices = (line.choices || []).map((c) => c.name);
  const extras = [...choices, ...(line.modifiers || [])];
  return h('li', { class: `line ${line.status}`, dataset: { line: line.id } },
    h('span', { class: 'qty' }, `${line.qty}×`),
    h('span', { class: 'grow' },
      h('span', { class: 'line-name' }, line.name),
      line.seat ? h('span', { class: 'muted' }, ` · seat ${line.seat}`) : null,
      extras.length ? h('span', { class: 'choices' }, extras.join(', ')) : null,
      line.note ? h('span', { class: 'note' }, line.note) : null,
      (line.allergens || []).length ? h('span', { class: 'allergens' }, line.allergens.map((a) => h('span', { class: 'allergen' }, a))) : null),
    h('span', { class: `badge line-status ${line.status === 'ready' ? 'ok' : ''}` },
      line.status === 'voided' ? 'voided' : !line.fired_at ? 'held' : LINE_WORDS[line.status] || line.status));
}

async function fireCourse(orderId, course, button) {
  button.disabled = true;
  try {
    const ack = await state.live.command('order.fire_course', { order_id: orderId, course });
    putOrder(ack.order);
    notify(`Course ${course} of order ${orderId} fired`, 'ok');
  } catch (err) {
    showError(err);
    button.disabled = false;
  }
}

// ---------------------------------------------------------------- order entry

function cart() {
  let c = state.carts.get(state.selected);
  if (!c) {
    c = { lines: [], note: '', key: null };
    state.carts.set(state.selected, c);
  }
  return c;
}

/** A changed cart is another order: the next placement gets a new key. */
function cartChanged() {
  cart().key = null;
  renderCart();
}

const menuEl = h('div', { id: 'menu', class: 'menu' });
const cartEl = h('div', { id: 'cart', class: 'cart card' });

function renderEntry() {
  fill(viewEl, h('div', { class: 'entry' }, menuEl, cartEl));
  renderMenu();
  renderCart();
}

function categoryCourse(item) {
  const category = state.categories.find((c) => c.id === item.category_id);
  return category ? category.course : 1;
}

function renderMenu() {
  const byCategory = new Map(state.categories.map((c) => [c.id, []]));
  const other = [];
  for (const item of state.items.values()) {
    (byCategory.get(item.category_id) || other).push(item);
  }
  const section = (title, items) => items.length ? h('section', { class: 'menu-category' },
    h('h3', {}, title),
    h('div', { class: 'menu-items' }, items.sort((a, b) => a.id - b.id).map(menuButton))) : null;
  fill(menuEl,
    state.categories.map((c) => section(c.name, byCategory.get(c.id))),
    section('Other', other));
}

function stockWords(item) {
  if (!item.available) return h('span', { class: 'badge late' }, 'sold out');
  if (item.stock === null || item.stock === undefined) return null;
  const low = item.stock <= item.low_stock_threshold;
  return h('span', { class: `badge ${low ? 'caution' : ''}` }, `${item.stock} left`);
}

function menuButton(item) {
  return h('button', {
    class: `menu-item${item.available ? '' : ' unavailable'}`, dataset: { item: item.id },
    disabled: !item.available, onclick: () => openSheet(item),
  },
  h('span', { class: 'item-name' }, item.name),
  h('span', { class: 'item-price num' }, money(item.price_cents)),
  stockWords(item));
}

function lineUnit(line) {
  const item = state.items.get(line.menu_item_id);
  const base = item ? item.price_cents : 0;
  return base + line.options.reduce((sum, o) => sum + o.price_delta_cents, 0);
}

function renderCart() {
  if (!state.tables.has(state.selected)) return;
  const c = cart();
  const label = state.tables.get(state.selected).table.label;
  const total = c.lines.reduce((sum, l) => sum + lineUnit(l) * l.qty, 0);
  // A redraw (stock changing) must not take the note from under a waiter typing it.
  const typing = document.activeElement && document.activeElement.id === 'order-note';
  const note = h('input', {
    id: 'order-note', maxlength: 500, value: c.note, placeholder: 'e.g. allergy at the table',
    oninput: (e) => { c.note = e.target.value; c.key = null; },
  });
  fill(cartEl,
    h('h3', {}, `New order for ${label}`),
    c.lines.length ? h('ul', { class: 'cart-lines' }, c.lines.map((line, i) => h('li', { class: 'cart-line', dataset: { cartLine: i } },
      h('span', { class: 'qty' }, `${line.qty}×`),
      h('span', { class: 'grow' },
        h('span', { class: 'line-name' }, line.name),
        state.items.get(line.menu_item_id) && !state.items.get(line.menu_item_id).available
          ? [' ', h('span', { class: 'badge late' }, 'sold out')] : null,
        h('span', { class: 'muted' }, ` · course ${line.course}`, line.seat ? ` · seat ${line.seat}` : ''),
        line.options.length ? h('span', { class: 'choices' }, line.options.map((o) => o.name).join(', ')) : null,
        line.note ? h('span', { class: 'note' }, line.note) : null),
      h('span', { class: 'num' }, money(lineUnit(line) * line.qty)),
      h('button', { class: 'ghost', 'aria-label': `Remove ${line.name}`, onclick: () => { c.lines.splice(i, 1); cartChanged(); } }, '✕'))))
      : h('p', { class: 'muted' }, 'Tap dishes on the menu to add them.'),
    h('label', { for: 'order-note' }, 'Note for the kitchen'),
    note,
    h('div', { class: 'place-bar' },
      h('span', { class: 'num' }, c.lines.length ? money(total) : ''),
      h('button', {
        id: 'place-order', class: 'primary', disabled: !c.lines.length, onclick: (e) => placeOrder(e.currentTarget),
      }, c.lines.length ? `Send ${c.lines.reduce((n, l) => n + l.qty, 0)} to the kitchen` : 'Send to the kitchen')));
  if (typing) {
    note.focus();
    note.setSelectionRange(note.value.length, note.value.length);
  }
}

async function placeOrder(button) {
  const tableId = state.selected;
  const c = cart();
  if (!c.lines.length) return;
  // Kept until the hub confirms: the same key again returns the same order.
  if (!c.key) c.key = newKey('waiter');
  const body = {
    idempotency_key: c.key,
    table_id: tableId,
    source: 'dine_in',
    note: c.note.trim(),
    lines: c.lines.map((l) => {
      const line = { menu_item_id: l.menu_item_id, qty: l.qty, note: l.note, course: l.course };
      if (l.seat) line.seat = l.seat;
      if (l.options.length) line.choices = l.options.map((o) => o.id);
      return line;
    }),
  };
  button.disabled = true;
  try {
    const ack = await state.live.command('order.place', body);
    state.carts.delete(tableId);
    putOrder(ack.order);
    notify(`Order ${ack.order.id} sent to the kitchen`, 'ok');
    if (state.selected === tableId) switchTab('orders');
  } catch (err) {
    const short = err.details && err.details.items;
    if (Array.isArray(short) && short.length) {
      notify('Not enough left: ' + short.map((s) => `${s.name} (${s.available} left)`).join(', '), 'error');
    } else {
      notify(orderWords(err, c.lines), 'error');
    }
    button.disabled = false;
  }
}

/** A refused order in words, naming the dish rather than `lines[1]`. */
function orderWords(err, lines) {
  const fields = (err.details && err.details.fields) || {};
  const said = Object.entries(fields).map(([field, problems]) => {
    const at = /^lines\[(\d+)\]/.exec(field);
    const what = at && lines[Number(at[1])] ? lines[Number(at[1])].name : field;
    const first = Array.isArray(problems) && problems[0] ? problems[0] : {};
    return `${what}: ${first.code === 'unavailable' ? 'sold out' : first.message || first.code}`;
  });
  return said.length ? said.join('; ') : describe(err);
}

// The dish sheet: modifier groups, quantity, seat, course and a note.
let sheet = null;

function closeSheet() {
  if (sheet) sheet.el.remove();
  sheet = null;
}

function openSheet(item) {
  closeSheet();
  const modifierGroups = item.modifier_groups || [];
  const picked = new Map(modifierGroups.map((g) => [g.id, new Set()]));
  let qty = 1;
  const error = h('p', { id: 'sheet-error', class: 'error-text', role: 'alert' });
  const qtyEl = h('span', { id: 'line-qty', class: 'num qty-value' }, '1');
  const seat = h('input', { id: 'line-seat', type: 'number', min: 1, max: 500, inputmode: 'numeric', placeholder: '—' });
  const course = h('select', { id: 'line-course' },
    [1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => h('option', { value: n, selected: n === categoryCourse(item) }, `Course ${n}`)));
  const note = h('input', { id: 'line-note', maxlength: 200, placeholder: 'e.g. no onions' });
  const status = h('span', { class: 'sheet-stock' });
  const add = h('button', { id: 'add-line', class: 'primary', onclick: () => addLine() }, 'Add to order');

  const groups = modifierGroups.map((group) => {
    const single = group.max_choices === 1;
    const rule = group.required
      ? (group.min_choices === group.max_choices ? `choose ${group.min_choices}` : `choose ${group.min_choices} to ${group.max_choices}`)
      : `up to ${group.max_choices}`;
    const inputs = [];
    const fieldset = h('fieldset', { class: 'group', dataset: { group: group.id } },
      h('legend', {}, group.name, ' ', h('span', { class: group.required ? 'badge caution' : 'muted' }, group.required ? `required · ${rule}` : rule)),
      group.options.map((option) => {
        const input = h('input', {
          type: single ? 'radio' : 'checkbox', name: `group-${group.id}`, value: option.id,
          dataset: { option: option.id },
          onchange: () => {
            const set = picked.get(group.id);
            if (single) set.clear();
            for (const i of inputs) if (i.checked) set.add(Number(i.value)); else set.delete(Number(i.value));
            // A full group takes no more: the rest wait until one is unticked.
            if (!single) for (const i of inputs) i.disabled = !i.checked && set.size >= group.max_choices;
            error.textContent = '';
          },
        });
        inputs.push(input);
        return h('label', { class: 'option' }, input,
          h('span', { class: 'grow' }, option.name,
            (option.allergens || []).map((a) => [' ', h('span', { class: 'allergen' }, a)])),
          option.price_delta_cents ? h('span', { class: 'num muted' }, `${option.price_delta_cents > 0 ? '+' : '−'}${money(Math.abs(option.price_delta_cents))}`) : null);
      }));
    return fieldset;
  });

  function setQty(n) {
    qty = Math.max(1, Math.min(99, n));
    qtyEl.textContent = String(qty);
  }

  function problems() {
    for (const group of modifierGroups) {
      const n = picked.get(group.id).size;
      if (n < group.min_choices) return `${group.name}: choose ${group.min_choices - n} more`;
      if (n > group.max_choices) return `${group.name}: at most ${group.max_choices}`;
    }
    const s = seat.value.trim();
    if (s && !(Number.isInteger(Number(s)) && Number(s) >= 1 && Number(s) <= 500)) return 'Seat: a number from 1 to 500';
    return null;
  }

  function addLine() {
    const live = state.items.get(item.id) || item;
    if (!live.available) { error.textContent = `${item.name} is sold out`; return; }
    const problem = problems();
    if (problem) { error.textContent = problem; return; }
    const options = [];
    for (const group of modifierGroups) {
      for (const option of group.options) if (picked.get(group.id).has(option.id)) options.push(option);
    }
    cart().lines.push({
      menu_item_id: item.id, name: item.name, qty, options,
      seat: seat.value.trim() ? Number(seat.value) : null,
      course: Number(course.value), note: note.value.trim(),
    });
    closeSheet();
    cartChanged();
  }

  const el = h('div', { id: 'item-sheet', class: 'sheet-backdrop', onclick: (e) => { if (e.target === el) closeSheet(); } },
    h('div', { class: 'sheet card', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'sheet-title' },
      h('div', { class: 'row' },
        h('h2', { id: 'sheet-title' }, item.name),
        h('span', { class: 'num' }, money(item.price_cents)),
        status),
      item.description ? h('p', { class: 'muted' }, item.description) : null,
      (item.allergens || []).length ? h('p', {}, 'Allergens: ', item.allergens.map((a) => [h('span', { class: 'allergen' }, a), ' '])) : null,
      groups,
      h('div', { class: 'sheet-fields' },
        h('div', {}, h('label', {}, 'Quantity'),
          h('div', { class: 'row stepper' },
            h('button', { id: 'qty-minus', 'aria-label': 'One less', onclick: () => setQty(qty - 1) }, '−'),
            qtyEl,
            h('button', { id: 'qty-plus', 'aria-label': 'One more', onclick: () => setQty(qty + 1) }, '+'))),
        h('div', {}, h('label', { for: 'line-seat' }, 'Seat'), seat),
        h('div', {}, h('label', { for: 'line-course' }, 'Course'), course)),
      h('label', { for: 'line-note' }, 'Note'),
      note,
      error,
      h('div', { class: 'row sheet-actions' },
        h('button', { class: 'ghost', onclick: closeSheet }, 'Cancel'),
        add)));

  sheet = {
    el, item,
    // Stock and availability while the sheet is open.
    update() {
      const live = state.items.get(item.id) || item;
      fill(status, stockWords(live));
      add.disabled = !live.available;
    },
  };
  sheet.update();
  document.body.append(el);
  const first = el.querySelector('input');
  if (first) first.focus();
}

// ---------------------------------------------------------------- checks

function isLive(check) {
  return check && (check.status === 'open' || check.status === 'partially_paid');
}

/** The table's check: a live one, else one paid but not closed yet. */
async function loadCheck() {
  const tableId = state.selected;
  state.check = undefined;
  renderCheck();
  try {
    const find = (status) => api('GET', `/api/v1/checks?table_id=${tableId}&status=${status}&limit=200`)
      .then((page) => page.items[page.items.length - 1] || null);
    const [partly, open, paid] = await Promise.all([find('partially_paid'), find('open'), find('paid')]);
    if (state.selected !== tableId) return;
    state.check = partly || open || paid || null;
  } catch (err) {
    if (state.selected !== tableId) return;
    state.check = null;
    showError(err);
  }
  if (state.tab === 'check') renderCheck();
}

const summaryEl = h('div', { id: 'check-summary' });
const partsEl = h('div', { id: 'check-parts' });
const paySlot = h('div', { id: 'pay-slot' });
const paymentsEl = h('div', { id: 'check-payments' });

function renderCheck() {
  if (state.tab !== 'check') return;
  // The bill on one side; splitting and paying on the other (one column on a phone).
  if (!viewEl.contains(summaryEl)) {
    fill(viewEl, h('div', { class: 'check' }, summaryEl, h('div', { class: 'check-side' }, partsEl, paySlot, paymentsEl)));
  }
  const check = state.check;
  if (check === undefined) {
    fill(summaryEl, h('p', { class: 'muted' }, 'Looking for the table’s check…'));
    closePay();
    fill(partsEl);
    fill(paymentsEl);
    return;
  }
  if (check === null || check.status === 'closed' || check.status === 'void') {
    const covers = h('input', { id: 'covers', type: 'number', min: 0, max: 500, inputmode: 'numeric', placeholder: 'guests' });
    fill(summaryEl, h('div', { class: 'card' },
      check ? h('p', {}, `Check ${check.id} is ${check.status}.`) : h('p', { class: 'muted' }, 'This table has no open check.'),
      h('div', { class: 'row' },
        h('label', { for: 'covers' }, 'Guests'), covers,
        h('button', { id: 'open-check', class: 'primary', onclick: (e) => openCheck(e.currentTarget, covers.value) }, 'Open the check'))));
    closePay();
    fill(partsEl);
    fill(paymentsEl);
    return;
  }
  const figure = (label, cents, cls = '') => h('tr', { class: cls }, h('th', {}, label), h('td', { class: 'num' }, money(cents)));
  const canSplit = isLive(check) && check.payments.length === 0;
  fill(summaryEl, h('div', { class: 'card' },
    h('div', { class: 'row' },
      h('h3', {}, `Check ${check.id}`),
      h('span', { id: 'check-status', class: `badge ${check.status === 'paid' ? 'ok' : check.status === 'partially_paid' ? 'caution' : ''}` },
        check.status.replace('_', ' ')),
      check.receipt_no ? h('span', { class: 'muted' }, `receipt ${check.receipt_no}`) : null,
      h('span', { class: 'muted right' }, `${check.covers} guests · opened ${clock(check.opened_at)}`)),
    isLive(check) ? coversControl(check) : null,
    h('table', { class: 'data check-lines' },
      h('tbody', {}, check.lines.map((l) => h('tr', {},
        h('td', {}, `${l.qty}× ${l.name}`, l.seat ? h('span', { class: 'muted' }, ` · seat ${l.seat}`) : null),
        h('td', { class: 'num' }, l.discount_cents ? h('span', { class: 'muted' }, `−${money(l.discount_cents)} `) : null, money(l.net_cents)))))),
    h('table', { class: 'data figures' }, h('tbody', {},
      figure('Subtotal', check.subtotal_cents),
      check.discount_cents ? figure('Discounts', -check.discount_cents) : null,
      check.service_cents ? figure('Service', check.service_cents) : null,
      check.tax_included_cents ? figure('Tax included', check.tax_included_cents, 'muted') : null,
      check.tax_cents - check.tax_included_cents ? figure('Tax', check.tax_cents - check.tax_included_cents) : null,
      figure('Total', check.total_cents, 'total'),
      check.paid_cents ? figure('Paid', check.paid_cents) : null,
      check.tip_cents ? figure('Tips', check.tip_cents, 'muted') : null,
      h('tr', { class: 'due' }, h('th', {}, 'Due'), h('td', { id: 'check-due', class: 'num' }, money(check.due_cents))))),
    // Paid while something is still in the kitchen: closed once all is served.
    check.status === 'paid' ? h('button', { id: 'close-check', onclick: (e) => closeCheck(e.currentTarget) }, 'Close the check') : null));
  fill(partsEl, canSplit ? splitControls(check) : null, partsView(check));
  if (state.pay && !canPay(check, state.pay.part)) closePay();
  fill(paymentsEl, paymentsView(check));
}

function splitControls(check) {
  const ways = h('input', { id: 'split-ways', type: 'number', min: 1, max: 50, value: '2', inputmode: 'numeric', 'aria-label': 'Ways' });
  const amounts = h('input', { id: 'split-amounts', placeholder: 'e.g. 20.00, 15.50', 'aria-label': 'Amounts' });
  return h('div', { class: 'card split' },
    h('h3', {}, check.split ? 'Change the split' : 'Split the check'),
    h('div', { class: 'row' },
      h('span', { class: 'split-label' }, 'Evenly'), ways, h('span', {}, 'ways'),
      h('button', { id: 'split-even', onclick: () => setSplit({ by: 'even', ways: Number(ways.value) }) }, 'Split')),
    h('div', { class: 'row' },
      h('span', { class: 'split-label' }, 'By amounts'), h('span', { class: 'grow' }, amounts),
      h('button', {
        id: 'split-by-amounts',
        onclick: () => {
          // "20.00, 15.50" or "20,00 15,50": a comma is a separator only
          // when points write the decimals.
          const separator = amounts.value.includes('.') ? /[,;\s]+/ : /[;\s]+|,\s+/;
          const parsed = amounts.value.split(separator).filter(Boolean).map(parseMoney);
          if (!parsed.length || parsed.some((a) => a === null || a < 1)) {
            notify('Amounts: write them like 20.00, 15.50', 'error');
            return;
          }
          setSplit({ by: 'amounts', amounts: parsed });
        },
      }, 'Split')),
    byLines(check),
    h('div', { class: 'row' },
      h('button', { id: 'split-seats', onclick: () => setSplit({ by: 'seats' }) }, 'By seat'),
      check.split ? h('button', { id: 'split-none', class: 'ghost', onclick: () => setSplit(null) }, 'No split') : null));
}

/** Who pays which dishes: each line goes to a numbered part, or to the rest. */
function byLines(check) {
  const most = Math.min(check.lines.length, 9);
  const pickers = check.lines.map((line) => h('select', {
    dataset: { lineGroup: line.line_id }, 'aria-label': `Part for ${line.name}`,
  }, h('option', { value: '' }, 'rest'),
  Array.from({ length: most }, (_, i) => h('option', { value: i + 1 }, `part ${i + 1}`))));
  return h('details', { class: 'by-lines' },
    h('summary', {}, 'By lines'),
    check.lines.map((line, i) => h('div', { class: 'row' },
      h('span', { class: 'grow' }, `${line.qty}× ${line.name}`), pickers[i])),
    h('button', {
      id: 'split-lines',
      onclick: () => {
        const groups = new Map();
        check.lines.forEach((line, i) => {
          const part = Number(pickers[i].value);
          if (!part) return;
          if (!groups.has(part)) groups.set(part, []);
          groups.get(part).push(line.line_id);
        });
        if (!groups.size) {
          notify('Choose a part for at least one line', 'error');
          return;
        }
        const lines = [...groups.keys()].sort((a, b) => a - b).map((part) => groups.get(part));
        setSplit({ by: 'lines', lines });
      },
    }, 'Split by lines'));
}

function canPay(check, part) {
  if (!isLive(check)) return false;
  if (part === null) return !check.split && check.due_cents > 0;
  const p = check.parts.find((x) => x.index === part);
  return Boolean(check.split && p && p.due_cents > 0);
}

function partsView(check) {
  if (!check.split) {
    return isLive(check) ? h('div', { class: 'row pay-row' },
      h('button', { id: 'pay-whole', class: 'primary', onclick: () => openPay(null) }, `Take payment · ${money(check.due_cents)}`)) : null;
  }
  return h('div', { class: 'card parts' },
    h('h3', {}, splitWords(check.split)),
    h('table', { class: 'data' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Part'), h('th', { class: 'num' }, 'Amount'), h('th', { class: 'num' }, 'Paid'), h('th', { class: 'num' }, 'Due'), h('th', {}, ''))),
      h('tbody', {}, check.parts.map((p) => h('tr', { dataset: { part: p.index }, class: p.due_cents === 0 ? 'settled' : '' },
        h('td', {}, p.label),
        h('td', { class: 'num' }, money(p.amount_cents)),
        h('td', { class: 'num' }, money(p.paid_cents)),
        h('td', { class: 'num part-due' }, p.due_cents === 0 ? h('span', { class: 'badge ok' }, 'paid') : money(p.due_cents)),
        h('td', {}, canPay(check, p.index)
          ? h('button', { class: 'primary', dataset: { payPart: p.index }, onclick: () => openPay(p.index) }, 'Pay')
          : null))))));
}

function splitWords(split) {
  if (split.by === 'even') return `Split evenly ${split.ways} ways`;
  if (split.by === 'seats') return 'Split by seat';
  if (split.by === 'amounts') return 'Split by amounts';
  return 'Split by lines';
}

function paymentsView(check) {
  const last = state.lastPayment;
  return [
    last && last.check_id === check.id && last.method === 'cash'
      ? h('div', { id: 'last-payment', class: 'card change' },
        'Change to give back: ', h('strong', { class: 'num' }, money(last.change_cents)),
        h('span', { class: 'muted' }, ` (handed over ${money(last.tendered_cents)})`))
      : null,
    check.payments.length ? h('div', { class: 'card' },
      h('h3', {}, 'Payments'),
      h('table', { class: 'data payments' }, h('tbody', {}, check.payments.map((p) => h('tr', { dataset: { payment: p.id } },
        h('td', {}, clock(p.at)),
        h('td', {}, p.method, p.part !== undefined && check.parts[p.part] ? ` · ${check.parts[p.part].label}` : ''),
        h('td', { class: 'num' }, money(p.amount_cents)),
        h('td', { class: 'num muted' }, p.tip_cents ? `tip ${money(p.tip_cents)}` : ''),
        h('td', { class: 'num muted' }, p.method === 'cash' && p.tendered_cents ? `change ${money(p.change_cents)}` : '')))))) : null,
  ];
}

async function openCheck(button, covers) {
  button.disabled = true;
  const body = { table_id: state.selected };
  if (covers.trim()) body.covers = Number(covers);
  try {
    const ack = await state.live.command('check.open', body);
    state.check = ack.check;
  } catch (err) {
    showError(err);
    button.disabled = false;
  }
  renderCheck();
}

/** The number of guests: the service charge follows it (7.7). */
function coversControl(check) {
  const covers = h('input', {
    id: 'check-covers', type: 'number', min: 0, max: 500, inputmode: 'numeric', value: String(check.covers),
    'aria-label': 'Guests',
  });
  const set = async (button) => {
    button.disabled = true;
    try {
      const ack = await state.live.command('check.set_covers', { check_id: check.id, covers: Number(covers.value) });
      state.check = ack.check;
    } catch (err) {
      showError(err);
    }
    renderCheck();
  };
  return h('div', { class: 'row covers' },
    h('label', { for: 'check-covers' }, 'Guests'), covers,
    h('button', { id: 'set-covers', onclick: (e) => set(e.currentTarget) }, 'Set'));
}

async function closeCheck(button) {
  button.disabled = true;
  try {
    const ack = await state.live.command('check.close', { check_id: state.check.id });
    state.check = ack.check;
    notify(`Check ${ack.check.id} closed`, 'ok');
  } catch (err) {
    const open = err.details && err.details.orders;
    if (Array.isArray(open)) {
      notify(open.length > 1 ? `Not yet: orders ${open.join(', ')} are not served` : `Not yet: order ${open[0]} is not served`, 'error');
    } else {
      showError(err);
    }
    button.disabled = false;
  }
  renderCheck();
}

async function setSplit(split) {
  const check = state.check;
  try {
    const ack = await state.live.command('check.split', { check_id: check.id, split });
    state.check = ack.check;
    closePay();
  } catch (err) {
    showError(err);
  }
  renderCheck();
}

/** What a payment may take: the part's due, never more than the check's. */
function dueOn(check, part) {
  if (part === null) return check.due_cents;
  const p = check.parts.find((x) => x.index === part);
  return Math.min(p ? p.due_cents : 0, check.due_cents);
}

/** A refused payment in the waiter's words, with amounts in the currency. */
function paymentWords(err, part) {
  const fields = (err.details && err.details.fields) || {};
  const code = (field) => Array.isArray(fields[field]) && fields[field][0] ? fields[field][0].code : null;
  if (code('amount_cents') === 'overpaid' && state.check) {
    return `Only ${money(dueOn(state.check, part))} is due here; anything more can only be a tip.`;
  }
  if (code('tendered_cents') === 'range') return 'The cash handed over must cover the amount and the tip.';
  return describe(err);
}

/** Minor units as a person types them: 2475 → "24.75". */
function plain(minor) {
  const digits = new Intl.NumberFormat(undefined, { style: 'currency', currency: state.currency }).resolvedOptions().maximumFractionDigits;
  return (minor / 10 ** digits).toFixed(digits);
}

function closePay() {
  state.pay = null;
  fill(paySlot);
}

function openPay(part) {
  const check = state.check;
  const due = dueOn(check, part);
  // One key per payment being taken: a retry after a lost reply is the
  // same payment, never a second charge.
  state.pay = { part, method: 'card', key: newKey('pay') };
  const title = part === null ? 'Take payment' : `Pay ${check.parts.find((p) => p.index === part).label}`;
  const amount = h('input', { id: 'pay-amount', inputmode: 'decimal', value: plain(due), oninput: update });
  const tip = h('input', { id: 'pay-tip', inputmode: 'decimal', placeholder: '0.00', oninput: update });
  const tendered = h('input', { id: 'pay-tendered', inputmode: 'decimal', placeholder: 'cash handed over', oninput: update });
  const tenderedRow = h('div', { class: 'tendered hidden' }, h('label', { for: 'pay-tendered' }, 'Cash handed over'), tendered);
  const change = h('p', { id: 'change-preview', class: 'change-preview', 'aria-live': 'polite' });
  const error = h('p', { id: 'pay-error', class: 'error-text', role: 'alert' });
  const methods = METHODS.map(([value, label]) => h('button', {
    id: `method-${value}`, class: 'method', 'aria-pressed': String(value === 'card'),
    onclick: () => {
      state.pay.method = value;
      for (const b of methods) b.setAttribute('aria-pressed', String(b.id === `method-${value}`));
      tenderedRow.classList.toggle('hidden', value !== 'cash');
      update();
    },
  }, label));
  const record = h('button', { id: 'record-payment', class: 'primary', onclick: () => recordPayment(record) }, 'Record payment');

  function read() {
    const a = parseMoney(amount.value);
    const t = tip.value.trim() ? parseMoney(tip.value) : 0;
    const cash = state.pay.method === 'cash' && tendered.value.trim() ? parseMoney(tendered.value) : null;
    return { amount: a, tip: t, tendered: cash, tenderedBad: state.pay.method === 'cash' && tendered.value.trim() !== '' && cash === null };
  }

  // What to hand back, as the waiter counts it; the hub's own figure
  // replaces it once the payment is recorded.
  function update() {
    error.textContent = '';
    const v = read();
    if (v.amount === null || v.tip === null || v.tenderedBad) { change.textContent = ''; return; }
    const total = v.amount + v.tip;
    if (state.pay.method === 'cash' && v.tendered !== null) {
      change.textContent = v.tendered >= total ? `Change: ${money(v.tendered - total)}` : `Short by ${money(total - v.tendered)}`;
    } else {
      change.textContent = v.tip ? `Charge ${money(total)} with the tip` : '';
    }
  }

  async function recordPayment(button) {
    const v = read();
    if (v.amount === null || v.amount < 1) { error.textContent = 'Amount: write it like 24.75'; return; }
    if (v.tip === null) { error.textContent = 'Tip: write it like 2.50'; return; }
    if (v.tenderedBad) { error.textContent = 'Cash handed over: write it like 30.00'; return; }
    const body = {
      check_id: state.check.id, idempotency_key: state.pay.key, method: state.pay.method,
      amount_cents: v.amount, tip_cents: v.tip,
    };
    if (state.pay.part !== null) body.part = state.pay.part;
    if (v.tendered !== null) body.tendered_cents = v.tendered;
    button.disabled = true;
    try {
      const ack = await state.live.command('payment.record', body);
      state.check = ack.check;
      state.lastPayment = ack.payment;
      closePay();
      notify(`${money(ack.payment.amount_cents)} by ${ack.payment.method} recorded`, 'ok');
      renderCheck();
    } catch (err) {
      error.textContent = paymentWords(err, state.pay ? state.pay.part : null);
      notify(error.textContent, 'error');
      button.disabled = false;
    }
  }

  fill(paySlot, h('div', { id: 'pay-form', class: 'card pay' },
    h('h3', {}, title, ' · ', h('span', { class: 'num' }, `due ${money(due)}`)),
    h('div', { class: 'row methods', role: 'group', 'aria-label': 'Method' }, methods),
    h('div', { class: 'pay-fields' },
      h('div', {}, h('label', { for: 'pay-amount' }, 'Amount'), amount),
      h('div', {}, h('label', { for: 'pay-tip' }, 'Tip'), tip),
      tenderedRow),
    change,
    error,
    h('div', { class: 'row' },
      h('button', { class: 'ghost', onclick: closePay }, 'Cancel'),
      record)));
  paySlot.scrollIntoView({ block: 'nearest' });
}

start().catch(showError);
