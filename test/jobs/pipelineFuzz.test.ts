/**
 * End-to-end property fuzz of the whole pipeline, through real HTTP, real workers and real Postgres.
 *
 * Random Catalyst-shaped dumps: test/fixtures/catalystDump.ts mutated with the transform fuzzers of
 * test/transforms/fuzz.ts (entries and fields dropped, repeated, garbled; unknown keys; U+0000 and lone
 * surrogates as JSON escapes; numbers JSON.parse cannot keep; invalid dates; ids repeated across websites;
 * items pointing at missing or deduplicated types; sections of websites without metadata; …), sent as §1a
 * or §1b, with or without ?websiteId=. Per dump, for a fresh user whose first (baseline) batch completed:
 *   1. no 5xx; a refused dump is a documented 4xx and leaves no batch; an accepted one ends completed or
 *      needs_attention within 60 s;
 *   2. the report balances: migrated + preserved + rejected = entries = the dump's entry count, pending 0,
 *      every entry not migrated has a reason; every content item is a row or an element reject;
 *   3. exact rollback: the batch rolled back leaves every data table (ALL_TABLES: the layouts' tables and
 *      preserved_entries) exactly as before it, row for row, batch_id included; the baseline's assets answer;
 *   4. determinism: applied again (admin retry) it gives the same rows and per-entry outcomes; and a second
 *      stack that maps content-storage in slices (SLICE_MIN_BYTES 256, SLICE_ELEMENTS 2), sent the same
 *      entries in the other encoding (§1a ↔ §1b), gives the same rows and outcomes (batch_id aside) as the
 *      main stack, which maps it whole; the same dump posted again (plain ↔ gzip) answers the first batch;
 *   5. tenant isolation: lanes of different users run side by side, with the same source ids; a user's rows
 *      never change while others' batches run or roll back (checked again at the end), and the data API never
 *      shows one user another's website;
 *   6. the data API serves what was migrated: websites, content types and items listed and fetched with the
 *      same id and sourceId as the rows; sealed secrets open to the dump's value;
 *   7. a delta on the batch (puts, removals) is verified and balances, and rolling it back restores the
 *      state exactly; a data-API write on a row of the batch makes its rollback answer changed_through_api,
 *      and the forced rollback restores the state before the batch exactly; last, the baseline rolled back
 *      (forced) leaves no data row of the user. One dump in six goes through the generic layout
 *      (?layout=generic; GET /v1/entries instead of the Catalyst resources).
 * Not compared (they record the batch itself, http-api.md §3): migration_batches, migration_phases,
 * dump_entries, row_journal, batch_rows, batch_rejects, batch_assets, entry_slices, audit_log, api_tokens,
 * api_writes, direct_uploads.
 *
 * Bugs this fuzz found (BUG-1 … BUG-7, all fixed; each has a minimal test at the end that failed until its
 * fix): the corpus run names a finding that looks like one of them by its number, and fails on it as on
 * any other.
 *
 * FUZZ_RUNS (default 40) dumps over FUZZ_LANES (default 3) concurrent users; FUZZ_SEED replays a corpus;
 * FUZZ_OUT=<dir> writes each failing dump's body there.
 */
import fc from 'fast-check';
import { mkdirSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { SecretBox } from '../../core/crypto';
import { decodeValue, encodeValue } from '../../format';
import { ALL_TABLES } from '../../jobs/layouts';
import { rowPath } from '../../jobs/phases/supersede';
import { CONTENT_ITEMS, CONTENT_TYPES, WEBSITE_ID, catalystDump } from '../fixtures/catalystDump';
import { anyString } from '../format/arbitraries';
import { fuzz, idbJunk, jsonJunk } from '../transforms/fuzz';
import { lockTable } from '../helpers/locks';
import { startStack, TEST_ADMIN_TOKEN, type Stack } from '../helpers/stack';

// ---------------------------------------------------------------------------------------------------
// Dumps
// ---------------------------------------------------------------------------------------------------

type Kv = { key: string; value: string };
type Rec = { key: unknown; value: unknown };
type Store = { name: string; keyPath: string | null; autoIncrement?: boolean; indexes?: unknown[]; records: Rec[] };
type Db = { name: string; version: number; stores: Store[] };
interface Doc { source: Record<string, unknown>; localStorage: Kv[]; sessionStorage: Kv[]; indexedDB: Db[] }
interface Case { doc: Doc; encoding: 'json' | 'ndjson'; gzip: boolean; websiteId?: string; delta: DeltaLine[]; apiWrite: boolean; generic: boolean }
type DeltaLine = { op?: 'delete'; area: string; key: unknown; value?: unknown; db?: string; dbVersion?: number; store?: string; keyPath?: string | null };

/** Numbers JSON text can spell but JSON.parse cannot keep (or keeps only approximately). */
const RAW_NUMBERS = ['1e999', '-1e999', '123456789012345678901234567890', '1E+2', '-0', '0.1e-400', '1.0', '9007199254740993', '4.9e-325'];
const rawNumber = fc.integer({ min: 0, max: RAW_NUMBERS.length - 1 }).map((i) => `@@N${i}@@`);
const fillNumbers = (text: string) => text.replace(/"@@N(\d+)@@"/g, (_m, i) => RAW_NUMBERS[Number(i)]);

const oddText = fc.oneof(anyString, fc.constantFrom('', '\u0000', '\ud800', '\udfff', 'x\u0000y', '🙂', 'default', 'main', ' ', '%2F/..', '\u202e'));
const lsJunk = fc.oneof({ weight: 6, arbitrary: jsonJunk }, { weight: 1, arbitrary: rawNumber });
const idbJunkPlus = fc.oneof({ weight: 6, arbitrary: idbJunk }, { weight: 1, arbitrary: rawNumber });

/** A Web Storage value: the JSON text of `base` as is or fuzzed, or a few kinds of non-JSON. */
function lsValue(base: unknown): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 5, arbitrary: fc.constant(fillNumbers(JSON.stringify(base))) },
    { weight: 6, arbitrary: fuzz(base, lsJunk).map((v) => fillNumbers(JSON.stringify(v) ?? 'undefined')) },
    { weight: 1, arbitrary: fc.oneof(oddText, fc.constant(JSON.stringify(base).slice(0, 17)), fc.constant('null'), fc.constant('[]')) },
  );
}

function safeEncode(v: unknown, fallback: unknown): unknown {
  try {
    return encodeValue(v);
  } catch {
    return fallback;
  }
}

/** An IndexedDB value: `base` (§1c-encoded) as is, or decoded, fuzzed and encoded again. */
function idbValue(base: unknown): fc.Arbitrary<unknown> {
  const decoded = decodeValue(base);
  return fc.oneof(
    { weight: 5, arbitrary: fc.constant(base) },
    { weight: 5, arbitrary: fuzz(decoded, idbJunkPlus).map((v) => safeEncode(v, base)) },
  );
}

/** Each element of `xs` kept (mostly), changed, dropped, or changed and repeated (the same key twice: the last wins). */
function mutateList<T>(xs: T[], change: (x: T) => fc.Arbitrary<T>): fc.Arbitrary<T[]> {
  if (xs.length === 0) return fc.constant([]);
  return fc.tuple(...xs.map((x) => fc.oneof(
    { weight: 6, arbitrary: fc.constant([x]) },
    { weight: 4, arbitrary: change(x).map((y) => [y]) },
    { weight: 1, arbitrary: fc.constant([] as T[]) },
    { weight: 1, arbitrary: change(x).map((y) => [y, x]) },
  ))).map((parts) => parts.flat());
}

const SECOND_SITE = 'website_1754990000000_secondsit';
/** Ids a website record's key may have: mostly real ones; a few Postgres text cannot hold (BUG-1). */
const websiteKeys = fc.oneof({ weight: 12, arbitrary: fc.constantFrom(WEBSITE_ID, SECOND_SITE, 'default', 'website_missing_000', 'a/b', '🙂', '') }, { weight: 1, arbitrary: fc.constantFrom('w\u0000x', 'w\ud800') });
/** Website ids inside database names (names must be storable text, else the dump is refused: format.md §1e). */
const sectionSites = fc.oneof({ weight: 20, arbitrary: fc.constantFrom(WEBSITE_ID, WEBSITE_ID, SECOND_SITE, 'default', 'website_missing_000', 'a_b', '🙂', '') }, { weight: 1, arbitrary: fc.constant('w\ud800') });

/** More content items: pointing at real, deduplicated-away or missing types, some repeating an id. */
const extraItem = fc.record({
  id: fc.oneof({ weight: 6, arbitrary: fc.constantFrom('1754999000000_extraitem', '1754999000001_extraitem', CONTENT_ITEMS[0].id, CONTENT_ITEMS[1].id, 'x'.repeat(300)) }, { weight: 6, arbitrary: fc.integer({ min: 0, max: 60 }).map((i) => `1754999100000_item${i}`) }, { weight: 1, arbitrary: oddText }, { weight: 1, arbitrary: fc.integer() }),
  contentTypeId: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...CONTENT_TYPES.map((t) => t.id), '1754999000000_extratype', 'missing_type_000', '') }, { weight: 1, arbitrary: oddText }),
  data: fc.oneof(fc.dictionary(fc.oneof(fc.constantFrom('title', 'fullName', 'heroImage', 'author'), anyString), lsJunk, { maxKeys: 3 }), lsJunk),
  createdAt: fc.oneof(fc.constant('2025-08-12T07:30:00.000Z'), lsJunk),
  updatedAt: fc.constant('2025-08-12T07:31:00.000Z'),
}, { requiredKeys: ['id', 'contentTypeId'] });

