// The HTTP proxy port with real curl as the app: CONNECT tunnels and
// absolute-URI requests to mesh hosts, a denied service answered 403 with the
// reason, and an unknown host answered 502 naming it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { startMesh, type Mesh } from './mesh-fixture.js';

let mesh: Mesh;
before(async () => {
  mesh = await startMesh({ httpProxy: true });
});
after(async () => {
  await mesh?.close();
});

/** Runs curl without blocking the event loop (the agents live in this process). Returns status, body and headers. */
function curl(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const p = mesh.a.httpProxyAddress;
  assert.ok(p);
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '10', '-x', `http://${p.host}:${p.port}`, ...args], { encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, out: stdout, err: stderr });
    });
  });
}

test('absolute-URI request through the proxy reaches the mesh service', async () => {
  const r = await curl(['--interface', mesh.frontend.address, '-H', 'traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'http://catalog.shop.mesh/items?page=2']);
  assert.equal(r.code, 0, r.err);
  const seen = JSON.parse(r.out) as { url: string; headers: Record<string, string> };
  assert.equal(seen.url, '/items?page=2');
  assert.equal(seen.headers.host, 'catalog.shop.mesh');
  assert.equal(seen.headers.traceparent, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  assert.equal(seen.headers['proxy-connection'], undefined);
  const f = mesh.flowsA.find((x) => x.path === '/items' && x.verdict === 'allow');
  assert.ok(f);
  assert.equal(f.status, 200);
});

test('CONNECT tunnel through the proxy (curl -p) reaches the mesh service', async () => {
  const r = await curl(['-p', '--interface', mesh.frontend.address, 'http://catalog.shop.mesh/tunnelled']);
  assert.equal(r.code, 0, r.err);
  assert.equal((JSON.parse(r.out) as { url: string }).url, '/tunnelled');
});

test('a denied service: CONNECT and absolute URI both get 403 with the reason', async () => {
  const viaUri = await curl(['--interface', mesh.frontend.address, '-i', 'http://billing.shop.mesh/']);
  assert.match(viaUri.out, /^HTTP\/1\.1 403/);
  assert.match(viaUri.out, /x-entente-deny-reason: no rule allows spiffe:\/\/eu\.test\/ns\/shop\/sa\/frontend to call shop\/billing/);
  assert.match(viaUri.out, /denied by policy: no rule allows/);
  const viaConnect = await curl(['-p', '--interface', mesh.frontend.address, '-v', 'http://billing.shop.mesh/']);
  assert.notEqual(viaConnect.code, 0);
  assert.match(viaConnect.err, /CONNECT tunnel failed, response 403|< HTTP\/1\.1 403/);
});

test('an unknown host gets 502 naming the host and why; an unknown source address is refused', async () => {
  const r = await curl(['--interface', mesh.frontend.address, '-i', 'http://nothing.shop.mesh/']);
  assert.match(r.out, /^HTTP\/1\.1 502/);
  assert.match(r.out, /no route to nothing\.shop\.mesh/);
  const other = await curl(['--interface', `${mesh.prefix}.98`, '-i', 'http://catalog.shop.mesh/']);
  assert.match(other.out, /^HTTP\/1\.1 403/);
  assert.match(other.out, new RegExp(`connection from ${mesh.prefix.replace(/\./g, '\\.')}\\.98 matches no workload on this node`));
});
