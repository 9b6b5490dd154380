// L7 services: every HTTP request on the CONNECT stream is authorized with its
// method and path; allowed ones reach the app with the verified caller in
// x-forwarded-client-cert (a forged copy is replaced) and traceparent intact.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { startMesh, metricValue, type Mesh } from './mesh-fixture.js';
import type { OutboundPort } from '../../src/agent/dataplane/dataplane-snapshot.js';
import { eventually } from '../../src/core/eventually.js';

let mesh: Mesh;

before(async () => {
  mesh = await startMesh();
  const ports: OutboundPort[] = [{ listen: { host: `${mesh.prefix}.1`, port: 0 }, host: 'orders.shop.mesh', port: 80 }];
  await mesh.a.setSnapshot(mesh.snapshotA({ outboundPorts: ports, generation: 2 }));
});
after(async () => {
  await mesh?.close();
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Several requests over ONE app connection (keep-alive), as an HTTP client in the frontend would send them. */
async function requests(reqs: { method: string; path: string; headers?: Record<string, string>; body?: string }[]): Promise<Reply[]> {
  const addr = mesh.a.outboundAddresses().get('orders.shop.mesh:80');
  assert.ok(addr);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let sockets = 0;
  const out: Reply[] = [];
  try {
    for (const r of reqs) {
      out.push(
        await new Promise<Reply>((resolve, reject) => {
          const req = request({ agent, host: addr.host, port: addr.port, localAddress: mesh.frontend.address, method: r.method, path: r.path, headers: { host: 'orders.shop.mesh', ...r.headers } }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
          });
          req.on('socket', (s) => {
            if (!(s as unknown as { counted?: boolean }).counted) {
              (s as unknown as { counted?: boolean }).counted = true;
              sockets++;
            }
          });
          req.on('error', reject);
          req.end(r.body);
        }),
      );
    }
  } finally {
    agent.destroy();
  }
  assert.equal(sockets, 1, 'all requests went over one app connection');
  return out;
}

test('L7 allow: the app sees the verified caller in XFCC; a forged header is replaced; traceparent passes', async () => {
  const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  const [r] = await requests([{ method: 'GET', path: '/public/items?x=1', headers: { 'x-forwarded-client-cert': 'By=spiffe://evil/x;URI=spiffe://eu.test/ns/shop/sa/admin', traceparent } }]);
  assert.equal(r!.status, 200);
  const seen = JSON.parse(r!.body) as { url: string; headers: Record<string, string> };
  assert.equal(seen.url, '/public/items?x=1');
  assert.equal(seen.headers['x-forwarded-client-cert'], `By=${mesh.orders.spiffeId};URI=${mesh.frontend.spiffeId}`);
  assert.equal(seen.headers.traceparent, traceparent);
  await eventually(() => mesh.flowsB.some((f) => f.method === 'GET' && f.verdict === 'allow'), { what: 'L7 allow record', timeoutMs: 60_000 });
  const f = mesh.flowsB.find((x) => x.method === 'GET' && x.verdict === 'allow')!;
  assert.equal(f.path, '/public/items');
  assert.equal(f.status, 200);
  assert.equal(f.policy, 'table');
  assert.ok(f.bytesIn > 0);
});

test('L7 deny: 403 with a body that says why; allowed requests on the same connection still pass', async () => {
  const [denied, allowed, deniedMethod] = await requests([
    { method: 'GET', path: '/admin/users' },
    { method: 'POST', path: '/public/orders', body: 'qty=1' },
    { method: 'DELETE', path: '/public/orders/1' },
  ]);
  assert.equal(denied!.status, 403);
  assert.match(denied!.body, /^denied by policy: no rule allows spiffe:\/\/eu\.test\/ns\/shop\/sa\/frontend to call shop\/orders:\d+ GET \/admin\/users/);
  assert.equal(allowed!.status, 200);
  assert.equal((JSON.parse(allowed!.body) as { body: string }).body, 'qty=1');
  assert.equal(deniedMethod!.status, 403);
  assert.match(deniedMethod!.body, /DELETE \/public\/orders\/1/);
  assert.ok((await metricValue(mesh.registryB, 'entente_agent_l7_requests_total', { verdict: 'deny' })) >= 2);
  const deny = mesh.flowsB.find((x) => x.verdict === 'deny' && x.path === '/admin/users');
  assert.ok(deny);
  assert.equal(deny.status, 403);
});
