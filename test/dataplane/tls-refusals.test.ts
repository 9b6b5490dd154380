// Who may open a session to the inbound port: plaintext, unknown server names,
// certificates of untrusted trust domains (refused by OpenSSL during the
// handshake) and certificates of trust domain A signed by B's CA (refused by
// the per-trust-domain SPIFFE check right after it). A valid peer still works.
// And on the client side: a server presenting the wrong identity is refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect as h2connect } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startMesh, metricValue, issueCredentials, exchange, makeSnapshot, endpointOf, TableAuthorizer, portOf, findCaPrivateKeyPem, withPorts, type Mesh } from './mesh-fixture.js';
import { LocalCa } from '../../src/identity/local-ca.js';
import { x509 } from '../../src/identity/x509-lib.js';
import { derToPem } from '../../src/identity/pem.js';
import { EC_P256_SHA256, generateKeyPair, importKeyPairPem, privateKeyToPem } from '../../src/identity/keys.js';
import { SpiffeId, parseTrustDomain } from '../../src/identity/spiffe-id.js';
import { formatMeshSni } from '../../src/mesh/sni-name.js';


let mesh: Mesh;
before(async () => {
  mesh = await startMesh();
});
after(async () => {
  await mesh?.close();
});

const catalogSni = (): string => formatMeshSni({ workload: 'catalog', namespace: 'shop', node: 'node-b', trustDomain: 'eu.test' });

/** Opens a session to agent B as a peer agent would, and tries one CONNECT to catalog's echo port. */
function tryConnect(
  creds: { certChainPem: string; privateKeyPem: string },
  servername = catalogSni(),
  authority = `${mesh.catalog.address}:${portOf(mesh.apps.catalogEcho)}`,
): Promise<{ status?: number; reason?: string; error?: string }> {
  return new Promise((resolve) => {
    const b = mesh.b.inboundAddress;
    const session = h2connect(`https://${b.host}:${b.port}`, {
      ca: mesh.eu.caCertPem,
      cert: creds.certChainPem,
      key: creds.privateKeyPem,
      servername,
      minVersion: 'TLSv1.3',
      checkServerIdentity: () => undefined,
    });
    const done = (r: { status?: number; reason?: string; error?: string }): void => {
      clearTimeout(timer);
      session.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ error: 'timeout' }), 5000);
    session.on('error', (err) => done({ error: err.message }));
    session.on('close', () => done({ error: 'session closed' }));
    const stream = session.request({ ':method': 'CONNECT', ':authority': authority });
    stream.on('response', (h) => {
      const reason = h['x-entente-deny-reason'];
      done(typeof reason === 'string' ? { status: Number(h[':status']), reason } : { status: Number(h[':status']) });
    });
    stream.on('error', (err) => done({ error: err.message }));
  });
}

test('a valid peer SVID is accepted (control)', async () => {
  const creds = await issueCredentials(mesh.eu, mesh.frontend.spiffeId);
  assert.deepEqual(await tryConnect(creds), { status: 200 });
});

