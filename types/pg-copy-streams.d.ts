/** Minimal typings for pg-copy-streams 7 (it ships none): COPY ... FROM STDIN / TO STDOUT as streams. */
declare module 'pg-copy-streams' {
  import type { Readable, Writable } from 'node:stream';
  import type { Submittable } from 'pg';
  export function from(sql: string): Writable & Submittable & { rowCount?: number };
  export function to(sql: string): Readable & Submittable & { rowCount?: number };
}
