// What every page shares: the login kept on this device (with refresh-token
// rotation), REST calls that turn the hub's errors into words, the live
// WebSocket session (hello with `since`, gap checks, resume, reconnect,
// an always-visible connection state), the restaurant's currency and time
// zone, and a small DOM builder (no innerHTML anywhere: nothing a guest or
// a waiter types can become markup).

const STORE = 'restohub.login';
const DEVICE = 'restohub.device';

// ---------------------------------------------------------------- DOM

/** h('div', {class: 'x', onclick: f}, child, 'text', [more]) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'value') el.value = value;
    else el.setAttribute(key, value === true ? '' : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export const $ = (selector, root = document) => root.querySelector(selector);

// ---------------------------------------------------------------- errors

export class HubError extends Error {
  constructor(code, message, status, details) {
    super(message);
    this.code = code;
    this.status = status;
    this.details = details || {};
  }
}

/** A hub error as a person reads it: its message, and what field it is about. */
export function describe(err) {
  if (!(err instanceof HubError)) return err && err.message ? err.message : String(err);
  const fields = err.details && err.details.fields;
  let extra = '';
  if (fields && typeof fields === 'object') {
    // Each field holds a list of {code, message}; the hub's message already
    // names the fields it is about, so only the others are added.
    const more = Object.entries(fields)
      .filter(([f]) => !err.message.includes(f))
      .map(([f, why]) => `${f}: ${Array.isArray(why) ? why.map((w) => w.message || w.code).join(', ') : why}`);
    if (more.length) extra = ' (' + more.join(', ') + ')';
  }
  return `${err.message}${extra}`;
}

let toastBox;
/** Shows a message for a few seconds; errors in red. */
export function notify(text, kind = 'info') {
  if (!toastBox) {
    toastBox = h('div', { id: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.append(toastBox);
  }
  const toast = h('div', { class: `toast ${kind}` }, text);
  toastBox.append(toast);
  setTimeout(() => toast.remove(), kind === 'error' ? 8000 : 4000);
}

export function showError(err) {
  notify(describe(err), 'error');
}

// ---------------------------------------------------------------- login

export const login = {
  get() {
    try { return JSON.parse(localStorage.getItem(STORE)); } catch { return null; }
  },
  set(value) { localStorage.setItem(STORE, JSON.stringify(value)); },
  clear() { localStorage.removeItem(STORE); },
};

/** What this device was set up as: restaurant, email, page and station. */
export const device = {
  get() {
    try { return JSON.parse(localStorage.getItem(DEVICE)) || {}; } catch { return {}; }
  },
  set(value) { localStorage.setItem(DEVICE, JSON.stringify({ ...device.get(), ...value })); },
};

/** Keeps a login from `POST /auth/login` or `/auth/refresh`. */
export function keepTokens(tokens, restaurant) {
  const previous = login.get() || {};
  login.set({
    restaurant: restaurant || previous.restaurant,
    access_token: tokens.access_token,
    access_expires_at: tokens.access_expires_at,
    refresh_token: tokens.refresh_token,
    user: tokens.user,
  });
}

let refreshing = null;
/** Rotates the refresh token (once at a time for the whole page). */
export function refreshLogin() {
  if (!refreshing) {
    refreshing = (async () => {
      const current = login.get();
      if (!current || !current.refresh_token) throw new HubError('UNAUTHORIZED', 'not signed in', 401);
      const tokens = await request('POST', '/api/v1/auth/refresh', { refresh_token: current.refresh_token }, null);
      keepTokens(tokens);
      return tokens.access_token;
    })().finally(() => { refreshing = null; });
  }
  return refreshing;
}

/** Sends the page to sign-in, coming back here afterwards. */
export function toSignIn() {
  const next = location.pathname + location.search;
  location.assign('/?next=' + encodeURIComponent(next));
}

/** The staff login of this page, or off to sign-in. */
export function requireStaff() {
  const current = login.get();
  if (!current || !current.access_token) {
    toSignIn();
    throw new Error('not signed in');
  }
  return current;
}

export async function signOut() {
  const current = login.get();
  login.clear();
  if (current && current.refresh_token) {
    try { await request('POST', '/api/v1/auth/logout', { refresh_token: current.refresh_token }, null); } catch { /* gone already */ }
  }
  location.assign('/');
}

// ---------------------------------------------------------------- REST

async function request(method, path, body, token) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new HubError('UNAVAILABLE', 'the hub cannot be reached', 0);
  }
  if (res.status === 204) return null;
  const type = res.headers.get('content-type') || '';
  const data = type.includes('json') ? await res.json().catch(() => null) : await res.text();
  if (!res.ok) {
    const e = data && data.error;
    throw new HubError(e ? e.code : 'HTTP_' + res.status, e ? e.message : `the hub answered ${res.status}`, res.status, e && e.details);
  }
  return data;
}

