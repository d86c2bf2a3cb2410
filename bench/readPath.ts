/**
 * The read-path bench: a website's content types and 50-item keyset pages of its content items, served by
 * the API (its own process, started as `npm run api` starts it) under closed-loop load from autocannon,
 * beside the same statements issued straight through pg with the same concurrency and parameters.
 *
 * Own schema, queue prefix and storage directory; all removed at the end. Pages rotate through real
 * cursors, collected by walking the lists through the API with the largest page size (200), so that
 * requests spread over the whole table instead of re-reading one cached page. The walk also checks that
 * the API returns every seeded item exactly once. The measured time of each side is split into rounds that
 * alternate API and pg, so that both see the same background load on a shared machine.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Pool } from 'pg';
import type { Config } from '../core/config';
import { httpLoad, pgLoad, summarize, type LoadStats, type Sample } from './load';
import { dropRedisKeys, mintToken, npmScriptFlags, procCpuSeconds, procMB, runOnce, startService, tcpClientPorts, waitForLine, type Service } from './processes';
import { contentItemsDirect, contentTypesDirect, itemSizes, poolAsDb, seedWebsite, type Caller } from './readSeed';

export interface ReadPathSettings {
  /** Measured time per side, split into `rounds` alternating slices (API, pg, API, pg…) so both see the same background load. */
  seconds: number;
  rounds: number;
  warmupSeconds: number;
  connections: number;
  /** Also measure each side with one connection for this long (the unloaded service time); 0: skip. */
  serialSeconds: number;
  items: number;
  types: number;
  /** Other users' websites sharing the tables, each with `types` content types and items / otherWebsites items. */
  otherWebsites: number;
  /** Extra node flags for the API process, for diagnosis (e.g. --cpu-prof --cpu-prof-dir=…). */
  apiNodeFlags: string[];
}

/** CPU time per successful request, in ms. */
export interface CpuPerRequest {
  /** The API process (API side only). */
  app: number | null;
  /** The Postgres backends serving that side's connections. */
  postgres: number;
  /** The load generator: autocannon, or the pg loops (both in the bench process). */
  client: number;
}

export interface Scenario {
  name: string;
  path: string;
  api: LoadStats;
  pg: LoadStats;
  apiCpu: CpuPerRequest;
  pgCpu: CpuPerRequest;
  /** One connection / one loop: latency without queueing. */
  serial: { api: LoadStats; pg: LoadStats } | null;
}

export interface ReadPathResult {
  settings: ReadPathSettings;
  bytes: { data: number; row: number };
  seedSeconds: number;
  walkSeconds: number;
  scenarios: Scenario[];
  apiPeakMb: number;
}

const USER = 'bench-read';
const PAGE = 50;

