// The guest's table page, opened from the QR code on the table (/t/{code}).
//
// It works only with a guest token for this table, got from the code in the
// URL and kept per code in sessionStorage (this tab only). It never reads
// the staff login a shared device may hold in localStorage: every REST call
// passes the guest token explicitly and the live socket says hello with it,
// so a guest's page can only ever do what a guest may (PROTOCOL 4).
//
// What the guest sees: the menu with live availability, stock and prices,
// modifier choices, a cart, placing the order, each line's status as the
// kitchen moves it, calling the waiter, the bill (with its parts when staff
// split it) and paying a part through the payment provider's intent flow.
//
// Orders go out with `source: "qr"`: the hub refuses any other source from a
// guest (PROTOCOL 7.1), and the table is always the guest's own.
import {
  $, h, fill, api, describe, notify, showError, HubError, money, parseMoney, clock, useRestaurant, newKey,
  Live, connectionBadge,
} from './hub.js';

const code = decodeURIComponent(location.pathname.replace(/^\/t\//, '').split('/')[0] || '');
const STORE = `restohub.table.${code}`;
/** How often the menu is read again: a new price appends no event (PROTOCOL 6.2). */
const MENU_REFRESH_MS = 30000;

// ---------------------------------------------------------------- state

/** What this tab remembers for this table code (sessionStorage: this tab only). */
const saved = {
  all() {
    try { return JSON.parse(sessionStorage.getItem(STORE)) || {}; } catch { return {}; }
  },
  get(name) { return this.all()[name]; },
  set(name, value) {
    const all = this.all();
    if (value === undefined || value === null) delete all[name]; else all[name] = value;
    sessionStorage.setItem(STORE, JSON.stringify(all));
  },
};

const state = {
  session: null, // {access_token, table_id, table_label, expires_at}
  restaurant: null,
  categories: [],
  items: new Map(), // id → menu item
  orders: new Map(), // id → order (with lines)
  cart: saved.get('cart') || [], // [{key, menu_item_id, qty, choices, note}]
  orderKey: saved.get('orderKey') || null, // the idempotency key of the cart as it is
  choosing: null, // {itemId, chosen: Set of option ids, note}
  cartOpen: false, // the cart's lines shown (a phone shows only its sum otherwise)
  check: null,
  checkId: saved.get('checkId') || null,
  part: null, // the split part the guest chose to pay
  tip: '',
  intent: saved.get('intent') || null, // the payment intent waiting for the provider
  paid: null, // {label, amount_cents, due_cents}: the last payment of this page
  call: null, // null | 'calling' | 'called' | 'coming'
  tab: 'menu',
  ended: null, // words: why this page can no longer order
  placing: false,
  cancelling: null, // the order whose cancel button was tapped once
  paying: false,
};

const badge = connectionBadge();
let live = null;

// ---------------------------------------------------------------- start

start().catch(unreachable);

async function start() {
  if (!code) return stale('This page needs the code from the table’s QR code.');
  let session = saved.get('session');
  if (!session) {
    session = await newSession();
    if (!session) return;
  }
  state.session = session;
  let restaurant;
  try {
    restaurant = await guestApi('GET', '/api/v1/restaurant');
  } catch (err) {
    if (!(err instanceof HubError) || err.status !== 401) throw err;
    // The stored token is over (expired, or the visit ended): try the code again.
    saved.set('session', null);
    state.session = await newSession();
    if (!state.session) return;
    restaurant = await guestApi('GET', '/api/v1/restaurant');
  }
  state.restaurant = restaurant;
  useRestaurant(restaurant);
  document.title = `${restaurant.name} — table ${state.session.table_label}`;
  layout();
  live = new Live({
    token: async () => state.session.access_token,
    // An expired or refused token: a new guest session from the table's code.
    refresh: async () => {
      saved.set('session', null);
      const fresh = await newSession(true);
      if (!fresh) throw new HubError('UNAUTHORIZED', 'the table code is no longer valid', 401);
      state.session = fresh;
    },
    onSync: sync,
    onEvent: (frame) => { recent.forEach((list) => list.push(frame)); apply(frame, false); },
    onState: (s, why) => {
      badge.update(s, why);
      if (state.ended) { badge.className = 'conn down'; badge.textContent = 'visit ended'; }
    },
    onEnded: (closeCode, why) => {
      if (closeCode === 4001 || closeCode === 4002) {
        visitEnded();
        return undefined;
      }
      notify(why, 'error');
      return false; // anything else: keep trying
    },
  }).start();
  setInterval(() => { if (live.state === 'live' && !state.ended) refreshMenu().catch(() => {}); }, MENU_REFRESH_MS);
}

/**
 * A guest token for this table from the code in the URL; null (and the
 * page says so in words) when the code is not the table's current one.
 */
async function newSession(quiet = false) {
  try {
    const s = await api('POST', '/api/v1/guest-sessions', { table_code: code }, null);
    const session = {
      access_token: s.access_token, table_id: s.table_id, table_label: s.table_label, expires_at: s.expires_at,
    };
    saved.set('session', session);
    return session;
  } catch (err) {
    if (err instanceof HubError && (err.status === 401 || err.status === 404 || err.status === 422)) {
      if (!quiet) stale();
      return null;
    }
    throw err;
  }
}

/** REST with the guest token only (never the staff login of this device). */
function guestApi(method, path, body) {
  return api(method, path, body, state.session.access_token);
}

/** The code is not (or no longer) this table's: say what to do, in words. */
function stale(extra) {
  document.title = 'restohub — scan the table’s new code';
  fill($('#app'),
    h('main', { class: 'stale' },
      h('section', { class: 'card', id: 'stale', role: 'alert' },
        h('h1', {}, 'This table code is no longer valid'),
        h('p', {}, 'The visit it was for has ended, or the code was replaced. ',
          h('strong', {}, 'Please scan the table’s new code'), ' (the QR code on the table) to see the menu and order.'),
        h('p', { class: 'muted' }, 'If there is no code on the table, ask a waiter.'),
        extra ? h('p', { class: 'muted' }, extra) : null)));
}

/** The hub could not be asked (down, unreachable, too many tries): say so, offer to try again. */
function unreachable(err) {
  fill($('#app'),
    h('main', { class: 'stale' },
      h('section', { class: 'card', id: 'unreachable', role: 'alert' },
        h('h1', {}, 'The restaurant’s system cannot be reached'),
        h('p', {}, describe(err)),
        h('p', { class: 'muted' }, 'Check the phone’s connection (the restaurant’s Wi-Fi), then try again.'),
        h('button', { class: 'primary', id: 'try-again', onclick: () => location.reload() }, 'Try again'))));
}

/** The visit ended while the page was open: keep what it shows, stop ordering. */
function visitEnded() {
  if (state.ended) return;
  state.ended = 'This visit has ended. To order again, please scan the table’s new code.';
  state.call = null;
  saved.set('session', null);
  if (live) live.stop();
  badge.className = 'conn down';
  badge.textContent = 'visit ended';
  renderNotice();
  renderCart();
  renderMenu();
  renderBill();
}

// ---------------------------------------------------------------- layout

const tabs = [
  ['menu', 'Menu'],
  ['orders', 'Your orders'],
  ['bill', 'Bill'],
];

function layout() {
  fill($('#app'),
    h('header', { class: 'top table-top' },
      h('div', { class: 'where' },
        h('h1', {}, state.restaurant.name),
        h('span', { class: 'muted', id: 'table-label' }, `Table ${state.session.table_label}`)),
      badge,
      h('button', { id: 'call-waiter', class: 'call', onclick: callWaiter }, 'Call the waiter')),
    h('div', { id: 'notice', role: 'status', 'aria-live': 'polite' }),
    h('nav', { class: 'tabs', id: 'tabs', role: 'tablist' },
      tabs.map(([id, label]) => h('button', {
        id: `tab-${id}`, role: 'tab', class: 'tab', dataset: { tab: id }, onclick: () => showTab(id),
      }, label, h('span', { class: 'count', id: `count-${id}` })))),
    h('main', { class: 'table-main' },
      h('section', { id: 'menu', class: 'panel', 'aria-label': 'Menu' }, h('p', { class: 'muted' }, 'Loading the menu…')),
      h('div', { class: 'side' },
        h('h2', { class: 'panel-title' }, 'Your orders'),
        h('section', { id: 'orders', class: 'panel', 'aria-label': 'Your orders' }),
        h('h2', { class: 'panel-title' }, 'Bill'),
        h('section', { id: 'bill', class: 'panel', 'aria-label': 'Bill' }))),
    h('aside', { id: 'cart', class: 'cart hidden', 'aria-label': 'Your cart' }));
  showTab(state.tab);
  renderNotice();
  renderCart();
  renderOrders();
  renderBill();
}

function showTab(id) {
  state.tab = id;
  for (const [name] of tabs) {
    $(`#${name}`).classList.toggle('off', name !== id);
    const tab = $(`#tab-${name}`);
    tab.classList.toggle('on', name === id);
    tab.setAttribute('aria-selected', String(name === id));
  }
  document.body.dataset.tab = id;
}

function renderNotice() {
  const box = $('#notice');
  if (!box) return;
  const parts = [];
  if (state.ended) parts.push(h('p', { class: 'ended', id: 'ended' }, state.ended));
  if (state.call === 'called' || state.call === 'calling') {
    parts.push(h('p', { class: 'call-state', id: 'call-state' }, 'A waiter has been called.'));
  } else if (state.call === 'coming') {
    parts.push(h('p', { class: 'call-state coming', id: 'call-state' }, 'The waiter is coming.'));
  }
  fill(box, parts);
  const button = $('#call-waiter');
  if (button) button.disabled = Boolean(state.ended) || state.call === 'calling';
}

// ---------------------------------------------------------------- snapshots and events

/** Event lists being collected while a snapshot is on its way. */
const recent = new Set();

/**
 * Sends a snapshot command; events that arrive meanwhile and are newer
 * than the snapshot's seq are applied again on top of it (appliers are
 * idempotent), so nothing between the read and the reply is lost.
 */
async function snapshot(type, fields, take) {
  const during = [];
  recent.add(during);
  try {
    const ack = await live.command(type, fields);
    take(ack);
    for (const frame of during) if (frame.seq > ack.seq) apply(frame, true);
  } finally {
    recent.delete(during);
  }
}

async function sync() {
  const jobs = [
    snapshot('menu.snapshot', {}, takeMenu),
    snapshot('table.snapshot', {}, takeTable),
  ];
  if (state.checkId) jobs.push(readCheck('check.get', { check_id: state.checkId }).catch(() => {}));
  await Promise.all(jobs);
}

function takeMenu(ack) {
  state.categories = [...ack.categories].sort((a, b) => a.position - b.position || a.id - b.id);
  state.items = new Map(ack.items.map((item) => [item.id, item]));
  renderMenu();
  renderCart();
}

/** The menu read again for new prices and dishes; drawn again only when something changed. */
async function refreshMenu() {
  await snapshot('menu.snapshot', {}, (ack) => {
    const before = JSON.stringify([state.categories, [...state.items.values()]]);
    const after = JSON.stringify([[...ack.categories].sort((a, b) => a.position - b.position || a.id - b.id), ack.items]);
    if (before !== after) takeMenu(ack);
  });
}

function takeTable(ack) {
  const view = ack.tables && ack.tables[0];
  if (!view) return;
  state.orders = new Map(view.orders.map((o) => [o.id, o]));
  renderOrders();
}

/** Check events seen so far: a check read back is older than any that came meanwhile. */
let checkEvents = 0;

/** Reads the check (check.get or check.open) unless an event newer than the read came first. */
async function readCheck(type, fields) {
  const before = checkEvents;
  const ack = await live.command(type, fields);
  if (checkEvents === before) takeCheck(ack.check);
  return ack.check;
}

function takeCheck(check) {
  if (!check) return;
  state.check = check;
  state.checkId = check.id;
  saved.set('checkId', check.id);
  settleIntent();
  if (state.paid) state.paid.due_cents = check.due_cents;
  renderBill();
}

/** One event of this table's room, in order; `replay` when applied again after a snapshot. */
function apply(frame, replay) {
  const d = frame.data || {};
  switch (frame.kind) {
    case 'menu.availability_changed': {
      const item = state.items.get(d.menu_item_id);
      if (item) { item.available = d.available; updateItem(item.id); renderCart(); }
      break;
    }
    case 'menu.stock_changed': {
      const item = state.items.get(d.menu_item_id);
      if (item) { item.stock = d.stock; updateItem(item.id); }
      break;
    }
    case 'order.placed':
      state.orders.set(d.id, d);
      renderOrders();
      break;
    case 'order.line_status_changed': {
      const line = findLine(d.order_id, d.line_id);
      if (line) {
        line.status = d.status;
        if (d.status === 'ready' && !replay && state.tab !== 'orders') notify(`${d.name} is ready`, 'ok');
        renderOrders();
      }
      break;
    }
    case 'ticket.fired': {
      const order = state.orders.get(d.order_id);
      if (order) {
        for (const fired of d.lines || []) {
          const line = order.lines.find((l) => l.id === fired.id);
          if (line) Object.assign(line, { fired_at: fired.fired_at, start_at: fired.start_at, status: fired.status || line.status });
        }
        renderOrders();
      }
      break;
    }
    case 'order.status_changed': {
      const order = state.orders.get(d.order_id);
      if (order) {
        order.status = d.status;
        if (d.status === 'ready' && !replay && state.tab !== 'orders') notify('Your order is ready', 'ok');
        renderOrders();
      }
      break;
    }
    case 'order.cancelled': {
      const order = state.orders.get(d.order_id);
      if (order) {
        order.status = 'cancelled';
        for (const line of order.lines) line.status = 'voided';
        renderOrders();
      }
      break;
    }
    case 'order.rushed': {
      const order = state.orders.get(d.order_id);
      if (order) { order.rush = d.rush; renderOrders(); }
      break;
    }
    case 'table.waiter_called':
      if (state.call !== 'coming' || !replay) state.call = 'called';
      renderNotice();
      break;
    case 'table.call_accepted':
      state.call = 'coming';
      renderNotice();
      break;
    case 'check.opened':
    case 'check.updated':
    case 'check.closed':
      checkEvents += 1;
      takeCheck(d);
      break;
    case 'payment.recorded':
      paymentRecorded(d);
      break;
    default:
      break;
  }
}

function findLine(orderId, lineId) {
  const order = state.orders.get(orderId);
  return order && order.lines.find((l) => l.id === lineId);
}

// ---------------------------------------------------------------- menu

const ALLERGENS = {
  gluten: 'gluten', crustaceans: 'crustaceans', eggs: 'eggs', fish: 'fish', peanuts: 'peanuts',
  soybeans: 'soy', milk: 'milk', nuts: 'tree nuts', celery: 'celery', mustard: 'mustard', sesame: 'sesame',
  sulphites: 'sulphites', lupin: 'lupin', molluscs: 'molluscs',
};

function allergenList(list) {
  if (!list || !list.length) return null;
  return h('span', { class: 'allergens' }, h('span', { class: 'muted' }, 'Contains: '),
    list.map((a) => h('span', { class: 'allergen' }, ALLERGENS[a] || a)));
}

function renderMenu() {
  const box = $('#menu');
  if (!box || !state.items.size) return;
  const byCategory = new Map();
  for (const item of state.items.values()) {
    const key = item.category_id ?? 0;
    if (!byCategory.has(key)) byCategory.set(key, []);
    byCategory.get(key).push(item);
  }
  const sections = [];
  const named = state.categories.filter((c) => byCategory.has(c.id));
  for (const category of named) sections.push([category.name, byCategory.get(category.id)]);
  if (byCategory.has(0)) sections.push(['More', byCategory.get(0)]);
  fill(box, sections.map(([name, items]) => h('div', { class: 'category' },
    h('h2', {}, name),
    h('ul', { class: 'items' }, items.sort((a, b) => a.id - b.id).map(itemCard)))));
}

/** Draws one item again (after an availability, stock or price change). */
function updateItem(id) {
  const old = document.querySelector(`#menu [data-item="${id}"]`);
  const item = state.items.get(id);
  if (!old || !item) return renderMenu();
  old.replaceWith(itemCard(item));
}

function itemCard(item) {
  const closed = Boolean(state.ended);
  const out = !item.available;
  const low = item.stock !== null && item.stock !== undefined && item.stock > 0 && item.stock <= Math.max(item.low_stock_threshold, 3);
  const choosing = state.choosing && state.choosing.itemId === item.id && !out && !closed;
  return h('li', { class: `item card${out ? ' unavailable' : ''}`, dataset: { item: item.id } },
    h('div', { class: 'item-head' },
      h('div', { class: 'grow' },
        h('h3', { class: 'name' }, item.name),
        item.description ? h('p', { class: 'muted desc' }, item.description) : null,
        allergenList(item.allergens)),
      h('div', { class: 'buy' },
        h('span', { class: 'price num' }, money(item.price_cents)),
        out
          ? h('span', { class: 'badge late state' }, 'not available right now')
          : h('button', {
            class: 'add primary', disabled: closed, 'aria-label': `Add ${item.name}`,
            onclick: () => addItem(item.id),
          }, 'Add'))),
    low && !out ? h('p', { class: 'stock' }, `Only ${item.stock} left`) : null,
    choosing ? chooser(item) : null);
}

function addItem(id) {
  const item = state.items.get(id);
  if (!item || !item.available || state.ended) return;
  if (item.modifier_groups && item.modifier_groups.length) {
    state.choosing = { itemId: id, chosen: new Set(), note: '' };
    updateItem(id);
    const first = document.querySelector(`#menu [data-item="${id}"] .chooser button`);
    if (first) first.focus();
    return;
  }
  addToCart(id, [], '');
}

/** The modifier choices of an item, group by group, then "add". */
function chooser(item) {
  const c = state.choosing;
  const groups = item.modifier_groups;
  let extra = 0;
  for (const g of groups) for (const o of g.options) if (c.chosen.has(o.id)) extra += o.price_delta_cents;
  const problems = groups.map((g) => {
    const n = g.options.filter((o) => c.chosen.has(o.id)).length;
    if (n < g.min_choices) return g.min_choices === 1 ? `choose a ${g.name.toLowerCase()}` : `choose at least ${g.min_choices} in ${g.name}`;
    if (n > g.max_choices) return `at most ${g.max_choices} in ${g.name}`;
    return null;
  }).filter(Boolean);
  const toggle = (g, o) => {
    if (c.chosen.has(o.id)) c.chosen.delete(o.id);
    else {
      if (g.max_choices === 1) for (const other of g.options) c.chosen.delete(other.id);
      const n = g.options.filter((x) => c.chosen.has(x.id)).length;
      if (n >= g.max_choices) { notify(`At most ${g.max_choices} in ${g.name}`); return; }
      c.chosen.add(o.id);
    }
    updateItem(item.id);
  };
  return h('div', { class: 'chooser' },
    groups.map((g) => h('fieldset', { class: 'group', dataset: { group: g.id } },
      h('legend', {}, g.name, ' ', h('span', { class: 'muted' },
        g.required ? (g.max_choices === 1 ? '(choose one)' : `(choose ${g.min_choices}–${g.max_choices})`)
          : `(optional, up to ${g.max_choices})`)),
      h('div', { class: 'options' }, g.options.map((o) => h('button', {
        class: `option${c.chosen.has(o.id) ? ' chosen' : ''}`, 'aria-pressed': String(c.chosen.has(o.id)),
        dataset: { option: o.id }, onclick: () => toggle(g, o),
      }, o.name, o.price_delta_cents ? h('span', { class: 'delta num' }, ` ${o.price_delta_cents > 0 ? '+' : '−'}${money(Math.abs(o.price_delta_cents))}`) : null,
      o.allergens && o.allergens.length ? h('span', { class: 'allergen' }, o.allergens.map((a) => ALLERGENS[a] || a).join(', ')) : null))))),
    h('label', { for: `note-${item.id}` }, 'A note for the kitchen (optional)'),
    h('input', {
      id: `note-${item.id}`, class: 'note', maxlength: 200, value: c.note,
      oninput: (e) => { c.note = e.target.value; },
    }),
    problems.length ? h('p', { class: 'muted need' }, problems.join('; ')) : null,
    h('div', { class: 'row' },
      h('button', { class: 'ghost', onclick: () => { state.choosing = null; updateItem(item.id); } }, 'Cancel'),
      h('button', {
        class: 'primary grow confirm', disabled: problems.length > 0,
        onclick: () => {
          const chosen = groups.flatMap((g) => g.options.filter((o) => c.chosen.has(o.id)).map((o) => o.id));
          state.choosing = null;
          addToCart(item.id, chosen, c.note.trim());
          updateItem(item.id);
        },
      }, `Add · ${money(item.price_cents + extra)}`)));
}

// ---------------------------------------------------------------- cart

function unitPrice(line) {
  const item = state.items.get(line.menu_item_id);
  if (!item) return 0;
  let price = item.price_cents;
  for (const g of item.modifier_groups || []) for (const o of g.options) if (line.choices.includes(o.id)) price += o.price_delta_cents;
  return price;
}

function choiceNames(line) {
  const item = state.items.get(line.menu_item_id);
  const names = [];
  for (const g of (item && item.modifier_groups) || []) for (const o of g.options) if (line.choices.includes(o.id)) names.push(o.name);
  return names;
}

function cartChanged() {
  // A different cart is a different order: it gets a new key when sent.
  state.orderKey = null;
  saved.set('orderKey', null);
  saved.set('cart', state.cart);
  renderCart();
}

function addToCart(id, choices, note) {
  const key = `${id}|${[...choices].sort((a, b) => a - b).join(',')}|${note}`;
  const line = state.cart.find((l) => l.key === key);
  if (line) line.qty = Math.min(99, line.qty + 1);
  else state.cart.push({ key, menu_item_id: id, qty: 1, choices, note });
  cartChanged();
}

function setQty(key, qty) {
  const line = state.cart.find((l) => l.key === key);
  if (!line) return;
  if (qty <= 0) state.cart = state.cart.filter((l) => l.key !== key);
  else line.qty = Math.min(99, qty);
  cartChanged();
}

function renderCart() {
  const box = $('#cart');
  if (!box) return;
  const lines = state.cart;
  // A tablet has room for the lines beside the menu; a phone shows them when asked.
  const open = state.cartOpen || matchMedia('(min-width: 1000px)').matches;
  box.classList.toggle('hidden', !lines.length);
  box.classList.toggle('open', open);
  document.body.classList.toggle('has-cart', lines.length > 0);
  document.body.classList.toggle('cart-open', lines.length > 0 && open);
  const count = lines.reduce((n, l) => n + l.qty, 0);
  const counter = $('#count-menu');
  if (counter) counter.textContent = count ? ` (${count})` : '';
  if (!lines.length) return fill(box);
  const total = lines.reduce((sum, l) => sum + unitPrice(l) * l.qty, 0);
  const gone = lines.filter((l) => { const i = state.items.get(l.menu_item_id); return !i || !i.available; });
  fill(box,
    open ? h('ul', { class: 'cart-lines', id: 'cart-lines' }, lines.map((l) => {
      const item = state.items.get(l.menu_item_id);
      const out = !item || !item.available;
      const extras = choiceNames(l);
      return h('li', { class: `cart-line${out ? ' unavailable' : ''}`, dataset: { key: l.key } },
        h('div', { class: 'grow' },
          h('span', { class: 'name' }, item ? item.name : 'an item no longer on the menu'),
          extras.length ? h('span', { class: 'muted choices' }, ` · ${extras.join(', ')}`) : null,
          l.note ? h('span', { class: 'muted note' }, ` · “${l.note}”`) : null,
          out ? h('span', { class: 'badge late' }, ' not available now') : null),
        h('div', { class: 'qty row' },
          h('button', { class: 'less', 'aria-label': `One ${item ? item.name : 'item'} less`, onclick: () => setQty(l.key, l.qty - 1) }, '−'),
          h('span', { class: 'num n' }, l.qty),
          h('button', { class: 'more', 'aria-label': `One more ${item ? item.name : 'item'}`, disabled: out, onclick: () => setQty(l.key, l.qty + 1) }, '+')),
        h('span', { class: 'num line-total' }, money(unitPrice(l) * l.qty)));
    })) : null,
    gone.length ? h('p', { class: 'error-text' }, 'Some items are not available right now: take them out to order.') : null,
    h('div', { class: 'row cart-foot' },
      h('button', {
        id: 'cart-toggle', class: 'ghost grow', 'aria-expanded': String(open), 'aria-controls': 'cart-lines',
        onclick: () => { state.cartOpen = !state.cartOpen; renderCart(); },
      },
      h('span', { class: 'what' }, 'Your cart · ', h('span', { id: 'cart-count' }, `${count} ${count === 1 ? 'item' : 'items'}`)),
      h('strong', { class: 'num', id: 'cart-total' }, money(total)),
      h('span', { class: 'muted' }, open ? '▾' : '▴')),
      h('button', {
        id: 'place-order', class: 'primary', disabled: state.placing || gone.length > 0 || Boolean(state.ended),
        onclick: () => placeOrder().catch(showError),
      }, state.placing ? 'Sending…' : 'Order')));
}

/** Words for an order the hub refused for stock. */
function refusal(err) {
  if (err instanceof HubError && err.code === 'OUT_OF_STOCK' && Array.isArray(err.details.items)) {
    return 'Not enough left: ' + err.details.items.map((i) => `${i.name} (${i.available} left, you asked for ${i.requested})`).join(', ');
  }
  return describe(err);
}

async function placeOrder() {
  if (!state.cart.length || state.placing || state.ended) return;
  // One key per cart: a retry after a lost reply is the same order, not a second one.
  if (!state.orderKey) {
    state.orderKey = newKey(`guest-${state.session.table_id}`);
    saved.set('orderKey', state.orderKey);
  }
  const body = {
    idempotency_key: state.orderKey,
    table_id: state.session.table_id,
    source: 'qr',
    lines: state.cart.map((l) => {
      const line = { menu_item_id: l.menu_item_id, qty: l.qty };
      if (l.choices.length) line.choices = l.choices;
      if (l.note) line.note = l.note;
      return line;
    }),
  };
  state.placing = true;
  renderCart();
  try {
    let reply;
    try {
      reply = await live.command('order.place', body);
    } catch (err) {
      // Not connected right now: the same order over REST (same key).
      if (!(err instanceof HubError) || err.code !== 'UNAVAILABLE') throw err;
      reply = await guestApi('POST', '/api/v1/orders', body);
    }
    const order = reply.order;
    state.orders.set(order.id, order);
    state.cart = [];
    state.cartOpen = false;
    cartChanged();
    renderOrders();
    showTab('orders');
  } catch (err) {
    notify(refusal(err), 'error');
  } finally {
    state.placing = false;
    renderCart();
  }
}

// ---------------------------------------------------------------- orders

const LINE_WORDS = {
  queued: 'ordered', preparing: 'being prepared', ready: 'ready', served: 'served', voided: 'cancelled',
};
const LINE_CLASS = { queued: '', preparing: 'caution', ready: 'ok', served: 'ok', voided: 'late' };
const ORDER_WORDS = {
  placed: 'sent to the kitchen', in_progress: 'being prepared', ready: 'ready', served: 'served',
  closed: 'done', cancelled: 'cancelled',
};

function lineState(line) {
  if (line.status === 'queued' && !line.fired_at) return ['comes with the next course', 'held'];
  return [LINE_WORDS[line.status] || line.status, LINE_CLASS[line.status] || ''];
}

function renderOrders() {
  const box = $('#orders');
  if (!box) return;
  const orders = [...state.orders.values()].sort((a, b) => b.id - a.id);
  const open = orders.filter((o) => o.status !== 'closed' && o.status !== 'cancelled').length;
  const counter = $('#count-orders');
  if (counter) counter.textContent = open ? ` (${open})` : '';
  if (!orders.length) {
    return fill(box, h('p', { class: 'muted empty' }, 'Nothing ordered yet. Choose from the menu and place your order.'));
  }
  fill(box, orders.map((o) => h('article', { class: `order card status-${o.status}`, dataset: { order: o.id } },
    h('div', { class: 'row order-head' },
      h('h2', { class: 'grow' }, `Order ${o.id}`, h('span', { class: 'muted' }, ` · ${clock(o.created_at)}`)),
      h('span', { class: `badge state ${o.status === 'ready' || o.status === 'served' ? 'ok' : ''}` }, ORDER_WORDS[o.status] || o.status)),
    h('ul', { class: 'lines' }, o.lines.map((l) => {
      const [words, kind] = lineState(l);
      const extras = (l.choices || []).map((c) => c.name).concat(l.modifiers || []);
      return h('li', { class: `line ${l.status}`, dataset: { line: l.id } },
        h('div', { class: 'grow' },
          h('span', { class: 'qty num' }, `${l.qty} × `), h('span', { class: 'name' }, l.name),
          extras.length ? h('div', { class: 'muted choices' }, extras.join(', ')) : null,
          l.note ? h('div', { class: 'muted note' }, `“${l.note}”`) : null),
        h('span', { class: `badge state ${kind}` }, words));
    })),
    h('div', { class: 'row order-foot' }, h('span', { class: 'grow muted' }, 'Total'), h('strong', { class: 'num' }, money(o.total_cents))),
    cancellable(o) && state.cancelling === o.id && onlyOpen(o) ? h('p', { class: 'muted warn' },
      'This is the table’s only open order: cancelling it ends this visit, and ordering again needs the table’s new code.') : null,
    cancellable(o) ? h('button', {
      class: `danger cancel${state.cancelling === o.id ? ' sure' : ''}`,
      onclick: () => cancelOrder(o).catch(showError),
    }, state.cancelling === o.id ? 'Tap again to cancel this order' : 'Cancel this order') : null)));
}

/** A guest may take back its order while the kitchen has started nothing of it. */
function cancellable(o) {
  return !state.ended && (o.status === 'placed') && o.lines.every((l) => l.status === 'queued' || l.status === 'voided');
}

/** The table's only open order: cancelling it frees the table, which ends the visit (PROTOCOL 3). */
function onlyOpen(o) {
  return [...state.orders.values()].every((x) => x.id === o.id || x.status === 'closed' || x.status === 'cancelled');
}

async function cancelOrder(o) {
  // Two taps: a stray one on a phone must not take an order back.
  if (state.cancelling !== o.id) {
    state.cancelling = o.id;
    renderOrders();
    return;
  }
  state.cancelling = null;
  const reason = 'cancelled by the guest at the table';
  let order;
  try {
    order = (await live.command('order.cancel', { order_id: o.id, reason })).order;
  } catch (err) {
    if (!(err instanceof HubError) || err.code !== 'UNAVAILABLE') { renderOrders(); throw err; }
    order = await guestApi('POST', `/api/v1/orders/${o.id}/cancel`, { reason });
  }
  state.orders.set(order.id, order);
  renderOrders();
}

// ---------------------------------------------------------------- calling the waiter

async function callWaiter() {
  if (state.ended) return;
  const before = state.call;
  state.call = 'calling';
  renderNotice();
  try {
    try {
      await live.command('table.call_waiter', {});
    } catch (err) {
      if (!(err instanceof HubError) || err.code !== 'UNAVAILABLE') throw err;
      await guestApi('POST', `/api/v1/tables/${state.session.table_id}/call-waiter`, {});
    }
    state.call = 'called';
  } catch (err) {
    state.call = before;
    showError(err);
  }
  renderNotice();
}

// ---------------------------------------------------------------- the bill

/** Asks for the table's bill: the live check, opened if there is none yet. */
async function showBill() {
  try {
    await readCheck('check.open', {});
  } catch (err) {
    if (!(err instanceof HubError) || err.code !== 'UNAVAILABLE') throw err;
    takeCheck(await guestApi('POST', '/api/v1/checks', {}));
  }
}

const CHECK_WORDS = {
  open: 'open', partially_paid: 'partly paid', paid: 'paid', closed: 'paid and closed', void: 'void',
};

function renderBill() {
  const box = $('#bill');
  if (!box) return;
  const c = state.check;
  const counter = $('#count-bill');
  if (counter) counter.textContent = c && c.due_cents > 0 ? ` (${money(c.due_cents)})` : '';
  if (!c) {
    return fill(box,
      h('p', { class: 'muted' }, 'No bill yet.'),
      state.ended ? null : h('button', { id: 'show-bill', onclick: () => showBill().catch(showError) }, 'Show my bill'));
  }
  const row = (label, amount, cls = '') => h('tr', { class: cls }, h('th', {}, label), h('td', { class: 'num' }, amount));
  fill(box,
    h('div', { class: 'row' },
      h('h2', { class: 'grow' }, 'Your bill'),
      h('span', { class: `badge state ${c.due_cents === 0 && c.status !== 'void' ? 'ok' : ''}`, id: 'check-status' }, CHECK_WORDS[c.status] || c.status)),
    h('table', { class: 'data check-lines' },
      h('tbody', {}, c.lines.map((l) => h('tr', {},
        h('td', {}, `${l.qty} × ${l.name}`),
        h('td', { class: 'num' }, l.discount_cents ? [h('s', { class: 'muted' }, money(l.gross_cents)), ' ', money(l.net_cents)] : money(l.net_cents)))))),
    h('table', { class: 'data sums' }, h('tbody', {},
      c.discounts.map((d) => row(`${d.comp ? 'On the house' : 'Discount'}: ${d.reason}`, `−${money(d.amount_cents)}`)),
      c.service_cents ? row('Service', money(c.service_cents)) : null,
      c.taxes.map((t) => row(`${t.included ? 'incl. ' : ''}${t.name} ${t.rate_bp / 100}%`, money(t.tax_cents), 'muted')),
      row('Total', money(c.total_cents), 'total'),
      c.paid_cents ? row('Paid', money(c.paid_cents), 'paid') : null,
      c.tip_cents ? row('Tips', money(c.tip_cents), 'muted') : null,
      row('Still due', money(c.due_cents), 'due'))),
    paidNotice(),
    payPanel(c),
    c.payments && c.payments.length ? h('div', { class: 'payments' },
      h('h3', {}, 'Payments'),
      h('ul', {}, c.payments.map((p) => h('li', {},
        `${money(p.amount_cents)}${p.tip_cents ? ` + ${money(p.tip_cents)} tip` : ''} by ${p.method}`,
        p.part !== undefined && c.parts ? ` · ${partLabel(c, p.part)}` : '',
        h('span', { class: 'muted' }, ` · ${clock(p.at)}`))))) : null);
}

function partLabel(c, index) {
  const part = (c.parts || []).find((p) => p.index === index);
  return part ? `part ${part.label}` : `part ${index + 1}`;
}

function paidNotice() {
  const p = state.paid;
  if (!p) return null;
  return h('div', { class: 'card paid-notice', id: 'paid', role: 'status' },
    h('strong', {}, `Paid: ${money(p.amount_cents)}${p.label ? ` (${p.label})` : ''}. Thank you!`),
    h('p', {}, p.due_cents > 0 ? `Still due on the bill: ${money(p.due_cents)}` : 'The bill is paid in full.'));
}

/** Choosing what to pay (a part when split) and paying it. */
function payPanel(c) {
  if (state.intent && state.intent.check_id === c.id) {
    const i = state.intent;
    return h('div', { class: 'card pending', id: 'intent', dataset: { intent: i.id } },
      h('p', {}, h('strong', {}, `Waiting for the payment provider… (${i.id})`)),
      h('p', { class: 'muted' }, `${money(i.amount_cents)}${i.tip_cents ? ` + ${money(i.tip_cents)} tip` : ''}`,
        i.part !== undefined && i.part !== null ? ` for ${partLabel(c, i.part)}` : '',
        '. Complete the payment in the provider’s window; this page updates by itself.'),
      i.expires_at ? h('p', { class: 'muted' }, `The payment request runs until ${clock(i.expires_at)}.`) : null,
      h('button', {
        class: 'ghost', id: 'pay-again',
        onclick: () => { state.intent = null; saved.set('intent', null); renderBill(); },
      }, 'Choose again'));
  }
  if (c.status !== 'open' && c.status !== 'partially_paid') return null;
  if (c.due_cents <= 0 || state.ended) return null;
  const parts = c.split && c.parts ? c.parts : null;
  if (parts && (state.part === null || !parts.some((p) => p.index === state.part && p.due_cents > 0))) {
    const first = parts.find((p) => p.due_cents > 0);
    state.part = first ? first.index : null;
  }
  const amount = parts ? ((parts.find((p) => p.index === state.part) || {}).due_cents || 0) : c.due_cents;
  return h('div', { class: 'card pay', id: 'pay' },
    h('h3', {}, 'Pay at the table'),
    parts ? h('div', { class: 'parts', role: 'radiogroup', 'aria-label': 'Which part you pay' }, parts.map((p) => h('button', {
      class: `part${p.index === state.part ? ' chosen' : ''}`, role: 'radio', 'aria-checked': String(p.index === state.part),
      dataset: { part: p.index }, disabled: p.due_cents <= 0,
      onclick: () => { state.part = p.index; renderBill(); },
    }, h('span', { class: 'label' }, `Part ${p.label}`), h('span', { class: 'num' }, money(p.amount_cents)),
    p.due_cents <= 0 ? h('span', { class: 'badge ok' }, 'paid') : p.paid_cents ? h('span', { class: 'muted' }, `${money(p.due_cents)} due`) : null))) : null,
    h('label', { for: 'tip' }, `Tip (optional, in ${state.restaurant.currency})`),
    h('input', {
      id: 'tip', inputmode: 'decimal', value: state.tip, placeholder: '0',
      oninput: (e) => { state.tip = e.target.value; },
    }),
    h('button', {
      id: 'pay-now', class: 'primary', disabled: state.paying || amount <= 0,
      onclick: () => pay(c, parts ? state.part : null, amount).catch(showError),
    }, state.paying ? 'Asking the provider…' : `Pay ${money(amount)}`));
}

async function pay(c, part, amount) {
  if (state.paying) return;
  let tip = 0;
  if (state.tip.trim()) {
    tip = parseMoney(state.tip);
    if (tip === null) { notify('The tip is not an amount (for example 2.50)', 'error'); return; }
  }
  const body = { check_id: c.id, idempotency_key: newKey(`guest-pay-${c.id}`), tip_cents: tip };
  if (part !== null && part !== undefined) body.part = part;
  state.paying = true;
  renderBill();
  try {
    let intent;
    try {
      intent = (await live.command('payment.intent', body)).intent;
    } catch (err) {
      if (!(err instanceof HubError) || err.code !== 'UNAVAILABLE') throw err;
      const { check_id: _, ...rest } = body;
      intent = await guestApi('POST', `/api/v1/checks/${c.id}/intents`, rest);
    }
    // There is no provider in this page: it hands the intent over (its id,
    // amount, tip and currency) and waits for the hub to record the payment
    // the provider confirms through its signed webhook.
    state.intent = {
      id: intent.id, check_id: intent.check_id, part: intent.part, amount_cents: intent.amount_cents,
      tip_cents: intent.tip_cents, currency: intent.currency, expires_at: intent.expires_at, label: part !== null && part !== undefined ? partLabel(c, part) : null,
    };
    saved.set('intent', state.intent);
    state.paid = null;
  } catch (err) {
    showError(err);
  } finally {
    state.paying = false;
    renderBill();
  }
}

/** A payment recorded on this table's check: is it the one this page waits for? */
function paymentRecorded(d) {
  const p = d.payment;
  const i = state.intent;
  if (!p || !i || p.check_id !== i.check_id) return;
  if ((p.part ?? null) === (i.part ?? null) && p.amount_cents === i.amount_cents && p.tip_cents === i.tip_cents) {
    state.intent = null;
    saved.set('intent', null);
    state.paid = { amount_cents: p.amount_cents, label: i.label, due_cents: d.due_cents };
    if (state.tab !== 'bill') notify(`Paid ${money(p.amount_cents)}. Thank you!`, 'ok');
    renderBill();
  }
}

/**
 * After a reload the payment event may be long gone: a check whose part
 * (or whole) is no longer due settles the intent this page waits for.
 */
function settleIntent() {
  const i = state.intent;
  const c = state.check;
  if (!i || !c || c.id !== i.check_id) return;
  const part = i.part !== null && i.part !== undefined && c.parts ? c.parts.find((p) => p.index === i.part) : null;
  const due = part ? part.due_cents : c.due_cents;
  const done = due <= 0 || c.status === 'paid' || c.status === 'closed' || c.status === 'void';
  if (!done) return;
  state.intent = null;
  saved.set('intent', null);
  if (c.status !== 'void') state.paid = state.paid || { amount_cents: i.amount_cents, label: i.label, due_cents: c.due_cents };
  if (state.paid) state.paid.due_cents = c.due_cents;
}
