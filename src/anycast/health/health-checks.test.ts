// The health checks against real sockets: an HTTP server on port 0 that serves
// the controller's GET /v1/health contract (200 healthy / 503 unhealthy, same
// body), a plain HTTP endpoint, and TCP ports that are open or closed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type Server, createServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import { buildHealthCheck, judgeRegionHealth, type RegionHealth } from './health-checks.js';

describe('health checks', () => {
  let http: Server;
  let tcp: TcpServer;
  let base = '';
  let closedPort = 0;
  let region: RegionHealth = { region: 'eu', healthy: true, gateways: { healthy: 1, total: 1 }, exportedServices: { healthy: 3, total: 3 } };
  let appStatus = 200;

  before(async () => {
    http = createServer((req, res) => {
      if (req.url === '/v1/health') {
        res.writeHead(region.healthy ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(region));
      } else if (req.url === '/slow') {
        setTimeout(() => res.end('late'), 2000).unref();
      } else if (req.url === '/garbage') {
        res.writeHead(200).end('not json');
      } else {
        res.writeHead(appStatus).end();
      }
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    tcp = createTcpServer((s) => s.destroy());
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    const probe = createTcpServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    closedPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
  });

  after(async () => {
    http.closeAllConnections();
    await new Promise<void>((r) => http.close(() => r()));
    await new Promise<void>((r) => tcp.close(() => r()));
  });

  it('controller check follows the controller verdict (200 healthy, 503 unhealthy)', async () => {
    const c = buildHealthCheck({ type: 'controller', url: `${base}/v1/health`, timeout: 1000 });
    region = { region: 'eu', healthy: true, gateways: { healthy: 1, total: 1 }, exportedServices: { healthy: 3, total: 3 } };
    const up = await c.run();
    assert.equal(up.ok, true, up.detail);
    assert.equal(up.region, 'eu');
    region = { ...region, healthy: false, gateways: { healthy: 0, total: 1 } };
    const down = await c.run();
    assert.equal(down.ok, false);
    assert.match(down.detail, /gateways 0\/1/);
  });

  it('controller check with thresholds counts gateways and services', async () => {
    const c = buildHealthCheck({ type: 'controller', url: `${base}/v1/health`, minHealthyGateways: 1, minHealthyServices: 2, timeout: 1000 });
    region = { region: 'eu', healthy: false, gateways: { healthy: 1, total: 3 }, exportedServices: { healthy: 2, total: 3 } };
    assert.equal((await c.run()).ok, true, 'degraded but above thresholds');
    region = { ...region, exportedServices: { healthy: 1, total: 3 } };
    const r = await c.run();
    assert.equal(r.ok, false);
    assert.match(r.detail, /fewer than 2 healthy services/);
  });

  it('controller check fails on a document that is not the contract', async () => {
    const r = await buildHealthCheck({ type: 'controller', url: `${base}/garbage`, timeout: 1000 }).run();
    assert.equal(r.ok, false);
    assert.match(r.detail, /unexpected health document/);
  });

  it('judges region health as a pure function', () => {
    const h = { region: 'us', healthy: true, gateways: { healthy: 0, total: 2 }, exportedServices: { healthy: 5, total: 5 } };
    assert.equal(judgeRegionHealth(h, {}).ok, true);
    assert.equal(judgeRegionHealth(h, { minHealthyGateways: 1 }).ok, false);
    assert.equal(judgeRegionHealth({ healthy: true }, {}).ok, false);
  });

  it('HTTP check passes on 2xx, fails on 5xx, a timeout or a refused connection', async () => {
    const c = buildHealthCheck({ type: 'http', url: `${base}/app`, timeout: 1000 });
    appStatus = 204;
    assert.equal((await c.run()).ok, true);
    appStatus = 500;
    assert.deepEqual([(await c.run()).ok, (await c.run()).detail], [false, 'HTTP 500']);
    assert.equal((await buildHealthCheck({ type: 'http', url: `${base}/app`, expectStatus: 500, timeout: 1000 }).run()).ok, true);
    const slow = await buildHealthCheck({ type: 'http', url: `${base}/slow`, timeout: 100 }).run();
    assert.deepEqual([slow.ok, slow.detail], [false, 'timed out']);
    const refused = await buildHealthCheck({ type: 'http', url: `http://127.0.0.1:${closedPort}/`, timeout: 1000 }).run();
    assert.deepEqual([refused.ok, refused.detail], [false, 'ECONNREFUSED']);
  });

  it('TCP check passes when the port accepts and fails when it refuses', async () => {
    const port = (tcp.address() as AddressInfo).port;
    assert.equal((await buildHealthCheck({ type: 'tcp', address: { host: '127.0.0.1', port }, timeout: 1000 }).run()).ok, true);
    const r = await buildHealthCheck({ type: 'tcp', address: { host: '127.0.0.1', port: closedPort }, timeout: 1000 }).run();
    assert.deepEqual([r.ok, r.detail], [false, 'ECONNREFUSED']);
  });
});
