// The metrics of a running two-region lab, read by the real tools: every
// component's /metrics passes `promtool check metrics`, and a real Prometheus
// (Debian's), started with the prometheus.yml the lab writes, scrapes every
// component and answers a cross-region request rate by source and destination.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lab } from '../../src/lab/lab.js';
import { metricsTargets } from '../../src/lab/lab-files.js';
import { eventually } from '../../src/core/eventually.js';
import { httpJson } from '../../src/core/http-get-json.js';
import { exitWatchdog, randomIpPrefix, startTestMesh } from './lab-harness.js';

exitWatchdog();

const prefix = randomIpPrefix(215, 218);
// A loopback address of this test's own range, beside the lab's regions.
const PROMETHEUS = `${prefix}.250.1:9090`;
let lab: Lab;
let prometheus: ChildProcess | undefined;
let tsdb: string | undefined;
let promLog = '';

before(async () => {
  lab = await startTestMesh(['eu', 'us'], prefix, { traffic: true });
});
after(async () => {
  prometheus?.kill('SIGKILL');
  await lab?.stop();
  if (tsdb) rmSync(tsdb, { recursive: true, force: true });
});

/** promtool's verdict on a metrics text: exit code and what it printed. */
function promtoolCheck(text: string): Promise<{ code: number | null; out: string }> {
  const p = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (c: Buffer) => (out += c.toString()));
  p.stderr.on('data', (c: Buffer) => (out += c.toString()));
  p.stdin.end(text);
  return new Promise((resolve) => p.on('exit', (code) => resolve({ code, out })));
}

test('promtool check metrics is clean on every component', { timeout: 120_000 }, async () => {
  const targets = metricsTargets(lab.topology);
  assert.equal(targets.length, 8, 'two controllers, two gateways, four agents');
  for (const t of targets) {
    const res = await fetch(`http://${t.address}/metrics`);
    assert.equal(res.status, 200, `${t.job} ${t.address}`);
    const check = await promtoolCheck(await res.text());
    assert.equal(check.code, 0, `${t.job} ${t.address}: ${check.out}`);
    assert.equal(check.out.trim(), '', `${t.job} ${t.address}: ${check.out}`);
  }
});

interface QueryResult {
  status: string;
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

test('a real Prometheus scrapes the lab and answers the eu→us request rate', { timeout: 240_000 }, async () => {
  tsdb = mkdtempSync(join(tmpdir(), 'entente-prometheus-'));
  prometheus = spawn('prometheus', [`--config.file=${join(lab.workdir, 'prometheus.yml')}`, `--storage.tsdb.path=${tsdb}`, `--web.listen-address=${PROMETHEUS}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
  prometheus.stderr!.on('data', (c: Buffer) => (promLog = (promLog + c.toString()).slice(-4000)));
  const api = `http://${PROMETHEUS}/api/v1`;
  // Every target of the lab's prometheus.yml is up.
  await eventually(
    async () => {
      const r = await httpJson<{ data: { activeTargets: { health: string; scrapeUrl: string }[] } }>(`${api}/targets`).catch(() => undefined);
      const t = r?.body.data.activeTargets ?? [];
      return t.length === 8 && t.every((x) => x.health === 'up') ? t : undefined;
    },
    { what: `Prometheus up with 8 healthy targets (log: ${promLog})`, timeoutMs: 120_000, intervalMs: 1000 },
  );
  const query = 'sum by (source_service, destination_service) (rate(entente_requests_total{reporter="source",source_region="eu",destination_region="us",verdict="allow"}[30s]))';
  const series = await eventually(
    async () => {
      const r = await httpJson<QueryResult>(`${api}/query?query=${encodeURIComponent(query)}`).catch(() => undefined);
      const rows = r?.body.data.result.filter((x) => Number(x.value[1]) > 0) ?? [];
      return rows.length > 0 ? rows : undefined;
    },
    { what: 'a positive eu→us request rate', timeoutMs: 120_000, intervalMs: 2000 },
  );
  // eu hosts frontend and ledger, us catalog and reviews.
  for (const s of series) {
    assert.ok(['shop/frontend', 'shop/ledger'].includes(s.metric.source_service!), JSON.stringify(s));
    assert.ok(['shop/catalog', 'shop/reviews'].includes(s.metric.destination_service!), JSON.stringify(s));
  }
  // The latency histogram answers a quantile in seconds.
  const p99 = `histogram_quantile(0.99, sum by (le) (rate(entente_request_duration_seconds_bucket{reporter="source",source_region="eu",destination_region="us"}[30s])))`;
  const q = await httpJson<QueryResult>(`${api}/query?query=${encodeURIComponent(p99)}`);
  const seconds = Number(q.body.data.result[0]?.value[1]);
  // The test mesh's emulated WAN has 20 ms of RTT eu–us: a cross-region p99 in seconds is over 0.01 and far below 30.
  assert.ok(seconds > 0.01 && seconds < 30, `p99 ${seconds} s`);

  // Every query of the shipped Grafana dashboard is valid PromQL over metrics the lab exposes
  // (named in the scraped HELP and TYPE lines: a refusal counter has no series until something is refused).
  const dashboard = JSON.parse(readFileSync(new URL('../../../deploy/grafana/entente-mesh.json', import.meta.url), 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[] };
  const names = new Set(Object.keys((await httpJson<{ data: Record<string, unknown> }>(`${api}/metadata`)).body.data));
  let withData = 0;
  for (const panel of dashboard.panels) {
    for (const t of panel.targets ?? []) {
      const expr = t.expr.replaceAll('$__rate_interval', '30s').replaceAll('$region', '.*');
      for (const m of expr.match(/entente_[a-z_]+/g) ?? []) assert.ok(names.has(m.replace(/_bucket$/, '')), `panel "${panel.title}": no metric ${m} in the lab`);
      const r = await httpJson<QueryResult>(`${api}/query?query=${encodeURIComponent(expr)}`);
      assert.equal(r.body.status, 'success', `panel "${panel.title}": ${expr}`);
      if (r.body.data.result.length > 0) withData++;
    }
  }
  assert.ok(withData >= 10, `${withData} dashboard queries returned data`);
});
