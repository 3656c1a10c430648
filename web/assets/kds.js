// The kitchen display: one station's tickets (or the whole kitchen's),
// oldest first with rushed ones on top, each with its clock coloured by the
// hub's thresholds and the hub's time. Cooks bump lines (queued → preparing
// → ready) and recall them by tap or from a bump bar (the keyboard); the
// all-day counts stay beside the tickets; a new ticket beeps; a station
// screen tells the hub what it has drawn (screen.seen, proof of display).
//
// State comes from `kitchen.snapshot` and is kept current by events; after
// a drop the socket resumes with `since`, so every ticket placed meanwhile
// arrives as the events it missed, without a reload.
import {
  h, fill, $, api, device, describe, showError, notify, requireStaff, useRestaurant,
  clock, duration, staffLive, connectionBadge, header,
} from './hub.js';
import {
  STATUS_WORDS, isOpen, isHeld, hubClock, stationTimer, tableName as nameOf, reconcile,
} from './kitchen.js';

const NEXT = { queued: 'preparing', preparing: 'ready' };
const BACK = { preparing: 'queued', ready: 'preparing' };
/** How many finished tickets stay within reach of a recall. */
const DONE_KEPT = 6;
const MUTE = 'restohub.kds.muted';
const SCREEN = 'restohub.kds.screen';

const app = $('#app');
const params = new URLSearchParams(location.search);

/** Everything the screen shows, rebuilt from a snapshot and kept by events. */
const state = {
  station: null, // {id, name, targets} or null for the whole kitchen
  stations: new Map(), // id → station
  tables: new Map(), // id → label
  tickets: new Map(), // order id → ticket (below)
  allDay: new Map(), // station id → [{name, qty}]
  seq: 0, // the newest seq drawn (snapshot or event)
  acked: 0, // the newest seq acknowledged with screen.seen
  selected: null, // order id of the selected ticket
  line: -1, // index of the selected line in it, -1: the whole ticket
  syncing: null, // events seen while a snapshot is on its way
  muted: localStorage.getItem(MUTE) === '1',
  beeps: 0,
};

/**
 * A ticket: {id, table_id, source, note, created_at (ms), rush, lines,
 * timers: Map station id → {started_at, caution_at, due_at} (ms), also_at,
 * late: the hub announced it late (ticket.late)}.
 * On a station screen its lines are that station's only.
 */
function ticketFrom(order, extra = {}) {
  return {
    id: order.id ?? order.order_id,
    table_id: order.table_id,
    source: order.source || 'dine_in',
    note: order.note || '',
    created_at: Date.parse(order.created_at),
    rush: !!order.rush,
    lines: (order.lines || []).filter(mine),
    timers: new Map(),
    also_at: extra.also_at || [],
  };
}

function mine(line) {
  return !state.station || line.station_id === state.station.id;
}

function timerFrom(t) {
  return { started_at: Date.parse(t.started_at), caution_at: Date.parse(t.caution_at), due_at: Date.parse(t.due_at) };
}

/**
 * A ticket's clock at one station worked out from its lines, as the hub
 * does (7.14): from the earliest start of its fired lines still open, plus
 * the station's thresholds for the order's source. Used only where the hub
 * sent no timer (order.placed, which the whole kitchen's screen gets).
 */
// ---------------------------------------------------------------- what a ticket is now


/** The ticket's clock on this screen: the station's, or the most urgent one. */
function timerOf(ticket) {
  if (state.station) return ticket.timers.get(state.station.id) || null;
  let worst = null;
  for (const [stationId, timer] of ticket.timers) {
    const open = ticket.lines.some((l) => l.station_id === stationId && isOpen(l) && !isHeld(l));
    if (open && (!worst || timer.due_at < worst.due_at)) worst = timer;
  }
  return worst;
}

/** 'held' (nothing fired yet), 'ok', 'caution' or 'late', by the hub's clock. */
function urgency(ticket) {
  const timer = timerOf(ticket);
  if (!timer || !ticket.lines.some((l) => isOpen(l) && !isHeld(l))) return 'held';
  const now = hubClock.now();
  if (ticket.late || now >= timer.due_at) return 'late';
  if (now >= timer.caution_at) return 'caution';
  return 'ok';
}

