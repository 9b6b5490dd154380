// Enrollment by Kubernetes service-account token, decided over a fake
// attestor and registry: agents only; the attestor's refusals passed on with
// their code (503 for an API server that cannot review, 403 otherwise); a
// gateway's name never taken over; an enrolled agent may enroll again; the
// record bound to the attested pod's IPs; TokenReviews in flight capped.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeAttestation } from '../kubernetes/node-attestor.js';
import type { NodeRecord } from './node-registry.js';
import { KUBERNETES_ATTESTATION_OFF, KubernetesEnrollment, attestedPodAddresses, type PodView } from './kubernetes-enrollment.js';

const ACCOUNT = 'entente-system/entente-agent';
const ok = (node: string, pod = 'agent-x', podUid?: string): NodeAttestation => ({ ok: true, node, account: ACCOUNT, pod, ...(podUid ? { podUid } : {}) });
const pod = (node: string, ips: string[], uid = 'u1'): PodView => ({ metadata: { uid }, spec: { nodeName: node }, status: { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) } });

function enrollment(o: { answer?: (token: string, node: string) => NodeAttestation | Promise<NodeAttestation>; nodes?: NodeRecord[]; pods?: Record<string, PodView>; maxInFlight?: number }): KubernetesEnrollment {
  const nodes = new Map((o.nodes ?? []).map((n) => [n.node, n]));
  return new KubernetesEnrollment({
    attestor: { attest: async (t, n) => (o.answer ?? ((_t: string, node: string) => ok(node)))(t, n) },
    nodes: { get: (n) => nodes.get(n) },
    pod: (ns, name) => o.pods?.[`${ns}/${name}`],
    ...(o.maxInFlight !== undefined ? { maxInFlight: o.maxInFlight } : {}),
  });
}

