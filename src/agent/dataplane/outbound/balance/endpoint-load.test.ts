// EndpointLoad: peak EWMA on a fake clock, in-flight counting, cost = latency * (inFlight + 1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_LOAD, EndpointLoad } from './endpoint-load.js';

const opts = { decayMs: 10_000, defaultLatencyMs: 1 };
const close = (actual: number, want: number, msg: string): void =>
  assert.ok(Math.abs(actual - want) < 1e-9 * Math.max(1, want), `${msg}: ${actual} != ${want}`);

/** Runs calls [startAt, endAt, ok] in order, then reads the estimate at `readAt`. */
function estimate(seed: number | undefined, calls: [number, number, boolean][], readAt: number): number {
  const load = new EndpointLoad(opts, 0, seed);
  for (const [s, e, ok] of calls) load.start(s).end(e, ok);
  return load.latencyMs(readAt);
}

test('the estimate: default, seed, peak, time-weighted pull-down, idle decay, failures never lower it', () => {
  const e1 = Math.exp(-1); // one tau
  const cases: { name: string; seed?: number; calls: [number, number, boolean][]; at: number; want: number }[] = [
    { name: 'no sample: the default', calls: [], at: 0, want: 1 },
    { name: 'no sample: the seed', seed: 7, calls: [], at: 0, want: 7 },
    { name: 'no sample: decays with tau', seed: 10, calls: [], at: 10_000, want: 10 * e1 },
    { name: 'a slow sample replaces the estimate at once', calls: [[0, 50, true]], at: 50, want: 50 },
    { name: 'a failure above the estimate also raises it', calls: [[0, 50, false]], at: 50, want: 50 },
    {
      name: 'a fast sample one tau later pulls down by 1 - 1/e from the decayed value',
      seed: 100, calls: [[10_000, 10_000, true]], at: 10_000, want: 100 * e1 * e1 + 0 * (1 - e1),
    },
    {
      name: 'a fast sample at once (dt = 0) moves nothing: the rate of calls does not speed forgiving',
      calls: [[0, 100, true], [100, 100, true], [100, 100, true]], at: 100, want: 100,
    },
    {
      name: 'a fast failure does not lower the estimate (a dead endpoint must not look fast)',
      seed: 100, calls: [[10_000, 10_000, false]], at: 10_000, want: 100 * e1,
    },
    { name: 'idle: decays towards zero, one tau gives 1/e', calls: [[0, 40, true]], at: 10_040, want: 40 * e1 },
  ];
  for (const c of cases) close(estimate(c.seed, c.calls, c.at), c.want, c.name);
});

test('cost = latency * (inFlight + 1); end counts once; calls in flight count by their mean age', () => {
  const load = new EndpointLoad(opts, 0, 2);
  assert.equal(load.cost(0), 2);
  const a = load.start(0);
  const b = load.start(0);
  assert.equal(load.inFlight, 2);
  assert.equal(load.cost(0), 2 * 3);
  a.end(0, true);
  a.end(500, false);
  assert.equal(load.inFlight, 1, 'a second end() does nothing');
  assert.equal(load.hasSamples, true);
  assert.equal(load.latencyMs(0), 2, 'a sample below the estimate at dt = 0 changes nothing');
  // b has waited 30 s: the estimate is at least its age, before it ends.
  assert.equal(load.latencyMs(30_000), 30_000);
  assert.equal(load.cost(30_000), 30_000 * 2);
  b.end(30_000, true);
  assert.equal(load.inFlight, 0);
  assert.equal(load.latencyMs(30_000), 30_000, 'its sample is a peak');
});

test('a new endpoint that does not answer looks slower as its calls wait', () => {
  const load = new EndpointLoad(DEFAULT_LOAD, 1000);
  assert.equal(load.hasSamples, false);
  load.start(1000);
  load.start(1010);
  assert.equal(load.latencyMs(1010), 5, 'mean age of calls started at 0 and 10 ms ago');
  assert.equal(load.latencyMs(1110), 105);
});

test('the floor keeps in-flight calls counting when the estimate has decayed to nothing', () => {
  const load = new EndpointLoad(opts, 0, 1);
  const later = 10_000 * 800; // e^-800 underflows to 0
  assert.equal(load.latencyMs(later), 0);
  const idle = load.cost(later);
  load.start(later);
  assert.ok(load.cost(later) > idle);
});