test('inbound phases answer with their status and reason over a real session', async () => {
  const creds = await issueCredentials(mesh.eu, mesh.frontend.spiffeId);
  const undeclared = await tryConnect(creds, catalogSni(), `${mesh.catalog.address}:1`);
  assert.equal(undeclared.status, 403);
  assert.match(undeclared.reason ?? '', /port 1 of .* is not a target port of Service shop\/catalog \(declared: /);
  // Declare port 1 (nothing listens there): the connect phase answers 502.
  const base = mesh.snapshotB();
  const catalog = withPorts(mesh.catalog, [...[...mesh.catalog.ports].map(([t, p]) => [t, p.servicePort, p.protocol] as const), [1, 9, 'tcp']]);
  await mesh.b.setSnapshot({ ...base, localWorkloadsByAddress: new Map([...base.localWorkloadsByAddress, [catalog.address, catalog]]) });
  try {
    const noApp = await tryConnect(creds, catalogSni(), `${mesh.catalog.address}:1`);
    assert.equal(noApp.status, 502);
    assert.match(noApp.reason ?? '', /cannot reach the app at .*:1: .*ECONNREFUSED.*is it listening on its Workload address/);
  } finally {
    await mesh.b.setSnapshot(mesh.snapshotB());
  }
  const otherWorkload = await tryConnect(creds, catalogSni(), `${mesh.orders.address}:${portOf(mesh.apps.ordersHttp)}`);
  assert.equal(otherWorkload.status, 421);
  const nobody = await tryConnect(creds, catalogSni(), `${mesh.prefix}.200:80`);
  assert.equal(nobody.status, 404);
});

test('plaintext to the inbound port is refused', async () => {
  const b = mesh.b.inboundAddress;
  const before = await metricValue(mesh.registryB, 'entente_agent_tls_handshake_failures_total');
  const reply = await exchange(b, mesh.prefix + '.11', 'GET / HTTP/1.1\r\nhost: x\r\n\r\n');
  assert.doesNotMatch(reply.data, /HTTP\/1\.1 200/);
  assert.equal(await metricValue(mesh.registryB, 'entente_agent_tls_handshake_failures_total'), before + 1);
  // A plain HTTP/2 prior-knowledge client fares no better.
  const s = netConnect(b.port, b.host);
  await new Promise((r) => s.once('connect', r));
  s.end('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
  await new Promise((r) => s.once('close', r));
  assert.equal(await metricValue(mesh.registryB, 'entente_agent_tls_handshake_failures_total'), before + 2);
});

test('a server name that names no local workload fails the handshake', async () => {
  const creds = await issueCredentials(mesh.eu, mesh.frontend.spiffeId);
  const r = await tryConnect(creds, formatMeshSni({ workload: 'nobody', namespace: 'shop', node: 'node-b', trustDomain: 'eu.test' }));
  assert.equal(r.status, undefined);
  assert.equal(await metricValue(mesh.registryB, 'entente_agent_tls_handshake_failures_total', { reason: 'unknown_server_name' }), 1);
});

test('a client certificate of an unknown trust domain is refused during the handshake', async () => {
  const mars = await LocalCa.loadOrCreate(join(mesh.dir, 'mars'), parseTrustDomain('mars.test'));
  const creds = await issueCredentials(mars, SpiffeId.forWorkload(parseTrustDomain('mars.test'), 'shop', 'frontend'));
  const sessionsBefore = await metricValue(mesh.registryB, 'entente_agent_tls_sessions_total', { side: 'server' });
  const r = await tryConnect(creds);
  assert.equal(r.status, undefined, `refused (${r.error})`);
  assert.equal(await metricValue(mesh.registryB, 'entente_agent_tls_handshake_failures_total', { reason: 'untrusted_certificate' }), 1);
  assert.equal(await metricValue(mesh.registryB, 'entente_agent_tls_handshake_failures_total', { reason: 'svid_invalid' }), 0, 'OpenSSL refused it, not the post-handshake check');
  assert.equal(await metricValue(mesh.registryB, 'entente_agent_tls_sessions_total', { side: 'server' }), sessionsBefore, 'no session was accepted');
});

test('a certificate of trust domain eu signed by the us CA is refused after the handshake', async () => {
  // LocalCa refuses foreign IDs, so forge it with the us CA's key directly.
  const usKeys = await importKeyPairPem(await findCaPrivateKeyPem(join(mesh.dir, 'us'), mesh.us.caCertPem));
  const usCert = new x509.X509Certificate(mesh.us.caCertPem);
  const keys = await generateKeyPair();
  const now = Date.now();
  const forged = await x509.X509CertificateGenerator.create({
    serialNumber: randomBytes(8).toString('hex').replace(/^[89a-f]/, '1'),
    subject: 'O=Forged',
    issuer: usCert.subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 3_600_000),
    signingAlgorithm: EC_P256_SHA256,
    publicKey: keys.publicKey,
    signingKey: usKeys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth], false),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: mesh.frontend.spiffeId.toString() }], true),
    ],
  });
  const creds = { certChainPem: derToPem(forged.rawData, 'CERTIFICATE'), privateKeyPem: await privateKeyToPem(keys.privateKey) };
  const r = await tryConnect(creds);
  assert.equal(r.status, undefined, `refused (${r.error})`);
  assert.equal(await metricValue(mesh.registryB, 'entente_agent_tls_handshake_failures_total', { reason: 'svid_invalid' }), 1);
  // Everyone else keeps being served.
  assert.deepEqual(await tryConnect(await issueCredentials(mesh.eu, mesh.frontend.spiffeId)), { status: 200 });
});

test('the client refuses a server that presents another identity than the endpoint names', async () => {
  // Route catalog:7000 to billing's SNI while expecting catalog's identity: B presents billing's SVID.
  const wrong = { ...endpointOf(mesh.catalog, 'node-b', mesh.b.inboundAddress, portOf(mesh.apps.catalogEcho), 'eu'), sni: formatMeshSni({ workload: 'billing', namespace: 'shop', node: 'node-b', trustDomain: 'eu.test' }) };
  const base = mesh.snapshotA();
  const snap = makeSnapshot({
    generation: 5,
    region: 'eu',
    trustDomain: base.trustDomain,
    workloads: [mesh.frontend],
    routes: new Map([['catalog.shop.mesh', { namespace: 'shop', name: 'catalog', ports: new Map([[7000, [wrong]]]) }]]),
    outboundPorts: [{ listen: { host: `${mesh.prefix}.1`, port: 0 }, host: 'catalog.shop.mesh', port: 7000 }],
    authorizer: new TableAuthorizer([]),
    bundles: [{ trustDomain: base.trustDomain, region: 'eu', pems: [mesh.eu.caCertPem] }],
  });
  await mesh.a.setSnapshot(snap);
  const addr = mesh.a.outboundAddresses().get('catalog.shop.mesh:7000');
  assert.ok(addr);
  const r = await exchange(addr, mesh.frontend.address, 'secret');
  assert.equal(r.data, '', 'no byte reached the wrong peer and nothing came back');
  assert.equal(await metricValue(mesh.registryA, 'entente_agent_tls_handshake_failures_total', { reason: 'peer_identity' }), 1);
  const f = mesh.flowsA.find((x) => x.verdict === 'error');
  assert.ok(f);
  assert.match(f.reason ?? '', /presented spiffe:\/\/eu\.test\/ns\/shop\/sa\/billing, expected spiffe:\/\/eu\.test\/ns\/shop\/sa\/catalog/);
});



