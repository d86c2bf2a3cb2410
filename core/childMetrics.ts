/**
 * `npm start` runs the workers in a child process (scripts/workerProcess.ts), yet its one /metrics keeps
 * showing the worker series, as README and docs/dashboard.md promise. The API asks the child for its
 * registry as JSON and merges the two into one valid exposition (one HELP/TYPE block per family):
 *  - the child's Node defaults (bsm_process_*, bsm_nodejs_*) are dropped: the API already has those
 *    families, and summing or averaging two processes' event-loop lag or heap would describe neither; they
 *    describe the API process, whose responsiveness is what they are watched for;
 *  - a family both processes define is combined by prom-client's AggregatorRegistry with the family's
 *    `aggregator`: counters and histograms sum (each side counts its own events, the other has zeros),
 *    timestamps and settings take the max (core/metrics.ts sets `aggregator: 'max'` on those);
 *  - a family only one side has passes through unchanged.
 * Labelling each side (proc="api"/"worker") was the alternative; it would double every series and change
 * the dashboards' and alerts' queries, which the in-process and `npm run worker` set-ups do not need.
 */
import { AggregatorRegistry, type Registry } from 'prom-client';
import { registry } from './metrics';

/** One metric family as prom-client's getMetricsAsJSON() gives it: the form that travels over IPC. */
export type MetricFamily = Awaited<ReturnType<Registry['getMetricsAsJSON']>>[number];
type metric = MetricFamily;
type Source = () => Promise<metric[] | null>;
let childSource: Source | null = null;

/** Set by `npm start` once its worker child runs; null turns the merge off (in-process mode, tests). */
export function setChildMetricsSource(source: Source | null): void {
  childSource = source;
}

const isNodeDefault = (name: string) => /^bsm_(process|nodejs)_/.test(name);

/** The text the API's /metrics answers: this process's registry, plus the child's families if there is one. */
export async function metricsExposition(): Promise<string> {
  const theirs = childSource ? await childSource() : null;
  if (!theirs) return registry.metrics(); // no child, or it did not answer in time: our own series still count
  const own = await registry.getMetricsAsJSON();
  const child = theirs.filter((m) => !isNodeDefault(m.name));
  const inBoth = new Set(child.map((m) => m.name).filter((n) => own.some((m) => m.name === n)));
  // Single-source families use 'first' (identity): a default aggregator such as 'omit' would drop them.
  const single = (m: metric): metric => (inBoth.has(m.name) ? m : { ...m, aggregator: 'first' });
  return AggregatorRegistry.aggregate([own.map(single), child.map(single)]).metrics();
}
