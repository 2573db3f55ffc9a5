// The destinations console: polls the admin port's JSON and draws it. Every value from the daemon
// (event data above all) is written as text (textContent, text nodes, attribute values), never
// parsed as markup; the charts are SVG elements made one by one from numbers. The page's
// Content-Security-Policy allows no inline script or style besides. Read-only: nothing here changes
// the daemon. Plain browser JavaScript, no dependencies, no build step.
'use strict';

const POLL_MS = 2000;
const SVG = 'http://www.w3.org/2000/svg';
let timer;

/** An element with text children (strings become text nodes, never markup). */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  return fill(node, attrs, children);
}

function fill(node, attrs, children) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'text') node.textContent = String(value);
    else if (name === 'onclick' || name === 'onsubmit' || name === 'onchange') node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
  return node;
}

function svg(tag, attrs, ...children) {
  return fill(document.createElementNS(SVG, tag), attrs, children);
}

const dash = '–';
const shown = (value) => (value === undefined || value === null || value === '' ? dash : String(value));

/** A table whose cells carry their heading (data-label): on a narrow screen each row is a card. */
function table(headings, rows, attrs) {
  return el(
    'table',
    attrs,
    el('thead', {}, el('tr', {}, headings.map((heading) => el('th', { scope: 'col', text: heading })))),
    el(
      'tbody',
      {},
      rows.map(({ attrs: rowAttrs, cells }) => el('tr', rowAttrs, cells.map((content, n) => el('td', { 'data-label': headings[n] }, typeof content === 'object' && content !== null ? content : shown(content))))),
    ),
  );
}

/** An identifier: never broken across lines; cut with an ellipsis when long, whole on hover. */
function ident(value, attrs) {
  if (value === undefined || value === null || value === '') return dash;
  return el('span', { class: 'id', title: String(value), ...attrs, text: String(value) });
}

async function getJson(path) {
  const response = await fetch(path, { credentials: 'same-origin', cache: 'no-store' });
  if (response.status === 401) {
    location.reload();
    throw new Error('the session ended');
  }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Error(`${path.split('?')[0]}: HTTP ${response.status}${body.error ? `: ${body.error}` : ''}`);
  }
  return response.json();
}

function seconds(value) {
  if (value === null || value === undefined) return dash;
  return value < 1 ? `${Math.round(value * 1000)} ms` : `${value.toFixed(value < 10 ? 2 : 0)} s`;
}

// --- time: every time has its date, in the browser's time zone, which the page names -----------

const pad = (n) => String(n).padStart(2, '0');

