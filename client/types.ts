/**
 * The dump as the uploader builds it: the §1a document shape of docs/format.md §1, with IndexedDB keys and values
 * already encoded per §1c. Mirrors format/types.ts, which the browser cannot import (it names Node's
 * Buffer and streams); test/client/encode.test.ts checks at compile time that these stay assignable to it.
 */

export const DUMP_FORMAT = 'browser-storage-dump';
export const DUMP_VERSION = 1;

/** A JSON value: what §1c encoding produces. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export interface DumpSource {
  app?: string;
  origin?: string;
  userAgent?: string;
  /** ISO 8601; the only required field (§1a). */
  capturedAt: string;
  /** The contract may grow; unknown fields are kept. */
  [k: string]: unknown;
}

export interface KvItem {
  key: string;
  /** The raw stored string. */
  value: string;
}

export interface IndexDump {
  name: string;
  keyPath: string | string[];
  unique: boolean;
  multiEntry: boolean;
  [k: string]: unknown;
}

export interface RecordDump {
  /** §1c-encoded. */
  key: Json;
  /** §1c-encoded. */
  value: Json;
}

export interface StoreDump {
  name: string;
  keyPath: string | string[] | null;
  autoIncrement: boolean;
  indexes: IndexDump[];
  records: RecordDump[];
}

export interface DatabaseDump {
  name: string;
  version: number;
  stores: StoreDump[];
}

export interface Dump {
  format: typeof DUMP_FORMAT;
  version: typeof DUMP_VERSION;
  source: DumpSource;
  localStorage: KvItem[];
  sessionStorage: KvItem[];
  indexedDB: DatabaseDump[];
}

/** Entries and NDJSON bytes of one area, database or store: what the demo page shows before uploading. */
export interface Tally {
  entries: number;
  bytes: number;
}

export interface DumpSummary {
  total: Tally;
  localStorage: Tally;
  sessionStorage: Tally;
  indexedDB: Tally;
  databases: Array<Tally & { name: string; version: number; stores: Array<Tally & { name: string }> }>;
}

/** One phase as `GET /v1/batches/:id` reports it (docs/http-api.md §2). */
export interface PhaseStatus {
  name: string;
  status: string;
  total: number | null;
  done: number | null;
  rejected: number | null;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface BatchStatus {
  id: string;
  status: string;
  phases: PhaseStatus[];
  counts?: Record<string, number>;
  report?: Record<string, unknown>;
  [k: string]: unknown;
}

export interface BatchReport {
  batchId: string;
  status: string;
  totals: { entries: number; migrated: number; preserved: number; rejected: number; pending: number };
  balanced: boolean;
  [k: string]: unknown;
}

/** What `onProgress` receives, stage by stage. */
export type MigrationProgress =
  /** `partial`: storage is still being read (migrate() streams it), the counts so far. */
  | { stage: 'snapshot'; summary: DumpSummary; partial?: true }
  | { stage: 'upload'; bytesSent: number; bytesTotal: number; resumedFrom: number | null }
  | { stage: 'uploaded'; batchId: string; bytesTotal: number }
  | { stage: 'processing'; batch: BatchStatus }
  | { stage: 'done'; batch: BatchStatus; report: BatchReport | null };

export interface MigrationResult {
  batchId: string;
  /** The batch's terminal status: completed, needs_attention, failed or rolled_back. */
  status: string;
  batch: BatchStatus;
  /** The first page of `/v1/batches/:id/report` (totals, balance, entries). */
  report: BatchReport | null;
  /** True when this call continued an upload a previous page load had started. */
  resumed: boolean;
}
