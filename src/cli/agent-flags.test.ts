// `entente agent --node --advertise-ip`: one agent.yaml for every node of a
// DaemonSet. The flags replace the file's keys; a bad flag is named as the
// flag; the advertised port stays the file's.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EntenteError } from '../core/errors.js';
import { loadAgentConfig } from './agent-flags.js';

const SHARED = `controller: https://entente-controller.entente-system.svc:15012
kubernetesTokenFile: /var/run/secrets/entente/token
controllerCaFile: /etc/entente/ca/ca.pem
dataDir: /var/lib/entente/agent
listen:
  inbound: 0.0.0.0:15008
`;

let dir: string;
const file = (name: string, text: string): string => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};
const code = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (err) {
    return err instanceof EntenteError ? `${err.code}: ${err.message}` : String(err);
  }
};

describe('agent flags', () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'entente-agent-flags-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('one file without node or advertise serves every node', () => {
    const path = file('shared.yaml', SHARED);
    const c = loadAgentConfig(path, { node: 'worker-3', advertiseIp: '10.0.3.7' });
    assert.equal(c.node, 'worker-3');
    assert.deepEqual(c.advertise, { host: '10.0.3.7', port: 15008 });
    assert.deepEqual(loadAgentConfig(path, { node: 'w6', advertiseIp: 'FD00::7' }).advertise, { host: 'fd00::7', port: 15008 });
    assert.match(code(() => loadAgentConfig(path, {})) ?? '', /^BAD_CONFIG: .*node: required/s, 'without --node the file must name it');
  });

  it("the flags win over the file's keys; the advertised port stays advertise's", () => {
    const path = file('full.yaml', `${SHARED}node: other\nadvertise: 192.0.2.1:16008\n`);
    const c = loadAgentConfig(path, { node: 'worker-3', advertiseIp: '10.0.3.7' });
    assert.equal(c.node, 'worker-3');
    assert.deepEqual(c.advertise, { host: '10.0.3.7', port: 16008 });
    assert.equal(loadAgentConfig(path, {}).node, 'other');
  });

  it('a bad flag is named as the flag', () => {
    const path = file('shared2.yaml', SHARED);
    assert.equal(code(() => loadAgentConfig(path, { node: 'Worker_3' })), 'CLI_USAGE: --node "Worker_3": expected a DNS label: lower-case letters, digits and "-", at most 63');
    for (const ip of ['worker-3.internal', '0.0.0.0', '::', '10.0.3.7:15008']) {
      assert.equal(code(() => loadAgentConfig(path, { node: 'w', advertiseIp: ip })), `CLI_USAGE: --advertise-ip ${JSON.stringify(ip)}: expected a literal IP address of this node (not 0.0.0.0 or ::)`);
    }
    const anyPort = file('any-port.yaml', SHARED.replace('0.0.0.0:15008', '0.0.0.0:0'));
    assert.match(code(() => loadAgentConfig(anyPort, { node: 'w', advertiseIp: '10.0.0.1' })) ?? '', /^CLI_USAGE: --advertise-ip: listen.inbound has port 0/);
  });
});
