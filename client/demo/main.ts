/**
 * The /uploader demo page: scan, show what was found, upload with a progress bar, one bar per phase,
 * then the report. Plain DOM; the token lives only in the form field (never stored in the browser).
 */
import { snapshot, summarize, upload, type Dump, type DumpSummary, type MigrationProgress, type PhaseStatus } from '../index';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

function row(label: string, entries: number, bytes: number, cls = ''): HTMLTableRowElement {
  const tr = document.createElement('tr');
  if (cls) tr.className = cls;
  for (const [text, c] of [[label, ''], [String(entries), 'num'], [fmtBytes(bytes), 'num']]) {
    const td = document.createElement('td');
    td.textContent = text;
    if (c) td.className = c;
    tr.append(td);
  }
  tr.dataset.area = label;
  return tr;
}

function showFound(s: DumpSummary): void {
  const rows = $('found-rows');
  rows.replaceChildren(
    row('localStorage', s.localStorage.entries, s.localStorage.bytes),
    row('sessionStorage', s.sessionStorage.entries, s.sessionStorage.bytes),
    row('IndexedDB', s.indexedDB.entries, s.indexedDB.bytes),
    ...s.databases.map((d) => row(`${d.name} (v${d.version}, ${d.stores.length} stores)`, d.entries, d.bytes, 'sub')),
    row('Total', s.total.entries, s.total.bytes),
  );
  $('found').hidden = false;
}

function phaseBar(p: PhaseStatus): HTMLElement {
  const id = `phase-${p.name}`;
  let el = document.getElementById(id);
  if (!el) {
    el = document.createElement('div');
    el.className = 'bar';
    el.id = id;
    el.innerHTML = '<span></span><progress max="1" value="0"></progress><span class="label"></span>';
    (el.children[0] as HTMLElement).textContent = p.name;
    $('phases').append(el);
  }
  const bar = el.querySelector('progress')!;
  const finished = p.status === 'completed';
  const total = p.total ?? 0;
  bar.max = Math.max(total, 1);
  bar.value = finished ? bar.max : Math.min(p.done ?? 0, bar.max);
  el.dataset.status = p.status;
  (el.children[2] as HTMLElement).textContent = total ? `${p.done ?? 0}/${total} · ${p.status}` : p.status;
  return el;
}

function onProgress(p: MigrationProgress): void {
  $('progress').hidden = false;
  if (p.stage === 'upload') {
    const bar = $<HTMLProgressElement>('upload-bar');
    bar.max = p.bytesTotal;
    bar.value = p.bytesSent;
    $('upload-label').textContent = `${fmtBytes(p.bytesSent)} / ${fmtBytes(p.bytesTotal)}${p.resumedFrom ? ' (resumed)' : ''}`;
  } else if (p.stage === 'uploaded') {
    $<HTMLProgressElement>('upload-bar').value = $<HTMLProgressElement>('upload-bar').max;
    $('upload-label').textContent = `${fmtBytes(p.bytesTotal)} · batch ${p.batchId.slice(0, 8)}`;
  } else if (p.stage === 'processing' || p.stage === 'done') {
    const status = $('batch-status');
    status.textContent = p.batch.status;
    status.className = `status ${p.batch.status}`;
    p.batch.phases.forEach(phaseBar);
    if (p.stage === 'done') showReport(p);
  }
}

function showReport(p: Extract<MigrationProgress, { stage: 'done' }>): void {
  const t = p.report?.totals ?? { entries: 0, migrated: 0, preserved: 0, rejected: 0, pending: 0 };
  const box = $('report-counts');
  box.replaceChildren(...(['entries', 'migrated', 'preserved', 'rejected'] as const).map((k) => {
    const d = document.createElement('div');
    d.dataset.count = k;
    d.innerHTML = '<b></b><span></span>';
    d.children[0].textContent = String(t[k]);
    d.children[1].textContent = k;
    return d;
  }));
  $('report-note').textContent = p.report?.balanced
    ? `Every entry is accounted for. Batch ${p.batch.id} ended ${p.batch.status}.`
    : `Batch ${p.batch.id} ended ${p.batch.status}; the report does not balance yet.`;
  $('report').hidden = false;
}

let busy = false;
async function run(uploadToo: boolean): Promise<void> {
  if (busy) return;
  busy = true;
  const buttons = document.querySelectorAll('button');
  buttons.forEach((b) => (b.disabled = true));
  $('error').hidden = true;
  try {
    const dump: Dump = await snapshot();
    showFound(summarize(dump)); // counts lines without keeping them
    if (!uploadToo) return;
    const token = $<HTMLInputElement>('token').value.trim();
    const websiteId = $<HTMLInputElement>('websiteId').value.trim() || undefined;
    const result = await upload(dump, { token, websiteId, onProgress });
    document.body.dataset.result = result.status;
  } catch (err) {
    $('error').textContent = (err as Error).message;
    $('error').hidden = false;
    document.body.dataset.result = 'error';
  } finally {
    busy = false;
    buttons.forEach((b) => (b.disabled = false));
  }
}

$('scan').addEventListener('click', () => void run(false));
$('form').addEventListener('submit', (e) => {
  e.preventDefault();
  void run(true);
});
