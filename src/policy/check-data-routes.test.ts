// DataRoute resources as the loader sees them: a good one loads with its
// defaults; missing keys the protocol needs, an undeclared member Service or
// port, and a dialled name that is already a Service are errors with the key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assembleResources, parseResourceText } from './load-resources.js';
import { httpSettings } from './data-route-schema.js';

const SERVICE = `apiVersion: entente.dev/v1alpha1
kind: Service
metadata: { name: orders-pg, namespace: shop }
spec:
  ports: [{ port: 5432, targetPort: 5432, protocol: tcp }]
`;

function route(spec: string): string {
  return `apiVersion: entente.dev/v1alpha1
kind: DataRoute
metadata: { name: orders, namespace: shop }
spec:
${spec}`;
}

const GOOD = `  members: { service: orders-pg, port: 5432 }
  protocol: postgresql
  maxLag: 2s
  probe: { user: entente, passwordFile: /etc/entente/pg.pass }
  tcp: { readWrite: orders-rw, readOnly: orders-ro }
`;

function load(text: string) {
  return assembleResources([parseResourceText('routes.yaml', `${SERVICE}---\n${text}`)]);
}

test('a DataRoute loads, with its defaults, and counts in the digest', () => {
  const r = load(route(GOOD));
  assert.deepEqual(r.errors, []);
  const d = r.resources.dataRoutes[0]!;
  assert.equal(d.spec.maxLag, '2s');
  assert.equal(d.spec.probe.interval, '500ms');
  assert.equal(d.spec.probe.database, 'postgres');
  assert.equal(d.spec.tcp?.stickyAfterWrite, '5s');
  assert.equal(d.spec.staleAfter, '3s');
});

test('errors name the key: protocol needs, undeclared member, port, a name taken', () => {
  const codes = (text: string) => load(route(text)).errors.map((e) => `${e.code} ${e.key ?? ''}`);
  assert.deepEqual(codes(GOOD.replace('probe: { user: entente, passwordFile: /etc/entente/pg.pass }', 'probe: {}')), ['INVALID_FIELD spec.probe.user']);
  assert.deepEqual(codes(GOOD.replace('  tcp: { readWrite: orders-rw, readOnly: orders-ro }\n', '')), ['INVALID_FIELD spec.tcp']);
  assert.deepEqual(codes(GOOD.replace('service: orders-pg', 'service: ordrs-pg')), ['UNKNOWN_SERVICE spec.members.service']);
  assert.deepEqual(codes(GOOD.replace('port: 5432 }', 'port: 5433 }')), ['UNKNOWN_PORT spec.members.port']);
  assert.deepEqual(codes(GOOD.replace('readOnly: orders-ro', 'readOnly: orders-pg')), ['DATA_ROUTE_NAME_TAKEN spec.tcp.readOnly']);
  assert.deepEqual(codes(GOOD.replace('readOnly: orders-ro', 'readOnly: orders-rw')), ['INVALID_FIELD spec.tcp.readOnly']);
  assert.deepEqual(codes(GOOD.replace('maxLag: 2s', 'maxLag: 2 seconds')), ['INVALID_FIELD spec.maxLag']);
  const http = `  members: { service: orders-pg, port: 5432 }\n  protocol: http\n  maxLag: 1s\n  http: { writes: [{}] }\n`;
  // The cross-key checks (probe.path for http) come once every key is valid on its own.
  assert.deepEqual(codes(http), ['INVALID_FIELD spec.http.writes[0]']);
  assert.deepEqual(codes(http.replace('  http: { writes: [{}] }\n', '')), ['INVALID_FIELD spec.probe.path']);
});

const HTTP_SERVICE = `apiVersion: entente.dev/v1alpha1
kind: Service
metadata: { name: orders-api, namespace: shop }
spec:
  ports: [{ port: 8080, protocol: http }, { port: 9090, protocol: tcp }]
`;

test('an HTTP DataRoute: an http port, its own name free, the defaults filled in', () => {
  const spec = `  members: { service: orders-api, port: 8080 }\n  protocol: http\n  maxLag: 1s\n  probe: { path: /lag }\n`;
  const loadHttp = (text: string) => assembleResources([parseResourceText('routes.yaml', `${HTTP_SERVICE}---\n${text}`)]);
  const ok = loadHttp(route(spec));
  assert.deepEqual(ok.errors, []);
  assert.deepEqual(httpSettings(ok.resources.dataRoutes[0]!), { writes: [{ methods: ['POST', 'PUT', 'PATCH', 'DELETE'] }], tokenHeader: 'x-entente-consistency' });
  const codes = (text: string) => loadHttp(text).errors.map((e) => `${e.code} ${e.key ?? ''}`);
  assert.deepEqual(codes(route(spec.replace('port: 8080', 'port: 9090'))), ['DATA_ROUTE_PORT_NOT_HTTP spec.members.port']);
  assert.deepEqual(codes(route(spec).replace('name: orders,', 'name: orders-api,')), ['DATA_ROUTE_NAME_TAKEN metadata.name']);
  const second = route(spec).replace('name: orders,', 'name: orders2,').replace('  probe: { path: /lag }\n', '  probe: { path: /lag }\n').replace('protocol: http', 'protocol: postgresql').replace('  probe: { path: /lag }\n', '  probe: { user: u }\n  tcp: { readWrite: orders, readOnly: orders-ro }\n');
  assert.deepEqual(codes(`${route(spec)}---\n${second.replace('port: 8080', 'port: 9090')}`), ['DATA_ROUTE_NAME_TAKEN spec.tcp.readWrite']);
});
