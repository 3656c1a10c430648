// The API docs page: fetches /api/openapi.json from this hub and shows each
// operation with its parameters, request body, replies and their schemas.
// Built with DOM calls and textContent only (the page's CSP allows no inline
// script, and no document text is ever parsed as HTML).

const MAX_DEPTH = 6;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === 'class') node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function resolve(doc, schema) {
  let seen = 0;
  while (schema && schema.$ref && seen < 20) {
    const path = schema.$ref.replace(/^#\//, '').split('/').map(decodeURIComponent);
    let target = doc;
    for (const part of path) target = target?.[part];
    if (!target) break;
    // Siblings of a $ref add to it (2020-12): a message's `type` beside
    // its payload type's fields.
    const { $ref, ...rest } = schema;
    schema = {
      ...target,
      ...rest,
      properties: target.properties || rest.properties
        ? { ...rest.properties, ...target.properties } : undefined,
      required: [...(rest.required || []), ...(target.required || [])],
      title: $ref.split('/').pop(),
    };
    seen += 1;
  }
  return schema || {};
}

// A short name for a schema's type: "Order", "integer (int64)", "[Station]".
function typeName(doc, schema) {
  if (!schema) return 'any';
  if (schema.$ref) return schema.$ref.split('/').pop();
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  const alts = schema.oneOf || schema.anyOf;
  if (alts) return alts.map((s) => typeName(doc, s)).join(' | ');
  if (schema.allOf) return schema.allOf.map((s) => typeName(doc, s)).join(' & ');
  let type = Array.isArray(schema.type) ? schema.type.join(' | ') : schema.type || 'object';
  if (schema.type === 'array' || (Array.isArray(schema.type) && schema.type.includes('array'))) {
    type = `[${typeName(doc, schema.items)}]`;
  }
  const limits = [];
  if (schema.format) limits.push(schema.format);
  if (schema.minimum !== undefined) limits.push(`≥ ${schema.minimum}`);
  if (schema.maximum !== undefined) limits.push(`≤ ${schema.maximum}`);
  if (schema.minLength !== undefined) limits.push(`length ≥ ${schema.minLength}`);
  if (schema.maxLength !== undefined) limits.push(`length ≤ ${schema.maxLength}`);
  return limits.length ? `${type} (${limits.join(', ')})` : type;
}

// The fields of a schema as a nested list; references open on demand.
function schemaTree(doc, schema, depth = 0) {
  const list = el('ul', { class: 'schema' });
  const full = resolve(doc, schema);
  if (depth > MAX_DEPTH) return list;
  const parts = [...(full.allOf || [])];
  const alternatives = full.oneOf || full.anyOf;
  if (full.properties) {
    const required = new Set(full.required || []);
    for (const [name, prop] of Object.entries(full.properties)) {
      list.append(field(doc, name, prop, required.has(name), depth));
    }
  }
  for (const part of parts) {
    list.append(...schemaTree(doc, part, depth + 1).children);
  }
  if (alternatives && !full.properties) {
    alternatives.forEach((alt, i) => {
      const item = el('li', {}, el('span', { class: 'type' }, `one of (${i + 1}): ${typeName(doc, alt)}`));
      const sub = resolve(doc, alt);
      if (sub.properties || sub.allOf) item.append(schemaTree(doc, alt, depth + 1));
      list.append(item);
    });
  }
  if (full.type === 'array' && full.items) {
    const item = el('li', {}, el('span', { class: 'type' }, `items: ${typeName(doc, full.items)}`));
    item.append(schemaTree(doc, full.items, depth + 1));
    list.append(item);
  }
  return list;
}

function field(doc, name, prop, required, depth) {
  const item = el('li', {},
    el('span', { class: 'field' }, name), ' ',
    el('span', { class: 'type' }, typeName(doc, prop)),
    required ? el('span', { class: 'req' }, ' required') : null);
  const full = resolve(doc, prop);
  const description = prop.description || full.description;
  if (description) item.append(el('div', { class: 'desc' }, description));
  const nested = full.properties || full.allOf || full.oneOf || full.anyOf
    || (full.type === 'array' && resolve(doc, full.items).properties);
  if (nested && depth < MAX_DEPTH) {
    const more = el('details', {}, el('summary', {}, 'fields'));
    // Built when opened: schemas nest deeply and most are never looked at.
    more.addEventListener('toggle', () => {
      if (more.open && more.children.length === 1) more.append(schemaTree(doc, prop, depth + 1));
    }, { once: false });
    item.append(more);
  }
  return item;
}

function parametersTable(doc, parameters) {
  if (!parameters?.length) return null;
  const body = el('tbody');
  for (const p of parameters) {
    body.append(el('tr', {},
      el('td', { class: 'field' }, p.name),
      el('td', {}, p.in),
      el('td', { class: 'type' }, typeName(doc, p.schema)),
      el('td', {}, p.required ? 'required' : 'optional'),
      el('td', { class: 'desc' }, p.description || '')));
  }
  return el('div', {}, el('h3', {}, 'Parameters'),
    el('table', { class: 'params' },
      el('thead', {}, el('tr', {}, ...['name', 'in', 'type', '', ''].map((h) => el('th', {}, h)))), body));
}

function content(doc, media) {
  const box = el('div');
  for (const [type, entry] of Object.entries(media || {})) {
    box.append(el('div', {}, el('span', { class: 'type' }, `${type}: ${typeName(doc, entry.schema)}`)));
    if (entry.schema && type === 'application/json') box.append(schemaTree(doc, entry.schema));
  }
  return box;
}

function operationCard(doc, path, method, op) {
  const security = (op.security || []).flatMap((s) => Object.keys(s));
  const card = el('details', { class: 'op', 'data-search': `${method} ${path} ${op.operationId} ${op.summary} ${op.tags}`.toLowerCase(), id: op.operationId },
    el('summary', {},
      el('span', { class: `method ${method}` }, method),
      el('span', { class: 'path' }, path),
      el('span', { class: 'summary' }, op.summary || ''),
      el('span', { class: 'auth' }, security.length ? security.join(' or ') : 'no token')));
  const body = el('div', { class: 'body' });
  body.append(el('div', { class: 'desc' }, `operationId: ${op.operationId}`));
  const params = parametersTable(doc, op.parameters);
  if (params) body.append(params);
  if (op.requestBody) body.append(el('h3', {}, 'Request body'), content(doc, op.requestBody.content));
  body.append(el('h3', {}, 'Replies'));
  for (const [status, reply] of Object.entries(op.responses || {})) {
    const full = resolve(doc, reply);
    const ok = status.startsWith('2');
    const row = el('div', {}, el('span', { class: `status ${ok ? 'ok' : 'err'}` }, status), full.description || '');
    body.append(row);
    // Error replies all share the envelope; its codes are in the description.
    if (ok && full.content) body.append(content(doc, full.content));
  }
  card.append(body);
  return card;
}

function render(doc) {
  const main = document.getElementById('docs');
  main.replaceChildren();
  main.append(el('p', { class: 'desc' }, doc.info?.description || ''));
  const byTag = new Map((doc.tags || []).map((t) => [t.name, []]));
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const [method, op] of Object.entries(item)) {
      const tag = op.tags?.[0] || 'other';
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push(operationCard(doc, path, method, op));
    }
  }
  const tagInfo = new Map((doc.tags || []).map((t) => [t.name, t.description]));
  for (const [tag, cards] of byTag) {
    if (!cards.length) continue;
    main.append(el('section', { class: 'tag', 'data-tag': tag },
      el('h2', {}, tag), el('p', { class: 'desc' }, tagInfo.get(tag) || ''), ...cards));
  }
  if (location.hash) document.getElementById(location.hash.slice(1))?.setAttribute('open', '');
}

