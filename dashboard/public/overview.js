/*
 * The migrations overview (/admin): filters live in the URL (so a view can be shared or bookmarked), the
 * table is fed by the SSE stream of GET /v1/admin/batches with the same filters.
 */
/* global BSM -- defined by common.js, loaded first by the page */
'use strict';

(() => {
  const { el, fmt } = BSM;
  const form = document.getElementById('filters');
  const tbody = document.querySelector('#batches tbody');
  let stream = null;
  let session = null;

  /** Date inputs are local days; the API wants instants. "To" includes its whole day. */
  function apiQuery(params) {
    const q = new URLSearchParams();
    for (const k of ['status', 'userId', 'q']) if (params.get(k)) q.set(k, params.get(k).trim());
    if (params.get('since')) q.set('since', new Date(`${params.get('since')}T00:00:00`).toISOString());
    if (params.get('until')) {
      const end = new Date(`${params.get('until')}T00:00:00`);
      end.setDate(end.getDate() + 1);
      q.set('until', end.toISOString());
    }
    q.set('limit', '100');
    return q.toString();
  }

  function fillForm(params) {
    for (const k of ['status', 'userId', 'since', 'until', 'q']) form.elements[k].value = params.get(k) || '';
  }

  function progressCell(b) {
    const p = b.progress || {};
    const lines = [el('div', {}, fmt.pct(p.fraction), p.currentPhase ? ` · ${p.currentPhase}` : '')];
    if (b.status === 'running') {
      lines.push(el('div', { class: 'progress-line' },
        el('span', { 'data-field': 'rate' }, p.rowsPerSecond === null ? '— rows/s' : `${fmt.num(p.rowsPerSecond)} rows/s`), ' · ETA ',
        el('span', { 'data-field': 'eta' }, fmt.duration(p.etaSeconds))));
    } else if (p.rowsPerSecond !== null && p.rowsPerSecond !== undefined) {
      lines.push(el('div', { class: 'progress-line' }, `${fmt.num(p.rowsPerSecond)} rows/s`));
    }
    return el('td', { 'data-field': 'progress', 'data-fraction': p.fraction }, lines);
  }

  function verificationCell(v, status) {
    if (!v) return el('td', { 'data-field': 'verification', class: 'muted' }, status === 'running' || status === 'queued' ? 'pending' : '—');
    return v.ok
      ? el('td', { 'data-field': 'verification', class: 'verify-ok', title: `checked ${fmt.date(v.checkedAt)}` }, '✓ verified')
      : el('td', { 'data-field': 'verification', class: 'verify-bad', title: (v.problems || []).join('; ') }, `✗ ${(v.problems || []).length} problem(s)`);
  }

  function row(b) {
    const c = b.counts || {};
    return el('tr', { 'data-batch-id': b.id, 'data-status': b.status },
      el('td', {},
        el('a', { href: `/admin/batches/${b.id}`, class: 'mono', title: b.id }, fmt.short(b.id)),
        b.uploadId ? el('div', { class: 'muted mono', title: 'upload id' }, `upload ${String(b.uploadId).slice(0, 12)}`) : null),
      el('td', {}, b.userId),
      el('td', {}, fmt.date(b.createdAt)),
      el('td', {}, BSM.statusBadge(b.status), b.error && b.status !== 'completed' ? el('div', { class: 'progress-line error', title: b.error.message }, b.error.code) : null),
      el('td', {}, el('div', { class: 'phases' }, (b.phases || []).map((p) => BSM.phaseBar(p)))),
      progressCell(b),
      el('td', { class: 'num', 'data-field': 'migrated' }, fmt.num(c.migrated)),
      el('td', { class: 'num', 'data-field': 'preserved' }, fmt.num(c.preserved)),
      el('td', { class: 'num', 'data-field': 'rejected' }, fmt.num(c.rejected)),
      verificationCell(b.verification, b.status),
      el('td', {}, BSM.actionButtons(b, session)));
  }

  function render(data) {
    const batches = data.batches || [];
    if (batches.length === 0) tbody.replaceChildren(el('tr', {}, el('td', { colspan: 11, class: 'muted' }, 'No batches match these filters.')));
    else tbody.replaceChildren(...batches.map(row));
  }

  function connect() {
    if (stream) stream.close();
    const q = apiQuery(new URLSearchParams(location.search));
    stream = BSM.live({ streamUrl: `/v1/admin/events/batches?${q}`, event: 'batches', pollUrl: `/v1/admin/batches?${q}`, onData: render });
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const params = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (String(v).trim()) params.set(k, String(v).trim());
    history.replaceState(null, '', params.toString() ? `?${params}` : location.pathname);
    connect();
  });
  form.addEventListener('reset', () => setTimeout(() => form.requestSubmit(), 0));

  // The form shows the URL's filters at once, not when the session answers: filling it then would wipe
  // what the user has typed meanwhile (and a submit would drop the filter).
  fillForm(new URLSearchParams(location.search));
  BSM.getSession().then((s) => {
    session = s;
    connect();
  });
})();
