/** Public API of the dump-format module (docs/format.md §1). Pure: no database, no network. */
export * from './types';
export { DumpFormatError, isDumpFormatError } from './errors';
export type { DumpErrorCode, DumpErrorDetails, DumpIssue } from './errors';
export { depthExceeds, escapeLoneSurrogates, findUnstorable, isStorableText, printableJson, printableText, jsonTextNodes, jsonTextTooDeep, measureJsonText, MAX_SLICED_VALUE_NODES, MAX_VALUE_DEPTH, MAX_VALUE_NODES } from './bounds';
export { decodeValue, encodeValue, isTagged, isBinaryValue } from './codec';
export type { BinaryValue, BlobValue, BufferSourceValue, BufferKind } from './codec';
export {
  SourceSchema, HeaderSchema, KeyPathSchema, IndexSchema, KvEntrySchema, IdbEntrySchema, TrailerSchema,
  DocKvItemSchema, DocDatabaseSchema, DocStoreSchema, DocRecordSchema,
} from './schema';
export { openDump, openDelta, validateDump, entryRef } from './readDump';
export { RawJsonString } from './rawStrings';
export type { DumpCounts } from './readDump';