/** More content types: names that repeat or slugify alike ("Blog Post", "blog-post"), ids that repeat. */
const extraType = fc.record({
  id: fc.oneof({ weight: 6, arbitrary: fc.constantFrom('1754999000000_extratype', CONTENT_TYPES[1].id, '1754999000002_othertype') }, { weight: 1, arbitrary: oddText }),
  name: fc.oneof({ weight: 6, arbitrary: fc.constantFrom('BlogPost', 'Blog Post', 'blog-post', 'BLOG_POST', 'Author', 'Note', 'x'.repeat(300)) }, { weight: 1, arbitrary: oddText }),
  fields: fc.oneof(fc.constant([]), fc.constant([{ id: 'f1', name: 'title', label: 'Title', type: 'text', required: true, order: 0 }, { id: 'f2', name: 'body', label: 'Body', type: 'richText', required: false, order: 1 }])),
  relationships: fc.constant([]),
  createdAt: fc.oneof(fc.constant('2025-08-12T07:40:00.000Z'), lsJunk),
  updatedAt: fc.constant('2025-08-12T07:41:00.000Z'),
});

const extraKv = fc.record({
  key: fc.oneof({ weight: 4, arbitrary: fc.constantFrom('featureFlags', 'preview-device-type', 'dashboard-density', 'catalyst:chat:other', 'catalyst:metadata:other', 'catalyst_backup_before_migration', 'contentTypes', `ai_prompt_${SECOND_SITE}`, 'ai_prompt_website_missing_000', 'catalyst:snapshot:x') }, { weight: 1, arbitrary: oddText }),
  value: fc.oneof(oddText, jsonJunk.map((v) => JSON.stringify(v) ?? 'undefined'), rawNumber.map((n) => fillNumbers(`{"v":"${n}"}`))),
});

function sectionDb(site: string, name: string, value: unknown): Db {
  return { name: `website_${site}_${name}`, version: 1, stores: [{ name: 'data', keyPath: 'id', autoIncrement: false, indexes: [], records: [{ key: 'main', value }] }] };
}

/** Extra IndexedDB databases: a second website, sections (the first website's page ids again) with or without metadata, unknown databases. */
const extraDb: fc.Arbitrary<Db> = fc.oneof(
  fc.tuple(websiteKeys, idbValue({ id: SECOND_SITE, name: 'Second', storageQuota: 1, createdAt: { $t: 'Date', v: '2025-08-13T00:00:00.000Z' }, lastModified: { $t: 'Date', v: null } }))
    .map(([key, value]) => ({ name: 'catalyst_global', version: 1, stores: [{ name: 'websites', keyPath: 'id', records: [{ key, value }] }] })),
  fc.tuple(sectionSites, fc.constantFrom('content', 'assets', 'ai_context', 'config'), idbValue({ id: 'main', pages: [{ id: 'page-home', title: 'Home', slug: 'home', content: 'x' }], images: ['data:image/png;base64,@@@'], history: [{ id: 'ws-me8xk2ab-4f9k2lq', prompt: 'p', response: 'r', timestamp: { $t: 'Date', v: '2025-08-12T07:00:34.600Z' } }] }))
    .map(([site, section, value]) => sectionDb(site, section, value)),
  fc.tuple(fc.constantFrom('legacy_db', 'catalyst_studio', 'catalyst-studio', 'dbé'), idbJunkPlus, idbJunkPlus)
    .map(([name, key, value]) => ({ name, version: 2, stores: [{ name: 'persistence', keyPath: null, records: [{ key: safeEncode(key, 'k'), value: safeEncode(value, null) }] }] })),
);

const parseOr = (text: string) => { try { return JSON.parse(text); } catch { return text; } };

const caseArb: fc.Arbitrary<Case> = fc.constant(null).chain(() => {
  const base = catalystDump() as unknown as Doc;
  const special: Record<string, fc.Arbitrary<string>> = {
    'content-storage': fc.tuple(fc.oneof({ weight: 4, arbitrary: fc.array(extraItem, { maxLength: 6 }) }, { weight: 1, arbitrary: fc.array(extraItem, { minLength: 20, maxLength: 120 }) }), fc.boolean())
      .chain(([extra, bare]) => lsValue(bare ? [...CONTENT_ITEMS, ...extra] : { state: { contentItems: [...CONTENT_ITEMS, ...extra], projectId: 'default' }, version: 0 })),
    contentTypes: fc.array(extraType, { maxLength: 3 }).chain((extra) => lsValue([...CONTENT_TYPES, ...extra])),
  };
  const kvChange = (e: Kv) => (special[e.key] ?? lsValue(parseOr(e.value))).map((value) => ({ key: e.key, value }));
  const localStorage = fc.tuple(mutateList(base.localStorage, kvChange), fc.array(extraKv, { maxLength: 3 })).map(([a, b]) => [...a, ...b]);
  const sessionStorage = fc.tuple(mutateList(base.sessionStorage, kvChange), fc.array(extraKv, { maxLength: 1 })).map(([a, b]) => [...a, ...b]);
  const recordChange = (r: Rec): fc.Arbitrary<Rec> => {
    // Chat values are JSON strings (§2.10): fuzz the JSON inside.
    if (typeof r.value === 'string') return lsValue(JSON.parse(r.value)).map((value) => ({ key: r.key, value }));
    return fc.tuple(fc.oneof({ weight: 8, arbitrary: fc.constant(r.key) }, { weight: 1, arbitrary: websiteKeys }), idbValue(r.value)).map(([key, value]) => ({ key, value }));
  };
  const indexedDB = fc.tuple(
    fc.tuple(...base.indexedDB.map((db) => fc.tuple(...db.stores.map((s) => mutateList(s.records, recordChange)))
      .map((stores) => ({ ...db, stores: db.stores.map((s, i) => ({ ...s, records: stores[i] })) })))),
    fc.array(extraDb, { maxLength: 3 }),
  ).map(([dbs, extra]) => [...dbs, ...extra]);
  const source = fc.record({
    capturedAt: fc.constantFrom('2026-11-28T10:00:00.000Z', '2026-11-28T11:00:00+01:00', '2026-11-28T10:00Z', '+002026-11-28T10:00:00.000Z'),
    app: fc.constantFrom('catalyst-studio', 'other'),
    extra: fc.option(fc.dictionary(fc.constantFrom('a', 'b'), fc.oneof(fc.string(), fc.integer())), { nil: undefined }),
  }, { requiredKeys: ['capturedAt'] });
  // A delta: a few entries changed or added, a few removed (some never there).
  const deltaLine: fc.Arbitrary<DeltaLine> = fc.oneof(
    fc.constantFrom(...base.localStorage).chain((e) => kvChange(e).map((kv) => ({ area: 'localStorage', ...kv }))),
    extraKv.map((kv) => ({ area: 'localStorage', ...kv })),
    fc.constantFrom('project-context', 'content-storage', 'contentTypes', 'cms-provider-configs', 'deployment-history', 'never-there').map((key) => ({ op: 'delete' as const, area: 'localStorage', key })),
    fc.constantFrom(...base.indexedDB.filter((d) => d.stores[0].records.length > 0)).map((db) => ({ op: 'delete' as const, area: 'indexedDB', db: db.name, store: db.stores[0].name, key: db.stores[0].records[0].key })),
    idbValue(base.indexedDB[0].stores[0].records[0].value).map((value) => ({ area: 'indexedDB', db: 'catalyst_global', dbVersion: 1, store: 'websites', keyPath: 'id', key: WEBSITE_ID, value })),
  );
  return fc.record({
    doc: fc.record({ source, localStorage, sessionStorage, indexedDB }),
    encoding: fc.constantFrom('json', 'ndjson') as fc.Arbitrary<'json' | 'ndjson'>,
    websiteId: fc.option(fc.constantFrom(WEBSITE_ID, SECOND_SITE, 'website_hint_only'), { nil: undefined, freq: 5 }),
    gzip: fc.boolean(),
    delta: fc.array(deltaLine, { maxLength: 4 }),
    apiWrite: fc.boolean(),
    generic: fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  }, { requiredKeys: ['doc', 'encoding', 'gzip', 'delta', 'apiWrite', 'generic'] });
});

function entryCount(doc: Doc): number {
  return doc.localStorage.length + doc.sessionStorage.length + doc.indexedDB.reduce((n, db) => n + db.stores.reduce((m, s) => m + s.records.length, 0), 0);
}

function body(c: Case): string {
  const { doc } = c;
  if (c.encoding === 'json') {
    return fillNumbers(JSON.stringify({ format: 'browser-storage-dump', version: 1, source: doc.source, localStorage: doc.localStorage, sessionStorage: doc.sessionStorage, indexedDB: doc.indexedDB, somethingElse: { ignored: true } }));
  }
  const lines: unknown[] = [];
  for (const e of doc.localStorage) lines.push({ area: 'localStorage', ...e });
  for (const e of doc.sessionStorage) lines.push({ area: 'sessionStorage', ...e });
  for (const db of doc.indexedDB) for (const s of db.stores) for (const r of s.records) {
    lines.push({ area: 'indexedDB', db: db.name, dbVersion: db.version, store: s.name, ...(s.keyPath === null ? {} : { keyPath: s.keyPath }), key: r.key, value: r.value });
  }
  return ndjson(doc.source, lines);
}
function ndjson(source: unknown, lines: unknown[]): string {
  const all = [{ format: 'browser-storage-dump', version: 1, source }, ...lines, { end: true, entries: lines.length }];
  return fillNumbers(all.map((l) => JSON.stringify(l)).join('\n') + '\n');
}

