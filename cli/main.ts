/**
 * bsm — the operator's command line. Talks to the API with a token (BSM_TOKEN or --token) at BSM_URL or
 * --url (default http://localhost:3000).
 *
 *   bsm upload <dump-file> [--website-id ID] [--layout L] [--gzip] [--wait]  upload a dump (JSON, or NDJSON for .ndjson/.jsonl;
 *                                                   .gz: gzip), resumable; --layout: catalyst (the default) or generic
 *   bsm status <batch> [--json]                         status and phases
 *   bsm retry <batch> [--force]                         retry what failed / re-apply a rolled-back batch
 *   bsm rollback <batch> [--force] [--wait]             roll back (forced: with the later batches)
 *   bsm verify <batch>                                  verify the batch's rows again
 *   bsm batches [--status S] [--user U] [--limit N]     list batches
 *   bsm tokens [--user U] [--all]                        list tokens (--all: revoked ones too)
 *   bsm mint-token <user> [--role operator] [--label L]  mint a token (printed once)
 *   bsm revoke-token <token-id>                         revoke a token
 *
 * `upload` goes through /v1/uploads (tus) in BSM_CHUNK_BYTES chunks (8 MiB); run again after an
 * interruption, it resumes (state under BSM_STATE_DIR, default $TMPDIR/bsm-uploads).
 */
import { parseArgs } from 'node:util';
import { call, CliError, type ApiJson, type CliContext } from './api';
import { uploadFile } from './upload';

const TERMINAL = ['completed', 'needs_attention', 'failed', 'rolled_back'];

