// agent.yaml's ways to enroll: a join token (joinToken or joinTokenFile) or a
// Kubernetes service-account token (kubernetesTokenFile, which needs
// controllerCaFile), never two at once; every problem named by its key.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkConfigText } from '../core/config-file.js';
import { agentConfigSchema } from './agent-config.js';

const AGENT = `node: n1
controller: https://127.0.0.1:15012
dataDir: /var/lib/entente/agent
listen:
  inbound: 127.0.0.1:15008
`;

function messages(extra: string): string[] {
  const r = checkConfigText(agentConfigSchema, AGENT + extra, 'agent.yaml');
  return r.ok ? [] : r.problems.map((p) => p.message);
}

describe('agent.yaml enrollment keys', () => {
  it('accepts each way alone, and none (an enrolled node needs none: that is checked at start)', () => {
    for (const extra of ['', 'joinToken: ej1.x\n', 'joinTokenFile: /etc/entente/join-token\n', 'kubernetesTokenFile: /var/run/secrets/entente/token\ncontrollerCaFile: /etc/entente/ca/ca.pem\n']) {
      assert.deepEqual(messages(extra), [], JSON.stringify(extra));
    }
    const r = checkConfigText(agentConfigSchema, `${AGENT}kubernetesTokenFile: /t\ncontrollerCaFile: /c\n`, 'agent.yaml');
    assert.ok(r.ok);
    assert.equal(r.value.kubernetesTokenFile, '/t');
    assert.equal(r.value.controllerCaFile, '/c');
  });

  it('refuses every wrong combination, naming the keys', () => {
    const cases: [string, string[]][] = [
      ['kubernetesTokenFile: /t\n', ["agent.yaml: controllerCaFile: required; expected the region CA's PEM file (the controller's <dataDir>/ca.pem) with kubernetesTokenFile: it authenticates the controller before the token is sent"]],
      ['kubernetesTokenFile: /t\ncontrollerCaFile: /c\njoinToken: ej1.x\n', ['agent.yaml:6: kubernetesTokenFile: got "/t"; expected either a join token or kubernetesTokenFile, not both (joinToken is set too)']],
      ['kubernetesTokenFile: /t\ncontrollerCaFile: /c\njoinTokenFile: /j\n', ['agent.yaml:6: kubernetesTokenFile: got "/t"; expected either a join token or kubernetesTokenFile, not both (joinTokenFile is set too)']],
      ['controllerCaFile: /c\njoinTokenFile: /j\n', [`agent.yaml:6: controllerCaFile: got "/c"; expected no controllerCaFile without kubernetesTokenFile (a join token carries the pin of the controller's CA)`]],
      ['kubernetesTokenFile: ""\ncontrollerCaFile: 3\n', ['agent.yaml:6: kubernetesTokenFile: got ""; expected a file path', 'agent.yaml:7: controllerCaFile: got 3; expected a file path']],
    ];
    for (const [extra, expected] of cases) assert.deepEqual(messages(extra), expected, JSON.stringify(extra));
  });

  it('reports the enrollment keys in the same pass as the other problems', () => {
    assert.deepEqual(messages('kubernetesTokenFile: /t\nlimits: { maxStreamsPerSession: 0 }\n').sort(), [
      "agent.yaml: controllerCaFile: required; expected the region CA's PEM file (the controller's <dataDir>/ca.pem) with kubernetesTokenFile: it authenticates the controller before the token is sent",
      'agent.yaml:7: limits.maxStreamsPerSession: got 0; expected a number ≥ 1',
    ]);
  });
});
