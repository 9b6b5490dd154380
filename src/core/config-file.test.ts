// Config problems in our words: file, line, key, the value and what is
// expected in plain words, every problem in one pass; YAML syntax errors with
// the line's text and a caret; cross-key checks (join token, listeners).
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as z from 'zod';
import { checkConfig, checkConfigText, loadConfigFile, type ConfigProblem } from './config-file.js';
import { EntenteError } from './errors.js';
import { bindsClash } from './config-types.js';
import { controllerConfigSchema } from '../controller/controller-config.js';
import { agentConfigSchema } from '../agent/agent-config.js';
import { gatewayConfigSchema } from '../gateway/gateway-config.js';

function problems(schema: z.ZodType, text: string, file = 'region.yaml'): readonly ConfigProblem[] {
  const r = checkConfigText(schema, text, file);
  assert.equal(r.ok, false, 'the config was accepted');
  return r.ok ? [] : r.problems;
}

const messages = (ps: readonly ConfigProblem[]): string[] => ps.map((p) => p.message);

const REGION = `region: eu
trustDomain: eu.example.org
listen:
  admin: x
  agents: 127.0.0.1:15001
  peers: 127.0.0.1:15002
dataDir: /var/lib/entente
resources: /etc/entente/resources
`;

const AGENT = `node: node-a
controller: https://127.0.0.1:15001
dataDir: /var/lib/entente
listen:
  inbound: 127.0.0.1:15008
  metrics: 127.0.0.1:15020
`;

