import { test } from 'node:test';
import assert from 'node:assert/strict';
import { identifyCaller, judgeCaller, normalizeAddress, resolveTarget } from './decide.js';
import { compileSelectors } from '../../attest/attest-selectors.js';
import { NO_ACCOUNTS } from '../../attest/node-accounts.js';
import type { AttestOutcome } from '../../attest/attestor.js';
import type { DataplaneSnapshot, Endpoint, LocalWorkload, ServiceRoute } from '../dataplane-snapshot.js';
import { SpiffeId, parseTrustDomain } from '../../../identity/spiffe-id.js';

const td = parseTrustDomain('eu.test');
const frontend: LocalWorkload = { name: 'frontend', namespace: 'shop', service: 'frontend', spiffeId: SpiffeId.forWorkload(td, 'shop', 'frontend'), address: '127.1.2.3', ports: new Map() };
const ep: Endpoint = { spiffeId: SpiffeId.forWorkload(td, 'shop', 'catalog'), sni: 'catalog.shop.n.eu.test', dial: { host: '127.0.0.1', port: 1 }, authority: '127.1.2.4:8080', region: 'eu', weight: 1 };
const route: ServiceRoute = { namespace: 'shop', name: 'catalog', ports: new Map([[80, [ep]], [81, []]]) };
const snap = {
  localWorkloadsByAddress: new Map([[frontend.address, frontend]]),
  routes: new Map([['catalog.shop.mesh', route], ['catalog.shop.eu.mesh', route]]),
} as unknown as DataplaneSnapshot;

test('the caller is the workload whose address the connection comes from', () => {
  assert.equal(normalizeAddress('::ffff:127.1.2.3'), '127.1.2.3');
  assert.equal(normalizeAddress('::1'), '::1');
  assert.equal(normalizeAddress(undefined), '');
  const ok = identifyCaller(snap, '::ffff:127.1.2.3');
  assert.equal(ok.kind === 'caller' && ok.workload, frontend);
  const bad = identifyCaller(snap, '127.0.0.9');
  assert.equal(bad.kind, 'unknown');
  assert.equal(bad.kind === 'unknown' && bad.reason, 'connection from 127.0.0.9 matches no workload on this node; apps must call from their Workload address');
});

test('mesh hosts resolve to routes; misses say why', () => {
  const cases: [string, number, string][] = [
    ['catalog.shop.mesh', 80, 'route'],
    ['CATALOG.shop.mesh.', 80, 'route'],
    ['catalog.shop.eu.mesh', 80, 'route'],
    ['catalog.shop.mesh', 443, 'has no port 443 (ports: 80, 81)'],
    ['catalog.shop.mesh', 81, 'no healthy endpoint'],
    ['nothing.shop.mesh', 80, 'no route to nothing.shop.mesh: no such service'],
    ['example.com', 80, 'mesh hosts look like'],
  ];
  for (const [host, port, want] of cases) {
    const r = resolveTarget(snap, host, port);
    if (want === 'route') assert.equal(r.kind, 'route', host);
    else assert.ok(r.kind === 'no-route' && r.reason.includes(want), `${host}:${port} -> ${JSON.stringify(r)}`);
  }
});

test('judgeCaller: address-only, attested, mismatched, unattested and required-but-missing callers', () => {
  const attest = compileSelectors({ uid: 0, executable: '/usr/local/bin/node' }, NO_ACCOUNTS);
  const guarded: LocalWorkload = { ...frontend, attest };
  const curl = { socketUid: 65534, inode: 9, process: { pid: 1234, uid: 65534, gid: 65534, executable: '/usr/bin/curl', cgroup: '/', systemdUnit: undefined } };
  const node = { socketUid: 0, inode: 9, process: { ...curl.process, uid: 0, gid: 0, executable: '/usr/local/bin/node' } };
  const cases: { name: string; w: LocalWorkload; outcome: AttestOutcome | undefined; require: boolean; want: string }[] = [
    { name: 'no selectors', w: frontend, outcome: undefined, require: false, want: 'caller attested=false' },
    { name: 'no selectors, required', w: frontend, outcome: undefined, require: true, want: 'no_selectors: workload shop/frontend declares no attest selectors and this agent requires them (attestation.requireSelectors); add spec.attest to the Workload' },
    { name: 'matching process', w: guarded, outcome: { kind: 'facts', facts: node }, require: true, want: 'caller attested=true' },
    {
      name: 'another user running curl',
      w: guarded,
      outcome: { kind: 'facts', facts: curl },
      require: false,
      want: 'attestation_failed: process 1234 (/usr/bin/curl, uid 65534) does not match workload shop/frontend: uid 65534 is not 0; executable /usr/bin/curl is not /usr/local/bin/node',
    },
    {
      name: 'owner not found: fail closed',
      w: guarded,
      outcome: { kind: 'unattested', reason: 'no local TCP socket ...' },
      require: false,
      want: 'attestation_failed: cannot attest the caller from 127.1.2.3 as workload shop/frontend, which declares attest selectors: no local TCP socket ...',
    },
    { name: 'selectors but nothing looked up', w: guarded, outcome: undefined, require: false, want: 'attestation_failed: cannot attest the caller from 127.1.2.3 as workload shop/frontend, which declares attest selectors: nothing was looked up' },
  ];
  for (const c of cases) {
    const d = judgeCaller(c.w, '127.1.2.3', c.outcome, c.require);
    assert.equal(d.kind === 'caller' ? `caller attested=${d.attested}` : `${d.refusal}: ${d.reason}`, c.want, c.name);
  }
});
