import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { FlowReporter } from './flow-reporter.js';
import { silentLogger } from '../core/log.js';
import { eventually } from '../core/eventually.js';
import type { FlowRecord } from './dataplane/observe/flow-record.js';

const rec = (time: number): FlowRecord => ({ time, direction: 'outbound', verdict: 'allow', bytesIn: 0, bytesOut: 0, durationMs: 1 });

test('FlowReporter: keeps the newest while the controller is down (oldest dropped, counted), then delivers each once', async () => {
  const registry = new Registry();
  let up = false;
  const delivered: number[] = [];
  const r = new FlowReporter({
    post: async (body) => {
      if (!up) throw new Error('ECONNREFUSED');
      delivered.push(...body.flows.map((f) => f.time));
      return { status: 200 };
    },
    log: silentLogger(),
    registry,
    everyMs: 10,
    bufferSize: 3,
  });
  r.start();
  try {
    for (let t = 1; t <= 5; t++) r.add(rec(t));
    const dropped = async () => (await registry.getSingleMetric('entente_agent_flow_reports_dropped_total')!.get()).values[0]?.value;
    assert.equal(await dropped(), 2);
    up = true;
    await eventually(() => (delivered.length === 3 ? true : undefined), { timeoutMs: 30_000, what: 'the buffered records delivered' });
    r.add(rec(6));
    await eventually(() => (delivered.length === 4 ? true : undefined), { timeoutMs: 30_000, what: 'a new record delivered' });
    assert.deepEqual(delivered, [3, 4, 5, 6]);
  } finally {
    r.stop();
  }
});
