import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildResourceSet } from './resource-set.js';
import { policyDigests } from './policy-digests.js';
import type { Resource } from './resources.js';

const policy = (name: string, principal: string): Resource => ({
  apiVersion: 'entente.dev/v1alpha1', kind: 'AuthorizationPolicy', metadata: { name, namespace: 'shop' },
  spec: { action: 'ALLOW', selector: { service: 'catalog' }, rules: [{ from: { principals: [principal] } }] },
} as unknown as Resource);
const workload = (name: string): Resource => ({
  apiVersion: 'entente.dev/v1alpha1', kind: 'Workload', metadata: { name, namespace: 'shop' },
  spec: { service: 'catalog', serviceAccount: 'catalog', node: 'n1', address: '10.0.0.1' },
} as unknown as Resource);

test('workloads do not change the policy digest; a policy edit changes its own digest only', () => {
  const a = policyDigests(buildResourceSet([policy('p', 'spiffe://eu/x'), policy('q', 'spiffe://eu/y'), workload('w1')]));
  const b = policyDigests(buildResourceSet([policy('q', 'spiffe://eu/y'), policy('p', 'spiffe://eu/x'), workload('w2')]));
  assert.equal(a.digest, b.digest);
  assert.deepEqual(Object.keys(a.resources).sort(), ['AuthorizationPolicy shop/p', 'AuthorizationPolicy shop/q']);
  const c = policyDigests(buildResourceSet([policy('p', 'spiffe://eu/z'), policy('q', 'spiffe://eu/y')]));
  assert.notEqual(c.digest, a.digest);
  assert.notEqual(c.resources['AuthorizationPolicy shop/p'], a.resources['AuthorizationPolicy shop/p']);
  assert.equal(c.resources['AuthorizationPolicy shop/q'], a.resources['AuthorizationPolicy shop/q']);
});
