/**
 * Helpers for the monitoring tests: the rule files, the metric names a PromQL expression reads, and the
 * names a /metrics scrape exports. No PromQL parser exists in our dependencies; the expressions we ship
 * are plain enough that stripping strings, matchers, ranges and grouping clauses leaves only names.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

export const ROOT = join(__dirname, '../..');
export const PROM_DIR = join(ROOT, 'monitoring/prometheus');

export interface Rule { record?: string; alert?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }

export function loadRules(): Rule[] {
  const doc = parse(readFileSync(join(PROM_DIR, 'rules.yml'), 'utf8')) as { groups: { name: string; rules: Rule[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

const KEYWORDS = new Set(['and', 'or', 'unless', 'offset', 'bool', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'atan2', 'inf', 'nan']);

/** Series names an expression reads: functions, keywords, label names, numbers and $variables left out. */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '') // label values, regexes
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges and subqueries ($__rate_interval too)
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' '); // label lists
  const names = new Set<string>();
  // Numbers (5m, 1e3) and $variables are consumed whole, so no name is found inside them.
  for (const m of bare.matchAll(/\$\w+|\d[\w.]*|([A-Za-z_:][\w:]*)(\s*\()?/g)) {
    const [, name, call] = m;
    if (name && !call && !KEYWORDS.has(name.toLowerCase())) names.add(name);
  }
  return [...names];
}

/** Metric families and sample names of one scrape (Prometheus text format). */
export function exposition(text: string): { families: Map<string, string>; samples: Set<string> } {
  const families = new Map<string, string>();
  const samples = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) families.set(type[1], type[2]);
    else if (line && !line.startsWith('#')) samples.add(/^[^{\s]+/.exec(line)![0]);
  }
  return { families, samples };
}

/**
 * Whether a scrape exports `name`: as samples, or as a declared family (a labelled series with nothing
 * to report yet, e.g. the running phases' gauge between batches), or as a histogram's _bucket/_sum/_count.
 */
export function isExported(scrape: ReturnType<typeof exposition>, name: string): boolean {
  if (scrape.samples.has(name) || scrape.families.has(name)) return true;
  const base = /^(.*)_(?:bucket|sum|count)$/.exec(name)?.[1];
  return base !== undefined && ['histogram', 'summary'].includes(scrape.families.get(base) ?? '');
}

/** GitHub's anchor for a Markdown heading (lower case, punctuation dropped, spaces to hyphens). */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  for (const m of markdown.matchAll(/^#{1,6}\s+(.+?)\s*$/gm)) {
    anchors.add(m[1].toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-'));
  }
  return anchors;
}