function active() {
  return [...state.tickets.values()]
    .filter((t) => t.lines.some(isOpen))
    .sort((a, b) => (b.rush - a.rush) || (a.created_at - b.created_at) || (a.id - b.id));
}

/** Tickets finished here (every line ready, served or void), newest first: the recall list. */
function finished() {
  return [...state.tickets.values()]
    .filter((t) => !t.lines.some(isOpen) && t.lines.some((l) => l.status === 'ready'))
    .sort((a, b) => doneAt(b) - doneAt(a))
    .slice(0, DONE_KEPT);
}

function doneAt(ticket) {
  return Math.max(0, ...ticket.lines.map((l) => (l.ready_at ? Date.parse(l.ready_at) : 0)));
}

// ---------------------------------------------------------------- snapshot and events

async function sync(live) {
  state.syncing = [];
  let snap;
  try {
    snap = await live.command('kitchen.snapshot', state.station ? { station_id: state.station.id } : {});
  } catch (err) {
    state.syncing = null;
    throw err;
  }
  const buffered = state.syncing;
  state.syncing = null;
  hubClock.set(snap.hub_time);
  const known = new Set(state.tickets.keys());
  state.tickets.clear();
  for (const t of snap.tickets) {
    const ticket = ticketFrom(t.order, { also_at: t.also_at });
    for (const timer of t.timers || []) ticket.timers.set(timer.station_id, timerFrom(timer));
    state.tickets.set(ticket.id, ticket);
  }
  state.allDay.clear();
  for (const count of snap.all_day || []) {
    if (!state.allDay.has(count.station_id)) state.allDay.set(count.station_id, []);
    state.allDay.get(count.station_id).push(count);
  }
  state.seq = Math.max(state.seq, snap.seq);
  // Events that came while the snapshot was read: those after it still count.
  for (const frame of buffered) if (frame.seq > snap.seq) apply(frame, false);
  if (known.size && [...state.tickets.keys()].some((id) => !known.has(id))) beep();
  draw();
}

function onEvent(frame) {
  if (state.syncing) state.syncing.push(frame);
  if (frame.seq <= state.seq) return; // already in the snapshot
  apply(frame, true);
  state.seq = frame.seq;
  draw();
}

function apply(frame, live) {
  const d = frame.data;
  const ticket = state.tickets.get(d.order_id);
  switch (frame.kind) {
    case 'ticket.placed': {
      // A station screen's new ticket (the whole kitchen reads order.placed).
      if (!state.station || d.station_id !== state.station.id) break;
      const fresh = ticketFrom(d, { also_at: d.also_at });
      if (d.timer) fresh.timers.set(d.station_id, timerFrom(d.timer));
      if (!state.tickets.has(fresh.id) && live) beep();
      state.tickets.set(fresh.id, fresh);
      break;
    }
    case 'order.placed': {
      if (state.station) break;
      const fresh = ticketFrom(d);
      for (const id of new Set(fresh.lines.map((l) => l.station_id))) {
        const timer = stationTimer(fresh, state.stations.get(id), id);
        if (timer) fresh.timers.set(id, timer);
      }
      if (!fresh.lines.length) break;
      if (!state.tickets.has(fresh.id) && live) beep();
      state.tickets.set(fresh.id, fresh);
      break;
    }
    case 'ticket.fired': {
      if (state.station && d.station_id !== state.station.id) break;
      if (!ticket) break;
      for (const line of d.lines || []) {
        const i = ticket.lines.findIndex((l) => l.id === line.id);
        if (i >= 0) ticket.lines[i] = line;
        else if (mine(line)) ticket.lines.push(line);
      }
      if (d.timer) ticket.timers.set(d.timer.station_id, timerFrom(d.timer));
      if (live) beep();
      break;
    }
    case 'order.line_status_changed': {
      if (!ticket) break;
      const line = ticket.lines.find((l) => l.id === d.line_id);
      if (!line) break;
      line.status = d.status;
      if (d.status === 'ready') line.ready_at = frame.at;
      if (d.status === 'preparing') line.started_at = d.started_at || frame.at;
      break;
    }
    case 'order.rushed':
      if (ticket) ticket.rush = d.rush;
      break;
    case 'ticket.late':
      // The hub's word that the ticket is late stands, whatever this screen's clock says.
      if (ticket && (!state.station || d.station_id === state.station.id)) ticket.late = true;
      break;
    case 'order.cancelled':
      state.tickets.delete(d.order_id);
      break;
    case 'order.status_changed':
      if (['served', 'closed', 'cancelled'].includes(d.status)) state.tickets.delete(d.order_id);
      break;
    default:
  }
  // A ticket with nothing left to make or recall leaves the screen.
  if (ticket && !ticket.lines.some((l) => isOpen(l) || l.status === 'ready')) state.tickets.delete(ticket.id);
}