// ---------------------------------------------------------------------------------------------------
// Bugs this fuzz found, all fixed: a corpus finding that looks like one is named by its number (a
// regression); each is pinned by a minimal test in 'found bugs' below
// ---------------------------------------------------------------------------------------------------

/** Text Postgres cannot hold, escaped anywhere in the body (an IndexedDB value, or JSON text inside a Web Storage value). */
const UNSTORABLE_ESCAPE = /\\u0000|\\ud[89ab][0-9a-f]{2}(?!\\+ud[c-f])|(?<!\\ud[89ab][0-9a-f]{2})\\+ud[c-f][0-9a-f]{2}/i;
const KNOWN = {
  'BUG-1': 'an id (row sourceId, or a content-type alias in the batch notes) holding U+0000 or a lone surrogate fails the whole batch with SQLSTATE 22P02/22P05 instead of an unstorable_value reject',
  'BUG-2': 'a placeholder website ("Imported content", or a ?websiteId= the dump lacks) is dated with the time the phase ran: re-applying the batch, or another stack, gives another row',
  'BUG-3': 'a delta\'s prune deletes a parent row and, by ON DELETE CASCADE, rows the delta itself just wrote: a website the websites phase creates only when missing (the global "Imported content" / ?websiteId= website, a website known only from sections) is pruned by any delta, even an empty one; a delta removing contentTypes takes the items it kept with it; one removing cms-provider-configs nulls the deployment jobs it kept (ON DELETE SET NULL). needs_attention, data gone',
  'BUG-5': 'a secret holding a lone surrogate is sealed as UTF-8 (U+FFFD in its place): it opens to another string, and two different secrets seal alike',
  'BUG-6': 'after a data-API write on a row a batch re-parented, rolling the batch back names an EARLIER batch as a "later batch" (rollback_conflict); forced, the earlier batch is claimed rolling_back and left so for ever, blocking every later batch of the user',
  'BUG-7': 'a content type folded by name whose id is also another kept type\'s id leaves an alias (notes.contentTypeAliases) that the rollback does not clear: applied again, the kept type is written over the folded-into one',
  'BUG-4': 'a phase that fails for good while a sibling phase starts can leave the batch `running` for ever (the sibling\'s runPhase moves it failed → running on a stale read)',
} as const;
type KnownBug = keyof typeof KNOWN;

/** BUG-4: still `running` after the wait, although one of its phases failed for good. */
const isBug4 = (status: string, err: { phases: { status: string }[] }) => status === 'timeout (still running)' && err.phases.some((p) => p.status === 'failed');
/** BUG-1: the batch failed on unstorable text and the dump holds some. */
const isBug1 = (error: { message?: string } | null, text: string) => /SQLSTATE 22P0[25]/.test(error?.message ?? '') && UNSTORABLE_ESCAPE.test(text);

// ---------------------------------------------------------------------------------------------------
// Stacks and checks
// ---------------------------------------------------------------------------------------------------

let main: Stack;
/** content-storage mapped in slices of two items (jobs/phases/slices.ts), for the differential check. */
let sliced: Stack;
const admin = { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
const as = (token: string) => ({ Authorization: `Bearer ${token}` });
const TERMINAL = ['completed', 'needs_attention', 'failed', 'rolled_back'];
/** The codes format.md §1f and http-api.md §2 document for a refused dump or delta. */
const DOCUMENTED_REFUSALS = /^(dump_[a-z_]+|invalid_query|empty_body|payload_too_large|stale_base|delta_in_progress|base_unavailable|base_not_completed)$/;

class Finding extends Error {
  constructor(message: string, readonly known?: KnownBug) { super(message); }
}
function check(cond: unknown, what: string, detail?: unknown, known?: KnownBug): asserts cond {
  if (!cond) throw new Finding(`${what}${detail === undefined ? '' : `: ${JSON.stringify(detail).slice(0, 3000)}`}`, known);
}

async function waitFor(stack: Stack, batchId: string, statuses: string[], timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await stack.api.deps.ds.query(`SELECT status FROM migration_batches WHERE id = $1`, [batchId]);
    if (row && statuses.includes(row.status)) return row.status;
    if (Date.now() > deadline) return `timeout (still ${row?.status})`;
    await new Promise((r) => setTimeout(r, 30));
  }
}
async function batchError(stack: Stack, batchId: string) {
  const [b] = await stack.api.deps.ds.query(`SELECT status, error FROM migration_batches WHERE id = $1`, [batchId]);
  const phases = await stack.api.deps.ds.query(`SELECT name, status, error FROM migration_phases WHERE batch_id = $1 AND status <> 'completed' ORDER BY position`, [batchId]);
  return { ...b, phases };
}

type Snapshot = Record<string, Map<string, string>>;
/** Every data row of one user, whole (to_jsonb), by table and id. */
async function snapshot(stack: Stack, userId: string): Promise<Snapshot> {
  const out: Snapshot = {};
  for (const t of ALL_TABLES) {
    const rows: { id: string; r: string }[] = await stack.api.deps.ds.query(`SELECT id::text AS id, to_jsonb(t)::text AS r FROM "${t}" t WHERE t.user_id = $1 ORDER BY id`, [userId]);
    out[t] = new Map(rows.map((x) => [x.id, x.r]));
  }
  return out;
}
type Diff = { table: string; id: string; before: string | undefined; after: string | undefined };
function diff(a: Snapshot, b: Snapshot, ignore: (row: Record<string, unknown>) => Record<string, unknown> = (r) => r): Diff[] {
  const out: Diff[] = [];
  const norm = (s: string | undefined) => (s === undefined ? undefined : JSON.stringify(ignore(JSON.parse(s))));
  for (const t of Object.keys(a)) {
    for (const id of new Set([...a[t].keys(), ...b[t].keys()])) {
      if (norm(a[t].get(id)) !== norm(b[t].get(id))) out.push({ table: t, id, before: a[t].get(id), after: b[t].get(id) });
    }
  }
  return out;
}
const withoutBatchId = (r: Record<string, unknown>) => ({ ...r, batch_id: null });
/** BUG-2: the differences are only the dates of websites the migration created itself. */
function onlyPlaceholderDates(d: Diff[]): boolean {
  const strip = (s: string | undefined) => {
    if (!s) return s;
    const r = JSON.parse(s);
    if ((r.metadata as { createdBy?: string } | null)?.createdBy !== 'migration') return s;
    return JSON.stringify({ ...r, created_at: null, updated_at: null, batch_id: null });
  };
  return d.length > 0 && d.every((x) => x.table === 'websites' && x.before !== undefined && x.after !== undefined && strip(x.before) === strip(x.after));
}
const assetUrls = (s: Snapshot) => [...new Set(Object.values(s).flatMap((m) => [...m.values()].flatMap((r) => r.match(/\/v1\/assets\/[0-9a-f]{64}\.[A-Za-z0-9_-]{22}/g) ?? [])))];

async function postDump(stack: Stack, token: string, c: Case, text: string) {
  const type = c.encoding === 'json' ? 'application/json' : 'application/x-ndjson';
  const query = [...(c.websiteId === undefined ? [] : [`websiteId=${encodeURIComponent(c.websiteId)}`]), ...(c.generic ? ['layout=generic'] : [])];
  const url = `/v1/dumps${query.length ? `?${query.join('&')}` : ''}`;
  if (!c.gzip) return stack.http.post(url).set(as(token)).set('Content-Type', type).send(text);
  // supertest would re-encode a Buffer body; fetch sends the bytes as they are (as test/api/gzipDumps.test.ts does).
  const res = await fetch(`${stack.api.url}${url}`, { method: 'POST', headers: { ...as(token), 'Content-Type': type, 'Content-Encoding': 'gzip' }, body: gzipSync(Buffer.from(text)) });
  const answer = await res.text();
  return { status: res.status, body: (() => { try { return JSON.parse(answer); } catch { return answer; } })() };
}

type Report = { totals: { entries: number; migrated: number; preserved: number; rejected: number; pending: number }; balanced: boolean; entries: { seq: number; key: unknown; outcome: string; reason: string | null }[] };
async function checkReport(stack: Stack, token: string, batchId: string, expected: number | null): Promise<string[]> {
  const res = await stack.http.get(`/v1/batches/${batchId}/report?limit=5000`).set(as(token));
  check(res.status === 200, 'GET /v1/batches/:id/report answers 200', { status: res.status, body: res.body });
  const r = res.body as Report;
  const t = r.totals;
  if (expected !== null) check(t.entries === expected, 'the report counts the dump\'s entries', { reported: t.entries, expected });
  check(t.migrated + t.preserved + t.rejected === t.entries && t.pending === 0 && r.balanced, 'the report balances', t);
  check(r.entries.length === t.entries, 'the report lists every entry', { listed: r.entries.length, entries: t.entries });
  const noReason = r.entries.filter((e) => e.outcome !== 'migrated' && !(typeof e.reason === 'string' && e.reason.length > 0));
  check(noReason.length === 0, 'every entry not migrated has a reason', noReason);
  return r.entries.map((e) => `${e.seq}:${e.outcome}:${e.reason ?? ''}`);
}

