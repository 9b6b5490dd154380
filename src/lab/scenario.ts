// Drill timelines: the named drills (`entente lab --drill NAME`) and YAML
// scenario files (`--scenario FILE`), parsed whole into one Scenario type.
// Times are from the start of demo traffic. docs/operations.md "Lab drills".
import { readFileSync } from 'node:fs';
import * as z from 'zod';
import { zDurationMs } from '../core/config-types.js';
import { checkConfigText, configError } from '../core/config-file.js';
import { EntenteError } from '../core/errors.js';

const zName = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'a region or component name such as "us" or "ap-gateway"');
const zLink = z.strictObject({ from: zName, to: zName, both: z.boolean().optional() });
const zTarget = z.union([z.strictObject({ region: zName }), z.strictObject({ component: zName })], { error: 'exactly one of { region: NAME } or { component: NAME }' });

type Link = { from: string; to: string; both?: boolean | undefined };
type Target = { region: string } | { component: string };
/** One step: its time (ms from traffic start) and exactly one action. */
export type ScenarioStep = { at: number } & (
  | { cut: Link }
  | { heal: Link }
  | { kill: Target }
  | { restart: Target }
  | { degrade: { latencyMs?: number | undefined; loss?: number | undefined } }
  | { restore: true | Record<string, never> | null }
  | { editPolicy: { region: string; revert?: boolean | undefined } }
  | { pauseReplay: { region: string } }
  | { resumeReplay: { region: string } }
  | { killPrimary: Record<string, never> }
  | { promote: { region: string } }
);
const KINDS = ['cut', 'heal', 'kill', 'restart', 'degrade', 'restore', 'editPolicy', 'pauseReplay', 'resumeReplay', 'killPrimary', 'promote'] as const;
/** The steps that act on the lab's replicated store (refused when the lab runs without it). */
export const STORE_KINDS = ['pauseReplay', 'resumeReplay', 'killPrimary', 'promote'] as const;

export function isStoreStep(step: ScenarioStep): boolean {
  return STORE_KINDS.some((k) => k in step);
}

const zReplica = z.strictObject({ region: zName }, { error: "{ region: NAME }: the region of one of the store's replicas" });

// Every kind an optional key, then "exactly one": a bad value is reported at its own key, not as "no union member matched".
const zStep = z
  .strictObject({
    at: zDurationMs,
    cut: zLink.optional(),
    heal: zLink.optional(),
    kill: zTarget.optional(),
    restart: zTarget.optional(),
    degrade: z.strictObject({ latencyMs: z.number().min(0).max(10_000).optional(), loss: z.number().min(0).max(1).optional() }).optional(),
    restore: z.union([z.literal(true), z.strictObject({}), z.null()], { error: 'true' }).optional(),
    editPolicy: z.strictObject({ region: zName, revert: z.boolean().optional() }).optional(),
    pauseReplay: zReplica.optional(),
    resumeReplay: zReplica.optional(),
    killPrimary: z.strictObject({}, { error: '{} (the primary is whichever server is primary when the step runs)' }).optional(),
    promote: zReplica.optional(),
  })
  .transform((st, ctx): ScenarioStep => {
    const kinds = KINDS.filter((k) => k in st);
    if (kinds.length !== 1) {
      ctx.addIssue({ code: 'custom', message: `exactly one action of ${KINDS.join(', ')} (got ${kinds.length === 0 ? 'none' : kinds.join(', ')})` });
      return z.NEVER;
    }
    return st as ScenarioStep;
  });

export const scenarioSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'a name such as "us-outage"'),
    warmup: zDurationMs.optional(),
    duration: zDurationMs.optional(),
    steps: z.array(zStep).min(2, 'at least two steps: the fault, then the heal'),
  })
  .superRefine((s, ctx) => {
    s.steps.forEach((st, i) => {
      if (i > 0 && st.at < s.steps[i - 1]!.at) ctx.addIssue({ code: 'custom', path: ['steps', i, 'at'], message: `a time no earlier than the step before (steps are in time order)` });
    });
  });


export interface Scenario {
  readonly name: string;
  /** From traffic start to the `before` phase (ms). */
  readonly warmupMs: number;
  readonly steps: readonly ScenarioStep[];
  /** From traffic start to the end of the `after` phase (ms). */
  readonly durationMs: number;
}

export const DEFAULT_WARMUP_MS = 5000;
/** Without `duration`: the `after` phase lasts this long after the last step. */
export const DEFAULT_AFTER_MS = 15_000;