function onAllDay(frame) {
  if (frame.type !== 'kitchen.all_day') return;
  hubClock.set(frame.hub_time);
  if (state.station && frame.station_id !== state.station.id) return;
  state.allDay.set(frame.station_id, frame.items || []);
  drawAllDay();
}

// ---------------------------------------------------------------- bump and recall

async function setStatus(ticket, line, status) {
  try {
    await live.command('item.set_status', { order_id: ticket.id, line_id: line.id, status });
  } catch (err) {
    showError(err);
  }
}

/** One line a step on: queued → preparing → ready. */
function bumpLine(ticket, line) {
  if (isHeld(line)) {
    notify(`${line.name}: course ${line.course} is held until it is fired`, 'error');
    return;
  }
  const to = NEXT[line.status];
  if (to) setStatus(ticket, line, to);
}

/** The whole ticket a step on: its lines to do start cooking; once all cook, all are ready. */
function bumpTicket(ticket) {
  const fired = ticket.lines.filter((l) => isOpen(l) && !isHeld(l));
  if (!fired.length) {
    if (ticket.lines.some(isHeld)) notify(`${nameOf(state.tables, ticket)}: the course is held until it is fired`, 'error');
    return;
  }
  const from = fired.some((l) => l.status === 'queued') ? 'queued' : 'preparing';
  for (const line of fired.filter((l) => l.status === from)) setStatus(ticket, line, NEXT[from]);
}

/** One line a step back: ready → preparing (a recall), preparing → queued. */
function recallLine(ticket, line) {
  const to = BACK[line.status];
  if (to) setStatus(ticket, line, to);
}

/** A finished ticket back on the board: its ready lines cook again. */
function recallTicket(ticket) {
  for (const line of ticket.lines.filter((l) => l.status === 'ready')) setStatus(ticket, line, 'preparing');
}

// ---------------------------------------------------------------- sound

let audio = null;
/** Two short tones (WebAudio: no sound file to load). */
function beep() {
  state.beeps += 1;
  if (muteButton) muteButton.dataset.beeps = String(state.beeps);
  if (state.muted) return;
  try {
    audio = audio || new AudioContext();
    if (audio.state === 'suspended') audio.resume().catch(() => {});
    const start = audio.currentTime;
    for (const [at, freq] of [[0, 880], [0.18, 1175]]) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = 'square';
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, start + at);
      gain.gain.exponentialRampToValueAtTime(0.25, start + at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + at + 0.15);
      osc.connect(gain).connect(audio.destination);
      osc.start(start + at);
      osc.stop(start + at + 0.16);
    }
  } catch { /* no audio on this device: the screen still shows the ticket */ }
}

function toggleMute() {
  state.muted = !state.muted;
  localStorage.setItem(MUTE, state.muted ? '1' : '0');
  drawMute();
  // A tap is the gesture a browser wants before it plays sound.
  if (!state.muted) {
    try { audio = audio || new AudioContext(); audio.resume().catch(() => {}); } catch { /* none */ }
  }
}

// ---------------------------------------------------------------- proof of display

/** This device's name as a screen, stable across reloads and reconnects. */
function screenName() {
  let id = localStorage.getItem(SCREEN);
  if (!id) {
    id = Math.random().toString(16).slice(2, 8);
    localStorage.setItem(SCREEN, id);
  }
  return `kds-${state.station.id}-${id}`;
}