/** The data API against the rows: the same sets, ids and sourceIds; another user's websites answer 404. */
async function checkDataApi(userId: string, token: string) {
  const q = (sql: string, params: unknown[]) => main.api.deps.ds.query(sql, params);
  const get = (url: string) => main.http.get(url).set(as(token));
  const sites: { id: string; source_id: string }[] = await q(`SELECT id, source_id FROM websites WHERE user_id = $1 ORDER BY id`, [userId]);
  const pairs = (xs: { id: string; sourceId?: string; source_id?: string }[]) => xs.map((x) => `${x.id}|${x.sourceId ?? x.source_id}`).sort();
  const list = await get('/v1/websites');
  check(list.status === 200, 'GET /v1/websites answers 200', { status: list.status, body: list.body });
  check(JSON.stringify(pairs(list.body)) === JSON.stringify(pairs(sites)), 'GET /v1/websites lists exactly the user\'s websites', { served: pairs(list.body), rows: pairs(sites) });
  for (const s of sites) {
    const one = await get(`/v1/websites/${s.id}`);
    check(one.status === 200 && one.body.id === s.id && one.body.sourceId === s.source_id, 'GET /v1/websites/:id serves the row', { status: one.status, body: one.body, row: s });
    let bySource: string | null = null;
    try { bySource = encodeURIComponent(s.source_id); } catch { /* a lone surrogate has no URL form */ }
    if (bySource && s.source_id !== '' && !/^[.]{1,2}$/.test(s.source_id)) {
      const again = await get(`/v1/websites/${bySource}`);
      check(again.status === 200 && again.body.id === s.id, 'GET /v1/websites/:sourceId serves the row', { status: again.status, body: again.body, row: s });
    }
    const types: { id: string; source_id: string }[] = await q(`SELECT id, source_id FROM content_types WHERE website_id = $1 ORDER BY id`, [s.id]);
    const tl = await get(`/v1/websites/${s.id}/content-types`);
    check(tl.status === 200, 'GET …/content-types answers 200', { status: tl.status, body: tl.body });
    check(JSON.stringify(pairs(tl.body)) === JSON.stringify(pairs(types)), 'GET …/content-types lists exactly the website\'s types', { served: pairs(tl.body), rows: pairs(types) });
    for (const t of types) {
      const one = await get(`/v1/websites/${s.id}/content-types/${t.id}`);
      check(one.status === 200 && one.body.sourceId === t.source_id, 'GET …/content-types/:id serves the row', { status: one.status, body: one.body, row: t });
    }
    const items: { id: string; source_id: string }[] = await q(`SELECT id, source_id FROM content_items WHERE website_id = $1 ORDER BY id`, [s.id]);
    const served: { id: string; sourceId: string }[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 50; page++) {
      const il: { status: number; body: { items: { id: string; sourceId: string }[]; nextCursor: string | null } } = await main.http.get(`/v1/websites/${s.id}/content-items`).query({ limit: 200, ...(cursor ? { cursor } : {}) }).set(as(token));
      check(il.status === 200, 'GET …/content-items answers 200', { status: il.status, body: il.body });
      served.push(...il.body.items);
      cursor = il.body.nextCursor;
      if (!cursor) break;
    }
    check(JSON.stringify(pairs(served)) === JSON.stringify(pairs(items)), 'GET …/content-items lists exactly the website\'s items', { served: pairs(served), rows: pairs(items) });
    for (const it of items) {
      const one = await get(`/v1/websites/${s.id}/content-items/${it.id}`);
      check(one.status === 200 && one.body.sourceId === it.source_id, 'GET …/content-items/:id serves the row', { status: one.status, body: one.body, row: it });
    }
  }
  const others: { id: string }[] = await q(`SELECT id FROM websites WHERE user_id <> $1 ORDER BY random() LIMIT 3`, [userId]);
  for (const o of others) {
    check((await get(`/v1/websites/${o.id}`)).status === 404, 'another user\'s website answers 404', { id: o.id });
    check((await get(`/v1/websites/${o.id}/content-types`)).status === 404, 'another user\'s website\'s content types answer 404', { id: o.id });
  }
}

/** The generic layout (format.md §4): GET /v1/entries lists exactly the user's browser_entries rows. */
async function checkEntriesApi(userId: string, token: string) {
  const rows: { id: string; area: string; key_text: string }[] = await main.api.deps.ds.query(`SELECT id, area, key_text FROM browser_entries WHERE user_id = $1 ORDER BY id`, [userId]);
  const served: { id: string }[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 50; page++) {
    const res: { status: number; body: { items: { id: string }[]; nextCursor: string | null } } = await main.http.get('/v1/entries').query({ limit: 200, ...(cursor ? { cursor } : {}) }).set(as(token));
    check(res.status === 200, 'GET /v1/entries answers 200', { status: res.status, body: res.body });
    served.push(...res.body.items);
    cursor = res.body.nextCursor;
    if (!cursor) break;
  }
  check(JSON.stringify(served.map((e) => e.id).sort()) === JSON.stringify(rows.map((r) => r.id).sort()), 'GET /v1/entries lists exactly the user\'s entries', { served: served.length, rows: rows.length });
}

/** Element accounting end to end: each content item of the winning content-storage is a row (the batch's) or an element reject. */
async function checkItemsAccounted(userId: string, batchId: string, c: Case) {
  const q = (sql: string, params: unknown[]) => main.api.deps.ds.query(sql, params);
  const entries = c.doc.localStorage.filter((e) => e.key === 'content-storage');
  if (entries.length === 0) return;
  const v = parseOr(fillNumbers(entries[entries.length - 1].value));
  const list = Array.isArray(v) ? v : (v as { state?: { contentItems?: unknown } } | null)?.state?.contentItems;
  if (!Array.isArray(list)) return;
  const [staged] = await q(`SELECT seq, outcome FROM dump_entries WHERE batch_id = $1 AND area = 'localStorage' AND entry_key = $2 ORDER BY seq DESC LIMIT 1`, [batchId, JSON.stringify('content-storage')]);
  if (!staged || staged.outcome !== 'migrated') return;
  // The rows the batch meant to have (an unchanged row keeps the batch that last wrote it; batch_rows says which).
  const rows: { source_id: string }[] = await q(`SELECT i.source_id FROM batch_rows b JOIN content_items i ON i.id = b.row_id WHERE b.batch_id = $1 AND b.table_name = 'content_items' AND i.user_id = $2`, [batchId, userId]);
  const have = new Set(rows.map((r) => r.source_id));
  const rejects: { path: string }[] = await q(`SELECT path FROM batch_rejects WHERE batch_id = $1 AND entry_seq = $2`, [batchId, staged.seq]);
  const prefix = Array.isArray(v) ? '' : 'state.contentItems';
  const missing = list.map((el, i) => ({ el, i })).filter(({ el, i }) => {
    const p = `${prefix}[${i}]`;
    const id = typeof el === 'object' && el !== null ? (el as { id?: unknown }).id : undefined;
    // A reject names the element's path, or the row it would have made (`content_items:<id>`, supersede.ts rowPath).
    // Text Postgres cannot hold is written escaped (\u0000, \ud800) in report text.
    return !(typeof id === 'string' && (have.has(id) || rejects.some((r) => r.path === rowPath('content_items', id) || r.path === escapeUnstorable(rowPath('content_items', id)))))
      && !rejects.some((r) => r.path === p || r.path.startsWith(`${p}.`) || r.path.startsWith(`${p}[`));
  });
  check(missing.length === 0, 'every content item of the dump is a row or an element reject', missing.map((m) => m.i));
}

/** U+0000 and lone surrogates written as \u escapes (how report text holds them). */
const escapeUnstorable = (t: string) => t.replaceAll('\u0000', '\\u0000').replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);

/** Sealed secrets (top-level config fields) open to exactly the dump's value. */
async function checkSecrets(userId: string, batchId: string, c: Case) {
  const entries = c.doc.localStorage.filter((e) => e.key === 'cms-provider-configs');
  if (entries.length === 0) return;
  const v = parseOr(entries[entries.length - 1].value) as Record<string, { config?: Record<string, unknown> }>;
  if (typeof v !== 'object' || v === null) return;
  const box = new SecretBox(main.config.encryptionKeys, main.config.ENCRYPTION_KEY_ID);
  const rows: { id: string; provider: string; config: Record<string, unknown> }[] = await main.api.deps.ds.query(
    `SELECT d.id, d.provider, d.config FROM batch_rows b JOIN deployment_configs d ON d.id = b.row_id WHERE b.batch_id = $1 AND b.table_name = 'deployment_configs' AND d.user_id = $2`, [batchId, userId]);
  for (const row of rows) {
    const src = Object.hasOwn(v, row.provider) ? v[row.provider]?.config : undefined;
    if (typeof src !== 'object' || src === null) continue;
    for (const [k, sealed] of Object.entries(row.config)) {
      if (!SecretBox.isSealed(sealed) || !Object.hasOwn(src, k)) continue;
      const want = typeof src[k] === 'string' ? src[k] : JSON.stringify(src[k]);
      const opened = box.open(sealed, `${row.id}:${k}`);
      if (opened !== want && Buffer.from(want as string).toString() === opened) throw new Finding(`BUG-5: ${row.provider}.${k}`, 'BUG-5');
      check(opened === want, 'a sealed secret opens to the dump\'s value', { provider: row.provider, field: k });
    }
  }
}

