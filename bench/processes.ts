/**
 * The API and the worker as separate child processes, as in production (`npm run api` / `npm run worker`),
 * and their memory from /proc. `node --import tsx x.ts` runs the script in the node process itself (tsx's
 * loader hooks run on a thread, not in a child), so the spawned pid IS the process doing the work; that is
 * checked (command line, no child processes) rather than assumed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import * as path from 'node:path';
import IORedis from 'ioredis';

export const ROOT = path.resolve(__dirname, '..');

export interface Service {
  name: string;
  proc: ChildProcess;
  /** Every stdout/stderr line so far (JSON logs), for diagnostics and timings. */
  lines: string[];
  stop(): Promise<void>;
}

/** `maxLines`: keep only about the last that many lines (a loaded API logs one line per request). */
export function startService(name: string, script: string, env: Record<string, string>, nodeFlags: string[] = [], maxLines = Infinity): Service {
  // The sources run through tsx; a dump-validation thread loads it first, as under `npm run api`.
  const proc = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', script], { cwd: ROOT, env: { VALIDATION_THREAD_PRELOAD: 'tsx/cjs', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let partial = '';
  const collect = (chunk: Buffer) => {
    const text = partial + chunk.toString();
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts.filter(Boolean));
    if (lines.length > 2 * maxLines) lines.splice(0, lines.length - maxLines);
  };
  proc.stdout!.on('data', collect);
  proc.stderr!.on('data', collect);
  return {
    name,
    proc,
    lines,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = once(proc, 'exit');
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * The node flags of an npm script whose last command is `[VAR=… ]exec node <flags> --import tsx <file>`
 * (package.json; `npm run api` builds the browser bundle first), so that the bench starts a service exactly
 * as `npm run <name>` does, without npm and a shell in between.
 */
export function npmScriptFlags(name: string): string[] {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const last = (pkg.scripts[name] ?? '').split('&&').at(-1)!.trim();
  const m = /^(?:[A-Z_]+=\S*\s+)*exec node (.*?)\s*--import tsx \S+$/.exec(last);
  if (!m) throw new Error(`npm script "${name}" does not end in "exec node <flags> --import tsx <file>": ${pkg.scripts[name]}`);
  return m[1].split(/\s+/).filter(Boolean);
}

/** Runs a script to completion (e.g. migrations); rejects with its output if it fails. */
export async function runOnce(script: string, env: Record<string, string>): Promise<void> {
  const s = startService(script, script, env);
  const [code] = (await once(s.proc, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`${script} exited ${code}:\n${s.lines.join('\n')}`);
}

/** Resolves when a log line satisfies `test`; rejects if the process exits first. */
export function waitForLine(s: Service, test: (line: string) => boolean, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    const check = () => {
      const hit = s.lines.find(test);
      if (hit) return resolve(hit);
      if (s.proc.exitCode !== null) return reject(new Error(`${s.name} exited ${s.proc.exitCode}:\n${s.lines.join('\n')}`));
      if (Date.now() > deadline) return reject(new Error(`${s.name}: no matching log line in ${timeoutMs} ms:\n${s.lines.join('\n')}`));
      setTimeout(check, 50);
    };
    check();
  });
}

/** A field of /proc/<pid>/status in MB (10^6 bytes, like the dump size; VmRSS: now; VmHWM: peak since start). */
export function procMB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${field} for pid ${pid}`);
  return (Number(m[1]) * 1024) / 1e6; // the kernel's "kB" are KiB
}

/**
 * Confirms that `pid` runs `script` itself. Its only allowed child is esbuild's transform service, which
 * tsx starts to compile ES-module-only dependencies; it does none of the migration's work, so it
 * is reported beside the worker, not counted as the worker.
 */
export function describeProcess(pid: number, script: string): string {
  const cmd = (p: number | string) => readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  const cmdline = cmd(pid);
  if (!cmdline.includes(script)) throw new Error(`pid ${pid} runs "${cmdline}", not ${script}`);
  const children = readdirSync(`/proc/${pid}/task`).flatMap((tid) => readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean));
  const helpers: string[] = [];
  for (const c of children) {
    const what = cmd(c);
    if (!/\/esbuild --service/.test(what)) throw new Error(`pid ${pid} has a child process ${c} (${what}): measure that instead`);
    helpers.push(`child ${c} = esbuild transform service (tsx), ${procMB(Number(c), 'VmRSS').toFixed(0)} MB, not counted`);
  }
  return [`pid ${pid}: ${cmdline.replace(ROOT + path.sep, '')}`, ...helpers].join('; ');
}

const CLK_TCK = 100; // USER_HZ: the unit of /proc/<pid>/stat times on Linux (getconf CLK_TCK), 100 on every mainstream build

/** CPU seconds (user + system) a process has used so far; 0 once it is gone. */
export function procCpuSeconds(pid: number): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 0;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // after "pid (comm) ": state is field 3
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime: fields 14 and 15
}

/**
 * Local ports of `pid`'s TCP connections to `remotePort` (e.g. its Postgres pool), from its socket fds and
 * /proc/<pid>/net/tcp{,6}: the API's backends are then found in pg_stat_activity by client_port.
 */
export function tcpClientPorts(pid: number, remotePort: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  const ports: number[] = [];
  for (const table of ['tcp', 'tcp6']) {
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || !inodes.has(f[9])) continue;
      if (parseInt(f[2].split(':')[1], 16) === remotePort) ports.push(parseInt(f[1].split(':')[1], 16));
    }
  }
  return ports;
}

/** An uploader token for `userId`, minted through the admin API as an operator would. */
export async function mintToken(base: string, adminToken: string, userId = 'bench-user'): Promise<string> {
  const res = await fetch(`${base}/v1/admin/tokens`, {
    method: 'POST', headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ userId }),
  });
  if (res.status !== 201) throw new Error(`minting a token failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

/** Removes every Redis key under the bench's queue prefix. */
export async function dropRedisKeys(url: string, prefix: string): Promise<void> {
  const redis = new IORedis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}