/** Once a second: the newest seq drawn, so the expo and the waiters know it is on screen. */
async function acknowledge() {
  if (!state.station || live.state !== 'live' || state.syncing || state.seq <= state.acked) return;
  const seq = state.seq;
  try {
    await live.command('screen.seen', { seq, screen: screenName() });
    state.acked = Math.max(state.acked, seq);
    seenNote.textContent = `on screen up to #${state.acked}`;
  } catch (err) {
    seenNote.textContent = `not acknowledged: ${describe(err)}`;
  }
}

// ---------------------------------------------------------------- drawing

const badge = connectionBadge();
let muteButton;
/** Bumped when names or the time zone arrive: every card is drawn again. */
let version = 0;
const board = h('section', { id: 'tickets', class: 'tickets', 'aria-label': 'Tickets' });
const allDayBox = h('div', { id: 'all-day' });
const doneBox = h('div', { id: 'done' });
const seenNote = h('p', { id: 'seen', class: 'muted small' });
const offlineBar = h('div', { id: 'offline', class: 'offline-bar hidden', role: 'alert' });

function drawMute() {
  if (!muteButton) return;
  muteButton.textContent = state.muted ? 'Sound off' : 'Sound on';
  muteButton.classList.toggle('muted-on', state.muted);
  muteButton.setAttribute('aria-pressed', state.muted ? 'true' : 'false');
}

function draw() {
  const list = active();
  if (state.selected !== null && !list.some((t) => t.id === state.selected)) {
    state.selected = list.length ? list[0].id : null;
    state.line = -1;
  }
  if (!list.length) fill(board, h('p', { class: 'empty' }, 'No tickets. New orders appear here.'));
  else reconcile(board, list, (t, i) => JSON.stringify([i < 9 ? i : -1, t.rush, t.note, nameOf(state.tables, t), t.also_at, t.lines, version]), ticketCard);
  select(state.selected, state.line);
  $('#count').textContent = `${list.length} open`;
  drawDone();
  drawAllDay();
  tick();
}

/**
 * Brings `container`'s cards in line with `items`, rebuilding only those
 * whose drawing (`sigOf`) changed: a card a cook is about to tap is not
 * swapped under the finger because another ticket changed.
 */
// A card is kept while its drawing is unchanged, but the ticket behind it
// may have been read again (a snapshot): a tap acts on the ticket as it is now.
const latest = (ticket) => state.tickets.get(ticket.id) || ticket;
const latestLine = (ticket, line) => latest(ticket).lines.find((l) => l.id === line.id) || line;

function ticketCard(ticket, index) {
  const selected = ticket.id === state.selected;
  const courses = [...new Set(ticket.lines.map((l) => l.course))].sort();
  const also = (ticket.also_at || []).filter((id) => !state.station || id !== state.station.id)
    .map((id) => (state.stations.get(id) || { name: `station ${id}` }).name);
  return h('article', {
    class: `ticket ${selected ? 'selected' : ''}`,
    dataset: { order: ticket.id },
    'aria-label': `Ticket ${index + 1}: ${nameOf(state.tables, ticket)}`,
  },
  h('header', { class: 'ticket-head' },
    h('span', { class: 'key' }, index < 9 ? String(index + 1) : ''),
    h('span', { class: 'table' }, nameOf(state.tables, ticket)),
    ticket.rush ? h('span', { class: 'badge rush' }, 'RUSH') : null,
    ticket.source !== 'dine_in' ? h('span', { class: 'badge' }, ticket.source === 'qr' ? 'QR' : 'Takeaway') : null,
    h('span', { class: 'timer num', dataset: { timer: ticket.id } }, '')),
  h('div', { class: 'ticket-meta muted' },
    `#${ticket.id} · ${clock(new Date(ticket.created_at).toISOString())}`,
    also.length ? ` · also at ${also.join(', ')}` : ''),
  ticket.note ? h('div', { class: 'ticket-note' }, ticket.note) : null,
  courses.map((course) => courseBlock(ticket, course, courses.length > 1)),
  h('footer', { class: 'ticket-foot' },
    h('button', { class: 'primary bump', onclick: () => { select(ticket.id, -1); bumpTicket(latest(ticket)); } }, bumpWord(ticket))));
}