function localStamp(date) {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

function zoneName() {
  const offset = -new Date().getTimezoneOffset();
  const sign = offset < 0 ? '-' : '+';
  const utc = `UTC${sign}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
  const name = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return name ? `${name}, ${utc}` : utc;
}

/** A <time> with its date, never broken across lines. */
function stamp(iso) {
  if (!iso) return dash;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return shown(iso);
  return el('time', { class: 'stamp', datetime: date.toISOString(), title: date.toISOString(), text: localStamp(date) });
}

/** A datetime-local field's value (local time) as ISO with its offset, or '' when empty. */
function isoOfLocal(value) {
  if (!value) return '';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? '' : date.toISOString();
}

function localOfIso(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '' : `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

// --- health ------------------------------------------------------------------------------------

const HEALTH_CLASS = { healthy: 'ok', degraded: 'warn', failing: 'bad', circuit_open: 'bad', paused: 'idle' };

function healthBadge(health) {
  if (!health) return '';
  return el('span', { class: `badge ${HEALTH_CLASS[health.state] || 'idle'}`, title: health.why, 'data-testid': 'sync-health', text: health.state.replace('_', ' ') });
}

function badge(ok, yes, no) {
  return el('span', { class: ok ? 'badge ok' : 'badge bad', text: ok ? yes : no });
}

function entries(object) {
  const list = Object.entries(object || {});
  return list.length === 0 ? '0' : list.map(([key, value]) => `${key} ${value}`).join(', ');
}

// --- charts: inline SVG drawn from the daemon's minute buckets ----------------------------------

/**
 * One chart of the last hour: bars per minute for a count, or lines for latency. The SVG is sized
 * by CSS; its accessible name says what it shows with the figures (total, peak), so the picture is
 * never the only way to read them.
 */
function chart(title, history, series, options) {
  const width = 300;
  const height = 70;
  const values = series.flatMap((line) => history.map((minute) => minute[line.key] || 0));
  const peak = Math.max(0, ...values);
  const top = peak > 0 ? peak : 1;
  const step = width / Math.max(history.length, 1);
  const y = (value) => height - (value / top) * (height - 4);
  const shapes = [];
  const summary = [];
  for (const line of series) {
    const points = history.map((minute) => minute[line.key]);
    if (options.lines) {
      const coordinates = points.map((value, n) => (value === null || value === undefined ? null : `${(n * step + step / 2).toFixed(1)},${y(value).toFixed(1)}`)).filter(Boolean);
      if (coordinates.length > 1) shapes.push(svg('polyline', { class: `series ${line.class}`, points: coordinates.join(' ') }));
      // One minute with deliveries draws no line: a mark, then.
      else if (coordinates.length === 1) shapes.push(svg('circle', { class: `series ${line.class}`, cx: coordinates[0].split(',')[0], cy: coordinates[0].split(',')[1], r: 2.5 }));
      const latest = [...points].reverse().find((value) => value !== null && value !== undefined);
      summary.push(`${line.label} latest ${seconds(latest)}, peak ${seconds(Math.max(0, ...points.filter((value) => value !== null && value !== undefined)))}`);
    } else {
      points.forEach((value, n) => {
        if (!value) return;
        const bar = svg('rect', { class: `series ${line.class}`, x: (n * step + 0.5).toFixed(1), y: y(value).toFixed(1), width: Math.max(step - 1, 1).toFixed(1), height: (height - y(value)).toFixed(1) });
        bar.append(svg('title', { text: `${localStamp(new Date(history[n].at))}: ${value}` }));
        shapes.push(bar);
      });
      summary.push(`${points.reduce((sum, value) => sum + (value || 0), 0)} in the hour, at most ${peak} a minute`);
    }
  }
  const label = `${title}, last ${history.length} minutes: ${summary.join('; ')}`;
  const first = history[0];
  const last = history[history.length - 1];
  return el(
    'figure',
    { class: 'chart-box', 'data-testid': 'chart' },
    el('figcaption', {}, title, ' ', el('span', { class: 'muted', text: options.lines ? `(peak ${seconds(peak)})` : `(peak ${peak}/min)` })),
    svg('svg', { class: 'chart', viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': label }, svg('line', { class: 'axis', x1: 0, y1: height - 0.5, x2: width, y2: height - 0.5 }), shapes),
    el('div', { class: 'chart-times muted' }, first ? stamp(first.at) : '', last ? stamp(last.at) : ''),
    options.lines ? el('div', { class: 'legend' }, series.map((line) => el('span', { class: `key ${line.class}`, text: line.label }))) : '',
  );
}

function historyCharts(history) {
  if (!history || history.length === 0) return el('p', { class: 'muted', text: 'No history yet: the sync has not run.' });
  return el(
    'div',
    { class: 'charts' },
    chart('Delivered', history, [{ key: 'delivered', label: 'delivered', class: 'good' }], {}),
    chart('Failed requests', history, [{ key: 'failed', label: 'failed', class: 'warn' }], {}),
    chart('Dead-lettered', history, [{ key: 'deadLettered', label: 'dead-lettered', class: 'bad' }], {}),
    chart(
      'Latency',
      history,
      [
        { key: 'latencyP50Seconds', label: 'p50', class: 'p50' },
        { key: 'latencyP99Seconds', label: 'p99', class: 'p99' },
      ],
      { lines: true },
    ),
  );
}

// --- views -------------------------------------------------------------------------------------

function catalogView(state) {
  return el(
    'section',
    { 'data-testid': 'catalog', 'aria-labelledby': 'view-title' },
    el('h2', { id: 'view-title', text: 'Catalog' }),
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
          // The catalog's facts, as `destinations catalog` lists them (registry/catalog-facts.ts).
          el(
            'p',
            { class: 'muted facts', 'data-testid': `facts-${destination.slug}` },
            `limits: ${destination.facts.limits} · auth: ${destination.facts.auth.join(', ')} · hashing: ${destination.facts.hashing.join(', ') || 'none'}`,
            destination.facts.vendor ? ` · vendor reference: ${destination.facts.vendor.reference} (read ${destination.facts.vendor.read})` : '',
          ),
          el('p', { class: 'muted' }, 'version ', ident(destination.version.slice(0, 12)), ` · requests in flight ${destination.requests.inFlight}/${destination.requests.max}`),
          // The health says circuit open, paused (Retry-After, disabled), failing…; why is on hover and on the sync's page.
          table(
            ['sync', 'health', 'rate share'],
            destination.syncs.map((sync) => ({
              attrs: { 'data-testid': `tile-sync-${sync.id}` },
              cells: [el('a', { href: `#syncs/${encodeURIComponent(sync.id)}` }, ident(sync.id)), healthBadge(sync.health), sync.limiter ? (sync.limiter.share > 1 ? `1/${sync.limiter.share}` : 'whole') : dash],
            })),
          ),
        ),
      ),
    ),
  );
}

function syncsView(state, only) {
  const syncs = state.destinations.flatMap((destination) => destination.syncs.map((sync) => ({ destination, sync }))).filter(({ sync }) => !only || sync.id === only);
  return el(
    'section',
    { 'data-testid': 'syncs', 'aria-labelledby': 'view-title' },
    el('h2', { id: 'view-title', text: only ? `Sync ${only}` : 'Syncs' }),
    only ? el('p', {}, el('a', { href: '#syncs', text: '← all syncs' })) : '',
    syncs.map(({ destination, sync }) => {
      const counts = sync.counts || {};
      const limiter = sync.limiter;
      return el(
        'article',
        { class: 'sync', 'data-testid': `sync-${sync.id}` },
        el('h3', {}, ident(sync.id), ' ', healthBadge(sync.health), sync.parkedAt ? el('span', { class: 'badge warn', text: `parked at the ${sync.parkedAt} cap` }) : ''),
        el('p', { class: 'why', 'data-testid': 'health-why', text: sync.health ? sync.health.why : '' }),
        historyCharts(sync.history),
        el(
          'dl',
          { class: 'figures' },
          figure('delivered, first try', counts.deliveredFirstAttempt),
          figure('delivered after retry', counts.deliveredAfterRetry),
          figure('filtered', counts.filtered),
          figure('discarded', entries(counts.discarded)),
          figure('expired', counts.expired),
          figure('deferred', counts.deferred),
          figure('lag (pending)', sync.lag ? sync.lag.pending : dash),
          figure('unacked', sync.lag ? sync.lag.ackPending : dash),
          figure('latency p50', seconds(sync.latencySeconds && sync.latencySeconds.p50)),
          figure('latency p99', seconds(sync.latencySeconds && sync.latencySeconds.p99)),
          figure('limiter', limiter ? [`${limiter.state}`, limiter.pausedUntil ? [' until ', stamp(limiter.pausedUntil)] : '', `, ${limiter.running} running, ${limiter.queued} queued`] : dash),
          figure('rate', limiter && limiter.rate ? `${limiter.rate.requests} per ${limiter.rate.periodSeconds} s${limiter.share > 1 ? ` (this daemon 1/${limiter.share})` : ''}` : 'none'),
          figure('circuit', sync.circuit ? [sync.circuit.state.replace('_', '-'), ' since ', stamp(sync.circuit.since)] : dash),
          figure('in flight', `${sync.inFlight.sync}/${sync.inFlight.maxPerSync} sync · ${destination.requests.inFlight}/${destination.requests.max} destination`),
          figure('failed requests by reason', entries(counts.failures)),
        ),
        sync.recentFailures.length === 0
          ? el('p', { class: 'muted', text: 'No recent failures.' })
          : el('div', {}, el('h4', { text: 'Recent failures' }), deliveriesTable(sync.recentFailures.map((row) => ({ ...row, sync: sync.id })))),
      );
    }),
  );
}

function figure(label, value) {
  const content = Array.isArray(value) || (typeof value === 'object' && value !== null) ? value : value === undefined || value === null ? '0' : String(value);
  return el('div', {}, el('dt', { text: label }), el('dd', {}, content));
}

function deliveryHref(row) {
  return `#delivery/${encodeURIComponent(row.sync)}/${row.serial}`;
}

function deliveriesTable(rows) {
  return table(
    ['time', 'sync', 'insert_id', 'user / device', 'event', 'outcome', 'status', 'reason'],
    rows.map((row) => ({
      attrs: { class: `outcome-${row.outcome}`, 'data-testid': 'delivery' },
      cells: [
        el('a', { href: deliveryHref(row), 'aria-label': `open the delivery of ${row.insertId || 'an event without insert_id'} to ${row.sync} at ${localStamp(new Date(row.at))}` }, stamp(row.at)),
        ident(row.sync),
        ident(row.insertId),
        ident(row.userId || row.deviceId),
        ident(row.eventType),
        el('span', { class: 'outcome', text: row.outcome }),
        row.status,
        row.reason,
      ],
    })),
    { 'data-testid': 'deliveries' },
  );
}

/** The hash's view and its query: "deliveries?user_id=u" → ["deliveries", URLSearchParams]. */
function route() {
  const hash = location.hash.replace(/^#/, '') || 'catalog';
  const at = hash.indexOf('?');
  return { view: at < 0 ? hash : hash.slice(0, at), query: new URLSearchParams(at < 0 ? '' : hash.slice(at + 1)) };
}

/** A labelled field of a search form (the label names it for screen readers and on screen). */
function field(label, name, value, attrs) {
  const id = `field-${name}`;
  return el('div', { class: 'field' }, el('label', { for: id, text: label }), el('input', { id, name, value: value || '', autocomplete: 'off', ...attrs }));
}

function selectField(label, name, value, options) {
  const id = `field-${name}`;
  return el(
    'div',
    { class: 'field' },
    el('label', { for: id, text: label }),
    el(
      'select',
      { id, name },
      options.map(([optionValue, text]) => el('option', { value: optionValue, selected: optionValue === (value || '') ? 'selected' : false, text })),
    ),
  );
}

/** A search form whose fields become the hash's query (so a search is a link that can be shared). */
function searchForm(view, label, fields, convert) {
  const form = el('form', {
    class: 'search',
    role: 'search',
    'aria-label': label,
    onsubmit: (event) => {
      event.preventDefault();
      const query = new URLSearchParams();
      for (const [name, value] of new FormData(form)) {
        const text = convert && convert[name] ? convert[name](String(value)) : String(value).trim();
        if (text) query.set(name, text);
      }
      const next = `#${view}${query.size > 0 ? `?${query}` : ''}`;
      if (location.hash === next) void draw(true);
      else location.hash = next;
    },
  });
  form.append(...fields, el('div', { class: 'field actions' }, el('button', { type: 'submit', 'data-testid': 'search-button', text: 'Search' }), el('a', { href: `#${view}`, text: 'Clear' })));
  return form;
}

function syncOptions(state) {
  return [['', 'all syncs'], ...state.destinations.flatMap((destination) => destination.syncs.map((sync) => [sync.id, sync.id]))];
}

async function deliveriesView(state, query) {
  const api = new URLSearchParams();
  for (const name of ['sync', 'insert_id_prefix', 'user_id', 'device_id', 'event_type', 'outcome', 'status', 'from', 'to']) if (query.get(name)) api.set(name, query.get(name));
  const { deliveries } = await getJson(`/console/deliveries${api.size > 0 ? `?${api}` : ''}`);
  const form = searchForm(
    'deliveries',
    'Search recent deliveries',
    [
      field('insert_id starts with', 'insert_id_prefix', query.get('insert_id_prefix'), { type: 'search', 'data-testid': 'search' }),
      field('user_id', 'user_id', query.get('user_id'), { type: 'search' }),
      field('device_id', 'device_id', query.get('device_id'), { type: 'search' }),
      field('event type', 'event_type', query.get('event_type'), { type: 'search' }),
      selectField('outcome', 'outcome', query.get('outcome'), [
        ['', 'any'],
        ['delivered', 'delivered'],
        ['deferred', 'deferred'],
        ['dead', 'dead'],
      ]),
      field('HTTP status', 'status', query.get('status'), { type: 'text', inputmode: 'numeric', pattern: '[1-5][0-9][0-9]', size: 4 }),
      selectField('sync', 'sync', query.get('sync'), syncOptions(state)),
      field('from', 'from', localOfIso(query.get('from')), { type: 'datetime-local' }),
      field('to', 'to', localOfIso(query.get('to')), { type: 'datetime-local' }),
    ],
    { from: isoOfLocal, to: isoOfLocal },
  );
  const searching = api.size > 0;
  return el(
    'section',
    { 'aria-labelledby': 'view-title' },
    el('h2', { id: 'view-title', text: 'Recent deliveries' }),
    el('p', { class: 'muted', text: 'The last 200 outcomes of each sync, kept in the daemon’s memory; older ones are in the traces and, when dead, in the dead letters.' }),
    form,
    deliveries.length === 0 ? el('p', { class: 'muted', text: searching ? 'No recent delivery matches.' : 'Nothing delivered yet.' }) : deliveriesTable(deliveries),
  );
}

function requestText(request) {
  const body = typeof request.body === 'string' ? request.body : JSON.stringify(request.body, null, 2);
  return `${request.method} ${request.url}\n${Object.entries(request.headers || {})
    .map(([name, value]) => `${name}: ${value}`)
    .join('\n')}\n\n${body}`;
}

async function deliveryView(path) {
  const [sync, serial] = path.split('/');
  const row = await getJson(`/console/deliveries/${encodeURIComponent(decodeURIComponent(sync || ''))}/${encodeURIComponent(serial || '')}`);
  return el(
    'section',
    { 'data-testid': 'delivery-detail', 'aria-labelledby': 'view-title' },
    el('p', {}, el('a', { href: '#deliveries', text: '← recent deliveries' })),
    el('h2', { id: 'view-title', text: `Delivery to ${row.sync}` }),
    el(
      'dl',
      { class: 'figures' },
      figure('time', stamp(row.at)),
      figure('insert_id', ident(row.insertId)),
      figure('user_id', ident(row.userId)),
      figure('device_id', ident(row.deviceId)),
      figure('event type', ident(row.eventType)),
      figure('outcome', row.outcome),
      figure('status', shown(row.status)),
      figure('reason', shown(row.reason)),
      figure('attempt', row.attempts),
      figure('requests', row.requests),
      figure('publish to outcome', `${row.durationMs} ms`),
      figure('stream sequence', row.streamSequence),
    ),
    el('h3', { text: 'Path through the delivery machine' }),
    el('p', { class: 'path', text: row.statePath.join(' → ') }),
    el('h3', { text: 'Request (secrets masked)' }),
    // A request, response or event may scroll (max-height): focusable, so a keyboard can scroll it (axe: scrollable-region-focusable).
    row.request ? el('pre', { tabindex: 0, 'data-testid': 'request', text: requestText(row.request) }) : el('p', { class: 'muted', text: 'No request was made.' }),
    row.request && row.request.bodyCut ? el('p', { class: 'muted', text: `The body is cut to its first ${row.request.bodyCut.keptChars} characters.` }) : '',
    el('h3', { text: 'Response excerpt' }),
    row.response ? el('pre', { tabindex: 0, 'data-testid': 'response', text: `HTTP ${row.response.status}\n\n${row.response.excerpt || '(empty body)'}` }) : el('p', { class: 'muted', text: 'No response.' }),
  );
}

async function deadView(state, query) {
  const api = new URLSearchParams();
  for (const name of ['sync', 'reason', 'before']) if (query.get(name)) api.set(name, query.get(name));
  const page = await getJson(`/console/dead-letters${api.size > 0 ? `?${api}` : ''}`);
  const filters = new URLSearchParams(api);
  filters.delete('before');
  const older = new URLSearchParams(filters);
  if (page.next !== undefined) older.set('before', String(page.next));
  const form = searchForm('dead', 'Filter dead letters', [selectField('sync', 'sync', query.get('sync'), syncOptions(state)), field('reason', 'reason', query.get('reason'), { type: 'search', 'data-testid': 'reason-filter' })]);
  return el(
    'section',
    { 'aria-labelledby': 'view-title' },
    el('h2', { id: 'view-title' }, 'Dead letters ', el('span', { class: 'muted', text: `(${page.total} in the stream, newest first)` })),
    form,
    page.letters.length === 0
      ? el('p', { class: 'muted', text: page.next !== undefined ? 'None matches on this page; older ones follow.' : 'No dead letters.' })
      : table(
          ['seq', 'time', 'sync', 'reason', 'status', 'attempts', 'event', 'insert_id', 'message'],
          page.letters.map((letter) => ({
            attrs: { 'data-testid': 'dead-letter' },
            cells: [
              el('a', { href: `#dead/${letter.seq}`, 'aria-label': `open dead letter ${letter.seq}`, text: String(letter.seq) }),
              stamp(letter.deadAt),
              ident(letter.sync),
              el('span', { class: 'reason', text: shown(letter.reason) }),
              letter.lastStatus,
              letter.attempts,
              ident(letter.eventType),
              ident(letter.insertId),
              el('span', { class: 'text', text: shown(letter.message) }),
            ],
          })),
          { 'data-testid': 'dead-letters' },
        ),
    el(
      'nav',
      { class: 'pages', 'aria-label': 'Dead letter pages' },
      api.has('before') ? el('a', { href: `#dead${filters.size > 0 ? `?${filters}` : ''}`, text: '« newest' }) : '',
      page.next !== undefined ? el('a', { href: `#dead?${older}`, 'data-testid': 'older', text: 'older »' }) : el('span', { class: 'muted', text: 'start of the stream' }),
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
    { 'data-testid': 'dead-letter-detail', 'aria-labelledby': 'view-title' },
    el('p', {}, el('a', { href: '#dead', text: '← dead letters' })),
    el('h2', { id: 'view-title', text: `Dead letter ${stored.seq}` }),
    el(
      'dl',
      { class: 'figures' },
      figure('sync', ident(stored.sync)),
      figure('reason', shown(letter.reason)),
      figure('status', shown(letter.lastStatus)),
      figure('attempts', letter.attempts),
      figure('dead at', stamp(letter.deadAt)),
      figure('insert_id', ident(letter.insertId)),
      figure('definition version', ident((letter.definitionVersion || '').slice(0, 12))),
    ),
    el('h3', { text: 'Message' }),
    el('pre', { tabindex: 0, text: letter.message || stored.unreadable || dash }),
    el('h3', { text: 'Request (secrets masked)' }),
    request ? el('pre', { tabindex: 0, 'data-testid': 'request', text: requestText({ ...request, body: pretty(request.body) }) }) : el('p', { class: 'muted', text: 'No request was made.' }),
    el('h3', { text: 'Response excerpt' }),
    el('pre', { tabindex: 0, 'data-testid': 'response', text: letter.responseExcerpt || dash }),
    el('h3', { text: 'Event' }),
    el('pre', { tabindex: 0, 'data-testid': 'event', text: letter.event !== undefined ? pretty(letter.event) : letter.eventText || '(kept as bytes only)' }),
    letter.truncated ? el('p', { class: 'muted', text: `The letter kept ${letter.truncated.keptBytes} of ${letter.truncated.eventBytes} bytes; destinations dead show ${stored.seq} fetches the whole event.` }) : '',
  );
}

// --- drawing -----------------------------------------------------------------------------------

/** Views that show one thing that does not change once opened: not polled. */
const still = (view) => view.startsWith('dead/') || view.startsWith('delivery/');

/**
 * Draws the current view. A poll (forced false) leaves the content alone while the keyboard or
 * the pointer works inside it (focus in main), so a field being typed in or a link being tabbed
 * to is never replaced under the operator; the header still refreshes.
 */
async function draw(forced) {
  clearTimeout(timer);
  const { view, query } = route();
  const main = document.getElementById('main');
  for (const link of document.querySelectorAll('header nav a')) {
    const name = link.dataset.view;
    const current = view === name || view.startsWith(`${name}/`) || (name === 'deliveries' && view.startsWith('delivery/'));
    link.classList.toggle('active', current);
    if (current) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  try {
    const state = await getJson('/console/state');
    drawHealth(state);
    const busy = !forced && main.contains(document.activeElement) && document.activeElement !== main;
    if (!busy) {
      let content;
      if (view === 'catalog') content = catalogView(state);
      else if (view === 'syncs') content = syncsView(state);
      else if (view.startsWith('syncs/')) content = syncsView(state, decodeURIComponent(view.slice('syncs/'.length)));
      else if (view === 'deliveries') content = await deliveriesView(state, query);
      else if (view.startsWith('delivery/')) content = await deliveryView(view.slice('delivery/'.length));
      else if (view === 'dead') content = await deadView(state, query);
      else if (view.startsWith('dead/')) content = await deadLetterView(view.slice('dead/'.length));
      else content = catalogView(state);
      // A search or a link inside the content: the keyboard stays where it was (the same field), or
      // starts again at the top of the new content, never lost on the page's body.
      const focusedId = main.contains(document.activeElement) && document.activeElement !== main ? document.activeElement.id : undefined;
      main.replaceChildren(content);
      if (focusedId !== undefined) (focusedId && document.getElementById(focusedId) ? document.getElementById(focusedId) : main).focus();
      if (forced) document.title = `${main.querySelector('h2') ? main.querySelector('h2').textContent : 'console'} · destinations`;
    }
  } catch (error) {
    main.replaceChildren(el('p', { class: 'error', role: 'alert', text: `Cannot read the daemon: ${error.message}` }));
  }
  if (!still(view)) timer = setTimeout(() => void draw(false), POLL_MS);
}

/** The config commit running (full commit and branch on hover), and a refused one with why. */
function gitopsBadges(gitops) {
  if (!gitops) return [];
  const applied = gitops.applied;
  const running = el('span', { class: 'badge ok', 'data-testid': 'config-commit', title: `${gitops.repository} ${gitops.branch}: ${applied ? applied.commit : 'none yet'}`, text: `config ${applied ? applied.commit.slice(0, 12) : 'none yet'}` });
  const badges = [' ', running];
  if (gitops.refused) {
    const why = gitops.refused.why.join('\n');
    badges.push(' ', el('span', { class: 'badge bad', 'data-testid': 'config-refused', title: why, text: `refused ${gitops.refused.commit.slice(0, 12)}: ${gitops.refused.why[0] || ''}` }));
  }
  if (gitops.fetchError) badges.push(' ', el('span', { class: 'badge bad', 'data-testid': 'config-fetch', title: gitops.fetchError, text: 'cannot fetch the config branch' }));
  return badges;
}

function drawHealth(state) {
  const health = document.getElementById('health');
  health.replaceChildren(badge(state.ready, 'ready', state.notReady || 'not ready'), ' ', badge(state.connected, 'NATS connected', 'NATS disconnected'), ...gitopsBadges(state.gitops));
  document.getElementById('updated').replaceChildren('updated ', stamp(state.generatedAt), ` (${zoneName()})`);
  document.getElementById('zone').textContent = `Times are in ${zoneName()}, this browser's time zone (the daemon's: ${state.daemonTimeZone}).`;
}

window.addEventListener('hashchange', () => void draw(true));
document.addEventListener('DOMContentLoaded', () => {
  // The skip link moves focus to the content without changing the hash (which names the view).
  document.querySelector('.skip').addEventListener('click', (event) => {
    event.preventDefault();
    document.getElementById('main').focus();
  });
  void draw(true);
});