export function toScenario(s: z.output<typeof scenarioSchema>): Scenario {
  const warmupMs = s.warmup ?? DEFAULT_WARMUP_MS;
  const last = s.steps[s.steps.length - 1]!.at;
  if (s.steps[0]!.at <= warmupMs) throw new EntenteError('BAD_SCENARIO', `scenario ${s.name}: steps[0].at ${s.steps[0]!.at} ms is not after the warm-up (${warmupMs} ms)`, { hint: 'leave a before phase: e.g. at: 15s' });
  const durationMs = s.duration ?? last + DEFAULT_AFTER_MS;
  if (durationMs <= last) throw new EntenteError('BAD_SCENARIO', `scenario ${s.name}: duration ${durationMs} ms ends before the last step (${last} ms)`, { hint: 'leave an after phase' });
  return { name: s.name, warmupMs, steps: s.steps, durationMs };
}

/** Parses a scenario file's text; a bad file throws one EntenteError naming each problem's line, key, value and what was expected. */
export function parseScenario(text: string, source: string): Scenario {
  const r = checkConfigText(scenarioSchema, text, source);
  if (!r.ok) throw configError(source, r.problems, 'see docs/operations.md "Lab drills"');
  return toScenario(r.value);
}

export function loadScenario(path: string): Scenario {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new EntenteError('BAD_SCENARIO', `cannot read scenario ${path}`, { cause: err, hint: 'check the --scenario path' });
  }
  return parseScenario(text, path);
}

/** Named drills: warm-up 5 s, before 10 s, fault at 15 s, during 20 s, heal at 35 s, after 15 s. */
const FAULT = '15s';
const HEAL = '35s';
const named = (name: string, fault: Record<string, unknown>[], heal: Record<string, unknown>[]): string =>
  JSON.stringify({ name, steps: [...fault.map((f) => ({ at: FAULT, ...f })), ...heal.map((h) => ({ at: HEAL, ...h }))] });

export const DRILLS: Readonly<Record<string, { readonly text: string; readonly expect: string }>> = {
  partition: { text: named('partition', [{ cut: { from: 'eu', to: 'us', both: true } }], [{ heal: { from: 'eu', to: 'us', both: true } }]), expect: 'eu and us cut both ways: every route keeps working (eu<->us traffic relays through ap)' },
  asymmetric: { text: named('asymmetric', [{ cut: { from: 'eu', to: 'ap' } }], [{ heal: { from: 'eu', to: 'ap' } }]), expect: 'eu -> ap cut, ap -> eu up: every route keeps working (frontend->shipping relays through us)' },
  'region-outage': { text: named('region-outage', [{ kill: { region: 'ap' } }], [{ restart: { region: 'ap' } }]), expect: "every ap process killed: routes with a replica elsewhere keep working; ap's callers and shipping cannot be served" },
  'controller-outage': { text: named('controller-outage', [{ kill: { component: 'ap-controller' } }], [{ restart: { component: 'ap-controller' } }]), expect: "ap's controller killed: all traffic goes on (the data plane runs on what it holds)" },
  'gateway-outage': { text: named('gateway-outage', [{ kill: { component: 'ap-gateway' } }], [{ restart: { component: 'ap-gateway' } }]), expect: "ap's gateway killed: routes into ap fail over or cannot be served (frontend->shipping); the rest keep working" },
  'wan-degradation': { text: named('wan-degradation', [{ degrade: { latencyMs: 200, loss: 0.05 } }], [{ restore: true }]), expect: 'every link +200 ms RTT and 5% loss: every route keeps working (slower)' },
  // The store drills: their expectations come from the store clients' calls (store-drill.ts) on top of the demo routes'.
  'replica-lag': {
    text: named('replica-lag', [{ pauseReplay: { region: 'us' } }], [{ resumeReplay: { region: 'us' } }]),
    expect: "replay paused on us's replica under writes: reads from us leave it within maxLag + 2 probe intervals, come back after the resume, and never fail",
  },
  promote: {
    // The promotion 3 s after the kill: about when the replicas' lag bound (3 s since their last replayed write) would take them out of the reads.
    text: JSON.stringify({ name: 'promote', steps: [{ at: FAULT, killPrimary: {} }, { at: '18s', promote: { region: 'us' } }] }),
    expect: "eu's primary killed, us's replica promoted: writes fail for a bounded window, then succeed on the promoted server; none lands on the old primary",
  },
  'policy-drift': { text: named('policy-drift', [{ editPolicy: { region: 'us' } }], [{ editPolicy: { region: 'us', revert: true } }]), expect: "us's policies edited harmlessly: eu's GET /v1/drift names the resource within 10 s and clears after the revert; traffic unaffected" },
};

export function namedDrill(name: string): Scenario {
  const d = DRILLS[name];
  if (!d) throw new EntenteError('BAD_DRILL', `no drill named "${name}"`, { hint: `drills: ${Object.keys(DRILLS).join(', ')}` });
  return parseScenario(d.text, `drill ${name}`);
}