interface Outcome { refused?: string; status?: string; findings: string[]; known: KnownBug[]; steps: string[]; ms: number }
/** Each user's rows when its lane left it: no other lane's batch may change them later. */
const finalState = new Map<string, Snapshot>();

async function runCase(lane: number, n: number, c: Case, differential: boolean): Promise<Outcome> {
  const started = Date.now();
  const userId = `fuzz-${lane}-${n}`;
  const out: Outcome = { findings: [], known: [], steps: [], ms: 0 };
  const text = body(c);
  const q = (sql: string, params: unknown[] = []) => main.api.deps.ds.query(sql, params);
  try {
    const token = await main.mintToken(userId);
    const slicedToken = differential ? await sliced.mintToken(userId) : '';
    // The baseline: a first, ordinary batch of the same user (on both stacks).
    const baseline = async (stack: Stack, t: string) => {
      const b0 = await stack.http.post('/v1/dumps').set(as(t)).set('Content-Type', 'application/json').send(JSON.stringify(catalystDump()));
      check(b0.status === 202, 'the baseline dump is accepted', b0.body);
      check(await waitFor(stack, b0.body.batchId, TERMINAL) === 'completed', 'the baseline batch completes', await batchError(stack, b0.body.batchId));
      return b0.body.batchId as string;
    };
    const [baselineId] = await Promise.all([baseline(main, token), differential ? baseline(sliced, slicedToken) : null]);
    const before = await snapshot(main, userId);

    const res = await postDump(main, token, c, text);
    check(res.status < 500, 'POST /v1/dumps answers without a 5xx', { status: res.status, body: res.body });
    if (res.status >= 400) {
      out.refused = `${res.status} ${res.body?.error?.code}`;
      check(DOCUMENTED_REFUSALS.test(String(res.body?.error?.code)), 'a refused dump names a documented code', res.body);
      const [{ n: batches }] = await q(`SELECT count(*)::int AS n FROM migration_batches WHERE user_id = $1`, [userId]);
      check(batches === 1, 'a refused dump leaves no batch', { batches });
      return out;
    }
    check(res.status === 202, 'an accepted dump answers 202', { status: res.status, body: res.body });
    const id = res.body.batchId as string;
    // The same dump on the sliced stack, meanwhile.
    // The other encoding (§1a ↔ §1b) of the same entries, on the sliced stack: same rows, same outcomes.
    const other: Case = { ...c, encoding: c.encoding === 'json' ? 'ndjson' : 'json' };
    const slicedRun = differential ? (async () => {
      const r = await postDump(sliced, slicedToken, other, body(other));
      check(r.status === 202, 'the sliced stack accepts the dump too', { status: r.status, body: r.body });
      return { id: r.body.batchId as string, status: await waitFor(sliced, r.body.batchId, TERMINAL) };
    })() : null;
    slicedRun?.catch(() => undefined);

    const status = await waitFor(main, id, TERMINAL);
    out.status = status;
    const err = await batchError(main, id);
    if (isBug4(status, err)) throw new Finding(`BUG-4: ${JSON.stringify(err)}`, 'BUG-4');
    if (status === 'failed' && isBug1(err.error, text)) throw new Finding(`BUG-1: ${JSON.stringify(err.error)}`, 'BUG-1');
    check(status === 'completed' || status === 'needs_attention', 'the batch ends completed or needs_attention', { status, ...err });
    const st = await main.http.get(`/v1/batches/${id}`).set(as(token));
    check(st.status === 200 && st.body.status === status, 'GET /v1/batches/:id says the same', { status: st.status, body: st.body?.status });
    const outcomes1 = await checkReport(main, token, id, entryCount(c.doc));
    const dup = await postDump(main, token, { ...c, gzip: !c.gzip }, text);
    check(dup.status === 200 && dup.body.batchId === id && dup.body.duplicate === true, 'the same dump posted again (plain or gzip) answers the first batch', { status: dup.status, body: dup.body });
    if (c.generic) await checkEntriesApi(userId, token);
    else {
      await checkItemsAccounted(userId, id, c);
      await checkSecrets(userId, id, c);
    }
    await checkDataApi(userId, token);
    const after = await snapshot(main, userId);

    if (slicedRun) {
      const s = await slicedRun;
      check(s.status === status, 'the sliced stack ends the batch (other encoding) as the main stack', { main: status, sliced: s.status, error: await batchError(sliced, s.id) });
      const outcomesS = await checkReport(sliced, slicedToken, s.id, entryCount(c.doc));
      check(JSON.stringify(outcomesS) === JSON.stringify(outcomes1), 'in the other encoding and mapped in slices, every entry has the same outcome and reason', outcomes1.map((o, i) => [o, outcomesS[i]]).filter(([a, b]) => a !== b));
      out.steps.push('sliced');
      const d = diff(after, await snapshot(sliced, userId), withoutBatchId);
      if (onlyPlaceholderDates(d)) out.known.push('BUG-2');
      else check(d.length === 0, 'in the other encoding and mapped in slices, the rows are the same', d.slice(0, 4));
    }

    // Exact rollback.
    const rb = await main.http.post(`/v1/admin/batches/${id}/rollback`).set(admin).send({});
    check(rb.status === 202, 'the rollback is accepted', { status: rb.status, body: rb.body });
    const rolled = await waitFor(main, id, ['rolled_back', 'failed', 'completed', 'needs_attention']);
    check(rolled === 'rolled_back', 'the batch rolls back', { rolled, ...(await batchError(main, id)) });
    const restored = await snapshot(main, userId);
    const changed = diff(before, restored);
    check(changed.length === 0, 'rollback restores every data row exactly', changed.slice(0, 4));
    for (const url of assetUrls(before)) check((await main.http.get(url)).status === 200, 'the baseline\'s assets still answer after the rollback', { url });

    // Determinism: the same batch applied again.
    const again = await main.http.post(`/v1/admin/batches/${id}/retry`).set(admin).send({});
    check(again.status === 202, 'the rolled-back batch can be applied again', { status: again.status, body: again.body });
    const status2 = await waitFor(main, id, ['completed', 'needs_attention', 'failed']);
    out.steps.push(c.generic ? 'reapplied (generic)' : 'reapplied');
    check(status2 === status, 'the second run ends as the first', { first: status, second: status2, ...(await batchError(main, id)) });
    const outcomes2 = await checkReport(main, token, id, entryCount(c.doc));
    check(JSON.stringify(outcomes1) === JSON.stringify(outcomes2), 'the second run gives every entry the same outcome and reason', outcomes1.map((o, i) => [o, outcomes2[i]]).filter(([a, b]) => a !== b));
    const after2 = await snapshot(main, userId);
    const moved = diff(after, after2);
    const [{ aliases }] = await q(`SELECT notes->'contentTypeAliases' AS aliases FROM migration_batches WHERE id = $1`, [id]);
    const typeIds = new Set([...after.content_types.values()].map((r) => JSON.parse(r).source_id));
    if (onlyPlaceholderDates(moved)) out.known.push('BUG-2');
    else if (moved.some((m) => m.table === 'content_types') && Object.keys(aliases ?? {}).some((k) => typeIds.has(k))) throw new Finding(`BUG-7: ${JSON.stringify(aliases)}`, 'BUG-7');
    else check(moved.length === 0, 'the second run writes the same rows', moved.slice(0, 4));
    for (const url of assetUrls(after2)) check((await main.http.get(url)).status === 200, 'the batch\'s assets answer', { url });

    // A delta on it, then rolled back.
    if (status2 === 'completed') {
      const dres = await main.http.post(`/v1/batches/${id}/delta`).set(as(token)).set('Content-Type', 'application/x-ndjson').send(ndjson({ capturedAt: '2026-11-29T10:00:00.000Z' }, c.delta));
      check(dres.status < 500, 'POST …/delta answers without a 5xx', { status: dres.status, body: dres.body });
      if (dres.status >= 400) {
        out.steps.push(`delta refused: ${dres.body?.error?.code}`);
        check(DOCUMENTED_REFUSALS.test(String(dres.body?.error?.code)), 'a refused delta names a documented code', dres.body);
      } else {
        const did = dres.body.batchId as string;
        const ds = await waitFor(main, did, TERMINAL);
        const derr = await batchError(main, did);
        if (isBug4(ds, derr)) throw new Finding(`BUG-4 (delta): ${JSON.stringify(derr)}`, 'BUG-4');
        // BUG-3: prune deleted a parent (a website, a content type) and, by cascade, rows the delta itself wrote.
        const [{ verification: dv }] = await q(`SELECT verification FROM migration_batches WHERE id = $1`, [did]);
        const bug3 = ds === 'needs_attention' && (dv?.differences ?? []).length > 0 && dv.differences.every((x: { problem: string }) => x.problem === 'missing' || x.problem === 'changed')
          && ['websites', 'content_types', 'deployment_configs'].some((t) => (dv.changes?.[t]?.deleted ?? 0) > 0);
        if (bug3) out.known.push('BUG-3');
        // cutover.md: a delta nobody interferes with is verified (completed); needs_attention is for rows changed behind its back.
        else check(ds === 'completed', 'the delta ends completed', { status: ds, ...derr, verification: (await q(`SELECT verification FROM migration_batches WHERE id = $1`, [did]))[0].verification });
        await checkReport(main, token, did, null);
        await checkDataApi(userId, token);
        const drb = await main.http.post(`/v1/admin/batches/${did}/rollback`).set(admin).send({});
        check(drb.status === 202, 'the delta\'s rollback is accepted', { status: drb.status, body: drb.body });
        check(await waitFor(main, did, ['rolled_back', 'failed', 'completed', 'needs_attention']) === 'rolled_back', 'the delta rolls back', await batchError(main, did));
        const back = diff(after2, await snapshot(main, userId));
        check(back.length === 0, 'the delta\'s rollback restores every data row exactly', back.slice(0, 4));
        const [v] = ds === 'needs_attention' ? await q(`SELECT verification FROM migration_batches WHERE id = $1`, [did]) : [null];
        out.steps.push(`delta:${ds}${v ? ` ${JSON.stringify(v.verification?.problems ?? v.verification).slice(0, 300)}` : ''}`);
        if (v && process.env.FUZZ_OUT) {
          mkdirSync(process.env.FUZZ_OUT, { recursive: true });
          writeFileSync(join(process.env.FUZZ_OUT, `${userId}.delta-verification.json`), JSON.stringify({ verification: v.verification, delta: ndjson({ capturedAt: '2026-11-29T10:00:00.000Z' }, c.delta) }, null, 1));
          writeFileSync(join(process.env.FUZZ_OUT, `${userId}.base.${c.encoding}`), text);
        }
      }
    }
    // A data-API write on a row of the batch: a rollback is refused (409 changed_through_api); forced, it
    // returns every data row to its state before the batch (data-api.md, "Writes stay accountable").
    let last = after2;
    if (c.apiWrite && !c.generic) {
      const [site] = await q(`SELECT id FROM websites WHERE user_id = $1 AND batch_id = $2 ORDER BY id LIMIT 1`, [userId, id]);
      const [item] = await q(`SELECT id, website_id FROM content_items WHERE user_id = $1 AND batch_id = $2 ORDER BY id LIMIT 1`, [userId, id]);
      const write = site
        ? await main.http.patch(`/v1/websites/${site.id}`).set(as(token)).send({ name: 'Renamed through the API' })
        : item ? await main.http.patch(`/v1/websites/${item.website_id}/content-items/${item.id}`).set(as(token)).send({ data: { edited: true } }) : null;
      if (write) {
        check(write.status === 200, 'a data-API write on a migrated row succeeds', { status: write.status, body: write.body });
        const refused = await main.http.post(`/v1/admin/batches/${id}/rollback`).set(admin).send({});
        const later: string[] = refused.body.error?.details?.laterBatches ?? [];
        if (refused.status === 409 && refused.body.error?.code === 'rollback_conflict' && later.length > 0
          && (await q(`SELECT count(*)::int AS n FROM migration_batches WHERE id = ANY($1::uuid[]) AND created_at < (SELECT created_at FROM migration_batches WHERE id = $2)`, [later, id]))[0].n > 0) {
          throw new Finding(`BUG-6: ${JSON.stringify(refused.body.error)}`, 'BUG-6');
        }
        check(refused.status === 409 && refused.body.error?.code === 'changed_through_api', 'a rollback over a data-API write is refused with changed_through_api', { status: refused.status, body: refused.body });
        const forced = await main.http.post(`/v1/admin/batches/${id}/rollback`).set(admin).send({ force: true });
        check(forced.status === 202, 'the forced rollback is accepted', { status: forced.status, body: forced.body });
        check(await waitFor(main, id, ['rolled_back', 'failed', 'completed', 'needs_attention']) === 'rolled_back', 'the forced rollback ends rolled_back', await batchError(main, id));
        const back = diff(before, await snapshot(main, userId));
        check(back.length === 0, 'a forced rollback over a data-API write restores every data row exactly', back.slice(0, 4));
        last = before;
        out.steps.push('apiWrite');
      }
    }
    // Last, the baseline rolled back, forced (the fuzzed batch, if still applied, goes first): nothing of the
    // user is left in any data table.
    // A generic-layout batch writes other tables, so the baseline's plan does not take it along: first itself.
    if (c.generic && (await q(`SELECT status FROM migration_batches WHERE id = $1`, [id]))[0].status !== 'rolled_back') {
      check((await main.http.post(`/v1/admin/batches/${id}/rollback`).set(admin).send({})).status === 202, 'the generic batch\'s rollback is accepted');
      check(await waitFor(main, id, ['rolled_back', 'failed', 'completed', 'needs_attention']) === 'rolled_back', 'the generic batch rolls back', await batchError(main, id));
    }
    const all = await main.http.post(`/v1/admin/batches/${baselineId}/rollback`).set(admin).send({ force: true });
    check(all.status === 202, 'the forced rollback of the baseline is accepted', { status: all.status, body: all.body });
    for (const b of all.body.batches as string[]) check(await waitFor(main, b, ['rolled_back', 'failed', 'completed', 'needs_attention']) === 'rolled_back', 'every batch of the forced plan rolls back', { batch: b, ...(await batchError(main, b)) });
    const empty = await snapshot(main, userId);
    const left = Object.entries(empty).filter(([, m]) => m.size > 0).map(([t, m]) => `${t}: ${m.size}`);
    check(left.length === 0, 'rolling back every batch of the user leaves no data row', left);
    last = empty;
    out.steps.push(`rolled back all (${(all.body.batches as string[]).length})`);
    finalState.set(userId, last);
  } catch (err) {
    if (err instanceof Finding && err.known) out.known.push(err.known);
    else out.findings.push(err instanceof Finding ? err.message : `error in the harness or the product: ${(err as Error).stack}`);
  } finally {
    out.ms = Date.now() - started;
    if (process.env.FUZZ_OUT && (out.findings.length || out.known.length)) {
      mkdirSync(process.env.FUZZ_OUT, { recursive: true });
      writeFileSync(join(process.env.FUZZ_OUT, `${userId}.${c.encoding}`), text);
      writeFileSync(join(process.env.FUZZ_OUT, `${userId}.txt`), `websiteId=${c.websiteId ?? ''}\ndelta=${ndjson({ capturedAt: '2026-11-29T10:00:00.000Z' }, c.delta)}\nknown=${out.known}\n${out.findings.join('\n')}\n`);
    }
  }
  return out;
}

