// The outbound conformance suite (hono's common.case.test pattern): the same
// behaviour is required of every outbound entry — per-service ports, HTTP
// CONNECT and absolute URIs — because they only build a call and run one
// stack. outbound-conformance.test.ts runs it once per entry against real
// data planes, sockets and mTLS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import type { SocketAddress } from '../../src/core/address.js';
import { subscribeFlows, type FlowDecisionEvent, type FlowEndEvent, type FlowStartEvent } from '../../src/agent/dataplane/index.js';
import { eventually } from '../../src/core/eventually.js';
import { metricValue, type Mesh } from './mesh-fixture.js';

export interface Reply {
  /** The HTTP status the app saw; undefined when its connection was closed without an answer. */
  readonly status: number | undefined;
  readonly text: string;
}

/** How one entry carries a GET to a mesh host:port from a local address. */
export interface EntryDriver {
  readonly name: 'port' | 'connect' | 'proxy';
  /** Whether a refusal reaches the app as a status (per-service ports can only close the connection). */
  readonly speaksStatus: boolean;
  get(mesh: Mesh, host: string, port: number, path: string, from: string): Promise<Reply>;
}

const WAIT = { timeoutMs: 60_000, intervalMs: 20 };

/** Writes `payload` from `from`, collects everything until the other side closes (bounded). */
export function talk(to: SocketAddress, from: string, payload: string): Promise<Reply> {
  return new Promise((resolve) => {
    const s = netConnect({ host: to.host, port: to.port, localAddress: from });
    const chunks: Buffer[] = [];
    const t = setTimeout(() => s.destroy(), 30_000);
    s.on('connect', () => s.write(payload));
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(t);
      const text = Buffer.concat(chunks).toString();
      // The last status line wins: a CONNECT's "200 Connection Established" is followed by the app's own.
      const statuses = [...text.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => Number(m[1]));
      resolve({ status: statuses.at(-1), text });
    });
  });
}