export async function measureReadPath(app: Config, s: ReadPathSettings, log: (msg: string) => void): Promise<ReadPathResult> {
  const id = randomBytes(4).toString('hex');
  const schema = `bench_read_${id}`;
  const prefix = `bsmbench-read-${id}`;
  const appName = `bsm-bench-read-${id}`;
  const dir = mkdtempSync(join(tmpdir(), 'bsm-bench-read-'));
  const adminToken = randomBytes(24).toString('hex');
  const env: Record<string, string> = {
    NODE_ENV: 'development', DATABASE_URL: app.DATABASE_URL, REDIS_URL: app.REDIS_URL, DATABASE_SCHEMA: schema, QUEUE_PREFIX: prefix,
    STORAGE_DIR: join(dir, 'objects'), PORT: '0', HOST: '127.0.0.1', ADMIN_TOKEN: adminToken, LOG_LEVEL: 'info',
    // One token from one address at ~1000 req/s is far past the default limits: still counted (their Redis
    // round trips are part of what is measured), never reached.
    RATE_LIMIT_PER_TOKEN: '100000000', RATE_LIMIT_PER_IP: '100000000',
  };
  const admin = new Client({ connectionString: app.DATABASE_URL });
  await admin.connect();
  const pool = new Pool({ connectionString: app.DATABASE_URL, max: s.connections, application_name: appName, options: `-c search_path="${schema}"` });
  let api: Service | null = null;
  try {
    await runOnce('scripts/migrate.ts', env);
    log(`read path: seeding ${s.items.toLocaleString('en-US')} content items and ${s.types} content types into ${schema}`);
    const t0 = Date.now();
    const seedDb = await pool.connect();
    let seeded: Awaited<ReturnType<typeof seedWebsite>>;
    let bytes: { data: number; row: number };
    try {
      seeded = await seedWebsite(seedDb, { userId: USER, key: `${id}-bench`, types: s.types, items: s.items });
      for (let w = 0; w < s.otherWebsites; w++) {
        await seedWebsite(seedDb, { userId: `other-user-${w}`, key: `${id}-other-${w}`, types: s.types, items: Math.ceil(s.items / s.otherWebsites) });
      }
      await seedDb.query('VACUUM ANALYZE websites, content_types, content_items');
      bytes = await itemSizes(seedDb, seeded.websiteId);
    } finally {
      seedDb.release();
    }
    const seedSeconds = (Date.now() - t0) / 1000;

    api = startService('api', 'api/main.ts', env, [...npmScriptFlags('api'), ...s.apiNodeFlags], 1000);
    const listening = JSON.parse(await waitForLine(api, (l) => l.includes('api listening'))) as { url: string };
    const base = `http://127.0.0.1:${new URL(listening.url).port}`;
    const token = await mintToken(base, adminToken, USER);
    const headers = { Authorization: `Bearer ${token}`, Accept: 'application/json' };
    const caller: Caller = { adminToken, token, websiteId: seeded.websiteId };
    const db = poolAsDb(pool);
    const itemsPath = `/v1/websites/${seeded.websiteId}/content-items`;

    log('read path: collecting cursors by walking the lists through the API');
    const t1 = Date.now();
    const [byWebsite, perType] = await Promise.all([
      walk(base, headers, itemsPath, {}, s.items),
      Promise.all(seeded.typeIds.map((typeId, i) => walk(base, headers, itemsPath, { contentTypeId: typeId }, Math.floor(s.items / s.types) + (i < s.items % s.types ? 1 : 0)))),
    ]);
    const walkSeconds = (Date.now() - t1) / 1000;
    // Round-robin over the types, so consecutive requests ask for different types.
    const byType: { typeId: string; cursor?: string }[] = [];
    for (let k = 0; k < Math.max(...perType.map((c) => c.length)); k++) {
      perType.forEach((cursors, i) => { if (k < cursors.length) byType.push({ typeId: seeded.typeIds[i], cursor: cursors[k] }); });
    }
    const pagePath = (p: { typeId?: string; cursor?: string }) =>
      `${itemsPath}?${new URLSearchParams({ ...(p.typeId ? { contentTypeId: p.typeId } : {}), ...(p.cursor ? { cursor: p.cursor } : {}), limit: String(PAGE) })}`;

    // The baseline must answer what the API answers: compare a few pages id by id.
    for (const p of [{ cursor: byWebsite[0] }, { cursor: byWebsite[Math.floor(byWebsite.length / 2)] }, byType[byType.length - 1]]) {
      const viaApi = (await getJson(base, headers, pagePath(p))) as { items: { id: string }[] };
      const direct = (await contentItemsDirect(db, caller, { ...p, limit: PAGE })).slice(0, PAGE);
      if (viaApi.items.map((x) => x.id).join() !== direct.map((x) => x.r.id).join()) throw new Error(`the baseline's page differs from the API's (${JSON.stringify(p)})`);
    }

    const scenarios: Scenario[] = [];
    const apiPid = api.proc.pid!;
    const apiBackends = async () => backendPids(admin, { ports: tcpClientPorts(apiPid, 5432) });
    const poolBackends = async () => backendPids(admin, { appName });
    const run = async (name: string, path: string, paths: string[], request: (i: number) => Promise<unknown>) => {
      const http = (connections: number, seconds: number) => httpLoad({ base, headers, paths, connections, seconds });
      const direct = (loops: number, seconds: number) => pgLoad({ pool, loops, seconds, request: (_p, i) => request(i) });
      log(`read path: ${name}: ${s.rounds} rounds of ${s.seconds / s.rounds} s through the API, then ${s.seconds / s.rounds} s straight through pg (${s.connections} concurrent each; ${s.warmupSeconds} s warm-up each)`);
      await http(s.connections, s.warmupSeconds);
      await direct(s.connections, s.warmupSeconds);
      const viaApi = new Side(), viaPg = new Side();
      for (let r = 0; r < s.rounds; r++) {
        await viaApi.measure(apiPid, apiBackends, () => http(s.connections, s.seconds / s.rounds));
        await viaPg.measure(null, poolBackends, () => direct(s.connections, s.seconds / s.rounds));
      }
      const serial = s.serialSeconds > 0 ? { api: summarize([await http(1, s.serialSeconds)]), pg: summarize([await direct(1, s.serialSeconds)]) } : null;
      const api = summarize(viaApi.samples), pg = summarize(viaPg.samples);
      scenarios.push({ name, path, api, pg, apiCpu: viaApi.cpuPerRequest(api.requests), pgCpu: viaPg.cpuPerRequest(pg.requests), serial });
    };

    await run('content types', 'GET /v1/websites/:websiteId/content-types', [`/v1/websites/${seeded.websiteId}/content-types`], () => contentTypesDirect(db, caller));
    await run(`content items, ${PAGE}-item pages`, `GET …/content-items?cursor=&limit=${PAGE}`, byWebsite.map((cursor) => pagePath({ cursor })),
      (i) => contentItemsDirect(db, caller, { cursor: byWebsite[i % byWebsite.length], limit: PAGE }));
    await run(`content items of one type, ${PAGE}-item pages`, `GET …/content-items?contentTypeId=&cursor=&limit=${PAGE}`, byType.map(pagePath),
      (i) => contentItemsDirect(db, caller, { ...byType[i % byType.length], limit: PAGE }));
    return { settings: s, bytes, seedSeconds, walkSeconds, scenarios, apiPeakMb: procMB(apiPid, 'VmHWM') };
  } finally {
    await api?.stop();
    await pool.end().catch(() => undefined);
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await admin.end();
    await dropRedisKeys(app.REDIS_URL, prefix);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function getJson(base: string, headers: Record<string, string>, path: string): Promise<unknown> {
  const res = await fetch(base + path, { headers });
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/**
 * Walks a list through the API in 200-item pages; returns the cursor of each page start (undefined for
 * the first), and checks that every one of the `expected` items came exactly once.
 */
async function walk(base: string, headers: Record<string, string>, path: string, query: Record<string, string>, expected: number): Promise<(string | undefined)[]> {
  const cursors: (string | undefined)[] = [];
  const seen = new Set<string>();
  let cursor: string | undefined;
  do {
    cursors.push(cursor);
    const page = (await getJson(base, headers, `${path}?${new URLSearchParams({ ...query, ...(cursor ? { cursor } : {}), limit: '200' })}`)) as { items: { id: string }[]; nextCursor: string | null };
    for (const it of page.items) seen.add(it.id);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  if (seen.size !== expected) throw new Error(`walking ${path} ${JSON.stringify(query)} gave ${seen.size} distinct items, ${expected} expected`);
  return cursors;
}

/** Postgres backends of a connection pool: by the client ports of another process, or by application_name. */
async function backendPids(admin: Client, by: { ports?: number[]; appName?: string }): Promise<number[]> {
  const rows = by.ports
    ? (await admin.query(`SELECT pid FROM pg_stat_activity WHERE client_port = ANY($1::int[]) AND client_addr IN ('127.0.0.1', '::1')`, [by.ports])).rows
    : (await admin.query(`SELECT pid FROM pg_stat_activity WHERE application_name = $1`, [by.appName])).rows;
  return rows.map((r) => r.pid as number);
}

/** One side's samples over the rounds, and the CPU seconds its app process, Postgres backends and this process used meanwhile. */
class Side {
  samples: Sample[] = [];
  cpu = { app: null as number | null, postgres: 0, client: 0 };

  /** `backends`: the Postgres backends serving this side (read before and after: a pool may open more meanwhile). */
  async measure(appPid: number | null, backends: () => Promise<number[]>, run: () => Promise<Sample>): Promise<void> {
    const pg0 = new Map((await backends()).map((p) => [p, procCpuSeconds(p)]));
    const app0 = appPid === null ? 0 : procCpuSeconds(appPid);
    const self0 = process.cpuUsage();
    this.samples.push(await run());
    const self = process.cpuUsage(self0);
    if (appPid !== null) this.cpu.app = (this.cpu.app ?? 0) + procCpuSeconds(appPid) - app0;
    for (const p of new Set([...pg0.keys(), ...(await backends())])) this.cpu.postgres += Math.max(0, procCpuSeconds(p) - (pg0.get(p) ?? 0));
    this.cpu.client += (self.user + self.system) / 1e6;
  }

  cpuPerRequest(requests: number): CpuPerRequest {
    const ms = (sec: number) => (sec * 1000) / requests;
    return { app: this.cpu.app === null ? null : ms(this.cpu.app), postgres: ms(this.cpu.postgres), client: ms(this.cpu.client) };
  }
}