const CONFIG = { JOB_ATTEMPTS: '2', RATE_LIMIT_PER_TOKEN: '0', RATE_LIMIT_PER_IP: '0', RATE_LIMIT_PER_ADMIN: '0' };
beforeAll(async () => {
  [main, sliced] = await Promise.all([startStack({ config: CONFIG }), startStack({ config: { ...CONFIG, SLICE_MIN_BYTES: '256', SLICE_ELEMENTS: '2' } })]);
}, 60_000);
afterAll(() => Promise.all([main?.close(), sliced?.close()]));

const RUNS = Number(process.env.FUZZ_RUNS ?? 40);
const LANES = Number(process.env.FUZZ_LANES ?? 3);
const SEED = Number(process.env.FUZZ_SEED ?? 20261128);

test(`${RUNS} fuzzed Catalyst dumps through the real stack, ${LANES} users at a time`, async () => {
  const cases = fc.sample(caseArb, { numRuns: RUNS, seed: SEED });
  const results: { user: string; c: Case; out: Outcome }[] = [];
  await Promise.all(Array.from({ length: LANES }, async (_, lane) => {
    for (let n = lane; n < cases.length; n += LANES) results.push({ user: `fuzz-${lane}-${n}`, c: cases[n], out: await runCase(lane, n, cases[n], n % 2 === 0) });
  }));
  // Isolation, again at the end: every user's rows are as its lane left them, whatever ran after.
  for (const [userId, snap] of finalState) {
    const later = diff(snap, await snapshot(main, userId));
    if (later.length) results.push({ user: userId, c: cases[0], out: { findings: [`rows changed after its lane finished: ${JSON.stringify(later.slice(0, 3))}`], known: [], steps: [], ms: 0 } });
  }
  const known = results.flatMap((r) => r.out.known.map((k) => `${k} (${r.user})`));
  console.log(JSON.stringify({
    dumps: cases.length,
    refused: results.filter((r) => r.out.refused).map((r) => r.out.refused),
    statuses: results.reduce<Record<string, number>>((m, r) => ({ ...m, [r.out.status ?? (r.out.refused ? 'refused' : 'error')]: (m[r.out.status ?? (r.out.refused ? 'refused' : 'error')] ?? 0) + 1 }), {}),
    knownBugs: known.map((k) => `${k}: ${KNOWN[k.slice(0, 5) as KnownBug]}`),
    steps: results.flatMap((r) => r.out.steps).reduce<Record<string, number>>((m, x) => ({ ...m, [x]: (m[x] ?? 0) + 1 }), {}),
    slowestMs: Math.max(...results.map((r) => r.out.ms)),
  }, null, 1));
  const failed = results.filter((r) => r.out.findings.length).map((r) => ({ user: r.user, encoding: r.c.encoding, websiteId: r.c.websiteId, findings: r.out.findings }));
  expect(failed).toEqual([]);
  expect(known).toEqual([]);
}, 900_000);

