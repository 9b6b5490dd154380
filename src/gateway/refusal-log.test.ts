// RefusalLog: at most N lines per second, with the suppressed count reported later.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { RefusalLog } from './refusal-log.js';

function capture(): { log: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, cb) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); cb(); } });
  return { log: pino({ level: 'info' }, sink), lines };
}

describe('RefusalLog', () => {
  it('caps lines per second and reports what it suppressed', async () => {
    const { log, lines } = capture();
    let now = 5_000;
    const r = new RefusalLog(log, { perSecond: 3, now: () => now });
    for (let i = 0; i < 1000; i++) r.refused({ i }, 'refused');
    now += 999;
    r.refused({ i: 'late' }, 'refused');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(lines.length, 3);
    now += 1;
    r.refused({ i: 'next' }, 'refused');
    r.flush();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(lines.length, 5);
    assert.equal(lines[3]!.suppressed, 998);
    assert.equal(lines[4]!.i, 'next');
  });

  it('flush logs nothing when nothing was suppressed', async () => {
    const { log, lines } = capture();
    const r = new RefusalLog(log, { perSecond: 3, now: () => 0 });
    r.refused({}, 'one');
    r.flush();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(lines.length, 1);
  });
});
