// Pooled sessions and silent failures: an idle session is reaped, and a peer
// that stops answering (no FIN, no RST: a black hole) is detected by HTTP/2
// PINGs, its streams are failed, and the next connection reconnects.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { startMesh, exchange, makeSnapshot, closeServer, type Mesh } from './mesh-fixture.js';
import type { SocketAddress } from '../../src/core/address.js';
import { eventually } from '../../src/core/eventually.js';

let mesh: Mesh;
let relay: Server;
let blackhole = false;
const relaySockets = new Set<Socket>();

before(async () => {
  mesh = await startMesh({ tuningA: { keepaliveMs: 100, idleSessionMs: 300 } });
  // A TCP relay in front of agent B that can silently stop forwarding.
  relay = createServer((down) => {
    const b = mesh.b.inboundAddress;
    const up = connect(b.port, b.host);
    for (const s of [down, up]) {
      relaySockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => relaySockets.delete(s));
    }
    down.on('data', (d: Buffer) => blackhole || up.write(d));
    up.on('data', (d: Buffer) => blackhole || down.write(d));
    down.on('close', () => up.destroy());
    up.on('close', () => down.destroy());
  });
  await new Promise<void>((r) => relay.listen(0, `${mesh.prefix}.7`, () => r()));
  const a = relay.address();
  assert.ok(a && typeof a === 'object');
  const dial: SocketAddress = { host: a.address, port: a.port };
  const base = mesh.snapshotA();
  const ep = { ...base.routes.get('catalog.shop.mesh')!.ports.get(7000)![0]!, dial };
  await mesh.a.setSnapshot(
    makeSnapshot({
      generation: 2,
      region: 'eu',
      trustDomain: base.trustDomain,
      workloads: [mesh.frontend],
      routes: new Map([['catalog.shop.mesh', { namespace: 'shop', name: 'catalog', ports: new Map([[7000, [ep]]]) }]]),
      outboundPorts: [{ listen: { host: `${mesh.prefix}.1`, port: 0 }, host: 'catalog.shop.mesh', port: 7000 }],
      authorizer: base.authorizer,
      bundles: [{ trustDomain: base.trustDomain, region: 'eu', pems: [mesh.eu.caCertPem] }],
    }),
  );
});
after(async () => {
  for (const s of relaySockets) s.destroy();
  if (relay) await closeServer(relay);
  await mesh?.close();
});

const echo = (): SocketAddress => mesh.a.outboundAddresses().get('catalog.shop.mesh:7000')!;

test('a pooled session without streams is closed after idleSessionMs', async () => {
  assert.equal((await exchange(echo(), mesh.frontend.address, 'a')).data, 'echo:a');
  assert.equal(mesh.a.poolSize(), 1);
  await eventually(() => mesh.a.poolSize() === 0, { what: 'idle session reaped', timeoutMs: 60_000 });
});

test('a peer that goes silent is dropped by keepalive pings; the next connection reconnects', async () => {
  // A long-lived app connection keeps the session busy, so only the pings can notice.
  const app = connect({ host: echo().host, port: echo().port, localAddress: mesh.frontend.address });
  app.on('error', () => undefined);
  const closed = new Promise<void>((r) => app.once('close', () => r()));
  await new Promise((r) => app.once('connect', r));
  app.write('pending');
  await eventually(() => mesh.a.poolSize() === 1 && relaySockets.size === 2, { what: 'session through the relay', timeoutMs: 60_000 });
  await new Promise((r) => setTimeout(r, 350)); // longer than idleSessionMs: the open stream must keep it
  assert.equal(mesh.a.poolSize(), 1, 'a session with an open stream is not idle');
  blackhole = true;
  await closed; // the stream failed with its session
  await eventually(() => mesh.a.poolSize() === 0, { what: 'the dead session to leave the pool', timeoutMs: 60_000 });
  blackhole = false;
  assert.equal((await exchange(echo(), mesh.frontend.address, 'again')).data, 'echo:again');
});
