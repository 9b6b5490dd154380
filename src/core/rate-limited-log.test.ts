// RateLimitedLog: a budget per reason per window, one summary line per window
// naming what was suppressed, levels kept, on a fake clock and a fake timer.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { RateLimitedLog } from './rate-limited-log.js';

interface Line { level: number; msg: string; refusal?: string; suppressed?: Record<string, number>; i?: unknown }

function harness(level = 'info', opts: { burst?: number; windowMs?: number; maxReasons?: number } = {}) {
  const lines: Line[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, cb) { lines.push(JSON.parse(chunk.toString()) as Line); cb(); } });
  const log = pino({ level }, sink);
  let now = 10_000;
  const timers: Array<{ fn: () => void; at: number; cancelled: boolean }> = [];
  const r = new RateLimitedLog(log, {
    burst: opts.burst ?? 3, windowMs: opts.windowMs ?? 1000, now: () => now,
    ...(opts.maxReasons ? { maxReasons: opts.maxReasons } : {}),
    schedule: (fn, ms) => {
      const t = { fn, at: now + ms, cancelled: false };
      timers.push(t);
      return { cancel: () => { t.cancelled = true; } };
    },
  });
  const advance = (ms: number): void => {
    now += ms;
    for (const t of timers.splice(0)) {
      if (t.cancelled) continue;
      if (t.at <= now) t.fn();
      else timers.push(t);
    }
  };
  const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  return { r, lines, advance, settle, timers };
}

describe('RateLimitedLog', () => {
  it('gives each reason its own budget: a flood of denials does not hide a forged certificate', async () => {
    const { r, lines, settle } = harness();
    for (let i = 0; i < 1000; i++) r.info('policy_denied', { i }, 'inbound call denied');
    assert.equal(r.warn('untrusted_certificate', { from: '10.0.0.9' }, 'mTLS handshake refused'), true);
    await settle();
    assert.equal(lines.filter((l) => l.refusal === 'policy_denied').length, 3);
    const cert = lines.filter((l) => l.refusal === 'untrusted_certificate');
    assert.equal(cert.length, 1);
    assert.equal(cert[0]!.level, 40, 'security refusals stay at warn');
    assert.equal(lines.find((l) => l.refusal === 'policy_denied')!.level, 30, 'expected denials log at info');
  });

  const table: Array<{ name: string; calls: Array<[string, number]>; logged: number; suppressed: Record<string, number> }> = [
    { name: 'under budget', calls: [['a', 2]], logged: 2, suppressed: {} },
    { name: 'exactly the budget', calls: [['a', 3]], logged: 3, suppressed: {} },
    { name: 'one over', calls: [['a', 4]], logged: 3, suppressed: { a: 1 } },
    { name: 'two reasons, both over', calls: [['a', 10], ['b', 5]], logged: 6, suppressed: { a: 7, b: 2 } },
    { name: 'interleaved', calls: [['a', 1], ['b', 1], ['a', 5], ['b', 1]], logged: 5, suppressed: { a: 3 } },
  ];
  for (const c of table) {
    it(`per-reason budget: ${c.name}`, async () => {
      const { r, lines, settle } = harness();
      for (const [reason, n] of c.calls) for (let i = 0; i < n; i++) r.warn(reason, {}, 'refused');
      r.flush();
      await settle();
      const summary = lines.filter((l) => l.suppressed);
      assert.equal(lines.length - summary.length, c.logged);
      if (Object.keys(c.suppressed).length === 0) assert.equal(summary.length, 0, 'no summary when nothing was suppressed');
      else assert.deepEqual(summary.map((l) => l.suppressed), [c.suppressed], 'one summary line naming each reason');
    });
  }

  it('starts a new budget each window and summarises the previous one first', async () => {
    const { r, lines, advance, settle } = harness();
    for (let i = 0; i < 5; i++) r.warn('a', { i }, 'refused');
    advance(999);
    assert.equal(r.warn('a', { i: 'late' }, 'refused'), false, 'same window');
    advance(1);
    assert.equal(r.warn('a', { i: 'next' }, 'refused'), true, 'new window, new budget');
    await settle();
    assert.equal(lines.length, 5);
    assert.deepEqual(lines[3]!.suppressed, { a: 3 });
    assert.equal(lines[4]!.i, 'next');
  });

  it('reports a flood at the end of its window even if nothing follows it', async () => {
    const { r, lines, advance, settle, timers } = harness();
    for (let i = 0; i < 10; i++) r.warn('a', {}, 'refused');
    assert.equal(timers.length, 1, 'one timer per window, not per suppressed line');
    advance(1000);
    await settle();
    assert.deepEqual(lines.at(-1)!.suppressed, { a: 7 });
    assert.equal(lines.at(-1)!.level, 40);
  });

  it('does not spend the budget on lines the logger level drops', async () => {
    const { r, lines, settle } = harness('warn');
    for (let i = 0; i < 100; i++) assert.equal(r.info('policy_denied', {}, 'denied'), false);
    r.flush();
    assert.equal(r.warn('untrusted_certificate', {}, 'refused'), true);
    await settle();
    assert.deepEqual(lines.map((l) => l.refusal), ['untrusted_certificate']);
  });

  it('bounds the number of reasons tracked: free-text reasons share one budget', async () => {
    const { r, lines, settle } = harness('info', { maxReasons: 2 });
    for (let i = 0; i < 50; i++) r.warn(`reason-${i}`, {}, 'refused');
    r.flush();
    await settle();
    const summary = lines.find((l) => l.suppressed);
    assert.equal(lines.length - 1, 2 + 3, 'two own budgets plus the shared one');
    assert.deepEqual(summary!.suppressed, { other: 45 });
  });
});
