// Relay through real gateways: a TLS client dials gateway A (eu) with a name of
// us's trust domain; A marks the connection and passes it to gateway B (us),
// which routes it to the TLS server behind it. Bytes pass untouched (the
// handshake completes end to end), and B never relays a relayed connection on.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { Registry } from 'prom-client';
import { startGateway, type RunningGateway } from '../../src/gateway/gateway-server.js';
import { AgentRouteTable } from '../../src/gateway/agent-route-table.js';
import { GatewayRouter } from '../../src/gateway/relay-routes.js';
import { buildClientHelloMessage, frameRecords } from '../../src/gateway/client-hello-builder.js';
import { relayLine } from '../../src/gateway/preamble.js';
import { silentLogger } from '../../src/core/log.js';
import { eventually, passes } from '../../src/core/eventually.js';
import { makeTestPki, startEchoBackend, tlsExchange, type TestPki, type EchoBackend } from './tls-fixture.js';

/** A workload on node-b of us: B's agent table routes it to the echo backend. */
const SNI_US = 'web.default.node-b.us.example';
/** A name of ap's trust domain, which B relays to (to the recorder below). */
const SNI_AP = 'web.default.node-c.ap.example';

/** Writes `parts` one after the other (a pause between), collects the reply until the peer closes. */
function rawExchange(port: number, parts: Buffer[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    s.on('connect', () => {
      void (async () => {
        for (const p of parts) {
          if (s.destroyed) return;
          s.write(p);
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
    });
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', () => undefined);
    s.on('close', () => resolve(Buffer.concat(chunks)));
    setTimeout(() => { s.destroy(); reject(new Error('peer did not close the connection')); }, 10_000).unref();
  });
}

/** Stands in for ap's gateway: keeps the first bytes of each connection, then closes it. */
async function startRecorder(): Promise<{ port: number; received: Buffer[]; close(): Promise<void> }> {
  const received: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      const all = Buffer.concat(chunks);
      if (all.includes(0x0a) && all.length > 60) { received.push(all); s.destroy(); }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    received,
    close: () => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}

const ALERT_UNRECOGNIZED_NAME = [21, 3, 3, 0, 2, 2, 112];

describe('relay through two real gateways', () => {
  let pki: TestPki;
  let backend: EchoBackend;
  let recorder: Awaited<ReturnType<typeof startRecorder>>;
  let a: RunningGateway;
  let b: RunningGateway;

  before(async () => {
    pki = await makeTestPki(SNI_US);
    backend = await startEchoBackend(pki);
    recorder = await startRecorder();
    const usAgents = new AgentRouteTable('us.example');
    usAgents.replace(new Map([['node-b', { host: '127.0.0.1', port: backend.port }]]));
    // B serves its own agents, and relays names of ap (what one hop must forbid for a relayed connection).
    const routerB = new GatewayRouter(usAgents, () => undefined);
    routerB.replaceRelays([{ region: 'ap', trustDomain: 'ap.example', gateways: [{ host: '127.0.0.1', port: recorder.port }] }]);
    b = await startGateway({ listen: { host: '127.0.0.1', port: 0 }, region: 'us', routes: routerB, log: silentLogger(), registry: new Registry() });
    const routerA = new GatewayRouter(new AgentRouteTable('eu.example'), () => undefined);
    routerA.replaceRelays([{ region: 'us', trustDomain: 'us.example', gateways: [b.address] }]);
    a = await startGateway({ listen: { host: '127.0.0.1', port: 0 }, region: 'eu', routes: routerA, log: silentLogger(), registry: new Registry() });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await recorder?.close();
    await backend?.close();
    await pki?.cleanup();
  });

  it('a TLS client dialling A with a name of us completes mTLS with the server behind B; A counts relayed, B routed', async () => {
    const relayedA = a.stats().results.relayed;
    const routedB = b.stats().results.routed;
    const routedA = a.stats().results.routed;
    const payload = randomBytes(256 * 1024);
    const { data, cert } = await tlsExchange(pki, a.address.port, payload, SNI_US);
    assert.equal(cert.fingerprint256, new X509Certificate(pki.serverCertPem).fingerprint256, 'the client sees the certificate of the server behind B');
    assert.equal(backend.clientSubjects.at(-1), 'source-agent', 'the server verified the client certificate through both gateways');
    assert.equal(createHash('sha256').update(data.subarray(0, payload.length)).digest('hex'), createHash('sha256').update(payload).digest('hex'));
    assert.equal(data.subarray(payload.length).toString(), `\nbytes=${payload.length}\n`, 'the half-close travelled through both gateways');
    await eventually(passes(() => {
      assert.equal(a.stats().results.relayed, relayedA + 1);
      assert.equal(b.stats().results.routed, routedB + 1);
    }), { what: 'A counts relayed and B routed', timeoutMs: 5000 });
    assert.equal(a.stats().results.routed, routedA, 'A routed nothing to its own agents');
  });

  it('A marks what it relays: B\'s relay target receives the relay line, then the ClientHello byte for byte', async () => {
    const hello = frameRecords(buildClientHelloMessage({ serverName: SNI_AP }));
    const before = recorder.received.length;
    const relayedB = b.stats().results.relayed;
    // Not relayed to B first: B relays it to "ap" (the recorder) itself.
    await rawExchange(b.address.port, [hello]);
    await eventually(() => recorder.received.length === before + 1, { what: 'the recorder got the relayed bytes', timeoutMs: 5000 });
    assert.deepEqual(recorder.received.at(-1), Buffer.concat([Buffer.from(relayLine('us'), 'latin1'), hello]));
    assert.equal(b.stats().results.relayed, relayedB + 1);
  });

  it('one hop only: B refuses (unknown_sni) a relayed connection for a name it would itself relay', async () => {
    const hello = frameRecords(buildClientHelloMessage({ serverName: SNI_AP }));
    const before = { unknown: b.stats().results.unknown_sni, relayed: b.stats().results.relayed, recorded: recorder.received.length };
    const reply = await rawExchange(b.address.port, [Buffer.concat([Buffer.from(relayLine('eu'), 'latin1'), hello])]);
    assert.deepEqual([...reply], ALERT_UNRECOGNIZED_NAME);
    assert.equal(b.stats().results.unknown_sni, before.unknown + 1);
    assert.equal(b.stats().results.relayed, before.relayed, 'nothing was relayed on');
    assert.equal(recorder.received.length, before.recorded);
  });

  it('a relayed connection whose marker and hello arrive in pieces is still routed to B\'s agent', async () => {
    const routedB = b.stats().results.routed;
    const line = Buffer.from(relayLine('eu'), 'latin1');
    const hello = frameRecords(buildClientHelloMessage({ serverName: SNI_US, alpn: ['h2'] }));
    const reply = await rawExchange(b.address.port, [line.subarray(0, 3), line.subarray(3, 10), line.subarray(10), hello.subarray(0, 20), hello.subarray(20)]);
    // Our synthetic hello offers nothing the backend accepts: its TLS alert proves the hello reached it, marker stripped.
    assert.equal(reply[0], 21, 'the backend answered with a TLS alert');
    assert.notDeepEqual([...reply], ALERT_UNRECOGNIZED_NAME);
    assert.equal(b.stats().results.routed, routedB + 1);
  });

  it('a relay marker and its hello in one segment are routed too', async () => {
    const routedB = b.stats().results.routed;
    const hello = frameRecords(buildClientHelloMessage({ serverName: SNI_US }));
    const reply = await rawExchange(b.address.port, [Buffer.concat([Buffer.from(relayLine('eu'), 'latin1'), hello])]);
    assert.equal(reply[0], 21);
    assert.equal(b.stats().results.routed, routedB + 1);
  });

  it('a malformed preamble is refused as not TLS, silently', async () => {
    const notTls = b.stats().results.not_tls;
    const reply = await rawExchange(b.address.port, [Buffer.from('ENTENTE-RELAY 1 Not_A_Region\n')]);
    assert.equal(reply.length, 0);
    assert.equal(b.stats().results.not_tls, notTls + 1);
  });

  it('a second relay marker after the first is not a ClientHello: refused as not TLS, nothing routed', async () => {
    const notTls = b.stats().results.not_tls;
    const routedB = b.stats().results.routed;
    const line = Buffer.from(relayLine('eu'), 'latin1');
    const reply = await rawExchange(b.address.port, [Buffer.concat([line, line, frameRecords(buildClientHelloMessage({ serverName: SNI_US }))])]);
    assert.equal(reply.length, 0);
    assert.equal(b.stats().results.not_tls, notTls + 1);
    assert.equal(b.stats().results.routed, routedB);
  });

  it('A tells the client when the relay target is down (upstream_unreachable, internal_error)', async () => {
    const dead = createServer();
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    const port = (dead.address() as AddressInfo).port;
    await new Promise((resolve) => dead.close(resolve));
    const router = new GatewayRouter(new AgentRouteTable('eu.example'), () => undefined);
    router.replaceRelays([{ region: 'us', trustDomain: 'us.example', gateways: [{ host: '127.0.0.1', port }] }]);
    const gw = await startGateway({ listen: { host: '127.0.0.1', port: 0 }, region: 'eu', routes: router, log: silentLogger(), registry: new Registry() });
    try {
      const reply = await rawExchange(gw.address.port, [frameRecords(buildClientHelloMessage({ serverName: SNI_US }))]);
      assert.deepEqual([...reply], [21, 3, 3, 0, 2, 2, 80]);
      assert.equal(gw.stats().results.upstream_unreachable, 1);
      assert.equal(gw.stats().results.relayed, 0);
    } finally {
      await gw.close();
    }
  });
});