describe('config problems', () => {
  it('names file, line, key, the value and the expected form', () => {
    assert.deepEqual(messages(problems(controllerConfigSchema, REGION)), [
      'region.yaml:4: listen.admin: got "x"; expected a host:port address such as "127.0.0.1:15008" or "[::1]:15008"',
    ]);
  });

  it('maps zod issue codes to plain words', () => {
    const cases: [string, z.ZodType, string, string][] = [
      ['too_small on a number', agentConfigSchema, `${AGENT}limits: { maxStreamsPerSession: 0 }\n`, 'agent.yaml:7: limits.maxStreamsPerSession: got 0; expected a number ≥ 1'],
      ['too_big on a number', agentConfigSchema, `${AGENT}limits: { maxStreamsPerSession: 70000 }\n`, 'agent.yaml:7: limits.maxStreamsPerSession: got 70000; expected a number ≤ 65535'],
      ['too_small on a string', z.strictObject({ name: z.string().min(3) }), 'name: ab\n', 'agent.yaml:1: name: got "ab"; expected at least 3 characters'],
      ['a wrong type', agentConfigSchema, `${AGENT}attestation: { requireSelectors: 1 }\n`, 'agent.yaml:7: attestation.requireSelectors: got 1; expected true or false'],
      ['not an integer', agentConfigSchema, `${AGENT}limits: { maxStreamsPerSession: 1.5 }\n`, 'agent.yaml:7: limits.maxStreamsPerSession: got 1.5; expected an integer'],
      ['invalid_value', z.strictObject({ origin: z.enum(['igp', 'egp']) }), 'origin: bgp\n', 'agent.yaml:1: origin: got "bgp"; expected one of "igp", "egp"'],
      ['a missing nested key (at its parent\'s line)', agentConfigSchema, AGENT.replace('  inbound: 127.0.0.1:15008\n', ''), 'agent.yaml:4: listen.inbound: required; expected a host:port address such as "127.0.0.1:15008" or "[::1]:15008"'],
      ['a missing top-level key (no line)', agentConfigSchema, AGENT.replace('dataDir: /var/lib/entente\n', ''), 'agent.yaml: dataDir: required; expected a directory path'],
      ['an unknown key with nothing close', gatewayConfigSchema, 'name: gw\ncontroller: https://c:1\ndataDir: /d\nlisten: 127.0.0.1:1\nfrobnicate: true\n', 'agent.yaml:5: frobnicate: unknown key "frobnicate"; expected one of the keys name, controller, joinToken, joinTokenFile, dataDir, listen, advertise, metrics, limits'],
    ];
    for (const [what, schema, text, expected] of cases) {
      assert.deepEqual(messages(problems(schema, text, 'agent.yaml')), [expected], what);
    }
  });

  it('a misspelt key is named with a suggestion (and the key it should be is missing)', () => {
    assert.deepEqual(messages(problems(agentConfigSchema, AGENT.replace('listen:', 'listn:'), 'agent.yaml')), [
      'agent.yaml: listen: required; expected a mapping',
      'agent.yaml:4: listn: unknown key "listn" (did you mean "listen"?)',
    ]);
  });

  it('never echoes a join token', () => {
    const [p] = problems(agentConfigSchema, `${AGENT}joinToken: 12345\n`, 'agent.yaml');
    assert.equal(p!.message, 'agent.yaml:7: joinToken: got (hidden); expected a string');
  });

  it('reports every problem in one pass, in line order', () => {
    const text = `${REGION.replace('admin: x', 'admin: 127.0.0.1:15000')}svidTtl: 10\nflows: { capacity: 5 }\nlistn: 3\n`.replace('region: eu\n', '');
    assert.deepEqual(messages(problems(controllerConfigSchema, text)), [
      'region.yaml: region: required; expected a DNS label: lower-case letters, digits and "-", at most 63',
      'region.yaml:8: svidTtl: got 10; expected a duration such as "500ms", "30s", "5m" or "1h"',
      'region.yaml:9: flows.capacity: got 5; expected a number ≥ 100',
      'region.yaml:10: listn: unknown key "listn" (did you mean "listen"?)',
    ]);
  });

  it('shows a YAML syntax error with its line, column, the line and a caret', () => {
    const [p, ...rest] = problems(controllerConfigSchema, 'region: eu\nlisten: {agents: 1: 2}\n');
    assert.equal(rest.length, 0);
    assert.equal(p!.line, 2);
    assert.match(p!.message, /^region\.yaml:2:\d+: not valid YAML: [a-z]/);
    const [, source, caret] = p!.message.split('\n');
    assert.equal(source, '2 | listen: {agents: 1: 2}');
    assert.equal(caret!.indexOf('^') - '2 | '.length, p!.column! - 1, 'the caret is under the column');
  });

  it('a syntax error at the end of the file shows the line above too', () => {
    const [p] = problems(controllerConfigSchema, 'region: eu\nx: "unterminated\n');
    assert.deepEqual(p!.message.split('\n').slice(1), ['2 | x: "unterminated', '3 | ', '  | ^']);
  });

  it('refuses joinToken together with joinTokenFile, naming both', () => {
    const [p] = problems(gatewayConfigSchema, 'name: gw\ncontroller: https://c:1\ndataDir: /d\nlisten: 127.0.0.1:1\njoinToken: abc\njoinTokenFile: /etc/token\n', 'gateway.yaml');
    assert.equal(p!.message, 'gateway.yaml:6: joinTokenFile: got "/etc/token"; expected either joinToken or joinTokenFile, not both (joinToken is set too)');
  });

  it('refuses one address used by two listeners, naming both keys, also alongside other problems', () => {
    const text = `${AGENT.replace('127.0.0.1:15020', '0.0.0.0:15008')}limits: { maxStreamsPerSession: 0 }\n`;
    assert.deepEqual(messages(problems(agentConfigSchema, text, 'agent.yaml')), [
      'agent.yaml:6: listen.metrics: got "0.0.0.0:15008"; expected an address no other listener of this component uses (listen.inbound listens on 127.0.0.1:15008)',
      'agent.yaml:7: limits.maxStreamsPerSession: got 0; expected a number ≥ 1',
    ]);
    const defaulted = REGION.replace('admin: x', 'bundleEndpoint: 127.0.0.1:15000');
    assert.deepEqual(messages(problems(controllerConfigSchema, defaulted)), [
      'region.yaml:4: listen.bundleEndpoint: got "127.0.0.1:15000"; expected an address no other listener of this component uses (listen.admin listens on 127.0.0.1:15000)',
    ]);
  });

  it('listeners clash on the same port and address or a covering wildcard; port 0 never does', () => {
    const a = (host: string, port = 80) => ({ host, port });
    const table: [ReturnType<typeof a>, ReturnType<typeof a>, boolean][] = [
      [a('127.0.0.1'), a('127.0.0.1'), true],
      [a('127.0.0.1'), a('127.0.0.1', 81), false],
      [a('127.0.0.1'), a('127.0.0.2'), false],
      [a('0.0.0.0'), a('10.0.0.1'), true],
      [a('0.0.0.0'), a('::1'), false],
      [a('::'), a('10.0.0.1'), true],
      [a('fd00::1'), a('fd00:0::1'), true],
      [a('127.0.0.1', 0), a('127.0.0.1', 0), false],
      [a('localhost'), a('127.0.0.1'), false],
    ];
    for (const [x, y, clash] of table) {
      assert.equal(bindsClash(x, y), clash, `${x.host}:${x.port} ${y.host}:${y.port}`);
      assert.equal(bindsClash(y, x), clash, `${y.host}:${y.port} ${x.host}:${x.port}`);
    }
  });

  it('a good file loads with defaults; checkConfig on a value names problems without lines', () => {
    const r = checkConfigText(agentConfigSchema, AGENT, 'agent.yaml');
    assert.ok(r.ok);
    assert.equal(r.value.limits.maxStreamsPerSession, 100);
    assert.throws(() => checkConfig(agentConfigSchema, { node: 'a' }, 'agent config'), (err: unknown) => {
      assert.ok(err instanceof EntenteError);
      assert.equal(err.code, 'BAD_CONFIG');
      assert.match(err.message, /^agent config has 3 problems:\n {2}agent config: controller: required; expected an https:\/\/ URL, or a list of them \(one per controller replica\)\n/);
      return true;
    });
  });

  describe('loadConfigFile', () => {
    const dir = mkdtempSync(join(tmpdir(), 'entente-config-'));
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('throws BAD_CONFIG with every problem, and CONFIG_UNREADABLE for a missing file', () => {
      const file = join(dir, 'region.yaml');
      writeFileSync(file, REGION);
      assert.throws(() => loadConfigFile(controllerConfigSchema, file), (err: unknown) => {
        assert.ok(err instanceof EntenteError);
        assert.equal(err.code, 'BAD_CONFIG');
        assert.equal(err.message, `${file} has 1 problem:\n  ${file}:4: listen.admin: got "x"; expected a host:port address such as "127.0.0.1:15008" or "[::1]:15008"`);
        assert.equal(err.describe().split('\n').at(-1), '  (hint: see docs/configuration.md)');
        return true;
      });
      assert.throws(() => loadConfigFile(controllerConfigSchema, join(dir, 'missing.yaml')), { code: 'CONFIG_UNREADABLE' });
    });
  });
});
