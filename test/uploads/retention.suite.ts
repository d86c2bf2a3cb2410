/**
 * Retention, for one storage driver: abandoned uploads lose their bytes after UPLOAD_EXPIRY_HOURS; stored
 * dumps go after DUMP_RETENTION_DAYS but never while their batch is active or can still be rolled back;
 * the worker schedules the job on the maintenance queue. The clean-up runs "days later" by being given
 * its `now`, so nothing waits.
 */
import { mkdirSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateMultipartUploadCommand, ListMultipartUploadsCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { QueueEvents } from 'bullmq';
import { runCleanup, type CleanupDeps } from '../../jobs/maintenance/cleanup';
import { createLogger } from '../../core/logger';
import { FsObjectStore, S3ObjectStore, type ObjectInfo } from '../../core/objectStore';
import { waitForBatch } from '../helpers/stack';
import { MiB, bigDump, startUploadStack, tusUpload, uploadKeyOf, type Driver, type UploadStack } from './harness';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

export function runRetention(driver: Driver): void {
  describe(`retention clean-up (${driver} driver)`, () => {
    let up: UploadStack;
    let token: string;
    let deps: CleanupDeps;
    const USER = `retention-${driver}`;

    beforeAll(async () => {
      up = await startUploadStack(driver);
      token = await up.stack.mintToken(USER);
      const { ds, store } = up.stack.api.deps;
      deps = { ds, store, config: up.stack.config, log: createLogger('silent') };
    }, 60_000);
    afterAll(() => up?.close());

    const keysUnder = async (prefix: string) => {
      const out: ObjectInfo[] = [];
      for await (const o of up.stack.api.deps.store.list(prefix)) out.push(o);
      return out.map((o) => o.key).sort();
    };
    const migrate = async (tag: string): Promise<{ batchId: string; key: string }> => {
      const res = await tusUpload(up.stack.api.url, token, bigDump(0.2 * MiB, `${driver}-${tag}`).bytes);
      expect(await waitForBatch(up.stack, res.batchId!, undefined, 60_000)).toBe('completed');
      const [row] = await up.stack.api.deps.ds.query(`SELECT dump_key FROM migration_batches WHERE id = $1`, [res.batchId]);
      return { batchId: res.batchId!, key: row.dump_key }; // the sealed copy the batch reads
    };

    test("an abandoned upload's bytes go after UPLOAD_EXPIRY_HOURS; a batch's dump stays", async () => {
      const abandoned = await tusUpload(up.stack.api.url, token, bigDump(2.5 * MiB, `${driver}-abandoned`).bytes, { stopAfter: MiB });
      const key = uploadKeyOf(abandoned.url);
      const finished = await migrate('kept');
      expect(await keysUnder(key)).not.toEqual([]);

      // Within the expiry nothing is touched.
      expect((await runCleanup(deps)).expiredUploads).toBe(0);
      expect(await keysUnder(key)).not.toEqual([]);

      const later = new Date(Date.now() + (up.stack.config.UPLOAD_EXPIRY_HOURS + 1) * HOUR);
      const report = await runCleanup(deps, later);
      // The abandoned upload, and the finished one's plain bytes if its discard job has not run yet.
      expect(report.expiredUploads).toBeGreaterThanOrEqual(1);
      // S3: the parts already sent sit in a multipart upload, aborted through the upload-id in `.info`.
      expect(report.abortedMultipart).toBe(driver === 's3' ? 1 : 0);
      expect(await keysUnder(key)).toEqual([]);
      expect(await up.stack.api.deps.store.head(finished.key)).not.toBeNull();
      expect(report.deletedDumps).toEqual([]); // dumps are far from their retention
    }, 90_000);

    test('stored dumps go after DUMP_RETENTION_DAYS, never while active or within the rollback window', async () => {
      const { ds, store } = up.stack.api.deps;
      const old = await migrate('old'); // finished long ago by the clean-up's clock: deleted
      const active = await migrate('active'); // running again: kept
      const recent = await migrate('recent'); // finished inside the rollback window: kept
      const posted = await postDump('posted'); // POST /v1/dumps: same rules
      await ds.query(`UPDATE migration_batches SET status = 'running' WHERE id = $1`, [active.batchId]);
      const now = new Date(Date.now() + (up.stack.config.DUMP_RETENTION_DAYS + 1) * DAY);
      const insideWindow = new Date(now.getTime() - (up.stack.config.ROLLBACK_WINDOW_DAYS * DAY) / 2);
      await ds.query(`UPDATE migration_batches SET finished_at = $2 WHERE id = $1`, [recent.batchId, insideWindow]);

      const report = await runCleanup(deps, now);
      // (The first test's finished batch is as old by this clock, so it may go too.)
      expect(report.deletedDumps).toEqual(expect.arrayContaining([old.batchId, posted.batchId]));
      expect(report.deletedDumps).not.toContain(active.batchId);
      expect(report.deletedDumps).not.toContain(recent.batchId);
      expect(await keysUnder(old.key)).toEqual([]); // the upload and its S3 sidecars
      expect(await store.head(posted.key)).toBeNull();
      expect(await store.head(active.key)).not.toBeNull();
      expect(await store.head(recent.key)).not.toBeNull();

      const rows: { id: string; notes: Record<string, unknown>; status: string }[] = await ds.query(
        `SELECT id, notes, status FROM migration_batches WHERE id = ANY($1::uuid[])`, [[old.batchId, posted.batchId, active.batchId, recent.batchId]],
      );
      const byId = new Map(rows.map((r) => [r.id, r]));
      expect(byId.get(old.batchId)!.notes.dumpDeletedAt).toBe(now.toISOString());
      expect(byId.get(old.batchId)!.status).toBe('completed'); // the batch itself is untouched
      expect(byId.get(posted.batchId)!.notes.dumpDeletedAt).toBe(now.toISOString());
      expect(byId.get(active.batchId)!.notes.dumpDeletedAt).toBeUndefined();
      expect(byId.get(recent.batchId)!.notes.dumpDeletedAt).toBeUndefined();
      // Its migrated rows stay; its staged values go, each entry's outcome and reason stay.
      const [rowsKept] = await ds.query(`SELECT count(*)::int AS n FROM batch_rows WHERE batch_id = $1`, [old.batchId]);
      expect(rowsKept.n).toBeGreaterThan(0);
      const [staged] = await ds.query(
        `SELECT count(*)::int AS n, count(*) FILTER (WHERE value <> '')::int AS with_value, count(*) FILTER (WHERE outcome = 'pending')::int AS pending,
                count(*) FILTER (WHERE outcome <> 'migrated' AND reason IS NULL)::int AS unexplained FROM dump_entries WHERE batch_id = $1`, [old.batchId]);
      expect(staged).toMatchObject({ with_value: 0, pending: 0, unexplained: 0 });
      expect(staged.n).toBeGreaterThan(0);
      const [kept] = await ds.query(`SELECT count(*) FILTER (WHERE value <> '')::int AS n FROM dump_entries WHERE batch_id = $1`, [recent.batchId]);
      expect(kept.n).toBeGreaterThan(0);

      // Idempotent; and once out of the window the recent one goes too, the active one never.
      expect((await runCleanup(deps, now)).deletedDumps).toEqual([]);
      const muchLater = new Date(insideWindow.getTime() + (up.stack.config.ROLLBACK_WINDOW_DAYS + 1) * DAY);
      expect((await runCleanup(deps, muchLater)).deletedDumps).toEqual([recent.batchId]);
      expect(await store.head(active.key)).not.toBeNull();
      await ds.query(`UPDATE migration_batches SET status = 'completed' WHERE id = $1`, [active.batchId]);
    }, 120_000);

    test('a put cut short (a killed process sealing a dump) goes after UPLOAD_EXPIRY_HOURS; one in progress stays', async () => {
      const store = up.stack.api.deps.store;
      const stale = { key: `dumps/0000000000000000/${'a'.repeat(64)}.ndjson.sealed`, at: new Date(Date.now() - 2 * DAY) };
      if (store instanceof FsObjectStore) {
        const dir = join(up.stack.config.STORAGE_DIR, '.tmp');
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'stale.part'), 'cut short');
        utimesSync(join(dir, 'stale.part'), stale.at, stale.at);
        writeFileSync(join(dir, 'busy.part'), 'being written');
        const report = await runCleanup(deps);
        expect(report.interruptedPuts).toBe(1);
        expect(readdirSync(dir)).toEqual(['busy.part']);
        rmSync(join(dir, 'busy.part'));
      } else if (store instanceof S3ObjectStore) {
        const created = await store.client.send(new CreateMultipartUploadCommand({ Bucket: store.bucket, Key: stale.key }));
        await store.client.send(new UploadPartCommand({ Bucket: store.bucket, Key: stale.key, UploadId: created.UploadId, PartNumber: 1, Body: Buffer.alloc(1024) }));
        const pending = async () => (await store.client.send(new ListMultipartUploadsCommand({ Bucket: store.bucket, Prefix: 'dumps/' }))).Uploads ?? [];
        expect(await pending()).toHaveLength(1);
        expect((await runCleanup(deps)).interruptedPuts).toBe(0); // initiated just now: a put in progress
        const later = new Date(Date.now() + (up.stack.config.UPLOAD_EXPIRY_HOURS + 1) * HOUR);
        expect((await runCleanup(deps, later)).interruptedPuts).toBe(1);
        expect(await pending()).toHaveLength(0);
        expect(await store.head(stale.key)).toBeNull();
      }
    });

    test('the worker schedules the clean-up on the maintenance queue, which runs it', async () => {
      const queue = up.stack.api.deps.queues.maintenance;
      const deadline = Date.now() + 10_000;
      let scheduler = await queue.getJobScheduler('retention-cleanup');
      while (!scheduler && Date.now() < deadline) {
        await new Promise((r) => setImmediate(r));
        scheduler = await queue.getJobScheduler('retention-cleanup');
      }
      expect(scheduler).toMatchObject({ name: 'cleanup', every: up.stack.config.CLEANUP_INTERVAL_MINUTES * 60_000 });

      const events = new QueueEvents('maintenance', { connection: { url: up.stack.config.REDIS_URL }, prefix: up.stack.config.QUEUE_PREFIX });
      try {
        await events.waitUntilReady();
        const job = await queue.add('cleanup', {});
        const result = await job.waitUntilFinished(events, 20_000);
        expect(result).toMatchObject({ expiredUploads: 0, deletedDumps: [] });
      } finally {
        await events.close();
      }
    });

    async function postDump(tag: string): Promise<{ batchId: string; key: string }> {
      const res = await up.stack.http
        .post('/v1/dumps')
        .set('Authorization', `Bearer ${token}`)
        .set('Content-Type', 'application/x-ndjson')
        .send(bigDump(0.2 * MiB, `${driver}-${tag}`).bytes.toString());
      expect(res.status).toBe(202);
      expect(await waitForBatch(up.stack, res.body.batchId, undefined, 60_000)).toBe('completed');
      const [row] = await up.stack.api.deps.ds.query(`SELECT dump_key FROM migration_batches WHERE id = $1`, [res.body.batchId]);
      return { batchId: res.body.batchId, key: row.dump_key };
    }
  });
}
