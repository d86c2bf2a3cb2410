/**
 * Closed-loop load for the read-path bench: N concurrent callers, each sending its next request as soon as
 * the previous one answered, for a fixed time. Over HTTP with autocannon (keep-alive connections); against
 * Postgres with N loops on a pg Pool. Both record every latency themselves (autocannon's own histogram
 * rounds to whole ms) and are summarized by the same function, so the two sides are comparable. A run
 * returns its raw sample; samples of several short runs (interleaved rounds) are summarized together.
 */
import autocannon from 'autocannon';
import type { Pool } from 'pg';

export interface LoadStats {
  /** Successful requests (HTTP 2xx, or a query sequence that resolved). */
  requests: number;
  seconds: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  /** Non-2xx answers, socket errors, timeouts, rejected queries. */
  failures: number;
  failureNote: string;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** One run's raw results: every successful request's latency (ms), the run's wall time, what failed. */
export interface Sample {
  latencies: number[];
  seconds: number;
  failures: number;
  notes: string[];
}

/** Percentiles over all latencies of the samples; req/s = successful requests / summed wall time. */
export function summarize(samples: Sample[]): LoadStats {
  const sorted = Float64Array.from(samples.flatMap((x) => x.latencies)).sort();
  const seconds = samples.reduce((a, x) => a + x.seconds, 0);
  const failures = samples.reduce((a, x) => a + x.failures, 0);
  return {
    requests: sorted.length, seconds, rps: sorted.length / seconds,
    p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), failures, failureNote: [...new Set(samples.flatMap((x) => x.notes))].join(', '),
  };
}

export interface HttpLoad {
  base: string;
  headers: Record<string, string>;
  /** Request paths, sent in turn (shared across connections: consecutive requests ask for different pages). */
  paths: string[];
  connections: number;
  seconds: number;
}

/** GETs `paths` in rotation over `connections` keep-alive connections for `seconds`. */
export async function httpLoad(o: HttpLoad): Promise<Sample> {
  let next = 0;
  const latencies: number[] = [];
  let failures = 0;
  const codes = new Map<number, number>();
  const t0 = process.hrtime.bigint();
  const instance = autocannon({
    url: o.base, connections: o.connections, duration: o.seconds, pipelining: 1, timeout: 10, headers: o.headers,
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: o.paths[next++ % o.paths.length] }) }],
  });
  instance.on('response', (_client, status, _bytes, ms) => {
    if (status >= 200 && status < 300) latencies.push(ms);
    else {
      failures++;
      codes.set(status, (codes.get(status) ?? 0) + 1);
    }
  });
  const result = await instance;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const notes = [...codes].map(([c, n]) => `${n}× HTTP ${c}`);
  if (result.errors) notes.push(`${result.errors} socket errors`);
  if (result.timeouts) notes.push(`${result.timeouts} timeouts`);
  return { latencies, seconds, failures: failures + result.errors + result.timeouts, notes };
}

export interface PgLoad {
  pool: Pool;
  loops: number;
  seconds: number;
  /** One "request": the statements the API would run for request number `i`. */
  request: (pool: Pool, i: number) => Promise<unknown>;
}

/** `loops` concurrent loops, each running `request` back to back until `seconds` have passed. */
export async function pgLoad(o: PgLoad): Promise<Sample> {
  let next = 0;
  const latencies: number[] = [];
  let failures = 0;
  let firstError = '';
  const t0 = process.hrtime.bigint();
  const deadline = t0 + BigInt(Math.round(o.seconds * 1e9));
  const loop = async () => {
    while (process.hrtime.bigint() < deadline) {
      const start = process.hrtime.bigint();
      try {
        await o.request(o.pool, next++);
        latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
      } catch (err) {
        failures++;
        firstError ||= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: o.loops }, loop));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { latencies, seconds, failures, notes: firstError ? [`error: ${firstError}`] : [] };
}