/**
 * A call to the REST API with this page's token. A staff token that expired
 * is refreshed (rotating the refresh token) and the call made once more.
 */
export async function api(method, path, body, token) {
  const guest = token !== undefined;
  const current = guest ? null : login.get();
  const use = guest ? token : current && current.access_token;
  try {
    return await request(method, path, body, use);
  } catch (err) {
    if (guest || err.status !== 401 || err.code === 'MFA_REQUIRED') throw err;
    let fresh;
    try { fresh = await refreshLogin(); } catch { toSignIn(); throw err; }
    return request(method, path, body, fresh);
  }
}

// ---------------------------------------------------------------- money and time

const locale = { currency: 'EUR', timezone: undefined, digits: 2, money: null, clock: null, day: null };

/** Formats figures in the restaurant's currency and time zone from now on. */
export function useRestaurant(restaurant) {
  locale.currency = restaurant.currency;
  locale.timezone = restaurant.timezone;
  locale.money = new Intl.NumberFormat(undefined, { style: 'currency', currency: restaurant.currency });
  locale.digits = locale.money.resolvedOptions().maximumFractionDigits;
  locale.clock = new Intl.DateTimeFormat(undefined, { timeZone: restaurant.timezone, hour: '2-digit', minute: '2-digit' });
  locale.day = new Intl.DateTimeFormat(undefined, { timeZone: restaurant.timezone, weekday: 'short', hour: '2-digit', minute: '2-digit' });
}

/** An amount in minor units (cents) in the restaurant's currency. */
export function money(minor) {
  if (!locale.money) useRestaurant({ currency: locale.currency });
  return locale.money.format((minor || 0) / 10 ** locale.digits);
}

/** Parses what a person typed ("12.50") into minor units, or null. */
export function parseMoney(text) {
  const clean = String(text).trim().replace(',', '.');
  if (!/^\d+(\.\d+)?$/.test(clean)) return null;
  const [whole, frac = ''] = clean.split('.');
  if (frac.length > locale.digits) return null;
  return Number(whole) * 10 ** locale.digits + Number((frac + '0'.repeat(locale.digits)).slice(0, locale.digits) || 0);
}

/** A time of day in the restaurant's time zone. */
export function clock(iso) {
  if (!iso) return '';
  if (!locale.clock) useRestaurant({ currency: locale.currency });
  return locale.clock.format(new Date(iso));
}

/** "4:05" for 245 seconds (negative: "-0:30"). */
export function duration(ms) {
  const sign = ms < 0 ? '-' : '';
  const s = Math.floor(Math.abs(ms) / 1000);
  const m = Math.floor(s / 60);
  return `${sign}${m}:${String(s % 60).padStart(2, '0')}`;
}

