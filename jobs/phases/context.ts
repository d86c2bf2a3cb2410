/** What a phase gets to work with. Built by the worker; phases never read process.env or Redis. */
import type { DataSource } from 'typeorm';
import type { Config } from '../../core/config';
import type { SecretBox } from '../../core/crypto';
import type { Logger } from '../../core/logger';
import type { ObjectStore } from '../../core/objectStore';
import type { MigrationBatch } from '../../entities';
import type { JobPayloads, PhaseName } from '../names';
import type { Layout } from '../transforms/layout';

/** A layout as the pipeline runs it: the pure layout and the handlers of its custom phases (jobs/layouts.ts). */
export interface RegisteredLayout extends Layout {
  handlers?: Readonly<Record<string, PhaseHandler>>;
}

/** Layouts by the name a batch records (`migration_batches.layout`). */
export type LayoutRegistry = Readonly<Record<string, RegisteredLayout>>;

export interface PhaseDeps {
  ds: DataSource;
  store: ObjectStore;
  secrets: SecretBox;
  config: Config;
  log: Logger;
  /** Every layout; each phase run gets its batch's (PhaseRun.layout). */
  layouts: LayoutRegistry;
  /** Where slice jobs go (the migration queue); without it, large entries are mapped whole by the phase job. */
  slices?: SliceQueue;
}

/** The migration queue as slicing needs it (worker/createWorkers.ts binds it to BullMQ). */
export interface SliceQueue {
  /** Adds slice jobs; an id already in the queue is left as it is. */
  add(jobs: { id: string; data: JobPayloads['slice'] }[]): Promise<void>;
  /** Runs a phase job delayed until its slices are done now, if it is still delayed. */
  wake(jobId: string): Promise<void>;
}

export interface PhaseRun {
  deps: PhaseDeps;
  batch: MigrationBatch;
  /** The batch's layout (its `layout` column). */
  layout: RegisteredLayout;
  phase: PhaseName;
  /** The BullMQ id of the phase job (slice jobs name it as the job that waits for them). */
  jobId: string;
  /** True when this run resumes a phase job that waited for its slices, not a new attempt. */
  resumed: boolean;
  log: Logger;
  /** Reports progress to BullMQ (Bull Board) and to migration_phases. */
  progress(done: number, total: number, rejected?: number): Promise<void>;
}

export type PhaseHandler = (run: PhaseRun) => Promise<void>;
