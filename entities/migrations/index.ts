import { InitialSchema1764300000000 } from './1764300000000-InitialSchema';
import { PendingEntriesIndex1764400000000 } from './1764400000000-PendingEntriesIndex';
import { DataApi1764600000000 } from './1764600000000-DataApi';
import { Deltas1764800000000 } from './1764800000000-Deltas';

/** Applied in order by `npm run migrate` and at start-up. */
export const MIGRATIONS = [InitialSchema1764300000000, PendingEntriesIndex1764400000000, DataApi1764600000000, Deltas1764800000000];
