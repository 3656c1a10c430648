// Sign-in: a staff login (with the authenticator code when the account
// asks for one), then the page this device is for. The device remembers the
// restaurant, the email, its page and its station, so a kitchen tablet goes
// straight back to its station's screen.
import { $, h, api, login, device, keepTokens, describe, HubError } from './hub.js';

const HOME = { chef: '/kds', waiter: '/waiter', cashier: '/waiter', manager: '/dashboard', owner: '/dashboard' };

const form = $('#signin');
const error = $('#error');
const remembered = device.get();
const next = new URLSearchParams(location.search).get('next');
let chosen = null; // a login waiting for its station

function destination(role) {
  // Only a path of this hub: not "//elsewhere" nor "/\elsewhere" (which
  // browsers read as another host).
  if (next && /^\/(?![\/\\])/.test(next)) return next;
  const page = $('#page').value || HOME[role] || '/waiter';
  if (page === '/kds' && $('#station').value) return `/kds?station=${encodeURIComponent($('#station').value)}`;
  return page;
}

async function showStations() {
  const reply = await api('GET', '/api/v1/stations?limit=100');
  const select = $('#station');
  select.replaceChildren(h('option', { value: '' }, 'the whole kitchen'));
  for (const station of reply.items || reply) {
    select.append(h('option', { value: station.id }, station.name));
  }
  if (remembered.station) select.value = String(remembered.station);
  $('#station-row').classList.remove('hidden');
  $('#sign-in').textContent = 'Open the kitchen display';
}

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  error.textContent = '';
  const restaurant = $('#restaurant').value.trim();
  const email = $('#email').value.trim();
  try {
    if (!chosen) {
      const body = { restaurant, email, password: $('#password').value };
      if ($('#otp').value.trim()) body.otp = $('#otp').value.trim();
      const tokens = await api('POST', '/api/v1/auth/login', body, null);
      keepTokens(tokens, restaurant);
      chosen = tokens;
      const page = $('#page').value || HOME[tokens.user.role];
      if (page === '/kds' && !next) {
        await showStations();
        return;
      }
    }
    device.set({ restaurant, email, page: $('#page').value, station: $('#station').value || null });
    location.assign(destination(chosen.user.role));
  } catch (err) {
    if (err instanceof HubError && err.code === 'MFA_REQUIRED') {
      $('#otp-row').classList.remove('hidden');
      $('#otp').focus();
    }
    error.textContent = describe(err);
  }
});

$('#page').addEventListener('change', () => {
  if (chosen && $('#page').value !== '/kds') $('#station-row').classList.add('hidden');
});

$('#restaurant').value = remembered.restaurant || '';
$('#email').value = remembered.email || '';
$('#page').value = remembered.page || '';
const current = login.get();
if (current && current.access_token && !next && remembered.page !== undefined) {
  // Still signed in on this device: back to its page.
  const page = remembered.page || HOME[current.user && current.user.role] || '/waiter';
  location.replace(page === '/kds' && remembered.station ? `/kds?station=${remembered.station}` : page);
}
