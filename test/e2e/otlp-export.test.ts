// Jepsen-style: traces survive a collector outage and a crash of the
// exporting process. A two-region mesh exports its agents' spans over
// OTLP/HTTP to a receiver that follows the OTLP specification (see
// test/otlp/otlp-receiver.ts) while a client calls frontend (eu) → catalog
// (us), each call with a traceparent of its own. The collector goes down for
// 30 s; meanwhile the caller's agent is killed with SIGKILL and restarted.
// Afterwards every acknowledged span (durable in an export queue, or already
// delivered) is downstream: the counts of lost (must be 0), duplicated,
// unexpected and unacknowledged spans are reported. The spans also chain
// (the caller's span → the source agent's → the destination agent's) and
// carry the regions; flow records arrive as OTLP log records.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Lab } from '../../src/lab/lab.js';
import { PORTS } from '../../src/lab/lab-topology.js';
import { eventually } from '../../src/core/eventually.js';
import { exitWatchdog, randomIpPrefix, startTestMesh } from './lab-harness.js';
import { OtlpReceiver, spansOf, type ReceivedSpan } from '../otlp/otlp-receiver.js';
import { isQueuedBatchFile } from '../../src/telemetry/disk-queue.js';

exitWatchdog();

const prefix = randomIpPrefix(227, 230);
const receiver = new OtlpReceiver(`${prefix}.250.3`, 4318);
let lab: Lab;

before(async () => {
  await receiver.start();
  lab = await startTestMesh(['eu', 'us'], prefix, {
    extra: { agentTelemetry: { otlp: { endpoint: receiver.endpoint, flushInterval: '200ms', flows: true }, sampling: { rootsPerSecond: 0, maxSpansPerSecond: 10_000 } } },
  });
});
after(async () => {
  await lab?.stop();
  await receiver.stop();
});

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

interface Call {
  readonly traceId: string;
  /** The caller's own span: the parent of the source agent's span. */
  readonly callerSpan: string;
  readonly sentAt: number;
  completedAt?: number;
}

/** One call as the frontend workload: from its address, through its agent's proxy, with a sampled traceparent. */
function call(agentIp: string, from: string, c: Call): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      { host: agentIp, port: PORTS.agentProxy, localAddress: from, method: 'GET', path: 'http://catalog.shop.us.mesh/items', headers: { traceparent: `00-${c.traceId}-${c.callerSpan}-01` }, timeout: 10_000 },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200));
        res.on('error', () => resolve(false));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** Every agent's entente_telemetry_* samples, to tell a drop (and its reason) from a delivery that stalled. */
async function telemetryCounters(): Promise<string> {
  const agents = lab.topology.regions.flatMap((r) => r.agents);
  const texts = await Promise.all(
    agents.map(async (a) => {
      const text = await fetch(`http://${a.ip}:${PORTS.agentMetrics}/metrics`).then((r) => r.text()).catch((err: Error) => `unreachable: ${err.message}`);
      return text.split('\n').filter((l) => l.startsWith('entente_telemetry_') || l.startsWith('unreachable')).map((l) => `# ${a.node} ${l}`).join('\n');
    }),
  );
  return texts.join('\n');
}

/**
 * The spans in an agent's export queue on disk: the batch files that survived, by the queue's own naming rule. A
 * `.tmp-` file is a write the kill interrupted before its rename: never acknowledged, and deleted on restart.
 */
function queuedSpans(dir: string): ReceivedSpan[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter(isQueuedBatchFile)
    .flatMap((n) => spansOf(JSON.parse(readFileSync(join(dir, n), 'utf8'))));
}