async function waitFor(ctx: CliContext, id: string): Promise<ApiJson> {
  for (;;) {
    const b = await call(ctx, 'GET', `/v1/batches/${id}`);
    const running = b.phases.find((p: { status: string }) => p.status === 'running');
    process.stderr.write(`\r${b.status.padEnd(14)} ${running ? `${running.name} ${running.done}/${running.total}` : ''}`.padEnd(60));
    if (TERMINAL.includes(b.status)) {
      process.stderr.write('\n');
      return b;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

function printBatch(b: ApiJson): void {
  const c = b.counts;
  const lines = [
    `batch     ${b.id}`,
    `user      ${b.userId}`,
    `status    ${b.status}${b.error ? `  (${b.error.code}: ${b.error.message})` : ''}`,
    `entries   ${c.entries}: ${c.migrated} migrated, ${c.preserved} preserved, ${c.rejected} rejected${c.pending ? `, ${c.pending} pending` : ''}`,
    ...b.phases.map((p: ApiJson) => `  ${p.name.padEnd(18)} ${p.status.padEnd(12)} ${p.done}/${p.total}${p.rejected ? ` (${p.rejected} rejected)` : ''}${p.error ? `  ${p.error}` : ''}`),
  ];
  if (b.report?.verification) lines.push(`verified  ${b.report.verification.ok ? 'ok' : `NO: ${b.report.verification.problems.join('; ')}`}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: 'string' }, token: { type: 'string' }, 'website-id': { type: 'string' }, layout: { type: 'string' }, wait: { type: 'boolean' },
      force: { type: 'boolean' }, gzip: { type: 'boolean' }, json: { type: 'boolean' }, status: { type: 'string' }, user: { type: 'string' }, limit: { type: 'string' },
      all: { type: 'boolean' }, role: { type: 'string' }, label: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [cmd, arg] = positionals;
  if (values.help || !cmd) {
    process.stdout.write(USAGE);
    return cmd ? 0 : 2;
  }
  const token = values.token ?? process.env.BSM_TOKEN;
  if (!token) throw new CliError('no token: set BSM_TOKEN or pass --token');
  const ctx: CliContext = { url: values.url ?? process.env.BSM_URL ?? 'http://localhost:3000', token };
  const need = () => {
    if (!arg) throw new CliError(`${cmd} needs an argument; see bsm --help`);
    return arg;
  };
  switch (cmd) {
    case 'upload': {
      const r = await uploadFile(ctx, need(), { websiteId: values['website-id'], layout: values.layout, gzip: values.gzip, out: process.stderr });
      process.stdout.write(`batch ${r.batchId} ${r.duplicate ? '(this dump was uploaded before) ' : ''}${r.status}\n`);
      if (values.wait) return exitFor((await waitFor(ctx, r.batchId)).status);
      return 0;
    }
    case 'status': {
      const b = await call(ctx, 'GET', `/v1/batches/${need()}`);
      if (values.json) process.stdout.write(`${JSON.stringify(b, null, 2)}\n`);
      else printBatch(b);
      return 0;
    }
    case 'retry': {
      const r = await call(ctx, 'POST', `/v1/admin/batches/${need()}/retry`, { force: Boolean(values.force) });
      process.stdout.write(`batch ${r.batchId} ${r.status} (run ${r.run}${r.retried.length ? `, retried ${r.retried.join(', ')}` : ''})\n`);
      return 0;
    }
    case 'rollback': {
      const r = await call(ctx, 'POST', `/v1/admin/batches/${need()}/rollback`, { force: Boolean(values.force) });
      process.stdout.write(`rolling back ${r.batches.join(', ')} (newest first)\n`);
      if (values.wait) return exitFor((await waitFor(ctx, r.batchId)).status, 'rolled_back');
      return 0;
    }
    case 'verify': {
      const r = await call(ctx, 'POST', `/v1/admin/batches/${need()}/verify`);
      const v = r.verification;
      process.stdout.write(v.ok ? 'verified: ok\n' : `verification failed: ${v.problems.join('; ')}\n${v.differences.map((d: ApiJson) => `  ${d.table} ${d.sourceId ?? d.rowId}: ${d.problem}`).join('\n')}\n`);
      return v.ok ? 0 : 1;
    }
    case 'batches': {
      const q = new URLSearchParams();
      if (values.status) q.set('status', values.status);
      if (values.user) q.set('userId', values.user);
      if (values.limit) q.set('limit', values.limit);
      const r = await call(ctx, 'GET', `/v1/admin/batches?${q}`);
      for (const b of r.batches) process.stdout.write(`${b.id}  ${b.status.padEnd(15)} ${String(b.userId).padEnd(20)} ${new Date(b.createdAt).toISOString()}  ${b.entryCount} entries\n`);
      return 0;
    }
    case 'tokens': {
      const q = new URLSearchParams({ includeRevoked: String(Boolean(values.all)) });
      if (values.user) q.set('userId', values.user);
      const r = await call(ctx, 'GET', `/v1/admin/tokens?${q}`);
      for (const t of r.tokens) {
        process.stdout.write(`${t.id}  ${t.role.padEnd(9)} ${String(t.userId).padEnd(20)} ${new Date(t.createdAt).toISOString()}  ${t.revokedAt ? `revoked ${new Date(t.revokedAt).toISOString()}` : 'active'}${t.label ? `  ${t.label}` : ''}\n`);
      }
      return 0;
    }
    case 'mint-token': {
      const r = await call(ctx, 'POST', '/v1/admin/tokens', { userId: need(), role: values.role ?? 'uploader', ...(values.label ? { label: values.label } : {}) });
      process.stderr.write(`token ${r.tokenId} for ${r.userId} (${r.role}); it is shown this once:\n`);
      process.stdout.write(`${r.token}\n`);
      return 0;
    }
    case 'revoke-token': {
      const r = await call(ctx, 'DELETE', `/v1/admin/tokens/${need()}`);
      process.stdout.write(`token ${r.id} of ${r.userId} revoked at ${new Date(r.revokedAt).toISOString()}\n`);
      return 0;
    }
    default:
      throw new CliError(`unknown command "${cmd}"; see bsm --help`);
  }
}

function exitFor(status: string, want = 'completed'): number {
  return status === want ? 0 : 1;
}

const USAGE = `bsm — browser-storage-migrator command line (BSM_URL, BSM_TOKEN or --url, --token)

  bsm upload <dump-file> [--website-id ID] [--layout L] [--gzip] [--wait]
                                                      upload a dump (JSON, or NDJSON for .ndjson/.jsonl; .gz: gzip), resumable;
                                                      --layout: catalyst (the default) or generic; --gzip: compress it first
  bsm status <batch> [--json]                         status and phases
  bsm retry <batch> [--force]                         retry what failed / re-apply a rolled-back batch
  bsm rollback <batch> [--force] [--wait]             roll back (forced: with the later batches)
  bsm verify <batch>                                  verify the batch's rows again
  bsm batches [--status S] [--user U] [--limit N]     list batches
  bsm tokens [--user U] [--all]                       list tokens (--all: revoked ones too)
  bsm mint-token <user> [--role operator] [--label L] mint a token (printed once)
  bsm revoke-token <token-id>                         revoke a token

upload is resumable: after an interruption, run the same command again. BSM_CHUNK_BYTES: bytes per
request (default 8 MiB); BSM_STATE_DIR: where unfinished uploads are remembered (default $TMPDIR/bsm-uploads).
A .gz dump file (dump.ndjson.gz, dump.json.gz) is sent compressed as it is; --gzip compresses an
uncompressed one first (into a temporary file), so fewer bytes travel. Every chunk carries its sha256.
`;

if (require.main === module || /bsm(\.js)?$/.test(process.argv[1] ?? '')) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`bsm: ${err instanceof CliError ? err.message : (err as Error).stack}\n`);
      process.exit(1);
    },
  );
}
