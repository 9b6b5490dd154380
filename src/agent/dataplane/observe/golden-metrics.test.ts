// The golden signals from flow records: one series per source, destination,
// verdict and code, seconds in the histogram, bytes each way, and a bound on
// label sets that a flood of new identities cannot break.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { SpiffeId } from '../../../identity/spiffe-id.js';
import type { FlowRecord } from './flow-record.js';
import { createGoldenMetrics, MAX_LABEL_SETS, serviceOfIdentity } from './golden-metrics.js';

const frontend = SpiffeId.parse('spiffe://eu.entente.lab/ns/shop/sa/frontend');

function flow(over: Partial<FlowRecord> = {}): FlowRecord {
  return {
    time: 0,
    direction: 'outbound',
    source: frontend,
    service: 'shop/catalog',
    sourceRegion: 'eu',
    destinationRegion: 'us',
    destinationZone: 'us-1a',
    verdict: 'allow',
    method: 'GET',
    path: '/items',
    status: 200,
    bytesOut: 100,
    bytesIn: 2500,
    durationMs: 92,
    ...over,
  };
}

async function value(r: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const m = (await r.getMetricsAsJSON()).find((x) => x.name === name);
  return m?.values.find((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))?.value;
}

test('a request counts once per label set, with its latency in seconds and its bytes', async () => {
  const r = new Registry();
  const g = createGoldenMetrics(r);
  g.record(flow());
  g.record(flow({ durationMs: 3 }));
  g.record(flow({ status: 503, verdict: 'error' }));
  g.record(flow({ direction: 'inbound', method: undefined, path: undefined, status: 200 }));
  const base = { reporter: 'source', protocol: 'http', source_service: 'shop/frontend', source_region: 'eu', destination_service: 'shop/catalog', destination_region: 'us', destination_zone: 'us-1a' };
  assert.equal(await value(r, 'entente_requests_total', { ...base, verdict: 'allow', response_code: '200' }), 2);
  assert.equal(await value(r, 'entente_requests_total', { ...base, verdict: 'error', response_code: '503' }), 1);
  assert.equal(await value(r, 'entente_requests_total', { ...base, reporter: 'destination', protocol: 'tcp' }), 1);
  assert.equal(await value(r, 'entente_request_bytes_total', base), 300);
  assert.equal(await value(r, 'entente_response_bytes_total', base), 7500);
  const text = await r.metrics();
  // 0.092 s and 0.003 s: one under 5 ms, both under 100 ms.
  assert.match(text, /entente_request_duration_seconds_bucket\{reporter="source",protocol="http",[^}]*verdict="allow",le="0\.005"[^}]*\} 1\n/);
  assert.match(text, /entente_request_duration_seconds_bucket\{reporter="source",protocol="http",[^}]*verdict="allow",le="0\.1"[^}]*\} 2\n/);
  assert.match(text, /entente_request_duration_seconds_bucket\{reporter="source",protocol="http",[^}]*verdict="allow",le="\+Inf"[^}]*\} 2\n/);
  assert.match(text, /# TYPE entente_request_duration_seconds histogram\n/);
  assert.match(text, /entente_request_duration_seconds_sum\{reporter="source",protocol="http",[^}]*verdict="allow"\} 0\.095\n/);
});

test('a refused caller with no identity is "unknown", a non-account SPIFFE path is kept', () => {
  assert.equal(serviceOfIdentity(undefined), 'unknown');
  assert.equal(serviceOfIdentity(frontend), 'shop/frontend');
  assert.equal(serviceOfIdentity(SpiffeId.parse('spiffe://x.example/batch/nightly')), '/batch/nightly');
});

test('label sets are bounded: new identities beyond the bound are folded and counted', async () => {
  const r = new Registry();
  const g = createGoldenMetrics(r);
  for (let i = 0; i < MAX_LABEL_SETS + 50; i++) g.record(flow({ source: SpiffeId.parse(`spiffe://us.entente.lab/ns/rogue/sa/minted-${i}`) }));
  // A known label set keeps counting where it is.
  g.record(flow({ source: SpiffeId.parse('spiffe://us.entente.lab/ns/rogue/sa/minted-0') }));
  assert.equal(await value(r, 'entente_metric_label_sets_overflow_total', {}), 50);
  assert.equal(await value(r, 'entente_requests_total', { source_service: '_overflow', destination_service: '_overflow' }), 50);
  assert.equal(await value(r, 'entente_requests_total', { source_service: 'rogue/minted-0' }), 2);
  const series = (await r.getMetricsAsJSON()).find((m) => m.name === 'entente_requests_total')!.values.length;
  assert.equal(series, MAX_LABEL_SETS + 1);
});

test('a second data plane on the same registry shares the metrics', async () => {
  const r = new Registry();
  createGoldenMetrics(r).record(flow());
  createGoldenMetrics(r).record(flow());
  assert.equal(await value(r, 'entente_requests_total', { verdict: 'allow' }), 2);
});
