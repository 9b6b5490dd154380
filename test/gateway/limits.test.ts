// Gateway connection caps over real sockets: N+1 connections from one source
// with a per-source cap of N -> the extra one is closed at once and counted,
// while another source still completes mTLS through the gateway; the global
// cap likewise, and a freed slot is usable again.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Registry } from 'prom-client';
import { startGateway, type RunningGateway } from '../../src/gateway/gateway-server.js';
import { AgentRouteTable } from '../../src/gateway/agent-route-table.js';
import { silentLogger } from '../../src/core/log.js';
import { eventually } from '../../src/core/eventually.js';
import { makeTestPki, startEchoBackend, type TestPki, type EchoBackend } from './tls-fixture.js';

const SNI = 'web.default.node-a.eu.example';
const PER_SOURCE = 3;
const GLOBAL = 5;
// Our own loopback addresses (this helper's range), one per "source".
const SOURCE_A = '127.87.0.1';
const SOURCE_B = '127.87.0.2';
const SOURCE_C = '127.87.0.3';
const WAIT = { timeoutMs: 30_000, intervalMs: 50 };

describe('gateway connection caps', () => {
  let pki: TestPki;
  let backend: EchoBackend;
  let gw: RunningGateway;
  const registry = new Registry();
  const open: Socket[] = [];

  before(async () => {
    pki = await makeTestPki(SNI);
    backend = await startEchoBackend(pki);
    const table = new AgentRouteTable('eu.example');
    table.replace(new Map([['node-a', { host: '127.0.0.1', port: backend.port }]]));
    // A long ClientHello timeout: held connections stay open for the whole test.
    gw = await startGateway({ listen: { host: '127.0.0.1', port: 0 }, region: 'test', routes: table, log: silentLogger(), registry, clientHelloTimeoutMs: 120_000,
      caps: { maxConnections: GLOBAL, maxConnectionsPerSource: PER_SOURCE } });
  });
  after(async () => {
    for (const s of open) s.destroy();
    await gw?.close();
    await backend?.close();
    await pki?.cleanup();
  });

  const result = async (r: string): Promise<number> => {
    const v = (await registry.getSingleMetric('entente_gateway_connections_total')!.get()).values.find((x) => x.labels.result === r);
    return v?.value ?? 0;
  };

  /** A connection that says nothing (it holds a slot while the gateway waits for its ClientHello); resolves once connected. */
  const hold = (from: string): Promise<{ socket: Socket; closed: () => boolean }> => new Promise((resolve, reject) => {
    let closed = false;
    const socket = netConnect({ host: gw.address.host, port: gw.address.port, localAddress: from });
    open.push(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => { closed = true; });
    socket.once('connect', () => resolve({ socket, closed: () => closed }));
    socket.once('error', reject);
  });

  /** A full mTLS exchange through the gateway from `from`: resolves with the echoed bytes. */
  const exchange = (from: string, payload: string): Promise<string> => new Promise((resolve, reject) => {
    const tcp = netConnect({ host: gw.address.host, port: gw.address.port, localAddress: from });
    open.push(tcp);
    const s = tlsConnect({ socket: tcp, servername: SNI, ca: pki.caPem, cert: pki.clientCertPem, key: pki.clientKeyPem });
    let data = '';
    s.on('secureConnect', () => s.end(payload));
    s.on('data', (d: Buffer) => { data += d.toString(); });
    s.on('error', reject);
    s.on('close', () => resolve(data));
  });

  it('refuses the connection over the per-source cap at once, counts it, and still serves another source', async () => {
    const held = [];
    for (let i = 0; i < PER_SOURCE; i++) held.push(await hold(SOURCE_A));
    await eventually(() => gw.stats().active === PER_SOURCE, { ...WAIT, what: `${PER_SOURCE} connections held` });
    const before = await result('source_over_capacity');
    const extra = await hold(SOURCE_A);
    await eventually(() => extra.closed(), { ...WAIT, what: 'the gateway to close the connection over the per-source cap' });
    assert.equal(await result('source_over_capacity'), before + 1);
    assert.ok(held.every((h) => !h.closed()), 'the connections within the cap are untouched');
    assert.equal(await exchange(SOURCE_B, 'from b'), 'from b\nbytes=6\n', 'another source completes mTLS through the gateway');
  });

  it('refuses connections over the global cap, and a freed slot is usable again', async () => {
    await eventually(() => gw.stats().active === PER_SOURCE, { ...WAIT, what: 'only source A\'s held connections left' });
    const fromB = [];
    for (let i = 0; i < GLOBAL - PER_SOURCE; i++) fromB.push(await hold(SOURCE_B));
    await eventually(() => gw.stats().active === GLOBAL, { ...WAIT, what: `${GLOBAL} connections held` });
    const before = await result('over_capacity');
    const extra = await hold(SOURCE_C);
    await eventually(() => extra.closed(), { ...WAIT, what: 'the gateway to close the connection over the global cap' });
    assert.equal(await result('over_capacity'), before + 1);
    fromB[0]!.socket.destroy();
    await eventually(() => gw.stats().active < GLOBAL, { ...WAIT, what: 'a slot to free up' });
    assert.equal(await exchange(SOURCE_C, 'from c'), 'from c\nbytes=6\n');
  });
});