/** A new key for an idempotent write (order, payment). */
export function newKey(prefix) {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return prefix + '-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// ---------------------------------------------------------------- live session

const PING_MS = 1000;
/** Reconnect backoff (PROTOCOL.md 9.6): the retry-after the hub gave plus a
 * random share of up to half of it; without one, full jitter over a window
 * doubling from BACKOFF_MS to BACKOFF_CAP_MS, which starts afresh after a
 * session that lasted STEADY_MS. */
const BACKOFF_MS = 500;
const BACKOFF_CAP_MS = 5000;
const STEADY_MS = 30000;
/** Silence after which the connection counts as lost (said in red). */
const SILENCE_MS = 2000;

/**
 * One live WebSocket session that survives drops, hub restarts and moves
 * to another instance: it reconnects with `since` = the last seq it
 * processed (and its extra rooms), checks `prev` on every event and
 * reconnects on a gap, and asks the page to redraw from snapshots when the
 * hub says `resync_required` or when it first connects.
 *
 * options: {
 *   token(): the access token to say hello with (staff: refreshed as needed),
 *   refresh(): a newer token after 4001/4004, or throws,
 *   rooms: extra rooms (e.g. a station's),
 *   onSync(live): redraw from snapshots (called after every welcome that
 *     needs it: the first, and resync_required),
 *   onEvent(event): one event frame, in order, never twice,
 *   onState(state, why): 'connecting' | 'live' | 'down',
 *   onEnded(code, reason): the session cannot go on (revoked, forbidden),
 * }
 */
export class Live {
  constructor(options) {
    this.options = options;
    this.last = null;
    this.ws = null;
    this.pending = new Map();
    this.nextId = 1;
    this.state = 'down';
    this.heardAt = 0;
    this.backoff = BACKOFF_MS;
    this.welcomedAt = 0;
    this.stopped = false;
    this.welcome = null;
    this.timer = setInterval(() => this.watch(), PING_MS / 2);
  }

  start() { this.connect(); return this; }

  stop() {
    this.stopped = true;
    clearInterval(this.timer);
    if (this.ws) this.ws.close();
  }

  setState(state, why) {
    if (this.state === state && state !== 'down') return;
    this.state = state;
    if (this.options.onState) this.options.onState(state, why || '');
  }

  async connect() {
    if (this.stopped) return;
    this.setState('connecting');
    let token;
    try { token = await this.options.token(); } catch (err) { return this.retry(describe(err)); }
    const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
    const ws = new WebSocket(url);
    this.ws = ws;
    this.heardAt = Date.now();
    this.welcome = null;
    ws.onopen = () => {
      const hello = { type: 'hello', token };
      if (this.last !== null) hello.since = this.last;
      if (this.options.rooms && this.options.rooms.length) hello.rooms = this.options.rooms;
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = (m) => this.receive(ws, m.data);
    ws.onclose = (e) => this.closed(ws, e.code, e.reason);
  }

  receive(ws, text) {
    if (ws !== this.ws) return;
    this.heardAt = Date.now();
    let msg;
    try { msg = JSON.parse(text); } catch { return; }
    switch (msg.type) {
      case 'welcome': {
        this.welcome = msg;
        this.welcomedAt = Date.now();
        const fresh = this.last === null || msg.resync_required;
        if (fresh) {
          // Everything before the welcome comes from snapshots.
          this.last = msg.seq;
          this.setState('live');
          Promise.resolve(this.options.onSync && this.options.onSync(this, msg)).catch(showError);
        }
        break;
      }
      case 'resumed':
        this.setState('live');
        if (this.options.onResumed) this.options.onResumed(msg);
        break;
      case 'event':
        if (this.last !== null && msg.prev !== this.last) {
          // A gap: something meant for this screen went missing; resume.
          ws.close(4000, 'gap');
          this.closed(ws, 4000, 'gap');
          return;
        }
        this.last = msg.seq;
        try { this.options.onEvent && this.options.onEvent(msg); } catch (err) { console.error(err); }
        break;
      case 'ack':
      case 'error': {
        const waiter = this.pending.get(String(msg.id));
        if (!waiter) break;
        this.pending.delete(String(msg.id));
        if (msg.type === 'ack') waiter.resolve(msg);
        else waiter.reject(new HubError(msg.code, msg.message, 0, msg.details));
        break;
      }
      default:
        if (this.options.onOther) this.options.onOther(msg);
    }
  }

  closed(ws, code, reason) {
    if (ws !== this.ws) return;
    this.ws = null;
    for (const waiter of this.pending.values()) {
      waiter.reject(new HubError('UNAVAILABLE', 'the connection to the hub was lost', 0));
    }
    this.pending.clear();
    if (this.stopped) return;
    const why = closeReason(code, reason);
    const asked = /^retry_after_ms=(\d+)$/.exec(reason || '');
    this.retryAfter = asked ? Number(asked[1]) : 0;
    if (code === 4002 || code === 4003 || code === 4031 || code === 4000 && reason !== 'gap') {
      if (this.options.onEnded && this.options.onEnded(code, why) === false) return this.retry(why);
      if (this.options.onEnded) { this.setState('down', why); return; }
    }
    this.retry(why, code === 4001 || code === 4004 || code === 4002);
  }

  async retry(why, refresh = false) {
    this.setState('down', why);
    if (refresh && this.options.refresh) {
      try { await this.options.refresh(); } catch (err) {
        if (this.options.onEnded) this.options.onEnded(4001, describe(err));
        return;
      }
    }
    if (this.welcomedAt && Date.now() - this.welcomedAt >= STEADY_MS) this.backoff = BACKOFF_MS;
    this.welcomedAt = 0;
    // Screens that lost the same instance come back spread out, and never
    // before the hub said to; told when, they come back then, not after a
    // backoff that grew while the hub was busy.
    const wait = this.retryAfter
      ? this.retryAfter * (1 + Math.random() / 2)
      : Math.random() * this.backoff;
    this.retryAfter = 0;
    this.backoff = Math.min(this.backoff * 2, BACKOFF_CAP_MS);
    setTimeout(() => this.connect(), wait);
  }

  /** Pings, and declares the connection lost after SILENCE_MS of silence. */
  watch() {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || !this.welcome) {
      if (ws && Date.now() - this.heardAt > 5000) { ws.close(); this.closed(ws, 1006, 'no answer'); }
      return;
    }
    if (Date.now() - this.heardAt > SILENCE_MS) {
      ws.close();
      this.closed(ws, 1006, 'no answer from the hub');
      return;
    }
    if (Date.now() - (this.pingedAt || 0) >= PING_MS) {
      this.pingedAt = Date.now();
      this.command('ping').catch(() => {});
    }
  }

  /** Sends a command; resolves with its ack, rejects with a HubError. */
  command(type, fields = {}) {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || !this.welcome) {
      return Promise.reject(new HubError('UNAVAILABLE', 'not connected to the hub; try again in a moment', 0));
    }
    const id = String(this.nextId++);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ ...fields, type, id }));
    });
  }
}

