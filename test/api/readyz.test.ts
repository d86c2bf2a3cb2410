/**
 * A database behind the code is not ready: /readyz answers 503 naming the pending migrations, and a
 * worker process waits before it takes any job (core/db.ts whenMigrated).
 */
import { whenMigrated } from '../../core/db';
import { startStack, type Stack } from '../helpers/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ workers: false });
});
afterAll(() => stack.close());

test('/readyz is 503 naming a pending migration, and 200 again once it is applied; a worker waits meanwhile', async () => {
  expect((await stack.http.get('/readyz')).body).toMatchObject({ status: 'ready', checks: { migrations: { ok: true } } });
  const ds = stack.api.deps.ds;
  const [last] = await ds.query(`SELECT * FROM schema_migrations ORDER BY timestamp DESC LIMIT 1`);
  await ds.query(`DELETE FROM schema_migrations WHERE id = $1`, [last.id]);
  const res = await stack.http.get('/readyz');
  expect(res.status).toBe(503);
  expect(res.body.checks.migrations).toMatchObject({ ok: false, pending: [last.name] });
  expect(res.body.checks.migrations.error).toContain('npm run migrate');

  const told: string[][] = [];
  let migrated = false;
  const waiting = whenMigrated(ds, (p) => told.push(p), 20).then(() => (migrated = true));
  await new Promise((r) => setTimeout(r, 100));
  expect(migrated).toBe(false);
  expect(told).toEqual([[last.name]]);
  await ds.query(`INSERT INTO schema_migrations (timestamp, name) VALUES ($1, $2)`, [last.timestamp, last.name]);
  await waiting;
  expect((await stack.http.get('/readyz')).status).toBe(200);
});