// The WebSocket's frames from the AsyncAPI document: one card per message.
function renderSocket(doc) {
  const cards = [];
  for (const [key, message] of Object.entries(doc.components?.messages || {})) {
    const side = key.startsWith('client.') ? 'client → hub' : 'hub → client';
    const card = el('details', { class: 'op', id: key, 'data-search': `ws ${key} ${side}`.toLowerCase() },
      el('summary', {},
        el('span', { class: 'method ws' }, 'ws'),
        el('span', { class: 'path' }, message.name),
        el('span', { class: 'summary' }, side),
        el('span', { class: 'auth' }, key)));
    const body = el('div', { class: 'body' });
    if (message.description) body.append(el('div', { class: 'desc' }, message.description));
    body.append(el('h3', {}, 'Payload'), schemaTree(doc, message.payload?.schema));
    card.append(body);
    cards.push(card);
  }
  document.getElementById('docs').append(el('section', { class: 'tag', 'data-tag': 'websocket' },
    el('h2', {}, 'WebSocket /ws'), el('p', { class: 'desc' }, doc.info?.description || ''), ...cards));
}

function filter(text) {
  const needle = text.trim().toLowerCase();
  for (const card of document.querySelectorAll('details.op')) {
    card.classList.toggle('hidden', needle !== '' && !card.dataset.search.includes(needle));
  }
  for (const section of document.querySelectorAll('section.tag')) {
    section.classList.toggle('hidden', !section.querySelector('details.op:not(.hidden)'));
  }
}

async function main() {
  const status = document.getElementById('status');
  try {
    const response = await fetch('/api/openapi.json');
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    render(await response.json());
  } catch (error) {
    status.textContent = `Could not load /api/openapi.json: ${error.message}`;
    return;
  }
  try {
    const response = await fetch('/api/asyncapi.json');
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    renderSocket(await response.json());
  } catch (error) {
    document.getElementById('docs').append(el('p', {}, `Could not load /api/asyncapi.json: ${error.message}`));
  }
  document.getElementById('filter').addEventListener('input', (e) => filter(e.target.value));
}

main();