export function outboundConformance(driver: EntryDriver, mesh: () => Mesh): void {
  const name = (what: string): string => `[${driver.name}] ${what}`;

  test(name('an allowed call reaches the app and is one allow flow with service, destination and bytes'), async () => {
    const m = mesh();
    const before = m.flowsA.length;
    const path = `/conformance/${driver.name}/ok`;
    const r = await driver.get(m, 'catalog.shop.mesh', 80, path, m.frontend.address);
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, new RegExp(path));
    const f = await eventually(() => m.flowsA.slice(before).find((x) => x.direction === 'outbound' && x.verdict === 'allow' && x.service === 'shop/catalog'), {
      ...WAIT,
      what: 'the allow flow record',
    });
    assert.equal(f.destination?.toString(), m.catalog.spiffeId.toString());
    assert.equal(f.source?.toString(), m.frontend.spiffeId.toString());
    assert.ok(f.bytesIn > 0, 'response bytes counted');
  });

  test(name('a call the destination denies is refused and recorded as a deny with the reason'), async () => {
    const m = mesh();
    const before = m.flowsA.length;
    const r = await driver.get(m, 'billing.shop.mesh', 80, '/', m.frontend.address);
    if (driver.speaksStatus) {
      assert.equal(r.status, 403, r.text);
      assert.match(r.text, /x-entente-deny-reason: no rule allows/);
    } else assert.ok(r.status === undefined, `the connection is closed without an answer, got ${r.text}`);
    const f = await eventually(() => m.flowsA.slice(before).find((x) => x.service === 'shop/billing' && x.verdict === 'deny'), { ...WAIT, what: 'the deny flow record' });
    assert.match(f.reason ?? '', /no rule allows/);
    assert.equal(f.status, 403, 'the destination agent answered 403');
  });

  test(name('an unknown source address is refused, counted and recorded with its address'), async () => {
    const m = mesh();
    const from = `${m.prefix}.97`;
    const counted = await metricValue(m.registryA, 'entente_agent_refused_connections_total', { reason: 'unknown_source' });
    const r = await driver.get(m, 'catalog.shop.mesh', 80, '/', from);
    if (driver.speaksStatus) {
      assert.equal(r.status, 403, r.text);
      assert.match(r.text, /matches no workload on this node/);
    } else assert.equal(r.status, undefined, r.text);
    const f = await eventually(() => m.flowsA.find((x) => x.sourceAddress === from && x.verdict === 'deny'), { ...WAIT, what: 'the refused-caller flow record' });
    assert.equal(f.source, undefined);
    assert.equal(await metricValue(m.registryA, 'entente_agent_refused_connections_total', { reason: 'unknown_source' }), counted + 1);
    // Drop it so a later case's search by address starts clean.
    m.flowsA.splice(m.flowsA.indexOf(f), 1);
  });

  test(name('a host no route serves fails with a reason naming it'), async () => {
    const m = mesh();
    const before = m.flowsA.length;
    const r = await driver.get(m, 'nothing.shop.mesh', 80, '/', m.frontend.address);
    if (driver.speaksStatus) {
      assert.equal(r.status, 502, r.text);
      assert.match(r.text, /no route to nothing\.shop\.mesh/);
    } else assert.equal(r.status, undefined, r.text);
    const f = await eventually(() => m.flowsA.slice(before).find((x) => x.verdict === 'error' && /no route to nothing\.shop\.mesh/.test(x.reason ?? '')), { ...WAIT, what: 'the no-route flow record' });
    assert.equal(f.source?.toString(), m.frontend.spiffeId.toString());
  });

  test(name('an http port: each request is authorized on its own, the app sees the caller, a denied path gets 403 with the reason'), async () => {
    const m = mesh();
    const ok = await driver.get(m, 'orders.shop.mesh', 80, `/public/${driver.name}`, m.frontend.address);
    assert.equal(ok.status, 200, ok.text);
    const seen = JSON.parse(ok.text.slice(ok.text.lastIndexOf('\r\n\r\n') + 4)) as { url: string; headers: Record<string, string> };
    assert.equal(seen.url, `/public/${driver.name}`);
    assert.equal(seen.headers['x-forwarded-client-cert'], `By=${m.orders.spiffeId.toString()};URI=${m.frontend.spiffeId.toString()}`);
    assert.equal(seen.headers.host, 'orders.shop.mesh', "the app sees the caller's Host");
    const denied = await driver.get(m, 'orders.shop.mesh', 80, '/private', m.frontend.address);
    // Even on a per-service port: the destination agent parses HTTP on an http port and answers each request.
    assert.equal(denied.status, 403, denied.text);
    assert.match(denied.text, /x-entente-deny-reason: /);
    await eventually(() => m.flowsB.find((x) => x.direction === 'inbound' && x.service === 'shop/orders' && x.path === '/private' && x.verdict === 'deny'), { ...WAIT, what: "the destination's per-request deny record" });
  });

  test(name('flow start and end are published on diagnostics_channel under this data plane'), async () => {
    const m = mesh();
    const starts: FlowStartEvent[] = [];
    const decisions: FlowDecisionEvent[] = [];
    const ends: FlowEndEvent[] = [];
    const stopA = subscribeFlows(m.a.tag, { start: (e) => starts.push(e), decision: (e) => decisions.push(e), end: (e) => ends.push(e) });
    const otherEnds: FlowEndEvent[] = [];
    const stopB = subscribeFlows(m.b.tag, { end: (e) => otherEnds.push(e) });
    try {
      const r = await driver.get(m, 'catalog.shop.mesh', 80, `/conformance/${driver.name}/events`, m.frontend.address);
      assert.equal(r.status, 200, r.text);
      const end = await eventually(() => ends.find((e) => e.record.direction === 'outbound' && e.record.service === 'shop/catalog'), { ...WAIT, what: 'the end event' });
      assert.ok(starts.some((s) => s.direction === 'outbound' && s.target === 'catalog.shop.mesh:80' && s.time <= end.record.time + end.record.durationMs));
      assert.equal(end.code, undefined);
      assert.ok(decisions.some((d) => d.direction === 'outbound' && d.verdict === 'allow' && d.service === 'shop/catalog'), 'the decision event');
      assert.ok(ends.every((e) => e.dataplane === m.a.tag), 'only agent A events reach A subscribers');
      await eventually(() => otherEnds.some((e) => e.record.direction === 'inbound'), { ...WAIT, what: "agent B's inbound event on B's tag" });
      assert.ok(otherEnds.every((e) => e.dataplane === m.b.tag));
    } finally {
      stopA();
      stopB();
    }
  });
}

function httpGet(host: string, path: string): string {
  return `GET ${path} HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n\r\n`;
}

export const ENTRY_DRIVERS: readonly EntryDriver[] = [
  {
    name: 'port',
    speaksStatus: false,
    async get(mesh, host, port, path, from) {
      const at = mesh.a.outboundAddresses().get(`${host}:${port}`);
      assert.ok(at, `a per-service port for ${host}:${port}`);
      return talk(at, from, httpGet(host, path));
    },
  },
  {
    name: 'connect',
    speaksStatus: true,
    async get(mesh, host, port, path, from) {
      const proxy = mesh.a.httpProxyAddress;
      assert.ok(proxy);
      return talk(proxy, from, `CONNECT ${host}:${port} HTTP/1.1\r\nhost: ${host}:${port}\r\n\r\n${httpGet(host, path)}`);
    },
  },
  {
    name: 'proxy',
    speaksStatus: true,
    async get(mesh, host, port, path, from) {
      const proxy = mesh.a.httpProxyAddress;
      assert.ok(proxy);
      return talk(proxy, from, `GET http://${host}:${port}${path} HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n\r\n`);
    },
  },
];
