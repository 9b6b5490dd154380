// probeGateway against a real gateway: answered with its region at once and
// counted "probe"; a wrong region, a closed port, a silent or foreign server fail.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Registry } from 'prom-client';
import { startGateway, type RunningGateway } from '../../src/gateway/gateway-server.js';
import { AgentRouteTable } from '../../src/gateway/agent-route-table.js';
import { LinkProber, probeGateway } from '../../src/gateway/link-prober.js';
import { silentLogger } from '../../src/core/log.js';
import { eventually } from '../../src/core/eventually.js';
import { closedPort } from './tls-fixture.js';

/** A TCP server that does `onConnection` with every client. */
async function startServer(onConnection: (s: Socket) => void): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => undefined); onConnection(s); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}

describe('probeGateway against a real gateway', () => {
  let gw: RunningGateway;
  const at = (port: number) => ({ host: '127.0.0.1', port });

  before(async () => {
    gw = await startGateway({ listen: { host: '127.0.0.1', port: 0 }, region: 'eu', routes: new AgentRouteTable('eu.example'), log: silentLogger(), registry: new Registry() });
  });
  after(async () => { await gw?.close(); });

  it('is answered with the region, with an RTT, and the gateway counts a probe (nothing else)', async () => {
    const before = gw.stats().results;
    const r = await probeGateway({ region: 'eu', address: gw.address }, 2000);
    assert.equal(r.ok, true, r.ok ? '' : r.reason);
    assert.ok(r.ok && r.rttMs >= 0 && r.rttMs < 2000, JSON.stringify(r));
    await eventually(() => gw.stats().results.probe === before.probe + 1, { what: 'the probe counted', timeoutMs: 5000 });
    const after = gw.stats().results;
    for (const k of ['routed', 'relayed', 'not_tls', 'unknown_sni', 'aborted', 'timeout'] as const) assert.equal(after[k], before[k], k);
  });

  it('a gateway of another region than expected fails, naming both', async () => {
    const r = await probeGateway({ region: 'us', address: gw.address }, 2000);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.reason, 'answered as region "eu", expected "us"');
  });

  it('a closed port fails (never rejects)', async () => {
    const r = await probeGateway({ region: 'eu', address: at(await closedPort()) }, 2000);
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.reason : '', /ECONNREFUSED/);
  });

  it('a server that never answers fails at the deadline', async () => {
    const silent = await startServer(() => undefined);
    try {
      const started = Date.now();
      const r = await probeGateway({ region: 'eu', address: at(silent.port) }, 300);
      assert.equal(!r.ok && r.reason, 'no answer within 300 ms');
      assert.ok(Date.now() - started >= 290);
    } finally { await silent.close(); }
  });

  it('a server that answers something else fails', async () => {
    const http = await startServer((s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    const closer = await startServer((s) => s.end());
    const chatty = await startServer((s) => s.write('x'.repeat(1000)));
    try {
      const r = await probeGateway({ region: 'eu', address: at(http.port) }, 2000);
      assert.equal(!r.ok && r.reason, 'answer is not a probe answer');
      const c = await probeGateway({ region: 'eu', address: at(closer.port) }, 2000);
      assert.equal(!c.ok && c.reason, 'closed without an answer');
      const x = await probeGateway({ region: 'eu', address: at(chatty.port) }, 2000);
      assert.equal(!x.ok && x.reason, 'answer is not a probe answer');
    } finally {
      await http.close(); await closer.close(); await chatty.close();
    }
  });

  it('a LinkProber with the real probe finds the gateway reachable and a closed port unreachable', async () => {
    const dead = at(await closedPort());
    const prober = new LinkProber({ intervalMs: 50 });
    prober.setTargets([{ region: 'eu', address: gw.address }, { region: 'us', address: dead }]);
    prober.start();
    try {
      await eventually(() => prober.reachable('eu', gw.address) === true && prober.reachable('us', dead) === false, { what: 'both links known', timeoutMs: 5000 });
      const eu = prober.status().find((s) => s.region === 'eu')!;
      assert.ok(eu.rttMs !== undefined && eu.rttMs >= 0);
    } finally { prober.stop(); }
  });
});
