/**
 * The preference keys (docs/catalyst-layout.md §2.4, §2.5, §2.8 and Appendix A) → ONE `user_preferences`
 * row per user: `preferences = { navigation, preview, previewAlt?, projectContext, ui: { [key]: value } }`.
 *
 * Decisions:
 *  - `preview-settings` (PreviewContext) and `previewSettings` (PreviewControls) hold the same object
 *    (§2.5). Equal (key order ignored) → one `preview`. Different → `preview` = `preview-settings`
 *    (the context's key, the one the app loads) and `previewAlt` = `previewSettings`, with a note.
 *    Only `previewSettings` present → it becomes `preview`, noted.
 *  - `project-context` (pretty-printed JSON): nothing is revived; `conversationMetadata.lastActivity` is
 *    validated, and an invalid one is reported ('invalid_date') but kept verbatim in the JSON.
 *  - UI keys: JSON values are parsed (`"true"` → true); a value that is not JSON (`dashboard-density` =
 *    `compact`) is kept as the string.
 *  - createdAt = updatedAt = project-context `lastActivity` when valid, else 1970-01-01T00:00:00Z
 *    (unknown): localStorage keeps no write times and transforms stay deterministic.
 *  - A structured key (navigation, preview, project-context) whose value is not a JSON object is
 *    rejected; every other entry is migrated into the row.
 */
import type { ElementReject, SourceEntry, TransformContext, TransformResult } from '../types';
import { readDate, unknownDate } from './dates';
import { type EntryOutcome, type GroupResult, type Obj, isRecord, parseJson, row } from './util';

const STRUCTURED: Record<string, string> = {
  'catalyst-navigation-state': 'navigation',
  'preview-settings': 'preview',
  previewSettings: 'preview',
  'project-context': 'projectContext',
};

/** JSON with sorted keys, to compare two objects regardless of key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isRecord(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  return JSON.stringify(v) ?? 'undefined';
}

interface Analysis { preferences: Obj; outcomes: EntryOutcome[]; notes: Obj; lastActivity: Date | null; used: number }

function analyse(entries: SourceEntry[]): Analysis {
  const outcomes: EntryOutcome[] = [];
  const structured = new Map<string, { seq: number; value: Obj }>();
  const ui: Obj = {};
  let lastActivity: Date | null = null;
  for (const e of entries) {
    if (typeof e.key !== 'string') {
      outcomes.push({ seq: e.seq, outcome: 'rejected', reason: 'preference key is not a string' });
      continue;
    }
    if (!(e.key in STRUCTURED)) {
      // A UI key: JSON when it parses, the raw string otherwise.
      const p = typeof e.value === 'string' ? parseJson(e.value) : { ok: true as const, value: e.value };
      ui[e.key] = p.ok ? p.value : e.value;
      outcomes.push({ seq: e.seq, outcome: 'migrated' });
      continue;
    }
    const p = parseJson(e.value);
    if (!p.ok || !isRecord(p.value)) {
      outcomes.push({ seq: e.seq, outcome: 'rejected', reason: p.ok ? `${e.key} is not a JSON object` : p.reason });
      continue;
    }
    const rejects: ElementReject[] = [];
    if (e.key === 'project-context') {
      const meta = p.value.conversationMetadata;
      if (isRecord(meta)) {
        const d = readDate(meta.lastActivity, 'conversationMetadata.lastActivity', rejects);
        if (d instanceof Date) lastActivity = d;
      }
    }
    structured.set(e.key, { seq: e.seq, value: p.value });
    outcomes.push({ seq: e.seq, outcome: 'migrated', ...(rejects.length ? { rejects } : {}) });
  }

  const preferences: Obj = {};
  const notes: Obj = {};
  const nav = structured.get('catalyst-navigation-state');
  if (nav) preferences.navigation = nav.value;
  const a = structured.get('preview-settings');
  const b = structured.get('previewSettings');
  if (a) preferences.preview = a.value;
  if (a && b && canonical(a.value) !== canonical(b.value)) {
    preferences.previewAlt = b.value;
    notes.previewSettingsDiffer = 'preview-settings and previewSettings differ: preview-settings (the PreviewContext key) is `preview`, previewSettings is kept as `previewAlt`';
  } else if (!a && b) {
    preferences.preview = b.value;
    notes.previewSettingsSource = 'only previewSettings was present; used as `preview`';
  }
  const pc = structured.get('project-context');
  if (pc) preferences.projectContext = pc.value;
  preferences.ui = ui;
  const used = outcomes.filter((o) => o.outcome === 'migrated').length;
  return { preferences, outcomes, notes, lastActivity, used };
}

/** The one user_preferences row from every 'preference' entry of the dump. */
export function buildPreferences(entries: SourceEntry[], ctx: TransformContext): TransformResult {
  const a = analyse(entries);
  const rejects = a.outcomes.flatMap((o) => {
    const key = entries.find((e) => e.seq === o.seq)?.key;
    return (o.rejects ?? []).map((r) => ({ ...r, path: `${String(key)}:${r.path}` }));
  });
  if (a.used === 0) {
    return entries.length
      ? { outcome: 'rejected', reason: 'no preference entry could be read (see the per-entry reasons)', rejects }
      : { outcome: 'migrated', reason: 'no preference entries' };
  }
  const at = a.lastActivity ?? unknownDate();
  const notes: Obj = { ...a.notes };
  if (!a.lastActivity) notes.preferencesDate = 'no project-context lastActivity: created/updated set to 1970-01-01T00:00:00Z (unknown)';
  const prefs = row(ctx, ctx.id('user_preferences'), 'localStorage', { preferences: a.preferences, createdAt: at, updatedAt: new Date(at.getTime()) });
  return { rows: { user_preferences: [prefs] }, rejects, notes };
}

/** For each input seq: 'migrated', or 'rejected' with its reason (and the element rejects of that entry). */
export function preferenceOutcomes(entries: SourceEntry[]): EntryOutcome[] {
  return analyse(entries).outcomes;
}

/** buildPreferences and preferenceOutcomes in one call, for catalystLayout.groupTransforms. */
export function mergePreferencesGroup(entries: SourceEntry[], ctx: TransformContext): GroupResult {
  const result = buildPreferences(entries, ctx);
  return { result: { ...result, rejects: [] }, outcomes: preferenceOutcomes(entries) };
}
