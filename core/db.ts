/**
 * The TypeORM DataSource. Schema comes from migrations only (no `synchronize`). DATABASE_SCHEMA lets
 * tests (and shared databases) keep their tables apart: unqualified SQL resolves through search_path.
 */
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { ENTITIES } from '../entities';
import { MIGRATIONS } from '../entities/migrations';

export function createDataSource(opts: { url: string; schema: string; poolSize?: number; applicationName?: string }): DataSource {
  return new DataSource({
    type: 'postgres',
    url: opts.url,
    schema: opts.schema,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: false,
    poolSize: opts.poolSize ?? 10,
    applicationName: opts.applicationName ?? 'bsm',
    uuidExtension: 'pgcrypto',
    extra: { options: `-c search_path=${opts.schema}` },
  });
}

/** Connects and applies pending migrations (creating the schema first if needed). */
export async function openDatabase(opts: { url: string; schema: string; poolSize?: number; applicationName?: string; migrate?: boolean }): Promise<DataSource> {
  const ds = createDataSource(opts);
  await ds.initialize();
  if (opts.migrate !== false) {
    await ds.query(`CREATE SCHEMA IF NOT EXISTS "${opts.schema}"`);
    await ds.runMigrations({ transaction: 'each' });
  }
  return ds;
}

/**
 * TypeORM answers UPDATE/DELETE through `query()` with `[rows, affectedCount]` (rows from RETURNING);
 * SELECTs come back as plain rows.
 */
export function writeResult<T = Record<string, unknown>>(res: unknown): { rows: T[]; count: number } {
  if (Array.isArray(res) && res.length === 2 && Array.isArray(res[0]) && typeof res[1] === 'number') return { rows: res[0] as T[], count: res[1] };
  return { rows: (Array.isArray(res) ? res : []) as T[], count: Array.isArray(res) ? res.length : 0 };
}

/**
 * Names of the migrations (entities/migrations) this code needs that the database has not applied: a
 * fresh database, or code deployed before `npm run migrate` ran. The API answers /readyz 503 and a worker
 * does not take jobs while any is pending.
 */
export async function pendingMigrations(ds: DataSource): Promise<string[]> {
  const wanted = MIGRATIONS.map((m) => new m().name ?? m.name);
  const [{ present }] = await ds.query(`SELECT to_regclass('schema_migrations') IS NOT NULL AS present`);
  if (!present) return wanted;
  const applied = new Set((await ds.query(`SELECT name FROM schema_migrations`)).map((r: { name: string }) => r.name));
  return wanted.filter((n) => !applied.has(n));
}

/** Resolves once no migration is pending; `waiting` is told once which ones it waits for. */
export async function whenMigrated(ds: DataSource, waiting: (pending: string[]) => void, intervalMs = 2000): Promise<void> {
  for (let told = false; ; told = true) {
    const pending = await pendingMigrations(ds);
    if (pending.length === 0) return;
    if (!told) waiting(pending);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
