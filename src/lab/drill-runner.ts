// Runs a drill's timeline on a started lab: applies each step at its time,
// collects the per-second buckets, watches drift for policy edits, then
// computes the report (drill-report.ts) against the routes the fault leaves servable.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { eventually } from '../core/eventually.js';
import { httpJson } from '../core/http-get-json.js';
import type { Lab } from './lab.js';
import { drillReport, type DrillReport, type Expectation } from './drill-report.js';
import { healthyState, servable, type FaultState } from './servability.js';
import { isStoreStep, type Scenario, type ScenarioStep } from './scenario.js';
import { PROMOTE_FOLLOW_MS, STORE_DRILL_BOUNDS_SLACK_MS, storeDrillExpectations, type AppliedStoreStep } from './store-drill.js';
import { STORE } from './lab-store.js';

/** How long another region may take to name (or stop naming) an edited policy resource in GET /v1/drift. */
export const DRIFT_SEEN_WITHIN_MS = 10_000;
/** The resource policy-drift edits (a rule duplicated: harmless, but a different digest). */
export const DRIFT_RESOURCE = 'AuthorizationPolicy shop/catalog-readers';

const sleepUntil = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms - Date.now())));

/** The fault state after a step (pure). */
export function applyToState(lab: Pick<Lab, 'regionComponents'>, state: FaultState, step: ScenarioStep): FaultState {
  const alive = new Set(state.alive);
  const cut = new Set(state.cut);
  const names = (t: { region: string } | { component: string }): string[] => ('region' in t ? lab.regionComponents(t.region) : [t.component]);
  if ('cut' in step) for (const k of [`${step.cut.from}->${step.cut.to}`, ...(step.cut.both ? [`${step.cut.to}->${step.cut.from}`] : [])]) cut.add(k);
  if ('heal' in step) for (const k of [`${step.heal.from}->${step.heal.to}`, ...(step.heal.both ? [`${step.heal.to}->${step.heal.from}`] : [])]) cut.delete(k);
  if ('kill' in step) for (const n of names(step.kill)) alive.delete(n);
  if ('restart' in step) for (const n of names(step.restart)) alive.add(n);
  return { alive, cut };
}

/** The fault states a scenario passes through between its first and its last step (pure). */
function faultStates(lab: Pick<Lab, 'regionComponents' | 'topology' | 'storeCallers'>, scenario: Scenario): FaultState[] {
  const states: FaultState[] = [];
  const healthy = healthyState(lab.topology);
  let state: FaultState = { alive: new Set([...healthy.alive, ...lab.storeCallers().flatMap((c) => c.needs)]), cut: healthy.cut };
  for (const [i, step] of scenario.steps.entries()) {
    state = applyToState(lab, state, step);
    if (i < scenario.steps.length - 1) states.push(state);
  }
  return states;
}

/**
 * Ids of the routes some state of the drill leaves without a reachable replica
 * (reported apart, under unservable). A store route counts as unservable only
 * when its caller is down: where its calls go is the store drills' business.
 */
export function unservableRoutes(lab: Pick<Lab, 'regionComponents' | 'topology' | 'storeCallers'>, scenario: Scenario): Set<string> {
  const states = faultStates(lab, scenario);
  const demo = lab.topology.routes.filter((r) => !states.every((s) => servable(lab.topology, r, s))).map((r) => r.id);
  const store = lab.storeCallers().filter((c) => !states.every((s) => c.needs.every((n) => s.alive.has(n)))).map((c) => c.id);
  return new Set([...demo, ...store]);
}

export interface DrillRunOptions {
  readonly onEvent?: (line: string) => void;
}

export async function runDrill(lab: Lab, scenario: Scenario, opts: DrillRunOptions = {}): Promise<DrillReport> {
  const say = (l: string): void => opts.onEvent?.(l);
  const t0 = lab.trafficStartedAt;
  const topo = lab.topology;
  // Check names before any fault: a typo fails now, not halfway through.
  for (const st of scenario.steps) {
    if ('cut' in st || 'heal' in st) {
      const l = 'cut' in st ? st.cut : st.heal;
      lab.regionComponents(l.from);
      lab.regionComponents(l.to);
    }
    if ('editPolicy' in st) lab.regionComponents(st.editPolicy.region);
    if ('pauseReplay' in st) lab.assertStoreStep(st.pauseReplay, 'pauseReplay');
    if ('resumeReplay' in st) lab.assertStoreStep(st.resumeReplay, 'resumeReplay');
    if ('promote' in st) lab.assertStoreStep(st.promote, 'promote');
    if ('killPrimary' in st) lab.assertStoreStep({}, 'killPrimary');
    for (const t of ['kill' in st ? st.kill : undefined, 'restart' in st ? st.restart : undefined]) {
      if (t && 'region' in t) lab.regionComponents(t.region);
      if (t && 'component' in t) lab.assertComponent(t.component);
    }
  }
  const ticker = setInterval(() => void lab.collectBuckets(), 1000);
  const checks: Promise<Expectation>[] = [];
  const original = new Map<string, string>();
  const storeSteps: AppliedStoreStep[] = [];
  try {
    for (const step of scenario.steps) {
      await sleepUntil(t0 + step.at);
      say(`drill ${scenario.name}: t=${Math.round(step.at / 1000)}s ${JSON.stringify(step)}`);
      if (isStoreStep(step)) storeSteps.push(await applyStoreStep(lab, step));
      else await applyStep(lab, step, original, checks);
    }
    await sleepUntil(t0 + scenario.durationMs + 1500);
  } finally {
    clearInterval(ticker);
  }
  await lab.collectBuckets();
  const extra = await Promise.all(checks);
  if (storeSteps.length > 0) {
    extra.push(
      ...storeDrillExpectations({
        calls: await lab.storeCalls(t0),
        steps: storeSteps,
        warmupEndMs: t0 + scenario.warmupMs,
        endMs: t0 + scenario.durationMs,
        bounds: { maxLagMs: STORE.maxLagMs, probeIntervalMs: STORE.probeIntervalMs, slackMs: STORE_DRILL_BOUNDS_SLACK_MS, followMs: PROMOTE_FOLLOW_MS },
      }),
    );
  }
  const exits = lab.report().unexpectedExits;
  extra.push({ what: 'no component exited unexpectedly', met: exits.length === 0, detail: exits.join('; ') || 'none' });
  const unservable = unservableRoutes(lab, scenario);
  return drillReport({
    drill: scenario.name,
    routes: topo.routes.map((r) => ({ id: r.id, expect: r.expect, servable: !unservable.has(r.id) })),
    buckets: lab.routeBuckets(),
    timeline: { warmupEndMs: t0 + scenario.warmupMs, faultMs: t0 + scenario.steps[0]!.at, healMs: t0 + scenario.steps[scenario.steps.length - 1]!.at, endMs: t0 + scenario.durationMs },
    extra,
  });
}

