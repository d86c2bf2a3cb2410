/** `npm run migrate`: applies pending database migrations and exits (for deployments and docker compose). */
import 'reflect-metadata';
import { loadConfigOrExit } from '../core/config';
import { openDatabase } from '../core/db';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const ds = await openDatabase({ url: config.DATABASE_URL, schema: config.DATABASE_SCHEMA, migrate: true });
  const applied = await ds.query(`SELECT name FROM schema_migrations ORDER BY id`);
  process.stdout.write(`migrations applied: ${applied.map((r: { name: string }) => r.name).join(', ')}\n`);
  await ds.destroy();
}

main().catch((err) => {
  process.stderr.write(`migration failed: ${(err as Error).message}\n`);
  process.exit(1);
});
