// The HTTP data-service probe: the reading of a lag answer as a table, and
// probeHttpMember against a real local HTTP server for each way a probe can
// fail (refused, hung, wrong status, oversized or malformed answer).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseLagAnswer, probeHttpMember, type HttpProbeErrorCode } from './http-probe.js';

describe('parseLagAnswer', () => {
  const cases: { body: string; want: ReturnType<typeof parseLagAnswer> | RegExp }[] = [
    { body: '{"role":"primary","position":42}', want: { role: 'primary', position: 42n } },
    { body: '{"role":"replica","position":40,"lagSeconds":0.5}', want: { role: 'replica', position: 40n, lagSeconds: 0.5 } },
    { body: '{"role":"replica","position":"18446744073709551615"}', want: { role: 'replica', position: (1n << 64n) - 1n } },
    { body: '{"role":"replica","position":40,"lagSeconds":null}', want: { role: 'replica', position: 40n } },
    { body: '{"role":"replica","position":"18446744073709551616"}', want: /position "18446744073709551616" is not/ },
    { body: '{"role":"replica","position":-1}', want: /position -1 is not/ },
    { body: '{"role":"replica","position":1.5}', want: /position 1.5 is not/ },
    { body: '{"role":"replica","position":9007199254740993}', want: /is not a non-negative integer/ },
    { body: '{"role":"replica","position":"0x10"}', want: /position "0x10" is not/ },
    { body: '{"role":"leader","position":1}', want: /role "leader" is not "primary" or "replica"/ },
    { body: '{"position":1}', want: /role undefined is not/ },
    { body: '{"role":"replica","position":1,"lagSeconds":-2}', want: /lagSeconds -2 is not/ },
    { body: '{"role":"replica","position":1,"lagSeconds":"1"}', want: /lagSeconds "1" is not/ },
    { body: '[1]', want: /not a JSON object/ },
    { body: 'ok', want: /not JSON/ },
  ];
  for (const c of cases) {
    it(c.body, () => {
      const got = parseLagAnswer(c.body);
      if (c.want instanceof RegExp) {
        assert.ok('error' in got, `expected an error, got ${JSON.stringify(got, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`);
        assert.match(got.error, c.want);
      } else assert.deepEqual(got, c.want);
    });
  }
});

describe('probeHttpMember', () => {
  let answer: (res: import('node:http').ServerResponse) => void = (res) => res.end();
  const server: Server = createServer((_req, res) => answer(res));
  const ready = new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  const probe = async (timeoutMs = 2000) => probeHttpMember({ host: '127.0.0.1', port: await ready, path: '/lag' }, { timeoutMs });
  const failsWith = async (code: HttpProbeErrorCode, message: RegExp, timeoutMs?: number): Promise<void> => {
    const r = await probe(timeoutMs);
    assert.equal(r.role, 'unreachable');
    if (r.role !== 'unreachable') return;
    assert.equal(r.error.code, code);
    assert.match(r.error.message, message);
  };

  it('reads a primary and a replica', async () => {
    answer = (res) => res.end('{"role":"primary","position":7}');
    assert.deepEqual(await probe(), { role: 'primary', position: 7n });
    answer = (res) => res.end('{"role":"replica","position":5,"lagSeconds":1.25}');
    assert.deepEqual(await probe(), { role: 'replica', position: 5n, lagSeconds: 1.25 });
  });

  it('fails on a status other than 200, naming it', async () => {
    answer = (res) => {
      res.statusCode = 503;
      res.end('starting');
    };
    await failsWith('HTTP_STATUS', /127\.0\.0\.1:\d+\/lag: answered 503/);
  });

  it('fails on an answer that does not parse', async () => {
    answer = (res) => res.end('{"role":"replica","position":"x"}');
    await failsWith('HTTP_BAD_REPLY', /position "x" is not/);
  });

  it('fails on an oversized answer without reading it all', async () => {
    answer = (res) => res.end(`{"role":"primary","position":1,"pad":"${'x'.repeat(64 * 1024)}"}`);
    await failsWith('HTTP_BAD_REPLY', /over 16384 bytes/);
  });

  it('fails on a member that never answers, after the timeout', async () => {
    answer = () => undefined; // holds the request open
    const t0 = Date.now();
    await failsWith('HTTP_TIMEOUT', /no answer within 150 ms/, 150);
    assert.ok(Date.now() - t0 < 10_000);
  });

  it('fails on a refused connection', async () => {
    const closed = createServer();
    const port = await new Promise<number>((resolve) => closed.listen(0, '127.0.0.1', () => resolve((closed.address() as AddressInfo).port)));
    await new Promise((resolve) => closed.close(resolve));
    const r = await probeHttpMember({ host: '127.0.0.1', port, path: '/lag' }, { timeoutMs: 2000 });
    assert.equal(r.role === 'unreachable' && r.error.code, 'HTTP_CONNECT');
  });
});
