// Schema of the TrafficPolicy resource: client-side failure handling (timeouts,
// retries, outlier detection, circuit breaking, locality) for calls to one
// Service. Defaults are filled in from DEFAULT_TRAFFIC and durations kept in a
// canonical spelling, so the digest ignores how a value was written.
import * as z from 'zod';
import { formatDuration, parseDuration } from '../core/duration.js';
import { LABEL_TEXT, label, list, method, pathPattern, port, resource, strict } from './resource-schema-parts.js';
import { DEFAULT_TRAFFIC, LOCALITIES, RETRY_ON } from './traffic-policy.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

function durationMs(text: string): number | undefined {
  try {
    return parseDuration(text);
  } catch {
    return undefined;
  }
}

/** A duration string above 0 and at most `maxMs`, re-spelt canonically ("5000ms" becomes "5s"): the output parses again. */
export function duration(maxMs: number) {
  const what = `a duration above 0 and at most ${maxMs % DAY === 0 ? `${maxMs / DAY}d` : formatDuration(maxMs)}: a number and a unit (ms, s, m, h, d), e.g. "250ms", "5s", "1m"`;
  return z
    .string({ error: what })
    .refine((s) => {
      const ms = durationMs(s);
      return ms !== undefined && ms > 0 && ms <= maxMs;
    }, { error: what })
    .transform((s) => formatDuration(parseDuration(s)));
}

function integer(min: number, max: number, note = '') {
  const what = `an integer ${min}-${max}${note}`;
  return z.number({ error: what }).int({ error: what }).min(min, { error: what }).max(max, { error: what });
}

const d = formatDuration;
const D = DEFAULT_TRAFFIC;

const timeouts = strict(
  {
    connect: duration(5 * MINUTE).default(d(D.connectTimeoutMs)),
    request: duration(DAY).optional(),
    idle: duration(7 * DAY).default(d(D.idleTimeoutMs)),
  },
  'a mapping with any of connect, request, idle',
).prefault({});

const retryableRoute = strict(
  { methods: list(method, 'methods').optional(), paths: list(pathPattern, 'paths').optional() },
  'a mapping with methods, paths or both',
).superRefine((r, ctx) => {
  // {} would make every request retryable: say so with a key rather than by accident.
  if (r.methods === undefined && r.paths === undefined) ctx.addIssue({ code: 'custom', path: [], message: 'a mapping with methods, paths or both (a route with neither would make every request retryable: write paths: ["*"] for that)' });
}, { when: (payload) => payload.issues.length === 0 });

const RETRY_ON_TEXT = `one of ${RETRY_ON.map((c) => `"${c}"`).join(', ')}`;

const backoff = strict(
  { base: duration(MINUTE).default(d(D.retry.backoff.baseMs)), max: duration(5 * MINUTE).default(d(D.retry.backoff.maxMs)) },
  'a mapping with any of base, max',
).superRefine((b, ctx) => {
  if (parseDuration(b.base) > parseDuration(b.max)) ctx.addIssue({ code: 'custom', path: ['base'], message: `a duration at most max (${b.max}, given or the default)` });
}, { when: (payload) => payload.issues.length === 0 }).prefault({});

const budget = strict(
  {
    ratio: z.number({ error: 'a number 0-1' }).min(0, { error: 'a number 0-1' }).max(1, { error: 'a number 0-1' }).default(D.retry.budget.ratio),
    minPerSecond: integer(0, 1000).default(D.retry.budget.minPerSecond),
  },
  'a mapping with any of ratio, minPerSecond',
).prefault({});

const retries = strict(
  {
    attempts: integer(0, 10, ' (extra attempts after the first; 0 disables retries)').default(D.retry.attempts),
    perTryTimeout: duration(DAY).optional(),
    // Order and repeats carry no meaning: kept in RETRY_ON order, once each.
    retryOn: list(z.enum(RETRY_ON, { error: RETRY_ON_TEXT }), 'retry conditions')
      .default([...D.retry.retryOn])
      .transform((on) => RETRY_ON.filter((c) => on.includes(c))),
    retryableRoutes: list(retryableRoute, 'routes').optional(),
    backoff,
    budget,
  },
  'a mapping with any of attempts, perTryTimeout, retryOn, retryableRoutes, backoff, budget',
).prefault({});

const outlierDetection = strict(
  {
    consecutiveFailures: integer(1, 1000).default(D.outlier.consecutiveFailures),
    baseEjection: duration(HOUR).default(d(D.outlier.baseEjectionMs)),
    maxEjection: duration(DAY).default(d(D.outlier.maxEjectionMs)),
    maxEjectedPercent: integer(0, 100, ' (a percentage; 0 never ejects)').default(D.outlier.maxEjectedPercent),
  },
  'a mapping with any of consecutiveFailures, baseEjection, maxEjection, maxEjectedPercent',
).superRefine((o, ctx) => {
  if (parseDuration(o.baseEjection) > parseDuration(o.maxEjection)) {
    ctx.addIssue({ code: 'custom', path: ['baseEjection'], message: `a duration at most maxEjection (${o.maxEjection}, given or the default)` });
  }
}, { when: (payload) => payload.issues.length === 0 }).prefault({});

const circuitBreaker = strict(
  {
    maxRequests: integer(1, 1_000_000).default(D.breaker.maxRequests),
    maxPending: integer(0, 1_000_000, ' (0: none wait, over maxRequests fails at once)').default(D.breaker.maxPending),
  },
  'a mapping with any of maxRequests, maxPending',
).prefault({});

const loadBalancer = strict(
  { locality: z.enum(LOCALITIES, { error: `one of ${LOCALITIES.map((l) => `"${l}"`).join(', ')}` }).default(D.locality) },
  'a mapping with locality',
).prefault({});

const trafficPorts = list(port, 'ports of the Service').superRefine((ports, ctx) => {
  ports.forEach((p, i) => {
    const first = ports.indexOf(p);
    if (first !== i) ctx.addIssue({ code: 'custom', path: [i], message: `a port not already listed (ports[${first}] has ${p})` });
  });
}, { when: (payload) => payload.issues.length === 0 });

export const TrafficPolicySchema = resource(
  'TrafficPolicy',
  strict(
    {
      service: label(`the name of a Service in the same namespace (${LABEL_TEXT})`),
      ports: trafficPorts.optional(),
      timeouts,
      retries,
      outlierDetection,
      circuitBreaker,
      loadBalancer,
    },
    'a mapping with service and optional ports, timeouts, retries, outlierDetection, circuitBreaker, loadBalancer',
  ).superRefine((spec, ctx) => {
    const perTry = spec.retries.perTryTimeout;
    const request = spec.timeouts.request;
    // The request timeout covers every attempt: one attempt cannot be allowed longer than all of them.
    if (perTry !== undefined && request !== undefined && parseDuration(perTry) > parseDuration(request)) {
      ctx.addIssue({ code: 'custom', path: ['retries', 'perTryTimeout'], message: `a duration at most timeouts.request (${request}), which bounds the whole call, retries included` });
    }
  }, { when: (payload) => payload.issues.length === 0 }),
);