function bumpWord(ticket) {
  const fired = ticket.lines.filter((l) => isOpen(l) && !isHeld(l));
  if (!fired.length) return 'Held';
  return fired.some((l) => l.status === 'queued') ? 'Start all' : 'All ready';
}

function courseBlock(ticket, course, several) {
  const lines = ticket.lines.filter((l) => l.course === course && l.status !== 'served');
  const held = lines.length && lines.every(isHeld);
  return h('div', { class: `course ${held ? 'held' : ''}` },
    several || held ? h('div', { class: 'course-head' }, `Course ${course}`, held ? h('span', { class: 'badge held' }, 'HELD') : null) : null,
    lines.map((line) => lineRow(ticket, line)));
}

function lineRow(ticket, line) {
  const index = ticket.lines.indexOf(line);
  const selected = ticket.id === state.selected && state.line === index;
  const extras = [...(line.choices || []).map((c) => c.name), ...(line.modifiers || [])];
  const held = isHeld(line);
  const status = held ? 'held' : line.status;
  return h('div', { class: `line ${status} ${selected ? 'selected' : ''}`, dataset: { line: line.id, status } },
    h('button', {
      class: 'line-main',
      onclick: () => { select(ticket.id, index); bumpLine(latest(ticket), latestLine(ticket, line)); },
      'aria-label': `${line.qty} ${line.name}: ${STATUS_WORDS[line.status] || line.status}; tap to bump`,
    },
    h('span', { class: 'qty num' }, `${line.qty}×`),
    h('span', { class: 'name' }, line.name,
      // The whole kitchen's screen says where each line is made.
      !state.station && line.station_id != null
        ? h('span', { class: 'where' }, (state.stations.get(line.station_id) || { name: '' }).name)
        : null),
    h('span', { class: `state ${status}` }, held ? 'held' : STATUS_WORDS[line.status] || line.status)),
    extras.length ? h('div', { class: 'mods' }, extras.map((m) => h('span', { class: 'mod' }, m))) : null,
    line.note ? h('div', { class: 'line-note' }, `“${line.note}”`) : null,
    line.allergens && line.allergens.length
      ? h('div', { class: 'allergens' }, line.allergens.map((a) => h('span', { class: 'allergen' }, a.toUpperCase())))
      : null,
    line.seat ? h('div', { class: 'muted small' }, `seat ${line.seat}`) : null,
    line.start_at && !held && line.status === 'queued'
      ? h('div', { class: 'start small', dataset: { start: Date.parse(line.start_at) } }, '')
      : null,
    line.status === 'ready' || line.status === 'preparing'
      ? h('button', { class: 'ghost back', onclick: () => recallLine(latest(ticket), latestLine(ticket, line)) }, line.status === 'ready' ? 'Recall' : 'Undo')
      : null);
}

const doneList = h('div', { class: 'done-list' });

function drawDone() {
  const list = finished();
  if (doneList.parentNode !== doneBox) fill(doneBox, h('h2', {}, 'Done — recall'), doneList);
  if (!list.length) fill(doneList, h('p', { class: 'muted' }, 'Bumped tickets stay here for a recall.'));
  else reconcile(doneList, list, (t) => JSON.stringify([nameOf(state.tables, t), t.lines, version]), doneItem);
}

function doneItem(t) {
  return h('div', { class: 'done-item', dataset: { order: t.id } },
    h('span', { class: 'grow' }, `${nameOf(state.tables, t)} · `, t.lines.filter((l) => l.status === 'ready').map((l) => `${l.qty}× ${l.name}`).join(', ')),
    h('button', { class: 'recall', onclick: () => recallTicket(latest(t)) }, 'Recall'));
}

