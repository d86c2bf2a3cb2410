/**
 * docs/format.md §1a reader: streams a JSON document entry by entry, so a 500 MB dump needs
 * only the memory of its largest entry.
 *
 * Ordering rules (a streaming reader cannot go back):
 * - top-level keys may come in any order; unknown keys are skipped without being built;
 * - a database's `name` and `version`, and a store's `name`, must come before that store's
 *   `records` (else `dump_invalid_structure`); `keyPath`, `autoIncrement` and `indexes`
 *   too when present: absent at that point means keyPath null / not set, and one that shows
 *   up after the records is refused (`dump_invalid_structure`) rather than silently differing
 *   from the entries already read. JSON.stringify of the §1a example order satisfies this.
 */
import { MAX_ENTRY_NODES } from './bounds';
import { DumpFormatError, describeIssues, formatPath, toIssues } from './errors';
import { jsonTokenBatches, JsonSyntaxError, type JsonToken } from './jsonTokens';
import { NDJSON_LIMITS } from './ndjson';
import { DocDatabaseSchema, DocKvItemSchema, DocRecordSchema, DocStoreSchema } from './schema';
import type { DumpEntry, DumpHeader, DumpInput, DumpReader, IdbEntry } from './types';
import { checkDepth, checkFormat, checkHeader, checkVersion, invalidEntry, tooManyNodes, whereText, type Where } from './validate';
import { ValueBuilder } from './valueBuilder';
import type { z } from 'zod';

type DbMeta = z.infer<typeof DocDatabaseSchema>;
type StoreMeta = z.infer<typeof DocStoreSchema>;
type ObjectCtx =
  | { kind: 'top'; key?: string }
  | { kind: 'db'; key?: string; raw: Record<string, unknown>; meta?: DbMeta }
  | { kind: 'store'; key?: string; raw: Record<string, unknown>; meta?: StoreMeta };
type ArrayCtx =
  | { kind: 'kvArray'; area: 'localStorage' | 'sessionStorage'; index: number }
  | { kind: 'dbArray' | 'storeArray' | 'recordArray'; index: number };
type Ctx = { kind: 'root' } | ObjectCtx | ArrayCtx;

const ENTRY_ARRAYS = ['localStorage', 'sessionStorage', 'indexedDB'] as const;
const ARRAY_NAME = { dbArray: 'indexedDB', storeArray: 'stores', recordArray: 'records' } as const;

function structure(message: string, where: Where): DumpFormatError {
  return new DumpFormatError('dump_invalid_structure', `${message} (at ${where.path || 'the top level'}). See docs/format.md §1a for the document shape.`, where);
}

/** Push-driven state machine over the token stream; completed entries wait in `ready`. */
class DocumentWalker {
  /** Filled as header keys arrive; validated once all three are known, or at the end. */
  readonly header = {} as DumpHeader;
  headerValid = false;
  entriesStarted = false;
  ready: DumpEntry | undefined;
  private readonly seen: Partial<Record<'format' | 'version' | 'source', unknown>> = {};
  private readonly stack: Ctx[] = [{ kind: 'root' }];
  /** §1a's entry arrays met so far: all three are required, even when empty. */
  private readonly arrays = new Set<string>();
  private builder: { b: ValueBuilder; done: (v: unknown) => void } | undefined;
  private count = 0;
  private closed = false;

  /** Where we are, for error messages: `indexedDB[0].stores[1].records[7]`. */
  where(): Where {
    const segs: Array<string | number> = [];
    for (const c of this.stack) {
      if (c.kind === 'kvArray') segs.push(c.area, c.index);
      else if (c.kind in ARRAY_NAME) segs.push(ARRAY_NAME[c.kind as keyof typeof ARRAY_NAME], (c as ArrayCtx).index);
    }
    return { path: formatPath(segs), entryIndex: this.count };
  }

  push(t: JsonToken): void {
    // While a leaf value (an entry, a header field, skipped data) is being built, every
    // token belongs to it; the container contexts below only see structure.
    if (this.builder) {
      if (this.builder.b.push(t)) {
        const { b, done } = this.builder;
        this.builder = undefined;
        done(b.result);
      }
      return;
    }
    const ctx = this.stack[this.stack.length - 1];
    if (ctx.kind === 'root') {
      if (t.name !== 'startObject') throw new DumpFormatError('dump_invalid_header', 'A JSON dump must be one JSON object {"format":"browser-storage-dump","version":1,"source":{...},...}.');
      this.stack[0] = { kind: 'top' };
    } else if (ctx.kind === 'top' || ctx.kind === 'db' || ctx.kind === 'store') {
      if (t.name === 'keyValue') ctx.key = t.value;
      else if (t.name === 'endObject') this.closeObject(ctx);
      else this.member(ctx, ctx.key!, t);
    } else if (t.name === 'endArray') {
      this.stack.pop();
    } else {
      ctx.index++; // a token here starts the next element of the array
      this.element(ctx, t);
    }
  }

