/**
 * /v1/preferences — the user's one `user_preferences` row (docs/catalyst-layout.md §2.4, §2.5, §2.8, Appendix A):
 * `{navigation?, preview?, previewAlt?, projectContext?, ui: {<key>: value}}`, built by the migration's
 * own `buildPreferences` from the same localStorage keys the app wrote, so the id, the preview-settings
 * rule (an alternate equal to `preview` is dropped) and the UI-key parsing are the migration's.
 *
 * Decision: a user who has no row yet (nothing migrated or written) gets 200 with the empty state
 * `{preferences: {ui: {}}}`, dates null, and a fixed ETag — not 404. The app merges stored preferences over
 * its defaults (`{...defaults, ...stored}`), so "nothing stored" is a normal first-run answer it can use
 * as is; If-Match with that ETag creates the row only if still nobody has.
 */
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { rowId } from '../../../core/ids';
import { buildPreferences } from '../../../jobs/transforms/catalyst/preferences';
import type { Row, SourceEntry } from '../../../jobs/transforms/types';
import { writeApiRows } from '../../../jobs/write/apiRows';
import { transformContextFor } from '../context';
import { checkIfMatch, etagSql, quote } from '../etag';
import { validationError } from '../mount';
import { route, type DataRequest } from '../route';
import { iso, type Db, type Loaded } from '../rows';
import { ETAG_HEADER, IF_MATCH, IsoDate, JsonObject, errors, IF_NONE_MATCH } from '../schemas';
import { withApiWrite } from '../write';

/** Body key → the localStorage key the app wrote it under (what buildPreferences reads). */
const KEYS = { navigation: 'catalyst-navigation-state', preview: 'preview-settings', previewAlt: 'previewSettings', projectContext: 'project-context' } as const;
const STRUCTURED_KEYS = new Set<string>(Object.values(KEYS));

const Preferences = z
  .strictObject({
    navigation: JsonObject.optional().describe('NavigationState (catalyst-navigation-state)'),
    preview: JsonObject.optional().describe('PreviewSettings (preview-settings)'),
    previewAlt: JsonObject.optional().describe('previewSettings when it differs from preview-settings; dropped when equal to preview'),
    projectContext: JsonObject.optional().describe('ProjectContextState (project-context)'),
    ui: JsonObject.optional().describe('Other UI keys (dashboard-density, catalyst-sidebar-collapsed…) → their values; default {}'),
  })
  .superRefine((v, ctx) => {
    if (v.previewAlt && !v.preview) ctx.addIssue({ code: 'custom', path: ['previewAlt'], message: 'previewAlt is the alternate of preview: send preview too' });
    for (const k of Object.keys(v.ui ?? {})) {
      if (STRUCTURED_KEYS.has(k)) ctx.addIssue({ code: 'custom', path: ['ui', k], message: `${k} is not a UI key: use the top-level field for it` });
    }
  });
type Prefs = z.infer<typeof Preferences>;

/** RFC 7386 merge patch: only the known sections, each an object (merged) or null (removed). */
const PreferencesPatch = z.strictObject({
  navigation: JsonObject.nullable().optional(),
  preview: JsonObject.nullable().optional(),
  previewAlt: JsonObject.nullable().optional(),
  projectContext: JsonObject.nullable().optional(),
  ui: JsonObject.nullable().optional().describe('null empties it'),
});

const PreferencesOut = z.object({
  id: z.uuid(),
  sourceId: z.literal('localStorage'),
  preferences: z.object({ navigation: JsonObject.optional(), preview: JsonObject.optional(), previewAlt: JsonObject.optional(), projectContext: JsonObject.optional(), ui: JsonObject }),
  createdAt: IsoDate.nullable().describe('null while nothing is stored'),
  updatedAt: IsoDate.nullable(),
});

/** The tag of "nothing stored yet" (a stored row's tag is an md5 of its columns, so they cannot meet). */
const EMPTY_ETAG = '"no-preferences"';

async function loadPrefs(db: Db, userId: string): Promise<Loaded | null> {
  const [x] = await db.query(`SELECT to_jsonb(t) AS r, ${etagSql('t')} AS etag FROM user_preferences t WHERE t.user_id = $1`, [userId]);
  return x ? { r: x.r, etag: quote(x.etag) } : null;
}

function shape(userId: string, cur: Loaded | null) {
  const prefs = (cur?.r.preferences ?? {}) as Record<string, unknown>;
  return {
    id: cur?.r.id ?? rowId(userId, 'user_preferences'),
    sourceId: 'localStorage',
    preferences: { ...prefs, ui: prefs.ui ?? {} },
    createdAt: iso(cur?.r.created_at),
    updatedAt: iso(cur?.r.updated_at),
  };
}

const answer = (userId: string, cur: Loaded | null) => ({ body: shape(userId, cur), etag: cur?.etag ?? EMPTY_ETAG });