function drawAllDay() {
  const groups = [...state.allDay.entries()]
    .filter(([, items]) => items.length)
    .sort(([a], [b]) => a - b);
  fill(allDayBox,
    h('h2', {}, 'All day'),
    groups.length
      ? groups.map(([stationId, items]) => h('div', { class: 'all-day-group' },
        state.station ? null : h('h3', {}, (state.stations.get(stationId) || { name: `Station ${stationId}` }).name),
        h('ul', { class: 'all-day' }, items.map((c) => h('li', {},
          h('span', { class: 'qty num' }, String(c.qty)), ' ', c.name)))))
      : h('p', { class: 'muted' }, 'Nothing to make.'));
}

/** Every second: the clocks and colours move by the hub's time; nothing else is redrawn. */
function tick() {
  const now = hubClock.now();
  for (const card of board.querySelectorAll('.ticket')) {
    const ticket = state.tickets.get(Number(card.dataset.order));
    if (!ticket) continue;
    const level = urgency(ticket);
    for (const l of ['held', 'ok', 'caution', 'late']) card.classList.toggle(l, l === level);
    const timer = timerOf(ticket);
    const el = card.querySelector('.timer');
    el.textContent = level === 'held' || !timer ? 'held' : duration(now - timer.started_at);
    el.title = timer ? `caution ${clock(new Date(timer.caution_at).toISOString())}, late ${clock(new Date(timer.due_at).toISOString())}` : '';
    for (const start of card.querySelectorAll('.start')) {
      const wait = Number(start.dataset.start) - now;
      // Lines of a course finish together: a shorter one waits for its turn.
      start.textContent = wait > 0 ? `start in ${duration(wait)}` : '';
    }
  }
}

function select(orderId, line) {
  state.selected = orderId;
  if (orderId === null) line = -1;
  state.line = line;
  for (const card of board.querySelectorAll('.ticket')) {
    const on = Number(card.dataset.order) === orderId;
    card.classList.toggle('selected', on);
    card.querySelectorAll('.line').forEach((row, i) => row.classList.toggle('selected', on && i === line));
  }
}

// ---------------------------------------------------------------- the bump bar

const KEYS = [
  ['1–9', 'select ticket'],
  ['← →', 'previous / next ticket'],
  ['↑ ↓', 'select a line'],
  ['Enter / Space', 'bump'],
  ['R', 'recall'],
  ['M', 'sound on/off'],
];

function onKey(e) {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const target = e.target;
  if (target && ['INPUT', 'SELECT', 'TEXTAREA'].includes(target.tagName)) return;
  const list = active();
  const at = list.findIndex((t) => t.id === state.selected);
  const current = at >= 0 ? list[at] : null;
  const lines = current ? current.lines : [];
  let handled = true;
  if (/^[1-9]$/.test(e.key)) {
    const t = list[Number(e.key) - 1];
    if (t) select(t.id, -1);
  } else if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
    if (list.length) {
      const step = e.key === 'ArrowRight' ? 1 : -1;
      const next = at < 0 ? 0 : (at + step + list.length) % list.length;
      select(list[next].id, -1);
    }
  } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
    if (current && lines.length) {
      const step = e.key === 'ArrowDown' ? 1 : -1;
      let next = state.line + step;
      if (next < -1) next = lines.length - 1;
      if (next >= lines.length) next = -1;
      select(current.id, next);
    } else if (list.length) {
      select(list[0].id, -1);
    }
  } else if (e.key === 'Enter' || e.key === ' ') {
    if (!current && list.length) select(list[0].id, -1);
    const ticket = current || list[0];
    if (ticket) {
      if (state.line >= 0 && lines[state.line]) bumpLine(ticket, lines[state.line]);
      else bumpTicket(ticket);
    }
  } else if (e.key === 'r' || e.key === 'R') {
    if (current && state.line >= 0 && lines[state.line]) recallLine(current, lines[state.line]);
    else {
      const last = finished()[0];
      if (last) recallTicket(last);
      else notify('Nothing to recall', 'info');
    }
  } else if (e.key === 'm' || e.key === 'M') {
    toggleMute();
  } else {
    handled = false;
  }
  if (handled) e.preventDefault();
}

// ---------------------------------------------------------------- start

let live;

