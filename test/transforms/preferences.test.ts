import { buildPreferences, catalystLayout, preferenceOutcomes } from '../../jobs/transforms/catalyst';
import { ls, makeCtx, previewSettings } from './fixtures';

const { ctx } = makeCtx();
const nav = { expandedSections: ['content'], activeView: 'content', searchQuery: '', lastVisited: { overview: '/overview', content: '/content', analytics: '/analytics', development: '/development', integrations: '/integrations' } };
const projectContext = { currentStage: 'planning', projectName: 'Bean There', conversationMetadata: { topicHistory: ['menu', 'ordering'], currentIntent: 'create', lastActivity: '2025-08-12T08:10:00.000Z', messageCount: 4 } };

describe('preferences (§2.4, §2.5, §2.8, Appendix A)', () => {
  test('one user_preferences row from every preference key', () => {
    const entries = [
      ls('catalyst-navigation-state', JSON.stringify(nav)),
      ls('preview-settings', JSON.stringify(previewSettings)),
      // same object, other key order: still "identical"
      ls('previewSettings', JSON.stringify(Object.fromEntries(Object.entries(previewSettings).reverse()))),
      ls('project-context', JSON.stringify(projectContext, null, 2)),
      ls('dashboard-density', 'compact'),
      ls('catalyst-sidebar-collapsed', 'true'),
      ls('command-palette-recent', '["content","settings"]'),
    ];
    const r = buildPreferences(entries, ctx);
    expect(r.rows!.user_preferences).toEqual([{
      id: ctx.id('user_preferences'), userId: 'user-1', sourceId: 'localStorage',
      preferences: {
        navigation: nav, preview: previewSettings, projectContext,
        ui: { 'dashboard-density': 'compact', 'catalyst-sidebar-collapsed': true, 'command-palette-recent': ['content', 'settings'] },
      },
      createdAt: new Date('2025-08-12T08:10:00.000Z'), updatedAt: new Date('2025-08-12T08:10:00.000Z'),
    }]);
    expect(r.notes).toEqual({});
    expect(preferenceOutcomes(entries).map((o) => o.outcome)).toEqual(Array(7).fill('migrated'));
  });

  test('preview-settings and previewSettings differ → preview-settings wins, the other is previewAlt, noted', () => {
    const alt = { ...previewSettings, zoom: 2 };
    const r = buildPreferences([ls('previewSettings', JSON.stringify(alt)), ls('preview-settings', JSON.stringify(previewSettings))], ctx);
    expect(r.rows!.user_preferences![0].preferences).toMatchObject({ preview: previewSettings, previewAlt: alt });
    expect(r.notes).toMatchObject({ previewSettingsDiffer: expect.any(String), preferencesDate: expect.stringContaining('1970') });
    expect(r.rows!.user_preferences![0].createdAt).toEqual(new Date(0));
  });

  test('only previewSettings → it is the preview', () => {
    const r = buildPreferences([ls('previewSettings', JSON.stringify(previewSettings))], ctx);
    expect(r.rows!.user_preferences![0].preferences).toMatchObject({ preview: previewSettings });
    expect(r.notes).toMatchObject({ previewSettingsSource: expect.any(String) });
  });

  test('invalid JSON in a structured key → that entry rejected, the rest migrated', () => {
    const bad = ls('catalyst-navigation-state', '{"expandedSections":');
    const ok = ls('dashboard-density', 'compact');
    const outcomes = preferenceOutcomes([bad, ok]);
    expect(outcomes).toEqual([{ seq: bad.seq, outcome: 'rejected', reason: expect.stringContaining('not valid JSON') }, { seq: ok.seq, outcome: 'migrated' }]);
    expect(buildPreferences([bad, ok], ctx).rows!.user_preferences![0].preferences).toEqual({ ui: { 'dashboard-density': 'compact' } });
  });

  test('project-context with an invalid lastActivity: reported, kept verbatim, not used as the date', () => {
    const pc = { ...projectContext, conversationMetadata: { ...projectContext.conversationMetadata, lastActivity: 'soon' } };
    const e = ls('project-context', JSON.stringify(pc, null, 2));
    const r = buildPreferences([e], ctx);
    expect(r.rejects).toEqual([expect.objectContaining({ path: 'project-context:conversationMetadata.lastActivity', code: 'invalid_date' })]);
    expect((r.rows!.user_preferences![0].preferences as { projectContext: unknown }).projectContext).toEqual(pc);
    expect(preferenceOutcomes([e])[0]).toMatchObject({ outcome: 'migrated', rejects: [expect.objectContaining({ code: 'invalid_date' })] });
  });

  test('nothing readable → rejected; nothing at all → migrated with no row', () => {
    expect(buildPreferences([ls('preview-settings', '42')], ctx).outcome).toBe('rejected');
    expect(buildPreferences([], ctx)).toMatchObject({ outcome: 'migrated' });
  });

  test('through catalystLayout: the row rides on the first migrated entry, the others are migrated too', () => {
    const a = ls('preview-settings', 'oops');
    const b = ls('dashboard-density', 'compact');
    const c = ls('catalyst-navigation-state', JSON.stringify(nav));
    const out = catalystLayout.groupTransforms.preference!.run([a, b, c], ctx);
    expect(out.get(a.seq)).toMatchObject({ outcome: 'rejected' });
    expect(out.get(b.seq)!.rows!.user_preferences).toHaveLength(1);
    expect(out.get(c.seq)).toEqual({ outcome: 'migrated', rejects: [], ridesOn: b.seq });
  });
});