describe('KubernetesEnrollment', () => {
  it('decides each case with its code and status', async () => {
    const gateway: NodeRecord = { node: 'gw-1', kind: 'gateway', enrolledAt: '2025-01-01T00:00:00Z' };
    const agent: NodeRecord = { node: 'n1', kind: 'agent', enrolledAt: '2025-01-01T00:00:00Z', addresses: ['10.0.0.9'] };
    const refusal = (code: 'NODE_MISMATCH' | 'WRONG_ACCOUNT' | 'API_UNAVAILABLE' | 'NO_NODE'): NodeAttestation => ({ ok: false, code, reason: `because ${code}` });
    const cases: { name: string; req: { node: string; kind: 'agent' | 'gateway' }; answer?: NodeAttestation; nodes?: NodeRecord[]; pods?: Record<string, PodView>; expect: string; status?: number; addresses?: string[]; reenrolled?: boolean }[] = [
      { name: 'a new agent, its pod known', req: { node: 'n1', kind: 'agent' }, pods: { 'entente-system/agent-x': pod('n1', ['10.1.0.5', 'fd00::5']) }, expect: 'ok', addresses: ['10.1.0.5', 'fd00::5'], reenrolled: false },
      { name: 'a new agent, its pod not seen yet: bound to its connection', req: { node: 'n1', kind: 'agent' }, expect: 'ok', addresses: [], reenrolled: false },
      { name: 'an enrolled agent again (a lost dataDir): allowed, the new pod\'s addresses', req: { node: 'n1', kind: 'agent' }, nodes: [agent], pods: { 'entente-system/agent-x': pod('n1', ['10.1.0.6']) }, expect: 'ok', addresses: ['10.1.0.6'], reenrolled: true },
      { name: 'a gateway asks', req: { node: 'gw-2', kind: 'gateway' }, expect: 'KUBERNETES_AGENTS_ONLY', status: 403 },
      { name: "a gateway's name", req: { node: 'gw-1', kind: 'agent' }, answer: ok('gw-1'), nodes: [gateway], expect: 'NODE_IS_GATEWAY', status: 403 },
      { name: "another node's token", req: { node: 'n1', kind: 'agent' }, answer: refusal('NODE_MISMATCH'), expect: 'NODE_MISMATCH', status: 403 },
      { name: 'a workload account', req: { node: 'n1', kind: 'agent' }, answer: refusal('WRONG_ACCOUNT'), expect: 'WRONG_ACCOUNT', status: 403 },
      { name: 'the pod not known (older cluster)', req: { node: 'n1', kind: 'agent' }, answer: refusal('NO_NODE'), expect: 'NO_NODE', status: 403 },
      { name: 'the API server cannot review', req: { node: 'n1', kind: 'agent' }, answer: refusal('API_UNAVAILABLE'), expect: 'API_UNAVAILABLE', status: 503 },
    ];
    for (const c of cases) {
      const d = await enrollment({ ...(c.answer ? { answer: () => c.answer! } : {}), ...(c.nodes ? { nodes: c.nodes } : {}), ...(c.pods ? { pods: c.pods } : {}) }).decide({ token: 't', ...c.req });
      assert.equal(d.kind === 'ok' ? 'ok' : d.code, c.expect, c.name);
      if (d.kind === 'refused') assert.equal(d.status, c.status, c.name);
      else {
        assert.deepEqual(d.addresses, c.addresses, c.name);
        assert.equal(d.reenrolled, c.reenrolled, c.name);
        assert.equal(d.account, ACCOUNT);
      }
    }
  });

  it('never reviews a gateway, and says why the way is off when it is', async () => {
    let reviews = 0;
    const e = enrollment({ answer: (_t, n) => (reviews++, ok(n)) });
    await e.decide({ token: 't', node: 'gw', kind: 'gateway' });
    assert.equal(reviews, 0);
    assert.equal(KUBERNETES_ATTESTATION_OFF.kind === 'refused' && KUBERNETES_ATTESTATION_OFF.code, 'KUBERNETES_ATTESTATION_OFF');
    assert.equal(KUBERNETES_ATTESTATION_OFF.kind === 'refused' && KUBERNETES_ATTESTATION_OFF.status, 403);
  });

  it('caps the TokenReviews in flight: over the cap, 503 ATTESTATION_BUSY; freed when they end', async () => {
    const pending: (() => void)[] = [];
    const e = enrollment({ maxInFlight: 2, answer: (_t, n) => new Promise((resolve) => pending.push(() => resolve(ok(n)))) });
    const first = [e.decide({ token: 'a', node: 'n1', kind: 'agent' }), e.decide({ token: 'b', node: 'n2', kind: 'agent' })];
    const third = await e.decide({ token: 'c', node: 'n3', kind: 'agent' });
    assert.equal(third.kind === 'refused' && `${third.status} ${third.code}`, '503 ATTESTATION_BUSY');
    for (const p of pending.splice(0)) p();
    assert.deepEqual((await Promise.all(first)).map((d) => d.kind), ['ok', 'ok']);
    const later = e.decide({ token: 'd', node: 'n4', kind: 'agent' });
    for (const p of pending.splice(0)) p();
    assert.equal((await later).kind, 'ok');
  });
});

describe('attestedPodAddresses', () => {
  it("the token's pod on the attested node: its IPs, canonical and once each", () => {
    assert.deepEqual(attestedPodAddresses(pod('n1', ['10.1.0.5', 'FD00:0::5', '10.1.0.5']), 'n1', 'u1'), ['10.1.0.5', 'fd00::5']);
    assert.deepEqual(attestedPodAddresses({ metadata: {}, spec: { nodeName: 'n1' }, status: { podIP: '10.1.0.7' } }, 'n1', undefined), ['10.1.0.7']);
  });

  it('anything else: none (the advertise is then bound to the connection)', () => {
    assert.deepEqual(attestedPodAddresses(undefined, 'n1', 'u1'), []);
    assert.deepEqual(attestedPodAddresses(pod('n2', ['10.1.0.5']), 'n1', 'u1'), [], 'on another node');
    assert.deepEqual(attestedPodAddresses(pod('n1', ['10.1.0.5'], 'old'), 'n1', 'u1'), [], 'another pod of that name');
    assert.deepEqual(attestedPodAddresses({ metadata: { uid: 'u1' }, spec: { nodeName: 'n1' }, status: { podIPs: [{ ip: 'not-an-ip' }, null, { ip: 7 }] } }, 'n1', 'u1'), []);
    assert.deepEqual(attestedPodAddresses({ metadata: { uid: 'u1' }, spec: { nodeName: 'n1' } }, 'n1', 'u1'), [], 'no IP yet');
  });
});