test('no acknowledged span is lost through a 30 s collector outage and a SIGKILL of the exporter', { timeout: 420_000 }, async () => {
  const frontend = lab.topology.workloads.find((w) => w.service === 'frontend')!;
  const eu = lab.topology.regions.find((r) => r.name === 'eu')!;
  const agent = eu.agents.find((a) => a.node === frontend.node)!;
  const component = `${agent.node}-agent`;
  const queueDir = join(lab.workdir, 'eu', `agent-${agent.node}-data`, 'otlp', 'traces');
  const calls: Call[] = [];
  const start = Date.now();
  const at = (s: number): number => start + s * 1000;

  // Four workers, a call each every 100 ms or so, for 50 s at most and 3000 calls at most.
  let stopTraffic = false;
  const worker = async (): Promise<void> => {
    while (!stopTraffic && Date.now() < at(50) && calls.length < 3000) {
      const c: Call = { traceId: hex(16), callerSpan: hex(8), sentAt: Date.now() };
      calls.push(c);
      if (await call(agent.ip, frontend.address, c)) c.completedAt = Date.now();
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const traffic = Promise.all([worker(), worker(), worker(), worker()]);

  const until = (t: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));
  let killedAt = 0;
  let receivedBeforeKill: ReceivedSpan[] = [];
  let durableAtKill: ReceivedSpan[] = [];
  let downAt = 0;
  let upAt = 0;
  try {
    await until(at(5));
    await receiver.stop();
    downAt = Date.now();
    await until(at(15));
    receivedBeforeKill = [...receiver.spans];
    await lab.killComponent(component);
    killedAt = Date.now();
    // What the killed exporter had acknowledged and not yet delivered is exactly what its queue holds now.
    durableAtKill = queuedSpans(queueDir);
    await lab.restartComponent(component);
    await until(downAt + 30_000);
    await receiver.start();
    upAt = Date.now();
  } finally {
    if (!receiver.up) await receiver.start();
    await traffic.catch(() => undefined);
    stopTraffic = true;
  }
  const trafficEndedAt = Date.now();
  const restartedAt = killedAt;
  const completed = calls.filter((c) => c.completedAt !== undefined);
  const afterRestart = completed.filter((c) => c.sentAt > restartedAt);
  assert.ok(completed.length >= 50 && afterRestart.length >= 20, `${completed.length} calls completed, ${afterRestart.length} after the restart`);

  // Acknowledged: every destination-agent span of a completed call (that agent was never killed), every
  // source-agent span of a call made after the restart, and what the killed agent held durably or had delivered.
  const key = (s: { traceId: string; spanId: string }): string => `${s.traceId}/${s.spanId}`;
  const clientOf = (spans: ReceivedSpan[]) => spans.filter((s) => s.kind === 3);
  const serverOf = (spans: ReceivedSpan[]) => spans.filter((s) => s.kind === 2);
  const ourTraces = new Set(calls.map((c) => c.traceId));
  const completedTraces = new Set(completed.map((c) => c.traceId));
  const afterRestartTraces = new Set(afterRestart.map((c) => c.traceId));
  const acknowledgedClient = new Set([...clientOf(receivedBeforeKill), ...clientOf(durableAtKill)].filter((s) => ourTraces.has(s.traceId)).map(key));

  // Wait until every expected span is downstream (bounded): the queues drain once the collector is back.
  const downstream = await eventually(
    async () => {
      const got = receiver.spans;
      const servers = new Set(serverOf(got).map((s) => s.traceId));
      const clients = new Set(clientOf(got).map((s) => s.traceId));
      const keys = new Set(got.map(key));
      const ready = [...completedTraces].every((t) => servers.has(t)) && [...afterRestartTraces].every((t) => clients.has(t)) && [...acknowledgedClient].every((k) => keys.has(k));
      return ready ? got : undefined;
    },
    { what: 'every acknowledged span downstream', timeoutMs: 180_000, intervalMs: 1000 },
  ).catch(() => receiver.spans);

  const keys = new Map<string, number>();
  for (const s of downstream) keys.set(key(s), (keys.get(key(s)) ?? 0) + 1);
  const servers = new Set(serverOf(downstream).map((s) => s.traceId));
  const clients = new Set(clientOf(downstream).map((s) => s.traceId));
  // What was lost, and when its call ran (seconds from the start; the kill at killedAt): the first thing to read when this fails.
  const rel = (t: number | undefined): number | undefined => (t === undefined ? undefined : Math.round((t - start) / 100) / 10);
  const detail = (traceId: string) => {
    const c = calls.find((x) => x.traceId === traceId);
    return { traceId, sent: rel(c?.sentAt), completed: rel(c?.completedAt) };
  };
  const lostServerCalls = [...completedTraces].filter((t) => !servers.has(t)).map(detail);
  const lostAfterRestart = [...afterRestartTraces].filter((t) => !clients.has(t)).map(detail);
  const lostDurable = [...acknowledgedClient].filter((k) => !keys.has(k)).map((k) => detail(k.split('/')[0]!));
  const lostServer = lostServerCalls.length;
  const lostClient = lostAfterRestart.length + lostDurable.length;
  const duplicated = [...keys.values()].filter((n) => n > 1).reduce((t, n) => t + n - 1, 0);
  const unexpected = downstream.filter((s) => !ourTraces.has(s.traceId)).length;
  // Source-agent spans of calls completed before the kill that were neither delivered nor durable: held in memory at SIGKILL.
  const unacknowledgedCalls = completed.filter((c) => c.completedAt! <= killedAt && !clients.has(c.traceId));
  const unacknowledged = unacknowledgedCalls.length;
  // The oldest of them: how far back in time SIGKILL reached (a flush interval plus a write under way, nothing older).
  const unacknowledgedSince = unacknowledged > 0 ? Math.min(...unacknowledgedCalls.map((c) => c.completedAt!)) : killedAt;
  const report = {
    calls: calls.length,
    completed: completed.length,
    acknowledgedSpans: completed.length + afterRestart.length + acknowledgedClient.size,
    lost: lostServer + lostClient,
    duplicated,
    unexpected,
    unacknowledgedAtKill: unacknowledged,
    unacknowledgedWindowMs: killedAt - unacknowledgedSince,
    timeline: { down: rel(downAt), killed: rel(killedAt), up: rel(upAt), trafficEnded: rel(trafficEndedAt) },
    ...(lostServer + lostClient > 0 ? { lostServerSpans: lostServerCalls, lostClientSpansAfterRestart: lostAfterRestart, lostDurableClientSpans: lostDurable } : {}),
  };
  process.stdout.write(`# otlp export: ${JSON.stringify(report)}\n`);
  if (report.lost > 0) process.stdout.write(`# agents' telemetry counters:\n${await telemetryCounters()}\n`);
  assert.equal(report.lost, 0, JSON.stringify(report));
  assert.equal(unexpected, 0, JSON.stringify(report));
  // Only the last moments before the kill: a flush interval (200 ms) and the queue write under way (its fsync slow
  // on a loaded machine), bounded generously; everything older was durable or delivered.
  assert.ok(report.unacknowledgedWindowMs <= 5000, JSON.stringify(report));

  // The spans chain: caller's span → source agent's (CLIENT) → destination agent's (SERVER), and say where they ran.
  const c = afterRestart[0]!;
  const client = downstream.find((s) => s.traceId === c.traceId && s.kind === 3)!;
  const server = downstream.find((s) => s.traceId === c.traceId && s.kind === 2)!;
  assert.equal(client.parentSpanId, c.callerSpan);
  assert.equal(server.parentSpanId, client.spanId);
  assert.equal(client.name, 'GET shop/catalog');
  assert.equal(client.attributes['entente.source_region'], 'eu');
  assert.equal(client.attributes['entente.destination_region'], 'us');
  assert.equal(client.attributes['http.response.status_code'], 200);
  assert.equal(server.attributes['entente.policy'], 'shop/catalog-readers');
  assert.equal(client.resource['entente.region'], 'eu');
  assert.equal(server.resource['entente.region'], 'us');

  // Flow records, exported as OTLP log records, carry the verdict and the trace.
  const flowLog = await eventually(async () => receiver.logs.find((l) => l.traceId === c.traceId && l.attributes['entente.direction'] === 'inbound'), { what: 'the flow record of a call as an OTLP log record', timeoutMs: 60_000, intervalMs: 1000 });
  assert.equal(flowLog.attributes['entente.verdict'], 'allow');
  assert.equal(flowLog.attributes['entente.rule'], 0);
});
