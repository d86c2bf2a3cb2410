/**
 * COPY … FROM STDIN of lines in COPY's text format, or of a stream in its binary format (copyBinary.ts), on
 * the connection of the caller's transaction.
 */
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { EntityManager } from 'typeorm';

/** `lines` may yield whole lines or pieces of them; writes wait while the stream is full. */
export async function copyLines(m: EntityManager, into: string, columns: readonly string[], lines: Iterable<string | Buffer>, format: 'text' | 'binary' = 'text'): Promise<void> {
  if (!m.queryRunner) throw new Error('copyLines runs inside a transaction (its EntityManager has a query runner)');
  const client = (await m.queryRunner.connect()) as PoolClient;
  const stream = client.query(copyFrom(`COPY ${into} (${columns.map((c) => `"${c}"`).join(', ')}) FROM STDIN${format === 'binary' ? ' (FORMAT binary)' : ''}`));
  const done = finished(stream);
  done.catch(() => undefined); // awaited below; a failure mid-way surfaces on write or there
  try {
    for (const piece of lines) if (!stream.write(piece)) await once(stream, 'drain');
  } catch (err) {
    stream.destroy(err as Error);
    throw err;
  }
  stream.end();
  await done;
}