  /**
   * Builds one leaf (an entry, a header field) within what a §1b line may hold: an IndexedDB record's key and
   * value's worth of nodes (MAX_VALUE_NODES each; checkDepth then checks each), and the line's characters
   * (its strings, keys and numbers together), so a record of 40 million `{}` or an entry of 300 Mi
   * characters is refused while it is read, as its line would be, instead of reaching a worker's heap.
   */
  private build(t: JsonToken, done: (v: unknown) => void): void {
    const b = new ValueBuilder(false, {
      maxNodes: MAX_ENTRY_NODES,
      maxChars: NDJSON_LIMITS.maxLineChars,
      tooManyNodes: () => tooManyNodes(this.where(), `The value at ${whereText(this.where())}`),
      tooLong: () => new DumpFormatError('dump_entry_too_large',
        `The entry at ${whereText(this.where())} holds more than ${NDJSON_LIMITS.maxLineChars} characters, the most one entry may hold ` +
        `(as one NDJSON line); one entry this large cannot be migrated. Leave it out of the dump.`, this.where()),
    });
    if (b.push(t)) done(b.result);
    else this.builder = { b, done };
  }

  private skip(t: JsonToken): void {
    const b = new ValueBuilder(true);
    if (!b.push(t)) this.builder = { b, done: () => undefined };
  }

  private enterArray(t: JsonToken, ctx: ArrayCtx, name: string): void {
    if (t.name !== 'startArray') throw structure(`"${name}" must be an array`, this.where());
    this.stack.push(ctx);
  }

  private member(ctx: ObjectCtx, key: string, t: JsonToken): void {
    if (ctx.kind === 'top') {
      if (key === 'format' || key === 'version' || key === 'source') {
        return this.build(t, (v) => this.headerField(key, v));
      }
      if (key === 'localStorage' || key === 'sessionStorage' || key === 'indexedDB') {
        this.arrays.add(key);
        this.entriesStarted = true;
        const arr: ArrayCtx = key === 'indexedDB' ? { kind: 'dbArray', index: -1 } : { kind: 'kvArray', area: key, index: -1 };
        return this.enterArray(t, arr, key);
      }
      return this.skip(t); // "Unknown top-level keys: ignore"
    }
    const isDb = ctx.kind === 'db';
    const childArray = isDb ? 'stores' : 'records';
    if (key === childArray) {
      if (!isDb) this.checkMetaForRecords(ctx);
      return this.enterArray(t, { kind: isDb ? 'storeArray' : 'recordArray', index: -1 }, key);
    }
    const metaKeys = isDb ? ['name', 'version'] : ['name', 'keyPath', 'autoIncrement', 'indexes'];
    if (!metaKeys.includes(key)) return this.skip(t);
    if (ctx.meta) {
      throw structure(`"${key}" comes after the records it describes; put "name", "version", "keyPath", ` +
        '"autoIncrement" and "indexes" before "stores"/"records"', this.where());
    }
    this.build(t, (v) => { ctx.raw[key] = v; });
  }

  private element(ctx: ArrayCtx, t: JsonToken): void {
    if (ctx.kind === 'dbArray' || ctx.kind === 'storeArray') {
      if (t.name !== 'startObject') throw structure(`each element of "${ARRAY_NAME[ctx.kind]}" must be an object`, this.where());
      this.stack.push({ kind: ctx.kind === 'dbArray' ? 'db' : 'store', raw: {} });
    } else if (ctx.kind === 'kvArray') {
      this.build(t, (v) => {
        const item = DocKvItemSchema.safeParse(v);
        if (!item.success) throw invalidEntry(item.error, this.where(), ctx.area);
        this.emit({ area: ctx.area, key: item.data.key, value: item.data.value });
      });
    } else {
      this.build(t, (v) => {
        const rec = DocRecordSchema.safeParse(v);
        if (!rec.success) throw invalidEntry(rec.error, this.where(), 'indexedDB');
        checkDepth(rec.data, this.where());
        const db = this.nearest('db').meta!;
        const store = this.nearest('store').meta!;
        // The store-level fields are copied onto each entry, as in the §1b line form.
        const entry: IdbEntry = {
          area: 'indexedDB', db: db.name, dbVersion: db.version, store: store.name, keyPath: store.keyPath,
          key: rec.data.key, value: rec.data.value,
        };
        if (store.autoIncrement !== undefined) entry.autoIncrement = store.autoIncrement;
        if (store.indexes !== undefined) entry.indexes = store.indexes;
        this.emit(entry);
      });
    }
  }

  private nearest<K extends 'db' | 'store'>(kind: K): Extract<Ctx, { kind: K }> {
    for (let i = this.stack.length - 1; i >= 0; i--) if (this.stack[i].kind === kind) return this.stack[i] as Extract<Ctx, { kind: K }>;
    throw new Error(`unreachable: no ${kind} context`);
  }

