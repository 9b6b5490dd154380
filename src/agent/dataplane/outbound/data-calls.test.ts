// The HTTP data-calls layer as a table: writes to the primary, reads to the
// replicas, a token's reads to the replicas that had replayed that far (else
// the primary), a malformed token refused, bytes to the primary only.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { dataCallsLayer, type DataCallKind } from './data-calls.js';
import type { OutboundCall } from './call.js';
import type { Endpoint, HttpDataRoute } from '../dataplane-snapshot.js';
import { SpiffeId, parseTrustDomain } from '../../../identity/spiffe-id.js';
import { compileWriteMatcher } from '../../../data/write-match.js';
import { formatConsistencyToken } from '../../../data/consistency-token.js';
import type { Outcome } from '../outcome.js';

const td = parseTrustDomain('eu.example');
const ep = (name: string): Endpoint => ({ spiffeId: SpiffeId.forWorkload(td, 'shop', 'api'), sni: name, dial: { host: '127.0.0.1', port: 1 }, authority: `${name}:8080`, region: 'eu', weight: 1 });
const PRIMARY = [ep('primary')];
const NEAR = [ep('near')];
const FAR = [ep('far')];
const port = (eps: Endpoint[]) => new Map([[8080, eps]]);

const ROUTE: HttpDataRoute = {
  route: 'shop/orders',
  isWrite: compileWriteMatcher([{ methods: ['POST', 'PUT', 'PATCH', 'DELETE'] }]),
  tokenHeader: 'x-entente-consistency',
  primary: port(PRIMARY),
  reads: port([...NEAR, ...FAR]),
  replicas: [
    { position: 100n, ports: port(NEAR) },
    { position: 200n, ports: port(FAR) },
  ],
  writeHost: 'primary.orders.shop.mesh',
  tokenHost: 'token.orders.shop.mesh',
};

function run(route: HttpDataRoute, http: OutboundCall['http']): { outcome: Outcome; endpoints: readonly Endpoint[] | undefined; balanceHost: string | undefined; counted: [DataCallKind, string][] } {
  const counted: [DataCallKind, string][] = [];
  let endpoints: readonly Endpoint[] | undefined;
  let balanceHost: string | undefined;
  const service = dataCallsLayer((_r, kind, to) => counted.push([kind, to]))(async (call) => {
    endpoints = call.endpoints;
    balanceHost = call.balanceHost;
    return { kind: 'done', status: 200, bytesOut: 0, bytesIn: 0 };
  });
  const call = { host: 'orders.shop.mesh', port: 8080, data: route, http, endpoints: PRIMARY, balanceHost: undefined } as unknown as OutboundCall;
  let outcome!: Outcome;
  void service(call).then((o) => (outcome = o));
  return {
    get outcome() {
      return outcome;
    },
    get endpoints() {
      return endpoints;
    },
    get balanceHost() {
      return balanceHost;
    },
    counted,
  };
}

const req = (method: string, headers: Record<string, string> = {}): OutboundCall['http'] => ({ method, path: '/orders/1', replayable: true, deadlineMs: 0, headers });

it('classifies each request and picks its members', async () => {
  const token = (p: bigint) => ({ 'x-entente-consistency': formatConsistencyToken(p) });
  const cases: { what: string; route?: HttpDataRoute; http: OutboundCall['http']; endpoints?: readonly Endpoint[]; balanceHost?: string; counted: [DataCallKind, string]; refused?: RegExp }[] = [
    { what: 'a write: the primary', http: req('POST'), endpoints: PRIMARY, balanceHost: ROUTE.writeHost, counted: ['write', 'primary'] },
    { what: 'a read: the replicas, nearest first', http: req('GET'), endpoints: [...NEAR, ...FAR], counted: ['read', 'replica'] },
    { what: 'a token both replicas reached: all replicas, as plain reads', http: req('GET', token(100n)), endpoints: [...NEAR, ...FAR], counted: ['token_read', 'replica'] },
    { what: 'a token only the far replica reached: that one', http: req('GET', token(150n)), endpoints: FAR, balanceHost: ROUTE.tokenHost, counted: ['token_read', 'replica'] },
    { what: 'a token no replica reached: the primary', http: req('GET', token(201n)), endpoints: PRIMARY, balanceHost: ROUTE.writeHost, counted: ['token_read', 'primary'] },
    { what: 'a malformed token: refused', http: req('GET', { 'x-entente-consistency': '150' }), counted: ['bad_token', 'none'], refused: /x-entente-consistency: consistency token "150" is not of the form e1/ },
    { what: 'bytes, not a request: the primary', http: undefined, endpoints: PRIMARY, balanceHost: ROUTE.writeHost, counted: ['unclassified', 'primary'] },
    { what: 'a write with no primary: refused', route: { ...ROUTE, primary: port([]) }, http: req('PUT'), counted: ['write', 'none'], refused: /has no primary to take writes/ },
    { what: 'a read with no replica: the primary', route: { ...ROUTE, replicas: [], reads: port(PRIMARY) }, http: req('GET'), endpoints: PRIMARY, counted: ['read', 'primary'] },
  ];
  for (const c of cases) {
    const r = run(c.route ?? ROUTE, c.http);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(r.counted, [c.counted], c.what);
    if (c.refused) {
      assert.equal(r.outcome.kind, 'fail', c.what);
      if (r.outcome.kind === 'fail') assert.match(r.outcome.reason, c.refused, c.what);
      continue;
    }
    assert.deepEqual(r.endpoints, c.endpoints, c.what);
    assert.equal(r.balanceHost, c.balanceHost, c.what);
  }
});

it('passes every other call through untouched', async () => {
  let seen: OutboundCall | undefined;
  const call = { host: 'catalog.shop.mesh', port: 8080, data: undefined, http: req('POST'), endpoints: FAR } as unknown as OutboundCall;
  await dataCallsLayer()(async (c) => {
    seen = c;
    return { kind: 'done', status: 200, bytesOut: 0, bytesIn: 0 };
  })(call);
  assert.equal(seen?.endpoints, FAR);
});
