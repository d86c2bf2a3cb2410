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
  /**
   * The migration queue, for slice jobs and for waking delayed phase jobs; without it (a phase run outside a
   * worker) large entries are mapped whole and waiting phases find out on their own.
   */
  queue?: MigrationQueue;
}

/** The migration queue as phases need it (worker/createWorkers.ts binds it to BullMQ). */
export interface MigrationQueue {
  /** Adds slice jobs; an id already in the queue is left as it is. */
  addSlices(jobs: { id: string; data: JobPayloads['slice'] }[]): Promise<void>;
  /** Runs a delayed phase job (waiting for its slices or its dependencies) now, if it is still delayed. */
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
