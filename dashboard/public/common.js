/*
 * Shared by the dashboard pages (plain browser JS, no build step): the session, API calls with the CSRF
 * header, DOM helpers that only ever set text (data never becomes HTML), formatting, live streams, and
 * the retry / roll-back actions with their confirmation dialogs.
 */
/* exported BSM -- the pages' scripts use it (a shared global: plain scripts, no modules) */
'use strict';

const BSM = (() => {
  let session = null;

  async function getSession() {
    if (session) return session;
    const r = await fetch('/admin/session', { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
    if (r.status === 401) {
      location.href = `/admin/login?next=${encodeURIComponent(location.pathname + location.search)}`;
      throw new Error('not logged in');
    }
    session = await r.json();
    const who = document.getElementById('who');
    if (who) who.textContent = session.role === 'admin' ? 'admin' : 'operator (read-only)';
    return session;
  }

  /** JSON API call; state-changing ones carry the session's CSRF token. Never throws on HTTP errors. */
  async function api(method, url, body) {
    const s = await getSession();
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET' && s.csrfToken) headers['X-CSRF-Token'] = s.csrfToken;
    const r = await fetch(url, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
    let data = null;
    try { data = await r.json(); } catch { /* empty body */ }
    return { status: r.status, ok: r.ok, data };
  }

  /** el('td', {class: 'num', title: 'x'}, 'text', childNode) — text children become text nodes. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      // Styles through the CSSOM: the page's CSP (style-src 'self') blocks style attributes, not this.
      else if (k === 'style') Object.assign(node.style, v);
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
    return node;
  }

  const fmt = {
    num: (n) => (n === null || n === undefined ? '—' : Number(n).toLocaleString('en-US')),
    date: (d) => (d ? new Date(d).toLocaleString('en-GB', { dateStyle: 'short', timeStyle: 'medium' }) : '—'),
    bytes: (b) => { const n = Number(b); if (!(n >= 0)) return '—'; const u = ['B', 'KiB', 'MiB', 'GiB']; let i = 0; let v = n; while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; } return `${v.toFixed(i ? 1 : 0)} ${u[i]}`; },
    duration: (s) => { if (s === null || s === undefined) return '—'; s = Math.round(s); if (s < 60) return `${s}s`; const m = Math.floor(s / 60); if (m < 60) return `${m}m ${s % 60}s`; return `${Math.floor(m / 60)}h ${m % 60}m`; },
    pct: (f) => `${Math.floor((f || 0) * 100)}%`,
    short: (id) => String(id).slice(0, 8),
  };

  const statusBadge = (status) => el('span', { class: `status ${status}`, 'data-field': 'status' }, status.replace('_', ' '));

  /** One bar per phase; the title and data-* attributes say what the colour shows. */
  function phaseBar(p, wide) {
    const f = p.status === 'completed' ? 1 : p.total > 0 ? Math.min(p.done / p.total, 1) : 0;
    return el('div', { class: `bar ${p.status}${wide ? ' wide' : ''}`, 'data-phase': p.name, 'data-status': p.status, 'data-done': p.done, 'data-total': p.total,
      title: `${p.name}: ${p.status}, ${fmt.num(p.done)} / ${fmt.num(p.total)}`, role: 'img', 'aria-label': `${p.name} ${p.status} ${fmt.num(p.done)} of ${fmt.num(p.total)}` },
    el('span', { style: { width: `${(f * 100).toFixed(1)}%` } }));
  }

  function flash(text, kind) {
    const box = document.getElementById('flash');
    if (!box) return;
    box.replaceChildren(el('div', { class: `msg${kind === 'error' ? ' error' : ''}`, role: kind === 'error' ? 'alert' : 'status' }, text));
  }

  /** Opens the confirmation dialog; resolves true on confirm, false on cancel or Escape. */
  function confirmDialog({ title, paragraphs, confirmLabel }) {
    const dlg = document.getElementById('confirm');
    document.getElementById('confirm-title').textContent = title;
    document.getElementById('confirm-text').replaceChildren(...paragraphs.map((p) => el('p', {}, p)));
    const ok = document.getElementById('confirm-ok');
    const cancel = document.getElementById('confirm-cancel');
    ok.textContent = confirmLabel;
    return new Promise((resolve) => {
      const done = (v) => { ok.onclick = cancel.onclick = dlg.oncancel = null; dlg.close(); resolve(v); };
      ok.onclick = () => done(true);
      cancel.onclick = () => done(false);
      dlg.oncancel = () => done(false);
      dlg.showModal();
    });
  }

  const errorText = (r) => (r.data && r.data.error ? r.data.error.message : `HTTP ${r.status}`);

  /** Retry: what failed runs again and the flow continues; a rolled-back batch is applied again. */
  async function retry(batch) {
    const failed = (batch.phases || []).filter((p) => p.status === 'failed').map((p) => p.name);
    const completed = (batch.phases || []).filter((p) => p.status === 'completed').length;
    const paragraphs = batch.status === 'rolled_back'
      ? [`Batch ${batch.id} (user ${batch.userId}) was rolled back. Retrying applies the same dump again as a new run: every phase runs from the start and the rows come back.`]
      : [`Batch ${batch.id} (user ${batch.userId}) failed${failed.length ? ` in ${failed.join(', ')}` : ''}.`,
        `Retrying runs ${failed.length ? `the failed phase (${failed.join(', ')})` : 'what failed'} again and continues the flow from there. The ${completed} completed phase(s) are not redone; entries already settled keep their outcome, and rows are upserted by id, so nothing is applied twice.`];
    paragraphs.push('The action is recorded in the audit log under your login.');
    if (!(await confirmDialog({ title: 'Retry this batch?', paragraphs, confirmLabel: 'Retry batch' }))) return null;
    let r = await api('POST', `/v1/admin/batches/${batch.id}/retry`, { force: false });
    if (r.status === 409 && r.data && r.data.error.code === 'later_batches') {
      const later = r.data.error.details.laterBatches || [];
      const forced = await confirmDialog({
        title: 'Later batches were applied since',
        paragraphs: [
          `Batch(es) ${later.join(', ')} of this user were applied after batch ${batch.id}. Running it again would overwrite rows they wrote.`,
          'Roll those back first to keep their data, or force the retry. A forced retry is recorded as such in the audit log.',
        ],
        confirmLabel: 'Force retry',
      });
      if (!forced) { flash('Retry cancelled: nothing was changed.'); return r; }
      r = await api('POST', `/v1/admin/batches/${batch.id}/retry`, { force: true });
    }
    flash(r.ok ? `Retry queued for batch ${fmt.short(batch.id)}: it is ${r.data.status} now.` : `Retry refused: ${errorText(r)}`, r.ok ? 'info' : 'error');
    return r;
  }

  /** Rollback: states how many rows of which tables go back; a 409 conflict offers the forced rollback. */
  async function rollback(batch) {
    const view = await api('GET', `/v1/batches/${batch.id}`);
    const rows = view.ok ? view.data.report.rows : {};
    const tables = Object.entries(rows).map(([t, n]) => `${t} (${fmt.num(n)})`);
    const total = Object.values(rows).reduce((s, n) => s + n, 0);
    const paragraphs = [
      `Batch ${batch.id} (user ${batch.userId}) wrote ${fmt.num(total)} row(s)${tables.length ? `: ${tables.join(', ')}` : ''}.`,
      'Rolling back returns the database exactly to its state before the batch: rows it inserted are deleted and rows it updated get their previous values back, phase by phase in reverse order. It runs as a job; the batch ends rolled_back, and the uploader’s app keeps using its local copy. New batches of this user wait meanwhile.',
      'If a later batch changed the same rows, the rollback is refused and you will be asked whether to roll back those too.',
    ];
    if (!(await confirmDialog({ title: 'Roll back this batch?', paragraphs, confirmLabel: 'Roll back' }))) return null;
    let r = await api('POST', `/v1/admin/batches/${batch.id}/rollback`, { force: false });
    if (r.status === 409 && r.data && r.data.error.code === 'rollback_conflict') {
      const later = r.data.error.details.laterBatches || [];
      const forced = await confirmDialog({
        title: 'Later batches changed these rows',
        paragraphs: [
          `Still-applied batch(es) ${later.join(', ')} changed rows that batch ${batch.id} wrote, so it cannot be rolled back alone.`,
          `A forced rollback undoes all of them, newest first (${later.join(', ')}, then ${batch.id}); each ends rolled_back. This is recorded as a forced rollback in the audit log.`,
        ],
        confirmLabel: `Force roll back ${later.length + 1} batches`,
      });
      if (!forced) { flash('Rollback cancelled: nothing was changed.'); return r; }
      r = await api('POST', `/v1/admin/batches/${batch.id}/rollback`, { force: true });
    } else if (r.status === 409 && r.data && r.data.error.code === 'changed_through_api') {
      const c = r.data.error.details.apiChanges || { count: 0, changes: [] };
      const forced = await confirmDialog({
        title: 'The app changed these rows since',
        paragraphs: [
          `${fmt.num(c.count)} change(s) were made through the data API to rows of batch ${batch.id} since it ran, e.g. ${c.changes.slice(0, 3).map((x) => `${x.table} ${x.sourceId || x.rowId} (${x.op})`).join(', ')}.`,
          'Rolling back discards them. A forced rollback goes ahead and the audit log keeps every overwritten change with its value.',
        ],
        confirmLabel: 'Force roll back (discard the app\'s changes)',
      });
      if (!forced) { flash('Rollback cancelled: nothing was changed.'); return r; }
      r = await api('POST', `/v1/admin/batches/${batch.id}/rollback`, { force: true });
    }
    flash(r.ok ? `Rollback queued for batch ${fmt.short(batch.id)}: ${r.data.status}.` : `Rollback refused: ${errorText(r)}`, r.ok ? 'info' : 'error');
    return r;
  }

  /** Retry and roll-back buttons; disabled with a reason when the role or the status does not allow them. */
  function actionButtons(batch, s) {
    const why = s.canAct ? null : 'Read-only role: operators cannot retry or roll back.';
    const canRetry = ['failed', 'rolled_back'].includes(batch.status);
    const canRollback = ['completed', 'needs_attention', 'failed'].includes(batch.status);
    return el('div', { class: 'actions' },
      el('button', { type: 'button', 'data-action': 'retry', disabled: !s.canAct || !canRetry, title: why || (canRetry ? 'Retry what failed' : `Nothing to retry: batch is ${batch.status}`), onclick: () => retry(batch) }, 'Retry'),
      el('button', { type: 'button', 'data-action': 'rollback', class: 'danger', disabled: !s.canAct || !canRollback, title: why || (canRollback ? 'Undo this batch' : `Cannot roll back while ${batch.status}`), onclick: () => rollback(batch) }, 'Roll back'));
  }

  /**
   * Live JSON: Server-Sent Events, falling back to polling the JSON endpoint if the browser has no
   * EventSource. `indicator` shows whether the stream is connected.
   */
  function live({ streamUrl, event, pollUrl, onData }) {
    const indicator = document.getElementById('live');
    const show = (on, text) => { if (indicator) { indicator.className = `live ${on ? 'on' : 'off'}`; indicator.textContent = text; } };
    if (typeof EventSource === 'undefined') {
      let stopped = false;
      const poll = async () => { if (stopped) return; const r = await api('GET', pollUrl); if (r.ok) { show(true, 'polling'); onData(r.data); } setTimeout(poll, 3000); };
      void poll();
      return { close: () => { stopped = true; } };
    }
    const es = new EventSource(streamUrl, { withCredentials: true });
    es.addEventListener('open', () => show(true, 'live'));
    es.addEventListener('error', () => show(false, 'reconnecting'));
    es.addEventListener('problem', (e) => show(false, JSON.parse(e.data).message));
    es.addEventListener(event, (e) => { show(true, 'live'); onData(JSON.parse(e.data)); });
    return es;
  }

  return { getSession, api, el, fmt, statusBadge, phaseBar, flash, confirmDialog, retry, rollback, actionButtons, live };
})();
