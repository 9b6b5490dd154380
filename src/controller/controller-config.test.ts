// region.yaml's kubernetes.agentAttestation: the audience (default
// "entente") and the agents' service accounts (required, at least one, each
// "namespace/name"), checked with the rest of the file.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkConfigText } from '../core/config-file.js';
import { controllerConfigSchema } from './controller-config.js';

const REGION = `region: eu
trustDomain: eu.test
dataDir: /var/lib/entente/controller
resources: /var/lib/entente/resources
listen: { agents: 0.0.0.0:15012, peers: 0.0.0.0:15013 }
`;

const check = (extra: string) => checkConfigText(controllerConfigSchema, REGION + extra, 'region.yaml');
const messages = (extra: string): string[] => {
  const r = check(extra);
  return r.ok ? [] : r.problems.map((p) => p.message);
};

describe('region.yaml kubernetes.agentAttestation', () => {
  it('is off unless given; given, the audience defaults to "entente"', () => {
    const off = check('kubernetes: {}\n');
    assert.ok(off.ok);
    assert.equal(off.value.kubernetes?.agentAttestation, undefined);
    const on = check('kubernetes:\n  agentAttestation:\n    serviceAccounts: [entente-system/entente-agent, edge/agent.v2]\n');
    assert.ok(on.ok);
    assert.deepEqual(on.value.kubernetes?.agentAttestation, { audience: 'entente', serviceAccounts: ['entente-system/entente-agent', 'edge/agent.v2'] });
    const aud = check('kubernetes: { agentAttestation: { audience: mesh.example.org, serviceAccounts: [a/b] } }\n');
    assert.ok(aud.ok);
    assert.equal(aud.value.kubernetes?.agentAttestation?.audience, 'mesh.example.org');
  });

  it('refuses what a TokenReview could never match, naming the key', () => {
    const LIST = 'a list of at least one service account, each as "namespace/name", e.g. ["entente-system/entente-agent"]';
    const cases: [string, string[]][] = [
      ['kubernetes: { agentAttestation: {} }\n', [`region.yaml:6: kubernetes.agentAttestation.serviceAccounts: required; expected ${LIST}`]],
      ['kubernetes: { agentAttestation: { serviceAccounts: [] } }\n', [`region.yaml:6: kubernetes.agentAttestation.serviceAccounts: got []; expected ${LIST}`]],
      ['kubernetes: { agentAttestation: { serviceAccounts: entente-system/entente-agent } }\n', [`region.yaml:6: kubernetes.agentAttestation.serviceAccounts: got "entente-system/entente-agent"; expected ${LIST}`]],
      ['kubernetes: { agentAttestation: { serviceAccounts: [entente-agent, Sys/Agent, a/b/c] } }\n', [0, 1, 2].map((i) => `region.yaml:6: kubernetes.agentAttestation.serviceAccounts[${i}]: got ${JSON.stringify(['entente-agent', 'Sys/Agent', 'a/b/c'][i])}; expected a service account as "namespace/name", e.g. "entente-system/entente-agent"`)],
      ['kubernetes: { agentAttestation: { serviceAccounts: [a/b], audience: "" } }\n', ['region.yaml:6: kubernetes.agentAttestation.audience: got ""; expected a token audience such as "entente"']],
      ['kubernetes: { agentAttestation: { serviceAccounts: [a/b], audiance: x } }\n', ['region.yaml:6: kubernetes.agentAttestation.audiance: unknown key "audiance" (did you mean "audience"?)']],
    ];
    for (const [extra, expected] of cases) assert.deepEqual(messages(extra), expected, extra);
  });
});
