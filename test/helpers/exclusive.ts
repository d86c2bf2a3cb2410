/**
 * Cross-process exclusion between test files that must not run side by side (Jest runs files in two
 * worker processes). The 300 MB browser memory test and the 1 s responsiveness bound are such a pair: on two
 * cores, the first starves the second's `npm start` of CPU and a status poll takes over a second.
 *
 * A lock file in the OS temp directory, linked into place atomically and holding the owner's PID; a file left by a
 * process that died is taken over. Waiting polls once a second: there is no event to await across
 * processes without a service, and the Postgres advisory locks other tests count must not see this one.
 * test/helpers/sequencer.js orders the two files apart so the wait is rare.
 */
import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createHash } from 'node:crypto';

const root = resolve(__dirname, '..', '..');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Waits until this process holds `name` (per checkout), then returns its release. */
export async function exclusive(name: string, timeoutMs = 900_000): Promise<() => void> {
  const file = join(tmpdir(), `bsm-test-${name}-${createHash('sha1').update(root).digest('hex').slice(0, 8)}.lock`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // Written aside, then linked into place: link fails if the lock exists and never shows a half-written file.
    const mine = `${file}.${process.pid}`;
    writeFileSync(mine, String(process.pid));
    try {
      linkSync(mine, file);
      return () => rmSync(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      rmSync(mine, { force: true });
    }
    let owner: number;
    try {
      owner = Number(readFileSync(file, 'utf8'));
    } catch {
      continue; // released between our link and this read
    }
    // An owner that died without releasing (a killed run): take it over. (Two waiters taking over the same
    // dead lock at once could both win; only two files use it, so there is never more than one waiter.)
    if (!Number.isInteger(owner) || owner <= 0 || !alive(owner)) {
      rmSync(file, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`test lock ${name} still held by pid ${owner} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}
