// The destinations console: polls the admin port's JSON and draws it. Every value from the daemon
// (event data above all) is written as text (textContent, text nodes), never parsed as markup; the
// page's Content-Security-Policy allows no inline script besides. Read-only: nothing here changes
// the daemon. Plain browser JavaScript, no dependencies, no build step.
'use strict';

const POLL_MS = 2000;
let timer;
let searchText = '';

/** An element with text children (strings become text nodes, never markup). */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'text') node.textContent = String(value);
    else if (name === 'onclick' || name === 'oninput' || name === 'onsubmit') node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
  return node;
}

function table(headings, rows, attrs) {
  return el('table', attrs, el('thead', {}, el('tr', {}, headings.map((heading) => el('th', { text: heading })))), el('tbody', {}, rows));
}

function cell(value, attrs) {
  return el('td', { ...attrs, text: value === undefined || value === null || value === '' ? '–' : String(value) });
}

async function getJson(path) {
  const response = await fetch(path, { credentials: 'same-origin', cache: 'no-store' });
  if (response.status === 401) {
    location.reload();
    throw new Error('the session ended');
  }
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

function seconds(value) {
  if (value === null || value === undefined) return '–';
  return value < 1 ? `${Math.round(value * 1000)} ms` : `${value.toFixed(value < 10 ? 2 : 0)} s`;
}

function time(iso) {
  return iso ? new Date(iso).toLocaleTimeString() : '–';
}

function badge(ok, yes, no) {
  return el('span', { class: ok ? 'badge ok' : 'badge bad', text: ok ? yes : no });
}

function entries(object) {
  const list = Object.entries(object || {});
  return list.length === 0 ? '0' : list.map(([key, value]) => `${key} ${value}`).join(', ');
}

// --- views -------------------------------------------------------------------------------------

function catalogView(state) {
  return el(
    'section',
    { 'data-testid': 'catalog' },
    el('h2', { text: 'Catalog' }),
    el(
      'div',
      { class: 'cards' },
      state.destinations.map((destination) =>
        el(
          'article',
          { class: 'card', 'data-testid': `destination-${destination.slug}` },
          el('img', { class: 'logo', src: destination.logo, alt: `${destination.name} logo`, width: 48, height: 48 }),
          el('div', {}, el('h3', { text: destination.name }), el('span', { class: 'category', text: destination.category })),
          el('p', { text: destination.summary }),
          el('p', { class: 'muted' }, `version ${destination.version.slice(0, 12)} · requests in flight ${destination.requests.inFlight}/${destination.requests.max}`),
          table(
            ['sync', 'enabled', 'running', 'paused until', 'rate share'],
            destination.syncs.map((sync) =>
              el(
                'tr',
                {},
                cell(sync.id),
                el('td', {}, badge(sync.enabled, 'enabled', 'disabled')),
                el('td', {}, badge(sync.running, 'running', 'stopped')),
                cell(sync.limiter && sync.limiter.pausedUntil ? time(sync.limiter.pausedUntil) : ''),
                cell(sync.limiter ? (sync.limiter.share > 1 ? `1/${sync.limiter.share}` : 'whole') : ''),
              ),
            ),
          ),
        ),
      ),
    ),
  );
}

function syncsView(state) {
  const syncs = state.destinations.flatMap((destination) => destination.syncs.map((sync) => ({ destination, sync })));
  return el(
    'section',
    { 'data-testid': 'syncs' },
    el('h2', { text: 'Syncs' }),
    syncs.map(({ destination, sync }) => {
      const counts = sync.counts || {};
      const limiter = sync.limiter;
      return el(
        'article',
        { class: 'sync', 'data-testid': `sync-${sync.id}` },
        el('h3', {}, sync.id, ' ', badge(sync.running, 'running', sync.enabled ? 'not running' : 'disabled'), sync.parkedAt ? el('span', { class: 'badge warn', text: `parked at the ${sync.parkedAt} cap` }) : ''),
        el(
          'dl',
          { class: 'figures' },
          figure('delivered, first try', counts.deliveredFirstAttempt),
          figure('delivered after retry', counts.deliveredAfterRetry),
          figure('filtered', counts.filtered),
          figure('discarded', entries(counts.discarded)),
          figure('expired', counts.expired),
          figure('deferred', counts.deferred),
          figure('lag (pending)', sync.lag ? sync.lag.pending : '–'),
          figure('unacked', sync.lag ? sync.lag.ackPending : '–'),
          figure('latency p50', seconds(sync.latencySeconds && sync.latencySeconds.p50)),
          figure('latency p99', seconds(sync.latencySeconds && sync.latencySeconds.p99)),
          figure('limiter', limiter ? `${limiter.state}${limiter.pausedUntil ? ` until ${time(limiter.pausedUntil)}` : ''}, ${limiter.running} running, ${limiter.queued} queued` : '–'),
          figure('rate', limiter && limiter.rate ? `${limiter.rate.requests} per ${limiter.rate.periodSeconds} s${limiter.share > 1 ? ` (this daemon 1/${limiter.share})` : ''}` : 'none'),
          figure('in flight', `${sync.inFlight.sync}/${sync.inFlight.maxPerSync} sync · ${destination.requests.inFlight}/${destination.requests.max} destination`),
          figure('failures', entries(counts.failures)),
        ),
        sync.recentFailures.length === 0
          ? el('p', { class: 'muted', text: 'No recent failures.' })
          : el('div', {}, el('h4', { text: 'Recent failures' }), deliveriesTable(sync.recentFailures.map((row) => ({ ...row, sync: sync.id })))),
      );
    }),
  );
}

function figure(label, value) {
  return el('div', {}, el('dt', { text: label }), el('dd', { text: value === undefined || value === null ? '0' : String(value) }));
}

function deliveriesTable(rows) {
  return table(
    ['time', 'sync', 'insert_id', 'outcome', 'status', 'attempts', 'duration', 'path', 'reason'],
    rows.map((row) =>
      el(
        'tr',
        { class: `outcome-${row.outcome}`, 'data-testid': 'delivery' },
        cell(time(row.at)),
        cell(row.sync),
        cell(row.insertId, { class: 'mono' }),
        cell(row.outcome),
        cell(row.status),
        cell(row.attempts),
        cell(`${row.durationMs} ms`),
        cell(row.statePath.join(' → '), { class: 'path' }),
        cell(row.reason),
      ),
    ),
    { 'data-testid': 'deliveries' },
  );
}

async function deliveriesView() {
  const query = searchText ? `?insert_id=${encodeURIComponent(searchText)}` : '';
  const { deliveries } = await getJson(`/console/deliveries${query}`);
  const input = el('input', { type: 'search', placeholder: 'insert_id', value: searchText, 'aria-label': 'search by insert_id', 'data-testid': 'search' });
  const form = el('form', {
    class: 'search',
    onsubmit: (event) => {
      event.preventDefault();
      searchText = input.value.trim();
      void draw();
    },
  });
  form.append(input, el('button', { type: 'submit', text: 'Search' }));
  return el(
    'section',
    {},
    el('h2', { text: 'Recent deliveries' }),
    form,
    deliveries.length === 0 ? el('p', { class: 'muted', text: searchText ? 'No recent delivery of that insert_id.' : 'Nothing delivered yet.' }) : deliveriesTable(deliveries),
  );
}

async function deadView() {
  const page = await getJson('/console/dead-letters');
  return el(
    'section',
    {},
    el('h2', {}, 'Dead letters ', el('span', { class: 'muted', text: `(${page.total} in the stream, newest first)` })),
    page.letters.length === 0
      ? el('p', { class: 'muted', text: 'No dead letters.' })
      : table(
          ['seq', 'time', 'sync', 'reason', 'status', 'attempts', 'event', 'insert_id', 'message'],
          page.letters.map((letter) =>
            el(
              'tr',
              { 'data-testid': 'dead-letter' },
              el('td', {}, el('a', { href: `#dead/${letter.seq}`, text: String(letter.seq) })),
              cell(time(letter.deadAt)),
              cell(letter.sync),
              cell(letter.reason, { class: 'reason' }),
              cell(letter.lastStatus),
              cell(letter.attempts),
              cell(letter.eventType),
              cell(letter.insertId, { class: 'mono' }),
              cell(letter.message),
            ),
          ),
          { 'data-testid': 'dead-letters' },
        ),
  );
}

async function deadLetterView(seq) {
  const stored = await getJson(`/console/dead-letters/${encodeURIComponent(seq)}`);
  const letter = stored.letter || {};
  const request = letter.request;
  const pretty = (value) => (typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  return el(
    'section',
    { 'data-testid': 'dead-letter-detail' },
    el('p', {}, el('a', { href: '#dead', text: '← dead letters' })),
    el('h2', { text: `Dead letter ${stored.seq}` }),
    el(
      'dl',
      { class: 'figures' },
      figure('sync', stored.sync),
      figure('reason', letter.reason),
      figure('status', letter.lastStatus ?? '–'),
      figure('attempts', letter.attempts),
      figure('dead at', letter.deadAt),
      figure('insert_id', letter.insertId ?? '–'),
      figure('definition version', (letter.definitionVersion || '').slice(0, 12)),
    ),
    el('h3', { text: 'Message' }),
    el('pre', { text: letter.message || stored.unreadable || '–' }),
    el('h3', { text: 'Request (secrets masked)' }),
    request ? el('pre', { 'data-testid': 'request', text: `${request.method} ${request.url}\n${Object.entries(request.headers || {}).map(([name, value]) => `${name}: ${value}`).join('\n')}\n\n${pretty(request.body)}` }) : el('p', { class: 'muted', text: 'No request was made.' }),
    el('h3', { text: 'Response excerpt' }),
    el('pre', { 'data-testid': 'response', text: letter.responseExcerpt || '–' }),
    el('h3', { text: 'Event' }),
    el('pre', { 'data-testid': 'event', text: letter.event !== undefined ? pretty(letter.event) : letter.eventText || '(kept as bytes only)' }),
    letter.truncated ? el('p', { class: 'muted', text: `The letter kept ${letter.truncated.keptBytes} of ${letter.truncated.eventBytes} bytes; destinations dead show ${stored.seq} fetches the whole event.` }) : '',
  );
}

// --- drawing -----------------------------------------------------------------------------------

function currentView() {
  const hash = location.hash.replace(/^#/, '') || 'catalog';
  return hash;
}

async function draw() {
  clearTimeout(timer);
  const view = currentView();
  const main = document.getElementById('main');
  for (const link of document.querySelectorAll('nav a')) link.classList.toggle('active', view.startsWith(link.dataset.view));
  try {
    const state = await getJson('/console/state');
    drawHealth(state);
    let content;
    if (view === 'catalog') content = catalogView(state);
    else if (view === 'syncs') content = syncsView(state);
    else if (view === 'deliveries') content = await deliveriesView();
    else if (view === 'dead') content = await deadView();
    else if (view.startsWith('dead/')) content = await deadLetterView(view.slice('dead/'.length));
    else content = catalogView(state);
    // Keep the search box's focus and text while the list under it refreshes.
    const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.testid : undefined;
    const typed = focused === 'search' ? document.activeElement.value : undefined;
    main.replaceChildren(content);
    if (typed !== undefined) {
      const input = main.querySelector('[data-testid="search"]');
      input.value = typed;
      input.focus();
    }
  } catch (error) {
    main.replaceChildren(el('p', { class: 'error', text: `Cannot read the daemon: ${error.message}` }));
  }
  // A dead letter, once opened, does not change: no need to poll it.
  if (!view.startsWith('dead/')) timer = setTimeout(draw, POLL_MS);
}

function drawHealth(state) {
  const health = document.getElementById('health');
  health.replaceChildren(badge(state.ready, 'ready', state.notReady || 'not ready'), ' ', badge(state.connected, 'NATS connected', 'NATS disconnected'));
  document.getElementById('updated').textContent = `updated ${time(state.generatedAt)}`;
}

window.addEventListener('hashchange', () => void draw());
document.addEventListener('DOMContentLoaded', () => void draw());