function closeReason(code, reason) {
  const words = {
    1006: 'connection lost',
    1012: 'the hub is restarting',
    1013: 'the hub is busy with reconnects; waiting',
    4001: 'the login is no longer valid',
    4002: 'this session was ended',
    4003: 'this login belongs to another restaurant',
    4004: 'the login expired',
    4029: 'too many reconnects; waiting',
    4030: 'this screen fell behind',
    4031: 'too many screens on this login',
    4032: 'no heartbeat',
  };
  if (code === 1013) return words[code];
  return reason || words[code] || `connection closed (${code})`;
}

/**
 * The staff session of a page: hello with the stored access token,
 * refreshed (rotating) when the hub says it expired, `auth.refresh` on the
 * open socket before it does, and back to sign-in when the login ended.
 */
export function staffLive(options) {
  const live = new Live({
    token: async () => requireStaff().access_token,
    refresh: refreshLogin,
    onEnded: (code, why) => {
      login.clear();
      toSignIn();
    },
    ...options,
  });
  // Keep the open socket's token fresh: refresh a minute before expiry.
  setInterval(async () => {
    const current = login.get();
    if (!current || !current.access_expires_at) return;
    if (new Date(current.access_expires_at).getTime() - Date.now() > 60000) return;
    try {
      const token = await refreshLogin();
      await live.command('auth.refresh', { access_token: token });
    } catch { /* the next reconnect refreshes */ }
  }, 15000);
  return live;
}

/** The connection badge every page shows, kept up to date by a Live. */
export function connectionBadge() {
  const el = h('div', { id: 'connection', class: 'conn down', role: 'status', 'aria-live': 'assertive' }, 'connecting…');
  el.update = (state, why) => {
    el.className = `conn ${state}`;
    el.dataset.state = state;
    el.textContent = state === 'live' ? 'live' : state === 'connecting' ? 'connecting…' : `offline: ${why || 'connection lost'} — reconnecting`;
  };
  return el;
}

/** The page's header: title, connection badge, user and sign-out. */
export function header(title, badge, extra = []) {
  const current = login.get();
  return h('header', { class: 'top' },
    h('h1', {}, title),
    h('nav', {},
      h('a', { href: '/kds' }, 'Kitchen'),
      h('a', { href: '/expo' }, 'Expo'),
      h('a', { href: '/waiter' }, 'Waiter'),
      h('a', { href: '/dashboard' }, 'Dashboard')),
    extra,
    badge,
    current && current.user ? h('span', { class: 'who' }, current.user.name) : null,
    current ? h('button', { class: 'ghost', id: 'sign-out', onclick: signOut }, 'Sign out') : null);
}
