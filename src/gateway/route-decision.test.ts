// Route decisions as a table: every final parse outcome maps to one result and alert.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decideRoute, tlsAlertRecord, type GatewayRoutes } from './route-decision.js';
import type { ClientHelloParse } from './client-hello.js';

const routes: GatewayRoutes = {
  lookup: (name) => (name === 'web.default.node-a.eu.example' ? { host: '127.0.0.1', port: 15008 } : undefined),
};
const ok = (serverName: string | undefined): Exclude<ClientHelloParse, { kind: 'incomplete' }> => ({ kind: 'ok', serverName, alpn: [], bytesParsed: 100 });

describe('decideRoute', () => {
  const table: Array<{ name: string; parse: Exclude<ClientHelloParse, { kind: 'incomplete' }>; routes?: GatewayRoutes; want: Record<string, unknown> }> = [
    { name: 'known SNI routes', parse: ok('web.default.node-a.eu.example'),
      want: { kind: 'route', serverName: 'web.default.node-a.eu.example', target: { host: '127.0.0.1', port: 15008 } } },
    { name: 'unknown SNI', parse: ok('web.default.node-z.eu.example'), want: { kind: 'refuse', result: 'unknown_sni', alert: 'unrecognized_name' } },
    { name: 'no SNI', parse: ok(undefined), want: { kind: 'refuse', result: 'no_sni', alert: 'handshake_failure' } },
    { name: 'not TLS: no alert', parse: { kind: 'invalid', reason: 'x', notTls: true }, want: { kind: 'refuse', result: 'not_tls', alert: undefined } },
    { name: 'malformed TLS', parse: { kind: 'invalid', reason: 'x', notTls: false }, want: { kind: 'refuse', result: 'malformed', alert: 'decode_error' } },
    { name: 'throwing lookup is an unknown name, not a crash', parse: ok('a.b.c.d'),
      routes: { lookup: () => { throw new Error('boom'); } }, want: { kind: 'refuse', result: 'unknown_sni', reason: 'route lookup failed: boom' } },
  ];
  for (const c of table) {
    it(c.name, () => {
      const d = decideRoute(c.parse, c.routes ?? routes) as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(c.want)) assert.deepEqual(d[k], v, `${k} of ${JSON.stringify(d)}`);
    });
  }

  it('unknown SNI reason names the server name', () => {
    const d = decideRoute(ok('x.y.z.w'), routes);
    assert.equal(d.kind === 'refuse' && d.reason, 'no route for server name "x.y.z.w"');
  });

  it('alert records are fatal TLS alerts', () => {
    assert.deepEqual([...tlsAlertRecord('unrecognized_name')], [21, 3, 3, 0, 2, 2, 112]);
    assert.deepEqual([...tlsAlertRecord('decode_error')], [21, 3, 3, 0, 2, 2, 50]);
  });
});

describe('decideRoute with relays', () => {
  const US = { host: '127.0.0.2', port: 15443 };
  const asked: string[] = [];
  const relaying: GatewayRoutes = {
    lookup: (name) => (name.endsWith('.eu.example') && name.includes('node-a') ? { host: '127.0.0.1', port: 15008 } : undefined),
    relay: (name) => {
      asked.push(name);
      return name.endsWith('.us.example') || name.includes('node-a') ? { region: 'us', target: US } : undefined;
    },
  };

  it('a local route wins over a relay for the same name, and relay() is not even asked', () => {
    asked.length = 0;
    const d = decideRoute(ok('web.default.node-a.eu.example'), relaying);
    assert.equal(d.kind, 'route');
    assert.deepEqual(asked, []);
  });

  it('a name with no local route is relayed to the region relay() names', () => {
    assert.deepEqual(decideRoute(ok('web.default.node-b.us.example'), relaying),
      { kind: 'relay', serverName: 'web.default.node-b.us.example', region: 'us', target: US });
  });

  it('a name neither local nor relayed is unknown', () => {
    const d = decideRoute(ok('web.default.node-b.ap.example'), relaying);
    assert.equal(d.kind === 'refuse' && d.result, 'unknown_sni');
  });

  it('a relayed connection is never relayed again: unknown_sni, saying so, and relay() is not asked', () => {
    asked.length = 0;
    const d = decideRoute(ok('web.default.node-b.us.example'), relaying, 'ap');
    assert.equal(d.kind, 'refuse');
    assert.equal(d.kind === 'refuse' && d.result, 'unknown_sni');
    assert.equal(d.kind === 'refuse' && d.alert, 'unrecognized_name');
    assert.match(d.kind === 'refuse' ? d.reason : '', /relayed from ap: a relayed connection is never relayed again/);
    assert.deepEqual(asked, []);
  });

  it('a relayed connection still routes to this region\'s own agents', () => {
    assert.equal(decideRoute(ok('web.default.node-a.eu.example'), relaying, 'ap').kind, 'route');
  });

  it('a throwing relay() refuses the connection, naming the error', () => {
    const d = decideRoute(ok('web.default.node-b.us.example'), { lookup: () => undefined, relay: () => { throw new Error('relay table broken'); } });
    assert.equal(d.kind === 'refuse' && d.result, 'unknown_sni');
    assert.equal(d.kind === 'refuse' && d.reason, 'route lookup failed: relay table broken');
  });

  it('routes without relay() (a plain route table) never relay', () => {
    const d = decideRoute(ok('web.default.node-b.us.example'), routes);
    assert.equal(d.kind, 'refuse');
  });
});