/** RFC 7386 §2 MergePatch(Target, Patch). */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as object) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/**
 * The row for `prefs`, built by buildPreferences from the localStorage entries the app would hold
 * (values as the JSON text it stored). Dates: created kept, updated now unless nothing changed.
 */
function buildRow(req: DataRequest<unknown, unknown, unknown>, prefs: Prefs, cur: Loaded | null): Row {
  const entries: SourceEntry[] = [];
  const add = (key: string, value: unknown) => entries.push({ seq: entries.length, area: 'localStorage', dbName: null, storeName: null, key, value: JSON.stringify(value) });
  for (const [field, key] of Object.entries(KEYS)) if (prefs[field as keyof typeof KEYS]) add(key, prefs[field as keyof typeof KEYS]);
  for (const [k, v] of Object.entries(prefs.ui ?? {})) add(k, v);
  const ctx = transformContextFor(req.deps.config, req.caller.userId, null);
  // No entries at all (an empty body) is a valid state the transform has no row for: the same row, empty.
  const row = buildPreferences(entries, ctx).rows?.user_preferences?.[0] ?? { id: ctx.id('user_preferences'), userId: req.caller.userId, sourceId: 'localStorage', preferences: { ui: {} } };
  const now = new Date();
  const same = cur !== null && isDeepStrictEqual(JSON.parse(JSON.stringify(row.preferences)), cur.r.preferences);
  return {
    ...row,
    createdAt: cur ? new Date(cur.r.created_at as string) : now,
    updatedAt: same ? new Date(cur.r.updated_at as string) : now,
  };
}

/** Stores `next(current preferences)` after the If-Match check, in one API write. */
function save(req: DataRequest<unknown, unknown, unknown>, next: (current: Record<string, unknown>) => Prefs) {
  return withApiWrite(req, async (m) => {
    const cur = await loadPrefs(m, req.caller.userId);
    checkIfMatch(req.ifMatch, cur?.etag ?? EMPTY_ETAG, 'The preferences');
    await writeApiRows(m, 'user_preferences', [buildRow(req, next(shape(req.caller.userId, cur).preferences), cur)]);
    return answer(req.caller.userId, await loadPrefs(m, req.caller.userId));
  });
}

const tag = 'Preferences';
const NAV = { expandedSections: ['content'], activeView: 'content', searchQuery: '', lastVisited: { overview: '/overview', content: '/content' } };
export const preferenceRoutes = [
  route({
    method: 'get', path: '/v1/preferences', operationId: 'getPreferences', tag, auth: 'user',
    summary: "Get the user's preferences",
    description: 'Before anything is stored the answer is the empty state `{preferences: {ui: {}}}` with null dates (200, not 404), with an ETag of its own.',
    requestHeaders: IF_NONE_MATCH,
    responses: { 200: { description: 'The preferences', schema: PreferencesOut, headers: ETAG_HEADER }, ...errors(304, 401, 403) },
    handler: async (req) => answer(req.caller.userId, await loadPrefs(req.db, req.caller.userId)),
  }),
  route({
    method: 'put', path: '/v1/preferences', operationId: 'replacePreferences', tag, auth: 'user',
    summary: "Replace the user's preferences (created if missing)", body: Preferences, requestHeaders: IF_MATCH,
    responses: { 200: { description: 'The new preferences', schema: PreferencesOut, headers: ETAG_HEADER }, ...errors(400, 401, 403, 412, 415) },
    examples: [{ summary: 'Navigation and a UI key', request: { navigation: NAV, ui: { 'dashboard-density': 'compact' } } }],
    handler: (req: DataRequest<unknown, unknown, Prefs>) => save(req, () => req.body),
  }),
  route({
    method: 'patch', path: '/v1/preferences', operationId: 'updatePreferences', tag, auth: 'user',
    summary: "Change some of the user's preferences (JSON Merge Patch, RFC 7386)", body: PreferencesPatch, requestHeaders: IF_MATCH,
    description: 'Send `application/merge-patch+json` (or `application/json`): objects merge recursively, `null` removes a key, arrays and other values replace.',
    responses: { 200: { description: 'The new preferences', schema: PreferencesOut, headers: ETAG_HEADER }, ...errors(400, 401, 403, 412, 415) },
    examples: [{ summary: 'Collapse the sidebar, drop the search query', request: { navigation: { searchQuery: null }, ui: { 'catalyst-sidebar-collapsed': true } } }],
    handler: (req: DataRequest<unknown, unknown, z.infer<typeof PreferencesPatch>>) =>
      save(req, (current) => {
        // The merged document must still be valid preferences (e.g. previewAlt without preview is not).
        const merged = Preferences.safeParse(mergePatch(current, req.body));
        if (!merged.success) throw validationError('invalid_body', 'request body (once merged)', merged.error);
        return merged.data;
      }),
  }),
];