async function applyStep(lab: Lab, step: ScenarioStep, original: Map<string, string>, checks: Promise<Expectation>[]): Promise<void> {
  const pair = (l: { from: string; to: string; both?: boolean | undefined }, f: (a: string, b: string) => void): void => {
    f(l.from, l.to);
    if (l.both) f(l.to, l.from);
  };
  if ('cut' in step) pair(step.cut, (a, b) => lab.cut(a, b));
  else if ('heal' in step) pair(step.heal, (a, b) => lab.heal(a, b));
  else if ('kill' in step) await ('region' in step.kill ? lab.killRegion(step.kill.region) : lab.killComponent(step.kill.component));
  else if ('restart' in step) await ('region' in step.restart ? lab.restartRegion(step.restart.region) : lab.restartComponent(step.restart.component));
  else if ('degrade' in step) lab.degrade({ ...(step.degrade.latencyMs !== undefined ? { latencyMs: step.degrade.latencyMs } : {}), ...(step.degrade.loss !== undefined ? { loss: step.degrade.loss } : {}) });
  else if ('restore' in step) lab.restore();
  else if ('editPolicy' in step) {
    const region = step.editPolicy.region;
    const file = join(lab.workdir, region, 'resources', 'policies.yaml');
    if (step.editPolicy.revert) {
      const text = original.get(region);
      if (text !== undefined) writeFileSync(file, text);
    } else {
      const text = readFileSync(file, 'utf8');
      original.set(region, text);
      writeFileSync(file, duplicateRule(text));
    }
    await lab.reloadResources(region);
    const observer = lab.topology.regions.find((r) => r.name !== region)!.name;
    checks.push(watchDrift(lab, observer, !step.editPolicy.revert));
  }
}

/** A store step, applied; when it took effect (the hooks return once it has) and on which server. */
async function applyStoreStep(lab: Lab, step: ScenarioStep): Promise<AppliedStoreStep> {
  const memberOf = (region: string): string => lab.storePlan!.members.find((m) => m.region === region)!.name;
  if ('pauseReplay' in step) {
    await lab.pauseReplay(step.pauseReplay.region);
    return { kind: 'pauseReplay', region: step.pauseReplay.region, atMs: Date.now(), server: memberOf(step.pauseReplay.region) };
  }
  if ('resumeReplay' in step) {
    await lab.resumeReplay(step.resumeReplay.region);
    return { kind: 'resumeReplay', region: step.resumeReplay.region, atMs: Date.now(), server: memberOf(step.resumeReplay.region) };
  }
  if ('promote' in step) {
    await lab.promote(step.promote.region);
    return { kind: 'promote', region: step.promote.region, atMs: Date.now(), server: memberOf(step.promote.region) };
  }
  const server = await lab.killPrimary();
  return { kind: 'killPrimary', atMs: Date.now(), server };
}

/** The policy file with catalog-readers' first rule listed twice (same meaning, another digest). */
export function duplicateRule(text: string): string {
  const docs = parseAllDocuments(text);
  for (const d of docs) {
    const js = d.toJS() as { kind?: string; metadata?: { name?: string }; spec?: { rules?: unknown[] } } | null;
    if (js?.kind === 'AuthorizationPolicy' && js.metadata?.name === 'catalog-readers' && js.spec?.rules?.[0]) {
      d.setIn(['spec', 'rules'], [...js.spec.rules, structuredClone(js.spec.rules[0])]);
    }
  }
  return docs.map((d) => d.toString()).join('');
}

async function watchDrift(lab: Lab, observer: string, named: boolean): Promise<Expectation> {
  const started = Date.now();
  const what = `${observer}'s GET /v1/drift ${named ? 'names' : 'no longer names'} ${DRIFT_RESOURCE} within ${DRIFT_SEEN_WITHIN_MS / 1000} s`;
  try {
    await eventually(
      async () => {
        const d = (await httpJson<{ differing?: { resource: string }[] }>(`${lab.adminUrl(observer)}/v1/drift`, { timeoutMs: 2000 })).body;
        return (d.differing ?? []).some((x) => x.resource === DRIFT_RESOURCE) === named;
      },
      { timeoutMs: DRIFT_SEEN_WITHIN_MS, intervalMs: 250, what },
    );
    return { what, met: true, detail: `after ${Date.now() - started} ms` };
  } catch {
    return { what, met: false, detail: `not within ${DRIFT_SEEN_WITHIN_MS} ms` };
  }
}
