/**
 * The layout registry: the one place the pipeline learns which layouts exist. A batch records its layout's
 * name (`migration_batches.layout`, chosen per upload: `?layout=`, the tus metadata key `layout`); the
 * worker gets this registry and runs each batch with its own layout. Nothing else of jobs/, worker/ or api/
 * imports a layout's code (.dependency-cruiser.cjs: only-the-registry-imports-layouts).
 */
import { Errors } from '../core/errors';
import { phaseDependencies, phaseList, PIPELINE_PHASES, SLICE_JOB, type PhaseName } from './names';
import { websites as catalystWebsites } from './phases/catalyst/websites';
import type { LayoutRegistry, RegisteredLayout } from './phases/context';
import { catalystLayout } from './transforms/catalyst';
import { genericLayout } from './transforms/generic';
import { PRESERVED_TABLE } from './transforms/layout';
import type { TableName } from './transforms/types';

export const LAYOUTS: LayoutRegistry = {
  catalyst: { ...catalystLayout, handlers: { websites: catalystWebsites } },
  generic: genericLayout,
};

/** What a batch gets when its upload names none (and what every batch before layouts existed is). */
export const DEFAULT_LAYOUT = 'catalyst';
export const LAYOUT_NAMES: readonly string[] = Object.keys(LAYOUTS);

export function isLayoutName(name: unknown): name is string {
  return typeof name === 'string' && Object.hasOwn(LAYOUTS, name);
}

/** The registered layout of that name; an unknown one is a 400 `unknown_layout` naming the known ones. */
export function layoutFor(name: string): RegisteredLayout {
  if (!isLayoutName(name)) throw unknownLayout(name);
  return LAYOUTS[name];
}

export function unknownLayout(name: unknown) {
  return Errors.badRequest('unknown_layout', `Unknown layout ${JSON.stringify(name)}: the known layouts are ${LAYOUT_NAMES.join(', ')}.`, { layout: name, known: LAYOUT_NAMES });
}

/** What each of a batch's phases waits for (names.ts phaseDependencies), from its layout; a layout no longer registered keeps the chain. */
export function batchDependencies(layout: string, phases: readonly PhaseName[]): Map<PhaseName, PhaseName[]> {
  return phaseDependencies(isLayoutName(layout) ? LAYOUTS[layout].phases : [], phases);
}

/** The phase list a batch of this layout is created with (migration_phases, by position). */
export function phasesOf(name: string): PhaseName[] {
  return phaseList(layoutFor(name).phases);
}

/** Every table any layout writes, each layout's parents first, preserved_entries last (e.g. for asset references). */
export const ALL_TABLES: readonly TableName[] = [...new Set(Object.values(LAYOUTS).flatMap((l) => l.tables)), PRESERVED_TABLE];

/** Every phase name of any layout, pipeline phases included (metrics start every series at 0). */
export const ALL_PHASES: readonly PhaseName[] = [...new Set(Object.values(LAYOUTS).flatMap((l) => phaseList(l.phases)))];

/** A registry that breaks a rule fails at start-up, not in the middle of a batch. */
function checkRegistry(layouts: LayoutRegistry): void {
  for (const [key, l] of Object.entries(layouts)) {
    if (l.name !== key) throw new Error(`layout registered as ${key} is named ${l.name}`);
    const names = l.phases.map((p) => p.name);
    const clash = names.filter((n, i) => PIPELINE_PHASES.includes(n) || n === SLICE_JOB || names.indexOf(n) !== i);
    if (clash.length) throw new Error(`layout ${key}: phase names ${clash.join(', ')} are the pipeline's or repeated`);
    for (const p of l.phases) if (p.custom && !l.handlers?.[p.name]) throw new Error(`layout ${key}: custom phase ${p.name} has no handler`);
    l.phases.forEach((p, i) => {
      const unknown = (p.after ?? []).filter((a) => !l.phases.slice(0, i).some((q) => q.name === a));
      if (unknown.length) throw new Error(`layout ${key}: phase ${p.name} is after ${unknown.join(', ')}, which is not a phase before it`);
    });
    for (const k of Object.keys(l.slicedTransforms ?? {})) {
      if (l.secretKinds.includes(k)) throw new Error(`layout ${key}: kind ${k} holds secrets and cannot be sliced (slices are staged in clear)`);
    }
  }
}
checkRegistry(LAYOUTS);