  /** Records are about to stream: the db and store they belong to must be known now. */
  private checkMetaForRecords(store: Extract<Ctx, { kind: 'store' }>): void {
    this.validateMeta(this.nearest('db'), 'database needs "name" (non-empty string) and "version" (positive integer) before its "stores"');
    this.validateMeta(store, 'store needs "name" (and "keyPath"/"autoIncrement" if any) before its "records"');
  }

  private validateMeta(ctx: Extract<Ctx, { kind: 'db' | 'store' }>, need: string): void {
    if (ctx.meta) return;
    const parsed = (ctx.kind === 'db' ? DocDatabaseSchema : DocStoreSchema).safeParse(ctx.raw);
    if (!parsed.success) {
      const w = this.where();
      const issues = toIssues(parsed.error);
      throw new DumpFormatError('dump_invalid_structure', `The ${need} (at ${w.path}): ${describeIssues(issues)}.`, { ...w, issues });
    }
    ctx.meta = parsed.data as DbMeta & StoreMeta;
  }

  private closeObject(ctx: ObjectCtx): void {
    if (ctx.kind === 'db') this.validateMeta(ctx, 'database needs "name" (non-empty string) and "version" (positive integer)');
    if (ctx.kind === 'store') this.validateMeta(ctx, 'store needs "name"');
    this.stack.pop();
    if (ctx.kind === 'top') this.closed = true;
  }

  private emit(entry: DumpEntry): void {
    this.count++;
    this.ready = entry;
  }

  private headerField(key: 'format' | 'version' | 'source', v: unknown): void {
    // Check format/version as soon as they arrive, so a foreign document fails early.
    if (key === 'format') checkFormat(v, { path: 'format' });
    if (key === 'version') checkVersion(v, { path: 'version' });
    this.seen[key] = v;
    if ('format' in this.seen && 'version' in this.seen && 'source' in this.seen) this.validateHeader();
  }

  private validateHeader(): void {
    Object.assign(this.header, checkHeader(this.seen, {}));
    this.headerValid = true;
  }

  /** Input ended cleanly: the document must be closed and its header complete. */
  finish(): void {
    if (!this.closed) throw new DumpFormatError('dump_truncated', 'The JSON document ended before its closing "}": the upload was cut off. Send the complete dump again.', this.where());
    if (!this.headerValid) this.validateHeader();
    // §1a: "localStorage", "sessionStorage" and "indexedDB" are part of the document, [] when empty. A
    // missing one cannot be told from an exporter that lost an area, so the dump is refused.
    const missing = ENTRY_ARRAYS.filter((a) => !this.arrays.has(a));
    if (missing.length > 0) {
      throw new DumpFormatError('dump_missing_array',
        `The dump has no ${missing.map((a) => `"${a}"`).join(', ')} array: a JSON dump (docs/format.md §1a) carries all of "localStorage", ` +
        '"sessionStorage" and "indexedDB", [] when the browser held nothing there. Export the dump again.', { missing });
    }
  }
}

function syntaxError(err: unknown, walker: DocumentWalker): unknown {
  if (!(err instanceof JsonSyntaxError)) return err;
  const w = walker.where();
  const at = w.path ? ` (inside ${w.path})` : '';
  return err.atEnd
    ? new DumpFormatError('dump_truncated', `The JSON document ends before it is complete${at}: the upload was cut off. The dump is refused as a whole; send the complete dump again.`, w)
    : new DumpFormatError('dump_invalid_json', `The dump is not valid JSON${at}: ${err.message}. Re-export the dump.`, w);
}

/** Reads up to the header (or the first entry array) and returns the reader. */
export async function openJsonDocument(input: DumpInput): Promise<DumpReader> {
  const batches = jsonTokenBatches(input);
  const walker = new DocumentWalker();
  let batch: JsonToken[] = [];
  let i = 0;
  let ended = false;
  try {
    // Stop as soon as the header is known, or when entries start before it: we must not
    // buffer entries to wait for a header that a document may put last.
    fill: for (;;) {
      while (i < batch.length) {
        walker.push(batch[i++]);
        if (walker.headerValid || walker.entriesStarted) break fill;
      }
      const r = await batches.next();
      if (r.done) { ended = true; walker.finish(); break; }
      [batch, i] = [r.value, 0];
    }
  } catch (err) {
    await batches.return();
    throw syntaxError(err, walker);
  }

  async function* entries(): AsyncGenerator<DumpEntry, void, undefined> {
    try {
      while (!ended) {
        while (i < batch.length) {
          walker.push(batch[i++]); // at most one entry completes per token
          if (walker.ready) { const e = walker.ready; walker.ready = undefined; yield e; }
        }
        const r = await batches.next();
        if (r.done) { ended = true; walker.finish(); } else [batch, i] = [r.value, 0];
      }
    } catch (err) {
      throw syntaxError(err, walker);
    } finally {
      await batches.return(); // stop reading if the consumer left early
    }
  }
  return { header: walker.header, entries: entries(), headerComplete: walker.headerValid };
}
