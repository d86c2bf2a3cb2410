/**
 * `bsm upload <dump-file>`: streams the file to POST /v1/dumps with a progress bar on stderr. Files larger
 * than the server's body limit are refused with 413 by the server, which points to the resumable endpoint.
 */
import { createReadStream, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { CliError, withRetryAfter, type CliContext } from './api';

export function progressBar(done: number, total: number, width = 30): string {
  const f = total > 0 ? Math.min(1, done / total) : 1;
  const fill = Math.round(f * width);
  const mb = (n: number) => (n / 1048576).toFixed(1);
  return `[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${(f * 100).toFixed(0).padStart(3)}% ${mb(done)}/${mb(total)} MB`;
}

export async function uploadFile(ctx: CliContext, file: string, opts: { websiteId?: string; out: NodeJS.WritableStream }): Promise<{ batchId: string; status: string; duplicate: boolean }> {
  const size = statSync(file).size;
  const type = /\.(ndjson|jsonl)$/i.test(file) ? 'application/x-ndjson' : 'application/json';
  const url = new URL('/v1/dumps', ctx.url);
  if (opts.websiteId) url.searchParams.set('websiteId', opts.websiteId);
  // A fresh stream per attempt: a 429 (rate limited) is answered before the body is read, and retried.
  const res = await withRetryAfter(() => {
    let sent = 0;
    const source = createReadStream(file);
    source.on('data', (c) => {
      sent += c.length;
      opts.out.write(`\r${progressBar(sent, size)}`);
    });
    return fetch(url, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ctx.token}`, 'Content-Type': type, 'Content-Length': String(size) },
      body: Readable.toWeb(source) as never,
      duplex: 'half',
    } as RequestInit & { duplex: 'half' });
  }, (line) => opts.out.write(`\n${line}`)); // below the progress bar, which the next attempt redraws
  opts.out.write('\n');
  const body = (await res.json().catch(() => ({}))) as { batchId?: string; status?: string; duplicate?: boolean; error?: { code: string; message: string } };
  if (!res.ok) throw new CliError(`${res.status} ${body.error?.code ?? ''}: ${body.error?.message ?? 'upload refused'}`);
  return { batchId: body.batchId!, status: body.status!, duplicate: Boolean(body.duplicate) };
}
