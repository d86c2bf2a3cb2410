/*
 * Tokens (/admin/tokens): who can upload or look, and the revoke button (admin only). The list comes from
 * GET /v1/admin/tokens (never a secret); revoking is DELETE /v1/admin/tokens/:id, confirmed first.
 */
/* global BSM -- defined by common.js, loaded first by the page */
'use strict';

(() => {
  const { el, fmt, api, flash, confirmDialog } = BSM;
  const form = document.getElementById('filters');
  const tbody = document.querySelector('#tokens tbody');
  let session = null;

  async function load() {
    const params = new URLSearchParams(location.search);
    form.elements.userId.value = params.get('userId') || '';
    form.elements.includeRevoked.checked = params.get('includeRevoked') === 'true';
    const q = new URLSearchParams();
    if (params.get('userId')) q.set('userId', params.get('userId'));
    q.set('includeRevoked', params.get('includeRevoked') === 'true' ? 'true' : 'false');
    const r = await api('GET', `/v1/admin/tokens?${q}`);
    if (!r.ok) return tbody.replaceChildren(el('tr', {}, el('td', { colspan: 7, class: 'error' }, `Could not load the tokens: ${r.data && r.data.error ? r.data.error.message : r.status}`)));
    if (r.data.tokens.length === 0) return tbody.replaceChildren(el('tr', {}, el('td', { colspan: 7, class: 'muted' }, 'No token matches.')));
    tbody.replaceChildren(...r.data.tokens.map(row));
  }

  function row(t) {
    const why = session.canAct ? null : 'Read-only role: operators cannot revoke tokens.';
    return el('tr', { 'data-token': t.id },
      el('td', {}, el('code', {}, fmt.short(t.id))),
      el('td', {}, t.userId),
      el('td', {}, t.role),
      el('td', {}, t.label || '—'),
      el('td', {}, fmt.date(t.createdAt)),
      el('td', { 'data-field': 'revoked' }, t.revokedAt ? fmt.date(t.revokedAt) : '—'),
      el('td', {}, t.revokedAt ? '' : el('button', { type: 'button', class: 'danger', 'data-action': 'revoke', disabled: !session.canAct, title: why || 'Revoke this token', onclick: () => revoke(t) }, 'Revoke')));
  }

  async function revoke(t) {
    const ok = await confirmDialog({
      title: 'Revoke this token?',
      paragraphs: [`Token ${t.id} (${t.role} of user ${t.userId}${t.label ? `, "${t.label}"` : ''}) will answer 401 from now on${t.role === 'operator' ? ', and its dashboard sessions end' : ''}.`, 'This cannot be undone: mint a new token if it is needed again. It is recorded in the audit log.'],
      confirmLabel: 'Revoke token',
    });
    if (!ok) return;
    const r = await api('DELETE', `/v1/admin/tokens/${t.id}`);
    flash(r.ok ? `Token ${fmt.short(t.id)} revoked.` : `Not revoked: ${r.data && r.data.error ? r.data.error.message : r.status}`, r.ok ? 'info' : 'error');
    await load();
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    if (form.elements.userId.value.trim()) q.set('userId', form.elements.userId.value.trim());
    if (form.elements.includeRevoked.checked) q.set('includeRevoked', 'true');
    history.replaceState(null, '', `?${q}`);
    void load();
  });

  BSM.getSession().then((s) => {
    session = s;
    return load();
  });
})();