function stationPicker() {
  const select = h('select', {
    id: 'station-pick',
    'aria-label': 'Station',
    onchange: (e) => {
      device.set({ station: e.target.value || null });
      location.assign(e.target.value ? `/kds?station=${encodeURIComponent(e.target.value)}` : '/kds?station=all');
    },
  },
  h('option', { value: '' }, 'Whole kitchen'),
  [...state.stations.values()].map((s) => h('option', { value: String(s.id) }, s.name)));
  select.value = state.station ? String(state.station.id) : '';
  return select;
}

async function start() {
  requireStaff();
  let me;
  let stations;
  try {
    [me, stations] = await Promise.all([api('GET', '/api/v1/auth/me'), api('GET', '/api/v1/stations?limit=200')]);
  } catch (err) {
    fill(app, h('main', {}, h('p', { class: 'error-text' }, `The kitchen cannot be loaded: ${describe(err)}`)));
    return;
  }
  // The rest only makes figures nicer: the page works without it.
  api('GET', '/api/v1/restaurant').then((r) => { useRestaurant(r); version += 1; draw(); }).catch(() => {});
  api('GET', '/api/v1/tables?limit=200').then((list) => {
    for (const t of list.items || []) state.tables.set(t.id, t.label);
    version += 1;
    draw();
  }).catch(() => {});
  if (!['owner', 'manager', 'chef', 'waiter'].includes(me.role)) {
    fill(app, h('main', {}, h('p', { class: 'error-text' }, `The kitchen display is for chefs, waiters and managers; this login is a ${me.role}'s.`)));
    return;
  }
  for (const s of stations.items || []) state.stations.set(s.id, s);

  // The station: the address's, else the one this device was set up for.
  const asked = params.get('station') ?? (device.get().station ? String(device.get().station) : null);
  let problem = null;
  if (asked && asked !== 'all') {
    state.station = state.stations.get(Number(asked)) || null;
    if (!state.station) problem = `There is no station ${asked}; showing the whole kitchen.`;
  }

  muteButton = h('button', { id: 'mute', class: 'ghost', onclick: toggleMute, dataset: { beeps: '0' } });
  drawMute();
  const title = state.station ? `Kitchen — ${state.station.name}` : 'All stations';
  document.title = `restohub — ${state.station ? state.station.name : 'Kitchen'}`;
  fill(app,
    header(title, badge, [stationPicker(), h('span', { id: 'count', class: 'count' }, ''), muteButton]),
    offlineBar,
    h('main', { class: 'kds' },
      board,
      h('aside', { class: 'side' },
        allDayBox,
        doneBox,
        h('div', { class: 'keys', id: 'keys' },
          h('h2', {}, 'Bump bar'),
          h('dl', {}, KEYS.map(([k, what]) => [h('dt', {}, h('kbd', {}, k)), h('dd', {}, what)])),
          h('p', { class: 'muted small' }, 'Tap a line to bump it; tap Recall to bring it back.'),
          seenNote))));
  if (problem) notify(problem, 'error');
  draw();

  const r = me.restaurant_id;
  const rooms = [`kitchen:${r}`];
  if (state.station) rooms.push(`kitchen:${r}:${state.station.id}`);
  let everLive = false;
  live = staffLive({
    rooms,
    onSync: sync,
    // A resume replays the missed tickets; the counts and the hub's time
    // are not replayed, so a snapshot brings them (and checks the rest).
    onResumed: () => sync(live).catch(showError),
    onEvent,
    onOther: onAllDay,
    onState: (s, why) => {
      // Reconnecting after a drop stays red until the hub answers again.
      if (s === 'connecting' && everLive) return;
      if (s === 'live') everLive = true;
      badge.update(s, why);
      offlineBar.classList.toggle('hidden', s !== 'down');
      if (s === 'down') offlineBar.textContent = `OFFLINE — ${why || 'connection lost'}. These tickets may be out of date; reconnecting…`;
      document.body.classList.toggle('is-offline', s === 'down');
    },
  }).start();
  document.addEventListener('keydown', onKey);
  setInterval(tick, 1000);
  setInterval(acknowledge, 1000);
}

start().catch(showError);
