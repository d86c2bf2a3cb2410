/**
 * A real `npm start` for a test file: its own schema, queue prefix and storage directory, started in its
 * own process group, its URL read off what it prints. `cleanup()` kills what is left and drops the schema.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

export interface NpmStart {
  proc: ChildProcess;
  /** `http://localhost:<port>` */
  base: string;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  cleanup(): Promise<void>;
}

const dbUrl = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/postgres';

/** `env` overrides the test environment; a key given as undefined is removed from it. */
export async function npmStart(tag: string, env: Record<string, string | undefined>): Promise<NpmStart> {
  const id = randomBytes(4).toString('hex');
  const schema = `t_${tag}_${id}`;
  const storage = mkdtempSync(join(tmpdir(), `bsm-${tag}-`));
  let output = '';
  const merged: Record<string, string | undefined> = { ...process.env, PORT: '0', HOST: '127.0.0.1', DATABASE_URL: dbUrl, DATABASE_SCHEMA: schema, QUEUE_PREFIX: `bsm${tag}-${id}`, STORAGE_DIR: storage, LOG_LEVEL: 'warn', ...env };
  for (const k of Object.keys(merged)) if (merged[k] === undefined) delete merged[k];
  const proc = spawn('npm', ['start'], {
    cwd: join(__dirname, '..', '..'),
    detached: true,
    env: merged as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.on('data', (c) => (output += c));
  proc.stderr!.on('data', (c) => (output += c));
  const cleanup = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      try {
        process.kill(-proc.pid!, 'SIGKILL');
      } catch {
        // the group is gone already
      }
    }
    const c = new Client({ connectionString: dbUrl });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await c.end();
    rmSync(storage, { recursive: true, force: true });
  };
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed:\n${output}`)), 25000);
    proc.stdout!.on('data', () => {
      const m = /API\s+(http:\/\/localhost:\d+)\/v1/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.on('exit', (code) => reject(new Error(`exited ${code}:\n${output}`)));
  }).catch(async (err) => {
    await cleanup();
    throw err;
  });
  return { proc, base, output: () => output, cleanup };
}
