/** What a phase gets to work with. Built by the worker; phases never read process.env or Redis. */
import type { DataSource } from 'typeorm';
import type { Config } from '../../core/config';
import type { SecretBox } from '../../core/crypto';
import type { Logger } from '../../core/logger';
import type { ObjectStore } from '../../core/objectStore';
import type { MigrationBatch } from '../../entities';
import type { PhaseName } from '../names';
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
}

export interface PhaseRun {
  deps: PhaseDeps;
  batch: MigrationBatch;
  /** The batch's layout (its `layout` column). */
  layout: RegisteredLayout;
  phase: PhaseName;
  log: Logger;
  /** Reports progress to BullMQ (Bull Board) and to migration_phases. */
  progress(done: number, total: number, rejected?: number): Promise<void>;
}

export type PhaseHandler = (run: PhaseRun) => Promise<void>;
