/*
 * One batch (/admin/batches/:id): live status and phases from the SSE stream; the report, the rejects
 * (paged), and the audit entries are re-read whenever the status changes.
 */
/* global BSM -- defined by common.js, loaded first by the page */
'use strict';

(() => {
  const { el, fmt, api } = BSM;
  const batchId = decodeURIComponent(location.pathname.split('/').pop());
  const PAGE = 20;
  let session = null;
  let lastStatus = null;

  const facts = (pairs) => el('dl', { class: 'facts' }, pairs.filter(Boolean).flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
  const table = (id) => document.querySelector(`#${id} tbody`);

  /** Inserted / updated / deleted rows over all tables, from the batch's journal. */
  function changesText(changes) {
    const t = { inserted: 0, updated: 0, deleted: 0 };
    for (const c of Object.values(changes || {})) for (const k of Object.keys(t)) t[k] += c[k];
    return `${fmt.num(t.inserted)} inserted · ${fmt.num(t.updated)} updated · ${fmt.num(t.deleted)} deleted`;
  }

  function renderSummary(b) {
    document.title = `Batch ${fmt.short(b.id)} · Storage migrations`;
    document.getElementById('batch-id').textContent = b.id;
    document.getElementById('batch-status').replaceChildren(BSM.statusBadge(b.status));
    const c = b.counts || {};
    const p = b.progress || {};
    const notes = (b.report && b.report.notes) || {};
    document.getElementById('summary').replaceChildren(
      facts([
        ['User', b.userId],
        ['Created', fmt.date(b.createdAt)],
        ['Started / finished', `${fmt.date(b.startedAt)} → ${fmt.date(b.finishedAt)}`],
        ['Dump', `${fmt.bytes(b.dump.bytes)} ${b.dump.encoding}, ${fmt.num(b.counts.entries)} entries, sha256 ${String(b.dump.sha256).slice(0, 16)}…`],
        ['Progress', el('span', { 'data-field': 'progress', 'data-fraction': p.fraction }, `${fmt.pct(p.fraction)}${p.currentPhase ? ` · ${p.currentPhase}` : ''}`,
          b.status === 'running' ? ` · ${p.rowsPerSecond === null ? '—' : fmt.num(p.rowsPerSecond)} rows/s · ETA ${fmt.duration(p.etaSeconds)}` : '')],
        ['Entries', el('span', { 'data-field': 'counts' }, `${fmt.num(c.migrated)} migrated · ${fmt.num(c.preserved)} preserved · ${fmt.num(c.rejected)} rejected · ${fmt.num(c.pending)} pending`)],
        b.kind === 'delta' && b.baseBatchId ? ['Delta of', el('a', { href: `/admin/batches/${b.baseBatchId}`, 'data-field': 'base' }, fmt.short(b.baseBatchId)),
          notes.delta ? ` · ${fmt.num(notes.delta.puts)} changed or added, ${fmt.num(notes.delta.removals)} removed entries` : ''] : null,
        b.followedBy && b.followedBy.length ? ['Followed by', el('span', { 'data-field': 'followed-by' },
          ...b.followedBy.flatMap((id, i) => [i ? ', ' : '', el('a', { href: `/admin/batches/${id}` }, `delta ${fmt.short(id)}`)]))] : null,
        ['Rows changed', el('span', { 'data-field': 'changes' }, changesText(b.report && b.report.changes))],
        notes.requestId ? ['Request id', el('code', {}, notes.requestId)] : null,
        notes.uploadId ? ['Upload id', el('code', {}, notes.uploadId)] : null,
        b.error ? ['Error', el('span', { class: 'error', 'data-field': 'error' }, `${b.error.code}: ${b.error.message}`)] : null,
        ['Actions', BSM.actionButtons(b, session)],
      ]));
  }

  function renderPhases(b) {
    table('phases').replaceChildren(...b.phases.map((p) => el('tr', { 'data-phase': p.name },
      el('td', {}, p.name),
      el('td', {}, BSM.statusBadge(p.status)),
      el('td', {}, BSM.phaseBar(p, true)),
      el('td', { class: 'num' }, `${fmt.num(p.done)} / ${fmt.num(p.total)}`),
      el('td', { class: 'num' }, fmt.num(p.rejected)),
      el('td', { class: 'num' }, fmt.num(p.attempts)),
      el('td', {}, fmt.date(p.startedAt)),
      el('td', {}, fmt.date(p.finishedAt)),
      el('td', {}, b.jobs && b.jobs[p.name] ? el('a', { href: b.jobs[p.name], 'data-job': p.name }, 'Bull Board') : '—'),
      el('td', { class: 'error' }, p.error || ''))));
  }

  function renderVerification(v, status) {
    const box = document.getElementById('verification');
    if (!v) return box.replaceChildren(el('p', { class: 'muted' }, 'Not verified yet: verification is the last phase.'));
    const tables = Object.entries(v.tables || {});
    box.replaceChildren(...[
      ['rolling_back', 'rolled_back'].includes(status) ? el('p', { class: 'muted' }, 'This is the verification of the batch as it was applied, before the rollback.') : null,
      el('p', { class: v.ok ? 'verify-ok' : 'verify-bad', 'data-field': 'verification' }, v.ok ? `✓ Verified ${fmt.date(v.checkedAt)}: every row is present and unchanged, and the report balances.` : `✗ ${v.problems.join('; ')}`),
      tables.length ? el('table', {}, el('thead', {}, el('tr', {}, ['Table', 'Expected', 'Present', 'Changed', 'Missing'].map((h) => el('th', { class: h === 'Table' ? null : 'num' }, h)))),
        el('tbody', {}, tables.map(([t, s]) => el('tr', {}, el('td', {}, t), [s.expected, s.present, s.changed, s.missing].map((n) => el('td', { class: 'num' }, fmt.num(n))))))) : null,
      (v.differences || []).length ? el('table', {}, el('thead', {}, el('tr', {}, ['Table', 'Row', 'Source id', 'Problem'].map((h) => el('th', {}, h)))),
        el('tbody', {}, v.differences.map((d) => el('tr', {}, el('td', {}, d.table), el('td', { class: 'mono' }, d.rowId), el('td', {}, d.sourceId || '—'), el('td', { class: 'error' }, d.problem))))) : null,
    ].filter(Boolean));
  }

  async function loadReport() {
    const r = await api('GET', `/v1/batches/${batchId}/report?limit=1`);
    const box = document.getElementById('report');
    if (!r.ok) return box.replaceChildren(el('p', { class: 'error' }, `Report unavailable: ${r.status}`));
    const t = r.data.totals;
    box.replaceChildren(...[
      el('p', { 'data-field': 'balanced' }, `${fmt.num(t.entries)} entries: ${fmt.num(t.migrated)} migrated, ${fmt.num(t.preserved)} preserved, ${fmt.num(t.rejected)} rejected, ${fmt.num(t.pending)} pending — `,
        el('strong', { class: r.data.balanced ? 'verify-ok' : 'verify-bad' }, r.data.balanced ? 'balanced' : 'not balanced yet')),
      el('table', {}, el('thead', {}, el('tr', {}, ['Kind', 'Area', 'Entries', 'Migrated', 'Preserved', 'Rejected'].map((h, i) => el('th', { class: i > 1 ? 'num' : null }, h)))),
        el('tbody', {}, r.data.byKind.map((k) => el('tr', {}, el('td', {}, k.kind), el('td', {}, k.area), [k.entries, k.migrated, k.preserved, k.rejected].map((n) => el('td', { class: 'num' }, fmt.num(n))))))),
      Object.keys(r.data.notes || {}).length ? el('details', {}, el('summary', {}, 'Notes (decisions the mapping made)'), el('pre', {}, JSON.stringify(r.data.notes, null, 2))) : null,
    ].filter(Boolean));
  }

  /** A keyset pager: `cursors` holds the `after` of every page seen, so Prev needs no offsets. */
  function pager({ pagerId, tableId, url, itemsOf, cursorOf, rowOf, empty }) {
    const cursors = [null];
    const load = async () => {
      const after = cursors[cursors.length - 1];
      const r = await api('GET', url(after));
      const items = r.ok ? itemsOf(r.data) : [];
      table(tableId).replaceChildren(...(items.length ? items.map(rowOf) : [el('tr', {}, el('td', { colspan: 5, class: 'muted' }, r.ok ? empty : `Unavailable (HTTP ${r.status})`))]));
      const more = r.ok && items.length === PAGE;
      document.getElementById(pagerId).replaceChildren(
        el('button', { type: 'button', disabled: cursors.length === 1, onclick: () => { cursors.pop(); void load(); } }, '← Prev'),
        el('span', { class: 'muted' }, `page ${cursors.length}${r.ok && r.data.total !== undefined ? ` of ${Math.max(1, Math.ceil(r.data.total / PAGE))}` : ''}`),
        el('button', { type: 'button', disabled: !more, 'data-next': pagerId, onclick: () => { cursors.push(cursorOf(items[items.length - 1])); void load(); } }, 'Next →'));
    };
    return { load, reset: () => { cursors.length = 1; return load(); } };
  }

  const rejectedEntries = pager({
    pagerId: 'entries-pager', tableId: 'rejected-entries', empty: 'No entry was rejected.',
    url: (after) => `/v1/batches/${batchId}/report?outcome=rejected&limit=${PAGE}${after === null ? '' : `&after=${after}`}`,
    itemsOf: (d) => d.entries,
    cursorOf: (e) => e.seq,
    rowOf: (e) => el('tr', {}, el('td', { class: 'num' }, e.seq), el('td', {}, e.area), el('td', { class: 'mono' }, JSON.stringify(e.key)), el('td', {}, e.kind), el('td', {}, e.reason || '')),
  });
  const elementRejects = pager({
    pagerId: 'rejects-pager', tableId: 'rejects', empty: 'No element was rejected.',
    url: (after) => `/v1/admin/batches/${batchId}/rejects?limit=${PAGE}${after === null ? '' : `&after=${after}`}`,
    itemsOf: (d) => d.rejects,
    cursorOf: (r) => r.id,
    rowOf: (r) => el('tr', {}, el('td', { class: 'num' }, r.entrySeq), el('td', {}, r.phase), el('td', { class: 'mono' }, r.path), el('td', {}, r.code), el('td', {}, r.reason)),
  });
  let auditTimer = null;
  let auditLooks = 0;
  async function loadAudit(again = false) {
    clearTimeout(auditTimer);
    auditLooks = again ? auditLooks + 1 : 0;
    const r = await api('GET', `/v1/admin/audit?target=${encodeURIComponent(`batch:${batchId}`)}&limit=50`);
    const rows = r.ok ? r.data.entries : [];
    // A queued rollback gets its outcome (ok/failed, details.requestId = the queued entry's id) after the
    // batch's status changed, so the entry may not be there yet when the status change makes us look: look
    // again every second until it is (for at most two minutes).
    const pending = rows.some((a) => a.outcome === 'queued' && !rows.some((b) => b.details && b.details.requestId === a.id));
    if (pending && auditLooks < 120) auditTimer = setTimeout(() => void loadAudit(true), 1000);
    table('audit').replaceChildren(...(rows.length ? rows.map((a) => el('tr', { 'data-action': a.action, 'data-outcome': a.outcome },
      el('td', {}, fmt.date(a.at)), el('td', {}, a.actor), el('td', {}, a.action), el('td', {}, a.outcome),
      el('td', {}, a.action.startsWith('batch.rollback') && a.outcome === 'queued' ? el('a', { href: `/admin/queues/queue/maintenance/${encodeURIComponent(`rollback.${batchId}.${a.id}`)}` }, 'rollback job ') : null,
        el('code', {}, JSON.stringify(a.details))))) : [el('tr', {}, el('td', { colspan: 5, class: 'muted' }, r.ok ? 'No admin action on this batch yet.' : `Audit log unavailable (HTTP ${r.status}).`))]));
  }

  function onBatch(b) {
    if (b.gone) return BSM.flash('This batch no longer exists.', 'error');
    renderSummary(b);
    renderPhases(b);
    renderVerification(b.report && b.report.verification, b.status);
    if (b.status !== lastStatus) {
      lastStatus = b.status;
      void loadReport();
      void rejectedEntries.reset();
      void elementRejects.reset();
      void loadAudit();
    }
  }

  BSM.getSession().then((s) => {
    session = s;
    const url = `/v1/admin/events/batches/${encodeURIComponent(batchId)}`;
    BSM.live({ streamUrl: url, event: 'batch', pollUrl: url, onData: onBatch });
  });
})();
