/**
 * The API stays responsive under `npm start` while a big entry is migrated: one localStorage
 * "content-storage" value of ~100 MB with 100k content items, posted as NDJSON. While its phases run,
 * /healthz and GET /v1/batches/:id are polled every ~50 ms; every answer must come within 1 s (the Trust
 * issue's bound) and the p99s are printed (the Fast issue's target is 100 ms).
 *
 * The workers' CPU-heavy parsing and transforms run in npm start's worker child process, so this passes;
 * with START_WORKERS_IN_PROCESS=true (workers on the API's event loop) it fails — run it that way to see.
 */
import { exclusive } from './helpers/exclusive';
import { npmStart, type NpmStart } from './helpers/npmStart';

const ADMIN = 'responsive-admin-token-0123456789';
const ITEMS = 100_000;
const BOUND_MS = 1000;
let app: NpmStart | undefined;
let release: (() => void) | undefined;

// Never beside the 300 MB browser memory test: its Chromium and pipeline take both cores (see exclusive.ts).
beforeAll(async () => {
  release = await exclusive('heavy-cpu');
}, 900_000);
afterAll(async () => {
  try {
    await app?.cleanup();
  } finally {
    release?.();
  }
});

/** NDJSON dump (§1b): a content type, then one ~100 MB content-storage entry. */
function bigDump(): Buffer {
  const typeId = '1754981000123_k3j9x2m1q';
  const contentTypes = [{
    id: typeId, name: 'BlogPost', pluralName: 'BlogPosts', icon: '📋', description: 'Articles', relationships: [],
    fields: [
      { id: 'f1', name: 'title', label: 'Title', type: 'text', required: true, order: 0 },
      { id: 'f2', name: 'body', label: 'Body', type: 'text', required: false, order: 1 },
    ],
    createdAt: '2025-08-12T06:56:40.123Z', updatedAt: '2025-08-12T07:01:02.000Z',
  }];
  const filler = 'coffee shop menu order latte espresso bean roast fresh daily blend brew cup morning '.repeat(12);
  const contentItems = Array.from({ length: ITEMS }, (_, i) => ({
    id: `${1754982000000 + i}_${i.toString(36).padStart(9, '0')}`, contentTypeId: typeId,
    data: { title: `Post ${i}`, body: `${i} ${filler}` },
    createdAt: '2025-08-12T07:13:20.000Z', updatedAt: '2025-08-12T07:13:20.000Z',
  }));
  const lines = [
    { format: 'browser-storage-dump', version: 1, source: { app: 'catalyst-studio', origin: 'http://localhost:3000', userAgent: 'jest', capturedAt: new Date().toISOString() } },
    { area: 'localStorage', key: 'contentTypes', value: JSON.stringify(contentTypes) },
    { area: 'localStorage', key: 'content-storage', value: JSON.stringify({ state: { contentItems, projectId: 'default' }, version: 0 }) },
    { end: true, entries: 2 },
  ];
  return Buffer.from(lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
}

const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.99) - 1)] ?? NaN;

test('under npm start, /healthz and a batch-status poll answer within 1 s while a 100 MB entry is migrated', async () => {
  const body = bigDump();
  app = await npmStart('resp', { ADMIN_TOKEN: ADMIN, DUMP_BODY_LIMIT: '200mb' });
  const { base } = app;
  const minted = await fetch(`${base}/v1/admin/tokens`, {
    method: 'POST', headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ userId: 'resp-user' }),
  });
  expect(minted.status).toBe(201);
  const token = ((await minted.json()) as { token: string }).token;
  const auth = { Authorization: `Bearer ${token}` };

  // Time one request; a request that got no answer within 5 s counts as 5 s (a failure either way).
  const timed = async (url: string, headers: Record<string, string> = {}) => {
    const t0 = performance.now();
    try {
      const res = await fetch(url, { headers, signal: AbortSignal.timeout(5000) });
      const json = (await res.json()) as { status?: string };
      return { ms: performance.now() - t0, ok: res.ok, status: json.status };
    } catch {
      return { ms: 5000, ok: false, status: undefined };
    }
  };
  // Probed during the POST too, for the record only: the API validates the dump's bytes itself (not asserted).
  const duringPost: number[] = [];
  let posting = true;
  const postProbe = (async () => {
    while (posting) {
      duringPost.push((await timed(`${base}/healthz`)).ms);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const posted = await fetch(`${base}/v1/dumps`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/x-ndjson' }, body });
  posting = false;
  await postProbe;
  expect(posted.status).toBe(202);
  const { batchId } = (await posted.json()) as { batchId: string };

  const health: number[] = [];
  const poll: number[] = [];
  const seen = new Set<string>();
  let status = '';
  let failed = 0;
  const deadline = Date.now() + 150_000; // generous: a loaded machine (other suites running) is several times slower
  // A few unanswered probes are enough to know (in-process mode): stop there rather than wait 45 s.
  while (!['completed', 'needs_attention', 'failed'].includes(status) && Date.now() < deadline && failed < 3) {
    const [h, b] = await Promise.all([timed(`${base}/healthz`), timed(`${base}/v1/batches/${batchId}`, auth)]);
    health.push(h.ms);
    poll.push(b.ms);
    failed += Number(!h.ok) + Number(!b.ok);
    status = b.status ?? status;
    seen.add(status);
    await new Promise((r) => setTimeout(r, 50));
  }
  // The same poll once the batch is done and the worker idle: what the status query itself costs.
  const idle: number[] = [];
  for (let i = 0; i < 5 && failed === 0; i++) idle.push((await timed(`${base}/v1/batches/${batchId}`, auth)).ms);
  const report = (xs: number[]) => `p99 ${p99(xs).toFixed(0)} ms, max ${Math.max(...xs).toFixed(0)} ms, n=${xs.length}`;
  process.stdout.write(`[responsiveness] ${process.env.START_WORKERS_IN_PROCESS === 'true' ? 'in-process' : 'worker child'}; statuses ${[...seen].join(' → ')}, ${failed} unanswered\n` +
    `  /healthz            ${report(health)}\n  GET /v1/batches/:id ${report(poll)}; idle afterwards ${idle.map((ms) => ms.toFixed(0)).join(', ')} ms\n` +
    `  /healthz during the POST (not asserted) ${report(duringPost)}\n`);
  expect(failed).toBe(0);
  expect(['completed', 'needs_attention']).toContain(status); // the phases ran (and ended) while we polled
  expect(Math.max(...health)).toBeLessThan(BOUND_MS);
  expect(Math.max(...poll)).toBeLessThan(BOUND_MS);
}, 300_000);
