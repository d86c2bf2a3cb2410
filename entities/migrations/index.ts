import { InitialSchema1764300000000 } from './1764300000000-InitialSchema';
import { PendingEntriesIndex1764400000000 } from './1764400000000-PendingEntriesIndex';
import { DataApi1764600000000 } from './1764600000000-DataApi';
import { DbVersionBigint1764700000000 } from './1764700000000-DbVersionBigint';
import { BatchRowsEntrySeq1764710000000 } from './1764710000000-BatchRowsEntrySeq';
import { Deltas1764800000000 } from './1764800000000-Deltas';
import { BatchAssets1764920000000 } from './1764920000000-BatchAssets';
import { Layouts1765000000000 } from './1765000000000-Layouts';
import { DirectUploads1765100000000 } from './1765100000000-DirectUploads';
import { StagedValueLz41765200000000 } from './1765200000000-StagedValueLz4';
import { EntrySlices1765300000000 } from './1765300000000-EntrySlices';
import { RequirePostgres141765400000000 } from './1765400000000-RequirePostgres14';
import { SliceKeyHash1765500000000 } from './1765500000000-SliceKeyHash';
import { DropRedundantIndexes1765600000000 } from './1765600000000-DropRedundantIndexes';

/** Applied in order by `npm run migrate` and at start-up. */
export const MIGRATIONS = [
  InitialSchema1764300000000, PendingEntriesIndex1764400000000, DataApi1764600000000, DbVersionBigint1764700000000, BatchRowsEntrySeq1764710000000,
  Deltas1764800000000, BatchAssets1764920000000, Layouts1765000000000, DirectUploads1765100000000, StagedValueLz41765200000000,
  EntrySlices1765300000000, RequirePostgres141765400000000, SliceKeyHash1765500000000, DropRedundantIndexes1765600000000,
];