// ---------------------------------------------------------------------------------------------------
// Found bugs: minimal reproductions. Each asserts the documented behaviour and failed until its fix.
// ---------------------------------------------------------------------------------------------------

const DATES = { createdAt: '2025-08-12T07:00:00.000Z', updatedAt: '2025-08-12T07:00:00.000Z' };
const HEADER = { capturedAt: '2026-11-28T10:00:00.000Z' };

async function migrateAlone(userId: string, text: string, query = '') {
  const token = await main.mintToken(userId);
  const res = await main.http.post(`/v1/dumps${query}`).set(as(token)).set('Content-Type', 'application/x-ndjson').send(text);
  expect(res.status).toBe(202);
  const status = await waitFor(main, res.body.batchId, TERMINAL, 30_000);
  return { token, id: res.body.batchId as string, status, error: (await batchError(main, res.body.batchId)).error };
}

describe('found bugs', () => {
  // BUG-1. format.md §1e: "a row that would need [U+0000 or a lone surrogate] in a text column is refused with
  // a reason, and its entry stays raw". The write path does refuse the row (unstorable_value), but the element
  // reject's path is `<table>:<sourceId>` (jobs/phases/supersede.ts rowPath) and goes into batch_rejects.path
  // through json_to_recordset (jobs/phases/applyResults.ts insertRejects): Postgres refuses the JSON text
  // (22P02 for a lone surrogate, 22P05 for U+0000) and the phase fails for good: the batch is `failed`.
  // Likewise a content type folded into another by name records its id unescaped in the batch notes
  // (contentTypeAliases, mergeNotes: 22P02). Any phase: content types, items, websites, pages, AI history,
  // chat sessions, AI prompts, deployment configs and history.
  test.each([
    ['a content item id', [{ area: 'localStorage', key: 'content-storage', value: JSON.stringify([{ id: '\ud800', contentTypeId: 't', data: {}, ...DATES }]) }]],
    ['a content item id (U+0000)', [{ area: 'localStorage', key: 'content-storage', value: JSON.stringify([{ id: '\u0000', contentTypeId: 't', data: {}, ...DATES }]) }]],
    ['a content type id', [{ area: 'localStorage', key: 'contentTypes', value: JSON.stringify([{ id: '\ud800', name: 'T', fields: [], relationships: [], ...DATES }]) }]],
    ['a content type id folded into another by name', [{ area: 'localStorage', key: 'contentTypes', value: JSON.stringify([{ id: 't1', name: 'T', fields: [{ id: 'f', name: 'a', label: 'A', type: 'text', required: false, order: 0 }], relationships: [], ...DATES }, { id: 't\ud800', name: 'T', fields: [], relationships: [], ...DATES }]) }]],
    ['a website key', [{ area: 'indexedDB', db: 'catalyst_global', dbVersion: 1, store: 'websites', keyPath: 'id', key: 'w\ud800', value: { id: 'w\ud800', name: 'n' } }]],
    ['a deployment job id', [{ area: 'localStorage', key: 'deployment-history', value: JSON.stringify([{ id: '\ud800', providerId: 'x', status: 'completed', startedAt: '2025-08-12T08:00:00.000Z' }]) }]],
    ['an ai_prompt website id', [{ area: 'sessionStorage', key: 'ai_prompt_\ud800', value: JSON.stringify({ original: 'x', processed: {}, timestamp: 1754981234999 }) }]],
  ])('(BUG-1) %s holding text Postgres cannot store is a reject, not a failed batch', async (_what, lines) => {
    const { status, error } = await migrateAlone(`bug1-${Math.random().toString(36).slice(2)}`, ndjson(HEADER, lines));
    expect({ status, error }).toMatchObject({ status: expect.stringMatching(/^(completed|needs_attention)$/) });
  });

  // BUG-2. catalyst-layout.md §8.2: "Where a NOT NULL timestamp has no source at all, the sentinel
  // 1970-01-01T00:00:00Z means 'unknown' (never the migration time)"; ARCHITECTURE.md: re-running a dump
  // leaves unchanged rows unchanged. jobs/phases/catalyst/websites.ts chooseGlobalWebsite dates the website
  // it creates (placeholder(): "Imported content", or a ?websiteId= the user does not have) with `new Date()`,
  // so the same batch rolled back and applied again (or the same dump on another stack) writes another row.
  test('(BUG-2) a batch that creates "Imported content" writes the same row when applied again', async () => {
    const { id, status } = await migrateAlone('bug2', ndjson(HEADER, [{ area: 'localStorage', key: 'contentTypes', value: JSON.stringify([{ id: 't1', name: 'T', fields: [], relationships: [], ...DATES }]) }]));
    expect(status).toBe('completed');
    const first = await snapshot(main, 'bug2');
    await main.http.post(`/v1/admin/batches/${id}/rollback`).set(admin).send({}).expect(202);
    expect(await waitFor(main, id, ['rolled_back', 'failed'])).toBe('rolled_back');
    await main.http.post(`/v1/admin/batches/${id}/retry`).set(admin).send({}).expect(202);
    expect(await waitFor(main, id, ['completed', 'needs_attention', 'failed'])).toBe('completed');
    expect(diff(first, await snapshot(main, 'bug2'))).toEqual([]);
  });

  // BUG-3. cutover.md: the new state is the base's staged entries with the delta applied, and prune deletes
  // "the rows the previous state had and the new one does not"; an empty delta writes nothing
  // (test/jobs/delta.test.ts). jobs/phases/prune.ts builds that set as base batch_rows minus the delta's
  // batch_rows, then closes it over ON DELETE CASCADE — without sparing rows the delta itself just wrote.
  //  (a) jobs/phases/catalyst/websites.ts writes a website only when it is missing: chooseGlobalWebsite's
  //      placeholder ("Imported content", or the ?websiteId= website: `if (exists) create = null`) and
  //      websitesForOrphanSections' website known only from its section databases. The base's run wrote it
  //      (batch_rows), the delta's run finds it and writes nothing, so prune deletes it, and with it every
  //      content type, item, deployment config/job or asset attached to it;
  //  (b) a delta that removes `contentTypes` but keeps `content-storage`: contentItems writes the items (their
  //      types still exist at that moment) and reports them migrated, then prune deletes the types and the items
  //      with them;
  //  (c) likewise `cms-provider-configs` removed, `deployment-history` kept: prune deletes the configs and
  //      ON DELETE SET NULL changes the jobs the delta just wrote (deployment_config_id), so verify finds them changed.
  // Each delta ends needs_attention ("N row(s) written by this batch are missing") with the data gone from
  // the data API; the report still says migrated.
  const WEBSITE_W1 = { area: 'indexedDB', db: 'catalyst_global', dbVersion: 1, store: 'websites', keyPath: 'id', key: 'w1', value: { id: 'w1', name: 'Site', createdAt: { $t: 'Date', v: '2025-08-12T07:00:00.000Z' }, lastModified: { $t: 'Date', v: '2025-08-12T07:00:00.000Z' } } };
  const TYPES = { area: 'localStorage', key: 'contentTypes', value: JSON.stringify([{ id: 't1', name: 'T', fields: [], relationships: [], ...DATES }]) };
  const ITEMS = { area: 'localStorage', key: 'content-storage', value: JSON.stringify([{ id: 'i1', contentTypeId: 't1', data: { a: 1 }, ...DATES }]) };
  test.each([
    ['(a) an empty delta, the global website "Imported content" created for the base', [TYPES], '', [], true],
    ['(a) an empty delta, the global website created for ?websiteId=', [TYPES], '?websiteId=w_hint', [], true],
    ['(a) an empty delta, a website known only from its sections', [WEBSITE_W1, { area: 'indexedDB', db: 'website_w2_assets', dbVersion: 1, store: 'data', keyPath: 'id', key: 'main', value: { id: 'main', images: ['https://x/y.png'] } }], '', [], true],
    ['(b) a delta removing contentTypes, content-storage kept', [WEBSITE_W1, TYPES, ITEMS], '', [{ op: 'delete', area: 'localStorage', key: 'contentTypes' }], false],
    ['(c) a delta removing cms-provider-configs, deployment-history kept (ON DELETE SET NULL)', [WEBSITE_W1,
      { area: 'localStorage', key: 'cms-provider-configs', value: JSON.stringify({ contentful: { config: { workspace: 'w' } } }) },
      { area: 'localStorage', key: 'deployment-history', value: JSON.stringify([{ id: 'deploy-1', providerId: 'contentful', status: 'completed', startedAt: '2025-08-12T08:00:00.000Z' }]) }],
    '', [{ op: 'delete', area: 'localStorage', key: 'cms-provider-configs' }], false],
  ])('(BUG-3) %s: the delta is verified (completed)', async (what, base, query, lines, unchanged) => {
    const userId = `bug3-${Math.random().toString(36).slice(2)}`;
    const { token, id, status } = await migrateAlone(userId, ndjson(HEADER, base), query as string);
    expect(status).toBe('completed');
    const before = await snapshot(main, userId);
    const res = await main.http.post(`/v1/batches/${id}/delta`).set(as(token)).set('Content-Type', 'application/x-ndjson').send(ndjson({ capturedAt: '2026-11-29T10:00:00.000Z' }, lines as unknown[]));
    expect(res.status).toBe(202);
    const delta = { status: await waitFor(main, res.body.batchId, TERMINAL, 30_000), ...(unchanged ? { rows: diff(before, await snapshot(main, userId)) } : {}) };
    expect(delta).toEqual({ status: 'completed', ...(unchanged ? { rows: [] } : {}) });
  });

  // BUG-4. jobs/runPhase.ts runPhase read the batch, checked `batch.status === 'failed'` on that read, then
  // moved it to `running` with a compare-and-set whose `from` included 'failed' (lifecycle.ts allowed failed →
  // running "for a retry"). A phase that started (woken by the phase it needs) just as a sibling failed for
  // good read `running`, and its write landed after markPhaseFailed's (and the worker's `failed` listener's):
  // the batch went back to `running` with error NULL and finished_at set, the failed phase's parent flow job
  // stayed waiting-children, and nothing moved it again: no terminal status, no rollback (ACTIVE), and every
  // later batch of the user waited behind it. Seen in ~5% of batches whose deploymentConfigs phase failed
  // for good (BUG-1's provider id "\ud800") while contentTypes completed and woke contentItems (one log:
  // contentTypes completed .994, deploymentConfigs failed .999, batch failed .001, contentItems completed
  // .024, batch left running). BUG-1 is fixed, so the failure here is a held lock on deployment_configs
  // (deploymentConfigs times out, both attempts): the property is asserted, but this timing rarely meets
  // the race; the orchestrated reproduction is /work/review2 (hang.ts, hang_debug.log).
  test('(BUG-4) a batch whose phase fails for good always ends failed, never stuck running', async () => {
    const held = await lockTable(main, 'deployment_configs');
    const stuck: string[] = [];
    try {
      for (let i = 0; i < 8; i++) {
        const token = await main.mintToken(`bug4-${i}`);
        const res = await main.http.post('/v1/dumps').set(as(token)).set('Content-Type', 'application/json').send(JSON.stringify(catalystDump()));
        const status = await waitFor(main, res.body.batchId, TERMINAL, 10_000);
        if (status !== 'failed') stuck.push(`${res.body.batchId}: ${status} ${JSON.stringify(await batchError(main, res.body.batchId))}`);
      }
    } finally {
      await held.release();
    }
    expect(stuck).toEqual([]);
  }, 120_000);

  // BUG-5. format.md §1e: entry values may hold lone surrogates and are kept losslessly; http-api.md §3:
  // secrets are sealed (AES-256-GCM). core/crypto.ts SecretBox.seal encrypts `plain` as UTF-8
  // (c.update(plain, 'utf8'); the synthetic IV hashes it the same way), which turns a lone surrogate into
  // U+FFFD: the sealed apiKey opens to another string, and "k\ud800" and "k\udfff" seal to the same envelope.
  test('(BUG-5) a secret holding a lone surrogate opens to exactly itself', async () => {
    const userId = 'bug5';
    const { status } = await migrateAlone(userId, ndjson(HEADER, [{ area: 'localStorage', key: 'cms-provider-configs', value: JSON.stringify({ strapi: { config: { endpoint: 'https://cms.example.com', apiKey: 'tok\ud800en' } } }) }]));
    expect(status).toBe('completed');
    const [row] = await main.api.deps.ds.query(`SELECT id, config FROM deployment_configs WHERE user_id = $1`, [userId]);
    const box = new SecretBox(main.config.encryptionKeys, main.config.ENCRYPTION_KEY_ID);
    expect(box.open(row.config.apiKey, `${row.id}:apiKey`)).toBe('tok\ud800en');
  });

  // BUG-6. http-api.md §2: rollback is "refused when later batches or data-API writes touched its rows";
  // data-api.md: a rollback over data-API writes answers 409 changed_through_api, and forced goes ahead.
  // jobs/rollback.ts blockersOf, third query ("they own rows referencing rows this batch inserted"): for a
  // parent B inserted (content type t2), the children (item i1, re-parented by B) that the data API wrote
  // since (batch_id NULL) are `kids`, and every batch whose batch_rows hold them is a blocker — with no
  // "later than B" test (the first two queries have one). A, which created i1 before B, is named a later
  // batch (409 rollback_conflict). Forced, requestRollback claims [B, A] (A: rolling_back); the rollback job
  // (undoNext) re-plans from B after undoing it, finds nothing left, and ends: A is neither undone nor given
  // back, and stays rolling_back for ever — and runPhase makes every later batch of the user wait for it.
  test('(BUG-6) after a data-API write, rolling back B names no earlier batch, and forced never strands one', async () => {
    const userId = 'bug6';
    const site = { area: 'indexedDB', db: 'catalyst_global', dbVersion: 1, store: 'websites', keyPath: 'id', key: 'w1', value: { id: 'w1', name: 'Site', createdAt: { $t: 'Date', v: '2025-08-12T07:00:00.000Z' }, lastModified: { $t: 'Date', v: '2025-08-12T07:00:00.000Z' } } };
    const t1 = { id: 't1', name: 'T', fields: [], relationships: [], ...DATES };
    const a = await migrateAlone(userId, ndjson(HEADER, [site,
      { area: 'localStorage', key: 'contentTypes', value: JSON.stringify([t1]) },
      { area: 'localStorage', key: 'content-storage', value: JSON.stringify([{ id: 'i1', contentTypeId: 't1', data: { a: 1 }, ...DATES }]) }]));
    const b = await main.http.post('/v1/dumps').set(as(a.token)).set('Content-Type', 'application/x-ndjson').send(ndjson({ capturedAt: '2026-11-29T10:00:00.000Z' }, [site,
      { area: 'localStorage', key: 'contentTypes', value: JSON.stringify([t1, { ...t1, id: 't2', name: 'U' }]) },
      { area: 'localStorage', key: 'content-storage', value: JSON.stringify([{ id: 'i1', contentTypeId: 't2', data: { a: 1 }, ...DATES }]) }]));
    expect([a.status, await waitFor(main, b.body.batchId, TERMINAL)]).toEqual(['completed', 'completed']);
    await main.http.patch('/v1/websites/w1/content-items/i1').set(as(a.token)).send({ data: { a: 2 } }).expect(200);
    const refused = await main.http.post(`/v1/admin/batches/${b.body.batchId}/rollback`).set(admin).send({});
    const forced = await main.http.post(`/v1/admin/batches/${b.body.batchId}/rollback`).set(admin).send({ force: true });
    await waitFor(main, b.body.batchId, ['rolled_back', 'failed'], 15_000);
    await new Promise((r) => setTimeout(r, 1500));
    const [{ status: aStatus }] = await main.api.deps.ds.query(`SELECT status FROM migration_batches WHERE id = $1`, [a.id]);
    expect({ refused: refused.body.error?.code, forcedPlan: forced.body.batches, a: aStatus })
      .toEqual({ refused: 'changed_through_api', forcedPlan: [b.body.batchId], a: 'completed' });
  }, 60_000);

  // BUG-7. ARCHITECTURE.md: a rolled-back batch "can be applied again as a new run" and re-running gives the
  // same rows; catalyst-layout.md §8.3: "Two different names with one id: the second is rejected
  // (duplicate_id)". Here [2] (name X, id b) is folded by name into [0] (X, id a) — recorded as the alias
  // b → a in the batch notes — although [1] (Y) keeps the id b: run 1 attaches item i1 (type b) to X.
  // The rollback leaves notes.contentTypeAliases in place; run 2's contentTypes phase builds its context
  // from them (jobs/phases/entryPhase.ts transformContext → buildTransformContext: contentTypeId applies
  // the aliases), so Y's own row id becomes X's: "holds the same content_types row twice", Y written over X.
  test('(BUG-7) a content type folded by name onto an id another type keeps: applied again, the same rows', async () => {
    const userId = 'bug7';
    const f = { id: 'f', name: 'title', label: 'Title', type: 'text', required: false, order: 0 };
    const { id, status } = await migrateAlone(userId, ndjson(HEADER, [
      { area: 'localStorage', key: 'contentTypes', value: JSON.stringify([{ id: 'a', name: 'X', fields: [f], relationships: [], ...DATES }, { id: 'b', name: 'Y', fields: [], relationships: [], ...DATES }, { id: 'b', name: 'X', fields: [], relationships: [], ...DATES }]) },
      { area: 'localStorage', key: 'content-storage', value: JSON.stringify([{ id: 'i1', contentTypeId: 'b', data: {}, ...DATES }]) }]));
    expect(status).toBe('completed');
    const first = await snapshot(main, userId);
    await main.http.post(`/v1/admin/batches/${id}/rollback`).set(admin).send({}).expect(202);
    expect(await waitFor(main, id, ['rolled_back', 'failed'])).toBe('rolled_back');
    await main.http.post(`/v1/admin/batches/${id}/retry`).set(admin).send({}).expect(202);
    expect(await waitFor(main, id, ['completed', 'needs_attention', 'failed'])).toBe('completed');
    expect(diff(first, await snapshot(main, userId), (r) => (r.metadata as { createdBy?: string } | null)?.createdBy === 'migration' ? { ...r, created_at: null, updated_at: null } : r)).toEqual([]);
  });
});
